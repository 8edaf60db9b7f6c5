"""Update rules: how a parameter moves, given its gradient, the CS231n way.

Every rule has the course's interface:

    next_w, config = rule(w, dw, config=None)

    w        ndarray of any shape S (a weight matrix (D, H), a bias (H,), ...); never modified
    dw       ndarray of shape S: the gradient of the loss with respect to w
    config   dict of hyperparameters (learning_rate, ...) and of the rule's state (velocity,
             cache, m, v, t). STATE: the rule writes into this dict, as the course's do: a
             missing hyperparameter or state is added with ``setdefault`` (state starts at
             zeros), and after the step the dict holds the new state. The same dict is returned,
             so a training loop passes it back on the next step; None starts a new dict.
    next_w   ndarray of shape S in w's dtype: the updated parameter, a new array

The state arrays are replaced by new ones, never written into, so an array the caller put in
config (a ``velocity`` to start from) keeps its values. State is kept in w's dtype and
hyperparameters are Python floats, so a float32 parameter stays float32 through every rule.

``UPDATE_RULES`` maps names to rules; ``get_update_rule(name)`` looks one up and
``validate_config(name, config)`` checks hyperparameters before training starts.
"""

import math
import numbers

import numpy as np

from layers._checks import as_float_array, check_same_shape

# CS231n's default hyperparameters, and the state each rule carries from step to step.
DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t")}

# name -> (test, what the test asks for); NaN fails every test.
_RANGES = {
    "learning_rate": (lambda v: 0 <= v < math.inf, "a finite number >= 0"),
    "epsilon": (lambda v: 0 < v < math.inf, "a finite number > 0"),
    "momentum": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "decay_rate": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "beta1": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "beta2": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
}


def validate_config(name, config=None):
    """Check a rule's hyperparameters and return them completed with the defaults.

    Parameters
    ----------
    name : str
        A key of ``UPDATE_RULES``.
    config : dict or None
        Hyperparameters and, optionally, state for the rule; not modified.

    Returns
    -------
    dict
        Every hyperparameter of the rule as a Python float (state keys are left out).

    Raises
    ------
    ValueError
        For an unknown rule or key, or a hyperparameter out of its range.
    TypeError
        For a config that is not a dict or a hyperparameter that is not a real number.
    """
    get_update_rule(name)
    return _hyperparameters(name, {} if config is None else config)


def get_update_rule(name):
    """Return the update rule called ``name``; the error lists the valid names."""
    if name not in UPDATE_RULES:
        raise ValueError(
            f"unknown update rule {name!r}; choose one of {', '.join(map(repr, UPDATE_RULES))}")
    return UPDATE_RULES[name]


def _hyperparameters(rule, config):
    """The rule's hyperparameters from ``config`` over the defaults, checked, as Python floats."""
    if not isinstance(config, dict):
        raise TypeError(f"{rule}: config must be a dict or None, got {type(config).__name__}")
    known = (*DEFAULTS[rule], *STATE[rule])
    unknown = [key for key in config if key not in known]
    if unknown:
        raise ValueError(
            f"{rule}: unknown config key {unknown[0]!r}; {rule} takes {', '.join(known)}")
    hyper = {}
    for key, default in DEFAULTS[rule].items():
        value = config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"{rule}: config[{key!r}] must be a real number, got {type(value).__name__}")
        test, wanted = _RANGES[key]
        if not test(value):
            raise ValueError(f"{rule}: config[{key!r}] must be {wanted}, got {value!r}")
        hyper[key] = float(value)
    return hyper


def _open(rule, w, dw, config):
    """Check a step's inputs and complete ``config`` in place (CS231n's ``setdefault``).

    Returns w, dw in w's dtype and the config, holding every hyperparameter as a Python float
    and every state array in w's shape and dtype (zeros when it was missing).
    """
    w = as_float_array(rule, "w", w)
    dw = as_float_array(rule, "dw", dw)
    check_same_shape(rule, "dw", dw, "w", w)
    config = {} if config is None else config
    hyper = _hyperparameters(rule, config)
    config.update(hyper)
    for key in STATE[rule]:
        if key == "t":
            t = config.setdefault("t", 0)
            if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
                raise ValueError(f"{rule}: config['t'] must be an integer >= 0, got {t!r}")
            config["t"] = int(t)  # a Python int: beta1**t stays a weak scalar for float32 w
            continue
        state = as_float_array(rule, f"config[{key!r}]", config.setdefault(key, np.zeros_like(w)))
        state = state.astype(w.dtype, copy=False)
        if state.shape != w.shape:
            raise ValueError(
                f"{rule}: config[{key!r}] must have the shape of w, {w.shape}, "
                f"got {state.shape}")
        config[key] = state
    return w, dw.astype(w.dtype, copy=False), config


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent.

        w <- w - learning_rate * dw

    config: ``learning_rate`` (default 1e-2). Returns ``(next_w, config)``.
    """
    w, dw, config = _open("sgd", w, dw, config)
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum: a velocity that accumulates the steps.

        v <- momentum * v - learning_rate * dw
        w <- w + v

    config: ``learning_rate`` (default 1e-2), ``momentum`` (0.9) and the state ``velocity``
    (ndarray of shape S, zeros at the start), which the step replaces. Returns
    ``(next_w, config)``.
    """
    w, dw, config = _open("sgd_momentum", w, dw, config)
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: divide the step by a running root mean square of recent gradients.

        cache <- decay_rate * cache + (1 - decay_rate) * dw**2
        w     <- w - learning_rate * dw / (sqrt(cache) + epsilon)

    config: ``learning_rate`` (default 1e-2), ``decay_rate`` (0.99), ``epsilon`` (1e-8) and
    the state ``cache`` (ndarray of shape S, zeros at the start), which the step replaces.
    Returns ``(next_w, config)``.
    """
    w, dw, config = _open("rmsprop", w, dw, config)
    decay_rate = config["decay_rate"]
    cache = decay_rate * config["cache"] + (1 - decay_rate) * dw**2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """Adam: momentum on the gradient and on its square, both corrected for their zero start.

        t  <- t + 1
        m  <- beta1 * m + (1 - beta1) * dw
        v  <- beta2 * v + (1 - beta2) * dw**2
        mt =  m / (1 - beta1**t)
        vt =  v / (1 - beta2**t)
        w  <- w - learning_rate * mt / (sqrt(vt) + epsilon)

    config: ``learning_rate`` (default 1e-3), ``beta1`` (0.9), ``beta2`` (0.999), ``epsilon``
    (1e-8) and the state ``m``, ``v`` (ndarrays of shape S, zeros at the start) and ``t`` (0),
    which the step replaces. Returns ``(next_w, config)``.
    """
    w, dw, config = _open("adam", w, dw, config)
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = beta1 * config["m"] + (1 - beta1) * dw
    v = beta2 * config["v"] + (1 - beta2) * dw**2
    mt = m / (1 - beta1**t)
    vt = v / (1 - beta2**t)
    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}

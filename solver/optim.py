"""Update rules: how a parameter moves, given its gradient, the CS231n way.

Every rule has one signature:

    next_w, next_config = rule(w, dw, config=None)

    w            ndarray of any shape S (a weight matrix (D, H), a bias (H,), ...)
    dw           ndarray of shape S: the gradient of the loss with respect to w
    config       dict of hyperparameters (learning_rate, ...) and state (velocity, cache, m, v, t);
                 None or a missing key takes CS231n's default
    next_w       ndarray of shape S in w's dtype: the updated parameter, always a new array
    next_config  a new dict holding every hyperparameter and the updated state: pass it to the
                 next call for the same parameter

Who may write to what:

- The caller's ``w`` and ``config`` are never modified, nor any array the caller put in config:
  state the caller supplies (a ``velocity`` to start from, a checkpoint's ``m``) is copied first.
- The state arrays in ``next_config`` belong to the rule. Handing ``next_config`` back on the next
  step, as a training loop does, hands them back with it: the rule recognises the arrays it made
  and updates them in place rather than allocating new ones every step. So a config a rule has
  returned is live working memory, consumed by the call it is passed to: pass it once, and
  ``copy.deepcopy`` it first if you need a snapshot (a copy is a plain dict the rule never writes).
  Passed a second time, its state has already moved on a step: the rule raises ValueError
  rather than step from it.
- State arrays are kept in w's dtype, and hyperparameters are Python floats, so a float32
  parameter stays float32 through every rule.

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


class _RuleConfig(dict):
    """The config a rule returns: a plain dict that remembers which state arrays the rule made.

    ``owned`` maps a state key to the array the rule allocated for it. An entry counts only while
    ``config[key] is owned[key]``, so an array put in its place by the caller is never written to.
    ``spent`` holds the keys whose arrays a later step has updated in place: this config no
    longer holds the state it was returned with. Copies (``copy.copy``, ``copy.deepcopy``,
    pickling) are plain dicts: ownership is not copied.
    """

    def __init__(self, items, owned):
        super().__init__(items)
        self.owned = owned
        self.spent = set()

    def __reduce__(self):
        return dict, (dict(self),)


def validate_config(name, config=None):
    """Check a rule's hyperparameters and return them completed with the defaults.

    Parameters
    ----------
    name : str
        A key of ``UPDATE_RULES``.
    config : dict or None
        Hyperparameters and, optionally, state arrays for the rule.

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
    return _hyperparameters(name, config)


def get_update_rule(name):
    """Return the update rule called ``name``; the error lists the valid names."""
    if name not in UPDATE_RULES:
        raise ValueError(
            f"unknown update rule {name!r}; choose one of {', '.join(map(repr, UPDATE_RULES))}")
    return UPDATE_RULES[name]


def _hyperparameters(rule, config):
    """The rule's hyperparameters from ``config`` over the defaults, checked, as Python floats."""
    if config is None:
        config = {}
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


def _begin(rule, w, dw, config):
    """Check a step's inputs; return w, dw (in w's dtype) and the config's hyperparameters."""
    hyper = _hyperparameters(rule, config)
    w = as_float_array(rule, "w", w)
    dw = as_float_array(rule, "dw", dw)
    check_same_shape(rule, "dw", dw, "w", w)
    return w, dw.astype(w.dtype, copy=False), hyper


def _state(rule, config, key, w):
    """The state array ``config[key]`` as an array the rule may write to, of w's shape and dtype.

    The rule's own array from an earlier step is returned as is (to be updated in place), once
    per config; the caller's array is copied; a missing one starts at zeros.
    """
    value = None if config is None else config.get(key)
    if value is None:
        return np.zeros_like(w)
    if (isinstance(config, _RuleConfig) and config.owned.get(key) is value
            and value.dtype == w.dtype and value.shape == w.shape):
        if key in config.spent:
            raise ValueError(
                f"{rule}: this config was passed to a step already, which updated its "
                f"{key!r} in place; pass each config a rule returns once (as a training loop "
                f"does), or copy.deepcopy it to step from it again")
        config.spent.add(key)
        return value
    state = np.array(value, dtype=w.dtype)  # a copy: the caller's array is never written to
    if state.shape != w.shape:
        raise ValueError(
            f"{rule}: config[{key!r}] must have the shape of w, {w.shape}, got {state.shape}")
    return state


def _step_count(rule, config):
    """Adam's step counter ``t`` from config (0 when missing), checked."""
    t = 0 if config is None else config.get("t", 0)
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
        raise ValueError(f"{rule}: config['t'] must be an integer >= 0, got {t!r}")
    return int(t)


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent.

        w <- w - learning_rate * dw

    Parameters
    ----------
    w : ndarray of shape S
        The parameter; not modified.
    dw : ndarray of shape S
        Its gradient.
    config : dict or None
        ``learning_rate`` (default 1e-2).

    Returns
    -------
    next_w : ndarray of shape S
        The updated parameter, a new array in w's dtype.
    next_config : dict
        ``learning_rate``.
    """
    w, dw, hyper = _begin("sgd", w, dw, config)
    next_w = np.multiply(dw, hyper["learning_rate"], out=np.empty_like(w))  # (S) the one new array
    np.subtract(w, next_w, out=next_w)
    return next_w, _RuleConfig(hyper, {})


def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum: a velocity that accumulates the steps.

        v <- momentum * v - learning_rate * dw
        w <- w + v

    Parameters
    ----------
    w : ndarray of shape S
        The parameter; not modified.
    dw : ndarray of shape S
        Its gradient.
    config : dict or None
        ``learning_rate`` (default 1e-2), ``momentum`` (0.9) and the state ``velocity``
        (ndarray of shape S, zeros at the start).

    Returns
    -------
    next_w : ndarray of shape S
        The updated parameter, a new array in w's dtype.
    next_config : dict
        The hyperparameters and the new ``velocity``; see the module docstring on ownership.
    """
    w, dw, hyper = _begin("sgd_momentum", w, dw, config)
    v = _state("sgd_momentum", config, "velocity", w)
    next_w = np.multiply(dw, hyper["learning_rate"], out=np.empty_like(w))  # (S) the one new array
    v *= hyper["momentum"]
    v -= next_w
    np.add(w, v, out=next_w)
    return next_w, _RuleConfig({**hyper, "velocity": v}, {"velocity": v})


def rmsprop(w, dw, config=None):
    """RMSProp: divide the step by a running root mean square of recent gradients.

        cache <- decay_rate * cache + (1 - decay_rate) * dw**2
        w     <- w - learning_rate * dw / (sqrt(cache) + epsilon)

    Parameters
    ----------
    w : ndarray of shape S
        The parameter; not modified.
    dw : ndarray of shape S
        Its gradient.
    config : dict or None
        ``learning_rate`` (default 1e-2), ``decay_rate`` (0.99), ``epsilon`` (1e-8) and the state
        ``cache`` (ndarray of shape S, zeros at the start).

    Returns
    -------
    next_w : ndarray of shape S
        The updated parameter, a new array in w's dtype.
    next_config : dict
        The hyperparameters and the new ``cache``; see the module docstring on ownership.
    """
    w, dw, hyper = _begin("rmsprop", w, dw, config)
    cache = _state("rmsprop", config, "cache", w)
    decay = hyper["decay_rate"]
    next_w = np.square(dw, out=np.empty_like(w))  # (S) the new array that ends up holding next_w
    next_w *= 1 - decay
    cache *= decay
    cache += next_w
    step = np.multiply(dw, hyper["learning_rate"], out=np.empty_like(w))  # (S) the one temporary
    np.sqrt(cache, out=next_w)
    next_w += hyper["epsilon"]
    np.divide(step, next_w, out=next_w)
    np.subtract(w, next_w, out=next_w)
    return next_w, _RuleConfig({**hyper, "cache": cache}, {"cache": cache})


def adam(w, dw, config=None):
    """Adam: momentum on the gradient and on its square, both corrected for their zero start.

        t  <- t + 1                                    (incremented before use)
        m  <- beta1 * m + (1 - beta1) * dw
        v  <- beta2 * v + (1 - beta2) * dw**2
        mt =  m / (1 - beta1**t)
        vt =  v / (1 - beta2**t)
        w  <- w - learning_rate * mt / (sqrt(vt) + epsilon)

    Parameters
    ----------
    w : ndarray of shape S
        The parameter; not modified.
    dw : ndarray of shape S
        Its gradient.
    config : dict or None
        ``learning_rate`` (default 1e-3), ``beta1`` (0.9), ``beta2`` (0.999), ``epsilon`` (1e-8)
        and the state ``m``, ``v`` (ndarrays of shape S, zeros at the start) and ``t`` (0).

    Returns
    -------
    next_w : ndarray of shape S
        The updated parameter, a new array in w's dtype.
    next_config : dict
        The hyperparameters and the new ``m``, ``v``, ``t``; see the module docstring on
        ownership.
    """
    w, dw, hyper = _begin("adam", w, dw, config)
    m = _state("adam", config, "m", w)
    v = _state("adam", config, "v", w)
    t = _step_count("adam", config) + 1
    beta1, beta2 = hyper["beta1"], hyper["beta2"]
    next_w = np.multiply(dw, 1 - beta1, out=np.empty_like(w))  # (S) ends up holding next_w
    m *= beta1
    m += next_w
    np.square(dw, out=next_w)
    next_w *= 1 - beta2
    v *= beta2
    v += next_w
    step = np.divide(m, 1 - beta1**t, out=np.empty_like(w))  # (S) mt, the one temporary
    step *= hyper["learning_rate"]
    np.divide(v, 1 - beta2**t, out=next_w)  # vt
    np.sqrt(next_w, out=next_w)
    next_w += hyper["epsilon"]
    np.divide(step, next_w, out=next_w)
    np.subtract(w, next_w, out=next_w)
    return next_w, _RuleConfig({**hyper, "m": m, "v": v, "t": t}, {"m": m, "v": v})


UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}

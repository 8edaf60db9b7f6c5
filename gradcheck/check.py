"""check_layer / check_loss: prove a layer's backward right against numerical gradients.

    report = check_layer(affine_forward, affine_backward, x, w, b)               # every element
    report = check_layer(affine_forward, affine_backward, x, w, b, mode="fast")  # a few directions
    report = check_loss(softmax_loss, x, y)
    assert report.ok, report      # str(report) is a table naming the worst input and element

Shapes: S_k is the shape of the k-th checked input, O the shape of the forward's output ``out``.

What is compared. ``check_layer`` draws a random upstream gradient ``dout`` (shape O, seeded,
never all-ones) and differentiates the scalar ``L = sum(out * dout)``, whose exact gradient is
what ``backward(dout, cache)`` must return; ``check_loss`` differentiates the loss itself.

``mode='full'`` estimates every element of every checked input by centred differences
(2 forward calls per element) and reports, per input, the element with the largest error::

    err_i = |n_i - a_i| / max(|n_i| + |a_i|,  FLOOR * scale,  noise_i / tol)

The first term is CS231n's relative error (n numerical, a analytic). The two floors keep it
from failing a correct layer where a relative error means nothing:

- ``FLOOR`` (1e-3) of ``scale``, the largest gradient element of any checked input (numerical
  or analytic): an element far smaller than the others (tanh'(30) ~ 1e-25, a saturated sigmoid)
  is judged against that, not against itself, so the centred difference's own truncation and
  round-off error (~1e-11) cannot read as a 100 % error. The scale is taken over all inputs,
  not the input's own, because an input's true gradient can be exactly zero: a bias before
  train-mode batchnorm, which subtracts it again, has analytic ~1e-17 against numeric 0.
- ``noise_i``, the round-off of the numerical estimate itself: ``ROUNDOFF`` (16 float64
  epsilons) times the size of what was differenced, ``sum_j |out_j * dout_j|`` over the outputs
  that moved (``|loss|`` for a loss), divided by the step. A discrepancy within round-off scores
  at most ``tol``. This matters when the whole gradient is tiny next to the output (layernorm
  over two features) or for a mean loss over a large batch (dx ~ 1/N, round-off ~ eps |loss|).

Neither floor hides a real bug: both are far below the 1e-3 discrepancies the tests plant.

``mode='fast'`` checks directional derivatives: for a few random sign vectors ``v`` (each
element +-1, so every element moves by exactly ``h`` as in full mode, and no element can hide
behind a small weight) it compares ``L(x + h v) - L(x - h v)`` with
``<grad, (x + h v) - (x - h v)>`` by the same formula, the first floor being ``FLOOR`` times
the typical size of that product, ``2 h ||grad||`` (the norm over all checked inputs). It uses
``FAST_DIRECTIONS`` directions per input and as many over all inputs jointly (skipped when
only one input is checked): ``1 + 2 * FAST_DIRECTIONS * inputs`` forward calls, plus
``2 * FAST_DIRECTIONS`` for the joint directions when there are several inputs, whatever the
size, so an affine layer with a million weights checks in a fraction of a second. A
direction sees a single wrong element of input k only through its share of the whole
gradient, about ``error / ||grad_k||``; use full mode to find which element it is.

Default tolerances (``DEFAULT_TOL``): 1e-6 in both modes, CS231n's "1e-7 and less, you should
be happy" with room for harder layers. Correct float64 layers score 1e-9..1e-11 as a rule and
stayed below 3e-7 over random shapes and scales (tanh and sigmoid saturated, layernorm,
softmax over 1000 rows). The subtle bugs the tests plant score far above: a gradient scaled by
1.001 gives 5e-4, a reversed bias gradient 0.1 and more, one element off by 1e-3 in an affine
layer of up to 30 x 30 weights at least 4e-5 (full) and 6e-6 (fast). Round-off is estimated
for float64 arithmetic: float32 checks run (with a warning) but mostly fail on their own noise.

Both functions work on private copies of the checked arrays, so the caller's arrays are never
touched; every perturbation is undone bit for bit in a ``finally``. Dict arguments (``bn_param``,
``dropout_param``) are deep-copied for every forward call, so running statistics or a seed give
the same output on every call and the caller's dict is left as it was.
"""

import copy
import functools
import inspect
import numbers

import numpy as np

from .numerical import _centred_pair, warn_low_precision
from .report import GradCheckReport, InputResult

MODES = ("full", "fast")
DEFAULT_TOL = {"full": 1e-6, "fast": 1e-6}
FLOOR = 1e-3
ROUNDOFF = 16 * np.finfo(np.float64).eps
FAST_DIRECTIONS = 3
SALT = 0x67726164  # b"grad": dout is never the data a caller drew from default_rng(seed)


def check_layer(forward, backward, *args, mode="full", h=1e-5, tol=None, seed=0, verbose=False,
                **kwargs):
    """Check ``backward`` against numerical gradients of ``forward`` at ``args``.

    Parameters
    ----------
    forward : callable
        ``out, cache = forward(*args, **kwargs)``.
    backward : callable
        ``grads = backward(dout, cache)``: one gradient per checked input, in order (a bare
        array when there is one).
    *args
        The forward's positional arguments. Floating-point ndarrays (any shape S_k, float64
        for a meaningful check) are checked; everything else (dicts, numbers, integer label
        arrays, None) is passed through unchanged, dicts as a fresh deep copy on every call.
    mode : {'full', 'fast'}, default 'full'
        Every element by centred differences, or a few random directional derivatives.
    h : float, default 1e-5
        Step of the centred differences (per element, in both modes).
    tol : float, optional
        Largest relative error that passes; ``DEFAULT_TOL[mode]`` (1e-6) by default.
    seed : int, default 0
        Seeds the check's own generator, which draws ``dout`` and the fast-mode directions.
    verbose : bool, default False
        Print the report's table.
    **kwargs
        Passed through to ``forward``.

    Returns
    -------
    GradCheckReport
        ``.ok``, ``.max_error`` and one :class:`InputResult` per checked input.
    """
    func = "check_layer"
    _check_callable(func, "forward", forward)
    _check_callable(func, "backward", backward)
    mode, tol = _check_options(func, mode, h, tol)
    rng = _generator(func, seed)
    fwd, bwd = _name(forward), _name(backward)
    checked = [i for i, arg in enumerate(args) if _is_float_array(arg)]
    if not checked:
        raise ValueError(
            f"{func}: no floating-point ndarray among the arguments of {fwd} to check; "
            f"got {', '.join(type(arg).__name__ for arg in args) or 'none'}")
    names = _arg_names(forward, len(args))
    probe = _Probe(forward, args, kwargs, checked, [names[i] for i in checked])
    probe.warn_low_precision(func)

    result = probe.call()
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"{func}: {fwd} must return (out, cache), got {type(result).__name__}")
    out, cache = result
    probe.refuse_changed_inputs(func, fwd)
    out = np.asarray(out)
    if out.dtype.kind != "f":
        raise TypeError(f"{func}: {fwd} must return a floating-point out, got dtype {out.dtype}")
    dout = rng.standard_normal(out.shape).astype(out.dtype)  # O
    dout_copy = dout.copy()
    grads = backward(dout, cache)
    if not np.array_equal(dout, dout_copy):
        raise ValueError(f"{func}: {bwd} changed dout; backward must never modify its inputs")
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) != len(checked):
        integer_arrays = [name for name, arg in zip(names, args)
                          if isinstance(arg, np.ndarray) and arg.dtype.kind in "iu"]
        if integer_arrays:
            hint = (f"; integer arrays pass through unchecked ({', '.join(integer_arrays)}), "
                    f"to check one pass it as .astype(np.float64)")
        elif any(isinstance(arg, (float, np.floating)) for arg in args):
            hint = "; numbers pass through unchecked, to check one pass it as np.array(value)"
        else:
            hint = ""
        raise ValueError(
            f"{func}: {bwd} returned {len(grads)} gradient(s), expected {len(checked)}: one per "
            f"floating-point array input of {fwd} ({', '.join(probe.names)}), in order{hint}")
    grads = probe.gradients(func, bwd, grads)

    def value():
        return np.array(probe.call()[0], dtype=np.float64)  # O, a copy: out may be a view

    change = functools.partial(_output_change, dout=dout.astype(np.float64))
    report = _compare(f"{fwd} / {bwd}", probe, grads, value, change, mode, h, tol, rng)
    if verbose:
        print(report)
    return report


def check_loss(loss_fn, x, y, *args, mode="full", h=1e-5, tol=None, seed=0, verbose=False,
               **kwargs):
    """Check the gradient a ``*_loss`` function returns against numerical gradients of its loss.

    Parameters
    ----------
    loss_fn : callable
        ``loss, dx = loss_fn(x, y, *args, **kwargs)`` with a scalar loss.
    x : ndarray of shape S, floating point
        The scores to differentiate (float64 for a meaningful check); never modified.
    y : array_like
        Labels (or any other target), passed through unchanged, like ``*args`` and ``**kwargs``.
    mode : {'full', 'fast'}, default 'full'
        Every element by centred differences, or a few random directional derivatives.
    h : float, default 1e-5
        Step of the centred differences.
    tol : float, optional
        Largest relative error that passes; ``DEFAULT_TOL[mode]`` (1e-6) by default.
    seed : int, default 0
        Seeds the check's own generator, which draws the fast-mode directions.
    verbose : bool, default False
        Print the report's table.

    Returns
    -------
    GradCheckReport
        ``.ok``, ``.max_error`` and one :class:`InputResult`, for x.
    """
    func = "check_loss"
    _check_callable(func, "loss_fn", loss_fn)
    mode, tol = _check_options(func, mode, h, tol)
    rng = _generator(func, seed)
    name = _name(loss_fn)
    if not _is_float_array(x):
        got = f"{x.dtype} array" if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"{func}: x must be a floating-point ndarray, got {got}")
    call_args = (x, y) + args
    probe = _Probe(loss_fn, call_args, kwargs, [0], _arg_names(loss_fn, 1))
    probe.warn_low_precision(func)

    def loss_and_grad():
        result = probe.call()
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError(f"{func}: {name} must return (loss, dx), got {type(result).__name__}")
        if np.ndim(result[0]) != 0:
            raise ValueError(
                f"{func}: {name} must return a scalar loss, got shape {np.shape(result[0])}")
        return result

    _, dx = loss_and_grad()
    probe.refuse_changed_inputs(func, name)
    grads = probe.gradients(func, name, (dx,))

    def value():
        return float(loss_and_grad()[0])

    report = _compare(name, probe, grads, value, _loss_change, mode, h, tol, rng)
    if verbose:
        print(report)
    return report


class _Probe:
    """The function under check, called on private copies of its checked inputs.

    ``arrays[k]`` is the working copy of the k-th checked input, perturbed and restored by
    the comparisons; ``originals[k]`` is the caller's array, only ever read. ``calls``
    counts the calls of the function.
    """

    def __init__(self, function, args, kwargs, checked, names):
        self.function = function
        self.kwargs = kwargs
        self.names = names
        self.originals = [args[i] for i in checked]
        self.arrays = [args[i].copy() for i in checked]
        self.args = list(args)
        for i, array in zip(checked, self.arrays):
            self.args[i] = array
        self.calls = 0

    def call(self):
        """Call the function on the working arrays, with fresh deep copies of dict arguments."""
        self.calls += 1
        args = [copy.deepcopy(arg) if isinstance(arg, dict) else arg for arg in self.args]
        kwargs = {key: copy.deepcopy(value) if isinstance(value, dict) else value
                  for key, value in self.kwargs.items()}
        return self.function(*args, **kwargs)

    def warn_low_precision(self, func):
        for name, array in zip(self.names, self.arrays):
            warn_low_precision(func, name, array, stacklevel=4)

    def refuse_changed_inputs(self, func, name):
        for input_name, array, original in zip(self.names, self.arrays, self.originals):
            if not np.array_equal(array, original, equal_nan=True):
                raise ValueError(
                    f"{func}: {name} changed its input {input_name}; "
                    f"a layer must never modify its inputs")

    def gradients(self, func, name, grads):
        """The analytic gradients as float64 arrays, after checking their shapes and dtypes."""
        checked = []
        for input_name, array, grad in zip(self.names, self.arrays, grads):
            grad = np.asarray(grad)
            if grad.shape != array.shape:
                raise ValueError(
                    f"{func}: {name} returned d{input_name} of shape {grad.shape}, expected the "
                    f"shape of {input_name}, {array.shape}")
            if grad.dtype != array.dtype:
                raise TypeError(
                    f"{func}: {name} returned d{input_name} of dtype {grad.dtype} for "
                    f"{input_name} of dtype {array.dtype}; a gradient keeps its input's dtype")
            checked.append(grad.astype(np.float64))
        return checked


def _compare(function, probe, grads, value, change, mode, h, tol, rng):
    """Compare the analytic ``grads`` with numerical estimates; build the report.

    ``value()`` evaluates the function at the working arrays (its output, or the loss);
    ``change(plus, minus)`` turns two values into the change in L and its round-off.
    """
    every = range(len(probe.arrays))
    if mode == "full":
        scale = max(float(np.max(np.abs(grad), initial=0.0)) for grad in grads)
        inputs = tuple(_full(probe, k, grads[k], value, change, h, tol, scale) for k in every)
        joint = None
    else:
        norm = float(np.sqrt(sum(np.vdot(grad, grad) for grad in grads)))
        inputs = tuple(_fast(probe, [k], grads, value, change, h, tol, rng, probe.names[k], norm)
                       for k in every)
        joint = (_fast(probe, every, grads, value, change, h, tol, rng, "(joint)", norm)
                 if len(every) > 1 else None)
    return GradCheckReport(function, mode, h, tol, inputs, joint, probe.calls)


def _full(probe, k, analytic, value, change, h, tol, scale):
    """Centred differences of every element of input k, against its analytic gradient.

    ``scale`` is the largest analytic gradient element of any checked input."""
    array = probe.arrays[k]
    numeric, noise = np.empty(array.shape), np.empty(array.shape)  # S_k
    for ix in np.ndindex(array.shape):
        plus, minus, step = _centred_pair(array, ix, h, value)
        difference, roundoff = change(plus, minus)
        numeric[ix], noise[ix] = difference / step, roundoff / step

    scale = max(scale, np.max(np.abs(numeric), initial=0.0))
    errors = _relative(numeric, analytic, np.maximum(FLOOR * scale, noise / tol))  # S_k
    worst = np.unravel_index(np.argmax(errors), array.shape) if errors.size else ()
    worst = tuple(int(i) for i in worst)
    max_error = float(errors[worst]) if errors.size else 0.0
    return InputResult(probe.names[k], array.shape, max_error, worst,
                       float(analytic[worst]) if errors.size else 0.0,
                       float(numeric[worst]) if errors.size else 0.0,
                       int(array.size), bool(max_error <= tol))


def _fast(probe, ks, grads, value, change, h, tol, rng, name, grad_norm):
    """Directional derivatives along FAST_DIRECTIONS random sign vectors over inputs ``ks``.

    ``grad_norm`` is the norm of the analytic gradient over all checked inputs."""
    ks = list(ks)
    numeric, analytic, noise = (np.empty(FAST_DIRECTIONS) for _ in range(3))
    for d in range(FAST_DIRECTIONS):
        steps = {k: _random_signs(rng, probe.arrays[k].shape, h) for k in ks}  # S_k
        taken = {}
        try:
            for k in ks:
                np.add(probe.originals[k], steps[k], out=probe.arrays[k])
                taken[k] = probe.arrays[k].astype(np.float64)  # S_k, x + h v as rounded
            plus = value()
            for k in ks:
                np.subtract(probe.originals[k], steps[k], out=probe.arrays[k])
                taken[k] -= probe.arrays[k]  # S_k, (x + h v) - (x - h v)
            minus = value()
        finally:
            for k in ks:
                np.copyto(probe.arrays[k], probe.originals[k])
        numeric[d], noise[d] = change(plus, minus)
        analytic[d] = sum(np.vdot(grads[k], taken[k]) for k in ks)

    floor = np.maximum(FLOOR * 2 * h * grad_norm, noise / tol)  # (FAST_DIRECTIONS,)
    errors = _relative(numeric, analytic, floor)  # (FAST_DIRECTIONS,)
    worst = int(np.argmax(errors))
    shape = probe.arrays[ks[0]].shape if len(ks) == 1 else ()
    max_error = float(errors[worst])
    # Report directional derivatives: the change in L per unit of step, 2 h.
    return InputResult(name, shape, max_error, None, float(analytic[worst] / (2 * h)),
                       float(numeric[worst] / (2 * h)), FAST_DIRECTIONS,
                       bool(max_error <= tol))


def _random_signs(rng, shape, h):
    """An array of ``shape`` holding ``+h`` or ``-h`` at random (cheaper than Gaussians)."""
    step = np.multiply(rng.integers(0, 2, size=shape, dtype=np.int8), 2 * h)  # 0 or 2h
    step -= h  # exactly -h or +h
    return step


def _output_change(plus, minus, dout):
    """The change in ``L = sum(out * dout)`` between two outputs of shape O, and its round-off.

    Outputs that did not move cancel exactly and add no round-off.
    """
    difference = plus - minus  # O
    moved = difference != 0  # O
    size = np.vdot(np.abs(plus[moved]) + np.abs(minus[moved]), np.abs(dout[moved])) / 2
    return float(np.vdot(difference, dout)), ROUNDOFF * size


def _loss_change(plus, minus):
    """The change in a scalar loss, and its round-off."""
    return plus - minus, ROUNDOFF * (abs(plus) + abs(minus)) / 2


def _relative(numeric, analytic, floor):
    """``|n - a| / max(|n| + |a|, floor)``, 0 where both agree exactly, ``inf`` where not finite."""
    difference = np.abs(numeric - analytic)
    denominator = np.maximum(np.abs(numeric) + np.abs(analytic), floor)
    errors = np.divide(difference, denominator, out=np.zeros_like(difference),
                       where=difference > 0)
    errors[~(np.isfinite(numeric) & np.isfinite(analytic))] = np.inf
    return errors


def _is_float_array(value):
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _arg_names(function, count):
    """Names of the first ``count`` positional parameters of ``function``, else 'arg0'..."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = []
    for i in range(count):
        if i < len(parameters) and parameters[i].kind in positional:
            names.append(parameters[i].name)
        else:
            names.append(f"arg{i}")
    return names


def _name(function):
    """A readable name for a function, a functools.partial or another callable."""
    inner = getattr(function, "func", function)
    return getattr(function, "__name__", None) or getattr(inner, "__name__", repr(function))


def _check_callable(func, name, value):
    if not callable(value):
        raise TypeError(f"{func}: {name} must be callable, got {type(value).__name__}")


def _generator(func, seed):
    """The check's own generator: seeded by ``seed`` and salted, so that a check seeded 0 on
    data drawn from ``default_rng(0)`` does not get that very data back as ``dout``."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{func}: seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng([int(seed), SALT])


def _check_options(func, mode, h, tol):
    """Validate mode, h and tol; return the mode and the tolerance to use."""
    if mode not in MODES:
        raise ValueError(f"{func}: mode must be one of {MODES}, got {mode!r}")
    if not isinstance(h, numbers.Real) or not np.isfinite(h) or h <= 0:
        raise ValueError(f"{func}: h must be a positive number, got {h!r}")
    if tol is None:
        return mode, DEFAULT_TOL[mode]
    if not isinstance(tol, numbers.Real) or not tol > 0:
        raise ValueError(f"{func}: tol must be a positive number or None, got {tol!r}")
    return mode, float(tol)

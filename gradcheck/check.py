"""check_layer / check_loss: prove a layer's backward right against numerical gradients.

    report = check_layer(affine_forward, affine_backward, x, w, b)               # every element
    report = check_layer(affine_forward, affine_backward, x, w, b, mode="fast")  # a few directions
    report = check_loss(softmax_loss, x, y)
    assert report.ok, report      # str(report) is a table naming the worst input and element

Shapes: S_k is the shape of the k-th checked input, O the shape of the forward's output ``out``.

What is compared. ``check_layer`` draws a random upstream gradient ``dout`` (shape O, seeded,
never all-ones) and differentiates the scalar ``L = sum(out * dout)``, whose exact gradient is
what ``backward(dout, cache)`` must return; ``check_loss`` differentiates the loss itself.

How the numerical estimates are made, scored and diagnosed is ``gradcheck.compare``'s
business (its docstring has the formulas); this module checks the arguments, calls the
function pair once and hands the gradients over.

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

import inspect
import numbers

import numpy as np

from .compare import (  # noqa: F401  (the constants stay importable from here)
    FAST_DIRECTIONS,
    FINER_STEPS,
    FLOOR,
    FOLLOW_UP_LIMIT,
    ROUNDOFF,
    _compare,
    _LossMeasure,
    _OutputMeasure,
    _Probe,
)
from .report import GradCheckReport, InputResult  # noqa: F401

MODES = ("full", "fast")
DEFAULT_TOL = {"full": 1e-6, "fast": 1e-6}
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
    probe = _Probe(func, forward, args, kwargs, checked, [names[i] for i in checked])
    probe.check_inputs(h)

    result = probe.call()
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"{func}: {fwd} must return (out, cache), got {type(result).__name__}")
    out, cache = result
    probe.refuse_changed_inputs(func, fwd)
    out = np.asarray(out)
    if out.dtype.kind != "f":
        raise TypeError(f"{func}: {fwd} must return a floating-point out, got dtype {out.dtype}")
    dout = rng.standard_normal(out.shape).astype(out.dtype)  # O
    measure = _OutputMeasure(probe, out, dout)  # copies out before backward sees the cache
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

    report = _compare(f"{fwd} / {bwd}", probe, grads, measure, mode, h, tol, rng)
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
    probe = _Probe(func, loss_fn, call_args, kwargs, [0], _arg_names(loss_fn, 1))
    probe.check_inputs(h)

    def loss_and_grad():
        result = probe.call()
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError(f"{func}: {name} must return (loss, dx), got {type(result).__name__}")
        if np.ndim(result[0]) != 0:
            raise ValueError(
                f"{func}: {name} must return a scalar loss, got shape {np.shape(result[0])}")
        return result

    loss, dx = loss_and_grad()
    probe.refuse_changed_inputs(func, name)
    grads = probe.gradients(func, name, (dx,))

    def value():
        return float(loss_and_grad()[0])

    report = _compare(name, probe, grads, _LossMeasure(value, loss), mode, h, tol, rng)
    if verbose:
        print(report)
    return report


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

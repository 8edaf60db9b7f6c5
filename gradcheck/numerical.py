"""Centred-difference gradients, CS231n style, and the relative error that judges them.

    grad = eval_numerical_gradient(f, x)              # f(x) -> scalar;  grad = df/dx
    dx = eval_numerical_gradient_array(f, x, dout)    # f(x) -> array;   dx = d sum(f(x) * dout)/dx
    errors = grad_check_sparse(f, x, analytic_grad)   # a few random elements of a scalar f
    rel_error(dx, dx_num)                             # max |a - b| / max(1e-8, |a| + |b|)

Shapes: S is the shape of ``x`` (any shape, 0-d included); every gradient has shape S.

Each function perturbs ``x`` in place, one element at a time, so ``f`` may also reach ``x``
through a closure, as in CS231n's ``lambda w: affine_forward(x, w, b)[0]``. Every perturbed
element is put back bit for bit (in a ``finally``, so also when ``f`` raises). The difference
quotient divides by the step actually taken, ``(x + h) - (x - h)`` as rounded in ``x``'s dtype,
rather than by ``2 h``, so rounding of the perturbation itself does not bias the estimate.

Numerical gradients are only meaningful in float64: a float32 ``x`` triggers a
:class:`PrecisionWarning` (and the computation still runs).
"""

import numbers
import warnings

import numpy as np


class PrecisionWarning(UserWarning):
    """A gradient check ran on low-precision (e.g. float32) data, where it proves little."""


def rel_error(x, y):
    """CS231n's relative error: ``max(|x - y| / max(1e-8, |x| + |y|))``.

    Parameters
    ----------
    x, y : array_like of broadcastable shapes
        The two values to compare, e.g. an analytic and a numerical gradient.

    Returns
    -------
    float
        The largest element-wise relative error (0.0 for empty inputs; NaN if either holds NaN).
    """
    x, y = (_as_numbers("rel_error", name, v) for name, v in (("x", x), ("y", y)))
    try:
        x, y = np.broadcast_arrays(x, y)
    except ValueError:
        raise ValueError(
            f"rel_error: x and y must have the same (or broadcastable) shapes, "
            f"got {x.shape} and {y.shape}") from None
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f, x, verbose=False, h=1e-5):
    """Numerical gradient of a scalar function by centred differences, one element at a time.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, the function to differentiate.
    x : ndarray of shape S, floating point
        The point at which to differentiate; perturbed in place and restored exactly.
    verbose : bool, default False
        Print each element's index and partial derivative as it is computed.
    h : float, default 1e-5
        Step of the centred difference.

    Returns
    -------
    ndarray of shape S, float64
        ``grad[i] ~= (f(x + h e_i) - f(x - h e_i)) / 2h``.
    """
    func = "eval_numerical_gradient"
    _check_callable(func, "f", f)
    _check_point(func, x, h)
    grad = np.empty(x.shape)  # S
    for ix in np.ndindex(x.shape):
        plus, minus, step = _centred_pair(x, ix, h, lambda: _scalar(func, f(x)))
        refuse_overflow(func, "f", _at("x", ix), h, plus, minus)
        grad[ix] = (plus - minus) / step
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of an array-valued function, contracted with an upstream gradient.

    Parameters
    ----------
    f : callable
        ``f(x) -> ndarray of shape O``, e.g. ``lambda x: relu_forward(x)[0]``.
    x : ndarray of shape S, floating point
        The point at which to differentiate; perturbed in place and restored exactly.
    df : ndarray of shape O
        Upstream gradient ``dL/df(x)``.
    h : float, default 1e-5
        Step of the centred difference.

    Returns
    -------
    ndarray of shape S, float64
        ``dx[i] ~= sum((f(x + h e_i) - f(x - h e_i)) * df) / 2h``, the gradient of
        ``L = sum(f(x) * df)``.
    """
    func = "eval_numerical_gradient_array"
    _check_callable(func, "f", f)
    _check_point(func, x, h)
    df = _as_numbers(func, "df", df)

    def output():
        out = np.array(_returned(func, f(x)), dtype=np.float64)  # O, a copy: f may return x
        if out.shape != df.shape:
            raise ValueError(
                f"{func}: df must have the shape of f(x), {out.shape}, got {df.shape}")
        return out

    grad = np.empty(x.shape)  # S
    for ix in np.ndindex(x.shape):
        plus, minus, step = _centred_pair(x, ix, h, output)
        refuse_overflow(func, "f", _at("x", ix), h, plus, minus)
        grad[ix] = np.vdot(plus - minus, df) / step
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None, verbose=True):
    """Compare an analytic gradient with centred differences at a few random elements, and
    print each, as the course's does: ``numerical: %f analytic: %f, relative error: %e``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, the function whose gradient ``analytic_grad`` claims to be.
    x : ndarray of shape S, floating point
        The point; perturbed in place and restored exactly.
    analytic_grad : ndarray of shape S
        The gradient to check.
    num_checks : int, default 10
        Number of elements to check, drawn without replacement while ``x`` has enough.
    h : float, default 1e-5
        Step of the centred difference.
    seed : int or None, default None
        Seeds the local generator that picks the elements; None picks fresh ones each call
        (as the course's, which draws them from Python's ``random``; numpy's global state is
        left alone).
    verbose : bool, default True
        Print each element's numerical and analytic value and their relative error, one line
        each (the course's printout); False prints nothing.

    Returns
    -------
    ndarray of shape (num_checks,), float64
        The relative error ``|n - a| / max(1e-8, |n| + |a|)`` of each checked element.
    """
    func = "grad_check_sparse"
    _check_callable(func, "f", f)
    _check_point(func, x, h)
    analytic_grad = _as_numbers(func, "analytic_grad", analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(
            f"{func}: analytic_grad must have the shape of x, {x.shape}, "
            f"got {analytic_grad.shape}")
    if (isinstance(num_checks, bool) or not isinstance(num_checks, numbers.Integral)
            or num_checks < 1):
        raise ValueError(f"{func}: num_checks must be a positive integer, got {num_checks!r}")
    if x.size == 0:
        raise ValueError(f"{func}: x is empty, there is no element to check")
    if not (seed is None or isinstance(seed, np.random.Generator) or (
            isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0)):
        raise ValueError(
            f"{func}: seed must be None, an integer >= 0 or a numpy Generator, got {seed!r}")

    rng = np.random.default_rng(seed)
    flat = rng.choice(x.size, size=num_checks, replace=num_checks > x.size)  # (num_checks,)
    errors = np.empty(num_checks)  # (num_checks,)
    for i, f_ix in enumerate(flat):
        ix = np.unravel_index(f_ix, x.shape)  # () for a 0-d x
        plus, minus, step = _centred_pair(x, ix, h, lambda: _scalar(func, f(x)))
        refuse_overflow(func, "f", _at("x", ix), h, plus, minus)
        numeric, analytic = (plus - minus) / step, analytic_grad[ix]
        errors[i] = abs(numeric - analytic) / max(1e-8, abs(numeric) + abs(analytic))
        if verbose:
            print(f"numerical: {numeric:f} analytic: {analytic:f}, "
                  f"relative error: {errors[i]:e}")
    return errors


def _centred_pair(x, ix, h, evaluate):
    """Evaluate at ``x[ix] + h`` and ``x[ix] - h``; return both values and the step taken.

    ``x[ix]`` is restored to its exact original value even if ``evaluate`` raises.
    """
    old = x[ix].copy()
    try:
        x[ix] = old + h
        high = float(x[ix])
        plus = evaluate()
        x[ix] = old - h
        low = float(x[ix])
        minus = evaluate()
    finally:
        x[ix] = old
    return plus, minus, high - low


def _as_numbers(func, name, value):
    """``value`` as a float64 array, refusing None, text, and ragged sequences such as
    (dx, dw)."""
    if value is None:
        raise TypeError(f"{func}: {name} must be an array or a number, got None")
    if isinstance(value, (str, bytes)) or getattr(value, "dtype", np.dtype(float)).kind in "USV":
        got = f"a {value.dtype} array" if isinstance(value, np.ndarray) else repr(value)[:40]
        raise TypeError(f"{func}: {name} must hold numbers, got {got}")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{func}: {name} must be an array or a number, got {type(value).__name__} that "
            f"numpy cannot read as one array; compare gradients one at a time") from None


def _returned(func, value):
    """What f returned, refusing the two usual slips: a layer's whole ``(out, cache)`` (or a
    loss's ``(loss, grad)``) where only the first value is meant, and None."""
    if value is None:
        raise TypeError(f"{func}: f returned None; it must return the value to differentiate")
    if isinstance(value, tuple):
        raise TypeError(
            f"{func}: f returned a tuple of {len(value)}; a layer's forward returns "
            f"(out, cache) and a loss (loss, grad): pass a function of the first only, "
            f"e.g. lambda x: relu_forward(x)[0]")
    return value


def _scalar(func, value):
    """``value`` as a float, refusing arrays with more than one element."""
    value = _returned(func, value)
    if np.ndim(value) != 0:
        raise ValueError(
            f"{func}: f must return a scalar, got an array of shape {np.shape(value)}; "
            f"for array-valued f use eval_numerical_gradient_array(f, x, df)")
    return float(value)


def _check_callable(func, name, f):
    if not callable(f):
        raise TypeError(f"{func}: {name} must be callable, got {type(f).__name__}")


def _check_point(func, x, h):
    """Refuse an ``x`` that cannot be perturbed in place, or a bad step; warn on float32."""
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        got = f"{x.dtype} array" if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(
            f"{func}: x must be a floating-point ndarray (it is perturbed in place), "
            f"got {got}; pass np.asarray(x, dtype=np.float64)")
    if not x.flags.writeable:
        raise ValueError(f"{func}: x must be writeable (it is perturbed in place and restored)")
    if not isinstance(h, numbers.Real) or not np.isfinite(h) or h <= 0:
        raise ValueError(f"{func}: h must be a positive number, got {h!r}")
    warn_low_precision(func, "x", x, stacklevel=4)
    check_step(func, "x", x, h)


def check_step(func, name, x, h):
    """Refuse a step ``h`` that some element of ``x`` cannot take: one lost in rounding,
    ``x[ix] + h == x[ix] - h`` (a float16 x, an x of 1e12, an h of 1e-20), whose difference
    quotient would divide by zero, or one that overflows x's dtype."""
    with np.errstate(all="ignore"):
        step = (x + x.dtype.type(h)) - (x - x.dtype.type(h))  # S, the steps as rounded
    lost = ~((step > 0) & (step < np.inf))  # S; an overflow (inf, or inf - inf) is lost too
    if not lost.any():
        return
    ix = tuple(int(i) for i in np.unravel_index(np.argmax(lost), x.shape))
    value, at = x[ix], _at(name, ix)
    if not np.isfinite(value):
        raise ValueError(f"{func}: {at} is {value!r}; a numerical gradient needs a finite {name}")
    if not np.isfinite(step[ix]):
        raise ValueError(
            f"{func}: the step h = {h!r} overflows {name}'s dtype {x.dtype} at {at} = {value!r}: "
            f"{at} +- h is not finite; use a smaller h (1e-5 is usual)")
    raise ValueError(
        f"{func}: the step h = {h!r} is lost in {name}'s precision: {at} = {value!r} "
        f"({x.dtype}, spacing {np.spacing(value)!r}) +- h rounds back to it, so the difference "
        f"quotient would divide by zero; use an h well above that spacing, or "
        f"{name}.astype(np.float64)")


def _at(name, ix):
    """``x[0, 1]`` for element (0, 1) of x, ``x`` for the element of a 0-d x."""
    return f"{name}[{', '.join(map(str, ix))}]" if ix else name


def refuse_overflow(func, what, where, h, plus, minus):
    """Refuse ``plus``/``minus``, the values at ``where`` +- h (``x[0, 1]``), when either is
    not finite: a step so large that it overflows the function (h = 1e300), or a function
    that is not finite there."""
    if np.all(np.isfinite(plus)) and np.all(np.isfinite(minus)):
        return
    raise ValueError(
        f"{func}: {what} is not finite at {where} +- h with h = {h!r}: a step this large "
        f"overflows it (1e-5 is usual), or {what} is not finite there")


def warn_low_precision(func, name, x, stacklevel):
    """Warn with :class:`PrecisionWarning` when ``x`` is floating point narrower than float64."""
    if x.dtype.itemsize < 8:
        warnings.warn(
            f"{func}: {name} is {x.dtype}; numerical gradients are only meaningful in float64 "
            f"(round-off swamps the centred difference), so this check proves little. "
            f"Check with {name}.astype(np.float64).",
            PrecisionWarning, stacklevel=stacklevel)

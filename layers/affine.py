"""Affine (fully connected) layer: every example flattened to a row, then ``x @ w + b``.

    out, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    _, dw, db = affine_backward(dout, cache, input_grad=False)   # a net's first layer: dx None

Shapes: N examples, each of shape (d1, ..., dk), flattened to D = d1 * ... * dk features;
M outputs. x is (N, d1, ..., dk), w is (D, M), b is (M,), out is (N, M).
"""

import math

from ._checks import (
    Cache, as_float_array, check_cache, check_dout, check_input_grad, check_shape, in_dtypes,
    shape_str)


def _check_affine_args(x, w, b):
    """Validate ``x, w, b`` of :func:`affine_forward`; return the three as float arrays."""
    func = "affine_forward"
    x, w, b = (as_float_array(func, name, v) for name, v in (("x", x), ("w", w), ("b", b)))
    if x.ndim < 2:
        raise ValueError(
            f"{func}: x must have shape (N, d1, ..., dk), one row per example, "
            f"got shape {shape_str(x.shape)}")
    rows = (x.shape[0], math.prod(x.shape[1:]))
    check_shape(func, "w", w, (rows[1], None), "(D, M)",
                f" to match x flattened to (N, D) = {shape_str(rows)}")
    check_shape(func, "b", b, (w.shape[1],), "(M,)", f" to match w of shape {shape_str(w.shape)}")
    return x, w, b


def affine_forward(x, w, b):
    """Affine layer: ``out = x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    x : ndarray of shape (N, d1, ..., dk)
        Inputs, flattened to (N, D) with D = d1 * ... * dk.
    w : ndarray of shape (D, M)
        Weights.
    b : ndarray of shape (M,)
        Biases.

    Returns
    -------
    out : ndarray of shape (N, M)
        Scores, in the dtype numpy promotion gives x, w and b.
    cache : Cache
        The flattened x (a view of x where its memory allows), w, x's shape and b's dtype.
    """
    x, w, b = _check_affine_args(x, w, b)
    x_rows = x.reshape(x.shape[0], w.shape[0])  # (N, D)
    out = x_rows @ w + b  # (N, M)
    return out, Cache("affine", x_rows, w, x.shape, b.dtype)


def affine_backward(dout, cache, *, input_grad=True):
    """Backward of the affine layer.

    ``dx = dout @ w.T`` (reshaped to x's shape), ``dw = x.T @ dout``, ``db = sum_N dout``.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
        Upstream gradient.
    cache : Cache
        From :func:`affine_forward`.
    input_grad : bool, keyword-only
        If False, skip ``dx`` (a third of the layer's matrix work) and return None in its
        place: the first layer of a net needs no gradient for its input, as torch's
        ``requires_grad=False``. The default keeps the contract, one gradient per array input.

    Returns
    -------
    dx : ndarray of shape (N, d1, ..., dk), or None if not ``input_grad``
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
        Each in the dtype of its input.
    """
    func = "affine_backward"
    x_rows, w, x_shape, b_dtype = check_cache(func, cache, "affine", 4)
    dout = check_dout(func, dout, (x_rows.shape[0], w.shape[1]), "(N, M)")
    input_grad = check_input_grad(func, input_grad)

    dx = (dout @ w.T).reshape(x_shape) if input_grad else None  # (N, d1, ..., dk)
    dw = x_rows.T @ dout  # (D, M)
    db = dout.sum(axis=0)  # (M,)
    return in_dtypes((dx, dw, db), (x_rows.dtype, w.dtype, b_dtype))

"""Activation functions, each a forward/backward pair (lecture 4, "activation functions").

    out, cache = relu_forward(x)                    dx = relu_backward(dout, cache)
    out, cache = sigmoid_forward(x)                 dx = sigmoid_backward(dout, cache)
    out, cache = tanh_forward(x)                    dx = tanh_backward(dout, cache)
    out, cache = leaky_relu_forward(x, alpha=0.1)   dx = leaky_relu_backward(dout, cache)
    out, cache = elu_forward(x, alpha=1.0)          dx = elu_backward(dout, cache)
    out, cache = maxout_forward(x, w, b)            dx, dw, db = maxout_backward(dout, cache)

Shapes: the elementwise activations take x of any shape, and out, dout and dx share it.
maxout mixes features: N examples of D features into H units of K linear pieces each, with
x (N, D), w (D, H, K), b (H, K) and out (N, H).

Each forward caches the cheapest thing its backward needs: relu, sigmoid and tanh their
output (already made, and all their derivative needs), leaky_relu and elu their input (no
copy). ReLU's mask is applied by multiplying with booleans rather than by ``np.where``, which
is several times slower on the random signs of real activations. One consequence: an inf or
NaN in ``dout`` where the mask is 0 gives NaN in dx (0 * inf), where torch gives 0.
"""

import math
import numbers

import numpy as np
from scipy.special import expit

from ._checks import (
    Cache, as_float_array, check_cache, check_dout, check_ndim, check_shape, in_dtypes,
    shape_str)


def _check_alpha(func, alpha, high=math.inf):
    """Require a finite real ``alpha`` in [0, high]; return it as a Python float.

    A Python float, not a numpy scalar, so that it never upcasts a float32 array.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"{func}: alpha must be a real number, got {type(alpha).__name__}")
    if not 0 <= alpha <= high or math.isinf(alpha):
        bounds = "[0, inf)" if high == math.inf else f"[0, {high}]"
        raise ValueError(f"{func}: alpha must lie in {bounds}, got {alpha!r}")
    return float(alpha)


def relu_forward(x):
    """Rectified linear unit: ``out = max(0, x)``, elementwise.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    out : ndarray of x's shape
    cache : Cache
        ``(out,)``: the gradient passes exactly where ``out > 0``.
    """
    x = as_float_array("relu_forward", "x", x)
    out = np.maximum(x, 0)
    return out, Cache("relu", out)


def relu_backward(dout, cache):
    """Backward of ReLU: ``dx = dout`` where ``x > 0``, else 0 (also at ``x = 0``, like torch).

    Parameters
    ----------
    dout : ndarray of out's shape
    cache : Cache
        From :func:`relu_forward`.

    Returns
    -------
    dx : ndarray of x's shape and dtype
    """
    (out,) = check_cache("relu_backward", cache, "relu", 1)
    dout = check_dout("relu_backward", dout, out.shape, dtype=out.dtype)
    dx = dout * (out > 0)
    return dx


def sigmoid_forward(x):
    """Logistic sigmoid: ``out = 1 / (1 + exp(-x))``, elementwise.

    Computed by ``scipy.special.expit`` (accurate to about 2 ulp, and faster than a numpy
    composition). At ``x = -1000`` its ``exp(-x)`` overflows to inf inside scipy's C loop and
    the result is the correct limit 0, without a warning: scipy.special functions raise no
    numpy floating-point warnings. Only results below the normal range (x < -87 in float32,
    x < -708 in float64) are flushed to 0.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    out : ndarray of x's shape
    cache : Cache
        ``(out,)``: the derivative is ``out * (1 - out)``.
    """
    x = as_float_array("sigmoid_forward", "x", x)
    out = expit(x)
    return out, Cache("sigmoid", out)


def sigmoid_backward(dout, cache):
    """Backward of the sigmoid: ``dx = dout * out * (1 - out)``.

    Parameters
    ----------
    dout : ndarray of out's shape
    cache : Cache
        From :func:`sigmoid_forward`.

    Returns
    -------
    dx : ndarray of x's shape and dtype
    """
    (out,) = check_cache("sigmoid_backward", cache, "sigmoid", 1)
    dout = check_dout("sigmoid_backward", dout, out.shape, dtype=out.dtype)
    dx = dout * out * (1 - out)
    return dx


def tanh_forward(x):
    """Hyperbolic tangent, elementwise.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    out : ndarray of x's shape
    cache : Cache
        ``(out,)``: the derivative is ``1 - out**2``.
    """
    x = as_float_array("tanh_forward", "x", x)
    out = np.tanh(x)
    return out, Cache("tanh", out)


def tanh_backward(dout, cache):
    """Backward of tanh: ``dx = dout * (1 - out**2)``.

    Parameters
    ----------
    dout : ndarray of out's shape
    cache : Cache
        From :func:`tanh_forward`.

    Returns
    -------
    dx : ndarray of x's shape and dtype
    """
    (out,) = check_cache("tanh_backward", cache, "tanh", 1)
    dout = check_dout("tanh_backward", dout, out.shape, dtype=out.dtype)
    dx = dout * (1 - out**2)
    return dx


def leaky_relu_forward(x, alpha=0.1):
    """Leaky ReLU as in the lecture: ``out = max(alpha * x, x)``, elementwise.

    That is ``x`` where ``x > 0`` and ``alpha * x`` elsewhere. The lecture's default slope is
    ``alpha = 0.1``; note that PyTorch's ``LeakyReLU`` defaults to ``negative_slope=0.01``.

    Parameters
    ----------
    x : ndarray of any shape
    alpha : float, default 0.1
        Slope for negative inputs, in [0, 1] (where the max form holds).

    Returns
    -------
    out : ndarray of x's shape
    cache : Cache
        ``(x, alpha)``: x is kept, not copied.
    """
    x = as_float_array("leaky_relu_forward", "x", x)
    alpha = _check_alpha("leaky_relu_forward", alpha, 1)
    out = np.where(x > 0, x, alpha * x)
    return out, Cache("leaky_relu", x, alpha)


def leaky_relu_backward(dout, cache):
    """Backward of leaky ReLU: ``dx = dout`` where ``x > 0``, ``alpha * dout`` elsewhere.

    Parameters
    ----------
    dout : ndarray of out's shape
    cache : Cache
        From :func:`leaky_relu_forward`.

    Returns
    -------
    dx : ndarray of x's shape and dtype
    """
    x, alpha = check_cache("leaky_relu_backward", cache, "leaky_relu", 2)
    dout = check_dout("leaky_relu_backward", dout, x.shape, dtype=x.dtype)
    dx = np.where(x > 0, dout, alpha * dout)
    return dx


def elu_forward(x, alpha=1.0):
    """Exponential linear unit: ``out = x`` where ``x > 0``, ``alpha * (exp(x) - 1)`` elsewhere.

    ``exp(x) - 1`` is computed by ``expm1`` (exact near 0) and only on ``min(x, 0)``, so large
    inputs cannot overflow.

    Parameters
    ----------
    x : ndarray of any shape
    alpha : float, default 1.0
        The value ``-alpha`` is approached as ``x -> -inf``; ``alpha >= 0``.

    Returns
    -------
    out : ndarray of x's shape
    cache : Cache
        ``(x, alpha)``: x is kept, not copied; the slope ``alpha * exp(x)`` taken from it is
        exact, where ``out + alpha`` would cancel for very negative x.
    """
    x = as_float_array("elu_forward", "x", x)
    alpha = _check_alpha("elu_forward", alpha)
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
    return out, Cache("elu", x, alpha)


def elu_backward(dout, cache):
    """Backward of ELU: ``dx = dout`` where ``x > 0``, ``dout * alpha * exp(x)`` elsewhere.

    Parameters
    ----------
    dout : ndarray of out's shape
    cache : Cache
        From :func:`elu_forward`.

    Returns
    -------
    dx : ndarray of x's shape and dtype
    """
    x, alpha = check_cache("elu_backward", cache, "elu", 2)
    dout = check_dout("elu_backward", dout, x.shape, dtype=x.dtype)
    dx = np.where(x > 0, dout, dout * (alpha * np.exp(np.minimum(x, 0))))
    return dx


def maxout_forward(x, w, b):
    """Maxout: each of H units is the max of K affine pieces, ``max_k (x @ w[:, :, k] + b[:, k])``.

    The lecture's ``max(w1 x + b1, w2 x + b2)`` is K = 2.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Inputs.
    w : ndarray of shape (D, H, K)
        Weights of the K pieces of each unit.
    b : ndarray of shape (H, K)
        Biases.

    Returns
    -------
    out : ndarray of shape (N, H)
        In the dtype numpy promotion gives x, w and b.
    cache : Cache
        x, w (neither copied), the index of each unit's winning piece and b's dtype.
    """
    func = "maxout_forward"
    x, w, b = (as_float_array(func, name, v) for name, v in (("x", x), ("w", w), ("b", b)))
    check_ndim(func, "x", x, 2, "(N, D)")
    check_shape(func, "w", w, (x.shape[1], None, None), "(D, H, K)",
                f" to match x of shape (N, D) = {shape_str(x.shape)}")
    check_shape(func, "b", b, w.shape[1:], "(H, K)", f" to match w of shape {shape_str(w.shape)}")
    (N, D), (_, H, K) = x.shape, w.shape
    if K == 0:
        raise ValueError(f"{func}: w must have at least one piece per unit, K >= 1 (a max of "
                         f"none is undefined), got w of shape {shape_str(w.shape)}")
    pieces = (x @ w.reshape(D, H * K) + b.reshape(H * K)).reshape(N, H, K)  # (N, H, K)
    winner = pieces.argmax(axis=2)[:, :, None]  # (N, H, 1)
    out = np.take_along_axis(pieces, winner, axis=2)[:, :, 0]  # (N, H)
    return out, Cache("maxout", x, w, winner, b.dtype)


def maxout_backward(dout, cache):
    """Backward of maxout: each unit's gradient flows through its winning piece only.

    A tie between pieces (measure zero for real-valued inputs) routes the gradient to the
    first of them, as ``argmax`` and ``torch.max(dim=...)`` do.

    Parameters
    ----------
    dout : ndarray of shape (N, H)
    cache : Cache
        From :func:`maxout_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D)
    dw : ndarray of shape (D, H, K)
    db : ndarray of shape (H, K)
        Each in the dtype of its input.
    """
    x, w, winner, b_dtype = check_cache("maxout_backward", cache, "maxout", 4)
    (N, D), (_, H, K) = x.shape, w.shape
    dout = check_dout("maxout_backward", dout, (N, H), "(N, H)")
    dpieces = np.zeros((N, H, K), dout.dtype)
    np.put_along_axis(dpieces, winner, dout[:, :, None], axis=2)  # only the winners get dout
    dpieces = dpieces.reshape(N, H * K)
    dx = dpieces @ w.reshape(D, H * K).T  # (N, D)
    dw = (x.T @ dpieces).reshape(D, H, K)  # (D, H, K)
    db = dpieces.sum(axis=0).reshape(H, K)  # (H, K)
    return in_dtypes((dx, dw, db), (x.dtype, w.dtype, b_dtype))


# The elementwise activations by name, as (forward, backward), each taking x alone (the
# defaults of alpha): what FullyConnectedNet(activation=...) chooses from. A new activation
# usable there is one forward/backward pair above and one entry here.
ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "elu": (elu_forward, elu_backward),
}

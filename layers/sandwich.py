"""Sandwich layers: common stacks of layers fused into one forward/backward pair.

    out, cache = affine_relu_forward(x, w, b)
    dx, dw, db = affine_relu_backward(dout, cache)

Shapes: as the layers they stack; for affine_relu, x (N, d1, ..., dk) flattened to (N, D),
w (D, M), b (M,) and out (N, M).
"""

from ._checks import Cache, as_float_array, check_cache, check_shape
from .activations import relu_backward, relu_forward
from .affine import _check_affine_args, affine_backward, affine_forward


def affine_relu_forward(x, w, b):
    """Affine layer followed by a ReLU: ``out = max(0, x.reshape(N, D) @ w + b)``.

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
    cache : Cache
        The caches of the affine layer and of the ReLU.
    """
    x, w, b = _check_affine_args("affine_relu_forward", x, w, b)
    scores, affine_cache = affine_forward(x, w, b)  # (N, M)
    out, relu_cache = relu_forward(scores)  # (N, M)
    return out, Cache("affine_relu", affine_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward of the affine-ReLU sandwich: ReLU backward, then affine backward.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
        Upstream gradient.
    cache : Cache
        From :func:`affine_relu_forward`.

    Returns
    -------
    dx : ndarray of shape (N, d1, ..., dk)
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    """
    affine_cache, relu_cache = check_cache("affine_relu_backward", cache, "affine_relu", 2)
    dout = as_float_array("affine_relu_backward", "dout", dout)
    (out,) = check_cache("affine_relu_backward", relu_cache, "relu", 1)
    check_shape("affine_relu_backward", "dout", dout, out.shape, "(N, M)", " (the shape of out)")
    dscores = relu_backward(dout, relu_cache)  # (N, M)
    return affine_backward(dscores, affine_cache)

"""Sandwich layers: common stacks of layers fused into one forward/backward pair.

    out, cache = affine_relu_forward(x, w, b)
    dx, dw, db = affine_relu_backward(dout, cache)
    out, cache = affine_bn_relu_forward(x, w, b, gamma, beta, bn_param)    # also affine_ln_relu
    dx, dw, db, dgamma, dbeta = affine_bn_relu_backward(dout, cache)
    out, cache = conv_relu_forward(x, w, b, conv_param)
    out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool_param)
    dx, dw, db = conv_relu_backward(dout, cache)                  # and conv_relu_pool_backward
    out, cache = conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param)
    dx, dw, db, dgamma, dbeta = conv_bn_relu_backward(dout, cache)

Shapes: as the layers they stack; for affine_relu, x (N, d1, ..., dk) flattened to (N, D),
w (D, M), b (M,) and out (N, M); the affine-norm sandwiches add gamma and beta of shape (M,).
The conv sandwiches take images x (N, C, H, W), filters w (F, C, HH, WW) and b (F,), with
gamma and beta (F,), and use the fast convolution and pooling.

A sandwich reports a bad input with its own name before the name of the layer that refused
it: ``affine_relu_forward: affine_forward: w must have shape (D, M) = ...``.

The affine and conv sandwiches' backward take a keyword-only ``input_grad=True``: with False
they skip dx and return None in its place, for the first layer of a net, whose input needs no
gradient.
"""

import contextlib

from ._checks import Cache, check_cache
from .activations import relu_backward, relu_forward
from .affine import affine_backward, affine_forward
from .conv import conv_backward_fast, conv_forward_fast
from .normalization import (
    batchnorm_backward_alt, batchnorm_forward, layernorm_backward, layernorm_forward,
    spatial_batchnorm_backward, spatial_batchnorm_forward)
from .pooling import max_pool_backward_fast, max_pool_forward_fast


@contextlib.contextmanager
def _called_as(func):
    """Re-raise an inner layer's input error prefixed with the sandwich's name, so that the
    message names the function the caller called as well as the layer that refused."""
    try:
        yield
    except (TypeError, ValueError) as error:
        if type(error) not in (TypeError, ValueError):
            raise
        raise type(error)(f"{func}: {error}") from error


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
    with _called_as("affine_relu_forward"):
        scores, affine_cache = affine_forward(x, w, b)  # (N, M)
        out, relu_cache = relu_forward(scores)  # (N, M)
    return out, Cache("affine_relu", affine_cache, relu_cache)


def affine_relu_backward(dout, cache, *, input_grad=True):
    """Backward of the affine-ReLU sandwich: ReLU backward, then affine backward.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
        Upstream gradient.
    cache : Cache
        From :func:`affine_relu_forward`.
    input_grad : bool, keyword-only
        If False, skip ``dx`` and return None in its place: the first layer of a net needs
        no gradient for its input, as torch's ``requires_grad=False``. The default keeps the
        contract, one gradient per array input.

    Returns
    -------
    dx : ndarray of shape (N, d1, ..., dk), or None if not ``input_grad``
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    """
    func = "affine_relu_backward"
    affine_cache, relu_cache = check_cache(func, cache, "affine_relu", 2)
    with _called_as(func):
        dscores = relu_backward(dout, relu_cache)  # (N, M)
        return affine_backward(dscores, affine_cache, input_grad=input_grad)


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param):
    """Affine layer, batchnorm, ReLU. STATE: batchnorm's running statistics live IN bn_param
    (updated in train mode, see :func:`~layers.normalization.batchnorm_forward`).

    Parameters
    ----------
    x : ndarray of shape (N, d1, ..., dk)
        Inputs, flattened to (N, D).
    w : ndarray of shape (D, M)
    b : ndarray of shape (M,)
    gamma, beta : ndarray of shape (M,)
        Batchnorm's scale and shift.
    bn_param : dict
        Batchnorm's ``'mode'``, ``'eps'``, ``'momentum'`` and running statistics.

    Returns
    -------
    out : ndarray of shape (N, M)
    cache : Cache
        The caches of the three layers.
    """
    with _called_as("affine_bn_relu_forward"):
        scores, affine_cache = affine_forward(x, w, b)  # (N, M)
        normed, bn_cache = batchnorm_forward(scores, gamma, beta, bn_param)  # (N, M)
        out, relu_cache = relu_forward(normed)  # (N, M)
    return out, Cache("affine_bn_relu", affine_cache, bn_cache, relu_cache)


def affine_bn_relu_backward(dout, cache, *, input_grad=True):
    """Backward of the affine-batchnorm-ReLU sandwich (batchnorm's closed-form backward).

    Parameters
    ----------
    dout : ndarray of shape (N, M)
        Upstream gradient.
    cache : Cache
        From :func:`affine_bn_relu_forward`.
    input_grad : bool, keyword-only
        If False, skip ``dx`` and return None in its place: the first layer of a net needs
        no gradient for its input, as torch's ``requires_grad=False``. The default keeps the
        contract, one gradient per array input.

    Returns
    -------
    dx : ndarray of shape (N, d1, ..., dk), or None if not ``input_grad``
    dw : ndarray of shape (D, M)
    db, dgamma, dbeta : ndarray of shape (M,)
    """
    func = "affine_bn_relu_backward"
    affine_cache, bn_cache, relu_cache = check_cache(func, cache, "affine_bn_relu", 3)
    with _called_as(func):
        dnormed, dgamma, dbeta = batchnorm_backward_alt(relu_backward(dout, relu_cache), bn_cache)
        dx, dw, db = affine_backward(dnormed, affine_cache, input_grad=input_grad)
    return dx, dw, db, dgamma, dbeta


def affine_ln_relu_forward(x, w, b, gamma, beta, ln_param):
    """Affine layer, layernorm, ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, d1, ..., dk)
        Inputs, flattened to (N, D).
    w : ndarray of shape (D, M)
    b : ndarray of shape (M,)
    gamma, beta : ndarray of shape (M,)
        Layernorm's scale and shift.
    ln_param : dict
        Layernorm's ``'eps'``.

    Returns
    -------
    out : ndarray of shape (N, M)
    cache : Cache
        The caches of the three layers.
    """
    with _called_as("affine_ln_relu_forward"):
        scores, affine_cache = affine_forward(x, w, b)  # (N, M)
        normed, ln_cache = layernorm_forward(scores, gamma, beta, ln_param)  # (N, M)
        out, relu_cache = relu_forward(normed)  # (N, M)
    return out, Cache("affine_ln_relu", affine_cache, ln_cache, relu_cache)


def affine_ln_relu_backward(dout, cache, *, input_grad=True):
    """Backward of the affine-layernorm-ReLU sandwich.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
        Upstream gradient.
    cache : Cache
        From :func:`affine_ln_relu_forward`.
    input_grad : bool, keyword-only
        If False, skip ``dx`` and return None in its place: the first layer of a net needs
        no gradient for its input, as torch's ``requires_grad=False``. The default keeps the
        contract, one gradient per array input.

    Returns
    -------
    dx : ndarray of shape (N, d1, ..., dk), or None if not ``input_grad``
    dw : ndarray of shape (D, M)
    db, dgamma, dbeta : ndarray of shape (M,)
    """
    func = "affine_ln_relu_backward"
    affine_cache, ln_cache, relu_cache = check_cache(func, cache, "affine_ln_relu", 3)
    with _called_as(func):
        dnormed, dgamma, dbeta = layernorm_backward(relu_backward(dout, relu_cache), ln_cache)
        dx, dw, db = affine_backward(dnormed, affine_cache, input_grad=input_grad)
    return dx, dw, db, dgamma, dbeta


def conv_relu_forward(x, w, b, conv_param):
    """Convolution (the fast form) followed by a ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    conv_param : dict
        ``'stride'`` and ``'pad'``, as for :func:`~layers.conv.conv_forward_fast`.

    Returns
    -------
    out : ndarray of shape (N, F, H', W')
    cache : Cache
        The caches of the convolution and of the ReLU.
    """
    with _called_as("conv_relu_forward"):
        scores, conv_cache = conv_forward_fast(x, w, b, conv_param)  # (N, F, H', W')
        out, relu_cache = relu_forward(scores)
    return out, Cache("conv_relu", conv_cache, relu_cache)


def conv_relu_backward(dout, cache, *, input_grad=True):
    """Backward of the conv-ReLU sandwich.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W')
        Upstream gradient.
    cache : Cache
        From :func:`conv_relu_forward`.
    input_grad : bool, keyword-only
        False skips dx (returned as None): for a first layer, whose input needs no gradient.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
    """
    func = "conv_relu_backward"
    conv_cache, relu_cache = check_cache(func, cache, "conv_relu", 2)
    with _called_as(func):
        return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache,
                                  input_grad=input_grad)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, then max pooling (the fast forms).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    conv_param : dict
        ``'stride'`` and ``'pad'``.
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'``.

    Returns
    -------
    out : ndarray of shape (N, F, H'', W'')
        The pooled output.
    cache : Cache
        The caches of the three layers.
    """
    with _called_as("conv_relu_pool_forward"):
        scores, conv_cache = conv_forward_fast(x, w, b, conv_param)  # (N, F, H', W')
        activations, relu_cache = relu_forward(scores)
        out, pool_cache = max_pool_forward_fast(activations, pool_param)  # (N, F, H'', W'')
    return out, Cache("conv_relu_pool", conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache, *, input_grad=True):
    """Backward of the conv-ReLU-pool sandwich.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H'', W'')
        Upstream gradient.
    cache : Cache
        From :func:`conv_relu_pool_forward`.
    input_grad : bool, keyword-only
        False skips dx (returned as None): for a first layer, whose input needs no gradient.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
    """
    func = "conv_relu_pool_backward"
    conv_cache, relu_cache, pool_cache = check_cache(func, cache, "conv_relu_pool", 3)
    with _called_as(func):
        dactivations = max_pool_backward_fast(dout, pool_cache)  # (N, F, H', W')
        return conv_backward_fast(relu_backward(dactivations, relu_cache), conv_cache,
                                  input_grad=input_grad)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Convolution, spatial batchnorm, ReLU. STATE: the running statistics live IN bn_param
    (updated in train mode, see :func:`~layers.normalization.spatial_batchnorm_forward`).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    gamma, beta : ndarray of shape (F,)
        Spatial batchnorm's scale and shift per output channel.
    conv_param : dict
        ``'stride'`` and ``'pad'``.
    bn_param : dict
        Batchnorm's ``'mode'``, ``'eps'``, ``'momentum'`` and running statistics.

    Returns
    -------
    out : ndarray of shape (N, F, H', W')
    cache : Cache
        The caches of the three layers.
    """
    with _called_as("conv_bn_relu_forward"):
        scores, conv_cache = conv_forward_fast(x, w, b, conv_param)  # (N, F, H', W')
        normed, bn_cache = spatial_batchnorm_forward(scores, gamma, beta, bn_param)
        out, relu_cache = relu_forward(normed)
    return out, Cache("conv_bn_relu", conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache, *, input_grad=True):
    """Backward of the conv-batchnorm-ReLU sandwich.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W')
        Upstream gradient.
    cache : Cache
        From :func:`conv_bn_relu_forward`.
    input_grad : bool, keyword-only
        False skips dx (returned as None): for a first layer, whose input needs no gradient.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
    dw : ndarray of shape (F, C, HH, WW)
    db, dgamma, dbeta : ndarray of shape (F,)
    """
    func = "conv_bn_relu_backward"
    conv_cache, bn_cache, relu_cache = check_cache(func, cache, "conv_bn_relu", 3)
    with _called_as(func):
        dnormed, dgamma, dbeta = spatial_batchnorm_backward(
            relu_backward(dout, relu_cache), bn_cache)
        dx, dw, db = conv_backward_fast(dnormed, conv_cache, input_grad=input_grad)
    return dx, dw, db, dgamma, dbeta

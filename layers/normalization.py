"""Normalization layers: batchnorm, layernorm, and their spatial forms for images.

    out, cache = batchnorm_forward(x, gamma, beta, bn_param)         # bn_param keeps running stats
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)              # staged, through the graph
    dx, dgamma, dbeta = batchnorm_backward_alt(dout, cache)          # the simplified closed form
    out, cache = layernorm_forward(x, gamma, beta, ln_param)
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    out, cache = spatial_batchnorm_forward(x, gamma, beta, bn_param)
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
    out, cache = spatial_groupnorm_forward(x, gamma, beta, G, gn_param)
    dx, dgamma, dbeta = spatial_groupnorm_backward(dout, cache)

Shapes: N examples of D features, x (N, D); images of C channels and (H, W) pixels,
x (N, C, H, W), split into G groups of C // G channels by group norm. gamma and beta hold one
scale and one shift per feature, (D,), or per channel, (C,) or (1, C, 1, 1).

Every layer here standardizes x over some axes, with the biased variance,

    xhat = (x - mean(x)) / sqrt(var(x) + eps)

then scales and shifts it, ``out = gamma * xhat + beta``. Only the axes differ: batchnorm
averages over the batch (axis N), spatial batchnorm over (N, H, W), layernorm over the
features of each example, group norm over (C // G, H, W) within each group of each image.
Their backward is one closed form, with ``dxhat = dout * gamma`` and the means over the same
axes:

    dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)

Output and gradients: ``out`` in the dtype numpy promotion gives x, gamma and beta
(float32 in, float32 out); each gradient in its input's dtype.
"""

import math
import numbers

import numpy as np

from ._checks import (
    Cache, as_float_array, check_cache, check_dout, check_mode, check_ndim, check_param_dict,
    check_positive, check_shape, in_dtypes, shape_str)

BN_AXES = (0,)             # batchnorm: over the batch, per feature
LN_AXES = (1,)             # layernorm: over the features, per example
SPATIAL_AXES = (0, 2, 3)   # spatial batchnorm: over the batch and the pixels, per channel
GROUP_AXES = (2, 3, 4)     # group norm, on x seen as (N, G, C // G, H, W): within each group


def _standardize(x, axes, eps):
    """``xhat = (x - mean) / sqrt(var + eps)`` over ``axes``; returns xhat, mean, var, 1/std.

    mean, var and 1/std keep the reduced axes (length 1), so they broadcast against x.
    """
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=axes, keepdims=True)  # biased, as batchnorm's paper
    inv_std = 1 / np.sqrt(var + eps)
    return centred * inv_std, mean, var, inv_std


def _standardize_backward(dxhat, xhat, inv_std, axes):
    """dx from dxhat through :func:`_standardize` over ``axes``, in closed form."""
    return inv_std * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                      - xhat * np.mean(dxhat * xhat, axis=axes, keepdims=True))


def _check_affine_params(func, x, gamma, beta, channel_axis, allow_4d):
    """Validate gamma and beta: one entry per feature/channel, (K,) or, where ``allow_4d``,
    also (1, C, 1, 1). Return them as float arrays, reshaped to broadcast against x."""
    gamma = as_float_array(func, "gamma", gamma)
    beta = as_float_array(func, "beta", beta)
    K = x.shape[channel_axis]
    letter = "D" if x.ndim == 2 else "C"
    if allow_4d and gamma.ndim == 4:
        check_shape(func, "gamma", gamma, (1, K, 1, 1), "(1, C, 1, 1)",
                    f" (or (C,)) for x with C = {K} channels")
    else:
        check_shape(func, "gamma", gamma, (K,), f"({letter},)",
                    f"{' (or (1, C, 1, 1))' if allow_4d else ''} for x of shape "
                    f"{shape_str(x.shape)}")
    check_shape(func, "beta", beta, gamma.shape, shape_str(gamma.shape), " (the shape of gamma)")
    shape = [1] * x.ndim
    shape[channel_axis] = K
    return gamma.reshape(shape), beta.reshape(shape), gamma.shape


def _eps(func, param_name, params):
    """``params['eps']`` (default 1e-5), a positive number."""
    # a Python float, which never upcasts a float32 array (a numpy float64 scalar would)
    return float(check_positive(func, f"{param_name}['eps']", params.get("eps", 1e-5)))


def _momentum(func, bn_param):
    """``bn_param['momentum']`` (default 0.9), a number in [0, 1]."""
    momentum = bn_param.get("momentum", 0.9)
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not (
            0 <= momentum <= 1):
        raise ValueError(f"{func}: bn_param['momentum'] must be a number in [0, 1], "
                         f"got {momentum!r}")
    return float(momentum)


def _running_stats(func, bn_param, K, letter, dtype, mode):
    """The running mean and variance in bn_param. Absent, they start as zeros of shape (K,) in
    ``dtype`` in training mode; test mode refuses to run without them (with a variance of
    zero it would divide by ``sqrt(eps)``, some 300x, and say nothing)."""
    stats = []
    for key in ("running_mean", "running_var"):
        value = bn_param.get(key)
        if value is None and mode == "test":
            raise ValueError(
                f"{func}: test mode normalizes with bn_param['running_mean'] and "
                f"bn_param['running_var'], which training-mode calls leave there; "
                f"bn_param has no {key!r}")
        if value is None:
            value = np.zeros(K, dtype)
        else:
            value = as_float_array(func, f"bn_param[{key!r}]", value)
            check_shape(func, f"bn_param[{key!r}]", value, (K,), f"({letter},)",
                        f" for x with {letter} = {K}")
        stats.append(value)
    return stats


def _batchnorm(func, tag, x, gamma, beta, bn_param, axes, channel_axis):
    """Batchnorm over ``axes`` (per entry of ``channel_axis``): the forward of both forms."""
    check_param_dict(func, "bn_param", bn_param)
    mode = check_mode(func, "bn_param", bn_param)
    eps = _eps(func, "bn_param", bn_param)
    momentum = _momentum(func, bn_param)
    gamma, beta, param_shape = _check_affine_params(
        func, x, gamma, beta, channel_axis, allow_4d=x.ndim == 4)
    K = x.shape[channel_axis]
    running_mean, running_var = _running_stats(
        func, bn_param, K, "D" if x.ndim == 2 else "C", x.dtype, mode)
    if mode == "train":
        if not math.prod(x.shape[axis] for axis in axes):
            raise ValueError(f"{func}: training mode needs at least one value per "
                             f"{'feature' if x.ndim == 2 else 'channel'} to average; got x of "
                             f"shape {shape_str(x.shape)}")
        xhat, mean, var, inv_std = _standardize(x, axes, eps)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean.reshape(K)
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var.reshape(K)
    else:
        # the running statistics may be float64 (lists, say) for float32 x: x's dtype rules
        mean = running_mean.astype(x.dtype, copy=False).reshape(gamma.shape)
        inv_std = 1 / np.sqrt(running_var.astype(x.dtype, copy=False).reshape(gamma.shape) + eps)
        xhat = (x - mean) * inv_std
    out = gamma * xhat + beta
    return out, Cache(tag, mode, xhat, gamma, inv_std, param_shape, beta.dtype)


def _scale_shift_backward(dout, xhat, gamma, axes):
    """dgamma, dbeta (summed over ``axes``, reduced axes kept) and dxhat of ``gamma*xhat+beta``."""
    dbeta = dout.sum(axis=axes, keepdims=True)
    dgamma = np.sum(dout * xhat, axis=axes, keepdims=True)
    return dout * gamma, dgamma, dbeta


def _unpack(func, cache, tag, dout):
    """Check a normalization cache and dout; return the cache's items and dout."""
    mode, xhat, gamma, inv_std, param_shape, beta_dtype = check_cache(func, cache, tag, 6)
    dout = check_dout(func, dout, xhat.shape, dtype=xhat.dtype)
    return mode, xhat, gamma, inv_std, param_shape, beta_dtype, dout


def _finish(dx, dgamma, dbeta, xhat, gamma, param_shape, beta_dtype):
    """The three gradients in their inputs' shapes and dtypes."""
    return in_dtypes((dx, dgamma.reshape(param_shape), dbeta.reshape(param_shape)),
                     (xhat.dtype, gamma.dtype, beta_dtype))


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization. STATE: the running mean and variance live IN ``bn_param``.

    Train mode (the default) normalizes each feature with the batch's mean and biased
    variance, and updates ``bn_param['running_mean']`` and ``bn_param['running_var']`` (new
    arrays replace the old ones; created as zeros of shape (D,) in x's dtype when absent):

        running = momentum * running + (1 - momentum) * batch

    Test mode normalizes with the running statistics (an error if bn_param has none) and
    changes nothing. This is the one
    place in the library where a call leaves state behind; ``bn_param['mode']`` is only read.

    ``xhat = (x - mean) / sqrt(var + eps)``, ``out = gamma * xhat + beta``.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Inputs.
    gamma : ndarray of shape (D,)
        Scale per feature.
    beta : ndarray of shape (D,)
        Shift per feature.
    bn_param : dict
        ``'mode'``: 'train' (default) or 'test'; ``'eps'`` (1e-5); ``'momentum'`` (0.9);
        ``'running_mean'`` and ``'running_var'``, ndarrays of shape (D,).

    Returns
    -------
    out : ndarray of shape (N, D)
    cache : Cache
        The mode, xhat, gamma and 1/std, shared by :func:`batchnorm_backward` and
        :func:`batchnorm_backward_alt`.
    """
    func = "batchnorm_forward"
    x = as_float_array(func, "x", x)
    check_ndim(func, "x", x, 2, "(N, D)")
    return _batchnorm(func, "batchnorm", x, gamma, beta, bn_param, BN_AXES, 1)


def batchnorm_backward(dout, cache):
    """Backward of batchnorm, staged: one step back through each node of the forward graph.

    The graph is ``mu = mean(x)``, ``xc = x - mu``, ``var = mean(xc**2)``,
    ``std = sqrt(var + eps)``, ``xhat = xc / std``, ``out = gamma * xhat + beta``; each
    line below is the local gradient of one node times the upstream one. In test mode the
    statistics are constants and ``dx = dout * gamma / std``.

    Parameters
    ----------
    dout : ndarray of shape (N, D)
        Upstream gradient.
    cache : Cache
        From :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D)
    dgamma : ndarray of shape (D,)
    dbeta : ndarray of shape (D,)
        Each in the dtype of its input.
    """
    mode, xhat, gamma, inv_std, param_shape, beta_dtype, dout = _unpack(
        "batchnorm_backward", cache, "batchnorm", dout)
    dxhat, dgamma, dbeta = _scale_shift_backward(dout, xhat, gamma, BN_AXES)  # (N, D), (1, D) x2
    if mode == "test":
        dx = dxhat * inv_std
    else:
        N = xhat.shape[0]
        xc = xhat / inv_std                                      # x - mu
        dinv_std = np.sum(dxhat * xc, axis=0, keepdims=True)     # xhat = xc * inv_std
        dstd = -dinv_std * inv_std * inv_std                     # inv_std = 1 / std
        dvar = dstd * inv_std / 2                                # std = sqrt(var + eps)
        dxc = dxhat * inv_std + xc * (2 / N) * dvar              # xhat and var = mean(xc**2)
        dmu = -np.sum(dxc, axis=0, keepdims=True)                # xc = x - mu
        dx = dxc + dmu / N                                       # mu = mean(x)
    return _finish(dx, dgamma, dbeta, xhat, gamma, param_shape, beta_dtype)


def batchnorm_backward_alt(dout, cache):
    """Backward of batchnorm in the simplified closed form (same result, one expression):

        dx = (gamma / std) / N * (N * dout - sum(dout) - xhat * sum(dout * xhat))

    with the sums over the batch. In test mode ``dx = dout * gamma / std``.

    Parameters
    ----------
    dout : ndarray of shape (N, D)
        Upstream gradient.
    cache : Cache
        From :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D)
    dgamma : ndarray of shape (D,)
    dbeta : ndarray of shape (D,)
        Each in the dtype of its input.
    """
    mode, xhat, gamma, inv_std, param_shape, beta_dtype, dout = _unpack(
        "batchnorm_backward_alt", cache, "batchnorm", dout)
    dxhat, dgamma, dbeta = _scale_shift_backward(dout, xhat, gamma, BN_AXES)
    if mode == "test":
        dx = dxhat * inv_std
    else:
        N = xhat.shape[0]
        dx = (gamma * inv_std) / N * (N * dout - dbeta - xhat * dgamma)  # (N, D)
    return _finish(dx, dgamma, dbeta, xhat, gamma, param_shape, beta_dtype)


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization: each example normalized over its own features.

    ``xhat = (x - mean) / sqrt(var + eps)`` with the mean and biased variance of each row,
    ``out = gamma * xhat + beta``. The same in training and at test time: no running
    statistics, and a ``'mode'`` key in ln_param (as CS231n's models set) is ignored.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Inputs.
    gamma : ndarray of shape (D,)
        Scale per feature.
    beta : ndarray of shape (D,)
        Shift per feature.
    ln_param : dict
        ``'eps'`` (1e-5).

    Returns
    -------
    out : ndarray of shape (N, D)
    cache : Cache
        xhat, gamma and 1/std.
    """
    func = "layernorm_forward"
    x = as_float_array(func, "x", x)
    check_ndim(func, "x", x, 2, "(N, D)")
    eps = _eps(func, "ln_param", check_param_dict(func, "ln_param", ln_param))
    gamma, beta, param_shape = _check_affine_params(func, x, gamma, beta, 1, allow_4d=False)
    xhat, _, _, inv_std = _standardize(x, LN_AXES, eps)  # (N, D), (N, 1)
    out = gamma * xhat + beta
    return out, Cache("layernorm", "train", xhat, gamma, inv_std, param_shape, beta.dtype)


def layernorm_backward(dout, cache):
    """Backward of layernorm: the closed form of the module docstring, over each row.

    Parameters
    ----------
    dout : ndarray of shape (N, D)
        Upstream gradient.
    cache : Cache
        From :func:`layernorm_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D)
    dgamma : ndarray of shape (D,)
    dbeta : ndarray of shape (D,)
        Each in the dtype of its input.
    """
    _, xhat, gamma, inv_std, param_shape, beta_dtype, dout = _unpack(
        "layernorm_backward", cache, "layernorm", dout)
    dxhat, dgamma, dbeta = _scale_shift_backward(dout, xhat, gamma, BN_AXES)
    dx = _standardize_backward(dxhat, xhat, inv_std, LN_AXES)  # (N, D)
    return _finish(dx, dgamma, dbeta, xhat, gamma, param_shape, beta_dtype)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Spatial batch normalization. STATE: the running mean and variance live IN ``bn_param``.

    Batchnorm for images: each channel is normalized with the mean and biased variance over
    the batch and all pixels, (N, H, W). Train mode (the default) updates
    ``bn_param['running_mean']`` and ``bn_param['running_var']`` (shape (C,); zeros in x's
    dtype when absent) as ``running = momentum * running + (1 - momentum) * batch``; test
    mode uses them (an error if absent) and changes nothing. ``bn_param['mode']`` is only read.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input images.
    gamma : ndarray of shape (C,) or (1, C, 1, 1)
        Scale per channel (CS231n's (C,), or the broadcastable (1, C, 1, 1) of group norm);
        dgamma comes back in the same shape.
    beta : ndarray of gamma's shape
        Shift per channel.
    bn_param : dict
        ``'mode'``: 'train' (default) or 'test'; ``'eps'`` (1e-5); ``'momentum'`` (0.9);
        ``'running_mean'`` and ``'running_var'``, ndarrays of shape (C,).

    Returns
    -------
    out : ndarray of shape (N, C, H, W)
    cache : Cache
        The mode, xhat, gamma and 1/std.
    """
    func = "spatial_batchnorm_forward"
    x = as_float_array(func, "x", x)
    check_ndim(func, "x", x, 4, "(N, C, H, W)")
    return _batchnorm(func, "spatial_batchnorm", x, gamma, beta, bn_param, SPATIAL_AXES, 1)


def spatial_batchnorm_backward(dout, cache):
    """Backward of spatial batchnorm: the closed form over (N, H, W), per channel.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H, W)
        Upstream gradient.
    cache : Cache
        From :func:`spatial_batchnorm_forward`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dgamma : ndarray of gamma's shape, (C,) or (1, C, 1, 1)
    dbeta : ndarray of beta's shape
        Each in the dtype of its input.
    """
    mode, xhat, gamma, inv_std, param_shape, beta_dtype, dout = _unpack(
        "spatial_batchnorm_backward", cache, "spatial_batchnorm", dout)
    dxhat, dgamma, dbeta = _scale_shift_backward(dout, xhat, gamma, SPATIAL_AXES)
    if mode == "test":
        dx = dxhat * inv_std
    else:
        dx = _standardize_backward(dxhat, xhat, inv_std, SPATIAL_AXES)  # (N, C, H, W)
    return _finish(dx, dgamma, dbeta, xhat, gamma, param_shape, beta_dtype)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Spatial group normalization: the C channels of each image split into G groups, each
    normalized over its (C // G, H, W) values; then a scale and shift per channel.

    No running statistics: the same in training and at test time. G = 1 is layernorm over
    each whole image, G = C is instance norm.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input images.
    gamma : ndarray of shape (1, C, 1, 1)
        Scale per channel (a (C,) array is accepted too; dgamma comes back in gamma's shape).
    beta : ndarray of gamma's shape
        Shift per channel.
    G : int
        Number of groups; must divide C.
    gn_param : dict
        ``'eps'`` (1e-5).

    Returns
    -------
    out : ndarray of shape (N, C, H, W)
    cache : Cache
        xhat, gamma, 1/std and G.
    """
    func = "spatial_groupnorm_forward"
    x = as_float_array(func, "x", x)
    check_ndim(func, "x", x, 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    if isinstance(G, bool) or not isinstance(G, numbers.Integral):
        raise TypeError(f"{func}: G must be an int, got {type(G).__name__}")
    if G < 1 or C % G:
        raise ValueError(
            f"{func}: G must be a positive divisor of the C = {C} channels of x, got G = {G}")
    eps = _eps(func, "gn_param", check_param_dict(func, "gn_param", gn_param))
    gamma, beta, param_shape = _check_affine_params(func, x, gamma, beta, 1, allow_4d=True)
    xhat, _, _, inv_std = _standardize(x.reshape(N, G, C // G, H, W), GROUP_AXES, eps)
    xhat = xhat.reshape(N, C, H, W)
    out = gamma * xhat + beta
    return out, Cache("spatial_groupnorm", G, xhat, gamma, inv_std, param_shape, beta.dtype)


def spatial_groupnorm_backward(dout, cache):
    """Backward of spatial group norm: the closed form within each group of each image.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H, W)
        Upstream gradient.
    cache : Cache
        From :func:`spatial_groupnorm_forward`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dgamma : ndarray of gamma's shape, (1, C, 1, 1) or (C,)
    dbeta : ndarray of beta's shape
        Each in the dtype of its input.
    """
    G, xhat, gamma, inv_std, param_shape, beta_dtype, dout = _unpack(
        "spatial_groupnorm_backward", cache, "spatial_groupnorm", dout)
    N, C, H, W = xhat.shape
    dxhat, dgamma, dbeta = _scale_shift_backward(dout, xhat, gamma, SPATIAL_AXES)
    grouped = (N, G, C // G, H, W)
    dx = _standardize_backward(dxhat.reshape(grouped), xhat.reshape(grouped), inv_std,
                               GROUP_AXES).reshape(N, C, H, W)
    return _finish(dx, dgamma, dbeta, xhat, gamma, param_shape, beta_dtype)

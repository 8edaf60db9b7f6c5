"""Max pooling: each window of each channel is replaced by its largest value.

    out, cache = max_pool_forward_naive(x, pool_param)     # plain loops, for reading
    dx = max_pool_backward_naive(dout, cache)
    out, cache = max_pool_forward_fast(x, pool_param)      # whole-array operations
    dx = max_pool_backward_fast(dout, cache)

Shapes: N images of C channels and (H, W) pixels, windows of (HH, WW) = (pool_height,
pool_width) pixels, out of (H', W') pixels. x and dx are (N, C, H, W), out and dout
(N, C, H', W').

``pool_param = {'pool_height': HH, 'pool_width': WW, 'stride': s}`` (s an int or an (h, w)
pair). Windows start every s pixels; ``H' = 1 + (H - HH) // s_h`` (and so for W'), so windows
may overlap (s < HH) and rows or columns past the last window are left out.

Backward sends each window's gradient to ONE input: the window's maximum, and on ties the
first maximum in row-major order within the window (as ``np.argmax`` picks it). Where
windows overlap, an input collects the gradient of every window whose maximum it is.

The naive and the fast forms compute the same thing and make interchangeable caches (the
fast form's kernels are in :mod:`layers._fast.pool`). out and dx have x's dtype.
"""

import numbers

import numpy as np

from ._checks import (
    Cache, as_float_array, check_cache, check_dout, check_ndim, check_param_dict, shape_str)
from ._fast import pool as fast


def _positive_int(func, key, value, shown):
    """``value`` (part of ``pool_param[key]``, which is ``shown``) as an int >= 1."""
    pair = " (or an (h, w) pair of them)" if key == "stride" else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{func}: pool_param[{key!r}] must be an int{pair}, got {shown!r}")
    if value < 1:
        raise ValueError(
            f"{func}: pool_param[{key!r}] must be a positive int{pair}, got {shown!r}")
    return int(value)


def _check_pool_args(func, x, pool_param):
    """Validate x and pool_param; return x and the geometry ((HH, WW), (s_h, s_w), (H', W'))."""
    x = as_float_array(func, "x", x)
    check_ndim(func, "x", x, 4, "(N, C, H, W)")
    check_param_dict(func, "pool_param", pool_param,
                     " {'pool_height': HH, 'pool_width': WW, 'stride': s}")
    missing = [key for key in ("pool_height", "pool_width", "stride") if key not in pool_param]
    if missing:
        raise ValueError(
            f"{func}: pool_param needs 'pool_height', 'pool_width' and 'stride', "
            f"missing {', '.join(map(repr, missing))}")
    pool = tuple(_positive_int(func, key, pool_param[key], pool_param[key])
                 for key in ("pool_height", "pool_width"))
    stride = pool_param["stride"]
    pair = stride if isinstance(stride, (tuple, list)) else (stride, stride)
    if len(pair) != 2:
        raise ValueError(f"{func}: pool_param['stride'] must be an int or an (h, w) pair, "
                         f"got {stride!r}")
    stride = tuple(_positive_int(func, "stride", s, stride) for s in pair)
    H, W = x.shape[2:]
    if pool[0] > H or pool[1] > W:
        raise ValueError(
            f"{func}: the pool window (pool_height, pool_width) = {pool} is larger than the "
            f"(H, W) = {(H, W)} pixels of x of shape {shape_str(x.shape)}")
    out_hw = (1 + (H - pool[0]) // stride[0], 1 + (W - pool[1]) // stride[1])
    return x, (pool, stride, out_hw)


def _unpack(func, cache, dout):
    """Check a max-pool cache and dout against each other; return the cache's items, dout."""
    x, first, geometry = check_cache(func, cache, "max_pool", 3)
    dout = check_dout(func, dout, x.shape[:2] + geometry[2], "(N, C, H', W')", dtype=x.dtype)
    return x, first, geometry, dout


def max_pool_forward_naive(x, pool_param):
    """Max pooling, written as plain loops over images, channels and output pixels.

    ``out[n, c, i, j] = max(x[n, c, i*s_h : i*s_h + HH, j*s_w : j*s_w + WW])``.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Inputs.
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'`` (an int or an (h, w) pair).

    Returns
    -------
    out : ndarray of shape (N, C, H', W')
        ``H' = 1 + (H - HH) // s_h``, ``W' = 1 + (W - WW) // s_w``.
    cache : Cache
        x and the geometry.
    """
    x, geometry = _check_pool_args("max_pool_forward_naive", x, pool_param)
    (HH, WW), (sh, sw), (Ho, Wo) = geometry
    N, C = x.shape[:2]
    out = np.empty((N, C, Ho, Wo), x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, c, i, j] = x[n, c, i * sh:i * sh + HH, j * sw:j * sw + WW].max()
    return out, Cache("max_pool", x, None, geometry)


def max_pool_backward_naive(dout, cache):
    """Backward of max pooling, as plain loops: each window's gradient goes to its first
    maximum (``np.argmax`` of the window, in row-major order).

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W')
        Upstream gradient.
    cache : Cache
        From :func:`max_pool_forward_naive` (or :func:`max_pool_forward_fast`).

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), in x's dtype
    """
    x, _, geometry, dout = _unpack("max_pool_backward_naive", cache, dout)
    (HH, WW), (sh, sw), (Ho, Wo) = geometry
    N, C = x.shape[:2]
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * sh:i * sh + HH, j * sw:j * sw + WW]  # (HH, WW)
                    a, b = divmod(int(np.argmax(window)), WW)
                    dx[n, c, i * sh + a, j * sw + b] += dout[n, c, i, j]
    return dx


def max_pool_forward_fast(x, pool_param):
    """Max pooling with whole-array operations: same result as :func:`max_pool_forward_naive`.

    The windows are a view of x (a reshape when they tile it, sliding windows otherwise);
    the maximum is taken one window offset at a time, and the offset of each window's first
    maximum is kept for the backward.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Inputs.
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'`` (an int or an (h, w) pair).

    Returns
    -------
    out : ndarray of shape (N, C, H', W')
        ``H' = 1 + (H - HH) // s_h``, ``W' = 1 + (W - WW) // s_w``.
    cache : Cache
        x, the offset of each window's first maximum (uint8 of shape (N, C, H', W') for
        windows of up to 256 pixels) and the geometry.
    """
    x, geometry = _check_pool_args("max_pool_forward_fast", x, pool_param)
    out, first = fast.forward(x, geometry)  # (N, C, H', W') twice
    return out, Cache("max_pool", x, first, geometry)


def max_pool_backward_fast(dout, cache):
    """Backward of max pooling with whole-array operations, one window offset at a time.

    Each window's gradient goes to its first maximum, as in :func:`max_pool_backward_naive`.
    When the windows tile x every pixel gets exactly one write (no zero fill, no additions);
    otherwise dx starts at zero and overlapping windows add up, one strided slice per offset.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W')
        Upstream gradient.
    cache : Cache
        From :func:`max_pool_forward_fast` (or :func:`max_pool_forward_naive`).

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), in x's dtype
    """
    x, first, geometry, dout = _unpack("max_pool_backward_fast", cache, dout)
    return fast.backward(dout, x, first, geometry)

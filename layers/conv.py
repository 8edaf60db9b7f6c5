"""Convolutional layer: F filters slide over a padded image, each giving one output channel.

    out, cache = conv_forward_naive(x, w, b, conv_param)     # plain loops, for reading
    dx, dw, db = conv_backward_naive(dout, cache)
    out, cache = conv_forward_fast(x, w, b, conv_param)      # im2col or Winograd + GEMMs
    dx, dw, db = conv_backward_fast(dout, cache)
    _, dw, db = conv_backward_fast(dout, cache, input_grad=False)  # first layer: dx None

Shapes: N images of C channels and (H, W) pixels; F filters of shape (C, HH, WW); the output
has (H', W') pixels. x is (N, C, H, W), w (F, C, HH, WW), b (F,), out and dout (N, F, H', W').
The fast form unrolls each window into a column of K = C * HH * WW numbers, P = N * H' * W'
columns in all (on its Winograd path, T is the number of 4x4 input tiles in a chunk).

``conv_param = {'stride': s, 'pad': p}``, each an int or an ``(h, w)`` pair (a 1-d signal is an
image of height 1: filters (1, 5) with ``'pad': (0, 2)``). Zero padding of ``pad_h`` rows and
``pad_w`` columns on each side, then ``H' = 1 + (H + 2 * pad_h - HH) // stride_h`` (and so for
W'). The stride must tile the padded input exactly: ``(H + 2 * pad_h - HH) % stride_h == 0``.

The fast form turns the layer into matrix products (its kernels, im2col and Winograd
F(2x2, 3x3) on chunks of a few images, are in :mod:`layers._fast.conv`); the naive form is
the definition, as loops.

The naive and the fast forms compute the same thing and make interchangeable caches, so
either backward accepts either forward's cache (the naive one holds no ``cols``: the fast
backward then unrolls or transforms x itself). Output and gradients: ``out`` in the dtype
numpy promotion gives x, w and b (float32 in, float32 out); each gradient in its input's
dtype.
"""

import math
import numbers

import numpy as np

from ._checks import (
    Cache, as_float_array, check_cache, check_dout, check_input_grad, check_ndim, check_param_dict,
    check_shape, in_dtypes, shape_str)
from ._fast import conv as fast


def _pair(func, key, value, smallest):
    """``conv_param[key]`` as an ``(h, w)`` pair of ints >= ``smallest``."""
    pair = value if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair):
        raise TypeError(
            f"{func}: conv_param[{key!r}] must be an int or an (h, w) pair of ints, "
            f"got {value!r}")
    if min(pair) < smallest:
        raise ValueError(f"{func}: conv_param[{key!r}] must be >= {smallest}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _out_size(func, axis, size, filt, stride, pad):
    """Output length along one axis, refusing a filter that overhangs or a stride that does
    not tile the padded input; the error suggests a pad that would work."""
    span = size + 2 * pad - filt
    letters = {"height": "(H + 2 * pad_h - HH)", "width": "(W + 2 * pad_w - WW)"}[axis]
    if span < 0:
        need = -(-(filt - size) // 2)
        raise ValueError(
            f"{func}: the filter {axis} {filt} is larger than the padded input {axis} "
            f"{size} + 2 * {pad} = {size + 2 * pad}; use a pad of at least {need} "
            f"or a smaller filter")
    if span % stride:
        q = _nearest_tiling_pad(size, filt, stride, pad)
        hint = (f"use pad = {q} along the {axis}" if q is not None else
                f"no pad works, as {size} - {filt} is odd and the stride even: crop or pad "
                f"the input by one pixel along the {axis}, or change the stride")
        raise ValueError(
            f"{func}: stride {stride} does not tile the {axis}: {letters} % stride = "
            f"({size} + 2 * {pad} - {filt}) % {stride} = {span % stride}, must be 0; {hint}")
    return 1 + span // stride


def _nearest_tiling_pad(size, filt, stride, pad):
    """The pad q >= 0 nearest ``pad`` (the smaller of two as near) with which ``stride`` tiles
    the padded input, ``(size + 2 q - filt) % stride == 0``, or None when no pad does.

    Solved, not searched (a stride of 10**9 must not take 10**9 steps): 2 q = filt - size
    modulo the stride, so q runs through one residue modulo ``period``, the stride over
    gcd(2, stride)."""
    gap = filt - size
    if stride % 2 == 0 and gap % 2:
        return None  # 2 q is even, and so is the stride: an odd gap stays odd
    period = stride if stride % 2 else stride // 2
    residue = (gap * pow(2, -1, stride)) % stride if stride % 2 else (gap // 2) % period
    lowest = max(0, -(-gap // 2))  # the filter must fit: size + 2 q >= filt
    below = residue + period * ((pad - residue) // period)  # the last one <= pad
    candidates = [q for q in (below, below + period) if q >= lowest]
    candidates.append(lowest + (residue - lowest) % period)  # the first one that fits
    return min(candidates, key=lambda q: (abs(q - pad), q))


def _check_sizes(func, x, w, pad, out_hw, dtype):
    """Refuse a filter with no pixels, and a pad or stride whose padded input or output has
    more elements than numpy can hold (a pad of 10**9), naming them."""
    if 0 in w.shape[2:]:
        raise ValueError(
            f"{func}: w must have filters of at least one pixel, (HH, WW) >= (1, 1), got w of "
            f"shape {shape_str(w.shape)}")
    N, C, H, W = x.shape
    largest = np.iinfo(np.intp).max // dtype.itemsize
    for what, shape in (("the padded input", (N, C, H + 2 * pad[0], W + 2 * pad[1])),
                        ("the output", (N, w.shape[0]) + out_hw)):
        if math.prod(shape) > largest:
            raise ValueError(
                f"{func}: {what} would have shape {shape_str(shape)}, more elements than numpy "
                f"can hold; conv_param['pad'] (got {pad}) is usually (filter size - 1) // 2")


def _check_conv_args(func, x, w, b, conv_param):
    """Validate the forward's arguments; return x, w, b, stride, pad and (H', W')."""
    x, w, b = (as_float_array(func, name, v) for name, v in (("x", x), ("w", w), ("b", b)))
    check_ndim(func, "x", x, 4, "(N, C, H, W)")
    check_ndim(func, "w", w, 4, "(F, C, HH, WW)")
    check_shape(func, "w", w, (None, x.shape[1], None, None), "(F, C, HH, WW)",
                f" to match the C = {x.shape[1]} channels of x of shape {shape_str(x.shape)}")
    check_shape(func, "b", b, (w.shape[0],), "(F,)",
                f" to match w of shape {shape_str(w.shape)}")
    check_param_dict(func, "conv_param", conv_param, " {'stride': s, 'pad': p}")
    missing = [key for key in ("stride", "pad") if key not in conv_param]
    if missing:
        raise ValueError(
            f"{func}: conv_param needs 'stride' and 'pad' (ints or (h, w) pairs), "
            f"missing {', '.join(map(repr, missing))}")
    stride = _pair(func, "stride", conv_param["stride"], 1)
    pad = _pair(func, "pad", conv_param["pad"], 0)
    out_hw = tuple(_out_size(func, axis, size, filt, s, p) for axis, size, filt, s, p in zip(
        ("height", "width"), x.shape[2:], w.shape[2:], stride, pad))
    _check_sizes(func, x, w, pad, out_hw, np.result_type(x, w, b))
    return x, w, b, stride, pad, out_hw


def _unpack_cache(func, cache, dout):
    """Check a conv cache and dout against each other; return the cache's items and dout,
    in the forward's dtype."""
    x, w, b_dtype, stride, pad, saved = check_cache(func, cache, "conv", 6)
    out_hw = tuple(1 + (size + 2 * p - filt) // s
                   for size, filt, s, p in zip(x.shape[2:], w.shape[2:], stride, pad))
    dout = check_dout(func, dout, (x.shape[0], w.shape[0]) + out_hw, "(N, F, H', W')",
                      dtype=np.result_type(x, w, b_dtype))
    return x, w, b_dtype, stride, pad, saved, dout


def _pad(x, pad):
    """x zero-padded by ``pad = (pad_h, pad_w)`` on each side: (N, C, H + 2 pad_h, W + 2 pad_w)."""
    return np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))


def conv_forward_naive(x, w, b, conv_param):
    """Convolutional layer, written as plain loops over images, filters and output pixels.

    ``out[n, f, i, j] = sum(xpad[n, :, i*s_h : i*s_h + HH, j*s_w : j*s_w + WW] * w[f]) + b[f]``
    where ``xpad`` is x zero-padded by ``pad``. Slow; :func:`conv_forward_fast` computes the same.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input images.
    w : ndarray of shape (F, C, HH, WW)
        Filters.
    b : ndarray of shape (F,)
        Biases.
    conv_param : dict
        ``'stride'`` and ``'pad'``: ints, or ``(h, w)`` pairs. The stride must tile the padded
        input, ``(H + 2 * pad_h - HH) % stride_h == 0``, and likewise along the width.

    Returns
    -------
    out : ndarray of shape (N, F, H', W')
        ``H' = 1 + (H + 2 * pad_h - HH) // stride_h``,
        ``W' = 1 + (W + 2 * pad_w - WW) // stride_w``.
    cache : Cache
        x, w, b's dtype and the geometry.
    """
    x, w, b, stride, pad, (Ho, Wo) = _check_conv_args("conv_forward_naive", x, w, b, conv_param)
    N, F = x.shape[0], w.shape[0]
    HH, WW = w.shape[2:]
    xpad = _pad(x, pad)  # (N, C, H + 2 pad_h, W + 2 pad_w)
    out = np.empty((N, F, Ho, Wo), np.result_type(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    top, left = i * stride[0], j * stride[1]
                    window = xpad[n, :, top:top + HH, left:left + WW]  # (C, HH, WW)
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, Cache("conv", x, w, b.dtype, stride, pad, None)


def conv_backward_naive(dout, cache):
    """Backward of the convolutional layer, as plain loops: each output pixel sends its
    gradient back to the window it saw (into dx) and to the filter that saw it (into dw).

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W')
        Upstream gradient.
    cache : Cache
        From :func:`conv_forward_naive` (or :func:`conv_forward_fast`).

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
        Each in the dtype of its input.
    """
    x, w, b_dtype, stride, pad, _, dout = _unpack_cache("conv_backward_naive", cache, dout)
    N, F, Ho, Wo = dout.shape
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    xpad = _pad(x, pad)  # (N, C, H + 2 pad_h, W + 2 pad_w)
    dxpad = np.zeros(xpad.shape, dout.dtype)
    dw = np.zeros(w.shape, dout.dtype)
    db = np.zeros(F, dout.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    top, left = i * stride[0], j * stride[1]
                    window = xpad[n, :, top:top + HH, left:left + WW]  # (C, HH, WW)
                    dxpad[n, :, top:top + HH, left:left + WW] += w[f] * dout[n, f, i, j]
                    dw[f] += window * dout[n, f, i, j]
                    db[f] += dout[n, f, i, j]
    dx = dxpad[:, :, pad[0]:pad[0] + H, pad[1]:pad[1] + W]  # (N, C, H, W)
    return in_dtypes((dx, dw, db), (x.dtype, w.dtype, b_dtype))


def conv_forward_fast(x, w, b, conv_param):
    """Convolutional layer as matrix products: im2col, or Winograd F(2x2, 3x3).

    Every window of the padded input is unrolled into a column (im2col, a strided view
    copied once), so each chunk of a few images is one product
    ``out = w.reshape(F, K) @ cols + b``. Stride-1 3x3 layers with enough work per image
    (channels times pixels) use Winograd's 16 smaller GEMMs instead (see
    :mod:`layers._fast.conv`). Same result as :func:`conv_forward_naive`, for any stride, padding
    and filter shape.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input images.
    w : ndarray of shape (F, C, HH, WW)
        Filters.
    b : ndarray of shape (F,)
        Biases.
    conv_param : dict
        ``'stride'`` and ``'pad'``: ints, or ``(h, w)`` pairs. The stride must tile the padded
        input, ``(H + 2 * pad_h - HH) % stride_h == 0``, and likewise along the width.

    Returns
    -------
    out : ndarray of shape (N, F, H', W')
        ``H' = 1 + (H + 2 * pad_h - HH) // stride_h``,
        ``W' = 1 + (W + 2 * pad_w - WW) // stride_w``.
    cache : Cache
        x, w, b's dtype, the geometry and what the weight gradient needs: for each chunk
        of images, the unrolled windows ``cols`` (K, P) or the transformed input tiles
        (16, C, T).
    """
    x, w, b, stride, pad, out_hw = _check_conv_args("conv_forward_fast", x, w, b, conv_param)
    out, saved = fast.forward(x, w, b, stride, pad, out_hw)  # (N, F, H', W')
    return out, Cache("conv", x, w, b.dtype, stride, pad, saved)


def conv_backward_fast(dout, cache, *, input_grad=True):
    """Backward of the convolutional layer, each gradient one matrix product per chunk of
    images (dw and db summed over the chunks).

    im2col path: with a chunk's ``dout`` as an (F, P) matrix, ``db`` sums its rows,
    ``dw = dout @ cols.T``, and ``dcols = w.T @ dout`` is folded back onto the image (col2im).
    For stride 1 with ``pad <= filter - 1`` dx is instead computed as the forward
    convolution of dout, padded by ``filter - 1 - pad``, with the filters flipped and their F
    and C axes swapped: the same arithmetic, with im2col's fast copy in place of col2im's
    slower accumulation. Winograd path (the geometries where the forward uses it): the
    adjoint of the forward's transforms, see :mod:`layers._fast.conv`.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W')
        Upstream gradient.
    cache : Cache
        From :func:`conv_forward_fast` (or :func:`conv_forward_naive`).
    input_grad : bool, keyword-only
        False skips dx (returned as None) and its matrix products: for a net's first layer,
        whose input images need no gradient.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None if not ``input_grad``
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
        Each in the dtype of its input.
    """
    input_grad = check_input_grad("conv_backward_fast", input_grad)
    x, w, b_dtype, stride, pad, saved, dout = _unpack_cache("conv_backward_fast", cache, dout)
    dx, dw, db = fast.backward(dout, x, w, stride, pad, saved, input_grad)
    return in_dtypes((dx, dw, db), (x.dtype, w.dtype, b_dtype))

"""The fast max pool's kernels: whole-array operations, one window offset at a time.

    out, first = forward(x, geometry)            # called by max_pool_forward_fast
    dx = backward(dout, x, first, geometry)      # by max_pool_backward_fast

The public entry points, with their checks and the contract, are in :mod:`layers.pooling`;
this module assumes valid arguments. Shapes as there: x and dx (N, C, H, W), windows of
(HH, WW) pixels every (s_h, s_w), out, dout and ``first`` (N, C, H', W'); ``geometry`` is
``((HH, WW), (s_h, s_w), (H', W'))``. ``first`` is the row-major offset of each window's
first maximum, the one its gradient goes to; None for a cache from the naive forward.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def forward(x, geometry):
    """Each window's maximum and the offset of its first maximum."""
    return _max_and_first(_windows(x, geometry))


def _tiles(x_shape, geometry):
    """True when the windows tile x: side by side (pool == stride), covering every pixel."""
    (HH, WW), stride, _ = geometry
    return (HH, WW) == stride and x_shape[2] % HH == 0 and x_shape[3] % WW == 0


def _windows(x, geometry):
    """All pooling windows as one (N, C, H', W', HH, WW) view of x, with no copy.

    Windows that tile x are a reshape of it (each pixel in exactly one window); overlapping
    or non-tiling windows are strided sliding windows.
    """
    (HH, WW), (sh, sw), (Ho, Wo) = geometry
    N, C = x.shape[:2]
    if _tiles(x.shape, geometry):
        return x.reshape(N, C, Ho, HH, Wo, WW).transpose(0, 1, 2, 4, 3, 5)
    return sliding_window_view(x, (HH, WW), axis=(2, 3))[:, :, ::sh, ::sw]


def _max_and_first(windows):
    """Each window's maximum, and the row-major index of its first maximum within the window.

    Works one window offset (a, b) at a time: each step is an elementwise operation on an
    (N, C, H', W') slice, which is many times faster than numpy's reduction or argmax over
    the two short trailing axes.
    """
    HH, WW = windows.shape[4:]
    offsets = [(a, b) for a in range(HH) for b in range(WW)]
    out = windows[..., 0, 0].copy()  # (N, C, H', W')
    for a, b in offsets[1:]:
        np.maximum(out, windows[..., a, b], out=out)
    # Walking the offsets backwards, ``first`` counts from offset k to the first maximum at
    # or after it: 0 where offset k holds the maximum, else one more than it was. Plain
    # arithmetic on small ints, several times faster than masked assignment (np.copyto where=).
    first = np.zeros(out.shape, np.min_scalar_type(len(offsets) - 1))
    # A NaN is its window's maximum (np.maximum propagates it, as argmax picks it), but it
    # never equals itself: where out is NaN, the first NaN is what must match.
    has_nan = np.isnan(out).any()
    for k in range(len(offsets) - 2, -1, -1):
        first += 1
        window = windows[(...,) + offsets[k]]  # (N, C, H', W'), a view
        differs = window != out
        if has_nan:
            differs &= ~np.isnan(window)
        first *= differs
    return out, first


def backward(dout, x, first, geometry):
    """dx (N, C, H, W): each window's gradient at its first maximum. Windows that tile x give
    every pixel exactly one write (no zero fill, no additions); otherwise dx starts at zero and
    overlapping windows add up, one strided slice per offset."""
    (HH, WW), (sh, sw), (Ho, Wo) = geometry
    if first is None:
        first = _max_and_first(_windows(x, geometry))[1]
    offsets = [(a, b) for a in range(HH) for b in range(WW)]
    if _tiles(x.shape, geometry):
        dx = np.empty(x.shape, x.dtype)
        dwindows = _windows(dx, geometry)  # a writable view: dx is contiguous
        for k, (a, b) in enumerate(offsets):
            np.multiply(dout, first == k, out=dwindows[..., a, b])
    else:
        dx = np.zeros(x.shape, x.dtype)
        for k, (a, b) in enumerate(offsets):
            dx[:, :, a:a + sh * Ho:sh, b:b + sw * Wo:sw] += dout * (first == k)
    return dx

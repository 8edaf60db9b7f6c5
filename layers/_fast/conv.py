"""The fast convolution's kernels: im2col and Winograd F(2x2, 3x3), a few images at a time.

    out, saved = forward(x, w, b, stride, pad, out_hw)            # called by conv_forward_fast
    dx, dw, db = backward(dout, x, w, stride, pad, saved, input_grad)   # by conv_backward_fast

The public entry points, with their checks and the contract, are in :mod:`layers.conv`; this
module assumes valid arguments. Shapes as there: x (N, C, H, W), w (F, C, HH, WW), b (F,),
out and dout (N, F, H', W'); K = C * HH * WW is the length of one unrolled window and
P = N * H' * W' the number of windows; on the Winograd path T is the number of 4x4 input
tiles in a chunk. ``saved`` is what the weight gradient needs, per chunk of images: the
unrolled windows ``cols`` (K, P) or the transformed input tiles (16, C, T); None for a cache
from ``conv_forward_naive``, and the backward then unrolls or transforms x itself.

Algorithms, chosen by geometry (``_use_winograd``):

- im2col: every window unrolled into a column of ``cols`` (K, P), the layer one matrix
  product ``w.reshape(F, K) @ cols``; backward ``dw = dout @ cols.T`` and dx by col2im (or,
  at stride 1, as the convolution of dout with the flipped filters). Any stride, pad, filter.
- Winograd F(2x2, 3x3) (Lavin & Gray 2015), for 3x3 filters at stride 1 on layers with
  enough pixels and channels: the padded input is cut into 4x4 tiles at stride 2, each
  giving a 2x2 output tile ``A^T [(G g G^T) * (B^T d B)] A``. With the transformed tiles
  ``V = B^T d B`` as 16 matrices (C, T) over the T tiles and ``U = G g G^T`` as 16 (F, C),
  the products are 16 GEMMs ``M = U @ V``: 16 multiplications per tile where direct
  convolution needs 36. Backward is the exact adjoint: ``dM = A dY A^T``,
  ``dU = dM @ V.T`` (then ``dw = G^T dU G``) and ``dV = U.T @ dM`` (then dx by ``B dV B^T``
  with overlapping tiles added up): again 16 GEMMs each. In float64 it agrees with the
  plain sum to ~1e-15 relative, in float32 to ~1e-6.

Both go through the batch a few images at a time, about ``CHUNK_BYTES`` of columns or tiles
per chunk, so that each chunk's passes and products work in cache. Each chunk's ``cols`` (or
transformed tiles) are kept in the cache for the weight gradient. That cache is large, up to
9 (im2col, 3x3 stride 1) or 4 (Winograd) times x; the backward would redo the unrolling for a
cache without them (it does for a naive cache), but that measured 5-7 % slower, so the speed
is bought with memory, as in CS231n's own fast layers. The chunks run one after another: on
threads of our own they ran up to 1.7x faster alone, but 20-35 % slower inside a net, whose
other layers' BLAS calls leave OpenBLAS's threads spinning for 0.1 s on the same two cores.

A chunk's temporaries are fresh arrays. Scratch arrays kept per thread from call to call
(module-level state) were tried and removed: in a process past its first few calls, where
glibc keeps freed blocks of this size, they saved nothing (fast conv fwd+bwd with them /
without, one thread, medians of 15 interleaved pairs: 0.99x at CS231n's size in float64,
1.07x at 64 channels in float32).

Everything here computes in ``dtype``, the forward's (numpy's promotion of x, w and b); the
caller casts the gradients back to their inputs' dtypes.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view



def forward(x, w, b, stride, pad, out_hw):
    """out (N, F, H', W') and the per-chunk arrays the weight gradient needs."""
    dtype = np.result_type(x, w, b)
    x, w, b = (a.astype(dtype, copy=False) for a in (x, w, b))  # mixed dtypes: one for all
    if _use_winograd(w.shape, stride, out_hw):
        return _conv_forward_winograd(x, w, b, pad, out_hw, dtype)
    return _conv_forward_im2col(x, w, b, stride, pad, out_hw, dtype)


def backward(dout, x, w, stride, pad, saved, input_grad):
    """dx (None unless ``input_grad``), dw and db, in dout's dtype (the forward's)."""
    x, w = (a.astype(dout.dtype, copy=False) for a in (x, w))
    if _use_winograd(w.shape, stride, dout.shape[2:]):
        return _conv_backward_winograd(dout, x, w, pad, dout.dtype, input_grad, saved)
    return _conv_backward_im2col(dout, x, w, stride, pad, dout.dtype, input_grad, saved)


def _im2col(x, filt, stride, pad):
    """Every filter window of the padded x unrolled into a column.

    Returns ``cols`` of shape (K, P) = (C * HH * WW, N * H' * W'), rows ordered (C, HH, WW)
    like a flattened filter, columns ordered (N, H', W'). The image is padded straight into
    channel-major (C, N, ...) order, so that one copy of a strided view of the windows lays
    the columns out in the order the output needs.
    """
    N, C, H, W = x.shape
    (HH, WW), (sh, sw), (ph, pw) = filt, stride, pad
    Ho, Wo = 1 + (H + 2 * ph - HH) // sh, 1 + (W + 2 * pw - WW) // sw
    xpad = np.zeros((C, N, H + 2 * ph, W + 2 * pw), x.dtype)
    xpad[:, :, ph:ph + H, pw:pw + W] = x.transpose(1, 0, 2, 3)
    windows = sliding_window_view(xpad, (HH, WW), axis=(2, 3))[:, :, ::sh, ::sw]
    # windows: (C, N, H', W', HH, WW), a view
    shape = (C, HH, WW, N, Ho, Wo)
    cols = np.empty(shape, x.dtype)
    cols[...] = windows.transpose(0, 4, 5, 1, 2, 3)
    return cols.reshape(C * HH * WW, N * Ho * Wo)  # (K, P), sizes named: either may be 0


def _col2im(dcols, dx, filt, stride, pad):
    """The adjoint of :func:`_im2col`: add every column back onto the window it came from.

    ``dcols`` is (K, P); writes dx of shape (N, C, H, W). One strided slice per filter
    offset (HH * WW of them) adds that offset's entry of every window at once, so
    overlapping windows accumulate without a per-pixel loop or ``np.add.at``.
    """
    N, C, H, W = dx.shape
    (HH, WW), (sh, sw), (ph, pw) = filt, stride, pad
    Ho, Wo = 1 + (H + 2 * ph - HH) // sh, 1 + (W + 2 * pw - WW) // sw
    dcols = dcols.reshape(C, HH, WW, N, Ho, Wo)
    dxpad = np.zeros((C, N, H + 2 * ph, W + 2 * pw), dcols.dtype)
    for i in range(HH):
        for j in range(WW):
            dxpad[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw] += dcols[:, i, j]  # (C, N, H', W')
    dx[...] = dxpad[:, :, ph:ph + H, pw:pw + W].transpose(1, 0, 2, 3)


CHUNK_BYTES = 3 * 2 ** 20  # a chunk's columns or tiles: a few MB, so that they stay in cache


def _chunks(N, bytes_per_image):
    """Slices of the batch whose per-chunk arrays take about CHUNK_BYTES (>= one image)."""
    step = max(1, CHUNK_BYTES // max(1, bytes_per_image))
    return [slice(start, min(start + step, N)) for start in range(0, N, step)]


# Winograd F(2x2, 3x3) (Lavin & Gray 2015): a 4x4 input tile d and a 3x3 filter g give the
# 2x2 output tile ``A^T [(G g G^T) * (B^T d B)] A``: 16 multiplications instead of 36.
_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])  # (4, 3)

# When Winograd pays (fwd + bwd, float32, N = 32, pad 1, against im2col, numpy's BLAS on 1
# and on 2 threads): its GEMMs do 2.25x fewer multiplications, but its transforms take some
# 60 numpy passes per chunk and on 2 threads its 16 small GEMMs share out less well than
# im2col's one. What decides is the work per image, C * F * H' * W'. It won on both thread
# counts from 2**21: 64 -> 64 at 32x32 (0.55x, 0.58x im2col's time), at 24x24 (0.73x, 0.91x),
# 128 -> 128 at 16x16 (0.74x, 0.90x). Around 2**20 it won on one thread and lost on two:
# 32 -> 32 at 32x32 (0.90x, 1.07x), 64 -> 64 at 16x16 (0.81x, 1.04x), 128 -> 128 at 8x8
# (0.94x, 1.15x); below, it lost on both (16 -> 16 at 32x32: 1.06x, 1.23x).
# In a net: a CIFAR-sized training step (batch 64, float32, conv 3 -> 64 and 64 -> 64 at
# 32x32, pool, 64 -> 64 at 16x16, pool, affine, softmax; forward and backward) took 0.68x
# the time of im2col alone on one thread (median of 11 interleaved pairs, CPU time);
# a ConvNet of (64, 64, 64) filters, a pool after each, has no layer above the bound.
WINOGRAD_MIN_WORK = 2 ** 21  # C * F * H' * W'


def _use_winograd(w_shape, stride, out_hw):
    """3x3 filters, stride 1, and enough work per image for Winograd to pay (see above)."""
    F, C, HH, WW = w_shape
    return ((HH, WW) == (3, 3) and stride == (1, 1)
            and C * F * out_hw[0] * out_hw[1] >= WINOGRAD_MIN_WORK)


def _tiles(size):
    """Number of 2-pixel output tiles covering ``size`` pixels (the last one may overhang)."""
    return -(-size // 2)


def _winograd_filters(w, dtype):
    """``G g G^T`` for every filter and channel: w (F, C, 3, 3) -> U (16, F, C)."""
    F, C = w.shape[:2]
    G = _G.astype(dtype)
    U = np.einsum("ki,fcij,lj->klfc", G, w, G, optimize=True)
    return U.reshape(16, F, C)


def _parities(size, pad):
    """Where x's rows (or columns) land in the padded image stored by parity: padded index
    ``2 u + q`` holds x's index ``2 u + q - pad``. For q = 0, 1: (first u, first x index,
    count). The ``2 * tiles + 2 >= size + 2 * pad`` padded indices always hold all of x."""
    parities = []
    for q in (0, 1):
        u = max(0, (pad - q + 1) // 2)
        first = 2 * u + q - pad
        parities.append((u, first, len(range(first, size, 2))))
    return parities


def _winograd_input(x, pad, tiles, dtype):
    """``B^T d B`` for every 4x4 input tile (stride 2): x (n, C, H, W) -> V (16, C, T).

    Tile (i, j) covers padded rows 2i..2i+3 and columns 2j..2j+3. The padded image is
    stored by row and column parity, (C, n, 2, 2, th + 1, tw + 1), so that tile row k of every
    tile is one contiguous block (parity k % 2, offset k // 2), and so is tile column k once
    the (th, tw + 1) grid is read flat: the shift by one tile column then runs over the end
    of a grid row into the next, which makes the tile grid (th, tw + 1) with one spare
    column of tiles (T = n * th * (tw + 1)); the output drops it, its gradient is zero. Every
    pass so works on long contiguous runs, which numpy adds several times faster than the
    short strided ones of the plain layout.
    """
    n, C, H, W = x.shape
    th, tw = tiles
    L = th * (tw + 1)  # tiles per image and channel, the spare column included
    xpad = np.zeros((C, n, 2, 2, th + 1, tw + 1), dtype)  # (.., Hp / 2, Wp / 2)
    x_t = x.transpose(1, 0, 2, 3)  # (C, n, H, W)
    for p, (ui, fi, ci) in enumerate(_parities(H, pad[0])):
        for q, (uj, fj, cj) in enumerate(_parities(W, pad[1])):
            xpad[:, :, p, q, ui:ui + ci, uj:uj + cj] = x_t[:, :, fi::2, fj::2]
    # B^T along the tile rows, then along the tile columns: 4 subtractions/additions each
    d = [xpad[:, :, k % 2, :, k // 2:k // 2 + th] for k in range(4)]  # 4 x (C, n, 2, th, tw+1)
    rows = np.empty((4, C, n, 2, L + 1), dtype)  # a spare entry for shifted reads
    rows[..., L] = 0
    grid = rows[..., :L].reshape(4, C, n, 2, th, tw + 1)
    np.subtract(d[0], d[2], out=grid[0])
    np.add(d[1], d[2], out=grid[1])
    np.subtract(d[2], d[1], out=grid[2])
    np.subtract(d[1], d[3], out=grid[3])
    e = [rows[:, :, :, k % 2, k // 2:k // 2 + L] for k in range(4)]  # 4 x (4, C, n, L)
    shape = (4, 4, C, n, L)
    V = np.empty(shape, dtype)
    np.subtract(e[0], e[2], out=V[:, 0])
    np.add(e[1], e[2], out=V[:, 1])
    np.subtract(e[2], e[1], out=V[:, 2])
    np.subtract(e[1], e[3], out=V[:, 3])
    return V.reshape(16, C, -1)  # (16, C, T)


def _winograd_input_adjoint(dV, dx, pad, tiles):
    """The adjoint of :func:`_winograd_input`: ``B dV B^T`` per tile, overlapping tiles
    added up, the padding cropped; written into dx (n, C, H, W). dV is (16, C, T) and zero
    on the spare tiles."""
    n, C, H, W = dx.shape
    th, tw = tiles
    L = th * (tw + 1)
    X = dV.reshape(4, 4, C, n, L)
    # along the columns: tile column k adds onto parity k % 2 at offset k // 2
    cols = np.empty((4, C, n, 2, L + 1), dV.dtype)
    even, odd = cols[:, :, :, 0], cols[:, :, :, 1]  # (4, C, n, L + 1)
    even[..., L] = odd[..., L] = 0
    even[..., :L] = X[:, 0]
    even[..., 1:] -= X[:, 0]
    even[..., 1:] += X[:, 1]
    even[..., 1:] += X[:, 2]
    np.subtract(X[:, 1], X[:, 2], out=odd[..., :L])
    odd[..., :L] += X[:, 3]
    odd[..., 1:] -= X[:, 3]
    R = cols[..., :L].reshape(4, C, n, 2, th, tw + 1)
    # along the rows: tile row k adds onto row parity k % 2 at offset k // 2
    dxpad = np.empty((C, n, 2, 2, th + 1, tw + 1), dV.dtype)  # (.., Hp/2, Wp/2)
    even, odd = dxpad[:, :, 0], dxpad[:, :, 1]  # (C, n, 2, th + 1, tw + 1)
    even[:, :, :, th] = odd[:, :, :, th] = 0
    even[:, :, :, :th] = R[0]
    even[:, :, :, 1:] -= R[0]
    even[:, :, :, 1:] += R[1]
    even[:, :, :, 1:] += R[2]
    np.subtract(R[1], R[2], out=odd[:, :, :, :th])
    odd[:, :, :, :th] += R[3]
    odd[:, :, :, 1:] -= R[3]
    dx_t = dx.transpose(1, 0, 2, 3)  # (C, n, H, W) view
    for p, (ui, fi, ci) in enumerate(_parities(H, pad[0])):
        for q, (uj, fj, cj) in enumerate(_parities(W, pad[1])):
            dx_t[:, :, fi::2, fj::2] = dxpad[:, :, p, q, ui:ui + ci, uj:uj + cj]


def _winograd_output(M, b, out):
    """``A^T m A + b`` for every tile but the spare ones, written into out (n, F, H', W').
    M is (16, F, T). The four pixels of each output tile are computed as four contiguous
    (F, T) planes, then interleaved into out."""
    n, F, Ho, Wo = out.shape
    th, tw = _tiles(Ho), _tiles(Wo)
    M = M.reshape(4, 4, F, -1)  # (4, 4, F, T)
    M[1, 1] += b[:, None]  # A^T's and A's column 1 is all ones: b reaches all 4 outputs
    rows = np.empty((2, 4, F, M.shape[3]), M.dtype)  # (2, 4, F, T)
    np.add(M[0], M[1], out=rows[0])
    rows[0] += M[2]
    np.subtract(M[1], M[2], out=rows[1])
    rows[1] -= M[3]
    Y = np.empty((2, 2, F, M.shape[3]), M.dtype)  # (2, 2, F, T): [row, column]
    np.add(rows[:, 0], rows[:, 1], out=Y[:, 0])
    Y[:, 0] += rows[:, 2]
    np.subtract(rows[:, 1], rows[:, 2], out=Y[:, 1])
    Y[:, 1] -= rows[:, 3]
    Y = Y.reshape(2, 2, F, n, th, tw + 1).transpose(0, 1, 3, 2, 4, 5)  # (2, 2, n, F, th, tw+1)
    for a in range(2):
        for c in range(2):
            plane = out[:, :, a::2, c::2]  # (n, F, th or less, tw or less)
            plane[...] = Y[a, c, :, :, :plane.shape[2], :plane.shape[3]]


def _winograd_output_adjoint(dout, dtype):
    """The adjoint of :func:`_winograd_output`: ``A dY A^T`` for every 2x2 tile of dout,
    zero on the spare tiles: dout (n, F, H', W') -> dM (16, F, T)."""
    n, F, Ho, Wo = dout.shape
    th, tw = _tiles(Ho), _tiles(Wo)
    dY = np.zeros((2, 2, F, n, th, tw + 1), dtype)  # [row, column], spares 0
    dout_t = dout.transpose(1, 0, 2, 3)  # (F, n, H', W')
    for a in range(2):
        for c in range(2):
            plane = dout_t[:, :, a::2, c::2]
            dY[a, c, :, :, :plane.shape[2], :plane.shape[3]] = plane
    dY = dY.reshape(2, 2, F, -1)  # (2, 2, F, T)
    rows = np.empty((4, 2, F, dY.shape[3]), dtype)
    rows[0] = dY[0]
    np.add(dY[0], dY[1], out=rows[1])
    np.subtract(dY[0], dY[1], out=rows[2])
    np.negative(dY[1], out=rows[3])
    dM = np.empty((4, 4, F, dY.shape[3]), dtype)
    dM[:, 0] = rows[:, 0]
    np.add(rows[:, 0], rows[:, 1], out=dM[:, 1])
    np.subtract(rows[:, 0], rows[:, 1], out=dM[:, 2])
    np.negative(rows[:, 1], out=dM[:, 3])
    return dM.reshape(16, F, -1)


def _conv_forward_winograd(x, w, b, pad, out_hw, dtype):
    """Stride-1 3x3 convolution by Winograd F(2x2, 3x3), a few images at a time; returns out
    and each chunk's transformed input tiles (16, C, T), which the weight gradient needs."""
    N, C = x.shape[:2]
    F = w.shape[0]
    tiles = _tiles(out_hw[0]), _tiles(out_hw[1])
    U = _winograd_filters(w, dtype)  # (16, F, C)
    out = np.empty((N, F) + out_hw, dtype)
    tiles_in = []
    for chunk in _winograd_chunks(N, C, F, tiles, dtype):
        V = _winograd_input(x[chunk], pad, tiles, dtype)  # (16, C, T)
        M = U @ V  # (16, F, T): 16 GEMMs
        _winograd_output(M, b, out[chunk])
        tiles_in.append(V)
    return out, tuple(tiles_in)


def _winograd_chunks(N, C, F, tiles, dtype):
    """The chunks of the Winograd path, forward and backward alike: CHUNK_BYTES of tiles."""
    return _chunks(N, 16 * max(C, F) * tiles[0] * (tiles[1] + 1) * dtype.itemsize)


def _conv_backward_winograd(dout, x, w, pad, dtype, input_grad, tiles_in):
    """dx (None unless input_grad), dw and db of the Winograd convolution as its adjoint, a
    few images at a time: ``dM = A dY A^T``, then ``dU = dM @ V^T`` and ``dV = U^T @ dM``
    (16 GEMMs each). ``tiles_in`` are the forward's transformed input tiles per chunk, or
    None (a naive cache): then each chunk's are transformed here."""
    N, C = x.shape[:2]
    F = w.shape[0]
    tiles = _tiles(dout.shape[2]), _tiles(dout.shape[3])
    U_T = _winograd_filters(w, dtype).transpose(0, 2, 1)  # (16, C, F)
    dU = np.zeros((16, F, C), dtype)
    db = np.zeros(F, dtype)
    dx = np.empty(x.shape, x.dtype) if input_grad else None
    chunks = _winograd_chunks(N, C, F, tiles, dtype)
    for chunk, V in zip(chunks, tiles_in or [None] * len(chunks), strict=True):
        if V is None:  # a cache from conv_forward_naive
            V = _winograd_input(x[chunk], pad, tiles, dtype)  # (16, C, T)
        dM = _winograd_output_adjoint(dout[chunk], dtype)  # (16, F, T)
        dU += dM @ V.transpose(0, 2, 1)  # (16, F, C)
        db += dM[5].sum(axis=1)  # dM[1, 1] is each tile's dout summed: b entered at M[1, 1]
        if input_grad:
            dV = U_T @ dM  # (16, C, T)
            _winograd_input_adjoint(dV, dx[chunk], pad, tiles)
    G = _G.astype(dtype)
    dw = np.einsum("ki,klfc,lj->fcij", G, dU.reshape(4, 4, F, C), G, optimize=True)
    return dx, np.ascontiguousarray(dw), db


def _conv_forward_im2col(x, w, b, stride, pad, out_hw, dtype):
    """Any convolution as one matrix product per chunk of images, ``w (F, K) @ cols (K, P)``;
    returns out and each chunk's ``cols``, which the weight gradient needs."""
    N, F = x.shape[0], w.shape[0]
    w_rows = w.reshape(F, math.prod(w.shape[1:]))  # (F, K)
    K = w_rows.shape[1]
    out = np.empty((N, F) + out_hw, dtype)
    cols_kept = []
    for chunk in _im2col_chunks(N, K, out_hw, dtype):
        n = chunk.stop - chunk.start
        cols = _im2col(x[chunk], w.shape[2:], stride, pad)  # (K, P)
        scores = w_rows @ cols  # (F, P)
        # the copy that reorders (F, n, ...) into (n, F, ...) adds the bias: one pass, not two
        np.add(scores.reshape(F, n, *out_hw).transpose(1, 0, 2, 3), b[:, None, None],
               out=out[chunk])
        cols_kept.append(cols)
    return out, tuple(cols_kept)


def _im2col_chunks(N, K, out_hw, dtype):
    """The chunks of the im2col path, forward and backward alike: CHUNK_BYTES of columns."""
    return _chunks(N, K * out_hw[0] * out_hw[1] * dtype.itemsize)


def _conv_backward_im2col(dout, x, w, stride, pad, dtype, input_grad, cols_kept):
    """dx (None unless input_grad), dw and db of the im2col convolution, as matrix products
    on chunks of images: ``dw = dout @ cols.T``, summed over the chunks, and dx from
    ``w.T @ dout`` by col2im (or, at stride 1, as a convolution of dout). ``cols_kept`` are
    the forward's, per chunk, or None (a naive cache): then they are unrolled here."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    w_rows = w.reshape(F, C * HH * WW)  # (F, K)
    flipped = stride == (1, 1) and pad[0] < HH and pad[1] < WW
    if flipped:  # dx = dout (padded by filter - 1 - pad) convolved with the flipped filters
        w_flipped = w_rows.reshape(w.shape)[:, :, ::-1, ::-1]  # (F, C, HH, WW)
        w_flipped = w_flipped.transpose(1, 0, 2, 3).reshape(C, F * HH * WW)  # (C, F * HH * WW)
        dout_pad = (HH - 1 - pad[0], WW - 1 - pad[1])
    dw = np.zeros((F, C * HH * WW), dtype)
    db = np.zeros(F, dtype)
    dx = np.empty(x.shape, x.dtype) if input_grad else None
    chunks = _im2col_chunks(N, C * HH * WW, (Ho, Wo), dtype)
    for chunk, cols in zip(chunks, cols_kept or [None] * len(chunks), strict=True):
        n = chunk.stop - chunk.start
        if cols is None:  # a cache from conv_forward_naive
            cols = _im2col(x[chunk], (HH, WW), stride, pad)
        dout_rows = dout[chunk].transpose(1, 0, 2, 3).reshape(F, n * Ho * Wo)  # (F, P), a copy
        dw += dout_rows @ cols.T  # (F, K)
        db += dout_rows.sum(axis=1)
        if input_grad and flipped:
            dout_cols = _im2col(dout[chunk], (HH, WW), (1, 1), dout_pad)
            dx_rows = w_flipped @ dout_cols  # (C, n * H * W)
            dx[chunk] = dx_rows.reshape(C, n, H, W).transpose(1, 0, 2, 3)
        elif input_grad:
            dcols = w_rows.T @ dout_rows  # (K, P)
            _col2im(dcols, dx[chunk], (HH, WW), stride, pad)
    return dx, dw.reshape(w.shape), db

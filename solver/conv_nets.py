"""The conv nets: ``ConvNet`` of conv blocks and affine layers, CS231n's ``ThreeLayerConvNet``.

Their contract, shapes and seeding are described in ``solver.models``, where they are imported
from. Shapes: N images (C, H, W) of C channels and (H, W) pixels (a 1-d signal of length L is
the image (C, 1, L)); F filters of (HH, WW) pixels in a conv layer; M the width of a hidden
affine layer; K classes.
"""

import numbers

import numpy as np

from layers import (
    conv_bn_relu_backward, conv_bn_relu_forward, conv_relu_backward, conv_relu_forward,
    max_pool_backward_fast, max_pool_forward_fast)
from layers._checks import as_float_array, shape_str

from .classifier import _check_pair, _check_size, _check_sizes, _Classifier

CONV_NORMALIZATIONS = (None, "batchnorm")
# Conv blocks by normalization: conv - [spatial batchnorm] - relu, as (forward, backward).
CONV_BLOCKS = {
    None: (conv_relu_forward, conv_relu_backward),
    "batchnorm": (conv_bn_relu_forward, conv_bn_relu_backward),
}


class ConvNet(_Classifier):
    """A convolutional net: conv blocks, then fully connected layers, then a softmax loss.

        {conv - [spatial batchnorm] - relu - max pool} x B
        - {affine - [batchnorm] - relu} x len(hidden_dims) - affine - softmax

    with B = len(conv_filters) blocks. Every convolution has stride 1 and 'same' padding,
    (filter_size - 1) // 2 on each side, so it keeps the (H, W) of its input; every pool has
    its window as stride, so a block divides the height by pool_h and the width by pool_w
    (rounding down: a last row or column that fills no window is left out, as max pooling
    does). A pool of 1 (or (1, 1)) skips pooling. Layers are numbered 1 .. L across the conv
    and the affine layers: conv filters W1 (F1, C, HH, WW), ..., then affine weights; with
    batchnorm, every hidden layer i also has gamma{i}, beta{i} and running statistics.

    Parameters
    ----------
    input_dim : (C, H, W) tuple of int
        One example's shape; a 1-d signal of length L is (C, 1, L).
    conv_filters : sequence of int
        F, the number of filters of each conv block (at least one block).
    filter_size : odd int or (HH, WW) pair of odd ints
        Every conv layer's filter size: an int k means (k, k), or (1, k) on signals of
        height 1. A filter must fit within the feature maps it slides over.
    pool : int or (h, w) pair of int
        Every block's max-pool window (and stride): an int p means (p, p), or (1, p) on
        signals.
    hidden_dims : sequence of int
        The width M of each hidden affine layer after the conv blocks; may be empty.
    num_classes : int
        K.
    normalization : None or 'batchnorm'
        Spatial batchnorm in every conv block, batchnorm in every hidden affine layer.
    weight_scale : float > 0 or 'he'
        Weights start as N(0, weight_scale**2) draws, or N(0, 2 / fan_in) for 'he' (the
        default), fan_in = C * HH * WW for a conv layer; biases and betas start at zero,
        gammas at one.
    reg : float >= 0
        L2 strength: the loss gains 0.5 * reg * sum(W**2) over all weights, filters included.
    dtype : float32 or float64
        The dtype of the parameters and of every computation.
    seed : None or int >= 0
        None draws the initial weights from numpy's global state, as the course's models;
        an int seeds a local generator.

    Raises
    ------
    ValueError
        For a bad input_dim, sizes that are not positive (or filter sizes that are not odd),
        an unknown normalization, or a filter or pool that does not fit the feature maps of
        its block.
    """

    def __init__(self, input_dim, conv_filters=(32, 32), filter_size=3, pool=2,
                 hidden_dims=(100,), num_classes=10, *, normalization=None, weight_scale="he",
                 reg=0.0, dtype=np.float32, seed=None):
        name = type(self).__name__
        if (isinstance(input_dim, (str, bytes)) or not hasattr(input_dim, "__len__")
                or len(input_dim) != 3 or not all(
                    isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
                    for v in input_dim)):
            raise ValueError(
                f"{name}: input_dim must be one example's shape (C, H, W), three positive "
                f"ints such as (1, 8, 8), or (C, 1, L) for a signal; got {input_dim!r}")
        self.input_dim = tuple(int(v) for v in input_dim)
        conv_filters = _check_sizes(name, "conv_filters", conv_filters, "[32, 32]")
        if not conv_filters:
            raise ValueError(
                f"{name}: conv_filters must name at least one conv block, such as [32]; "
                f"without any, use FullyConnectedNet")
        hidden_dims = _check_sizes(name, "hidden_dims", hidden_dims, "[100]")
        signal = self.input_dim[1] == 1  # an int size k on a signal means (1, k)
        self.filter_size = _check_pair(name, "filter_size", filter_size, odd=True, flat=signal)
        self.pool = _check_pair(name, "pool", pool, flat=signal)
        super().__init__(num_classes=num_classes, normalization=normalization,
                         normalizations=CONV_NORMALIZATIONS, reg=reg,
                         weight_scale=weight_scale, dtype=dtype, seed=seed)
        self.conv_filters = conv_filters
        self.hidden_dims = hidden_dims
        HH, WW = self.filter_size
        self._conv_param = {"stride": 1, "pad": ((HH - 1) // 2, (WW - 1) // 2)}
        self._pool_param = None if self.pool == (1, 1) else {
            "pool_height": self.pool[0], "pool_width": self.pool[1], "stride": self.pool}

        rng = None if self.seed is None else np.random.default_rng(self.seed)
        channels, H, W = self.input_dim
        for block, F in enumerate(conv_filters, start=1):
            where = (f"block {block} of {len(conv_filters)}, whose feature maps have "
                     f"(H, W) = ({H}, {W}) pixels (from input_dim {self.input_dim})")
            if HH > H or WW > W:
                raise ValueError(
                    f"{name}: the filter (HH, WW) = ({HH}, {WW}) does not fit {where}; use a "
                    f"smaller filter_size (such as (1, 5) for signals), fewer blocks or a "
                    f"smaller pool")
            if self.pool[0] > H or self.pool[1] > W:
                raise ValueError(
                    f"{name}: the pool {self.pool} does not fit {where}; use a smaller pool "
                    f"(such as (1, 2) for signals) or fewer conv blocks")
            self._add_layer(rng, (F, channels, HH, WW), channels * HH * WW, normalized=True)
            channels, H, W = F, H // self.pool[0], W // self.pool[1]
        self.feature_shape = (channels, H, W)  # what the conv blocks hand the affine layers
        dims = [channels * H * W, *hidden_dims, self.num_classes]
        for k, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self._add_layer(rng, (fan_in, fan_out), fan_in, normalized=k < len(dims) - 1)

    def __repr__(self):
        norm = "" if self.normalization is None else f", normalization={self.normalization!r}"
        return (f"{type(self).__name__}(input_dim={self.input_dim}, "
                f"conv_filters={self.conv_filters}, filter_size={self.filter_size}, "
                f"pool={self.pool}, hidden_dims={self.hidden_dims}, "
                f"num_classes={self.num_classes}{norm}, reg={self.reg}, dtype={self.dtype.name})")

    def _input(self, func, X):
        """X cast to the model's dtype (the one copy, if any), checked as (N, C, H, W)."""
        X = as_float_array(func, "X", X).astype(self.dtype, copy=False)
        if X.ndim != 4 or X.shape[0] == 0 or X.shape[1:] != self.input_dim:
            C, H, W = self.input_dim
            raise ValueError(
                f"{func}: X must have shape (N, C, H, W) = (N, {C}, {H}, {W}) with N >= 1, "
                f"the model's input_dim; got X of shape {shape_str(X.shape)}")
        return X  # (N, C, H, W)

    def _hidden_forward(self, x, i, mode):
        """Hidden layer i: a conv block (N, F_i, H_i, W_i) or an affine layer (N, M_i)."""
        if i > len(self.conv_filters):
            return self._affine_block_forward(x, i, mode)  # (N, M_i)
        W, b = self.params[f"W{i}"], self.params[f"b{i}"]
        forward = CONV_BLOCKS[self.normalization][0]
        if self.normalization is None:
            out, conv_cache = forward(x, W, b, self._conv_param)  # (N, F_i, H, W)
        else:
            norm_param = self._norm_param(i, mode)
            out, conv_cache = forward(x, W, b, self.params[f"gamma{i}"],
                                      self.params[f"beta{i}"], self._conv_param, norm_param)
            self._keep_running_stats(i, norm_param, mode)
        if self._pool_param is None:
            return out, (conv_cache, None)
        out, pool_cache = max_pool_forward_fast(out, self._pool_param)  # (N, F_i, H_i, W_i)
        return out, (conv_cache, pool_cache)

    def _hidden_backward(self, dout, cache, i):
        """Backward of hidden layer i: the gradient for its input and a dict of its grads."""
        if i > len(self.conv_filters):
            return self._affine_block_backward(dout, cache, i)
        conv_cache, pool_cache = cache
        if pool_cache is not None:
            dout = max_pool_backward_fast(dout, pool_cache)  # (N, F_i, H, W) before the pool
        # the first conv block's dx would be the gradient for the images: never used
        dx, *grads = CONV_BLOCKS[self.normalization][1](dout, conv_cache, input_grad=i > 1)
        return dx, dict(zip((f"W{i}", f"b{i}", f"gamma{i}", f"beta{i}"), grads))


class ThreeLayerConvNet(ConvNet):
    """CS231n's three-layer convnet: conv - relu - 2x2 max pool - affine - relu - affine -
    softmax, parameters W1 (F, C, HH, HH), b1, W2 (F * H/2 * W/2, M), b2, W3 (M, K), b3.

    The convolution has stride 1 and 'same' padding, (filter_size - 1) // 2, as CS231n's.

    Parameters
    ----------
    input_dim : (C, H, W) tuple of int
        One example's shape.
    num_filters : int
        F.
    filter_size : odd int
        HH = WW, the filters' height and width.
    hidden_dim : int
        M, the width of the hidden affine layer.
    num_classes : int
        K.
    weight_scale : float > 0 or 'he'
        Weights start as N(0, weight_scale**2) draws; biases start at zero.
    reg : float >= 0
        L2 strength: the loss gains 0.5 * reg * sum(W**2) over W1, W2 and W3.
    dtype : float32 or float64
        The dtype of the parameters and of every computation.
    seed : None or int >= 0
        None draws the initial weights from numpy's global state, as the course's models;
        an int seeds a local generator.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        name = type(self).__name__
        num_filters = _check_size(name, "num_filters", num_filters)
        hidden_dim = _check_size(name, "hidden_dim", hidden_dim)
        square = filter_size if isinstance(filter_size, (tuple, list)) else (
            filter_size, filter_size)  # the course's HH x HH filters and 2x2 pool, on signals too
        super().__init__(input_dim, [num_filters], square, (2, 2), [hidden_dim], num_classes,
                         weight_scale=weight_scale, reg=reg, dtype=dtype, seed=seed)

    def __repr__(self):
        return (f"ThreeLayerConvNet(input_dim={self.input_dim}, "
                f"num_filters={self.conv_filters[0]}, filter_size={self.filter_size[0]}, "
                f"hidden_dim={self.hidden_dims[0]}, num_classes={self.num_classes}, "
                f"reg={self.reg}, dtype={self.dtype.name})")

"""The base the models of ``solver.models`` share: ``_Classifier``, and the argument checks
of their constructors.

``_Classifier`` owns what every model has (checked arguments, ``params`` and ``buffers``, the
initial weights, L2 regularization, save/load) and the loss around the layers of the deeper
nets; the contract it offers is written once, in ``solver.models``' docstring. Shapes: N
examples, M the width of a hidden affine layer, K classes.
"""

import math
import numbers
import os

import numpy as np

from layers import (
    affine_backward, affine_forward, batchnorm_backward, batchnorm_forward, layernorm_backward,
    layernorm_forward, softmax_loss)
from layers._checks import as_array, check_labels
from layers.activations import ACTIVATIONS

from .checkpoint import load_arrays, save_arrays

NORMALIZATIONS = (None, "batchnorm", "layernorm")

# The normalization layer after a hidden affine layer, as (forward, backward). Each takes
# gamma, beta and its param dict after x and returns (dx, dgamma, dbeta).
NORM_LAYERS = {
    "batchnorm": (batchnorm_forward, batchnorm_backward),
    "layernorm": (layernorm_forward, layernorm_backward),
}


def _check_size(model, name, value):
    """Require a positive int (a layer width, a class count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{model}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _check_sizes(model, name, values, example):
    """Require a sequence of positive ints (layer widths, filter counts); return a list."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(
            f"{model}: {name} must be a sequence of layer widths, such as {example}, "
            f"got {values!r}")
    return [_check_size(model, f"every entry of {name}", v) for v in values]


def _check_pair(model, name, value, odd=False, flat=False):
    """An int or an (h, w) pair of positive ints (odd ones where ``odd``), as an (h, w) tuple:
    an int k is (k, k), or (1, k) where ``flat`` (for inputs one pixel high)."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (1 if flat else value, value)
    kind = "an odd positive" if odd else "a positive"
    if len(pair) != 2 or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
            and (not odd or v % 2) for v in pair):
        why = " ('same' padding, (size - 1) // 2 on each side, needs odd sizes)" if odd else ""
        raise ValueError(
            f"{model}: {name} must be {kind} int or an (h, w) pair of them{why}, "
            f"got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_dtype(model, dtype):
    """Require float32 or float64; return it as a numpy dtype."""
    try:
        checked = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{model}: dtype must be float32 or float64, got {dtype!r}, which is "
                        f"no numpy dtype") from None
    if checked not in (np.float32, np.float64):
        raise ValueError(f"{model}: dtype must be float32 or float64, got {checked}")
    return checked


def _check_seed(model, seed):
    """Require None or an int >= 0."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{model}: seed must be None or an integer >= 0, got {seed!r}")
    return int(seed)


def _check_choice(model, name, value, choices):
    """Require one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{model}: {name} must be one of {', '.join(map(repr, choices))}, "
                         f"got {value!r}")
    return value


def _draw(model, seed):
    """The initial weights' source: numpy's global state (seed None, the course's way) or a
    local generator; returns ``randn(*shape)``."""
    if _check_seed(model, seed) is None:
        return np.random.randn
    rng = np.random.default_rng(seed)
    return lambda *shape: rng.standard_normal(shape)


class _Regularized:
    """The models' ``reg``, checked whenever it is set (a sweep or a user may set it later)."""

    @property
    def reg(self):
        """L2 regularization strength, a float >= 0, read by every ``loss`` call."""
        return self._reg

    @reg.setter
    def reg(self, value):
        if isinstance(value, bool) or not (
                isinstance(value, numbers.Real) and 0 <= value < math.inf):
            raise ValueError(
                f"{type(self).__name__}: reg must be a finite number >= 0, got {value!r}")
        self._reg = float(value)

    def _add_l2(self, loss, grads, weights):
        """The loss and grads with the L2 term: 0.5 * reg * sum(W**2) over ``weights``."""
        loss = float(loss)
        if self.reg:
            for name in weights:
                W = self.params[name]
                loss += 0.5 * self.reg * float(np.sum(W * W))
                grads[name] = grads[name] + self.reg * W
        return loss, grads


def _check_memory(model, count):
    """Refuse at once ``count`` parameters, drawn in float64, that this machine's memory cannot
    hold (drawing them would run for minutes, or thrash, before failing)."""
    needed = count * 8
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): numpy says it later
        return
    if needed > total:
        raise MemoryError(f"{model}: its {count:,} parameters need {needed / 2**30:,.1f} GiB, "
                          f"more than this machine's {total / 2**30:,.1f} GiB of memory")


def dropout_seed(seed, step, layer):
    """The dropout seed of hidden ``layer`` in training step ``step`` of a model seeded ``seed``.

    One 64-bit int, mixed from the three by ``np.random.SeedSequence``, so that every layer of
    every step gets its own independent mask: ``dropout_param['seed']`` takes a single int.
    """
    return int(np.random.SeedSequence([seed, step, layer]).generate_state(1, np.uint64)[0])


class _Classifier(_Regularized):
    """What the models share: arguments, parameters, buffers, files, and the loss around the
    layers of the deeper nets.

    A subclass adds its layers 1 .. L in ``__init__`` (with :meth:`_add_layer`), the last one
    the affine layer that gives the scores; it casts its input in ``_input`` and runs hidden
    layer i < L in ``_hidden_forward``/``_hidden_backward``. Layer L and the loss run in
    :meth:`loss` here (TwoLayerNet writes its own).
    """

    def __init__(self, *, num_classes, normalization, normalizations, reg, weight_scale, dtype,
                 seed):
        name = type(self).__name__
        self.num_classes = _check_size(name, "num_classes", num_classes)
        if normalization not in normalizations:
            raise ValueError(
                f"{name}: normalization must be one of {normalizations}, got {normalization!r}")
        self.normalization = normalization
        self.reg = reg
        if weight_scale != "he" and not (
                isinstance(weight_scale, numbers.Real) and not isinstance(weight_scale, bool)
                and 0 < weight_scale < math.inf):
            raise ValueError(
                f"{name}: weight_scale must be a positive number or 'he', got {weight_scale!r}")
        self.weight_scale = weight_scale
        self.dtype = _check_dtype(name, dtype)
        self.seed = _check_seed(name, seed)
        self.activation = "relu"
        self.use_dropout = False
        self.params = {}
        self.buffers = {}
        self.num_layers = 0

    def _normal(self, rng, shape):
        """Standard normal draws of ``shape`` in float64: from numpy's global state as the
        course's models draw them (``np.random.randn``) when rng is None, else from rng."""
        return np.random.randn(*shape) if rng is None else rng.standard_normal(shape)

    def _add_layer(self, rng, shape, fan_in, normalized=False):
        """Add the next layer's weights of ``shape`` (and its normalization's parameters).

        W is N(0, weight_scale**2), or N(0, 2 / fan_in) for 'he', drawn in float64 (see
        :meth:`_normal`) and cast, so float32 and float64 models of one seed start alike;
        b = 0. A normalized layer gets gamma = 1 and beta = 0 per output (shape[-1] units, or
        shape[0] filters of a conv), and with batchnorm running statistics: mean 0 and
        variance 1, so that test mode starts as the identity.
        """
        self.num_layers += 1
        i = self.num_layers
        if math.prod(shape) > np.iinfo(np.intp).max // self.dtype.itemsize:
            raise ValueError(
                f"{type(self).__name__}: layer {i}'s weights would have shape {shape}, more "
                f"elements than numpy can hold; check the layer widths")
        std = math.sqrt(2 / fan_in) if self.weight_scale == "he" else self.weight_scale
        W = std * self._normal(rng, shape)
        width = shape[0] if len(shape) == 4 else shape[1]  # F (F, C, HH, WW) or M (D, M)
        self.params[f"W{i}"] = W.astype(self.dtype)
        self.params[f"b{i}"] = np.zeros(width, self.dtype)
        if normalized and self.normalization is not None:
            self.params[f"gamma{i}"] = np.ones(width, self.dtype)
            self.params[f"beta{i}"] = np.zeros(width, self.dtype)
        if normalized and self.normalization == "batchnorm":
            self.buffers[f"running_mean{i}"] = np.zeros(width, self.dtype)
            self.buffers[f"running_var{i}"] = np.ones(width, self.dtype)

    def loss(self, X, y=None):
        """Scores for X (test mode), or the loss and its gradients when labels y are given.

        STATE: with labels this is a training pass, which updates batchnorm's running
        statistics in ``buffers``; without, nothing changes.

        Parameters
        ----------
        X : ndarray of shape (N, d1, ..., dk) or (N, C, H, W)
            Examples: rows of d1 * ... * dk = input_dim features for a fully connected
            net, images of shape input_dim for a conv net; cast to the model's dtype.
        y : ndarray of shape (N,) or None
            Integer class labels in [0, K).

        Returns
        -------
        scores : ndarray of shape (N, K)
            When y is None: class scores, in test mode.
        loss : float
            When y is given: mean softmax loss plus the L2 term.
        grads : dict
            When y is given: name -> ndarray, the gradient of loss for each entry of params,
            in the model's dtype.
        """
        func = f"{type(self).__name__}.loss"
        X = self._input(func, X)
        mode = "test" if y is None else "train"
        if y is not None:
            y = self._labels(func, y, X.shape[0])

        caches = []
        out = X
        for i in range(1, self.num_layers):
            out, cache = self._hidden_forward(out, i, mode)
            caches.append(cache)
        L = self.num_layers
        scores, scores_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores  # (N, K)

        loss, dscores = softmax_loss(scores, y)  # dscores (N, K)
        grads = {}
        # Layer 1's dx would be the gradient for X, which training never uses: it is skipped
        # (a third of the layer's matrix work), as torch skips it for an X without requires_grad.
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(
            dscores, scores_cache, input_grad=L > 1)
        for i in range(L - 1, 0, -1):
            dout, layer_grads = self._hidden_backward(dout, caches[i - 1], i)
            grads.update(layer_grads)
        return self._add_l2(loss, grads, [f"W{i}" for i in range(1, L + 1)])

    def _labels(self, func, y, N):
        """y checked as N integer labels in [0, num_classes), as intp."""
        y = as_array(func, "y", y)
        if y.dtype.kind in "iu" and y.size and (y.min() < 0 or y.max() >= self.num_classes):
            bad = y[(y < 0) | (y >= self.num_classes)][0]
            raise ValueError(
                f"{func}: labels must lie in [0, num_classes) = [0, {self.num_classes}), "
                f"got label {bad}")
        return check_labels(func, y, N, self.num_classes)

    def _norm_param(self, i, mode):
        """The param dict of layer i's normalization: batchnorm's mode and running statistics
        from ``buffers``, none for layernorm."""
        if self.normalization != "batchnorm":
            return {}
        return {"mode": mode, "running_mean": self.buffers[f"running_mean{i}"],
                "running_var": self.buffers[f"running_var{i}"]}

    def _keep_running_stats(self, i, norm_param, mode):
        """After a train-mode batchnorm of layer i, put its updated statistics in buffers."""
        if self.normalization == "batchnorm" and mode == "train":
            self.buffers[f"running_mean{i}"] = norm_param["running_mean"]
            self.buffers[f"running_var{i}"] = norm_param["running_var"]

    def _affine_block_forward(self, x, i, mode):
        """Affine layer i - [norm] - activation: its output (N, M_i) and the three caches
        (None for the norm's when there is none). Batchnorm reads its running statistics from
        ``buffers`` and, in train mode, puts the updated ones back."""
        out, affine_cache = affine_forward(x, self.params[f"W{i}"], self.params[f"b{i}"])
        norm_cache = None
        if self.normalization is not None:
            norm_param = self._norm_param(i, mode)
            out, norm_cache = NORM_LAYERS[self.normalization][0](
                out, self.params[f"gamma{i}"], self.params[f"beta{i}"], norm_param)
            self._keep_running_stats(i, norm_param, mode)
        out, activation_cache = ACTIVATIONS[self.activation][0](out)  # (N, M_i)
        return out, (affine_cache, norm_cache, activation_cache)

    def _affine_block_backward(self, dout, cache, i):
        """Backward of :meth:`_affine_block_forward`: dx (None for layer 1, whose input is
        the data) and a dict of layer i's gradients."""
        affine_cache, norm_cache, activation_cache = cache
        grads = {}
        dout = ACTIVATIONS[self.activation][1](dout, activation_cache)  # (N, M_i)
        if norm_cache is not None:
            dout, grads[f"gamma{i}"], grads[f"beta{i}"] = NORM_LAYERS[self.normalization][1](
                dout, norm_cache)
        dx, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(
            dout, affine_cache, input_grad=i > 1)
        return dx, grads

    def save(self, path):
        """Write ``params`` and ``buffers`` to ``path`` (an .npz file, whatever its name says),
        atomically: as plain arrays, never pickled."""
        save_arrays(path, {**{f"params/{name}": w for name, w in self.params.items()},
                           **{f"buffers/{name}": b for name, b in self.buffers.items()}})

    def load(self, path):
        """Read params and buffers written by :meth:`save` into this model (which must have
        the same parameters, by name and shape), cast to the model's dtype; returns the model.

        Raises
        ------
        ValueError
            If the file is missing, not an .npz of plain arrays, or its arrays do not fit.
        """
        where = f"{type(self).__name__}.load: {os.fspath(path)!r}"
        arrays = load_arrays(path, where)
        for group, current in (("params", self.params), ("buffers", self.buffers)):
            saved = {key.partition("/")[2]: value for key, value in arrays.items()
                     if key.partition("/")[0] == group}
            if saved.keys() != current.keys():
                raise ValueError(f"{where} holds {group} {sorted(saved)}, the model has "
                                 f"{sorted(current)}")
            for name, value in saved.items():
                if value.shape != current[name].shape:
                    raise ValueError(
                        f"{where}: {group}[{name!r}] has shape {value.shape}, the model's "
                        f"{current[name].shape}")
            current.update({name: value.astype(current[name].dtype)
                            for name, value in saved.items()})
        return self

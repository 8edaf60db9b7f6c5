"""Models: the layers composed into classifiers that the Solver trains.

    TwoLayerNet(input_dim, hidden_dim, num_classes)               affine - relu - affine
    FullyConnectedNet(hidden_dims, input_dim, num_classes, normalization=, dropout_keep_ratio=,
                      activation=)
    ConvNet(input_dim, conv_filters, filter_size, pool, hidden_dims, num_classes, normalization=)
    ThreeLayerConvNet(input_dim, num_filters, filter_size, hidden_dim, num_classes)

Every model offers the contract the Solver relies on, CS231n's plus ``buffers``:

    model.params    dict name -> ndarray of the learnable parameters: W1, b1, ... per layer,
                    gamma1, beta1, ... per normalized hidden layer
    model.buffers   dict name -> ndarray of state that is not learned: batchnorm's running
                    statistics (running_mean1, running_var1, ...) and, with dropout, the
                    training step that selects the masks (dropout_step); empty otherwise
    model.reg       L2 strength, read by every ``loss`` call (set it between calls)
    model.dtype     the dtype of every parameter, buffer and computation; input is cast to it
                    once, on the way in
    model.num_layers, model.normalization, model.use_dropout    as the course's models
    model.loss(X)       -> scores, ndarray of shape (N, K): test mode (running statistics,
                           no dropout); changes nothing
    model.loss(X, y)    -> (loss, grads): train mode; softmax loss plus 0.5 * reg * sum(W**2)
                           over the weights (not biases, gammas or betas), grads keyed like
                           params. STATE: a train-mode call updates the batchnorm running
                           statistics in ``buffers``.
    model.save(path), model.load(path)    params and buffers as an .npz file, read without
                                          pickle

Initial weights, ``seed``: None (the default, as the course's) draws them from numpy's global
random state, ``np.random.randn``, layer by layer in the course's order W1, W2, ..., so that
``np.random.seed(231)`` before building a model reproduces the course's reference outputs. An
int seed draws them from a local ``np.random.default_rng(seed)`` and leaves the global state
alone: what the Solver, ``solver train`` and the sweeps use, to be reproducible.

Dropout masks are seeded by :func:`dropout_seed` from the model's seed, the step in
``buffers['dropout_step']`` and the layer. The model never advances the step: every ``loss``
call of a model sees the same masks, so numerical and analytic gradients see one function (the
course's gradient checks rely on it). The training loop owns time: the Solver advances the
step after every iteration, and because the step lives in ``buffers`` (which the Solver
checkpoints) a resumed run draws the masks the uninterrupted run would have. A model built with
seed=None and dropout draws its mask seed from numpy's global state after its weights.

The models replace entries of ``params`` and ``buffers`` with new arrays rather than writing
into them, as the Solver does, and read their arrays from these dicts on every call.

Shapes: N examples; an example is an image (C, H, W) of C channels and (H, W) pixels for the
conv nets (a 1-d signal of length L is the image (C, 1, L)), or any (d1, ..., dk) flattened to
D = input_dim features for the fully connected ones; F filters of (HH, WW) pixels in a conv
layer; M the width of a hidden affine layer; K classes.
"""

import math
import numbers
import os

import numpy as np

from layers import (
    affine_backward, affine_forward, affine_relu_backward, affine_relu_forward,
    batchnorm_backward, batchnorm_forward, conv_bn_relu_backward, conv_bn_relu_forward,
    conv_relu_backward, conv_relu_forward, dropout_backward, dropout_forward, layernorm_backward,
    layernorm_forward, max_pool_backward_fast, max_pool_forward_fast, softmax_loss)
from layers._checks import as_float_array, check_labels, shape_str
from layers.activations import ACTIVATIONS

from .checkpoint import load_arrays, save_arrays

NORMALIZATIONS = (None, "batchnorm", "layernorm")
CONV_NORMALIZATIONS = (None, "batchnorm")

# The normalization layer after a hidden affine layer, as (forward, backward). Each takes
# gamma, beta and its param dict after x and returns (dx, dgamma, dbeta).
NORM_LAYERS = {
    "batchnorm": (batchnorm_forward, batchnorm_backward),
    "layernorm": (layernorm_forward, layernorm_backward),
}
# Conv blocks by normalization: conv - [spatial batchnorm] - relu, as (forward, backward).
CONV_BLOCKS = {
    None: (conv_relu_forward, conv_relu_backward),
    "batchnorm": (conv_bn_relu_forward, conv_bn_relu_backward),
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


def _check_pair(model, name, value, odd=False):
    """An int or an (h, w) pair of positive ints (odd ones where ``odd``), as an (h, w) tuple."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    kind = "an odd positive" if odd else "a positive"
    if len(pair) != 2 or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
            and (not odd or v % 2) for v in pair):
        why = " ('same' padding, (size - 1) // 2 on each side, needs odd sizes)" if odd else ""
        raise ValueError(
            f"{model}: {name} must be {kind} int or an (h, w) pair of them{why}, "
            f"got {value!r}")
    return int(pair[0]), int(pair[1])


def dropout_seed(seed, step, layer):
    """The dropout seed of hidden ``layer`` in training step ``step`` of a model seeded ``seed``.

    One 64-bit int, mixed from the three by ``np.random.SeedSequence``, so that every layer of
    every step gets its own independent mask: ``dropout_param['seed']`` takes a single int.
    """
    return int(np.random.SeedSequence([seed, step, layer]).generate_state(1, np.uint64)[0])


class _Classifier:
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
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"{name}: dtype must be float32 or float64, got {self.dtype}")
        if seed is not None and (
                isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"{name}: seed must be None or an integer >= 0, got {seed!r}")
        self.seed = None if seed is None else int(seed)
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
        return self._add_l2(loss, grads)

    def _add_l2(self, loss, grads):
        """The loss and grads with the L2 term: 0.5 * reg * sum(W**2) over every weight."""
        loss = float(loss)
        if self.reg:
            for i in range(1, self.num_layers + 1):
                W = self.params[f"W{i}"]
                loss += 0.5 * self.reg * float(np.sum(W * W))
                grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W
        return loss, grads

    def _labels(self, func, y, N):
        """y checked as N integer labels in [0, num_classes), as intp."""
        y = np.asarray(y)
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


class FullyConnectedNet(_Classifier):
    """A fully connected net of any depth and a softmax loss.

        {affine - [batchnorm | layernorm] - activation - [dropout]} x (L - 1) - affine - softmax

    with L = len(hidden_dims) + 1 affine layers, parameters W1, b1, ..., WL, bL, and with
    normalization gamma1, beta1, ..., gamma(L-1), beta(L-1).

    Parameters
    ----------
    hidden_dims : sequence of int
        The width M of each hidden layer; empty for a linear softmax classifier.
    input_dim : int
        D, the number of features of one example (its shape flattened).
    num_classes : int
        K.
    dropout_keep_ratio : float in (0, 1]
        Probability of KEEPING a hidden unit (inverted dropout after each hidden activation);
        1 means no dropout. ``dropout`` (the course's 2019 name, also a keep probability) is
        accepted in its place.
    normalization : None, 'batchnorm' or 'layernorm'
        Normalization after each hidden affine layer. Batchnorm keeps running statistics
        ``running_mean{i}``, ``running_var{i}`` (mean 0, variance 1 at first) in ``buffers``.
    activation : str
        A key of ``layers.activations.ACTIVATIONS``: 'relu' (default), 'tanh', ...
    reg : float >= 0
        L2 strength: the loss gains 0.5 * reg * sum(W**2) over the weights.
    weight_scale : float > 0 or 'he'
        Weights start as N(0, weight_scale**2) draws, or N(0, 2 / fan_in) for 'he'; biases
        and betas start at zero, gammas at one.
    dtype : float32 or float64
        The dtype of the parameters and of every computation (float32, as the course's).
    seed : None or int >= 0
        None draws the initial weights from numpy's global state, as the course's models;
        an int seeds a local generator. With ``buffers['dropout_step']`` it seeds every
        dropout mask (see the module docstring).
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, *,
                 dropout_keep_ratio=1.0, normalization=None, activation="relu", reg=0.0,
                 weight_scale=1e-2, dtype=np.float32, seed=None, dropout=None):
        name = type(self).__name__
        hidden_dims = _check_sizes(name, "hidden_dims", hidden_dims, "[100, 50]")
        self.input_dim = _check_size(name, "input_dim", input_dim)
        if dropout is not None:
            if dropout_keep_ratio not in (1, dropout):
                raise ValueError(
                    f"{name}: dropout (the course's 2019 name) and dropout_keep_ratio are one "
                    f"setting; give one, got {dropout!r} and {dropout_keep_ratio!r}")
            dropout_keep_ratio = dropout
        keep = dropout_keep_ratio
        if isinstance(keep, bool) or not isinstance(keep, numbers.Real) or not 0 < keep <= 1:
            raise ValueError(
                f"{name}: dropout_keep_ratio must be a number in (0, 1], "
                f"got {dropout_keep_ratio!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"{name}: activation must be one of "
                             f"{', '.join(map(repr, ACTIVATIONS))}, got {activation!r}")
        super().__init__(num_classes=num_classes, normalization=normalization,
                         normalizations=NORMALIZATIONS, reg=reg, weight_scale=weight_scale,
                         dtype=dtype, seed=seed)
        self.dropout_keep_ratio = float(dropout_keep_ratio)
        self.use_dropout = self.dropout_keep_ratio < 1
        self.activation = activation
        self.hidden_dims = hidden_dims

        rng = None if self.seed is None else np.random.default_rng(self.seed)
        dims = [self.input_dim, *hidden_dims, self.num_classes]
        for k, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self._add_layer(rng, (fan_in, fan_out), fan_in, normalized=k < len(dims) - 1)
        if self.use_dropout:
            self.buffers["dropout_step"] = np.array(0, np.int64)
            self._mask_seed = self.seed if rng is not None else int(np.random.randint(2**31))

    def __repr__(self):
        extras = "".join(
            f", {key}={value!r}" for key, value, default in (
                ("normalization", self.normalization, None),
                ("activation", self.activation, "relu"),
                ("dropout_keep_ratio", self.dropout_keep_ratio, 1.0))
            if value != default)
        return (f"{type(self).__name__}(hidden_dims={self.hidden_dims}, "
                f"input_dim={self.input_dim}, num_classes={self.num_classes}{extras}, "
                f"reg={self.reg}, dtype={self.dtype.name})")

    def _input(self, func, X):
        """X cast to the model's dtype (the one copy, if any) and flattened to (N, D)."""
        X = as_float_array(func, "X", X).astype(self.dtype, copy=False)
        if X.ndim < 2 or X.shape[0] == 0 or math.prod(X.shape[1:]) != self.input_dim:
            raise ValueError(
                f"{func}: X must have shape (N, d1, ..., dk) with N >= 1 and "
                f"d1 * ... * dk = input_dim = {self.input_dim}, "
                f"got X of shape {shape_str(X.shape)}")
        return X.reshape(X.shape[0], self.input_dim)  # (N, D)

    def _hidden_forward(self, x, i, mode):
        """Hidden layer i: affine - [norm] - activation - [dropout]; its output (N, M_i) and
        cache."""
        out, cache = self._affine_block_forward(x, i, mode)  # (N, M_i)
        if not self.use_dropout:
            return out, (cache, None)
        seed = dropout_seed(self._mask_seed, int(self.buffers["dropout_step"]), i)
        out, dropout_cache = dropout_forward(
            out, {"mode": mode, "p": self.dropout_keep_ratio, "seed": seed})  # (N, M_i)
        return out, (cache, dropout_cache)

    def _hidden_backward(self, dout, cache, i):
        """Backward of hidden layer i: the gradient for its input (None for layer 1, whose
        input is X: see :meth:`loss`) and a dict of its grads."""
        cache, dropout_cache = cache
        if dropout_cache is not None:
            dout = dropout_backward(dout, dropout_cache)  # (N, M_i)
        return self._affine_block_backward(dout, cache, i)


class TwoLayerNet(_Classifier):
    """CS231n's two-layer net: affine - relu - affine - softmax, parameters W1, b1, W2, b2.

    Parameters
    ----------
    input_dim : int
        D, the number of features of one example.
    hidden_dim : int
        M, the width of the hidden layer.
    num_classes : int
        K.
    weight_scale : float > 0 or 'he'
        Weights start as N(0, weight_scale**2) draws; biases start at zero.
    reg : float >= 0
        L2 strength: the loss gains 0.5 * reg * (sum(W1**2) + sum(W2**2)).
    dtype : float32 or float64
        The dtype of the parameters and of every computation: float64 by default, as the
        course's (whose checks ask for 1e-10); ``solver train`` passes float32.
    seed : None or int >= 0
        None draws the initial weights from numpy's global state (W1, then W2), as the
        course's; an int seeds a local generator.
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0, dtype=np.float64, seed=None):
        super().__init__(num_classes=num_classes, normalization=None, normalizations=(None,),
                         reg=reg, weight_scale=weight_scale, dtype=dtype, seed=seed)
        self.input_dim = _check_size("TwoLayerNet", "input_dim", input_dim)
        self.hidden_dim = _check_size("TwoLayerNet", "hidden_dim", hidden_dim)
        rng = None if self.seed is None else np.random.default_rng(self.seed)
        self._add_layer(rng, (self.input_dim, self.hidden_dim), self.input_dim)
        self._add_layer(rng, (self.hidden_dim, self.num_classes), self.hidden_dim)

    def __repr__(self):
        return (f"TwoLayerNet(input_dim={self.input_dim}, hidden_dim={self.hidden_dim}, "
                f"num_classes={self.num_classes}, reg={self.reg}, dtype={self.dtype.name})")

    _input = FullyConnectedNet._input

    def loss(self, X, y=None):
        """Scores for X, or the loss and its gradients when labels y are given.

        Parameters
        ----------
        X : ndarray of shape (N, d1, ..., dk)
            N examples of d1 * ... * dk = D features; cast to the model's dtype.
        y : ndarray of shape (N,) or None
            Integer class labels in [0, K).

        Returns
        -------
        scores : ndarray of shape (N, K)
            When y is None.
        loss, grads : float, dict
            When y is given: the mean softmax loss plus 0.5 * reg * (sum(W1**2) +
            sum(W2**2)), and the gradients keyed like params.
        """
        X = self._input("TwoLayerNet.loss", X)  # (N, D)
        W1, b1, W2, b2 = (self.params[name] for name in ("W1", "b1", "W2", "b2"))

        # Forward: affine - relu - affine.
        hidden, hidden_cache = affine_relu_forward(X, W1, b1)  # (N, M)
        scores, scores_cache = affine_forward(hidden, W2, b2)  # (N, K)
        if y is None:
            return scores
        y = self._labels("TwoLayerNet.loss", y, X.shape[0])

        # Softmax loss, then backward through the two layers (X needs no gradient).
        loss, dscores = softmax_loss(scores, y)  # (N, K)
        dhidden, dW2, db2 = affine_backward(dscores, scores_cache)  # (N, M), (M, K), (K,)
        _, dW1, db1 = affine_relu_backward(dhidden, hidden_cache, input_grad=False)

        # L2 regularization of the weights (at reg = 0 there is nothing to add).
        if self.reg:
            loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
            dW1 = dW1 + self.reg * W1
            dW2 = dW2 + self.reg * W2
        return float(loss), {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


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
        Every conv layer's filter size; (1, 5) for signals of height 1. A filter must fit
        within the feature maps it slides over.
    pool : int or (h, w) pair of int
        Every block's max-pool window (and stride), e.g. 2 or (1, 2).
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
        self.filter_size = _check_pair(name, "filter_size", filter_size, odd=True)
        self.pool = _check_pair(name, "pool", pool)
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
        super().__init__(input_dim, [num_filters], filter_size, 2, [hidden_dim], num_classes,
                         weight_scale=weight_scale, reg=reg, dtype=dtype, seed=seed)

    def __repr__(self):
        return (f"ThreeLayerConvNet(input_dim={self.input_dim}, "
                f"num_filters={self.conv_filters[0]}, filter_size={self.filter_size[0]}, "
                f"hidden_dim={self.hidden_dims[0]}, num_classes={self.num_classes}, "
                f"reg={self.reg}, dtype={self.dtype.name})")

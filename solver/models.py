"""Models: the layers composed into classifiers that the Solver trains.

Every model offers the contract the Solver relies on:

    model.params    dict name -> ndarray of the learnable parameters ("W1", "b1", ...)
    model.buffers   dict name -> ndarray of non-learnable state (batchnorm running statistics);
                    empty for the models here
    model.dtype     the dtype of every parameter and computation (float32 by default, float64
                    for gradient checks); input is cast to it once, on the way in
    model.loss(X)       -> scores, ndarray of shape (N, C): test-time behaviour
    model.loss(X, y)    -> (loss, grads): softmax loss plus 0.5 * reg * sum(W**2) over the
                           weights (not the biases), grads keyed like params

The Solver replaces entries of ``params`` (and ``buffers``) with new arrays rather than writing
into them, so a model reads its arrays from these dicts on every call.

Shapes: N examples, each of shape (d1, ..., dk) flattened to D = input_dim features;
H a hidden layer's width; C classes.
"""

import math
import numbers

import numpy as np

from layers import (
    affine_backward, affine_forward, affine_relu_backward, affine_relu_forward, softmax_loss)
from layers._checks import as_float_array, check_labels, shape_str

NORMALIZATIONS = (None, "batchnorm", "layernorm")


def _check_size(model, name, value):
    """Require a positive int (a layer width, a class count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{model}: {name} must be a positive integer, got {value!r}")
    return int(value)


class FullyConnectedNet:
    """A fully connected net of any depth with ReLU hidden layers and a softmax loss.

        {affine - relu} x (L - 1) - affine - softmax

    with L = len(hidden_dims) + 1 affine layers, parameters W1, b1, ..., WL, bL. Each hidden
    layer is built by one pair of methods, ``_hidden_forward``/``_hidden_backward``: that is
    where normalization and dropout go.

    Parameters
    ----------
    hidden_dims : sequence of int
        The width H of each hidden layer; empty for a linear softmax classifier.
    input_dim : int
        D, the number of features of one example (its shape flattened).
    num_classes : int
        C.
    dropout_keep_ratio : float in (0, 1]
        Probability of keeping a hidden unit; 1 means no dropout.
    normalization : None, 'batchnorm' or 'layernorm'
        Normalization after each hidden affine layer.
    reg : float >= 0
        L2 strength: the loss gains 0.5 * reg * sum(W**2) over the weights.
    weight_scale : float > 0
        Weights start as N(0, weight_scale**2) draws; biases start at zero.
    dtype : float32 or float64
        The dtype of the parameters and of every computation.
    seed : int
        Seed of the local generator that draws the initial weights.

    Raises
    ------
    NotImplementedError
        For normalization or dropout, which arrive with their layers.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, *,
                 dropout_keep_ratio=1.0, normalization=None, reg=0.0, weight_scale=1e-2,
                 dtype=np.float32, seed=0):
        name = type(self).__name__
        if isinstance(hidden_dims, (str, bytes)) or not hasattr(hidden_dims, "__iter__"):
            raise TypeError(
                f"{name}: hidden_dims must be a sequence of layer widths, such as [100, 50], "
                f"got {hidden_dims!r}")
        hidden_dims = [_check_size(name, "every hidden dim", h) for h in hidden_dims]
        self.input_dim = _check_size(name, "input_dim", input_dim)
        self.num_classes = _check_size(name, "num_classes", num_classes)
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"{name}: normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        if (isinstance(dropout_keep_ratio, bool) or not isinstance(dropout_keep_ratio, numbers.Real)
                or not 0 < dropout_keep_ratio <= 1):
            raise ValueError(
                f"{name}: dropout_keep_ratio must be a number in (0, 1], "
                f"got {dropout_keep_ratio!r}")
        if normalization is not None:
            raise NotImplementedError(
                f"{name}: normalization={normalization!r} arrives with the normalization layers")
        if dropout_keep_ratio != 1:
            raise NotImplementedError(
                f"{name}: dropout_keep_ratio={dropout_keep_ratio!r} arrives with the dropout layer")
        if not (isinstance(weight_scale, numbers.Real) and 0 < weight_scale < math.inf):
            raise ValueError(
                f"{name}: weight_scale must be a positive number, got {weight_scale!r}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"{name}: dtype must be float32 or float64, got {self.dtype}")
        self.reg = reg
        self.normalization = normalization
        self.dropout_keep_ratio = float(dropout_keep_ratio)
        self.hidden_dims = hidden_dims
        self.num_layers = len(hidden_dims) + 1

        rng = np.random.default_rng(seed)
        dims = [self.input_dim, *hidden_dims, self.num_classes]
        self.params = {}
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            # Drawn in float64 and cast, so float32 and float64 models of one seed start alike.
            W = weight_scale * rng.standard_normal((fan_in, fan_out))  # (D or H, H or C)
            self.params[f"W{i}"] = W.astype(self.dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype=self.dtype)
        self.buffers = {}

    @property
    def reg(self):
        """L2 regularization strength, a float >= 0."""
        return self._reg

    @reg.setter
    def reg(self, value):
        if isinstance(value, bool) or not (
                isinstance(value, numbers.Real) and 0 <= value < math.inf):
            raise ValueError(
                f"{type(self).__name__}: reg must be a finite number >= 0, got {value!r}")
        self._reg = float(value)

    def __repr__(self):
        return (f"{type(self).__name__}(hidden_dims={self.hidden_dims}, "
                f"input_dim={self.input_dim}, num_classes={self.num_classes}, reg={self.reg}, "
                f"dtype={self.dtype.name})")

    def loss(self, X, y=None):
        """Scores for X, or the loss and its gradients when labels y are given.

        Parameters
        ----------
        X : ndarray of shape (N, d1, ..., dk)
            Examples with d1 * ... * dk = input_dim; cast to the model's dtype.
        y : ndarray of shape (N,) or None
            Integer class labels in [0, C).

        Returns
        -------
        scores : ndarray of shape (N, C)
            When y is None: class scores, in test mode.
        loss : float
            When y is given: mean softmax loss plus the L2 term.
        grads : dict
            When y is given: name -> ndarray, the gradient of loss for each entry of params.
        """
        func = f"{type(self).__name__}.loss"
        X = self._input(func, X)  # (N, D)
        if y is not None:
            y = self._labels(func, y, X.shape[0])

        caches = []
        out = X
        for i in range(1, self.num_layers):
            out, cache = self._hidden_forward(out, i)  # (N, H_i)
            caches.append(cache)
        L = self.num_layers
        scores, scores_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores  # (N, C)

        loss, dscores = softmax_loss(scores, y)  # dscores (N, C)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, scores_cache)
        for i in range(L - 1, 0, -1):
            dout, block_grads = self._hidden_backward(dout, caches[i - 1], i)
            grads.update(block_grads)

        loss = float(loss)
        if self.reg:
            for i in range(1, L + 1):
                W = self.params[f"W{i}"]
                loss += 0.5 * self.reg * float(np.sum(W * W))
                grads[f"W{i}"] += self.reg * W
        return loss, grads

    def _input(self, func, X):
        """X cast to the model's dtype (the one copy, if any) and flattened to (N, D)."""
        X = as_float_array(func, "X", X).astype(self.dtype, copy=False)
        if X.ndim < 2 or X.shape[0] == 0 or math.prod(X.shape[1:]) != self.input_dim:
            raise ValueError(
                f"{func}: X must have shape (N, d1, ..., dk) with N >= 1 and "
                f"d1 * ... * dk = input_dim = {self.input_dim}, "
                f"got X of shape {shape_str(X.shape)}")
        return X.reshape(X.shape[0], self.input_dim)  # (N, D)

    def _labels(self, func, y, N):
        """y checked as N integer labels in [0, num_classes), as intp."""
        y = np.asarray(y)
        if y.dtype.kind in "iu" and y.size and (y.min() < 0 or y.max() >= self.num_classes):
            bad = y[(y < 0) | (y >= self.num_classes)][0]
            raise ValueError(
                f"{func}: labels must lie in [0, num_classes) = [0, {self.num_classes}), "
                f"got label {bad}")
        return check_labels(func, y, N, self.num_classes)

    def _hidden_forward(self, x, i):
        """Hidden layer i: affine - relu. Returns its output (N, H_i) and cache."""
        return affine_relu_forward(x, self.params[f"W{i}"], self.params[f"b{i}"])

    def _hidden_backward(self, dout, cache, i):
        """Backward of hidden layer i: the gradient for its input and a dict of its grads."""
        dx, dW, db = affine_relu_backward(dout, cache)
        return dx, {f"W{i}": dW, f"b{i}": db}


class TwoLayerNet(FullyConnectedNet):
    """CS231n's two-layer net: affine - relu - affine - softmax, parameters W1, b1, W2, b2.

    Parameters
    ----------
    input_dim : int
        D, the number of features of one example.
    hidden_dim : int
        H, the width of the hidden layer.
    num_classes : int
        C.
    weight_scale : float > 0
        Weights start as N(0, weight_scale**2) draws; biases start at zero.
    reg : float >= 0
        L2 strength: the loss gains 0.5 * reg * (sum(W1**2) + sum(W2**2)).
    dtype : float32 or float64
        The dtype of the parameters and of every computation.
    seed : int
        Seed of the local generator that draws the initial weights.
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0, dtype=np.float32, seed=0):
        hidden_dim = _check_size("TwoLayerNet", "hidden_dim", hidden_dim)
        super().__init__([hidden_dim], input_dim, num_classes, reg=reg,
                         weight_scale=weight_scale, dtype=dtype, seed=seed)

    def __repr__(self):
        return (f"TwoLayerNet(input_dim={self.input_dim}, hidden_dim={self.hidden_dims[0]}, "
                f"num_classes={self.num_classes}, reg={self.reg}, dtype={self.dtype.name})")

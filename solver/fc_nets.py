"""The fully connected nets: ``FullyConnectedNet`` of any depth and CS231n's ``TwoLayerNet``.

Their contract, shapes and seeding are described in ``solver.models``, where they are imported
from. Shapes: N examples of any shape (d1, ..., dk), flattened to D = input_dim features; M the
width of a hidden layer; K classes.
"""

import math
import numbers

import numpy as np

from layers import (
    affine_backward, affine_forward, affine_relu_backward, affine_relu_forward, dropout_backward,
    dropout_forward, softmax_loss)
from layers._checks import as_float_array, shape_str
from layers.activations import ACTIVATIONS

from .classifier import NORMALIZATIONS, _check_size, _check_sizes, _Classifier, dropout_seed


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

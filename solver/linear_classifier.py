"""Linear classifiers, the course's assignment 1: scores = X W, then a hinge or softmax loss.

    loss, dW = svm_loss_naive(W, X, y, reg)        loss, dW = svm_loss_vectorized(W, X, y, reg)
    loss, dW = softmax_loss_naive(W, X, y, reg)    (and softmax_loss_vectorized)
    loss_history = LinearSVM().train(X, y, learning_rate, reg, num_iters, batch_size, verbose)
    y_pred = classifier.predict(X)

This is the lecture's first computational graph, ``f = W x`` with a loss on top. The naive
forms loop over the examples and classes, one term of the sum a line; the vectorized forms run
the same graph as two layers, a matrix product and ``layers.svm_loss`` / ``layers.softmax_loss``,
and the tests hold them against the loops.

Shapes: N examples of D features (the course appends a constant 1 to each image for the bias:
D = 3073 for CIFAR-10), C classes. W (D, C), X (N, D), y (N,) integer labels in [0, C).
Regularization is the course's for these classifiers: the loss gains ``reg * sum(W**2)`` and
dW gains ``2 * reg * W`` (the nets in ``solver.models`` use ``0.5 * reg * sum(W**2)``).
"""

import math
import numbers

import numpy as np

from layers import softmax_loss, svm_loss
from layers._checks import as_float_array, check_labels, shape_str

from .checkpoint import load_arrays, save_arrays


def _check(func, W, X, y, reg):
    """W (D, C), X (N, D) and y (N,) checked, and reg a finite number >= 0."""
    W = as_float_array(func, "W", W)
    X = as_float_array(func, "X", X)
    if W.ndim != 2 or X.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(
            f"{func}: W must have shape (D, C) and X shape (N, D), got W of shape "
            f"{shape_str(W.shape)} and X of shape {shape_str(X.shape)}")
    y = check_labels(func, y, X.shape[0], W.shape[1])
    if isinstance(reg, bool) or not (isinstance(reg, numbers.Real) and 0 <= reg < math.inf):
        raise ValueError(f"{func}: reg must be a finite number >= 0, got {reg!r}")
    return W, X, y


def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM loss and its gradient, with loops.

        L = 1/N sum_i sum_{j != y_i} max(0, s_ij - s_iy_i + 1) + reg * sum(W**2),  s_i = x_i W

    Parameters
    ----------
    W : ndarray of shape (D, C)
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,)
        Integer labels in [0, C).
    reg : float >= 0

    Returns
    -------
    loss : float
    dW : ndarray of shape (D, C)
    """
    W, X, y = _check("svm_loss_naive", W, X, y, reg)
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)  # (D, C)
    for i in range(N):
        scores = X[i] @ W  # (C,)
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]  # s_ij pushes up ...
                dW[:, y[i]] -= X[i]  # ... and the correct class's score pulls down
    return _with_l2(loss / N, dW / N, W, reg)


def svm_loss_vectorized(W, X, y, reg):
    """:func:`svm_loss_naive` without loops: scores = X W, then ``layers.svm_loss``."""
    return _vectorized("svm_loss_vectorized", svm_loss, W, X, y, reg)


def softmax_loss_naive(W, X, y, reg):
    """Softmax (cross-entropy) loss and its gradient, with loops.

        L = 1/N sum_i -log(p_iy_i) + reg * sum(W**2),   p_i = softmax(x_i W)

    Parameters and returns as :func:`svm_loss_naive`.
    """
    W, X, y = _check("softmax_loss_naive", W, X, y, reg)
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)  # (D, C)
    for i in range(N):
        scores = X[i] @ W  # (C,)
        scores = scores - np.max(scores)  # the same probabilities, and no exp overflows
        probs = np.exp(scores) / np.sum(np.exp(scores))  # (C,)
        loss += -np.log(probs[y[i]])
        for j in range(C):
            dW[:, j] += (probs[j] - (j == y[i])) * X[i]  # dL_i/ds_ij = p_ij - [j == y_i]
    return _with_l2(loss / N, dW / N, W, reg)


def softmax_loss_vectorized(W, X, y, reg):
    """:func:`softmax_loss_naive` without loops: scores = X W, then ``layers.softmax_loss``."""
    return _vectorized("softmax_loss_vectorized", softmax_loss, W, X, y, reg)


def _vectorized(func, loss_layer, W, X, y, reg):
    """The graph f = X W, then a loss layer: forward, backward, and the L2 term."""
    W, X, y = _check(func, W, X, y, reg)
    scores = X @ W  # (N, C)
    loss, dscores = loss_layer(scores, y)  # dscores (N, C)
    return _with_l2(loss, X.T @ dscores, W, reg)  # dW (D, C)


def _with_l2(loss, dW, W, reg):
    """The data loss and its dW plus the course's regularization, reg * sum(W**2)."""
    return float(loss + reg * np.sum(W * W)), dW + 2 * reg * W


class LinearClassifier:
    """A linear classifier trained by minibatch SGD; subclasses choose the loss.

    Parameters
    ----------
    seed : None or int >= 0
        None (the course's way) draws the initial W and the minibatches from numpy's global
        state; an int draws them from a local ``np.random.default_rng(seed)``.

    Attributes
    ----------
    W : ndarray of shape (D, C) or None
        The weights; None until the first ``train`` call draws them, 0.001 * N(0, 1).
    """

    def __init__(self, seed=None):
        if seed is not None and (
                isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(
                f"{type(self).__name__}: seed must be None or an integer >= 0, got {seed!r}")
        self.W = None
        self._rng = None if seed is None else np.random.default_rng(seed)

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False):
        """Minimize the loss by SGD on minibatches drawn with replacement (as the course's).

        Parameters
        ----------
        X : ndarray of shape (N, D)
        y : ndarray of shape (N,)
            Integer labels in [0, C); C is max(y) + 1 on the first call.
        learning_rate : float
        reg : float >= 0
        num_iters : int
        batch_size : int
        verbose : bool
            Print ``iteration 0 / 1500: loss 2.302585`` every 100 iterations.

        Returns
        -------
        list of float
            The loss of every iteration.
        """
        func = f"{type(self).__name__}.train"
        X = as_float_array(func, "X", X)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"{func}: X must have shape (N, D) with N >= 1, "
                             f"got {shape_str(X.shape)}")
        N, D = X.shape
        y = np.asarray(y)
        C = self.W.shape[1] if self.W is not None else int(np.max(y, initial=0)) + 1
        y = check_labels(func, y, N, C)
        for name, value in (("num_iters", num_iters), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{func}: {name} must be a positive integer, got {value!r}")
        if self.W is None:
            draws = np.random.randn(D, C) if self._rng is None else self._rng.standard_normal(
                (D, C))
            self.W = (0.001 * draws).astype(X.dtype)  # (D, C)

        loss_history = []
        for it in range(num_iters):
            if self._rng is None:
                idx = np.random.choice(N, batch_size)  # (B,)
            else:
                idx = self._rng.choice(N, batch_size)  # (B,)
            loss, dW = self.loss(X[idx], y[idx], reg)
            loss_history.append(loss)
            self.W = self.W - learning_rate * dW
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
        return loss_history

    def predict(self, X):
        """The class with the highest score, ndarray of shape (N,)."""
        if self.W is None:
            raise ValueError(f"{type(self).__name__}.predict: train (or load) the classifier "
                             f"first: it has no weights yet")
        X = as_float_array(f"{type(self).__name__}.predict", "X", X)
        return np.argmax(X @ self.W, axis=1)  # (N,)

    def loss(self, X_batch, y_batch, reg):
        """(loss, dW) on a minibatch; each subclass gives its loss."""
        raise NotImplementedError(
            f"{type(self).__name__}.loss: use LinearSVM or Softmax, or define loss in a subclass")

    def save(self, path):
        """Write W to ``path`` as an .npz file (never a pickle)."""
        save_arrays(path, {"W": self.W})

    def load(self, path):
        """Read W written by :meth:`save`; returns the classifier."""
        where = f"{type(self).__name__}.load: {str(path)!r}"
        arrays = load_arrays(path, where)
        if set(arrays) != {"W"}:
            raise ValueError(f"{where} holds {sorted(arrays)}, not a linear classifier's W")
        self.W = arrays["W"]
        return self


class LinearSVM(LinearClassifier):
    """A linear classifier with the multiclass SVM loss."""

    def loss(self, X_batch, y_batch, reg):
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """A linear classifier with the softmax loss."""

    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)

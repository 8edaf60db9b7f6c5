"""Classification losses: the mean over a batch of scores, and its gradient, in one call.

    loss, dx = softmax_loss(x, y)     # cross-entropy of the softmax of the scores
    loss, dx = svm_loss(x, y)         # multiclass hinge loss, margin 1

Shapes: N examples, C classes. x holds the scores, (N, C); y the correct classes, (N,),
integers in [0, C); dx has x's shape and dtype, and loss is a numpy scalar of x's dtype.
"""

import numpy as np

from ._checks import as_float_array, check_labels, check_ndim, shape_str


def _check_scores(func, x, y):
    """Validate scores (N, C) with N >= 1, and labels (N,) in [0, C)."""
    x = as_float_array(func, "x", x)
    check_ndim(func, "x", x, 2, "(N, C)")
    if x.shape[0] == 0:
        raise ValueError(
            f"{func}: x must hold at least one example (row) to average over, "
            f"got shape {shape_str(x.shape)}")
    return x, check_labels(func, y, *x.shape)


def _one_hot(y, x):
    """(N, C) of x's dtype: 1 at each example's correct class, 0 elsewhere."""
    one_hot = np.zeros_like(x)
    one_hot[np.arange(len(y)), y] = 1
    return one_hot


def softmax_loss(x, y):
    """Softmax cross-entropy: ``loss = mean_i(-log softmax(x_i)[y_i])``.

    With ``p = softmax(x)`` row by row, ``dx = (p - onehot(y)) / N``. Each row is shifted by
    its max before ``exp`` (so no score overflows) and the log of the softmax is taken as
    ``x_iy - max_i - log(sum_j exp(x_ij - max_i))`` (log-sum-exp), so the loss stays finite
    and exact even where a probability underflows to 0.

    Parameters
    ----------
    x : ndarray of shape (N, C)
        Scores.
    y : ndarray of shape (N,)
        Correct classes, integers in [0, C).

    Returns
    -------
    loss : numpy scalar
        Mean loss over the N examples.
    dx : ndarray of shape (N, C)
        Gradient of the loss with respect to x.
    """
    x, y = _check_scores("softmax_loss", x, y)
    N = x.shape[0]
    rows = np.arange(N)
    shifted = x - x.max(axis=1, keepdims=True)  # (N, C), each row's max is 0
    exps = np.exp(shifted)  # (N, C)
    sums = exps.sum(axis=1)  # (N,), in [1, C]
    loss = np.mean(np.log(sums) - shifted[rows, y])
    probs = exps / sums[:, None]  # (N, C)
    dx = (probs - _one_hot(y, x)) / N  # (N, C)
    return loss, dx


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss: ``loss = mean_i sum_{j != y_i} max(0, x_ij - x_iy + 1)``.

    A wrong class costs where its score comes within the margin 1 of the correct class's;
    the correct class's own term (always 1) is excluded. The gradient is ``1 / N`` on each
    wrong class with a positive margin and minus their count ``/ N`` on the correct class
    (0 at a margin of exactly 0, where the hinge has a kink).

    Parameters
    ----------
    x : ndarray of shape (N, C)
        Scores.
    y : ndarray of shape (N,)
        Correct classes, integers in [0, C).

    Returns
    -------
    loss : numpy scalar
        Mean loss over the N examples.
    dx : ndarray of shape (N, C)
        Gradient of the loss with respect to x.
    """
    x, y = _check_scores("svm_loss", x, y)
    N = x.shape[0]
    one_hot = _one_hot(y, x)  # (N, C)
    margins = np.maximum(0, x - x[np.arange(N), y][:, None] + 1) * (1 - one_hot)  # (N, C)
    loss = margins.sum() / N
    slopes = np.heaviside(margins, 0)  # (N, C): 1 on each wrong class within the margin
    dx = (slopes - one_hot * slopes.sum(axis=1, keepdims=True)) / N  # (N, C)
    return loss, dx

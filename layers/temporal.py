"""The layers a captioning or language model puts around its recurrent cell or attention:
the word embedding, the affine layer at every time step, and the softmax loss summed over
time.

    out, cache = word_embedding_forward(x, W)                  # x holds integer word ids
    dW = word_embedding_backward(dout, cache)
    out, cache = temporal_affine_forward(x, w, b)
    dx, dw, db = temporal_affine_backward(dout, cache)
    loss, dx = temporal_softmax_loss(x, y, mask)

Shapes: N sequences, T time steps, D input features, V words in the vocabulary, M outputs.
Output and gradients follow the layer contract: float32 in, float32 out, each gradient in its
input's shape and dtype.
"""

import numpy as np

from ._checks import (
    Cache, as_array, as_float_array, check_cache, check_dout, check_ndim, check_shape, shape_str)
from .affine import affine_backward, affine_forward


def _check_ids(func, name, ids, shape, letters, limit, limit_name):
    """Integer ids of the given shape with values in [0, limit). Returns them as intp."""
    ids = as_array(func, name, ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{func}: {name} must hold integer word ids, got dtype {ids.dtype}")
    check_shape(func, name, ids, shape, letters)
    if ids.size and (ids.min() < 0 or ids.max() >= limit):
        bad = ids[(ids < 0) | (ids >= limit)][0]
        raise ValueError(f"{func}: {name} must lie in [0, {limit_name}) = [0, {limit}), "
                         f"got {bad}")
    return ids.astype(np.intp, copy=False)


def word_embedding_forward(x, W):
    """Word embedding: row ``x[n, t]`` of W for every word, ``out[n, t] = W[x[n, t]]``.

    Parameters
    ----------
    x : ndarray of shape (N, T), integers in [0, V)
        Word ids.
    W : ndarray of shape (V, D)
        One vector per word of the vocabulary.

    Returns
    -------
    out : ndarray of shape (N, T, D)
    cache : Cache
        x and W's shape and dtype.
    """
    func = "word_embedding_forward"
    W = as_float_array(func, "W", W)
    check_ndim(func, "W", W, 2, "(V, D)")
    x = as_array(func, "x", x)
    if x.ndim != 2:
        raise ValueError(f"{func}: x must be 2-d of shape (N, T), got shape {shape_str(x.shape)}")
    x = _check_ids(func, "x", x, x.shape, "(N, T)", W.shape[0], "V")
    return W[x], Cache("word_embedding", x, W.shape, W.dtype)  # (N, T, D)


def word_embedding_backward(dout, cache):
    """Backward of the word embedding: each word's row of dW sums the gradients of every
    place it was used, ``dW[v] = sum over x[n, t] == v of dout[n, t]``.

    Parameters
    ----------
    dout : ndarray of shape (N, T, D)
    cache : Cache
        From :func:`word_embedding_forward`.

    Returns
    -------
    dW : ndarray of shape (V, D)
        The only gradient: x holds integers.
    """
    func = "word_embedding_backward"
    x, W_shape, W_dtype = check_cache(func, cache, "word_embedding", 3)
    dout = check_dout(func, dout, x.shape + W_shape[1:], "(N, T, D)", W_dtype)
    dW = np.zeros(W_shape, W_dtype)
    np.add.at(dW, x, dout)  # unbuffered: a word used twice adds twice
    return dW


def temporal_affine_forward(x, w, b):
    """The affine layer at every time step: ``out[n, t] = x[n, t] @ w + b``.

    Parameters
    ----------
    x : ndarray of shape (N, T, D)
    w : ndarray of shape (D, M)
    b : ndarray of shape (M,)

    Returns
    -------
    out : ndarray of shape (N, T, M)
    cache : Cache
        The cache of :func:`~layers.affine.affine_forward` on the (N * T, D) rows, and x's
        shape.
    """
    func = "temporal_affine_forward"
    x = as_float_array(func, "x", x)
    check_ndim(func, "x", x, 3, "(N, T, D)")
    w = as_float_array(func, "w", w)
    check_ndim(func, "w", w, 2, "(D, M)")
    check_shape(func, "w", w, (x.shape[2], None), "(D, M)", f" for x with D = {x.shape[2]}")
    b = as_float_array(func, "b", b)
    check_shape(func, "b", b, (w.shape[1],), "(M,)", f" for w with M = {w.shape[1]}")
    N, T, D = x.shape
    out, affine_cache = affine_forward(x.reshape(N * T, D), w, b)  # (N*T, M)
    return out.reshape(N, T, w.shape[1]), Cache("temporal_affine", affine_cache, x.shape)


def temporal_affine_backward(dout, cache):
    """Backward of the temporal affine layer: the affine backward on the (N * T) rows.

    Parameters
    ----------
    dout : ndarray of shape (N, T, M)
    cache : Cache
        From :func:`temporal_affine_forward`.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    """
    func = "temporal_affine_backward"
    affine_cache, x_shape = check_cache(func, cache, "temporal_affine", 2)
    N, T, _ = x_shape
    M = affine_cache[1].shape[1]
    dout = check_dout(func, dout, (N, T, M), "(N, T, M)")
    dx, dw, db = affine_backward(dout.reshape(N * T, M), affine_cache)
    return dx.reshape(x_shape), dw, db


def temporal_softmax_loss(x, y, mask=None):
    """Softmax cross-entropy at every time step, summed over time, averaged over N.

    ``loss = -sum_{n, t} mask[n, t] * log softmax(x[n, t])[y[n, t]] / N``: the steps where
    mask is False (padding after a caption's end) add nothing and get no gradient.
    ``dx[n, t] = mask[n, t] * (softmax(x[n, t]) - onehot(y[n, t])) / N``.

    Parameters
    ----------
    x : ndarray of shape (N, T, V)
        Scores over the vocabulary at every step.
    y : ndarray of shape (N, T), integers in [0, V)
        The correct word at every step.
    mask : ndarray of shape (N, T), bool, optional
        Which steps count; every step when None.

    Returns
    -------
    loss : numpy scalar
    dx : ndarray of shape (N, T, V)
    """
    func = "temporal_softmax_loss"
    x = as_float_array(func, "x", x)
    check_ndim(func, "x", x, 3, "(N, T, V)")
    N, T, V = x.shape
    if N == 0:
        raise ValueError(f"{func}: x must hold at least one sequence to average over, "
                         f"got shape {shape_str(x.shape)}")
    y = _check_ids(func, "y", y, (N, T), "(N, T)", V, "V")
    if mask is None:
        mask = np.ones((N, T), bool)
    mask = as_array(func, "mask", mask)
    if mask.dtype != bool:
        raise TypeError(f"{func}: mask must be a boolean array (True where a step counts), "
                        f"got dtype {mask.dtype}")
    check_shape(func, "mask", mask, (N, T), "(N, T)", " (one flag per step of y)")
    rows = np.arange(N * T)
    y_rows = y.reshape(N * T)
    shifted = x.reshape(N * T, V) - x.reshape(N * T, V).max(axis=1, keepdims=True)  # (N*T, V)
    sums = np.exp(shifted).sum(axis=1)  # (N*T,)
    log_probs = shifted[rows, y_rows] - np.log(sums)  # (N*T,), log softmax of the answer
    weights = mask.reshape(N * T).astype(x.dtype)
    loss = -np.sum(weights * log_probs) / N
    dx = np.exp(shifted) / sums[:, None]  # (N*T, V), the softmax
    dx[rows, y_rows] -= 1
    dx *= weights[:, None] / N
    return loss, dx.reshape(N, T, V)

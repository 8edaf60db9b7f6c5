"""Attention: scaled dot-product, multi-head (self and cross), positional encoding, and a
pre-norm transformer block, as forward/backward pairs.

    out, cache = attention_forward(q, k, v, mask=None)          # mask: bool array or 'causal'
    dq, dk, dv = attention_backward(dout, cache)
    out, cache = multihead_attention_forward(x, Wq, Wk, Wv, Wo, num_heads, mask=None)
    dx, dWq, dWk, dWv, dWo = multihead_attention_backward(dout, cache)
    out, cache = multihead_cross_attention_forward(x, context, Wq, Wk, Wv, Wo, num_heads)
    dx, dcontext, dWq, dWk, dWv, dWo = multihead_cross_attention_backward(dout, cache)
    pe = sinusoidal_positional_encoding(T, D)                    # (T, D), added to x
    out, cache = transformer_block_forward(x, ln1_gamma, ln1_beta, Wq, Wk, Wv, Wo,
                                           ln2_gamma, ln2_beta, W1, b1, W2, b2, num_heads)
    dx, *dparams = transformer_block_backward(dout, cache)       # 13 gradients, in order

Shapes: N sequences; T query positions, S key/value positions (S = T for self-attention);
D model features, split into ``num_heads`` heads of D / num_heads; F the width of the
block's MLP. ``attention_forward`` takes any leading batch axes B (for example (N,) or
(N, heads)): q (*B, T, d), k (*B, S, d), v (*B, S, dv), and gives (*B, T, dv):

    A = softmax(q @ k^T / sqrt(d))  over the keys (the last axis),   out = A @ v

The mask says which keys each query may attend to: True attends, False is left out (as
PyTorch's boolean ``attn_mask``). It broadcasts against (*B, T, S); ``'causal'`` is the
lower triangle, each position attending to itself and the ones before it. A query that
may attend to nothing is refused (its softmax would be 0 / 0).

The weights are (D_in, D_out) matrices applied on the right, ``x @ Wq``, as the affine
layer's w (PyTorch's ``nn.MultiheadAttention`` stores the transposes, without biases here).

Output and gradients follow the layer contract: float32 in, float32 out; each gradient in
its input's shape and dtype.
"""

import math
import numbers

import numpy as np

from ._checks import (
    Cache, as_array, as_float_array, check_cache, check_ndim, check_shape, shape_str)
from .activations import relu_backward, relu_forward
from .normalization import layernorm_backward, layernorm_forward
from .temporal import temporal_affine_backward, temporal_affine_forward


def causal_mask(T, S=None):
    """The boolean (T, S) mask of causal attention: query t attends to keys 0..t."""
    return np.tri(T, T if S is None else S, dtype=bool)


def _check_mask(func, mask, T, S):
    """The mask as a boolean array broadcastable to (..., T, S), or None."""
    if mask is None:
        return None
    if isinstance(mask, str):
        if mask != "causal":
            raise ValueError(f"{func}: mask must be None, 'causal' or a boolean array, "
                             f"got {mask!r}")
        return causal_mask(T, S)
    mask = as_array(func, "mask", mask)
    if mask.dtype != bool:
        raise TypeError(f"{func}: mask must be a boolean array (True where a query may "
                        f"attend to a key), got dtype {mask.dtype}")
    if mask.ndim < 2 or mask.shape[-2] not in (1, T) or mask.shape[-1] not in (1, S):
        raise ValueError(f"{func}: mask must broadcast to (..., T, S) = (..., {T}, {S}), "
                         f"got shape {shape_str(mask.shape)}")
    return mask


def _attend(func, q, k, v, mask):
    """Scaled dot-product attention on checked arrays; returns out and the weights A."""
    scale = 1 / math.sqrt(q.shape[-1])  # a Python float: float32 stays float32
    scores = (q @ k.swapaxes(-1, -2)) * scale  # (*B, T, S)
    if mask is not None:
        try:
            blocked = np.broadcast_to(~mask, scores.shape)
        except ValueError:
            raise ValueError(f"{func}: mask of shape {shape_str(mask.shape)} does not broadcast "
                             f"to the scores' shape {shape_str(scores.shape)}") from None
        if np.any(blocked.all(axis=-1)):
            row = np.argwhere(blocked.all(axis=-1))[0]
            raise ValueError(f"{func}: the mask lets query {tuple(int(i) for i in row)} "
                             f"attend to no key; every query needs at least one True")
        scores = np.where(blocked, -np.inf, scores)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores, out=scores)
    weights /= weights.sum(axis=-1, keepdims=True)  # (*B, T, S), rows sum to 1
    return weights @ v, weights  # (*B, T, dv)


def _attend_backward(dout, q, k, v, weights):
    """dq, dk, dv of :func:`_attend` from dout (*B, T, dv)."""
    scale = 1 / math.sqrt(q.shape[-1])
    dv = weights.swapaxes(-1, -2) @ dout  # (*B, S, dv)
    dweights = dout @ v.swapaxes(-1, -2)  # (*B, T, S)
    # softmax backward, each row: dscores = A * (dA - sum(dA * A)); masked keys have A = 0
    dscores = weights * (dweights - np.sum(dweights * weights, axis=-1, keepdims=True))
    dscores *= scale
    return dscores @ k, dscores.swapaxes(-1, -2) @ q, dv  # (*B, T, d), (*B, S, d)


def attention_forward(q, k, v, mask=None):
    """Scaled dot-product attention, ``softmax(q @ k^T / sqrt(d)) @ v`` (module docstring).

    Parameters
    ----------
    q : ndarray of shape (B..., T, d)
        Queries.
    k : ndarray of shape (B..., S, d)
        Keys.
    v : ndarray of shape (B..., S, dv)
        Values.
    mask : None, 'causal', or boolean ndarray broadcastable to (B..., T, S)
        True where a query may attend to a key.

    Returns
    -------
    out : ndarray of shape (B..., T, dv)
    cache : Cache
        q, k, v and the attention weights, (B..., T, S).
    """
    func = "attention_forward"
    q, k, v = (as_float_array(func, name, a) for name, a in (("q", q), ("k", k), ("v", v)))
    if q.ndim < 2:
        raise ValueError(f"{func}: q must have shape (*B, T, d), got shape {shape_str(q.shape)}")
    batch, d = q.shape[:-2], q.shape[-1]
    check_shape(func, "k", k, batch + (None, d), "(*B, S, d)", f" for q of shape "
                f"{shape_str(q.shape)}")
    check_shape(func, "v", v, batch + (k.shape[-2], None), "(*B, S, dv)",
                f" for k of shape {shape_str(k.shape)}")
    if d == 0 or k.shape[-2] == 0:
        raise ValueError(f"{func}: attention needs d >= 1 features and S >= 1 keys, got q of "
                         f"shape {shape_str(q.shape)} and k of shape {shape_str(k.shape)}")
    mask = _check_mask(func, mask, q.shape[-2], k.shape[-2])
    out, weights = _attend(func, q, k, v, mask)
    return out, Cache("attention", q, k, v, weights)


def attention_backward(dout, cache):
    """Backward of scaled dot-product attention.

    ``dv = A^T @ dout``; ``dA = dout @ v^T``; through the softmax of each row,
    ``dscores = A * (dA - sum_s dA * A)``; then ``dq = dscores @ k / sqrt(d)`` and
    ``dk = dscores^T @ q / sqrt(d)``.

    Parameters
    ----------
    dout : ndarray of shape (B..., T, dv)
    cache : Cache
        From :func:`attention_forward`.

    Returns
    -------
    dq : ndarray of shape (B..., T, d)
    dk : ndarray of shape (B..., S, d)
    dv : ndarray of shape (B..., S, dv)
    """
    func = "attention_backward"
    q, k, v, weights = check_cache(func, cache, "attention", 4)
    dout = as_float_array(func, "dout", dout)
    out_shape = q.shape[:-1] + v.shape[-1:]
    check_shape(func, "dout", dout, out_shape, "(*B, T, dv)", " (the shape of out)")
    dq, dk, dv = _attend_backward(dout.astype(weights.dtype, copy=False), q, k, v, weights)
    return dq.astype(q.dtype, copy=False), dk.astype(k.dtype, copy=False), dv.astype(
        v.dtype, copy=False)


# ---- multi-head attention ----------------------------------------------------------------


def _split_heads(a, num_heads):
    """(N, T, D) -> (N, heads, T, D / heads)."""
    N, T, D = a.shape
    return a.reshape(N, T, num_heads, D // num_heads).transpose(0, 2, 1, 3)


def _merge_heads(a):
    """(N, heads, T, Dh) -> (N, T, heads * Dh)."""
    N, heads, T, Dh = a.shape
    return a.transpose(0, 2, 1, 3).reshape(N, T, heads * Dh)


def _check_multihead(func, x, context, Wq, Wk, Wv, Wo, num_heads, mask):
    """Validate the inputs of multi-head attention; return them as float arrays."""
    x, context, Wq, Wk, Wv, Wo = (as_float_array(func, name, a) for name, a in (
        ("x", x), ("context", context), ("Wq", Wq), ("Wk", Wk), ("Wv", Wv), ("Wo", Wo)))
    check_ndim(func, "x", x, 3, "(N, T, D)")
    N, T, D = x.shape
    check_ndim(func, "context", context, 3, "(N, S, Dc)")
    check_shape(func, "context", context, (N, None, None), "(N, S, Dc)", f" for x with N = {N}")
    Dc = context.shape[2]
    check_shape(func, "Wq", Wq, (D, D), "(D, D)", f" for x with D = {D}")
    check_shape(func, "Wk", Wk, (Dc, D), "(Dc, D)", f" for context with Dc = {Dc}, D = {D}")
    check_shape(func, "Wv", Wv, (Dc, D), "(Dc, D)", f" for context with Dc = {Dc}, D = {D}")
    check_shape(func, "Wo", Wo, (D, D), "(D, D)", f" for x with D = {D}")
    if (isinstance(num_heads, bool) or not isinstance(num_heads, numbers.Integral)
            or num_heads < 1 or D % num_heads):
        raise ValueError(f"{func}: num_heads must be a positive integer that divides "
                         f"D = {D}, got {num_heads!r}")
    if D == 0 or context.shape[1] == 0:
        raise ValueError(f"{func}: attention needs D >= 1 features and S >= 1 keys, got x of "
                         f"shape {shape_str(x.shape)} and context of shape "
                         f"{shape_str(context.shape)}")
    mask = _check_mask(func, mask, T, context.shape[1])
    return x, context, Wq, Wk, Wv, Wo, int(num_heads), mask


def _multihead(func, x, context, Wq, Wk, Wv, Wo, num_heads, mask):
    """Queries from x, keys and values from context, ``num_heads`` heads; out and cache."""
    q = _split_heads(x @ Wq, num_heads)  # (N, heads, T, Dh)
    k = _split_heads(context @ Wk, num_heads)  # (N, heads, S, Dh)
    v = _split_heads(context @ Wv, num_heads)  # (N, heads, S, Dh)
    heads_out, weights = _attend(func, q, k, v, mask)  # (N, heads, T, Dh)
    merged = _merge_heads(heads_out)  # (N, T, D)
    out = merged @ Wo  # (N, T, D)
    dtypes = tuple(a.dtype for a in (x, context, Wq, Wk, Wv, Wo))
    return out, (x, context, Wq, Wk, Wv, Wo, q, k, v, weights, merged, dtypes)


def _multihead_backward(func, dout, items):
    """dx, dcontext, dWq, dWk, dWv, dWo of :func:`_multihead`."""
    x, context, Wq, Wk, Wv, Wo, q, k, v, weights, merged, dtypes = items
    dout = as_float_array(func, "dout", dout)
    check_shape(func, "dout", dout, merged.shape, "(N, T, D)", " (the shape of out)")
    dout = dout.astype(merged.dtype, copy=False)
    N, T, D = merged.shape
    S, Dc = context.shape[1:]
    dWo = merged.reshape(N * T, D).T @ dout.reshape(N * T, D)  # (D, D)
    dheads = _split_heads(dout @ Wo.T, q.shape[1])  # (N, heads, T, Dh)
    dq, dk, dv = (_merge_heads(g) for g in _attend_backward(dheads, q, k, v, weights))
    x_rows, context_rows = x.reshape(N * T, D), context.reshape(N * S, Dc)
    dWq = x_rows.T @ dq.reshape(N * T, D)  # (D, D)
    dWk = context_rows.T @ dk.reshape(N * S, D)  # (Dc, D)
    dWv = context_rows.T @ dv.reshape(N * S, D)  # (Dc, D)
    dx = dq @ Wq.T  # (N, T, D)
    dcontext = dk @ Wk.T + dv @ Wv.T  # (N, S, Dc)
    grads = (dx, dcontext, dWq, dWk, dWv, dWo)
    return tuple(g.astype(dtype, copy=False) for g, dtype in zip(grads, dtypes))


def multihead_attention_forward(x, Wq, Wk, Wv, Wo, num_heads, mask=None):
    """Multi-head self-attention: queries, keys and values all from x.

    ``q, k, v = x @ Wq, x @ Wk, x @ Wv``, each split into ``num_heads`` heads of
    D / num_heads features; each head attends (:func:`attention_forward`); the heads are
    concatenated again and mixed, ``out = concat(heads) @ Wo``.

    Parameters
    ----------
    x : ndarray of shape (N, T, D)
    Wq, Wk, Wv, Wo : ndarray of shape (D, D)
    num_heads : int
        Divides D.
    mask : None, 'causal', or boolean ndarray broadcastable to (N, heads, T, T)
        True where a position may attend to another; 'causal' lets each attend to itself
        and the positions before it.

    Returns
    -------
    out : ndarray of shape (N, T, D)
    cache : Cache
    """
    func = "multihead_attention_forward"
    x, _, Wq, Wk, Wv, Wo, num_heads, mask = _check_multihead(
        func, x, x, Wq, Wk, Wv, Wo, num_heads, mask)
    out, items = _multihead(func, x, x, Wq, Wk, Wv, Wo, num_heads, mask)
    return out, Cache("multihead_attention", *items)


def multihead_attention_backward(dout, cache):
    """Backward of multi-head self-attention. x fed the queries, keys and values: its
    gradient is the sum of the three paths.

    Parameters
    ----------
    dout : ndarray of shape (N, T, D)
    cache : Cache
        From :func:`multihead_attention_forward`.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
    dWq, dWk, dWv, dWo : ndarray of shape (D, D)
    """
    func = "multihead_attention_backward"
    items = check_cache(func, cache, "multihead_attention", 12)
    dx, dcontext, *dweights = _multihead_backward(func, dout, items)
    return (dx + dcontext, *dweights)


def multihead_cross_attention_forward(x, context, Wq, Wk, Wv, Wo, num_heads, mask=None):
    """Multi-head cross-attention: queries from x, keys and values from another sequence.

    As :func:`multihead_attention_forward`, with ``k, v = context @ Wk, context @ Wv``.

    Parameters
    ----------
    x : ndarray of shape (N, T, D)
        The sequence that asks (a decoder's).
    context : ndarray of shape (N, S, Dc)
        The sequence attended to (an encoder's output).
    Wq, Wo : ndarray of shape (D, D)
    Wk, Wv : ndarray of shape (Dc, D)
    num_heads : int
        Divides D.
    mask : None, 'causal', or boolean ndarray broadcastable to (N, heads, T, S)

    Returns
    -------
    out : ndarray of shape (N, T, D)
    cache : Cache
    """
    func = "multihead_cross_attention_forward"
    checked = _check_multihead(func, x, context, Wq, Wk, Wv, Wo, num_heads, mask)
    out, items = _multihead(func, *checked)
    return out, Cache("multihead_cross_attention", *items)


def multihead_cross_attention_backward(dout, cache):
    """Backward of multi-head cross-attention.

    Parameters
    ----------
    dout : ndarray of shape (N, T, D)
    cache : Cache
        From :func:`multihead_cross_attention_forward`.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
    dcontext : ndarray of shape (N, S, Dc)
    dWq : ndarray of shape (D, D)
    dWk, dWv : ndarray of shape (Dc, D)
    dWo : ndarray of shape (D, D)
    """
    func = "multihead_cross_attention_backward"
    items = check_cache(func, cache, "multihead_cross_attention", 12)
    return _multihead_backward(func, dout, items)


def sinusoidal_positional_encoding(T, D, dtype=np.float64):
    """The sinusoidal position codes of "Attention is all you need", (T, D):

        pe[t, 2j] = sin(t / 10000**(2j / D)),   pe[t, 2j + 1] = cos(t / 10000**(2j / D))

    Added to a sequence's features (x + pe), it tells attention, which by itself ignores
    order, where each position is. It has no parameters, so no backward: the gradient of
    ``x + pe`` with respect to x is dout.

    Parameters
    ----------
    T : int
        Number of positions.
    D : int
        Number of features.
    dtype : numpy dtype, default float64

    Returns
    -------
    pe : ndarray of shape (T, D)
    """
    func = "sinusoidal_positional_encoding"
    for name, value in (("T", T), ("D", D)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{func}: {name} must be a positive integer, got {value!r}")
    positions = np.arange(T)[:, None]  # (T, 1)
    rates = 10000.0 ** (-np.arange(0, D, 2) / D)  # (ceil(D / 2),)
    angles = positions * rates  # (T, ceil(D / 2))
    pe = np.empty((T, D))
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles[:, :D // 2])
    return pe.astype(dtype, copy=False)


# ---- the transformer block ---------------------------------------------------------------


def _layernorm_3d(x, gamma, beta):
    """Layernorm over the features of every position of x (N, T, D)."""
    out, cache = layernorm_forward(x.reshape(-1, x.shape[2]), gamma, beta, {})
    return out.reshape(x.shape), cache


def _layernorm_3d_backward(dout, cache):
    dx, dgamma, dbeta = layernorm_backward(dout.reshape(-1, dout.shape[2]), cache)
    return dx.reshape(dout.shape), dgamma, dbeta


def transformer_block_forward(x, ln1_gamma, ln1_beta, Wq, Wk, Wv, Wo, ln2_gamma, ln2_beta,
                              W1, b1, W2, b2, num_heads, mask=None):
    """A pre-norm transformer block: two residual branches, each normalizing its input.

        h = x + multihead_attention(layernorm(x))                   # positions talk
        out = h + relu(layernorm(h) @ W1 + b1) @ W2 + b2            # each position thinks

    Parameters
    ----------
    x : ndarray of shape (N, T, D)
    ln1_gamma, ln1_beta : ndarray of shape (D,)
        The first layernorm's scale and shift.
    Wq, Wk, Wv, Wo : ndarray of shape (D, D)
        Self-attention's weights.
    ln2_gamma, ln2_beta : ndarray of shape (D,)
    W1 : ndarray of shape (D, F)
    b1 : ndarray of shape (F,)
    W2 : ndarray of shape (F, D)
    b2 : ndarray of shape (D,)
        The MLP's weights.
    num_heads : int
        Divides D.
    mask : None, 'causal' or boolean ndarray, optional
        Self-attention's mask; 'causal' for a language model.

    Returns
    -------
    out : ndarray of shape (N, T, D)
    cache : Cache
        The caches of the layers inside.
    """
    func = "transformer_block_forward"
    x = as_float_array(func, "x", x)
    check_ndim(func, "x", x, 3, "(N, T, D)")
    D = x.shape[2]
    W2 = as_float_array(func, "W2", W2)
    check_ndim(func, "W2", W2, 2, "(F, D)")
    check_shape(func, "W2", W2, (None, D), "(F, D)", f" for x with D = {D}")
    try:
        normed1, ln1_cache = _layernorm_3d(x, ln1_gamma, ln1_beta)  # (N, T, D)
        attended, attention_cache = multihead_attention_forward(
            normed1, Wq, Wk, Wv, Wo, num_heads, mask)  # (N, T, D)
        h = x + attended  # (N, T, D)
        normed2, ln2_cache = _layernorm_3d(h, ln2_gamma, ln2_beta)
        hidden, fc1_cache = temporal_affine_forward(normed2, W1, b1)  # (N, T, F)
        activated, relu_cache = relu_forward(hidden)
        mlp, fc2_cache = temporal_affine_forward(activated, W2, b2)  # (N, T, D)
    except (TypeError, ValueError) as error:
        if type(error) not in (TypeError, ValueError):
            raise
        raise type(error)(f"{func}: {error}") from error
    out = h + mlp
    return out, Cache("transformer_block", ln1_cache, attention_cache, ln2_cache, fc1_cache,
                      relu_cache, fc2_cache, x.dtype)


def transformer_block_backward(dout, cache):
    """Backward of the pre-norm transformer block: each residual passes dout straight
    through and adds its branch's gradient.

    Parameters
    ----------
    dout : ndarray of shape (N, T, D)
    cache : Cache
        From :func:`transformer_block_forward`.

    Returns
    -------
    dx, dln1_gamma, dln1_beta, dWq, dWk, dWv, dWo, dln2_gamma, dln2_beta, dW1, db1, dW2, db2
        Each in its input's shape and dtype.
    """
    func = "transformer_block_backward"
    (ln1_cache, attention_cache, ln2_cache, fc1_cache, relu_cache, fc2_cache,
     x_dtype) = check_cache(func, cache, "transformer_block", 7)
    dout = as_float_array(func, "dout", dout)
    out_shape = attention_cache[0].shape
    check_shape(func, "dout", dout, out_shape, "(N, T, D)", " (the shape of out)")
    dout = dout.astype(x_dtype, copy=False)
    dactivated, dW2, db2 = temporal_affine_backward(dout, fc2_cache)  # out = h + mlp
    dhidden = relu_backward(dactivated, relu_cache)
    dnormed2, dW1, db1 = temporal_affine_backward(dhidden, fc1_cache)
    dh_branch, dln2_gamma, dln2_beta = _layernorm_3d_backward(dnormed2, ln2_cache)
    dh = dout + dh_branch  # h = x + attended
    dnormed1, dWq, dWk, dWv, dWo = multihead_attention_backward(dh, attention_cache)
    dx_branch, dln1_gamma, dln1_beta = _layernorm_3d_backward(dnormed1, ln1_cache)
    dx = (dh + dx_branch).astype(x_dtype, copy=False)
    return (dx, dln1_gamma, dln1_beta, dWq, dWk, dWv, dWo, dln2_gamma, dln2_beta,
            dW1, db1, dW2, db2)

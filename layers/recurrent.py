"""Recurrent layers: the vanilla RNN and the LSTM, one step or a whole sequence.

    next_h, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)
    dx, dprev_h, dWx, dWh, db = rnn_step_backward(dnext_h, cache)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dx, dprev_h, dprev_c, dWx, dWh, db = lstm_step_backward(dnext_h, dnext_c, cache)
    h, cache = lstm_forward(x, h0, Wx, Wh, b)                  # the cell starts at zero
    dx, dh0, dWx, dWh, db = lstm_backward(dh, cache)
    h, cache = lstm_forward(x, h0, Wx, Wh, b, c0)              # or at c0 (truncated BPTT)
    dx, dh0, dWx, dWh, db, dc0 = lstm_backward(dh, cache)
    c_T = lstm_final_cell(cache)

The layers around the cell (the word embedding, the temporal affine layer and the temporal
softmax loss) live in :mod:`layers.temporal`; they are importable from here too, as the
course's ``rnn_layers`` has them side by side.

Shapes: N sequences, T time steps, D input features, H hidden units. A step takes x (N, D)
and h (N, H); a sequence x (N, T, D) and gives h (N, T, H). The RNN's Wx is (D, H), Wh
(H, H), b (H,); the LSTM's are (D, 4H), (H, 4H), (4H,), its four gates side by side in the
course's order **i, f, o, g** (input, forget, output, candidate). PyTorch's ``nn.LSTM``
orders them i, f, g, o: to move weights between the two, swap the last two blocks of H
columns (and torch stores the transposes).

    RNN:   h_t = tanh(x_t Wx + h_{t-1} Wh + b)
    LSTM:  a = x_t Wx + h_{t-1} Wh + b = [a_i, a_f, a_o, a_g]
           i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);  g = tanh(a_g)
           c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

The sequence forms compute the input term ``x Wx + b`` of every step in one matrix product
before the loop (it does not depend on h), and their backward gathers the weight gradients
of all steps in one product after it: the same sums as step by step, in fewer, larger calls.

Output and gradients follow the layer contract: the dtype numpy promotion gives the inputs
(float32 in, float32 out), each gradient in its input's shape and dtype.
"""

import numpy as np

from ._checks import (
    Cache, as_float_array, check_cache, check_ndim, check_shape, in_dtypes, shape_str)
from .temporal import (  # noqa: F401  (re-exported: from layers.recurrent import ... works)
    temporal_affine_backward, temporal_affine_forward, temporal_softmax_loss,
    word_embedding_backward, word_embedding_forward)

GATES = {"rnn": 1, "lstm": 4}  # blocks of H columns in Wx, Wh and b


def _check_cell_args(func, cell, x, h, Wx, Wh, b, sequence, h_name):
    """Validate the inputs of a recurrent layer; return them as float arrays.

    ``sequence`` says whether x is (N, T, D) or one step's (N, D).
    """
    x, h, Wx, Wh, b = (as_float_array(func, name, v) for name, v in (
        ("x", x), (h_name, h), ("Wx", Wx), ("Wh", Wh), ("b", b)))
    if sequence:
        check_ndim(func, "x", x, 3, "(N, T, D)")
        if x.shape[1] == 0:
            raise ValueError(f"{func}: x must hold at least one time step, got shape "
                             f"{shape_str(x.shape)}")
    else:
        check_ndim(func, "x", x, 2, "(N, D)")
    N, D = x.shape[0], x.shape[-1]
    check_ndim(func, h_name, h, 2, "(N, H)")
    check_shape(func, h_name, h, (N, None), "(N, H)", f" for x with N = {N}")
    H, G = h.shape[1], GATES[cell]
    gh = "H" if G == 1 else "4H"
    why = f" for x with D = {D} and {h_name} with H = {H}"
    check_shape(func, "Wx", Wx, (D, G * H), f"(D, {gh})", why)
    check_shape(func, "Wh", Wh, (H, G * H), f"(H, {gh})", why)
    check_shape(func, "b", b, (G * H,), f"({gh},)", why)
    return x, h, Wx, Wh, b


def _check_cell_state(func, name, c, h, h_name):
    """The LSTM's cell state beside its hidden state h: a float array of h's shape."""
    c = as_float_array(func, name, c)
    check_shape(func, name, c, h.shape, "(N, H)", f" (the shape of {h_name})")
    return c


def _upstream(func, name, grad, shape, letters, dtype):
    """An upstream gradient of the given shape, in the layer's dtype."""
    grad = as_float_array(func, name, grad)
    check_shape(func, name, grad, shape, letters, " (the shape of the output)")
    return grad.astype(dtype, copy=False)


def _dtypes(*arrays):
    return tuple(array.dtype for array in arrays)


# ---- vanilla RNN -----------------------------------------------------------------------


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One step of a vanilla RNN: ``next_h = tanh(x @ Wx + prev_h @ Wh + b)``.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        This step's inputs.
    prev_h : ndarray of shape (N, H)
        The previous hidden state.
    Wx : ndarray of shape (D, H)
    Wh : ndarray of shape (H, H)
    b : ndarray of shape (H,)

    Returns
    -------
    next_h : ndarray of shape (N, H)
    cache : Cache
        x, prev_h, Wx, Wh, next_h and the dtypes of the inputs.
    """
    x, prev_h, Wx, Wh, b = _check_cell_args(
        "rnn_step_forward", "rnn", x, prev_h, Wx, Wh, b, False, "prev_h")
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)  # (N, H)
    return next_h, Cache("rnn_step", x, prev_h, Wx, Wh, next_h, _dtypes(x, prev_h, Wx, Wh, b))


def rnn_step_backward(dnext_h, cache):
    """Backward of one RNN step. With ``da = dnext_h * (1 - next_h**2)`` (tanh's slope):
    ``dx = da @ Wx.T``, ``dprev_h = da @ Wh.T``, ``dWx = x.T @ da``, ``dWh = prev_h.T @ da``,
    ``db = sum_N da``.

    Parameters
    ----------
    dnext_h : ndarray of shape (N, H)
    cache : Cache
        From :func:`rnn_step_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D)
    dprev_h : ndarray of shape (N, H)
    dWx : ndarray of shape (D, H)
    dWh : ndarray of shape (H, H)
    db : ndarray of shape (H,)
    """
    func = "rnn_step_backward"
    x, prev_h, Wx, Wh, next_h, dtypes = check_cache(func, cache, "rnn_step", 6)
    dnext_h = _upstream(func, "dnext_h", dnext_h, next_h.shape, "(N, H)", next_h.dtype)
    da = dnext_h * (1 - next_h * next_h)  # (N, H), through tanh
    grads = (da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0))
    return in_dtypes(grads, dtypes)


def rnn_forward(x, h0, Wx, Wh, b):
    """A vanilla RNN over a whole sequence: ``h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)``.

    Parameters
    ----------
    x : ndarray of shape (N, T, D)
        The input sequences.
    h0 : ndarray of shape (N, H)
        The initial hidden state.
    Wx : ndarray of shape (D, H)
    Wh : ndarray of shape (H, H)
    b : ndarray of shape (H,)

    Returns
    -------
    h : ndarray of shape (N, T, H)
        The hidden state of every step.
    cache : Cache
        x, h0, Wx, Wh, the hidden states (time-major) and the dtypes of the inputs.
    """
    x, h0, Wx, Wh, b = _check_cell_args("rnn_forward", "rnn", x, h0, Wx, Wh, b, True, "h0")
    N, T, D = x.shape
    dtype = np.result_type(x, h0, Wx, Wh, b)
    x_in = (x.reshape(N * T, D) @ Wx + b).reshape(N, T, Wx.shape[1])  # (N, T, H): every x Wx + b
    hs = np.empty((T, N, h0.shape[1]), dtype)  # (T, N, H), time-major: one block per step
    prev_h = h0
    for t in range(T):
        prev_h = hs[t] = np.tanh(x_in[:, t] + prev_h @ Wh)
    h = np.ascontiguousarray(hs.transpose(1, 0, 2))  # (N, T, H)
    return h, Cache("rnn", x, h0, Wx, Wh, hs, _dtypes(x, h0, Wx, Wh, b))


def _previous_states(h0, hs):
    """The state each step started from, h_{t-1}: h0, then hs without its last step, as
    (T * N, H) rows in time-major order."""
    return np.concatenate([h0[None].astype(hs.dtype, copy=False), hs[:-1]]).reshape(
        -1, hs.shape[2])


def _input_and_weight_grads(da, x, h0, hs, Wx):
    """dx, dWx, dWh and db from the pre-activation gradients of every step, da (T, N, G*H):
    the per-step products of the step backward, summed over time in one product each."""
    T, N, GH = da.shape
    D = x.shape[2]
    da_rows = da.reshape(T * N, GH)  # (T*N, G*H)
    x_rows = x.transpose(1, 0, 2).reshape(T * N, D)  # (T*N, D), time-major like da
    dx = (da_rows @ Wx.T).reshape(T, N, D).transpose(1, 0, 2)  # (N, T, D)
    dWx = x_rows.T @ da_rows  # (D, G*H)
    dWh = _previous_states(h0, hs).T @ da_rows  # (H, G*H)
    return np.ascontiguousarray(dx), dWx, dWh, da_rows.sum(axis=0)


def rnn_backward(dh, cache):
    """Backward of the RNN over a sequence: backpropagation through time.

    Step t receives ``dh[:, t]`` from above plus the gradient its output sent into step
    t + 1; walking from the last step to the first, each step's ``da`` is that sum times
    tanh's slope, and ``da @ Wh.T`` goes on to step t - 1 (ending as dh0).

    Parameters
    ----------
    dh : ndarray of shape (N, T, H)
        Upstream gradient of every hidden state.
    cache : Cache
        From :func:`rnn_forward`.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
    dh0 : ndarray of shape (N, H)
    dWx : ndarray of shape (D, H)
    dWh : ndarray of shape (H, H)
    db : ndarray of shape (H,)
    """
    func = "rnn_backward"
    x, h0, Wx, Wh, hs, dtypes = check_cache(func, cache, "rnn", 6)
    T, N, H = hs.shape
    dh = _upstream(func, "dh", dh, (N, T, H), "(N, T, H)", hs.dtype)
    da = np.empty_like(hs)  # (T, N, H)
    dprev_h = np.zeros((N, H), hs.dtype)
    for t in reversed(range(T)):
        da[t] = (dh[:, t] + dprev_h) * (1 - hs[t] * hs[t])  # through tanh
        dprev_h = da[t] @ Wh.T  # (N, H), to step t - 1
    dx, dWx, dWh, db = _input_and_weight_grads(da, x, h0, hs, Wx)
    return in_dtypes((dx, dprev_h, dWx, dWh, db), dtypes)


# ---- LSTM ------------------------------------------------------------------------------


def _lstm_gates(a):
    """The gates from the pre-activations a (N, 4H), in the course's order i, f, o, g:
    sigmoid on the first three blocks, tanh on the last. Overwrites a (the caller's own
    temporary) and returns it.

    The sigmoid is taken as ``0.5 * tanh(a / 2) + 0.5``, the same function: numpy's
    vectorized tanh makes it about 5x faster than ``scipy.special.expit`` here (measured on
    (64, 768) float32), and it neither overflows nor warns for large |a|.
    """
    H = a.shape[1] // 4
    sigmoid_part = a[:, :3 * H]  # i, f, o
    sigmoid_part *= 0.5
    np.tanh(sigmoid_part, out=sigmoid_part)
    sigmoid_part *= 0.5
    sigmoid_part += 0.5
    np.tanh(a[:, 3 * H:], out=a[:, 3 * H:])  # g
    return a


def _blocks(a):
    """The four blocks of H columns of a (N, 4H), as views: i, f, o, g (slicing; np.split
    costs more than the arithmetic at these sizes)."""
    H = a.shape[1] // 4
    return a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]


def _lstm_cell(gates, prev_c):
    """next_c, tanh(next_c) and next_h of the cell, from its gates (N, 4H)."""
    i, f, o, g = _blocks(gates)
    next_c = f * prev_c + i * g  # (N, H)
    tanh_c = np.tanh(next_c)
    return next_c, tanh_c, o * tanh_c


def _lstm_cell_backward(dnext_h, dnext_c, gates, prev_c, tanh_c):
    """The gradients of the gate pre-activations, da (N, 4H), and of prev_c, from those of
    next_h and next_c. The cell path: ``dprev_c = dc * f``, no squashing on the way."""
    i, f, o, g = _blocks(gates)
    dc = dnext_c + dnext_h * o * (1 - tanh_c * tanh_c)  # (N, H): both ways next_c is used
    da = np.empty_like(gates)  # (N, 4H)
    da_i, da_f, da_o, da_g = _blocks(da)  # views: each line fills one gate
    da_i[...] = dc * g * i * (1 - i)                  # input gate,  through sigmoid
    da_f[...] = dc * prev_c * f * (1 - f)             # forget gate, through sigmoid
    da_o[...] = dnext_h * tanh_c * o * (1 - o)        # output gate, through sigmoid
    da_g[...] = dc * i * (1 - g * g)                  # candidate,   through tanh
    return da, dc * f


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One step of an LSTM, gates in the course's order i, f, o, g (module docstring).

    Parameters
    ----------
    x : ndarray of shape (N, D)
    prev_h : ndarray of shape (N, H)
    prev_c : ndarray of shape (N, H)
        The previous cell state.
    Wx : ndarray of shape (D, 4H)
    Wh : ndarray of shape (H, 4H)
    b : ndarray of shape (4H,)

    Returns
    -------
    next_h : ndarray of shape (N, H)
    next_c : ndarray of shape (N, H)
    cache : Cache
        x, prev_h, prev_c, Wx, Wh, the gates, tanh(next_c) and the dtypes of the inputs.
    """
    func = "lstm_step_forward"
    x, prev_h, Wx, Wh, b = _check_cell_args(func, "lstm", x, prev_h, Wx, Wh, b, False, "prev_h")
    prev_c = _check_cell_state(func, "prev_c", prev_c, prev_h, "prev_h")
    gates = _lstm_gates(x @ Wx + prev_h @ Wh + b)  # (N, 4H)
    next_c, tanh_c, next_h = _lstm_cell(gates, prev_c)
    return next_h, next_c, Cache("lstm_step", x, prev_h, prev_c, Wx, Wh, gates, tanh_c,
                                 _dtypes(x, prev_h, prev_c, Wx, Wh, b))


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward of one LSTM step.

    Parameters
    ----------
    dnext_h : ndarray of shape (N, H)
    dnext_c : ndarray of shape (N, H)
    cache : Cache
        From :func:`lstm_step_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D)
    dprev_h : ndarray of shape (N, H)
    dprev_c : ndarray of shape (N, H)
    dWx : ndarray of shape (D, 4H)
    dWh : ndarray of shape (H, 4H)
    db : ndarray of shape (4H,)
    """
    func = "lstm_step_backward"
    x, prev_h, prev_c, Wx, Wh, gates, tanh_c, dtypes = check_cache(func, cache, "lstm_step", 8)
    dnext_h = _upstream(func, "dnext_h", dnext_h, tanh_c.shape, "(N, H)", tanh_c.dtype)
    dnext_c = _upstream(func, "dnext_c", dnext_c, tanh_c.shape, "(N, H)", tanh_c.dtype)
    da, dprev_c = _lstm_cell_backward(dnext_h, dnext_c, gates, prev_c, tanh_c)  # (N, 4H)
    grads = (da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0))
    return in_dtypes(grads, dtypes)


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    """An LSTM over a whole sequence, from hidden state h0 and cell state c0 (zeros, as the
    course's, when not given).

    Parameters
    ----------
    x : ndarray of shape (N, T, D)
    h0 : ndarray of shape (N, H)
    Wx : ndarray of shape (D, 4H)
    Wh : ndarray of shape (H, 4H)
    b : ndarray of shape (4H,)
    c0 : ndarray of shape (N, H), optional
        The initial cell state: pass the last window's (:func:`lstm_final_cell`) to carry
        memory across windows in truncated backpropagation through time. When given,
        :func:`lstm_backward` returns its gradient too, last.

    Returns
    -------
    h : ndarray of shape (N, T, H)
    cache : Cache
        x, h0, Wx, Wh, and per step (time-major) the gates, cell states, tanh of the cell
        states and hidden states; c0; the dtypes of the inputs.
    """
    func = "lstm_forward"
    x, h0, Wx, Wh, b = _check_cell_args(func, "lstm", x, h0, Wx, Wh, b, True, "h0")
    N, T, D = x.shape
    H = h0.shape[1]
    dtypes = _dtypes(x, h0, Wx, Wh, b)
    if c0 is not None:
        c0 = _check_cell_state(func, "c0", c0, h0, "h0")
        dtypes += (c0.dtype,)
    dtype = np.result_type(x, h0, Wx, Wh, b, *([] if c0 is None else [c0]))
    x_in = (x.reshape(N * T, D) @ Wx + b).reshape(N, T, 4 * H)  # every step's x Wx + b
    gates = np.empty((T, N, 4 * H), dtype)  # time-major: one block per step
    cs, tanh_cs, hs = (np.empty((T, N, H), dtype) for _ in range(3))
    prev_h = h0
    prev_c = np.zeros((N, H), dtype) if c0 is None else c0.astype(dtype, copy=False)
    for t in range(T):
        np.matmul(prev_h, Wh, out=gates[t])  # (N, 4H), then in place: + x Wx + b, squash
        gates[t] += x_in[:, t]
        _lstm_gates(gates[t])
        cs[t], tanh_cs[t], hs[t] = _lstm_cell(gates[t], prev_c)
        prev_c, prev_h = cs[t], hs[t]
    h = np.ascontiguousarray(hs.transpose(1, 0, 2))  # (N, T, H)
    c_start = np.zeros((N, H), dtype) if c0 is None else c0.astype(dtype, copy=False)
    return h, Cache("lstm", x, h0, Wx, Wh, gates, cs, tanh_cs, hs, c_start, dtypes)


def lstm_final_cell(cache):
    """The cell state after the last step, c_T (N, H), from :func:`lstm_forward`'s cache:
    with ``h[:, -1]`` the state to start the next window from."""
    return check_cache("lstm_final_cell", cache, "lstm", 10)[5][-1].copy()


def lstm_backward(dh, cache):
    """Backward of the LSTM over a sequence: backpropagation through time.

    Each step, from the last to the first, receives ``dh[:, t]`` plus the gradient sent back
    by step t + 1 into its h, and the gradient of its cell state from step t + 1 (zero at
    the end); :func:`lstm_step_backward`'s formulas give its ``da``, and ``da @ Wh.T`` and
    ``dc * f`` go on to step t - 1.

    Parameters
    ----------
    dh : ndarray of shape (N, T, H)
    cache : Cache
        From :func:`lstm_forward`.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
    dh0 : ndarray of shape (N, H)
    dWx : ndarray of shape (D, 4H)
    dWh : ndarray of shape (H, 4H)
    db : ndarray of shape (4H,)
    dc0 : ndarray of shape (N, H), only if c0 was passed to the forward
    """
    func = "lstm_backward"
    x, h0, Wx, Wh, gates, cs, tanh_cs, hs, c0, dtypes = check_cache(func, cache, "lstm", 10)
    T, N, H = hs.shape
    dh = _upstream(func, "dh", dh, (N, T, H), "(N, T, H)", hs.dtype)
    da = np.empty_like(gates)  # (T, N, 4H)
    dprev_h = np.zeros((N, H), hs.dtype)
    dprev_c = np.zeros((N, H), hs.dtype)
    for t in reversed(range(T)):
        prev_c = cs[t - 1] if t else c0
        da[t], dprev_c = _lstm_cell_backward(dh[:, t] + dprev_h, dprev_c, gates[t], prev_c,
                                             tanh_cs[t])
        dprev_h = da[t] @ Wh.T  # (N, H), to step t - 1
    dx, dWx, dWh, db = _input_and_weight_grads(da, x, h0, hs, Wx)
    return in_dtypes((dx, dprev_h, dWx, dWh, db, dprev_c)[:len(dtypes)], dtypes)



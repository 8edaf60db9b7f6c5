"""Recurrent layers: the course's reference values, numerical gradients on several shapes,
the layer contract (dtype kept, nothing modified), bad input refused by name, and agreement
with torch's nn.RNN and nn.LSTM (skipped without torch)."""

import numpy as np
import pytest

from gradcheck import check_layer, check_loss, rel_error
from layers import (
    lstm_backward, lstm_final_cell, lstm_forward, lstm_step_backward, lstm_step_forward,
    rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward, temporal_affine_backward,
    temporal_affine_forward, temporal_softmax_loss, word_embedding_backward,
    word_embedding_forward)
from tests.layers.test_contract import assert_unchanged, snapshot


def lin(start, stop, *shape):
    """The course's fixed inputs: ``np.linspace(start, stop, size).reshape(shape)``."""
    return np.linspace(start, stop, num=int(np.prod(shape))).reshape(shape)


# ---- the course's reference values (CS231n assignment 3, 2019) ----------------------------


def test_rnn_step_forward_matches_the_course():
    N, D, H = 3, 10, 4
    next_h, _ = rnn_step_forward(lin(-0.4, 0.7, N, D), lin(-0.2, 0.5, N, H),
                                 lin(-0.1, 0.9, D, H), lin(-0.3, 0.7, H, H), lin(-0.2, 0.4, H))
    expected = np.asarray([
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    assert rel_error(expected, next_h) < 1e-8


def test_rnn_forward_matches_the_course():
    N, T, D, H = 2, 3, 4, 5
    h, _ = rnn_forward(lin(-0.1, 0.3, N, T, D), lin(-0.3, 0.1, N, H), lin(-0.2, 0.4, D, H),
                       lin(-0.4, 0.1, H, H), lin(-0.7, 0.1, H))
    expected = np.asarray([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])
    assert rel_error(expected, h) < 1e-7


def test_word_embedding_forward_matches_the_course():
    x = np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]])
    out, _ = word_embedding_forward(x, lin(0, 1, 5, 3))
    rows = np.asarray([[0., 0.07142857, 0.14285714], [0.21428571, 0.28571429, 0.35714286],
                       [0.42857143, 0.5, 0.57142857], [0.64285714, 0.71428571, 0.78571429]])
    assert rel_error(rows[x], out) < 1e-7


def test_lstm_step_forward_matches_the_course():
    N, D, H = 3, 4, 5
    next_h, next_c, _ = lstm_step_forward(
        lin(-0.4, 1.2, N, D), lin(-0.3, 0.7, N, H), lin(-0.4, 0.9, N, H),
        lin(-2.1, 1.3, D, 4 * H), lin(-0.7, 2.2, H, 4 * H), lin(0.3, 0.7, 4 * H))
    expected_h = np.asarray([
        [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
        [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
        [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    expected_c = np.asarray([
        [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
        [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
        [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
    assert rel_error(expected_h, next_h) < 1e-7
    assert rel_error(expected_c, next_c) < 1e-7


def test_lstm_forward_matches_the_course():
    N, D, H, T = 2, 5, 4, 3
    h, _ = lstm_forward(lin(-0.4, 0.6, N, T, D), lin(-0.4, 0.8, N, H), lin(-0.2, 0.9, D, 4 * H),
                        lin(-0.3, 0.6, H, 4 * H), lin(0.2, 0.7, 4 * H))
    expected = np.asarray([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])
    assert rel_error(expected, h) < 1e-7


@pytest.mark.parametrize("N, T, V, keep, about", [
    (100, 1, 10, 1.0, 2.3), (100, 10, 10, 1.0, 23), (5000, 10, 10, 0.1, 2.3)])
def test_temporal_softmax_loss_of_small_scores_is_log_V_per_counted_step(
        rng, N, T, V, keep, about):
    """The course's sanity check: near-uniform scores cost log V per step that counts."""
    x = 0.001 * rng.standard_normal((N, T, V))
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) <= keep
    loss, _ = temporal_softmax_loss(x, y, mask)
    assert loss == pytest.approx(np.log(V) * mask.sum() / N, rel=1e-3)
    assert loss == pytest.approx(about, rel=0.03)


# ---- numerical gradients, several shapes ---------------------------------------------------

SHAPES = [(1, 1, 1, 1), (2, 3, 4, 5), (4, 7, 3, 2)]  # N, T, D, H


def _inputs(rng, N, T, D, H, gates, sequence):
    x = rng.standard_normal((N, T, D) if sequence else (N, D))
    return (x, rng.standard_normal((N, H)), rng.standard_normal((D, gates * H)) * 0.6,
            rng.standard_normal((H, gates * H)) * 0.6, rng.standard_normal(gates * H))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("pair, gates, sequence", [
    ((rnn_step_forward, rnn_step_backward), 1, False),
    ((rnn_forward, rnn_backward), 1, True),
    ((lstm_forward, lstm_backward), 4, True)], ids=["rnn_step", "rnn", "lstm"])
def test_recurrent_gradients_are_numerically_right(rng, shape, pair, gates, sequence):
    report = check_layer(*pair, *_inputs(rng, *shape, gates, sequence), seed=1)
    assert report.ok, report


@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_step_gradients_are_numerically_right(rng, shape):
    x, h, Wx, Wh, b = _inputs(rng, *shape, 4, False)
    c = rng.standard_normal(h.shape)

    def forward(x, prev_h, prev_c, Wx, Wh, b):
        next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
        return np.stack([next_h, next_c]), cache

    report = check_layer(forward, lambda dout, cache: lstm_step_backward(dout[0], dout[1], cache),
                         x, h, c, Wx, Wh, b, seed=2)
    assert report.ok, report


@pytest.mark.parametrize("N, T, V, D", [(1, 1, 1, 1), (3, 4, 6, 5), (50, 3, 5, 6)])
def test_word_embedding_gradient_sums_repeated_words(rng, N, T, V, D):
    x = rng.integers(V, size=(N, T))
    assert check_layer(word_embedding_forward, word_embedding_backward, x,
                       rng.standard_normal((V, D))).ok


@pytest.mark.parametrize("N, T, D, M", [(1, 1, 1, 1), (2, 3, 4, 5), (5, 2, 3, 7)])
def test_temporal_affine_gradients(rng, N, T, D, M):
    assert check_layer(temporal_affine_forward, temporal_affine_backward,
                       rng.standard_normal((N, T, D)), rng.standard_normal((D, M)),
                       rng.standard_normal(M)).ok


@pytest.mark.parametrize("N, T, V", [(1, 1, 2), (7, 8, 9), (3, 2, 5)])
def test_temporal_softmax_loss_gradient(rng, N, T, V):
    x, y = rng.standard_normal((N, T, V)), rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) > 0.5
    assert check_loss(temporal_softmax_loss, x, y, mask).ok
    assert check_loss(temporal_softmax_loss, x, y).ok


def test_masked_steps_count_nothing(rng):
    x, y = rng.standard_normal((3, 4, 5)), rng.integers(5, size=(3, 4))
    mask = np.ones((3, 4), bool)
    mask[:, 2:] = False
    loss, dx = temporal_softmax_loss(x, y, mask)
    short_loss, short_dx = temporal_softmax_loss(x[:, :2], y[:, :2])
    assert loss == pytest.approx(short_loss, rel=1e-14)
    np.testing.assert_array_equal(dx[:, 2:], 0)
    np.testing.assert_allclose(dx[:, :2], short_dx, rtol=1e-14)


def test_lstm_forward_is_its_steps(rng):
    """The sequence form (input term hoisted, time-major buffers) is the step form in a loop."""
    x, h0, Wx, Wh, b = _inputs(rng, 3, 5, 4, 6, 4, True)
    h, cache = lstm_forward(x, h0, Wx, Wh, b)
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(5):
        prev_h, prev_c, _ = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], prev_h, rtol=1e-13, atol=1e-15)


# ---- the contract ---------------------------------------------------------------------------

def _pairs(rng, dtype):
    """(forward, backward, array inputs, extra forward args, number of upstream gradients)."""
    cast = lambda *arrays: [a.astype(dtype) for a in arrays]  # noqa: E731
    c = rng.standard_normal((2, 5)).astype(dtype)
    rnn_step = cast(*_inputs(rng, 2, 3, 4, 5, 1, False))
    lstm_step = cast(*_inputs(rng, 2, 3, 4, 5, 4, False))
    return {
        "rnn_step": (rnn_step_forward, rnn_step_backward, rnn_step, 1),
        "rnn": (rnn_forward, rnn_backward, cast(*_inputs(rng, 2, 3, 4, 5, 1, True)), 1),
        "lstm_step": (lstm_step_forward, lstm_step_backward, lstm_step[:2] + [c] + lstm_step[2:],
                      2),
        "lstm": (lstm_forward, lstm_backward, cast(*_inputs(rng, 2, 3, 4, 5, 4, True)), 1),
        "temporal_affine": (temporal_affine_forward, temporal_affine_backward,
                            cast(rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)),
                                 rng.standard_normal(5)), 1),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["rnn_step", "rnn", "lstm_step", "lstm", "temporal_affine"])
def test_dtype_is_kept_and_nothing_is_modified(rng, name, dtype):
    forward, backward, inputs, outputs = _pairs(rng, dtype)[name]
    copies = [x.copy() for x in inputs]
    *outs, cache = forward(*inputs)
    assert len(outs) == outputs and all(out.dtype == dtype for out in outs)
    douts = [rng.standard_normal(out.shape).astype(dtype) for out in outs]
    dout_copies, cache_copy = [d.copy() for d in douts], snapshot(cache)
    grads = backward(*douts, cache)
    assert len(grads) == len(inputs)
    for grad, x in zip(grads, inputs):
        assert grad.dtype == dtype and grad.shape == x.shape
    for array, copy in zip(inputs + douts, copies + dout_copies):
        np.testing.assert_array_equal(array, copy, strict=True)
    assert_unchanged(cache, cache_copy)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_and_loss_keep_dtype(rng, dtype):
    x = rng.integers(5, size=(2, 3))
    W = rng.standard_normal((5, 4)).astype(dtype)
    W_copy = W.copy()
    out, cache = word_embedding_forward(x, W)
    out[...] = 0  # out is W's rows gathered: a copy, never a view of W
    np.testing.assert_array_equal(W, W_copy)
    dW = word_embedding_backward(rng.standard_normal(out.shape).astype(dtype), cache)
    assert out.dtype == dW.dtype == dtype and dW.shape == W.shape
    scores = rng.standard_normal((2, 3, 5)).astype(dtype)
    loss, dx = temporal_softmax_loss(scores, x, x > 1)
    assert loss.dtype == dx.dtype == dtype


# ---- bad input, refused by name -------------------------------------------------------------

ONES = np.ones
BAD = [
    (lambda: rnn_step_forward(ONES((2, 3)), ONES((2, 4)), ONES((3, 5)), ONES((4, 4)), ONES(4)),
     ValueError, "rnn_step_forward: Wx must have shape (D, H) = (3, 4) for x with D = 3 and "
                 "prev_h with H = 4, got Wx of shape (3, 5)"),
    (lambda: rnn_forward(ONES((2, 3)), ONES((2, 4)), ONES((3, 4)), ONES((4, 4)), ONES(4)),
     ValueError, "rnn_forward: x must be 3-d of shape (N, T, D), got shape (2, 3)"),
    (lambda: lstm_forward(ONES((2, 5, 3)), ONES((3, 4)), ONES((3, 16)), ONES((4, 16)),
                          ONES(16)),
     ValueError, "lstm_forward: h0 must have shape (N, H) = (2, ?) for x with N = 2"),
    (lambda: lstm_step_forward(ONES((2, 3)), ONES((2, 4)), ONES((2, 4)), ONES((3, 16)),
                               ONES((4, 16)), ONES(4)),
     ValueError, "lstm_step_forward: b must have shape (4H,) = (16,)"),
    (lambda: lstm_step_forward(ONES((2, 3)), ONES((2, 4)), ONES((2, 5)), ONES((3, 16)),
                               ONES((4, 16)), ONES(16)),
     ValueError, "lstm_step_forward: prev_c must have shape (N, H) = (2, 4)"),
    (lambda: rnn_backward(ONES((2, 3, 4)), word_embedding_forward(ONES((2, 3), int),
                                                                  ONES((2, 4)))[1]),
     TypeError, "rnn_backward: got the cache of word_embedding_forward; pass the cache "
                "returned by rnn_forward"),
    (lambda: lstm_backward(ONES((2, 3, 5)), lstm_forward(ONES((2, 3, 3)), ONES((2, 4)),
                                                         ONES((3, 16)), ONES((4, 16)),
                                                         ONES(16))[1]),
     ValueError, "lstm_backward: dh must have shape (N, T, H) = (2, 3, 4)"),
    (lambda: lstm_forward(ONES((2, 0, 3)), ONES((2, 4)), ONES((3, 16)), ONES((4, 16)),
                          ONES(16)),
     ValueError, "lstm_forward: x must hold at least one time step, got shape (2, 0, 3)"),
    (lambda: word_embedding_forward(ONES((2, 3)), ONES((4, 5))),
     TypeError, "word_embedding_forward: x must hold integer word ids, got dtype float64"),
    (lambda: word_embedding_forward(np.array([[0, 7]]), ONES((4, 5))),
     ValueError, "word_embedding_forward: x must lie in [0, V) = [0, 4), got 7"),
    (lambda: temporal_affine_forward(ONES((2, 3, 4)), ONES((5, 6)), ONES(6)),
     ValueError, "temporal_affine_forward: w must have shape (D, M) = (4, ?) for x with D = 4"),
    (lambda: temporal_softmax_loss(ONES((2, 3, 4)), ONES((2, 3), int), ONES((2, 3))),
     TypeError, "temporal_softmax_loss: mask must be a boolean array"),
    (lambda: temporal_softmax_loss(ONES((2, 3, 4)), ONES((2, 2), int)),
     ValueError, "temporal_softmax_loss: y must have shape (N, T) = (2, 3)"),
]


def case_ids(cases):
    """Test ids for (call, error, message) cases: the function named by the message."""
    return [message.split(":")[0] + f"-{i}" for i, (_, _, message) in enumerate(cases)]


def assert_refused(call, error, message):
    """``call()`` raises ``error`` with ``message`` in its text."""
    with pytest.raises(error) as raised:
        call()
    assert message in str(raised.value)


@pytest.mark.parametrize("call, error, message", BAD, ids=case_ids(BAD))
def test_bad_input_is_refused_by_name(call, error, message):
    assert_refused(call, error, message)


# ---- PyTorch -------------------------------------------------------------------------------


def _torch_recurrent(torch, module, x, h0, Wx, Wh, b, dout, lstm):
    """Run torch's nn.RNN / nn.LSTM with our weights; return out and the gradients."""
    H = h0.shape[1]
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(Wx.T))
        module.weight_hh_l0.copy_(torch.from_numpy(Wh.T))
        module.bias_ih_l0.copy_(torch.from_numpy(b))
        module.bias_hh_l0.zero_()
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    state = (h0t, torch.zeros_like(h0t)) if lstm else h0t
    out, _ = module(xt, state)
    out.backward(torch.from_numpy(dout))
    grads = [xt.grad.numpy(), h0t.grad.numpy()[0], module.weight_ih_l0.grad.numpy().T,
             module.weight_hh_l0.grad.numpy().T, module.bias_ih_l0.grad.numpy()]
    return out.detach().numpy(), grads, H


def course_to_torch_gates(W):
    """Columns in the course's gate order i, f, o, g -> torch's i, f, g, o."""
    i, f, o, g = np.split(W, 4, axis=-1)
    return np.concatenate([i, f, g, o], axis=-1)


@pytest.mark.torch
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_recurrent_layers_agree_with_torch(rng, cell):
    torch = pytest.importorskip("torch")
    N, T, D, H = 3, 6, 4, 5
    lstm = cell == "lstm"
    x, h0, Wx, Wh, b = _inputs(rng, N, T, D, H, 4 if lstm else 1, True)
    forward, backward = (lstm_forward, lstm_backward) if lstm else (rnn_forward, rnn_backward)
    out, cache = forward(x, h0, Wx, Wh, b)
    dout = rng.standard_normal(out.shape)
    grads = backward(dout, cache)
    module = (torch.nn.LSTM if lstm else torch.nn.RNN)(D, H, batch_first=True).double()
    to_torch = course_to_torch_gates if lstm else (lambda W: W)
    torch_out, torch_grads, _ = _torch_recurrent(
        torch, module, x, h0, to_torch(Wx), to_torch(Wh), to_torch(b), dout, lstm)
    np.testing.assert_allclose(out, torch_out, rtol=1e-12, atol=1e-14)
    from_torch = course_to_torch_gates if lstm else (lambda W: W)  # the swap is its own inverse
    for name, grad, torch_grad in zip(["dx", "dh0", "dWx", "dWh", "db"], grads, torch_grads):
        if name in ("dWx", "dWh", "db"):
            torch_grad = from_torch(torch_grad)
        np.testing.assert_allclose(grad, torch_grad, rtol=1e-11, atol=1e-13, err_msg=name)


def test_lstm_from_a_cell_state_continues_the_sequence(rng):
    """Two windows, the second started from the first's (h, c), give the states of one run
    over both; with c0 the backward returns dc0 too, checked numerically."""
    x, h0, Wx, Wh, b = _inputs(rng, 3, 6, 4, 5, 4, True)
    whole, _ = lstm_forward(x, h0, Wx, Wh, b)
    first, cache = lstm_forward(x[:, :2], h0, Wx, Wh, b)
    second, _ = lstm_forward(x[:, 2:], first[:, -1], Wx, Wh, b, lstm_final_cell(cache))
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-13)
    c0 = rng.standard_normal(h0.shape)
    report = check_layer(lstm_forward, lstm_backward, x, h0, Wx, Wh, b, c0)
    assert report.ok and len(report.inputs) == 6, report


def test_the_layers_around_the_cells_are_importable_from_layers_recurrent_too():
    """They moved to layers.temporal; the course's habit (one rnn_layers module) still works."""
    import layers.recurrent
    import layers.temporal

    for name in ("word_embedding_forward", "word_embedding_backward", "temporal_affine_forward",
                 "temporal_affine_backward", "temporal_softmax_loss"):
        assert getattr(layers.recurrent, name) is getattr(layers.temporal, name)
        assert getattr(layers, name) is getattr(layers.temporal, name)

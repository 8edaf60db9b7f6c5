"""The sequence models, their data and their training: the course's reference losses,
numerical gradients of every parameter, sampling, clipping, truncated BPTT."""

import numpy as np
import pytest

from gradcheck import eval_numerical_gradient, rel_error
from solver.sequence_data import (
    TASK_VOCAB, CharVocab, digit_task, stdlib_text, tbptt_windows)
from solver import sequence_models
from solver.sequence_models import CaptioningRNN, LanguageModel
from solver.sequence_training import (
    clip_gradients, gradient_through_time, next_token_accuracy, sequence_accuracy, task_batches,
    text_batches, train_sequence_model)

WORDS = {"<NULL>": 0, "cat": 2, "dog": 3}


@pytest.mark.parametrize("cell, low, high, expected", [
    ("rnn", -1.5, 0.3, 9.83235591003), ("lstm", -0.5, 1.7, 9.82445935443)])
def test_captioning_loss_matches_the_course(cell, low, high, expected):
    N, D, W, H, T = 10, 20, 30, 40, 13
    model = CaptioningRNN(WORDS, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell,
                          dtype=np.float64)
    for name, value in model.params.items():
        model.params[name] = np.linspace(-1.4, 1.3, num=value.size).reshape(value.shape)
    features = np.linspace(low, high, num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % len(WORDS)).reshape(N, T)
    loss, _ = model.loss(features, captions)
    assert loss == pytest.approx(expected, abs=1e-10)


def test_captioning_parameters_have_the_course_names():
    model = CaptioningRNN(WORDS, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type="lstm",
                          seed=0)
    shapes = {name: value.shape for name, value in model.params.items()}
    assert shapes == {"W_embed": (3, 5), "W_proj": (4, 6), "b_proj": (6,), "Wx": (5, 24),
                      "Wh": (6, 24), "b": (24,), "W_vocab": (6, 3), "b_vocab": (3,)}
    assert all(value.dtype == np.float32 for value in model.params.values())


def test_a_global_seed_reproduces_the_model():
    np.random.seed(231)
    first = CaptioningRNN(WORDS, input_dim=4, wordvec_dim=5, hidden_dim=6)
    np.random.seed(231)
    second = CaptioningRNN(WORDS, input_dim=4, wordvec_dim=5, hidden_dim=6)
    for name in first.params:
        np.testing.assert_array_equal(first.params[name], second.params[name])


def _numeric_grads(loss, params, h=1e-5):
    return {name: eval_numerical_gradient(lambda _: loss(), params[name], verbose=False, h=h)
            for name in params}


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_captioning_gradients_are_numerically_right(cell):
    rng = np.random.default_rng(231)
    captions = rng.integers(len(WORDS), size=(2, 3))
    features = rng.standard_normal((2, 4))
    model = CaptioningRNN(WORDS, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type=cell,
                          dtype=np.float64, seed=1, reg=0.3)
    _, grads = model.loss(features, captions)
    numeric = _numeric_grads(lambda: model.loss(features, captions)[0], model.params)
    for name in model.params:
        assert rel_error(numeric[name], grads[name]) < 1e-6, name


def test_captioning_sample_is_greedy_and_stops_at_end():
    words = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3, "b": 4}
    model = CaptioningRNN(words, input_dim=3, wordvec_dim=4, hidden_dim=5, seed=0,
                          dtype=np.float64)
    model.params["b_vocab"] = np.array([0.0, 0.0, -50.0, 50.0, 0.0])  # always "a"
    captions = model.sample(np.ones((2, 3)), max_length=4)
    np.testing.assert_array_equal(captions, np.full((2, 4), 3))
    model.params["b_vocab"] = np.array([0.0, 0.0, 50.0, 0.0, 0.0])  # <END> at once
    np.testing.assert_array_equal(model.sample(np.ones((2, 3)), 3), [[2, 0, 0], [2, 0, 0]])


def test_captioning_refuses_bad_input():
    with pytest.raises(ValueError, match="cell_type must be one of 'rnn', 'lstm', got 'gru'"):
        CaptioningRNN(WORDS, cell_type="gru")
    model = CaptioningRNN(WORDS, input_dim=2, wordvec_dim=2, hidden_dim=2, seed=0)
    with pytest.raises(ValueError, match=r"captions must hold ids in \[0, V\) = \[0, 3\)"):
        model.loss(np.ones((1, 2)), np.array([[0, 3]]))
    with pytest.raises(ValueError, match="has no '<START>'"):
        model.sample(np.ones((1, 2)))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "transformer"])
def test_language_model_gradients_are_numerically_right(cell):
    rng = np.random.default_rng(5)
    model = LanguageModel(7, wordvec_dim=4, hidden_dim=6, cell_type=cell, num_layers=2,
                          num_heads=2, dtype=np.float64, seed=3, reg=0.1)
    X, y = rng.integers(7, size=(2, 4)), rng.integers(7, size=(2, 4))
    mask = rng.random((2, 4)) > 0.3
    state = None if cell == "transformer" else (
        (rng.standard_normal((2, 6)), rng.standard_normal((2, 6))) if cell == "lstm"
        else rng.standard_normal((2, 6)))
    _, grads, _ = model.loss_with_state(X, y, mask, state)
    numeric = _numeric_grads(lambda: model.loss_with_state(X, y, mask, state)[0], model.params)
    assert set(grads) == set(model.params)
    for name in model.params:
        assert rel_error(numeric[name], grads[name]) < 1e-5, name


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_carried_state_continues_the_stream(cell):
    """Truncated BPTT: two windows, the second from the first's state, score as one."""
    model = LanguageModel(6, 4, 5, cell, dtype=np.float64, seed=0)
    X = np.random.default_rng(0).integers(6, size=(3, 8))
    whole = model.loss(X)
    _, _, state = model.loss_with_state(X[:, :3], X[:, :3])
    scores, _, _ = model._forward(X[:, 3:], state)
    np.testing.assert_allclose(scores, whole[:, 3:], rtol=1e-12)


def test_transformer_is_causal():
    model = LanguageModel(6, 8, 10, "transformer", num_heads=2, dtype=np.float64, seed=0)
    X = np.random.default_rng(0).integers(6, size=(2, 7))
    changed = X.copy()
    changed[:, 4:] = (changed[:, 4:] + 1) % 6
    np.testing.assert_allclose(model.loss(X)[:, :4], model.loss(changed)[:, :4], rtol=1e-13)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "transformer"])
def test_language_model_keeps_float32_and_samples(cell):
    model = LanguageModel(5, 4, 6, cell, num_heads=2, seed=0)
    X = np.zeros((2, 3), dtype=int)
    loss, grads = model.loss(X, X)
    assert all(g.dtype == np.float32 for g in grads.values())
    tokens = model.sample(X[:, :1], 5, rng=0)
    assert tokens.shape == (2, 5) and tokens.min() >= 0 and tokens.max() < 5
    np.testing.assert_array_equal(model.sample(X[:, :1], 5, rng=0), tokens)
    greedy = model.sample(X[:, :1], 3, temperature=0)
    np.testing.assert_array_equal(greedy[:, 0], model.loss(X[:, :1])[:, -1].argmax(axis=1))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "transformer"])
def test_generate_draws_what_sample_draws_one_step_at_a_time(cell):
    model = LanguageModel(5, 4, 6, cell, num_heads=2, seed=0, dtype=np.float64)
    prompt = np.array([[1, 2, 3], [4, 0, 2]])
    tokens = model.sample(prompt, 9, rng=7, context=4)
    steps = model.generate(prompt, rng=7, context=4)
    np.testing.assert_array_equal(np.stack([next(steps) for _ in range(9)], axis=1), tokens)
    with pytest.raises(ValueError, match="LanguageModel.generate: temperature must be"):
        model.generate(prompt, temperature=-1)  # refused at the call, not at the first draw


def test_a_transformer_samples_from_at_most_context_tokens():
    """With context = C each token is drawn from the scores of the last C tokens only: the
    window the model was trained on, at a cost per token that does not grow with the text."""
    model = LanguageModel(5, 4, 6, "transformer", num_heads=2, seed=0, dtype=np.float64)
    prompt = np.array([[1, 2, 3, 4, 0, 1], [4, 4, 3, 2, 1, 0]])
    text = prompt
    for _ in range(7):  # greedy decoding by hand, reading the last 4 tokens
        scores = model.loss(text[:, -4:])[:, -1]  # (N, V)
        text = np.concatenate([text, scores.argmax(axis=1)[:, None]], axis=1)
    np.testing.assert_array_equal(model.sample(prompt, 7, temperature=0, context=4),
                                  text[:, 6:])
    np.testing.assert_array_equal(model.sample(prompt, 7, temperature=0),  # all by default
                                  model.sample(prompt, 7, temperature=0, context=100))
    with pytest.raises(ValueError, match="LanguageModel.sample: context must be"):
        model.sample(prompt, 3, context=0)


@pytest.mark.parametrize("build", [
    lambda: CaptioningRNN({"<NULL>": 0, "a": 1, "b": 2}, 3, 4, 5, "lstm", seed=0),
    lambda: LanguageModel(5, 4, 6, "rnn", seed=0),
    lambda: LanguageModel(5, 4, 6, "lstm", seed=0),
    lambda: LanguageModel(5, 4, 6, "transformer", num_layers=3, num_heads=2, seed=0),
])
def test_the_memory_check_counts_every_parameter(build, monkeypatch):
    counted = []
    monkeypatch.setattr(sequence_models, "_check_memory",
                        lambda model, count: counted.append(count))
    model = build()
    assert counted == [sum(p.size for p in model.params.values())]


def test_a_model_beyond_memory_is_refused_before_drawing():
    with pytest.raises(MemoryError, match=r"LanguageModel: its 138,000,000,053 parameters "
                                          r"need 1,028.2 GiB, more than this machine's"):
        LanguageModel(5, 4, 6, "transformer", num_layers=10**9, num_heads=2, seed=0)
    with pytest.raises(MemoryError, match="CaptioningRNN: its .* more than this machine's"):
        CaptioningRNN({"<NULL>": 0}, 10**12, 4, 5, seed=0)


def test_language_model_refuses_bad_input():
    with pytest.raises(ValueError, match="num_heads = 3 must divide wordvec_dim = 4"):
        LanguageModel(5, 4, 6, "transformer", num_heads=3)
    model = LanguageModel(5, 4, 6, "rnn", seed=0)
    with pytest.raises(ValueError, match="X must be an integer array of shape"):
        model.loss(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="y must have X's shape"):
        model.loss(np.zeros((2, 3), int), np.zeros((2, 4), int))


# ---- data --------------------------------------------------------------------------------------


@pytest.mark.parametrize("task, question, answer", [
    ("copy", "123>", "123"), ("reverse", "123>", "321"), ("add", "123+456>", "9750")])
def test_digit_tasks_ask_and_answer(task, question, answer):
    batch = digit_task(task, 50, 3, rng=0)
    for X, y, mask in zip(batch.X, batch.y, batch.mask):
        text = batch.decode(X) + batch.decode(y[-1:])
        asked, told = text.split(">")
        digits = asked.replace("+", "")
        if task == "copy":
            assert told == asked
        elif task == "reverse":
            assert told == asked[::-1]
        else:
            a, b = int(digits[:3]), int(digits[3:])
            assert told == str(a + b).zfill(4)[::-1]
        assert batch.decode(y[mask]) == told  # the mask covers the answer exactly
    assert len(question) == batch.X.shape[1] - len(answer) + 1


def test_digit_task_refuses_unknown_tasks():
    with pytest.raises(ValueError, match="task must be one of 'copy', 'reverse', 'add'"):
        digit_task("sort", 3, 2)


def test_stdlib_text_is_read_from_the_installation():
    text = stdlib_text(5000)
    assert len(text) == 5000 and "def " in text and text.isascii()
    vocab = CharVocab(text)
    assert vocab.decode(vocab.encode(text)) == text
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("\x00")


def test_tbptt_windows_continue_row_by_row():
    ids = np.arange(41)
    windows = list(tbptt_windows(ids, batch_size=2, seq_length=5))
    assert len(windows) == 4 and [w[2] for w in windows] == [True, False, False, False]
    rows = np.concatenate([X for X, _, _ in windows], axis=1)
    np.testing.assert_array_equal(rows, [np.arange(20), np.arange(20, 40)])
    for X, y, _ in windows:
        np.testing.assert_array_equal(y, X + 1)
    with pytest.raises(ValueError, match="shorter than seq_length"):
        next(tbptt_windows(ids, batch_size=10, seq_length=5))


# ---- training --------------------------------------------------------------------------------


def test_clip_gradients_caps_the_joint_norm():
    grads = {"a": np.array([3.0, 0.0], np.float32), "b": np.array([[4.0]], np.float32)}
    clipped, norm = clip_gradients(grads, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(clipped["b"], [[0.8]], rtol=1e-6)
    assert clipped["a"].dtype == np.float32
    np.testing.assert_array_equal(grads["a"], [3.0, 0.0])  # not modified
    same, norm = clip_gradients(grads, 10.0)
    assert same["a"] is grads["a"] and norm == pytest.approx(5.0)
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0, got 0"):
        clip_gradients(grads, 0)


@pytest.mark.torch
def test_clip_gradients_agrees_with_torch(rng):
    torch = pytest.importorskip("torch")
    arrays = {"w": rng.standard_normal((3, 4)) * 5, "b": rng.standard_normal(4)}
    tensors = [torch.zeros(a.shape, dtype=torch.float64, requires_grad=True)
               for a in arrays.values()]
    for tensor, array in zip(tensors, arrays.values()):
        tensor.grad = torch.from_numpy(array.copy())
    torch_norm = torch.nn.utils.clip_grad_norm_(tensors, 2.0)
    clipped, norm = clip_gradients(arrays, 2.0)
    assert norm == pytest.approx(float(torch_norm), rel=1e-12)
    for tensor, array in zip(tensors, clipped.values()):
        np.testing.assert_allclose(array, tensor.grad.numpy(), rtol=1e-6)


def test_training_with_carried_state_lowers_the_loss_of_text():
    text = stdlib_text(6000)
    vocab = CharVocab(text)
    windows = list(tbptt_windows(vocab.encode(text), batch_size=8, seq_length=25))
    model = LanguageModel(len(vocab), 16, 32, "lstm", seed=0)
    history = train_sequence_model(model, text_batches(windows), 60, clip_norm=5.0,
                                   carry_state=True, optim_config={"learning_rate": 1e-2})
    per_char = np.array(history["loss"]) / 25
    assert per_char[0] == pytest.approx(np.log(len(vocab)), rel=0.05)
    assert per_char[-10:].mean() < 0.8 * per_char[0]


def test_an_exploding_loss_is_reported():
    class Exploding:
        params = {"w": np.ones(2)}

        def loss_with_state(self, X, y, mask, state):
            return np.inf, {"w": np.full(2, np.inf)}, None

    batches = task_batches(lambda n, rng: digit_task("copy", n, 3, rng), 4)
    with pytest.raises(FloatingPointError, match="the loss is inf at iteration 0: the "
                                                 "gradients exploded; pass clip_norm"):
        train_sequence_model(Exploding(), batches, 5)


def test_sequence_accuracy_counts_whole_answers():
    task = digit_task("copy", 20, 3, rng=0)

    class Oracle:
        def loss(self, X):
            scores = np.zeros(X.shape + (len(TASK_VOCAB),))
            np.put_along_axis(scores, task.y[..., None], 1.0, axis=2)
            scores[0, -1] = 0
            scores[0, -1, (task.y[0, -1] + 1) % 10] = 1  # one wrong token in sequence 0
            return scores

    sequences, tokens = sequence_accuracy(Oracle(), task)
    assert sequences == pytest.approx(19 / 20) and tokens == pytest.approx(1 - 1 / 60)


def test_attention_weights_are_causal_rows_of_a_softmax():
    model = LanguageModel(6, 8, 10, "transformer", num_layers=2, num_heads=2, seed=0)
    weights = model.attention_weights(np.zeros((3, 5), int))
    assert len(weights) == 2 and weights[0].shape == (3, 2, 5, 5)
    np.testing.assert_allclose(weights[1].sum(axis=-1), 1, rtol=1e-6)
    np.testing.assert_array_equal(np.triu(weights[0], k=1), 0)
    with pytest.raises(ValueError, match="a rnn model has no attention"):
        LanguageModel(6, 8, 10, "rnn").attention_weights(np.zeros((1, 2), int))


def test_the_lstm_cell_path_keeps_the_gradient_the_rnn_loses():
    rng = np.random.default_rng(0)
    N, T, D, H = 4, 30, 3, 16
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    rnn = gradient_through_time("rnn", x, h0, rng.standard_normal((D, H)) / 3,
                                rng.standard_normal((H, H)) * 0.5 / np.sqrt(H), np.zeros(H))
    b = np.zeros(4 * H)
    b[H:2 * H] = 3.0  # forget gates nearly open
    lstm = gradient_through_time("lstm", x, h0, rng.standard_normal((D, 4 * H)) / 3,
                                 rng.standard_normal((H, 4 * H)) * 0.5 / np.sqrt(H), b)
    assert rnn["h"].shape == lstm["c"].shape == (T,)
    assert rnn["h"][-1] < 1e-6 * rnn["h"][0]  # vanished over 30 steps
    assert lstm["c"][-1] > 0.1 * lstm["c"][0]  # carried along the cell path
    with pytest.raises(ValueError, match="cell must be 'rnn' or 'lstm'"):
        gradient_through_time("gru", x, h0, None, None, None)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "transformer"])
def test_greedy_sampling_is_the_argmax_of_the_whole_context(cell):
    """Recurrent models sample step by step from their state; the result must be what
    reading the whole context again at every step gives."""
    model = LanguageModel(7, 6, 8, cell, num_heads=2, dtype=np.float64, seed=2)
    context = np.random.default_rng(1).integers(7, size=(3, 4))
    tokens = model.sample(context, 6, temperature=0)
    for t in range(6):
        expected = model.loss(context)[:, -1].argmax(axis=1)
        np.testing.assert_array_equal(tokens[:, t], expected)
        context = np.concatenate([context, expected[:, None]], axis=1)


def test_next_token_accuracy_reads_the_windows_with_the_carried_state():
    model = LanguageModel(5, 4, 6, "lstm", dtype=np.float64, seed=0)
    ids = np.random.default_rng(0).integers(5, size=41)
    windows = list(tbptt_windows(ids, batch_size=2, seq_length=5))
    stream = ids[:40].reshape(2, 20)
    whole = model.predict(stream)[0].argmax(axis=2)  # (2, 20): one pass over each row
    expected = np.mean(whole == ids[1:41].reshape(2, 20))
    assert next_token_accuracy(model, windows) == pytest.approx(expected)
    np.testing.assert_array_equal(model.predict(stream)[0], model.loss(stream))

"""The Solver on sequences and with gradient clipping; the token datasets; `solver train --model
lm` and `solver sample` end to end (tiny runs, in-process)."""

import json

import numpy as np
import pytest

from solver import Solver
from solver.checkpoint import read_checkpoint
from solver.cli import main
from solver.data import DATASETS, load_dataset
from solver.sequence_data import TASK_VOCAB, digit_task
from solver.sequence_models import LanguageModel
from solver.sequence_training import global_norm
from tests.solver.test_cli import run as cli
from tests.solver.test_solver import assert_same_run, blobs, small_net

TOKEN_DATASETS = [name for name, info in DATASETS.items() if info.tokens]


def reverse_data(num_train=60, num_val=20, seed=0):
    """Reverse 3 digits, as the Solver's data: y is -1 on the question."""
    data = {}
    for split, size, rng in zip(("train", "val"), (num_train, num_val),
                                np.random.default_rng(seed).spawn(2)):
        task = digit_task("reverse", size, 3, rng)
        data[f"X_{split}"], data[f"y_{split}"] = task.X, np.where(task.mask, task.y, -1)
    return data


def tiny_lm(cell="lstm", seed=0):
    return LanguageModel(len(TASK_VOCAB), 8, 12, cell, num_layers=1, num_heads=2, seed=seed)


# ---- gradient clipping ------------------------------------------------------------------------


def test_clipping_caps_the_step_and_records_the_norm_before_it(rng):
    data = blobs(rng)
    model = small_net(seed=1)
    X, y = data["X_train"][:10], data["y_train"][:10]
    _, grads = model.loss(X, y)
    norm = global_norm(grads)
    before = {name: w.copy() for name, w in model.params.items()}
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 0.1},
                    clip_norm=norm / 4, verbose=False)
    solver._step(X, y)
    step = global_norm({name: model.params[name] - before[name] for name in before})
    assert solver.grad_norm_history == [pytest.approx(norm, rel=1e-12)]
    assert step == pytest.approx(0.1 * norm / 4, rel=1e-5)  # float32 weights


def test_without_clipping_no_norms_are_kept_and_a_large_bound_changes_nothing(rng):
    data = blobs(rng)
    plain = Solver(small_net(), data, num_epochs=2, verbose=False).train()
    loose = Solver(small_net(), data, num_epochs=2, verbose=False, clip_norm=1e9).train()
    assert plain.grad_norm_history == [] and len(loose.grad_norm_history) == len(
        loose.loss_history)
    for name in plain.model.params:
        assert np.array_equal(plain.model.params[name], loose.model.params[name])


@pytest.mark.parametrize("clip_norm", [0, -1.0, float("inf"), float("nan"), "5", True])
def test_a_bad_clip_norm_is_refused(clip_norm, rng):
    with pytest.raises(ValueError, match="Solver: clip_norm must be None or a finite number > 0"):
        Solver(small_net(), blobs(rng), clip_norm=clip_norm)


# ---- the Solver on token windows --------------------------------------------------------------


def test_unscored_targets_are_the_mask():
    model = tiny_lm()
    task = digit_task("reverse", 5, 3, rng=1)
    masked_loss, masked_grads = model.loss(task.X, task.y, task.mask)
    loss, grads = model.loss(task.X, np.where(task.mask, task.y, -1))
    assert loss == masked_loss
    for name in grads:
        assert np.array_equal(grads[name], masked_grads[name])


def test_accuracy_is_next_token_accuracy_over_the_scored_steps():
    data = reverse_data()
    solver = Solver(tiny_lm(), data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    num_epochs=1, batch_size=10, verbose=False, clip_norm=5.0).train()
    X, y = data["X_val"], data["y_val"]
    predicted = solver.model.loss(X).argmax(axis=2)  # (N, T)
    scored = y != -1
    expected = np.sum((predicted == y) & scored) / np.sum(scored)
    assert solver.check_accuracy(X, y) == expected
    scores = solver.model.loss(X)
    loss_sum = -sum(np.log(np.exp(s[t, y_t] - s[t].max()) / np.exp(s[t] - s[t].max()).sum())
                    for s, row in zip(scores.astype(np.float64), y)
                    for t, y_t in enumerate(row) if y_t != -1)
    assert solver.val_loss_history[-1] == pytest.approx(loss_sum / len(X), rel=1e-5)
    assert solver.val_acc_history[-1] == expected  # one epoch: the model holds its weights
    assert solver.loss_history[-1] < solver.loss_history[0]  # it learns


@pytest.mark.parametrize("cell", ["rnn", "transformer"])
def test_a_sequence_run_resumes_bit_for_bit(cell, tmp_path):
    def run(num_epochs, **kwargs):
        model = tiny_lm(cell, seed=3)
        return model, Solver(model, reverse_data(), update_rule="adam",
                             optim_config={"learning_rate": 1e-2}, lr_decay=0.9, batch_size=16,
                             num_epochs=num_epochs, num_train_samples=30, seed=5, verbose=False,
                             clip_norm=0.5, **kwargs)

    whole = run(3)
    whole[1].train()
    run(2, checkpoint_dir=tmp_path)[1].train()
    resumed = run(3)
    resumed[1].resume(tmp_path / "last.npz").train()
    assert_same_run(whole, resumed)
    assert len(resumed[1].grad_norm_history) == len(resumed[1].loss_history) == 3 * 4


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(y_train=np.full_like(d["y_train"], -1)), "y_train scores no step"),
    (lambda d: d["y_val"].__setitem__((0, -1), 12), r"label 12.*\[0, 12\) or -1"),
    (lambda d: d["y_val"].__setitem__((0, -1), -2), r"label -2.*\[0, 12\) or -1"),
    (lambda d: d.update(y_train=d["y_train"][:, :-1]), "y_train must be a 1-d array"),
])
def test_bad_sequence_targets_are_refused(change, message):
    data = reverse_data()
    change(data)
    with pytest.raises(ValueError, match=message):
        Solver(tiny_lm(), data)


def test_a_classifier_on_token_windows_is_refused(rng):
    data = reverse_data()
    with pytest.raises(ValueError, match=r"scores an example of X_train with shape \(1, 3\)"):
        Solver(small_net(), {**data, "X_train": data["X_train"][:, :4],
                             "y_train": data["y_train"][:, :4]})


# ---- the token datasets ----------------------------------------------------------------------


def test_the_token_datasets_are_found_in_the_registry():
    assert {"reverse-digits", "stdlib-text"} <= set(TOKEN_DATASETS)


@pytest.mark.parametrize("name", TOKEN_DATASETS)
def test_token_datasets_hold_windows_and_their_next_tokens(name):
    data = load_dataset(name)
    info = DATASETS[name]
    V = len(data["meta"]["class_names"])
    for split, size in zip(("train", "val", "test"), info.sizes):
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        assert X.shape == y.shape == (size, *info.example_shape)
        assert X.dtype == y.dtype == np.int64
        assert X.min() >= 0 and X.max() < V and y.min() >= -1 and y.max() < V
        scored = y != -1
        assert np.array_equal(X[:, 1:][scored[:, :-1]], y[:, :-1][scored[:, :-1]])  # shifted
    assert data["meta"]["mean"] is None and data["meta"]["image_shape"] is None
    again = load_dataset(name)
    assert all(np.array_equal(data[key], again[key]) for key in data if key != "meta")


def test_digit_datasets_score_only_the_answer():
    data = load_dataset("reverse-digits", num_train=3, num_val=1, num_test=1)
    X, y = data["X_train"], data["y_train"]
    vocab = "".join(data["meta"]["class_names"])
    assert vocab == TASK_VOCAB
    for row, targets in zip(X, y):
        question = "".join(vocab[i] for i in row[:6])
        answer = "".join(vocab[i] for i in targets[6:])
        assert vocab[row[6]] == ">" and (targets[:6] == -1).all() and answer == question[::-1]


def test_stdlib_text_splits_are_successive_stretches_of_the_source():
    data = load_dataset("stdlib-text", num_train=4, num_val=2, num_test=2)
    stream = np.concatenate([data[f"X_{split}"].ravel() for split in ("train", "val", "test")])
    targets = np.concatenate([data[f"y_{split}"].ravel() for split in ("train", "val", "test")])
    assert np.array_equal(stream[1:], targets[:-1])
    text = "".join(data["meta"]["class_names"][i] for i in stream[:200])
    assert '"""' in text or "import" in text  # Python source, read from this installation


def test_stdlib_text_refuses_more_windows_than_the_source_holds():
    with pytest.raises(ValueError, match="windows of 50 characters need"):
        load_dataset("stdlib-text", num_train=10**6)


# ---- solver train --model lm, solver sample ---------------------------------------------------

TINY = ["--num-train", 120, "--num-val", 30, "--num-test", 30, "--hidden-dims", 16,
        "--wordvec-dim", 8, "--batch-size", 20, "--quiet"]


@pytest.fixture(scope="module")
def reverse_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm")
    assert main([str(a) for a in ["train", "--dataset", "reverse-digits", "--model", "lm",
                                  "--epochs", 3, "--clip-norm", 1, "--learning-rate", 2e-2,
                                  "--out", out, *TINY]]) == 0
    return out


def test_train_lm_writes_a_sequence_run(reverse_run):
    assert sorted(p.name for p in reverse_run.iterdir()) == [
        "best.npz", "grad_norms.png", "history.json", "history.png", "last.npz"]  # no
    # weights.png or regions.png: they are pictures of images and of 2-d points
    history = json.loads((reverse_run / "history.json").read_text())
    assert history["settings"]["model"] == "lm" and history["settings"]["clip_norm"] == 1.0
    assert len(history["grad_norm_history"]) == len(history["loss_history"]) == 3 * 6
    assert max(history["grad_norm_history"]) > 1.0  # it clipped
    state = read_checkpoint(reverse_run / "best.npz")
    assert state["settings"]["vocabulary"] == TASK_VOCAB
    assert state["grad_norm_history"] == history["grad_norm_history"][:len(
        state["loss_history"])]


def test_sample_prints_the_prompt_and_what_the_model_writes(reverse_run, capsys):
    argv = ["sample", reverse_run / "best.npz", "--prompt", "123>", "--length", 5]
    status, out, err = cli(capsys, *argv)
    assert status == 0 and err == ""
    text = out.rstrip("\n")
    assert text.startswith("123>") and len(text) == 4 + 5 and set(text) <= set(TASK_VOCAB)
    assert cli(capsys, *argv)[1] == out  # --seed 0 by default: the same draws
    other = {cli(capsys, *argv, "--seed", seed)[1] for seed in range(8)}
    assert len(other) > 1  # temperature 1 draws
    greedy = {cli(capsys, *argv, "--temperature", 0, "--seed", seed)[1] for seed in range(3)}
    assert len(greedy) == 1


def test_evaluate_counts_the_scored_tokens(reverse_run, capsys):
    status, out, _ = cli(capsys, "evaluate", reverse_run / "best.npz")
    best = json.loads((reverse_run / "history.json").read_text())["best_val_acc"]
    assert status == 0 and out.startswith(f"val accuracy {best:.4f} (")
    assert f" of {30 * 6}) " in out  # 30 answers of 6 digits: the tokens scored, not windows
    assert "lm on reverse-digits)" in out


def test_a_sequence_run_resumed_from_the_cli_equals_one_in_one_go(tmp_path, capsys):
    common = ["--dataset", "stdlib-text", "--model", "lm", "--cell-type", "rnn",
              "--clip-norm", 0.5, *TINY]
    assert cli(capsys, "train", *common, "--epochs", 2, "--out", tmp_path / "whole")[0] == 0
    assert cli(capsys, "train", *common, "--epochs", 1, "--out", tmp_path / "part")[0] == 0
    assert cli(capsys, "train", "--resume", tmp_path / "part" / "last.npz", "--epochs", 2,
               "--quiet")[0] == 0
    whole, part = (read_checkpoint(tmp_path / run / "last.npz") for run in ("whole", "part"))
    for group in ("params", "best_params"):
        for name, array in whole[group].items():
            assert np.array_equal(array, part[group][name]), (group, name)
    for key in ("loss_history", "grad_norm_history", "val_acc_history", "rng_state"):
        assert whole[key] == part[key], key


def test_a_transformer_samples_python_like_text(tmp_path, capsys, monkeypatch):
    assert cli(capsys, "train", "--dataset", "stdlib-text", "--model", "lm", "--cell-type",
               "transformer", "--num-heads", 2, "--num-layers", 1, "--epochs", 1,
               "--out", tmp_path, *TINY)[0] == 0
    status, out, _ = cli(capsys, "sample", tmp_path / "last.npz", "--prompt", "def ",
                         "--length", 30)
    assert status == 0 and out.startswith("def ") and len(out.rstrip("\n")) >= 4 + 20
    # It was trained on windows of 50 characters: it samples reading at most the last 50.
    assert read_checkpoint(tmp_path / "last.npz")["settings"]["context"] == 50
    contexts = []
    original = LanguageModel.generate
    monkeypatch.setattr(LanguageModel, "generate", lambda self, *args, **kwargs: (
        contexts.append(kwargs["context"]), original(self, *args, **kwargs))[1])
    assert cli(capsys, "sample", tmp_path / "last.npz", "--prompt", "def ", "--length",
               60)[0] == 0
    assert contexts == [50]


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "stdlib-text", "--model", "conv"],
     "--model conv does not read token sequences, and --dataset stdlib-text holds windows of "
     "tokens: use --model lm"),
    (["--dataset", "digits", "--model", "lm"],
     "--model lm reads token sequences, and --dataset digits holds images: use --dataset "
     "reverse-digits"),
    (["--cell-type", "rnn"], "--cell-type does not apply to --model two-layer (only to lm)"),
    (["--dataset", "reverse-digits", "--model", "lm", "--cell-type", "lstm", "--num-layers",
      "5"], "--num-layers does not apply to --cell-type lstm (only to transformer)"),
    (["--dataset", "reverse-digits", "--model", "lm", "--cell-type", "rnn", "--num-heads", "3"],
     "--num-heads does not apply to --cell-type rnn (only to transformer)"),
    (["--dataset", "stdlib-text", "--model", "lm", "--clip-norm", "0"],
     "--clip-norm: must be a number > 0"),
    (["--dataset", "reverse-digits", "--model", "lm", "--cell-type", "transformer",
      "--wordvec-dim", "10", "--num-heads", "4"], "num_heads = 4 must divide wordvec_dim = 10"),
])
def test_mismatches_are_usage_errors(argv, message, tmp_path, capsys):
    status, _, err = cli(capsys, "train", *argv, "--out", tmp_path / "run")
    assert status == 2 and message in err


def test_sample_refuses_a_classifier_and_an_unknown_character(reverse_run, tmp_path, capsys):
    assert cli(capsys, "train", "--epochs", 1, "--out", tmp_path, "--quiet")[0] == 0
    status, _, err = cli(capsys, "sample", tmp_path / "best.npz", "--prompt", "1")
    assert status == 1 and "holds a two-layer model trained on digits, not a language model" in err
    status, _, err = cli(capsys, "sample", reverse_run / "best.npz", "--prompt", "12a>")
    assert status == 1 and "the prompt holds 'a', not in the vocabulary" in err
    status, _, err = cli(capsys, "sample", reverse_run / "best.npz", "--prompt", "1",
                         "--temperature", "-1")
    assert status == 2 and "--temperature: must be a finite number >= 0" in err

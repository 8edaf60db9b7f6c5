"""The Solver's validation loss, its patience (early stopping) and its per-epoch hook."""

import json

import numpy as np
import pytest

from layers import softmax_loss
from solver import FullyConnectedNet, Solver
from solver.checkpoint import read_checkpoint

from .test_solver import assert_same_run, blobs, run


def noisy_net(seed=0):
    """Dropout and batchnorm: a model whose train-mode loss differs from its test-mode one."""
    return FullyConnectedNet([16, 12], input_dim=4, num_classes=3, weight_scale=0.3, seed=seed,
                             normalization="batchnorm", dropout_keep_ratio=0.5)


class ScoreRecorder:
    """Wraps a model; records every test-mode call (no labels): its rows and its scores."""

    def __init__(self, model):
        self.model, self.params, self.buffers = model, model.params, model.buffers
        self.calls = []

    def loss(self, X, y=None):
        out = self.model.loss(X, y)
        if y is None:
            self.calls.append((X.copy(), out))
        return out


# --- the validation loss ---------------------------------------------------------------------

def test_the_val_loss_is_the_softmax_loss_of_the_test_mode_scores(rng):
    data = blobs(rng, per_class=50, spread=1.5)  # 150 validation examples: batches of 100, 50
    model = noisy_net()
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    num_epochs=1, batch_size=10, verbose=False).train()
    assert len(solver.val_loss_history) == len(solver.val_acc_history) == 1 + 1
    # After one epoch the model holds that epoch's weights (the best, as epoch 1 always is).
    scores = model.loss(data["X_val"])  # (150, 3), test mode: no dropout, running statistics
    expected = float(softmax_loss(scores, data["y_val"])[0])
    assert solver.val_loss_history[1] == pytest.approx(expected, rel=1e-6)
    assert np.mean(np.argmax(scores, axis=1) == data["y_val"]) == solver.val_acc_history[1]
    # The train-mode loss of the same weights is another number: dropout, batch statistics.
    train_mode = float(model.loss(data["X_val"], data["y_val"])[0])
    assert abs(train_mode - expected) > 1e-3


def test_the_val_loss_is_measured_on_the_accuracys_subsample_from_the_same_scores(rng):
    data = blobs(rng, per_class=50, spread=1.5)
    data["X_val"][:, 0] = np.arange(150)  # each validation row numbered by its first feature
    model = ScoreRecorder(noisy_net())
    solver = Solver(model, data, num_epochs=2, batch_size=10, num_train_samples=40,
                    num_val_samples=31, verbose=False).train()
    # Test-mode calls: one row for each split before training (the Solver's check that the
    # data fits), then per check 40 training rows and 31 validation rows.
    val_calls = [(X, scores) for X, scores in model.calls if len(X) == 31]
    assert len(val_calls) == 3  # epochs 0, 1 and 2
    for epoch, (X, scores) in enumerate(val_calls):
        rows = X[:, 0].astype(int)  # (31,)
        assert np.array_equal(X, data["X_val"][rows]) and len(set(rows)) == 31
        y = data["y_val"][rows]
        assert solver.val_acc_history[epoch] == np.mean(np.argmax(scores, axis=1) == y)
        assert solver.val_loss_history[epoch] == pytest.approx(
            float(softmax_loss(scores, y)[0]), rel=1e-12)


def test_measuring_the_val_loss_changes_nothing_else(capsys, monkeypatch):
    """The training stream, the weights, the accuracies and the course's printed lines are
    those of a run that measures no validation loss."""
    def with_loss():
        model, solver = run(2, "adam", {"learning_rate": 1e-2}, num_epochs=3)
        solver.train()
        return (model, solver), capsys.readouterr()

    measured, printed = with_loss()
    score = Solver._score
    monkeypatch.setattr(Solver, "_score", lambda self, *args, loss=False, **kwargs: (
        score(self, *args, **kwargs)[0], float("nan")))
    unmeasured, printed_unmeasured = with_loss()
    assert np.isnan(unmeasured[1].val_loss_history).all()
    unmeasured[1].val_loss_history = measured[1].val_loss_history
    assert_same_run(measured, unmeasured)
    assert printed == printed_unmeasured and "val_acc" in printed.out
    assert "loss" not in printed.out.replace("loss:", "")  # the course's lines, no val loss


# --- the per-epoch hook ----------------------------------------------------------------------

def test_on_epoch_end_hears_each_epoch_once_with_its_figures(rng):
    heard = []
    solver = Solver(noisy_net(), blobs(rng), num_epochs=3, batch_size=7, verbose=False,
                    on_epoch_end=heard.append).train()
    assert [figures["epoch"] for figures in heard] == [1, 2, 3]
    iterations = len(solver.loss_history) // 3  # 60 examples in batches of 7: 9 iterations
    for e, figures in enumerate(heard, start=1):
        assert figures.keys() == {"epoch", "train_loss", "train_acc", "val_acc", "val_loss",
                                  "seconds"}
        losses = solver.loss_history[(e - 1) * iterations:e * iterations]
        assert figures["train_loss"] == pytest.approx(sum(losses) / iterations, rel=1e-12)
        assert figures["train_acc"] == solver.train_acc_history[e]
        assert figures["val_acc"] == solver.val_acc_history[e]
        assert figures["val_loss"] == solver.val_loss_history[e]
        assert figures["seconds"] > 0


def test_on_epoch_end_must_be_callable(rng):
    with pytest.raises(TypeError, match="Solver: on_epoch_end must be a function or None, "
                                        "got str"):
        Solver(noisy_net(), blobs(rng), on_epoch_end="print")


# --- patience ----------------------------------------------------------------------------------

PATIENT = dict(rng_seed=2, rule="adam", config={"learning_rate": 1e-2})


def patient_run(num_epochs, **kwargs):
    return run(PATIENT["rng_seed"], PATIENT["rule"], PATIENT["config"], num_epochs=num_epochs,
               verbose=False, **kwargs)


def test_patience_stops_a_run_that_no_longer_improves(tmp_path, capsys):
    model, solver = patient_run(30, patience=3, checkpoint_dir=tmp_path)
    solver.verbose = True
    solver.train()
    # Epoch 5 is the best; 6, 7 and 8 do not beat it: the run stops after epoch 8.
    assert (solver.best_epoch, solver.epoch) == (5, 8)
    history = solver.val_acc_history
    assert max(history[1:5]) < history[5] == solver.best_val_acc >= max(history[6:])
    assert len(solver.val_acc_history) == len(solver.val_loss_history) == 8 + 1
    assert solver.stopped_early == ("the validation accuracy has not improved for 3 epochs, "
                                    "since epoch 5")
    assert capsys.readouterr().out.splitlines()[-1] == (
        "(Epoch 8 / 30) stopping early: the validation accuracy has not improved for 3 "
        "epochs, since epoch 5")
    for name, w in model.params.items():  # the run ends as any does: the best weights
        assert np.array_equal(w, solver.best_params[name])
    assert read_checkpoint(tmp_path / "best.npz")["epoch"] == 5
    assert read_checkpoint(tmp_path / "last.npz")["epoch"] == 8


def test_without_patience_or_with_more_the_run_goes_on():
    for patience in (None, 30):
        _, solver = patient_run(10, patience=patience)
        solver.train()
        assert solver.epoch == 10 and solver.stopped_early is None


@pytest.mark.parametrize("resume_at", [6, 8])
def test_resuming_a_patient_run_is_bit_exact(tmp_path, resume_at):
    """The epochs since the best one are counted from the checkpoint's histories: resumed in
    the middle of the count (epoch 6), the run stops where the run in one go did; resumed
    from where it stopped (epoch 8), it trains nothing more."""
    whole = patient_run(30, patience=3)
    whole[1].train()
    part = patient_run(resume_at, patience=3, checkpoint_dir=tmp_path)
    part[1].train()
    assert part[1].stopped_early is None  # it reached its own num_epochs
    resumed = patient_run(30, patience=3)
    resumed[1].resume(tmp_path / "last.npz").train()
    assert_same_run(whole, resumed)
    assert resumed[1].stopped_early == whole[1].stopped_early
    assert resumed[1].epoch == 8


def test_patience_must_be_a_count(rng):
    with pytest.raises(ValueError, match=r"Solver: patience must be an integer >= 1 or None, "
                                         r"got 0"):
        Solver(noisy_net(), blobs(rng), patience=0)


# --- checkpoints written before the validation loss ------------------------------------------

def test_a_version_1_checkpoint_reads_with_nan_val_losses_and_resumes(tmp_path):
    _, solver = patient_run(2, checkpoint_dir=tmp_path)
    solver.train()
    path = tmp_path / "last.npz"
    with np.load(path) as npz:  # as the library wrote it before it measured the val loss
        arrays = {key: npz[key] for key in npz.files if key != "val_loss_history"}
    meta = json.loads(str(arrays["meta"]))
    del meta["solver"]["patience"]
    arrays["meta"] = np.array(json.dumps({**meta, "version": 1}))
    np.savez(path, **arrays)

    state = read_checkpoint(path)
    assert len(state["val_loss_history"]) == 3 and np.isnan(state["val_loss_history"]).all()
    _, resumed = patient_run(4)
    resumed.resume(path).train()
    assert np.isnan(resumed.val_loss_history[:3]).all()
    assert np.isfinite(resumed.val_loss_history[3:]).all() and len(resumed.val_loss_history) == 5

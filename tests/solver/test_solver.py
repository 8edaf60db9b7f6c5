"""The Solver: training, histories, argument checks, exact resume, divergence, progress output."""

import math
import re

import numpy as np
import pytest

from solver import FullyConnectedNet, Solver, TrainingDiverged, TwoLayerNet
from solver.checkpoint import read_checkpoint
from solver.optim import UPDATE_RULES


def blobs(rng, per_class=20, num_classes=3, dim=4, spread=0.3):
    """A separable data dict: one tight Gaussian blob per class around a distant centre."""
    centres = 3 * rng.standard_normal((num_classes, dim))  # (C, D)

    def split():
        y = np.repeat(np.arange(num_classes), per_class)  # (N,)
        X = centres[y] + spread * rng.standard_normal((len(y), dim))  # (N, D)
        return X.astype(np.float32), y

    (X_train, y_train), (X_val, y_val) = split(), split()
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}


def small_net(seed=0, **kwargs):
    return FullyConnectedNet([16, 12], input_dim=4, num_classes=3, weight_scale=0.3, seed=seed,
                             **kwargs)


def test_two_layer_net_fits_a_separable_set(rng):
    data = blobs(rng)
    model = TwoLayerNet(input_dim=4, hidden_dim=20, num_classes=3, weight_scale=0.1,
                        dtype=np.float32, seed=0)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    num_epochs=20, batch_size=10).train()
    assert solver.check_accuracy(data["X_train"], data["y_train"]) == 1.0
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < solver.loss_history[0] / 5


@pytest.mark.parametrize("rule", list(UPDATE_RULES))
def test_float32_end_to_end(rule, rng):
    data = blobs(rng)
    data["X_train"] = data["X_train"].astype(np.float64)  # float64 data must not matter
    model = small_net()
    solver = Solver(model, data, update_rule=rule, num_epochs=2, batch_size=16).train()
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert all(p.dtype == np.float32 for p in solver.best_params.values())
    for config in solver.optim_configs.values():
        assert all(v.dtype == np.float32 for v in config.values() if isinstance(v, np.ndarray))


class RowRecorder:
    """Wraps a model; records which training rows (numbered by their first feature) it sees."""

    def __init__(self, model):
        self.model, self.params, self.buffers, self.batches = model, model.params, {}, []

    def loss(self, X, y=None):
        if y is not None:
            self.batches.append([int(row) for row in X[:, 0]])
        return self.model.loss(X, y)


def test_each_epoch_walks_a_fresh_permutation_including_the_last_partial_batch(rng):
    data = blobs(rng, per_class=5)  # 15 examples: batches of 4, 4, 4, 3
    data["X_train"][:, 0] = np.arange(15)
    model = RowRecorder(small_net())
    solver = Solver(model, data, num_epochs=3, batch_size=4).train()
    assert [len(batch) for batch in model.batches] == [4, 4, 4, 3] * 3
    assert len(solver.loss_history) == 12
    orders = [sum(model.batches[e * 4:(e + 1) * 4], []) for e in range(3)]
    assert all(sorted(order) == list(range(15)) for order in orders)
    assert orders[0] != orders[1] and orders[1] != orders[2]


def test_learning_rate_decays_after_each_epoch_and_user_config_is_untouched(rng):
    config = {"learning_rate": 0.05}
    solver = Solver(small_net(), blobs(rng), update_rule="sgd_momentum", optim_config=config,
                    lr_decay=0.9, num_epochs=3, batch_size=20).train()
    assert config == {"learning_rate": 0.05}
    expected = 0.05 * 0.9 * 0.9 * 0.9
    assert {c["learning_rate"] for c in solver.optim_configs.values()} == {expected}
    assert solver.optim_configs["W1"] is not solver.optim_configs["W2"]


def test_histories_best_weights_and_epoch(rng):
    data = blobs(rng, spread=2.0)
    model = small_net()
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 3e-2},
                    num_epochs=6, batch_size=8, num_train_samples=20)
    assert solver.epoch == 0 and solver.loss_history == []
    solver.train()
    assert solver.epoch == 6
    # The course's epoch 0 (after the first iteration), then one entry per epoch.
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 6 + 1
    assert len(solver.loss_history) == 6 * math.ceil(60 / 8)
    assert solver.best_val_acc == max(solver.val_acc_history[1:])
    for name, w in model.params.items():
        assert np.array_equal(w, solver.best_params[name])
        assert w is not solver.best_params[name]
    best_epoch = solver.val_acc_history.index(solver.best_val_acc)
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.val_acc_history[best_epoch]


def test_check_accuracy_subsamples_reproducibly_without_touching_training(rng):
    data = blobs(rng, spread=3.0)
    solver = Solver(small_net(), data, num_epochs=1, seed=3)
    state = solver._rng.bit_generator.state
    first = solver.check_accuracy(data["X_val"], data["y_val"], num_samples=25, batch_size=7)
    again = solver.check_accuracy(data["X_val"], data["y_val"], num_samples=25, batch_size=7)
    assert first == again and (first * 25) == round(first * 25)
    assert solver._rng.bit_generator.state == state
    full = solver.check_accuracy(data["X_val"], data["y_val"], batch_size=7)
    scores = solver.model.loss(data["X_val"])
    assert full == np.mean(np.argmax(scores, axis=1) == data["y_val"])
    with pytest.raises(ValueError, match=r"check_accuracy: y must have shape \(N,\) = \(60,\)"):
        solver.check_accuracy(data["X_val"], data["y_val"][:-1])
    with pytest.raises(ValueError, match=r"check_accuracy: X must have shape .* with N >= 1"):
        solver.check_accuracy(data["X_val"][:0], data["y_val"][:0])


@pytest.mark.parametrize("kwargs, error, message", [
    ({"learning_rate": 0.1}, TypeError, "unexpected keyword argument 'learning_rate'"),
    ({"batch_size": 0}, ValueError, "Solver: batch_size must be an integer >= 1, got 0"),
    ({"batch_size": 2.5}, ValueError, "Solver: batch_size must be an integer >= 1"),
    ({"update_rule": "adagrad"}, ValueError,
     "Solver: update_rule must be one of 'sgd', 'sgd_momentum', 'rmsprop', 'adam', got 'adagrad'"),
    ({"lr_decay": 0.0}, ValueError, "Solver: lr_decay must be a finite number > 0"),
    ({"lr_decay": -0.5}, ValueError, "Solver: lr_decay must be a finite number > 0"),
    ({"num_epochs": -1}, ValueError, "Solver: num_epochs must be an integer >= 0"),
    ({"num_train_samples": 0}, ValueError,
     "Solver: num_train_samples must be an integer >= 1 or None"),
    ({"seed": -1}, ValueError, "Solver: seed must be an integer >= 0"),
    ({"optim_config": {"lr": 0.1}}, ValueError, "sgd: unknown config key 'lr'"),
    ({"update_rule": "adam", "optim_config": {"beta1": 1.0}}, ValueError,
     r"adam: config\['beta1'\] must be a number in \[0, 1\)"),
    ({"settings": {"data": np.zeros(2)}}, ValueError, "Solver: settings must be JSON-serialisable"),
    ({"settings": [1, 2]}, TypeError, "Solver: settings must be a dict"),
    # Found by fuzzing (issue 14): these used to raise errors that did not name the Solver.
    ({"update_rule": ["sgd"]}, TypeError,
     r"Solver: update_rule must be one of 'sgd', .* got \['sgd'\]"),
    ({"checkpoint_dir": 123}, TypeError,
     r"Solver: checkpoint_dir must be a path \(a str or os.PathLike\) or None, got int 123"),
    ({"checkpoint_name": b"run"}, TypeError, r"Solver: checkpoint_name must be a path"),
    ({"optim_config": {"learning_rate": "x"}}, TypeError,
     r"Solver: optim_config: sgd: config\['learning_rate'\] must be a real number, got str"),
])
def test_bad_arguments_are_refused(kwargs, error, message, rng):
    with pytest.raises(error, match=message):
        Solver(small_net(), blobs(rng), **kwargs)


def test_arguments_after_data_are_keyword_only(rng):
    with pytest.raises(TypeError, match=r"takes 3 positional arguments but 4 were given"):
        Solver(small_net(), blobs(rng), "adam")


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("y_val"), "Solver: data lacks y_val; it needs X_train, y_train, X_val, y_val"),
    (lambda d: d.update(y_train=d["y_train"][:-1]),
     "Solver: X_train and y_train must have the same length, got 60 and 59"),
    (lambda d: d.update(y_val=d["y_val"] + 0.5),
     "Solver: y_val must be a 1-d array of integer labels"),
    (lambda d: d.update(X_train=d["X_train"][:, 0]),
     r"Solver: X_train must have shape \(N, d1, ..., dk\)"),
    (lambda d: d.update(X_val=d["X_val"][:, :3]),
     r"Solver: X_val of shape \(60, 3\) does not fit the model: FullyConnectedNet"),
    (lambda d: d.update(y_train=d["y_train"] + 1),
     r"Solver: y_train holds label 3; the model scores 3 classes, so labels must lie in "
     r"\[0, 3\)"),
    (lambda d: d.update(X_train=[[1.0, 2.0, 3.0, 4.0], [3.0]]),  # found by fuzzing
     r"Solver: X_train cannot be made an array: .*inhomogeneous"),
])
def test_bad_data_is_refused(change, message, rng):
    data = blobs(rng)
    change(data)
    with pytest.raises(ValueError, match=message):
        Solver(small_net(), data)


def test_whole_number_float_labels_are_taken_as_ints(rng):
    data = blobs(rng)
    as_floats = {**data, "y_train": data["y_train"].astype(np.float32),
                 "y_val": data["y_val"].astype(float)}
    solver = Solver(small_net(), as_floats)
    assert solver.y_train.dtype == solver.y_val.dtype == np.intp
    np.testing.assert_array_equal(solver.y_train, data["y_train"])


def test_model_without_the_contract_is_refused(rng):
    with pytest.raises(TypeError, match="Solver: model must have a dict `params` and a method"):
        Solver(object(), blobs(rng))


def test_quiet_solver_prints_nothing_and_the_progress_bar_goes_to_stderr(rng, capsys):
    data = blobs(rng)
    Solver(small_net(), data, num_epochs=2, verbose=False).train()
    assert capsys.readouterr() == ("", "")
    Solver(small_net(), data, num_epochs=2, verbose=False, progress_bar=True).train()
    out, err = capsys.readouterr()
    assert out == ""
    assert "epoch 2/2" in err and "val_acc=" in err and "loss=" in err


def test_verbose_prints_the_course_lines(rng, capsys):
    data = blobs(rng)  # 60 examples: 12 iterations of 5 per epoch
    solver = Solver(small_net(), data, num_epochs=2, batch_size=5, print_every=10).train()
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    losses, accs = solver.loss_history, list(zip(solver.train_acc_history,
                                                  solver.val_acc_history))
    assert lines == [
        f"(Iteration 1 / 24) loss: {losses[0]:f}",
        f"(Epoch 0 / 2) train acc: {accs[0][0]:f}; val_acc: {accs[0][1]:f}",
        f"(Iteration 11 / 24) loss: {losses[10]:f}",
        f"(Epoch 1 / 2) train acc: {accs[1][0]:f}; val_acc: {accs[1][1]:f}",
        f"(Iteration 21 / 24) loss: {losses[20]:f}",
        f"(Epoch 2 / 2) train acc: {accs[2][0]:f}; val_acc: {accs[2][1]:f}"]
    assert re.fullmatch(r"\(Iteration 1 / 24\) loss: \d+\.\d{6}", lines[0])


def test_checkpoint_name_writes_an_npz_checkpoint_every_epoch(rng, tmp_path):
    name = tmp_path / "net"
    solver = Solver(small_net(), blobs(rng), num_epochs=2, verbose=False, checkpoint_name=name)
    solver.train()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net_epoch_1.npz", "net_epoch_2.npz"]
    state = read_checkpoint(tmp_path / "net_epoch_2.npz")  # read with allow_pickle=False
    assert state["epoch"] == 2 and state["val_acc_history"] == solver.val_acc_history


RESUME_CASES = [("sgd", {"learning_rate": 0.1}, None),
                ("sgd_momentum", {"learning_rate": 0.05}, None),
                ("rmsprop", {"learning_rate": 1e-2}, None),
                ("adam", {"learning_rate": 1e-2}, None),
                ("sgd", {"learning_rate": 0.1}, 0.5)]  # clipped: the norms' history resumes too


def run(rng_seed, rule, config, num_epochs, **kwargs):
    data = blobs(np.random.default_rng(rng_seed), per_class=17, spread=2.5)
    model = small_net(seed=4)
    solver = Solver(model, data, update_rule=rule, optim_config=config, lr_decay=0.8,
                    batch_size=7, num_epochs=num_epochs, num_train_samples=23, num_val_samples=31,
                    seed=9, **kwargs)
    return model, solver


def assert_same_run(a, b):
    """Two solvers (and their models) hold bit-identical results."""
    model_a, solver_a = a
    model_b, solver_b = b
    assert model_a.params.keys() == model_b.params.keys()
    for name in model_a.params:
        assert np.array_equal(model_a.params[name], model_b.params[name]), name
        assert np.array_equal(solver_a.best_params[name], solver_b.best_params[name]), name
        config_a, config_b = solver_a.optim_configs[name], solver_b.optim_configs[name]
        assert config_a.keys() == config_b.keys()
        for key in config_a:
            assert np.array_equal(config_a[key], config_b[key]), (name, key)
    assert np.array_equal(solver_a.loss_history, solver_b.loss_history)
    assert np.array_equal(solver_a.train_acc_history, solver_b.train_acc_history)
    assert np.array_equal(solver_a.val_acc_history, solver_b.val_acc_history)
    assert np.array_equal(solver_a.val_loss_history, solver_b.val_loss_history)
    assert np.array_equal(solver_a.grad_norm_history, solver_b.grad_norm_history)
    assert solver_a.best_val_acc == solver_b.best_val_acc
    assert solver_a.epoch == solver_b.epoch
    assert solver_a._rng.bit_generator.state == solver_b._rng.bit_generator.state


@pytest.mark.parametrize("rule, config, clip_norm", RESUME_CASES,
                         ids=[c[0] + ("-clipped" if c[2] else "") for c in RESUME_CASES])
def test_two_epochs_then_resume_to_four_equals_four_in_one_go(rule, config, clip_norm, tmp_path):
    whole = run(1, rule, config, num_epochs=4, clip_norm=clip_norm)
    whole[1].train()
    first = run(1, rule, config, num_epochs=2, checkpoint_dir=tmp_path, clip_norm=clip_norm)
    first[1].train()
    resumed = run(1, rule, config, num_epochs=4, clip_norm=clip_norm)
    resumed[1].resume(tmp_path / "last.npz").train()
    assert_same_run(whole, resumed)
    assert len(resumed[1].loss_history) == 4 * math.ceil(51 / 7)
    assert len(resumed[1].grad_norm_history) == (0 if clip_norm is None else 4 * math.ceil(51 / 7))
    if clip_norm is not None:
        assert max(resumed[1].grad_norm_history) > clip_norm  # it did clip


def test_training_again_continues_from_the_last_weights_not_the_best():
    whole = run(1, "sgd_momentum", {"learning_rate": 0.05}, num_epochs=4)
    whole[1].train()
    first = run(1, "sgd_momentum", {"learning_rate": 0.05}, num_epochs=2)
    first[1].train()
    assert first[1].val_acc_history[1] > first[1].val_acc_history[2]  # the model holds epoch 1's
    first[1].num_epochs = 4
    first[1].train()
    assert_same_run(whole, first)


def test_checkpoint_saved_after_train_resumes_exactly(tmp_path):
    whole = run(1, "adam", {"learning_rate": 1e-2}, num_epochs=5)
    whole[1].train()
    part = run(1, "adam", {"learning_rate": 1e-2}, num_epochs=3)
    part[1].train()  # the model now holds the best weights, yet the saved run is the last one
    part[1].save_checkpoint(tmp_path / "after.npz")
    resumed = run(1, "adam", {"learning_rate": 1e-2}, num_epochs=5)
    resumed[1].resume(tmp_path / "after.npz").train()
    assert_same_run(whole, resumed)


def test_resume_refuses_another_architecture_or_rule(tmp_path, rng):
    data = blobs(rng)
    Solver(small_net(), data, num_epochs=1, checkpoint_dir=tmp_path).train()
    other = FullyConnectedNet([16, 13], input_dim=4, num_classes=3, seed=0)
    with pytest.raises(ValueError, match=r"params\['W2'\] is float32 of shape \(16, 12\) in the "
                                         r"checkpoint, float32 of shape \(16, 13\) in the model"):
        Solver(other, data).resume(tmp_path / "last.npz")
    deeper = FullyConnectedNet([16, 12, 8], input_dim=4, num_classes=3, seed=0)
    with pytest.raises(ValueError, match=r"the checkpoint's params are \['W1', 'W2', 'W3', 'b1'"):
        Solver(deeper, data).resume(tmp_path / "last.npz")
    wider64 = small_net(dtype=np.float64)
    with pytest.raises(ValueError, match=r"float32 of shape \(4, 16\) in the checkpoint, float64"):
        Solver(wider64, data).resume(tmp_path / "last.npz")
    with pytest.raises(ValueError, match="trained with update_rule='sgd', this solver uses 'adam'"):
        Solver(small_net(), data, update_rule="adam").resume(tmp_path / "last.npz")


def test_checkpoint_dir_gets_last_every_epoch_and_best_on_improvement(tmp_path, rng):
    data = blobs(rng, spread=2.5)
    solver = Solver(small_net(), data, update_rule="adam", optim_config={"learning_rate": 5e-2},
                    num_epochs=5, batch_size=10, checkpoint_dir=tmp_path / "run",
                    settings={"dataset": "blobs", "hidden_dims": [16, 12]}).train()
    last = read_checkpoint(tmp_path / "run" / "last.npz")
    best = read_checkpoint(tmp_path / "run" / "best.npz")
    assert last["epoch"] == 5
    best_epoch = solver.val_acc_history.index(solver.best_val_acc, 1)  # entry e: epoch e
    assert best["epoch"] == best_epoch
    assert best["best_val_acc"] == solver.best_val_acc
    for name, w in best["params"].items():
        assert np.array_equal(w, solver.best_params[name])
    assert last["settings"] == {"dataset": "blobs", "hidden_dims": [16, 12]}
    assert last["solver"]["update_rule"] == "adam"
    assert last["solver"]["optim_config"]["learning_rate"] == 5e-2
    assert last["diverged"] is None
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["best.npz", "last.npz"]


@pytest.mark.parametrize("terminal", [True, False])
def test_the_progress_bar_redraws_often_only_on_a_terminal(rng, monkeypatch, terminal):
    """Into a log file or a pipe every redraw is kept: there the bar is drawn at an epoch's
    start and end (and once a minute), not ten times a second."""
    import solver.solver as solver_module
    real_tqdm, intervals = solver_module.tqdm, []

    def recording_tqdm(*args, **kwargs):
        intervals.append(kwargs["mininterval"])
        return real_tqdm(*args, **kwargs)
    monkeypatch.setattr(solver_module, "tqdm", recording_tqdm)
    monkeypatch.setattr(solver_module.sys.stderr, "isatty", lambda: terminal, raising=False)
    Solver(small_net(), blobs(rng), num_epochs=2, verbose=True).train()
    assert intervals == ([0.1, 0.1] if terminal else [60, 60])


def test_stopped_between_the_two_checkpoint_writes_the_resumed_run_keeps_best_npz(tmp_path,
                                                                                  rng):
    """Ctrl-C after the first of an epoch's two writes, whichever it is: resuming from
    last.npz must leave best.npz as an uninterrupted run leaves it."""
    data = blobs(rng, spread=2.5)

    def make(checkpoint_dir):
        return Solver(small_net(), data, update_rule="adam", optim_config={"learning_rate": 2e-2},
                      num_epochs=2, batch_size=10, checkpoint_dir=checkpoint_dir)

    whole = make(tmp_path / "whole").train()
    assert whole.val_acc_history[1] > whole.val_acc_history[0]  # epoch 2 improves: two writes

    class StoppedInEpoch2(Solver):
        writes = 0

        def save_checkpoint(self, path, **kwargs):
            if self.epoch == 2:
                StoppedInEpoch2.writes += 1
                if StoppedInEpoch2.writes == 2:
                    raise KeyboardInterrupt
            super().save_checkpoint(path, **kwargs)

    stopped = make(tmp_path / "stopped")
    stopped.__class__ = StoppedInEpoch2
    with pytest.raises(KeyboardInterrupt):
        stopped.train()
    make(tmp_path / "stopped").resume(tmp_path / "stopped" / "last.npz").train()
    for name in ("best.npz", "last.npz"):
        expected = read_checkpoint(tmp_path / "whole" / name)
        got = read_checkpoint(tmp_path / "stopped" / name)
        assert got["epoch"] == expected["epoch"] == 2, name
        for key, w in expected["params"].items():
            assert np.array_equal(got["params"][key], w), (name, key)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_in_the_first_epoch_keeps_the_initial_weights(rng):
    model = small_net()
    initial = {name: w.copy() for name, w in model.params.items()}
    solver = Solver(model, blobs(rng), optim_config={"learning_rate": 1e6}, batch_size=5)
    message = r"at epoch 1 of 10, iteration \d+ of 12.*lower learning rate"
    with pytest.raises(TrainingDiverged, match=message) as info:
        solver.train()
    assert isinstance(info.value, RuntimeError)
    assert info.value.epoch == 1 and not math.isfinite(info.value.loss)
    for name, w in model.params.items():
        assert np.array_equal(w, initial[name])
    assert all(math.isfinite(loss) for loss in solver.loss_history)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_later_keeps_the_best_weights_and_saves_last(rng, tmp_path):
    # The learning rate grows 10^4-fold each epoch: fine at first, then the loss blows up.
    model = small_net()
    solver = Solver(model, blobs(rng), optim_config={"learning_rate": 1e-2}, lr_decay=1e4,
                    batch_size=10, num_epochs=6, checkpoint_dir=tmp_path)
    with pytest.raises(TrainingDiverged) as info:
        solver.train()
    assert info.value.epoch > 1
    for name, w in model.params.items():
        assert np.array_equal(w, solver.best_params[name])
    last = read_checkpoint(tmp_path / "last.npz")
    assert last["diverged"]["epoch"] == info.value.epoch
    assert last["diverged"]["iteration"] == info.value.iteration
    for name, w in last["params"].items():
        assert np.array_equal(w, solver.best_params[name])
    assert read_checkpoint(tmp_path / "best.npz")["best_val_acc"] == solver.best_val_acc
    # the same settings would only diverge again, appending to the failed epoch's losses
    where = f"at epoch {info.value.epoch}, iteration {info.value.iteration}, where the loss became"
    with pytest.raises(ValueError, match=rf"Solver.resume: '.*last\.npz' was written when "
                                         rf"training diverged {where} .*; train again with a "
                                         rf"lower learning rate$"):
        Solver(small_net(), blobs(rng)).resume(tmp_path / "last.npz")

"""The ``solver`` command line, run in-process through ``main`` (and once as ``python -m solver``):
its outputs, resuming, evaluating, config files, and one clear line for every bad input."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import solver.run as solver_run
from solver.checkpoint import read_checkpoint
from solver.cli import main
from solver.settings import SETTINGS
from solver.models import TwoLayerNet
from solver.solver import Solver

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The settings `solver train` wrote into history.json and every checkpoint (but for "out") of a
# run with the default settings, before the settings were one table: the defaults, pinned.
DEFAULT_SETTINGS = {
    "dataset": "digits", "data_dir": None, "num_train": None, "num_val": None, "num_test": None,
    "model": "two-layer", "hidden_dims": [100], "normalization": "none",
    "dropout_keep_ratio": 1.0, "conv_filters": [32, 32], "filter_size": [3, 3], "pool": [2, 2],
    "update_rule": "adam", "learning_rate": 0.005, "momentum": 0.9, "decay_rate": 0.99,
    "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-08, "lr_decay": 0.95, "batch_size": 50,
    "epochs": 30, "patience": None, "reg": 0.0, "weight_scale": 0.01, "dtype": "float32",
    "seed": 0, "cell_type": "lstm", "wordvec_dim": 32, "num_layers": 2, "num_heads": 4,
    "clip_norm": None}


def run(capsys, *argv):
    """main(argv) -> (exit status, stdout, stderr)."""
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-epoch digits run with the default settings, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--epochs", "2", "--out", str(out), "--quiet"]) == 0
    return out


def test_train_writes_checkpoints_history_and_plots(tmp_path, capsys):
    status, stdout, stderr = run(capsys, "train", "--epochs", 2, "--out", tmp_path, "--quiet")
    assert status == 0 and stderr == ""
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["settings"] == {**DEFAULT_SETTINGS, "epochs": 2, "out": str(tmp_path)}
    # epoch 0 (after the first iteration, as the course's Solver) and one entry per epoch
    assert history["epochs"] == 2 and len(history["val_acc_history"]) == 2 + 1
    assert len(history["val_loss_history"]) == 2 + 1 and "stopped_early" not in history
    assert len(history["loss_history"]) == 2 * 26  # 1257 examples in batches of 50
    assert history["best_val_acc"] == max(history["val_acc_history"][1:])
    assert 0 <= history["test_acc"] <= 1 and history["seconds"] > 0
    for name in ("last.npz", "best.npz"):
        state = read_checkpoint(tmp_path / name)
        assert state["settings"]["model"] == "two-layer" and "out" not in state["settings"]
    assert read_checkpoint(tmp_path / "last.npz")["epoch"] == 2
    for name in ("history.png", "weights.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE)
    assert not (tmp_path / "regions.png").exists()  # digits are not 2-d points
    summary, where = stdout.splitlines()
    assert re.fullmatch(r"best val accuracy 0\.\d{4} \(epoch [12] of 2\), test accuracy "
                        r"0\.\d{4}, \d+\.\d s of training", summary)
    assert where == (f"wrote last.npz, best.npz, history.json, history.png, weights.png in "
                     f"{tmp_path}")


def test_the_default_out_folder_is_named_after_dataset_and_model(tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "train", "--dataset", "spiral", "--model", "fc", "--epochs", 1,
               "--quiet")[0] == 0
    out = tmp_path / "runs" / "spiral-fc" / "version_0"  # every run a folder of its own
    assert (out / "regions.png").read_bytes().startswith(PNG_SIGNATURE)
    assert not (out / "weights.png").exists()  # spiral points are no pictures


def test_cifar10_from_a_data_dir_draws_colour_templates(tmp_path, capsys, rng):
    from tests.solver.test_data import _write_cifar

    _write_cifar(tmp_path / "data" / "cifar-10-batches-py", rng)
    out = tmp_path / "out"
    status, stdout, _ = run(capsys, "train", "--dataset", "cifar10", "--data-dir",
                            tmp_path / "data", "--num-train", 30, "--num-val", 10, "--num-test",
                            10, "--hidden-dims", 8, "--weight-scale", 1e-4, "--epochs", 1,
                            "--batch-size", 10, "--out", out, "--quiet")
    assert status == 0 and "weights.png" in stdout
    assert (out / "weights.png").read_bytes().startswith(PNG_SIGNATURE)
    assert read_checkpoint(out / "best.npz")["params"]["W1"].shape == (3 * 32 * 32, 8)
    # evaluate finds the data where the checkpoint says, or where --data-dir says
    (tmp_path / "data").rename(tmp_path / "moved")
    status, _, stderr = run(capsys, "evaluate", out / "best.npz")
    assert status == 1 and "no data_batch_1 in" in stderr
    status, stdout, _ = run(capsys, "evaluate", out / "best.npz", "--data-dir", tmp_path / "moved")
    assert status == 0 and re.match(r"val accuracy \d\.\d{4} \(\d+ of 10\)", stdout)


def test_the_model_is_the_one_the_settings_describe(tmp_path, capsys):
    status, _, _ = run(capsys, "train", "--dataset", "spiral", "--model", "fc", "--hidden-dims",
                       "16,8", "--dtype", "float64", "--epochs", 1, "--out", tmp_path, "--quiet")
    assert status == 0
    params = read_checkpoint(tmp_path / "last.npz")["params"]
    assert {name: w.shape for name, w in params.items()} == {
        "W1": (2, 16), "b1": (16,), "W2": (16, 8), "b2": (8,), "W3": (8, 3), "b3": (3,)}
    assert params["W1"].dtype == np.float64


def test_the_cli_trains_exactly_what_the_library_trains(tmp_path, capsys):
    """Same settings through the CLI and by hand: the same weights, to the last bit."""
    from solver.data import load_dataset

    assert run(capsys, "train", "--epochs", 2, "--hidden-dims", 30, "--seed", 4, "--out",
               tmp_path, "--quiet")[0] == 0
    data = load_dataset("digits", flatten=True)
    model = TwoLayerNet(64, 30, 10, weight_scale=1e-2, seed=4, dtype=np.float32)
    Solver(model, data, update_rule="adam", optim_config={"learning_rate": 5e-3},
           lr_decay=0.95, batch_size=50, num_epochs=2, seed=4, verbose=False).train()
    best = read_checkpoint(tmp_path / "best.npz")["params"]
    for name, w in model.params.items():
        np.testing.assert_array_equal(best[name], w)


def test_resuming_two_epochs_to_four_is_bit_exact(tmp_path, capsys):
    at_once, in_two = tmp_path / "at_once", tmp_path / "in_two"
    common = ["--update-rule", "sgd_momentum", "--hidden-dims", 40, "--quiet"]
    assert run(capsys, "train", "--epochs", 4, "--out", at_once, *common)[0] == 0
    assert run(capsys, "train", "--epochs", 2, "--out", in_two, *common)[0] == 0
    status, stdout, stderr = run(capsys, "train", "--resume", in_two / "last.npz", "--epochs", 4)
    assert status == 0 and f"in {in_two}" in stdout  # the checkpoint's folder by default
    epochs_shown = re.findall(r"^epoch (\d)/4: ", stdout, re.MULTILINE)  # no terminal here
    assert epochs_shown == ["3", "4"]  # it continued: lines for epochs 3 and 4 only
    one, two = read_checkpoint(at_once / "last.npz"), read_checkpoint(in_two / "last.npz")
    assert two["epoch"] == 4
    for group in ("params", "best_params"):
        for name, w in one[group].items():
            np.testing.assert_array_equal(two[group][name], w)
    assert one["loss_history"] == two["loss_history"]
    assert one["val_acc_history"] == two["val_acc_history"]
    history = json.loads((in_two / "history.json").read_text())
    assert history["settings"]["epochs"] == 4 and len(history["val_acc_history"]) == 4 + 1


def test_resuming_into_another_folder_starts_it_with_the_checkpoints(trained, tmp_path,
                                                                      capsys, monkeypatch):
    # stopped before its first epoch: the new folder holds exactly what was carried over
    def interrupted(self):
        raise KeyboardInterrupt
    monkeypatch.setattr(Solver, "train", interrupted)
    status, _, stderr = run(capsys, "train", "--resume", trained / "last.npz", "--epochs", 3,
                            "--out", tmp_path, "--quiet")
    assert status == 130
    assert stderr.startswith(f"solver: interrupted; {tmp_path / 'last.npz'} holds the last")
    for name in ("last.npz", "best.npz"):
        assert (tmp_path / name).read_bytes() == (trained / name).read_bytes()


@pytest.mark.parametrize("split", ["val", "test"])
def test_evaluate_reports_what_training_measured(trained, capsys, split):
    history = json.loads((trained / "history.json").read_text())
    status, stdout, stderr = run(capsys, "evaluate", trained / "best.npz", "--split", split)
    assert status == 0 and stderr == ""
    accuracy = float(re.match(rf"{split} accuracy (\d\.\d+) \(\d+ of 270\)", stdout).group(1))
    expected = history["best_val_acc"] if split == "val" else history["test_acc"]
    assert accuracy == pytest.approx(expected, abs=5e-5)


def test_evaluate_scores_the_training_split(trained, capsys):
    status, stdout, _ = run(capsys, "evaluate", trained / "last.npz", "--split", "train")
    assert status == 0 and re.match(r"train accuracy 0\.\d{4} \(\d+ of 1257\)", stdout)
    assert "(epoch 2, two-layer on digits)" in stdout


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_config_file_sets_and_flags_override(tmp_path, capsys, suffix):
    values = {"learning_rate": 1e-3, "hidden_dims": [20], "epochs": 3, "update-rule": "rmsprop"}
    config = tmp_path / f"run{suffix}"
    if suffix == ".json":
        config.write_text(json.dumps(values))
    else:
        config.write_text('learning_rate = 1e-3\nhidden_dims = [20]\nepochs = 3\n'
                          'update-rule = "rmsprop"\n')
    out = tmp_path / "out"
    assert run(capsys, "train", "--config", config, "--epochs", 1, "--out", out, "--quiet")[0] == 0
    settings = json.loads((out / "history.json").read_text())["settings"]
    assert (settings["learning_rate"], settings["hidden_dims"], settings["update_rule"],
            settings["epochs"]) == (1e-3, [20], "rmsprop", 1)


def test_help_documents_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    options = re.split(r"\n  (?=-)", capsys.readouterr().out)  # one chunk per option
    for name in [*SETTINGS, "config", "resume", "quiet"]:
        flag = "--" + name.replace("_", "-")
        (chunk,) = [chunk for chunk in options if chunk.startswith(f"{flag} ")]
        assert re.search(r"\(default: [^)]+\)", " ".join(chunk.split())), chunk
    assert "(default: 0.95)" in " ".join(" ".join(options).split())


def test_help_groups_the_settings_and_says_where_each_applies(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    headings = re.findall(r"^(\w[\w ]*):$", text, re.M)
    assert headings == ["options", "data", "model", "update rule", "training", "output",
                        "running", "examples"]
    flat = " ".join(text.split())
    assert "1 means no dropout; only with --model fc (default: 1.0)" in flat
    assert "only with --update-rule rmsprop, adam (default: 1e-08)" in flat
    assert "--learning-rate LR learning rate (default: the rule's: sgd 0.5," in flat


# --- bad input: exit status, one line on stderr, no traceback -----------------------------------

def _write(path, content):
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _pickled_npz(path):
    np.savez(path, params=np.array([{"W1": 1}], dtype=object))
    return path


def _library_checkpoint(path):
    """A genuine checkpoint, but written by the Solver alone: no CLI settings in it."""
    from solver.data import load_dataset

    solver = Solver(TwoLayerNet(2, 5, 3, dtype=np.float32, seed=0),
                    load_dataset("spiral", flatten=True), num_epochs=1, verbose=False)
    solver.train()
    solver.save_checkpoint(path)
    return path


BAD_INPUTS = {
    "no command": (lambda tmp, run_dir: [], 2, "required: COMMAND"),
    # argparse would read a prefix as the one flag it starts: --lr as --lr-decay
    "abbreviated flag": (lambda tmp, run_dir: ["train", "--lr", "1e-3"], 2,
                         "unrecognized arguments: --lr 1e-3"),
    "abbreviated sweep flag": (lambda tmp, run_dir: ["sweep", "s.toml", "--out", tmp,
                                                     "--work", "2"], 2,
                               "unrecognized arguments: --work 2"),
    "unknown dataset": (lambda tmp, run_dir: ["train", "--dataset", "mnist"], 2,
                        "invalid choice 'mnist'; choose one of spiral, digits, mnist1d, cifar10"),
    "unknown rule": (lambda tmp, run_dir: ["train", "--update-rule", "nesterov"], 2,
                     "--update-rule: invalid choice 'nesterov'"),
    "negative learning rate": (lambda tmp, run_dir: ["train", "--learning-rate", "-0.1"], 2,
                               "--learning-rate: must be a number > 0, got '-0.1'"),
    "zero epochs": (lambda tmp, run_dir: ["train", "--epochs", "0"], 2, "--epochs: must be"),
    "bad hidden dims": (lambda tmp, run_dir: ["train", "--hidden-dims", "10,x"], 2,
                        "expected int, got 'x'"),
    "two widths for two-layer": (lambda tmp, run_dir: ["train", "--hidden-dims", "10,10"], 2,
                                 "--model two-layer takes 1 hidden width"),
    "momentum for adam": (lambda tmp, run_dir: ["train", "--momentum", "0.5"], 2,
                          "--momentum does not apply to --update-rule adam"),
    "batchnorm over one example": (lambda tmp, run_dir: ["train", "--model", "fc",
                                                         "--normalization", "batchnorm",
                                                         "--batch-size", "1"], 2,
                                   "--normalization batchnorm needs --batch-size 2 or more"),
    "missing data dir": (lambda tmp, run_dir: ["train", "--dataset", "cifar10", "--data-dir",
                                               tmp / "nowhere", "--out", tmp / "out"], 1,
                         "no data_batch_1 in"),
    "unknown config key": (lambda tmp, run_dir: ["train", "--config",
                                                 _write(tmp / "c.toml", "lr = 0.1\n")], 2,
                           "unknown key 'lr'; the keys are dataset, data_dir"),
    "config not toml": (lambda tmp, run_dir: ["train", "--config",
                                              _write(tmp / "c.toml", "epochs = = 3\n")], 2,
                        "is not valid TOML"),
    "bad config value": (lambda tmp, run_dir: ["train", "--config",
                                               _write(tmp / "c.json", '{"epochs": 2.5}')], 2,
                         "epochs: expected an integer, got 2.5"),
    "missing config": (lambda tmp, run_dir: ["train", "--config", tmp / "none.toml"], 2,
                       "cannot read"),
    "corrupt checkpoint": (lambda tmp, run_dir: ["evaluate",
                                                 _write(tmp / "bad.npz", b"PK\x03\x04junk")], 1,
                           "read_checkpoint"),
    "pickled checkpoint": (lambda tmp, run_dir: ["evaluate", _pickled_npz(tmp / "p.npz")], 1,
                           "pickle"),
    "missing checkpoint": (lambda tmp, run_dir: ["evaluate", tmp / "none.npz"], 1,
                           "does not exist"),
    "resume from corrupt": (lambda tmp, run_dir: ["train", "--resume",
                                                  _write(tmp / "bad.npz", b"garbage")], 1,
                            "read_checkpoint"),
    "not a CLI checkpoint": (lambda tmp, run_dir: ["evaluate",
                                                   _library_checkpoint(tmp / "lib.npz")], 1,
                             "was not written by `solver train`"),
    "resume changes the architecture": (
        lambda tmp, run_dir: ["train", "--resume", run_dir / "last.npz", "--hidden-dims", "50",
                              "--epochs", "3", "--out", tmp / "out"], 2,
        "--hidden-dims cannot change when resuming (the checkpoint has [100], got [50])"),
    "resume to fewer epochs": (lambda tmp, run_dir: ["train", "--resume", run_dir / "last.npz",
                                                     "--epochs", "1", "--out", tmp / "out"], 2,
                               "has trained 2 epochs already"),
    "more examples than the dataset has": (
        lambda tmp, run_dir: ["train", "--num-train", "100000", "--out", tmp / "out"], 2,
        "load_dataset('digits'): asked for 100540 images in train + val + test, but there are "
        "only 1797: lower --num-train, --num-val or --num-test"),
    "evaluate a run's folder": (lambda tmp, run_dir: ["evaluate", run_dir], 1,
                                "is a folder, not a checkpoint: name one in it, such as "),
    "resume a finished run": (lambda tmp, run_dir: ["train", "--resume", run_dir / "last.npz",
                                                    "--out", tmp / "out"], 2,
                              "has trained 2 epochs already; nothing to resume until --epochs "
                              "is more than that, got 2"),
    "diverging": (lambda tmp, run_dir: ["train", "--update-rule", "sgd", "--learning-rate",
                                        "1e4", "--epochs", "1", "--out", tmp / "out"], 1,
                  "training diverged"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_gives_one_line_and_an_exit_status(tmp_path, trained, capsys, case):
    make_argv, expected_status, message = BAD_INPUTS[case]
    argv = make_argv(tmp_path, trained)
    status, stdout, stderr = run(capsys, *argv, *(["--quiet"] if argv[:1] == ["train"] else []))
    assert status == expected_status
    assert len(stderr.splitlines()) == 1 and "Traceback" not in stderr
    assert message in stderr
    top_level = ("no command", "abbreviated flag", "abbreviated sweep flag")  # solver's own
    assert stderr.startswith("solver train: error: " if status == 2 and case not in top_level
                             else "solver: error: ")


def test_saved_settings_feed_config_even_with_options_their_rule_does_not_take(trained,
                                                                               tmp_path, capsys):
    """history.json (like a sweep's settings.json) holds every option, momentum among them
    for an Adam run: at their defaults they contradict nothing."""
    settings = json.loads((trained / "history.json").read_text())["settings"]
    assert settings["update_rule"] == "adam" and "momentum" in settings
    settings.update(out=str(tmp_path / "again"))
    config = _write(tmp_path / "settings.json", json.dumps(settings))
    status, _, stderr = run(capsys, "train", "--config", config, "--quiet")
    assert status == 0, stderr
    again = json.loads((tmp_path / "again" / "history.json").read_text())
    first = json.loads((trained / "history.json").read_text())
    assert again["loss_history"] == first["loss_history"]


def test_a_fresh_run_never_replaces_an_earlier_run_unless_told(trained, tmp_path, capsys):
    for name in ("best.npz", "last.npz", "history.json", "weights.png"):
        (tmp_path / name).write_bytes((trained / name).read_bytes())
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    for quiet in ([], ["--quiet"]):
        status, _, stderr = run(capsys, "train", "--epochs", 1, "--out", tmp_path, *quiet)
        assert status == 2
        assert stderr == (f"solver train: error: --out {tmp_path} holds a run (last.npz, "
                          f"best.npz, history.json); a fresh run never replaces one: pass "
                          f"--resume {tmp_path / 'last.npz'} to continue it, --overwrite to "
                          f"replace it, or leave out --out to start a new numbered folder\n")
        assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
    status, stdout, _ = run(capsys, "train", "--update-rule", "sgd", "--learning-rate", "1e4",
                            "--epochs", 1, "--out", tmp_path, "--overwrite")  # diverges
    assert status == 1
    assert stdout.splitlines()[1] == f"replacing the earlier run in {tmp_path}"
    assert not (tmp_path / "best.npz").exists() and not (tmp_path / "weights.png").exists()
    assert read_checkpoint(tmp_path / "last.npz")["diverged"]["epoch"] == 1
    assert "diverged" in json.loads((tmp_path / "history.json").read_text())


def _copy_run(source, folder):
    """Copy the run in ``source`` into ``folder``; return its files' bytes by name."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_a_resumed_run_never_replaces_another_run_unless_told(trained, tmp_path, capsys):
    victim = tmp_path / "victim"
    before = _copy_run(trained, victim)
    mine = tmp_path / "mine"
    _copy_run(trained, mine)
    argv = ["train", "--resume", mine / "last.npz", "--epochs", 3, "--out", victim, "--quiet"]
    status, _, stderr = run(capsys, *argv)
    assert status == 2 and f"--out {victim} holds a run (last.npz, best.npz, history.json)" in stderr
    assert {path.name: path.read_bytes() for path in victim.iterdir()} == before
    status, _, stderr = run(capsys, *argv, "--overwrite")
    assert status == 0, stderr
    assert sorted(path.name for path in victim.iterdir()) == sorted(before)  # no stray folder
    assert read_checkpoint(victim / "last.npz")["epoch"] == 3


def _interrupted(when, train=Solver.train):
    """A Solver.train that Ctrl-C stops before the first epoch ends, or after one."""
    def interrupted(self):
        if when == "after an epoch":
            self.num_epochs = 1
            train(self)
        raise KeyboardInterrupt
    return interrupted


@pytest.mark.parametrize("when", ["while loading", "before the first epoch", "after an epoch"])
def test_ctrl_c_of_an_overwriting_run_loses_nothing(trained, tmp_path, capsys, monkeypatch, when):
    """--overwrite replaces the earlier run only once the new one has something to show: a
    Ctrl-C before its first epoch ends leaves the earlier run as it was."""
    before = _copy_run(trained, tmp_path)
    interrupted = _interrupted(when)

    def interrupted_load(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(Solver, "train", interrupted)
    if when == "while loading":
        monkeypatch.setattr(solver_run, "data_and_model", interrupted_load)
    status, _, stderr = run(capsys, "train", "--epochs", 3, "--seed", 1, "--out", tmp_path,
                            "--overwrite", "--quiet")
    assert status == 130
    now = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    if when == "after an epoch":
        assert stderr.startswith(f"solver: interrupted; {tmp_path / 'last.npz'} holds the last")
        assert now["last.npz"] != before["last.npz"] and "weights.png" not in now
        assert read_checkpoint(tmp_path / "last.npz")["settings"]["seed"] == 1
    else:
        assert stderr == (f"solver: interrupted; stopped before the first epoch ended: nothing "
                          f"was saved, and the earlier run in {tmp_path} is as it was\n")
        assert now == before


def test_a_run_stopped_before_its_first_epoch_is_not_offered_for_resume(tmp_path, capsys,
                                                                        monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt
    monkeypatch.setattr(Solver, "train", interrupted)
    assert run(capsys, "train", "--out", tmp_path, "--quiet")[0] == 130
    monkeypatch.undo()
    status, _, stderr = run(capsys, "train", "--epochs", 1, "--out", tmp_path, "--quiet")
    assert status == 2
    assert stderr == (f"solver train: error: --out {tmp_path} holds a run stopped before it "
                      f"saved a checkpoint (history.json); a fresh run never replaces one: pass "
                      f"--overwrite to replace it, or leave out --out to start a new numbered "
                      f"folder\n")


@pytest.mark.parametrize("flag", [False, True])
def test_download_is_asked_for_only_with_the_flag(tmp_path, capsys, monkeypatch, flag):
    import solver.run

    asked, real_load = [], solver.run.load_dataset

    def recording_load(*args, **kwargs):
        asked.append(kwargs["download"])
        return real_load(*args, **kwargs)
    monkeypatch.setattr(solver.run, "load_dataset", recording_load)
    status, _, stderr = run(capsys, "train", "--epochs", 1, "--out", tmp_path, "--quiet",
                            *(["--download"] if flag else []))
    assert status == 0, stderr
    assert asked == [flag]


def test_cifar10_without_a_data_dir_names_the_flags(tmp_path, capsys):
    status, _, stderr = run(capsys, "train", "--dataset", "cifar10", "--out", tmp_path, "--quiet")
    assert status == 1
    assert "pass data_dir (solver train --data-dir)" in stderr and "--download" in stderr


@pytest.mark.parametrize("resume", [False, True])
def test_files_a_killed_write_left_are_removed(trained, tmp_path, capsys, resume):
    for name in ("last.npz", "best.npz"):
        (tmp_path / name).write_bytes((trained / name).read_bytes())
    left = [tmp_path / "last.npz.tmp-4242-00b314a8", tmp_path / "best.npz.tmp-4242-1f2e3d4c"]
    for path in left:
        path.write_bytes(b"half a checkpoint")
    resumed = ["--resume", tmp_path / "last.npz"] if resume else ["--overwrite"]
    status, _, stderr = run(capsys, "train", *resumed, "--epochs", 3, "--out", tmp_path,
                            "--quiet")
    assert status == 0, stderr
    assert not any(path.exists() for path in left)


@pytest.mark.parametrize("when", ["before the first epoch", "after an epoch"])
def test_ctrl_c_says_what_was_saved(tmp_path, capsys, monkeypatch, when):
    interrupted = _interrupted(when)
    monkeypatch.setattr(Solver, "train", interrupted)
    status, _, stderr = run(capsys, "train", "--epochs", 3, "--out", tmp_path, "--quiet")
    assert status == 130
    last = tmp_path / "last.npz"
    assert stderr == ("solver: interrupted; stopped before the first epoch ended: nothing was "
                      "saved\n" if when == "before the first epoch" else
                      f"solver: interrupted; {last} holds the last finished epoch: continue "
                      f"with solver train --resume {last}\n")
    # however it stopped, the history so far and its plot are there, whole
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["interrupted"] is True
    assert history["epochs"] == (0 if when == "before the first epoch" else 1)
    assert (tmp_path / "history.png").read_bytes().startswith(PNG_SIGNATURE)
    assert not list(tmp_path.glob("*.tmp-*"))


def test_ctrl_c_of_a_clipped_run_keeps_its_gradient_norms_plot(tmp_path, capsys, monkeypatch):
    train = Solver.train

    def interrupted(self):
        self.num_epochs = 1
        train(self)
        raise KeyboardInterrupt
    monkeypatch.setattr(Solver, "train", interrupted)
    status, _, _ = run(capsys, "train", "--epochs", 3, "--clip-norm", 5, "--out", tmp_path,
                       "--quiet")
    assert status == 130
    assert (tmp_path / "grad_norms.png").read_bytes().startswith(PNG_SIGNATURE)


def test_running_out_of_memory_is_one_line(tmp_path, capsys, monkeypatch):
    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 47.7 GiB for an array with shape (100000000, 64)")
    monkeypatch.setattr("solver.run.data_and_model", too_big)
    status, _, stderr = run(capsys, "train", "--out", tmp_path, "--quiet")
    assert status == 1
    assert stderr == ("solver: error: out of memory: Unable to allocate 47.7 GiB for an array "
                      "with shape (100000000, 64)\n")


def test_a_diverged_run_keeps_its_history(tmp_path, capsys):
    status, _, _ = run(capsys, "train", "--update-rule", "sgd", "--learning-rate", "1e4",
                       "--epochs", 1, "--out", tmp_path, "--quiet")
    assert status == 1
    history = json.loads((tmp_path / "history.json").read_text())
    assert "the loss became nan" in history["diverged"]
    assert read_checkpoint(tmp_path / "last.npz")["diverged"]["epoch"] == 1
    status, stdout, _ = run(capsys, "evaluate", tmp_path / "last.npz")
    assert status == 0
    assert re.fullmatch(r"training diverged at epoch 1, iteration \d+, where the loss became "
                        r"nan: this checkpoint holds the best weights before that",
                        stdout.splitlines()[1])
    status, _, stderr = run(capsys, "train", "--resume", tmp_path / "last.npz", "--epochs", 2)
    assert status == 1 and "was written when training diverged at epoch 1" in stderr


# --- the real entry point ------------------------------------------------------------------------

def test_python_dash_m_solver_into_pipes_logs_each_epoch_once(tmp_path):
    """Outside a terminal (stdout and stderr pipes) no progress bar is drawn, whose every
    redraw a log would keep: each epoch is one line on stdout, and stderr stays empty."""
    result = subprocess.run(
        [sys.executable, "-m", "solver", "train", "--epochs", "2", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    start, *epochs, summary, wrote = result.stdout.splitlines()
    assert start == ("training TwoLayerNet (7,510 parameters) on digits (train / val / test: "
                     "1257 / 270 / 270), float32, 1 BLAS thread")
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(epochs) == 2
    for e, line in enumerate(epochs, start=1):
        assert re.fullmatch(
            rf"epoch {e}/2: train loss (\d\.\d{{4}}), train acc (\d\.\d{{3}}), val acc "
            rf"(\d\.\d{{3}}), val loss (\d\.\d{{4}}), \d+\.\d s", line), line
        iterations = history["loss_history"][(e - 1) * 26:e * 26]  # 1257 examples, batches of 50
        figures = [float(x) for x in re.findall(r"\d\.\d+(?= ?,)", line)]
        assert figures == [round(sum(iterations) / 26, 4),
                           round(history["train_acc_history"][e], 3),
                           round(history["val_acc_history"][e], 3),
                           round(history["val_loss_history"][e], 4)]
    assert summary.startswith("best val accuracy ") and wrote.startswith("wrote ")
    assert (tmp_path / "best.npz").is_file() and (tmp_path / "history.json").is_file()


# --- runs saved before a setting existed ---------------------------------------------------------

def _rewritten(source, path, settings):
    """The checkpoint ``source`` with its settings replaced: as an older solver wrote it."""
    from solver.checkpoint import write_checkpoint

    state = read_checkpoint(source)
    write_checkpoint(path, {**state, "settings": settings})
    return path


def test_a_checkpoint_whose_settings_lack_a_later_setting_evaluates_and_resumes(trained,
                                                                               tmp_path, capsys):
    """Settings as solver train wrote them before dropout_keep_ratio existed: it reads as 1,
    what every run did then."""
    old = {name: value for name, value in DEFAULT_SETTINGS.items()
           if name != "dropout_keep_ratio"}
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("last.npz", "best.npz"):
        _rewritten(trained / name, run_dir / name, {**old, "epochs": 2})
    status, stdout, stderr = run(capsys, "evaluate", run_dir / "best.npz")
    assert status == 0, stderr
    assert "(epoch 2, two-layer on digits)" in stdout
    status, _, stderr = run(capsys, "train", "--resume", run_dir / "last.npz", "--epochs", 3,
                            "--quiet")
    assert status == 0, stderr
    settings = json.loads((run_dir / "history.json").read_text())["settings"]
    assert settings == {**DEFAULT_SETTINGS, "epochs": 3, "out": str(run_dir)}


def test_a_setting_added_later_reads_as_its_default_and_cannot_change_on_resume(
        trained, tmp_path, capsys, monkeypatch):
    from solver.settings import SETTINGS as TABLE

    monkeypatch.setitem(TABLE, "activation", TABLE["normalization"]._replace(
        default="relu", help="the hidden layers' activation", applies=None))
    status, stdout, stderr = run(capsys, "evaluate", trained / "best.npz")  # written without it
    assert status == 0 and stderr == "" and stdout.startswith("val accuracy ")
    status, _, stderr = run(capsys, "train", "--resume", trained / "last.npz", "--epochs", 3,
                            "--activation", "batchnorm", "--out", tmp_path / "out", "--quiet")
    assert status == 2
    assert ("--activation cannot change when resuming (the checkpoint has 'relu', got "
            "'batchnorm')") in stderr
    status, _, stderr = run(capsys, "train", "--resume", trained / "last.npz", "--epochs", 3,
                            "--out", tmp_path / "out", "--quiet")
    assert status == 0, stderr
    settings = json.loads((tmp_path / "out" / "history.json").read_text())["settings"]
    assert settings["activation"] == "relu"

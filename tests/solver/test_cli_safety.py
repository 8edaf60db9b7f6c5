"""``solver`` under mistakes and kills: no run deletes another, every ending leaves its history,
odd flags are refused before the data load, a checkpoint chooses no folder to write into, a
closed pipe ends quietly, and the sweep's scheduler is checked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import solver.run
from solver.checkpoint import read_checkpoint
from solver.cli import main

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(capsys, *argv):
    """main(argv) -> (exit status, stdout, stderr)."""
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def no_data(monkeypatch):
    """Fail the test if any data is loaded."""
    def refuse(*args, **kwargs):
        raise AssertionError("the data were loaded before the command line was checked")
    monkeypatch.setattr(solver.run, "load_dataset", refuse)


def test_every_run_gets_a_folder_of_its_own(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "run.toml"
    config.write_text("epochs = 1\n")
    for argv in (["--epochs", 1], ["--config", config], ["--epochs", 1, "--quiet"]):
        status, _, stderr = run(capsys, "train", *argv)
        assert status == 0, stderr
    runs = tmp_path / "runs" / "digits-two-layer"
    assert sorted(p.name for p in runs.iterdir()) == ["version_0", "version_1", "version_2"]
    for folder in runs.iterdir():
        assert {"last.npz", "best.npz", "history.json", "history.png"} <= {
            p.name for p in folder.iterdir()}


def test_resume_continues_in_the_run_s_own_folder(tmp_path, capsys):
    assert run(capsys, "train", "--epochs", 1, "--out", tmp_path, "--quiet")[0] == 0
    status, _, stderr = run(capsys, "train", "--resume", tmp_path / "last.npz", "--epochs", 2,
                            "--quiet")
    assert status == 0, stderr
    assert read_checkpoint(tmp_path / "last.npz")["epoch"] == 2


@pytest.mark.parametrize("out, message", [
    ("afile", "--out {tmp}/afile: is a file, not a folder"),
    ("afile/run", "--out {tmp}/afile/run: cannot write there"),
    ("/proc/x", "--out /proc/x: cannot write there"),
])
def test_an_odd_out_is_named_before_any_data_loads(tmp_path, capsys, no_data, out, message):
    (tmp_path / "afile").write_text("")
    target = out if out.startswith("/") else tmp_path / out
    status, _, stderr = run(capsys, "train", "--out", target)
    assert status == 2
    assert stderr.startswith("solver train: error: " + message.format(tmp=tmp_path))
    assert len(stderr.splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["--data-dir", "somewhere"], "--data-dir does not apply to --dataset digits, which reads "
                                  "no files (it is for mnist1d, cifar10)"),
    (["--dataset", "spiral", "--data-dir", "x"], "--data-dir does not apply to --dataset "
                                                 "spiral"),
    (["--batch-size", 1258], "--batch-size 1258 is larger than the training set (1257 "
                             "examples of digits)"),
    (["--num-train", 30, "--batch-size", 31], "--batch-size 31 is larger than the training set "
                                              "(30 examples of digits)"),
    (["--threads", 0], "--threads: must be an integer >= 1, got '0'"),
])
def test_settings_that_cannot_work_are_refused_before_the_data_load(tmp_path, capsys, no_data,
                                                                    argv, message):
    status, _, stderr = run(capsys, "train", *argv, "--out", tmp_path)
    assert status == 2
    assert message in stderr and len(stderr.splitlines()) == 1


def test_a_diverged_run_leaves_the_history_and_its_plot(tmp_path, capsys):
    status, _, _ = run(capsys, "train", "--update-rule", "sgd", "--learning-rate", "1e4",
                       "--epochs", 2, "--out", tmp_path, "--quiet")
    assert status == 1
    assert "diverged" in json.loads((tmp_path / "history.json").read_text())
    assert (tmp_path / "history.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_conv_net_on_images_draws_its_first_filters(tmp_path, capsys):
    status, stdout, stderr = run(capsys, "train", "--model", "conv", "--conv-filters", 4,
                                 "--hidden-dims", 8, "--epochs", 1, "--num-train", 200,
                                 "--out", tmp_path, "--quiet")
    assert status == 0, stderr
    assert "weights.png" in stdout
    assert (tmp_path / "weights.png").read_bytes().startswith(PNG_SIGNATURE)


def test_evaluate_writes_nothing_into_the_checkpoint_s_data_dir(tmp_path, capsys):
    cache = tmp_path / "their-cache"
    status, _, stderr = run(capsys, "train", "--dataset", "mnist1d", "--data-dir", cache,
                            "--epochs", 1, "--out", tmp_path / "run", "--quiet")
    assert status == 0, stderr
    assert read_checkpoint(tmp_path / "run" / "best.npz")["settings"]["data_dir"] == str(cache)
    for path in cache.iterdir():  # the checkpoint comes from elsewhere: its folder is not here
        path.unlink()
    cache.rmdir()
    status, stdout, stderr = run(capsys, "evaluate", tmp_path / "run" / "best.npz")
    assert status == 0, stderr
    assert stdout.startswith("val accuracy ")
    assert not cache.exists()


def test_a_closed_pipe_ends_the_run_quietly(tmp_path):
    command = (f"{sys.executable} -m solver train --epochs 1 --out {tmp_path / 'run'} "
               f"| head -1")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert done.stdout.startswith("training TwoLayerNet")
    assert "Broken pipe" not in done.stderr and "Traceback" not in done.stderr
    assert done.returncode in (0, 141)
    assert (tmp_path / "run" / "history.json").is_file()


@pytest.mark.parametrize("scheduler, message", [
    ("tcp://10.1.2.3:8786", "a plain tcp:// scheduler off loopback"),
    ("10.1.2.3:8786", "a plain tcp:// scheduler off loopback"),
    ("nonsense://x", "unknown protocol 'nonsense'"),
    ("tcp://", "no host"),
])
def test_the_sweep_refuses_an_unsafe_or_bad_scheduler_at_once(tmp_path, capsys, scheduler,
                                                               message):
    sweep = tmp_path / "s.toml"
    sweep.write_text('dataset = "digits"\nmodel = "two-layer"\n[sweep]\nreg = [0.0, 0.1]\n')
    status, stdout, stderr = run(capsys, "sweep", sweep, "--out", tmp_path / "out",
                                 "--scheduler", scheduler)
    assert status == 2 and stdout == ""
    assert message in stderr and len(stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_sweep_rerun_with_nothing_left_says_so_once(tmp_path, capsys):
    sweep = tmp_path / "s.toml"
    sweep.write_text('dataset = "digits"\nmodel = "two-layer"\n[fixed]\nepochs = 1\n'
                     '[sweep]\nreg = [0.0, 0.1]\n')
    assert run(capsys, "sweep", sweep, "--out", tmp_path / "out", "--workers", 2)[0] == 0
    status, stdout, stderr = run(capsys, "sweep", sweep, "--out", tmp_path / "out")
    assert status == 0 and stderr == ""  # no progress bar for nothing
    lines = stdout.splitlines()
    assert lines[0] == (f"nothing left to do: the 2 trials of {sweep} are finished in "
                        f"{tmp_path / 'out'}")
    assert sum("nothing left to do" in line for line in lines) == 1
    header = next(line for line in lines if line.startswith("trial"))
    assert header.split() == ["trial", "seed", "reg", "status", "best_val_acc"]
    row = lines[lines.index(header) + 1].split()
    assert row[-2] == "ok" and 0 < float(row[-1]) <= 1


def test_an_unreachable_scheduler_fails_in_seconds_with_one_line_and_no_bar(tmp_path, capsys):
    import socket
    import time

    pytest.importorskip("distributed")
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sweep = tmp_path / "s.toml"
    sweep.write_text('dataset = "digits"\nmodel = "two-layer"\n[sweep]\nreg = [0.0]\n')
    start = time.monotonic()
    status, stdout, stderr = run(capsys, "sweep", sweep, "--out", tmp_path / "out",
                                 "--scheduler", f"tcp://127.0.0.1:{port}")
    assert time.monotonic() - start < 30
    assert status == 1 and stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1 and "cannot reach the Dask scheduler" in lines[0]
    assert "trial/s" not in stderr and "%|" not in stderr  # no progress bar was drawn

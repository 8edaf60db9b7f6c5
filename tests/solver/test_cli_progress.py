"""What ``solver train`` says while it trains (a bar on a terminal, one line per epoch
elsewhere), its validation loss and ``--patience``."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from solver.checkpoint import read_checkpoint

from .test_cli import ROOT, run

STOPPED = ("stopped early after epoch 13 of 40 (--patience 3): the validation accuracy has not "
           "improved for 3 epochs, since epoch 10")


def test_on_a_terminal_each_epoch_is_a_progress_bar_and_no_line(tmp_path):
    """stderr a terminal (a pseudo-terminal here), stdout a pipe: the bars go to the terminal,
    and stdout carries no epoch lines, which would say each epoch twice."""
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))  # 160 columns
    try:
        result = subprocess.run(
            [sys.executable, "-m", "solver", "train", "--epochs", "2", "--out", str(tmp_path)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=follower, text=True, timeout=120)
        os.close(follower)
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and all is read
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(leader)
    assert result.returncode == 0
    terminal = terminal.decode()
    assert "epoch 1/2" in terminal and "epoch 2/2" in terminal and "26/26" in terminal
    assert re.search(r"val_loss=\d\.\d{4}", terminal)
    assert not re.search(r"^epoch \d", result.stdout, re.MULTILINE)
    assert result.stdout.splitlines()[1].startswith("best val accuracy ")


def test_patience_stops_the_run_and_says_why(tmp_path, capsys):
    status, stdout, stderr = run(capsys, "train", "--epochs", 40, "--patience", 3, "--out",
                                 tmp_path, "--quiet")
    assert status == 0, stderr
    stopped, summary, _ = stdout.splitlines()  # said even with --quiet
    assert stopped == STOPPED
    assert summary.startswith("best val accuracy 0.9815 (epoch 10 of 13)")
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["epochs"] == 13 and history["best_epoch"] == 10
    assert history["stopped_early"] == STOPPED.partition(": ")[2]
    assert history["settings"]["patience"] == 3
    assert len(history["val_loss_history"]) == len(history["val_acc_history"]) == 13 + 1
    assert read_checkpoint(tmp_path / "best.npz")["epoch"] == 10
    assert read_checkpoint(tmp_path / "last.npz")["epoch"] == 13


def test_a_patient_run_resumed_mid_count_is_bit_exact(tmp_path, capsys):
    """Stopped after epoch 11 (one epoch past the best) and resumed, the run stops after epoch
    13 as the run in one go: same weights, histories (val loss included) and best.npz."""
    at_once, in_two = tmp_path / "at_once", tmp_path / "in_two"
    assert run(capsys, "train", "--epochs", 40, "--patience", 3, "--out", at_once)[0] == 0
    assert run(capsys, "train", "--epochs", 11, "--patience", 3, "--out", in_two)[0] == 0
    status, stdout, _ = run(capsys, "train", "--resume", in_two / "last.npz", "--epochs", 40)
    assert status == 0
    assert re.findall(r"^epoch (\d+)/40: ", stdout, re.MULTILINE) == ["12", "13"]
    assert STOPPED in stdout.splitlines()
    for name in ("last.npz", "best.npz"):
        one, two = read_checkpoint(at_once / name), read_checkpoint(in_two / name)
        assert one["epoch"] == two["epoch"]
        for group in ("params", "best_params"):
            for key, w in one[group].items():
                np.testing.assert_array_equal(two[group][key], w)
        for history in ("loss_history", "val_acc_history", "val_loss_history"):
            assert one[history] == two[history]
    one, two = (json.loads((folder / "history.json").read_text())
                for folder in (at_once, in_two))
    assert one["val_loss_history"] == two["val_loss_history"]


def test_patience_comes_from_a_config_file_and_may_change_on_resume(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text("epochs = 4\npatience = 2\n")
    assert run(capsys, "train", "--config", config, "--out", tmp_path / "run", "--quiet")[0] == 0
    assert read_checkpoint(tmp_path / "run" / "last.npz")["settings"]["patience"] == 2
    status, _, stderr = run(capsys, "train", "--resume", tmp_path / "run" / "last.npz",
                            "--epochs", 6, "--patience", 5, "--quiet")
    assert status == 0, stderr
    assert read_checkpoint(tmp_path / "run" / "last.npz")["settings"]["patience"] == 5


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "x"])
def test_a_bad_patience_is_a_usage_error(value, tmp_path, capsys):
    status, stdout, stderr = run(capsys, "train", "--patience", value, "--out", tmp_path)
    assert status == 2 and stdout == ""
    assert stderr.startswith("solver train: error: argument --patience: ")


def test_history_png_draws_the_val_loss(tmp_path, capsys, monkeypatch):
    import solver.run

    drawn = []
    real = solver.run.plot_history
    monkeypatch.setattr(solver.run, "plot_history",
                        lambda *args, **kwargs: drawn.append(kwargs) or real(*args, **kwargs))
    assert run(capsys, "train", "--epochs", 2, "--out", tmp_path, "--quiet")[0] == 0
    history = json.loads((tmp_path / "history.json").read_text())
    assert drawn[0]["val_loss_history"] == history["val_loss_history"]
    assert list(drawn[0]["epochs"]) == [0, 1, 2]

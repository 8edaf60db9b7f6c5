"""A sweep under kills and hostile replies: a killed sweep leaves no trial training on and no
partial file behind a rerun, two sweeps never write one folder at once, and a worker's file
names cannot leave the trial's folder."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from solver._files import PARTIAL_MARK
from solver.sweep import load_sweep, run_sweep
from solver.sweep.execute import _save_trial

ROOT = Path(__file__).resolve().parents[2]
SWEEP = 'dataset = "digits"\nmodel = "two-layer"\n[fixed]\nepochs = {epochs}\n' \
        '[sweep]\nreg = [0.0, 0.001]\n'


def _sweep_file(tmp_path, epochs=1):
    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(epochs=epochs))
    return path


def _children(pid):
    """The live processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_sweep_killed_by_sigkill_leaves_no_trial_running(tmp_path):
    out = tmp_path / "out"
    sweep = subprocess.Popen([sys.executable, "-m", "solver", "sweep",
                              str(_sweep_file(tmp_path, epochs=5000)), "--out", str(out),
                              "--workers", "2"], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    trials = []
    while len(trials) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        trials = _children(sweep.pid)
    assert len(trials) == 2, "the trials never started"
    time.sleep(1.0)  # past their start: training
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    deadline = time.monotonic() + 5  # their 5000 epochs would take a minute
    while any(map(_alive, trials)) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [pid for pid in trials if _alive(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive


def test_a_rerun_removes_what_a_killed_sweep_was_writing(tmp_path):
    out = tmp_path / "out"
    sweep = load_sweep(_sweep_file(tmp_path))
    run_sweep(sweep, out, workers=1)
    (out / "trial-001" / "result.json").unlink()  # trial 1 was killed while it wrote:
    for trial in ("trial-000", "trial-001"):  # a finished trial's folder too
        (out / trial / f"best.npz{PARTIAL_MARK}999-deadbeef").write_bytes(b"half")
    records = run_sweep(sweep, out, workers=1)
    assert [record["status"] for record in records] == ["ok", "ok"]
    assert not list(out.rglob(f"*{PARTIAL_MARK}*"))


def test_a_second_sweep_into_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from solver._files import exclusive; "
         "cm = exclusive(sys.argv[1], 'x'); cm.__enter__(); print('in', flush=True); "
         "time.sleep(60)", str(out)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline() == "in\n"
        with pytest.raises(ValueError, match=rf"^run_sweep: out_dir {out}: process "
                                             rf"{holder.pid} is at work there"):
            run_sweep(load_sweep(_sweep_file(tmp_path)), out, workers=1)
        assert not list(out.glob("trial-*"))
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("name", ["../escaped.npz", "/tmp/escaped.npz", "sub/last.npz", "..",
                                  "last.npz\\..\\x", "notes.txt"])
def test_a_worker_s_file_names_cannot_leave_the_trial_folder(tmp_path, name):
    sweep = load_sweep(_sweep_file(tmp_path))
    trial = sweep.trials[0]
    record = {"trial": trial.index, "status": "ok"}
    with pytest.raises(ValueError, match=r"a Dask worker sent a file named .*; refused"):
        _save_trial(tmp_path / "out", trial, record, {"last.npz": b"ok", name: b"evil"})
    assert not (tmp_path / "escaped.npz").exists()
    assert not (tmp_path / "out" / trial.name / "result.json").exists()


def test_trials_run_from_any_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the repository: the trial must still import solver
    records = run_sweep(load_sweep(_sweep_file(tmp_path)), tmp_path / "out", workers=2)
    assert [record["status"] for record in records] == ["ok", "ok"], records


def test_failed_and_diverged_trials_are_marked_in_the_plots_not_dropped(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from solver.sweep.results import plot_sweep

    sweep = load_sweep(_sweep_file(tmp_path))
    records = [{"trial": 0, "status": "ok", "best_val_acc": 0.9, "settings": {"reg": 0.0}},
               {"trial": 1, "status": "failed", "best_val_acc": None,
                "settings": {"reg": 0.001}}]
    drawn = []
    real_add_subplot = Figure.add_subplot  # keep a handle on every axes the plots make
    monkeypatch.setattr(Figure, "add_subplot", lambda self, *a, **k: drawn.append(
        real_add_subplot(self, *a, **k)) or drawn[-1])
    assert plot_sweep(sweep, records, tmp_path) == ["val_acc_vs_reg.png"]
    (ax,) = drawn
    labels = [collection.get_label() for collection in ax.collections]
    assert "failed or diverged at once (no accuracy)" in labels
    failed = ax.collections[labels.index("failed or diverged at once (no accuracy)")]
    assert list(failed.get_offsets()[:, 1]) == [0.0]
    assert (tmp_path / "val_acc_vs_reg.png").is_file()
    assert not list(tmp_path.glob(f"*{PARTIAL_MARK}*"))


def test_a_missing_sweep_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.toml: cannot read the sweep file: "
                                                r"there is no such file"):
        load_sweep(tmp_path / "nowhere.toml")


def test_the_sweep_gives_each_trial_the_threads_asked_for(tmp_path, monkeypatch):
    import solver.sweep.execute as execute

    seen = []

    def recording(trial, trial_dir=None, threads=1):
        seen.append(threads)
        return execute._record(trial, "failed", "not run"), {}
    monkeypatch.setattr(execute, "run_trial_process", recording)
    run_sweep(load_sweep(_sweep_file(tmp_path)), tmp_path / "out", workers=1, threads=2)
    assert seen == [2, 2]
    from solver.cli import main

    assert main(["sweep", str(_sweep_file(tmp_path)), "--out", str(tmp_path / "o2"),
                 "--threads", "3", "--workers", "1"]) == 1  # every trial 'failed' here
    assert seen[2:] == [3, 3]

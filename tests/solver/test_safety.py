"""The refusals that keep runs safe: numbered run folders, --out checked before data loads,
file names from workers, Dask scheduler addresses, trial processes that die with their sweep,
partial files and the sweep's lock."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from solver._files import PARTIAL_MARK, exclusive, remove_partial_files
from solver._safety import (check_scheduler, checked_file_name, die_with_parent,
                            new_run_folder, refuse_run_in, run_files, writable_folder)

ROOT = Path(__file__).resolve().parents[2]


def test_run_folders_are_numbered_after_the_largest(tmp_path):
    assert new_run_folder(tmp_path / "runs") == tmp_path / "runs" / "version_0"
    assert new_run_folder(tmp_path / "runs") == tmp_path / "runs" / "version_1"
    (tmp_path / "runs" / "version_7").mkdir()
    (tmp_path / "runs" / "version_x").mkdir()
    assert new_run_folder(tmp_path / "runs").name == "version_8"


def test_a_run_folder_taken_meanwhile_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "version_0").mkdir()
    monkeypatch.setattr(Path, "glob", lambda self, pattern: iter(()))  # another run, unseen
    assert new_run_folder(tmp_path).name == "version_1"


def test_out_that_is_a_file_or_unwritable_is_named(tmp_path):
    (tmp_path / "afile").write_text("")
    with pytest.raises(ValueError, match=r"^--out .*afile: is a file, not a folder"):
        writable_folder(tmp_path / "afile", "--out")
    with pytest.raises(ValueError, match=r"^--out /proc/x: cannot write there"):
        writable_folder("/proc/x", "--out")
    assert writable_folder(tmp_path / "new" / "run", "--out").is_dir()


def test_a_folder_holding_a_run_is_refused_with_the_ways_out(tmp_path):
    refuse_run_in(tmp_path)  # empty: fine
    (tmp_path / "history.json").write_text("{}")
    (tmp_path / "last.npz").write_bytes(b"")
    assert run_files(tmp_path) == ["last.npz", "history.json"]
    with pytest.raises(ValueError, match=r"holds a run \(last.npz, history.json\).*--resume "
                                         r".*last\.npz.*--overwrite"):
        refuse_run_in(tmp_path)


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "", ".", "x\\y", "x\0", "/etc/passwd",
                                  "evil.npz", "last.npz/..", None, 3])
def test_file_names_from_a_worker_are_checked(name):
    with pytest.raises(ValueError, match=r"^the worker sent a file named .*refused: only "
                                         r"last\.npz, best\.npz may come back"):
        checked_file_name(name, ("last.npz", "best.npz"), "the worker")


def test_a_plain_file_name_passes():
    assert checked_file_name("best.npz", ("last.npz", "best.npz"), "the worker") == "best.npz"


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tcp://localhost:8786",
                                     "tcp://[::1]:8786", "127.0.0.1:8786", "tls://10.0.0.5:8786",
                                     "tls://scheduler.example.org:8786", "inproc://abc/1/2",
                                     "tcp://127.1.2.3:9000"])
def test_safe_scheduler_addresses_pass(address):
    assert check_scheduler(address) == address


@pytest.mark.parametrize("address", ["tcp://10.0.0.5:8786", "10.0.0.5:8786",
                                     "tcp://scheduler.example.org", "ws://0.0.0.0:8786"])
def test_a_plain_scheduler_off_loopback_needs_the_flag(address):
    with pytest.raises(ValueError, match=r"^--scheduler .*: a plain \w+:// scheduler off "
                                         r"loopback .*--insecure-scheduler"):
        check_scheduler(address)
    assert check_scheduler(address, insecure=True) == address


@pytest.mark.parametrize("address, message", [
    ("", "expected an address such as tls://HOST:8786"),
    (None, "expected an address"),
    ("foo://host:1", "unknown protocol 'foo'"),
    ("tcp://", "no host"),
    ("tcp://host:port", "Port could not be cast"),
    ("tcp://host:8786/x", "got a path '/x'"),
])
def test_malformed_scheduler_addresses_fail_at_once(address, message):
    with pytest.raises(ValueError, match=message):
        check_scheduler(address)


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_trial_process_dies_with_the_sweep_that_started_it():
    child = ("import os, sys, time; from solver._safety import die_with_parent; "
             "die_with_parent(int(sys.argv[1])); time.sleep(60)")
    sweep = ("import os, subprocess, sys, time; "
             f"p = subprocess.Popen([sys.executable, '-c', {child!r}, str(os.getpid())]); "
             "print(p.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", sweep], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    trial_pid = int(parent.stdout.readline())
    time.sleep(1.0)  # the trial has called prctl
    assert _alive(trial_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(trial_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(trial_pid)


def test_a_process_whose_parent_is_gone_exits_at_once():
    done = subprocess.run([sys.executable, "-c", "from solver._safety import die_with_parent; "
                           "die_with_parent(1); print('still here')"], capture_output=True,
                          text=True, cwd=ROOT)
    assert (done.returncode, done.stdout) == (1, "")


def test_partial_files_are_removed_and_nothing_else(tmp_path):
    (tmp_path / "trial-001").mkdir()
    keep = [tmp_path / "last.npz", tmp_path / "trial-001" / "best.npz"]
    partial = [tmp_path / f"last.npz{PARTIAL_MARK}12-ab", tmp_path / "trial-001" /
               f"best.npz{PARTIAL_MARK}34-cd"]
    for path in keep + partial:
        path.write_bytes(b"x")
    assert remove_partial_files(tmp_path) == [partial[0]]
    assert remove_partial_files(tmp_path, recursive=True) == [partial[1]]
    assert all(path.exists() for path in keep)


def test_one_process_at_a_time_holds_a_folder(tmp_path):
    script = ("import sys, time; from solver._files import exclusive; "
              "cm = exclusive(sys.argv[1], '--out'); cm.__enter__(); print('in', flush=True); "
              "time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert holder.stdout.readline() == "in\n"
    with pytest.raises(ValueError, match=rf"^--out .*: process {holder.pid} is at work there"):
        with exclusive(tmp_path, "--out"):
            pass
    holder.send_signal(signal.SIGKILL)  # a lock never outlives its holder
    holder.wait()
    with exclusive(tmp_path, "--out"):
        assert (tmp_path / ".lock").read_text() == f"process {os.getpid()}\n"


def test_ctrl_c_while_the_command_line_imports_is_one_line():
    # Deterministic: the interrupt comes exactly when numpy is first imported.
    script = ("import builtins, runpy, sys\n"
              "real_import = builtins.__import__\n"
              "def interrupted(name, *args, **kwargs):\n"
              "    if name == 'numpy':\n"
              "        raise KeyboardInterrupt\n"
              "    return real_import(name, *args, **kwargs)\n"
              "builtins.__import__ = interrupted\n"
              "sys.argv = ['solver', 'train']\n"
              "runpy.run_module('solver', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT)
    assert (done.returncode, done.stdout) == (130, "")
    assert done.stderr == "solver: interrupted while starting; nothing was run\n"


def test_import_solver_loads_no_numpy_until_a_name_is_used():
    script = ("import sys, solver; before = 'numpy' in sys.modules; "
              "from solver import Solver, load_dataset; "
              "print(before, 'numpy' in sys.modules, Solver.__name__, 'Solver' in dir(solver))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.split() == ["False", "True", "Solver", "True"]

"""Refusals that keep runs safe from mistakes and hostile input: each run in a folder of its
own, file names from elsewhere checked, a Dask scheduler reached safely, trial processes that
do not outlive their sweep.

Each check raises ValueError with a message that names the flag or source at fault; the
command line turns it into a usage error.
"""

import ctypes
import ipaddress
import os
import signal
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

RUN_MARKS = ("last.npz", "best.npz", "history.json")  # a folder holding any of them holds a run
RUN_PREFIX = "version_"


def run_files(folder):
    """The names of :data:`RUN_MARKS` present in ``folder``: what says it holds a run."""
    folder = Path(folder)
    return [name for name in RUN_MARKS if (folder / name).is_file()]


def new_run_folder(parent):
    """Make and return ``parent/version_N``, N one more than the largest there (0 at first),
    as Lightning numbers its runs. ``mkdir`` decides: two runs started at once get two
    folders."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name[len(RUN_PREFIX):]) for p in parent.glob(RUN_PREFIX + "*")
             if p.name[len(RUN_PREFIX):].isdigit()]
    number = max(taken, default=-1) + 1
    while True:
        folder = parent / f"{RUN_PREFIX}{number}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            number += 1


def writable_folder(path, flag):
    """Make ``path`` a folder we can write into, or say why not, naming ``flag``.

    Called before any data is loaded, so that a typo costs no time.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path}: is a file, not a folder; name a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ValueError(f"{flag} {path}: cannot write there: "
                         f"{exc.strerror or exc}") from None
    return path


def continues_in(resume, folder):
    """Whether ``resume`` (a checkpoint path, or None) continues the run in ``folder``."""
    return resume is not None and Path(resume).parent.resolve() == Path(folder).resolve()


def refuse_run_in(folder, flag="--out"):
    """Refuse to start a fresh run in ``folder`` when it holds another run's files."""
    found = run_files(folder)
    if "last.npz" in found:
        raise ValueError(
            f"{flag} {folder} holds a run ({', '.join(found)}); a fresh run never replaces "
            f"one: pass --resume {Path(folder) / 'last.npz'} to continue it, --overwrite to "
            f"replace it, or leave out {flag} to start a new numbered folder")
    if found:
        raise ValueError(
            f"{flag} {folder} holds a run stopped before it saved a checkpoint "
            f"({', '.join(found)}); a fresh run never replaces one: pass --overwrite to "
            f"replace it, or leave out {flag} to start a new numbered folder")


def checked_file_name(name, allowed, source):
    """``name`` if it is one of ``allowed`` plain file names; else ValueError naming
    ``source``. For names that come from elsewhere (a Dask worker's reply): a name with a
    ``/``, a ``\\`` or ``..`` could write anywhere."""
    if (not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name
            or "\0" in name or ".." in name or name not in allowed):
        raise ValueError(f"{source} sent a file named {name!r}; refused: only "
                         f"{', '.join(allowed)} may come back")
    return name


SCHEMES = {"tcp": False, "tls": True, "inproc": True, "ws": False, "wss": True, "ucx": False}
# scheme -> whether it is safe off loopback (encrypted and authenticated, or in-process)


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_scheduler(address, insecure=False, flag="--scheduler"):
    """Refuse a Dask scheduler address that is malformed, or plain (``tcp://``, ``ws://``,
    ``ucx://``, or no scheme, which Dask reads as tcp) and not on loopback, unless
    ``insecure``: the cluster runs the code it is sent, and the sweep unpickles replies."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"{flag}: expected an address such as tls://HOST:8786, "
                         f"got {address!r}")
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in SCHEMES:
        raise ValueError(f"{flag} {address}: unknown protocol {parts.scheme!r}; use one of "
                         f"{', '.join(f'{s}://' for s in SCHEMES)}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"{flag} {address}: {exc}") from None
    if parts.scheme != "inproc" and not host:
        raise ValueError(f"{flag} {address}: no host; expected PROTOCOL://HOST:PORT")
    if parts.path not in ("", "/") and parts.scheme != "inproc":
        raise ValueError(f"{flag} {address}: expected PROTOCOL://HOST:PORT, got a path "
                         f"{parts.path!r}")
    if not SCHEMES[parts.scheme] and not _loopback(host) and not insecure:
        raise ValueError(
            f"{flag} {address}: a plain {parts.scheme}:// scheduler off loopback lets anyone "
            f"who reaches port {port or 8786} run code on its workers and on this machine; "
            f"use tls:// (docs/sweeps.md), or pass --insecure-scheduler if the network is "
            f"yours alone")
    return address


def die_with_parent(parent_pid):
    """Ask Linux to kill this process when the thread that started it ends (a sweep killed by
    SIGKILL included), and exit now if that already happened. Elsewhere, do nothing."""
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

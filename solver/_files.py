"""Files written so that a reader finds the old one or the new one, whole, never half of one."""

import contextlib
import os
import secrets
from pathlib import Path

PARTIAL_MARK = ".tmp-"  # in the name of a file being written: path.tmp-<pid>-<random>


@contextlib.contextmanager
def replaced(path, *, fsync=False):
    """Open a new file beside ``path`` for writing; rename it over ``path`` when the block ends.

    An error (or Ctrl-C) inside the block removes the new file and leaves ``path`` as it was.
    With ``fsync`` the data reach the disk before the rename, so that a crash of the machine
    cannot leave ``path`` empty. The file is created like any other, its mode 0666 less the
    umask (``tempfile.mkstemp`` would make it 0600, readable by its owner only).
    """
    partial = f"{os.fspath(path)}{PARTIAL_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with open(partial, "xb") as file:
            yield file
            if fsync:
                file.flush()
                os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise


def remove_partial_files(folder, recursive=False):
    """Remove the files a writer killed mid-write left in ``folder`` (``name.tmp-<pid>-<hex>``,
    see :func:`replaced`): nobody reads them. Call it only while no writer can be at work
    there (under :func:`exclusive`). Returns the paths removed."""
    folder, pattern = Path(folder), f"*{PARTIAL_MARK}*"
    found = folder.rglob(pattern) if recursive else folder.glob(pattern)
    removed = []
    for path in found:
        if path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


@contextlib.contextmanager
def exclusive(folder, what):
    """Hold ``folder``'s lock (``folder/.lock``, flock) for the block, or raise ValueError if
    another process holds it. The kernel drops the lock when its holder dies, SIGKILL
    included, so a stale lock never blocks a rerun."""
    import fcntl  # POSIX only, as is the rest of the sweep's process handling

    with open(os.path.join(folder, ".lock"), "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise ValueError(f"{what} {folder}: {holder} is at work there; wait for it to "
                             f"finish, or stop it, then run this again") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"process {os.getpid()}\n")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

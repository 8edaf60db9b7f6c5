"""Files written so that a reader finds the old one or the new one, whole, never half of one."""

import contextlib
import os
import secrets

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

"""``python -m solver`` and the ``solver`` script: the command line, started so that a Ctrl-C
while numpy, scipy and matplotlib import (the first second) ends in one line, not a
50-line traceback. ``import solver`` imports none of them (solver/__init__.py)."""

import sys


def main(argv=None):
    """Import the command line, then run it; returns the exit status."""
    try:
        from solver.cli import main as cli_main
    except KeyboardInterrupt:
        print("solver: interrupted while starting; nothing was run", file=sys.stderr)
        return 130
    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m solver``: the ``solver`` command line, also where its script is not on PATH."""

from solver.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m gradcheck``: check every layer pair of the library and print a table.

    python -m gradcheck                  # every case, every element (--mode full)
    python -m gradcheck --mode fast      # a few random directional derivatives per input
    python -m gradcheck --only relu      # only the cases whose name contains 'relu'
    python -m gradcheck -q               # print only the failures and the verdict

One row per checked input: layer, input, its shape, the tolerance, the max relative error, the
verdict (pass, FAIL or INCONCLUSIVE) and the diagnosis of a row that did not pass, whose hint
follows the table. The cases live in ``gradcheck.cases.CASES``. Exit status: 0 when every
check passes, 1 when any fails, is inconclusive or raises, 2 for a bad command line or an
``--only`` that matches no case.
"""

import argparse
import os
import sys

from . import cases
from .check import MODES
from .report import VERDICT_WORDS


def main(argv=None):
    """Run the checks named on the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m gradcheck",
        description="Check every layer pair of the library against numerical gradients.",
        allow_abbrev=False)  # --mod is a typo, not --mode
    parser.add_argument("--mode", choices=MODES, default="full",
                        help="'full': every element; 'fast': random directional derivatives")
    parser.add_argument("--only", metavar="NAME", default="",
                        help="check only the cases whose name contains NAME")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only the failures and the verdict")
    options = parser.parse_args(argv)

    selected = [case for case in cases.CASES if options.only in case.name]
    if not selected:
        names = ", ".join(case.name for case in cases.CASES)
        print(f"python -m gradcheck: no case name contains {options.only!r}; the cases are "
              f"{names}", file=sys.stderr)
        return 2

    rows, hints, failed, inconclusive = [], [], [], []
    for case in selected:
        try:
            report = case.check(mode=options.mode)
        except Exception as error:  # a contract violation: report it, check the rest
            failed.append(case.name)
            rows.append((case.name, "-", "-", "-", "-", f"ERROR {type(error).__name__}: {error}",
                          ""))
            continue
        if report.verdict != "pass":
            (failed if report.verdict == "fail" else inconclusive).append(case.name)
        for result in report.results:
            rows.append((case.name, result.name, str(result.shape), f"{report.tol:g}",
                         f"{result.max_error:.2e}", VERDICT_WORDS[result.verdict],
                         result.diagnosis or ""))
            if result.hint:
                hints.append(f"{case.name} {result.name}: {result.hint}")

    if options.quiet:
        rows = [row for row in rows if row[5] != VERDICT_WORDS["pass"]]
    if rows:
        print(_table([("layer", "input", "shape", "tol", "max rel error", "verdict",
                       "diagnosis")] + rows))
    for hint in hints:
        print(hint)
    verdicts = [f"{len(names)} of {len(selected)} {word}: {', '.join(names)}"
                for names, word in ((failed, "failed"), (inconclusive, "inconclusive")) if names]
    print(f"{len(selected)} layer(s), {options.mode} check: {'; '.join(verdicts) or 'all pass'}")
    return 1 if failed or inconclusive else 0


def _table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)


def _run():
    """:func:`main`, ending quietly (status 141, as a process killed by SIGPIPE) when the
    reader of its output has gone: ``python -m gradcheck | head -2``."""
    try:
        status = main()
        sys.stdout.flush()  # a pipe's buffer is written here, where a gone reader is caught
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 141
    return status


if __name__ == "__main__":
    sys.exit(_run())

"""Speed of backprop-layers against PyTorch CPU, as ratios measured in one run.

    python -m benchmarks [--repeats N] [--quick] [--only SUBSTRING] [--threads N]
                         [--clock wall|cpu] [--tiny] [--no-torch]
    python benchmarks/run.py ...                  # the same

Prints a header naming the machine and this run's GEMM peak, then a Markdown table: one row
per case with our median time, the reference's, the median of the per-pair ratios with their
min and max, the target, the share of the GEMM peak where the work is matrix products, and
pass/miss. Without torch our side is still timed, as are the comparisons among our own
implementations (naive/fast, batchnorm's two backwards, the gradient checker's cost). The
exit status is 1 if a case could not run or gave a wrong answer, else 0 (a missed target is a
finding, not a failure).
"""

import argparse
import contextlib
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: put the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks import cases, machine, timing  # noqa: E402
from benchmarks.report import Row, markdown_table  # noqa: E402

FULL = {"repeats": 21, "warmup": 3, "min_time": 0.02, "slow_repeats": 3}
SETTLE = 0.12  # seconds: OpenBLAS's idle threads spin ~0.1 s (see benchmarks.timing)
QUICK = {"repeats": 3, "warmup": 1, "min_time": 0.0, "slow_repeats": 1}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Targets are on the medians of the per-pair ratios. Cases: "
               + ", ".join(case.key for case in cases.CASES) + ".")
    parser.add_argument("--repeats", type=int, default=None, metavar="N",
                        help=f"interleaved pairs per case (default {FULL['repeats']}; "
                             f"the naive loops get {FULL['slow_repeats']})")
    parser.add_argument("--quick", action="store_true",
                        help=f"tiny repeat counts ({QUICK['repeats']} pairs, 1 warm-up, one "
                             "call per sample) and a tenth of the batch for the naive loops: "
                             "a fast look (about 20 s of CPU time), not a measurement")
    parser.add_argument("--only", metavar="SUBSTRING", default=None,
                        help="run only the cases whose key or description contains it")
    parser.add_argument("--tiny", action="store_true",
                        help="shrink every shape (for the smoke test: the figures mean nothing)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="threads for numpy's BLAS and for torch alike (default: numpy's "
                             "BLAS count, 1 with --quick; 1 gives steadier figures on a busy "
                             "machine)")
    parser.add_argument("--clock", choices=sorted(timing.CLOCKS), default="wall",
                        help="wall time (default), or CPU time, which leaves out waiting for "
                             "a core on a busy machine (needs --threads 1)")
    parser.add_argument("--no-torch", action="store_true",
                        help="time our side only, as if torch were not installed")
    args = parser.parse_args(argv)
    for option in ("repeats", "threads"):
        value = getattr(args, option)
        if value is not None and value < 1:
            parser.error(f"--{option} must be at least 1, got {value}")
    if args.quick and args.threads is None:
        # Two threads on a 2-core machine doing anything else ran conv-fast-64ch 16x slower
        # than torch (9 s a call) and --quick for 5.7 minutes; one thread, 51 s at load 6.
        args.threads = 1
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu needs --threads 1: CPU time adds up every thread's time")
    return args


def select(only):
    """The cases whose key or description contains ``only`` (case-insensitive), all if None."""
    if only is None:
        return list(cases.CASES)
    needle = only.lower()
    return [case for case in cases.CASES
            if needle in case.key.lower() or needle in case.description.lower()]


def import_torch(disabled):
    """torch, or None when it is not installed or ``--no-torch`` was given."""
    if disabled:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch


@contextlib.contextmanager
def torch_threads(torch, threads):
    """Give torch ``threads`` intra-op threads inside the block, then restore its count."""
    if torch is None or threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def chosen_sizes(args):
    """The shapes of this run: tiny for the smoke test, a lighter set with --quick, else full."""
    if args.tiny:
        return cases.TINY_SIZES
    return cases.QUICK_SIZES if args.quick else cases.FULL_SIZES


def header(args, settings, settle, torch, peaks):
    """The lines above the table: machine, GEMM peak, and how this run timed."""
    with_torch = "torch not used (--no-torch)" if args.no_torch else "torch not installed"
    blas, blas_threads = machine.numpy_blas()
    torch_threads = torch.get_num_threads() if torch is not None else None
    n = chosen_sizes(args)["gemm"]
    return [
        machine.describe(torch, torch_threads, blas, blas_threads, with_torch),
        f"**GEMM peak** (numpy matmul ({n}, {n}) @ ({n}, {n}), best of 5): "
        + ", ".join(f"{dtype.name} {flops / 1e9:.3g} GFLOP/s" for dtype, flops in peaks.items()),
        f"**Settings:** {settings['repeats']} interleaved pairs (ours, ref, ours, ref, ...) after "
        f"{settings['warmup']} warm-up calls, samples of at least "
        f"{1e3 * settings['min_time']:.0f} ms, "
        + (f"each after a {settle:g} s pause" if settle else "no pause (one thread)")
        + f"; naive loops: "
        f"{settings['slow_repeats']} pairs; {args.clock} clock"
        + ("; TINY sizes: the figures mean nothing" if args.tiny else ""),
    ]


def run(args, out=None, progress=None):
    """Run the selected cases; write the header and table to ``out`` (stdout), progress to
    ``progress`` (stderr); return the rows."""
    out = sys.stdout if out is None else out
    progress = sys.stderr if progress is None else progress
    chosen = select(args.only)
    if not chosen:
        raise SystemExit(f"--only {args.only!r} matches no case; cases: "
                         + ", ".join(case.key for case in cases.CASES))
    settings = dict(QUICK if args.quick else FULL)
    if args.repeats is not None:
        settings["repeats"] = args.repeats
    sizes = chosen_sizes(args)
    torch = import_torch(args.no_torch)

    with machine.blas_threads_limited(args.threads):
        threads = machine.numpy_blas()[1]
        with torch_threads(torch, threads):
            timing.settle_allocator()
            peaks = {np.dtype(dtype): timing.gemm_peak(sizes["gemm"], dtype, clock=args.clock)
                     for dtype in (np.float32, np.float64)}
            settle = SETTLE if threads != 1 else 0.0  # one thread: nothing left spinning
            for line in header(args, settings, settle, torch, peaks):
                print(line + "\n", file=out)
            context = cases.Context(sizes=sizes, torch=torch, peaks=peaks, clock=args.clock,
                                    settle=settle, **settings)
            rows = []
            for case in chosen:
                print(f"running {case.key} ...", file=progress, flush=True)
                try:
                    rows.append(case.run(context))
                except Exception as error:  # one broken case must not hide the others
                    problem = f"ERROR: {type(error).__name__}: {error}".replace("|", "/")
                    rows.append(Row(case.description, "", problem=problem))
    print(markdown_table(rows), file=out)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f}", file=out)
    return rows


def main(argv=None):
    """Entry point of ``python -m benchmarks``; returns the exit status."""
    rows = run(parse_args(argv))
    broken = ("ERROR", "**WRONG**")  # a case that could not run, or a wrong answer
    return 1 if any(row.result.startswith(broken) for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

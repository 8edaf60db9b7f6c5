"""Interleaved timing of two callables and this machine's GEMM peak.

A comparison runs ``ours`` and ``ref`` (the reference: PyTorch, or another implementation of
ours) in one process, alternating them sample by sample (ours, ref, ours, ref, ...) so that a
burst of load from elsewhere on the machine slows both sides of a pair alike. Each sample
calls its function enough times to last at least ``min_time`` seconds; what is reported is
the time per call. The per-pair ratios are the robust figure: their median, with min and max.

With more than one thread, each sample starts after a pause (``settle``): OpenBLAS's worker
threads spin for about 0.1 s after a call (2**28 cycles) and libgomp's for a few ms, so
without it one side's idle threads would hold a core while the other side is timed.
"""

import gc
import math
import time
from dataclasses import dataclass

import numpy as np

MAX_CALLS_PER_SAMPLE = 10_000


@dataclass(frozen=True)
class Timing:
    """Seconds per call of both sides, one entry per interleaved pair.

    ``speedup=False`` makes the ratio ours / ref (lower is better for ours);
    ``speedup=True`` makes it ref / ours (how many times faster ours is).
    ``ref`` is None when there was nothing to compare with (torch not installed).
    """

    ours: tuple
    ref: tuple | None = None
    speedup: bool = False

    @property
    def ours_median(self):
        return float(np.median(self.ours))

    @property
    def ref_median(self):
        return None if self.ref is None else float(np.median(self.ref))

    @property
    def ratios(self):
        """Per-pair ratios, or None without a reference."""
        if self.ref is None:
            return None
        ours, ref = np.asarray(self.ours), np.asarray(self.ref)
        return ref / ours if self.speedup else ours / ref


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _time_calls(fn, number, clock=time.perf_counter):
    """Seconds per call of ``number`` back-to-back calls, with the garbage collector off."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        for _ in range(number):
            fn()
        return (clock() - start) / number
    finally:
        if gc_was_enabled:
            gc.enable()


def calls_per_sample(fn, min_time, clock=time.perf_counter, tries=1):
    """How many calls of ``fn`` make a sample of ``min_time``, from the fastest of ``tries``
    timed calls (a warm call: sized from a cold one, samples came out 10-20 % short)."""
    once = min(_time_calls(fn, 1, clock) for _ in range(tries))
    if once >= min_time:
        return 1
    return min(MAX_CALLS_PER_SAMPLE, math.ceil(min_time / max(once, 1e-9)))


def compare(ours, ref=None, *, repeats, warmup, min_time, speedup=False, ref_is_slow=False,
            clock="wall", settle=0.0):
    """Time ``ours`` against ``ref`` in interleaved pairs; see the module docstring.

    Parameters
    ----------
    ours, ref : callable
        Zero-argument callables; ``ref`` may be None to time ``ours`` alone.
    repeats : int
        Number of pairs (samples of each side).
    warmup : int
        Untimed calls of each side before the calls that size the samples (then the fastest
        of three, or one for a slow reference) and the first pair.
    min_time : float
        Each sample lasts at least this many seconds (0: one call per sample).
    speedup : bool
        Report ref / ours instead of ours / ref (see :class:`Timing`).
    ref_is_slow : bool
        ``ref`` takes seconds per call (a naive loop): it gets no warm-up beyond its
        calibration call.
    clock : {'wall', 'cpu'}
        Wall time, or this process's CPU time: on a busy machine, CPU time with one thread
        leaves out the time the process waited for a core (with more threads it would add
        up their spinning, so it is only meaningful with one).
    settle : float
        Seconds to sleep before each sample, so that no thread of the other side still spins.

    Returns
    -------
    Timing
    """
    clock = CLOCKS[clock]
    for _ in range(warmup):
        ours()
        if ref is not None and not ref_is_slow:
            ref()
    number_ours = calls_per_sample(ours, min_time, clock, tries=3)
    number_ref = (0 if ref is None else  # a slow reference: one call, its only warm-up
                  calls_per_sample(ref, min_time, clock, tries=1 if ref_is_slow else 3))
    ours_times, ref_times = [], []
    for _ in range(repeats):
        time.sleep(settle)
        ours_times.append(_time_calls(ours, number_ours, clock))
        if ref is not None:
            time.sleep(settle)
            ref_times.append(_time_calls(ref, number_ref, clock))
    return Timing(tuple(ours_times), tuple(ref_times) if ref is not None else None, speedup)


def settle_allocator():
    """Put glibc's malloc into the state of a long-running process, for both sides alike.

    glibc maps a big array fresh from the OS on every allocation (and page-faults it in on
    first touch) until an array of that size has been freed once: each free of a mapped
    block raises the "mmap threshold" to its size, up to 32 MiB, after which such arrays are
    recycled from the heap. A fresh process therefore runs the same numpy or torch code
    with arrays of a few MiB up to 2x slower than a process that has been working for a
    while. One 31 MiB allocation, freed, sets the threshold once for every case, in any
    order. Without glibc this does no harm.
    """
    np.empty(31 * 2 ** 20, np.uint8)


def gemm_peak(n, dtype, repeats=5, clock="wall"):
    """FLOP/s of numpy's best ``(n, n) @ (n, n)`` product in ``dtype`` over ``repeats`` tries.

    This is the machine's practical matrix-product peak in this process (same BLAS, same
    threads, same environment) against which a case's own matmul FLOP/s are read.
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=dtype)  # (n, n)
    b = rng.standard_normal((n, n), dtype=dtype)  # (n, n)
    out = np.empty((n, n), dtype=dtype)
    product = lambda: np.matmul(a, b, out=out)  # noqa: E731
    product()  # warm-up: BLAS threads started, pages of `out` touched
    best = min(_time_calls(product, 1, CLOCKS[clock]) for _ in range(repeats))
    return 2.0 * n ** 3 / best

"""Peak memory of training a TwoLayerNet, as a multiple of the training data's own size.

Measured in a fresh process (``python -m benchmarks.memory --rows N``), so that nothing the
rest of the benchmark allocated (torch, big test arrays) is counted: the child builds a
CIFAR-shaped float32 training set of random numbers (rows x 3072), trains one epoch with
Adam, and prints its peak resident set size (VmHWM) as JSON. The parent reads it with
:func:`measure_in_subprocess`.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DIM, CLASSES, HIDDEN, BATCH, VAL_ROWS = 3 * 32 * 32, 10, 100, 200, 1000


def rss_bytes(field):
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process in bytes, from /proc/self/status.

    Where /proc is missing, the peak comes from ``getrusage`` (kB on Linux) for both.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def train_and_measure(rows, seed=0):
    """Train one epoch on ``rows`` random CIFAR-shaped float32 rows; report the peak RSS.

    Returns
    -------
    dict
        ``data_bytes`` (X_train and y_train), ``baseline_bytes`` (the process after its
        imports, before any data), ``peak_bytes`` (VmHWM after training), ``iterations``.
    """
    from solver.models import TwoLayerNet
    from solver.solver import Solver

    baseline = rss_bytes("VmRSS")
    rng = np.random.default_rng(seed)
    data = {
        "X_train": rng.standard_normal((rows, DIM), dtype=np.float32),  # (N, D)
        "y_train": rng.integers(CLASSES, size=rows),  # (N,)
        "X_val": rng.standard_normal((VAL_ROWS, DIM), dtype=np.float32),
        "y_val": rng.integers(CLASSES, size=VAL_ROWS),
    }
    model = TwoLayerNet(input_dim=DIM, hidden_dim=HIDDEN, num_classes=CLASSES,
                        dtype=np.float32, seed=seed)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    batch_size=BATCH, num_epochs=1, seed=seed, verbose=False)
    solver.train()
    return {
        "data_bytes": data["X_train"].nbytes + data["y_train"].nbytes,
        "baseline_bytes": baseline,
        "peak_bytes": rss_bytes("VmHWM"),
        "iterations": len(solver.loss_history),
    }


def measure_in_subprocess(rows, timeout=600):
    """Run :func:`train_and_measure` in a fresh interpreter (same environment) and return it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--rows", str(rows)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if completed.returncode != 0:
        last_line = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"memory subprocess failed: {last_line}")
    return json.loads(completed.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument("--rows", type=int, default=49_000, help="training rows (CIFAR: 49000)")
    args = parser.parse_args(argv)
    print(json.dumps(train_and_measure(args.rows)))


if __name__ == "__main__":
    main()

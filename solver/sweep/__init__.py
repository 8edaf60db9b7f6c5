"""Hyperparameter sweeps: one ``solver train`` run per trial, over a grid or a random search.

    solver sweep SWEEP.toml --out DIR [--scheduler tcp://HOST:PORT] [--workers N] [--dry-run]

    from solver.sweep import load_sweep, run_sweep
    records = run_sweep(load_sweep("digits.toml"), "runs/digits-sweep")

Three modules, each importing only the one before it (and ``solver.settings``/``solver.run``):

- :mod:`solver.sweep.spec`: the sweep file (its format is described there), checked and
  enumerated into trials with their seeds;
- :mod:`solver.sweep.results`: the output folder's tables and plots;
- :mod:`solver.sweep.execute`: each trial in a process of its own, locally or on Dask,
  reruns that keep finished trials.
"""

from .execute import (
    FINISHED, KILL_ENV, check_out_dir, default_workers, finished_records, run_sweep, run_trial,
    run_trial_process, sweep_definition)
from .results import format_trials, plot_sweep, summary, write_results
from .spec import Axis, Sweep, Trial, load_sweep, parse_sweep

__all__ = ["Axis", "FINISHED", "KILL_ENV", "Sweep", "Trial", "check_out_dir", "default_workers",
           "finished_records", "format_trials", "load_sweep", "parse_sweep", "plot_sweep",
           "run_sweep", "run_trial", "run_trial_process", "summary", "sweep_definition",
           "write_results"]

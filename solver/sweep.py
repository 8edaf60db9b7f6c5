"""Hyperparameter sweeps: one ``solver train`` run per trial, over a grid or a random search.

    solver sweep SWEEP.toml --out DIR [--scheduler tcp://HOST:PORT] [--workers N] [--dry-run]

The sweep file
--------------
TOML. Settings have the names of ``solver train``'s ``--config`` files (``solver.cli.SETTINGS``),
and those a file does not give take ``solver train``'s defaults::

    dataset = "digits"            # required: the dataset of every trial
    model = "two-layer"           # required: the model of every trial
    seed = 0                      # optional, default 0: seeds the draws and every trial

    [fixed]                       # optional: settings every trial shares
    epochs = 10
    update_rule = "adam"

    [sweep]                       # required: the settings that vary, at least one
    reg = [0.0, 1e-4, 1e-2]                                               # a list
    learning_rate = {low = 1e-4, high = 1e-1, scale = "log", count = 8}   # a range

A list names the values to try; the lists together make a grid (their Cartesian product). A
range is random search: ``count`` values drawn from ``[low, high)``, uniformly with
``scale = "linear"``, uniformly in log10 with ``scale = "log"`` (which needs ``low > 0``).
Ranges are drawn together, one value of each per draw, so that every trial tries a new value
of every range (CS231n's random search); all the ranges of a sweep therefore share one
``count``. The trials are every grid point crossed with every draw: 3 x 8 = 24 above, and a
sweep of lists alone is a plain grid. ``dataset``, ``model``, ``seed`` and ``out`` cannot
go in ``[fixed]`` or ``[sweep]``: a sweep trains one model on one dataset, seeds its own
trials, and writes each into ``DIR/trial-NNN``.

Trials and seeds
----------------
Trial ``i`` (from 0) is the ``i``-th of the grid points in product order (the settings in
file order, the last varying fastest) and, within a grid point, of the draws in order. The
sweep's ``np.random.SeedSequence(seed)`` spawns two children: the first seeds the generator
that draws the ranges (range by range, in file order), the second spawns one child per trial,
whose first 32-bit word of state is the trial's ``seed`` setting (the model's initial weights
and the Solver's minibatch order). The same file gives the same trials everywhere.

The output folder
-----------------
::

    DIR/sweep.json                 the trials: index, seed and every setting
    DIR/trial-NNN/                 last.npz, best.npz, history.json (as ``solver train``),
                                   settings.json, and result.json, written last
    DIR/results.csv, results.json  a row per trial: trial, status, best_val_acc, final_loss
                                   (the last minibatch's), seconds, seed, the swept settings,
                                   error
    DIR/val_acc_vs_<setting>.png   best validation accuracy against each swept setting
    DIR/lr_vs_reg.png              learning rate against reg, coloured by accuracy (when
                                   both are swept)

A trial's status is ``ok``; ``diverged`` when its loss became NaN or infinite (a finished
result, whose best_val_acc is the best reached before); or ``failed`` when it raised or its
process died. A rerun into the same ``DIR`` keeps the ``ok`` and ``diverged`` trials and runs
the others, after checking that ``DIR/sweep.json`` holds the same trials as the file (it
refuses a file whose trials changed). Trials are chosen on validation accuracy only; the test
split is left for the model finally chosen.

Running
-------
:func:`run_sweep` submits every trial to a ``concurrent.futures`` executor and collects them
with ``as_completed``, the same code for both executors:

- locally (the default), ``concurrent.futures.ThreadPoolExecutor(workers)`` (default: every
  core); each trial writes into its folder;
- on a Dask cluster (``scheduler="tcp://HOST:PORT"``), ``distributed.Client.get_executor()``;
  a trial trains in a scratch folder on its worker and its files come back with its record,
  so ``DIR`` need not be shared. The workers need this package installed.

Either way the task is :func:`run_trial_process`, which trains the trial in a fresh Python
process of its own, so that a trial whose process dies (a kill, the out-of-memory killer)
fails alone. A shared pool of processes would not do: a ``ProcessPoolExecutor`` whose worker
dies is broken for good, failing every trial running or waiting in it, and a Dask worker that
dies takes the trials it holds with it (Dask retries them elsewhere, but counts the death
against each). A Dask worker lost for another reason is Dask's to recover: it reruns the
worker's trials elsewhere, and only a trial that keeps losing workers ends as
``KilledWorker``, a failed trial. Starting a trial's process costs about a second.

Every trial runs with ``threadpoolctl.threadpool_limits(1)``: one BLAS thread per trial, so
that parallel trials do not oversubscribe the cores. Dask is imported only for
``scheduler``; ``pip install ".[sweep]"`` installs it and threadpoolctl.

For tests only: a trial whose number is listed in the environment variable
``SOLVER_SWEEP_TEST_KILL`` (comma-separated, e.g. ``"1,3"``) kills its own process with
SIGKILL as it starts, to stand for a trial's process killed mid-trial.

Shapes: T the number of trials; ``records`` are lists of T dicts, one per trial, in order.
"""

import argparse
import concurrent.futures
import contextlib
import csv
import importlib
import io
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._files import replaced

FILE_KEYS = ("dataset", "model", "seed", "fixed", "sweep")
RANGE_KEYS = ("low", "high", "scale", "count")
SCALES = ("linear", "log")
# Settings that a sweep file cannot give in [fixed] or [sweep], and why.
NOT_SETTABLE = {
    "dataset": "a sweep trains one dataset: name it at the top of the file, dataset = ...",
    "model": "a sweep trains one model: name it at the top of the file, model = ...",
    "seed": "each trial's seed comes from the sweep's: put seed = N at the top of the file",
    "out": "each trial writes into --out DIR/trial-NNN",
}
FINISHED = ("ok", "diverged")  # statuses a rerun keeps; "failed" trials run again
TRIAL_FILES = ("last.npz", "best.npz", "history.json")  # what a trial's training writes
COLUMNS = ("trial", "status", "best_val_acc", "final_loss", "seconds", "seed")
DEFINITION_FORMAT = "backprop-layers sweep"
KILL_ENV = "SOLVER_SWEEP_TEST_KILL"


class Axis(NamedTuple):
    """One swept setting and the values its trials take, in trial order."""

    name: str
    values: tuple  # a list's values, or a range's draws
    scale: str | None  # a range's "linear" or "log"; None for a list


class Trial(NamedTuple):
    """One training run of a sweep."""

    index: int
    seed: int
    swept: dict  # the swept settings' values
    settings: dict  # every setting of the run, as ``solver train`` takes them (JSON-able)

    @property
    def name(self):
        """The trial's folder in the sweep's output folder, ``trial-NNN``."""
        return f"trial-{self.index:03d}"


class Sweep(NamedTuple):
    """A sweep file, read and checked: its swept axes and every trial."""

    source: str  # the file it came from, for messages
    seed: int
    axes: tuple  # of Axis, in file order
    trials: tuple  # of Trial, by index


# --- the sweep file ----------------------------------------------------------------------------

def load_sweep(path):
    """Read and check a sweep file (TOML, described in the module docstring).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Sweep

    Raises
    ------
    ValueError
        If the file cannot be read or is not valid TOML, or for any mistake in it (an unknown
        setting, an empty list, a value out of its range, a bad range...): the message names
        the file, the table, the setting and what is wrong.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the sweep file: {exc.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    return parse_sweep(document, source=str(path))


def parse_sweep(document, source="sweep"):
    """Check a sweep given as the dict a TOML file reads as; enumerate its trials.

    Parameters
    ----------
    document : dict
        ``dataset``, ``model``, optional ``seed``, optional table ``fixed``, table ``sweep``.
    source : str
        Names the sweep in error messages (the file's path).

    Returns
    -------
    Sweep

    Raises
    ------
    ValueError
        For any mistake, in one line naming ``source``, the table and the setting.
    """
    from . import cli  # here, not at the top: cli imports this module for its `sweep` command

    unknown = [key for key in document if key not in FILE_KEYS]
    if unknown:
        raise ValueError(f"{source}: unknown key {unknown[0]!r}; a sweep file holds "
                         f"dataset, model, seed, and the tables [fixed] and [sweep]")
    for key in ("dataset", "model", "sweep"):
        if key not in document:
            raise ValueError(f"{source}: {key} is missing" + (
                "; [sweep] names the settings to vary" if key == "sweep" else
                f"; name it at the top of the file, {key} = ..."))
    seed = document.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"{source}: seed must be an integer >= 0, got {seed!r}")
    top = {key: _parse_value(cli, f"{source}: {key}", key, document[key])
           for key in ("dataset", "model")}
    fixed = {name: _parse_value(cli, f"{source}: [fixed] {name}", name, value)
             for name, value in _settings_table(cli, source, document, "fixed").items()}
    specs = _settings_table(cli, source, document, "sweep")
    if not specs:
        raise ValueError(f"{source}: [sweep] is empty; name at least one setting to vary")
    both = [name for name in specs if name in fixed]
    if both:
        raise ValueError(f"{source}: {both[0]} is both in [fixed] and in [sweep]; "
                         f"keep it in one of them")
    draws, trial_seeds = np.random.SeedSequence(seed).spawn(2)
    axes = _axes(cli, source, specs, np.random.default_rng(draws))
    trials = _trials(cli, source, top, fixed, axes, trial_seeds)
    return Sweep(source, seed, axes, trials)


def _settings_table(cli, source, document, table):
    """The table ``[fixed]`` or ``[sweep]`` keyed by setting names, the names checked."""
    entries = document.get(table, {})
    if not isinstance(entries, dict):
        raise ValueError(f"{source}: {table} must be a table, [{table}], "
                         f"got {type(entries).__name__}")
    settable = [name for name in cli.SETTINGS if name not in NOT_SETTABLE]
    named = {}
    for key, value in entries.items():
        name = key.replace("-", "_")  # as solver train's --config files
        where = f"{source}: [{table}] {key}"
        if name in NOT_SETTABLE:
            raise ValueError(f"{where} cannot be set here: {NOT_SETTABLE[name]}")
        if name not in cli.SETTINGS:
            raise ValueError(f"{source}: [{table}] unknown setting {key!r}; the settings are "
                             f"{', '.join(settable)}")
        if name in named:
            raise ValueError(f"{where}: {name} is given twice")
        named[name] = value
    return named


def _parse_value(cli, where, name, value):
    """One value of a setting, checked and normalised as ``solver train`` does."""
    try:
        return cli.SETTINGS[name].parse(value)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _axes(cli, source, specs, rng):
    """An Axis per swept setting: a list's values, or a range's ``count`` draws from rng."""
    ranges = {}
    for name, spec in specs.items():
        if isinstance(spec, dict):
            ranges[name] = _parse_range(cli, f"{source}: [sweep] {name}", name, spec)
    counts = {name: count for name, (_, _, _, count) in ranges.items()}
    if len(set(counts.values())) > 1:
        raise ValueError(
            f"{source}: [sweep] ranges are drawn together, one value of each per draw, so they "
            f"need the same count; got " + ", ".join(f"{n} {c}" for n, c in counts.items()))
    axes = []
    for name, spec in specs.items():
        where = f"{source}: [sweep] {name}"
        if name in ranges:
            low, high, scale, count = ranges[name]
            if scale == "log":
                draws = 10.0 ** rng.uniform(math.log10(low), math.log10(high), count)
            else:
                draws = rng.uniform(low, high, count)
            values = []
            for value in draws.tolist():
                try:
                    values.append(cli.SETTINGS[name].parse(value))
                except argparse.ArgumentTypeError as exc:
                    raise ValueError(f"{where}: a range draws real numbers, and {name} "
                                     f"refuses the draw {value!r}: {exc}") from None
            axes.append(Axis(name, tuple(values), scale))
        elif isinstance(spec, list):
            if not spec:
                raise ValueError(f"{where}: the list is empty; give at least one value")
            values = [_parse_value(cli, where, name, value) for value in spec]
            repeated = [value for i, value in enumerate(values) if value in values[:i]]
            if repeated:
                raise ValueError(f"{where}: {repeated[0]!r} is listed twice")
            axes.append(Axis(name, tuple(values), None))
        else:
            raise ValueError(
                f"{where}: give a list of values, [a, b, ...], or a range, {{low = ..., "
                f"high = ..., scale = \"log\", count = ...}}, got {spec!r}; a single value "
                f"belongs in [fixed]")
    return tuple(axes)


def _parse_range(cli, where, name, spec):
    """``(low, high, scale, count)`` of a range, checked."""
    unknown = [key for key in spec if key not in RANGE_KEYS]
    missing = [key for key in RANGE_KEYS if key not in spec]
    if unknown or missing:
        problem = (f"unknown key {unknown[0]!r}" if unknown
                   else f"{', '.join(missing)} missing")
        raise ValueError(f"{where}: {problem}; a range is {{low = ..., high = ..., "
                         f"scale = \"log\" or \"linear\", count = ...}}")
    low, high, scale, count = (spec[key] for key in RANGE_KEYS)
    if scale not in SCALES:
        raise ValueError(f"{where}: scale must be \"log\" or \"linear\", got {scale!r}")
    for key, value in (("low", low), ("high", high)):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (number and math.isfinite(value)):
            raise ValueError(f"{where}: {key} must be a finite number, got {value!r}")
    if not low < high:
        raise ValueError(f"{where}: low must be below high, got low = {low!r}, high = {high!r}")
    if scale == "log" and low <= 0:
        raise ValueError(f"{where}: a log-scale range needs low > 0, got low = {low!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"{where}: count must be an integer >= 1, got {count!r}")
    _parse_value(cli, f"{where}: low", name, float(low))
    return float(low), float(high), scale, count


def _trials(cli, source, top, fixed, axes, trial_seeds):
    """Every trial: the grid points crossed with the draws, each with its own seed."""
    grid = [axis for axis in axes if axis.scale is None]
    ranges = [axis for axis in axes if axis.scale is not None]
    num_draws = len(ranges[0].values) if ranges else 1
    points = list(itertools.product(itertools.product(*(axis.values for axis in grid)),
                                    range(num_draws)))
    trials = []
    for index, (child, (point, draw)) in enumerate(zip(trial_seeds.spawn(len(points)), points)):
        values = {**dict(zip((axis.name for axis in grid), point)),
                  **{axis.name: axis.values[draw] for axis in ranges}}
        swept = {axis.name: values[axis.name] for axis in axes}  # in file order
        seed = int(child.generate_state(1)[0])
        try:
            settings = cli.resolve_settings({**top, **fixed, **swept, "seed": seed})
        except cli.UsageError as exc:
            raise ValueError(f"{source}: trial {index} ({_describe(swept)}): {exc}") from None
        del settings["out"]
        trials.append(Trial(index, seed, swept, settings))
    return tuple(trials)


def _describe(values):
    """``learning_rate=0.001, reg=0`` for a dict of settings."""
    return ", ".join(f"{name}={_format(value)}" for name, value in values.items())


def _format(value):
    """A setting's value in a table: floats to 4 significant digits, lists as 64,64."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


# --- one trial ---------------------------------------------------------------------------------

def run_trial(trial, trial_dir):
    """Train one trial with the Solver, in this process, as ``solver train`` would.

    The sweep runs it in a process of its own (:func:`run_trial_process`); it is public for
    trying a single trial by hand.

    Parameters
    ----------
    trial : Trial
    trial_dir : str or os.PathLike
        Where last.npz, best.npz and history.json are written; created if needed.

    Returns
    -------
    record : dict
        trial, status ('ok' or 'diverged'), best_val_acc (None when training diverged before
        its first epoch ended), final_loss (the last minibatch's; None when diverged), seconds
        (loading the data and training), seed, settings (the swept values) and error (None,
        or where training diverged).

    Raises
    ------
    Exception
        Whatever stops the trial other than divergence (a bad data_dir, ...).
    """
    from threadpoolctl import threadpool_limits

    from . import cli
    from .solver import TrainingDiverged

    if str(trial.index) in os.environ.get(KILL_ENV, "").split(","):
        os.kill(os.getpid(), signal.SIGKILL)  # tests only: a process killed mid-trial
    work = Path(trial_dir)
    work.mkdir(parents=True, exist_ok=True)
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        data, model = cli.data_and_model(trial.settings)
        solver = cli.make_solver({**trial.settings, "out": str(work)}, model, data, verbose=False)
        status, error = "ok", None
        try:
            solver.train()
        except TrainingDiverged as exc:
            status, error = "diverged", str(exc)
        seconds = time.perf_counter() - start
    cli.write_history(work, solver, trial.settings, status=status, seconds=seconds,
                       **({"diverged": error} if error else {}))
    return _record(trial, status, error, seconds=round(seconds, 3),
                   best_val_acc=solver.best_val_acc if solver.val_acc_history else None,
                   final_loss=solver.loss_history[-1] if status == "ok" else None)


def _record(trial, status, error, *, best_val_acc=None, final_loss=None, seconds=None):
    return {"trial": trial.index, "status": status, "best_val_acc": best_val_acc,
            "final_loss": final_loss, "seconds": seconds, "seed": trial.seed,
            "settings": trial.swept, "error": error}


def run_trial_process(trial, trial_dir=None):
    """Run :func:`run_trial` in a fresh Python process of its own; the executors' task.

    A trial's process may die (a kill, the out-of-memory killer) without taking the caller
    with it: a local pool of processes would break, failing every trial in it, and a Dask
    worker would die with the trials it holds. Here only this trial fails.

    Parameters
    ----------
    trial : Trial
    trial_dir : str or os.PathLike, optional
        Where the trial writes its files. Without it (on a Dask worker), it writes into a
        scratch folder and the files come back with the record.

    Returns
    -------
    record : dict
        As :func:`run_trial`'s; for a trial that raised or died, status 'failed' and the error:
        the exception's last line, or the signal that killed the process.
    files : dict
        File name -> bytes of last.npz, best.npz and history.json; empty with trial_dir.
    """
    folder = (tempfile.TemporaryDirectory(prefix="sweep-trial-") if trial_dir is None
              else contextlib.nullcontext(trial_dir))
    # The child imports the same solver package as this process, wherever it lies.
    package_root = str(Path(__file__).resolve().parent.parent)
    python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    with folder as work:
        child = subprocess.run(
            [sys.executable, "-c", "import solver.sweep; solver.sweep._trial_main()",
             os.fspath(work)],
            input=json.dumps(trial._asdict()), capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": python_path})
        if child.returncode != 0:
            return _record(trial, "failed", _death(child.returncode, child.stderr)), {}
        record = json.loads(child.stdout.splitlines()[-1])  # its last line: the record
        files = {} if trial_dir is not None else {
            name: (Path(work) / name).read_bytes() for name in TRIAL_FILES
            if (Path(work) / name).exists()}
    return record, files


def _death(returncode, stderr):
    """Why a trial's process failed: the signal that killed it, or its error's last line."""
    if returncode < 0:
        return f"the trial's process was killed by {signal.Signals(-returncode).name}"
    lines = stderr.strip().splitlines()
    return lines[-1] if lines else f"the trial's process exited with status {returncode}"


def _trial_main():
    """The trial's process: a Trial as JSON on stdin, its folder in argv, its record on stdout."""
    trial = Trial(**json.load(sys.stdin))
    print(json.dumps(run_trial(trial, sys.argv[1]), allow_nan=False))


# --- the whole sweep ---------------------------------------------------------------------------

def default_workers():
    """Every core this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _require(module, why, known_as=None):
    """Import an optional dependency, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{why} needs {known_as or module}, which is not installed; install "
                          f"it with pip install \".[sweep]\" (the sweep extra of "
                          f"backprop-layers)") from None


@contextlib.contextmanager
def _submitter(out_dir, scheduler, workers):
    """``submit(trial) -> concurrent.futures.Future`` of (record, files), locally or on Dask."""
    if scheduler is None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as executor:
            yield lambda trial: executor.submit(
                run_trial_process, trial, os.fspath(out_dir / trial.name))
    else:
        import distributed  # here: the library works without Dask (run_sweep checked it)

        try:
            client = distributed.Client(scheduler, timeout="20s")
        except OSError as exc:
            raise OSError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            executor = client.get_executor(pure=False)  # pure=False: every submit runs
            yield lambda trial: executor.submit(run_trial_process, trial)


def run_sweep(sweep, out_dir, *, scheduler=None, workers=None, progress=None):
    """Run the trials of ``sweep`` not yet finished in ``out_dir``; write results and plots.

    Parameters
    ----------
    sweep : Sweep
    out_dir : str or os.PathLike
        Created if needed. If it holds an earlier run of the same sweep, its finished trials
        ('ok' and 'diverged') are kept and only the others run.
    scheduler : str, optional
        The address of a Dask scheduler, ``tcp://HOST:PORT``, to run the trials on its cluster;
        by default they run on this machine.
    workers : int, optional
        Local runs only: how many trials run at once (default :func:`default_workers`).
    progress : callable, optional
        Called with each trial's record as it finishes.

    Returns
    -------
    records : list of T dicts
        Every trial's record, in trial order (see :func:`run_trial`; failed trials have status
        'failed', an error and no results).

    Raises
    ------
    ValueError
        If ``out_dir`` holds a different sweep, or for bad workers.
    ImportError
        If threadpoolctl, or with ``scheduler`` dask.distributed, is not installed.
    OSError
        If the scheduler cannot be reached.
    """
    out_dir = Path(out_dir)
    if scheduler is not None and workers is not None:
        raise ValueError("run_sweep: workers sets the trials run at once locally; on a Dask "
                         "cluster, start as many worker threads as trials to run at once")
    if workers is None:
        workers = default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"run_sweep: workers must be an integer >= 1, got {workers!r}")
    _require("threadpoolctl", "solver sweep")
    if scheduler is not None:
        _require("distributed", "--scheduler", "dask.distributed")
    check_out_dir(sweep, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / "sweep.json").exists():
        _write_json(out_dir / "sweep.json", sweep_definition(sweep))

    records = finished_records(sweep, out_dir)
    pending = [trial for trial in sweep.trials if trial.index not in records]
    if pending:
        with _submitter(out_dir, scheduler, workers) as submit:
            futures = {submit(trial): trial for trial in pending}
            try:
                for future in concurrent.futures.as_completed(futures):
                    trial = futures[future]
                    try:
                        record, files = future.result()
                    except Exception as exc:  # the executor's own: Dask's KilledWorker, ...
                        error = f"{type(exc).__name__}: {exc}"
                        record, files = _record(trial, "failed", error), {}
                    _save_trial(out_dir, trial, record, files)
                    records[trial.index] = record
                    if progress is not None:
                        progress(record)
            finally:
                for future in futures:
                    future.cancel()  # on an interrupt: trials not started never start
    records = [records[trial.index] for trial in sweep.trials]
    write_results(records, out_dir)
    plot_sweep(sweep, records, out_dir)
    return records


def _save_trial(out_dir, trial, record, files):
    """A finished trial's files, its settings, and last its result.json, each atomically."""
    trial_dir = out_dir / trial.name
    trial_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        _write_atomic(trial_dir / name, content)
    _write_json(trial_dir / "settings.json", trial.settings)
    _write_json(trial_dir / "result.json", record)


def _write_atomic(path, content):
    """Write bytes to ``path`` through a temporary file renamed over it."""
    with replaced(path) as file:
        file.write(content)


def _write_json(path, value):
    _write_atomic(path, (json.dumps(value, indent=1, allow_nan=False) + "\n").encode())


def sweep_definition(sweep):
    """The JSON that ``DIR/sweep.json`` holds: the trials, with every setting, and the axes."""
    return {"format": DEFINITION_FORMAT, "source": sweep.source, "seed": sweep.seed,
            "axes": [{"name": axis.name, "scale": axis.scale, "values": list(axis.values)}
                     for axis in sweep.axes],
            "trials": [{"trial": trial.index, "seed": trial.seed, "settings": trial.settings}
                       for trial in sweep.trials]}


def check_out_dir(sweep, out_dir):
    """Refuse an output folder that holds a different sweep (one whose trials differ).

    Raises
    ------
    ValueError
        Naming the first difference: the number of trials, or a trial's seed or setting.
    """
    path = Path(out_dir) / "sweep.json"
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text())["trials"]
        if not all(isinstance(trial, dict) for trial in old):
            raise TypeError("its trials are not all tables")
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{path} is not a sweep definition ({exc}); choose another --out") \
            from None
    new = json.loads(json.dumps(sweep_definition(sweep)["trials"]))  # as JSON reads back
    if old == new:
        return
    raise ValueError(f"{out_dir} holds another sweep ({_difference(old, new, sweep.source)}); "
                     f"its trials cannot mix with these: choose another --out, or delete "
                     f"{out_dir}")


def _difference(old, new, source):
    """The first difference between stored trials and the file's, in words."""
    if len(old) != len(new):
        return f"{len(old)} trials there, {len(new)} in {source}"
    for before, after in zip(old, new):
        if before == after:
            continue
        fields = {"seed": (before.get("seed"), after["seed"])}
        for name in {**before.get("settings", {}), **after["settings"]}:
            fields[name] = (before.get("settings", {}).get(name), after["settings"].get(name))
        for name, (was, now) in fields.items():
            if was != now:
                return f"trial {after['trial']} has {name} = {was!r} there, {now!r} in {source}"
    return "the trials differ"


def finished_records(sweep, out_dir):
    """The records of the trials already finished ('ok' or 'diverged') in ``out_dir``.

    Returns
    -------
    dict
        Trial index -> record, from each ``trial-NNN/result.json`` that is readable and
        belongs to the trial (its index and seed).
    """
    records = {}
    for trial in sweep.trials:
        path = Path(out_dir) / trial.name / "result.json"
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (isinstance(record, dict) and record.get("status") in FINISHED
                and record.get("trial") == trial.index and record.get("seed") == trial.seed):
            records[trial.index] = record
    return records


# --- results -----------------------------------------------------------------------------------

def write_results(records, out_dir):
    """``results.json`` (the records) and ``results.csv`` (a row each) in ``out_dir``.

    The CSV's columns are trial, status, best_val_acc, final_loss, seconds, seed, the swept
    settings (a list as JSON, ``[64, 64]``) and error; a missing number is an empty cell.
    """
    out_dir = Path(out_dir)
    _write_json(out_dir / "results.json", records)
    swept = list(records[0]["settings"]) if records else []
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([*COLUMNS, *swept, "error"])
    for record in records:
        values = [record[column] for column in COLUMNS]
        values += [json.dumps(value) if isinstance(value, list) else value
                   for value in (record["settings"][name] for name in swept)]
        writer.writerow(["" if value is None else value for value in (*values, record["error"])])
    _write_atomic(out_dir / "results.csv", text.getvalue().encode())


def _axis_scale(axis):
    """How to draw a swept setting: 'linear', 'log', 'symlog' or 'category'.

    A range is drawn at its own scale. A list of positive numbers that spans two decades or
    more is drawn 'log' ('symlog' if it also holds 0, as reg = [0, 1e-4, 1e-2] does); a list
    that is not all numbers (update rules, hidden_dims) as categories; any other, 'linear'.
    """
    if axis.scale is not None:
        return axis.scale
    values = axis.values
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "category"
    positive = [v for v in values if v > 0]
    if len(positive) >= 2 and max(positive) >= 100 * min(positive) and min(values) >= 0:
        return "log" if len(positive) == len(values) else "symlog"
    return "linear"


def _place(ax_set_scale, axis, values):
    """Set one axis of a plot for ``axis``; return the positions of ``values`` on it."""
    scale = _axis_scale(axis)
    if scale == "category":
        return [axis.values.index(value) for value in values]
    if scale == "symlog":
        ax_set_scale("symlog", linthresh=min(v for v in axis.values if v > 0))
    else:
        ax_set_scale(scale)
    return values


def plot_sweep(sweep, records, out_dir):
    """Accuracy plots of a sweep as PNGs in ``out_dir``; returns the files' names.

    ``val_acc_vs_<setting>.png`` for each swept setting: every trial with an accuracy, its
    best validation accuracy against the setting's value (diverged trials as crosses);
    ``lr_vs_reg.png`` when both are swept: every trial at its learning rate and reg, coloured
    by accuracy (diverged and failed trials as grey crosses). Log axes where the range's scale
    is log, or a list spans two decades. Nothing is drawn when no trial has an accuracy.
    """
    from matplotlib.figure import Figure  # no pyplot: no window, no global figure list

    from .plots import DPI

    out_dir = Path(out_dir)
    scored = [record for record in records if record["best_val_acc"] is not None]
    if not scored:
        return []
    written = []
    for axis in sweep.axes:
        fig = Figure(figsize=(5, 4), layout="constrained")
        ax = fig.subplots()
        for status, marker in (("ok", "o"), ("diverged", "x")):
            chosen = [record for record in scored if record["status"] == status]
            if chosen:
                x = _place(ax.set_xscale, axis, [r["settings"][axis.name] for r in chosen])
                ax.scatter(x, [r["best_val_acc"] for r in chosen], marker=marker, alpha=0.8,
                           label=status)
        if _axis_scale(axis) == "category":
            ax.set_xticks(range(len(axis.values)), [_format(v) for v in axis.values])
        ax.set(title=f"Validation accuracy against {axis.name}", xlabel=axis.name,
               ylabel="best validation accuracy")
        ax.grid(alpha=0.3)
        if len({record["status"] for record in scored}) > 1:
            ax.legend()
        name = f"val_acc_vs_{axis.name}.png"
        fig.savefig(out_dir / name, dpi=DPI)
        written.append(name)

    axes = {axis.name: axis for axis in sweep.axes}
    if "learning_rate" in axes and "reg" in axes:
        fig = Figure(figsize=(6, 4.5), layout="constrained")
        ax = fig.subplots()

        def positions(chosen):
            return (_place(ax.set_xscale, axes["learning_rate"],
                           [record["settings"]["learning_rate"] for record in chosen]),
                    _place(ax.set_yscale, axes["reg"],
                           [record["settings"]["reg"] for record in chosen]))

        ok = [record for record in records if record["status"] == "ok"]
        if ok:
            points = ax.scatter(*positions(ok), c=[record["best_val_acc"] for record in ok],
                                cmap="viridis", s=60, edgecolors="k", linewidths=0.5)
            fig.colorbar(points, ax=ax, label="best validation accuracy")
        others = [record for record in records if record["status"] != "ok"]
        if others:
            ax.scatter(*positions(others), marker="x", color="0.5", label="diverged or failed")
            ax.legend(loc="upper right")
        ax.set(title="Learning rate and regularization", xlabel="learning_rate", ylabel="reg")
        fig.savefig(out_dir / "lr_vs_reg.png", dpi=DPI)
        written.append("lr_vs_reg.png")
    return written


# --- the command line --------------------------------------------------------------------------

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def add_sweep_parser(subparsers):
    """Add the ``sweep`` command to ``solver``'s subparsers; returns its parser."""
    parser = subparsers.add_parser(
        "sweep", help="train one model per trial of a grid or random search, in parallel",
        description="Run the trials of SWEEP.toml (a grid of lists and random ranges of "
                    "settings; see the README) in parallel, and write a folder per trial, a "
                    "results table and plots into --out. A rerun into the same --out runs "
                    "only the trials not yet finished.")
    parser.add_argument("sweep_file", metavar="SWEEP.toml", help="the sweep file")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for the trials, results.csv, results.json and plots")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                        help="run the trials on the Dask cluster of this scheduler (needs "
                             "pip install \".[sweep]\") (default: on this machine)")
    parser.add_argument("--workers", type=_positive_int, metavar="N", default=None,
                        help=f"trials at once on this machine (default: every core, "
                             f"{default_workers()} here)")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the trials and which of them would run; run nothing")
    return parser


def _table(header, rows):
    """Rows of strings as aligned columns, numbers on the right."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    lines = []
    for row in (header, *rows):
        cells = [cell.rjust(w) if cell[:1].isdigit() or cell[:1] == "-" else cell.ljust(w)
                 for cell, w in zip(row, widths)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_trials(sweep, records, trials=None):
    """A table of trials: number, seed, swept settings, and state from ``records``.

    ``records`` maps trial index -> record; a trial without one shows as 'to run'. ``trials``
    are the trials to list, in order (default: all of them).
    """
    names = [axis.name for axis in sweep.axes]
    rows = []
    for trial in sweep.trials if trials is None else trials:
        record = records.get(trial.index)
        if record is None:
            state = "to run"
        elif record["best_val_acc"] is None:
            state = record["status"]
        else:
            state = f"{record['status']} {record['best_val_acc']:.4f}"
        rows.append([str(trial.index), str(trial.seed),
                     *(_format(trial.swept[name]) for name in names), state])
    return _table(["trial", "seed", *names, "state"], rows)


def run_sweep_command(args):
    """``solver sweep``: run the sweep of ``args`` (from :func:`add_sweep_parser`).

    Returns
    -------
    int
        0 when every trial finished ('ok' or 'diverged'); 1 when a trial failed (a rerun
        retries it) or the sweep could not run (dask missing, scheduler unreachable); 2 for a
        bad sweep file or command line, or an --out that holds another sweep. Errors are one
        line on stderr.
    """
    from tqdm import tqdm

    prog = "solver sweep"
    out_dir = Path(args.out)
    try:
        if args.scheduler is not None and args.workers is not None:
            raise ValueError("--workers sets the trials run at once on this machine; with "
                             "--scheduler, the cluster's worker threads do")
        sweep = load_sweep(args.sweep_file)
        check_out_dir(sweep, out_dir)
    except ValueError as exc:
        _report(f"{prog}: error: {exc}")
        return 2
    finished = finished_records(sweep, out_dir)
    to_run = len(sweep.trials) - len(finished)
    if args.dry_run:
        print(f"{sweep.source}: {len(sweep.trials)} trials, {to_run} to run into {out_dir} "
              f"(dry run: nothing runs)")
        print(format_trials(sweep, finished))
        return 0

    best = [record["best_val_acc"] for record in finished.values()
            if record["best_val_acc"] is not None]
    try:
        with tqdm(total=to_run, unit="trial", desc="sweep", dynamic_ncols=True) as bar:
            def progress(record):
                if record["best_val_acc"] is not None:
                    best.append(record["best_val_acc"])
                bar.update()
                if best:
                    bar.set_postfix(best_val_acc=f"{max(best):.4f}")

            records = run_sweep(sweep, out_dir, scheduler=args.scheduler, workers=args.workers,
                                progress=progress)
    except (ImportError, OSError, ValueError) as exc:
        _report(f"{prog}: error: {exc}")
        return 1
    except KeyboardInterrupt:
        _report(f"{prog}: interrupted; the finished trials are kept in {out_dir}: run the "
                f"same command to run the rest")
        return 130
    print(_summary(sweep, records, out_dir))
    return 1 if any(record["status"] == "failed" for record in records) else 0


def _summary(sweep, records, out_dir):
    """What a finished sweep prints: counts, the five best trials, where the files are."""
    counts = {status: sum(r["status"] == status for r in records)
              for status in ("ok", "diverged", "failed")}
    lines = [f"{len(records)} trials: " + ", ".join(f"{n} {s}" for s, n in counts.items())
             + (" (run the same command again to retry the failed)" if counts["failed"] else "")]
    scored = sorted((r for r in records if r["best_val_acc"] is not None),
                    key=lambda r: (-r["best_val_acc"], r["trial"]))[:5]
    if scored:
        lines.append(f"the {len(scored)} best:")
        lines.append(format_trials(sweep, {r["trial"]: r for r in scored},
                                   [sweep.trials[r["trial"]] for r in scored]))
    lines.append(f"wrote trial-NNN/, results.csv, results.json and plots in {out_dir}")
    return "\n".join(lines)


def _report(message):
    print(" ".join(message.split()), file=sys.stderr)

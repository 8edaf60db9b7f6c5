"""Running a sweep's trials: each in a process of its own, locally or on a Dask cluster.

    records = run_sweep(sweep, "runs/digits-sweep", workers=4)
    records = run_sweep(sweep, "runs/digits-sweep", scheduler="tcp://HOST:8786")

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
``KilledWorker``, a failed trial. Starting a trial's process costs about a second. A trial is
one :func:`solver.run.train_run`, as ``solver train`` runs, without the test split or plots.

Every trial runs with ``threadpoolctl.threadpool_limits(threads)``, one BLAS thread per trial
by default, so that parallel trials do not oversubscribe the cores. Dask is imported only for
``scheduler``; ``pip install ".[sweep]"`` installs it and threadpoolctl.

A trial's status is ``ok``; ``diverged`` when its loss became NaN or infinite (a finished
result, whose best_val_acc is the best reached before); or ``failed`` when it raised or its
process died. A rerun into the same ``DIR`` keeps the ``ok`` and ``diverged`` trials and runs
the others, after checking that ``DIR/sweep.json`` holds the same trials as the file (it
refuses a file whose trials changed; a setting added to ``solver train`` since the folder was
written counts as its default). Trials are chosen on validation accuracy only; the test split
is left for the model finally chosen.

For tests only: a trial whose number is listed in the environment variable
``SOLVER_SWEEP_TEST_KILL`` (comma-separated, e.g. ``"1,3"``) kills its own process with
SIGKILL as it starts, to stand for a trial's process killed mid-trial.

Shapes: T the number of trials; ``records`` are lists of T dicts, one per trial, in order.
"""

import concurrent.futures
import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .._files import exclusive, remove_partial_files
from .._safety import checked_file_name, die_with_parent
from ..run import train_run
from ..settings import from_saved
from .results import plot_sweep, write_atomic, write_json, write_results
from .spec import Trial

FINISHED = ("ok", "diverged")  # statuses a rerun keeps; "failed" trials run again
TRIAL_FILES = ("last.npz", "best.npz", "history.json")  # what a trial's training writes
DEFINITION_FORMAT = "backprop-layers sweep"
KILL_ENV = "SOLVER_SWEEP_TEST_KILL"


def run_trial(trial, trial_dir, threads=1):
    """Train one trial with the Solver, in this process, as ``solver train`` would.

    The sweep runs it in a process of its own (:func:`run_trial_process`); it is public for
    trying a single trial by hand.

    Parameters
    ----------
    trial : Trial
    trial_dir : str or os.PathLike
        Where last.npz, best.npz and history.json are written; created if needed.
    threads : int, default 1
        numpy's BLAS threads (threadpoolctl): one per trial, so that parallel trials do not
        oversubscribe the cores.

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

    if str(trial.index) in os.environ.get(KILL_ENV, "").split(","):
        os.kill(os.getpid(), signal.SIGKILL)  # tests only: a process killed mid-trial
    work = Path(trial_dir)
    work.mkdir(parents=True, exist_ok=True)
    with threadpool_limits(limits=threads):
        start = time.perf_counter()
        outcome = train_run(trial.settings, out=work, score_test=False, plots=False)
        seconds = time.perf_counter() - start
    solver, diverged = outcome.solver, outcome.diverged
    return _record(trial, "ok" if diverged is None else "diverged",
                   None if diverged is None else str(diverged), seconds=round(seconds, 3),
                   best_val_acc=None if outcome.best_epoch is None else solver.best_val_acc,
                   final_loss=solver.loss_history[-1] if diverged is None else None)


def _record(trial, status, error, *, best_val_acc=None, final_loss=None, seconds=None):
    return {"trial": trial.index, "status": status, "best_val_acc": best_val_acc,
            "final_loss": final_loss, "seconds": seconds, "seed": trial.seed,
            "settings": trial.swept, "error": error}


def run_trial_process(trial, trial_dir=None, threads=1):
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
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding solver/
    python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    with folder as work:
        child = subprocess.run(
            [sys.executable, "-c", "from solver.sweep.execute import trial_main; trial_main()",
             os.fspath(work), str(os.getpid()), str(threads)],
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


def trial_main():
    """The trial's process: a Trial as JSON on stdin, its folder and its sweep's process id in
    argv, its record on stdout. It dies with its sweep: a sweep killed by SIGKILL leaves no
    trial training on."""
    die_with_parent(int(sys.argv[2]))
    trial = Trial(**json.load(sys.stdin))
    print(json.dumps(run_trial(trial, sys.argv[1], int(sys.argv[3])), allow_nan=False))


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
def _submitter(out_dir, scheduler, workers, threads):
    """``submit(trial) -> concurrent.futures.Future`` of (record, files), locally or on Dask."""
    if scheduler is None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as executor:
            yield lambda trial: executor.submit(
                run_trial_process, trial, os.fspath(out_dir / trial.name), threads)
    else:
        import distributed  # here: the library works without Dask (run_sweep checked it)

        try:
            client = distributed.Client(scheduler, timeout="10s")
        except OSError as exc:
            raise OSError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            executor = client.get_executor(pure=False)  # pure=False: every submit runs
            yield lambda trial: executor.submit(run_trial_process, trial, None, threads)


def run_sweep(sweep, out_dir, *, scheduler=None, workers=None, progress=None, started=None,
              threads=1):
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
    threads : int, default 1
        numpy's BLAS threads in each trial.
    started : callable, optional
        Called with the number of trials to run once they can run (the scheduler reached):
        where the command line draws its progress bar, after any error of the start.

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
    with exclusive(out_dir, "run_sweep: out_dir"):  # one sweep at a time writes there
        return _run_locked(sweep, out_dir, scheduler, workers, progress, started, threads)


def _run_locked(sweep, out_dir, scheduler, workers, progress, started, threads):
    """:func:`run_sweep`, once it holds ``out_dir``'s lock: no other sweep writes there, and
    the partial files a killed one left can go."""
    remove_partial_files(out_dir, recursive=True)
    if not (out_dir / "sweep.json").exists():
        write_json(out_dir / "sweep.json", sweep_definition(sweep))

    records = finished_records(sweep, out_dir)
    pending = [trial for trial in sweep.trials if trial.index not in records]
    if pending:
        with _submitter(out_dir, scheduler, workers, threads) as submit:
            if started is not None:
                started(len(pending))
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
    for name, content in files.items():  # from a worker: a name may not leave trial_dir
        write_atomic(trial_dir / checked_file_name(name, TRIAL_FILES, "a Dask worker"), content)
    write_json(trial_dir / "settings.json", trial.settings)
    write_json(trial_dir / "result.json", record)


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
    old = [{**trial, "settings": _as_now(trial.get("settings"), path)} for trial in old]
    if old == new:
        return
    raise ValueError(f"{out_dir} holds another sweep ({_difference(old, new, sweep.source)}); "
                     f"its trials cannot mix with these: choose another --out, or delete "
                     f"{out_dir}")


def _as_now(settings, path):
    """A stored trial's settings as a trial written today holds them: a setting added to
    ``solver train`` since the folder was written takes its default, as it did then."""
    try:
        return from_saved(settings, path)
    except ValueError:
        return settings  # not a run's settings: they differ, and say so


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

"""The ``solver`` command line (also ``python -m solver``): train, evaluate, sample, sweep.

    solver train                                   # a 2-layer net on digits, about 1 s
    solver train --dataset spiral --model fc --hidden-dims 100,100 --epochs 100
    solver train --config run.toml --learning-rate 1e-3      # flags override the file
    solver train --resume runs/digits-two-layer/last.npz --epochs 60
    solver evaluate runs/digits-two-layer/best.npz --split test
    solver sample runs/stdlib-text-lm/version_0/best.npz --prompt "def " --length 200
    solver sweep digits.toml --out runs/digits-sweep       # see solver.sweep

This module is argparse and the commands' printing; nothing imports it. The settings
are :data:`solver.settings.SETTINGS`, a run is :func:`solver.run.train_run`, a sweep is
:mod:`solver.sweep`. ``solver train --help`` is the full reference.

Exit status: 0 on success; 2 for a usage error (a bad flag or value, a bad config or sweep
file, a setting that cannot change on resume); 1 when data, a checkpoint, training or a trial
fails; 130 when interrupted. An error is one line on stderr, without a traceback.
"""

import argparse
import contextlib
import os
import sys
import textwrap
from pathlib import Path

import matplotlib

from ._safety import (check_scheduler, continues_in, new_run_folder, refuse_run_in, run_files,
                      writable_folder)
from .checkpoint import read_checkpoint
from .run import evaluate, sample, train_run
from .settings import SETTINGS, BadValue, UsageError, flag, for_resume, read_config, resolve
from .solver import TrainingDiverged, describe_divergence
from .sweep import check_out_dir, default_workers, finished_records, load_sweep, run_sweep
from .sweep import format_trials, summary

TRAIN_ABOUT = """\
Train a model. Settings come from the defaults, then a --config file (TOML or JSON whose keys
are the settings' names, learning_rate = 5e-3), then the flags given; a resumed run takes them
from its checkpoint. Every checkpoint keeps them; one written before a setting existed reads
with that setting's default. A sweep file's [fixed] and [sweep] tables take the same names.

Every run gets a folder of its own: runs/<dataset>-<model>/version_N, N counting up, unless
--out names one; an --out that holds a run is refused (--resume continues it, --overwrite
replaces it once the new run has finished an epoch), so that no run ever deletes another. The
run's folder receives last.npz after every epoch, best.npz whenever validation accuracy
improves, history.json (settings, histories, accuracies, time), history.png (training and
validation loss, accuracies), weights.png (the first layer's weights as image templates, or a
conv net's filters) for datasets of images, regions.png (the decision regions) for 2-d data and
grad_norms.png (every iteration's gradient norm) with --clip-norm. A language model (--model
lm) trains on a dataset of token windows; solver sample prints text it writes. history.json and
history.png are written however the run ends, stopped by Ctrl-C, a diverged loss or --patience
included. Stopped with Ctrl-C, it says what last.npz holds and how to continue (exit status
130). On a terminal each epoch shows a progress bar; into a file or a pipe, one line (train
loss, train and val accuracy, val loss, seconds).

Exit status: 0 on success, 2 for a usage error, 1 when data, a checkpoint or training fails;
an error is one line on stderr."""

TRAIN_EXAMPLES = """\
examples:
  solver train                                  # 2-layer net on digits, ~98% val
  solver train --dataset spiral --model fc --hidden-dims 100 --epochs 200 --lr-decay 1
  solver train --dataset mnist1d --model conv --filter-size 1,5 --pool 1,2 --hidden-dims 100
  solver train --config run.toml --learning-rate 1e-3   # flags override the file
  solver train --dataset stdlib-text --model lm --cell-type lstm --clip-norm 5 --epochs 10
  solver train --epochs 2 --out runs/a && solver train --resume runs/a/last.npz --epochs 4"""


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` (one line) instead of printing the usage, and
    takes no abbreviated flag: ``--lr`` would be read as ``--lr-decay``, not as a typo."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message):
        raise UsageError(message, self.prog)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The description as written; the help lines wrapped between words, never inside a flag
    (``--update-rule`` is not split at its hyphen)."""

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def _argument_type(parse):
    """A setting's parser as argparse's ``type``: its BadValue becomes argparse's message."""
    def argument_type(text):
        try:
            return parse(text)
        except BadValue as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return argument_type


def _setting_help(setting):
    """A setting's help line: what it is, where it applies, its default."""
    applies = ""
    if setting.applies is not None:
        key, values = setting.applies
        applies = f"; only with {flag(key)} {', '.join(values)}"
    default = setting.default
    shown = (setting.default_text if default is None or callable(default)
             else ",".join(map(str, default)) if isinstance(default, list) else default)
    return f"{setting.help}{applies} (default: {shown})"


def _add_train_parser(commands):
    train = commands.add_parser(
        "train", help="train a model and write checkpoints, history and plots",
        description=TRAIN_ABOUT, epilog=TRAIN_EXAMPLES,
        formatter_class=_HelpFormatter)
    groups = {}
    for name, setting in SETTINGS.items():
        if setting.group not in groups:
            groups[setting.group] = train.add_argument_group(setting.group)
        groups[setting.group].add_argument(
            flag(name), dest=name, type=_argument_type(setting.parse), metavar=setting.metavar,
            default=argparse.SUPPRESS, help=_setting_help(setting))
    run = train.add_argument_group("running")
    resumable = [flag(name) for name, setting in SETTINGS.items() if setting.resumable]
    run.add_argument("--config", metavar="FILE", help="TOML or JSON file of settings, keyed "
                     "by the names above with underscores (learning_rate = 5e-3); flags "
                     "override it (default: none)")
    run.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in "
                     "CHECKPOINT (a last.npz) up to --epochs, with its settings; only "
                     + ", ".join(resumable) + " may change (default: none)")
    run.add_argument("--overwrite", action="store_true",
                     help="let this run replace the run in --out, once it has finished an "
                          "epoch (default: refused)")
    run.add_argument("--threads", type=_positive_int, metavar="N", default=DEFAULT_THREADS,
                     help="BLAS threads (threadpoolctl): on 2 cores doing anything else, 2 "
                          "made the MNIST-1D ConvNet 5 to 14 times slower than 1, and the "
                          "fully connected nets no faster (default: %(default)s)")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar, only the summary (default: off)")
    run.add_argument("--download", action="store_true",
                     help="fetch CIFAR-10 into --data-dir if it is not there, checking its "
                          "MD5 (the only time solver uses the network; default: off)")


def _train(args):
    """``solver train``: returns the exit status."""
    given = read_config(args.config) if args.config else {}
    given.update({name: value for name, value in vars(args).items() if name in SETTINGS})
    if args.resume:
        settings = for_resume(read_checkpoint(args.resume), args.resume, given)
    else:
        settings = resolve(given)
    settings["out"] = str(_run_folder(settings, "out" in given, args))
    # On a terminal each epoch is a progress bar; elsewhere (a log file, a pipe) a bar's
    # redraws would all be kept, so each epoch is one plain line instead.
    terminal = not args.quiet and sys.stderr.isatty()
    try:
        with _threads(args.threads):
            outcome = train_run(settings, resume=args.resume, download=args.download,
                                verbose=terminal, log=None if args.quiet else _say,
                                epoch_log=None if args.quiet or terminal else _say)
    except KeyboardInterrupt as exc:
        last = getattr(exc, "last", None)  # train_run says what it saved, once training
        restored = getattr(exc, "restored", False)  # started; before that, nothing moved
        if last is not None:
            saved = (f"{last} holds the last finished epoch: continue with solver train "
                     f"--resume {last}")
        elif args.resume:
            saved = f"stopped before an epoch ended: {args.resume} is as it was"
        elif restored or (not hasattr(exc, "last") and run_files(settings["out"])):
            saved = (f"stopped before the first epoch ended: nothing was saved, and the "
                     f"earlier run in {settings['out']} is as it was")
        else:
            saved = "stopped before the first epoch ended: nothing was saved"
        _report(f"solver: interrupted; {saved}")
        return 130
    if outcome.diverged is not None:
        raise outcome.diverged
    solver = outcome.solver
    if solver.stopped_early:
        print(f"stopped early after epoch {solver.epoch} of {settings['epochs']} (--patience "
              f"{settings['patience']}): {solver.stopped_early}")
    print(f"best val accuracy {solver.best_val_acc:.4f} (epoch {outcome.best_epoch} of "
          f"{solver.epoch}), test accuracy {outcome.test_acc:.4f}, {outcome.seconds:.1f} s of "
          f"training")
    print(f"wrote {', '.join(outcome.written)} in {settings['out']}")
    return 0


DEFAULT_THREADS = 1  # measured: see --threads' help and the README


@contextlib.contextmanager
def _threads(count):
    """numpy's BLAS limited to ``count`` threads inside the block."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=count, user_api="blas"):
        yield


def _run_folder(settings, out_given, args):
    """The run's folder, made and checked before any data loads: a new numbered one by
    default; a named one must be writable and hold no run (unless --overwrite) other than
    the one --resume continues."""
    try:
        if args.resume is None and not out_given:
            return new_run_folder(settings["out"])
        out = writable_folder(settings["out"], "--out")
        if not continues_in(args.resume, out) and not args.overwrite:
            refuse_run_in(out)
        return out
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"--out {settings['out']}: cannot write there: "
                         f"{exc.strerror or exc}") from None


def _add_evaluate_parser(commands):
    evaluate_parser = commands.add_parser(
        "evaluate", help="report a checkpoint's accuracy on one split",
        description="Rebuild the model saved in CHECKPOINT from its settings and report its "
                    "accuracy.")
    evaluate_parser.add_argument("checkpoint", metavar="CHECKPOINT",
                                 help="a best.npz or last.npz written by solver train")
    evaluate_parser.add_argument("--split", choices=("val", "test", "train"), default="val",
                                 help="which split to score (default: val)")
    evaluate_parser.add_argument("--data-dir", metavar="DIR", default=None,
                                 help="where the dataset's files are, if not where they were "
                                      "when training (default: the checkpoint's)")


def _evaluate(args):
    """``solver evaluate``: returns the exit status."""
    accuracy, count, state, settings = evaluate(args.checkpoint, args.split, args.data_dir)
    print(f"{args.split} accuracy {accuracy:.4f} ({round(accuracy * count)} of {count}) "
          f"of {args.checkpoint} (epoch {state['epoch']}, {settings['model']} on "
          f"{settings['dataset']})")
    if state["diverged"] is not None:
        print(f"training diverged {describe_divergence(state)}: this checkpoint holds the "
              f"best weights before that")
    return 0


def _add_sample_parser(commands):
    sample_parser = commands.add_parser(
        "sample", help="print text a trained language model (--model lm) writes",
        description="Rebuild the language model saved in CHECKPOINT, with its vocabulary, and "
                    "print the prompt and the LENGTH tokens it writes after it.")
    sample_parser.add_argument("checkpoint", metavar="CHECKPOINT",
                               help="a best.npz or last.npz of solver train --model lm")
    sample_parser.add_argument("--prompt", required=True, metavar="TEXT",
                               help="the text to continue, of characters in the vocabulary")
    sample_parser.add_argument("--length", type=_positive_int, default=200, metavar="N",
                               help="tokens to write (default: %(default)s)")
    sample_parser.add_argument("--temperature", type=_at_least(float, 0), default=1.0,
                               metavar="T", help="divides the scores before the softmax: "
                               "below 1 surer, above 1 wilder, 0 always the most likely token "
                               "(default: %(default)s)")
    sample_parser.add_argument("--seed", type=_at_least(int, 0), default=0, metavar="N",
                               help="seeds the draws (default: %(default)s)")


def _sample(args):
    """``solver sample``: returns the exit status."""
    def write(text):  # as it is drawn: a long text shows as it grows, and Ctrl-C keeps it
        print(text, end="", flush=True)
    sample(args.checkpoint, args.prompt, args.length, args.temperature, args.seed, write)
    print()
    return 0


def _at_least(kind, minimum):
    """An argparse ``type``: a finite int or float (``kind``) >= minimum."""
    what = "an integer" if kind is int else "a finite number"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not minimum <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be {what} >= {minimum}, got {text!r}")
        return value
    return parse


_positive_int = _at_least(int, 1)


def _add_sweep_parser(commands):
    sweep = commands.add_parser(
        "sweep", help="train one model per trial of a grid or random search, in parallel",
        description="Run the trials of SWEEP.toml (a grid of lists and random ranges of "
                    "settings; see solver.sweep.spec or the README) in parallel, and write a "
                    "folder per trial, a results table and plots into --out. A rerun into the "
                    "same --out runs only the trials not yet finished.")
    sweep.add_argument("sweep_file", metavar="SWEEP.toml", help="the sweep file")
    sweep.add_argument("--out", required=True, metavar="DIR",
                       help="folder for the trials, results.csv, results.json and plots")
    sweep.add_argument("--scheduler", metavar="tls://HOST:PORT", default=None,
                       help="run the trials on the Dask cluster of this scheduler (needs "
                            "pip install \".[sweep]\"; see docs/sweeps.md on security) "
                            "(default: on this machine)")
    sweep.add_argument("--insecure-scheduler", action="store_true",
                       help="allow a plain tcp:// scheduler off loopback: whoever reaches it "
                            "runs code on the workers and on this machine (default: refused)")
    sweep.add_argument("--workers", type=_positive_int, metavar="N", default=None,
                       help=f"trials at once on this machine (default: every core, "
                            f"{default_workers()} here)")
    sweep.add_argument("--threads", type=_positive_int, metavar="N", default=DEFAULT_THREADS,
                       help="BLAS threads in each trial (default: %(default)s, as trials run "
                            "side by side)")
    sweep.add_argument("--dry-run", action="store_true",
                       help="list the trials and which of them would run; run nothing")


def _sweep(args):
    """``solver sweep``: returns the exit status: 0 when every trial finished ('ok' or
    'diverged'); 1 when a trial failed (a rerun retries it) or the sweep could not run (dask
    missing, scheduler unreachable); 2 for a bad sweep file or command line, or an --out that
    holds another sweep."""
    from tqdm import tqdm

    out_dir = Path(args.out)
    try:
        if args.scheduler is not None and args.workers is not None:
            raise ValueError("--workers sets the trials run at once on this machine; with "
                             "--scheduler, the cluster's worker threads do")
        if args.scheduler is not None:
            check_scheduler(args.scheduler, args.insecure_scheduler)
        sweep = load_sweep(args.sweep_file)
        check_out_dir(sweep, out_dir)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc), "solver sweep") from None
    finished = finished_records(sweep, out_dir)
    to_run = len(sweep.trials) - len(finished)
    if args.dry_run:
        print(f"{sweep.source}: {len(sweep.trials)} trials, {to_run} to run into {out_dir} "
              f"(dry run: nothing runs)")
        print(format_trials(sweep, finished))
        return 0

    if to_run == 0:  # said once, before anything that looks like work
        print(f"nothing left to do: the {len(sweep.trials)} trials of {sweep.source} are "
              f"finished in {out_dir}")
        print(summary(sweep, [finished[t.index] for t in sweep.trials], out_dir,
                      wrote=False))
        return 1 if any(record["status"] == "failed" for record in finished.values()) else 0
    best = [record["best_val_acc"] for record in finished.values()
            if record["best_val_acc"] is not None]
    bars = []  # drawn once the trials can start: an error of the start comes before it
    done = []
    # On a terminal a progress bar; into a log file or a pipe, one line per finished trial.
    terminal = sys.stderr.isatty()

    def started(count):
        if terminal:
            bars.append(tqdm(total=count, unit="trial", desc="sweep", dynamic_ncols=True))

    def progress(record):
        if record["best_val_acc"] is not None:
            best.append(record["best_val_acc"])
        done.append(record)
        if not terminal:
            _say(f"{_trial_line(sweep, record)} ({len(done)} of {to_run} done)")
            return
        bars[0].update()
        if best:
            bars[0].set_postfix(best_val_acc=f"{max(best):.4f}")

    try:
        records = run_sweep(sweep, out_dir, scheduler=args.scheduler, workers=args.workers,
                            progress=progress, started=started, threads=args.threads)
    except (ImportError, OSError, ValueError) as exc:
        _report(f"solver sweep: error: {exc}")
        return 1
    except KeyboardInterrupt:
        _report(f"solver sweep: interrupted; the finished trials are kept in {out_dir}: run "
                f"the same command to run the rest")
        return 130
    finally:
        for bar in bars:
            bar.close()
    print(summary(sweep, records, out_dir))
    return 1 if any(record["status"] == "failed" for record in records) else 0


def _trial_line(sweep, record):
    """A finished trial in one line: its folder, status and result (or error)."""
    line = f"{sweep.trials[record['trial']].name} {record['status']}"
    if record["status"] == "failed":
        return f"{line}: {(record['error'] or 'no error recorded').splitlines()[0]}"
    if record["best_val_acc"] is not None:
        line += f": best val accuracy {record['best_val_acc']:.4f}"
    return f"{line}, {record['seconds']:.1f} s"


def build_parser():
    """The parser of ``solver``, with the ``train``, ``evaluate``, ``sample`` and ``sweep``
    commands."""
    parser = _Parser(prog="solver", description="Train and evaluate the nets of "
                     "backprop-layers, CS231n style.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train_parser(commands)
    _add_evaluate_parser(commands)
    _add_sample_parser(commands)
    _add_sweep_parser(commands)
    return parser


COMMANDS = {"train": _train, "evaluate": _evaluate, "sample": _sample, "sweep": _sweep}


def main(argv=None):
    """Run ``solver`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    matplotlib.use("Agg")  # files only: there may be no display
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        _report(f"{exc.prog}: error: {exc}")
        return 2
    except BrokenPipeError:
        # The reader has gone (solver sweep s.toml --dry-run | head -1): stop without a word.
        _stdout_to_devnull()
        return 141  # as a process killed by SIGPIPE
    except (ValueError, TypeError, OSError, TrainingDiverged) as exc:
        _report(f"solver: error: {exc}")
        return 1
    except MemoryError as exc:
        _report(f"solver: error: out of memory: {exc or 'an array too large'}")
        return 1
    except KeyboardInterrupt:
        _report("solver: interrupted")
        return 130


def _say(line):
    """print, for what a run says while it trains: once the reader has gone (solver train |
    head -1) the rest goes nowhere, and the run carries on to write its files."""
    try:
        print(line)
    except BrokenPipeError:
        _stdout_to_devnull()


def _stdout_to_devnull():
    """Point stdout at /dev/null, so that no later print, nor Python's own flush at exit,
    complains of the broken pipe once more."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _report(message):
    print(" ".join(message.split()), file=sys.stderr)

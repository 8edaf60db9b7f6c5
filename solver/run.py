"""One training run as its settings say: what ``solver train`` and every sweep trial do.

    outcome = train_run(settings)                     # settings from solver.settings.resolve
    outcome = train_run(settings, resume="runs/a/last.npz")

A run loads the dataset, builds the model (:data:`solver.factory.MODELS`), trains it with the
Solver, and writes into its folder (``settings["out"]``, or ``out``): ``last.npz`` after every
epoch and ``best.npz`` whenever validation accuracy improves (by the Solver), then
``history.json`` (settings, histories, accuracies, time) and, with ``plots``, ``history.png``
(training and validation loss, accuracies), ``weights.png`` (the first layer's weights as image
templates) for datasets of images, ``regions.png`` (the decision regions) for 2-d data and,
with ``clip_norm``, ``grad_norms.png`` (the gradient norm of every iteration). A fresh run
first removes what an earlier run left in the folder, so that it never mixes two runs; a
resumed run into another folder starts it with the checkpoints it resumed from.

This module prints nothing: ``log`` (print, for the command line) hears what it does to files
besides training, and ``epoch_log`` one line per epoch (what the command line prints outside a
terminal, where it draws no progress bar).
"""

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._files import PARTIAL_MARK, replaced
from ._safety import continues_in
from .checkpoint import read_checkpoint
from .data import DATASETS, load_dataset, mnist1d_cache_path
from .data_builtin import TooFewExamples
from .factory import MODELS
from .plots import (plot_conv_filters, plot_decision_boundary, plot_grad_norms, plot_history,
                    plot_weight_templates)
from .settings import SETTINGS, UsageError, applying, from_saved
from .solver import Solver, TrainingDiverged
from .solver_inputs import UNSCORED

DATA_SPLIT_SEED = 0  # one split for every run, so that runs compare on the same validation set
RUN_FILES = ("last.npz", "best.npz", "history.json", "history.png", "weights.png",
             "regions.png", "grad_norms.png")


class Outcome(NamedTuple):
    """What :func:`train_run` returns."""

    solver: Solver  # trained; its model holds the best weights
    seconds: float  # training time
    best_epoch: int | None  # the epoch of the best validation accuracy (from 1)
    test_acc: float | None  # with score_test, unless training diverged
    diverged: TrainingDiverged | None  # where the loss became NaN or infinite, if it did
    written: list  # the names of the files in the run's folder


def data_and_model(settings, download=False, cache=True):
    """Load the dataset (fetching CIFAR-10 if ``download``; writing MNIST-1D's cache if
    ``cache``) and build a fresh model for it, both as ``settings`` say. A model that refuses
    its settings is a :class:`UsageError`."""
    info = MODELS[settings["model"]]
    try:
        data = load_dataset(settings["dataset"], data_dir=settings["data_dir"],
                            num_train=settings["num_train"], num_val=settings["num_val"],
                            num_test=settings["num_test"], seed=DATA_SPLIT_SEED,
                            flatten=info.flatten, dtype=settings["dtype"], download=download,
                            cache=cache)
    except TooFewExamples as exc:
        raise UsageError(f"{exc}: lower --num-train, --num-val or --num-test") from None
    try:
        model = info.build(settings, data["X_train"].shape[1:], len(data["meta"]["class_names"]))
    except ValueError as exc:  # a pool that does not fit, images for a conv net...
        raise UsageError(str(exc)) from None
    return data, model


def make_solver(settings, model, data, out=None, verbose=False, on_epoch_end=None):
    """A Solver for ``model`` as ``settings`` say, checkpointing into ``out`` (if given)."""
    rule = settings["update_rule"]
    optim_config = {"learning_rate": settings["learning_rate"],
                    **{name: settings[name] for name in applying("update_rule", rule)}}
    stored = {name: value for name, value in settings.items() if name != "out"}
    if DATASETS[settings["dataset"]].tokens:  # what `solver sample` reads: what each output
        stored["vocabulary"] = "".join(data["meta"]["class_names"])  # means, and the window
        stored["context"] = int(data["X_train"].shape[1])  # length T the model was trained on
    return Solver(model, data, update_rule=rule, optim_config=optim_config,
                  lr_decay=settings["lr_decay"], batch_size=settings["batch_size"],
                  num_epochs=settings["epochs"], num_train_samples=1000, num_val_samples=None,
                  seed=settings["seed"], checkpoint_dir=out, settings=stored, verbose=False,
                  progress_bar=verbose, patience=settings["patience"], on_epoch_end=on_epoch_end,
                  clip_norm=settings["clip_norm"])


def train_run(settings, *, out=None, resume=None, download=False, score_test=True, plots=True,
              verbose=False, log=None, epoch_log=None):
    """Train the run ``settings`` describe, writing its files into ``out``.

    Parameters
    ----------
    settings : dict
        Every setting of :data:`solver.settings.SETTINGS` (``out`` may be missing).
    out : str or os.PathLike, optional
        The run's folder; default ``settings["out"]``.
    resume : str or os.PathLike, optional
        A checkpoint of this run to continue from, up to settings["epochs"].
    download : bool
        Fetch CIFAR-10 if it is not in settings["data_dir"].
    score_test : bool
        Measure the test accuracy of the best weights (a sweep leaves the test split alone).
    plots : bool
        Draw the PNGs.
    verbose : bool
        The Solver's progress bar.
    log : callable, optional
        Called with a line of text: what the run trains, that MNIST-1D is being generated,
        that an earlier run's files are replaced.
    epoch_log : callable, optional
        Called after every epoch with one line: its train loss, accuracies, val loss, time.

    Returns
    -------
    Outcome
        A run whose loss became NaN or infinite is an outcome too (``diverged``): its
        ``last.npz`` holds the best weights before that and its history says where.

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C: its ``last`` attribute is ``out/last.npz`` when that holds the last finished
        epoch (None when none finished). A run replacing another one in ``out`` (``--overwrite``)
        that is stopped before its first epoch ends puts the earlier run back as it was, and
        says so in the exception's ``restored``.
    """
    out = Path(settings["out"] if out is None else out)
    if (settings["dataset"] == "mnist1d" and log is not None
            and not mnist1d_cache_path(settings["data_dir"]).is_file()):
        log(f"generating MNIST-1D (a few seconds, once: it is cached in "
            f"{mnist1d_cache_path(settings['data_dir']).parent})")
    data, model = data_and_model(settings, download=download)
    if log is not None:
        log(start_line(settings, model, data))
    on_epoch_end = None if epoch_log is None else (
        lambda figures: epoch_log(epoch_line(figures, settings["epochs"])))
    solver = make_solver(settings, model, data, out=out, verbose=verbose,
                         on_epoch_end=on_epoch_end)
    if resume is not None:
        solver.resume(resume)
    earlier = _set_aside_earlier_run(out, resume, log)
    if resume is not None:
        _carry_checkpoints(Path(resume), out)
    _remove_partial_files(out)
    start, first_epoch = time.perf_counter(), solver.epoch
    diverged, results = None, {}
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # reported as a diverged loss
            solver.train()
    except TrainingDiverged as exc:
        diverged, results["diverged"] = exc, str(exc)
    except KeyboardInterrupt as exc:
        if earlier is not None and solver.epoch == first_epoch:
            _restore_earlier_run(earlier, out)  # nothing yet to replace it with
            exc.restored = True
            raise
        # What was trained is kept: the history so far, and its plot, before passing it on.
        _write_history(out, solver, settings, interrupted=True,
                       seconds=time.perf_counter() - start)
        if plots:
            _plot_training(out, solver)
        exc.last = out / "last.npz" if (out / "last.npz").is_file() else None
        raise
    finally:
        if earlier is not None and earlier.is_dir():
            shutil.rmtree(earlier)  # replaced: the new run has finished an epoch
    seconds = time.perf_counter() - start
    best_epoch = solver.best_epoch or None  # None: training diverged in its first epoch
    if best_epoch is not None:
        results["best_epoch"] = best_epoch
    if solver.stopped_early:
        results["stopped_early"] = solver.stopped_early
    test_acc = None
    if score_test and diverged is None:
        test_acc = results["test_acc"] = solver.check_accuracy(data["X_test"], data["y_test"])
    _write_history(out, solver, settings, **results, seconds=seconds)
    written = [name for name in ("last.npz", "best.npz") if (out / name).is_file()]
    written.append("history.json")
    if plots and diverged is None:
        written += _plots(out, solver, model, data)
    elif plots:  # the losses (and gradient norms) up to where they stopped being finite
        written += _plot_training(out, solver)
    return Outcome(solver, seconds, best_epoch, test_acc, diverged, written)


def evaluate(checkpoint, split, data_dir=None):
    """The accuracy on ``split`` of the model a ``solver train`` checkpoint holds.

    Returns
    -------
    accuracy : float
    num_examples : int
        The labels scored: examples, or for token windows the tokens with a target.
    state : dict
        The checkpoint, as :func:`solver.checkpoint.read_checkpoint` reads it.
    settings : dict
        The run's settings (a setting added since the checkpoint was written: its default).
    """
    state = read_checkpoint(checkpoint)
    settings = from_saved(state["settings"], checkpoint)
    if data_dir is not None:
        settings["data_dir"] = data_dir
    data, model = data_and_model(settings, cache=False)  # the checkpoint chooses no folder
    _load_weights("evaluate", checkpoint, state, settings, model)
    X, y = data[f"X_{split}"], data[f"y_{split}"]
    scored = int(np.sum(y != UNSCORED)) if y.ndim == 2 else len(y)  # a sequence's: tokens
    return Solver(model, data).check_accuracy(X, y), scored, state, settings


def sample(checkpoint, prompt, length, temperature=1.0, seed=0, write=None):
    """Text the language model of a ``solver train`` checkpoint writes after ``prompt``: each
    token drawn from its softmax at ``temperature`` (0: the most likely), from
    ``default_rng(seed)``. The vocabulary comes from the checkpoint; no data are loaded. A
    transformer reads at most the last T tokens for each draw, T the length of the windows it
    was trained on (as the checkpoint says; one written before it did reads them all).
    ``write``, if given, is called with the prompt once the checkpoint is read, then with each
    character as it is drawn (the command line prints them at once, so that a long text shows
    as it grows and Ctrl-C keeps what was written).

    Returns
    -------
    text : str
        ``length`` tokens, the prompt not included.
    settings : dict
        The run's settings.
    """
    state = read_checkpoint(checkpoint)
    settings = from_saved(state["settings"], checkpoint)
    vocabulary = state["settings"].get("vocabulary")
    if not MODELS[settings["model"]].tokens or not isinstance(vocabulary, str):
        raise ValueError(f"sample: {checkpoint} holds a {settings['model']} model trained on "
                         f"{settings['dataset']}, not a language model: there is no text to "
                         f"sample (train one with --model lm)")
    if not prompt:
        raise ValueError("sample: the prompt is empty; give at least one character")
    unknown = sorted(set(prompt) - set(vocabulary))
    if unknown:
        raise ValueError(f"sample: the prompt holds {''.join(unknown)!r}, not in the "
                         f"vocabulary of {checkpoint}: {vocabulary!r}")
    model = MODELS[settings["model"]].build(settings, (None,), len(vocabulary))
    _load_weights("sample", checkpoint, state, settings, model)
    ids = np.array([[vocabulary.index(c) for c in prompt]])  # (1, T0)
    # a transformer reads at most the window it was trained on (older checkpoints: all)
    draws = model.generate(ids, temperature, rng=np.random.default_rng(seed),
                           context=state["settings"].get("context"))
    text = []
    if write is not None:
        write(prompt)
    for _, token in zip(range(length), draws):
        text.append(vocabulary[token[0]])
        if write is not None:
            write(text[-1])
    return "".join(text), settings


def _load_weights(func, checkpoint, state, settings, model):
    """Put the checkpoint's params and buffers into ``model``, refusing ones that do not fit."""
    for group, arrays in (("params", model.params), ("buffers", model.buffers)):
        if {name: a.shape for name, a in state[group].items()} != \
                {name: a.shape for name, a in arrays.items()}:
            raise ValueError(f"{func}: {checkpoint}: its {group} do not fit a "
                             f"{settings['model']} model with hidden dims "
                             f"{settings['hidden_dims']}")
        arrays.update(state[group])


def _write_history(out, solver, settings, **results):
    """history.json: settings, accuracies, ``results`` and the four histories."""
    history = {"settings": {name: settings[name] for name in SETTINGS if name in settings},
               "epochs": solver.epoch, "best_val_acc": solver.best_val_acc, **results,
               "loss_history": solver.loss_history,
               "train_acc_history": solver.train_acc_history,
               "val_acc_history": solver.val_acc_history,
               "val_loss_history": solver.val_loss_history}
    if solver.clip_norm is not None:
        history["grad_norm_history"] = solver.grad_norm_history
    out.mkdir(parents=True, exist_ok=True)
    with replaced(out / "history.json") as file:
        file.write((json.dumps(history, indent=1) + "\n").encode())


def start_line(settings, model, data):
    """What a run trains, in one line: model, parameter count, dataset and split sizes,
    dtype, BLAS threads."""
    from threadpoolctl import threadpool_info

    count = sum(p.size for p in model.params.values())
    threads = max((pool["num_threads"] for pool in threadpool_info()
                   if pool["user_api"] == "blas"), default=1)
    sizes = " / ".join(f"{len(data[f'y_{split}'])}" for split in ("train", "val", "test"))
    return (f"training {type(model).__name__} ({count:,} parameters) on {settings['dataset']} "
            f"(train / val / test: {sizes}), {settings['dtype']}, {threads} BLAS "
            f"thread{'s' if threads != 1 else ''}")


def epoch_line(figures, num_epochs):
    """One epoch in one line, from the dict the Solver's ``on_epoch_end`` is given."""
    return (f"epoch {figures['epoch']}/{num_epochs}: train loss {figures['train_loss']:.4f}, "
            f"train acc {figures['train_acc']:.3f}, val acc {figures['val_acc']:.3f}, "
            f"val loss {figures['val_loss']:.4f}, {figures['seconds']:.1f} s")


def _plot_history(out, solver):
    """history.png; returns its name."""
    plot_history(solver.loss_history, solver.train_acc_history, solver.val_acc_history,
                 val_loss_history=solver.val_loss_history,
                 epochs=range(solver.epoch - len(solver.val_acc_history) + 1, solver.epoch + 1),
                 accuracy=("Next-token accuracy" if solver.y_train.ndim == 2
                           else "Classification accuracy"),
                 path=out / "history.png")
    return "history.png"


def _plot_training(out, solver):
    """history.png and, for a clipped run, grad_norms.png: how training went, written however
    the run ends; returns their names."""
    written = [_plot_history(out, solver)]
    if solver.clip_norm is not None and solver.grad_norm_history:
        plot_grad_norms(solver.grad_norm_history, solver.clip_norm, path=out / "grad_norms.png")
        written.append("grad_norms.png")
    return written


def _plots(out, solver, model, data):
    """Write the PNGs this run calls for; returns their names."""
    written = _plot_training(out, solver)
    image_shape = data["meta"]["image_shape"]
    W1 = model.params.get("W1")
    if (image_shape is not None and W1 is not None and W1.ndim == 2
            and W1.shape[0] == math.prod(image_shape)):
        plot_weight_templates(W1, image_shape, path=out / "weights.png")
        written.append("weights.png")
    elif image_shape is not None and W1 is not None and W1.ndim == 4 and W1.shape[1] in (1, 3):
        plot_conv_filters(W1, path=out / "weights.png")  # a conv net's first layer
        written.append("weights.png")
    if data["X_train"].shape[1:] == (2,) and data["X_train"].dtype.kind == "f":
        plot_decision_boundary(model.loss, data["X_val"], data["y_val"], split="val",
                               path=out / "regions.png")
        written.append("regions.png")
    return written


def _carry_checkpoints(resumed, out):
    """Resuming into a new folder: start it with the checkpoint resumed from (as last.npz) and
    the run's best.npz, which the Solver rewrites only after an epoch, or an improvement."""
    out.mkdir(parents=True, exist_ok=True)
    for source, name in ((resumed, "last.npz"), (resumed.parent / "best.npz", "best.npz")):
        if source.is_file() and not (out / name).exists():
            shutil.copyfile(source, out / name)


EARLIER_RUN = ".earlier-run"  # where a run keeps the one it replaces until its first epoch


def _set_aside_earlier_run(out, resume, log):
    """A run into a folder that holds another run's files (``--overwrite``): move them into
    ``out/.earlier-run``, so that a checkpoint, history or plot in ``out`` is never the
    earlier run's (say, after this one diverges), and nothing is lost if this one is stopped
    before its first epoch ends. Returns that folder, or None when there was nothing to move
    (or ``resume`` continues the run in ``out`` itself)."""
    if continues_in(resume, out):
        return None
    found = [name for name in RUN_FILES if (out / name).is_file()]
    if not found:
        return None
    earlier = out / EARLIER_RUN
    shutil.rmtree(earlier, ignore_errors=True)  # one a killed run left: --overwrite said so
    earlier.mkdir()
    for name in found:
        os.replace(out / name, earlier / name)
    if log is not None:
        log(f"replacing the earlier run in {out}")
    return earlier


def _restore_earlier_run(earlier, out):
    """Undo :func:`_set_aside_earlier_run`: what this run wrote goes, the earlier run's files
    come back."""
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for path in earlier.iterdir():
        os.replace(path, out / path.name)
    earlier.rmdir()


def _remove_partial_files(out):
    """Files a run killed mid-write left (``last.npz.tmp-<pid>-<random>``): never read, and
    as large as a checkpoint."""
    for name in RUN_FILES:
        for path in out.glob(f"{name}{PARTIAL_MARK}*"):
            path.unlink(missing_ok=True)

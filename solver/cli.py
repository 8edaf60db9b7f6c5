"""The ``solver`` command line (also ``python -m solver``): train, evaluate, sweep.

    solver train                                   # a 2-layer net on digits, about 1 s
    solver train --dataset spiral --model fc --hidden-dims 100,100 --epochs 100
    solver train --config run.toml --learning-rate 1e-3      # flags override the file
    solver train --resume runs/digits-two-layer/last.npz --epochs 60
    solver evaluate runs/digits-two-layer/best.npz --split test
    solver sweep digits.toml --out runs/digits-sweep       # see solver.sweep

``solver train`` writes into ``--out`` (default ``runs/<dataset>-<model>``): ``last.npz`` after
every epoch, ``best.npz`` whenever validation accuracy improves, ``history.json`` (settings,
histories, accuracies, time), ``history.png`` (loss and accuracies), ``weights.png`` (the first
layer's weights as image templates) for datasets of images, and ``regions.png`` (the decision
regions) for 2-d data. A fresh run (not ``--resume``) first removes those files if an earlier
run left them there, so that the folder never mixes two runs. Stopped with Ctrl-C, it says
what ``last.npz`` holds and how to continue (exit status 130).

A run's settings come from :data:`DEFAULTS`, then a ``--config`` file (TOML or JSON whose keys
are the same names, ``learning_rate = 5e-3``), then the flags given; they are kept in every
checkpoint. A resumed run takes them from its checkpoint, and only :data:`RESUMABLE` ones may
change. Models are chosen by name from :data:`MODELS`: one entry per model.

Exit status: 0 on success; 2 for a usage error (a bad flag or value, a bad config file, a
setting that cannot change on resume); 1 when data, a checkpoint or training fails. Either
error is one line on stderr, without a traceback.
"""

import argparse
import json
import math
import shutil
import sys
import time
import tomllib
from pathlib import Path
from typing import Callable, NamedTuple

import matplotlib
import numpy as np

from ._files import PARTIAL_MARK
from .checkpoint import read_checkpoint
from .data import DATASETS, load_dataset
from .models import ConvNet, FullyConnectedNet, TwoLayerNet
from .optim import DEFAULTS as RULE_DEFAULTS
from .optim import UPDATE_RULES
from .plots import plot_decision_boundary, plot_history, plot_weight_templates
from .solver import Solver, TrainingDiverged, describe_divergence
from .sweep import add_sweep_parser, run_sweep_command


class UsageError(Exception):
    """A bad command line, config file or resume request: exit status 2."""

    def __init__(self, message, prog="solver train"):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` (one line) instead of printing the usage."""

    def error(self, message):
        raise UsageError(message, self.prog)


# --- models ------------------------------------------------------------------------------------

class ModelInfo(NamedTuple):
    """One entry of :data:`MODELS`."""

    build: Callable  # (settings, example_shape, num_classes) -> model
    flatten: bool  # whether the model takes examples as rows (N, D)
    hidden_layers: int | None  # how many --hidden-dims it takes; None for any number
    options: tuple  # the MODEL_OPTIONS it reads; giving it another one is a usage error
    about: str


# Settings that only some models read.
MODEL_OPTIONS = ("normalization", "dropout_keep_ratio", "conv_filters", "filter_size", "pool")


def _build(model_class, *args, **kwargs):
    """``model_class(*args, **kwargs)``, its refusal (a pool that does not fit) a usage error."""
    try:
        return model_class(*args, **kwargs)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _common(settings):
    """The keyword arguments every model takes."""
    return {"weight_scale": settings["weight_scale"], "reg": settings["reg"],
            "dtype": settings["dtype"], "seed": settings["seed"]}


def _normalization(settings):
    return None if settings["normalization"] == "none" else settings["normalization"]


def _two_layer(settings, example_shape, num_classes):
    return _build(TwoLayerNet, math.prod(example_shape), settings["hidden_dims"][0],
                  num_classes, **_common(settings))


def _fully_connected(settings, example_shape, num_classes):
    return _build(FullyConnectedNet, settings["hidden_dims"], math.prod(example_shape),
                  num_classes, normalization=_normalization(settings),
                  dropout_keep_ratio=settings["dropout_keep_ratio"], **_common(settings))


def _convnet(settings, example_shape, num_classes):
    if len(example_shape) != 3:
        raise UsageError(
            f"--model {settings['model']} takes images (C, H, W) or signals (C, 1, L); the "
            f"examples of --dataset {settings['dataset']} have shape {tuple(example_shape)}")
    return _build(ConvNet, example_shape, settings["conv_filters"], settings["filter_size"],
                  settings["pool"], settings["hidden_dims"], num_classes,
                  normalization=_normalization(settings), **_common(settings))


MODELS = {
    "two-layer": ModelInfo(_two_layer, True, 1, (),
                           "TwoLayerNet: affine - relu - affine - softmax"),
    "fc": ModelInfo(_fully_connected, True, None, ("normalization", "dropout_keep_ratio"),
                    "FullyConnectedNet: {affine - [norm] - relu - [dropout]} per hidden width, "
                    "affine - softmax"),
    "conv": ModelInfo(_convnet, False, None, ("normalization", "conv_filters", "filter_size",
                                              "pool"),
                      "ConvNet: {conv - [batchnorm] - relu - max pool} per --conv-filters, "
                      "{affine - [batchnorm] - relu} per hidden width, affine - softmax "
                      "('--conv-filters 32 --filter-size 7 --hidden-dims 100' is CS231n's "
                      "ThreeLayerConvNet)"),
}


# --- settings ----------------------------------------------------------------------------------

# Each parser reads a flag's text or a config file's value, and raises ArgumentTypeError.

def _number(text, kind):
    """``text`` (a str, int or float) as ``kind``, int or float."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from None
    if kind is int and isinstance(text, float) and value != text:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    return value


def _real(test, wanted):
    """A parser of finite floats that pass ``test``; ``wanted`` says which in the error."""
    def parse(text):
        value = _number(text, float)
        if not (math.isfinite(value) and test(value)):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        return value
    return parse


def _integer(minimum):
    """A parser of integers >= ``minimum``."""
    def parse(text):
        value = _number(text, int)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value
    return parse


def _optional(parse):
    """``parse``, but None (a setting left to its default) passes as None."""
    def parse_optional(text):
        return None if text is None else parse(text)
    return parse_optional


def _choice(choices):
    """A parser that accepts only the names in ``choices``."""
    def parse(text):
        if text not in choices:
            raise argparse.ArgumentTypeError(
                f"invalid choice {text!r}; choose one of {', '.join(choices)}")
        return text
    return parse


def _hidden_dims(text):
    """'256,128' or [256, 128] or 100 -> [256, 128] / [100]; '' or [] -> [] (no hidden layer)."""
    if isinstance(text, str):
        items = [item.strip() for item in text.split(",")] if text.strip() else []
    elif isinstance(text, list):
        items = text
    else:
        items = [text]
    dims = [_number(item, int) for item in items]
    if any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"hidden widths must be positive integers, got {text!r}")
    return dims


def _conv_filters(text):
    """'32,32' or [32, 32] or 32 -> [32, 32]: the filter count of each conv block."""
    if isinstance(text, str):
        items = [item.strip() for item in text.split(",")] if text.strip() else []
    else:
        items = text if isinstance(text, list) else [text]
    counts = [_number(item, int) for item in items]
    if not counts or any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(
            f"must be one or more positive filter counts, e.g. 32,32, got {text!r}")
    return counts


def _pair(odd):
    """A parser of an (h, w) pair: '1,5' or [1, 5] -> [1, 5]; '3' or 3 -> [3, 3]."""
    wanted = "an odd positive" if odd else "a positive"

    def parse(text):
        if isinstance(text, str):
            items = [item.strip() for item in text.split(",")]
        else:
            items = text if isinstance(text, list) else [text]
        values = [_number(item, int) for item in items]
        values = values * 2 if len(values) == 1 else values
        if len(values) != 2 or any(v < 1 or (odd and v % 2 == 0) for v in values):
            raise argparse.ArgumentTypeError(
                f"must be {wanted} int or an h,w pair of them, got {text!r}")
        return values
    return parse


def _weight_scale(text):
    """A number > 0, or 'he'."""
    if text == "he":
        return text
    try:
        return _real(lambda v: v > 0, "a number > 0")(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a number > 0 or 'he', got {text!r}") from None


def _path(text):
    """A folder or file name, or None."""
    if text is not None and not isinstance(text, str):
        raise argparse.ArgumentTypeError(f"expected a path, got {text!r}")
    return text


class Setting(NamedTuple):
    """A setting of ``solver train`` (flag ``--name-with-dashes``): how to read it, its help."""

    parse: Callable  # str (command line) or a TOML/JSON value -> the value, or ArgumentTypeError
    help: str
    metavar: str | None = None
    default_text: str | None = None  # the help's "(default: ...)" where DEFAULTS holds None


# Learning rates tuned on digits (30 epochs): every rule reaches over 96% validation accuracy.
LEARNING_RATES = {"sgd": 0.5, "sgd_momentum": 0.1, "rmsprop": 5e-3, "adam": 5e-3}

_fraction = _real(lambda v: 0 <= v < 1, "a number in [0, 1)")
SETTINGS = {
    "dataset": Setting(_choice(tuple(DATASETS)), "dataset: " + ", ".join(DATASETS), "NAME"),
    "data_dir": Setting(_path, "folder of the dataset's files: cifar10's cifar-10-batches-py "
                               "or its parent; a cache for mnist1d", "DIR", "none"),
    **{f"num_{split}": Setting(
        _optional(_integer(1)), f"examples in the {split} split", "N",
        "the dataset's: " + ", ".join(f"{name} {info.sizes[i]}"
                                      for name, info in DATASETS.items()))
       for i, split in enumerate(("train", "val", "test"))},
    "model": Setting(_choice(tuple(MODELS)), "model: " + "; ".join(
        f"{name} = {info.about}" for name, info in MODELS.items()), "NAME"),
    "hidden_dims": Setting(_hidden_dims, "hidden layer widths, comma-separated, e.g. 256,128 "
                                         "(two-layer takes one; '' gives fc no hidden layer)",
                           "H[,H...]"),
    "normalization": Setting(_choice(("none", "batchnorm", "layernorm")),
                             "normalization in every hidden layer: none, batchnorm or layernorm "
                             "for fc; none or batchnorm (spatial in the conv blocks) for conv",
                             "NORM"),
    "dropout_keep_ratio": Setting(_real(lambda v: 0 < v <= 1, "a number in (0, 1]"),
                                  "fc: probability of KEEPING each hidden unit (dropout after "
                                  "every hidden ReLU); 1 means no dropout", "P"),
    "conv_filters": Setting(_conv_filters, "conv: filters of each conv block, comma-separated, "
                                           "e.g. 32,32", "F[,F...]"),
    "filter_size": Setting(_pair(odd=True), "conv: filter size, odd, as N or H,W (1,5 for "
                                            "mnist1d's signals); 'same' padding, stride 1",
                           "HH[,WW]"),
    "pool": Setting(_pair(odd=False), "conv: max-pool window and stride of each block, N or H,W "
                                      "(1,2 for signals; 1 for no pooling)", "P[,P]"),
    "update_rule": Setting(_choice(tuple(UPDATE_RULES)), "update rule: "
                           + ", ".join(UPDATE_RULES), "RULE"),
    "learning_rate": Setting(_real(lambda v: v > 0, "a number > 0"),
                             "learning rate", "LR", "the rule's: " + ", ".join(
                                 f"{rule} {lr:g}" for rule, lr in LEARNING_RATES.items())),
    "momentum": Setting(_fraction, "sgd_momentum's momentum", "MU"),
    "decay_rate": Setting(_fraction, "rmsprop's decay rate of the squared-gradient cache", "RHO"),
    "beta1": Setting(_fraction, "adam's decay rate of the first moment", "B1"),
    "beta2": Setting(_fraction, "adam's decay rate of the second moment", "B2"),
    "epsilon": Setting(_real(lambda v: v > 0, "a number > 0"),
                       "rmsprop's and adam's smoothing term", "EPS"),
    "lr_decay": Setting(_real(lambda v: 0 < v <= 1, "a number in (0, 1]"),
                        "factor applied to the learning rate after each epoch", "F"),
    "batch_size": Setting(_integer(1), "examples per minibatch", "B"),
    "epochs": Setting(_integer(1), "epochs to train (in all, for a resumed run)", "E"),
    "reg": Setting(_real(lambda v: v >= 0, "a number >= 0"),
                   "L2 regularization strength: the loss gains 0.5 * reg * sum(W**2)", "R"),
    "weight_scale": Setting(_weight_scale, "standard deviation of the initial weights, or 'he' "
                                           "for sqrt(2 / fan_in)", "S"),
    "dtype": Setting(_choice(("float32", "float64")), "float32 or float64", "DTYPE"),
    "seed": Setting(_integer(0), "seeds the initial weights and the minibatch order (the "
                                 "dataset's split is always the same)", "N"),
    "out": Setting(_path, "folder for checkpoints, history and plots", "DIR",
                   "runs/<dataset>-<model>, or the checkpoint's folder with --resume"),
}

# A 2-layer net on digits: 98.9% validation accuracy in a few seconds (seed 0; 98.1% or more
# for seeds 0 to 7).
DEFAULTS = {
    "dataset": "digits", "data_dir": None, "num_train": None, "num_val": None,
    "num_test": None, "model": "two-layer", "hidden_dims": [100],
    "normalization": "none", "dropout_keep_ratio": 1.0,
    "conv_filters": [32, 32], "filter_size": [3, 3], "pool": [2, 2],
    "update_rule": "adam", "learning_rate": None,  # None: LEARNING_RATES[update_rule]
    "momentum": RULE_DEFAULTS["sgd_momentum"]["momentum"],
    "decay_rate": RULE_DEFAULTS["rmsprop"]["decay_rate"],
    "beta1": RULE_DEFAULTS["adam"]["beta1"], "beta2": RULE_DEFAULTS["adam"]["beta2"],
    "epsilon": RULE_DEFAULTS["adam"]["epsilon"],
    "lr_decay": 0.95, "batch_size": 50, "epochs": 30, "reg": 0.0, "weight_scale": 1e-2,
    "dtype": "float32", "seed": 0, "out": None,
}

# What a resumed run may change; every other setting comes from its checkpoint.
RESUMABLE = ("epochs", "data_dir", "out")
DATA_SPLIT_SEED = 0  # one split for every run, so that runs compare on the same validation set


def _flag(name):
    """``learning_rate`` -> ``--learning-rate``."""
    return "--" + name.replace("_", "-")


def _rule_takes(rule):
    """The settings that ``rule`` reads: its hyperparameters in ``solver.optim.DEFAULTS``."""
    return tuple(RULE_DEFAULTS[rule])


def _read_config(path):
    """Settings from a TOML or JSON file, checked as the flags are."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"--config: cannot read {path}: {exc.strerror}") from None
    if path.suffix not in (".toml", ".json"):
        raise UsageError(f"--config: {path} must be a .toml or .json file")
    try:
        values = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except ValueError as exc:  # json.JSONDecodeError, tomllib.TOMLDecodeError
        raise UsageError(f"--config: {path} is not valid {path.suffix[1:].upper()}: {exc}") \
            from None
    if not isinstance(values, dict):
        raise UsageError(f"--config: {path} must hold a table of settings, "
                         f"got {type(values).__name__}")
    settings = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in SETTINGS:
            raise UsageError(f"--config: {path}: unknown key {key!r}; the keys are "
                             f"{', '.join(SETTINGS)}")
        try:
            settings[name] = SETTINGS[name].parse(value)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"--config: {path}: {key}: {exc}") from None
    return settings


def check_combination(given, settings):
    """Refuse settings that contradict each other: they are mistakes, not preferences."""
    rule = settings["update_rule"]
    # An option at its default contradicts nothing, whichever rule or model: a run's saved
    # settings (history.json, a sweep's settings.json) hold every option, and feed --config.
    for name in ("momentum", "decay_rate", "beta1", "beta2", "epsilon"):
        if name in given and name not in _rule_takes(rule) and given[name] != DEFAULTS[name]:
            raise UsageError(f"{_flag(name)} does not apply to --update-rule {rule}; "
                             f"{rule} takes {', '.join(map(_flag, _rule_takes(rule)))}")
    info = MODELS[settings["model"]]
    for name in MODEL_OPTIONS:
        if name in given and name not in info.options and given[name] != DEFAULTS[name]:
            takes = ", ".join(map(_flag, info.options)) or "none of them"
            raise UsageError(f"{_flag(name)} does not apply to --model {settings['model']}; "
                             f"of {', '.join(map(_flag, MODEL_OPTIONS))} it takes {takes}")
    if (settings["normalization"] == "batchnorm" and "normalization" in info.options
            and settings["batch_size"] < 2):
        raise UsageError("--normalization batchnorm needs --batch-size 2 or more: over one "
                         "example every feature's variance is 0 and its output is beta")
    wanted = info.hidden_layers
    if wanted is not None and len(settings["hidden_dims"]) != wanted:
        raise UsageError(f"--model {settings['model']} takes {wanted} hidden width"
                         f"{'s' if wanted != 1 else ''} in --hidden-dims, got "
                         f"{len(settings['hidden_dims'])}: {settings['hidden_dims']}")


def _checkpoint_settings(state, path):
    """The settings a checkpoint was trained with, checked as the flags are (but for --out)."""
    saved = state["settings"]
    missing = [name for name in SETTINGS if name != "out" and name not in saved]
    if missing:
        raise ValueError(f"{path} was not written by `solver train`: its settings lack "
                         f"{', '.join(missing)}")
    settings = {}
    for name in SETTINGS:
        if name != "out":
            try:
                settings[name] = SETTINGS[name].parse(saved[name])
            except argparse.ArgumentTypeError as exc:
                raise ValueError(f"{path}: its setting {name} is bad: {exc}") from None
    return settings


def _resume_settings(path, given):
    """The checkpoint's settings, with the :data:`RESUMABLE` ones of ``given`` applied."""
    state = read_checkpoint(path)
    settings = _checkpoint_settings(state, path)
    for name, value in given.items():
        if name in RESUMABLE:
            settings[name] = value
        elif value != settings[name]:
            raise UsageError(
                f"--resume: {_flag(name)} cannot change when resuming (the checkpoint has "
                f"{settings[name]!r}, got {value!r}); only {', '.join(map(_flag, RESUMABLE))} "
                f"may")
    if settings["epochs"] < state["epoch"]:
        raise UsageError(f"--resume: {path} has trained {state['epoch']} epochs already; "
                         f"--epochs must be at least that, got {settings['epochs']}")
    settings.setdefault("out", str(Path(path).parent))
    return settings


def resolve_settings(given):
    """The settings of a fresh run: ``given`` over the defaults, the rule's learning rate if
    none is given, checked for contradictions (``solver sweep`` builds its trials with this)."""
    settings = {**DEFAULTS, **given}
    if settings["learning_rate"] is None:
        settings["learning_rate"] = LEARNING_RATES[settings["update_rule"]]
    check_combination(given, settings)
    return settings


def _train_settings(args):
    """All settings of a ``train`` run: defaults < config file < flags, or from --resume."""
    given = _read_config(args.config) if args.config else {}
    given.update({name: value for name, value in vars(args).items() if name in SETTINGS})
    if args.resume:
        settings = _resume_settings(args.resume, given)
        check_combination(given, settings)
    else:
        settings = resolve_settings(given)
    if settings.get("out") is None:
        settings["out"] = str(Path("runs") / f"{settings['dataset']}-{settings['model']}")
    return settings


# --- running -----------------------------------------------------------------------------------

def data_and_model(settings, download=False):
    """Load the dataset (fetching CIFAR-10 if ``download``) and build a fresh model for it,
    both as ``settings`` say."""
    info = MODELS[settings["model"]]
    data = load_dataset(settings["dataset"], data_dir=settings["data_dir"],
                        num_train=settings["num_train"], num_val=settings["num_val"],
                        num_test=settings["num_test"], seed=DATA_SPLIT_SEED,
                        flatten=info.flatten, dtype=settings["dtype"], download=download)
    example_shape = data["X_train"].shape[1:]
    model = info.build(settings, example_shape, len(data["meta"]["class_names"]))
    return data, model


def make_solver(settings, model, data, verbose):
    """A Solver for ``model`` as ``settings`` say, checkpointing into settings["out"]."""
    rule = settings["update_rule"]
    optim_config = {"learning_rate": settings["learning_rate"],
                    **{name: settings[name] for name in _rule_takes(rule)
                       if name != "learning_rate"}}
    stored = {name: value for name, value in settings.items() if name != "out"}
    return Solver(model, data, update_rule=rule, optim_config=optim_config,
                  lr_decay=settings["lr_decay"], batch_size=settings["batch_size"],
                  num_epochs=settings["epochs"], seed=settings["seed"],
                  checkpoint_dir=settings["out"], settings=stored, verbose=False,
                  progress_bar=verbose)


def write_history(out, solver, settings, **results):
    """history.json: settings, accuracies, ``results`` and the three histories."""
    history = {"settings": settings, "epochs": solver.epoch,
               "best_val_acc": solver.best_val_acc, **results,
               "loss_history": solver.loss_history,
               "train_acc_history": solver.train_acc_history,
               "val_acc_history": solver.val_acc_history}
    (out / "history.json").write_text(json.dumps(history, indent=1) + "\n")


def _plots(out, solver, model, data):
    """Write the PNGs this run calls for; returns their names."""
    plot_history(solver.loss_history, solver.train_acc_history, solver.val_acc_history,
                 path=out / "history.png")
    written = ["history.png"]
    image_shape = data["meta"]["image_shape"]
    W1 = model.params.get("W1")
    if (image_shape is not None and W1 is not None and W1.ndim == 2
            and W1.shape[0] == math.prod(image_shape)):
        plot_weight_templates(W1, image_shape, path=out / "weights.png")
        written.append("weights.png")
    if data["X_train"].ndim == 2 and data["X_train"].shape[1] == 2:
        plot_decision_boundary(model.loss, data["X_train"], data["y_train"],
                               path=out / "regions.png")
        written.append("regions.png")
    return written


def _carry_checkpoints(resumed, out):
    """Resuming into a new --out: start it with the checkpoint resumed from (as last.npz) and
    the run's best.npz, which the Solver rewrites only after an epoch, or an improvement."""
    out.mkdir(parents=True, exist_ok=True)
    for source, name in ((resumed, "last.npz"), (resumed.parent / "best.npz", "best.npz")):
        if source.is_file() and not (out / name).exists():
            shutil.copyfile(source, out / name)


RUN_FILES = ("last.npz", "best.npz", "history.json", "history.png", "weights.png",
             "regions.png")


def _clear_earlier_run(out, quiet):
    """A fresh run into an --out that holds another run's files: remove them first, so that
    a checkpoint, history or plot there is never the earlier run's (say, after this one
    diverges or is stopped before writing its own)."""
    earlier = [out / name for name in RUN_FILES if (out / name).is_file()]
    for path in earlier:
        path.unlink()
    if earlier and not quiet:
        print(f"replacing the earlier run in {out}")


def _remove_partial_files(out):
    """Files a run killed mid-write left (``last.npz.tmp-<pid>-<random>``): never read, and
    as large as a checkpoint."""
    for name in RUN_FILES:
        for path in out.glob(f"{name}{PARTIAL_MARK}*"):
            path.unlink(missing_ok=True)


def _train(args):
    """``solver train``: returns the exit status."""
    settings = _train_settings(args)
    out = Path(settings["out"])
    data, model = data_and_model(settings, download=args.download)
    solver = make_solver(settings, model, data, verbose=not args.quiet)
    if args.resume:
        solver.resume(args.resume)
        _carry_checkpoints(Path(args.resume), out)
    else:
        _clear_earlier_run(out, args.quiet)
    _remove_partial_files(out)
    start = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # reported as a diverged loss
            solver.train()
    except TrainingDiverged as exc:
        write_history(out, solver, settings, diverged=str(exc))
        raise
    except KeyboardInterrupt:
        last = out / "last.npz"
        saved = (f"{last} holds the last finished epoch: continue with "
                 f"solver train --resume {last}" if last.is_file()
                 else "stopped before the first epoch ended: nothing was saved")
        _report(f"solver: interrupted; {saved}")
        return 130
    seconds = time.perf_counter() - start
    test_acc = solver.check_accuracy(data["X_test"], data["y_test"])
    best_epoch = solver.val_acc_history.index(solver.best_val_acc)  # entry e is epoch e
    write_history(out, solver, settings, best_epoch=best_epoch, test_acc=test_acc,
                   seconds=seconds)
    checkpoints = [name for name in ("last.npz", "best.npz") if (out / name).is_file()]
    written = [*checkpoints, "history.json", *_plots(out, solver, model, data)]
    print(f"best val accuracy {solver.best_val_acc:.4f} (epoch {best_epoch} of {solver.epoch}), "
          f"test accuracy {test_acc:.4f}, {seconds:.1f} s of training")
    print(f"wrote {', '.join(written)} in {out}")
    return 0


def _evaluate(args):
    """``solver evaluate``: returns the exit status."""
    state = read_checkpoint(args.checkpoint)
    settings = _checkpoint_settings(state, args.checkpoint)
    if args.data_dir is not None:
        settings["data_dir"] = args.data_dir
    data, model = data_and_model(settings)
    for group, arrays in (("params", model.params), ("buffers", model.buffers)):
        if {name: a.shape for name, a in state[group].items()} != \
                {name: a.shape for name, a in arrays.items()}:
            raise ValueError(f"evaluate: {args.checkpoint}: its {group} do not fit a "
                             f"{settings['model']} model with hidden dims "
                             f"{settings['hidden_dims']}")
        arrays.update(state[group])
    X, y = data[f"X_{args.split}"], data[f"y_{args.split}"]
    accuracy = Solver(model, data).check_accuracy(X, y)
    print(f"{args.split} accuracy {accuracy:.4f} ({round(accuracy * len(y))} of {len(y)}) "
          f"of {args.checkpoint} (epoch {state['epoch']}, {settings['model']} on "
          f"{settings['dataset']})")
    if state["diverged"] is not None:
        print(f"training diverged {describe_divergence(state)}: this checkpoint holds the "
              f"best weights before that")
    return 0


def build_parser():
    """The argparse parser of ``solver``, with the ``train``, ``evaluate`` and ``sweep`` commands."""
    parser = _Parser(prog="solver", description="Train and evaluate the nets of "
                     "backprop-layers, CS231n style.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train a model and write checkpoints, history and plots",
        description="Train a model. Settings come from the defaults, then --config, then the "
                    "flags given.")
    for name, setting in SETTINGS.items():
        default = DEFAULTS[name]
        shown = (setting.default_text if default is None
                 else ",".join(map(str, default)) if isinstance(default, list) else default)
        train.add_argument(_flag(name), dest=name, type=setting.parse, metavar=setting.metavar,
                           default=argparse.SUPPRESS, help=f"{setting.help} (default: {shown})")
    train.add_argument("--config", metavar="FILE", help="TOML or JSON file of settings, keyed "
                       "by the names above with underscores (learning_rate = 5e-3); flags "
                       "override it (default: none)")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in "
                       "CHECKPOINT (a last.npz) up to --epochs, with its settings; only "
                       + ", ".join(map(_flag, RESUMABLE)) + " may change (default: none)")
    train.add_argument("--quiet", action="store_true",
                       help="no progress bar, only the summary (default: off)")
    train.add_argument("--download", action="store_true",
                       help="fetch CIFAR-10 into --data-dir if it is not there, checking its "
                            "MD5 (the only time solver uses the network; default: off)")

    evaluate = commands.add_parser(
        "evaluate", help="report a checkpoint's accuracy on one split",
        description="Rebuild the model saved in CHECKPOINT from its settings and report its "
                    "accuracy.")
    evaluate.add_argument("checkpoint", metavar="CHECKPOINT",
                          help="a best.npz or last.npz written by solver train")
    evaluate.add_argument("--split", choices=("val", "test", "train"), default="val",
                          help="which split to score (default: val)")
    evaluate.add_argument("--data-dir", metavar="DIR", default=None,
                          help="where the dataset's files are, if not where they were when "
                               "training (default: the checkpoint's)")
    add_sweep_parser(commands)
    return parser


COMMANDS = {"train": _train, "evaluate": _evaluate, "sweep": run_sweep_command}


def main(argv=None):
    """Run ``solver`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    matplotlib.use("Agg")  # files only: there may be no display
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        _report(f"{exc.prog}: error: {exc}")
        return 2
    except (ValueError, TypeError, OSError, TrainingDiverged) as exc:
        _report(f"solver: error: {exc}")
        return 1
    except MemoryError as exc:
        _report(f"solver: error: out of memory: {exc or 'an array too large'}")
        return 1
    except KeyboardInterrupt:
        _report("solver: interrupted")
        return 130


def _report(message):
    print(" ".join(message.split()), file=sys.stderr)

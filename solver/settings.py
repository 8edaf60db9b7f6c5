"""The settings of a ``solver train`` run: one table, :data:`SETTINGS`, one entry per setting.

A setting is a flag (``--learning-rate``), a key of a ``--config`` or sweep file
(``learning_rate = 5e-3``) and a key of the settings every checkpoint and history keeps. Its
:class:`Setting` entry says how to read it, its default, where it applies, whether a resumed
run may change it, and its help line; the command line, the sweep files and the checks all
read this one table.

    settings = resolve({"epochs": 2})                 # a fresh run: given values over defaults
    settings = from_saved(state["settings"], path)    # what a checkpoint was trained with

To add a setting: one :class:`Setting` entry below, and the line that reads it (a model's build
function in :mod:`solver.factory`, or :func:`solver.run.make_solver`). Its default must be what
runs did before it existed: checkpoints and sweep folders written before it read with the
default. The choices of ``--dataset``, ``--model`` and ``--update-rule`` come from the
registries ``solver.data.DATASETS``, ``solver.factory.MODELS`` and ``solver.optim.UPDATE_RULES``;
an update rule's hyperparameter settings apply to the rules whose ``solver.optim.DEFAULTS`` name
it, and its learning rate defaults to :data:`TUNED_LEARNING_RATES`, else to optim's default.

Errors: a bad value raises :class:`BadValue`; settings that contradict each other, a bad
``--config`` file or a change a resumed run cannot make raise :class:`UsageError`.
"""

import json
import tomllib
from pathlib import Path
from typing import Callable, NamedTuple

from .data import DATASETS
from .factory import MODELS
from .optim import DEFAULTS as RULE_DEFAULTS
from .optim import UPDATE_RULES
from .setting_values import (  # how each setting reads its value
    BadValue, _choice, _conv_filters, _hidden_dims, _integer, _optional, _pair, _path, _real,
    _weight_scale)


class UsageError(Exception):
    """A bad command line, config file or resume request: ``solver`` exits with status 2."""

    def __init__(self, message, prog="solver train"):
        super().__init__(message)
        self.prog = prog


class Setting(NamedTuple):
    """One setting of ``solver train`` (flag ``--name-with-dashes``)."""

    parse: Callable  # str (a flag) or a TOML/JSON value -> the value, or BadValue
    default: object  # the value; or a function of the other settings, settings -> value
    group: str  # its section of ``solver train --help``
    metavar: str
    help: str
    applies: tuple | None = None  # (setting, values): used only where that setting is one of
    #                               values, refused with another value; None: always used
    resumable: bool = False  # whether ``--resume`` may change it
    default_text: str | None = None  # the help's "(default: ...)" for a None or derived default


def flag(name):
    """``learning_rate`` -> ``--learning-rate``."""
    return "--" + name.replace("_", "-")


# --- parsers: each reads a flag's text or a config file's value ---------------------------------

# Learning rates tuned on digits (30 epochs): every rule reaches over 96% validation accuracy.
# A rule not listed starts from solver.optim.DEFAULTS' learning rate.
TUNED_LEARNING_RATES = {"sgd": 0.5, "sgd_momentum": 0.1, "rmsprop": 5e-3, "adam": 5e-3}


def _learning_rate(settings):
    """The default learning rate of settings["update_rule"]."""
    rule = settings["update_rule"]
    if rule in TUNED_LEARNING_RATES:
        return TUNED_LEARNING_RATES[rule]
    if "learning_rate" in RULE_DEFAULTS.get(rule, {}):
        return RULE_DEFAULTS[rule]["learning_rate"]
    raise UsageError(f"--update-rule {rule} has no default learning rate; give one with "
                     f"--learning-rate")


def _learning_rate_text(rule):
    """The default learning rate of ``rule``, for the help."""
    try:
        return f"{_learning_rate({'update_rule': rule}):g}"
    except UsageError:
        return "none"


def _out(settings):
    return str(Path("runs") / f"{settings['dataset']}-{settings['model']}")


def _rules_taking(hyperparameter):
    """("update_rule", the rules whose solver.optim.DEFAULTS name ``hyperparameter``)."""
    return "update_rule", tuple(rule for rule in UPDATE_RULES
                                if hyperparameter in RULE_DEFAULTS.get(rule, {}))


def _hyperparameter(name, parse, metavar, help):
    """The setting of an update rule's hyperparameter: it applies to the rules whose
    solver.optim.DEFAULTS name it, and defaults to optim's value (the first such rule's)."""
    rules = _rules_taking(name)
    default = next(RULE_DEFAULTS[rule][name] for rule in rules[1])
    return Setting(parse, default, group="update rule", metavar=metavar, applies=rules, help=help)


_fraction = _real(lambda v: 0 <= v < 1, "a number in [0, 1)")

# A 2-layer net on digits by default: 98.9% validation accuracy in a few seconds (seed 0; 98.1%
# or more for seeds 0 to 7).
SETTINGS = {
    # data
    "dataset": Setting(
        _choice(tuple(DATASETS)), "digits", group="data", metavar="NAME",
        help="dataset: " + "; ".join(f"{name} = {info.about}" for name, info in DATASETS.items())),
    "data_dir": Setting(
        _path, None, group="data", metavar="DIR", resumable=True, default_text="none",
        help="folder of the dataset's files: cifar10's cifar-10-batches-py or its parent; a "
             "cache for mnist1d"),
    **{f"num_{split}": Setting(
        _optional(_integer(1)), None, group="data", metavar="N",
        help=f"examples in the {split} split",
        default_text="the dataset's: " + ", ".join(f"{name} {info.sizes[i]}"
                                                   for name, info in DATASETS.items()))
       for i, split in enumerate(("train", "val", "test"))},
    # model
    "model": Setting(
        _choice(tuple(MODELS)), "two-layer", group="model", metavar="NAME",
        help="model: " + "; ".join(f"{name} = {info.about}" for name, info in MODELS.items())),
    "hidden_dims": Setting(
        _hidden_dims, [100], group="model", metavar="H[,H...]",
        help="hidden layer widths, comma-separated, e.g. 256,128 (two-layer takes one; '' "
             "gives fc no hidden layer)"),
    "normalization": Setting(
        _choice(("none", "batchnorm", "layernorm")), "none", group="model", metavar="NORM",
        applies=("model", ("fc", "conv")),
        help="normalization in every hidden layer: none, batchnorm or layernorm for fc; none "
             "or batchnorm (spatial in the conv blocks) for conv"),
    "dropout_keep_ratio": Setting(
        _real(lambda v: 0 < v <= 1, "a number in (0, 1]"), 1.0, group="model", metavar="P",
        applies=("model", ("fc",)),
        help="probability of KEEPING each hidden unit (dropout after every hidden ReLU); 1 "
             "means no dropout"),
    "conv_filters": Setting(
        _conv_filters, [32, 32], group="model", metavar="F[,F...]", applies=("model", ("conv",)),
        help="filters of each conv block, comma-separated, e.g. 32,32"),
    "filter_size": Setting(
        _pair(odd=True), [3, 3], group="model", metavar="HH[,WW]", applies=("model", ("conv",)),
        help="filter size, odd, as N or H,W (on mnist1d's signals, of height 1, N means "
             "1,N); 'same' padding, stride 1"),
    "pool": Setting(
        _pair(odd=False), [2, 2], group="model", metavar="P[,P]", applies=("model", ("conv",)),
        help="max-pool window and stride of each block, N or H,W (on signals N means 1,N; "
             "1 for no pooling)"),
    "weight_scale": Setting(
        _weight_scale, 1e-2, group="model", metavar="S",
        applies=("model", ("two-layer", "fc", "conv")),
        help="standard deviation of the initial weights, or 'he' for sqrt(2 / fan_in)"),
    "cell_type": Setting(
        _choice(("rnn", "lstm", "transformer")), "lstm", group="model", metavar="CELL",
        applies=("model", ("lm",)),
        help="the language model's cell: rnn (tanh), lstm, or transformer (causal pre-norm "
             "blocks)"),
    "wordvec_dim": Setting(
        _integer(1), 32, group="model", metavar="W", applies=("model", ("lm",)),
        help="size of the token embedding (the transformer's model width)"),
    "num_layers": Setting(
        _integer(1), 2, group="model", metavar="L", applies=("cell_type", ("transformer",)),
        help="transformer blocks (the rnn and lstm have one layer)"),
    "num_heads": Setting(
        _integer(1), 4, group="model", metavar="HEADS", applies=("cell_type", ("transformer",)),
        help="attention heads of each transformer block; must divide --wordvec-dim"),
    "dtype": Setting(
        _choice(("float32", "float64")), "float32", group="model", metavar="DTYPE",
        help="float32 or float64"),
    # update rule
    "update_rule": Setting(
        _choice(tuple(UPDATE_RULES)), "adam", group="update rule", metavar="RULE",
        help="update rule: " + ", ".join(UPDATE_RULES)),
    "learning_rate": Setting(
        _real(lambda v: v > 0, "a number > 0"), _learning_rate, group="update rule",
        metavar="LR", help="learning rate", default_text="the rule's: " + ", ".join(
            f"{rule} {_learning_rate_text(rule)}" for rule in UPDATE_RULES)),
    "momentum": _hyperparameter("momentum", _fraction, "MU",
                                "momentum: the decay rate of the velocity"),
    "decay_rate": _hyperparameter("decay_rate", _fraction, "RHO",
                                  "decay rate of the squared-gradient cache"),
    "beta1": _hyperparameter("beta1", _fraction, "B1", "decay rate of the first moment"),
    "beta2": _hyperparameter("beta2", _fraction, "B2", "decay rate of the second moment"),
    "epsilon": _hyperparameter("epsilon", _real(lambda v: v > 0, "a number > 0"), "EPS",
                               "smoothing term of the denominator"),
    # training
    "lr_decay": Setting(
        _real(lambda v: 0 < v <= 1, "a number in (0, 1]"), 0.95, group="training", metavar="F",
        help="factor applied to the learning rate after each epoch"),
    "batch_size": Setting(
        _integer(1), 50, group="training", metavar="B", help="examples per minibatch"),
    "epochs": Setting(
        _integer(1), 30, group="training", metavar="E", resumable=True,
        help="epochs to train (in all, for a resumed run)"),
    "patience": Setting(
        _optional(_integer(1)), None, group="training", metavar="N", resumable=True,
        default_text="none: train every epoch",
        help="stop early once the validation accuracy has not improved for N epochs (the run "
             "ends as usual: best.npz holds the best epoch)"),
    "clip_norm": Setting(
        _optional(_real(lambda v: v > 0, "a number > 0")), None, group="training",
        metavar="NORM", default_text="none",
        help="rescale the gradients together before every update so that their joint L2 norm "
             "is at most NORM (as torch's clip_grad_norm_); history.json keeps the norms"),
    "reg": Setting(
        _real(lambda v: v >= 0, "a number >= 0"), 0.0, group="training", metavar="R",
        help="L2 regularization strength: the loss gains 0.5 * reg * sum(W**2)"),
    "seed": Setting(
        _integer(0), 0, group="training", metavar="N",
        help="seeds the initial weights and the minibatch order (the dataset's split is always "
             "the same)"),
    # output
    "out": Setting(
        _path, _out, group="output", metavar="DIR", resumable=True,
        help="folder for checkpoints, history and plots",
        default_text="runs/<dataset>-<model>, or the checkpoint's folder with --resume"),
}

# The settings a run's saved settings must hold to be a ``solver train`` run at all: without
# them its model cannot be rebuilt. Any other setting missing takes its default.
IDENTITY = ("dataset", "model")


def _fill(given):
    """Every setting: ``given``'s value, else its default (fixed ones first, then derived)."""
    settings = {name: given.get(name, setting.default) for name, setting in SETTINGS.items()
                if name in given or not callable(setting.default)}
    for name, setting in SETTINGS.items():
        if name not in settings:
            settings[name] = setting.default(settings)
    return {name: settings[name] for name in SETTINGS}


def applying(key, value):
    """The settings used only where settings[key] is one of some values, ``value`` among them:
    ``applying("update_rule", "adam")`` -> ["beta1", "beta2", "epsilon"]."""
    return [name for name, setting in SETTINGS.items()
            if setting.applies is not None and setting.applies[0] == key
            and value in setting.applies[1]]


def check_combination(given, settings):
    """Refuse settings that contradict each other: they are mistakes, not preferences.

    A setting in ``given`` that does not apply where ``settings`` are (``--momentum`` with
    ``--update-rule adam``) is refused, unless it holds its default: a run's saved settings
    (history.json, a sweep's settings.json) hold every setting, and feed ``--config``.
    """
    for name, value in given.items():
        applies = SETTINGS[name].applies
        if applies is None:
            continue
        key, values = applies
        default = SETTINGS[name].default
        if settings[key] not in values and value != (
                default(settings) if callable(default) else default):
            takes = map(flag, applying(key, settings[key]))
            raise UsageError(
                f"{flag(name)} does not apply to {flag(key)} {settings[key]} (only to "
                f"{', '.join(values) or 'none'}); {settings[key]} takes "
                f"{', '.join(takes) or 'none of them'}")
    normalized = SETTINGS["normalization"].applies[1]
    if (settings["normalization"] == "batchnorm" and settings["model"] in normalized
            and settings["batch_size"] < 2):
        raise UsageError("--normalization batchnorm needs --batch-size 2 or more: over one "
                         "example every feature's variance is 0 and its output is beta")
    info = DATASETS[settings["dataset"]]
    if settings["data_dir"] is not None and info.data_dir is None:
        raise UsageError(f"--data-dir does not apply to --dataset {settings['dataset']}, which "
                         f"reads no files (it is for "
                         f"{', '.join(n for n, i in DATASETS.items() if i.data_dir)})")
    num_train = settings["num_train"] or info.sizes[0]
    if settings["batch_size"] > num_train:
        raise UsageError(f"--batch-size {settings['batch_size']} is larger than the training "
                         f"set ({num_train} examples of {settings['dataset']}); every epoch "
                         f"would be one smaller batch")
    _check_tokens(settings)
    wanted = MODELS[settings["model"]].hidden_layers
    if wanted is not None and len(settings["hidden_dims"]) != wanted:
        raise UsageError(f"--model {settings['model']} takes {wanted} hidden width"
                         f"{'s' if wanted != 1 else ''} in --hidden-dims, got "
                         f"{len(settings['hidden_dims'])}: {settings['hidden_dims']}")


def _check_tokens(settings):
    """A model that reads token windows on a dataset of them, and only there."""
    model, dataset = settings["model"], settings["dataset"]
    if MODELS[model].tokens == DATASETS[dataset].tokens:
        return
    token_data = [name for name, info in DATASETS.items() if info.tokens]
    token_models = [name for name, info in MODELS.items() if info.tokens]
    if DATASETS[dataset].tokens:
        raise UsageError(f"--model {model} does not read token sequences, and --dataset "
                         f"{dataset} holds windows of tokens: use --model "
                         f"{' or '.join(token_models)}")
    raise UsageError(f"--model {model} reads token sequences, and --dataset {dataset} holds "
                     f"{'images' if DATASETS[dataset].is_image else 'feature vectors'}: use "
                     f"--dataset {', '.join(token_data)}")


def resolve(given):
    """The settings of a fresh run: ``given`` (parsed values) over the defaults, checked.

    Raises
    ------
    UsageError
        For settings that contradict each other, or a rule without a default learning rate.
    """
    settings = _fill(given)
    check_combination(given, settings)
    return settings


def from_saved(saved, where):
    """The settings a run was trained with, from the dict it saved (a checkpoint's settings,
    a sweep trial's): each checked as a flag is; a setting it lacks, one added since it was
    written, takes its default. ``out`` is not kept: the result lacks it.

    Raises
    ------
    ValueError
        If ``saved`` is not the settings of a ``solver train`` run, or holds a bad value.
    """
    if not isinstance(saved, dict) or any(name not in saved for name in IDENTITY):
        lacking = [name for name in IDENTITY if not isinstance(saved, dict) or name not in saved]
        raise ValueError(f"{where} was not written by `solver train`: its settings lack "
                         f"{', '.join(lacking)}")
    given = {}
    for name, value in saved.items():
        if name in SETTINGS and name != "out":
            try:
                given[name] = SETTINGS[name].parse(value)
            except BadValue as exc:
                raise ValueError(f"{where}: its setting {name} is bad: {exc}") from None
    try:
        settings = _fill(given)
    except UsageError as exc:
        raise ValueError(f"{where}: {exc}") from None
    del settings["out"]
    return settings


def for_resume(state, path, given):
    """The settings of ``--resume path``: the checkpoint's (``state``, as read), with the
    resumable ones of ``given`` applied; ``out`` defaults to the checkpoint's folder.

    Raises
    ------
    ValueError
        If the checkpoint's settings are not those of a ``solver train`` run.
    UsageError
        If ``given`` changes a setting that cannot change, or asks for fewer epochs than the
        checkpoint has trained.
    """
    settings = {**from_saved(state["settings"], path), "out": str(Path(path).parent)}
    resumable = [name for name, setting in SETTINGS.items() if setting.resumable]
    for name, value in given.items():
        if name in resumable:
            settings[name] = value
        elif value != settings[name]:
            raise UsageError(
                f"--resume: {flag(name)} cannot change when resuming (the checkpoint has "
                f"{settings[name]!r}, got {value!r}); only {', '.join(map(flag, resumable))} "
                f"may")
    if settings["epochs"] <= state["epoch"]:
        raise UsageError(f"--resume: {path} has trained {state['epoch']} epochs already; "
                         f"nothing to resume until --epochs is more than that, got "
                         f"{settings['epochs']}")
    check_combination(given, settings)
    return settings


def read_config(path):
    """Settings from a TOML or JSON file (keys are setting names, ``-`` or ``_``), checked as
    the flags are.

    Raises
    ------
    UsageError
        If the file cannot be read, is not TOML or JSON, or holds an unknown key or bad value.
    """
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
        except BadValue as exc:
            raise UsageError(f"--config: {path}: {key}: {exc}") from None
    return settings

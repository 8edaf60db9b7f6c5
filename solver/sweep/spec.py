"""The sweep file: read, checked, and enumerated into trials.

    sweep = load_sweep("digits.toml")      # a Sweep: its axes and every Trial

The sweep file
--------------
TOML. Settings have the names of ``solver train``'s ``--config`` files
(:data:`solver.settings.SETTINGS`), and those a file does not give take ``solver train``'s
defaults::

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
"""

import itertools
import math
import tomllib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..settings import SETTINGS, BadValue, UsageError, resolve

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
    """Read a sweep file (TOML, described in the module docstring) and check it as
    :func:`parse_sweep` does; ``path`` is a str or os.PathLike.

    Raises FileNotFoundError if there is no such file, as Python's own functions do;
    ValueError if it cannot be read or is not valid TOML, or for any mistake in it (an unknown
    setting, an empty list, a value out of its range, a bad range...): the message names the
    file, the table, the setting and what is wrong.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: cannot read the sweep file: there is no such "
                                f"file") from None
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
    top = {key: _parse_value(f"{source}: {key}", key, document[key])
           for key in ("dataset", "model")}
    fixed = {name: _parse_value(f"{source}: [fixed] {name}", name, value)
             for name, value in _settings_table(source, document, "fixed").items()}
    specs = _settings_table(source, document, "sweep")
    if not specs:
        raise ValueError(f"{source}: [sweep] is empty; name at least one setting to vary")
    both = [name for name in specs if name in fixed]
    if both:
        raise ValueError(f"{source}: {both[0]} is both in [fixed] and in [sweep]; "
                         f"keep it in one of them")
    draws, trial_seeds = np.random.SeedSequence(seed).spawn(2)
    axes = _axes(source, specs, np.random.default_rng(draws))
    trials = _trials(source, top, fixed, axes, trial_seeds)
    return Sweep(source, seed, axes, trials)


def _settings_table(source, document, table):
    """The table ``[fixed]`` or ``[sweep]`` keyed by setting names, the names checked."""
    entries = document.get(table, {})
    if not isinstance(entries, dict):
        raise ValueError(f"{source}: {table} must be a table, [{table}], "
                         f"got {type(entries).__name__}")
    settable = [name for name in SETTINGS if name not in NOT_SETTABLE]
    named = {}
    for key, value in entries.items():
        name = key.replace("-", "_")  # as solver train's --config files
        where = f"{source}: [{table}] {key}"
        if name in NOT_SETTABLE:
            raise ValueError(f"{where} cannot be set here: {NOT_SETTABLE[name]}")
        if name not in SETTINGS:
            raise ValueError(f"{source}: [{table}] unknown setting {key!r}; the settings are "
                             f"{', '.join(settable)}")
        if name in named:
            raise ValueError(f"{where}: {name} is given twice")
        named[name] = value
    return named


def _parse_value(where, name, value):
    """One value of a setting, checked and normalised as ``solver train`` does."""
    try:
        return SETTINGS[name].parse(value)
    except BadValue as exc:
        raise ValueError(f"{where}: {exc}") from None


def _axes(source, specs, rng):
    """An Axis per swept setting: a list's values, or a range's ``count`` draws from rng."""
    ranges = {}
    for name, spec in specs.items():
        if isinstance(spec, dict):
            ranges[name] = _parse_range(f"{source}: [sweep] {name}", name, spec)
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
                    values.append(SETTINGS[name].parse(value))
                except BadValue as exc:
                    raise ValueError(f"{where}: a range draws real numbers, and {name} "
                                     f"refuses the draw {value!r}: {exc}") from None
            axes.append(Axis(name, tuple(values), scale))
        elif isinstance(spec, list):
            if not spec:
                raise ValueError(f"{where}: the list is empty; give at least one value")
            values = [_parse_value(where, name, value) for value in spec]
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


def _parse_range(where, name, spec):
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
    _parse_value(f"{where}: low", name, float(low))
    return float(low), float(high), scale, count


def _trials(source, top, fixed, axes, trial_seeds):
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
            settings = resolve({**top, **fixed, **swept, "seed": seed})
        except UsageError as exc:
            raise ValueError(f"{source}: trial {index} ({_describe(swept)}): {exc}") from None
        del settings["out"]
        trials.append(Trial(index, seed, swept, settings))
    return tuple(trials)


def _describe(values):
    """``learning_rate=0.001, reg=0`` for a dict of settings."""
    return ", ".join(f"{name}={format_value(value)}" for name, value in values.items())


def format_value(value):
    """A setting's value in a table: floats to 4 significant digits, lists as 64,64."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)

"""What a Solver accepts: the checks its constructor runs on the model, the data and the counts,
each refusing a bad argument with an error that names the Solver and the argument.
"""

import json
import math
import numbers
import os

import numpy as np

from .optim import UPDATE_RULES, validate_config

REQUIRED_DATA = ("X_train", "y_train", "X_val", "y_val")
UNSCORED = -1  # a sequence target that is not scored (y of shape (N, T))


def is_sequence(X, y):
    """Whether X, y are token windows X (N, T) and per-step targets y (N, T), both integers."""
    return (X.ndim == 2 and y.shape == X.shape and X.dtype.kind in "iu"
            and y.dtype.kind in "iu")


def check_count(name, value, minimum=1, allow_none=False):
    """Require an int >= minimum (or None where allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        wanted = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"Solver: {name} must be {wanted}, got {value!r}")
    return int(value)


def split_data(split, data):
    """X and y of one split from ``data``, checked: y holds one integer label per row of X, or
    for sequences one target per step of X (:func:`is_sequence`), -1 where unscored."""
    if not isinstance(data, dict):
        raise TypeError(f"Solver: data must be a dict, got {type(data).__name__}")
    missing = [key for key in REQUIRED_DATA if key not in data]
    if missing:
        raise ValueError(
            f"Solver: data lacks {', '.join(missing)}; it needs {', '.join(REQUIRED_DATA)}")
    X, y = (_as_array(f"{letter}_{split}", data[f"{letter}_{split}"]) for letter in "Xy")
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(
            f"Solver: X_{split} must have shape (N, d1, ..., dk) with N >= 1, got {X.shape}")
    if is_sequence(X, y):
        if not np.any(y != UNSCORED):
            raise ValueError(f"Solver: y_{split} scores no step: every target is {UNSCORED}")
        return X, y.astype(np.intp, copy=False)
    whole = y.dtype.kind == "f" and y.size and np.all(y == np.round(y))  # 3.0 is label 3
    if y.ndim != 1 or not (y.dtype.kind in "iu" or whole):
        raise ValueError(
            f"Solver: y_{split} must be a 1-d array of integer labels, "
            f"got dtype {y.dtype} and shape {y.shape}")
    if len(y) != len(X):
        raise ValueError(
            f"Solver: X_{split} and y_{split} must have the same length, "
            f"got {len(X)} and {len(y)}")
    return X, y.astype(np.intp, copy=False)


def check_fits(model, split, X, y):
    """Score one example of the split (test mode: nothing changes), so that data the model
    cannot take is refused now rather than an epoch into training; labels must index the
    scores' columns."""
    try:
        scores = model.loss(X[:1])
    except (ValueError, TypeError) as error:
        raise ValueError(f"Solver: X_{split} of shape {X.shape} does not fit the model: "
                         f"{error}") from error
    C = np.shape(scores)[-1]
    if np.shape(scores)[:-1] != (1, *y.shape[1:]):
        raise ValueError(f"Solver: the model scores an example of X_{split} with shape "
                         f"{np.shape(scores)}; y_{split} of shape {y.shape} wants "
                         f"{(1, *y.shape[1:], 'C')}")
    unscored = (y == UNSCORED) if y.ndim == 2 else np.zeros(y.shape, bool)
    wrong = ((y < 0) | (y >= C)) & ~unscored
    if wrong.any():
        allowed = f"[0, {C})" + (f" or {UNSCORED} (not scored)" if y.ndim == 2 else "")
        raise ValueError(f"Solver: y_{split} holds label {y[wrong][0]}; the model scores "
                         f"{C} classes, so labels must lie in {allowed}")


def check_clip_norm(clip_norm):
    """None, or a finite number > 0, as a float."""
    if clip_norm is None:
        return None
    if isinstance(clip_norm, bool) or not isinstance(clip_norm, numbers.Real) or not (
            0 < clip_norm < math.inf):
        raise ValueError(f"Solver: clip_norm must be None or a finite number > 0, "
                         f"got {clip_norm!r}")
    return float(clip_norm)


def check_model(model):
    """Require the model contract's ``params`` dict (not empty) and ``loss`` method."""
    if not isinstance(getattr(model, "params", None), dict) or not callable(
            getattr(model, "loss", None)):
        raise TypeError(
            "Solver: model must have a dict `params` and a method `loss(X, y=None)`, "
            f"got {type(model).__name__}")
    if not model.params:
        raise ValueError(
            f"Solver: the model has no parameters to train ({type(model).__name__})")


def check_settings(settings):
    """Require a JSON-serialisable dict (None gives an empty one)."""
    settings = {} if settings is None else settings
    if not isinstance(settings, dict):
        raise TypeError(f"Solver: settings must be a dict, got {type(settings).__name__}")
    try:
        json.dumps(settings, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Solver: settings must be JSON-serialisable: {error}") from None
    return settings


def check_update_rule(update_rule, optim_config):
    """The rule's name, checked, and its hyperparameters completed with the defaults."""
    if not isinstance(update_rule, str) or update_rule not in UPDATE_RULES:
        error = ValueError if isinstance(update_rule, str) else TypeError
        raise error(f"Solver: update_rule must be one of {', '.join(map(repr, UPDATE_RULES))}, "
                    f"got {update_rule!r}")
    try:
        return validate_config(update_rule, optim_config)
    except (ValueError, TypeError) as error:  # the rule's message names the key
        raise type(error)(f"Solver: optim_config: {error}") from None


def check_path(name, path):
    """None, or a str or os.PathLike naming a str path (a file or a folder to write)."""
    if path is None:
        return None
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        if isinstance(path, str):
            return path
    raise TypeError(f"Solver: {name} must be a path (a str or os.PathLike) or None, got "
                    f"{type(path).__name__} {path!r}")


def _as_array(name, value):
    """``value`` as an ndarray; a ragged nested list is refused by name."""
    try:
        return np.asarray(value)
    except ValueError as error:
        raise ValueError(f"Solver: {name} cannot be made an array: {error}") from None

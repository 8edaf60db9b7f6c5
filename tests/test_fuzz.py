"""The public API fuzzed: every door either returns a right result or refuses its input with a
ValueError or TypeError whose message names the door, within a second.

The doors: every layer pair of the library (the cases of ``gradcheck.cases``, so a new layer is
fuzzed by its entry there), gradcheck's checkers and the CS231n helpers, the update rules, the
models' constructors and ``loss``, and the Solver's constructor. Each test starts from valid
arguments and spoils one of them, or two of a layer's (a dtype, a shape, a value, a container,
a key of a parameter dict); a spoiled argument that is still valid (float32, a nested list, a
Fortran-ordered array) must give the result of the valid one.

A size beyond memory may also end in numpy's MemoryError, which says how much was asked
for. Each door runs with numpy's warnings silenced and under a timer of one second of CPU time
(ITIMER_PROF: a busy machine does not make a fast door look slow). Hypothesis draws
``BACKPROP_FUZZ_EXAMPLES`` cases per test (default 10, derandomized so the suite is repeatable);
to fuzz widely::

    BACKPROP_FUZZ_EXAMPLES=500 BACKPROP_FUZZ_RANDOM=1 python -m pytest tests/test_fuzz.py
"""

import contextlib
import copy
import math
import os
import signal
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradcheck
import layers
from gradcheck.cases import CASES, TwoStateCase
from solver import (
    CaptioningRNN, ConvNet, FullyConnectedNet, LanguageModel, Solver, ThreeLayerConvNet,
    TwoLayerNet)
from solver.optim import UPDATE_RULES

EXAMPLES = int(os.environ.get("BACKPROP_FUZZ_EXAMPLES", "10"))
fuzz = settings(max_examples=EXAMPLES, deadline=None,
                derandomize=not os.environ.get("BACKPROP_FUZZ_RANDOM"),
                suppress_health_check=list(HealthCheck))
SECONDS = 1.0


class TookTooLong(BaseException):
    """A door ran past its second (a BaseException, so that no door can swallow it)."""


@contextlib.contextmanager
def within(seconds, door):
    def ring(signum, frame):
        raise TookTooLong(f"{door} ran for more than {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, ring)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def knock(door, func, *args, refusers=(), **kwargs):
    """Call ``func``; return ``(result, None)``, or ``(None, error)`` for a ValueError or
    TypeError whose message names ``door`` (or one of ``refusers``: the caller's own function
    that a checker calls). Any other exception, or a refusal that names neither, fails."""
    with within(SECONDS, door), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return func(*args, **kwargs), None
        except MemoryError as error:  # sizes beyond memory: numpy says how much it wanted
            return None, error
        except (ValueError, TypeError) as error:
            if not any(name in str(error) for name in (door, *refusers)):
                raise AssertionError(f"{door} refused with a {type(error).__name__} that does "
                                     f"not name it: {error}") from error
            return None, error


# --- spoiling an argument -----------------------------------------------------------------

ODD_VALUES = [None, "x", b"x", [], {}, (), True, 0, -1, 2.5, 10**9, 10**30, -(10**9), 1e-300,
              math.nan, math.inf, -math.inf, 1 + 1j, np.float16(1), object(), [[1.0, 2.0], [3.0]]]

# Spoilings that keep an array valid: the door must give the valid array's result.
SAME_VALUE = {
    "float32": lambda a: a.astype(np.float32),
    "fortran order": np.asfortranarray,
    "nested list": lambda a: a.tolist(),
    "strided view": lambda a: np.repeat(a, 2, axis=-1)[..., ::2] if a.ndim else a,
}
OTHER_VALUE = {
    "float16": lambda a: a.astype(np.float16),
    "int64": lambda a: a.astype(np.int64),
    "int8": lambda a: a.astype(np.int8),
    "bool": lambda a: a.astype(bool),
    "complex": lambda a: a.astype(np.complex128),
    "object": lambda a: a.astype(object),
    "strings": lambda a: a.astype(str),
    "letters": lambda a: np.full(a.shape, "a"),
    "NaN": lambda a: np.full_like(a, np.nan, dtype=np.float64),
    "inf": lambda a: np.full_like(a, np.inf, dtype=np.float64),
    "huge": lambda a: np.full_like(a, 1e300, dtype=np.float64),
    "tiny": lambda a: np.full_like(a, 1e-310, dtype=np.float64),
    "zeros": lambda a: np.zeros_like(a, dtype=np.float64),
    "empty first axis": lambda a: a[:0] if a.ndim else np.zeros(0, a.dtype),
    "empty last axis": lambda a: a[..., :0] if a.ndim else np.zeros(0, a.dtype),
    "one more axis": lambda a: a[None],
    "one axis fewer": lambda a: a.reshape(-1) if a.ndim > 1 else a[0] if a.ndim and a.size else a,
    "transposed": lambda a: a.T,
    "one longer": lambda a: np.concatenate([a, a[:1]]) if a.ndim else a,
    "ragged list": lambda a: [np.atleast_1d(a).ravel().tolist()[:2] + [0.0], [0.0]],
    "scalar": lambda a: 1.5,
}
SPOILINGS = {**SAME_VALUE, **OTHER_VALUE}


# A key of a param dict spoiled: a key unlike any is the caller's own and changes nothing; a
# near miss of a key (the key with its last letter doubled: 'pad' -> 'padd') is refused.
ADD_UNKNOWN_KEY = "add no_such_key"
MISSPELL = "misspell"


@st.composite
def spoiled(draw, value):
    """``(how, spoiled value)`` for one argument: an array spoiled in one of SPOILINGS, a dict
    with one key changed, dropped, misspelled or added, anything else swapped for an odd
    value."""
    if isinstance(value, np.ndarray):
        how = draw(st.sampled_from(sorted(SPOILINGS)))
        return how, SPOILINGS[how](value.copy())
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["change", "drop", MISSPELL, "add"]))
        changed = copy.deepcopy(value)
        if action == "drop":
            del changed[key]
        elif action == MISSPELL:
            changed[key + key[-1]] = changed.pop(key)
        elif action == "add":
            changed["no_such_key"] = 1
            return ADD_UNKNOWN_KEY, changed
        else:
            changed[key] = draw(st.sampled_from(ODD_VALUES))
        return f"{action} {key}", changed
    odd = draw(st.sampled_from(ODD_VALUES))
    return f"odd value {odd!r}", odd


def close(actual, expected, rtol):
    """Whether a returned value (array, number, tuple or dict of them) matches the reference."""
    if isinstance(expected, tuple):
        return (isinstance(actual, tuple) and len(actual) == len(expected)
                and all(close(a, e, rtol) for a, e in zip(actual, expected)))
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and actual.keys() == expected.keys()
                and all(close(actual[k], expected[k], rtol) for k in expected))
    if expected is None or not isinstance(expected, (np.ndarray, float, int, np.number)):
        return True  # a cache: opaque
    actual = np.asarray(actual)
    return actual.shape == np.shape(expected) and np.allclose(actual, expected, rtol=rtol,
                                                              atol=rtol, equal_nan=True)


# --- layers -------------------------------------------------------------------------------

LAYER_CASES = {case.name: case for case in CASES}


def _valid(case):
    args, kwargs = case.make(np.random.default_rng(0))
    return copy.deepcopy(list(args)), copy.deepcopy(kwargs)


def _rtol(how):
    return 1e-3 if how == "float32" else 1e-9


@pytest.mark.parametrize("name", LAYER_CASES)
@fuzz
@given(data=st.data())
def test_layer_forward_refuses_or_computes_right(name, data):
    case = LAYER_CASES[name]
    door = case.forward.__name__
    args, kwargs = _valid(case)
    expected, _ = knock(door, case.forward, *copy.deepcopy(args), **copy.deepcopy(kwargs))
    positions = data.draw(st.lists(st.sampled_from(range(len(args))), min_size=1, max_size=2,
                                   unique=True), label="arguments")  # one, or two at once
    hows = []
    for position in positions:
        how, args[position] = data.draw(spoiled(args[position]), label="spoiling")
        hows.append(how)
    result, error = knock(door, case.forward, *args, **kwargs)
    if any(how.startswith(MISSPELL) for how in hows):
        assert error is not None, f"{door} took a misspelled key: {hows}"
    elif hows == [ADD_UNKNOWN_KEY]:
        assert error is None and close(result, expected, 1e-12), f"{door} with {hows}"
    elif error is None and all(how in SAME_VALUE or how == ADD_UNKNOWN_KEY for how in hows):
        rtol = max(_rtol(how) for how in hows)
        assert close(result, expected, rtol), f"{door} with arguments {positions} {hows}"


@pytest.mark.parametrize("name", [name for name, case in LAYER_CASES.items()
                                  if case.backward and not isinstance(case, TwoStateCase)])
@fuzz
@given(data=st.data())
def test_layer_backward_refuses_or_computes_right(name, data):
    case = LAYER_CASES[name]
    door = case.backward.__name__
    args, kwargs = _valid(case)
    out, cache = case.forward(*args, **kwargs)
    dout = np.random.default_rng(1).standard_normal(np.shape(out))
    expected = case.backward(dout.copy(), cache)
    target = data.draw(st.sampled_from(["dout", "cache"]), label="argument")
    if target == "dout":
        how, spoiled_dout = data.draw(spoiled(dout), label="spoiling")
        result, error = knock(door, case.backward, spoiled_dout, cache)
        if error is None and how in SAME_VALUE:
            assert close(result, expected, _rtol(how)), f"{door} with dout {how}"
    else:
        other = data.draw(st.sampled_from(sorted(LAYER_CASES)), label="cache of")
        bad_caches = [None, (), "cache", 3, list(cache) if isinstance(cache, tuple) else [],
                      _cache_of(LAYER_CASES[other])]
        bad = data.draw(st.sampled_from(bad_caches), label="cache")
        result, error = knock(door, case.backward, dout, bad)
        if error is None:  # a cache from another layer with the same layout: same shapes out
            assert isinstance(result, (tuple, np.ndarray))


def _cache_of(case):
    args, kwargs = _valid(case)
    result = case.forward(*args, **kwargs)
    return result[1] if case.backward else None


# --- gradcheck ----------------------------------------------------------------------------

def _square(x):
    return float(np.sum(np.asarray(x, dtype=np.float64) ** 2))


STEPS = [1e-5, 1e-7, 1e-3, 0, -1e-5, 1e-300, 1e-20, 1e300, math.nan, math.inf, "1e-5", None,
         np.float16(1e-5), np.float32(1e-5), True, 1e30]
POINTS = {
    "float64": lambda rng: rng.standard_normal((3, 4)),
    "float32": lambda rng: rng.standard_normal((3, 4)).astype(np.float32),
    "float16": lambda rng: rng.standard_normal((3, 4)).astype(np.float16),
    "large float64": lambda rng: 1e12 * rng.standard_normal((3, 4)),
    "int64": lambda rng: rng.integers(-3, 3, (3, 4)),
    "0-d": lambda rng: np.array(1.5),
    "empty": lambda rng: np.zeros((0, 4)),
    "nested list": lambda rng: rng.standard_normal((3, 4)).tolist(),
    "ragged list": lambda rng: [[1.0, 2.0], [3.0]],
    "scalar": lambda rng: 1.5,
    "string": lambda rng: "x",
    "None": lambda rng: None,
    "read-only": lambda rng: np.frombuffer(rng.standard_normal(12).tobytes()).reshape(3, 4),
}


def _right_gradient(grad, x, h):
    """A numerical gradient of sum(x**2) is 2x where the step is sane and x is float64."""
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64 and x.flags.writeable
            and isinstance(h, float) and 1e-7 <= h <= 1e-3 and np.all(np.abs(x) < 1e6)):
        return True
    return np.allclose(grad, 2 * x, rtol=1e-5, atol=1e-5)


@fuzz
@given(point=st.sampled_from(sorted(POINTS)), h=st.sampled_from(STEPS))
def test_eval_numerical_gradient(point, h):
    x = POINTS[point](np.random.default_rng(0))
    grad, error = knock("eval_numerical_gradient", gradcheck.eval_numerical_gradient, _square,
                        x, h=h)
    if error is None:
        assert np.all(np.isfinite(grad)), f"{point}, h={h!r}: {grad}"
        assert _right_gradient(grad, x, h)


def _shape(x):
    """x's shape, or (2,) for a ragged list that has none."""
    try:
        return np.shape(x)
    except ValueError:
        return (2,)


def _as_float(x):
    try:
        return np.asarray(x, dtype=np.float64)
    except (ValueError, TypeError):
        return np.zeros(2)


DFS = {
    "right": lambda x: np.ones(_shape(x)),
    "list": lambda x: np.ones(_shape(x)).tolist(),
    "scalar": lambda x: 1.0,
    "string": lambda x: "df",
    "None": lambda x: None,
    "wrong shape": lambda x: np.ones((2, 2)),
    "NaN": lambda x: np.full(_shape(x), np.nan),
    "object": lambda x: np.ones(_shape(x), dtype=object),
}


@fuzz
@given(point=st.sampled_from(sorted(POINTS)), h=st.sampled_from(STEPS),
       df=st.sampled_from(sorted(DFS)))
def test_eval_numerical_gradient_array(point, h, df):
    x = POINTS[point](np.random.default_rng(0))
    door = "eval_numerical_gradient_array"
    grad, error = knock(door, gradcheck.eval_numerical_gradient_array,
                        lambda v: np.asarray(v, dtype=np.float64) ** 2, x,
                        DFS[df](x), h=h)
    if error is None and df == "right":
        assert _right_gradient(grad, x, h)


ANALYTIC = {
    "right": lambda x: 2 * _as_float(x),
    "wrong shape": lambda x: np.ones((5, 5)),
    "list": lambda x: (2 * _as_float(x)).tolist(),
    "None": lambda x: None,
    "string": lambda x: "grad",
    "scalar": lambda x: 2.0,
    "object": lambda x: np.ones(_shape(x), dtype=object),
}
SEEDS = [0, 1, None, -1, 2.5, "0", 2**70, True, np.random.default_rng(0)]
NUM_CHECKS = [10, 1, 0, -1, 2.5, "3", None, True]


@fuzz
@given(point=st.sampled_from(sorted(POINTS)), h=st.sampled_from(STEPS),
       analytic=st.sampled_from(sorted(ANALYTIC)), seed=st.sampled_from(SEEDS),
       num_checks=st.sampled_from(NUM_CHECKS))
def test_grad_check_sparse(point, h, analytic, seed, num_checks):
    x = POINTS[point](np.random.default_rng(0))
    door = "grad_check_sparse"
    errors, error = knock(door, gradcheck.grad_check_sparse, _square, x, ANALYTIC[analytic](x),
                          num_checks=num_checks, h=h, seed=seed, verbose=False)
    if error is None and analytic == "right" and _right_gradient(2 * np.asarray(x), x, h) \
            and isinstance(x, np.ndarray) and x.dtype == np.float64 and isinstance(h, float) \
            and 1e-7 <= h <= 1e-3 and np.all(np.abs(x) < 1e6):
        assert np.max(np.asarray(errors, dtype=np.float64), initial=0.0) < 1e-5


@fuzz
@given(x=st.sampled_from(sorted(POINTS)), y=st.sampled_from(sorted(POINTS)))
def test_rel_error(x, y):
    rng = np.random.default_rng(0)
    a, b = POINTS[x](rng), POINTS[y](rng)
    value, error = knock("rel_error", gradcheck.rel_error, a, b)
    if error is None:
        assert isinstance(value, float) and (math.isnan(value) or 0 <= value <= 1)


CHECK_OPTIONS = {"mode": ["full", "fast", "slow", None, 3], "h": STEPS,
                 "tol": [None, 1e-6, 0, -1, math.nan, "1e-6"], "seed": SEEDS,
                 "verbose": [False, True, "yes"]}


@pytest.mark.parametrize("door, case_name", [("check_layer", "affine"),
                                             ("check_layer", "conv_fast"),
                                             ("check_loss", "softmax_loss")])
@fuzz
@given(data=st.data())
def test_check_layer_and_check_loss(door, case_name, data, capsys):
    case = LAYER_CASES[case_name]
    args, kwargs = _valid(case)
    options = {}
    for option, values in CHECK_OPTIONS.items():
        if data.draw(st.booleans(), label=f"spoil {option}"):
            options[option] = data.draw(st.sampled_from(values), label=option)
    if data.draw(st.booleans(), label="spoil an input"):
        position = data.draw(st.sampled_from(range(len(args))), label="argument")
        how, args[position] = data.draw(spoiled(args[position]), label="spoiling")
    func = getattr(gradcheck, door)
    pair = (case.forward,) if door == "check_loss" else (case.forward, case.backward)
    report, error = knock(door, func, *pair, *args, refusers=(case.forward.__name__,),
                          **options, **kwargs)
    if error is None:
        assert isinstance(report.ok, (bool, np.bool_))
    capsys.readouterr()


@pytest.mark.parametrize("door", ["check_layer", "check_loss"])
@fuzz
@given(forward=st.sampled_from(ODD_VALUES[:6]))
def test_check_refuses_what_is_not_a_function(door, forward):
    x = np.random.default_rng(0).standard_normal((2, 3))
    if door == "check_layer":
        knock(door, gradcheck.check_layer, forward, forward, x)
    else:
        knock(door, gradcheck.check_loss, forward, x, np.zeros(2, dtype=np.int64))


# --- update rules -------------------------------------------------------------------------

CONFIG_VALUES = [0.0, 0.5, 1.0, -1.0, 2.0, math.nan, math.inf, "0.9", None, True, [0.9],
                 np.float32(0.9), 1e300]
STATE = {"sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t")}
HYPER = ("learning_rate", "momentum", "decay_rate", "beta1", "beta2", "epsilon")


@pytest.mark.parametrize("rule", UPDATE_RULES)
@fuzz
@given(data=st.data())
def test_update_rule(rule, data):
    rng = np.random.default_rng(0)
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    target = data.draw(st.sampled_from(["w", "dw", "hyperparameter", "state", "config"]))
    config = {"learning_rate": 1e-2}
    if target in ("w", "dw"):
        how, spoiled_array = data.draw(spoiled(w if target == "w" else dw))
        if target == "w":
            w = spoiled_array
        else:
            dw = spoiled_array
    elif target == "hyperparameter":
        config[data.draw(st.sampled_from(HYPER))] = data.draw(st.sampled_from(CONFIG_VALUES))
    elif target == "state" and rule in STATE:
        key = data.draw(st.sampled_from(STATE[rule]))
        state = np.zeros((3, 4)) if key != "t" else 0
        config[key] = data.draw(spoiled(np.asarray(state)))[1]
    else:
        config = data.draw(st.sampled_from([None, {}, [], "config", 3, {"learning_rate": None}]))
    result, error = knock(rule, UPDATE_RULES[rule], w, dw, config)
    if error is None:
        next_w, next_config = result
        assert np.shape(next_w) == np.shape(w) and isinstance(next_config, dict)
        if rule == "sgd" and isinstance(w, np.ndarray) and isinstance(dw, np.ndarray):
            np.testing.assert_allclose(next_w, w - next_config["learning_rate"] * dw,
                                       rtol=1e-3)


# --- models -------------------------------------------------------------------------------

MODELS = {
    "TwoLayerNet": (TwoLayerNet, {"input_dim": 6, "hidden_dim": 5, "num_classes": 3,
                                  "weight_scale": 1e-2, "reg": 0.1, "dtype": np.float64,
                                  "seed": 0}),
    "FullyConnectedNet": (FullyConnectedNet, {"hidden_dims": [5, 4], "input_dim": 6,
                                              "num_classes": 3, "dropout_keep_ratio": 0.5,
                                              "normalization": "batchnorm", "reg": 0.1,
                                              "weight_scale": 1e-2, "dtype": np.float64,
                                              "seed": 0}),
    "ConvNet": (ConvNet, {"input_dim": (1, 6, 6), "conv_filters": [2], "filter_size": 3,
                          "pool": 2, "hidden_dims": [4], "num_classes": 3,
                          "normalization": "batchnorm", "weight_scale": "he", "reg": 0.1,
                          "dtype": np.float64, "seed": 0}),
    "ThreeLayerConvNet": (ThreeLayerConvNet, {"input_dim": (1, 6, 6), "num_filters": 2,
                                              "filter_size": 3, "hidden_dim": 4,
                                              "num_classes": 3, "weight_scale": 1e-2,
                                              "reg": 0.1, "dtype": np.float64, "seed": 0}),
}
MODEL_VALUES = ODD_VALUES + ["foo", "float16", np.int64, "float32", [0], (0, 0, 0), [5, -1],
                             (1, 6), (1, 0, 6), "layernorm", "none", 0.0, 1.0, 1.5]


def _inputs(name, kwargs, N=4):
    rng = np.random.default_rng(2)
    shape = kwargs["input_dim"] if name.endswith("ConvNet") else (kwargs["input_dim"],)
    return rng.standard_normal((N, *shape)), rng.integers(0, 3, N)


def construct_spoiled(data, name, models, values):
    """Build model ``name`` of ``models`` with one argument spoiled: (model, None) or (None,
    the error that refused it)."""
    cls, kwargs = models[name]
    kwargs = dict(kwargs)
    key = data.draw(st.sampled_from(sorted(kwargs)), label="argument")
    kwargs[key] = data.draw(st.sampled_from(values), label="value")
    return knock(name, cls, **kwargs)


def assert_trains(model, loss, grads):
    """A finite loss, and a gradient of each parameter's shape and dtype."""
    assert math.isfinite(loss) and grads.keys() == model.params.keys()
    assert all(grads[k].shape == p.shape and grads[k].dtype == p.dtype
               for k, p in model.params.items())


@pytest.mark.parametrize("name", MODELS)
@fuzz
@given(data=st.data())
def test_model_constructor(name, data):
    model, error = construct_spoiled(data, name, MODELS, MODEL_VALUES)
    if error is None:  # whatever it accepted must make a model that trains
        X, y = _inputs(name, MODELS[name][1])
        scores = model.loss(X)
        assert scores.shape == (4, 3)
        assert_trains(model, *model.loss(X, y))


@pytest.mark.parametrize("name", MODELS)
@fuzz
@given(data=st.data())
def test_model_loss(name, data):
    cls, kwargs = MODELS[name]
    model = cls(**kwargs)
    X, y = _inputs(name, kwargs)
    expected = model.loss(X)
    target = data.draw(st.sampled_from(["X", "y"]), label="argument")
    if target == "X":
        how, X = data.draw(spoiled(X), label="spoiling")
        result, error = knock(f"{name}.loss", model.loss, X)
        if error is None and how in SAME_VALUE:
            assert close(result, expected, _rtol(how))
    else:
        how, y = data.draw(spoiled(y), label="spoiling")
        result, error = knock(f"{name}.loss", model.loss, X, y)
        if error is None:
            loss, grads = result
            assert np.isfinite(loss) and grads.keys() == model.params.keys()


SEQUENCE_MODELS = {
    "LanguageModel": (LanguageModel, {"vocab_size": 5, "wordvec_dim": 4, "hidden_dim": 6,
                                      "cell_type": "transformer", "num_layers": 1,
                                      "num_heads": 2, "dtype": np.float64, "seed": 0,
                                      "reg": 0.1}),
    "CaptioningRNN": (CaptioningRNN, {"word_to_idx": {"<NULL>": 0, "<START>": 1, "cat": 2},
                                      "input_dim": 3, "wordvec_dim": 4, "hidden_dim": 5,
                                      "cell_type": "lstm", "dtype": np.float64, "seed": 0,
                                      "reg": 0.1}),
}
SEQUENCE_VALUES = MODEL_VALUES + ["rnn", "lstm", "transformer", {}, {"<NULL>": 0}, 3, 4]


@pytest.mark.parametrize("name", SEQUENCE_MODELS)
@fuzz
@given(data=st.data())
def test_sequence_model_constructor(name, data):
    model, error = construct_spoiled(data, name, SEQUENCE_MODELS, SEQUENCE_VALUES)
    if error is None:  # whatever it accepted must make a model that trains
        V = model.params["W_vocab"].shape[1]
        tokens = np.arange(8).reshape(2, 4) % V
        features = tokens if name == "LanguageModel" else np.ones(
            (2, model.params["W_proj"].shape[0]))
        assert_trains(model, *model.loss(features, tokens))
        assert model.dtype in (np.float32, np.float64)


# --- Solver -------------------------------------------------------------------------------

SOLVER_OPTIONS = {
    "update_rule": ["sgd", "adam", "nope", ["sgd"], None, 3, UPDATE_RULES["sgd"]],
    "optim_config": [None, {}, {"learning_rate": 1e-2}, {"learning_rate": "x"},
                     {"nope": 1}, [], "config", {"learning_rate": -1.0}],
    "lr_decay": [1.0, 0.5, 0, -1, 2.0, math.nan, "0.9", None],
    "batch_size": [1, 4, 0, -1, 2.5, 10**9, "4", None, True],
    "num_epochs": [1, 0, -1, 2.5, "1", None, 10**9],
    "num_train_samples": [None, 1, 0, -1, 2.5, "10", 10**9],
    "num_val_samples": [None, 1, 0, -1, 2.5, "10"],
    "seed": [0, None, -1, 2.5, "0", 2**70],
    "checkpoint_dir": [None, 123, b"dir", ["dir"], 2.5],
    "checkpoint_name": [None, "run", 123, b"run"],
    "verbose": [False, True, "yes", None],
    "patience": [None, 1, 0, -1, 2.5, "3", True],
    "on_epoch_end": [None, print, "print", 3],
}
DATA_SPOILINGS = ["missing key", "X_train", "y_train", "X_val", "y_val", "not a dict"]


def _solver_data(rng):
    X = rng.standard_normal((8, 6))
    y = rng.integers(0, 3, 8)
    return {"X_train": X, "y_train": y, "X_val": X[:4], "y_val": y[:4]}


@fuzz
@given(data=st.data())
def test_solver_constructor(data):
    rng = np.random.default_rng(0)
    model = TwoLayerNet(6, 5, 3, dtype=np.float64, seed=0)
    train_data = _solver_data(rng)
    options = {}
    for option, values in SOLVER_OPTIONS.items():
        if data.draw(st.booleans(), label=f"spoil {option}"):
            options[option] = data.draw(st.sampled_from(values), label=option)
    spoil = data.draw(st.sampled_from([None] + DATA_SPOILINGS), label="data")
    if spoil == "missing key":
        del train_data["y_val"]
    elif spoil == "not a dict":
        train_data = list(train_data.values())
    elif spoil is not None:
        how, train_data[spoil] = data.draw(spoiled(train_data[spoil]), label="spoiling")
    solver, error = knock("Solver", Solver, model, train_data, **options)
    if error is None:
        assert solver.model is model


# --- the findings, one call each -----------------------------------------------------------

def _layer_call(case, position, value):
    args, kwargs = _valid(case)
    args[position] = value
    return case.forward.__name__, case.forward, args, kwargs


def _backward_call(case, dout):
    """A backward call with ``dout`` as its (first) upstream gradient; an LSTM step's second,
    dnext_c, is right."""
    args, kwargs = _valid(case)
    *outs, cache = case.forward(*args, **kwargs)
    douts = [dout] + [np.zeros(np.shape(out)) for out in outs[1:]]
    return case.backward.__name__, case.backward, [*douts, cache], {}


def _conv_param_call(case, key):
    args, kwargs = _valid(case)
    position = next(i for i, a in enumerate(args) if isinstance(a, dict) and "pad" in a)
    args[position] = {**args[position], key: 10**9}
    return case.forward.__name__, case.forward, args, kwargs


def _check_call(door, case_name, h=1e-5, dtype=np.float64):
    case = LAYER_CASES[case_name]
    args = [a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in _valid(case)[0]]
    pair = (case.forward,) if door == "check_loss" else (case.forward, case.backward)
    return door, getattr(gradcheck, door), [*pair, *args], {"h": h}


def _square_forward(x):
    return x * x, x


def _square_backward(dout, x):
    return 2 * x * dout


RAGGED = [[1.0, 2.0], [3.0]]
F = _square
X = np.random.default_rng(0).standard_normal((3, 4))
CONV_CASES = [c for c in CASES if c.forward.__name__.startswith("conv_")]
ZERO_SIZE_FILTER = [np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 0)), np.zeros(4),
                    {"stride": 1, "pad": 1}]

# Issue 14's findings that are fixed: each door now refuses by name, with this error.
FIXED = {
    **{f"ragged x: {c.forward.__name__}": (ValueError, lambda c=c: _layer_call(c, 0, RAGGED))
       for c in CASES},
    **{f"ragged dout: {c.backward.__name__}": (ValueError,
                                               lambda c=c: _backward_call(c, RAGGED))
       for c in CASES if c.backward},
    **{f"conv {key} 10**9: {c.forward.__name__}": (
        ValueError, lambda c=c, key=key: _conv_param_call(c, key))
       for c in CONV_CASES for key in ("stride", "pad")},
    "maxout_forward, K = 0 pieces": (ValueError, lambda: (
        "maxout_forward", layers.maxout_forward,
        [np.ones((4, 3)), np.ones((3, 5, 0)), np.ones((5, 0))], {})),
    **{f"{door}, a zero-size filter": (ValueError, lambda door=door: (
        door, getattr(layers, door), copy.deepcopy(ZERO_SIZE_FILTER), {}))
       for door in ("conv_forward_naive", "conv_forward_fast")},
    **{f"ragged {which}: {rule}": (ValueError, lambda rule=rule, which=which: (
        rule, UPDATE_RULES[rule], [RAGGED, X] if which == "w" else [X, RAGGED], {}))
       for rule in UPDATE_RULES for which in ("w", "dw")},
    **{f"{rule}, config[{key!r}] of letters": (TypeError, lambda rule=rule, key=key: (
        rule, UPDATE_RULES[rule], [X, X, {key: np.full(X.shape, "a")}], {}))
       for rule, key in (("sgd_momentum", "velocity"), ("rmsprop", "cache"), ("adam", "m"))},
    "eval_numerical_gradient, float16 x": (ValueError, lambda: (
        "eval_numerical_gradient", gradcheck.eval_numerical_gradient,
        [F, X.astype(np.float16)], {})),
    "eval_numerical_gradient, x = 1e12": (ValueError, lambda: (
        "eval_numerical_gradient", gradcheck.eval_numerical_gradient, [F, 1e12 * X], {})),
    **{f"{door}, h = {h}": (ValueError, lambda door=door, h=h: (
        door, getattr(gradcheck, door), [F, X.copy(), 2 * X] if door == "grad_check_sparse"
        else [F, X.copy()], {"h": h}))
       for door in ("eval_numerical_gradient", "grad_check_sparse") for h in (1e-20, 1e300)},
    **{f"eval_numerical_gradient_array, h = {h}": (ValueError, lambda h=h: (
        "eval_numerical_gradient_array", gradcheck.eval_numerical_gradient_array,
        [lambda v: v ** 2, X.copy(), np.ones(X.shape)], {"h": h})) for h in (1e-20, 1e300)},
    **{f"{door} of {name}, h = 1e-20": (ValueError, lambda door=door, name=name:
                                        _check_call(door, name, h=1e-20))
       for door, name in (("check_layer", "affine"), ("check_loss", "softmax_loss"))},
    **{f"check_layer of x**2, h = 1e300, mode {mode!r}": (ValueError, lambda mode=mode: (
        "check_layer", gradcheck.check_layer, [_square_forward, _square_backward, X.copy()],
        {"h": 1e300, "mode": mode})) for mode in ("full", "fast")},
    "check_layer, float16 inputs": (ValueError, lambda: _check_call("check_layer", "affine",
                                                                    dtype=np.float16)),
    "eval_numerical_gradient_array, df a string": (TypeError, lambda: (
        "eval_numerical_gradient_array", gradcheck.eval_numerical_gradient_array,
        [lambda v: v ** 2, X.copy(), "df"], {})),
    **{f"grad_check_sparse, {what}": (error, lambda kwargs=kwargs, grad=grad: (
        "grad_check_sparse", gradcheck.grad_check_sparse, [F, X.copy(), grad],
        {"verbose": False, **kwargs}))
       for what, error, grad, kwargs in [
           ("analytic_grad a string", TypeError, "grad", {}),
           ("analytic_grad of letters", TypeError, np.full(X.shape, "a"), {}),
           ("seed 2.5", ValueError, 2 * X, {"seed": 2.5}),
           ("seed -1", ValueError, 2 * X, {"seed": -1}),
           ("seed '0'", ValueError, 2 * X, {"seed": "0"}),
           ("num_checks True", ValueError, 2 * X, {"num_checks": True})]},
    **{f"{name}(dtype={dtype!r})": (TypeError, lambda name=name, dtype=dtype: (
        name, MODELS[name][0], [], {**MODELS[name][1], "dtype": dtype}))
       for name in MODELS for dtype in ("foo", b"x")},
    **{f"{name}({key}=10**30)": (ValueError, lambda name=name, key=key: (
        name, MODELS[name][0], [], {**MODELS[name][1], key: 10**30}))
       for name, key in (("TwoLayerNet", "hidden_dim"), ("TwoLayerNet", "input_dim"),
                         ("ThreeLayerConvNet", "hidden_dim"), ("ConvNet", "num_classes"))},
    "ragged y: temporal_softmax_loss": (ValueError, lambda: _layer_call(
        LAYER_CASES["temporal_softmax_loss"], 1, RAGGED)),
    "attention_forward, q and k of d = 0": (ValueError, lambda: (
        "attention_forward", LAYER_CASES["attention"].forward,
        [np.zeros((2, 3, 0)), np.zeros((2, 5, 0)), *_valid(LAYER_CASES["attention"])[0][2:]],
        {})),
    **{f"ragged X: {name}.loss": (ValueError, lambda name=name: (
        f"{name}.loss", MODELS[name][0](**MODELS[name][1]).loss, [RAGGED], {}))
       for name in MODELS},
}


@pytest.mark.parametrize("finding", FIXED)
def test_fixed_finding(finding, capsys):
    error_type, make = FIXED[finding]
    door, func, args, kwargs = make()
    result, error = knock(door, func, *args, **kwargs)  # fails on a refusal not naming door
    assert isinstance(error, error_type), f"{door} gave {result!r}, or {error!r}"


def test_conv_naive_and_fast_agree_on_empty_sizes():
    """A filter with no pixels is refused by both forms; no filters, no images, one channel
    of zeros: both return the same."""
    rng = np.random.default_rng(0)
    param = {"stride": 1, "pad": 1}
    for x_shape, w_shape in [((2, 3, 5, 5), (4, 3, 3, 0)), ((2, 3, 5, 5), (4, 3, 0, 3)),
                             ((2, 3, 5, 5), (0, 3, 3, 3)), ((0, 3, 5, 5), (4, 3, 3, 3))]:
        x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), np.ones(w_shape[0])
        outcomes = []
        for forward in (layers.conv_forward_naive, layers.conv_forward_fast):
            result, error = knock(forward.__name__, forward, x, w, b, param)
            outcomes.append(type(error) if error else result[0])
        if isinstance(outcomes[0], type):
            assert outcomes == [ValueError, ValueError], (w_shape, outcomes)
        else:
            np.testing.assert_allclose(outcomes[1], outcomes[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, batched", [("temporal_affine", 1), ("rnn", 2), ("lstm", 2)])
def test_sequence_layers_take_a_batch_of_no_sequences(name, batched):
    """N = 0 (in x, and h0 for the recurrent layers): an empty output of the right shape
    forward, gradients of the inputs' shapes backward."""
    case = LAYER_CASES[name]
    args, kwargs = _valid(case)
    args = [np.zeros((0, *a.shape[1:])) if i < batched else a for i, a in enumerate(args)]
    out, cache = case.forward(*args, **kwargs)
    assert out.shape[0] == 0
    grads = case.backward(np.zeros(out.shape), cache)
    assert [g.shape for g in grads] == [np.shape(a) for a in args]


def test_grad_check_sparse_checks_a_0d_x():
    errors = gradcheck.grad_check_sparse(F, np.array(1.5), np.array(3.0), num_checks=3,
                                         seed=0, verbose=False)
    assert errors.shape == (3,) and np.all(errors < 1e-9)

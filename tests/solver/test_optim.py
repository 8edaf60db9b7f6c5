"""Update rules: the formulas recomputed, the config contract, dtypes, errors, torch."""

import copy

import numpy as np
import pytest

from solver import optim
from solver.optim import UPDATE_RULES, adam, get_update_rule, rmsprop, sgd, sgd_momentum

N, D = 4, 5


def notebook_inputs():
    """The w and dw of the CS231n notebook's update-rule checks, float64 of shape (N, D)."""
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    return w, dw


# The notebooks' reference steps are asserted in tests/test_cs231n_dropin.py.

# The rules written out as plain formulas, CS231n's solution code line by line, to recompute
# each step independently of the implementation.

def formula_sgd(w, dw, c):
    return w - c["learning_rate"] * dw, c


def formula_sgd_momentum(w, dw, c):
    v = c["momentum"] * c["velocity"] - c["learning_rate"] * dw
    return w + v, {**c, "velocity": v}


def formula_rmsprop(w, dw, c):
    cache = c["decay_rate"] * c["cache"] + (1 - c["decay_rate"]) * dw**2
    return (w - c["learning_rate"] * dw / (np.sqrt(cache) + c["epsilon"]),
            {**c, "cache": cache})


def formula_adam(w, dw, c):
    t = c["t"] + 1
    m = c["beta1"] * c["m"] + (1 - c["beta1"]) * dw
    mt = m / (1 - c["beta1"]**t)
    v = c["beta2"] * c["v"] + (1 - c["beta2"]) * (dw**2)
    vt = v / (1 - c["beta2"]**t)
    return w - c["learning_rate"] * mt / (np.sqrt(vt) + c["epsilon"]), {**c, "m": m, "v": v, "t": t}


FORMULAS = [
    (sgd, formula_sgd, {"learning_rate": 0.05}),
    (sgd_momentum, formula_sgd_momentum, {"learning_rate": 0.05, "momentum": 0.8}),
    (rmsprop, formula_rmsprop, {"learning_rate": 0.05, "decay_rate": 0.9, "epsilon": 1e-6}),
    (adam, formula_adam, {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6}),
]


def start_state(rule, shape):
    """Zero state for a rule, the way the formulas above expect it."""
    return {key: 0 if key == "t" else np.zeros(shape) for key in optim.STATE[rule.__name__]}


@pytest.mark.parametrize("shape", [(3, 7), ()], ids=["matrix", "scalar"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule, formula, hyper", FORMULAS, ids=lambda x: getattr(x, "__name__", ""))
def test_rule_equals_its_formula_bit_for_bit(rule, formula, hyper, dtype, shape, rng):
    w = rng.standard_normal(shape).astype(dtype)
    expected_w = w
    config = dict(hyper)
    expected_config = {**hyper, **{k: (v.astype(dtype) if isinstance(v, np.ndarray) else v)
                                   for k, v in start_state(rule, shape).items()}}
    for _ in range(5):
        dw = rng.standard_normal(shape).astype(dtype)
        w, config = rule(w, dw, config)
        expected_w, expected_config = formula(expected_w, dw, expected_config)
        assert w.dtype == dtype and np.shape(w) == shape
        assert np.array_equal(w, expected_w)
        for key in optim.STATE[rule.__name__]:
            assert np.array_equal(config[key], expected_config[key]), key


@pytest.mark.parametrize("name", list(UPDATE_RULES))
def test_defaults_are_cs231n(name):
    w, dw = notebook_inputs()
    _, config = UPDATE_RULES[name](w, dw)
    expected = {
        "sgd": {"learning_rate": 1e-2},
        "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
        "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
        "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    }[name]
    assert {k: config[k] for k in expected} == expected
    if name == "adam":
        assert config["t"] == 1


def test_zero_state_start_equals_explicit_zeros():
    w, dw = notebook_inputs()
    for name, rule in UPDATE_RULES.items():
        implicit_w, implicit = rule(w, dw)
        explicit_w, explicit = rule(w, dw, start_state(rule, w.shape))
        assert np.array_equal(implicit_w, explicit_w), name
        for key in optim.STATE[name]:
            assert np.array_equal(implicit[key], explicit[key]), (name, key)


@pytest.mark.parametrize("name", list(UPDATE_RULES))
def test_state_lives_in_the_callers_config_which_is_returned(name, rng):
    # The course's contract: the notebooks read config["velocity"] etc. after the call.
    rule = UPDATE_RULES[name]
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    state = {key: 7 if key == "t" else rng.random((3, 4)) for key in optim.STATE[name]}
    config = {"learning_rate": 0.1, **state}
    saved_w, saved_state = w.copy(), copy.deepcopy(state)
    expected_w, expected = rule(w, dw, copy.deepcopy(config))
    next_w, returned = rule(w, dw, config)
    assert returned is config
    assert set(config) == {*optim.DEFAULTS[name], *optim.STATE[name]}  # setdefault'ed
    assert np.array_equal(next_w, expected_w)
    for key in optim.STATE[name]:
        assert np.array_equal(config[key], expected[key]), key
    # w and the arrays the caller put in config keep their values: state is replaced, not
    # written into.
    assert np.array_equal(w, saved_w)
    for key, value in saved_state.items():
        assert np.array_equal(state[key], value), key
    if name == "adam":
        assert config["t"] == 8


@pytest.mark.parametrize("name", list(UPDATE_RULES))
def test_none_config_starts_a_new_dict(name, rng):
    w, dw = rng.standard_normal(3), rng.standard_normal(3)
    _, config = UPDATE_RULES[name](w, dw)
    _, other = UPDATE_RULES[name](w, dw)
    assert config is not other


@pytest.mark.parametrize("name", ["sgd_momentum", "rmsprop", "adam"])
def test_a_returned_config_passed_again_steps_from_its_state(name, rng):
    rule = UPDATE_RULES[name]
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _, config = rule(w, dw)
    snapshot = copy.deepcopy(config)
    first, _ = rule(w, dw, config)
    second, _ = rule(w, dw, config)  # from the state config holds now: one step further
    assert not np.array_equal(second, first)
    again_first, again = rule(w, dw, snapshot)
    again_second, _ = rule(w, dw, again)
    assert np.array_equal(first, again_first) and np.array_equal(second, again_second)


@pytest.mark.parametrize("name", ["sgd_momentum", "rmsprop", "adam"])
def test_copied_config_continues_like_the_live_one(name, rng):
    rule = UPDATE_RULES[name]
    w, dws = rng.standard_normal(6), rng.standard_normal((4, 6))
    live_w, live = rule(w, dws[0])
    copy_w, copied = live_w, copy.deepcopy(live)
    for dw in dws[1:]:
        live_w, live = rule(live_w, dw, live)
        copy_w, copied = rule(copy_w, dw, copy.deepcopy(copied))
    assert np.array_equal(live_w, copy_w)


@pytest.mark.parametrize("name", list(UPDATE_RULES))
def test_float32_stays_float32(name, rng):
    rule = UPDATE_RULES[name]
    w = rng.standard_normal((2, 3)).astype(np.float32)
    state = {key: np.int64(2) if key == "t" else rng.random((2, 3)) for key in optim.STATE[name]}
    config = {"learning_rate": np.float64(1e-2), **state}  # float64 everywhere but w
    for _ in range(2):
        w, config = rule(w, rng.standard_normal((2, 3)), config)
        assert w.dtype == np.float32
        for key in optim.STATE[name]:
            if key != "t":
                assert config[key].dtype == np.float32, key
        assert all(type(config[k]) is float for k in optim.DEFAULTS[name])


@pytest.mark.parametrize("name", list(UPDATE_RULES))
@pytest.mark.parametrize("lr", [-1e-3, float("nan"), float("inf")])
def test_bad_learning_rate_is_refused_naming_the_rule(name, lr):
    w, dw = notebook_inputs()
    with pytest.raises(ValueError, match=rf"^{name}: config\['learning_rate'\] must be"):
        UPDATE_RULES[name](w, dw, {"learning_rate": lr})


@pytest.mark.parametrize("name, key, value", [
    ("sgd_momentum", "momentum", 1.0), ("rmsprop", "decay_rate", -0.1),
    ("adam", "beta1", 1.5), ("adam", "beta2", float("nan")), ("adam", "epsilon", 0.0)])
def test_bad_hyperparameter_is_refused(name, key, value):
    w, dw = notebook_inputs()
    with pytest.raises(ValueError, match=rf"{name}: config\['{key}'\] must be"):
        UPDATE_RULES[name](w, dw, {key: value})


@pytest.mark.parametrize("name", list(UPDATE_RULES))
def test_gradient_of_another_shape_is_refused(name):
    w, dw = notebook_inputs()
    message = rf"{name}: dw must have the shape of w, \(4, 5\), got \(5, 4\)"
    with pytest.raises(ValueError, match=message):
        UPDATE_RULES[name](w, dw.T)


def test_state_of_another_shape_is_refused():
    w, dw = notebook_inputs()
    with pytest.raises(ValueError, match=r"adam: config\['m'\] must have the shape of w"):
        adam(w, dw, {"m": np.zeros(3)})


def test_config_mistakes_are_refused():
    w, dw = notebook_inputs()
    with pytest.raises(ValueError, match="sgd: unknown config key 'lr'; sgd takes learning_rate"):
        sgd(w, dw, {"lr": 0.1})
    with pytest.raises(TypeError, match="sgd: config must be a dict"):
        sgd(w, dw, [("learning_rate", 0.1)])
    with pytest.raises(TypeError, match=r"sgd_momentum: config\['momentum'\] must be a real"):
        sgd_momentum(w, dw, {"momentum": "0.9"})
    with pytest.raises(ValueError, match=r"adam: config\['t'\] must be an integer >= 0"):
        adam(w, dw, {"t": -1})


def test_lookup_by_name_lists_the_valid_names():
    assert get_update_rule("adam") is adam
    with pytest.raises(ValueError, match="'sgd', 'sgd_momentum', 'rmsprop', 'adam'"):
        get_update_rule("adagrad")


def test_validate_config_completes_with_defaults():
    assert optim.validate_config("rmsprop", {"learning_rate": 1}) == {
        "learning_rate": 1.0, "decay_rate": 0.99, "epsilon": 1e-8}
    with pytest.raises(ValueError, match="unknown update rule"):
        optim.validate_config("nesterov", {})


# PyTorch's optimisers, step for step. torch's SGD momentum keeps b = mu b + dw and steps
# w -= lr b; with a constant learning rate and zero start that is CS231n's v = -lr b exactly.
# RMSprop(alpha=decay_rate) is the same formula; Adam divides by sqrt(v) / sqrt(1 - beta2**t)
# rather than sqrt(v / (1 - beta2**t)), equal up to rounding.

TORCH_CASES = [
    ("sgd", {"learning_rate": 0.1}, lambda o, p: o.SGD(p, lr=0.1)),
    ("sgd_momentum", {"learning_rate": 0.1, "momentum": 0.9},
     lambda o, p: o.SGD(p, lr=0.1, momentum=0.9)),
    ("rmsprop", {"learning_rate": 0.01, "decay_rate": 0.99, "epsilon": 1e-8},
     lambda o, p: o.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8)),
    ("adam", {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
     lambda o, p: o.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8)),
]


@pytest.mark.torch
@pytest.mark.parametrize("name, config, make", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_rule_matches_torch_optim(name, config, make, rng):
    torch = pytest.importorskip("torch")
    w = rng.standard_normal((5, 3))
    param = torch.nn.Parameter(torch.tensor(w))
    optimizer = make(torch.optim, [param])
    for _ in range(10):
        dw = rng.standard_normal((5, 3))
        w, config = UPDATE_RULES[name](w, dw, config)
        param.grad = torch.tensor(dw)
        optimizer.step()
        np.testing.assert_allclose(w, param.detach().numpy(), rtol=1e-12, atol=1e-14)

"""solver.settings: the one table of ``solver train``'s settings, its defaults, where each
applies, the settings saved before a setting existed, and the registries the choices come from."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from solver import optim
from solver.data import DATASETS
from solver.factory import MODELS
from solver.settings import (
    SETTINGS, BadValue, UsageError, applying, check_combination, from_saved, read_config,
    resolve)

ROOT = Path(__file__).resolve().parents[2]


def _activation(value):
    if value not in ("relu", "tanh"):
        raise BadValue(f"invalid choice {value!r}; choose one of relu, tanh")
    return value


@pytest.fixture
def new_setting(monkeypatch):
    """A setting added after runs were saved: --activation, default relu, for fc only."""
    monkeypatch.setitem(SETTINGS, "activation", SETTINGS["dropout_keep_ratio"]._replace(
        parse=_activation, default="relu", help="the hidden layers' activation",
        metavar="NAME"))
    return "activation"


def test_every_default_is_a_value_its_setting_accepts():
    settings = resolve({})
    assert list(settings) == list(SETTINGS)
    for name, setting in SETTINGS.items():
        if settings[name] is not None:
            assert setting.parse(settings[name]) == settings[name], name
    assert settings["learning_rate"] == 5e-3 and settings["out"] == str(
        Path("runs") / "digits-two-layer")


def test_the_choices_are_the_registries():
    for name, registry in (("dataset", DATASETS), ("model", MODELS),
                           ("update_rule", optim.UPDATE_RULES)):
        for choice in registry:
            assert SETTINGS[name].parse(choice) == choice
        with pytest.raises(BadValue, match="choose one of " + ", ".join(registry)):
            SETTINGS[name].parse("nope")


@pytest.mark.parametrize("rule", optim.UPDATE_RULES)
def test_a_rules_settings_are_its_hyperparameters_at_optims_defaults(rule):
    hyperparameters = [name for name in optim.DEFAULTS[rule] if name != "learning_rate"]
    assert sorted(applying("update_rule", rule)) == sorted(hyperparameters)
    settings = resolve({"update_rule": rule})
    for name in hyperparameters:
        assert settings[name] == optim.DEFAULTS[rule][name]


@pytest.mark.parametrize("rule, learning_rate", [("sgd", 0.5), ("sgd_momentum", 0.1),
                                                 ("rmsprop", 5e-3), ("adam", 5e-3)])
def test_the_learning_rate_defaults_to_the_rules_tuned_one(rule, learning_rate):
    assert resolve({"update_rule": rule})["learning_rate"] == learning_rate
    assert resolve({"update_rule": rule, "learning_rate": 1.0})["learning_rate"] == 1.0


@pytest.mark.parametrize("given, message", [
    ({"momentum": 0.5}, "--momentum does not apply to --update-rule adam (only to "
                        "sgd_momentum); adam takes --beta1, --beta2, --epsilon"),
    ({"model": "conv", "dropout_keep_ratio": 0.5},
     "--dropout-keep-ratio does not apply to --model conv (only to fc); conv takes "
     "--normalization, --conv-filters, --filter-size, --pool"),
    ({"pool": [1, 2]}, "--pool does not apply to --model two-layer (only to conv); two-layer "
                       "takes --weight-scale"),
    ({"model": "lm", "dataset": "stdlib-text", "weight_scale": 0.1},
     "--weight-scale does not apply to --model lm"),
    ({"cell_type": "rnn"}, "--cell-type does not apply to --model two-layer (only to lm)"),
    ({"model": "fc", "normalization": "batchnorm", "batch_size": 1}, "--batch-size 2 or more"),
    ({"hidden_dims": []}, "--model two-layer takes 1 hidden width in --hidden-dims, got 0"),
])
def test_contradictions_are_refused(given, message):
    with pytest.raises(UsageError) as error:
        resolve(given)
    assert message in str(error.value)


def test_a_setting_at_its_default_contradicts_nothing():
    settings = resolve({"update_rule": "adam", "momentum": 0.9, "pool": [2, 2]})
    check_combination({"momentum": 0.9}, settings)
    assert settings["momentum"] == 0.9


def test_saved_settings_take_the_default_of_a_setting_added_since(new_setting):
    saved = {name: value for name, value in resolve({}).items() if name != "out"}
    del saved[new_setting]  # written before the setting existed
    settings = from_saved(saved, "last.npz")
    assert settings == {**saved, new_setting: "relu"}
    assert resolve({})[new_setting] == "relu"


def test_saved_settings_are_checked():
    saved = {name: value for name, value in resolve({}).items() if name != "out"}
    with pytest.raises(ValueError, match=r"last\.npz: its setting epochs is bad: must be an "
                                         r"integer >= 1, got 0"):
        from_saved({**saved, "epochs": 0}, "last.npz")
    with pytest.raises(ValueError, match=r"last\.npz was not written by `solver train`: its "
                                         r"settings lack dataset, model"):
        from_saved({"epochs": 3}, "last.npz")
    assert "out" not in from_saved({**saved, "out": "runs/x"}, "last.npz")


def test_a_config_file_reads_as_the_flags(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('update-rule = "sgd"\nhidden_dims = "64"\n')
    assert read_config(path) == {"update_rule": "sgd", "hidden_dims": [64]}


# An update rule added to solver.optim alone (a function and its registry entries), in a fresh
# process: the command line offers it, with its own hyperparameters and learning rate.
NEW_RULE = """
import sys
import solver.optim as optim

def nesterov(w, dw, config=None):
    return optim.sgd_momentum(w, dw, config)

optim.UPDATE_RULES["nesterov"] = nesterov
optim.DEFAULTS["nesterov"] = {defaults}
optim.STATE["nesterov"] = optim.STATE["sgd_momentum"]
from solver.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _solver_with_a_new_rule(tmp_path, defaults, *argv):
    return subprocess.run(
        [sys.executable, "-c", NEW_RULE.format(defaults=defaults), "train",
         "--update-rule", "nesterov", "--epochs", "1", "--quiet", "--out", str(tmp_path),
         *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_an_update_rule_added_to_optim_trains_from_the_command_line(tmp_path):
    done = _solver_with_a_new_rule(tmp_path, 'optim.DEFAULTS["sgd_momentum"]', "--momentum",
                                   "0.8")
    assert done.returncode == 0, done.stderr
    settings = json.loads((tmp_path / "history.json").read_text())["settings"]
    assert settings["update_rule"] == "nesterov" and settings["momentum"] == 0.8
    assert settings["learning_rate"] == optim.DEFAULTS["sgd_momentum"]["learning_rate"]


def test_an_update_rule_without_a_default_learning_rate_is_one_clear_line(tmp_path):
    done = _solver_with_a_new_rule(tmp_path, '{"momentum": 0.9}')
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == ("solver train: error: --update-rule nesterov has no default learning "
                           "rate; give one with --learning-rate\n")

"""The case table: every public pair of ``layers`` has a case, and every case passes."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import layers
from gradcheck import cases
from gradcheck.cases import CASES, Case, away_from_zero, redraw

MODES = ["full", "fast"]


def public(kind, names=None):
    """The names ``layers`` exports of ``kind``: '_forward', '_backward' or '_loss'.

    A name counts when it ends with ``kind`` or has it before a variant suffix, as in
    ``conv_forward_naive`` or ``batchnorm_backward_alt``.
    """
    if names is None:
        names = getattr(layers, "__all__", [n for n in dir(layers) if not n.startswith("_")])
    if kind == "_loss":
        return sorted(name for name in names if name.endswith("_loss"))
    return sorted(name for name in names if name.endswith(kind) or f"{kind}_" in name)


def test_public_names_include_variants():
    names = ["conv_forward_naive", "conv_backward_fast", "batchnorm_backward_alt",
             "relu_forward", "softmax_loss", "Cache", "check_shape"]
    assert public("_forward", names) == ["conv_forward_naive", "relu_forward"]
    assert public("_backward", names) == ["batchnorm_backward_alt", "conv_backward_fast"]
    assert public("_loss", names) == ["softmax_loss"]


def test_all_lists_every_layer_function_the_package_has():
    """The cases below are read off ``layers.__all__``: a pair left out of it would go unchecked."""
    every = [name for name in dir(layers) if not name.startswith("_")]
    for kind in ("_forward", "_backward", "_loss"):
        assert public(kind, every) == public(kind), kind


def test_the_library_exports_pairs_and_losses():
    assert "affine_forward" in public("_forward") and "affine_backward" in public("_backward")
    assert "softmax_loss" in public("_loss")


@pytest.mark.parametrize("name", public("_forward") + public("_loss"))
def test_every_public_forward_and_loss_has_a_case(name):
    assert getattr(layers, name) in [case.forward for case in CASES], (
        f"{name} has no case in gradcheck/cases.py: append a Case for it to CASES")


@pytest.mark.parametrize("name", public("_backward"))
def test_every_public_backward_has_a_case(name):
    assert getattr(layers, name) in [case.backward for case in CASES], (
        f"{name} has no case in gradcheck/cases.py: append a Case for it to CASES")


def test_case_names_are_unique():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_case_inputs_are_float64_and_reproducible(case):
    args, kwargs = case.make(np.random.default_rng(5))
    again, _ = case.make(np.random.default_rng(5))
    arrays = [arg for arg in args if isinstance(arg, np.ndarray) and arg.dtype.kind == "f"]
    assert arrays and all(array.dtype == np.float64 for array in arrays)
    assert all(np.array_equal(a, b) for a, b in zip(args, again))
    assert isinstance(kwargs, dict)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_case_passes(case, mode):
    report = case.check(mode=mode)
    assert report.ok, report


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_case_passes_on_other_draws(case, seed):
    report = case.check(mode="full", seed=seed)
    assert report.ok, report


def test_a_broken_library_backward_fails_its_case():
    def backward(dout, cache):
        dx, dw, db = layers.affine_backward(dout, cache)
        return dx, dw, db[::-1]

    affine = next(case for case in CASES if case.name == "affine")
    for mode in MODES:
        report = Case("affine", affine.forward, backward, affine.make).check(mode=mode)
        assert not report.ok and report.worst.name == "b"


def test_away_from_zero_keeps_its_margin(rng):
    values = away_from_zero(rng, (1000,), margin=0.25)
    assert np.min(np.abs(values)) >= 0.25


def test_redraw_returns_the_first_accepted_draw(rng):
    draws = []

    def draw(rng):
        draws.append(rng.standard_normal())
        return (draws[-1],)

    (value,) = redraw(rng, draw, lambda v: v > 1.0)
    assert value > 1.0 and value == draws[-1] and all(v <= 1.0 for v in draws[:-1])
    with pytest.raises(RuntimeError, match="no draw accepted in 3 tries"):
        redraw(rng, draw, lambda v: False, tries=3)


def test_importing_gradcheck_does_not_import_layers():
    """The dependency rule: gradcheck -> nothing of ours (only gradcheck.cases imports layers)."""
    code = ("import sys, gradcheck; "
            "sys.exit(any(m == 'layers' or m.startswith('layers.') for m in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0
    assert cases.layers is layers

"""``python -m gradcheck``: the table, the filters and the exit status."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradcheck import cases
from gradcheck.__main__ import main
from gradcheck.cases import Case

ROOT = Path(__file__).resolve().parents[2]


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    return dout * (1 - cache ** 2)


def broken_tanh_backward(dout, cache):
    return 1.001 * tanh_backward(dout, cache)


def wrong_count_backward(dout, cache):
    return tanh_backward(dout, cache), tanh_backward(dout, cache)


def inputs(rng):
    return (rng.standard_normal((2, 3)),), {}


@pytest.fixture
def table(monkeypatch):
    """Replace the library's cases with a right, a wrong and a malformed pair."""
    monkeypatch.setattr(cases, "CASES", [
        Case("right", tanh_forward, tanh_backward, inputs),
        Case("scaled", tanh_forward, broken_tanh_backward, inputs),
        Case("malformed", tanh_forward, wrong_count_backward, inputs),
    ])


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_all_pass_exits_0_with_a_row_per_input(capsys, mode):
    assert main(["--mode", mode]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["layer", "input", "max", "rel", "error", "verdict"]
    assert lines[-1] == f"{len(cases.CASES)} layer(s), {mode} check: all pass"
    rows = [line.split() for line in lines[1:-1]]
    assert ["affine", "w"] in [row[:2] for row in rows]
    assert all(row[-1] == "ok" and float(row[2]) < 1e-6 for row in rows)


def test_a_failure_exits_1_and_is_named(table, capsys):
    assert main([]) == 1
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()[1:-1]]
    assert rows[0][:2] == ["right", "x"] and rows[0][-1] == "ok"
    assert rows[1][:2] == ["scaled", "x"] and rows[1][-1] == "FAIL"
    assert rows[2][:4] == ["malformed", "-", "-", "ERROR"]
    assert "returned 2 gradient(s), expected 1" in out
    assert out.splitlines()[-1] == "3 layer(s), full check: 2 of 3 failed: scaled, malformed"


def test_quiet_prints_only_failures_and_the_verdict(table, capsys):
    assert main(["-q", "--mode", "fast"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["scaled", "malformed"]
    assert lines[-1] == "3 layer(s), fast check: 2 of 3 failed: scaled, malformed"
    assert main(["-q", "--only", "right"]) == 0
    assert capsys.readouterr().out == "1 layer(s), full check: all pass\n"


def test_only_filters_by_substring(table, capsys):
    assert main(["--only", "ale"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["scaled"]


def test_only_matching_nothing_exits_2(table, capsys):
    assert main(["--only", "conv"]) == 2
    err = capsys.readouterr().err
    assert "no case name contains 'conv'; the cases are right, scaled, malformed" in err


def test_bad_mode_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--mode", "slow"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'slow'" in capsys.readouterr().err


def test_python_dash_m_gradcheck_runs():
    result = subprocess.run(
        [sys.executable, "-m", "gradcheck", "--only", "leaky_relu", "--mode", "fast"],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "1 layer(s), fast check: all pass"

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


def wrong_sign_backward(dout, cache):
    return -tanh_backward(dout, cache)


def columns(lines):
    """The table's rows as lists of cells, cut where the header's columns start."""
    header = lines[0]
    starts = [i for i, char in enumerate(header) if char != " " and (i == 0 or header[i - 1] == " "
                                                                      and header[i - 2] == " ")]
    bounds = list(zip(starts, starts[1:] + [None]))
    return [[line[start:end].strip() for start, end in bounds] for line in lines]


@pytest.fixture
def table(monkeypatch):
    """Replace the library's cases with a right, a wrong and a malformed pair."""
    monkeypatch.setattr(cases, "CASES", [
        Case("right", tanh_forward, tanh_backward, inputs),
        Case("scaled", tanh_forward, broken_tanh_backward, inputs),
        Case("malformed", tanh_forward, wrong_count_backward, inputs),
        Case("negated", tanh_forward, wrong_sign_backward, inputs),
    ])


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_all_pass_exits_0_with_a_row_per_input(capsys, mode):
    assert main(["--mode", mode]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = columns(lines[:-1])
    assert rows[0] == ["layer", "input", "shape", "tol", "max rel error", "verdict", "diagnosis"]
    assert lines[-1] == f"{len(cases.CASES)} layer(s), {mode} check: all pass"
    assert ["affine", "w", "(8, 5)", "1e-06"] in [row[:4] for row in rows]
    assert all(row[5:] == ["pass", ""] and float(row[4]) < 1e-6 for row in rows[1:])


def test_a_failure_exits_1_and_is_named(table, capsys):
    assert main([]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    rows = columns(lines[:5])
    assert rows[1] == ["right", "x", "(2, 3)", "1e-06", rows[1][4], "pass", ""]
    assert rows[2][:4] + rows[2][5:] == ["scaled", "x", "(2, 3)", "1e-06", "FAIL", "scale"]
    assert rows[3][:2] == ["malformed", "-"] and "ERROR ValueError" in lines[3]
    assert rows[4][:2] + rows[4][5:] == ["negated", "x", "FAIL", "sign"]
    assert "returned 2 gradient(s), expected 1" in out
    assert lines[5:7] == [
        "scaled x: dx = 1.001 x the numerical gradient everywhere: a constant factor counted "
        "wrongly (a step size, a scale, a mean where a sum belongs)",
        "negated x: dx = -1 x the numerical gradient everywhere: a flipped sign"]
    assert lines[-1] == "4 layer(s), full check: 3 of 4 failed: scaled, malformed, negated"


def test_an_inconclusive_check_exits_1_and_is_named(monkeypatch, capsys):
    def at_the_kink(rng):
        return (np.array([[1.0, 3e-6], [-2.0, 0.5]]),), {}

    monkeypatch.setattr(cases, "CASES", [
        Case("relu", lambda x: (np.maximum(x, 0), x), lambda dout, x: dout * (x > 0),
             at_the_kink),
        Case("scaled", tanh_forward, broken_tanh_backward, inputs)])
    assert main(["--mode", "fast"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert columns(lines[:3])[1][5:] == ["INCONCLUSIVE", "kink"]
    assert lines[3].startswith("relu x: 1 of 4 elements of x sits within h of a point where")
    assert lines[-1] == ("2 layer(s), fast check: 1 of 2 failed: scaled; "
                         "1 of 2 inconclusive: relu")


def test_quiet_prints_only_failures_and_the_verdict(table, capsys):
    assert main(["-q", "--mode", "fast"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["scaled", "malformed", "negated",
                                                          "scaled", "negated"]
    assert lines[-1] == "4 layer(s), fast check: 3 of 4 failed: scaled, malformed, negated"
    assert main(["-q", "--only", "right"]) == 0
    assert capsys.readouterr().out == "1 layer(s), full check: all pass\n"


def test_only_filters_by_substring(table, capsys):
    assert main(["--only", "ale"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["scaled", "scaled"]  # its row, its hint


def test_only_matching_nothing_exits_2(table, capsys):
    assert main(["--only", "conv"]) == 2
    err = capsys.readouterr().err
    assert "no case name contains 'conv'; the cases are right, scaled, malformed, negated" in err


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


def test_a_reader_that_leaves_early_ends_it_quietly():
    """python -m gradcheck | head -2: once the reader has gone, no BrokenPipeError traceback."""
    child = subprocess.Popen(
        [sys.executable, "-m", "gradcheck", "--only", "leaky_relu", "--mode", "fast"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # gone before the table is written
    stderr = child.stderr.read().decode()
    assert child.wait() == 141 and stderr == ""


def test_abbreviated_flags_are_not_taken(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--mod", "fast"])  # argparse would read it as --mode
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --mod" in capsys.readouterr().err

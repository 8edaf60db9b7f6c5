"""Smoke test of benchmarks/: every case runs on tiny shapes and lands in a well-formed table.

No test here asserts a time: speed is measured by running ``python -m benchmarks``, never by
the suite. The tiny runs check the code paths (with and without torch, as a module and as a
script), the table's shape, and that each case's agreement check can tell a wrong answer.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import cases, timing
from benchmarks.report import Row, Target, format_ms, format_ratio, markdown_table
from benchmarks.run import main

ROOT = Path(__file__).resolve().parents[1]
OWN_CASES = {"batchnorm-alt", "conv-naive-vs-fast", "pool-naive-vs-fast", "gradcheck-fast",
             "memory"}
VERDICTS = {"pass", "**MISS**", "info"}


def table_rows(output):
    """The body rows of the Markdown table in ``output``, each as a list of cells."""
    lines = [line for line in output.splitlines() if line.startswith("| ")]
    header, separator, body = lines[0], lines[1], lines[2:]
    assert header.split(" | ")[0] == "| case" and set(separator) == set("| -")
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in body]


def run_tiny(capsys, *options):
    status = main(["--quick", "--tiny", "--threads", "1", *options])
    return status, capsys.readouterr().out


def test_every_case_runs_without_torch(capsys):
    status, output = run_tiny(capsys, "--no-torch")
    assert status == 0
    assert "torch not used (--no-torch): our side only" in output
    rows = table_rows(output)
    assert len(rows) == len(cases.CASES)
    for case, row in zip(cases.CASES, rows):
        assert len(row) == 8, row
        verdict = row[-1]
        if case.key in OWN_CASES:
            assert verdict in VERDICTS, (case.key, verdict)
            assert row[4] != "—", case.key  # our own comparisons have a ratio
        else:
            assert verdict == "no torch", (case.key, verdict)
            assert float(row[1]) > 0  # our side was still timed


@pytest.mark.torch
def test_every_case_runs_against_torch(capsys):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    status, output = run_tiny(capsys)
    assert status == 0
    assert f"torch {torch.__version__}" in output
    for row in table_rows(output):
        assert row[-1] in VERDICTS, row  # neither WRONG (the sides disagree) nor ERROR
        assert row[4] != "—", row
    assert torch.get_num_threads() == threads  # the run restores torch's thread count


def test_only_selects_cases_by_key_or_description(capsys):
    status, output = run_tiny(capsys, "--no-torch", "--only", "NAIVE")
    assert status == 0
    assert [row[0].split(",")[0] for row in table_rows(output)] == [
        "conv naive/fast speedup", "max pool naive/fast speedup"]
    with pytest.raises(SystemExit, match="matches no case"):
        main(["--quick", "--tiny", "--only", "no-such-case"])


def test_bad_options_are_refused(capsys):
    for argv in (["--repeats", "0"], ["--threads", "-1"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "must be at least 1" in capsys.readouterr().err


def test_runs_as_a_script_from_any_directory(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--tiny", "--no-torch",
         "--threads", "1", "--only", "batchnorm"],
        cwd=tmp_path, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    (row,) = table_rows(completed.stdout)
    assert row[0].startswith("batchnorm_backward_alt speedup") and row[-1] == "info"


def test_a_case_that_fails_is_reported_and_sets_the_exit_status(capsys, monkeypatch):
    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(cases, "CASES", [cases.Case("broken", "a broken case", broken)])
    status, output = run_tiny(capsys, "--no-torch")
    assert status == 1
    (row,) = table_rows(output)
    assert row[-1] == "ERROR: RuntimeError: boom"


def test_a_wrong_answer_sets_the_exit_status(capsys, monkeypatch):
    def wrong(ctx):
        return Row("a wrong case", "", problem=cases.disagreement(
            [(np.ones(3) * 1.01, np.ones(3))], np.float64))

    monkeypatch.setattr(cases, "CASES", [cases.Case("wrong", "a wrong case", wrong)])
    status, output = run_tiny(capsys, "--no-torch")
    assert status == 1
    (row,) = table_rows(output)
    assert row[-1] == "**WRONG** (error 1.0e-02 > 1e-09)"


def test_disagreement_flags_a_wrong_answer(rng):
    ref = rng.standard_normal((5, 4))
    assert cases.disagreement([(ref * (1 + 1e-12), ref)], np.float64) is None
    assert cases.disagreement([(ref * (1 + 1e-12), ref)], np.float32) is None
    verdict = cases.disagreement([(ref, ref), (ref + 1e-6 * np.abs(ref).max(), ref)], np.float64)
    assert verdict.startswith("**WRONG** (error 1.0e-06")
    assert cases.disagreement([(ref * 1.001, ref)], np.float32).startswith("**WRONG**")


def test_compare_interleaves_and_orients_the_ratios():
    calls = []
    measured = timing.compare(lambda: calls.append("ours"), lambda: calls.append("ref"),
                              repeats=4, warmup=1, min_time=0.0)
    # warm-up (1 each), the 3 calls that size each side's samples, then 4 interleaved pairs
    assert calls == ["ours", "ref"] + ["ours"] * 3 + ["ref"] * 3 + ["ours", "ref"] * 4
    assert len(measured.ours) == len(measured.ref) == 4
    np.testing.assert_array_equal(measured.ratios, np.divide(measured.ours, measured.ref))
    flipped = timing.Timing(measured.ours, measured.ref, speedup=True)
    np.testing.assert_array_equal(flipped.ratios, np.divide(measured.ref, measured.ours))
    assert timing.Timing((1.0,)).ratios is None


def test_a_slow_reference_gets_no_warm_up():
    calls = []
    timing.compare(lambda: calls.append("fast"), lambda: calls.append("naive"), repeats=2,
                   warmup=3, min_time=0.0, ref_is_slow=True)
    assert calls.count("naive") == 1 + 2  # calibration + pairs


def test_targets_and_verdicts():
    assert Target(1.0).met(1.0) and not Target(1.0).met(1.01)
    assert not Target(1.5, strict=True).met(1.5) and Target(1.5, strict=True).met(1.49)
    assert Target(100, at_most=False).met(100) and not Target(100, at_most=False).met(99)
    assert [str(t) for t in (Target(1.0), Target(1.5, strict=True), Target(100, at_most=False))
            ] == ["<= 1.00x", "< 1.50x", ">= 100x"]
    miss = Row("c", "r", ours_ms=2.0, ref_ms=1.0, ratios=(1.9, 2.0, 2.1), target=Target(1.0))
    assert miss.result == "**MISS**" and miss.cells()[4] == "2.00x [1.90x, 2.10x]"
    assert Row("c", "r", ratios=(0.5,), target=Target(1.0)).result == "pass"
    assert Row("c", "r", ratios=(0.5,)).result == "info"
    assert Row("c", "r", ratios=(0.5,), target=Target(1.0), problem="no torch").result == (
        "no torch")


def test_number_formats():
    assert [format_ms(ms) for ms in (None, 0.04123, 0.9996, 2.314, 15.34, 99.96, 153.4)] == [
        "—", "0.0412", "1.00", "2.31", "15.3", "100", "153"]
    assert [format_ratio(r) for r in (0.874, 12.53, 312.4)] == ["0.87x", "12.5x", "312x"]
    table = markdown_table([Row("c", "r", ours_ms=1.0)])
    assert table.splitlines()[2] == "| c | 1.00 | r | — | — | — | — | info |"


def test_each_sample_waits_for_the_other_sides_threads(monkeypatch):
    pauses = []
    monkeypatch.setattr(timing.time, "sleep", pauses.append)
    timing.compare(lambda: None, lambda: None, repeats=3, warmup=0, min_time=0.0, settle=0.12)
    assert pauses == [0.12] * 6


def test_quick_runs_one_thread_and_a_tenth_of_the_naive_batch():
    from benchmarks.run import chosen_sizes, parse_args

    quick = parse_args(["--quick"])
    assert quick.threads == 1 and parse_args(["--quick", "--threads", "2"]).threads == 2
    assert parse_args([]).threads is None
    sizes = chosen_sizes(quick)
    for key in ("conv_cs231n", "pool_cs231n"):
        full = cases.FULL_SIZES[key]
        batch = full[0][0] if isinstance(full[0], tuple) else full[0]
        quick_batch = sizes[key][0][0] if isinstance(sizes[key][0], tuple) else sizes[key][0]
        assert quick_batch * 10 == batch
    assert chosen_sizes(parse_args(["--quick", "--tiny"])) is cases.TINY_SIZES

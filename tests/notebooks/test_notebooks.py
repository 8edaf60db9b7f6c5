"""The notebooks, in their two forms: complete (notebooks/solutions/) and student (notebooks/).

A complete notebook holds each exercise's solution between nbgrader's ``### BEGIN SOLUTION`` and
``### END SOLUTION`` markers, in a cell whose metadata marks it an nbgrader solution cell; the
cell after it is the exercise's check (an nbgrader grade cell). The student form is the
complete one run through nbgrader's ClearSolutions with notebooks/nbgrader_config.py, which
turns each solution region into a stub that raises NotImplementedError.

Both forms are stored clean; the student form is exactly the complete one stripped; the
complete form runs top to bottom in a fresh kernel; the student form runs too, and fails in
each exercise's check cell, with the stub's message, and nowhere else.

The kernel starts in the notebook's folder with the repository root first on its path, so it
runs the code of this checkout; a failing cell fails the test with the cell's traceback.
"""

import os
import re
import time
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STUDENT_DIR = ROOT / "notebooks"
COMPLETE_DIR = STUDENT_DIR / "solutions"
CONFIG = STUDENT_DIR / "nbgrader_config.py"
EXPECTED = [
    "01-gradients-and-graphs.ipynb",
    "02-backward-flow-and-vectorized-ops.ipynb",
    "03-modular-layers.ipynb",
    "04-activation-functions.ipynb",
    "05-two-layer-net.ipynb",
    "06-convolutional-networks.ipynb",
    "07-sequences-and-attention.ipynb",
]
STUDENT = [STUDENT_DIR / name for name in EXPECTED]
COMPLETE = [COMPLETE_DIR / name for name in EXPECTED]
BOTH = STUDENT + COMPLETE
STUB_MESSAGE = "Exercise: write your code here, in place of this line"
CELL_TIMEOUT = 120  # seconds per cell; each notebook as a whole runs well under two minutes
MAX_PROSE_WORDS = 150  # words of a markdown cell, its maths and code left out
# A cell that runs longer prints at least a line per this many seconds. On an idle 2-core machine
# no cell is silent for more than about 2 s; the margin is for a machine shared with other jobs
# (at a load of 11 on 2 cores, cells ran up to 5x slower).
QUIET_SECONDS = 15
# What a complete notebook must print, by cell, where its prose says what the output shows:
# notebook 03's planted bugs, each with the verdict and the diagnosis codes the check gives
# it (issue 15), the checks that cannot tell (a kink, float32), and the hints' words the prose
# relies on (the slice named, the factors 1/N and N). Matched in the output with its lines
# joined, as the hints are wrapped.
PRINTED = {
    "03-modular-layers.ipynb": {
        "03-14": ["sign_flipped: fail (x sign, W sign)",
                  "dout_left_out: fail (x upstream, W upstream)",
                  "slope_one_minus_sigma: fail (x unknown, W unknown)"],
        "03-14b": ["dW_averaged: fail (W scale)",
                   "dW = 1/N (N = 4, the batch size) x the numerical gradient everywhere",
                   "bias_row_forgotten: fail (W missing)", "dW is 0 at W[5, :] (row 5)",
                   "bias_row_averaged: fail (W region)", "only W[5, :] (row 5) is wrong"],
        "03-14d": ["relu, an input near its kink: inconclusive (x kink)",
                   "dense sigmoid, float32: inconclusive (x float32, W float32)",
                   "relu, float32: pass"],
        "03-19": ["mse_loss_without_mean: fail (x scale)",
                  "dx = N (N = 6, the batch size) x the numerical gradient everywhere"],
    },
}


def form(path):
    """'student' or 'complete', for test ids."""
    return f"{'complete' if path.parent == COMPLETE_DIR else 'student'}-{path.stem[:2]}"


def read(path):
    nbformat = pytest.importorskip("nbformat")
    return nbformat.read(path, as_version=4)


def solution_cells(nb):
    return [index for index, cell in enumerate(nb.cells)
            if cell.metadata.get("nbgrader", {}).get("solution")]


def check_cells(nb):
    return [index for index, cell in enumerate(nb.cells)
            if cell.metadata.get("nbgrader", {}).get("grade")]


def test_the_seven_notebooks_are_there_in_both_forms():
    assert sorted(path.name for path in STUDENT_DIR.glob("*.ipynb")) == EXPECTED
    assert sorted(path.name for path in COMPLETE_DIR.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("path", BOTH, ids=form)
def test_notebook_is_stored_clean(path):
    nbformat = pytest.importorskip("nbformat")
    nb = read(path)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    dirty = [
        index for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} were saved with outputs; clear them"


@pytest.mark.parametrize("path", COMPLETE, ids=form)
def test_student_form_is_the_complete_form_stripped(path):
    pytest.importorskip("nbgrader")
    nbconvert = pytest.importorskip("nbconvert")
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()
    stripped, _ = nbconvert.NotebookExporter(config=config).from_filename(str(path))
    student = STUDENT_DIR / path.name
    assert stripped == student.read_text(encoding="utf-8"), (
        f"{student.relative_to(ROOT)} is not {path.relative_to(ROOT)} stripped; remake it with "
        f"the command in {CONFIG.relative_to(ROOT)}")


@pytest.mark.parametrize("path", COMPLETE, ids=form)
def test_two_to_four_exercises_each_followed_by_its_check(path):
    nb = read(path)
    solutions = solution_cells(nb)
    assert 2 <= len(solutions) <= 4, f"{path.name}: {len(solutions)} exercises"
    assert check_cells(nb) == [index + 1 for index in solutions], (
        f"{path.name}: each solution cell must be followed by its check cell")
    for index in solutions:
        cell = nb.cells[index]
        assert cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source, (
            f"{path.name}: cell {cell.id} is marked a solution but holds no solution region")
        assert "hide-input" in cell.metadata.get("tags", []), (
            f"{path.name}: the site must fold solution cell {cell.id} away (tag hide-input)")


def prose_words(markdown):
    """The words of a markdown cell, its code blocks, code spans and maths left out."""
    for pattern in (r"```.*?```", r"\$\$.*?\$\$", r"\$[^$]*\$", r"`[^`]*`"):
        markdown = re.sub(pattern, " ", markdown, flags=re.DOTALL)
    return len(re.findall(r"[A-Za-z]\S*", markdown))


def test_prose_words_leave_out_maths_and_code():
    assert prose_words("Two words $x + y = z$ ``` code here ``` and `code` $$a b c$$") == 3


@pytest.mark.parametrize("path", COMPLETE, ids=form)
def test_no_cell_holds_more_than_150_words_of_prose(path):
    long = {cell.id: prose_words(cell.source) for cell in read(path).cells
            if cell.cell_type == "markdown" and prose_words(cell.source) > MAX_PROSE_WORDS}
    assert not long, f"{path.name}: cells with more than {MAX_PROSE_WORDS} words: {long}"


def execute(path, allow_errors=False):
    """Run a notebook in a fresh kernel, in its own folder; returns it executed and the time."""
    nbclient = pytest.importorskip("nbclient")
    nb = read(path)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    # The notebooks multiply small matrices, where one BLAS thread is as fast as several and
    # immune to oversubscription: on a busy machine, threaded OpenBLAS ran them 30x slower.
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute(env=env)
    return nb, time.perf_counter() - start


def seconds(cell):
    """How long a code cell ran, from the timing nbclient records."""
    timing = cell.metadata.execution
    start, end = timing["iopub.execute_input"], timing["shell.execute_reply"]
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@pytest.mark.notebook
@pytest.mark.parametrize("path", COMPLETE, ids=form)
def test_complete_notebook_runs(path):
    nb, total = execute(path)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    outputs = [output for cell in code for output in cell.outputs]
    warnings = [
        output.text for output in outputs
        if output.output_type == "stream" and output.name == "stderr" and "Warning" in output.text
    ]
    assert not warnings, f"{path.name} warned:\n" + "\n".join(warnings)
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert figures, f"{path.name} drew no figure"
    for cell in code:
        lines = sum(output.text.count("\n") for output in cell.outputs
                    if output.output_type == "stream")
        assert seconds(cell) <= QUIET_SECONDS * (1 + lines), (
            f"{path.name}: cell {cell.id} ran {seconds(cell):.0f} s and printed {lines} lines: "
            f"a student waits in silence")
    for index in check_cells(nb):
        printed = "".join(output.get("text", "") for output in nb.cells[index].outputs)
        assert "Right:" in printed, f"{path.name}: check cell {nb.cells[index].id} said {printed}"
    text = {cell.id: "".join(output.get("text", "") for output in cell.outputs) for cell in code}
    for cell_id, phrases in PRINTED.get(path.name, {}).items():
        missing = [phrase for phrase in phrases if phrase not in " ".join(text[cell_id].split())]
        assert not missing, f"{path.name}: cell {cell_id} printed no {missing}:\n{text[cell_id]}"
    print(f"{path.name}: {total:.1f} s")


@pytest.mark.notebook
@pytest.mark.parametrize("path", STUDENT, ids=form)
def test_student_notebook_fails_exactly_at_its_exercises(path):
    nb, total = execute(path, allow_errors=True)
    errors = {cell.id: output for cell in nb.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"}
    checks = [nb.cells[index].id for index in check_cells(nb)]
    assert list(errors) == checks, (
        f"{path.name}: cells {list(errors)} failed, where the exercises' checks {checks} should")
    for cell_id, error in errors.items():
        assert (error.ename, error.evalue) == ("NotImplementedError", STUB_MESSAGE), (
            f"{path.name}: check cell {cell_id} failed with {error.ename}: {error.evalue}")
    print(f"{path.name} (student form): {total:.1f} s")


# Planted wrong answers: an exercise's check cell run, without a kernel, on an answer a student
# might write, says what is wrong in its own words, not with a numpy traceback or a false lead.

def run_check(notebook, check_id, namespace):
    """Run the check cell ``check_id`` of a complete notebook in ``namespace``."""
    cell = next(cell for cell in read(COMPLETE_DIR / notebook).cells if cell.id == check_id)
    exec(compile(cell.source, f"{notebook}:{check_id}", "exec"), namespace)  # noqa: S102


def clip_namespace():
    """What notebook 07's clipping check reads from the cells before it, drawn as they draw it."""
    import numpy as np

    from layers import rnn_backward, rnn_forward
    from solver.sequence_training import clip_gradients

    rng = np.random.default_rng(0)
    N, T, D, H = 8, 60, 4, 32
    return {"np": np, "rnn_forward": rnn_forward, "rnn_backward": rnn_backward,
            "clip_gradients": clip_gradients, "H": H,
            "x": rng.standard_normal((N, T, D)), "h0": 0.1 * rng.standard_normal((N, H)),
            "Wx": rng.standard_normal((D, 4 * H)) / np.sqrt(D),
            "Wh": rng.standard_normal((H, 4 * H)) / np.sqrt(H)}


def clip_in_place(grads, max_norm):
    """Notebook 07's exercise 2, answered right but scaling the arrays passed in."""
    import numpy as np

    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    for name in grads:
        grads[name] *= min(1.0, max_norm / norm)
    return grads, norm


def test_clip_check_passes_the_solution():
    namespace = clip_namespace()
    cell = next(cell for cell in read(COMPLETE_DIR / EXPECTED[6]).cells
                if cell.id == "07-ex2-solution")
    exec(cell.source, namespace)  # noqa: S102
    run_check(EXPECTED[6], "07-ex2-check", namespace)
    assert namespace["norm"] > 5, "the check's gradients must need clipping at 5"


def test_clip_check_names_an_in_place_answer():
    namespace = dict(clip_namespace(), clip_by_global_norm=clip_in_place)
    with pytest.raises(AssertionError, match="changed the arrays passed in") as error:
        run_check(EXPECTED[6], "07-ex2-check", namespace)
    assert "joint norm" not in str(error.value)


def softplus_namespace():
    import numpy as np

    from gradcheck.testing import assert_layer_gradients
    from layers import sigmoid_forward

    namespace = {"np": np, "rng": np.random.default_rng(0), "sigmoid_forward": sigmoid_forward,
                 "assert_layer_gradients": assert_layer_gradients}
    cell = next(cell for cell in read(COMPLETE_DIR / EXPECTED[2]).cells if cell.id == "03-10")
    exec(cell.source, namespace)  # noqa: S102: the forward, and the solution
    return namespace


def test_softplus_check_passes_the_solution():
    run_check(EXPECTED[2], "03-10a", softplus_namespace())


@pytest.mark.parametrize("answer", ["dout * sigmoid_forward(x)", "sigmoid_forward(x)"])
def test_softplus_check_names_the_pair_sigmoid_forward_returns(answer):
    namespace = softplus_namespace()
    exec(f"def softplus_backward(dout, cache):\n    (x,) = cache\n    return {answer}\n",  # noqa: S102
         namespace)
    with pytest.raises(AssertionError, match=r"sigmoid_forward\(x\)\[0\]"):
        run_check(EXPECTED[2], "03-10a", namespace)

"""The notebooks under notebooks/: stored clean, and each runs top to bottom in a fresh kernel.

The kernel starts in notebooks/ with the repository root first on its path, so it runs the
code of this checkout; a failing cell fails the test with the cell's traceback.
"""

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01-gradients-and-graphs.ipynb",
    "02-backward-flow-and-vectorized-ops.ipynb",
    "03-modular-layers.ipynb",
    "04-activation-functions.ipynb",
    "05-two-layer-net.ipynb",
    "06-convolutional-networks.ipynb",
    "07-sequences-and-attention.ipynb",
]
CELL_TIMEOUT = 120  # seconds per cell; each notebook as a whole runs well under two minutes


def test_the_seven_notebooks_are_there():
    assert [path.name for path in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_stored_clean(path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    dirty = [
        index for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} were saved with outputs; clear them"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    # The notebooks multiply small matrices, where one BLAS thread is as fast as several and
    # immune to oversubscription: on a busy machine, threaded OpenBLAS ran them 30x slower.
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    start = time.perf_counter()
    client.execute(env=env)
    seconds = time.perf_counter() - start
    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    warnings = [
        output.text for output in outputs
        if output.output_type == "stream" and output.name == "stderr" and "Warning" in output.text
    ]
    assert not warnings, f"{path.name} warned:\n" + "\n".join(warnings)
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert figures, f"{path.name} drew no figure"
    print(f"{path.name}: {seconds:.1f} s")

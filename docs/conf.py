"""Sphinx configuration of the site: the notebooks executed, the API reference, the getting started.

Build it from the repository root, with the ``docs`` extra installed::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

``-W`` turns every warning into an error, as CI builds it. The notebooks are the complete forms
(``docs/notebooks`` links to ``notebooks/solutions``), executed afresh by MyST-NB on every
build that reads them; each exercise's solution cell is folded away (its tag ``hide-input``)
and shown without nbgrader's ``### BEGIN/END SOLUTION`` lines.
MathJax comes from the ``django-static-mathjax`` wheel (MathJax 3's es5 build) and is copied
into the site, so its pages typeset offline.
"""

import os
import re
import shutil
import sys
from importlib.resources import files
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # autodoc imports this checkout's packages
# The notebook kernels inherit this environment: this checkout first on their path, and one BLAS
# thread, as the test suite runs them (small matrices; threads only oversubscribe 2 cores).
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

project = "backprop-layers"
author = "the backprop-layers maintainers"
copyright = "the backprop-layers maintainers, MIT licence"

extensions = ["myst_nb", "numpydoc", "sphinx.ext.autodoc", "sphinx.ext.mathjax"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# MyST-NB: run every notebook when it is read; a failing cell fails the build.
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# numpydoc renders the docstrings' Parameters/Returns sections; the members of a class are
# listed by autodoc, not a second time by numpydoc.
autodoc_default_options = {"members": True, "member-order": "bysource"}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "sphinx_book_theme"
html_title = "backprop-layers"
html_theme_options = {"show_toc_level": 2, "use_download_button": False}
html_static_path = ["_static"]
html_css_files = ["wide.css"]

MATHJAX = files("mathjax") / "static" / "mathjax" / "es5"  # the django-static-mathjax wheel
mathjax_path = "mathjax/tex-chtml.js"


def copy_mathjax(app, exception):
    """Put MathJax's single-file TeX-to-HTML build and its fonts beside the pages."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(MATHJAX / "tex-chtml.js", target / "tex-chtml.js")
    fonts = Path(str(MATHJAX / "output" / "chtml" / "fonts" / "woff-v2"))
    shutil.copytree(fonts, target / "output" / "chtml" / "fonts" / "woff-v2", dirs_exist_ok=True)


def module_docstring_as_text(app, what, name, obj, options, lines):
    """Show a module's docstring as the preformatted text it is written as.

    The modules' docstrings are plain text laid out for ``help()`` and an editor (indented
    examples, tables of names); read as reStructuredText they would warn. Functions' and
    classes' docstrings are numpydoc, and numpydoc renders them.
    """
    if what == "module" and lines:
        lines[:] = ["::", ""] + [f"    {line}" for line in lines]


SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def drop_solution_markers(app, docname, source):
    """Leave nbgrader's ``### BEGIN/END SOLUTION`` lines out of the site's solution cells.

    The markers are for ``nbgrader`` making the student forms; a student unfolding a solution on
    the site reads the code alone. Only cells marked nbgrader solutions are touched, before
    MyST-NB executes the notebook, so their outputs are those of the same code.
    """
    if not docname.startswith("notebooks/"):
        return
    nb = nbformat.reads(source[0], as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = SOLUTION_MARKER.sub("", cell.source)
    source[0] = nbformat.writes(nb)


def setup(app):
    app.connect("autodoc-process-docstring", module_docstring_as_text, priority=400)
    app.connect("source-read", drop_solution_markers)
    app.connect("build-finished", copy_mathjax)

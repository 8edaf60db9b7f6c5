# How the student notebooks in notebooks/ are made from the complete ones in notebooks/solutions/,
# with nbgrader's ClearSolutions: every region between "### BEGIN SOLUTION" and "### END SOLUTION"
# becomes the stub below, and outputs are cleared. From the repository root:
#
#     jupyter nbconvert --config notebooks/nbgrader_config.py --to notebook \
#         --output-dir notebooks notebooks/solutions/*.ipynb
#
# tests/notebooks/test_notebooks.py runs the same conversion and fails if the two forms differ.
c = get_config()  # noqa: F821 (traitlets defines it when it loads this file)
c.NotebookExporter.preprocessors = [
    "nbgrader.preprocessors.ClearSolutions",
    "nbgrader.preprocessors.ClearOutput",
]
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\n'
              'raise NotImplementedError("Exercise: write your code here, in place of this line")',
}

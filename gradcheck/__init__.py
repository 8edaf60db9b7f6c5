"""Numerical gradients that prove each layer's backward right.

    from gradcheck import check_layer, check_loss, rel_error
    report = check_layer(affine_forward, affine_backward, x, w, b)   # mode='full' or 'fast'
    assert report.ok, report            # the table, and what a failure's pattern points at
    report.verdict                      # 'pass', 'fail' or 'inconclusive'
    report["w"].diagnosis, report["w"].hint    # e.g. 'scale', "dw = 2 x the numerical ..."

    from gradcheck.testing import assert_layer_gradients   # for a pytest suite
    assert_layer_gradients(affine_forward, affine_backward, x, w, b)

The CS231n helpers are here too: ``eval_numerical_gradient``, ``eval_numerical_gradient_array``,
``grad_check_sparse`` and ``rel_error``. The diagnosis codes are listed in
``gradcheck.diagnosis.CODES``. ``python -m gradcheck`` checks every layer pair of the
library (the cases in ``gradcheck.cases``) and prints a table.

This package imports nothing else of ours, so it can check any function with the layer contract.
"""

from . import testing
from .check import DEFAULT_TOL, GradCheckReport, InputResult, check_layer, check_loss
from .diagnosis import CODES
from .numerical import (
    PrecisionWarning,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)

__all__ = [
    "CODES",
    "DEFAULT_TOL",
    "GradCheckReport",
    "InputResult",
    "PrecisionWarning",
    "check_layer",
    "check_loss",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "grad_check_sparse",
    "rel_error",
]

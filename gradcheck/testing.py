"""Gradient checks as assertions, for a pytest suite, in the manner of ``numpy.testing``.

    from gradcheck.testing import assert_layer_gradients, assert_loss_gradients

    def test_my_layer():
        x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
        assert_layer_gradients(my_forward, my_backward, x, w)      # float64 inputs

    def test_my_loss():
        assert_loss_gradients(my_loss, scores, y)

Each raises ``AssertionError`` unless every checked input passes; its message is the check's
report (the table, then each failing input's diagnosis and hint). An inconclusive check (a kink
within h of an input, a float32 input) fails too: it proves nothing, and the hint says how to
rerun it. Keyword options (``mode``, ``h``, ``tol``, ``seed``) are those of
:func:`gradcheck.check_layer` and :func:`gradcheck.check_loss`; other keyword arguments go to
the function under check.
"""

from .check import check_layer, check_loss


def assert_layer_gradients(forward, backward, *args, mode="full", h=1e-5, tol=None, seed=0,
                           **kwargs):
    """Assert that ``backward`` returns the gradients of ``forward`` at ``args``.

    Parameters are those of :func:`gradcheck.check_layer` (without ``verbose``).

    Raises
    ------
    AssertionError
        When any input fails or its check is inconclusive; the message is the report.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    report = check_layer(forward, backward, *args, mode=mode, h=h, tol=tol, seed=seed,
                         **kwargs)
    _assert_ok(report)


def assert_loss_gradients(loss_fn, x, y, *args, mode="full", h=1e-5, tol=None, seed=0,
                          **kwargs):
    """Assert that the gradient ``loss_fn(x, y, *args, **kwargs)`` returns is right.

    Parameters are those of :func:`gradcheck.check_loss` (without ``verbose``).

    Raises
    ------
    AssertionError
        When the check fails or is inconclusive; the message is the report.
    """
    __tracebackhide__ = True
    report = check_loss(loss_fn, x, y, *args, mode=mode, h=h, tol=tol, seed=seed, **kwargs)
    _assert_ok(report)


def _assert_ok(report):
    __tracebackhide__ = True
    if not report.ok:
        raise AssertionError("\n" + str(report))

"""Losses: CS231n's reference values, closed forms, stability, gradient checks, dtypes."""

import math
import warnings

import numpy as np
import pytest

from gradcheck import check_loss, eval_numerical_gradient, rel_error
from layers import softmax_loss, svm_loss

LOSSES = {"softmax": softmax_loss, "svm": svm_loss}


def _cs231n_scores():
    """The notebook's inputs: np.random.seed(231); 0.001 * randn(50, 10); randint(10, size=50).

    A RandomState seeded 231 draws the same numbers without touching the global generator.
    """
    legacy = np.random.RandomState(231)
    num_classes, num_inputs = 10, 50
    x = 0.001 * legacy.randn(num_inputs, num_classes)
    y = legacy.randint(num_classes, size=num_inputs)
    return x, y


def test_svm_loss_matches_the_cs231n_notebook():
    x, y = _cs231n_scores()
    loss, dx = svm_loss(x, y)
    assert loss == pytest.approx(9.0, abs=0.01)  # "should be around 9"
    dx_num = eval_numerical_gradient(lambda x: svm_loss(x, y)[0], x, verbose=False)
    assert rel_error(dx_num, dx) < 1e-8


def test_softmax_loss_matches_the_cs231n_notebook():
    x, y = _cs231n_scores()
    loss, dx = softmax_loss(x, y)
    assert loss == pytest.approx(math.log(10), abs=0.005)  # "should be close to 2.3"
    dx_num = eval_numerical_gradient(lambda x: softmax_loss(x, y)[0], x, verbose=False)
    assert rel_error(dx_num, dx) < 1e-7


@pytest.mark.parametrize("loss_fn", LOSSES.values(), ids=LOSSES)
@pytest.mark.parametrize("N, C", [(1, 2), (5, 3), (8, 10), (3, 1)])
def test_gradients_match_numerical_gradients(rng, loss_fn, N, C):
    x = rng.standard_normal((N, C))
    y = rng.integers(C, size=N)
    report = check_loss(loss_fn, x, y)
    assert report.ok, report


@pytest.mark.parametrize("N, C", [(1, 10), (2, 3), (2, 100)])
def test_softmax_on_zero_scores_is_exactly_log_c(N, C):
    y = np.arange(N) % C
    loss, dx = softmax_loss(np.zeros((N, C)), y)
    assert loss == math.log(C)
    expected = np.full((N, C), 1 / C)
    expected[np.arange(N), y] -= 1
    np.testing.assert_array_equal(dx, expected / N)


def test_softmax_on_zero_scores_is_log_c_to_the_last_bits_for_a_larger_batch():
    """The mean of 50 equal terms rounds once or twice on the way: within 2 ulp."""
    loss, _ = softmax_loss(np.zeros((50, 10)), np.arange(50) % 10)
    np.testing.assert_array_max_ulp(loss, math.log(10), maxulp=2)


@pytest.mark.parametrize("N, C", [(1, 10), (50, 10), (7, 3)])
def test_svm_on_zero_scores_is_exactly_c_minus_one(N, C):
    y = np.arange(N) % C
    loss, dx = svm_loss(np.zeros((N, C)), y)
    assert loss == C - 1
    expected = np.ones((N, C))
    expected[np.arange(N), y] = -(C - 1)
    np.testing.assert_array_equal(dx, expected / N)


def test_the_lecture_three_examples():
    """Cat, car, frog scores from lecture 3: SVM losses 2.9, 0, 12.9; softmax loss of the cat
    -log(0.13) = 2.04."""
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    svm, _ = svm_loss(scores, np.array([0, 1, 2]))
    assert svm == pytest.approx((2.9 + 0 + 12.9) / 3, rel=1e-14)
    cat, _ = svm_loss(scores[:1], np.array([0]))
    assert cat == pytest.approx(2.9, rel=1e-14)
    softmax, _ = softmax_loss(scores[:1], np.array([0]))
    exact = math.log(math.exp(3.2) + math.exp(5.1) + math.exp(-1.7)) - 3.2
    assert softmax == pytest.approx(exact, rel=1e-15)
    assert softmax == pytest.approx(2.04, abs=0.005)


def test_svm_excludes_the_correct_class_and_counts_margins_within_one():
    # Row 0: class 1 is inside the margin (0.5 - 1 + 1 = 0.5), class 2 is not (-2 - 1 + 1 < 0).
    # Row 1: the correct class is the lowest, so both others count: 1 + 1 + 1 each.
    x = np.array([[1.0, 0.5, -2.0], [0.0, 1.0, 1.0]])
    loss, dx = svm_loss(x, np.array([0, 0]))
    assert loss == pytest.approx((0.5 + 2.0 + 2.0) / 2, rel=1e-15)
    np.testing.assert_array_equal(dx, np.array([[-1.0, 1.0, 0.0], [-2.0, 1.0, 1.0]]) / 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_stable_for_huge_scores(dtype):
    x = np.array([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0]], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss, dx = softmax_loss(x, np.array([0, 2]))
    assert loss == (0 + 2000) / 2  # log-sum-exp: exact, where log(probability) would be -inf
    np.testing.assert_array_equal(dx, np.array([[0, 0, 0], [1, 0, -1]], dtype=dtype) / 2)


@pytest.mark.parametrize("loss_fn", LOSSES.values(), ids=LOSSES)
def test_float32_scores_give_a_float32_loss_and_gradient(rng, loss_fn):
    x = rng.standard_normal((6, 4))
    y = rng.integers(4, size=6)
    loss32, dx32 = loss_fn(x.astype(np.float32), y)
    loss64, dx64 = loss_fn(x, y)
    assert loss32.dtype == dx32.dtype == np.float32
    assert loss64.dtype == dx64.dtype == np.float64
    assert loss32 == pytest.approx(loss64, rel=1e-6)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss_fn", LOSSES.values(), ids=LOSSES)
def test_labels_of_any_integer_dtype_and_integer_scores_are_accepted(loss_fn):
    x = np.array([[1, 2, 3], [3, 2, 1]])
    loss, dx = loss_fn(x, np.array([2, 0], dtype=np.uint8))
    reference, dx_reference = loss_fn(x.astype(np.float64), [2, 0])
    assert loss.dtype == np.float64 and loss == reference
    np.testing.assert_array_equal(dx, dx_reference)

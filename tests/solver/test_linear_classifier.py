"""Linear classifiers: the loops against the vectorized graph, numerical gradients, training,
randomness, and the errors bad input raises."""

import numpy as np
import pytest

from gradcheck import eval_numerical_gradient, rel_error
from solver.linear_classifier import (
    LinearClassifier, LinearSVM, Softmax, softmax_loss_naive, softmax_loss_vectorized,
    svm_loss_naive, svm_loss_vectorized)

PAIRS = [(svm_loss_naive, svm_loss_vectorized), (softmax_loss_naive, softmax_loss_vectorized)]


@pytest.mark.parametrize("naive, vectorized", PAIRS, ids=["svm", "softmax"])
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_vectorized_equals_the_loops_and_the_numerical_gradient(naive, vectorized, reg, rng):
    W, X = rng.standard_normal((6, 4)), rng.standard_normal((9, 6))
    y = rng.integers(4, size=9)
    loss, dW = naive(W, X, y, reg)
    loss_v, dW_v = vectorized(W, X, y, reg)
    assert loss_v == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(dW_v, dW, rtol=1e-12, atol=1e-14)
    numeric = eval_numerical_gradient(lambda w: naive(w, X, y, reg)[0], W)
    # these draws keep every margin off the hinge's kink; round-off leaves ~3e-8 on the
    # smallest entries
    assert rel_error(numeric, dW) < 1e-7
    assert reg == 0 or loss - naive(W, X, y, 0.0)[0] == pytest.approx(reg * np.sum(W * W))


def test_svm_loss_by_hand():
    # one example, scores (3, 1, 2.5) for labels 0: margins 1 - 3 + 1 < 0, 2.5 - 3 + 1 = 0.5
    W = np.array([[3.0, 1.0, 2.5]])  # (D, C) = (1, 3)
    loss, dW = svm_loss_naive(W, np.ones((1, 1)), np.array([0]), 0.0)
    assert loss == 0.5
    np.testing.assert_array_equal(dW, [[-1.0, 0.0, 1.0]])


@pytest.mark.parametrize("loss_fn", [f for pair in PAIRS for f in pair])
def test_float32_stays_float32(loss_fn, rng):
    W = rng.standard_normal((5, 3)).astype(np.float32)
    X = rng.standard_normal((4, 5)).astype(np.float32)
    loss, dW = loss_fn(W, X, rng.integers(3, size=4), 0.1)
    assert isinstance(loss, float) and dW.dtype == np.float32


@pytest.mark.parametrize("classifier", [LinearSVM, Softmax])
def test_training_lowers_the_loss_and_a_seed_reproduces_it(classifier, rng):
    centres = 3 * rng.standard_normal((3, 5))
    y = rng.integers(3, size=120)
    X = centres[y] + rng.standard_normal((120, 5))
    model = classifier(seed=4)
    history = model.train(X, y, learning_rate=1e-2, reg=1e-4, num_iters=200, batch_size=30)
    assert len(history) == 200 and np.mean(history[-20:]) < 0.5 * history[0]
    assert np.mean(model.predict(X) == y) > 0.9
    again = classifier(seed=4)
    assert again.train(X, y, learning_rate=1e-2, reg=1e-4, num_iters=200, batch_size=30) == history
    np.random.seed(7)  # without a seed: numpy's global state, as the course's
    first = classifier().train(X, y, num_iters=5)
    np.random.seed(7)
    assert classifier().train(X, y, num_iters=5) == first


def test_bad_input_is_refused_naming_the_function(rng):
    W, X, y = rng.standard_normal((6, 4)), rng.standard_normal((9, 6)), rng.integers(4, size=9)
    with pytest.raises(ValueError, match=r"svm_loss_naive: W must have shape \(D, C\) and X "
                                         r"shape \(N, D\), got W of shape \(4, 6\)"):
        svm_loss_naive(W.T, X, y, 0.0)
    with pytest.raises(ValueError,
                       match=r"softmax_loss_vectorized: labels must lie in \[0, C\) = \[0, 4\)"):
        softmax_loss_vectorized(W, X, y + 4, 0.0)
    with pytest.raises(ValueError, match="softmax_loss_naive: reg must be a finite number >= 0"):
        softmax_loss_naive(W, X, y, -1.0)
    with pytest.raises(ValueError, match="LinearSVM.predict: train .* first"):
        LinearSVM().predict(X)
    with pytest.raises(ValueError, match="Softmax.train: num_iters must be a positive integer"):
        Softmax().train(X, y, num_iters=0)
    with pytest.raises(NotImplementedError, match="use LinearSVM or Softmax"):
        LinearClassifier(seed=0).train(X, y, num_iters=1)

"""The table behind ``python -m gradcheck``: one case per layer pair of the library.

    Case(name, forward, backward, make)   # a pair, checked with check_layer
    Case(name, loss, None, make)          # a *_loss function, checked with check_loss
    report = case.check(mode="fast")

``make(rng) -> (args, kwargs)`` builds small float64 inputs from the generator it is given, kept
away from kinks (where a one-sided slope would make any centred difference disagree with a
correct backward): ReLU inputs away from 0, max-gate operands apart, winning maxout pieces
ahead of the runners-up, hinge margins away from 0. Keep shapes small (full mode perturbs
every element) and distinct per axis, so that a transposed gradient cannot pass.

To add a layer, append one ``Case`` to ``CASES``; tests/gradcheck/test_cases.py fails while
any public pair of ``layers`` has no case. Unlike the rest of ``gradcheck``, this module
imports ``layers``; ``import gradcheck`` does not import it.

Shapes: N batch, D features, M or H outputs, K maxout pieces, C classes.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

import layers

from .check import check_layer, check_loss

KINK_MARGIN = 0.05


@dataclass(frozen=True)
class Case:
    """One layer pair (or loss) and how to build inputs for checking it.

    Attributes
    ----------
    name : str
        Short name shown in the table, matched by ``--only``.
    forward : callable
        The ``*_forward`` function, or the ``*_loss`` function when ``backward`` is None.
    backward : callable or None
        The ``*_backward`` function; None for a loss, which returns its gradient itself.
    make : callable
        ``make(rng) -> (args, kwargs)``: the forward's arguments, float64 and away from kinks.
    """

    name: str
    forward: Callable
    backward: Callable | None
    make: Callable

    def check(self, mode="full", seed=0, **options):
        """Build the inputs from ``default_rng(seed)`` and check them; return the report.

        ``options`` (``h``, ``tol``, ``verbose``) go to :func:`check_layer` or
        :func:`check_loss`.
        """
        args, kwargs = self.make(np.random.default_rng(seed))
        if self.backward is None:
            return check_loss(self.forward, *args, mode=mode, seed=seed, **options, **kwargs)
        return check_layer(self.forward, self.backward, *args, mode=mode, seed=seed,
                           **options, **kwargs)


def away_from_zero(rng, shape, margin=KINK_MARGIN):
    """Gaussian values pushed ``margin`` away from 0: ``z + margin * sign(z)``."""
    z = rng.standard_normal(shape)
    return z + margin * np.sign(z)


def redraw(rng, draw, accept, tries=100):
    """Call ``draw(rng)`` until ``accept(*values)`` holds; return those values.

    For inputs whose kinks depend on several arrays at once (affine then ReLU, maxout).
    """
    for _ in range(tries):
        values = draw(rng)
        if accept(*values):
            return values
    raise RuntimeError(f"no draw accepted in {tries} tries: loosen the case's margin")


def _add(rng):
    return (rng.standard_normal((3, 4)), rng.standard_normal((4,))), {}  # y broadcasts over N


def _mul(rng):
    return (rng.standard_normal((3, 4)), rng.standard_normal((3, 1))), {}


def _max(rng):
    y = rng.standard_normal((4,))
    x = y + away_from_zero(rng, (3, 4))  # (3, 4), apart from y
    return (x, y), {}


def _affine(rng):
    return (rng.standard_normal((3, 2, 4)), rng.standard_normal((8, 5)),
            rng.standard_normal(5)), {}


def _affine_relu(rng):
    def draw(rng):
        return rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)), rng.standard_normal(5)

    def accept(x, w, b):
        return np.min(np.abs(x.reshape(3, 4) @ w + b)) > KINK_MARGIN

    return redraw(rng, draw, accept), {}


def _maxout(rng):
    def draw(rng):
        return (rng.standard_normal((3, 4)), rng.standard_normal((4, 5, 2)),
                rng.standard_normal((5, 2)))

    def accept(x, w, b):
        pieces = np.einsum("nd,dhk->nhk", x, w) + b  # (N, H, K)
        top_two = np.sort(pieces, axis=2)[:, :, -2:]  # (N, H, 2)
        return np.min(top_two[:, :, 1] - top_two[:, :, 0]) > KINK_MARGIN

    return redraw(rng, draw, accept), {}


def _elementwise(rng):
    return (rng.standard_normal((3, 5)),), {}


def _kinked(**kwargs):
    """Inputs for an activation with a kink at 0, with ``kwargs`` for its forward."""
    return lambda rng: ((away_from_zero(rng, (3, 5)),), kwargs)


def _scores(rng):
    return (rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)), {}


def _svm_scores(rng):
    def draw(rng):
        return rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)

    def accept(x, y):
        margins = x - x[np.arange(4), y][:, None] + 1  # (N, C)
        margins[np.arange(4), y] = 1  # the correct class's own term is not a hinge
        return np.min(np.abs(margins)) > KINK_MARGIN

    return redraw(rng, draw, accept), {}


CASES = [
    Case("add", layers.add_forward, layers.add_backward, _add),
    Case("mul", layers.mul_forward, layers.mul_backward, _mul),
    Case("max", layers.max_forward, layers.max_backward, _max),
    Case("affine", layers.affine_forward, layers.affine_backward, _affine),
    Case("relu", layers.relu_forward, layers.relu_backward, _kinked()),
    Case("sigmoid", layers.sigmoid_forward, layers.sigmoid_backward, _elementwise),
    Case("tanh", layers.tanh_forward, layers.tanh_backward, _elementwise),
    Case("leaky_relu", layers.leaky_relu_forward, layers.leaky_relu_backward,
         _kinked(alpha=0.2)),
    Case("elu", layers.elu_forward, layers.elu_backward, _kinked(alpha=0.7)),
    Case("maxout", layers.maxout_forward, layers.maxout_backward, _maxout),
    Case("affine_relu", layers.affine_relu_forward, layers.affine_relu_backward, _affine_relu),
    Case("softmax_loss", layers.softmax_loss, None, _scores),
    Case("svm_loss", layers.svm_loss, None, _svm_scores),
]

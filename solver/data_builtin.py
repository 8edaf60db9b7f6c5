"""The datasets that need nothing from outside: CS231n's spiral (generated) and scikit-learn's
bundled 8x8 digits; and ``stratified_order``, the split that keeps classes in proportion.

Each ``_load_<name>(sizes, seed, source)`` returns the raw splits as a dict
``{"X_train": (N, *example_shape) float64, "y_train": (N,), ...}``; :func:`solver.data.load_dataset`
subtracts the mean, casts and flattens. Shape letters as in :mod:`solver.data`.
"""

import numpy as np

SPLITS = ("train", "val", "test")


# --- spiral --------------------------------------------------------------------------------

def make_spiral(points_per_class, rng, num_classes=3):
    """The CS231n case study's spiral: ``num_classes`` arms of ``points_per_class`` points.

    Arm j has radius r = linspace(0, 1, n) and angle t = linspace(4j, 4(j + 1), n) + 0.2 z,
    z ~ N(0, 1), and points x = r [sin t, cos t].

    Parameters
    ----------
    points_per_class : int
    rng : numpy.random.Generator
    num_classes : int, default 3

    Returns
    -------
    X : ndarray of shape (K * n, 2), float64, the arms one after another
    y : ndarray of shape (K * n,), int64
    """
    n, K = points_per_class, num_classes
    r = np.linspace(0.0, 1.0, n)  # (n,)
    starts = 4.0 * np.arange(K)
    t = np.linspace(starts, starts + 4.0, n, axis=1) + rng.standard_normal((K, n)) * 0.2  # (K, n)
    X = np.stack([r * np.sin(t), r * np.cos(t)], axis=-1).reshape(K * n, 2)  # (K * n, 2)
    return X, np.repeat(np.arange(K, dtype=np.int64), n)


def _load_spiral(sizes, seed, source):
    """Each split drawn from its own generator, so one split's size leaves the others alone."""
    func = "load_dataset('spiral')"
    raw = {}
    for split, size, rng in zip(SPLITS, sizes, np.random.default_rng(seed).spawn(3)):
        if size % 3:
            raise ValueError(
                f"{func}: num_{split} must be a multiple of the 3 classes, got {size}")
        raw[f"X_{split}"], raw[f"y_{split}"] = make_spiral(size // 3, rng)
    return raw


# --- digits --------------------------------------------------------------------------------

def stratified_order(y, rng):
    """A random order of ``range(len(y))`` whose every slice holds the classes in proportion.

    The examples of each class are shuffled and spread evenly over [0, 1], the i-th of a class
    of n at (i + 0.5) / n; sorting by that deals the classes out like cards, so the first m
    indices hold each class's share of m to within one example, and any run of m consecutive
    indices to within two.

    Parameters
    ----------
    y : ndarray of shape (N,), int labels
    rng : numpy.random.Generator

    Returns
    -------
    order : ndarray of shape (N,), a permutation of range(N)
    """
    N = len(y)
    perm = rng.permutation(N)
    _, label, counts = np.unique(y[perm], return_inverse=True, return_counts=True)
    by_class = np.argsort(label, kind="stable")  # (N,) positions in perm, grouped by class
    rank = np.empty(N)
    rank[by_class] = np.arange(N) - np.repeat(np.cumsum(counts) - counts, counts)
    return perm[np.argsort((rank + 0.5) / counts[label], kind="stable")]


class TooFewExamples(ValueError):
    """More examples asked for than a dataset has (``solver train`` names its size flags)."""


def check_available(func, wanted, available, what):
    """Refuse to hand out more examples than a dataset has."""
    if wanted > available:
        raise TooFewExamples(f"{func}: asked for {wanted} {what}, but there are only "
                             f"{available}")


def _load_digits(sizes, seed, source):
    """A stratified split of the 1797 bundled images: val first, then test, then train."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no network

    num_train, num_val, num_test = sizes
    digits = load_digits()
    X = digits.images[:, None] / 16.0  # (1797, 1, 8, 8) in [0, 1]
    y = digits.target
    check_available("load_dataset('digits')", num_train + num_val + num_test, len(y),
                     "images in train + val + test")
    order = stratified_order(y, np.random.default_rng(seed))
    ends = np.cumsum([num_val, num_test, num_train])
    chunks = dict(zip(("val", "test", "train"), np.split(order, ends)))  # the rest is unused
    raw = {}
    for split in SPLITS:
        idx = np.sort(chunks[split])  # in the bundled order
        raw[f"X_{split}"], raw[f"y_{split}"] = X[idx], y[idx]
    return raw


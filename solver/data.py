"""Datasets as CS231n's data dict: ``load_dataset(name)`` returns what the Solver trains on.

Shape letters: N examples, D features of a flattened example, K classes, (C, H, W) an image's
channels, height and width.

Every dataset comes back as one dict::

    X_train  ndarray of shape (N_train, *example_shape), float32 unless dtype says otherwise
    y_train  ndarray of shape (N_train,), int64 labels in [0, K)
    X_val, y_val, X_test, y_test     the same for the validation and test splits
    meta     {"name": str, "class_names": tuple of K str,
              "image_shape": (C, H, W) for datasets of pictures, else None,
              "mean": the training mean subtracted from every split, of one returned
                      example's shape: example_shape, or (D,) with flatten=True (digits
                      (64,), mnist1d (40,)); in the X arrays' dtype; None when
                      subtract_mean=False}

``flatten=True`` turns every example into a row of D features, ``(N, D)``.

=========  ======================  ===================  ===========================================
name       example_shape           default split        source
=========  ======================  ===================  ===========================================
spiral     (2,)                    300 / 300 / 300      generated: the CS231n case study, K = 3 arms
digits     (1, 8, 8)               1257 / 270 / 270     scikit-learn's bundled 8x8 digits, / 16
mnist1d    (1, 1, 40)              3600 / 400 / 1000    ``mnist1d.data.make_dataset``, offline
cifar10    (3, 32, 32)             49000 / 1000 / 1000  the python batches in ``data_dir``
=========  ======================  ===================  ===========================================

The splits are (train / val / test). ``spiral`` draws each split afresh from the same spiral;
``digits`` deals a seeded, stratified split of its 1797 images (every split holds the ten
classes in proportion, to within two examples); ``mnist1d`` keeps the package's 1000 test signals
and carves a stratified validation set out of its 4000 training signals; ``cifar10`` splits as
CS231n's ``get_CIFAR10_data``: training images [0, num_train), validation images
[num_train, num_train + num_val) of the five training batches, the first num_test test images.

The datasets of token windows, for a language model (``DatasetInfo.tokens``), hold X int64
(N, T) token ids and y int64 (N, T), the token that follows each, -1 where a step is not scored;
``class_names`` is the vocabulary, one token each, and ``mean`` is None (``dtype``, ``flatten``
and ``subtract_mean`` do not apply). See :mod:`solver.sequence_data`.

==============  =========  ==================  ============================================
name            T          default split       source
==============  =========  ==================  ============================================
reverse-digits  12         4000 / 500 / 500    generated: ``123456>`` then ``654321``
copy-digits     12         4000 / 500 / 500    generated: ``123456>`` then ``123456``
add-digits      14         4000 / 500 / 500    generated: ``1234+5678>`` then ``21960``
stdlib-text     50         3000 / 200 / 200    this Python's standard-library source
==============  =========  ==================  ============================================
"""

from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

# make_spiral, stratified_order, cache_dir, mnist1d_cache_path and the CIFAR10 names are
# re-exported: they lived here before the loaders moved to data_builtin and data_files
from .data_builtin import SPLITS, _load_digits, _load_spiral, make_spiral, stratified_order
from .data_files import (
    CIFAR10_FOLDER, CIFAR10_MD5, CIFAR10_URL, _load_cifar10, _load_mnist1d, cache_dir,
    mnist1d_cache_path)
from .sequence_data import TASK_VOCAB, TEXT_WINDOW, digit_task_dataset, load_stdlib_text

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
DIGIT_CLASSES = tuple(str(k) for k in range(10))


class DatasetInfo(NamedTuple):
    """One entry of :data:`DATASETS`: how to make a dataset and what it holds."""

    load: Callable  # (sizes, seed, source) -> {"X_train": (N, *shape) float64 or uint8, ...}
    sizes: tuple  # the default (num_train, num_val, num_test)
    example_shape: tuple  # one example, flatten=False
    class_names: tuple
    is_image: bool  # pictures: meta["image_shape"] is set and weight templates make sense
    about: str
    data_dir: str | None = None  # what ``data_dir`` is for; None: the dataset reads no files
    tokens: bool = False  # integer token windows X (N, T), targets y (N, T), -1 unscored


class _Source(NamedTuple):
    """Where files come from, for the datasets that read or cache any."""

    data_dir: Path | None
    download: bool
    cache: bool  # mnist1d: write the generated arrays to the cache file
    url: str
    md5: str


def load_dataset(name, *, data_dir=None, num_train=None, num_val=None, num_test=None, seed=0,
                 subtract_mean=True, flatten=False, dtype=np.float32, download=False, cache=True,
                 url=CIFAR10_URL, md5=CIFAR10_MD5):
    """Load a dataset by name as CS231n's data dict (see the module docstring for the keys).

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`: ``'spiral'``, ``'digits'``, ``'mnist1d'``, ``'cifar10'``.
    data_dir : str or Path, optional
        ``cifar10``: the folder ``cifar-10-batches-py`` or its parent (required).
        ``mnist1d``: where to cache the generated arrays (``mnist1d-<hash>.npz``); by default
        the user's cache folder, :func:`cache_dir`. ``spiral`` and ``digits`` read no files
        and refuse it.
    num_train, num_val, num_test : int, optional
        Examples in each split; ``None`` takes the dataset's default (module docstring table).
    seed : int, default 0
        Seeds the spiral's noise and the digits/mnist1d splits (``cifar10`` splits in file
        order, as CS231n). The same seed gives the same arrays, bit for bit.
    subtract_mean : bool, default True
        Subtract the training split's mean example from every split (CS231n's preprocessing);
        the mean is returned as ``meta["mean"]``.
    flatten : bool, default False
        Return examples as rows ``(N, D)`` instead of ``(N, *example_shape)``.
    dtype : {np.float32, np.float64}, default np.float32
        dtype of the X arrays; arithmetic is done in float64 and rounded once.
    download : bool, default False
        ``cifar10`` only: when ``data_dir`` holds no batches, fetch ``url`` into it, check its
        MD5 against ``md5`` and unpack it. Nothing is fetched unless asked.
    cache : bool, default True
        ``mnist1d`` only: write the generated arrays to the cache file when it is missing or
        bad (it is read either way). ``solver evaluate`` passes False: a checkpoint may say
        where the data were, not where to write.
    url, md5 : str
        The archive to download and its MD5; the defaults are the official CIFAR-10 archive.

    Returns
    -------
    data : dict
        ``X_train`` ndarray of shape (N_train, ...), ``y_train`` int64 ndarray of shape
        (N_train,), the same for ``_val`` and ``_test``, and ``meta`` (module docstring).

    Raises
    ------
    ValueError
        Unknown name, bad sizes or dtype, a ``data_dir`` for a dataset that reads no files,
        malformed files or a wrong checksum.
    FileNotFoundError
        ``cifar10`` data missing from ``data_dir`` (and ``download=False``).
    """
    func = f"load_dataset({name!r})"
    if name not in DATASETS:
        raise ValueError(
            f"load_dataset: unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    info = DATASETS[name]
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{func}: dtype must be float32 or float64, got {dtype}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"{func}: seed must be an int, got {seed!r}")
    sizes = tuple(default if size is None else size
                  for size, default in zip((num_train, num_val, num_test), info.sizes))
    for split, size in zip(SPLITS, sizes):
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
            raise ValueError(f"{func}: num_{split} must be a positive int, got {size!r}")
    if data_dir is not None and info.data_dir is None:
        raise ValueError(f"{func}: this dataset reads no files, so data_dir={data_dir!r} would "
                         f"go unused; leave it out (data_dir is for "
                         f"{', '.join(n for n, i in DATASETS.items() if i.data_dir)})")
    source = _Source(None if data_dir is None else Path(data_dir), download, cache, url, md5)

    raw = info.load(sizes, seed, source)
    if info.tokens:
        return _token_data(name, raw)
    mean = raw["X_train"].mean(axis=0, dtype=np.float64) if subtract_mean else 0.0
    data = {}
    for split in SPLITS:
        X = raw[f"X_{split}"]
        X = (X - mean).astype(dtype)  # float64 arithmetic, one rounding
        data[f"X_{split}"] = X.reshape(len(X), -1) if flatten else X  # (N, D) or (N, ...)
        data[f"y_{split}"] = raw[f"y_{split}"].astype(np.int64)
    mean = np.asarray(mean, dtype).reshape(data["X_train"].shape[1:]) if subtract_mean else None
    data["meta"] = {"name": name, "class_names": info.class_names,
                    "image_shape": info.example_shape if info.is_image else None, "mean": mean}
    return data


def _token_data(name, raw):
    """The data dict of a dataset of token windows: integers as they are (nothing to centre,
    cast or flatten); its class names are the vocabulary, one token each."""
    data = {f"{kind}_{split}": raw[f"{kind}_{split}"].astype(np.int64)
            for split in SPLITS for kind in "Xy"}
    data["meta"] = {"name": name, "class_names": raw["class_names"], "image_shape": None,
                    "mean": None}
    return data


DATASETS = {
    "spiral": DatasetInfo(_load_spiral, (300, 300, 300), (2,), ("0", "1", "2"), False,
                          "CS231n's 2-d spiral, 3 classes, generated"),
    "digits": DatasetInfo(_load_digits, (1257, 270, 270), (1, 8, 8), DIGIT_CLASSES, True,
                          "scikit-learn's 8x8 handwritten digits, 10 classes"),
    "mnist1d": DatasetInfo(_load_mnist1d, (3600, 400, 1000), (1, 1, 40), DIGIT_CLASSES, False,
                           "MNIST-1D, 40-sample signals, 10 classes, generated",
                           "a cache of the generated signals"),
    "cifar10": DatasetInfo(_load_cifar10, (49000, 1000, 1000), (3, 32, 32), CIFAR10_CLASSES,
                           True, "CIFAR-10, 32x32 colour images, 10 classes, from data_dir",
                           "the folder cifar-10-batches-py or its parent"),
    "reverse-digits": DatasetInfo(
        digit_task_dataset("reverse", 6), (4000, 500, 500), (12,), tuple(TASK_VOCAB), False,
        "sequences '123456>654321': reverse 6 digits, next-token accuracy on the answer, "
        "generated", tokens=True),
    "copy-digits": DatasetInfo(
        digit_task_dataset("copy", 6), (4000, 500, 500), (12,), tuple(TASK_VOCAB), False,
        "sequences '123456>123456': copy 6 digits, generated", tokens=True),
    "add-digits": DatasetInfo(
        digit_task_dataset("add", 4), (4000, 500, 500), (14,), tuple(TASK_VOCAB), False,
        "sequences '1234+5678>21960': add two 4-digit numbers, the sum least significant "
        "digit first, generated", tokens=True),
    "stdlib-text": DatasetInfo(
        load_stdlib_text, (3000, 200, 200), (TEXT_WINDOW,), (), False,
        f"windows of {TEXT_WINDOW} characters of Python's standard-library source, read from "
        f"this installation; next-character accuracy", tokens=True),
}

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
"""

import contextlib
import functools
import hashlib
import importlib.metadata
import os
import pickle
import random
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Callable, NamedTuple

import numpy as np

from ._files import replaced

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
DIGIT_CLASSES = tuple(str(k) for k in range(10))

SPLITS = ("train", "val", "test")


class DatasetInfo(NamedTuple):
    """One entry of :data:`DATASETS`: how to make a dataset and what it holds."""

    load: Callable  # (sizes, seed, source) -> {"X_train": (N, *shape) float64 or uint8, ...}
    sizes: tuple  # the default (num_train, num_val, num_test)
    example_shape: tuple  # one example, flatten=False
    class_names: tuple
    is_image: bool  # pictures: meta["image_shape"] is set and weight templates make sense
    about: str
    data_dir: str | None = None  # what ``data_dir`` is for; None: the dataset reads no files


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


def _check_available(func, wanted, available, what):
    """Refuse to hand out more examples than a dataset has."""
    if wanted > available:
        raise ValueError(f"{func}: asked for {wanted} {what}, but there are only {available}")


def _load_digits(sizes, seed, source):
    """A stratified split of the 1797 bundled images: val first, then test, then train."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no network

    num_train, num_val, num_test = sizes
    digits = load_digits()
    X = digits.images[:, None] / 16.0  # (1797, 1, 8, 8) in [0, 1]
    y = digits.target
    _check_available("load_dataset('digits')", num_train + num_val + num_test, len(y),
                     "images in train + val + test")
    order = stratified_order(y, np.random.default_rng(seed))
    ends = np.cumsum([num_val, num_test, num_train])
    chunks = dict(zip(("val", "test", "train"), np.split(order, ends)))  # the rest is unused
    raw = {}
    for split in SPLITS:
        idx = np.sort(chunks[split])  # in the bundled order
        raw[f"X_{split}"], raw[f"y_{split}"] = X[idx], y[idx]
    return raw


# --- mnist1d -------------------------------------------------------------------------------

@contextlib.contextmanager
def _global_rng_untouched():
    """Put numpy's and Python's global RNG back as they were: mnist1d seeds both."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


MNIST1D_KEYS = ("x", "y", "x_test", "y_test")  # what make_dataset returns and the cache holds


def cache_dir():
    """The user's cache folder for generated data: ``$XDG_CACHE_HOME/backprop-layers``, or
    ``~/.cache/backprop-layers`` when ``XDG_CACHE_HOME`` is unset or not an absolute path (as
    the XDG base directory specification says)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "backprop-layers"


@functools.lru_cache(maxsize=4)
def _make_mnist1d(args_items):
    """MNIST-1D's arrays for ``dict(args_items)``, generated once per process (about 5 s)."""
    from mnist1d.data import make_dataset  # never get_dataset: that one downloads
    from mnist1d.utils import ObjectView

    with _global_rng_untouched():
        generated = make_dataset(ObjectView({k: list(v) if isinstance(v, tuple) else v
                                             for k, v in args_items}))
    arrays = {key: np.asarray(generated[key]) for key in MNIST1D_KEYS}
    for array in arrays.values():
        array.flags.writeable = False  # shared by every caller: nobody may change it
    return arrays


def _mnist1d_args():
    """The generator's arguments as a hashable, sorted tuple of (name, value) pairs."""
    from mnist1d.data import get_dataset_args

    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                        for k, v in get_dataset_args(as_dict=True).items()))


def mnist1d_cache_path(data_dir=None):
    """The file that caches MNIST-1D's generated arrays, ``mnist1d-<version>.npz`` in
    ``data_dir`` or :func:`cache_dir`. We always generate with the package's default
    arguments, so its version names the data; a new version generates them anew. (Finding
    the file needs no import of ``mnist1d``, which takes seconds: it imports pyplot.)"""
    try:
        version = importlib.metadata.version("mnist1d")
    except importlib.metadata.PackageNotFoundError:
        raise ImportError("load_dataset('mnist1d') needs the mnist1d package, which is not "
                          "installed; install it with pip install \"backprop-layers[datasets]\" "
                          "(or pip install mnist1d)") from None
    return (cache_dir() if data_dir is None else Path(data_dir)) / f"mnist1d-{version}.npz"


def _read_mnist1d_cache(path):
    """The cached arrays, or None if ``path`` is missing or is not a whole, sane cache file."""
    try:
        with np.load(path, allow_pickle=False) as cached:
            arrays = {key: cached[key] for key in MNIST1D_KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    x, y, x_test, y_test = (arrays[key] for key in MNIST1D_KEYS)
    sane = (x.ndim == 2 and x_test.ndim == 2 and x.shape[1] == x_test.shape[1]
            and x.dtype.kind == x_test.dtype.kind == "f"
            and y.shape == (len(x),) and y_test.shape == (len(x_test),)
            and y.dtype.kind in "iu" and y_test.dtype.kind in "iu")
    if not sane or not all(np.isfinite(a).all() for a in (x, x_test)):
        return None
    return arrays


def _mnist1d_arrays(source):
    """The generated arrays: read from the cache file, else generated and cached there.

    A cache file that cannot be read whole (truncated, corrupt, from another generator) is
    generated again and replaced. It is written atomically: a reader, even another process,
    finds the old file or the new one, never half of one. When the default cache folder
    cannot be written the data are generated for this process only, with a warning; a
    ``data_dir`` the caller named must be writable.
    """
    path = mnist1d_cache_path(source.data_dir)
    arrays = _read_mnist1d_cache(path)
    if arrays is not None:
        return arrays
    arrays = _make_mnist1d(_mnist1d_args())
    if not source.cache:
        return arrays
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replaced(path) as file:
            np.savez(file, **arrays)
    except OSError as exc:
        if source.data_dir is not None:
            raise
        warnings.warn(f"load_dataset('mnist1d'): could not cache the generated data in "
                      f"{path.parent} ({exc.strerror or exc}); it will be generated again "
                      f"by the next process", RuntimeWarning, stacklevel=4)
    return arrays


def _load_mnist1d(sizes, seed, source):
    """The package's test signals; val carved, stratified, out of its training signals."""
    func = "load_dataset('mnist1d')"
    num_train, num_val, num_test = sizes
    arrays = _mnist1d_arrays(source)
    x, y = arrays["x"][:, None, None, :], arrays["y"]  # (4000, 1, 1, 40)
    _check_available(func, num_train + num_val, len(y), "signals in train + val")
    _check_available(func, num_test, len(arrays["y_test"]), "test signals")
    order = stratified_order(y, np.random.default_rng(seed))
    val, train = np.sort(order[:num_val]), np.sort(order[num_val:num_val + num_train])
    return {"X_train": x[train], "y_train": y[train], "X_val": x[val], "y_val": y[val],
            "X_test": arrays["x_test"][:num_test, None, None, :],
            "y_test": arrays["y_test"][:num_test]}


# --- cifar10 -------------------------------------------------------------------------------

_reconstruct = np.empty(0).__reduce__()[0]  # numpy's array unpickler, wherever numpy keeps it


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10's batches and nothing else: no class but numpy's array machinery.

    The batches hold dicts, lists, bytes and ints, which need no lookup, and one uint8 array,
    which needs exactly these three names (``numpy.core`` in the files, ``numpy._core`` in
    files pickled by numpy 2).
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name}: a CIFAR-10 batch holds only dicts, lists, "
                f"bytes, ints and a numpy array")
        return self.ALLOWED[(module, name)]


def _read_cifar_batch(path):
    """One batch file: (data of shape (n, 3, 32, 32) uint8, labels of shape (n,) int64)."""
    func = "load_dataset('cifar10')"
    if not path.is_file():
        raise FileNotFoundError(
            f"{func}: no {path.name} in {path.parent}; expected the python version of "
            f"CIFAR-10 (cifar-10-python.tar.gz unpacked), or pass download=True "
            f"(solver train --download)")
    try:
        with open(path, "rb") as file:
            batch = _CifarUnpickler(file, encoding="bytes").load()
    except Exception as exc:  # any malformed pickle: the restricted unpickler ran no code
        raise ValueError(f"{func}: {path} is not a CIFAR-10 python batch: {exc}") from exc
    if not isinstance(batch, dict):
        raise ValueError(f"{func}: {path} should hold a dict, got {type(batch).__name__}")
    entries = {}
    for key in ("data", "labels"):
        for spelling in (key.encode(), key):
            if spelling in batch:
                entries[key] = batch[spelling]
                break
        else:
            raise ValueError(f"{func}: {path} has no b'{key}' entry; it has {sorted(batch)}")
    data, labels = entries["data"], entries["labels"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == 3072):
        got = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
               else type(data).__name__)
        raise ValueError(f"{func}: {path}: b'data' must be a uint8 array of shape (n, 3072), "
                         f"got {got}")
    try:
        labels = np.asarray(labels)
    except ValueError as exc:
        raise ValueError(f"{func}: {path}: b'labels' must be a list of ints: {exc}") from exc
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise ValueError(f"{func}: {path}: b'labels' must be {len(data)} ints, one per image, "
                         f"got {labels.dtype} of shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= 10):
        raise ValueError(f"{func}: {path}: labels must lie in [0, 10), got "
                         f"[{labels.min()}, {labels.max()}]")
    # A row is the red, green, blue 32x32 planes one after another, each row-major.
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)  # (n, 3, 32, 32)


def _cifar_folder(data_dir):
    """``data_dir`` itself or its ``cifar-10-batches-py``, whichever holds the batches."""
    for folder in (data_dir, data_dir / CIFAR10_FOLDER):
        if (folder / "data_batch_1").is_file():
            return folder
    return None


def _download_cifar10(source):
    """Fetch the archive into ``source.data_dir``, check its MD5, unpack it safely."""
    func = "load_dataset('cifar10')"
    source.data_dir.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=source.data_dir, suffix=".tar.gz.part")
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as file:
            try:
                with urllib.request.urlopen(source.url) as response:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        digest.update(chunk)
                        file.write(chunk)
            except urllib.error.URLError as exc:
                raise OSError(f"{func}: could not download {source.url}: {exc.reason}") from exc
        if digest.hexdigest() != source.md5.lower():
            raise ValueError(f"{func}: {source.url} has MD5 {digest.hexdigest()}, expected "
                             f"{source.md5}; refusing to unpack it")
        try:
            with tarfile.open(partial, "r:gz") as archive:
                members = archive.getmembers()
                for member in members:
                    parts = PurePosixPath(member.name).parts
                    if (member.name.startswith(("/", "\\")) or ".." in parts
                            or not (member.isfile() or member.isdir())):
                        raise ValueError(f"{func}: {source.url} holds an unsafe member "
                                         f"{member.name!r}; refusing to unpack it")
                archive.extractall(source.data_dir, members=members, filter="data")
        except (tarfile.TarError, EOFError) as exc:
            raise ValueError(f"{func}: {source.url} is not a tar.gz archive: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)


def _load_cifar10(sizes, seed, source):
    """CS231n's split of the batches in ``source.data_dir``; ``seed`` plays no part."""
    func = "load_dataset('cifar10')"
    num_train, num_val, num_test = sizes
    if source.data_dir is None:
        raise ValueError(f"{func}: pass data_dir (solver train --data-dir), the folder "
                         f"{CIFAR10_FOLDER} or its parent (with download=True, or --download, "
                         f"to fetch CIFAR-10 there)")
    folder = _cifar_folder(source.data_dir)
    if folder is None and source.download:
        _download_cifar10(source)
        folder = _cifar_folder(source.data_dir)
        if folder is None:
            raise ValueError(f"{func}: {source.url} did not unpack to "
                             f"{source.data_dir / CIFAR10_FOLDER / 'data_batch_1'}")
    if folder is None:
        raise FileNotFoundError(
            f"{func}: no data_batch_1 in {source.data_dir} or "
            f"{source.data_dir / CIFAR10_FOLDER}; expected the python version of CIFAR-10 "
            f"(cifar-10-python.tar.gz unpacked) there, or pass download=True "
            f"(solver train --download)")
    batches = [_read_cifar_batch(folder / f"data_batch_{b}") for b in range(1, 6)]
    X, y = (np.concatenate(arrays) for arrays in zip(*batches))  # (50000, 3, 32, 32), (50000,)
    X_test, y_test = _read_cifar_batch(folder / "test_batch")
    _check_available(func, num_train + num_val, len(y), "training images in train + val")
    _check_available(func, num_test, len(y_test), "test images")
    val = slice(num_train, num_train + num_val)
    return {"X_train": X[:num_train], "y_train": y[:num_train], "X_val": X[val], "y_val": y[val],
            "X_test": X_test[:num_test], "y_test": y_test[:num_test]}


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
}

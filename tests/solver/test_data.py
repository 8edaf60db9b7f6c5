"""Datasets: shapes, dtypes, splits and preprocessing of ``load_dataset``, and CIFAR-10's
files read without trusting their pickles (small batches written here in the standard format)."""

import hashlib
import io
import pickle
import struct
import tarfile

import numpy as np
import pytest

from solver import data_files as data_module
from solver.data import DATASETS, load_dataset, make_spiral, stratified_order


def _needs_files(name):
    """True for a dataset that loads only from files (cifar10): asked for its smallest split
    without a data_dir, its loader says to pass one. Any other failure is an error here."""
    try:
        load_dataset(name, num_train=3, num_val=3, num_test=3)
    except ValueError as error:
        if "pass data_dir" in str(error):
            return True
        raise
    return False


# Every dataset of features that needs no files, read off the registry: a new one is tested by
# its entry. (The datasets of token windows: tests/solver/test_solver_sequences.py.)
GENERATED = [name for name, info in DATASETS.items()
             if not info.tokens and not _needs_files(name)]


def test_the_generated_datasets_are_found_in_the_registry():
    assert {"spiral", "digits", "mnist1d"} <= set(GENERATED) and "cifar10" not in GENERATED


@pytest.mark.parametrize("name, example_shape, sizes", [
    ("spiral", (2,), (300, 300, 300)),
    ("digits", (1, 8, 8), (1257, 270, 270)),  # all 1797 images
    ("mnist1d", (1, 1, 40), (3600, 400, 1000)),
    ("cifar10", (3, 32, 32), (49000, 1000, 1000)),  # CS231n's split
])
def test_the_registry_holds_the_reference_shapes_and_split_sizes(name, example_shape, sizes):
    assert DATASETS[name].example_shape == example_shape and DATASETS[name].sizes == sizes


# --- all datasets ----------------------------------------------------------------------------

def test_unknown_name_lists_the_valid_ones():
    expected = "unknown dataset 'mnist'; choose one of spiral, digits, mnist1d, cifar10"
    with pytest.raises(ValueError, match=expected):
        load_dataset("mnist")


@pytest.mark.parametrize("name", GENERATED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("flatten", [False, True])
def test_shapes_dtypes_and_split_sizes(name, dtype, flatten):
    data = load_dataset(name, dtype=dtype, flatten=flatten)
    info = DATASETS[name]
    shape = (int(np.prod(info.example_shape)),) if flatten else info.example_shape
    for split, size in zip(("train", "val", "test"), info.sizes):
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        assert X.shape == (size, *shape) and X.dtype == dtype
        assert y.shape == (size,) and y.dtype == np.int64
        assert set(np.unique(y)) == set(range(len(DATASETS[name].class_names)))
    assert data["meta"]["mean"].shape == shape and data["meta"]["mean"].dtype == dtype
    assert data["meta"]["name"] == name


def test_meta_describes_images():
    assert load_dataset("digits")["meta"]["image_shape"] == (1, 8, 8)
    assert load_dataset("spiral")["meta"]["image_shape"] is None
    assert load_dataset("digits", subtract_mean=False)["meta"]["mean"] is None


@pytest.mark.parametrize("name", GENERATED)
def test_same_seed_same_arrays_other_seed_other_split(name):
    first, again, other = (load_dataset(name, seed=seed) for seed in (3, 3, 4))
    for key in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["X_val"], other["X_val"])


@pytest.mark.parametrize("name", GENERATED)
def test_mean_of_the_training_split_is_subtracted_from_every_split(name):
    raw = load_dataset(name, subtract_mean=False, dtype=np.float64)
    centred = load_dataset(name, dtype=np.float64)
    mean = raw["X_train"].mean(axis=0)
    np.testing.assert_array_equal(centred["meta"]["mean"], mean)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(centred[f"X_{split}"], raw[f"X_{split}"] - mean)
    assert np.abs(centred["X_train"].mean(axis=0)).max() < 1e-12


@pytest.mark.parametrize("name", GENERATED)
def test_float32_is_the_float64_result_rounded_once(name):
    single, double = load_dataset(name), load_dataset(name, dtype=np.float64)
    np.testing.assert_array_equal(single["X_val"], double["X_val"].astype(np.float32))


@pytest.mark.parametrize("kwargs, message", [
    ({"dtype": np.int32}, "dtype must be float32 or float64"),
    ({"num_val": 0}, "num_val must be a positive int, got 0"),
    ({"num_train": 2.5}, "num_train must be a positive int"),
    ({"seed": "0"}, "seed must be an int"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        load_dataset("digits", **kwargs)


# --- spiral ----------------------------------------------------------------------------------

def test_spiral_follows_the_case_study_formula():
    X, y = make_spiral(100, np.random.default_rng(0))
    np.testing.assert_array_equal(y, np.repeat([0, 1, 2], 100))
    for j in range(3):
        arm = X[y == j]
        # r = linspace(0, 1, N), exactly up to the rounding of sin^2 + cos^2
        np.testing.assert_allclose(np.hypot(arm[:, 0], arm[:, 1]), np.linspace(0, 1, 100),
                                   rtol=1e-15, atol=1e-15)
        # t = linspace(4j, 4(j + 1), N) + 0.2 * noise; x = r sin t, y = r cos t
        t = np.arctan2(arm[1:, 0], arm[1:, 1])
        noise = np.angle(np.exp(1j * (t - np.linspace(4 * j, 4 * j + 4, 100)[1:]))) / 0.2
        assert abs(noise.mean()) < 0.3 and 0.8 < noise.std() < 1.2


def test_spiral_splits_are_independent_draws_of_the_same_spiral():
    data = load_dataset("spiral", num_train=30, num_val=60, subtract_mean=False,
                        dtype=np.float64)
    assert len(data["X_train"]) == 30 and len(data["X_val"]) == 60
    assert not np.array_equal(data["X_val"], data["X_test"])
    np.testing.assert_allclose(np.hypot(*data["X_val"][:20].T), np.linspace(0, 1, 20),
                               atol=1e-15)


def test_spiral_sizes_must_split_into_three_arms():
    with pytest.raises(ValueError, match="num_train must be a multiple of the 3 classes, got 100"):
        load_dataset("spiral", num_train=100)


# --- digits ----------------------------------------------------------------------------------

def test_digits_splits_partition_the_bundled_images_scaled_to_unit_range():
    from sklearn.datasets import load_digits

    digits = load_digits()
    data = load_dataset("digits", subtract_mean=False, flatten=True, dtype=np.float64)
    rows = np.concatenate([data["X_train"], data["X_val"], data["X_test"]])  # (1797, 64)
    labels = np.concatenate([data["y_train"], data["y_val"], data["y_test"]])
    assert rows.min() == 0.0 and rows.max() == 1.0
    order = np.lexsort(rows.T)
    expected = np.lexsort((digits.data / 16).T)
    np.testing.assert_array_equal(rows[order], digits.data[expected] / 16)
    np.testing.assert_array_equal(labels[order], digits.target[expected])


def test_digits_splits_are_stratified():
    from sklearn.datasets import load_digits

    share = np.bincount(load_digits().target) / 1797
    data = load_dataset("digits", seed=7)
    for split in ("train", "val", "test"):
        y = data[f"y_{split}"]
        assert np.abs(np.bincount(y, minlength=10) - len(y) * share).max() <= 2


def test_digits_refuses_more_images_than_it_has():
    with pytest.raises(ValueError, match="asked for 2000 images in train \\+ val \\+ test, but "
                                         "there are only 1797"):
        load_dataset("digits", num_train=1460)


@pytest.mark.parametrize("seed", range(5))
def test_stratified_order_deals_the_classes_evenly(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 7, size=1000)
    order = stratified_order(y, rng)
    np.testing.assert_array_equal(np.sort(order), np.arange(1000))
    counts = np.cumsum(np.eye(7)[y[order]], axis=0)  # (1000, 7): class counts of each prefix
    expected = np.arange(1, 1001)[:, None] * np.bincount(y) / 1000
    assert np.abs(counts - expected).max() <= 1


# --- mnist1d ---------------------------------------------------------------------------------

def _mnist1d_reference():
    from mnist1d.data import get_dataset_args, make_dataset

    state = np.random.get_state()
    try:
        return make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)


def test_mnist1d_keeps_the_package_test_split_and_carves_val_from_train():
    reference = _mnist1d_reference()
    data = load_dataset("mnist1d", subtract_mean=False, flatten=True, dtype=np.float64)
    np.testing.assert_array_equal(data["X_test"], reference["x_test"])
    np.testing.assert_array_equal(data["y_test"], reference["y_test"])
    rows = np.concatenate([data["X_train"], data["X_val"]])
    labels = np.concatenate([data["y_train"], data["y_val"]])
    order, expected = np.lexsort(rows.T), np.lexsort(reference["x"].T)
    np.testing.assert_array_equal(rows[order], reference["x"][expected])
    np.testing.assert_array_equal(labels[order], reference["y"][expected])


def test_mnist1d_leaves_the_global_random_state_alone():
    import random

    data_module._make_mnist1d.cache_clear()  # so that mnist1d really runs (and seeds) again
    np.random.seed(5)
    random.seed(5)
    numpy_before, python_before = np.random.random(), random.random()
    np.random.seed(5)
    random.seed(5)
    load_dataset("mnist1d")
    assert (np.random.random(), random.random()) == (numpy_before, python_before)


def test_mnist1d_cache_hands_out_copies():
    first = load_dataset("mnist1d", subtract_mean=False)
    expected = first["X_train"].copy()
    first["X_train"][:] = 0
    np.testing.assert_array_equal(load_dataset("mnist1d", subtract_mean=False)["X_train"],
                                  expected)


def test_mnist1d_caches_on_disk_under_data_dir(tmp_path):
    fresh = load_dataset("mnist1d", data_dir=tmp_path / "cache")
    (cached_file,) = (tmp_path / "cache").glob("mnist1d-*.npz")
    data_module._make_mnist1d.cache_clear()
    again = load_dataset("mnist1d", data_dir=tmp_path / "cache")
    assert data_module._make_mnist1d.cache_info().currsize == 0  # read, not generated
    np.testing.assert_array_equal(fresh["X_train"], again["X_train"])


# --- cifar10: files in the standard format -----------------------------------------------------

class _Python2Pickler(pickle._Pickler):
    """Writes strings as Python 2's cPickle did (STRING opcodes), like the CIFAR-10 batches."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_string(self, obj):
        raw = obj if isinstance(obj, bytes) else obj.encode("latin1")
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = save_string
    dispatch[str] = save_string


def _python2_pickle(obj, numpy_module="numpy.core.multiarray"):
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    # the official files name numpy 1's module; numpy 2 writes numpy._core
    return buffer.getvalue().replace(b"numpy._core.multiarray", numpy_module.encode())


def _batch(rng, n, label):
    return {b"batch_label": label.encode(),
            b"labels": [int(k) for k in rng.integers(0, 10, size=n)],
            b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
            b"filenames": [f"image_{i}.png".encode() for i in range(n)]}


def _write_cifar(folder, rng, per_batch=8, num_test=10, numpy_module="numpy.core.multiarray"):
    """A small CIFAR-10 in the standard layout; returns its (train, test) batches."""
    folder.mkdir(parents=True)
    train = [_batch(rng, per_batch, f"training batch {b} of 5") for b in range(1, 6)]
    test = _batch(rng, num_test, "testing batch 1 of 1")
    for name, batch in [*((f"data_batch_{b}", train[b - 1]) for b in range(1, 6)),
                        ("test_batch", test)]:
        (folder / name).write_bytes(_python2_pickle(batch, numpy_module))
    return train, test


@pytest.fixture
def cifar(tmp_path, rng):
    folder = tmp_path / "data" / "cifar-10-batches-py"
    train, test = _write_cifar(folder, rng)
    data = np.concatenate([batch[b"data"] for batch in train])  # (40, 3072)
    labels = np.concatenate([batch[b"labels"] for batch in train])
    return folder, data, labels, test


SMALL = {"num_train": 30, "num_val": 10, "num_test": 10}


@pytest.mark.parametrize("where", ["folder", "parent"])
def test_cifar10_splits_as_cs231n(cifar, where):
    folder, data, labels, test = cifar
    data_dir = folder if where == "folder" else folder.parent
    loaded = load_dataset("cifar10", data_dir=data_dir, subtract_mean=False, **SMALL)
    images = data.reshape(40, 3, 32, 32)  # red, green, blue planes of 32x32, row-major
    np.testing.assert_array_equal(loaded["X_train"], images[:30])
    np.testing.assert_array_equal(loaded["y_train"], labels[:30])
    np.testing.assert_array_equal(loaded["X_val"], images[30:40])
    np.testing.assert_array_equal(loaded["y_val"], labels[30:40])
    np.testing.assert_array_equal(loaded["X_test"], test[b"data"].reshape(10, 3, 32, 32))
    np.testing.assert_array_equal(loaded["y_test"], test[b"labels"])
    assert loaded["X_train"].dtype == np.float32 and loaded["y_train"].dtype == np.int64
    assert loaded["meta"]["image_shape"] == (3, 32, 32)
    assert loaded["meta"]["class_names"][0] == "airplane"


def test_cifar10_subtracts_the_mean_image_and_flattens(cifar):
    folder, data, _, test = cifar
    loaded = load_dataset("cifar10", data_dir=folder, flatten=True, dtype=np.float64, **SMALL)
    mean = data[:30].mean(axis=0)  # (3072,)
    np.testing.assert_allclose(loaded["X_train"], data[:30] - mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(loaded["X_test"], test[b"data"] - mean, rtol=0, atol=1e-12)


def test_cifar10_reads_batches_pickled_by_numpy_2(tmp_path, rng):
    _write_cifar(tmp_path / "c", rng, numpy_module="numpy._core.multiarray")
    assert load_dataset("cifar10", data_dir=tmp_path / "c", **SMALL)["X_train"].shape[0] == 30


def test_cifar10_default_split_needs_the_full_dataset(cifar):
    with pytest.raises(ValueError, match="asked for 50000 training images in train \\+ val, "
                                         "but there are only 40"):
        load_dataset("cifar10", data_dir=cifar[0])


def test_cifar10_missing_files_say_what_was_expected_where(tmp_path, cifar):
    with pytest.raises(FileNotFoundError, match="no data_batch_1 in .*nowhere.*python version "
                                                "of CIFAR-10.*download=True"):
        load_dataset("cifar10", data_dir=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="pass data_dir"):
        load_dataset("cifar10")
    (cifar[0] / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="no test_batch in"):
        load_dataset("cifar10", data_dir=cifar[0], **SMALL)


def _tampered(rng, change):
    batch = _batch(rng, 8, "training batch 1 of 5")
    change(batch)
    return _python2_pickle(batch)


MALFORMED = {
    "float data": (lambda b: b.update({b"data": b[b"data"].astype(np.float32)}),
                   "must be a uint8 array of shape \\(n, 3072\\), got float32"),
    "narrow data": (lambda b: b.update({b"data": b[b"data"][:, :3000]}),
                    "must be a uint8 array of shape \\(n, 3072\\), got uint8 array of shape "
                    "\\(8, 3000\\)"),
    "label 10": (lambda b: b[b"labels"].__setitem__(0, 10), "labels must lie in \\[0, 10\\)"),
    "missing labels": (lambda b: b[b"labels"].pop(), "must be 8 ints, one per image"),
    "text labels": (lambda b: b.update({b"labels": ["cat"] * 8}), "must be 8 ints"),
    "no data": (lambda b: b.pop(b"data"), "has no b'data' entry"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_cifar10_malformed_batches_are_refused(cifar, rng, case):
    change, message = MALFORMED[case]
    (cifar[0] / "data_batch_3").write_bytes(_tampered(rng, change))
    with pytest.raises(ValueError, match=f"data_batch_3.*{message}"):
        load_dataset("cifar10", data_dir=cifar[0], **SMALL)


@pytest.mark.parametrize("content", [b"", b"garbage", pickle.dumps([1, 2, 3])])
def test_cifar10_files_that_are_no_batch_are_refused(cifar, content):
    (cifar[0] / "data_batch_2").write_bytes(content)
    with pytest.raises(ValueError, match="data_batch_2"):
        load_dataset("cifar10", data_dir=cifar[0], **SMALL)


class _Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def test_cifar10_pickles_cannot_run_code(cifar, tmp_path):
    canary = tmp_path / "canary"
    (cifar[0] / "data_batch_1").write_bytes(_python2_pickle({b"data": _Exploit(canary)}))
    with pytest.raises(ValueError, match="data_batch_1 is not a CIFAR-10 python batch: refused "
                                         "to load [_a-z]+\\.open"):
        load_dataset("cifar10", data_dir=cifar[0], **SMALL)
    assert not canary.exists()


# --- cifar10: download -------------------------------------------------------------------------

def _archive(tmp_path, cifar_folder, extra=None):
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        archive.add(cifar_folder, arcname="cifar-10-batches-py")
        if extra is not None:
            info = tarfile.TarInfo(extra)
            info.size = 4
            archive.addfile(info, io.BytesIO(b"evil"))
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def test_cifar10_download_checks_the_md5_then_unpacks(tmp_path, cifar):
    archive, md5 = _archive(tmp_path, cifar[0])
    target = tmp_path / "fresh"
    loaded = load_dataset("cifar10", data_dir=target, download=True, url=archive.as_uri(),
                          md5=md5, subtract_mean=False, **SMALL)
    np.testing.assert_array_equal(loaded["X_train"], cifar[1][:30].reshape(30, 3, 32, 32))
    assert sorted(p.name for p in target.iterdir()) == ["cifar-10-batches-py"]
    # present now: another download=True reads the files and fetches nothing
    load_dataset("cifar10", data_dir=target, download=True, url="file:///no/such/archive",
                 **SMALL)


def test_cifar10_download_refuses_a_wrong_checksum(tmp_path, cifar):
    archive, _ = _archive(tmp_path, cifar[0])
    target = tmp_path / "fresh"
    with pytest.raises(ValueError, match="has MD5 [0-9a-f]{32}, expected 0{32}; refusing"):
        load_dataset("cifar10", data_dir=target, download=True, url=archive.as_uri(),
                     md5="0" * 32, **SMALL)
    assert list(target.iterdir()) == []


def test_cifar10_download_refuses_members_outside_the_folder(tmp_path, cifar):
    archive, md5 = _archive(tmp_path, cifar[0], extra="../escaped")
    target = tmp_path / "deep" / "fresh"
    with pytest.raises(ValueError, match="unsafe member '../escaped'"):
        load_dataset("cifar10", data_dir=target, download=True, url=archive.as_uri(), md5=md5,
                     **SMALL)
    assert not (tmp_path / "deep" / "escaped").exists() and list(target.iterdir()) == []


def test_cifar10_download_reports_an_unreachable_url(tmp_path):
    with pytest.raises(OSError, match="could not download file:///no/such/archive.tar.gz"):
        load_dataset("cifar10", data_dir=tmp_path, download=True,
                     url="file:///no/such/archive.tar.gz")

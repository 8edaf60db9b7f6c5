"""MNIST-1D generated once and cached in the user's cache folder; datasets that read no files
refuse a ``data_dir``. The suite's ``user_cache`` fixture gives every test a cache folder of
its own (XDG_CACHE_HOME)."""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from solver import data_files as data_module
from solver.data import DATASETS, cache_dir, load_dataset, mnist1d_cache_path


def test_cache_dir_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "backprop-layers"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset_or_relative in ("", "relative/cache"):
        monkeypatch.setenv("XDG_CACHE_HOME", unset_or_relative)
        assert cache_dir() == tmp_path / "home" / ".cache" / "backprop-layers"


def test_mnist1d_is_generated_once_into_the_user_cache(user_cache):
    path = mnist1d_cache_path()
    assert path == user_cache / f"mnist1d-{importlib.metadata.version('mnist1d')}.npz"
    assert not path.exists()
    fresh = load_dataset("mnist1d")
    assert path.is_file()
    assert list(user_cache.iterdir()) == [path]  # no partial file left beside it
    data_module._make_mnist1d.cache_clear()
    again = load_dataset("mnist1d")
    assert data_module._make_mnist1d.cache_info().currsize == 0  # read, not generated
    for key in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(again[key], fresh[key])


def test_a_cached_run_does_not_even_import_the_generator(user_cache):
    load_dataset("mnist1d")  # fills this test's cache; the subprocess inherits XDG_CACHE_HOME
    script = ("import sys; from solver.data import load_dataset; "
              "data = load_dataset('mnist1d'); "
              "print(len(data['X_train']), 'mnist1d' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).parents[2])
    assert done.stdout.split() == ["3600", "False"]


def _cache_contents():
    x = np.zeros((4, 40))
    return {"x": x, "y": np.zeros(4, np.int64), "x_test": x, "y_test": np.zeros(4, np.int64)}


def _write_npz(path, arrays):
    with open(path, "wb") as file:
        np.savez(file, **arrays)


CORRUPTIONS = {
    "garbage": lambda path: path.write_bytes(b"not an npz file"),
    "empty": lambda path: path.write_bytes(b""),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:100_000]),
    "a key missing": lambda path: _write_npz(path, {"x": np.zeros((4, 40))}),
    "ragged labels": lambda path: _write_npz(path, {**_cache_contents(),
                                                   "y": np.zeros(3, np.int64)}),
    "labels of floats": lambda path: _write_npz(path, {**_cache_contents(), "y": np.zeros(4)}),
    "a NaN signal": lambda path: _write_npz(path, {**_cache_contents(),
                                                  "x": np.full((4, 40), np.nan)}),
    "a pickle": lambda path: _write_npz(path, {**_cache_contents(),
                                              "x": np.array([{"a": 1}], dtype=object)}),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_corrupt_cache_is_generated_again_and_replaced(corruption):
    fresh = load_dataset("mnist1d")
    path = mnist1d_cache_path()
    good = path.read_bytes()
    CORRUPTIONS[corruption](path)
    assert path.read_bytes() != good
    again = load_dataset("mnist1d")
    np.testing.assert_array_equal(again["X_train"], fresh["X_train"])
    np.testing.assert_array_equal(again["y_test"], fresh["y_test"])
    with np.load(path) as repaired:  # the file is whole again
        assert (repaired["x"].shape, repaired["x_test"].shape) == ((4000, 40), (1000, 40))


def test_a_cache_write_stopped_midway_leaves_no_file(monkeypatch, user_cache):
    load_dataset("mnist1d")  # generated in this process: the retry below needs no generator
    path = mnist1d_cache_path()
    path.unlink()

    def interrupted(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(data_module.np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_dataset("mnist1d")
    assert list(user_cache.iterdir()) == []  # neither a half file nor a partial one


def test_an_unwritable_user_cache_warns_and_still_gives_the_data(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be made under a file")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.warns(RuntimeWarning, match=r"load_dataset\('mnist1d'\): could not cache"):
        data = load_dataset("mnist1d")
    assert data["X_train"].shape == (3600, 1, 1, 40)


def test_a_named_data_dir_must_be_writable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OSError):
        load_dataset("mnist1d", data_dir=blocker / "cache")
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_a_named_data_dir_holds_the_cache_instead(tmp_path, user_cache):
    load_dataset("mnist1d", data_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [mnist1d_cache_path().name]
    assert not user_cache.exists()


def test_mnist1d_missing_says_how_to_install_it(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(data_module.importlib.metadata, "version", not_installed)
    with pytest.raises(ImportError, match=r"load_dataset\('mnist1d'\) needs the mnist1d "
                                          r"package.*backprop-layers\[datasets\]"):
        load_dataset("mnist1d")


@pytest.mark.parametrize("name", [name for name, info in DATASETS.items() if not info.data_dir])
def test_datasets_that_read_no_files_refuse_a_data_dir(name, tmp_path):
    with pytest.raises(ValueError, match=rf"load_dataset\('{name}'\): this dataset reads no "
                                         rf"files.*data_dir is for mnist1d, cifar10"):
        load_dataset(name, data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


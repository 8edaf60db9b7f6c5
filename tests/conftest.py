"""Fixtures shared by the whole suite."""

import itertools
import os
import shutil
import tempfile

import numpy as np
import pytest

_test_number = itertools.count()
_session_cache = tempfile.mkdtemp(prefix="backprop-layers-test-cache-")


def pytest_configure(config):
    """What loads data while tests are collected caches it here, not in the user's ~/.cache."""
    os.environ["XDG_CACHE_HOME"] = _session_cache


def pytest_unconfigure(config):
    shutil.rmtree(_session_cache, ignore_errors=True)


@pytest.fixture
def rng():
    """A seeded generator, fresh for every test, so each test is reproducible on its own."""
    return np.random.default_rng(231)


@pytest.fixture(autouse=True)
def user_cache(tmp_path_factory, monkeypatch):
    """A cache folder of each test's own (``solver.data.cache_dir``), made only when used: no
    test reads what an earlier one cached, or writes into the user's ~/.cache. Subprocesses
    the test starts inherit it."""
    folder = tmp_path_factory.getbasetemp() / "user-cache" / str(next(_test_number))
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "backprop-layers"

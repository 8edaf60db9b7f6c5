"""Fixtures shared by the whole suite."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator, fresh for every test, so each test is reproducible on its own."""
    return np.random.default_rng(231)

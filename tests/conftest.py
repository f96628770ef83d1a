"""Shared fixtures.

Slow (statistical) tests run by default, as in CI; skip them with ``-m "not slow"``.

``np.seterr(all="raise")`` is deliberately not set globally: scipy's own routines
(special functions, QUADPACK wrappers) trip harmless floating-point warnings internally.
"""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """The one seeded generator of a test (seed 12345, fixed so failures reproduce)."""
    return np.random.default_rng(12345)

"""Shared fixtures.

Slow (statistical) tests run by default, as in CI; skip them with ``-m "not slow"``.

``np.seterr(all="raise")`` is deliberately not set globally: scipy's own routines
(special functions, QUADPACK wrappers) trip harmless floating-point warnings internally.
"""

import os
from pathlib import Path

# Small dense eigenproblems (the root finder's generator matrices, ~100 × 100) run 10-100×
# slower with multi-threaded BLAS on a loaded machine; one thread is fastest for them.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402  (after the thread settings, which numpy reads on import)
import pytest  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    """The one seeded generator of a test (seed 12345, fixed so failures reproduce)."""
    return np.random.default_rng(12345)


#: Node ids of tests that are slow by measurement, not by nature (tests/slow_tests.txt).
MEASURED_SLOW = frozenset(
    line.strip() for line in
    (Path(__file__).parent / "slow_tests.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#"))


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The measured-slow tests get the ``slow`` marker (so the fast tier skips them); tests
    marked ``fuzz`` (the nightly-sized campaign) run only when ``-m`` names them."""
    for item in items:
        if item.nodeid in MEASURED_SLOW:
            item.add_marker(pytest.mark.slow)
    if "fuzz" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="the nightly fuzz campaign: select it with -m fuzz")
    for item in items:
        if item.get_closest_marker("fuzz") is not None:
            item.add_marker(skip)

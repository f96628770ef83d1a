"""Shared fixtures and the default deselection of slow tests.

``np.seterr(all="raise")`` is deliberately not set globally: scipy's own routines
(special functions, QUADPACK wrappers) trip harmless floating-point warnings internally.
"""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """The one seeded generator of a test (seed 12345, fixed so failures reproduce)."""
    return np.random.default_rng(12345)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect ``@pytest.mark.slow`` tests unless a ``-m`` expression is given.

    This is what the ``slow`` marker in pyproject.toml promises ("deselected by default;
    run with -m slow"); ``-m "slow or not slow"`` runs everything.
    """
    if config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]

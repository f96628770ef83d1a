"""stability_chart: verdicts on a workers × learning-rate grid.

Point delay: stable iff η n < π/2 (κ* = π/2 for every n). With a shared link the round
law is shifted by n·S/C, so its shape (and κ*) changes with n and each row must use its
own threshold. Grid points are kept ≥ 5 % from the boundary where exact comparisons are
made, since κ* itself is known to ~1e-9 only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdde import Cluster, HessianSpectrum, SharedLink, delays
from sdde.model.async_sgd import AsyncSGDModel
from sdde.stability.chart import StabilityChart, stability_chart
from sdde.stability.mean_field import critical_kappa
from sdde.stability.roots import unstable_root_count

POINT = delays.Deterministic(value=1.0)
GAMMA = delays.parse("gamma:shape=2,mean=1")


def make(delay: delays.DelayLaw, link: SharedLink | None = None,
         spectrum: str = "1") -> AsyncSGDModel:
    return AsyncSGDModel(lr=0.01, cluster=Cluster(workers=4, delay=delay, link=link),
                         spectrum=HessianSpectrum.parse(spectrum))


def _server_kappa(n: np.ndarray) -> np.ndarray:
    """Deterministic rounds: the server's recursion θ_{k+1} = θ_k − a θ_{k−n+1} has a root
    on the unit circle at a = 2 sin(π/(4n − 2)) (tests/stability/test_almost_sure.py checks
    it against numpy's roots); κ = n a, 2 at n = 1, decreasing to the mean field's π/2."""
    return 2 * n * np.sin(np.pi / (4 * n - 2))


def test_point_delay_chart_is_the_servers_recursion() -> None:
    workers = np.arange(1, 41, 3)
    lrs = np.geomspace(0.005, 1.0, 17)
    chart = stability_chart(make(POINT), workers, lrs)
    assert isinstance(chart, StabilityChart)
    product = workers[:, None] * lrs[None, :]
    bound = _server_kappa(workers)[:, None]
    assert np.all(np.abs(product / bound - 1) > 1e-6)  # no point on the boundary
    np.testing.assert_array_equal(chart.stable, product < bound)
    np.testing.assert_allclose(chart.kappa_star, math.pi / 2, rtol=1e-9)  # the mean field
    np.testing.assert_allclose(chart.max_stable_lr, _server_kappa(workers) / workers,
                               rtol=1e-9)
    assert chart.stable.shape == (workers.size, lrs.size)


def test_chart_scales_with_h_max() -> None:
    chart = stability_chart(make(POINT, spectrum="0.1,4"), [10], [0.03, 0.05])
    # κ_max = η n h_max = 1.2 (stable) and 2.0 (unstable)
    assert chart.stable.tolist() == [[True, False]]
    np.testing.assert_allclose(chart.max_stable_lr, _server_kappa(np.array([10])) / 40,
                               rtol=1e-9)


def test_shared_link_rows_use_their_own_threshold() -> None:
    m = make(GAMMA, SharedLink(message_size=1, capacity=100))
    workers = [1, 10, 50, 200]
    chart = stability_chart(m, workers, [0.001, 0.01])
    expected = [critical_kappa(m.with_workers(n).kernel) for n in workers]
    np.testing.assert_allclose(chart.kappa_star, expected, rtol=1e-12)
    # The link adds n/100 of deterministic time to each round, so the normalised law moves
    # from gamma(2) towards a point delay as n grows and κ* changes with it.
    assert np.ptp(chart.kappa_star) > 0.05 * chart.kappa_star.min()


def test_chart_agrees_with_root_count(rng: np.random.Generator) -> None:
    m = make(GAMMA, SharedLink(message_size=1, capacity=100), spectrum="0.5,2")
    workers = np.sort(rng.choice(np.arange(1, 120), size=6, replace=False))
    lrs = np.geomspace(0.002, 0.5, 8)
    chart = stability_chart(m, workers, lrs)
    checked = 0
    for i, n in enumerate(workers):
        kernel = m.with_workers(int(n)).kernel
        for j in rng.choice(lrs.size, size=3, replace=False):
            if abs(chart.headroom[i, j] - 1) < 0.05:
                continue  # near the boundary: the count may legitimately be undecided
            count = unstable_root_count(float(lrs[j] * n * 2.0), kernel)
            assert count is not None
            assert (count == 0) is bool(chart.stable[i, j]), (n, lrs[j])
            checked += 1
    assert checked >= 6


@pytest.mark.parametrize(("workers", "lrs", "match"), [
    ([], [0.1], "workers"), ([0, 2], [0.1], "workers"), ([[1, 2]], [0.1], "workers"),
    ([1], [], "lrs"), ([1], [0.0], "lrs"), ([1], [-0.1], "lrs"), ([1], [math.nan], "lrs"),
    ([1], [math.inf], "lrs"), ([1], [[0.1]], "lrs")])
def test_chart_validation(workers: object, lrs: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stability_chart(make(POINT), workers, lrs)  # type: ignore[arg-type]

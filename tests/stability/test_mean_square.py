"""Mean-square thresholds (``sdde.stability.mean_square``) and the three thresholds side by
side (``sdde.stability.thresholds``), against independent answers: brute-force exact second
moments of the full (n+1)-dimensional server, the spectral radius of the moment map from
numpy, the polynomial roots of the closed forms, the adaptive Parseval integral of
``sdde.stability.mean_field.stationary_variance``, and the orderings the theory proves."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import AsyncSGDModel, Cluster, HessianSpectrum, StepPolicy, delays
from sdde.model.kernels import DelayKernel
from sdde.stability import almost_sure, mean_square, thresholds
from sdde.stability.mean_field import stationary_variance


def brute_force_moments(a: float, n: int, steps: int, noise: float = 0.0) -> np.ndarray:
    """E[x xᵀ] of x = (θ, y_1..y_n) after ``steps`` updates, averaged over the uniformly
    chosen pusher exactly (no sampling), from θ = y_j = 1."""
    maps = []
    for i in range(n):
        m = np.eye(n + 1)
        m[0, 1 + i] -= a           # θ ← θ − a y_i
        m[1 + i] = m[0]            # y_i ← θ'
        maps.append(m)
    kick = np.zeros(n + 1)
    c = np.ones((n + 1, n + 1))
    for _ in range(steps):
        new = np.zeros_like(c)
        for i, m in enumerate(maps):
            kick[:] = 0.0
            kick[0] = kick[1 + i] = 1.0  # the noise enters θ and the pusher's copy
            new += (m @ c @ m.T + noise * np.outer(kick, kick)) / n
        c = new
    return c


@pytest.mark.parametrize("n", [2, 3, 5])
def test_exchangeable_map_is_the_servers_exact_second_moment(n: int) -> None:
    a = 0.7
    c = brute_force_moments(a, n, steps=6, noise=0.3)
    v = np.ones(4)
    for _ in range(6):
        v = mean_square.exponential_moment_map(a, n) @ v + 0.3 * np.array([1, 1 / n, 1 / n, 0])
    np.testing.assert_allclose(v, [c[0, 0], c[0, 1], c[1, 1], c[1, 2]], rtol=1e-12)


@given(st.integers(2, 5000))
@settings(max_examples=60, deadline=None)
def test_exponential_threshold_is_where_the_moment_map_reaches_one(n: int) -> None:
    kappa = mean_square.exponential_threshold(n)
    assert kappa * (kappa - 1) == pytest.approx(2 * n, rel=1e-12)

    def radius(k: float) -> float:
        return float(np.max(np.abs(np.linalg.eigvals(
            mean_square.exponential_moment_map(k / n, n)))))

    assert radius(kappa) == pytest.approx(1.0, abs=1e-9)
    assert radius(0.99 * kappa) < 1.0 < radius(1.01 * kappa)


@pytest.mark.parametrize(("n", "kappa"), [(2, 1.5), (16, 4.0), (256, 20.0)])
def test_exponential_stationary_variance_is_the_affine_maps_fixed_point(n: int,
                                                                       kappa: float) -> None:
    c = 0.37  # gradient-noise variance; per update s² = η² c with η = a (h = 1)
    a = kappa / n
    s2 = a * a * c
    fixed = np.linalg.solve(np.eye(4) - mean_square.exponential_moment_map(a, n),
                            s2 * np.array([1, 1 / n, 1 / n, 0]))
    intensity = a * a * n * c  # σ² = η² n c
    assert mean_square.exponential_stationary_variance(kappa, n, intensity) == pytest.approx(
        fixed[0], rel=1e-10)


@pytest.mark.parametrize("n", [2, 7, 64, 1000])
def test_poisson_sdde_closed_forms(n: int) -> None:
    exponential = mean_square.poisson_sdde_threshold(DelayKernel(delays.Exponential(scale=1.0)), n)
    assert exponential * (exponential + 1) == pytest.approx(2 * n, rel=1e-4)
    erlang = mean_square.poisson_sdde_threshold(DelayKernel(delays.parse("erlang:k=2,mean=1")),
                                                n)
    assert 3 * erlang**2 + (2 * n + 4) * erlang == pytest.approx(8 * n, rel=1e-4)


@pytest.mark.parametrize("spec", ["shifted-exp:shift=0.5,mean=1", "uniform:low=0,high=2",
                                  "two-point:p=0.05,slowdown=10,mean=1"])
@pytest.mark.parametrize("n", [2, 32])
def test_poisson_sdde_threshold_solves_its_equation_by_the_adaptive_route(spec: str,
                                                                           n: int) -> None:
    """κ² ‖G_κ‖² = n, with ‖G‖² from the adaptive Parseval integral (1e-4: the fixed
    rule is good to about 1e-5 relative on ‖G‖², docstring of ``_Norm2``)."""
    kernel = DelayKernel(delays.parse(spec))
    kappa = mean_square.poisson_sdde_threshold(kernel, n)
    assert kappa**2 * stationary_variance(kappa, kernel, 1.0) / n == pytest.approx(1.0, rel=1e-4)


def test_exact_where_the_server_is_deterministic_or_memoryless() -> None:
    det = mean_square.mean_square_threshold(
        Cluster(workers=16, delay=delays.parse("deterministic:value=2")))
    assert (det.kappa, det.exact) == (almost_sure.deterministic_threshold(16), True)
    exp = mean_square.mean_square_threshold(
        Cluster(workers=16, delay=delays.parse("exponential:mean=3")))
    assert (exp.kappa, exp.exact) == (mean_square.exponential_threshold(16), True)
    other = mean_square.mean_square_threshold(
        Cluster(workers=16, delay=delays.parse("gamma:shape=2,mean=1")))
    assert other.method == "Poisson SDDE" and not other.exact


def test_a_cut_off_or_a_policy_weighs_the_jumps() -> None:
    """Damping steps (g < 1) or dropping gradients shrinks the jumps' second moment, so the
    mean-square threshold rises."""
    law = delays.parse("gamma:shape=2,mean=1")
    plain = mean_square.mean_square_threshold(Cluster(workers=16, delay=law)).kappa
    damped = mean_square.mean_square_threshold(Cluster(workers=16, delay=law),
                                               StepPolicy.parse("geometric:0.95")).kappa
    assert damped > plain


def model(spec: str, n: int, noise: float = 0.0) -> AsyncSGDModel:
    return AsyncSGDModel(lr=0.01, cluster=Cluster(workers=n, delay=delays.parse(spec)),
                         spectrum=HessianSpectrum.parse("1"), noise=noise)


#: Tabulated laws whose transform has a closed form (lognormal and Weibull cost a second
#: or more per mean-square threshold: the slow test below covers them).
TABLED = ["exponential:mean=1", "shifted-exp:shift=0.5,mean=1", "gamma:shape=2,mean=1",
          "uniform:low=0.5,high=1.5", "two-point:p=0.05,slowdown=10,mean=1",
          "deterministic:value=1"]


@given(st.sampled_from(TABLED), st.integers(2, 2000))
@settings(max_examples=20, deadline=None)
def test_mean_square_threshold_is_never_above_the_almost_sure_one(spec: str, n: int) -> None:
    """Jensen: E θ² → 0 forces log |θ| → −∞, so κ_ms <= κ_as (the report caps an
    approximate κ_ms that would exceed it, and says so)."""
    t = thresholds.divergence_thresholds(model(spec, n))
    assert t.mean_square.kappa <= t.almost_sure.kappa
    if "capped" not in t.mean_square.method and t.mean_square.exact:
        assert t.mean_square.kappa <= t.almost_sure.kappa + t.almost_sure.half_width


def test_exponential_rounds_never_say_never() -> None:
    """κ* = ∞ for the mean field, but the server's thresholds are finite for every n."""
    for n in (2, 16, 256, 4096):
        t = thresholds.divergence_thresholds(model("exponential:mean=1", n))
        assert math.isinf(t.mean.kappa)
        assert math.isfinite(t.mean_square.kappa) and math.isfinite(t.almost_sure.kappa)
        assert t.regime(t.almost_sure.kappa * 1.01) == "diverges"


def test_regimes() -> None:
    t = thresholds.divergence_thresholds(model("exponential:mean=1", 16))
    ms, surely = t.mean_square.kappa, t.almost_sure.kappa
    assert t.regime(0.5 * ms) == "converges"
    assert t.regime(0.5 * (ms + surely)) == "heavy-tailed"
    assert t.regime(2 * surely) == "diverges"


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["lognormal:mean=1,cv=0.5", "weibull:shape=1.5,mean=1"])
@pytest.mark.parametrize("n", [2, 64, 1000])
def test_ordering_for_laws_without_a_closed_form_transform(spec: str, n: int) -> None:
    t = thresholds.divergence_thresholds(model(spec, n))
    assert t.mean_square.kappa <= t.almost_sure.kappa


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["exponential:mean=1", "gamma:shape=2,mean=1"])
def test_large_n_approaches_the_mean_field(spec: str) -> None:
    """For laws with a finite κ* the almost-sure threshold tends to it (the staleness
    sequence's randomness averages out); for exponential rounds both server thresholds
    grow like √n."""
    near, far = (thresholds.divergence_thresholds(model(spec, n)) for n in (64, 4096))
    if math.isfinite(far.mean.kappa):
        assert abs(far.almost_sure.kappa / far.mean.kappa - 1) < 0.01
        assert abs(far.almost_sure.kappa - far.mean.kappa) < abs(
            near.almost_sure.kappa - near.mean.kappa) + near.almost_sure.half_width
    else:
        ratio = far.almost_sure.kappa / near.almost_sure.kappa
        assert ratio == pytest.approx(8.0, rel=0.05)  # √(4096/64)
        assert far.mean_square.kappa / math.sqrt(2 * 4096) == pytest.approx(1.0, rel=0.01)


def test_chart_uses_the_almost_sure_threshold() -> None:
    from sdde.stability.chart import stability_chart

    m = model("exponential:mean=1", 8)
    chart = stability_chart(m, [4, 16, 64], [0.01, 0.1, 1.0])
    expected = [almost_sure.almost_sure_threshold(Cluster(workers=k, delay=delays.parse(
        "exponential:mean=1"))).kappa for k in (4, 16, 64)]
    np.testing.assert_allclose(chart.kappa_as, expected)
    assert np.all(np.isinf(chart.kappa_star))
    np.testing.assert_array_equal(chart.stable, np.array([0.01, 0.1, 1.0])[None, :]
                                  * np.array([4, 16, 64])[:, None] < np.array(expected)[:, None])

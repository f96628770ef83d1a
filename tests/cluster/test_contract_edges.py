"""Cluster quantities at the edges of the delay input contract (docs/cli.md, "Delay laws").

Every number is checked against an independent answer: closed forms (harmonic numbers,
Pareto and uniform order statistics, the two-point maximum, the geometric staleness of
exponential workers), a high-precision mpmath integral, or a theorem (mean staleness
``n − 1``); and structurally over the whole contract by hypothesis (the synchronous round is
at least the mean, non-decreasing in ``n``; staleness tables are non-empty, non-negative
and sum to 1). Pytest turns RuntimeWarnings raised in sdde into errors, so every test
also checks that no overflow, underflow or division warning escapes.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special

from sdde import Cluster, delays
from sdde.cluster._staleness_sim import simulate_staleness
from sdde.cluster.cluster import MIN_GRADIENTS_PER_WORKER, expected_max
from sdde.cluster.staleness import StalenessLaw

#: Tolerance of the synchronous round time against independent answers (relative).
SYNC_RTOL = 1e-7


def _pareto_max(shape: float, scale: float, n: int) -> float:
    """``E[max of n]`` of Pareto(α, s): ``s Γ(n+1) Γ(1−1/α) / Γ(n+1−1/α)``."""
    a = 1.0 / shape
    return scale * math.exp(special.gammaln(n + 1) + special.gammaln(1 - a)
                            - special.gammaln(n + 1 - a))


def _mp_expected_max(sf: mp.ctx_mp_python.mpf, n: int, points: list[float]) -> float:
    """``∫_0^∞ 1 − (1 − sf(x))^n dx`` in 40-digit arithmetic (mpmath)."""
    with mp.workdps(40):
        return float(mp.quad(lambda x: 1 - (1 - sf(x)) ** n, [0, *points, mp.inf]))


# ------------------------------------------------------- synchronous round: exact answers


@pytest.mark.parametrize("mean", [1e-9, 1.0, 1e9])
@pytest.mark.parametrize("n", [1, 2, 32, 1000])
def test_sync_round_exponential_is_mean_times_harmonic_number(mean: float, n: int) -> None:
    c = Cluster(workers=n, delay=delays.parse(f"exponential:mean={mean}"))
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    assert c.sync_round_time == pytest.approx(mean * harmonic, rel=SYNC_RTOL)


@pytest.mark.parametrize("shape", [1.2, 1.25, 1.5, 2.5, 1e3, 1e6])
@pytest.mark.parametrize("n", [1, 2, 32, 1000])
def test_sync_round_pareto_matches_order_statistics(shape: float, n: int) -> None:
    """The fuzz campaign found E[max] below the mean near shape 1; at the contract's edge
    (1.2) and beyond it is the closed form."""
    law = delays.parse(f"pareto:shape={shape},mean=1")
    c = Cluster(workers=n, delay=law)
    want = _pareto_max(law.shape, law.scale, n)
    assert c.sync_round_time == pytest.approx(want, rel=SYNC_RTOL)
    assert c.sync_round_time >= law.mean


@pytest.mark.parametrize("spec", ["uniform:low=0,high=2", "uniform:low=0.999999,high=1",
                                  "uniform:low=1,high=1.000000001"])
@pytest.mark.parametrize("n", [1, 3, 64])
def test_sync_round_uniform_matches_order_statistics(spec: str, n: int) -> None:
    law = delays.parse(spec)
    lo, hi = law.support
    c = Cluster(workers=n, delay=law)
    assert c.sync_round_time == pytest.approx(lo + (hi - lo) * n / (n + 1), rel=1e-12)


@pytest.mark.parametrize(("p", "slowdown"), [(0.05, 10.0), (1e-7, 1e6), (0.999999, 1e6),
                                             (0.5, 1e6)])
@pytest.mark.parametrize("n", [1, 32])
def test_sync_round_two_point_closed_form(p: float, slowdown: float, n: int) -> None:
    """max of n two-point rounds is slow unless all are fast: c1 + (c2 − c1)(1 − (1−p)^n)."""
    law = delays.parse(f"two-point:p={p},slowdown={slowdown},mean=1")
    (c1, c2), _ = law.atoms()
    want = c1 + (c2 - c1) * -math.expm1(n * math.log1p(-p))
    assert Cluster(workers=n, delay=law).sync_round_time == pytest.approx(want, rel=1e-10)


def _weibull_sf(law: delays.Weibull):  # type: ignore[no-untyped-def]
    k, lam = mp.mpf(law.shape), mp.mpf(law.scale)
    return lambda x: mp.exp(-((x / lam) ** k))


def _gamma_sf(law: delays.Gamma):  # type: ignore[no-untyped-def]
    k, th = mp.mpf(law.shape), mp.mpf(law.scale)
    return lambda x: mp.gammainc(k, x / th, mp.inf, regularized=True)


def _lognormal_sf(law: delays.LogNormal):  # type: ignore[no-untyped-def]
    mu, sigma = mp.mpf(law.mu), mp.mpf(law.sigma)
    return lambda x: mp.erfc((mp.log(x) - mu) / (sigma * mp.sqrt(2))) / 2 if x > 0 else 1


@pytest.mark.parametrize(("spec", "sf"), [
    ("weibull:shape=0.12,mean=1", _weibull_sf),   # the fuzz campaign: -1.25e-21 at 0.01
    ("weibull:shape=0.5,mean=1", _weibull_sf),
    ("gamma:shape=1e-4,mean=1", _gamma_sf),
    ("gamma:shape=1e-3,mean=1", _gamma_sf),
    ("lognormal:cv=400,mean=1", _lognormal_sf),
    ("lognormal:cv=100,mean=1", _lognormal_sf),
])
def test_sync_round_heavy_edges_match_high_precision_integral(spec: str, sf) -> None:  # type: ignore[no-untyped-def]
    law = delays.parse(spec)
    n = 32
    pts = [float(law.quantile(q)) for q in (0.5, 0.9, 0.99, 0.999, 1 - 1e-6, 1 - 1e-9)]
    want = _mp_expected_max(sf(law), n, sorted(set(p for p in pts if p > 0)))
    got = Cluster(workers=n, delay=law).sync_round_time
    assert got == pytest.approx(want, rel=1e-6)
    assert got >= law.mean


def test_sync_round_mixed_groups_not_below_the_slowest_mean() -> None:
    """Two exponential groups: ∫ 1 − (1−e^{−x})^a (1−e^{−x/m})^b dx in closed form by
    inclusion–exclusion is long; mpmath gives the independent value."""
    fast, slow = delays.Exponential(scale=1.0), delays.Exponential(scale=50.0)
    c = Cluster(workers=[(24, fast), (8, slow)])
    with mp.workdps(40):
        want = float(mp.quad(lambda x: 1 - (1 - mp.exp(-x)) ** 24 * (1 - mp.exp(-x / 50)) ** 8,
                             [0, 5, 50, 500, mp.inf]))
    assert c.sync_round_time == pytest.approx(want, rel=SYNC_RTOL)
    assert expected_max([(1, fast), (1, slow)]) >= 50.0


# ------------------------------------------------------------ scale never matters


@pytest.mark.parametrize("spec", ["exponential:mean={m}", "shifted-exp:shift={h},mean={m}",
                                  "pareto:shape=1.5,mean={m}", "two-point:p=0.1,slowdown=5,"
                                  "mean={m}", "gamma:shape=0.5,mean={m}"])
def test_every_quantity_scales_with_the_time_unit(spec: str) -> None:
    """Times scale with the unit, staleness does not depend on it, at the range's ends."""
    base = Cluster(workers=16, delay=delays.parse(spec.format(m=1.0, h=0.5)))
    for m in (2e-9, 1e9):  # shift = m / 2 must be at least 1e-9
        c = Cluster(workers=16, delay=delays.parse(spec.format(m=m, h=0.5 * m)))
        assert c.arrival_rate == pytest.approx(base.arrival_rate / m, rel=1e-12)
        assert c.sync_round_time == pytest.approx(base.sync_round_time * m, rel=1e-9)
        run, run0 = c.run_time(10_000), base.run_time(10_000)
        assert run.mean == pytest.approx(run0.mean * m, rel=1e-12)
        assert run.std == pytest.approx(run0.std * m, rel=1e-9) or run.std == run0.std
        a, b = c.staleness("poisson"), base.staleness("poisson")
        assert a.k_max == b.k_max
        np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=0, atol=1e-12)
        assert a.tail_mass == pytest.approx(b.tail_mass, abs=1e-10)
        assert a.mean == pytest.approx(b.mean, rel=1e-12)


def test_run_time_closed_form_at_the_range_ends() -> None:
    """Exponential rounds: mean T μ / n, renewal-CLT spread sqrt(T) μ / n."""
    for mean in (1e-9, 1e9):
        run = Cluster(workers=32, delay=delays.Exponential(scale=mean)).run_time(10_000)
        assert run.mean == pytest.approx(10_000 * mean / 32, rel=1e-12)
        assert run.std == pytest.approx(100 * mean / 32, rel=1e-12)
    det = Cluster(workers=32, delay=delays.Deterministic(value=1.0)).run_time(100)
    assert det.std == 0.0


@pytest.mark.parametrize("mean", [1e-9, 1e9])
def test_exact_staleness_of_exponential_workers_is_geometric_at_the_range_ends(
        mean: float) -> None:
    """P(S = k) = (1/n)(1 − 1/n)^k for exponential workers (renewal, exact)."""
    n = 8
    law = Cluster(workers=n, delay=delays.parse(f"exponential:mean={mean}")).staleness("exact")
    k = np.arange(law.probabilities.size)
    np.testing.assert_allclose(law.probabilities, (1 / n) * (1 - 1 / n) ** k, atol=1e-11)
    assert float(law.probabilities @ k) == pytest.approx(n - 1, rel=1e-8)


# --------------------------------------------------------------- simulated staleness


def test_too_few_gradients_are_refused_with_the_minimum() -> None:
    c = Cluster(workers=16, delay=delays.parse("lognormal:cv=1"), threshold=1)
    with pytest.raises(ValueError, match=r"--gradients.*>= 160 for 16 workers.*got 1$"):
        c.staleness("exact", rng=np.random.default_rng(0), n_gradients=1)
    assert MIN_GRADIENTS_PER_WORKER == 10


@pytest.mark.parametrize("threshold", [0, 1, 3, None])
def test_threshold_with_the_fewest_gradients_gives_a_proper_law(threshold: int | None) -> None:
    """`--workers 16 --threshold 1 --gradients 1` raised IndexError; at the minimum the
    simulated law is a proper, non-empty table."""
    c = Cluster(workers=16, delay=delays.parse("lognormal:cv=1"), threshold=threshold)
    law = c.staleness("exact", rng=np.random.default_rng(1),
                      n_gradients=MIN_GRADIENTS_PER_WORKER * 16)
    _assert_proper(law, tail_bound=0.0)
    acc = c.acceptance("exact", rng=np.random.default_rng(1),
                       n_gradients=MIN_GRADIENTS_PER_WORKER * 16)
    assert 0.0 <= acc <= 1.0
    assert law.to_dict()["pmf"]


@pytest.mark.parametrize("spec", ["pareto:shape=1.2", "weibull:shape=0.12",
                                  "gamma:shape=1e-4", "lognormal:cv=400",
                                  "two-point:p=1e-7,slowdown=1e6",
                                  "uniform:low=1,high=1.000000001"])
def test_simulated_law_at_the_heavy_edges_is_never_empty(spec: str) -> None:
    """The fuzz campaign found `pmf: []` (printed `nan nan`) near Pareto shape 1 and for
    Weibull 0.01; at the contract's edges the simulation sees gradients, and its mean
    is the theorem's n − 1."""
    n = 32
    c = Cluster(workers=n, delay=delays.parse(spec))
    law = c.staleness("exact", rng=np.random.default_rng(2), n_gradients=20_000)
    assert law.method == "simulation"
    _assert_proper(law, tail_bound=0.0)
    assert law.n_samples is not None and law.n_samples > 10_000
    assert law.mean == n - 1
    assert math.isnan(law.var) is False and law.var >= 0


@pytest.mark.parametrize("spec", ["gamma:shape=2", "lognormal:cv=0.5", "uniform:low=0.5,high=1.5"])
def test_simulated_histogram_mean_is_n_minus_1(spec: str) -> None:
    """Theorem: mean staleness n − 1 without a threshold; the histogram agrees within a
    loose statistical tolerance for light tails."""
    n = 12
    law = Cluster(workers=n, delay=delays.parse(spec)).staleness(
        "exact", rng=np.random.default_rng(3), n_gradients=100_000)
    k = np.arange(law.probabilities.size)
    assert float(law.probabilities @ k) == pytest.approx(n - 1, rel=0.02)


def test_two_point_renewal_with_a_large_slowdown_is_exact_and_bounded() -> None:
    """Slowdown 1e6 built a (9e6 × 9e6) grid of kinks (MemoryError); now a bounded set, and
    the renewal law agrees with the simulated one."""
    c = Cluster(workers=8, delay=delays.parse("two-point:p=0.5,slowdown=1e6"))
    assert c.renewal_exact
    exact = c.staleness("exact")
    _assert_proper(exact, tail_bound=1e-9)
    stale, _ = simulate_staleness(c._unit_pairs, rng=np.random.default_rng(4),
                                  n_gradients=200_000)
    counts = np.bincount(stale)
    sim = StalenessLaw(probabilities=counts / stale.size, tail_mass=0.0,
                       mean=float(stale.mean()), var=float(stale.var()), method="simulation")
    assert exact.total_variation(sim) < 0.02


# ---------------------------------------------------------------- the whole contract


def _assert_proper(law, *, tail_bound: float) -> None:  # type: ignore[no-untyped-def]
    """A staleness table: non-empty, finite, non-negative, summing to 1 − tail_mass within
    1e-9, with tail_mass at most tail_bound."""
    p = np.asarray(law.probabilities)
    assert p.size >= 1
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    assert float(p.sum()) <= 1.0 + 1e-9
    assert float(p.sum()) + law.tail_mass == pytest.approx(1.0, abs=1e-9)
    assert 0.0 <= law.tail_mass <= tail_bound
    assert math.isfinite(law.mean) and law.mean >= 0


def _log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: float(10.0**e))


@st.composite
def contract_laws(draw: st.DrawFn) -> delays.DelayLaw:
    """Round laws over the whole contract, through the spec parser."""
    mean = draw(_log_uniform(1e-9, 1e9))
    family = draw(st.sampled_from(["exponential", "gamma", "weibull", "pareto", "lognormal",
                                   "uniform", "shifted-exp", "two-point", "deterministic"]))
    spec = {
        "exponential": lambda: f"exponential:mean={mean!r}",
        "gamma": lambda: f"gamma:shape={draw(_log_uniform(1e-4, 1e12))!r},mean={mean!r}",
        "weibull": lambda: f"weibull:shape={draw(_log_uniform(0.12, 1e6))!r},mean={mean!r}",
        "pareto": lambda: f"pareto:shape={1.2 + draw(_log_uniform(1e-9, 1e6 - 1.2))!r},"
                          f"mean={mean!r}",
        "lognormal": lambda: f"lognormal:cv={draw(_log_uniform(1e-6, 400.0))!r},mean={mean!r}",
        "uniform": lambda: f"uniform:cv={draw(_log_uniform(1e-6, 0.577))!r},mean={mean!r}",
        "shifted-exp": lambda: f"shifted-exp:shift={draw(st.floats(0.0, 0.999)) * mean!r},"
                               f"mean={mean!r}",
        "two-point": lambda: f"two-point:p={draw(_log_uniform(1e-6, 0.999999))!r},"
                             f"slowdown={draw(_log_uniform(1.0001, 1e6))!r},mean={mean!r}",
        "deterministic": lambda: f"deterministic:value={mean!r}",
    }[family]()
    try:
        return delays.parse(spec)
    except ValueError as exc:  # outside: a positive shift below 1e-9, or a two-point law
        # whose rare slow rounds carry the mean (the tail rule: p = 1e-6, slowdown 1e6)
        assert "shift" in str(exc) or "rarer than 1 in" in str(exc), (spec, exc)
        return delays.parse(f"exponential:mean={mean!r}")


PROPERTIES = settings(max_examples=25, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.too_slow])


@PROPERTIES
@given(contract_laws(), st.integers(1, 200))
def test_sync_round_is_at_least_the_mean_and_grows_with_n(law: delays.DelayLaw,
                                                          n: int) -> None:
    e_n = Cluster(workers=n, delay=law).sync_round_time
    e_more = Cluster(workers=2 * n, delay=law).sync_round_time
    assert math.isfinite(e_n) and e_n >= 0
    assert e_n >= law.mean * (1 - 1e-12)
    assert e_more >= e_n * (1 - 1e-9)
    assert e_more <= 2 * n * law.mean * (1 + 1e-9)  # E[max] <= E[sum]
    if n == 1:
        assert e_n == law.mean


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(contract_laws(), st.integers(1, 64))
def test_poisson_staleness_is_a_proper_law_with_mean_n_minus_1(law: delays.DelayLaw,
                                                               n: int) -> None:
    s = Cluster(workers=n, delay=law).staleness("poisson")
    _assert_proper(s, tail_bound=1e-4)
    assert s.mean == pytest.approx(n - 1, rel=1e-9, abs=1e-12)

"""Hypothesis invariants of the staleness calculators and the cluster's arrival rate.

Anchored by the reference tests in tests/cluster/test_staleness.py (R9): here the same laws are
checked over random worker counts and round-time laws. Examples are derandomised so a
run is reproducible (R11).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import Cluster, delays

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)
#: The slow variants explore more examples (different ones: the example count changes
#: the derandomised sequence).
SLOW_SETTINGS = settings(max_examples=200, deadline=None, derandomize=True)


means = st.floats(0.05, 20.0)


@st.composite
def exponential(draw):
    return delays.Exponential(scale=draw(means))


@st.composite
def gamma(draw, low=0.3, high=8.0):
    return delays.Gamma.from_mean(shape=draw(st.floats(low, high)), mean=draw(means))


@st.composite
def shifted_exp(draw):
    mean = draw(means)
    return delays.shifted_exponential(shift=draw(st.floats(0.0, 0.95)) * mean, mean=mean)


@st.composite
def uniform(draw):
    # low in {0} ∪ [1e-6, 5]: with 0 < low < ~1e-154 scipy's uniform moment overflows and
    # Var X comes out inf (reported; pinned by a strict xfail in tests/cluster/test_staleness.py).
    low = draw(st.one_of(st.just(0.0), st.floats(1e-6, 5.0)))
    return delays.Uniform(low=low, high=low + draw(st.floats(0.01, 5.0)))


@st.composite
def lognormal(draw):
    return delays.LogNormal.from_mean_cv(mean=draw(means), cv=draw(st.floats(0.1, 2.0)))


@st.composite
def two_point(draw, max_slowdown=20.0):
    return delays.two_point(time=draw(st.floats(0.05, 5.0)), p=draw(st.floats(0.01, 0.99)),
                            slowdown=draw(st.floats(1.01, max_slowdown)))


@st.composite
def deterministic(draw):
    return delays.Deterministic(value=draw(means))


ANY_LAW = st.one_of(exponential(), gamma(), shifted_exp(), uniform(), lognormal(),
                    two_point())
# Light tails, and Gamma shape >= 0.5: below ~0.45 the quadrature loses more than 1e-10
# of mass at the density singularity (an sdde bug pinned by strict xfails in
# tests/cluster/test_staleness.py), so a pmf-sum check there would test that bug, not this law.
LIGHT_LAW = st.one_of(exponential(), gamma(low=0.5), shifted_exp(), uniform(), two_point(),
                      deterministic())
# Laws with a closed-form renewal count (two-point cv <= 2.2 with slowdown <= 20).
TRACTABLE_LAW = st.one_of(exponential(), gamma(), shifted_exp(), two_point(), deterministic())
WORKERS = st.integers(1, 200)


@SETTINGS
@given(n=WORKERS, law=ANY_LAW)
def test_poisson_mean_and_variance(n, law):
    # Mixed Poisson with rate (n-1)/μ: E[S] = n - 1, Var S = (n-1) + (n-1)² cv².
    s = Cluster(workers=n, delay=law).staleness("poisson")
    cv2 = law.var / law.mean**2
    assert s.mean == pytest.approx(n - 1, rel=1e-9, abs=1e-12)
    assert s.var == pytest.approx((n - 1) + (n - 1) ** 2 * cv2, rel=1e-9, abs=1e-12)
    assert np.all(s.probabilities >= 0)


@SETTINGS
@given(n=WORKERS, law=lognormal())
def test_poisson_lognormal_tail_is_small(n, law):
    # Tabulated up to TAIL_TOL or K_CAP = 2^18 entries: lognormal cv 2 with n = 200 hits
    # the cap and leaves 1.5e-10 (measured), inside 1e-9.
    s = Cluster(workers=n, delay=law).staleness("poisson")
    assert np.all(s.probabilities >= 0)
    assert s.probabilities.sum() == pytest.approx(1.0, abs=1e-9)
    assert s.tail_mass <= 1e-9


@SETTINGS
@given(n=WORKERS, law=LIGHT_LAW)
def test_poisson_pmf_is_a_distribution(n, law):
    s = Cluster(workers=n, delay=law).staleness("poisson")
    p = s.probabilities
    assert np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    # Recomputed moments: the missing tail (< 1e-9) is too light to move them beyond 1e-8.
    k = np.arange(p.size)
    mean = p @ k
    assert mean == pytest.approx(n - 1, rel=1e-8, abs=1e-10)
    assert p @ (k - mean) ** 2 == pytest.approx(s.var, rel=1e-8, abs=1e-10)


@SETTINGS
@given(n=st.integers(1, 64), law=TRACTABLE_LAW)
def test_renewal_exact_mean(n, law):
    cluster = Cluster(workers=n, delay=law)
    assert cluster.renewal_exact
    exact = cluster.staleness("exact")
    assert exact.method == "renewal"
    p = exact.probabilities
    assert np.all(p >= 0)
    # E[S] = n - 1 exactly for stationary phases; recomputed from the pmf (the record's
    # mean is n - 1 by construction).
    assert p @ np.arange(p.size) == pytest.approx(n - 1, rel=1e-8, abs=1e-8)
    # Gamma shape < ~0.45 loses quadrature mass at P(S = 0) (sdde bug pinned by strict
    # xfails in tests/cluster/test_staleness.py): it does not move the mean, but the sum.
    if not (isinstance(law, delays.Gamma) and law.shape < 0.5):
        assert p.sum() == pytest.approx(1.0, abs=1e-9)


# Increasing-failure-rate round laws (exponential, gamma shape >= 1, shifted exponential,
# deterministic): all NBUE.
IFR_LAW = st.one_of(exponential(), gamma(low=1.0), shifted_exp(), deterministic())


@SETTINGS
@given(n=st.integers(1, 64), law=IFR_LAW)
def test_renewal_variance_at_most_poisson_for_ifr_rounds(n, law):
    # Conjecture "exact Var S <= Poisson Var S whenever cv <= 1" is FALSE in general:
    # Hypothesis found two-point p = 0.4375, slowdown 13, n = 2 (cv 0.97; exact 1.9288 >
    # Poisson 1.9072), and tests/cluster/test_staleness.py pins such counterexamples with an
    # independent formula. With X independent of the other workers,
    # Var S = (n-1) E[Var N(X)] + (n-1)² Var X / μ² against (n-1) E[X]/μ + (same), so the
    # bound needs E[Var N(X)] <= E[X]/μ for the stationary renewal count N; that fails for
    # lattice-like two-point rounds and held here, for IFR rounds, on every example and on
    # the grid below (equality for exponential rounds, up to 4e-9 of rounding).
    cluster = Cluster(workers=n, delay=law)
    assert law.cv <= 1.0 + 1e-12
    assert cluster.staleness("exact").var <= cluster.staleness("poisson").var + 1e-6


@pytest.mark.parametrize("law", [
    *(delays.Gamma.from_mean(shape=s, mean=1.0) for s in (1.0, 1.5, 4.0)),
    *(delays.shifted_exponential(shift=s, mean=1.0) for s in (0.0, 0.5, 0.9)),
    delays.Deterministic(value=1.0),
], ids=str)
def test_renewal_variance_bound_grid(law):
    for n in (2, 5, 17, 64):
        cluster = Cluster(workers=n, delay=law)
        assert cluster.staleness("exact").var <= cluster.staleness("poisson").var + 1e-6


@SETTINGS
@given(n=WORKERS, law=ANY_LAW, m=st.integers(1, 50))
def test_arrival_rate_is_linear_in_workers(n, law, m):
    one = Cluster(workers=1, delay=law).arrival_rate
    assert one == pytest.approx(1.0 / law.mean, rel=1e-12)
    assert Cluster(workers=n, delay=law).arrival_rate == pytest.approx(n * one, rel=1e-12)
    # groups add up
    other = delays.Exponential(scale=2.0)
    both = Cluster(workers=[(n, law), (m, other)]).arrival_rate
    assert both == pytest.approx(n * one + m / 2.0, rel=1e-12)


@SETTINGS
@given(n=WORKERS, law=ANY_LAW, factor=st.floats(1e-3, 1e3))
def test_time_scale_invariance(n, law, factor):
    # Scaling every round by c rescales time only: the staleness law is unchanged and the
    # arrival rate is divided by c. Same quadrature grid in scaled units, so the pmfs
    # agree to rounding (measured < 1e-12); 1e-10.
    base, scaled = Cluster(workers=n, delay=law), Cluster(workers=n, delay=law.scaled(factor))
    assert scaled.arrival_rate == pytest.approx(base.arrival_rate / factor, rel=1e-12)
    a, b = base.staleness("poisson"), scaled.staleness("poisson")
    size = max(a.k_max, b.k_max) + 1
    pa, pb = np.zeros(size), np.zeros(size)
    pa[: a.k_max + 1] = a.probabilities
    pb[: b.k_max + 1] = b.probabilities
    np.testing.assert_allclose(pa, pb, rtol=0, atol=1e-10)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(n=st.integers(1, 64), law=TRACTABLE_LAW, factor=st.floats(1e-3, 1e3))
def test_time_scale_invariance_renewal(n, law, factor):
    a = Cluster(workers=n, delay=law).staleness("exact")
    b = Cluster(workers=n, delay=law.scaled(factor)).staleness("exact")
    size = max(a.k_max, b.k_max) + 1
    pa, pb = np.zeros(size), np.zeros(size)
    pa[: a.k_max + 1] = a.probabilities
    pb[: b.k_max + 1] = b.probabilities
    np.testing.assert_allclose(pa, pb, rtol=0, atol=1e-10)


# ------------------------------------------------------------- slow, wider sweeps

test_poisson_mean_and_variance_wide = pytest.mark.slow(
    SLOW_SETTINGS(given(n=WORKERS, law=ANY_LAW)(test_poisson_mean_and_variance.hypothesis
                                                .inner_test)))
test_poisson_pmf_is_a_distribution_wide = pytest.mark.slow(
    SLOW_SETTINGS(given(n=WORKERS, law=LIGHT_LAW)(test_poisson_pmf_is_a_distribution
                                                  .hypothesis.inner_test)))
test_renewal_exact_mean_wide = pytest.mark.slow(
    SLOW_SETTINGS(given(n=st.integers(1, 64), law=TRACTABLE_LAW)(test_renewal_exact_mean
                                                                 .hypothesis.inner_test)))
test_renewal_variance_ifr_wide = pytest.mark.slow(
    SLOW_SETTINGS(given(n=st.integers(1, 64), law=IFR_LAW)(
        test_renewal_variance_at_most_poisson_for_ifr_rounds.hypothesis.inner_test)))

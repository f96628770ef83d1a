"""The geometric sum of rounds (the age of a gradient under error feedback).

Independent answers: the exponential closed form (a geometric sum of exponentials is
exponential), direct numerical integration of the mixture's density against the closed
transform, moments from the compound formulas, Monte Carlo, and a brute-force crossing
search on an independently written transform.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize

from sdde import delays
from sdde.delays import GeometricSum
from sdde.stability.mean_field import critical_kappa, stationary_variance

SHIFTED = delays.shifted_exponential(mean=1.0, shift=0.5)


@pytest.mark.parametrize("p", [1.0, 0.5, 0.1, 0.01])
def test_exponential_rounds_sum_to_an_exponential(p: float) -> None:
    law = GeometricSum(base=delays.Exponential(scale=2.0), p=p)
    exact = delays.Exponential(scale=2.0 / p)
    x = np.linspace(0.0, 12.0 / p, 41)
    np.testing.assert_allclose(law.cdf(x), exact.cdf(x), atol=1e-13)
    np.testing.assert_allclose(law.sf(x), exact.sf(x), rtol=1e-10)
    np.testing.assert_allclose(law.pdf(x[1:]), exact.pdf(x[1:]), rtol=1e-9)
    for order in (1, 2, 3):
        assert law.raw_moment(order) == pytest.approx(exact.raw_moment(order), rel=1e-10)
    assert law.exact
    assert critical_kappa(law) == math.inf


@pytest.mark.parametrize("base", [delays.Gamma(shape=2.0, scale=0.5), SHIFTED])
@pytest.mark.parametrize("p", [0.6, 0.2])
def test_mixture_density_has_the_closed_form_transform(base: delays.DelayLaw,
                                                         p: float) -> None:
    """For gamma-family rounds the mixture of g-fold sums is exact: its density integrates
    to the transform p φ/(1 − (1 − p) φ) (quadrature error ~1e-10)."""
    law = GeometricSum(base=base, p=p)
    assert law.exact
    lo = law.support[0]
    for z in (0.3, 1.0 + 2.0j, 4.0j):
        def part(x: float, z: complex = z) -> complex:
            return complex(law.pdf(x) * np.exp(-z * x))

        re = integrate.quad(lambda x: part(x).real, lo, np.inf, limit=400, epsabs=1e-13)[0]
        im = integrate.quad(lambda x: part(x).imag, lo, np.inf, limit=400, epsabs=1e-13)[0]
        phi = complex(base.laplace(z))
        assert complex(re, im) == pytest.approx(p * phi / (1 - (1 - p) * phi), abs=1e-8)


def test_moments_follow_the_compound_formulas_and_the_samples() -> None:
    law = GeometricSum(base=SHIFTED, p=0.2)
    m, v, p = SHIFTED.mean, SHIFTED.var, 0.2
    assert law.mean == pytest.approx(m / p, rel=1e-14)
    assert law.var == pytest.approx(v / p + (1 - p) * m * m / p**2, rel=1e-14)
    assert law.raw_moment(2) - law.mean**2 == pytest.approx(law.var, rel=1e-10)
    draws = law.sample(np.random.default_rng(3), 100_000)
    se = math.sqrt(law.var / draws.size)
    assert abs(draws.mean() - law.mean) < 5 * se  # 5 standard errors
    # the samples follow the cdf: Kolmogorov–Smirnov distance below its 99.9 % level
    grid = np.quantile(draws, np.linspace(0.01, 0.99, 99))
    ecdf = np.searchsorted(np.sort(draws), grid, side="right") / draws.size
    assert np.max(np.abs(ecdf - law.cdf(grid))) < 1.95 / math.sqrt(draws.size)


def test_moment_matched_sums_keep_mean_and_variance() -> None:
    """Lognormal rounds have no closed-form g-fold sum: mean and variance stay exact."""
    base = delays.parse("lognormal:mean=1,cv=0.5")
    law = GeometricSum(base=base, p=0.25)
    assert not law.exact
    assert law.raw_moment(1) == pytest.approx(4.0, rel=1e-12)
    assert law.raw_moment(2) - 16.0 == pytest.approx(law.var, rel=1e-10)
    assert float(law.cdf(1e6)) == pytest.approx(1.0, abs=1e-12)


def test_deterministic_rounds_are_atoms() -> None:
    law = GeometricSum(base=delays.Deterministic(value=2.0), p=0.5)
    points, masses = law.atoms()
    np.testing.assert_allclose(points[:3], [2.0, 4.0, 6.0])
    np.testing.assert_allclose(masses[:3], [0.5, 0.25, 0.125])
    assert float(law.cdf(4.0)) == pytest.approx(0.75)
    assert law.continuous_mass == 0.0


def _transform(w: np.ndarray, p: float, shift: float) -> np.ndarray:
    """φ(iω) of the geometric sum of shifted-exponential rounds, rescaled to mean 1."""
    c, scale = shift * p, (1.0 - shift) * p  # rounds of mean p: the sum has mean 1
    one = np.exp(-1j * w * c) / (1.0 + 1j * w * scale)
    return p * one / (1.0 - (1.0 - p) * one)


def _brute_force_threshold(p: float, shift: float) -> float:
    """The smallest κ = −ω / Im φ(iω) where Re φ(iω) = 0 (crossings lie below κ*·φ(0),
    itself below 40/p here; the grid resolves periods down to 0.1)."""
    grid = np.linspace(1e-6, 40.0 / p, 400_000)
    re = _transform(grid, p, shift).real
    best = math.inf
    for i in np.flatnonzero(np.sign(re[:-1]) != np.sign(re[1:])):
        w = optimize.brentq(lambda x: float(_transform(np.array([x]), p, shift)[0].real),
                            grid[i], grid[i + 1], xtol=1e-14)
        im = float(_transform(np.array([w]), p, shift)[0].imag)
        if im < 0:
            best = min(best, -w / im)
    return best


@pytest.mark.parametrize("p", [0.5, 0.3, 0.1, 0.02, 0.01])
def test_threshold_matches_a_brute_force_crossing_search(p: float) -> None:
    law = GeometricSum(base=SHIFTED, p=p)
    assert critical_kappa(law) == pytest.approx(_brute_force_threshold(p, 0.5), rel=1e-9)


@pytest.mark.parametrize(("p", "documented"), [(0.3, 2.56), (0.01, 2.66)])
def test_the_documented_thresholds(p: float, documented: float) -> None:
    """docs/sparsification.md: q κ*(S) = 2.56 at q = 0.3 and 2.66 at q = 0.01 (two
    decimals; pinned to the brute-force search above)."""
    assert round(p * _brute_force_threshold(p, 0.5), 2) == documented


def test_deterministic_rounds_have_a_pole_and_a_threshold() -> None:
    """Bounded rounds: the pole (1 − p) e^{−x} = 1 is at x = ln(1 − p), and the threshold
    is the smallest crossing of p u / (1 − (1 − p) u), u = e^{−iω p} (rounds of mean p)."""
    law = GeometricSum(base=delays.Deterministic(value=1.0), p=0.3)
    assert law.laplace_abscissa == pytest.approx(math.log(0.7), rel=1e-12)
    grid = np.linspace(1e-6, 200.0, 400_000)

    def phi(w: np.ndarray) -> np.ndarray:
        u = np.exp(-1j * w * 0.3)
        return 0.3 * u / (1.0 - 0.7 * u)

    re = phi(grid).real
    crossings = []
    for i in np.flatnonzero(np.sign(re[:-1]) != np.sign(re[1:])):
        w = optimize.brentq(lambda x: float(phi(np.array([x]))[0].real), grid[i], grid[i + 1],
                            xtol=1e-14)
        im = float(phi(np.array([w]))[0].imag)
        if im < 0:
            crossings.append(-w / im)
    assert critical_kappa(law) == pytest.approx(min(crossings), rel=1e-9)


def test_threshold_search_reaches_thresholds_of_order_one_over_p() -> None:
    """In units of E[X]/p the threshold is ~2.7/p: the search scales with kappa_scale."""
    law = GeometricSum(base=SHIFTED, p=0.01)
    assert law.kappa_scale == pytest.approx(100.0)
    assert 2.0 < 0.01 * critical_kappa(law) < 3.0


def test_one_round_is_the_base_law() -> None:
    law = GeometricSum(base=SHIFTED, p=1.0)
    x = np.linspace(0.0, 5.0, 11)
    np.testing.assert_allclose(law.cdf(x), SHIFTED.cdf(x), atol=1e-15)
    assert critical_kappa(law) == pytest.approx(critical_kappa(SHIFTED), rel=1e-12)
    assert stationary_variance(1.0, law) == pytest.approx(stationary_variance(1.0, SHIFTED),
                                                          rel=1e-12)


def test_scaling_and_errors() -> None:
    law = GeometricSum(base=SHIFTED, p=0.3)
    assert law.scaled(2.0).mean == pytest.approx(2.0 * law.mean)
    assert law.normalized().mean == pytest.approx(1.0)
    with pytest.raises(ValueError, match="p must be"):
        GeometricSum(base=SHIFTED, p=0.0)
    with pytest.raises(ValueError, match="p must be"):
        GeometricSum(base=SHIFTED, p=1.5)
    with pytest.raises(ValueError, match="finite variance"):
        GeometricSum(base=delays.parse("pareto:shape=1.5,mean=1"), p=0.5)
    with pytest.raises(ValueError, match="p must be"):
        GeometricSum(base=SHIFTED, p=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="density or be deterministic"):
        GeometricSum(base=delays.two_point(time=1.0, p=0.1, slowdown=3.0), p=0.5)


@settings(max_examples=30, deadline=None)
@given(p=st.floats(0.02, 1.0), shift=st.floats(0.0, 0.9),
       omega=st.floats(0.0, 50.0))
def test_transform_laws(p: float, shift: float, omega: float) -> None:
    """φ(0) = 1, |φ(iω)| <= 1, E[S] = E[X]/p and the cdf is a distribution function."""
    base = delays.shifted_exponential(mean=1.0, shift=shift) if shift > 0 else \
        delays.Exponential(scale=1.0)
    law = GeometricSum(base=base, p=p)
    assert complex(law.laplace(0.0)) == 1.0
    assert abs(complex(law.laplace(1j * omega))) <= 1.0 + 1e-12
    assert law.mean == pytest.approx(1.0 / p, rel=1e-12)
    x = np.linspace(0.0, 20.0 / p, 50)
    cdf = np.asarray(law.cdf(x))
    assert np.all(np.diff(cdf) >= -1e-14) and cdf[0] >= 0.0 and cdf[-1] <= 1.0 + 1e-12

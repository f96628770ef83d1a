"""Computation-time laws (``sdde.delays``) checked against independent answers.

Tiers, as in STYLE.md ("a tier for each way of knowing the truth"):

1. closed forms and ``scipy.stats`` oracles built here from the textbook parametrisation
   (never the law's private ``_dist``): moments, cdf/sf/pdf, quantiles;
2. high-precision references (mpmath at 20-30 digits) for the Laplace transforms that
   the library computes by quadrature;
3. statistics with a fixed seed (KS / chi-square p-values, means within 5 standard errors).

Every tolerance carries a comment saying where it comes from.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from sdde import delays
from sdde._numerics import laplace_by_quadrature
from sdde.delays import (
    DelayLaw,
    Deterministic,
    Empirical,
    Equilibrium,
    Exponential,
    Gamma,
    LogNormal,
    Mixture,
    Pareto,
    Shifted,
    Uniform,
    Weibull,
    erlang,
    shifted_exponential,
    two_point,
)

REPO = Path(__file__).resolve().parents[2]
DURATIONS = Path(__file__).resolve().parents[1] / "data" / "durations.txt"

#: KS / chi-square acceptance threshold. With a correct sampler the p-value is uniform, so
#: a given seed fails with probability 1e-4 per test; with n = 20000 draws the KS test still
#: rejects any sampler whose cdf is off by more than ~0.016 anywhere (sqrt(ln(2/1e-4)/2n)).
P_MIN = 1e-4
N_DRAWS = 20_000
#: Means within 5 standard errors: a false failure has normal-tail probability ~6e-7.
N_SE = 5.0

#: Absolute accuracy the library promises for Laplace transforms (sdde/_numerics.py:
#: "three orders of magnitude below the 1e-10 the library promises").
LAPLACE_ATOL = 1e-10
LAPLACE_Z = (0.0, 0.5, 3j, 1 + 40j, 0.01 + 200j, 25.0, 2 - 7j)


# ------------------------------------------------------------------------- oracles
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(10)


def cumulative_integral(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, lower: float,
                        breaks: tuple[float, ...] = (), n_fill: int = 4000) -> np.ndarray:
    """``∫_lower^x f`` at every ``x`` (any order) by a vectorised composite Gauss–Legendre rule.

    Panels: the gaps of ``x ∪ breaks ∪ (n_fill uniform points)``, 10 nodes each, so a
    density that jumps at a break is integrated exactly piecewise. Independent of the
    library (which uses QUADPACK); used for KS oracles, where it evaluates thousands of
    points in one numpy call. Panels are <= (max x - lower)/n_fill wide: for the smooth
    integrands here the rule is exact to rounding; at an integrable singularity at
    ``lower`` (x·pdf ~ x^0.5) only the first panel is inexact, and its whole mass is
    ~1e-4 at most here, far below the KS resolution (0.016).
    """
    x = np.asarray(x, dtype=np.float64)
    top = float(np.max(x[np.isfinite(x)], initial=lower))
    grid = np.unique(np.concatenate([[lower], np.asarray(breaks, dtype=np.float64),
                                     x.ravel(), np.linspace(lower, top, n_fill)]))
    grid = grid[(grid >= lower) & (grid <= top)]
    a, b = grid[:-1, None], grid[1:, None]
    half = 0.5 * (b - a)
    nodes = a + half * (_GL_NODES + 1.0)
    pieces = half[:, 0] * (np.asarray(f(nodes), dtype=np.float64) @ _GL_WEIGHTS)
    cum = np.concatenate([[0.0], np.cumsum(pieces)])
    idx = np.clip(np.searchsorted(grid, x), 0, grid.size - 1)
    return np.where(x <= lower, 0.0, cum[idx])


def quad_to(f: Callable[[float], float], x: np.ndarray, lower: float,
            breaks: tuple[float, ...] = ()) -> np.ndarray:
    """``∫_lower^x f`` point by point with QUADPACK at 1e-15 abs / 1e-13 rel (few points)."""
    out = []
    for xi in np.ravel(np.asarray(x, dtype=np.float64)):
        if xi <= lower:
            out.append(0.0)
            continue
        pts = [b for b in breaks if lower < b < xi]
        out.append(integrate.quad(f, lower, xi, points=pts or None, limit=500,
                                  epsabs=1e-15, epsrel=1e-13)[0])
    return np.reshape(out, np.shape(x))


@dataclass(frozen=True)
class Oracle:
    """Independent description of a law: closed-form moments and distribution functions."""

    raw: Callable[[int], float]                  # E[X**n], closed form
    cdf: Callable[[np.ndarray], np.ndarray]
    sf: Callable[[np.ndarray], np.ndarray]
    pdf: Callable[[np.ndarray], np.ndarray] | None = None     # None: purely atomic
    ppf: Callable[[np.ndarray], np.ndarray] | None = None     # generalised inverse
    lower: float = 0.0                           # left end of the support
    breaks: tuple[float, ...] = ()               # where the density jumps
    atoms: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def mean(self) -> float:
        return self.raw(1)

    @property
    def var(self) -> float:
        return self.raw(2) - self.raw(1) ** 2

    #: cdf at many points at once (for KS tests); defaults to ``cdf``.
    cdf_many: Callable[[np.ndarray], np.ndarray] | None = None

    def ks_cdf(self, x: np.ndarray) -> np.ndarray:
        return (self.cdf_many or self.cdf)(x)

    def lb_cdf(self, x: np.ndarray) -> np.ndarray:
        """Length-biased cdf ``∫ u f(u) du / E[X]`` by quadrature of the oracle density."""
        assert self.pdf is not None
        pdf = self.pdf
        return cumulative_integral(lambda u: u * pdf(u) / self.mean, x, self.lower,
                                   self.breaks)


def scipy_oracle(dist: Any, raw: Callable[[int], float], *, breaks: tuple[float, ...] = ()
                 ) -> Oracle:
    return Oracle(raw=raw, cdf=dist.cdf, sf=dist.sf, pdf=dist.pdf, ppf=dist.ppf,
                  lower=float(dist.support()[0]), breaks=breaks)


def atomic_oracle(points: np.ndarray, masses: np.ndarray,
                  ppf: Callable[[np.ndarray], np.ndarray]) -> Oracle:
    pts, mass = np.asarray(points, dtype=np.float64), np.asarray(masses, dtype=np.float64)

    def cdf(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.sum(mass * (pts <= x[..., None]), axis=-1)

    def sf(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.sum(mass * (pts > x[..., None]), axis=-1)

    return Oracle(raw=lambda n: float(np.sum(mass * pts**n)), cdf=cdf, sf=sf, ppf=ppf,
                  lower=float(pts.min()), atoms=(pts, mass))


def mixture_oracle(parts: list[tuple[float, Oracle]]) -> Oracle:
    def cdf(x: np.ndarray) -> np.ndarray:
        return sum(w * o.cdf(x) for w, o in parts)

    def pdf(x: np.ndarray) -> np.ndarray:
        return sum(w * o.pdf(x) for w, o in parts)  # type: ignore[misc]

    def ppf(q: np.ndarray) -> np.ndarray:
        # brentq on the oracle cdf: a different root finder from the library's bisection.
        return np.array([optimize.brentq(lambda x, qi=qi: float(cdf(x)) - qi, 1e-12, 1e3,
                                         xtol=1e-15, rtol=1e-15) for qi in np.ravel(q)])

    return Oracle(raw=lambda n: sum(w * o.raw(n) for w, o in parts), cdf=cdf,
                  sf=lambda x: 1.0 - cdf(x), pdf=pdf, ppf=ppf,
                  lower=min(o.lower for _, o in parts))


def equilibrium_oracle(base: Oracle, breaks: tuple[float, ...] = ()) -> Oracle:
    """Density ``sf(y) / E[X]``; cdf by quadrature of the base oracle's sf."""
    m = base.mean

    def pdf(y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        return np.where(y >= 0, base.sf(y), 0.0) / m

    def cdf(y: np.ndarray) -> np.ndarray:
        return quad_to(lambda u: float(base.sf(u)) / m, np.asarray(y), 0.0, breaks)

    def cdf_many(y: np.ndarray) -> np.ndarray:
        return cumulative_integral(lambda u: base.sf(u) / m, np.asarray(y), 0.0, breaks)

    def ppf(q: np.ndarray) -> np.ndarray:
        return np.array([optimize.brentq(lambda y, qi=qi: float(cdf(np.array([y]))[0]) - qi,
                                         1e-12, 1e3, xtol=1e-14, rtol=1e-15)
                         for qi in np.ravel(q)])

    return Oracle(raw=lambda n: base.raw(n + 1) / ((n + 1) * m), cdf=cdf,
                  sf=lambda y: 1.0 - cdf(y), pdf=pdf, ppf=ppf, lower=0.0, breaks=breaks,
                  cdf_many=cdf_many)


# Closed-form raw moments E[X**n], written from the textbook definitions.
def exp_raw(theta: float) -> Callable[[int], float]:
    return lambda n: math.factorial(n) * theta**n


def gamma_raw(k: float, theta: float) -> Callable[[int], float]:
    return lambda n: theta**n * math.prod(k + i for i in range(n))


def uniform_raw(a: float, b: float) -> Callable[[int], float]:
    return lambda n: (b ** (n + 1) - a ** (n + 1)) / ((n + 1) * (b - a))


def lognormal_raw(mu: float, sigma: float) -> Callable[[int], float]:
    return lambda n: math.exp(n * mu + 0.5 * n * n * sigma * sigma)


def weibull_raw(k: float, lam: float) -> Callable[[int], float]:
    return lambda n: lam**n * math.gamma(1.0 + n / k)


def pareto_raw(alpha: float, xm: float) -> Callable[[int], float]:
    return lambda n: alpha * xm**n / (alpha - n) if n < alpha else math.inf


def shifted_exp_raw(c: float, theta: float) -> Callable[[int], float]:
    return lambda n: sum(math.comb(n, j) * c ** (n - j) * math.factorial(j) * theta**j
                         for j in range(n + 1))


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[], DelayLaw]
    oracle: Callable[[], Oracle]
    #: Tolerances for cdf/sf/pdf. Default: both sides are scipy/numpy evaluations of the
    #: same function whose parameters may differ by a few ulp (e.g. exp(mu) vs mean/sqrt(1+cv²)),
    #: which moves values by ~1e-15 relative times x·f'/f (< 100 at our points): 1e-12 rel.
    rtol: float = 1e-12
    atol: float = 1e-15

    @property
    def continuous(self) -> bool:
        return self.oracle().atoms is None


# Equilibrium cdfs are quadratures on both sides: the library asks QUADPACK for 1e-13
# absolute / 1e-12 relative of ∫F, the oracle for 1e-15 / 1e-13 of ∫sf; the difference
# of the two, divided by E[X] ~ 1, stays below 1e-11.
EQ_TOL = {"rtol": 1e-11, "atol": 1e-11}

_SAMPLES = np.loadtxt(DURATIONS)  # numpy's own reader: skips '#' comments and blank lines
_UNIQ, _COUNTS = np.unique(_SAMPLES, return_counts=True)
_TP = {"time": 0.8, "p": 0.05, "slowdown": 10.0}
_MIX_PARTS = [(0.7, scipy_oracle(stats.gamma(2.0, scale=0.3), gamma_raw(2.0, 0.3))),
              (0.3, scipy_oracle(stats.lognorm(0.4, scale=math.exp(0.5)),
                                 lognormal_raw(0.5, 0.4)))]


def _two_point_ppf(q: np.ndarray) -> np.ndarray:
    t, p, s = _TP["time"], _TP["p"], _TP["slowdown"]
    return np.where(np.asarray(q) <= 1 - p, t, s * t)


def _eq_uniform_oracle(b: float) -> Oracle:
    # Equilibrium of Uniform(0, b): density 2(b - y)/b² on [0, b].
    return Oracle(
        raw=lambda n: 2.0 * b**n / ((n + 1) * (n + 2)),
        cdf=lambda y: np.clip(1.0 - (1.0 - np.clip(y, 0, b) / b) ** 2, 0.0, 1.0),
        sf=lambda y: (1.0 - np.clip(y, 0, b) / b) ** 2,
        pdf=lambda y: np.where((y >= 0) & (y <= b), 2.0 * (b - y) / b**2, 0.0),
        ppf=lambda q: b * (1.0 - np.sqrt(1.0 - np.asarray(q))),
        lower=0.0, breaks=(b,),
    )


CASES = [
    Case("deterministic", lambda: Deterministic(value=1.7),
         lambda: atomic_oracle(np.array([1.7]), np.array([1.0]),
                               lambda q: np.full(np.shape(q), 1.7))),
    Case("exponential", lambda: Exponential(scale=1.7),
         lambda: scipy_oracle(stats.expon(scale=1.7), exp_raw(1.7))),
    Case("gamma-k0.5", lambda: Gamma(shape=0.5, scale=2.0),
         lambda: scipy_oracle(stats.gamma(0.5, scale=2.0), gamma_raw(0.5, 2.0))),
    Case("gamma-k3", lambda: Gamma(shape=3.0, scale=0.4),
         lambda: scipy_oracle(stats.gamma(3.0, scale=0.4), gamma_raw(3.0, 0.4))),
    Case("gamma-from-mean", lambda: Gamma.from_mean(shape=1.5, mean=2.0),
         lambda: scipy_oracle(stats.gamma(1.5, scale=2.0 / 1.5), gamma_raw(1.5, 2.0 / 1.5))),
    Case("erlang", lambda: erlang(4, mean=1.2),
         lambda: scipy_oracle(stats.erlang(4, scale=0.3), gamma_raw(4.0, 0.3))),
    Case("uniform", lambda: Uniform(low=0.5, high=2.0),
         lambda: scipy_oracle(stats.uniform(0.5, 1.5), uniform_raw(0.5, 2.0),
                              breaks=(0.5, 2.0))),
    Case("lognormal", lambda: LogNormal(mu=-0.2, sigma=0.8),
         lambda: scipy_oracle(stats.lognorm(0.8, scale=math.exp(-0.2)),
                              lognormal_raw(-0.2, 0.8))),
    # mean m, cv c  <=>  sigma² = log(1 + c²), exp(mu) = m / sqrt(1 + c²)
    Case("lognormal-mean-cv", lambda: LogNormal.from_mean_cv(mean=2.0, cv=0.7),
         lambda: scipy_oracle(stats.lognorm(math.sqrt(math.log(1.49)), scale=2.0 / 1.49**0.5),
                              lognormal_raw(math.log(2.0 / 1.49**0.5), math.sqrt(math.log(1.49))))),
    Case("weibull-k0.6", lambda: Weibull(shape=0.6, scale=1.3),
         lambda: scipy_oracle(stats.weibull_min(0.6, scale=1.3), weibull_raw(0.6, 1.3))),
    Case("weibull-from-mean", lambda: Weibull.from_mean(shape=2.5, mean=1.5),
         lambda: scipy_oracle(stats.weibull_min(2.5, scale=1.5 / math.gamma(1.4)),
                              weibull_raw(2.5, 1.5 / math.gamma(1.4)))),
    Case("pareto", lambda: Pareto(shape=3.5, scale=0.6),
         lambda: scipy_oracle(stats.pareto(3.5, scale=0.6), pareto_raw(3.5, 0.6),
                              breaks=(0.6,))),
    # mean = α x_m / (α - 1)  =>  x_m = 1.0 · 1.5 / 2.5 = 0.6; third moment infinite.
    Case("pareto-from-mean", lambda: Pareto.from_mean(shape=2.5, mean=1.0),
         lambda: scipy_oracle(stats.pareto(2.5, scale=0.6), pareto_raw(2.5, 0.6),
                              breaks=(0.6,))),
    Case("shifted-exp", lambda: shifted_exponential(shift=0.4, mean=1.1),
         lambda: scipy_oracle(stats.expon(loc=0.4, scale=0.7), shifted_exp_raw(0.4, 0.7),
                              breaks=(0.4,))),
    Case("two-point", lambda: two_point(**_TP),
         lambda: atomic_oracle(np.array([0.8, 8.0]), np.array([0.95, 0.05]), _two_point_ppf)),
    Case("mixture", lambda: Mixture(components=(Gamma(shape=2.0, scale=0.3),
                                                LogNormal(mu=0.5, sigma=0.4)),
                                    weights=(0.7, 0.3)),
         lambda: mixture_oracle(_MIX_PARTS),
         # the library's quantile is a bisection to 1e-13 relative on this cdf
         rtol=1e-11),
    Case("empirical", lambda: Empirical.from_file(DURATIONS),
         lambda: atomic_oracle(_UNIQ, _COUNTS / _SAMPLES.size,
                               lambda q: np.quantile(_SAMPLES, q, method="inverted_cdf"))),
    # Equilibrium of an exponential law is the same exponential law (memorylessness).
    Case("equilibrium-exponential", lambda: Exponential(scale=1.7).equilibrium(),
         lambda: scipy_oracle(stats.expon(scale=1.7), exp_raw(1.7)), **EQ_TOL),
    # Equilibrium of a point delay c is Uniform(0, c).
    Case("equilibrium-deterministic", lambda: Deterministic(value=1.7).equilibrium(),
         lambda: scipy_oracle(stats.uniform(0.0, 1.7), uniform_raw(0.0, 1.7),
                              breaks=(0.0, 1.7)), **EQ_TOL),
    Case("equilibrium-uniform", lambda: Uniform(low=0.0, high=2.0).equilibrium(),
         lambda: _eq_uniform_oracle(2.0), **EQ_TOL),
    Case("equilibrium-gamma", lambda: Gamma(shape=2.0, scale=0.5).equilibrium(),
         lambda: equilibrium_oracle(scipy_oracle(stats.gamma(2.0, scale=0.5),
                                                 gamma_raw(2.0, 0.5))),
         **EQ_TOL),
    Case("equilibrium-pareto", lambda: Pareto(shape=3.5, scale=0.6).equilibrium(),
         lambda: equilibrium_oracle(scipy_oracle(stats.pareto(3.5, scale=0.6),
                                                 pareto_raw(3.5, 0.6)), breaks=(0.6,)),
         **EQ_TOL),
    Case("equilibrium-two-point", lambda: two_point(**_TP).equilibrium(),
         lambda: equilibrium_oracle(atomic_oracle(np.array([0.8, 8.0]),
                                                  np.array([0.95, 0.05]), _two_point_ppf),
                                    breaks=(0.8, 8.0)),
         **EQ_TOL),
]
CASE_IDS = [c.id for c in CASES]
CONTINUOUS = [c for c in CASES if c.continuous]
ATOMIC = [c for c in CASES if not c.continuous]


@functools.cache
def oracle_of(case_id: str) -> Oracle:
    return next(c for c in CASES if c.id == case_id).oracle()


def eval_points(case: Case) -> np.ndarray:
    """Points below, inside (quantiles 0.1% … 99.9%) and beyond the support, or the atoms."""
    o = oracle_of(case.id)
    if o.atoms is not None:
        pts = o.atoms[0]
        mids = 0.5 * (pts[:-1] + pts[1:])
        return np.concatenate([[-1.0, 0.0, 0.5 * pts[0]], pts, mids, [2 * pts[-1]]])
    assert o.ppf is not None
    inner = o.ppf(np.array([1e-3, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999]))
    return np.concatenate([[-1.0, 0.5 * o.lower], inner])


# ----------------------------------------------------------------------- 1. families
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_moments_match_closed_forms(case: Case) -> None:
    """mean, var, cv, E[X²], E[X³] against the textbook raw moments."""
    law, o = case.make(), oracle_of(case.id)
    # Both sides are a handful of Γ/exp/power evaluations (a few ulp each); variances
    # subtract numbers of size E[X²] (cv >= 0.2 here, so at most 25x cancellation).
    # 1e-12 relative leaves ~1000x margin over the rounding error.
    assert law.mean == pytest.approx(o.mean, rel=1e-12)
    assert law.raw_moment(2) == pytest.approx(o.raw(2), rel=1e-12)
    assert law.raw_moment(3) == pytest.approx(o.raw(3), rel=1e-12)
    assert law.var == pytest.approx(o.var, rel=1e-12, abs=1e-14 * o.raw(2))
    assert law.cv == pytest.approx(math.sqrt(o.var) / o.mean, rel=1e-12, abs=1e-15)
    assert law.std == pytest.approx(math.sqrt(o.var), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cdf_sf_pdf_match_oracle(case: Case) -> None:
    """cdf/sf/pdf at points across (and outside) the support against the oracle."""
    law, o = case.make(), oracle_of(case.id)
    x = eval_points(case)
    tol = {"rtol": case.rtol, "atol": case.atol}
    np.testing.assert_allclose(law.cdf(x), o.cdf(x), **tol)
    np.testing.assert_allclose(law.sf(x), o.sf(x), **tol)
    np.testing.assert_allclose(np.asarray(law.cdf(x)) + np.asarray(law.sf(x)), 1.0,
                               atol=1e-15 + case.atol)
    if o.pdf is None:
        with pytest.raises(ValueError, match="atomic"):
            law.pdf(x)
        assert law.continuous_mass == 0.0
    else:
        inside = x[(x != o.lower) & ~np.isin(x, o.breaks)]  # skip jumps of the density
        np.testing.assert_allclose(law.pdf(inside), o.pdf(inside), **tol)
        assert law.continuous_mass == 1.0
    # scalar in, scalar out
    assert np.ndim(law.cdf(float(x[3]))) == 0


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_quantile_matches_oracle(case: Case) -> None:
    """quantile at several levels = oracle's generalised inverse; quantile(cdf(x)) = x."""
    law, o = case.make(), oracle_of(case.id)
    assert o.ppf is not None
    if o.atoms is not None:
        # Atomic laws: levels on both sides of each jump and on it (0.95 = 1 - p).
        levels = np.array([0.0, 0.01, 0.3, 0.5, 0.9, 0.95, 0.97, 1.0])
        np.testing.assert_array_equal(law.quantile(levels), o.ppf(levels))
        return
    levels = np.array([1e-3, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999])
    want = o.ppf(levels)
    # Scipy ppf (exact to ~1e-15) or the library's bisection to 1e-13 relative; for the
    # oracles that invert a quadrature cdf by brentq, the cdf error 1e-12 moves the root by
    # 1e-12 / f(x) <= 1e-10 relative at these levels. 1e-9 relative covers all of these.
    np.testing.assert_allclose(law.quantile(levels), want, rtol=1e-9)
    np.testing.assert_allclose(law.quantile(o.cdf(want)), want, rtol=1e-9)
    lo, hi = law.support
    assert law.quantile(0.0) == lo
    assert law.quantile(1.0) == hi
    assert lo == o.lower


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sample_matches_oracle(case: Case, rng: np.random.Generator) -> None:
    """Draws with a fixed seed: KS (continuous) or chi-square on atoms, and mean within 5 SE."""
    law, o = case.make(), oracle_of(case.id)
    x = law.sample(rng, N_DRAWS)
    assert x.shape == (N_DRAWS,) and np.all(x > 0)
    if o.atoms is None:
        assert stats.kstest(x, o.ks_cdf).pvalue > P_MIN
    else:
        pts, mass = o.atoms
        assert np.all(np.isin(x, pts))
        if pts.size > 1:
            counts = np.array([np.sum(x == p) for p in pts])
            assert stats.chisquare(counts, mass * N_DRAWS).pvalue > P_MIN
    se = math.sqrt(o.var / N_DRAWS)
    assert abs(x.mean() - o.mean) <= N_SE * se + 1e-12  # + 1e-12: Deterministic has se = 0
    assert law.sample(rng, (3, 5)).shape == (3, 5)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sample_length_biased_matches_oracle(case: Case, rng: np.random.Generator) -> None:
    """Length-biased draws x dF(x)/E[X]: KS against the quadrature of x·pdf/mean, or
    chi-square on the biased atom masses x·p/E[X]; mean E[X²]/E[X] within 5 SE."""
    law, o = case.make(), oracle_of(case.id)
    n = N_DRAWS
    x = law.sample_length_biased(rng, n)
    assert x.shape == (n,)
    m1, m2, m3 = o.raw(1), o.raw(2), o.raw(3)
    if o.atoms is None:
        assert stats.kstest(x, o.lb_cdf).pvalue > P_MIN
    else:
        pts, mass = o.atoms
        assert np.all(np.isin(x, pts))
        if pts.size > 1:
            counts = np.array([np.sum(x == p) for p in pts])
            assert stats.chisquare(counts, pts * mass / m1 * n).pvalue > P_MIN
    lb_mean = m2 / m1
    if math.isfinite(m3):
        se = math.sqrt(max(m3 / m1 - lb_mean**2, 0.0) / n)
        assert abs(x.mean() - lb_mean) <= N_SE * se + 1e-12


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sample_moment_biased_mean(case: Case, rng: np.random.Generator) -> None:
    """Draws from x² dF(x)/E[X²] have mean E[X³]/E[X²], within 5 SE (when E[X⁴] < ∞)."""
    law, o = case.make(), oracle_of(case.id)
    m2, m3, m4 = o.raw(2), o.raw(3), o.raw(4)
    if not math.isfinite(m2):
        with pytest.raises(ValueError, match="is infinite"):
            law.sample_moment_biased(rng, 10, 2)
        return
    x = law.sample_moment_biased(rng, N_DRAWS, 2)
    assert x.shape == (N_DRAWS,) and np.all(x >= law.support[0])
    if math.isfinite(m4):
        se = math.sqrt(max(m4 / m2 - (m3 / m2) ** 2, 0.0) / N_DRAWS)
        assert abs(x.mean() - m3 / m2) <= N_SE * se + 1e-12


def _cubic_cdf(x: np.ndarray) -> np.ndarray:  # density ∝ x² on [0.5, 2]
    return (np.clip(x, 0.5, 2.0) ** 3 - 0.125) / (8.0 - 0.125)


def _cubic_ppf(u: np.ndarray) -> np.ndarray:
    return (0.125 + u * (8.0 - 0.125)) ** (1.0 / 3.0)


@pytest.mark.parametrize(("law", "ppf", "cdf"), [
    # x² biasing of a gamma law adds 2 to its shape
    (Gamma(shape=1.5, scale=0.7), stats.gamma(3.5, scale=0.7).ppf,
     stats.gamma(3.5, scale=0.7).cdf),
    (Uniform(low=0.5, high=2.0), _cubic_ppf, _cubic_cdf),
], ids=["gamma", "uniform"])
def test_generic_moment_biased_sampler_inverts_exactly(law: DelayLaw, ppf: Callable,
                                                       cdf: Callable) -> None:
    """The default numerical inverter (DelayLaw.sample_moment_biased, bypassing the
    families' exact samplers; ~0.3 s per draw) maps each uniform u to the exact x²-biased
    quantile: the same seed gives the same u. Its root finder stops at xtol 1e-10 and the
    biased cdf is a quadrature to ~1e-12, so 1e-8 relative is ample. The family's own
    sampler must follow the same law (KS, 20 000 draws)."""
    draws = DelayLaw.sample_moment_biased(law, np.random.default_rng(7), 5, 2)
    np.testing.assert_allclose(draws, ppf(np.random.default_rng(7).random(5)), rtol=1e-8)
    x = law.sample_moment_biased(np.random.default_rng(8), N_DRAWS, 2)
    assert stats.kstest(x, cdf).pvalue > P_MIN


def test_moment_biased_order_zero_is_the_law(rng: np.random.Generator) -> None:
    law = two_point(**_TP)
    x = law.sample_moment_biased(rng, N_DRAWS, 0)
    assert abs(np.mean(x == 8.0) - 0.05) <= N_SE * math.sqrt(0.05 * 0.95 / N_DRAWS)


def test_equilibrium_exponential_is_the_same_law() -> None:
    """Memorylessness: the forward-recurrence law of Exp(θ) is Exp(θ) (pdf = sf/mean)."""
    law = Exponential(scale=1.7)
    eq = law.equilibrium()
    x = np.array([0.01, 0.5, 1.0, 3.0, 10.0])
    np.testing.assert_allclose(eq.pdf(x), stats.expon(scale=1.7).pdf(x), rtol=1e-14)
    np.testing.assert_allclose(eq.cdf(x), stats.expon(scale=1.7).cdf(x), rtol=1e-11)
    assert eq.mean == pytest.approx(1.7, rel=1e-14)


def test_trace_file_matches_numpy() -> None:
    """The trace reader against numpy.loadtxt on the same file (comments and blank lines)."""
    law = Empirical.from_file(DURATIONS)
    assert law.samples.size == _SAMPLES.size == 50
    np.testing.assert_array_equal(law.samples, np.sort(_SAMPLES))
    assert law.mean == pytest.approx(_SAMPLES.mean(), rel=1e-15)
    assert law.var == pytest.approx(_SAMPLES.var(), rel=1e-13)
    assert str(law) == f"trace:{DURATIONS}"
    assert not law.samples.flags.writeable


# --------------------------------------------------------------------- 2. transforms
def _uniform_phi(a: float, b: float) -> Callable[[np.ndarray], np.ndarray]:
    def phi(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.complex128)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = (np.exp(-z * a) - np.exp(-z * b)) / (z * (b - a))
        return np.where(z == 0, 1.0, v)
    return phi


def _eq_phi(phi: Callable[[np.ndarray], np.ndarray], mean: float
            ) -> Callable[[np.ndarray], np.ndarray]:
    def phi_e(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.complex128)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = (1.0 - phi(z)) / (mean * z)
        return np.where(z == 0, 1.0, v)
    return phi_e


def _gamma_phi(k: float, theta: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda z: (1.0 + theta * np.asarray(z, dtype=np.complex128)) ** (-k)


CLOSED_FORM_LAPLACE = [
    ("exponential", lambda: Exponential(scale=1.7), lambda z: 1.0 / (1.0 + 1.7 * z)),
    ("gamma-k0.5", lambda: Gamma(shape=0.5, scale=2.0), _gamma_phi(0.5, 2.0)),
    ("gamma-k3", lambda: Gamma(shape=3.0, scale=0.4), _gamma_phi(3.0, 0.4)),
    ("erlang", lambda: erlang(4, mean=1.2), _gamma_phi(4.0, 0.3)),
    ("deterministic", lambda: Deterministic(value=1.7), lambda z: np.exp(-1.7 * z)),
    ("uniform", lambda: Uniform(low=0.5, high=2.0), _uniform_phi(0.5, 2.0)),
    ("uniform-from-0", lambda: Uniform(low=0.0, high=2.0), _uniform_phi(0.0, 2.0)),
    ("shifted-exp", lambda: shifted_exponential(shift=0.4, mean=1.1),
     lambda z: np.exp(-0.4 * z) / (1.0 + 0.7 * z)),
    ("two-point", lambda: two_point(**_TP),
     lambda z: 0.95 * np.exp(-0.8 * z) + 0.05 * np.exp(-8.0 * z)),
    ("mixture", lambda: Mixture(components=(Gamma(shape=2.0, scale=0.3),
                                            Uniform(low=0.5, high=2.0)), weights=(0.6, 0.4)),
     lambda z: 0.6 * _gamma_phi(2.0, 0.3)(z) + 0.4 * _uniform_phi(0.5, 2.0)(z)),
    ("empirical", lambda: Empirical.from_file(DURATIONS),
     lambda z: np.array([np.mean(np.exp(-zi * _SAMPLES)) for zi in np.atleast_1d(z)])),
    ("weibull-k1", lambda: Weibull(shape=1.0, scale=1.3), lambda z: 1.0 / (1.0 + 1.3 * z)),
    # Weibull(2, λ): φ(z) = 1 - (√π/2) λz erfcx(λz/2) (complete the square in the integral).
    ("weibull-k2", lambda: Weibull(shape=2.0, scale=1.3),
     lambda z: 1.0 - 0.5 * math.sqrt(math.pi) * 1.3 * z * special.erfcx(1.3 * z / 2.0)),
    # Weibull(1/2, λ): X = λE² with E ~ Exp(1), so φ(z) = ∫ e^{-u - λz u²} du
    #                  = √π/(2√(λz)) · erfcx(1/(2√(λz)))   (principal root, Re √ > 0).
    ("weibull-k0.5", lambda: Weibull(shape=0.5, scale=0.7),
     lambda z: 0.5 * math.sqrt(math.pi) / np.sqrt(0.7 * np.asarray(z, dtype=complex))
     * special.erfcx(0.5 / np.sqrt(0.7 * np.asarray(z, dtype=complex)))),
    ("equilibrium-exponential", lambda: Exponential(scale=1.7).equilibrium(),
     lambda z: 1.0 / (1.0 + 1.7 * z)),
    ("equilibrium-deterministic", lambda: Deterministic(value=1.7).equilibrium(),
     _uniform_phi(0.0, 1.7)),
    ("equilibrium-uniform", lambda: Uniform(low=0.0, high=2.0).equilibrium(),
     _eq_phi(_uniform_phi(0.0, 2.0), 1.0)),
    ("equilibrium-gamma", lambda: Gamma(shape=2.0, scale=0.5).equilibrium(),
     _eq_phi(_gamma_phi(2.0, 0.5), 1.0)),
    ("equilibrium-two-point", lambda: two_point(**_TP).equilibrium(),
     _eq_phi(lambda z: 0.95 * np.exp(-0.8 * z) + 0.05 * np.exp(-8.0 * z),
             0.95 * 0.8 + 0.05 * 8.0)),
]


@pytest.mark.parametrize(("make", "phi"), [c[1:] for c in CLOSED_FORM_LAPLACE],
                         ids=[c[0] for c in CLOSED_FORM_LAPLACE])
def test_laplace_matches_closed_form(make: Callable[[], DelayLaw],
                                     phi: Callable[[np.ndarray], np.ndarray]) -> None:
    """φ(z) against closed forms on Re z >= 0, including |Im z| up to 200."""
    law = make()
    z = np.array([zi for zi in LAPLACE_Z if zi != 0], dtype=np.complex128)
    got = law.laplace(z)
    assert got.shape == z.shape
    # Closed forms are evaluated to ~1e-15; the library promises 1e-10 absolute.
    np.testing.assert_allclose(got, phi(z), rtol=0, atol=LAPLACE_ATOL)
    assert law.laplace(0) == 1.0


@functools.cache
def pareto_phi_mp(alpha: float, xm: float, z: complex) -> complex:
    """φ(z) = α (x_m z)^α Γ(-α, x_m z) at 30 digits (upper incomplete gamma, principal branch)."""
    if z == 0:
        return 1.0 + 0j
    with mpmath.workdps(30):
        w = mpmath.mpf(xm) * mpmath.mpc(z)
        return complex(alpha * w**alpha * mpmath.gammainc(-alpha, w))


@functools.cache
def lognormal_phi_mp(mu: float, sigma: float, z: complex) -> complex:
    """φ(z) = ∫_0^∞ e^{-zx} f(x) dx for the lognormal density f, at 25 digits with mpmath.

    The density is analytic off the negative axis and e^{-zx} decays in the sector between
    arg x = 0 and arg x = -arg z, so the path can be turned onto the ray x = r e^{-i arg z},
    where zx = |z| r is real: no oscillation even for |Im z| = 200. With r = e^u,

        φ(z) = ∫ exp(-|z| e^u - (u - i arg z - mu)² / (2σ²)) du / (σ √(2π)).

    The Gaussian factor is < e^{-70} outside mu ± 12σ. mpmath's error estimate certifies it.
    """
    if z == 0:
        return 1.0 + 0j
    with mpmath.workdps(25):
        zc = mpmath.mpc(z)
        radius, angle = abs(zc), mpmath.arg(zc)
        norm = 1 / (sigma * mpmath.sqrt(2 * mpmath.pi))

        def f(u: Any) -> Any:
            return norm * mpmath.exp(-radius * mpmath.exp(u)
                                     - (u - 1j * angle - mu) ** 2 / (2 * sigma**2))

        cuts = {mu + k * sigma for k in range(-12, 13)}
        if abs(math.log(abs(z)) + mu) < 12 * sigma:
            cuts.add(-math.log(abs(z)))  # where |z| e^u ~ 1 the damping sets in
        value, err = mpmath.quad(f, sorted(cuts), error=True)
        assert err < 1e-20
        return complex(value)


QUADRATURE_LAPLACE = [
    ("lognormal", lambda: LogNormal(mu=-0.2, sigma=0.8),
     lambda z: lognormal_phi_mp(-0.2, 0.8, z)),
    ("pareto", lambda: Pareto(shape=3.5, scale=0.6), lambda z: pareto_phi_mp(3.5, 0.6, z)),
    ("pareto-heavy", lambda: Pareto(shape=1.5, scale=2.0), lambda z: pareto_phi_mp(1.5, 2.0, z)),
    # (1 - φ(z)) / (E[X] z) with the 30-digit Pareto φ; E[X] = α x_m / (α - 1).
    ("equilibrium-pareto", lambda: Pareto(shape=3.5, scale=0.6).equilibrium(),
     lambda z: 1.0 if z == 0 else (1 - pareto_phi_mp(3.5, 0.6, z)) / (3.5 * 0.6 / 2.5 * z)),
]


@pytest.mark.parametrize(("make", "phi"), [c[1:] for c in QUADRATURE_LAPLACE],
                         ids=[c[0] for c in QUADRATURE_LAPLACE])
def test_laplace_by_quadrature_families_match_mpmath(
        make: Callable[[], DelayLaw], phi: Callable[[complex], complex]) -> None:
    """The quadrature path (lognormal, Pareto) against 20-30 digit mpmath values."""
    law = make()
    z = np.array(LAPLACE_Z, dtype=np.complex128)
    want = np.array([phi(complex(zi)) for zi in z])
    # The mpmath references are good to ~1e-18; the library promises 1e-10 absolute.
    np.testing.assert_allclose(law.laplace(z), want, rtol=0, atol=LAPLACE_ATOL)


@pytest.mark.parametrize("k", [0.5, 2.0, 7.0])
@pytest.mark.parametrize("z", [
    0.5, 3j, 25.0, 2 - 7j,
    pytest.param(1 + 40j, id="(1+40j)"), pytest.param(0.01 + 200j, id="(0.01+200j)"),
])
def test_laplace_by_quadrature_against_gamma_closed_form(k: float, z: complex) -> None:
    """The private quadrature routine itself, on scipy's gamma density: (1 + θz)^-k."""
    theta = 0.8
    dist = stats.gamma(k, scale=theta)
    got = laplace_by_quadrature(lambda x: float(dist.pdf(x)), complex(z), 0.0, math.inf,
                                float(dist.median()))
    # Documented accuracy "about LAPLACE_EPSABS = 1e-13"; the library's promise is 1e-10.
    assert abs(got - (1.0 + theta * z) ** (-k)) < LAPLACE_ATOL


@pytest.mark.parametrize(("law", "z"), [
    (LogNormal(mu=-0.2, sigma=0.8), 0.7 + 2j),
    (Pareto(shape=3.5, scale=0.6), 0.3 - 5j),
    (Weibull(shape=0.6, scale=1.3), 0.2 + 1j),
], ids=["lognormal", "pareto", "weibull"])
def test_laplace_monte_carlo(law: DelayLaw, z: complex, rng: np.random.Generator) -> None:
    """φ(z) = E[exp(-zX)] against a sample mean of exp(-zX) (own draws), within 5 SE."""
    x = law.sample(rng, 200_000)
    w = np.exp(-z * x)
    got = complex(law.laplace(z))
    se_re, se_im = w.real.std() / math.sqrt(x.size), w.imag.std() / math.sqrt(x.size)
    assert abs(got.real - w.real.mean()) <= N_SE * se_re
    assert abs(got.imag - w.imag.mean()) <= N_SE * se_im


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_laplace_at_zero_is_one_and_bounded(case: Case) -> None:
    """φ(0) = 1 exactly and |φ(z)| <= 1 on Re z >= 0 (it is an expectation of |e^{-zX}| <= 1)."""
    law = case.make()
    assert law.laplace(0) == 1.0
    assert law.laplace(0j) == 1.0
    np.testing.assert_array_equal(law.laplace(np.zeros((2, 3))), np.ones((2, 3)))
    z = np.array([0.3, 4j, 0.1 - 60j, 8 + 1j])
    # 1e-10 slack: the library's promised absolute accuracy.
    assert np.all(np.abs(law.laplace(z)) <= 1.0 + LAPLACE_ATOL)


@pytest.mark.parametrize("law", [
    LogNormal(mu=0.0, sigma=0.5), Pareto(shape=2.5, scale=1.0), Weibull(shape=0.6, scale=1.0),
    LogNormal(mu=0.0, sigma=0.5).equilibrium(), Exponential(scale=2.0),
], ids=["lognormal", "pareto", "weibull-k0.6", "equilibrium-lognormal", "exponential-at-pole"])
@pytest.mark.parametrize("z", [-1e-3, -0.5 + 1j])
def test_laplace_rejects_divergent_arguments(law: DelayLaw, z: complex) -> None:
    """Heavy tails: E[exp(-zX)] = ∞ for Re z < 0; the exponential at Re z <= -1/θ."""
    zz = z if not isinstance(law, Exponential) else z - 0.5  # -1/θ = -0.5
    with pytest.raises(ValueError, match="diverges"):
        law.laplace(zz)


def test_laplace_rejects_non_finite_arguments() -> None:
    with pytest.raises(ValueError, match="finite"):
        Gamma(shape=2.0, scale=1.0).laplace(complex(np.nan, 0))


@pytest.mark.parametrize(("law", "z", "phi"), [
    (Gamma(shape=2.0, scale=0.5), -1.5, _gamma_phi(2.0, 0.5)),
    (Gamma(shape=2.0, scale=0.5), -1.0 + 3j, _gamma_phi(2.0, 0.5)),
    (Exponential(scale=2.0), -0.4, lambda z: 1 / (1 + 2.0 * z)),
    (Uniform(low=0.5, high=2.0), -3.0 + 1j, _uniform_phi(0.5, 2.0)),
    (Deterministic(value=1.7), -2.0, lambda z: np.exp(-1.7 * z)),
    (shifted_exponential(shift=0.4, mean=1.1), -1.0, lambda z: np.exp(-0.4 * z) / (1 + 0.7 * z)),
    (Weibull(shape=2.0, scale=1.0), -0.1,
     lambda z: 1 - 0.5 * math.sqrt(math.pi) * z * special.erfcx(z / 2)),
    pytest.param(Weibull(shape=2.0, scale=1.0), -1.0,
                 lambda z: 1 - 0.5 * math.sqrt(math.pi) * z * special.erfcx(z / 2)),
    pytest.param(Weibull(shape=2.0, scale=1.0), -3.0 + 2j,
                 lambda z: 1 - 0.5 * math.sqrt(math.pi) * z * special.erfcx(z / 2)),
], ids=["gamma", "gamma-complex", "exponential", "uniform", "deterministic", "shifted-exp",
        "weibull-k2-near", "weibull-k2-far", "weibull-k2-complex"])
def test_laplace_left_of_imaginary_axis(law: DelayLaw, z: complex,
                                        phi: Callable[[Any], Any]) -> None:
    """Light tails: φ continues to Re z > abscissa (gamma: -1/θ; uniform etc.: any z)."""
    assert law.laplace_abscissa < z.real
    # Values here reach ~50; 1e-12 relative is ~50 ulp of the closed-form evaluation.
    assert complex(law.laplace(z)) == pytest.approx(complex(phi(z)), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("z", [1e-9, 1e-12, 1e-9j])
def test_equilibrium_laplace_accurate_near_zero(z: complex) -> None:
    """Equilibrium of Exp(θ) is Exp(θ): φ_e(z) = 1/(1 + θz) exactly, also for tiny z."""
    eq = Exponential(scale=1.7).equilibrium()
    assert abs(complex(eq.laplace(z)) - 1 / (1 + 1.7 * z)) < LAPLACE_ATOL


def _weibull2_phi(lam: float) -> Callable[[complex], complex]:
    return lambda z: 1.0 - 0.5 * math.sqrt(math.pi) * lam * z * special.erfcx(lam * z / 2.0)


def _weibull_half_phi(lam: float) -> Callable[[complex], complex]:
    return lambda z: (0.5 * math.sqrt(math.pi) / np.sqrt(lam * complex(z))
                      * special.erfcx(0.5 / np.sqrt(lam * complex(z))))


@pytest.mark.parametrize(("law", "z", "phi"), [
    (Weibull(shape=2.0, scale=1.0), 1e-3j, _weibull2_phi(1.0)),
    (Weibull(shape=2.0, scale=1.0), 1 + 1e-3j, _weibull2_phi(1.0)),
    (Weibull(shape=2.0, scale=1.0), 1e-200j, _weibull2_phi(1.0)),
    (Weibull(shape=0.5, scale=0.7), 1e-8j, _weibull_half_phi(0.7)),
    (Pareto(shape=3.5, scale=0.6), 1e-8j, lambda z: pareto_phi_mp(3.5, 0.6, z)),
    (LogNormal(mu=-0.2, sigma=0.8), 1e-8j, lambda z: lognormal_phi_mp(-0.2, 0.8, z)),
    (LogNormal(mu=-0.2, sigma=0.8), 1e-5j, lambda z: lognormal_phi_mp(-0.2, 0.8, z)),
], ids=["weibull2-1e-3j", "weibull2-1+1e-3j", "weibull2-1e-200j", "weibull0.5-1e-8j",
        "pareto-1e-8j", "lognormal-1e-8j", "lognormal-1e-5j"])
def test_laplace_quadrature_small_imaginary_part(law: DelayLaw, z: complex,
                                                  phi: Callable[[complex], complex]) -> None:
    """Near the real axis (e.g. a Nyquist sweep from ω = 0) against the same references."""
    assert abs(complex(law.laplace(z)) - complex(phi(z))) < LAPLACE_ATOL


@pytest.mark.parametrize("low", [1e-300, 1e-160, 1e-120, 0.0])
def test_uniform_moments_with_tiny_low(low: float) -> None:
    """Regression: scipy's generic moment() expands in powers of scale/loc and overflows
    for a tiny positive low (it gave nan/inf here); closed form (b^{n+1}-a^{n+1})/((n+1)(b-a))."""
    law = Uniform(low=low, high=1.0)
    for n in (1, 2, 3, 4):
        assert law.raw_moment(n) == pytest.approx(1 / (n + 1), rel=1e-14)
    assert law.equilibrium().mean == pytest.approx(1 / 3, rel=1e-14)


@pytest.mark.parametrize("y", [20.0, 40.0])
def test_equilibrium_sf_has_relative_accuracy_in_tail(y: float) -> None:
    """Equilibrium of Exp(1) is Exp(1): sf(y) = e^{-y}; scipy-backed laws meet 1e-12 here."""
    eq = Exponential(scale=1.0).equilibrium()
    assert float(eq.sf(y)) == pytest.approx(math.exp(-y), rel=1e-8, abs=0.0)


# ---------------------------------------------------------- 3. rescaling and shifting
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_normalized_has_mean_one_and_same_cv(case: Case) -> None:
    law = case.make()
    unit = law.normalized()
    assert type(unit) is type(law)
    # Rescaling multiplies every moment by a power of 1/mean: a few roundings.
    assert unit.mean == pytest.approx(1.0, rel=1e-12)
    assert unit.cv == pytest.approx(law.cv, rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_scaled_scales_quantiles_and_moments(case: Case) -> None:
    law, c = case.make(), 2.5
    big = law.scaled(c)
    levels = np.array([0.02, 0.25, 0.5, 0.8, 0.99])
    # Quantiles of both laws come from ppf or from bisection to 1e-13 relative (1e-9 bounds
    # the bisection of quadrature cdfs, as in test_quantile_matches_oracle).
    np.testing.assert_allclose(big.quantile(levels), c * np.asarray(law.quantile(levels)),
                               rtol=1e-9)
    assert big.mean == pytest.approx(c * law.mean, rel=1e-12)
    assert big.raw_moment(2) == pytest.approx(c**2 * law.raw_moment(2), rel=1e-12)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_shifted_adds_to_mean_and_keeps_variance(case: Case) -> None:
    law, c = case.make(), 0.3
    moved = law.shifted(c)
    assert isinstance(moved, Shifted)
    assert moved.mean == pytest.approx(law.mean + c, rel=1e-14)
    assert moved.var == pytest.approx(law.var, rel=1e-14)
    # E[(c + X)²] = c² + 2c E[X] + E[X²]
    want_m2 = c * c + 2 * c * law.mean + law.raw_moment(2)
    assert moved.raw_moment(2) == pytest.approx(want_m2, rel=1e-13)
    x = np.array([0.1, 0.7, 1.3, 4.0])
    np.testing.assert_allclose(moved.cdf(x + c), law.cdf(x), rtol=1e-14, atol=1e-15)
    z = np.array([0.5, 2j])
    np.testing.assert_allclose(moved.laplace(z), np.exp(-c * z) * law.laplace(z),
                               rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("case", [c for c in CASES if math.isfinite(c.oracle().raw(2))],
                         ids=[c.id for c in CASES if math.isfinite(c.oracle().raw(2))])
def test_equilibrium_commutes_with_scaling(case: Case) -> None:
    """Equilibrium(cX) = c · Equilibrium(X): means E[X²]/(2E[X]) scale by c."""
    law, c = case.make(), 3.0
    assert law.scaled(c).equilibrium().mean == pytest.approx(
        c * law.equilibrium().mean, rel=1e-12)
    assert law.equilibrium().scaled(c).mean == pytest.approx(
        c * law.equilibrium().mean, rel=1e-12)


# ------------------------------------------------------------------ 4. spec strings
@pytest.mark.parametrize("spec", [s for s in delays.EXAMPLES if not s.startswith("trace")])
def test_every_example_spec_parses_to_its_stated_mean(spec: str) -> None:
    law = delays.parse(spec)
    fields = dict(kv.split("=") for kv in spec.partition(":")[2].split(","))
    # 'value=1' for the deterministic law and 'low=0.5,high=1.5' for uniform: mean 1 too.
    want = float(fields.get("mean", 1.0))
    assert law.mean == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("spec", "law_type", "mean", "cv"), [
    ("exponential", Exponential, 1.0, 1.0),
    ("exp:rate=4", Exponential, 0.25, 1.0),
    ("det", Deterministic, 1.0, 0.0),
    ("const:value=2.5", Deterministic, 2.5, 0.0),
    ("straggler:p=0.1,slowdown=3", Mixture, 1.0, None),
    ("lognorm:mean=2,cv=0.3", LogNormal, 2.0, 0.3),
    ("LogNormal:Mu=0,Sigma=1", LogNormal, math.exp(0.5), None),
    (" gamma : shape = 4 , mean = 2 ", Gamma, 2.0, 0.5),
    ("gamma:shape=4,scale=0.5", Gamma, 2.0, 0.5),
    ("erlang:k=3", Gamma, 1.0, 1 / math.sqrt(3)),
    ("uniform:cv=0.2,mean=3", Uniform, 3.0, 0.2),
    ("weibull:shape=1", Weibull, 1.0, 1.0),
    ("pareto:shape=3,scale=1", Pareto, 1.5, 1 / math.sqrt(3)),  # cv² = 1/(α(α-2))
    ("shifted-exp:shift=0.2,scale=0.3", Shifted, 0.5, 0.6),
    ("two-point:p=0.25,slowdown=5,time=2", Mixture, 2 * (0.75 + 0.25 * 5), None),
])
def test_parse_forms_and_aliases(spec: str, law_type: type, mean: float,
                                 cv: float | None) -> None:
    """Aliases, alternative key sets, case and whitespace; mean/cv from closed forms."""
    law = delays.parse(spec)
    assert type(law) is law_type
    assert law.mean == pytest.approx(mean, rel=1e-12)
    if cv is not None:
        assert law.cv == pytest.approx(cv, rel=1e-12, abs=1e-15)


def test_parse_two_point_closed_form() -> None:
    """straggler:p,slowdown,mean → atoms t and s·t with t = mean / (1 - p + p s)."""
    law = delays.parse("straggler:p=0.1,slowdown=3,mean=2")
    pts, mass = law.atoms()
    t = 2.0 / (0.9 + 0.3)
    np.testing.assert_allclose(pts, [t, 3 * t], rtol=1e-15)
    np.testing.assert_allclose(mass, [0.9, 0.1], rtol=1e-15)


def test_parse_trace_matches_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    law = delays.parse("trace:tests/data/durations.txt")
    assert isinstance(law, Empirical)
    assert law.mean == pytest.approx(float(np.mean(np.loadtxt(DURATIONS))), rel=1e-15)
    assert law.samples.size == 50


def test_families_lists_every_parseable_family() -> None:
    fams = delays.families()
    assert "trace" in fams
    for fam in fams:
        if fam != "trace":
            assert fam in " ".join(delays.EXAMPLES)


def _write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "trace.txt"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize(("spec", "needles"), [
    ("gamm:shape=2", ["unknown delay family", "gamm", "valid families", "gamma", "pareto",
                      "trace"]),
    ("gamma:shape=2,foo=1", ["foo", "valid forms", "gamma:shape=", "scale"]),
    ("exponential:mean=1,rate=2", ["valid forms", "rate", "mean"]),
    ("uniform:low=0.5", ["valid forms", "high"]),
    ("gamma", ["(none)", "valid forms", "shape"]),
    ("gamma:shape=two", ["shape must be a number", "two"]),
    ("gamma:shape=inf", ["shape must be finite"]),
    ("lognormal:cv=nan", ["cv must be finite"]),
    ("gamma:shape=2,shape=3", ["shape", "given twice"]),
    ("gamma:SHAPE=2,shape=3", ["given twice"]),
    ("gamma:shape", ["expected key=value", "shape"]),
    ("gamma:=2", ["expected key=value"]),
    ("", ["non-empty"]),
    ("   ", ["non-empty"]),
    ("trace", ["trace", "give a file"]),
    ("trace:  ", ["give a file"]),
    ("pareto:shape=1", ["shape", "> 1"]),
    ("gamma:shape=0", ["shape", "> 0"]),
    ("uniform:cv=0.9", ["cv"]),
    ("erlang:k=2.5", ["k", "whole number"]),
    ("lognormal:cv=0", ["cv"]),
    ("weibull:shape=-1,scale=1", ["shape"]),
    ("shifted-exp:shift=1,mean=1", ["mean"]),
    ("two-point:p=1.5,slowdown=10", ["p"]),
    ("two-point:p=0.1,slowdown=0.5", ["slowdown"]),
    # Regressions: these raised ZeroDivisionError, or named the converted parameter
    # ('scale', 'mean', 'deterministic: value') instead of the key the user wrote.
    ("exponential:rate=0", ["rate"]),
    ("two-point:p=2,slowdown=0.5", ["p"]),
    ("exponential:rate=-2", ["rate"]),
    ("shifted-exp:shift=0.5,scale=0", ["scale"]),
    ("two-point:p=0.5,slowdown=-3", ["slowdown"]),
])
def test_parse_errors_name_the_problem(spec: str, needles: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        delays.parse(spec)
    for needle in needles:
        assert needle in str(info.value)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        delays.parse(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "needles"), [
    ("# header\n1.0\n\n2.0 # inline comment\nabc\n", ["line 5", "abc"]),
    ("1.0\n-0.5\n", ["line 2", "> 0", "-0.5"]),
    ("1.0\nnan\n", ["line 2", "nan"]),
    ("\n\n0\n", ["line 3", "> 0"]),
    ("# only a comment\n\n   \n", ["no durations"]),
    ("", ["no durations"]),
    ("1.0 2.0\n", ["line 1"]),
])
def test_trace_file_errors(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        delays.parse(f"trace:{path}")
    for needle in [*needles, path]:
        assert needle in str(info.value)


def test_trace_file_missing(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="cannot read") as info:
        delays.parse(f"trace:{path}")
    assert path in str(info.value)


def test_trace_file_with_comments_reads_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path, "# c\n1.5\n\n 2.5 # slow\n3.5\n")
    law = delays.parse(f"trace:{path}")
    np.testing.assert_array_equal(law.samples, [1.5, 2.5, 3.5])


# ------------------------------------------------------------ constructor validation
@pytest.mark.parametrize(("build", "needle"), [
    (lambda: Deterministic(value=0.0), "value"),
    (lambda: Deterministic(value=-1.0), "value"),
    (lambda: Deterministic(value=math.inf), "value"),
    (lambda: Exponential(scale=0.0), "scale"),
    (lambda: Exponential(scale="abc"), "scale must be a number"),
    (lambda: Gamma(shape=2.0, scale=0.0), "scale"),
    (lambda: Gamma(shape=0.0, scale=1.0), "shape"),
    (lambda: Gamma.from_mean(shape=2.0, mean=-1.0), "mean"),
    (lambda: Uniform(low=1.0, high=1.0), "high"),
    (lambda: Uniform(low=2.0, high=1.0), "high"),
    (lambda: Uniform(low=-0.1, high=1.0), "low"),
    (lambda: LogNormal(mu=0.0, sigma=0.0), "sigma"),
    (lambda: LogNormal(mu=math.nan, sigma=1.0), "mu"),
    (lambda: LogNormal.from_mean_cv(mean=1.0, cv=0.0), "cv"),
    (lambda: LogNormal.from_mean_cv(mean=0.0, cv=0.5), "mean"),
    (lambda: Weibull(shape=-1.0, scale=1.0), "shape"),
    (lambda: Weibull(shape=1.0, scale=math.inf), "scale"),
    (lambda: Weibull.from_mean(shape=0.0, mean=1.0), "shape"),
    (lambda: Pareto(shape=1.0, scale=1.0), "shape"),
    (lambda: Pareto(shape=0.5, scale=1.0), "shape"),
    (lambda: Pareto(shape=2.0, scale=0.0), "scale"),
    (lambda: Pareto.from_mean(shape=1.0, mean=1.0), "shape"),
    (lambda: Pareto.from_mean(shape=2.0, mean=-1.0), "mean"),
    (lambda: erlang(2.5, 1.0), "k"),
    (lambda: erlang(0, 1.0), "k"),
    (lambda: erlang(3, 0.0), "mean"),
    (lambda: shifted_exponential(shift=-0.1, mean=1.0), "shift"),
    (lambda: shifted_exponential(shift=0.5, mean=0.5), "mean"),
    (lambda: Shifted(base=Exponential(scale=1.0), shift=-1.0), "shift"),
    (lambda: Shifted(base=1.0, shift=0.0), "base"),  # type: ignore[arg-type]
    (lambda: Equilibrium(base="x"), "base"),  # type: ignore[arg-type]
    (lambda: Mixture(components=(Exponential(scale=1.0), Exponential(scale=2.0)),
                     weights=(0.5, 0.6)), "sum to 1"),
    (lambda: Mixture(components=(Exponential(scale=1.0),), weights=(0.5, 0.5)),
     "as many weights"),
    (lambda: Mixture(components=(Exponential(scale=1.0), Exponential(scale=2.0)),
                     weights=(1.5, -0.5)), "weights[1]"),
    (lambda: Mixture(components=(Exponential(scale=1.0), 2.0),  # type: ignore[arg-type]
                     weights=(0.5, 0.5)), "DelayLaw"),
    (lambda: two_point(time=1.0, p=0.0, slowdown=10.0), "p must"),
    (lambda: two_point(time=1.0, p=1.0, slowdown=10.0), "p must"),
    (lambda: two_point(time=1.0, p=0.1, slowdown=0.5), "slowdown"),
    # Regression: used to say 'deterministic: value must be ...'.
    (lambda: two_point(time=0.0, p=0.1, slowdown=2.0), "time"),
    (lambda: Empirical(samples=np.array([])), "at least one"),
    (lambda: Empirical(samples=np.array([1.0, np.nan])), "nan"),
    (lambda: Empirical(samples=np.array([1.0, 2.0, -3.0])), "-3"),
    (lambda: Empirical(samples=np.array([1.0, 0.0])), "> 0"),
])
def test_constructor_validation_names_the_parameter(build: Callable[[], Any],
                                                    needle: str) -> None:
    with pytest.raises(ValueError) as info:
        build()
    assert needle in str(info.value)


@pytest.mark.parametrize("law", [Exponential(scale=1.0), two_point(**_TP)],
                         ids=["exponential", "two-point"])
@pytest.mark.parametrize("q", [-0.1, 1.1, math.nan])
def test_quantile_rejects_levels_outside_unit_interval(law: DelayLaw, q: float) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        law.quantile(q)


def test_empirical_of_six_samples_is_purely_atomic() -> None:
    """Regression: continuous_mass was 1 - Σ masses = 1.1e-16 for six samples (masses 1/6
    do not sum to 1 in floating point), and pdf() raised NotImplementedError."""
    law = Empirical(samples=np.arange(1.0, 7.0))
    assert law.continuous_mass == 0.0
    with pytest.raises(ValueError, match="atomic"):
        law.pdf(1.5)


def test_equilibrium_of_infinite_variance_law_is_proper_with_infinite_mean(
        rng: np.random.Generator) -> None:
    """Pareto(1.5) has E[X²] = ∞: its equilibrium law is proper (stationary start phases
    are drawn from it) but has an infinite mean, which normalized() reports as such."""
    law = Equilibrium(base=Pareto(shape=1.5, scale=1.0))
    assert law.mean == math.inf
    y = law.sample(rng, 1000)
    assert np.all(np.isfinite(y)) and np.all(y > 0)
    # cdf(y) = E[min(X, y)] / E[X] with E[X] = 3: closed form 1 - (1/3) * 2 * y**-0.5 for y >= 1
    assert float(law.cdf(4.0)) == pytest.approx(1.0 - 2.0 / 3.0 * 4.0**-0.5, rel=1e-10)
    with pytest.raises(ValueError, match="infinite"):
        law.normalized()


def test_empirical_quantile_is_numpy_inverted_cdf() -> None:
    """Trace quantiles = numpy's inverted_cdf (the generalised inverse) at every level k/n."""
    law = Empirical.from_file(DURATIONS)
    levels = np.concatenate([np.arange(0, 51) / 50, [0.013, 0.5001, 0.999]])
    np.testing.assert_array_equal(law.quantile(levels),
                                  np.quantile(_SAMPLES, levels, method="inverted_cdf"))


def test_to_dict_and_str_round_trip() -> None:
    """str(law) is a spec that parse() maps back to the same law."""
    for spec in ["gamma:shape=2,scale=0.5", "pareto:shape=2.5,scale=0.6",
                 "uniform:low=0.5,high=1.5", "lognormal:mu=0.1,sigma=0.4"]:
        law = delays.parse(spec)
        assert delays.parse(str(law)) == law
        d = law.to_dict()
        assert d["family"] == law.family and d["mean"] == law.mean
    assert str(delays.parse("shifted-exp:shift=0.5,mean=1")) == "shifted-exp:shift=0.5,mean=1"
    assert Pareto(shape=1.5, scale=1.0).to_dict()["cv"] is None  # infinite variance


def test_exponential_closed_forms_match_scipy() -> None:
    # Exponential no longer goes through scipy.stats (start-up time); its closed forms
    # must give scipy.stats.expon's values (to rounding: a few ulps) and the same draws.
    law, ref = delays.Exponential(scale=0.7), stats.expon(scale=0.7)
    x = np.array([-1.0, 0.0, 1e-9, 0.3, 1.0, 5.0, 50.0, np.inf])
    q = np.array([0.0, 1e-12, 0.1, 0.5, 0.99, 1 - 1e-12, 1.0])
    np.testing.assert_allclose(law.cdf(x), ref.cdf(x), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(law.sf(x), ref.sf(x), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(law.pdf(x[:-1]), ref.pdf(x[:-1]), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(law.quantile(q), ref.ppf(q), rtol=1e-14)
    assert [law.raw_moment(k) for k in range(5)] == pytest.approx(
        [ref.moment(k) for k in range(5)], rel=1e-14)
    assert (law.mean, law.var) == pytest.approx((ref.mean(), ref.var()), rel=1e-15)
    assert law.support == (0.0, math.inf)
    np.testing.assert_array_equal(law.sample(np.random.default_rng(3), (4, 5)),
                                  ref.rvs(size=(4, 5), random_state=np.random.default_rng(3)))

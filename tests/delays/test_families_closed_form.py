"""The parametric families evaluate scipy.stats' formulas without importing scipy.stats.

Reference: the frozen ``scipy.stats`` object of each law (``law._dist``, built only here).
Tolerances:

* cdf, sf, pdf and quantile of the gamma, uniform, lognormal, Weibull and Pareto laws are
  **bit-identical** to scipy's (the same expressions on the same argument types), except
  the density at ``x = +inf`` (or where ``x / scale`` overflows), which is 0 here
  (scipy gives ``nan`` for some shapes).
  scipy rounds ``x ** k`` for ``k`` in {½, 2} one ulp differently when *every* point of
  the input lies inside the support (it then passes the exponent as a full array, else as
  a broadcast scalar, as here); the references below always include one point outside it.
* The exponential law keeps its numpy closed forms (the values it has always had):
  ``np.expm1`` / ``np.log1p`` differ from scipy.special's by at most one ulp, so 2 ulps
  (plus subnormals).
* The Weibull density is sdde's log form (scipy's is ``nan`` for large shapes): 1e-11
  relative where scipy's is finite and normal (the log form loses ``|log p|`` ulps).
* Draws are bit-identical to ``law._dist.rvs(size=size, random_state=rng)``, and leave the
  generator in the same state.
* Variances and raw moments agree with 40-digit mpmath values to 1e-12 (scipy's own
  variance loses up to ``1e-16 / cv²`` to cancellation: 2e-4 for Weibull shape 1e6).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdde.delays import Exponential, Gamma, LogNormal, Pareto, Uniform, Weibull
from sdde.delays._families import ScipyLaw

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
EPS = float(np.finfo(np.float64).eps)


def log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats spread evenly in ``log`` between ``lo`` and ``hi``."""
    return st.floats(math.log(lo), math.log(hi)).map(math.exp)


def _uniform(low: float, width: float) -> Uniform:
    return Uniform(low=low, high=low + width)


#: Every family over its input contract (sdde/delays/_contract.py), shape edges included.
TIME = log_uniform(1e-9, 1e9)
GAMMA = st.builds(Gamma, shape=st.one_of(log_uniform(1e-4, 1e12), st.sampled_from(
    [1e-4, 0.5, 1.0, 2.0, 1e12])), scale=TIME)
UNIFORM = st.tuples(st.one_of(st.just(0.0), TIME), TIME).filter(
    lambda lw: lw[0] + lw[1] > lw[0]).map(lambda lw: _uniform(*lw))
LOGNORMAL = st.builds(LogNormal.from_mean_cv, mean=TIME,
                      cv=st.one_of(log_uniform(1e-6, 400.0), st.sampled_from([1e-6, 1.0, 400.0])))
WEIBULL = st.builds(Weibull, shape=st.one_of(log_uniform(0.12, 1e6), st.sampled_from(
    [0.12, 0.5, 1.0, 2.0, 1e6])), scale=TIME)
PARETO = st.builds(Pareto, shape=st.one_of(log_uniform(1.2, 1e6), st.sampled_from(
    [1.2, 2.0, 3.0, 1e6])), scale=TIME)
EXACT_LAWS = st.one_of(GAMMA, UNIFORM, LOGNORMAL, WEIBULL, PARETO)
ALL_LAWS = st.one_of(st.builds(Exponential, scale=TIME), EXACT_LAWS)


@st.composite
def points(draw: st.DrawFn, law: ScipyLaw) -> np.ndarray:
    """Arguments across the whole line: support edges and their neighbours, 0, ±inf, nan,
    negatives, and points spread over 80 decades around the mean and inside the support."""
    lo, hi = law.support
    edges = [lo, hi, np.nextafter(lo, -np.inf), np.nextafter(lo, np.inf),
             np.nextafter(hi, -np.inf), 0.0, -1.0, np.inf, -np.inf, np.nan]
    picked = draw(st.lists(st.sampled_from(edges), max_size=4))
    decades = draw(st.lists(st.floats(-40.0, 40.0), max_size=20))
    inside = draw(st.lists(st.floats(0.0, 1.0), max_size=10))
    width = min(hi, lo + 10.0 * law.mean) - lo
    return np.array([*picked, *(law.mean * 10.0**d for d in decades),
                     *(lo + f * width for f in inside)], dtype=np.float64)


@st.composite
def levels(draw: st.DrawFn) -> np.ndarray:
    """Quantile levels: 0, 1, the ulps next to them, and levels down to 1e-300."""
    edges = [0.0, 1.0, 0.5, 5e-324, 1e-300, 1.0 - EPS / 2, EPS]
    picked = draw(st.lists(st.sampled_from(edges), max_size=4))
    tails = draw(st.lists(st.floats(-300.0, 0.0), max_size=10))
    plain = draw(st.lists(st.floats(0.0, 1.0), max_size=10))
    return np.array([*picked, *(10.0**t for t in tails), *plain], dtype=np.float64)


def scipy_at(method: str, law: ScipyLaw, x: np.ndarray, outside: float) -> np.ndarray:
    """scipy's ``method`` at ``x``, evaluated with one extra point outside the support (see
    the module docstring) that is then dropped."""
    with np.errstate(all="ignore"):
        values = getattr(law._dist, method)(np.append(x, outside))
    return np.asarray(values)[:-1]


def assert_like_scipy(law: ScipyLaw, x: np.ndarray, q: np.ndarray) -> None:
    """cdf, sf, pdf and quantile at ``x`` and ``q`` are scipy's, bit for bit."""
    np.testing.assert_array_equal(law.cdf(x), scipy_at("cdf", law, x, -1.0))
    np.testing.assert_array_equal(law.sf(x), scipy_at("sf", law, x, -1.0))
    np.testing.assert_array_equal(law.quantile(q), scipy_at("ppf", law, q, 0.0))
    if not isinstance(law, Weibull):
        density = scipy_at("pdf", law, x, -1.0)
        loc, scale = law._loc_scale
        with np.errstate(over="ignore"):
            at_inf = (x - loc) / scale == np.inf  # x = inf, or x / scale overflows
        np.testing.assert_array_equal(law.pdf(x), np.where(at_inf, 0.0, density))


@SETTINGS
@given(data=st.data(), law=EXACT_LAWS)
def test_distribution_functions_are_scipys_bit_for_bit(data: st.DataObject,
                                                       law: ScipyLaw) -> None:
    assert_like_scipy(law, data.draw(points(law)), data.draw(levels()))


@SETTINGS
@given(data=st.data(), law=ALL_LAWS)
def test_scalars_give_the_array_values(data: st.DataObject, law: ScipyLaw) -> None:
    """A scalar argument takes numpy's 0-d paths: the values are the array's all the same."""
    x, q = data.draw(points(law)), data.draw(levels())
    for method, args in [(law.cdf, x), (law.sf, x), (law.pdf, x), (law.quantile, q)]:
        np.testing.assert_array_equal([method(float(a)) for a in args], method(args))


@SETTINGS
@given(data=st.data(), scale=TIME)
def test_exponential_is_scipys_to_two_ulps(data: st.DataObject, scale: float) -> None:
    law = Exponential(scale=scale)
    x, q = data.draw(points(law)), data.draw(levels())
    for got, ref in [(law.cdf(x), scipy_at("cdf", law, x, -1.0)),
                     (law.sf(x), scipy_at("sf", law, x, -1.0)),
                     (law.pdf(x), scipy_at("pdf", law, x, -1.0)),
                     (law.quantile(q), scipy_at("ppf", law, q, 0.0))]:
        np.testing.assert_allclose(got, ref, rtol=2 * EPS, atol=1e-300)


@SETTINGS
@given(data=st.data(), law=WEIBULL)
def test_weibull_density_is_scipys_where_scipys_is_finite(data: st.DataObject,
                                                          law: Weibull) -> None:
    x = data.draw(points(law))
    got, ref = np.asarray(law.pdf(x)), scipy_at("pdf", law, x, -1.0)
    # where x / scale is a normal float (below, scipy's t has lost digits, ours has not)
    with np.errstate(over="ignore"):
        normal = x / law.scale >= np.finfo(float).tiny
    usable = np.isfinite(ref) & (ref > 1e-300) & normal
    np.testing.assert_allclose(got[usable], ref[usable], rtol=1e-11)
    assert np.all(got[x == np.inf] == 0.0) and np.all(np.isnan(got[np.isnan(x)]))
    assert np.all(got[x < 0] == 0.0)


@SETTINGS
@given(data=st.data(), law=ALL_LAWS)
def test_scalar_density_matches_the_array_density(data: st.DataObject, law: ScipyLaw) -> None:
    x, (lo, _) = data.draw(points(law)), law.support
    # not within rounding of the support's start, where x < lo and x / scale >= lo / scale
    # may both hold (-5e-324 / scale is -0.0, inside the support)
    clear = (x == lo) | (x < lo * (1 - 4 * EPS) - 1e-300) | (x > lo * (1 + 4 * EPS) + 1e-300)
    x = x[np.isfinite(x) & clear]
    scalar = np.array([law._pdf_scalar(float(xi)) for xi in x])
    # the two forms round differently: allow 1e-13 times the density's condition number
    # |d log p / d log x| (1e6 for a lognormal law of cv 1e-6, which scipy's form shares)
    with np.errstate(all="ignore"):
        up, down = np.log(law.pdf(x * (1 + 1e-6))), np.log(law.pdf(x * (1 - 1e-6)))
        cond = np.nan_to_num(np.abs(up - down) / 2e-6, nan=0.0, posinf=0.0)
    array = np.asarray(law.pdf(x))
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf (equal: 0 below)
        diff = np.where(scalar == array, 0.0, np.abs(scalar - array))
    np.testing.assert_array_less(diff, 1e-13 * (1 + cond) * np.abs(array) + 1e-300)


@pytest.mark.parametrize("law", [Exponential(scale=2.0), Gamma(shape=0.5, scale=2.0),
                                 _uniform(1.0, 2.0), LogNormal(mu=0.1, sigma=0.7),
                                 Weibull(shape=2.0, scale=1.5), Pareto(shape=2.5, scale=1.0)])
@pytest.mark.parametrize("arg", [1.7, 0.0, -1.0, math.inf, math.nan, np.float64(2.5), [1.0, 2.0],
                                 np.array([[0.5, 1.5], [2.5, 3.5]]), np.empty(0)])
def test_output_types_and_shapes_are_as_before(law: ScipyLaw, arg: object) -> None:
    """numpy scalars for scalars, arrays of the argument's shape otherwise (``as_output``
    of scipy's result, which is what these methods returned)."""
    with np.errstate(all="ignore"):
        refs = [law._dist.cdf(arg), law._dist.sf(arg), law._dist.pdf(arg)]
    for mine, ref in zip([law.cdf(arg), law.sf(arg), law.pdf(arg)], refs, strict=True):
        ref = np.asarray(ref)[()]
        assert type(mine) is type(ref) and np.shape(mine) == np.shape(ref)
    q = np.clip(np.nan_to_num(np.asarray(arg, dtype=np.float64), nan=0.5), 0.0, 1.0)
    mine, ref = law.quantile(q), np.asarray(law._dist.ppf(q))[()]
    assert type(mine) is type(ref) and np.shape(mine) == np.shape(ref)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(law=ALL_LAWS, seed=st.integers(0, 2**32 - 1),
       size=st.one_of(st.integers(0, 300), st.tuples(st.integers(0, 6), st.integers(0, 6)),
                      st.just(()), st.just((2, 3, 4))))
def test_draws_are_scipys_bit_for_bit(law: ScipyLaw, seed: int,
                                      size: int | tuple[int, ...]) -> None:
    mine_rng, ref_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    mine = law.sample(mine_rng, size)
    ref = np.asarray(law._dist.rvs(size=size, random_state=ref_rng), dtype=np.float64)
    assert mine.dtype == np.float64 and mine.shape == ref.shape
    assert np.array_equal(mine, ref)
    assert mine_rng.random() == ref_rng.random()  # the generator moved on the same way


def _mp_moments(law: ScipyLaw) -> tuple[mpmath.mpf, mpmath.mpf]:
    """``(Var X, E[X³])`` with 40 digits."""
    with mpmath.workdps(40):
        if isinstance(law, Exponential):
            s = mpmath.mpf(law.scale)
            return s**2, 6 * s**3
        if isinstance(law, Gamma):
            k, s = mpmath.mpf(law.shape), mpmath.mpf(law.scale)
            return k * s**2, mpmath.rf(k, 3) * s**3
        if isinstance(law, Uniform):
            a, b = mpmath.mpf(law.low), mpmath.mpf(law.high)
            return (b - a) ** 2 / 12, (b**4 - a**4) / (4 * (b - a))
        if isinstance(law, LogNormal):
            m, s2 = mpmath.mpf(law.mu), mpmath.mpf(law.sigma) ** 2
            return mpmath.exp(2 * m + s2) * mpmath.expm1(s2), mpmath.exp(3 * m + 4.5 * s2)
        if isinstance(law, Weibull):
            h, s = 1 / mpmath.mpf(law.shape), mpmath.mpf(law.scale)
            g1, g2 = mpmath.gamma(1 + h), mpmath.gamma(1 + 2 * h)
            return s**2 * (g2 - g1**2), s**3 * mpmath.gamma(1 + 3 * h)
        b, s = mpmath.mpf(law.shape), mpmath.mpf(law.scale)
        var = b * s**2 / ((b - 1) ** 2 * (b - 2)) if b > 2 else mpmath.inf
        return var, b * s**3 / (b - 3) if b > 3 else mpmath.inf


@SETTINGS
@given(law=ALL_LAWS)
def test_moments_agree_with_mpmath(law: ScipyLaw) -> None:
    var, third = (float(v) for v in _mp_moments(law))
    assert law.var == pytest.approx(var, rel=1e-12, abs=0.0)
    assert law.raw_moment(3) == pytest.approx(third, rel=1e-12, abs=0.0)
    assert law.raw_moment(1) == pytest.approx(law.mean, rel=1e-14)
    assert law.raw_moment(0) == 1.0


@SETTINGS
@given(law=ALL_LAWS)
def test_support_is_scipys(law: ScipyLaw) -> None:
    lo, hi = law._dist.support()
    assert law.support == (float(lo), float(hi))


def test_weibull_variance_of_a_large_shape_has_all_its_digits() -> None:
    """scipy's Γ(1 + 2/k) − Γ(1 + 1/k)² keeps 4 digits at k = 1e6; the series keeps all."""
    law = Weibull(shape=1e6, scale=1.0)
    with mpmath.workdps(60):
        h = 1 / mpmath.mpf(10) ** 6
        exact = float(mpmath.gamma(1 + 2 * h) - mpmath.gamma(1 + h) ** 2)
    assert law.var == pytest.approx(exact, rel=1e-14)
    assert abs(law._dist.var() / exact - 1) > 1e-6  # what the closed form fixes


_PROBE = """
import json, sys
import numpy as np
from sdde.delays import parse
specs = ["exponential:mean=2", "gamma:shape=4,mean=1", "gamma:shape=0.5,mean=1",
         "uniform:low=1,high=3", "lognormal:mean=1,cv=1", "weibull:shape=0.5,mean=1",
         "weibull:shape=2,mean=1", "pareto:shape=2.5,mean=1", "erlang:k=3,mean=1"]
for spec in specs:
    law = parse(spec)
    x = np.linspace(0.0, 5.0, 11)
    law.cdf(x), law.sf(x), law.pdf(x), law.quantile([0.0, 0.3, 1.0])
    law.sample(np.random.default_rng(1), 5)
    law.laplace(np.array([0.5, 1.0 + 2.0j])), law.mean, law.var, law.cv
print(json.dumps("scipy.stats" in sys.modules))
"""


def test_no_family_imports_scipy_stats() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False

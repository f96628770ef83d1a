"""The fast paths of ``critical_kappa`` against the careful path and independent answers.

``critical_kappa`` answers plain laws by closed forms (point delay, gamma, uniform, shifted
exponential), by exact cosine sums (atomic laws) or by the steepest-descent transform with a
certified octave scan (Pareto, lognormal, Weibull shape > 1). The careful path,
:func:`scan_kappa`, is the general grid scan on the kernel's transform. Tolerances:

* closed forms and atomic laws: both paths reach the crossing to a few ulps (Newton on
  exact transforms), 1e-11 relative;
* heavy tails: the careful path's quadrature rules leave out up to ~1e-9 of the law's
  tail mass (Pareto 1.3: 1e-9 relative in κ*, the largest seen over random shapes), so
  1e-8; the fast path itself is checked against mpmath at 1e-12 (it includes the tail).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import delays
from sdde.delays import DelayLaw
from sdde.delays._geometric_sum import GeometricSum
from sdde.model.kernels import DelayKernel, as_kernel
from sdde.stability import mean_field
from sdde.stability._axis import AxisTransform, analytic_forms
from sdde.stability.mean_field import closed_form_kappa, critical_kappa, scan_kappa

CLOSED_RTOL = 1e-11
HEAVY_RTOL = 1e-8
EXACT_RTOL = 1e-12


def careful(law: DelayLaw, kappa_max: float = 100.0) -> float:
    return scan_kappa(as_kernel(law), kappa_max)


def assert_same(fast: float, slow: float, rtol: float) -> None:
    if math.isinf(slow):
        assert fast == math.inf
    else:
        assert fast == pytest.approx(slow, rel=rtol)


def log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(math.log(lo), math.log(hi)).map(math.exp)


# ------------------------------------------------------------------ closed forms
closed_laws = st.one_of(
    log_uniform(1.01, 1e3).map(lambda k: delays.Gamma(shape=k, scale=0.7)),
    st.tuples(st.floats(0.0, 5.0), log_uniform(1e-3, 10.0)).map(
        lambda t: delays.Uniform(low=t[0], high=t[0] + t[1])),
    st.floats(0.005, 0.995).map(lambda s: delays.shifted_exponential(shift=3 * s, mean=3.0)),
    log_uniform(1e-3, 1e3).map(lambda v: delays.Deterministic(value=v)),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(law=closed_laws)
def test_closed_forms_match_the_scan(law: DelayLaw) -> None:
    """Each closed form equals the general scan of the law's exact transform."""
    assert closed_form_kappa(law) is not None
    assert_same(critical_kappa(law), careful(law), CLOSED_RTOL)


@pytest.mark.parametrize("shape", [2.0, 7.5, 1e3, 1e6, 1e9])
def test_gamma_closed_form_at_large_shape(shape: float) -> None:
    """``k tan(π/2k) / cos(π/2k)^k`` at 40 digits: the log1p form keeps full accuracy where
    ``cos(a)^k`` computed directly loses ``k·eps`` (→ π/2 as ``k → ∞``)."""
    with mpmath.workdps(40):
        k = mpmath.mpf(shape)
        a = mpmath.pi / (2 * k)
        expected = float(k * mpmath.tan(a) / mpmath.cos(a) ** k)
    assert closed_form_kappa(delays.Gamma(shape=shape, scale=1.0)) == pytest.approx(
        expected, rel=4e-15)


def test_closed_forms_only_for_their_families() -> None:
    assert closed_form_kappa(delays.parse("exponential:mean=2")) == math.inf
    assert closed_form_kappa(delays.Gamma(shape=0.5, scale=1.0)) == math.inf
    assert closed_form_kappa(delays.parse("lognormal:mean=1,cv=1")) is None
    assert closed_form_kappa(delays.two_point(time=1.0, p=0.1, slowdown=5.0)) is None


# ------------------------------------------------------------------ atomic laws
@settings(max_examples=40, deadline=None, derandomize=True)
@given(p=st.floats(0.001, 0.999), slowdown=st.floats(1.01, 40.0), third=st.floats(0.0, 0.5))
def test_atomic_laws_match_the_scan(p: float, slowdown: float, third: float) -> None:
    """Two-point laws, and a third atom, by cosine sums equal the general scan."""
    law: DelayLaw = delays.two_point(time=2.0, p=p, slowdown=slowdown)
    if third > 0:
        law = delays.Mixture(components=(law, delays.Deterministic(value=5.0)),
                             weights=(1.0 - third, third))
    assert_same(critical_kappa(law), careful(law), CLOSED_RTOL)


@pytest.mark.parametrize("p", [0.9, 0.3])
def test_geometric_sums_of_point_delays(p: float) -> None:
    """A geometric sum of point delays is atomic (tens to hundreds of atoms) and its
    ``kappa_scale`` widens the search: cosine sums equal the general scan."""
    law = GeometricSum(base=delays.Deterministic(value=1.0), p=p)
    assert law.continuous_mass == 0.0
    cap = mean_field.KAPPA_MAX * law.kappa_scale
    assert_same(critical_kappa(law), careful(law, cap), CLOSED_RTOL)


def test_trace_with_few_distinct_values() -> None:
    rng = np.random.default_rng(20261207)
    law = delays.Empirical(samples=np.round(rng.gamma(4.0, 1.0, 500), 1))
    assert law.atoms()[0].size <= 256
    assert_same(critical_kappa(law), careful(law), CLOSED_RTOL)


# ------------------------------------------------------------------ heavy tails
heavy_laws = st.one_of(
    log_uniform(1.2, 20.0).map(lambda a: delays.Pareto(shape=a, scale=2.0)),
    log_uniform(0.01, 30.0).map(lambda cv: delays.LogNormal.from_mean_cv(mean=3.0, cv=cv)),
    log_uniform(1.02, 60.0).map(lambda k: delays.Weibull(shape=k, scale=0.5)),
)


@settings(max_examples=45, deadline=None, derandomize=True)
@given(law=heavy_laws)
def test_heavy_tails_match_the_scan(law: DelayLaw) -> None:
    """The steepest-descent octave scan equals the careful scan to the latter's rule
    error."""
    assert analytic_forms(law.normalized()) is not None
    assert_same(critical_kappa(law), careful(law), HEAVY_RTOL)


@pytest.mark.parametrize(("spec", "finite"), [
    ("pareto:shape=1.2,mean=1", True), ("weibull:shape=0.12,mean=1", False),
    ("lognormal:cv=400,mean=1", False), ("gamma:shape=1e-4,mean=1", False)])
def test_edge_of_contract_laws(spec: str, finite: bool) -> None:
    """The laws at the edge of the parser's contract: the fast and careful paths agree."""
    law = delays.parse(spec)
    fast = critical_kappa(law)
    assert math.isfinite(fast) == finite
    assert_same(fast, careful(law), HEAVY_RTOL)


def mpmath_kappa(phi_of: object, guess: float) -> float:
    """Crossing ``κ = −ω/Im φ(iω)`` at the zero of ``Re φ(iω)`` near ``guess``."""
    omega = mpmath.findroot(lambda w: mpmath.re(phi_of(w)), mpmath.mpf(guess))
    return float(-omega / mpmath.im(phi_of(omega)))


def lognormal_phi(cv: float) -> object:
    """φ(iω) of the mean-1 lognormal law: ``∫ e^{−iωx} dF`` in ``t = (log x − μ)/σ`` up to
    ``x = c = max(3/ω, e^{μ + 2.6})``, then along the line ``c − is`` (``e^{−ωs}``-damped)
    by adaptive quadrature: an independent cut and rule from the library's
    (``c = max(20/ω_min, e^{μ + π/2 + 1})``, Gauss–Legendre and Gauss–Laguerre)."""
    sigma = mpmath.sqrt(mpmath.log1p(mpmath.mpf(cv) ** 2))
    mu = -sigma**2 / 2
    norm = 1 / (sigma * mpmath.sqrt(2 * mpmath.pi))

    def density(z: object) -> object:
        t = (mpmath.log(z) - mu) / sigma
        return norm * mpmath.exp(-t * t / 2) / z

    def phi(w: object) -> object:
        c = max(3 / w, mpmath.exp(mu + 2.6))  # |f| falls along the line
        top = (mpmath.log(c) - mu) / sigma
        body = mpmath.quad(lambda t: mpmath.npdf(t) * mpmath.expj(
            -w * mpmath.exp(mu + sigma * t)), mpmath.linspace(min(-14, top - 1), top, 57))
        line = mpmath.quad(lambda s: mpmath.exp(-w * s) * density(c - 1j * s),
                           [0, 1 / w, mpmath.inf])
        return body - 1j * mpmath.expj(-w * c) * line
    return phi


@pytest.mark.parametrize("cv", [0.01, 0.5])
def test_lognormal_against_mpmath(cv: float) -> None:
    """Lognormal κ* from :func:`lognormal_phi` at 30 digits. The fast path includes the
    whole tail: 1e-12 (the careful path's rule, cut at the 1 − 1e-12 quantile, is 1e-12
    high at cv 0.01)."""
    law = delays.LogNormal.from_mean_cv(mean=1.0, cv=cv)
    guess = critical_kappa(law)
    with mpmath.workdps(30):
        phi = lognormal_phi(cv)
        omega0 = mpmath.findroot(lambda w: mpmath.re(phi(w)), mpmath.mpf(1.5708))
        expected = float(-omega0 / mpmath.im(phi(omega0)))
    assert guess == pytest.approx(expected, rel=EXACT_RTOL)


def pareto_phi(alpha: float) -> object:
    xm = mpmath.mpf(alpha - 1) / alpha  # mean 1

    def phi(w: object) -> object:
        s = 1j * w * xm
        return alpha * s**alpha * mpmath.gammainc(-alpha, s)
    return phi


@pytest.mark.parametrize("alpha", [1.2, 2.5, 3.0])
def test_pareto_against_incomplete_gamma(alpha: float) -> None:
    """Pareto κ*: φ(z) = α (z x_m)^α Γ(−α, z x_m) at 30 digits, Newton from the fast
    path's crossing (the zero found is the same: |Δω| << the scan's resolution)."""
    law = delays.Pareto(shape=alpha, scale=1.0)
    fast = critical_kappa(law)
    with mpmath.workdps(30):
        phi = pareto_phi(alpha)
        unit = law.normalized()
        forms = analytic_forms(unit)
        assert forms is not None
        # the crossing's ω: from the fast transform's zero near κ* scan
        omega = _crossing_omega(unit, fast)
        omega0 = mpmath.findroot(lambda w: mpmath.re(phi(w)), mpmath.mpf(omega))
        expected = float(-omega0 / mpmath.im(phi(omega0)))
    assert fast == pytest.approx(expected, rel=EXACT_RTOL)


def _crossing_omega(unit: DelayLaw, kappa: float) -> float:
    """ω with ``iω + κ φ(iω) = 0``: the zero of ``Re φ`` whose ``−ω/Im φ`` is ``κ``."""
    kernel = as_kernel(unit)
    grid = np.linspace(1.0, kappa, 801)
    re = kernel.re_on_axis(grid)
    for i in np.flatnonzero(np.sign(re[:-1]) * np.sign(re[1:]) <= 0):
        w = 0.5 * (grid[i] + grid[i + 1])
        if abs(-w / complex(kernel.on_axis(np.array([w]))[0]).imag - kappa) < 1e-3 * kappa:
            return float(w)
    raise AssertionError("no crossing found")


# ------------------------------------------------------------------ the transform
@pytest.mark.parametrize("alpha", [1.2, 2.5, 7.0])
def test_axis_transform_pareto(alpha: float) -> None:
    """φ(iω) and d/dω Re φ(iω) against mpmath over a band (1e-13 absolute; the slope
    against mpmath's derivative)."""
    unit = delays.Pareto(shape=alpha, scale=1.0).normalized()
    forms = analytic_forms(unit)
    assert forms is not None
    axis = AxisTransform(forms, 1.3, 2.6)
    omega = np.array([1.3, 1.7, 2.2, 2.6])
    phi, slope = axis(omega)
    with mpmath.workdps(30):
        ref = pareto_phi(alpha)
        expected = [complex(ref(mpmath.mpf(w))) for w in omega]
        expected_slope = [float(mpmath.diff(lambda w: mpmath.re(ref(w)), mpmath.mpf(w)))
                          for w in omega]
    np.testing.assert_allclose(phi, expected, rtol=0, atol=1e-13)
    np.testing.assert_allclose(slope, expected_slope, rtol=0, atol=1e-12)
    grid = axis.re_on_grid(1.3, 0.1, 14)
    np.testing.assert_allclose(grid, axis(1.3 + 0.1 * np.arange(14))[0].real, atol=1e-13)


@pytest.mark.parametrize("low", [2.0, 20.0])
@pytest.mark.parametrize("cv", [0.05, 1.0, 10.0, 400.0])
def test_axis_transform_lognormal(cv: float, low: float) -> None:
    """Against :func:`lognormal_phi`; the octave at 20 starts the line at ``e^{μ+π/2+1}``
    for the narrow law (``20/ω`` would let its density grow like ``e^{θ²/2σ²}``)."""
    unit = delays.LogNormal.from_mean_cv(mean=1.0, cv=cv)
    forms = analytic_forms(unit)
    assert forms is not None
    axis = AxisTransform(forms, low, 2 * low)
    omega = low * np.array([1.0, 1.55, 2.0])
    with mpmath.workdps(25):
        ref = lognormal_phi(cv)
        expected = [complex(ref(mpmath.mpf(w))) for w in omega]
    np.testing.assert_allclose(axis(omega)[0], expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("shape", [1.05, 2.0, 30.0])
def test_axis_transform_weibull(shape: float) -> None:
    """Weibull (light tail, no steepest-descent line) against mpmath in ``t = (x/λ)^k``:
    ``φ(iω) = ∫_0^∞ e^{−t} e^{−iωλ t^{1/k}} dt``."""
    unit = delays.Weibull(shape=shape, scale=1.0).normalized()
    forms = analytic_forms(unit)
    assert forms is not None
    axis = AxisTransform(forms, 1.5, 3.0)
    omega = np.array([1.5, 2.4, 3.0])
    lam = mpmath.mpf(unit.scale)
    with mpmath.workdps(25):
        expected = [complex(mpmath.quad(
            lambda t, w=w: mpmath.exp(-t) * mpmath.expj(-w * lam * t ** (1 / mpmath.mpf(shape))),
            [0, 1e-6, 1e-3, 0.1, 1, 4, 10, 20, 45])) for w in omega]
    # 5e-13: the density's x^(k−1) singularity at 0, on graded panels, at k = 1.05
    np.testing.assert_allclose(axis(omega)[0], expected, rtol=0, atol=5e-13)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(law=heavy_laws, low=st.floats(1.4, 20.0))
def test_curvature_bound_holds(law: DelayLaw, low: float) -> None:
    """``M`` bounds ``|d²/dω² Re φ(iω)|`` on the octave (second differences on a grid)."""
    forms = analytic_forms(law.normalized())
    assert forms is not None
    axis = AxisTransform(forms, low, 2 * low)
    h = low / 200
    re = axis(low + h * np.arange(201))[0].real
    second = np.abs(np.diff(re, 2)) / h**2
    assert second.max() <= axis.curvature_bound() * (1 + 1e-6) + 1e-6


@settings(max_examples=15, deadline=None, derandomize=True)
@given(law=st.one_of(heavy_laws, closed_laws))
def test_certified_band_is_free_of_zeros(law: DelayLaw) -> None:
    """The band ``[0, Ω]`` certified from the distribution function has ``Re φ(iω) > 0``
    (checked on a fine grid with the kernel's transform)."""
    unit = law.normalized()
    top = mean_field._certified_free_band(lambda x: np.asarray(unit.cdf(x)), 1.0, 100.0)
    grid = np.linspace(0.0, top, 801)
    assert np.all(as_kernel(unit).re_on_axis(grid) > 0)


def test_chord_constant_bounds_one_minus_cosine() -> None:
    y = np.linspace(1e-6, 50.0, 2_000_001)
    assert np.max((1 - np.cos(y)) / y) <= mean_field._CHORD


# ------------------------------------------------------------------ inputs
@pytest.mark.parametrize("spec", ["gamma:shape=3,mean=2", "pareto:shape=2.5,mean=1",
                                  "two-point:p=0.1,slowdown=5,mean=1",
                                  "lognormal:cv=1,mean=1"])
def test_plain_kernel_and_law_agree(spec: str) -> None:
    law = delays.parse(spec)
    assert critical_kappa(DelayKernel(law)) == critical_kappa(law)


@pytest.mark.parametrize("spec", ["pareto:shape=1.2,mean=1", "lognormal:cv=1,mean=1",
                                  "weibull:shape=1.5,mean=1", "gamma:shape=2,mean=1",
                                  "two-point:p=0.05,slowdown=10,mean=1"])
def test_kappa_max_caps_every_path(spec: str) -> None:
    law = delays.parse(spec)
    star = critical_kappa(law)
    assert critical_kappa(law, kappa_max=0.99 * star) == math.inf
    # the cap sets the last octave's grid: the same zero, to rounding
    assert critical_kappa(law, kappa_max=1.01 * star) == pytest.approx(star, rel=1e-14)


def test_a_kernel_damped_to_zero_mass_has_no_threshold() -> None:
    """A threshold K = 3 at 10⁶ updates per mean delay drops every gradient: the rule's
    mass and weighted mean underflow to 0, φ ≡ 0 and κ* = ∞ (the scan's start divided
    by the weighted mean: ZeroDivisionError, found by the staleness-policies notebook)."""
    from sdde.model.kernels import DelayKernel, StepPolicy
    kernel = DelayKernel(delays.parse("shifted-exp:shift=0.5,mean=1"), updates_per_delay=1e6,
                         policy=StepPolicy.parse("inverse"), threshold=3)
    assert kernel.mass == 0.0 and kernel.weighted_mean == 0.0
    assert critical_kappa(kernel) == math.inf

"""Hypothesis invariants of the symbolic stability theory (``sdde.symbolic``) against the
numerical library, over random parameters (derandomised, so every run draws the same
examples).

Independent answers used here:

* the numerical delay laws' own transforms ``law.normalized().laplace(z)`` and the
  quadrature-summed thinned kernels ``sdde.model.kernels.DelayKernel.transform``;
* the numerical divergence threshold ``sdde.stability.mean_field.critical_kappa`` (a scan of
  ``Re φ(iω)`` with Newton refinement, accurate to ~1e-13 relative: see
  tests/stability/test_critical_kappa.py);
* ``numpy.roots`` of the characteristic polynomial built here, in numpy, from the thinned
  Erlang formula (itself checked against ``DelayKernel.transform`` below);
* the Parseval integral ``sdde.stability.mean_field.stationary_variance``.

Thinned kernels are given exact rational parameters (``rho = n/2``, ``gamma = n/100``):
sympy's Routh–Hurwitz threshold then works with exact integers. With float parameters it
is correct too but ~5× slower (the float coefficients are made rational with huge
denominators), which would blow this file's time budget.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from thinned_erlang_reference import (
    delay_kernel,
    symbolic_thinned,
    thinned_phi,
    thinned_polynomial,
    to_float,
)

from sdde import delays
from sdde import symbolic as sym
from sdde.model.kernels import DelayKernel, StepPolicy
from sdde.stability.mean_field import KAPPA_MAX, critical_kappa, stationary_variance

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
#: Thinned Routh–Hurwitz derivations take up to ~2 s each (k = 3, K = 5): fewer examples.
SLOW = settings(max_examples=10, deadline=None, derandomize=True)

#: Two closed forms of the same transform, both evaluated in double precision: each is
#: within a few ulps (times the Erlang shape k <= 20, for ``exp(-k log1p(z/k))``, and
#: times |z| <= 30 for the rounding of the atoms' positions) of the sum of the absolute
#: values of its terms, which is ``φ(Re z) = E[e^{-X Re z}]`` — an upper bound of |φ(z)|.
#: So |symbolic − numeric| <= 1e-12 · φ(Re z) leaves a margin of about 10×.
TRANSFORM_RTOL = 1e-12
#: κ* from the symbolic threshold (exact, or nsolve to 30 digits) against the numerical
#: scan, which is accurate to ~1e-13 relative for closed-form transforms (Newton stops at
#: 4 eps·ω; tests/stability/test_critical_kappa.py) and to ~1e-12 for thinned kernels, whose
#: transform is a quadrature rule with absolute error ~1e-12 (RULE_TAIL). Measured
#: disagreement: <= 5e-14. 1e-9 leaves orders of magnitude to spare.
KAPPA_RTOL = 1e-9
#: The Parseval integral with a closed-form transform: quad asked for 1e-11 per piece, a
#: tail of ~κ/W³ < 1e-10 neglected (tests/stability/test_stationary_variance.py uses the same 1e-9).
VARIANCE_RTOL = 1e-9


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


#: Arguments with Re z >= 0, including the imaginary axis (where the thresholds live).
complex_points = st.lists(
    st.builds(complex, floats(0.0, 5.0), floats(-30.0, 30.0)).filter(lambda z: abs(z) > 1e-3),
    min_size=1, max_size=4)


def assert_same_transform(kernel: sym.SymbolicKernel, law: delays.DelayLaw,
                          zs: list[complex]) -> None:
    """The lambdified symbolic φ against the numerical law's transform (see TRANSFORM_RTOL)."""
    z = np.array(zs, dtype=np.complex128)
    phi = sym.lambdify(kernel.transform, sym.Z)
    got = np.asarray(phi(z), dtype=np.complex128)
    unit = law.normalized()
    expected = np.asarray(unit.laplace(z), dtype=np.complex128)
    scale = np.asarray(unit.laplace(z.real.astype(np.complex128)), dtype=np.complex128).real
    assert np.all(np.abs(got - expected) <= TRANSFORM_RTOL * scale), (kernel.name, z, got,
                                                                     expected)


@st.composite
def thinned_parameters(draw, max_k: int = 3, max_threshold: int = 5):
    """k in 1..3, K in 0..5, ρ in {0.5, 1, …, 20}, γ = 1 or in {0.30, 0.31, …, 0.99}."""
    k = draw(st.integers(1, max_k))
    threshold = draw(st.integers(0, max_threshold))
    rho = Fraction(draw(st.integers(1, 40)), 2)
    gamma = draw(st.one_of(st.just(Fraction(1)),
                           st.integers(30, 99).map(lambda n: Fraction(n, 100))))
    return k, threshold, rho, gamma


# ------------------------------------------------------------------ 1. transforms
@SETTINGS
@given(scale=floats(0.05, 20.0), zs=complex_points)
def test_point_delay_and_exponential_transforms(scale: float, zs: list[complex]) -> None:
    assert_same_transform(sym.point_delay(), delays.Deterministic(value=scale), zs)
    assert_same_transform(sym.exponential(), delays.Exponential(scale=scale), zs)


@SETTINGS
@given(k=st.integers(1, 20), mean=floats(0.05, 20.0), zs=complex_points)
def test_erlang_transform(k: int, mean: float, zs: list[complex]) -> None:
    law = delays.erlang(k, mean)
    assert_same_transform(sym.erlang(k), law, zs)
    assert_same_transform(sym.erlang().subs(k=k), law, zs)


@SETTINGS
@given(shift=floats(0.0, 0.99), mean=floats(0.05, 20.0), zs=complex_points)
def test_shifted_exponential_transform(shift: float, mean: float, zs: list[complex]) -> None:
    law = delays.shifted_exponential(shift=shift * mean, mean=mean)
    assert_same_transform(sym.shifted_exponential(shift), law, zs)
    assert_same_transform(sym.shifted_exponential().subs(s=shift), law, zs)


@SETTINGS
@given(half_width=floats(1e-3, 1.0), mean=floats(0.05, 20.0), zs=complex_points)
def test_uniform_transform(half_width: float, mean: float, zs: list[complex]) -> None:
    law = delays.Uniform(low=(1.0 - half_width) * mean, high=(1.0 + half_width) * mean)
    assert_same_transform(sym.uniform(half_width), law, zs)
    assert_same_transform(sym.uniform().subs(a=half_width), law, zs)


@SETTINGS
@given(p=floats(0.01, 0.99), slowdown=floats(1.01, 20.0), time=floats(0.05, 5.0),
       zs=complex_points)
def test_two_point_transform(p: float, slowdown: float, time: float,
                             zs: list[complex]) -> None:
    law = delays.two_point(time=time, p=p, slowdown=slowdown)
    assert_same_transform(sym.two_point(p, slowdown), law, zs)
    assert_same_transform(sym.two_point().subs(p=p, r=slowdown), law, zs)


@SETTINGS
@given(params=thinned_parameters(max_k=4, max_threshold=8), zs=complex_points)
def test_thinned_erlang_transform(params, zs: list[complex]) -> None:
    """The symbolic rational φ against ``DelayKernel.transform``, which sums a quadrature
    rule of ``w(u) f_k(u)`` with absolute error ``transform_error`` (~1e-12) for Re z >= 0;
    the lambdified sum of K+1 positive-coefficient terms adds ~(K+1) ulps of φ(0) <= 1.
    The numpy formula used by the other thinned tests is checked here too."""
    k, threshold, rho, gamma = params
    z = np.array(zs, dtype=np.complex128)
    kernel = delay_kernel(k, threshold, rho, gamma)
    expected = np.asarray(kernel.transform(z), dtype=np.complex128)
    bound = kernel.transform_error(float(np.abs(z.imag).max())) + 1e-13
    got = sym.lambdify(symbolic_thinned(k, threshold, rho, gamma).transform, sym.Z)(z)
    assert np.abs(got - expected).max() <= bound
    assert np.abs(thinned_phi(z, k, threshold, rho, gamma) - expected).max() <= bound
    # the mass φ(0) = E[w(X̃)]
    assert abs(float(thinned_phi(np.array(0.0), k, threshold, rho, gamma)) - kernel.mass) <= bound


# ------------------------------------------------------------------ 2. thresholds
@SETTINGS
@given(half_width=floats(1e-3, 1.0))
def test_uniform_threshold_matches_numeric(half_width: float) -> None:
    """κ*(a) = π² a / (4 sin(πa/2)) (phase method: θ(ω) = ω while aω < π)."""
    threshold = sym.critical_kappa(sym.uniform(half_width))
    assert threshold.closed_form
    assert threshold.method == "phase"
    numeric = critical_kappa(delays.Uniform(low=1.0 - half_width, high=1.0 + half_width))
    assert to_float(threshold.kappa) == pytest.approx(numeric, rel=KAPPA_RTOL)
    formula = sym.critical_kappa(sym.uniform()).kappa.subs(sym.uniform().parameters["a"],
                                                            half_width)
    assert float(formula) == pytest.approx(numeric, rel=KAPPA_RTOL)


@SLOW
@given(shift=floats(0.05, 0.95))
def test_shifted_exponential_threshold_matches_numeric(shift: float) -> None:
    """No closed form: the phase equation sω + atan((1−s)ω) = π/2 solved by mpmath."""
    threshold = sym.critical_kappa(sym.shifted_exponential(shift))
    assert threshold.method == "numeric"
    assert not threshold.closed_form
    numeric = critical_kappa(delays.shifted_exponential(shift=shift, mean=1.0))
    assert to_float(threshold.kappa) == pytest.approx(numeric, rel=KAPPA_RTOL)


@settings(max_examples=25, deadline=None, derandomize=True,
          phases=(Phase.explicit, Phase.generate))  # no shrinking: each example is 0.25 s
@given(p=floats(0.01, 0.5), slowdown=floats(1.5, 20.0))
def test_two_point_threshold_matches_numeric(p: float, slowdown: float) -> None:
    """The smallest gain over all crossings found by the symbolic scan of Re φ(iω) equals
    the numerical κ* (a different method: quadrature-free fast kernel scan)."""
    threshold = sym.critical_kappa(sym.two_point(p, slowdown))
    numeric = critical_kappa(delays.two_point(time=1.0, p=p, slowdown=slowdown))
    assert to_float(threshold.kappa) == pytest.approx(numeric, rel=KAPPA_RTOL)


@SLOW
@given(params=thinned_parameters())
def test_thinned_erlang_threshold_matches_numeric(params) -> None:
    """Routh–Hurwitz κ* against the numerical scan of the quadrature-summed kernel. The
    scan stops at KAPPA_MAX = 100 (inf beyond), so larger symbolic thresholds up to 500 are
    checked with kappa_max = 2 κ* (a scan to ω ~ 1000 takes seconds; the far-out cases
    are tests/test_symbolic.py::test_numeric_scan_far_out)."""
    k, threshold, rho, gamma = params
    result = sym.critical_kappa(symbolic_thinned(k, threshold, rho, gamma))
    assert result.method == "routh-hurwitz"
    kernel = delay_kernel(k, threshold, rho, gamma)
    kappa = to_float(result.kappa)
    numeric = critical_kappa(kernel)
    if kappa > KAPPA_MAX:
        assert numeric == math.inf
        if kappa <= 500.0:
            assert critical_kappa(kernel, kappa_max=2 * kappa) == pytest.approx(
                kappa, rel=KAPPA_RTOL)
    else:
        assert kappa == pytest.approx(numeric, rel=KAPPA_RTOL)
    if math.isfinite(kappa):  # the crossing pair really is on the axis at κ*
        roots = np.roots(thinned_polynomial(kappa, k, threshold, rho, gamma))
        assert abs(roots.real.max()) <= 1e-9 * max(1.0, float(np.abs(roots).max()))
        assert np.abs(roots - 1j * float(result.omega)).min() <= 1e-8 * float(result.omega)


# ------------------------------------------------------------------ 4. κ·μ <= 1 is stable
@st.composite
def laws(draw):
    """Gamma (shape 1..20), lognormal (cv 0.1..2), uniform, two-point and mixtures."""
    kind = draw(st.sampled_from(["gamma", "lognormal", "uniform", "two-point", "mixture"]))
    mean = draw(floats(0.1, 10.0))
    if kind == "gamma":
        return delays.Gamma.from_mean(shape=draw(floats(1.0, 20.0)), mean=mean)
    if kind == "lognormal":
        return delays.LogNormal.from_mean_cv(mean=mean, cv=draw(floats(0.1, 2.0)))
    if kind == "uniform":
        low = draw(floats(0.0, 5.0))
        return delays.Uniform(low=low, high=low + draw(floats(0.01, 5.0)))
    if kind == "two-point":
        return delays.two_point(time=mean, p=draw(floats(0.01, 0.99)),
                                slowdown=draw(floats(1.01, 20.0)))
    w = draw(floats(0.05, 0.95))
    return delays.Mixture(
        components=(delays.Gamma.from_mean(shape=draw(floats(1.0, 20.0)), mean=mean),
                    delays.Deterministic(value=draw(floats(0.1, 10.0)))),
        weights=(w, 1.0 - w))


@st.composite
def thinned_kernels(draw):
    policy = draw(st.sampled_from([StepPolicy(), StepPolicy("inverse"),
                                   StepPolicy("geometric", 0.5), StepPolicy("geometric", 0.9)]))
    return DelayKernel(draw(laws()), threshold=draw(st.one_of(st.none(), st.integers(0, 8))),
                       updates_per_delay=draw(floats(0.5, 20.0)), policy=policy)


@SETTINGS
@given(kernel=st.one_of(laws().map(DelayKernel), thinned_kernels()))
def test_stable_whenever_kappa_times_weighted_mean_is_at_most_one(kernel: DelayKernel) -> None:
    """Every kernel is stable for κ·μ <= 1, μ = E[w X̃] the weighted mean.

    Proof. Let κ > 0, m = φ(0) = E[w(X̃)] > 0 and suppose z + κφ(z) = 0 with Re z >= 0.
    Then z + κm = κ(φ(0) − φ(z)) = κ E[w (1 − e^{−zX̃})]. For Re ζ >= 0,
    1 − e^{−ζ} = ∫_0^1 ζ e^{−tζ} dt and |e^{−tζ}| <= 1, so |1 − e^{−ζ}| <= |ζ|; with
    w >= 0 this gives |z + κm| <= κ|z| E[w X̃] = κ|z|μ. On the other hand
    |z + κm|² = |z|² + 2κm Re z + κ²m² >= |z|² + κ²m². Hence |z|² + κ²m² <= κ²μ²|z|²;
    if κμ <= 1 this forces κ²m² <= 0, impossible. So no root has Re z >= 0 while
    κ <= 1/μ: the first crossing has κ* > 1/μ, i.e. κ*·μ > 1 (strictly).

    The numerical κ* (relative error <= 1e-8 even for quadrature-rule kernels,
    tests/stability/test_critical_kappa.py) must therefore exceed 1/μ; μ itself is a quadrature
    sum good to ~1e-10. inf (no crossing up to KAPPA_MAX) satisfies it trivially.
    """
    kappa = critical_kappa(kernel)
    assert kappa * kernel.weighted_mean > 1.0


# ------------------------------------------------------------------ 5. Routh–Hurwitz
@SLOW
@given(params=thinned_parameters(),
       factors=st.lists(floats(0.01, 3.0), min_size=4, max_size=4),
       spare=st.lists(floats(-2.0, 3.0), min_size=2, max_size=2))
def test_routh_hurwitz_conditions_agree_with_numpy_roots(params, factors, spare) -> None:
    """All Hurwitz conditions > 0 ⇔ every root of z Q + κ P has Re z < 0 (numpy.roots of
    the polynomial built here, compared coefficient by coefficient first). κ = f·κ* for
    four f in (0.01, 3) (κ* symbolic), plus 10^u for two u in (−2, 3) (also the only
    gains when κ* = ∞). Gains within 1e-6 (relative) of κ* are skipped: there the crossing
    pair is within ~1e-6 of the axis, where a sign decided in double precision is moot.
    Away from it the rightmost real part is >= ~1e-7 in size, far above numpy.roots'
    error (~1e-13 for these degree <= 9 polynomials with simple roots)."""
    k, threshold, rho, gamma = params
    kernel = symbolic_thinned(k, threshold, rho, gamma)
    poly = sym.characteristic_polynomial(kernel)
    conditions = sym.routh_hurwitz(poly)
    kappa_star = to_float(sym.critical_kappa(kernel).kappa)
    gains = [10.0**u for u in spare]
    if math.isfinite(kappa_star):
        gains += [f * kappa_star for f in factors]
    ours = thinned_polynomial(1.0, k, threshold, rho, gamma)
    np.testing.assert_allclose(
        [complex(c.subs(sym.KAPPA, 1)) for c in poly.all_coeffs()], ours, rtol=1e-12)
    for kappa in gains:
        if math.isfinite(kappa_star) and abs(kappa / kappa_star - 1.0) < 1e-6:
            continue
        exact = sp.Rational(kappa)
        hurwitz = all(c.subs(sym.KAPPA, exact) > 0 for c in conditions)
        roots = np.roots(thinned_polynomial(kappa, k, threshold, rho, gamma))
        assert hurwitz == (roots.real.max() < 0), (kappa, kappa_star, roots)
        assert hurwitz == (kappa < kappa_star)


# ------------------------------------------------------------------ 7. variance
VARIANCE_KERNELS = {
    "point delay": (sym.point_delay, lambda: delays.Deterministic(value=1.0)),
    "exponential": (sym.exponential, lambda: delays.Exponential(scale=1.0)),
    "erlang 2": (lambda: sym.erlang(2), lambda: delays.erlang(2, 1.0)),
    "erlang 3": (lambda: sym.erlang(3), lambda: delays.erlang(3, 1.0)),
}
_VARIANCE_CACHE: dict[str, sp.Expr] = {}


@settings(max_examples=12, deadline=None, derandomize=True)
@given(name=st.sampled_from(sorted(VARIANCE_KERNELS)), fraction=floats(0.01, 0.9))
def test_stationary_variance_matches_parseval(name: str, fraction: float) -> None:
    """The symbolic variance (Küchler–Mensch or Lyapunov) at σ = 1 and κ = f·κ*
    (κ* = ∞ for the exponential: κ = 10 f) against the Parseval integral (VARIANCE_RTOL).
    The thinned kernel is tested in tests/test_symbolic.py (its numerical variance is
    less accurate, and slower)."""
    make_symbolic, make_law = VARIANCE_KERNELS[name]
    if name not in _VARIANCE_CACHE:
        _VARIANCE_CACHE[name] = sym.stationary_variance(make_symbolic())
    law = make_law()
    kappa_star = critical_kappa(law)
    kappa = fraction * (kappa_star if math.isfinite(kappa_star) else 10.0)
    got = float(_VARIANCE_CACHE[name].subs({sym.KAPPA: kappa, sym.SIGMA: 1}))
    assert got == pytest.approx(stationary_variance(kappa, law), rel=VARIANCE_RTOL)

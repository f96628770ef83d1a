"""The symbolic stability theory (``sdde.symbolic``) against independent answers.

Every symbolic result is checked against something computed another way:

* κ*: the numerical scan ``sdde.stability.mean_field.critical_kappa`` (accurate to ~1e-13 relative
  for closed-form transforms, ~1e-12 for quadrature-summed thinned kernels;
  tests/stability/test_critical_kappa.py), and the crossing conditions themselves;
* limits between families: sympy's ``limit`` of the closed forms, against the point
  delay's own results;
* Routh–Hurwitz: hand-derived Hurwitz determinants and ``numpy.roots``;
* critical damping: the equations Δ = Δ' = 0 at 30 digits, the numerical rightmost roots
  (``sdde.stability.roots.characteristic_roots``, or ``numpy.roots`` of a polynomial built here for
  thinned kernels) and the decay rate on both sides;
* stationary variance: the Parseval integral ``sdde.stability.mean_field.stationary_variance`` and,
  for a thinned kernel, a Parseval integral written here;
* the discrete-time threshold: ``sdde.stability.discrete.discrete_critical_alpha``.

Randomised versions live in tests/test_symbolic_properties.py.
"""

from __future__ import annotations

import functools
import math
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from scipy import integrate
from thinned_erlang_reference import (
    delay_kernel,
    symbolic_thinned,
    thinned_phi,
    thinned_polynomial,
    to_float,
)

from sdde import delays
from sdde import symbolic as sym
from sdde.stability.discrete import discrete_critical_alpha
from sdde.stability.mean_field import KAPPA_MAX, critical_kappa, stationary_variance
from sdde.stability.roots import characteristic_roots

HALF_PI = math.pi / 2
#: Symbolic κ* (exact, or nsolve to 30 digits) against the numerical scan, accurate to
#: ~1e-13 relative (Newton stops at 4 eps·ω; thinned kernels ~1e-12 from their quadrature
#: rule, RULE_TAIL). Measured: <= 5e-14. 1e-9 leaves orders of magnitude to spare.
KAPPA_RTOL = 1e-9
#: Parseval integral with a closed-form transform (tests/stability/test_stationary_variance.py):
#: quad at 1e-11 per piece, a neglected tail ~κ/W³ < 1e-10 relative.
VARIANCE_RTOL = 1e-9
#: The Parseval integral for a quadrature-rule kernel (a thinned kernel) is cut at
#: W = 256 (1 + κ) instead of 2000 (1 + κ) (sdde/stability/mean_field.py); it neglects the
#: −2κ Im φ(iω)/ω³ term beyond W, ~2κ φ'(0+)/(3πW³) ≈ 1e-9 relative at κ ~ 2.5 (measured
#: 1.2e-9), and its docstring promises "below 1e-7 relative". That bound is used.
QUADRATURE_VARIANCE_RTOL = 1e-7

KNUM = sp.Symbol("k", positive=True, integer=True)  # erlang()'s own symbol (same name)
ASYM = sp.Symbol("a", positive=True)  # uniform()'s


# ------------------------------------------------------------------ κ*: closed forms
def test_point_delay_threshold_is_half_pi() -> None:
    result = sym.critical_kappa(sym.point_delay())
    assert result.kappa == sp.pi / 2
    assert result.omega == sp.pi / 2
    assert result.closed_form
    assert result.method == "phase"
    assert critical_kappa(delays.Deterministic(value=1.0)) == pytest.approx(
        float(result.kappa), rel=KAPPA_RTOL)


def test_exponential_never_crosses() -> None:
    """Re φ(iω) = 1/(1+ω²) > 0: no crossing, κ* = ∞ (numerically: no crossing found)."""
    result = sym.critical_kappa(sym.exponential())
    assert result.kappa == sp.oo
    assert result.closed_form
    assert critical_kappa(delays.Exponential(scale=1.0)) == math.inf
    re, _ = sym.crossing_conditions(sym.exponential())
    assert sp.simplify(re - 1 / (1 + sym.OMEGA**2)) == 0


@pytest.mark.parametrize("k", range(1, 9))
def test_erlang_threshold_matches_numeric(k: int) -> None:
    result = sym.critical_kappa(sym.erlang(k))
    assert result.closed_form
    numeric = critical_kappa(delays.erlang(k, 1.0))
    if k == 1:
        assert result.kappa == sp.oo
        assert numeric == math.inf
        return
    assert float(result.kappa) == pytest.approx(numeric, rel=KAPPA_RTOL)
    # the formula with k left symbolic, then substituted, is the same number
    formula = sym.critical_kappa(sym.erlang()).kappa
    assert float(formula.subs(KNUM, k)) == pytest.approx(numeric, rel=KAPPA_RTOL)
    assert float(sym.erlang_threshold_formula().subs(KNUM, k)) == pytest.approx(
        numeric, rel=KAPPA_RTOL)
    # and the crossing conditions hold at (ω*, κ*): Re φ(iω*) = 0, −ω*/Im φ(iω*) = κ*
    re, gain = sym.crossing_conditions(sym.erlang(k))
    assert abs(float(re.subs(sym.OMEGA, result.omega))) <= 1e-14
    assert float(gain.subs(sym.OMEGA, result.omega)) == pytest.approx(numeric,
                                                                        rel=KAPPA_RTOL)


def test_erlang_formula_is_infinite_at_k_one() -> None:
    """k = 1 (exponential): tan(π/2) — sympy's complex infinity, i.e. no threshold."""
    assert sym.erlang_threshold_formula().subs(KNUM, 1).is_finite is False


def test_erlang_formula_limit_and_monotonicity() -> None:
    """κ*(k) → π/2 (the point delay's) as k → ∞, decreasing in k: more regular delays
    destabilise more (float evaluation on k = 2..50; steps are >= 1e-5 relative, far
    above rounding)."""
    formula = sym.erlang_threshold_formula()
    assert sp.limit(formula, KNUM, sp.oo) == sym.critical_kappa(sym.point_delay()).kappa
    values = sym.lambdify(formula, KNUM)(np.arange(2, 51, dtype=float))
    assert np.all(np.diff(values) < 0)
    assert np.all(values > HALF_PI)
    assert values[0] == pytest.approx(4.0, rel=1e-14)


def test_uniform_threshold_formula_and_limit() -> None:
    """κ*(a) = π² a / (4 sin(πa/2)) → π/2 as a → 0+ (the point delay)."""
    formula = sym.critical_kappa(sym.uniform()).kappa
    assert sp.simplify(formula - sp.pi**2 * ASYM / (4 * sp.sin(sp.pi * ASYM / 2))) == 0
    assert sp.limit(formula, ASYM, 0, "+") == sp.pi / 2
    assert float(formula.subs(ASYM, 1)) == pytest.approx(
        critical_kappa(delays.parse("uniform:low=0,high=2")), rel=KAPPA_RTOL)
    assert float(sym.critical_kappa(sym.uniform(1)).kappa) == pytest.approx(
        math.pi**2 / 4, rel=1e-15)


def test_shifted_exponential_threshold() -> None:
    """No closed form: the phase equation solved by mpmath (30 digits), the same from an
    exact and a float shift; s → 1 is the point delay, s = 0 the exponential."""
    exact = sym.critical_kappa(sym.shifted_exponential(sp.Rational(1, 2)))
    approx = sym.critical_kappa(sym.shifted_exponential(0.5))
    assert not exact.closed_form
    assert exact.method == "numeric"
    numeric = critical_kappa(delays.parse("shifted-exp:shift=0.5,mean=1"))
    assert float(exact.kappa) == pytest.approx(numeric, rel=KAPPA_RTOL)
    assert float(approx.kappa) == pytest.approx(float(exact.kappa), rel=1e-14)
    assert sym.critical_kappa(sym.shifted_exponential(0)).kappa == sp.oo
    assert sym.critical_kappa(sym.shifted_exponential(1)).kappa == sp.pi / 2


@pytest.mark.parametrize(("p", "slowdown"), [
    (sp.Rational(1, 20), 10),
    (0.0806, 19.05),
    (0.2793, 2.01),
    (0.2608, 19.084),  # nsolve from ω = 1 once landed on ω = 780.65 (κ < 0)
    (0.1097, 6.353),  # ... on a negative frequency
    (0.25, 17.00985390492572),  # ... on a later crossing (κ = 7.854 > κ* = 7.681)
    (0.2603, 15.431),  # ... or failed to converge
])
def test_two_point_threshold(p: float, slowdown: float) -> None:
    """Symbolic scan-and-refine κ* against the numerical stability scan."""
    result = sym.critical_kappa(sym.two_point(p, slowdown))
    law = delays.two_point(time=1.0, p=float(p), slowdown=float(slowdown))
    assert float(result.kappa) == pytest.approx(critical_kappa(law), rel=KAPPA_RTOL)


THINNED_CASES = [
    (2, 3, Fraction(5), Fraction(1)),  # κ* = 12.32…
    (1, 5, Fraction(10), Fraction(1)),  # thinned exponential: κ* = ∞
    (3, 0, Fraction(1, 2), Fraction(1)),  # K = 0: Erlang-3 damped by e^{−ρu}
    (3, 5, Fraction(73, 10), Fraction(1, 2)),  # κ* = 65.6…
    (1, 5, Fraction(16), Fraction(1)),  # thinned exponential with a finite κ* = 116.3
    (2, 1, Fraction(20), Fraction(1)),  # κ* = 1133.4 > KAPPA_MAX
]


@pytest.mark.parametrize(("k", "threshold", "rho", "gamma"), THINNED_CASES)
def test_thinned_erlang_threshold_matches_numeric(k: int, threshold: int, rho: Fraction,
                                                 gamma: Fraction) -> None:
    """Routh–Hurwitz κ* against the numerical scan (which reports inf beyond KAPPA_MAX,
    so larger thresholds are also scanned up to 2 κ*); at κ* the crossing pair ±iω* is a
    root pair of the polynomial (numpy.roots: ~1e-13 for these simple roots)."""
    result = sym.critical_kappa(symbolic_thinned(k, threshold, rho, gamma))
    assert result.method == "routh-hurwitz"
    assert result.closed_form
    kernel = delay_kernel(k, threshold, rho, gamma)
    kappa = to_float(result.kappa)
    if kappa > KAPPA_MAX:
        assert critical_kappa(kernel) == math.inf
        if math.isfinite(kappa):
            assert critical_kappa(kernel, kappa_max=2 * kappa) == pytest.approx(
                kappa, rel=KAPPA_RTOL)
    else:
        assert kappa == pytest.approx(critical_kappa(kernel), rel=KAPPA_RTOL)
    if math.isfinite(kappa):
        omega = float(result.omega)
        roots = np.roots(thinned_polynomial(kappa, k, threshold, rho, gamma))
        assert np.abs(roots - 1j * omega).min() <= 1e-9 * omega
        assert roots.real.max() <= 1e-9 * omega
        assert abs(complex(1j * omega + kappa * thinned_phi(1j * omega, k, threshold, rho,
                                                             gamma))) <= 1e-12 * kappa


@pytest.mark.parametrize(("k", "threshold", "rho", "kappa_star", "kappa_max"), [
    # Routh–Hurwitz: no positive root of any Hurwitz condition, κ* = ∞. The scan once
    # crashed here: at ω = 480.29 the coarse rule (error bound 4e-4) had the wrong sign
    # outside the fixed 4e-6 band it re-checked exactly.
    pytest.param(1, 1, Fraction(1, 2), math.inf, 1000.0, marks=pytest.mark.slow),  # 13 s
    # K = 0: φ = 4/(z+19)², z(z+19)² + 4κ is Hurwitz iff 38·361 > 4κ: κ* = 3429.5 at
    # ω* = 19, an exact zero of Re φ(iω) on the scan grid, where the coarse rule's sign
    # once disagreed with the exact one and brentq failed.
    (2, 0, Fraction(17), 3429.5, 4000.0),
    (2, 0, Fraction(17), 3429.5, 1000.0),  # κ* beyond kappa_max: inf
], ids=["thinned-exp-inf", "erlang2-K0-3429.5", "erlang2-K0-beyond-kappa-max"])
def test_numeric_scan_far_out(k: int, threshold: int, rho: Fraction, kappa_star: float,
                              kappa_max: float) -> None:
    """The symbolic κ* of these thinned kernels is exact; the numerical scan up to
    kappa_max should agree (inf when κ* > kappa_max)."""
    symbolic = to_float(sym.critical_kappa(symbolic_thinned(k, threshold, rho,
                                                            Fraction(1))).kappa)
    assert symbolic == kappa_star
    numeric = critical_kappa(delay_kernel(k, threshold, rho, Fraction(1)), kappa_max=kappa_max)
    if kappa_star > kappa_max:
        assert numeric == math.inf
    else:
        assert numeric == pytest.approx(kappa_star, rel=KAPPA_RTOL)


# ------------------------------------------------------------------ Routh–Hurwitz
def test_routh_hurwitz_erlang_three_by_hand() -> None:
    """z (1 + z/3)³ + κ = 0 is z⁴ + 9z³ + 27z² + 27z + 27κ (monic). Hurwitz: a_i > 0,
    Δ₂ = a₁a₂ − a₃ = 216 and Δ₃ = a₃Δ₂ − a₁²a₄ = 27·216 − 81·27κ, zero at κ = 8/3."""
    poly = sym.characteristic_polynomial(sym.erlang(3))
    kappa = sym.KAPPA
    assert poly.all_coeffs() == [1, 9, 27, 27, 27 * kappa]
    conditions = sym.routh_hurwitz(poly)
    assert conditions[:4] == [9, 27, 27, 27 * kappa]
    assert sp.expand(conditions[4] - 216) == 0
    assert sp.expand(conditions[5] - (27 * 216 - 81 * 27 * kappa)) == 0
    assert sym.routh_hurwitz_threshold(sym.erlang(3)).kappa == sp.Rational(8, 3)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_routh_hurwitz_threshold_equals_phase_method(k: int) -> None:
    rh = sym.routh_hurwitz_threshold(sym.erlang(k))
    phase = sym.critical_kappa(sym.erlang(k))
    assert rh.method == "routh-hurwitz"
    assert float(rh.kappa) == pytest.approx(float(phase.kappa), rel=1e-14)
    assert float(rh.omega) == pytest.approx(float(phase.omega), rel=1e-14)


def test_routh_hurwitz_quadratic_and_cubic() -> None:
    """Degree 2: a₁, a₂ > 0 only. Degree 3: a₁a₂ > a₃ (checked on z³ + 2z² + z + κ:
    unstable from κ = 2, where ±i is a root)."""
    z = sym.Z
    assert sym.routh_hurwitz(sp.Poly(z**2 + 3 * z + 2, z)) == [3, 2]
    conditions = sym.routh_hurwitz(sp.Poly(z**3 + 2 * z**2 + z + sym.KAPPA, z))
    assert conditions[:3] == [2, 1, sym.KAPPA]
    assert sp.expand(conditions[3] - (2 - sym.KAPPA)) == 0
    assert np.allclose(sorted(np.roots([1, 2, 1, 2]).real)[-1], 0.0, atol=1e-14)


@pytest.mark.parametrize(("k", "threshold", "rho", "gamma"), THINNED_CASES[:4])
def test_characteristic_polynomial_matches_numpy_construction(
        k: int, threshold: int, rho: Fraction, gamma: Fraction) -> None:
    poly = sym.characteristic_polynomial(symbolic_thinned(k, threshold, rho, gamma))
    assert poly.degree() == threshold + k + 1
    for kappa in (0.5, 3.0):
        got = [complex(c.subs(sym.KAPPA, kappa)) for c in poly.all_coeffs()]
        np.testing.assert_allclose(got, thinned_polynomial(kappa, k, threshold, rho, gamma),
                                   rtol=1e-13)


# ------------------------------------------------------------------ critical damping
def test_critical_damping_point_delay() -> None:
    result = sym.critical_damping(sym.point_delay())
    assert result.kappa == sp.exp(-1)
    assert result.root == -1
    assert result.decay_rate == 1


def test_critical_damping_erlang_symbolic_k() -> None:
    """(k/(k+1))^{k+1} at z = −k/(k+1); → 1/e and −1 (the point delay's) as k → ∞; each
    k substituted is the Erlang-k result."""
    result = sym.critical_damping(sym.erlang())
    assert sp.simplify(result.kappa - (KNUM / (KNUM + 1)) ** (KNUM + 1)) == 0
    assert sp.simplify(result.root + KNUM / (KNUM + 1)) == 0
    point = sym.critical_damping(sym.point_delay())
    assert sp.limit(result.kappa, KNUM, sp.oo) == point.kappa
    assert sp.limit(result.root, KNUM, sp.oo) == point.root
    for k in (2, 3, 4):
        exact = sym.critical_damping(sym.erlang(k))
        assert sp.simplify(result.kappa.subs(KNUM, k) - exact.kappa) == 0
        assert sp.simplify(result.root.subs(KNUM, k) - exact.root) == 0


DAMPING_CASES = {
    "point delay": (sym.point_delay, lambda: delays.Deterministic(value=1.0)),
    "exponential": (sym.exponential, lambda: delays.Exponential(scale=1.0)),
    **{f"erlang {k}": (functools.partial(sym.erlang, k), functools.partial(delays.erlang, k, 1.0))
       for k in (2, 3, 4, 5)},
    "uniform a=1": (lambda: sym.uniform(1), lambda: delays.Uniform(low=0.0, high=2.0)),
    "shifted exp s=1/2": (lambda: sym.shifted_exponential(sp.Rational(1, 2)),
                          lambda: delays.parse("shifted-exp:shift=0.5,mean=1")),
}
#: A double root z₀ is found by a root finder to ~sqrt(residual) ~ 1e-8 (the residual is
#: ~eps): 1e-6 absolute on Re z (the rates here are 0.5..1).
DOUBLE_ROOT_ATOL = 1e-6


def _check_double_root(kernel: sym.SymbolicKernel, result: sym.CriticalDamping) -> None:
    """Δ = Δ' = 0 at (root, κ), evaluated at 30 digits (the values are exact or 30-digit
    roots, so the residual is ~1e-28; 1e-20 is far above that and far below any miss)."""
    delta = sym.characteristic_function(kernel)
    at = {sym.Z: result.root, sym.KAPPA: result.kappa}
    assert abs(complex(delta.subs(at).evalf(30))) <= 1e-20
    assert abs(complex(sp.diff(delta, sym.Z).subs(at).evalf(30))) <= 1e-20
    assert result.kappa.is_positive
    assert float(result.root) < 0
    assert sp.simplify(result.decay_rate + result.root) == 0


@pytest.mark.parametrize("name", sorted(DAMPING_CASES))
def test_critical_damping_is_the_fastest_decay(name: str) -> None:
    """(a) a double root of Δ; (b) the rightmost root there (characteristic_roots);
    (c) the decay rate −Re z₁ at κ(1 ± 5 %) is no larger (strictly smaller below: two real
    roots, one moving right; above, the pair's real part stays or moves right — it stays
    exactly −1/2 for the exponential, z² + z + κ)."""
    make_symbolic, make_law = DAMPING_CASES[name]
    kernel = make_symbolic()
    result = sym.critical_damping(kernel)
    _check_double_root(kernel, result)
    kappa, root = float(result.kappa), float(result.root)
    law = make_law()
    rightmost = characteristic_roots(kappa, law, n=3)
    assert rightmost[0].real == pytest.approx(root, abs=DOUBLE_ROOT_ATOL)
    best = -rightmost[0].real
    below = -characteristic_roots(0.95 * kappa, law, n=1)[0].real
    above = -characteristic_roots(1.05 * kappa, law, n=1)[0].real
    assert below < best - 1e-3
    assert above <= best + DOUBLE_ROOT_ATOL


@pytest.mark.parametrize(("k", "threshold", "rho", "gamma"), [
    (1, 1, Fraction(2), Fraction(1)),
    (2, 3, Fraction(5), Fraction(1)),
    (3, 2, Fraction(4), Fraction(1, 2)),
])
def test_critical_damping_thinned(k: int, threshold: int, rho: Fraction,
                                  gamma: Fraction) -> None:
    """As above, with numpy.roots of the polynomial built here (characteristic_roots
    cannot certify roots this far left for quadrature-rule kernels: it returns none)."""
    kernel = symbolic_thinned(k, threshold, rho, gamma)
    result = sym.critical_damping(kernel)
    _check_double_root(kernel, result)
    kappa, root = float(result.kappa), float(result.root)

    def rate(gain: float) -> float:
        return float(-np.roots(thinned_polynomial(gain, k, threshold, rho, gamma)).real.max())

    assert -rate(kappa) == pytest.approx(root, abs=DOUBLE_ROOT_ATOL)
    assert rate(0.95 * kappa) < rate(kappa) - 1e-3
    assert rate(1.05 * kappa) <= rate(kappa) + DOUBLE_ROOT_ATOL


def test_critical_damping_without_a_double_root_raises() -> None:
    with pytest.raises(ValueError, match="no closed-form double root"):
        sym.critical_damping(sym.two_point(sp.Rational(1, 2), 3))


# ------------------------------------------------------------------ stationary variance
def test_stationary_variance_closed_forms() -> None:
    """Point delay: Küchler–Mensch; exponential: x' = −κy, y' = x − y gives
    σ²(1 + κ)/(2κ) (Lyapunov by hand)."""
    kappa, sigma = sym.KAPPA, sym.SIGMA
    point = sym.stationary_variance(sym.point_delay())
    assert sp.simplify(point - sigma**2 * (1 + sp.sin(kappa)) / (2 * kappa * sp.cos(kappa))) == 0
    expo = sym.stationary_variance(sym.exponential())
    assert sp.simplify(expo - sigma**2 * (1 + kappa) / (2 * kappa)) == 0


@pytest.mark.parametrize(("make_symbolic", "law"), [
    (sym.point_delay, delays.Deterministic(value=1.0)),
    (sym.exponential, delays.Exponential(scale=1.0)),
    (functools.partial(sym.erlang, 2), delays.erlang(2, 1.0)),
    (functools.partial(sym.erlang, 3), delays.erlang(3, 1.0)),
], ids=["point", "exponential", "erlang2", "erlang3"])
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.9])
def test_stationary_variance_matches_parseval(make_symbolic, law, fraction: float) -> None:
    kappa_star = critical_kappa(law)
    kappa = fraction * (kappa_star if math.isfinite(kappa_star) else 10.0)
    formula = sym.stationary_variance(make_symbolic())
    for sigma in (1.0, 2.5):
        got = float(formula.subs({sym.KAPPA: kappa, sym.SIGMA: sigma}))
        assert got == pytest.approx(stationary_variance(kappa, law, sigma=sigma),
                                    rel=VARIANCE_RTOL)


def _parseval_reference(kappa: float, k: int, threshold: int, rho: Fraction,
                        gamma: Fraction) -> float:
    """σ = 1: Var = (1/π) ∫_0^∞ |iω + κφ(iω)|^{−2} dω with ω = tan θ, i.e.
    (1/π) ∫_0^{π/2} |i sin θ + κ φ(i tan θ) cos θ|^{−2} dθ: a smooth integrand on a
    finite interval (→ 1 at θ = π/2), so quad reaches ~1e-13 with no tail to neglect."""

    def integrand(theta: float) -> float:
        omega = math.tan(theta)
        phi = thinned_phi(1j * omega, k, threshold, rho, gamma)
        return 1.0 / abs(1j * math.sin(theta) + kappa * phi * math.cos(theta)) ** 2

    points = [math.atan(x) for x in (0.5 * kappa, kappa, 2.0 * kappa)]
    value, _ = integrate.quad(integrand, 0.0, HALF_PI, points=points, limit=400,
                              epsabs=0.0, epsrel=1e-13)
    return value / math.pi


@pytest.mark.parametrize("kappa", [0.1, 1.0])
def test_stationary_variance_thinned_exponential(kappa: float) -> None:
    """Thinned exponential (K = 1, ρ = 2, κ* = ∞): the Lyapunov closed form against the
    Parseval integral written above (1e-10: quad at 1e-13 on a smooth integrand) and
    against sdde.stationary_variance of the matching DelayKernel (QUADRATURE_VARIANCE_RTOL:
    its frequency cut is earlier for quadrature-rule kernels)."""
    params = (1, 1, Fraction(2), Fraction(1))
    formula = sym.stationary_variance(symbolic_thinned(*params))
    assert sp.simplify(formula - sym.SIGMA**2 * (5 * sym.KAPPA**2 + 135 * sym.KAPPA + 486)
                       / (10 * sym.KAPPA * (sym.KAPPA + 54))) == 0
    got = float(formula.subs({sym.KAPPA: kappa, sym.SIGMA: 1}))
    assert got == pytest.approx(_parseval_reference(kappa, *params), rel=1e-10)
    assert got == pytest.approx(stationary_variance(kappa, delay_kernel(*params)),
                                rel=QUADRATURE_VARIANCE_RTOL)


# ------------------------------------------------------------------ discrete time
def test_discrete_threshold_matches_numeric_scan() -> None:
    """α*(S) = 2 sin(π/(2(2S+1))) against discrete_critical_alpha(δ_S), a scan of the unit
    circle refined by brentq to |Δθ| <= 1e-15 (α = 2 sin(θ/2) inherits ~1e-15; measured
    3e-15): 1e-12."""
    formula = sym.discrete_threshold()
    for s in range(41):
        q = np.zeros(s + 1)
        q[s] = 1.0
        numeric = discrete_critical_alpha(q)
        exact = sym.discrete_threshold(s)
        assert float(exact.alpha) == pytest.approx(numeric, rel=1e-12)
        assert sp.simplify(formula.alpha.subs(sym.STALENESS, s) - exact.alpha) == 0
        assert sp.simplify(formula.angle.subs(sym.STALENESS, s) - exact.angle) == 0


@pytest.mark.parametrize("s", [0, 1, 2, 5])
def test_discrete_threshold_root_on_unit_circle(s: int) -> None:
    """At α*, ζ = e^{iθ} solves ζ^{S+1} − ζ^S + α* = 0 (30-digit residual)."""
    result = sym.discrete_threshold(s)
    zeta = next(iter(result.polynomial.free_symbols - {sym.ALPHA}))
    value = result.polynomial.subs({zeta: sp.exp(sp.I * result.angle), sym.ALPHA: result.alpha})
    assert abs(complex(value.evalf(30))) <= 1e-25


def test_discrete_threshold_small_staleness() -> None:
    assert sym.discrete_threshold(0).alpha == 2
    assert sym.discrete_threshold(1).alpha == 1
    assert sp.simplify(sym.discrete_threshold(2).alpha - (sp.sqrt(5) - 1) / 2) == 0


# ------------------------------------------------------------------ output
def test_latex_and_lambdify() -> None:
    assert "\\pi" in sym.latex(sym.critical_kappa(sym.point_delay()).kappa)
    erlang_kappa = sym.lambdify(sym.erlang_threshold_formula(), KNUM)
    assert erlang_kappa(2) == pytest.approx(4.0, rel=1e-14)
    assert float(sym.erlang_threshold_formula().subs(KNUM, 3)) == pytest.approx(8 / 3,
                                                                                rel=1e-15)


# ------------------------------------------------------------------ subs
@pytest.mark.parametrize(("family", "values"), [
    (sym.erlang, {"k": 3}),
    (sym.uniform, {"a": sp.Rational(1, 2)}),
    (sym.shifted_exponential, {"s": sp.Rational(1, 3)}),
])
def test_subs_equals_construction_with_values(family, values) -> None:
    ((name, value),) = values.items()
    by_subs = family().subs(**values)
    direct = family(value)
    assert by_subs.transform == direct.transform
    assert by_subs.phase == direct.phase
    assert by_subs.modulus == direct.modulus
    assert by_subs.name == direct.name
    assert by_subs.parameters == {name: value}


def test_subs_two_point() -> None:
    by_subs = sym.two_point().subs(p=sp.Rational(1, 20), r=10)
    direct = sym.two_point(sp.Rational(1, 20), 10)
    assert sp.simplify(by_subs.transform - direct.transform) == 0
    assert by_subs.name == direct.name


def test_subs_keeps_thinned_name() -> None:
    """The fixed arguments k and K stay in the name (they once were dropped)."""
    by_subs = sym.thinned_erlang(1, 2).subs(rho=3)
    direct = sym.thinned_erlang(1, 2, 3)
    assert by_subs.transform == direct.transform
    assert by_subs.name == direct.name


def test_subs_of_a_numeric_parameter_is_refused() -> None:
    """erlang(2).subs(k=5) once renamed the kernel but kept φ = (1 + z/2)^-2."""
    with pytest.raises(ValueError, match=r"parameter\(s\) \['k'\] are already numbers"):
        sym.erlang(2).subs(k=5)
    assert sym.erlang().subs(k=5).transform == sym.erlang(5).transform


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: sym.erlang(0), "k must be a whole number >= 1"),
    (lambda: sym.erlang(1.5), "k must be a whole number >= 1"),
    (lambda: sym.thinned_erlang(0, 1), "k must be a whole number >= 1"),
    (lambda: sym.thinned_erlang(1, -1), "threshold must be a whole number >= 0"),
    (lambda: sym.erlang(2).subs(nope=1), r"no parameter\(s\) \['nope'\]; known: \['k'\]"),
    (lambda: sym.critical_kappa(sym.two_point()), r"give numbers for \['p', 'r'\]"),
    (lambda: sym.critical_kappa(sym.shifted_exponential()), r"give numbers for \['s'\]"),
    (lambda: sym.critical_kappa(sym.thinned_erlang(2, 1)), r"give numbers for \['rho'\]"),
    (lambda: sym.stationary_variance(sym.uniform(1)), "no closed form for the variance"),
    (lambda: sym.characteristic_polynomial(sym.point_delay()), "not rational"),
    (lambda: sym.uniform(0), r"half_width a must lie in \(0, 1\], got 0"),
    (lambda: sym.shifted_exponential(sp.Rational(3, 2)), r"shift s must lie in \[0, 1\]"),
    (lambda: sym.two_point(sp.Rational(6, 5), 3), r"p must lie in \[0, 1\]"),
    (lambda: sym.two_point(sp.Rational(1, 5), 0), "slowdown r must be > 0"),
    (lambda: sym.thinned_erlang(True, 1), "k must be a whole number >= 1"),
], ids=["erlang0", "erlang1.5", "thinned-k0", "thinned-K-1", "subs", "two-point",
        "shifted-exp", "thinned-rho", "variance", "polynomial", "uniform-a0",
        "shifted-s", "two-point-p", "two-point-r", "thinned-bool"])
def test_errors_name_the_problem(call, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        call()


# ------------------------------------------------------------------ laziness
def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    return out.strip().splitlines()[-1]


def test_import_sdde_does_not_load_sympy() -> None:
    assert _run("import sdde, sys; sdde.critical_kappa; print('sympy' in sys.modules)") == \
        "False"


def test_command_line_does_not_load_sympy() -> None:
    code = ("import sys; from sdde.cli import main; main(['--workers', '4', '--lr', '0.01']); "
            "print('sympy' in sys.modules)")
    assert _run(code) == "False"


def test_symbolic_attribute_loads_sympy() -> None:
    """The other side: ``sdde.symbolic`` is reachable lazily and does load sympy."""
    assert _run("import sdde, sys; sdde.symbolic.point_delay(); "
                "print('sympy' in sys.modules)") == "True"

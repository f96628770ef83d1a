"""Characteristic roots of any kernel (``characteristic_roots``), the argument-principle
count (``unstable_root_count``) and the certified winding behind it.

The mode's characteristic function is ``Δ(z) = z + κ φ(z)``, ``φ`` the transform of the
mean-1 delay law. Independent answers used here:

* the law's own transform ``law.normalized().laplace`` (closed forms; scipy's adaptive
  quadrature for laws without one) for residuals — never the kernel's quadrature rules,
  which the roots were polished with;
* mpmath quadrature (40 digits) of the Weibull transform left of the axis;
* Lambert W (``point_delay_roots`` and ``scipy.special.lambertw``) for the point delay;
* ``numpy.roots`` of the polynomial an Erlang-k kernel reduces to (linear chain trick:
  ``z (1 + z/k)^k + κ = 0``) and the quadratic ``z² + z + κ`` of the exponential kernel;
* ``critical_kappa`` (a scan of ``Re φ(iω)``) against the count.
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import pytest
from chain_reference import linear_chain_eigenvalues
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from sdde import delays
from sdde.delays import DelayLaw
from sdde.stability._winding import certified_arg_change
from sdde.stability.mean_field import critical_kappa
from sdde.stability.roots import characteristic_roots, point_delay_roots, unstable_root_count

HALF_PI = math.pi / 2.0
INV_E = 1.0 / math.e

CLOSED_FORM = {
    "deterministic": delays.Deterministic(value=1.0),
    "exponential": delays.Exponential(scale=2.0),
    "gamma2": delays.parse("gamma:shape=2,mean=1"),
    "gamma0.5": delays.Gamma(shape=0.5, scale=1.0),
    "uniform": delays.Uniform(low=0.5, high=1.5),
    "uniform0": delays.Uniform(low=0.0, high=2.0),
    "two-point": delays.parse("two-point:time=1,p=0.05,slowdown=10"),
    "shifted-exp": delays.parse("shifted-exponential:shift=0.5,mean=1"),
}
HEAVY = {
    "lognormal": delays.parse("lognormal:cv=0.5,mean=1"),
    "pareto": delays.parse("pareto:shape=2.5,scale=1"),
}
WEIBULL2 = delays.parse("weibull:shape=2,scale=1")
ALL_LAWS = {**CLOSED_FORM, **HEAVY, "weibull2": WEIBULL2,
            "weibull0.7": delays.Weibull(shape=0.7, scale=1.0)}
KAPPAS = [0.2, 1.0, 2.0, 3.0, 6.0]

#: The residual bound characteristic_roots documents: |Δ(z)| <= 1e-10 (|z| + κ φ(Re z)).
#: The references add far less: closed forms are exact to a few ulps, scipy's adaptive
#: quadrature to ~1e-13 absolute for Re z >= 0 (sdde/_numerics.py), i.e. <= 6e-13 after
#: multiplying by κ <= 6 — three orders below the bound, since |z| + κφ(Re z) >= 0.2.
RESIDUAL_RTOL = 1e-10


def residual_ratio(z: np.ndarray, kappa: float, law: DelayLaw) -> np.ndarray:
    """|z + κ φ(z)| / (|z| + κ |φ(Re z)|) with φ from the law's own transform."""
    unit = law.normalized()
    phi = np.asarray(unit.laplace(z), dtype=np.complex128)
    phi_re = np.abs(np.asarray(unit.laplace(z.real.astype(np.complex128))))
    return np.abs(z + kappa * phi) / (np.abs(z) + kappa * phi_re)


def check_order(z: np.ndarray) -> None:
    """Real parts descending; a non-real root with Im > 0 is followed by its conjugate.

    Sorting is on real parts rounded to 9 decimals (roots._distinct_sorted), so ties are
    broken within 1e-9. Members of a pair are polished separately; each is within
    ~1e-10 (|z| + κφ) / |Δ'| of the true root, so conjugates agree to 1e-9 (1 + |z|).
    Copies of a double root (two equal entries) are a pair of their own."""
    assert np.all(np.diff(z.real) <= 1e-9)
    i = 0
    while i < len(z):
        if abs(z[i].imag) <= 1e-6 or i + 1 == len(z):  # real (or a pair cut by n)
            i += 1
            continue
        assert z[i].imag > 0, (i, z)
        assert abs(z[i + 1] - np.conj(z[i])) <= 1e-9 * (1 + abs(z[i])), (i, z)
        i += 2


# =================================================================== residuals
@pytest.mark.parametrize("kappa", KAPPAS)
@pytest.mark.parametrize("name", list(CLOSED_FORM))
def test_closed_form_roots_solve_the_equation(name: str, kappa: float) -> None:
    """Every root the generator search returns lies where φ converges and solves
    z + κφ(z) = 0 with the law's closed-form transform. (``method="generator"``: with
    ``auto``, rational kernels, the exponential and gamma 2 here, return their whole
    finite spectrum, left of the abscissa too; test_roots_rational.py checks that.)"""
    law = CLOSED_FORM[name]
    z = characteristic_roots(kappa, law, n=10, method="generator")
    # Gamma shape 1/2 has no root right of its abscissa −1/2 for κ >~ 0.6 (see
    # test_gamma_half_roots_are_cubic_roots); every other law here has one.
    assert z.size >= (0 if name == "gamma0.5" else 1)
    assert z.dtype == np.complex128
    assert np.all(z.real > law.normalized().laplace_abscissa)
    assert residual_ratio(z, kappa, law).max(initial=0.0) <= RESIDUAL_RTOL
    check_order(z)


@pytest.mark.parametrize("kappa", KAPPAS)
@pytest.mark.parametrize("name", [*HEAVY, "weibull2"])
def test_quadrature_law_roots_right_of_the_axis(name: str, kappa: float) -> None:
    """Laws without a closed form: roots with Re z >= 0 against scipy's adaptive
    quadrature of the law. (Heavy tails: left of the axis φ does not exist and the roots
    there describe the transient of the truncated law. Weibull shape 2: left-of-axis
    roots are checked against mpmath below.)"""
    law = {**HEAVY, "weibull2": WEIBULL2}[name]
    z = characteristic_roots(kappa, law, n=10)
    assert z.size >= 1
    check_order(z)
    right = z[z.real >= 0]
    if right.size:
        assert residual_ratio(right, kappa, law).max() <= RESIDUAL_RTOL
    # κ > κ* (about 2.25-2.35 for these three laws) has a crossed pair, κ < κ* none.
    assert (right.size > 0) == (kappa > critical_kappa(law))


def _weibull_transform_mp(z: complex, lam: float) -> complex:
    """Weibull shape 2, scale λ: φ(z) = ∫ (2x/λ²) e^{−(x/λ)² − zx} dx at 40 digits."""
    with mpmath.workdps(40):
        zz, la = mpmath.mpc(z), mpmath.mpf(lam)
        return complex(mpmath.quad(lambda x: 2 * x / la**2 * mpmath.exp(-(x / la) ** 2 - zz * x),
                                   [0, 1, 2, 4, 8, 16, mpmath.inf]))


@pytest.mark.parametrize("kappa", [0.2, 2.0, 6.0])
def test_weibull_two_roots_left_of_the_axis(kappa: float) -> None:
    """Weibull shape 2 has an entire transform (abscissa −inf), so every returned root
    must solve the exact equation; checked with mpmath's 40-digit quadrature (exact to
    far below the bound)."""
    law = WEIBULL2
    lam = float(law.normalized().scale)
    z = characteristic_roots(kappa, law, n=10)
    left = z[z.real < 0]
    # Roots are only returned where the quadrature rule is accurate (e^{|Re z| x_cut}·e <=
    # 1e-10); at κ = 6 the left roots lie beyond that and only the crossed pair remains.
    assert z.size and (left.size or kappa > critical_kappa(law))
    for root in left:
        phi = _weibull_transform_mp(complex(root), lam)
        phi_re = abs(_weibull_transform_mp(complex(root.real), lam))
        assert abs(root + kappa * phi) <= RESIDUAL_RTOL * (abs(root) + kappa * phi_re), root


@pytest.mark.parametrize(("law", "kappa"), [
    *[(delays.erlang(3, 1.0), k) for k in (0.1, 0.5, 2.0)],
    *[(delays.erlang(5, 1.0), k) for k in (0.1, 0.2, 0.5, 2.0)],
    *[(delays.Gamma(shape=0.5, scale=1.0), k) for k in (0.05, 0.1, 0.2, 0.5, 2.0)],
    (delays.erlang(3, 1.0), 0.2),
    (delays.Gamma(shape=1.5, scale=1.0), 7.26),
], ids=str)
def test_no_exception_near_the_abscissa(law: DelayLaw, kappa: float) -> None:
    """Kernels with a finite abscissa of convergence: generator eigenvalues just right of
    it must not crash Newton, and every root returned lies right of it. Regression (found
    by this suite): erlang-3 at κ = 0.2 and gamma 1.5 at κ = 7.26 raised ValueError, the
    closed-form central difference in with_derivative stepping across the abscissa.
    (``method="generator"``: the search this regression was in; with ``auto`` the Erlang
    laws take the exact rational path, whose roots may lie left of the abscissa.)"""
    z = characteristic_roots(kappa, law, n=10, method="generator")
    assert np.all(z.real > law.normalized().laplace_abscissa)


# =================================================================== point delay
#: A grid avoiding 1/e ± 1e-3, where the two real roots merge into a double root.
GENERATOR_KAPPAS = [1e-3, 0.05, 0.2, 0.3, 0.36, 0.376, 0.4, 0.5, 1.0, 1.5,
                    HALF_PI * (1 - 1e-6), 2.0, 3.0, 6.0, 10.0, 20.0, 50.0]


@pytest.mark.parametrize("kappa", GENERATOR_KAPPAS)
def test_generator_agrees_with_lambert_w(kappa: float) -> None:
    """The spectral generator + Newton against Lambert W, root by root. Both are polished
    to a few ulps (Newton stops at a step of 1e-14 (1 + |z|)); at distance >= 1e-3 from
    1/e the closest two roots are >= 2 sqrt(2e-3) ≈ 0.09 apart and |Δ'| = |1 + z| >=
    0.045, so rounding moves a root by < 1e-14: 1e-10 (1 + |z|) is a wide margin."""
    law = delays.Deterministic(value=1.0)
    g = characteristic_roots(kappa, law, n=8, method="generator")
    lam = point_delay_roots(kappa, 8)
    assert g.shape == lam.shape
    assert np.all(np.abs(g - lam) <= 1e-10 * (1 + np.abs(lam)))
    np.testing.assert_array_equal(characteristic_roots(kappa, law, n=8), lam)  # auto


def test_generator_at_the_double_root() -> None:
    """κ = 1/e: Δ(−1) = Δ'(−1) = 0 and Δ''(−1) = κe = 1, so an evaluation error ε in Δ
    (~eps) moves the root by sqrt(2ε/Δ'') ~ sqrt(eps) ≈ 1.5e-8, and Newton converges only
    linearly there. 1e-7 allows for that; the double root must be reported twice.
    (Observed: both copies come back as −1 + 2.0e-9j — the same tiny imaginary part,
    not a conjugate pair — which is within that accuracy.)"""
    g = characteristic_roots(INV_E, delays.Deterministic(value=1.0), n=8, method="generator")
    lam = point_delay_roots(INV_E, 8)
    assert g.shape == lam.shape
    assert np.all(np.abs(g - lam) <= 1e-7 * (1 + np.abs(lam)))
    assert np.sum(np.abs(g + 1.0) <= 1e-7) == 2
    assert np.all(np.abs(g[2:] + 1.0) > 1.0)


@pytest.mark.parametrize("kappa", [2.0, 7.0, 8.0, 14.0, 15.0, 20.0, 21.0, 50.0, 100.0])
def test_point_delay_count_is_twice_the_crossed_branches(kappa: float) -> None:
    """Roots of z + κe^{−z} are W_k(−κ), one per branch k >= 0 with its conjugate W_{−k−1}.
    The count of the argument principle must be 2·#{k >= 0 : Re W_k(−κ) > 0}. (Pairs cross
    at κ = π/2 + 2πj; every κ here is >= 0.3 from those.)"""
    branches = np.array([special.lambertw(-kappa, k) for k in range(40)])
    assert branches[-1].real < 0  # enough branches were looked at
    expected = 2 * int(np.sum(branches.real > 0))
    assert unstable_root_count(kappa, delays.Deterministic(value=1.0)) == expected
    assert expected == 2 * sum(1 for j in range(40) if HALF_PI + 2 * math.pi * j < kappa)


def test_count_exactly_at_half_pi() -> None:
    """At κ = π/2 the pair ±iπ/2 is on the axis (the double π/2 lies 6e-17 below the true
    π/2, so the true pair is 3e-17 left of it: far inside rounding). Observed: None —
    undecidable, as documented. A number would have to be 0 (the truth for the double).
    A relative step of 1e-9 puts the pair ≈ 7e-10 off the axis, where |Δ(iω)| >= ~1e-9
    dwarfs the count's evaluation error (κ·1e-13): decided, 0 below and 2 above."""
    law = delays.Deterministic(value=1.0)
    assert unstable_root_count(HALF_PI, law) in (None, 0)
    assert unstable_root_count(HALF_PI * (1 - 1e-9), law) == 0
    assert unstable_root_count(HALF_PI * (1 + 1e-9), law) == 2


def test_count_exactly_at_a_threshold_is_undecidable() -> None:
    """Mean-1 gamma shape 2 at κ = 4 (exactly representable): Δ(2i) = 2i + 4/(1 + i)² = 0
    exactly, so the curve Δ(iω) passes through 0 and no count is possible."""
    law = delays.parse("gamma:shape=2,mean=1")
    assert unstable_root_count(4.0, law) is None
    assert unstable_root_count(4.0 * (1 - 1e-9), law) == 0
    assert unstable_root_count(4.0 * (1 + 1e-9), law) == 2


# =================================================================== Erlang and exponential
def erlang_polynomial_roots(k: int, kappa: float) -> np.ndarray:
    """All roots of z (1 + z/k)^k + κ (φ = (1 + z/k)^{−k}, multiplied out), sorted by
    real part descending, Im > 0 first."""
    poly = np.polynomial.polynomial.polypow([1.0, 1.0 / k], k)  # ascending powers
    poly = np.polynomial.polynomial.polymulx(poly)
    poly[0] += kappa
    roots = np.roots(poly[::-1])
    return roots[np.lexsort((-roots.imag, -np.round(roots.real, 9)))]


@pytest.mark.parametrize("kappa", [0.01, 0.2, 1.0, 2.0, 3.0, 6.0, 20.0])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_erlang_roots_are_polynomial_roots(k: int, kappa: float) -> None:
    """The returned roots are all k + 1 roots of the polynomial, in order (1e-9 (1 + |z|):
    np.roots has backward error ~eps·‖coefficients‖ with coefficients <= 20 and these
    roots are simple and well separated, so both sides are good to ~1e-13): the rational
    kernel's whole finite spectrum, left of the abscissa −k too (issue 21)."""
    z = characteristic_roots(kappa, delays.erlang(k, 1.0), n=10)
    expected = erlang_polynomial_roots(k, kappa)
    assert z.size == expected.size == k + 1
    assert np.all(np.abs(z - expected) <= 1e-9 * (1 + np.abs(expected)))


def gamma_half_cubic_roots(kappa: float) -> np.ndarray:
    """Mean-1 gamma of shape 1/2: φ(z) = (1 + 2z)^{−1/2}. With w = sqrt(1 + 2z)
    (principal, Re w > 0), z = (w² − 1)/2 and z + κ/w = 0 ⇔ w³ − w + 2κ = 0. A cubic root
    w gives a root z where φ converges (Re z > −1/2) iff Re w > 0 and Re w² > 0."""
    w = np.roots([1.0, 0.0, -1.0, 2.0 * kappa])
    w = w[(w.real > 0) & ((w**2).real > 0)]
    z = (w**2 - 1.0) / 2.0
    return z[np.lexsort((-z.imag, -np.round(z.real, 9)))]


@pytest.mark.parametrize("kappa", [0.05, 0.1, 0.15, 0.19, 0.2, 0.3, 0.5, 1.0, 3.0])
def test_gamma_half_roots_are_cubic_roots(kappa: float) -> None:
    """The returned roots are the cubic's (1e-9 (1 + |z|): simple roots, np.roots good to
    ~1e-14 at these coefficients, the map w -> (w² − 1)/2 well conditioned), the
    rightmost first, complete for Re z > −1/4 (half the abscissa; see the Erlang test).
    For κ >= 1 the pair has moved left of −1/2: no root at all."""
    z = characteristic_roots(kappa, delays.Gamma(shape=0.5, scale=7.0), n=10)
    expected = gamma_half_cubic_roots(kappa)
    assert z.size <= expected.size
    assert np.all(np.abs(z - expected[:z.size]) <= 1e-9 * (1 + np.abs(expected[:z.size])))
    assert z.size >= int(np.sum(expected.real > -0.25))
    if kappa >= 1.0:
        assert expected.size == 0


@pytest.mark.parametrize("kappa", [0.1, 0.2, 0.3, 1.0, 5.0, 50.0])
def test_exponential_roots_are_the_quadratic(kappa: float) -> None:
    """φ = 1/(1 + z): z + κ/(1 + z) = 0 ⇔ z² + z + κ = 0 (z = −1 is never a root).
    Exactly its two roots, both with Re z > −1, and nothing else. They are simple
    (κ != 1/4) and the closed form is good to a few ulps: 1e-12 (1 + |z|)."""
    z = characteristic_roots(kappa, delays.Exponential(scale=3.0), n=10)
    disc = np.sqrt(complex(1.0 - 4.0 * kappa))
    expected = np.array([(-1 + disc) / 2, (-1 - disc) / 2])
    expected = expected[np.lexsort((-expected.imag, -expected.real))]
    assert z.shape == (2,)
    assert np.all(np.abs(z - expected) <= 1e-12 * (1 + np.abs(expected)))


def test_exponential_double_root() -> None:
    """κ = 1/4: the double root −1/2, reported twice, to ~sqrt(eps) (see the point-delay
    double root)."""
    z = characteristic_roots(0.25, delays.Exponential(scale=1.0), n=10)
    assert z.shape == (2,)
    assert np.all(np.abs(z + 0.5) <= 1e-7)


@pytest.mark.parametrize("kappa", [1e-3, 0.01, 0.05])
def test_exponential_roots_small_kappa(kappa: float) -> None:
    """Same statement as test_exponential_roots_are_the_quadratic, for small κ. The two
    roots (−1 ± sqrt(1 − 4κ))/2 are >= 0.9 apart and simple, and φ is analytic at
    both."""
    z = characteristic_roots(kappa, delays.Exponential(scale=1.0), n=10)
    disc = math.sqrt(1.0 - 4.0 * kappa)
    expected = np.array([(-1 + disc) / 2, (-1 - disc) / 2])
    assert z.shape == (2,)
    assert np.all(np.abs(z - expected) <= 1e-12)


# =================================================================== verdicts
@functools.cache
def _kappa_star(name: str) -> float:
    return critical_kappa(ALL_LAWS[name])


def _verdict_cases() -> list[tuple[str, float]]:
    cases = []
    for name in ALL_LAWS:
        star = _kappa_star(name)
        kappas = [0.2, 1.0, 3.0, 10.0]
        if math.isfinite(star):
            kappas += [star * 0.95, star * 1.05]
        cases += [(name, k) for k in kappas]
    return cases


@pytest.mark.parametrize(("name", "kappa"), _verdict_cases())
def test_count_agrees_with_roots_and_threshold(name: str, kappa: float) -> None:
    """The argument-principle count equals the number of returned roots with Re z >= 0
    (n = 10 is more than the unstable roots at these κ), and is 0 iff κ < κ*. At
    κ*(1 ± 0.05) the crossing pair sits O(0.05) off the axis, far beyond every error."""
    law = ALL_LAWS[name]
    count = unstable_root_count(kappa, law)
    assert count is not None
    z = characteristic_roots(kappa, law, n=10)
    assert count == int(np.sum(z.real >= 0))
    assert (count == 0) == (kappa < _kappa_star(name))
    assert count % 2 == 0  # real coefficients, and z = 0 is never a root (Δ(0) = κ)


# =================================================================== scale invariance
SCALE_LAWS = [CLOSED_FORM["deterministic"], CLOSED_FORM["exponential"], CLOSED_FORM["gamma2"],
              CLOSED_FORM["uniform"], CLOSED_FORM["two-point"], CLOSED_FORM["shifted-exp"],
              HEAVY["lognormal"], HEAVY["pareto"], WEIBULL2]


@functools.cache
def _unscaled(index: int, kappa: float) -> tuple[np.ndarray, int | None, float]:
    law = SCALE_LAWS[index]
    return (characteristic_roots(kappa, law, n=4), unstable_root_count(kappa, law),
            critical_kappa(law))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(index=st.integers(0, len(SCALE_LAWS) - 1),
       factor=st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False),
       kappa=st.sampled_from([0.5, 2.0, 3.0, 6.0]))
def test_scale_invariance(index: int, factor: float, kappa: float) -> None:
    """c·X normalises to the same mean-1 law up to a few ulps in its parameters, so the
    roots (Newton-polished, well conditioned: simple roots), the count and κ* agree to
    1e-10 relative (observed: <= 3e-15)."""
    roots, count, star = _unscaled(index, kappa)
    law = SCALE_LAWS[index].scaled(factor)
    scaled_roots = characteristic_roots(kappa, law, n=4)
    assert scaled_roots.shape == roots.shape
    assert np.all(np.abs(scaled_roots - roots) <= 1e-10 * (1 + np.abs(roots)))
    assert unstable_root_count(kappa, law) == count
    scaled_star = critical_kappa(law)
    if math.isinf(star):
        assert scaled_star == math.inf
    else:
        assert scaled_star == pytest.approx(star, rel=1e-10)


# =================================================================== winding
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_winding_of_the_unit_circle(m: int) -> None:
    """e^{it} on [0, 2πm]: |f'| = 1 and |f| = 1, so every interval shorter than ~1 is
    certified at once; the change of argument is 2πm (sum of principal angles, each
    exact to a few ulps: 1e-12 absolute)."""
    change = certified_arg_change(lambda t: np.exp(1j * t), 0.0, 2 * math.pi * m,
                                  lipschitz=1.0, error=1e-15)
    assert change is not None
    assert change == pytest.approx(2 * math.pi * m, abs=1e-12)
    back = certified_arg_change(lambda t: np.exp(-1j * t), 0.0, 2 * math.pi * m,
                                lipschitz=1.0, error=1e-15)
    assert back == pytest.approx(-2 * math.pi * m, abs=1e-12)


def test_winding_of_a_circle_not_around_zero() -> None:
    change = certified_arg_change(lambda t: 2.0 + np.exp(1j * t), 0.0, 6 * math.pi,
                                  lipschitz=1.0, error=1e-15)
    assert change == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("zero_at", [0.5, 1.0 / 3.0])
def test_curve_through_zero_is_undecidable(zero_at: float) -> None:
    """f(t) = t − t₀ passes through 0 (at a grid point for t₀ = 1/2, between grid points
    for 1/3): no certificate exists, the answer is None."""
    assert certified_arg_change(lambda t: (t - zero_at) + 0j, 0.0, 1.0, lipschitz=1.0,
                                error=1e-15) is None


def test_curve_near_zero_depends_on_the_evaluation_error() -> None:
    """f(t) = t − 1/3 + 1e-6 i passes 1e-6 above 0. With evaluations good to 1e-9 the
    change is certified: the argument falls from π − atan(3e-6) to atan(1.5e-6); with an
    error of 1e-5 the curve is within the error of 0: undecidable."""
    def f(t: np.ndarray) -> np.ndarray:
        return (t - 1.0 / 3.0) + 1e-6j

    expected = math.atan2(1e-6, 2.0 / 3.0) - math.atan2(1e-6, -1.0 / 3.0)
    change = certified_arg_change(f, 0.0, 1.0, lipschitz=1.0, error=1e-9)
    assert change == pytest.approx(expected, abs=1e-12)
    assert certified_arg_change(f, 0.0, 1.0, lipschitz=1.0, error=1e-5) is None


@pytest.mark.parametrize("kappa", [0.002, 0.05, 0.5, 2.0, 8.0])
def test_phase_type_mixture_roots_are_linear_chain_eigenvalues(kappa: float) -> None:
    """A mixture of an exponential and an Erlang-3 (normalised to mean 1): every root the
    chain ODE has is returned (left of the abscissa ``−min r_c`` too), nothing else, to 1e-9
    (1 + |z|) (simple roots at these κ; the dense eigensolver is backward stable with
    ‖A‖ <= 30, so the eigenvalues are good to ~1e-13 (1 + |z|) divided by their
    condition, here <= 10)."""
    law = delays.Mixture(components=(delays.Exponential(scale=2.0),
                                     delays.erlang(3, 0.5)), weights=(0.3, 0.7))
    unit = law.normalized()
    parts = [(w, 1.0 / c.scale, 1 if isinstance(c, delays.Exponential) else 3)
             for w, c in zip(unit.weights, unit.components, strict=True)]
    expected = linear_chain_eigenvalues(kappa, parts)
    z = characteristic_roots(kappa, law, n=20)
    assert z.size == expected.size
    for root in expected:
        assert np.min(np.abs(z - root)) <= 1e-9 * (1 + abs(root))


def _weighted_transform(kernel, z: complex) -> complex:
    """``φ(z) = ∫ e^{−zu} w(u) dF̃(u)`` by scipy's adaptive quadrature (shifted-exp law:
    density ``2 e^{−2(u − ½)}`` on ``u > ½`` after rescaling to mean 1). The threshold
    weight ``P(Poisson(ρu) ≤ 40)``, ``ρ ≈ 27``, is below 1e-60 beyond ``u = 10``, where
    ``e^{2.4u}`` has not yet overflowed: the integral stops there."""
    from scipy import integrate

    assert float(kernel.weight(np.array([10.0]))[0]) < 1e-60

    def part(fn):
        return integrate.quad(lambda u: fn(np.exp(-z * u) * float(kernel.weight(np.array([u]))[0])
                                           * 2.0 * np.exp(-2.0 * (u - 0.5))),
                              0.5, 10.0, epsabs=1e-13, epsrel=1e-12, limit=400)[0]

    return part(lambda v: v.real) + 1j * part(lambda v: v.imag)


@pytest.mark.parametrize("kappa", [0.3, 0.8, 1.5])
def test_threshold_kernel_roots_left_of_the_axis(kappa: float) -> None:
    # Regression: the quadrature rule's validity abscissa used the law's unweighted tail
    # (2e-12 at the cut), so every root of a threshold kernel left of Re z ≈ −0.3 was
    # discarded and analyze_stability reported no decay rate. The threshold weight is
    # ~1e-100 at the cut; the roots must now be found, and solve the equation with φ from
    # an independent adaptive quadrature.
    from sdde import AsyncSGDModel, Cluster, HessianSpectrum

    law = delays.parse("shifted-exp:shift=0.5,mean=1")
    cluster = Cluster(workers=32, delay=law, threshold=40)
    kernel = AsyncSGDModel(lr=0.01, cluster=cluster, spectrum=HessianSpectrum.parse("1")).kernel
    roots = characteristic_roots(kappa, kernel, n=2)
    assert roots.size >= 1
    for z in roots:
        residual = abs(z + kappa * _weighted_transform(kernel, complex(z)))
        assert residual <= 1e-8 * (abs(z) + kappa)
    # nothing to the right of the rightmost root: the count of roots right of Re z = r0 + ε
    # shifted to the axis is zero when the rightmost root is stable
    assert unstable_root_count(kappa, kernel) == 0


def test_loose_threshold_roots_approach_the_plain_law() -> None:
    # K = 200 is ~30 standard deviations above the mean staleness 31 of 32 workers: the
    # threshold barely binds (acceptance 1 − 1e-40), so the roots are the plain law's,
    # which come from its closed-form transform. The residual gap is the accepted-rate
    # fixed point's effect on the weight, below 1e-3.
    from sdde import AsyncSGDModel, Cluster, HessianSpectrum

    law = delays.parse("shifted-exp:shift=0.5,mean=1")
    kernel = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=32, delay=law, threshold=200),
                           spectrum=HessianSpectrum.parse("1")).kernel
    plain = characteristic_roots(0.8, law, n=2)
    thresholded = characteristic_roots(0.8, kernel, n=2)
    assert np.allclose(np.sort_complex(thresholded[:2]), np.sort_complex(plain[:2]), atol=1e-3)

"""Divergence threshold κ* (``sdde.stability.mean_field.critical_kappa``) against independent
answers.

A mode with gain κ (time in units of the mean delay) has characteristic equation
``z + κ φ(z) = 0``, φ the Laplace transform of the mean-1 law. A root crosses the
imaginary axis at ``z = iω`` iff ``Re φ(iω) = 0`` and ``Im φ(iω) < 0``, at
``κ = -ω / Im φ(iω)``; κ* is the smallest such κ. The answers used here:

1. closed forms, derived in each test's docstring (point delay, Erlang/gamma,
   uniform, Weibull-2 via Dawson's integral);
2. the roots themselves: Lambert-W roots for the point delay, and ``numpy.roots`` of the
   polynomial an Erlang kernel reduces to (linear chain trick);
3. a first-principles scan written here (numpy on the closed-form transform, brentq on
   ``Re φ(iω)``) for shifted-exponential and two-point laws, and mpmath's incomplete
   gamma function for the Pareto transform.

Tolerances: brentq inside the library stops at |Δω| <= 1e-15 + 4eps·ω, and κ = -ω/Im φ
inherits a few ulps from the transform; for closed-form transforms the result is good to
~1e-14 relative (Erlang-k: ~k·eps, since φ = exp(-k log1p(·))). 1e-12 leaves a margin.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import mpmath
import numpy as np
import pytest
from numpy.polynomial import polynomial as npoly
from scipy import optimize, special

from sdde.delays import (
    DelayLaw,
    Deterministic,
    Exponential,
    Gamma,
    Pareto,
    Uniform,
    Weibull,
    erlang,
    parse,
    shifted_exponential,
    two_point,
)
from sdde.stability.mean_field import KAPPA_MAX, critical_kappa
from sdde.stability.roots import point_delay_roots

EPS = float(np.finfo(float).eps)
HALF_PI = math.pi / 2.0
CLOSED_FORM_RTOL = 1e-12
#: Laws whose transform is computed by quadrature are accurate to ~1e-10 absolute
#: (sdde/_numerics.py); κ* = ω/|Im φ| with |Im φ| ~ 1 and dRe φ/dω ~ 1 inherits a few
#: times that. 1e-8 relative leaves a margin of ~50.
QUADRATURE_RTOL = 1e-8


def gamma_kappa(k: float) -> float:
    """κ* of the mean-1 gamma law of shape k > 1 (see test_erlang_closed_form)."""
    a = math.pi / (2.0 * k)
    return k * math.tan(a) / math.cos(a) ** k


def first_principles_kappa(phi: Callable[[np.ndarray], np.ndarray], step: float,
                           omega_cap: float = 1e3) -> tuple[float, float]:
    """Smallest crossing (κ, ω) of a mean-1 law from its transform on the imaginary axis.

    Scans ω on a grid of the given step; every sign change of Re φ(iω) is refined with
    brentq; crossings need Im φ(iω) < 0 and give κ = -ω / Im φ. Since |φ| <= 1, every
    crossing has κ >= ω, so the scan may stop once ω exceeds the best κ found.
    """
    def re(w: float) -> float:
        return float(phi(np.array([w]))[0].real)

    best, best_w, start = math.inf, math.nan, 0.0
    while start < min(best, omega_cap):
        w = start + step * np.arange(1, 4097)
        r = phi(w).real
        left = np.concatenate([[re(start) if start > 0 else 1.0], r[:-1]])
        lo = np.concatenate([[start], w[:-1]])
        for i in np.flatnonzero(np.sign(left) * np.sign(r) <= 0):
            ws = w[i] if r[i] == 0 else optimize.brentq(re, lo[i], w[i], xtol=1e-300,
                                                         rtol=4 * EPS)
            im = float(phi(np.array([ws]))[0].imag)
            if im < 0 and -ws / im < best:
                best, best_w = -ws / im, ws
        start = float(w[-1])
    return best, best_w


# ------------------------------------------------------------------ point delay
@pytest.mark.parametrize("value", [1e-3, 1.0, 3.0, 250.0])
def test_point_delay_is_half_pi(value: float) -> None:
    """φ(iω) = e^{-iω}: Re φ = cos ω = 0 first at ω = π/2, where Im φ = -1, so κ* = π/2."""
    assert critical_kappa(Deterministic(value=value)) == pytest.approx(HALF_PI,
                                                                       rel=CLOSED_FORM_RTOL)


def test_point_delay_threshold_matches_lambert_roots() -> None:
    """The roots W_k(-κ) are all stable just below κ* and one pair is unstable just above
    (the crossing pair moves at Re dz/dκ ≈ 0.45 per unit κ: ±7e-10 at a 1e-9 step)."""
    kappa = critical_kappa(Deterministic(value=1.0))
    assert point_delay_roots(kappa * (1 - 1e-9), 20).real.max() < 0
    assert point_delay_roots(kappa * (1 + 1e-9), 20).real.max() > 0


def test_kappa_max_caps_the_search() -> None:
    law = Deterministic(value=1.0)
    assert critical_kappa(law, kappa_max=1.5) == math.inf  # π/2 > 1.5
    assert critical_kappa(law, kappa_max=1.6) == pytest.approx(HALF_PI, rel=CLOSED_FORM_RTOL)
    assert KAPPA_MAX == 100.0


# ------------------------------------------------------------------ Erlang / gamma
@pytest.mark.parametrize("k", [2, 3, 5, 20, 100])
@pytest.mark.parametrize("mean", [1.0, 7.3])
def test_erlang_closed_form(k: int, mean: float) -> None:
    """Mean-1 Erlang-k: φ(z) = (1 + z/k)^{-k}. On the axis φ(iω) = r^{-k} e^{-ikθ} with
    r = sqrt(1 + ω²/k²), θ = atan(ω/k) ∈ (0, π/2). Re φ = 0 with Im φ < 0 first at
    kθ = π/2, i.e. ω* = k tan(π/(2k)) (k > 1), where Im φ = -r^{-k}; r = 1/cos(π/(2k)), so

        κ* = ω* r^k = k tan(π/(2k)) / cos(π/(2k))^k.

    Later crossings (kθ = π/2 + 2πm) have larger ω and r, hence larger κ.
    k = 2: 2·1/(1/√2)² = 4 exactly. The mean only rescales: it must not matter.
    """
    expected = gamma_kappa(k)
    if k == 2:
        assert expected == pytest.approx(4.0, rel=4 * EPS)
    assert critical_kappa(erlang(k, mean)) == pytest.approx(expected, rel=CLOSED_FORM_RTOL)


@pytest.mark.parametrize("shape", [1.2, 1.5, 2.5, 7.7, 1000.0])
def test_gamma_non_integer_shape_closed_form(shape: float) -> None:
    """The Erlang derivation never used that k is an integer: for real k > 1 the same
    κ* = k tan(π/(2k)) / cos(π/(2k))^k holds (φ = exp(-k log(1 + z/k)), principal log)."""
    expected = gamma_kappa(shape)
    assert expected < KAPPA_MAX
    law = Gamma(shape=shape, scale=0.3)
    assert critical_kappa(law) == pytest.approx(expected, rel=CLOSED_FORM_RTOL)


def test_gamma_close_to_one_is_above_kappa_max() -> None:
    """Shape 1.05: κ* = 213.46 > 100, so inf by default and the closed form once the
    search is allowed that far."""
    law = Gamma(shape=1.05, scale=1.0)
    expected = gamma_kappa(1.05)
    assert 200 < expected < 220
    assert critical_kappa(law) == math.inf
    assert critical_kappa(law, kappa_max=1e3) == pytest.approx(expected, rel=CLOSED_FORM_RTOL)


@pytest.mark.parametrize("law", [Exponential(scale=1.0), Exponential(scale=40.0),
                                 Gamma(shape=0.3, scale=2.0), Gamma(shape=0.5, scale=1.0),
                                 Gamma(shape=1.0, scale=0.1)],
                         ids=str)
def test_exponential_and_gamma_shape_at_most_one_never_cross(law: DelayLaw) -> None:
    """Shape k <= 1: arg φ(iω) = -k atan(ω/k) ∈ (-kπ/2, 0] ⊂ (-π/2, 0], so Re φ(iω) > 0
    for every ω: no root ever reaches the axis, at any κ (checked up to 1e3)."""
    assert critical_kappa(law) == math.inf
    assert critical_kappa(law, kappa_max=1e3) == math.inf


@pytest.mark.parametrize("k", [2, 3, 5])
def test_erlang_threshold_matches_polynomial_roots(k: int) -> None:
    """Linear chain trick: with φ = (1 + z/k)^{-k}, z + κφ(z) = 0 ⟺ z (1 + z/k)^k + κ = 0,
    a polynomial of degree k + 1 whose roots numpy.roots finds to ~1e-14 (simple roots,
    small degree). Just below κ* every root is stable, just above one pair is not, and
    at κ* the rightmost pair is ±iω* with ω* = k tan(π/(2k)).
    """
    kappa = critical_kappa(erlang(k, 1.0))

    def roots(kap: float) -> np.ndarray:
        ascending = npoly.polymul([0.0, 1.0], npoly.polypow([1.0, 1.0 / k], k))
        ascending[0] += kap
        return np.roots(ascending[::-1])

    assert roots(kappa * (1 - 1e-6)).real.max() < 0
    assert roots(kappa * (1 + 1e-6)).real.max() > 0
    z = roots(kappa)
    top = z[np.argsort(z.real)[-2:]]
    assert np.abs(top.real).max() <= 1e-10
    np.testing.assert_allclose(np.sort(np.abs(top.imag)), k * math.tan(math.pi / (2 * k)),
                               rtol=1e-10)


def test_erlang2_cubic_is_routh_hurwitz_boundary_at_4() -> None:
    """Erlang-2: z(1 + z/2)² + κ = 0, times 4: z³ + 4z² + 4z + 4κ = 0. Routh–Hurwitz for
    a cubic z³ + a₂z² + a₁z + a₀: stable iff all a > 0 and a₂a₁ > a₀, i.e. 16 > 4κ,
    κ < 4. At κ = 4 the cubic factors as (z + 4)(z² + 4): roots -4, ±2i.
    """
    assert critical_kappa(erlang(2, 1.0)) == pytest.approx(4.0, rel=CLOSED_FORM_RTOL)

    def cubic_roots(kappa: float) -> np.ndarray:
        return np.roots([1.0, 4.0, 4.0, 4.0 * kappa])

    z = cubic_roots(4.0)
    assert abs(z.real.max()) <= 1e-12
    np.testing.assert_allclose(np.sort_complex(z), [-4.0, -2.0j, 2.0j], atol=1e-12)
    assert cubic_roots(3.99).real.max() < 0
    assert cubic_roots(4.01).real.max() > 0


# ------------------------------------------------------------------ uniform
@pytest.mark.parametrize("high", [0.01, 1.0, 2.0, 37.0])
def test_uniform_from_zero_is_pi_squared_over_four(high: float) -> None:
    """Mean-1 Uniform(0, 2): φ(iω) = (1 - e^{-2iω})/(2iω) = e^{-iω} sin(ω)/ω, so
    Re φ = sin(2ω)/(2ω) = 0 first at ω = π/2, where Im φ = -sin²(ω)/ω = -2/π, and
    κ* = (π/2)/(2/π) = π²/4. (At ω = π, φ = 0: no crossing; ω = 3π/2 gives κ ≥ 3π/2.)
    Uniform(0, b) normalises to Uniform(0, 2) for every b."""
    law = Uniform(low=0.0, high=high)
    assert critical_kappa(law) == pytest.approx(math.pi**2 / 4, rel=CLOSED_FORM_RTOL)


@pytest.mark.parametrize("width", [0.01, 0.5, 1.0, 1.5])
def test_uniform_around_the_mean(width: float) -> None:
    """Mean-1 Uniform(1 - w/2, 1 + w/2), w <= 2: φ(iω) = e^{-iω} sin(wω/2)/(wω/2).
    The sinc factor is positive for ω < 2π/w (>= π), so Re φ = cos ω · sinc = 0 first at
    ω = π/2 with Im φ = -sinc(πw/4): κ* = (π/2)(πw/4)/sin(πw/4). (→ π/2 as w → 0; π²/4
    at w = 2, matching Uniform(0, 2).)"""
    law = Uniform(low=5.0 * (1 - width / 2), high=5.0 * (1 + width / 2))
    a = math.pi * width / 4
    assert critical_kappa(law) == pytest.approx(HALF_PI * a / math.sin(a), rel=CLOSED_FORM_RTOL)


# ------------------------------------------------------------------ scale invariance
SCALE_LAWS = [Deterministic(value=1.0), erlang(3, 1.0), Gamma(shape=2.5, scale=1.0),
              Uniform(low=0.5, high=2.0), shifted_exponential(shift=0.5, mean=1.0),
              two_point(time=1.0, p=0.1, slowdown=5.0), Exponential(scale=1.0)]


@pytest.mark.parametrize("law", SCALE_LAWS, ids=str)
@pytest.mark.parametrize("factor", [1e-3, 0.37, 7.0, 1e3])
def test_scale_invariance(law: DelayLaw, factor: float) -> None:
    """κ* is a property of the law's shape: c·X normalises to the same mean-1 law (up to a
    few ulps in its parameters, to which κ* is well conditioned)."""
    base, scaled = critical_kappa(law), critical_kappa(law.scaled(factor))
    if math.isinf(base):
        assert scaled == math.inf
    else:
        assert scaled == pytest.approx(base, rel=1e-10)


# ------------------------------------------------------------------ composite laws
@pytest.mark.parametrize("shift_fraction", [0.2, 0.5, 0.9])
def test_shifted_exponential_closed_form(shift_fraction: float) -> None:
    """Mean-1 shift s plus an exponential of mean m = 1 - s: φ(iω) = e^{-iωs}/(1 + iωm).
    arg φ = -(ωs + atan(ωm)), increasing in ω from 0 to -∞: Re φ = 0 with Im φ < 0 first at
    ωs + atan(ωm) = π/2 (solved here by brentq on (0, π/(2s))), where
    |φ| = 1/sqrt(1 + ω²m²), so κ* = ω sqrt(1 + ω²m²). Later crossings (arg = -π/2 - 2πj)
    have larger ω and |1 + iωm|, hence larger κ."""
    s, m = shift_fraction, 1.0 - shift_fraction
    omega = optimize.brentq(lambda w: w * s + math.atan(w * m) - HALF_PI, 0.0,
                            HALF_PI / s, xtol=1e-300, rtol=4 * EPS)
    expected = omega * math.hypot(1.0, omega * m)
    law = shifted_exponential(shift=3.0 * s, mean=3.0)
    kappa = critical_kappa(law)
    assert math.isfinite(kappa)
    assert kappa == pytest.approx(expected, rel=1e-11)
    # The crossing: iω* + κ* φ(iω*) = 0 with φ in closed form, ω* <= κ*.
    phi = np.exp(-1j * omega * s) / (1 + 1j * omega * m)
    assert omega <= kappa
    assert abs(1j * omega + kappa * phi) <= 1e-12 * kappa


@pytest.mark.parametrize(("p", "slowdown"), [(0.1, 5.0), (0.3, 2.0), (0.02, 15.0),
                                             (0.5, 19.0)])
def test_two_point_first_principles(p: float, slowdown: float) -> None:
    """Mean-1 two-point law: a = 1/(1 - p + p·S) w.p. 1 - p and b = S·a w.p. p, so
    φ(iω) = (1 - p) e^{-iωa} + p e^{-iωb}. The reference scans ω in steps of 0.002/b
    (500 points per period of the slow atom) and refines every sign change of Re φ.
    """
    a = 1.0 / (1.0 - p + p * slowdown)
    b = slowdown * a

    def phi(w: np.ndarray) -> np.ndarray:
        return (1 - p) * np.exp(-1j * w * a) + p * np.exp(-1j * w * b)

    expected, omega = first_principles_kappa(phi, 0.002 / b)
    kappa = critical_kappa(two_point(time=2.0, p=p, slowdown=slowdown))
    assert 0 < kappa < math.inf
    assert kappa == pytest.approx(expected, rel=1e-11)
    assert omega <= kappa
    assert abs(1j * omega + kappa * complex(phi(np.array([omega]))[0])) <= 1e-12 * kappa


def test_two_point_via_parse_matches_constructor() -> None:
    law = parse("two-point:p=0.1,slowdown=5")
    assert critical_kappa(law) == pytest.approx(
        critical_kappa(two_point(time=1.0, p=0.1, slowdown=5.0)), rel=1e-12)


# ------------------------------------------------------------------ heavy tails (quadrature)
def test_weibull_shape_two_via_dawson() -> None:
    """Weibull shape 2 with scale λ is Rayleigh with σ = λ/√2, whose transform on the axis
    is φ(iω) = 1 - 2x D(x) - i√π x e^{-x²}, x = λω/2, D Dawson's integral. Mean 1 means
    λ = 1/Γ(3/2) = 2/√π. Re φ = 0 ⟺ 2xD(x) = 1: one solution x* (2xD rises from 0 to
    ~1.28 then decays to 1 from above). There κ* = ω/|Im φ| = (2x/λ)/(√π x e^{-x²}) =
    exp(x*²). Library: quadrature transform (tolerance QUADRATURE_RTOL).
    """
    x = optimize.brentq(lambda t: 2 * t * special.dawsn(t) - 1.0, 0.1, 1.5, xtol=1e-300,
                        rtol=4 * EPS)
    grid = np.linspace(0.01, 50.0, 5000)
    assert np.count_nonzero(np.diff(np.sign(2 * grid * special.dawsn(grid) - 1.0))) == 1
    assert critical_kappa(Weibull(shape=2.0, scale=5.0)) == pytest.approx(
        math.exp(x * x), rel=QUADRATURE_RTOL)


def test_pareto_shape_three_via_incomplete_gamma() -> None:
    """Pareto(α, x_m): φ(z) = α x_m^α ∫_{x_m}^∞ x^{-α-1} e^{-zx} dx = α (z x_m)^α Γ(-α, z x_m)
    (substitute t = zx). Mean 1 with α = 3 means x_m = 2/3. mpmath evaluates Γ(-3, iωx_m)
    at 30 digits; Re φ is scanned on a 0.05 grid up to ω = 2.6 (> κ*, so no crossing
    with a smaller κ is missed: κ >= ω), and the sign change refined by brentq.
    """
    alpha, xm = 3, mpmath.mpf(2) / 3

    def phi(w: float) -> complex:
        with mpmath.workdps(30):
            s = 1j * mpmath.mpf(w) * xm
            return complex(alpha * s**alpha * mpmath.gammainc(-alpha, s))

    omegas = np.arange(0.05, 2.6, 0.05)
    re = np.array([phi(w).real for w in omegas])
    changes = np.flatnonzero(np.sign(re[:-1]) * np.sign(re[1:]) <= 0)
    assert len(changes) == 1
    i = int(changes[0])
    omega = optimize.brentq(lambda w: phi(w).real, omegas[i], omegas[i + 1], xtol=1e-300,
                            rtol=4 * EPS)
    expected = -omega / phi(omega).imag
    assert expected < omegas[-1]
    assert critical_kappa(Pareto(shape=3.0, scale=1.0)) == pytest.approx(expected,
                                                                        rel=QUADRATURE_RTOL)

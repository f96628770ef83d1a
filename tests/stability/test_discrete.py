"""The discrete-time model ``m_{t+1} = m_t − α Σ_s q_s m_{t−s}`` (``sdde.stability.discrete``),
and the completely-monotone claims of ``theory/stability.md`` §4.

Characteristic polynomial ``P(ζ) = ζ^{S+1} − ζ^S + α Σ_s q_s ζ^{S−s}`` (``S`` the largest
staleness with ``q_S > 0``). Independent answers used here:

* the closed form ``α* = 2 sin(π/(2(2τ+1)))`` for a constant staleness τ (Levin & May 1976;
  derived in :func:`test_constant_staleness_closed_form`), and its limit π/2 for (τ+1)α*;
* the polynomial itself (backward error of every root), mpmath Newton refinement of the
  dominant root at 40 digits, and a direct simulation of the recursion;
* ``numpy.roots`` moduli against the argument-principle count and against α*, over random
  weights (hypothesis) and Poisson staleness;
* closed-form mixtures of exponentials for the equilibrium-law claim, and scipy ``quad`` on
  the gamma mixing measure.
"""

from __future__ import annotations

import itertools
import math
import warnings

import mpmath
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

from sdde import delays
from sdde.model.kernels import DelayKernel, StepPolicy
from sdde.stability.discrete import (
    MAX_DEGREE,
    discrete_critical_alpha,
    discrete_roots,
    discrete_spectral_radius,
    discrete_unstable_count,
    dominant_root,
)
from sdde.stability.mean_field import critical_kappa
from sdde.stability.roots import unstable_root_count

HALF_PI = math.pi / 2.0
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
#: The library's α* is a Brent root of Im R(θ) to |Δθ| <= 1e-15, and
#: α = |R| ≈ 2 sin(θ/2) is well conditioned in θ (relative condition number <= 1), so the
#: result is good to a few ulps relative plus 1e-15/θ*; θ* >= π/401 for τ <= 200 gives
#: ~1e-13. 1e-12 leaves an order of magnitude.
CLOSED_FORM_RTOL = 1e-12
TAUS = range(201)


def coefficients(alpha: float, weights: npt.ArrayLike) -> np.ndarray:
    """Coefficients (highest power first) of P for the weights the library keeps: trailing
    weights below 1e-16 of the largest are dropped, a 1e-16 relative perturbation."""
    q = np.asarray(weights, dtype=np.float64)
    q = q[: np.flatnonzero(q > 1e-16 * q.max())[-1] + 1]
    c = np.zeros(q.size + 1)
    c[0], c[1] = 1.0, -1.0
    c[1:] += alpha * q
    return c


def simulate(alpha: float, weights: npt.ArrayLike, steps: int = 2000) -> np.ndarray:
    """m_{t+1} = m_t − α Σ_s q_s m_{t−s} from the history m = 1, returned for t = 0…steps."""
    q = np.asarray(weights, dtype=np.float64)
    span = q.size - 1
    m = np.ones(steps + span + 1)
    for t in range(span, span + steps):
        m[t + 1] = m[t] - alpha * (q @ m[t - span: t + 1][::-1])
    return m[span:]


def poisson_weights(n: int) -> np.ndarray:
    """Staleness Poisson(n − 1) (n workers, exponential rounds in the Poisson approximation),
    on a support long enough that the library's 1e-16 cut, not this one, ends it."""
    s = np.arange(int(n + 20 * math.sqrt(n) + 40))
    return np.asarray(stats.poisson.pmf(s, n - 1), dtype=np.float64)


def delta(tau: int) -> np.ndarray:
    q = np.zeros(tau + 1)
    q[tau] = 1.0
    return q


def first_unstable_alpha(weights: npt.ArrayLike, hi: float = 4.0, grid: int = 800) -> float:
    """Reference threshold from the roots alone: scan α on a grid for the first spectral
    radius >= 1, then bisect ρ(α) − 1 (brentq) inside that grid cell."""
    def excess(a: float) -> float:
        return float(np.abs(np.roots(coefficients(a, weights))).max()) - 1.0

    alphas = np.linspace(hi / grid, hi, grid)
    for lo, up in itertools.pairwise(alphas):
        if excess(up) >= 0:
            return float(optimize.brentq(excess, lo, up, xtol=1e-14))
    return math.inf


# ------------------------------------------------------------------ constant staleness
@pytest.fixture(scope="module")
def constant_alphas() -> np.ndarray:
    """The library's α* for q = δ_τ, τ = 0…200 (computed once: ~7 s)."""
    return np.array([discrete_critical_alpha(delta(tau)) for tau in TAUS])


def test_constant_staleness_closed_form(constant_alphas: np.ndarray) -> None:
    """x_{t+1} = x_t − α x_{t−τ}: Q(y) = y^τ, and a root on the unit circle at ζ = e^{iθ}
    needs α = R(θ) = (1 − e^{iθ}) e^{iτθ}. With 1 − e^{iθ} = −2i sin(θ/2) e^{iθ/2},

        R(θ) = 2 sin(θ/2) e^{i((τ + 1/2)θ − π/2)},

    real and positive for θ ∈ (0, π] iff (τ + 1/2)θ − π/2 = 2πj, i.e.
    θ_j = π(4j + 1)/(2τ + 1), where R = 2 sin(θ_j/2); the least is j = 0:
    α* = 2 sin(π/(2(2τ + 1))) (= 2 cos(τπ/(2τ + 1)), Levin & May 1976).
    """
    expected = 2.0 * np.sin(np.pi / (2.0 * (2.0 * np.arange(201) + 1.0)))
    np.testing.assert_allclose(constant_alphas, expected, rtol=CLOSED_FORM_RTOL, atol=0)
    # Spot values: τ = 0 is x_{t+1} = (1 − α) x_t (α* = 2); τ = 1 is ζ² − ζ + α, whose
    # roots have product α (α* = 1); τ = 2 is 2 sin(π/10) = (√5 − 1)/2.
    assert constant_alphas[0] == pytest.approx(2.0, rel=1e-15)
    assert constant_alphas[1] == pytest.approx(1.0, rel=1e-15)
    assert constant_alphas[2] == pytest.approx((math.sqrt(5.0) - 1.0) / 2.0, rel=1e-14)


def test_constant_staleness_scaled_threshold_decreases_to_half_pi(
        constant_alphas: np.ndarray) -> None:
    """With x = π/(2(2τ + 1)) and τ + 1 = (π/x + 2)/4, (τ + 1)α* = (π/x + 2) sin(x)/2
    = π/2 + x − πx²/12 + O(x³): equal to 2 at τ = 0 and τ = 1, strictly decreasing after
    (d/dx of π sin(x)/x + 2 sin(x) is > 0 for x <= π/6), and → π/2, the point-delay κ*
    (κ = α n with n = τ + 1 workers). Third-order remainder: |O(x³)| <= x³/6 + ... < x³."""
    tau = np.arange(201)
    scaled = (tau + 1) * constant_alphas
    assert scaled[0] == pytest.approx(2.0, rel=1e-14)
    assert scaled[1] == pytest.approx(2.0, rel=1e-14)
    assert np.all(np.diff(scaled[1:]) < 0)
    assert np.all(scaled > HALF_PI)
    x = np.pi / (2.0 * (2.0 * tau + 1.0))
    second_order = HALF_PI + x - np.pi * x**2 / 12.0
    assert np.all(np.abs(scaled - second_order)[2:] <= x[2:] ** 3)
    assert scaled[-1] - HALF_PI < 4e-3


@pytest.mark.parametrize("tau", [0, 1, 2, 5, 20, 100])
def test_constant_staleness_crossing_root(tau: int) -> None:
    """At α*, the rightmost roots are e^{±iθ_0}, θ_0 = π/(2τ + 1) (a single root −1 at
    τ = 0): on the circle to 1e-12 (numpy.roots of a degree <= 101 polynomial with simple
    roots there). Just below α* nothing is outside; just above, 1 (τ = 0) or 2 roots.
    The relative step 1e-6 moves the crossing root by ~1e-6·α|dζ/dα| >> 1e-12."""
    q = delta(tau)
    alpha = discrete_critical_alpha(q)
    z = dominant_root(alpha, q)
    assert abs(z) == pytest.approx(1.0, abs=1e-12)
    assert abs(math.atan2(z.imag, z.real)) == pytest.approx(math.pi / (2 * tau + 1), abs=1e-11)
    assert discrete_unstable_count(alpha * (1 - 1e-6), q) == 0
    assert discrete_unstable_count(alpha * (1 + 1e-6), q) == (1 if tau == 0 else 2)
    assert discrete_spectral_radius(alpha * (1 - 1e-6), q) < 1.0
    assert discrete_spectral_radius(alpha * (1 + 1e-6), q) > 1.0


# ------------------------------------------------------------------ roots
ROOT_CASES = {
    "constant-3": delta(3),
    "constant-100": delta(100),
    "poisson-2": poisson_weights(2),
    "poisson-8": poisson_weights(8),
    "poisson-64": poisson_weights(64),
    "uniform-10": np.full(10, 0.1),
    "uniform-100": np.full(100, 0.01),
    "two-point": np.array([0.7, 0.0, 0.0, 0.0, 0.0, 0.3]),
    "geometric": 0.2 * 0.8 ** np.arange(40),
    "random-30": np.random.default_rng(12345).random(30),
}


@pytest.mark.parametrize("factor", [0.1, 1.0, 3.0])
@pytest.mark.parametrize("name", list(ROOT_CASES))
def test_roots_satisfy_the_polynomial(name: str, factor: float) -> None:
    """Every returned root solves P to a normwise backward error below 1e-12:
    |P(ζ)| / (‖c‖₂ ‖(1, |ζ|, …, |ζ|^d)‖₂) is the smallest relative coefficient change making
    ζ an exact root, and companion-matrix eigenvalues achieve O(d·eps) <= 600·2.2e-16
    = 1.3e-13 (Edelman & Murakami 1995). The roots that govern the dynamics,
    |ζ| >= 0.9ρ, also satisfy P componentwise, |P(ζ)| <= 1e-10 Σ|c_k||ζ|^k. (Small roots
    need not: Poisson weights span 16 decades, and the roots near |ζ| ≈ 0.76 for n = 64
    are determined only to ~1e-7 componentwise — they decay within a few steps. Nor need
    clusters of hundreds of roots near the circle: uniform weights on 0…599 give ~4e-10.)"""
    q = ROOT_CASES[name]
    q = q / q.sum()
    alpha = factor * discrete_critical_alpha(q)
    z = discrete_roots(alpha, q)
    c = coefficients(alpha, q)
    assert z.shape == (c.size - 1,)
    assert np.all(np.diff(np.abs(z)) <= 1e-15)  # by modulus, descending
    value = np.abs(np.polyval(c, z))
    powers = np.abs(z)[:, None] ** np.arange(c.size)
    normwise = value / (np.linalg.norm(c) * np.linalg.norm(powers, axis=1))
    assert normwise.max() <= 1e-12
    top = np.abs(z) >= 0.9 * np.abs(z[0])
    componentwise = value / np.polyval(np.abs(c), np.abs(z))
    assert componentwise[top].max() <= 1e-10
    # (np.abs on an array and abs on one complex scalar may differ by an ulp)
    assert discrete_spectral_radius(alpha, q) == pytest.approx(abs(z[0]), rel=4e-16)


@pytest.mark.parametrize("factor", [0.3, 1.0, 2.0])
@pytest.mark.parametrize("name", ["poisson-8", "poisson-64", "uniform-10", "two-point",
                                  "random-30", "constant-100"])
def test_dominant_root_against_mpmath_newton(name: str, factor: float) -> None:
    """Newton's method on P at 40 digits from the library's dominant root converges to the
    same root: the root is simple and well separated here, so the double-precision value is
    accurate to a few ulps times its condition number; 1e-12 relative allows ~5000 ulps."""
    q = ROOT_CASES[name]
    q = q / q.sum()
    alpha = factor * discrete_critical_alpha(q)
    z = dominant_root(alpha, q)
    assert z.imag >= 0
    c = [mpmath.mpf(float(v)) for v in coefficients(alpha, q)]
    with mpmath.workdps(40):
        exact = complex(mpmath.findroot(lambda x: mpmath.polyval(c, x),
                                        mpmath.mpc(z.real, z.imag)))
    assert abs(exact - z) <= 1e-12 * abs(z)


SIMULATION_CASES = ["constant-3", "poisson-8", "uniform-10", "two-point", "geometric"]


@pytest.mark.parametrize("factor", [0.2, 0.5, 0.9, 1.05])
@pytest.mark.parametrize("name", SIMULATION_CASES)
def test_simulated_recursion_decays_at_the_spectral_radius(name: str, factor: float) -> None:
    """Run the recursion 2000 steps from m = 1 and fit the growth rate over t = 1000…1999.

    A real dominant root ζ₁: m_t = c ζ₁^t (1 + O(r^t)), so log|m_t| has slope log ρ.
    A dominant pair ρe^{±iθ}: m_t = A ρ^t cos(θt + φ) + …, whose zeros spoil log|m_t|, but
    the Hankel determinant m_t² − m_{t−1}m_{t+1} = A² ρ^{2t} sin²θ (1 + O(r^t)) is exactly
    geometric: half its log-slope is log ρ.

    Tolerance. r = ρ₂/ρ, ρ₂ the next distinct modulus, is asserted to give r^1000 < 1e-10:
    the other modes perturb y by ~r^t <= 1e-10 (times an O(1) amplitude ratio) at t = 1000
    and less later, which moves a least-squares slope over 1000 points by ~1e-10/1000.
    Rounding adds ~eps relative per step (a stable or mildly unstable recursion, no
    cancellation), a slope error ~1e-16. |log ρ| >= 3.8e-3 in these cases, so 1e-8 relative
    (>= 4e-11 absolute) holds with a margin; the fit's own residual is also checked.
    """
    q = ROOT_CASES[name]
    q = q / q.sum()
    alpha = factor * discrete_critical_alpha(q)
    roots = discrete_roots(alpha, q)
    rho = float(np.abs(roots[0]))
    pair = abs(dominant_root(alpha, q).imag) > 1e-9
    rho2 = float(np.abs(roots[2 if pair else 1]))
    assert (rho2 / rho) ** 1000 < 1e-10  # well separated: the fit sees one mode only
    m = simulate(alpha, q)
    t = np.arange(1000, m.size - 1)
    y = 0.5 * np.log(np.abs(m[t] ** 2 - m[t - 1] * m[t + 1])) if pair else np.log(np.abs(m[t]))
    slope, intercept = np.polyfit(t, y, 1)
    assert slope == pytest.approx(math.log(rho), rel=1e-8)
    assert np.abs(y - (slope * t + intercept)).max() <= 1e-7
    assert (factor < 1) == (rho < 1)


# ------------------------------------------------------------------ root count
def _weights(draw: list[float]) -> np.ndarray:
    q = np.asarray(draw, dtype=np.float64)
    return q / q.sum()


weight_lists = st.lists(st.floats(0.0, 1.0, allow_nan=False, allow_infinity=False),
                        min_size=1, max_size=30).filter(lambda v: sum(v) > 1e-3)


@SETTINGS
@given(draw=weight_lists, alpha=st.floats(1e-3, 3.0, allow_nan=False, allow_infinity=False))
def test_unstable_count_matches_roots(draw: list[float], alpha: float) -> None:
    """The argument-principle count equals the number of numpy.roots moduli >= 1, away from
    the circle (no root within 1e-6 of it: numpy's roots are good to ~1e-12 near the circle,
    see test_roots_satisfy_the_polynomial). Below α* nothing is outside (α* is the least α
    with a root on the circle, and the roots start inside)."""
    q = _weights(draw)
    moduli = np.abs(discrete_roots(alpha, q))
    assume(np.all(np.abs(moduli - 1.0) > 1e-6))
    count = discrete_unstable_count(alpha, q)
    assert count is not None
    assert count == int(np.sum(moduli >= 1.0))
    threshold = discrete_critical_alpha(q)
    assert threshold > 0
    if alpha < threshold * (1 - 1e-9):
        assert count == 0


@SETTINGS
@given(draw=weight_lists)
def test_count_verdict_across_the_threshold(draw: list[float]) -> None:
    """Just below α* (relative 1e-6) the count is 0 and just above it is positive: the
    crossing root moves by ~1e-6·α|dζ/dα| off the circle, far more than the count's
    evaluation error (1e-12), so the count is decided. Weights with Q(−1) = Σ(−1)^s q_s = 0
    are left to test_threshold_when_q_at_minus_one_vanishes (a known bug)."""
    q = _weights(draw)
    assume(abs(q @ (-1.0) ** np.arange(q.size)) > 1e-12)
    alpha = discrete_critical_alpha(q)
    # Finite: as α → ∞, s_min + 1 roots grow like α^{1/(s_min+1)} (s_min the least s
    # with q_s > 0), so some root crosses the circle.
    assert 0 < alpha < math.inf
    assert discrete_unstable_count(alpha * (1 - 1e-6), q) == 0
    above = discrete_unstable_count(alpha * (1 + 1e-6), q)
    assert above is not None
    assert above >= 1
    assert discrete_spectral_radius(alpha * (1 - 1e-6), q) < 1.0


def test_stability_window_above_the_threshold() -> None:
    """The stable set of α need not be an interval (theory/stability.md §6). For
    q = (1, 3, 1, 1, 0, 2)/8: α* = 1.5678 (θ = 0.683); at θ = π/4, R(θ) is real,
    R(π/4) = 4(2 − √2) = 2.3431 — there the pair returns inside — and it leaves again at
    α = 2.5426 (θ = 1.280). Checked three ways: the count, numpy.roots, and the recursion
    itself (4000 steps: |m_t| grows by 1e7+ when unstable, shrinks below 1e-2 when
    stable)."""
    q = np.array([1.0, 3.0, 1.0, 1.0, 0.0, 2.0]) / 8.0
    alpha_star = discrete_critical_alpha(q)
    assert alpha_star == pytest.approx(first_unstable_alpha(q), rel=1e-9)
    assert alpha_star == pytest.approx(1.5678, abs=1e-4)
    back = 4.0 * (2.0 - math.sqrt(2.0))
    s = np.arange(q.size)
    r = (1 - np.exp(1j * math.pi / 4)) / (np.exp(-1j * math.pi / 4 * s) @ q)
    assert r.real == pytest.approx(back, rel=1e-14)
    assert abs(r.imag) <= 1e-14
    assert discrete_spectral_radius(back, q) == pytest.approx(1.0, abs=1e-12)
    for alpha, outside in [(1.5, 0), (2.0, 2), (back - 1e-3, 2), (back + 1e-3, 0), (2.44, 0),
                           (2.54, 0), (2.55, 2), (3.0, 2)]:
        assert discrete_unstable_count(alpha, q) == outside
        assert int(np.sum(np.abs(discrete_roots(alpha, q)) >= 1)) == outside
    tail = {a: np.abs(simulate(a, q, 4000)[-50:]).max() for a in (1.5, 2.0, 2.44, 2.6)}
    assert tail[1.5] < 1e-2
    assert tail[2.0] > 1e7
    assert tail[2.44] < 1e-2
    assert tail[2.6] > 1e7


# ------------------------------------------------------------------ Poisson staleness
def test_poisson_staleness_thresholds() -> None:
    """Poisson(n − 1) staleness, n = 2…64: α* is positive and finite, the count is 0 at
    0.99α* and positive at 1.01α*, and the spectral radius agrees (< 1, > 1). (n α*
    should tend to the point-delay π/2 as the relative spread 1/√n of the staleness
    shrinks — observed, not proved: it decreases over n = 8, 16, 32, 64 and stays above.)"""
    scaled = {}
    for n in range(2, 65):
        q = poisson_weights(n)
        alpha = discrete_critical_alpha(q)  # warnings from sdde are errors (pyproject)
        assert 0 < alpha < math.inf, n
        assert discrete_unstable_count(0.99 * alpha, q) == 0, n
        above = discrete_unstable_count(1.01 * alpha, q)
        assert above is not None and above >= 1, n
        if n in (2, 3, 8, 31, 64):  # the roots agree (a dense eigenproblem each: a sample)
            assert discrete_spectral_radius(0.99 * alpha, q) < 1.0 < discrete_spectral_radius(
                1.01 * alpha, q), n
        scaled[n] = n * alpha
    assert scaled[8] > scaled[16] > scaled[32] > scaled[64] > HALF_PI


def test_poisson_31_threshold_warns() -> None:
    """Poisson(30) staleness: α* must come without numerical warnings from sdde (pyproject
    turns RuntimeWarnings raised in sdde.* into errors). The value itself is right: the
    count verdict around it is checked in test_poisson_staleness_thresholds."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        alpha = discrete_critical_alpha(poisson_weights(31))
    assert 0 < alpha < math.inf


# ------------------------------------------------------------------ bug: Q(−1) = 0
@pytest.mark.parametrize("weights", [[0.5, 0.0, 0.0, 0.5], [0.5, 0, 0, 0, 0, 0.5],
                                     [0, 0, 0.5, 0, 0, 0, 0, 0.5]], ids=["0-3", "0-5", "2-7"])
def test_threshold_when_q_at_minus_one_vanishes(weights: list[float]) -> None:
    """Q(−1) = Σ(−1)^s q_s = 0 means ζ = −1 is never a root (P(−1) = ±2), so θ = π gives no
    candidate. Reference: the first α where numpy.roots' spectral radius reaches 1 (grid of
    step 0.005, then brentq). For q = (1/2, 0, 0, 1/2), P = ζ⁴ − (1 − α/2)ζ³ + α/2, and at
    α = 2 it is ζ⁴ + 1: all four roots on the circle at once, so α* = 2."""
    q = np.asarray(weights, dtype=np.float64)
    expected = first_unstable_alpha(q)
    if q.size == 4:
        assert expected == pytest.approx(2.0, rel=1e-9)
        np.testing.assert_allclose(np.abs(np.roots([1.0, 0.0, 0.0, 0.0, 1.0])), 1.0,
                                   rtol=1e-14)
    assert discrete_critical_alpha(q) == pytest.approx(expected, rel=1e-9)


def test_threshold_bug_does_not_affect_q_at_minus_one_positive() -> None:
    """Control for the bug above: with Q(−1) > 0 the end point R(π) = 2/Q(−1) is a genuine
    candidate. q = (0.9, 0.1): P = ζ² − (1 − 0.9α)ζ + 0.1α; at ζ = −1, 2 − 0.8α = 0, so a
    root reaches −1 at α = 2.5 = 2/Q(−1); the complex pair would need the root product
    0.1α = 1 (α = 10): α* = 2.5."""
    q = np.array([0.9, 0.1])
    assert discrete_critical_alpha(q) == pytest.approx(2.5, rel=1e-12)
    assert first_unstable_alpha(q) == pytest.approx(2.5, rel=1e-9)


# ------------------------------------------------------------------ input validation
@pytest.mark.parametrize(("weights", "message"), [
    ([], "non-empty"),
    ([0.5, -0.1], ">= 0"),
    ([0.5, math.nan], "finite"),
    ([0.5, math.inf], "finite"),
    ([[0.5, 0.5]], "1-d"),
    ([0.0, 0.0], "not all be zero"),
])
def test_bad_weights(weights: object, message: str) -> None:
    for call in (lambda: discrete_roots(0.5, weights), lambda: discrete_critical_alpha(weights),
                 lambda: discrete_unstable_count(0.5, weights),
                 lambda: discrete_spectral_radius(0.5, weights)):
        with pytest.raises(ValueError, match=message):
            call()


def test_numpy_scalar_alpha_is_accepted() -> None:
    """Any real scalar type is a valid α (np.float32, np.int64 as well as float)."""
    q = [0.0, 1.0]
    expected = discrete_spectral_radius(0.5, q)
    for alpha in (np.float32(0.5), np.float64(0.5)):
        assert discrete_spectral_radius(alpha, q) == pytest.approx(expected, rel=1e-7)
    assert discrete_unstable_count(np.int64(3), q) == discrete_unstable_count(3.0, q)


@pytest.mark.parametrize("alpha", [0.0, -1.0, math.nan, math.inf, True, False, "1", None])
def test_bad_alpha(alpha: object) -> None:
    for fn in (discrete_roots, discrete_unstable_count, discrete_spectral_radius,
               dominant_root):
        with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
            fn(alpha, [0.0, 1.0])  # type: ignore[arg-type]


def test_degree_limit() -> None:
    """Staleness up to MAX_DEGREE − 1 gives degree MAX_DEGREE: allowed. One more is refused
    by discrete_roots (the count and threshold have no limit). Trailing zeros do not
    count: the largest staleness with q_s > 0 sets the degree."""
    assert MAX_DEGREE == 600
    ok = np.full(MAX_DEGREE, 1.0 / MAX_DEGREE)
    assert discrete_roots(1e-3, ok).size == MAX_DEGREE
    too_big = np.full(MAX_DEGREE + 1, 1.0 / (MAX_DEGREE + 1))
    with pytest.raises(ValueError, match=f"degree above {MAX_DEGREE}"):
        discrete_roots(1e-3, too_big)
    with pytest.raises(ValueError, match=f"degree above {MAX_DEGREE}"):
        discrete_spectral_radius(1e-3, too_big)
    assert discrete_unstable_count(1e-3, too_big) == 0
    padded = np.concatenate([[0.5, 0.5], np.zeros(5000)])
    assert discrete_roots(0.5, padded).size == 2


# ------------------------------------------------------------------ theory §4: mixtures
def test_equilibrium_of_exponential_mixture_is_tilted_mixture() -> None:
    """Base f = Σ μ_j s_j e^{−s_j x}: 1 − F(y) = Σ μ_j e^{−s_j y}, mean m = Σ μ_j/s_j, so the
    equilibrium density (1 − F)/m = Σ ν_j s_j e^{−s_j y} with ν_j = (μ_j/s_j)/m. Checked
    against Equilibrium.pdf (closed form sf/mean: 1e-13 relative), its cdf (QUADPACK,
    absolute 1e-13 asked; 1e-11 allowed) and its transform Σ ν_j s_j/(s_j + z). Up to
    y = 20 only: beyond, see test_equilibrium_of_mixture_tail. The pdf tolerance 1e-12:
    Mixture.sf is 1 − cdf, absolute error ~eps, and sf(20) ≈ 4e-3 makes that ~5e-14."""
    mu = np.array([0.5, 0.3, 0.2])
    rate = np.array([5.0, 1.0, 0.2])
    base = delays.Mixture(components=tuple(delays.Exponential(scale=1 / s) for s in rate),
                          weights=tuple(mu))
    law = delays.Equilibrium(base=base)
    nu = (mu / rate) / np.sum(mu / rate)
    assert nu.sum() == pytest.approx(1.0, rel=1e-15)
    y = np.concatenate([np.linspace(0.0, 5.0, 21), [10.0, 20.0]])
    pdf = (nu * rate * np.exp(-np.outer(y, rate))).sum(axis=1)
    np.testing.assert_allclose(law.pdf(y), pdf, rtol=1e-12)
    cdf = 1.0 - (nu * np.exp(-np.outer(y, rate))).sum(axis=1)
    np.testing.assert_allclose(law.cdf(y), cdf, rtol=0, atol=1e-11)
    z = np.array([0.0, 0.3, 1j, 0.5 + 2j, 10j, 1e-6j])
    phi = (nu * rate / (rate + z[:, None])).sum(axis=1)
    np.testing.assert_allclose(law.laplace(z), phi, rtol=1e-12)
    assert law.mean == pytest.approx(float(np.sum(nu / rate)), rel=1e-14)
    assert DelayKernel(law).completely_monotone


def test_equilibrium_of_mixture_tail() -> None:
    """Mixture.sf should be Σ w_j sf_j: full relative accuracy (each Exponential.sf is
    e^{−x/θ}). At y = 60…200 the true values are 3e-6…8e-19; 1e-12 relative is generous
    for a sum of three positive exponentials."""
    mu = np.array([0.5, 0.3, 0.2])
    rate = np.array([5.0, 1.0, 0.2])
    base = delays.Mixture(components=tuple(delays.Exponential(scale=1 / s) for s in rate),
                          weights=tuple(mu))
    nu = (mu / rate) / np.sum(mu / rate)
    y = np.array([60.0, 100.0, 150.0, 200.0])
    sf = (mu * np.exp(-np.outer(y, rate))).sum(axis=1)
    pdf = (nu * rate * np.exp(-np.outer(y, rate))).sum(axis=1)
    np.testing.assert_allclose(base.sf(y), sf, rtol=1e-12)
    np.testing.assert_allclose(delays.Equilibrium(base=base).pdf(y), pdf, rtol=1e-12)


@pytest.mark.parametrize("k", [0.3, 0.5, 0.8])
def test_gamma_shape_below_one_mixing_measure(k: float) -> None:
    """Gamma(k, 1), k < 1: f(x) = ∫_1^∞ s e^{−sx} μ(ds) with
    μ(ds) = (s − 1)^{−k}/(s Γ(k)Γ(1−k)) ds (from x^{k−1} = ∫ e^{−xt} t^{−k} dt / Γ(1−k),
    s = 1 + t). Checked: total mass 1; φ(iω) = ∫ μ(ds)/(1 + iω/s) against (1 + iω)^{−k};
    the density at a few x; and the equilibrium density sf(y)/k against
    ∫ s e^{−sy} ν(ds), ν(ds) = μ(ds)/(s k) (mean k = ∫ μ(ds)/s). quad with the algebraic
    end-point weight (s − 1)^{−k} is good to ~1e-12 here; 1e-9 allows for the infinite
    range."""
    norm = special.gamma(k) * special.gamma(1 - k)

    def integral(g: object) -> float:
        # ∫_1^∞ (s − 1)^{−k} g(s) ds, split at 2: algebraic weight on [1, 2], plain beyond.
        head = integrate.quad(g, 1.0, 2.0, weight="alg", wvar=(-k, 0.0), epsabs=0,
                              epsrel=1e-13)[0]
        tail = integrate.quad(lambda s: (s - 1.0) ** (-k) * g(s), 2.0, np.inf, epsabs=0,
                              epsrel=1e-13, limit=200)[0]
        return (head + tail) / norm

    assert integral(lambda s: 1.0 / s) == pytest.approx(1.0, rel=1e-9)
    assert integral(lambda s: 1.0 / s**2) == pytest.approx(k, rel=1e-9)  # the mean
    for omega in (0.1, 1.0, 7.0, 50.0):
        re = integral(lambda s, w=omega: (1.0 / s) / (1.0 + (w / s) ** 2))
        im = integral(lambda s, w=omega: -(1.0 / s) * (w / s) / (1.0 + (w / s) ** 2))
        expected = (1.0 + 1j * omega) ** (-k)
        assert re == pytest.approx(expected.real, rel=1e-9)
        assert im == pytest.approx(expected.imag, rel=1e-9)
        assert re > 0
    law = delays.Gamma(shape=k, scale=1.0)
    eq = delays.Equilibrium(base=law)
    for x in (0.05, 0.5, 2.0, 6.0):
        f = integral(lambda s, x=x: math.exp(-s * x))  # ∫ s e^{−sx} μ(ds)
        assert f == pytest.approx(float(law.pdf(x)), rel=1e-9)
        fe = integral(lambda s, x=x: math.exp(-s * x) / s) / k  # ∫ s e^{−sx} ν(ds)
        assert fe == pytest.approx(float(eq.pdf(x)), rel=1e-9)


@pytest.mark.parametrize("policy", [StepPolicy("inverse"), StepPolicy("geometric", 0.9),
                                    StepPolicy("geometric", 0.3)], ids=str)
def test_policy_weighted_mixture_kernels_never_cross(policy: StepPolicy) -> None:
    """Without a threshold, w = (1 − e^{−m})/m = ∫_0^1 e^{−mt} dt (inverse) or e^{−(1−γ)m}
    (geometric), m = ρu, is completely monotone, so w·f is again a mixture of exponentials
    for f = exponential or gamma(1/2): Re φ(iω) > 0 for all ω (theory §4). The library does
    not shortcut these kernels (the flag is False), so κ* = inf comes from its scan; the
    certified count is 0 at κ = 1, 10, 50. Re φ is checked on a grid against a floor of
    1e-9, far above the rule's ~1e-12 error and below the smallest value (~2e-4 at ω = 200
    for the exponential with the inverse policy)."""
    for law in (delays.Exponential(scale=2.0), delays.Gamma(shape=0.5, scale=1.0)):
        kernel = DelayKernel(law, updates_per_delay=8.0, policy=policy)
        assert not kernel.completely_monotone
        omega = np.concatenate([np.linspace(0.0, 20.0, 81), [50.0, 100.0, 200.0]])
        assert np.all(kernel.re_on_axis(omega) > 1e-9)
        assert critical_kappa(kernel) == math.inf
        for kappa in (1.0, 10.0, 50.0):
            assert unstable_root_count(kappa, kernel) == 0

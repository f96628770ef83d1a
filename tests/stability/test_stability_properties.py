"""Invariants of the divergence threshold κ* and of the point-delay roots, over random
parameters (derandomised, so every run draws the same examples).

Structural answers: the gamma closed form κ*(k) = k tan(π/(2k)) / cos(π/(2k))^k, its
monotonicity in k and limit π/2 (point delay) as k → ∞; the equation z + κe^{-z} = 0
itself; the stability boundary κ = π/2; scale invariance of κ*; and, for two-point laws,
a first-principles scan of the closed-form transform.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize

from sdde.delays import Gamma, two_point
from sdde.stability.mean_field import KAPPA_MAX, critical_kappa
from sdde.stability.roots import point_delay_roots

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
HALF_PI = math.pi / 2.0
EPS = float(np.finfo(float).eps)


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def gamma_kappa(k: float) -> float:
    """Closed form for the mean-1 gamma law of shape k > 1 (derived in
    tests/stability/test_critical_kappa.py::test_erlang_closed_form); inf above KAPPA_MAX."""
    a = math.pi / (2.0 * k)
    value = k * math.tan(a) / math.cos(a) ** k
    return value if value <= KAPPA_MAX else math.inf


# ------------------------------------------------------------------ gamma shape
@SETTINGS
@given(k=floats(1.05, 60.0))
def test_gamma_threshold_decreases_in_shape_towards_half_pi(k: float) -> None:
    """More regular delays (larger shape, smaller cv) are more destabilising, and the
    point delay (k → ∞) is the limit. κ*(k) equals the closed form (rel 1e-12, see
    test_critical_kappa.py); inf when the closed form exceeds KAPPA_MAX (k near 1)."""
    kappa = critical_kappa(Gamma(shape=k, scale=1.0))
    kappa_more = critical_kappa(Gamma(shape=1.5 * k, scale=2.0))
    expected = gamma_kappa(k)
    if math.isinf(expected):
        assert kappa == math.inf
    else:
        assert kappa == pytest.approx(expected, rel=1e-12)
    assert kappa_more == pytest.approx(gamma_kappa(1.5 * k), rel=1e-12)
    assert math.isfinite(kappa_more)  # 1.5 k >= 1.575: κ* <= 6.39
    assert kappa_more < kappa
    assert kappa_more > HALF_PI
    assert kappa > HALF_PI


def test_gamma_threshold_limit_is_half_pi() -> None:
    """Expanding the closed form: k tan(π/2k) = (π/2)(1 + O(k⁻²)) and
    cos(π/2k)^{-k} = exp(π²/(8k) + O(k⁻³)), so κ*(k)/(π/2) - 1 = π²/(8k) + O(k⁻²).
    At k = 1000 that is 1.234e-3 (the relative gap to π/2 is just above 1e-3, and the
    absolute one 1.9e-3); k·(κ*/(π/2) - 1) → π²/8 at rate O(1/k)."""
    for k in (1e3, 1e4, 1e5):
        excess = critical_kappa(Gamma(shape=k, scale=1.0)) / HALF_PI - 1.0
        assert excess > 0
        assert k * excess == pytest.approx(math.pi**2 / 8, rel=5.0 / k)
    assert critical_kappa(Gamma(shape=1e3, scale=1.0)) == pytest.approx(HALF_PI, rel=1.3e-3)


# ------------------------------------------------------------------ point-delay roots
@SETTINGS
@given(kappa=floats(1e-4, 50.0))
def test_point_delay_roots_residual_and_stability(kappa: float) -> None:
    """Every root solves z + κe^{-z} = 0 to 1e-12·max(1, |z|) (rounding of the residual is
    ~2eps|z|), and all roots are stable iff κ < π/2. Within 1e-9 (relative) of π/2 the
    crossing pair is within ~7e-10 of the axis: skipped."""
    assume(abs(kappa / HALF_PI - 1.0) > 1e-9)
    z = point_delay_roots(kappa, 12)
    assert np.all(np.abs(z + kappa * np.exp(-z)) <= 1e-12 * np.maximum(1.0, np.abs(z)))
    assert np.all(np.diff(z.real) <= 0)
    assert (z.real.max() < 0) == (kappa < HALF_PI)


# ------------------------------------------------------------------ two-point laws
def _two_point_reference(p: float, slowdown: float) -> float:
    """Smallest κ = -ω/Im φ(iω) over zeros of Re φ(iω) for the mean-1 two-point law,
    φ(iω) = (1-p) e^{-iωa} + p e^{-iωb}, a = 1/(1 - p + pS), b = S a. Grid step 0.002/b
    (500 points per period of the slow atom), each sign change refined by brentq; the
    scan stops once ω exceeds the best κ (|φ| <= 1 gives κ >= ω)."""
    a = 1.0 / (1.0 - p + p * slowdown)
    b = slowdown * a

    def phi(w: np.ndarray | float) -> np.ndarray:
        return (1 - p) * np.exp(-1j * np.asarray(w) * a) + p * np.exp(-1j * np.asarray(w) * b)

    step, best, start = 0.002 / b, math.inf, 0.0
    while start < min(best, KAPPA_MAX):
        w = start + step * np.arange(0, 4097)
        r = phi(w).real
        for i in np.flatnonzero(np.sign(r[:-1]) * np.sign(r[1:]) <= 0):
            ws = optimize.brentq(lambda x: float(phi(x).real), w[i], w[i + 1], xtol=1e-300,
                                 rtol=4 * EPS) if r[i] != 0 else w[i]
            im = float(phi(ws).imag)
            if im < 0:
                best = min(best, -ws / im)
        start = float(w[-1])
    return best


@SETTINGS
@given(p=floats(0.01, 0.5), slowdown=floats(1.5, 20.0), factor=floats(1e-3, 1e3))
def test_two_point_threshold_finite_positive_scale_invariant(p: float, slowdown: float,
                                                            factor: float) -> None:
    law = two_point(time=1.0, p=p, slowdown=slowdown)
    kappa = critical_kappa(law)
    assert 0 < kappa < math.inf
    # Scale invariance: c·X normalises to the same mean-1 law (parameters equal to ulps).
    assert critical_kappa(law.scaled(factor)) == pytest.approx(kappa, rel=1e-10)
    assert critical_kappa(two_point(time=factor, p=p, slowdown=slowdown)) == pytest.approx(
        kappa, rel=1e-10)
    # And it is the first-principles answer (both are brentq-accurate: rel 1e-11).
    assert kappa == pytest.approx(_two_point_reference(p, slowdown), rel=1e-11)

"""Hypothesis invariants of ``sdde.stability.discrete.discrete_moments``.

Anchored by tests/stability/test_discrete_moments.py (brute-force recursion, covariance
propagation, closed forms): here random stable weights and gains check the structure of
the moments. The recursion is linear, so

* the mean scales with the start ``x0`` — exactly for powers of two (multiplying every
  intermediate by 2^k commutes with rounding, barring under/overflow), to rounding
  otherwise;
* the variance is ``noise`` times a sum of squares that involves neither ``x0`` nor the
  mean, so it is linear in ``noise``, independent of ``x0``, and non-decreasing in ``t``
  (a running sum of non-negative terms, monotone in floating point too).

Examples are derandomised so a run is reproducible.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde.stability.discrete import discrete_critical_alpha, discrete_moments

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
EPS = np.finfo(np.float64).eps


@st.composite
def cases(draw):
    """Weights of size 1 … 30 (some zero, normalised), α in (0.05, 0.95) α*, 1 … 400 steps."""
    size = draw(st.integers(1, 30))
    raw = draw(st.lists(st.floats(0.0, 1.0), min_size=size, max_size=size))
    raw[-1] = max(raw[-1], 0.05)
    q = np.array(raw) / sum(raw)
    alpha = float(draw(st.floats(0.05, 0.95)) * discrete_critical_alpha(q))
    return alpha, q, draw(st.integers(1, 400))


@SETTINGS
@given(cases(), st.integers(-20, 20), st.sampled_from([1.0, -1.0]))
def test_mean_scales_exactly_with_power_of_two_start(case, power: int, sign: float) -> None:
    alpha, q, n_steps = case
    unit, _ = discrete_moments(alpha, q, n_steps, x0=1.0)
    scale = sign * 2.0**power
    scaled, _ = discrete_moments(alpha, q, n_steps, x0=scale)
    np.testing.assert_array_equal(scaled, scale * unit)


@SETTINGS
@given(cases(), st.floats(-50.0, 50.0).filter(lambda v: abs(v) > 1e-3))
def test_mean_is_linear_in_the_start(case, x0: float) -> None:
    """Any factor: the two runs round differently, each within the forward bound of
    tests/stability/test_discrete_moments.py, (S + 2) eps (1 + α) max|x| Σ|r| per run; with Σ|r|
    below ~200 for α <= 0.95 α* and S <= 29 that is < 1e-11 · max|x|."""
    alpha, q, n_steps = case
    unit, _ = discrete_moments(alpha, q, n_steps, x0=1.0)
    scaled, _ = discrete_moments(alpha, q, n_steps, x0=x0)
    np.testing.assert_allclose(scaled, x0 * unit, rtol=0,
                               atol=1e-11 * abs(x0) * float(np.abs(unit).max()))


@SETTINGS
@given(cases(), st.floats(1e-6, 1e3), st.floats(-10.0, 10.0))
def test_variance_is_linear_in_noise_and_free_of_the_start(case, noise: float,
                                                           x0: float) -> None:
    """noise · Σ r_j²: one multiplication by noise (relative rounding eps)."""
    alpha, q, n_steps = case
    _, unit = discrete_moments(alpha, q, n_steps, x0=1.0, noise=1.0)
    _, var = discrete_moments(alpha, q, n_steps, x0=x0, noise=noise)
    np.testing.assert_allclose(var, noise * unit, rtol=2 * EPS, atol=0)
    _, same = discrete_moments(alpha, q, n_steps, x0=0.0, noise=noise)
    np.testing.assert_array_equal(var, same)
    _, none = discrete_moments(alpha, q, n_steps, x0=x0, noise=0.0)
    np.testing.assert_array_equal(none, np.zeros(n_steps + 1))


@SETTINGS
@given(cases(), st.floats(1e-6, 1e3))
def test_variance_is_non_decreasing_from_zero(case, noise: float) -> None:
    """Var x_0 = 0 (deterministic history), Var x_1 = noise (one shock, r_0 = 1), then a
    running sum of non-negative squares."""
    alpha, q, n_steps = case
    _, var = discrete_moments(alpha, q, n_steps, noise=noise)
    assert var.shape == (n_steps + 1,)
    assert var[0] == 0.0
    assert var[1] == noise
    assert np.all(np.diff(var) >= 0.0)

"""Moments of the discrete-time recursion (``sdde.stability.discrete.discrete_moments`` and
``discrete_stationary_variance``) against independent answers.

The recursion is ``x_{t+1} = x_t − α Σ_s q_s x_{t−s} + ε_t`` (``Var ε_t = noise``) from the
constant history ``x_t = x0`` for ``t <= 0``. Independent answers used here:

* the recursion itself, run as a plain Python loop (the mean), and its impulse response
  run the same way;
* exact covariance propagation of the companion (state-space) form, with no Monte Carlo
  and no impulse response (the variance);
* a Monte Carlo of 20 000 noisy paths (both moments, CLT tolerances);
* closed forms: ``(1 − α)^t`` and ``noise / (α(2 − α))`` without staleness (AR(1)), the
  AR(2) stationary variance for a staleness of one, and the Levin–May threshold
  (``discrete_critical_alpha``, itself tested in tests/stability/test_discrete.py) for where the
  stationary variance becomes infinite.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde.stability.discrete import (
    discrete_critical_alpha,
    discrete_moments,
    discrete_stationary_variance,
)

EPS = np.finfo(np.float64).eps
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


# ------------------------------------------------------------------------ references
def brute_mean(alpha: float, q: list[float], n_steps: int, x0: float) -> np.ndarray:
    """x_0 … x_{n_steps} by the recursion, one Python float operation at a time."""
    span = len(q) - 1
    x = [x0] * (span + 1)  # x_{-span}, …, x_0
    for _ in range(n_steps):
        x.append(x[-1] - alpha * sum(q[s] * x[-1 - s] for s in range(span + 1)))
    return np.array(x[span:])


def brute_impulse(alpha: float, q: list[float], n_steps: int) -> np.ndarray:
    """r_0 … r_{n_steps−1}: the effect on x_{t+1+k} of a unit ε_t (zero history)."""
    span = len(q) - 1
    r = [0.0] * span + [1.0]
    for _ in range(n_steps - 1):
        r.append(r[-1] - alpha * sum(q[s] * r[-1 - s] for s in range(span + 1)))
    return np.array(r[span:])


def companion(alpha: float, q: np.ndarray) -> np.ndarray:
    """A with (x_{t+1}, …, x_{t+1−S}) = A (x_t, …, x_{t−S}) for the noise-free recursion."""
    size = q.size
    a = np.zeros((size, size))
    a[0] = -alpha * q
    a[0, 0] += 1.0
    a[1:, :-1] = np.eye(size - 1)
    return a


def propagated_variance(alpha: float, q: np.ndarray, n_steps: int, noise: float) -> np.ndarray:
    """Var x_t, t = 0 … n_steps, by P_{t+1} = A P_t Aᵀ + noise e₀e₀ᵀ from P_0 = 0."""
    a = companion(alpha, q)
    p = np.zeros((q.size, q.size))
    out = [0.0]
    for _ in range(n_steps):
        p = a @ p @ a.T
        p[0, 0] += noise
        out.append(p[0, 0])
    return np.array(out)


def forward_error_bound(alpha: float, q: np.ndarray, impulse: np.ndarray,
                        scale: float) -> float:
    """Rounding bound for two evaluations of the same linear recursion.

    Each step makes a rounding error of at most (S + 2)·eps·(1 + α)·max|x| (S + 1 products
    and sums, all terms bounded by max|x|, Σ q = 1); an error made at one step reaches a
    later one through the impulse response, so the error at step t is at most
    Σ_j |r_j| times that. Two evaluations can each be that far off.
    """
    return 2.0 * (q.size + 1) * EPS * (1.0 + alpha) * scale * float(np.abs(impulse).sum())


@st.composite
def stable_cases(draw, max_size: int = 30):
    """Random weights (size 1 … 30, some zeros, normalised) and α in (0.1, 0.8) α*."""
    size = draw(st.integers(1, max_size))
    raw = draw(st.lists(st.floats(0.0, 1.0), min_size=size, max_size=size))
    raw[-1] = max(raw[-1], 0.05)  # the last weight sets the support (the library trims 0s)
    q = np.array(raw) / sum(raw)
    return float(draw(st.floats(0.1, 0.8)) * discrete_critical_alpha(q)), q


# ------------------------------------------------------------------------------ mean
@SETTINGS
@given(stable_cases(), st.floats(-3.0, 3.0).filter(lambda v: abs(v) > 0.1))
def test_mean_matches_the_python_recursion(case: tuple[float, np.ndarray], x0: float) -> None:
    """scipy's IIR filter against the recursion step by step (300 updates): equal up to
    the forward rounding bound (1e-13 … 1e-12 of max|x| for these cases)."""
    alpha, q = case
    n_steps = 300
    mean, _ = discrete_moments(alpha, q, n_steps, x0=x0)
    expected = brute_mean(alpha, q.tolist(), n_steps, x0)
    assert mean.shape == (n_steps + 1,)
    assert mean[0] == x0
    bound = forward_error_bound(alpha, q, brute_impulse(alpha, q.tolist(), n_steps),
                                float(np.abs(expected).max()))
    np.testing.assert_allclose(mean, expected, rtol=0, atol=bound)


@pytest.mark.parametrize("alpha", [0.05, 0.5, 1.0, 1.5, 1.99])
def test_mean_without_staleness_is_geometric(alpha: float) -> None:
    """q = [1]: x_{t+1} = (1 − α) x_t, so the mean is x0 (1 − α)^t. Each step rounds
    once (relative eps, the product by 1 − α itself rounds once more), so after t
    steps the relative error is below ~3 t eps <= 1e-12 for t <= 400."""
    t = np.arange(401)
    mean, _ = discrete_moments(alpha, [1.0], 400, x0=2.5)
    np.testing.assert_allclose(mean, 2.5 * (1.0 - alpha) ** t, rtol=1e-12, atol=0)


@pytest.mark.parametrize("tau", [1, 2, 5, 17])
def test_constant_staleness_matches_the_recursion(tau: int) -> None:
    """q = δ_τ: x_{t+1} = x_t − α x_{t−τ}; α at half the Levin–May threshold
    2 sin(π/(2(2τ+1))). Tolerance: the forward rounding bound (see helper)."""
    q = np.zeros(tau + 1)
    q[tau] = 1.0
    alpha = math.sin(math.pi / (2 * (2 * tau + 1)))  # α*/2
    mean, var = discrete_moments(alpha, q, 500, noise=0.3)
    expected = brute_mean(alpha, q.tolist(), 500, 1.0)
    impulse = brute_impulse(alpha, q.tolist(), 500)
    np.testing.assert_allclose(mean, expected, rtol=0,
                               atol=forward_error_bound(alpha, q, impulse, 1.0))
    # The variance against the impulse response summed by hand: a sum of 500 squares
    # (relative rounding <= 500 eps) of terms each off by the forward bound.
    np.testing.assert_allclose(var[1:], 0.3 * np.cumsum(impulse**2), rtol=1e-11)


# -------------------------------------------------------------------------- variance
@SETTINGS
@given(stable_cases(max_size=6), st.floats(0.01, 10.0))
def test_variance_matches_covariance_propagation(case: tuple[float, np.ndarray],
                                                 noise: float) -> None:
    """Var x_t from the state-space covariance recursion (no impulse response, no
    sampling). Both are sums of ~t·S rounded terms of size <= (Σ|r|)² times the result;
    Σ|r| <= ~30 here, so the relative difference stays below 1e-10 over 200 steps."""
    alpha, q = case
    _, var = discrete_moments(alpha, q, 200, x0=1.7, noise=noise)
    expected = propagated_variance(alpha, q, 200, noise)
    assert var[0] == 0.0  # the history is deterministic
    np.testing.assert_allclose(var, expected, rtol=1e-10, atol=0)


def test_moments_match_monte_carlo() -> None:
    """20 000 independent noisy paths of the recursion (vectorised over paths).

    CLT tolerances at 5 standard errors (per check ~6e-7 two-sided), fixed seed: the
    sample mean's standard error is sqrt(Var x_t / N); the sample variance of Gaussian
    paths (x_t is a linear function of Gaussian ε) has relative standard error
    sqrt(2 / (N − 1)) ≈ 0.01.
    """
    rng = np.random.default_rng(2024)
    q = np.array([0.1, 0.4, 0.2, 0.3])
    alpha, noise, x0, n_steps, paths = 0.35, 0.8, 1.2, 60, 20_000
    mean, var = discrete_moments(alpha, q, n_steps, x0=x0, noise=noise)
    x = np.full((paths, q.size + n_steps), x0)  # columns: x_{-3}, …, x_{n_steps}
    for t in range(q.size - 1, q.size - 1 + n_steps):
        drift = x[:, t - q.size + 1: t + 1][:, ::-1] @ q  # Σ_s q_s x_{t−s}
        x[:, t + 1] = x[:, t] - alpha * drift + math.sqrt(noise) * rng.standard_normal(paths)
    sample = x[:, q.size - 1:]
    for t in (1, 5, 20, 60):
        se_mean = math.sqrt(var[t] / paths)
        assert abs(sample[:, t].mean() - mean[t]) < 5 * se_mean, t
        rel = sample[:, t].var(ddof=1) / var[t] - 1.0
        assert abs(rel) < 5 * math.sqrt(2.0 / (paths - 1)), t


@pytest.mark.parametrize("alpha", [0.05, 0.5, 1.0, 1.7])
def test_variance_without_staleness_closed_form(alpha: float) -> None:
    """q = [1]: Var x_t = noise Σ_{k<t} (1 − α)^{2k} = noise (1 − ρ^{2t}) / (1 − ρ²),
    ρ = 1 − α, → noise / (α(2 − α)). Tolerance: a cumulative sum of <= 400 terms, each
    a product of <= 800 roundings: relative error < 1e-12."""
    rho2 = (1.0 - alpha) ** 2
    t = np.arange(401)
    _, var = discrete_moments(alpha, [1.0], 400, noise=2.0)
    np.testing.assert_allclose(var, 2.0 * (1.0 - rho2**t) / (1.0 - rho2), rtol=1e-12)
    # Stationary value. The library stops when the last half of its horizon adds
    # <= 1e-12 of the total (what is left is geometrically smaller still) and sums
    # >= 1024 terms (relative rounding <= ~1e-13 per doubling): 1e-10 is safe.
    assert discrete_stationary_variance(alpha, [1.0], 2.0) == pytest.approx(
        2.0 / (alpha * (2.0 - alpha)), rel=1e-10)


@pytest.mark.parametrize("alpha", [0.05, 0.3, 0.6, 0.9, 0.99])
def test_stationary_variance_staleness_one_is_ar2(alpha: float) -> None:
    """q = δ_1: x_{t+1} = x_t − α x_{t−1} + ε_t, an AR(2) y_t = φ1 y_{t−1} + φ2 y_{t−2} + ε
    with φ1 = 1, φ2 = −α (x_t receives ε_{t−1}: a shift, same stationary variance),

        Var = (1 − φ2) σ² / ((1 + φ2)((1 − φ2)² − φ1²)) = (1 + α) σ² / ((1 − α) α (α + 2)),

    finite for α < 1 = discrete_critical_alpha(δ_1). Tolerance as in the AR(1) test."""
    expected = 0.7 * (1.0 + alpha) / ((1.0 - alpha) * alpha * (alpha + 2.0))
    assert discrete_stationary_variance(alpha, [0.0, 1.0], 0.7) == pytest.approx(
        expected, rel=1e-10)


@pytest.mark.parametrize("q", [[1.0], [0.0, 1.0], [0.0, 0.0, 0.0, 1.0],
                               [0.2, 0.3, 0.1, 0.4], [0.05] * 20])
def test_stationary_variance_is_infinite_exactly_beyond_the_threshold(q: list[float]) -> None:
    """Finite (and matching the brute-force impulse sum) below α*, inf above it.

    At 0.95 α* the spectral radius is < 1, so Σ r_k² converges: 20 000 brute-force terms
    leave a tail below 1e-12 here (ρ^40000 for ρ <= 0.999). At 1.05 α* a root lies
    outside the unit circle and the sum diverges.
    """
    critical = discrete_critical_alpha(q)
    below, above = 0.95 * critical, 1.05 * critical
    value = discrete_stationary_variance(below, q, 1.0)
    brute = float(np.sum(brute_impulse(below, q, 20_000) ** 2))
    assert value == pytest.approx(brute, rel=1e-9)  # the tail and 20 000-term rounding
    assert discrete_stationary_variance(above, q, 1.0) == math.inf


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"n_steps": -1}, "n_steps"),
    ({"n_steps": 2.0}, "n_steps"),
    ({"n_steps": True}, "n_steps"),
    ({"noise": -0.1}, "noise"),
    ({"noise": math.nan}, "noise"),
    ({"noise": math.inf}, "noise"),
    ({"alpha": 0.0}, "alpha"),
    ({"alpha": -0.5}, "alpha"),
    ({"alpha": math.inf}, "alpha"),
    ({"alpha": math.nan}, "alpha"),
    ({"alpha": True}, "alpha"),
    ({"weights": []}, "weights"),
    ({"weights": [0.5, -0.1]}, "weights"),
    ({"weights": [0.0, 0.0]}, "zero"),
])
def test_bad_input_is_refused(kwargs: dict, fragment: str) -> None:
    args = {"alpha": 0.3, "weights": [0.5, 0.5], "n_steps": 10, "noise": 1.0, **kwargs}
    with pytest.raises(ValueError, match=fragment):
        discrete_moments(args["alpha"], args["weights"], args["n_steps"], noise=args["noise"])


def test_stationary_variance_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="noise"):
        discrete_stationary_variance(0.3, [1.0], -1.0)
    with pytest.raises(ValueError, match="alpha"):
        discrete_stationary_variance(0.0, [1.0], 1.0)


def test_zero_steps_gives_the_start() -> None:
    """n_steps = 0: only x_0 = x0, deterministic (variance 0)."""
    mean, var = discrete_moments(0.3, [0.2, 0.8], 0, x0=-4.0, noise=5.0)
    assert mean.tolist() == [-4.0]
    assert var.tolist() == [0.0]


def test_noise_free_unstable_variance_is_zero() -> None:
    """α = 3 with q = [1]: x_t = (−2)^t, deterministic; Var x_t = 0 for every t."""
    _, var = discrete_moments(3.0, [1.0], 2000, noise=0.0)
    assert np.all(var == 0.0)

"""Invariants of the SDDE solver's building blocks, over random inputs (hypothesis).

Each property has its own independent answer:

* ``Delay.grid_weights``: hat (linear-interpolation) weights reproduce linear functions
  exactly, so they keep the measure's mass Σ w_i and first moment Σ w_i lag_i; each atom
  touches only its two neighbouring grid points.
* ``coarsen``: sums of consecutive increments, so totals and the Brownian path at the
  coarse times are unchanged, and the variance of an increment scales with its length.
* ``brownian_increments``: shape, and a path's increments do not depend on the number of
  paths (one spawned stream per block of 256).
* ``exact_moments``: with zero history the mean is exactly 0 and the variance
  σ² dt Σ r_i² is non-decreasing, starts at σ² dt and scales with σ²; the scheme is
  linear in its history; for a point lag of k steps and unit history the mean is the
  fundamental solution shifted by k steps (m(t) = r(t + lag), from m' = −κ m(t − lag)
  integrated over one lag); and the stationary variance converges to Küchler–Mensch at
  first order with the Euler–Maruyama constant (κdt/2 as κ → 0, the OU value).
* ``solve``: the compiled kernel and the numpy loop agree; output shapes.

Examples are derandomised (``derandomize=True``), so every run draws the same cases.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdde import (
    Delay,
    Diffusion,
    LinearDrift,
    SDDEProblem,
    brownian_increments,
    exact_moments,
    solve,
)
from sdde.model.noise import PATH_BLOCK, coarsen

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=15, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow])


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------------------- grid weights
@st.composite
def delays(draw: st.DrawFn) -> Delay:
    n = draw(st.integers(1, 6))
    lags = draw(st.lists(floats(0.0, 5.0), min_size=n, max_size=n))
    weights = draw(st.lists(floats(0.0, 2.0), min_size=n, max_size=n))
    return Delay(lags=np.array(lags), weights=np.array(weights))


@PROPERTY_SETTINGS
@given(delay=delays(), dt=floats(0.005, 1.0))
def test_grid_weights_keep_mass_and_first_moment(delay: Delay, dt: float) -> None:
    """Σ_j W_j = Σ_i w_i and Σ_j W_j · j dt = Σ_i w_i lag_i (rel 1e-12).

    The split of an atom at u = (k + f) dt is w(1 − f) at k and w f at k + 1: mass w and
    first moment w(k + f) dt = w u in exact arithmetic. In floating point the fraction f
    carries a rounding error of about eps · u/dt, hence the tolerance is 1e-12 relative
    to Σ w (lag + dt), some 10⁴ × eps (u/dt ≤ 1000 here).
    """
    w = delay.grid_weights(dt)
    mass = float(delay.weights.sum())
    assert np.all(w >= 0)
    assert abs(w.sum() - mass) <= 1e-12 * mass
    j = np.arange(w.size)
    first = float(delay.weights @ delay.lags)
    scale = float(delay.weights @ (delay.lags + dt))
    assert abs(float(w @ (j * dt)) - first) <= 1e-12 * scale
    # Hat weights are exact for linear functions: Σ W_j x(−j dt) = Σ w_i x(−lag_i).
    a, b = 0.7, -1.3
    assert abs(float(w @ (a + b * (-j * dt))) - float(delay.weights @ (a - b * delay.lags))) \
        <= 1e-12 * (abs(a) * mass + abs(b) * scale)
    # Length: up to the grid point just past the largest lag, trimmed of trailing zeros.
    assert w.size <= math.floor(delay.lags.max() / dt) + 2
    if mass > 0:
        assert w[-1] > 0


@PROPERTY_SETTINGS
@given(lag=floats(0.0, 5.0), dt=floats(0.005, 1.0))
def test_point_lag_touches_its_two_neighbours(lag: float, dt: float) -> None:
    """An atom at u = (k + f) dt gives weights 1 − f at k and f at k + 1, nothing else."""
    w = Delay.point(lag).grid_weights(dt)
    k = math.floor(lag / dt)
    frac = lag / dt - k
    expected = np.zeros(k + 2)
    expected[k], expected[k + 1] = 1.0 - frac, frac
    np.testing.assert_allclose(w, expected[:w.size], rtol=0, atol=1e-12)
    assert np.all(expected[w.size:] <= 1e-12)  # only a (numerically) zero tail is trimmed


# ------------------------------------------------------------------------------- noise
@PROPERTY_SETTINGS
@given(n_coarse=st.integers(1, 20), factor=st.integers(1, 8), n_paths=st.integers(1, 5),
       dim=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_coarsen_preserves_sums_and_the_path(n_coarse: int, factor: int, n_paths: int,
                                            dim: int, seed: int) -> None:
    """The coarse increments are sums of ``factor`` fine ones: same total, same Brownian
    path W(t) at the coarse times (cumulative sums), and coarsening composes. Summation
    order differs, so agreement is to rounding (1e-12 for O(1) sums of ≤ 160 terms)."""
    dW = np.random.default_rng(seed).standard_normal((n_coarse * factor, n_paths, dim))
    coarse = coarsen(dW, factor)
    assert coarse.shape == (n_coarse, n_paths, dim)
    np.testing.assert_allclose(coarse.sum(axis=0), dW.sum(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(coarse.cumsum(axis=0), dW.cumsum(axis=0)[factor - 1::factor],
                               rtol=0, atol=1e-12)
    if n_coarse % 2 == 0:
        np.testing.assert_allclose(coarsen(coarse, 2), coarsen(dW, 2 * factor), rtol=0,
                                   atol=1e-12)
    if factor == 1:
        assert np.array_equal(coarse, dW)


@FEW
@given(factor=st.integers(1, 16), dt=floats(1e-4, 0.5), seed=st.integers(0, 2**32 - 1))
def test_coarsened_increments_have_variance_factor_dt(factor: int, dt: float,
                                                      seed: int) -> None:
    """brownian_increments has variance dt per step; the sum of ``factor`` of them is
    N(0, factor · dt). 400 coarse steps × 64 paths = 25 600 samples: 5 SE of the mean is
    sqrt(factor dt / N)·5 and of the variance factor dt · sqrt(2/(N − 1)) · 5 = 4.4%
    (Gaussian samples; with 15 derandomised examples a false failure is ~1e-5)."""
    n_coarse, n_paths = 400, 64
    dW = brownian_increments(np.random.default_rng(seed), n_coarse * factor, n_paths, 1, dt)
    coarse = coarsen(dW, factor).ravel()
    n = coarse.size
    var = factor * dt
    assert abs(coarse.mean()) < 5 * math.sqrt(var / n)
    assert abs(coarse.var(ddof=1) - var) < 5 * var * math.sqrt(2.0 / (n - 1))


@PROPERTY_SETTINGS
@given(n_steps=st.integers(1, 30), n_paths=st.integers(1, 600), dim=st.integers(1, 3),
       more=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_brownian_increments_shape_and_path_prefix(n_steps: int, n_paths: int, dim: int,
                                                   more: int, seed: int) -> None:
    """Shape (n_steps, n_paths, dim); the first n_paths paths are the same when more
    paths are asked for (blocks of PATH_BLOCK paths have their own streams)."""
    dt = 0.01
    small = brownian_increments(np.random.default_rng(seed), n_steps, n_paths, dim, dt)
    large = brownian_increments(np.random.default_rng(seed), n_steps, n_paths + more, dim,
                                dt)
    assert small.shape == (n_steps, n_paths, dim)
    assert large.shape == (n_steps, n_paths + more, dim)
    assert np.array_equal(small, large[:, :n_paths])
    assert np.all(np.isfinite(small))
    if n_paths + more > PATH_BLOCK and n_steps * dim > 1:
        # Different blocks are different streams, not copies.
        assert not np.array_equal(large[:, 0], large[:, PATH_BLOCK])


# ----------------------------------------------------------------------- exact moments
STABLE_KAPPA = floats(0.05, 0.9 * math.pi / 2)  # κ* = π/2 for a point lag 1


def _point(kappa: float, sigma: float, history: float, *, lag: float = 1.0,
           t_final: float = 10.0) -> SDDEProblem:
    return SDDEProblem(drift=LinearDrift(gains=[[kappa]]), delays=(Delay.point(lag),),
                       diffusion=Diffusion(sigma=sigma), history=history, t_final=t_final)


@PROPERTY_SETTINGS
@given(kappa=STABLE_KAPPA, sigma=floats(0.01, 3.0), lag=floats(0.0, 2.0),
       dt=st.sampled_from([0.05, 0.1, 0.2]))
def test_exact_moments_with_zero_history(kappa: float, sigma: float, lag: float,
                                         dt: float) -> None:
    """Zero history: x_n = σ Σ_k r_{n−1−k} ΔW_k, so the mean is exactly 0, the variance
    σ² dt Σ_{i<n} r_i² is non-decreasing (a cumulative sum of squares; true for the SDDE
    as well, Var x(t) = σ² ∫_0^t r²), its first step is σ² dt (r_0 = 1), and Var/σ² does
    not depend on σ."""
    moments = exact_moments(_point(kappa, sigma, 0.0, lag=lag), dt=dt)
    assert np.all(moments.mean == 0.0)
    assert np.all(np.diff(moments.variance[:, 0]) >= 0.0)
    assert moments.variance[0, 0] == 0.0
    assert math.isclose(moments.variance[1, 0], sigma**2 * dt, rel_tol=1e-15)
    assert moments.fundamental[0, 0] == 1.0
    unit = exact_moments(_point(kappa, 1.0, 0.0, lag=lag), dt=dt)
    np.testing.assert_allclose(moments.variance, sigma**2 * unit.variance, rtol=1e-13)
    np.testing.assert_array_equal(moments.fundamental, unit.fundamental)


@PROPERTY_SETTINGS
@given(kappa=STABLE_KAPPA, history=floats(-5.0, 5.0), lag=floats(0.0, 2.0),
       dt=st.sampled_from([0.05, 0.1, 0.2]))
def test_exact_mean_is_linear_in_the_history(kappa: float, history: float, lag: float,
                                             dt: float) -> None:
    """The noise-free scheme is linear: the mean for history c is c times the mean for
    history 1 (to rounding, 1e-12 relative to |c|). Subnormal values of the mean have fewer
    significant digits, so the tolerance never goes below the smallest normal float's."""
    scaled = exact_moments(_point(kappa, 0.5, history, lag=lag), dt=dt).mean
    unit = exact_moments(_point(kappa, 0.5, 1.0, lag=lag), dt=dt).mean
    np.testing.assert_allclose(scaled, history * unit, rtol=0,
                               atol=max(1e-12 * abs(history), np.finfo(float).tiny))


@PROPERTY_SETTINGS
@given(kappa=STABLE_KAPPA, lag_steps=st.integers(1, 40), dt=st.sampled_from([0.025, 0.05]))
def test_exact_mean_is_the_shifted_fundamental_solution(kappa: float, lag_steps: int,
                                                        dt: float) -> None:
    """For m' = −κ m(t − L) with m ≡ 1 on [−L, 0]: m(t) = r(t + L), r the fundamental
    solution (r ≡ 1 on [0, L] because its history is 0; both then obey the same equation).
    The scheme inherits it exactly on a grid with L = k dt: m_n = r_{n+k}."""
    lag = lag_steps * dt
    t_final = 4.0
    moments = exact_moments(_point(kappa, 1.0, 1.0, lag=lag, t_final=t_final), dt=dt)
    k = round(lag / dt)
    assert Delay.point(lag).grid_weights(dt).argmax() == k
    r, m = moments.fundamental[:, 0], moments.mean[:, 0]
    np.testing.assert_allclose(r[:k + 1], 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m[:r.size - k], r[k:], rtol=0, atol=1e-12)


@FEW
@given(kappa=floats(0.05, 1.0))
def test_stationary_variance_converges_at_first_order(kappa: float) -> None:
    """Point lag 1: Var x(∞) = σ²(1 + sin κ)/(2κ cos κ) (Küchler & Mensch 1992). The
    scheme's relative error at dt = 0.01 lies between 0.45κdt and 1.2κdt: as κ → 0 the lag
    is negligible against the relaxation time 1/κ and the error tends to the OU value
    κdt/2 (EM's stationary variance σ²/(2κ − κ²dt)); at κ = 1 it is 0.94κdt. Richardson
    (2v(dt/2) − v(dt)) leaves O(dt²): ≤ 2e-4 relative measured for κ ≤ 1, 1e-3 asked.
    t = 400 is stationary: the slowest root has Re λ = W₀(−κ) ≈ −0.053 at κ = 0.05 and is
    more negative for every larger κ ≤ 1, so the missing tail of σ²∫r² is below e^{−42}."""
    truth = (1.0 + math.sin(kappa)) / (2.0 * kappa * math.cos(kappa))
    problem = _point(kappa, 1.0, 0.0, t_final=400.0)
    v = [float(exact_moments(problem, dt=dt, save_every=round(400.0 / dt)).variance[-1, 0])
         for dt in (0.02, 0.01)]
    relative = (v[1] - truth) / truth / (kappa * 0.01)
    assert 0.45 < relative < 1.2
    assert abs(2 * v[1] - v[0] - truth) <= 1e-3 * truth


# -------------------------------------------------------------------------------- solve
@FEW
@given(kappa=floats(0.1, 2.0), lag=floats(0.0, 1.5), sigma=floats(0.0, 1.0),
       beta=floats(0.0, 1.0), kind=st.sampled_from(["poisson", "linear"]),
       seed=st.integers(0, 2**32 - 1))
def test_compiled_kernel_and_numpy_loop_agree(kappa: float, lag: float, sigma: float,
                                              beta: float, kind: str, seed: int) -> None:
    """The same problem with a LinearDrift (compiled) and with the drift as a lambda
    (numpy loop), on the same generator: equal to rounding (60 steps, |x| = O(1): 1e-12)."""
    problem = SDDEProblem(drift=LinearDrift(gains=[[kappa]]), delays=(Delay.point(lag),),
                          diffusion=Diffusion(sigma=sigma, beta=beta, kind=kind),
                          history=lambda t: 1.0 + 0.5 * t, t_final=3.0)
    looped = SDDEProblem(drift=lambda t, x, y: -kappa * y[0], delays=problem.delays,
                         diffusion=problem.diffusion, history=problem.history, t_final=3.0)
    a = solve(problem, dt=0.05, n_paths=7, rng=np.random.default_rng(seed))
    b = solve(looped, dt=0.05, n_paths=7, rng=np.random.default_rng(seed))
    scale = max(1.0, float(np.max(np.abs(a.x))))
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-12 * scale)


@PROPERTY_SETTINGS
@given(n_steps=st.integers(1, 60), n_paths=st.integers(1, 300), n_modes=st.integers(1, 3),
       save_every=st.integers(1, 70))
def test_solution_shapes(n_steps: int, n_paths: int, n_modes: int, save_every: int) -> None:
    """x is (n_steps // save_every + 1, n_paths, n_modes), t = 0, s dt, 2 s dt, …"""
    dt = 0.1
    problem = SDDEProblem(drift=LinearDrift(gains=np.full((1, n_modes), 0.5)),
                          delays=(Delay.point(0.3),), diffusion=Diffusion(sigma=0.1),
                          history=1.0, t_final=n_steps * dt)
    sol = solve(problem, dt=dt, n_paths=n_paths, save_every=save_every,
                rng=np.random.default_rng(0))
    n_save = n_steps // save_every + 1
    assert sol.x.shape == (n_save, n_paths, n_modes)
    assert sol.diverged_at.shape == (n_paths,)
    np.testing.assert_allclose(sol.t, dt * save_every * np.arange(n_save), rtol=1e-15)
    assert np.all(sol.x[0] == 1.0) and sol.status == "success"

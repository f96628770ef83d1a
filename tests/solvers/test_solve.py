"""``sdde.solve`` (delayed Euler–Maruyama), tiered by how each test knows the truth.

1. Exact answers.
   * Zero delay: the scheme is the ordinary Euler–Maruyama step, so ``sdeint.itoEuler``
     on the same increments is a second implementation; only the order of floating-point
     operations differs.
   * Noise-free point delay: the method of steps gives the DDE's solution in closed form,
     and for a piecewise-polynomial solution the Euler error is itself a closed form.
   * An off-grid lag is interpolated linearly; a few steps are worked out by hand.
   * An Erlang kernel run as a linear chain is the Euler–Maruyama step of the augmented
     system (x, y_1, y_2), which ``sdeint.itoEuler`` integrates on the same increments.
2. Second implementation: the compiled kernel against the numpy loop, which is used
   whenever the drift is a plain callable.
3. Reproducibility: the noise is an input (same seed → identical bits, a path does not
   depend on how many other paths there are, ``dW=brownian_increments(...)`` replays a run).
4. Statistics and theory:
   * Monte Carlo against ``exact_moments`` (the scheme's own exact mean and variance),
     in standard errors.
   * ``exact_moments`` at large t against the stationary variances in closed form
     (Küchler & Mensch for a point delay; rational forms for exponential and Erlang-2)
     and against ``sdde.stationary_variance`` (Parseval), with first-order convergence in dt.
   * The Erlang-2 kernel on the delay grid against its linear-chain SDE integrated by
     ``sdeint.itoEuler`` with independent noise: two-sample comparison of x(T).
   * ``AsyncSGDModel.to_problem``: its fields follow from the model's definitions, and the
     Monte-Carlo stationary variance of the problem matches ``stationary_variance``.
5. Divergence as a value (status/message, finite states, no warnings) and bad input as a
   ValueError with a message that says what to do.

Statistical tests use fixed seeds and 5 standard errors: for a Gaussian statistic the
chance of exceeding 5 SE is 5.7e-7 per comparison, so even the ~40 comparisons below have
a false-failure rate under 1e-4; and with a fixed seed a failure reproduces exactly.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import sdeint
from scipy import sparse

import sdde
from sdde import (
    AsyncSGDModel,
    Cluster,
    Delay,
    DelayedEulerMaruyama,
    Diffusion,
    HessianSpectrum,
    LinearDrift,
    SDDEProblem,
    brownian_increments,
    exact_moments,
    solve,
    stationary_variance,
)
from sdde.model.noise import PATH_BLOCK, coarsen

#: Standard errors allowed in statistical comparisons (see the module docstring).
N_SE = 5.0


def point_problem(*, kappa: float = 1.0, lag: float = 1.0, sigma: float = 0.0,
                  beta: float = 0.0, kind: str = "poisson", history: object = 1.0,
                  t_final: float = 2.0, offset: float = 0.0) -> SDDEProblem:
    """``dx = (offset − κ x(t − lag)) dt + g(x) dW`` with one point lag."""
    return SDDEProblem(drift=LinearDrift(gains=[[kappa]], offset=offset),
                       delays=(Delay.point(lag),),
                       diffusion=Diffusion(sigma=sigma, beta=beta, kind=kind),
                       history=history, t_final=t_final)


def kernel_problem(law: sdde.DelayLaw, *, chain: bool, kappa: float = 1.0, sigma: float = 1.0,
                   history: float = 1.0, t_final: float = 5.0) -> SDDEProblem:
    """``dx = −κ ∫ x(t − u) dF̃(u) dt + σ dW`` for a distributed delay (mean 1)."""
    return SDDEProblem(drift=LinearDrift(gains=[[kappa]]),
                       delays=(Delay.from_kernel(law, chain=chain),),
                       diffusion=Diffusion(sigma=sigma), history=history, t_final=t_final)


def n_steps(problem: SDDEProblem, dt: float) -> int:
    return round(problem.t_final / dt)


# --------------------------------------------------------------------------- declarations
def test_solver_declares_its_orders() -> None:
    em = DelayedEulerMaruyama()
    assert (em.strong_order, em.weak_order) == (0.5, 1.0)
    sol = solve(point_problem(t_final=1.0), dt=0.5, rng=np.random.default_rng(0))
    assert sol.solver == em.name == "euler-maruyama"


# --------------------------------------------------------------------- tier 1: exact answers
@pytest.mark.parametrize(("sigma", "beta", "kind"), [(0.4, 0.0, "poisson"),
                                                      (0.3, 0.8, "linear")],
                         ids=["additive", "linear-multiplicative"])
def test_zero_delay_is_euler_maruyama_of_sdeint(sigma: float, beta: float, kind: str,
                                                rng: np.random.Generator) -> None:
    """A lag of 0 makes y_n = x_n: dx = −a x dt + (σ + β x) dW, the plain EM step.

    Both codes compute x + dt·(−a x) + g(x)·ΔW in float64; only the order of the
    additions differs (sdde adds g·ΔW before the drift), so each step differs by a few
    ulps. The map x ↦ (1 − a dt) x + g ΔW is contracting on average, so the differences
    do not grow: 500 steps leave at most ~500 · 1.1e-16 ≈ 6e-14 relative. rtol 1e-12 (with
    atol 1e-12 for values near 0) has a margin of 10 and catches any one-step slip (e.g.
    using x_{n+1} in g, or dt² terms), which would show at 1e-3.
    """
    a, t_final, dt, n_paths = 1.3, 5.0, 0.01, 8
    problem = point_problem(kappa=a, lag=0.0, sigma=sigma, beta=beta, kind=kind,
                            t_final=t_final)
    assert problem.delays[0].grid_weights(dt).tolist() == [1.0]
    steps = n_steps(problem, dt)
    dW = brownian_increments(rng, steps, n_paths, 1, dt)
    ours = solve(problem, dt=dt, n_paths=n_paths, dW=dW)
    tspan = np.linspace(0.0, t_final, steps + 1)
    # sdeint's step is (tspan[-1] − tspan[0]) / (N − 1): the same double as dt.
    assert (tspan[-1] - tspan[0]) / steps == dt
    np.testing.assert_array_equal(ours.t, tspan)
    for p in range(n_paths):
        ref = sdeint.itoEuler(lambda y, t: -a * y,
                              lambda y, t: np.array([[sigma + beta * y[0]]]),
                              np.array([1.0]), tspan, dW=dW[:, p, :])
        np.testing.assert_allclose(ours.x[:, p, 0], ref[:, 0], rtol=1e-12, atol=1e-12)


def test_noise_free_point_delay_against_method_of_steps() -> None:
    """x' = −κ x(t − 1), x ≡ 1 on [−1, 0]: x = 1 − κt on [0, 1] and
    x = 1 − κt + κ²(t − 1)²/2 on [1, 2] (method of steps).

    Euler integrates the linear piece exactly, and on [1, 2] it sums the linear slope
    −κ(1 − κ(s − 1)) by left rectangles, so the error is exactly κ²(t − 1)·dt/2: first
    order, with error ratio exactly 2 under halving. The ratio is checked to ±0.02 (a
    first-order method with a smooth error expansion gives 2 + O(dt) = 2 ± 0.01 here),
    and the whole error profile against the closed form to 1e-12 (rounding of ~200-400
    additions of O(1) numbers).
    """
    kappa = 0.8
    problem = point_problem(kappa=kappa, t_final=2.0)

    def exact(t: np.ndarray) -> np.ndarray:
        return np.where(t <= 1.0, 1.0 - kappa * t, 1.0 - kappa * t + kappa**2 * (t - 1) ** 2 / 2)

    errors = []
    for dt in (0.01, 0.005):
        sol = solve(problem, dt=dt, rng=np.random.default_rng(0))
        error = exact(sol.t) - sol.x[:, 0, 0]
        np.testing.assert_allclose(error, kappa**2 * np.maximum(sol.t - 1.0, 0.0) * dt / 2,
                                   rtol=0, atol=1e-12)
        errors.append(np.max(np.abs(error)))
    assert errors[0] / errors[1] == pytest.approx(2.0, abs=0.02)
    assert errors[1] < 2e-3


def test_off_grid_lag_interpolates_linearly() -> None:
    """Lag 0.75 on a dt = 0.1 grid: y_n = ½ x(t_n − 0.7) + ½ x(t_n − 0.8) (hat weights).

    With the quadratic history x(t) = 1 + t² the interpolated value differs from the exact
    x(−0.75) = 1.5625, so the first steps can be checked by hand:
    y_0 = ½(1.49 + 1.64) = 1.565, x_1 = 1 − κ dt y_0; y_1 = ½(1.36 + 1.49) = 1.425,
    x_2 = x_1 − κ dt y_1; y_2 = ½(1.25 + 1.36) = 1.305, x_3 = x_2 − κ dt y_2.
    With a linear history, linear interpolation is exact: x_1 = 1 − κ dt x(−0.75).
    """
    kappa, dt = 2.0, 0.1
    weights = Delay.point(0.75).grid_weights(dt)
    assert weights.size == 9
    np.testing.assert_allclose(weights, [0] * 7 + [0.5, 0.5], rtol=0, atol=1e-14)

    quadratic = point_problem(kappa=kappa, lag=0.75, history=lambda t: 1.0 + t * t,
                              t_final=0.3)
    x = solve(quadratic, dt=dt, rng=np.random.default_rng(0)).x[:, 0, 0]
    x1 = 1.0 - kappa * dt * 1.565
    x2 = x1 - kappa * dt * 1.425
    x3 = x2 - kappa * dt * 1.305
    np.testing.assert_allclose(x, [1.0, x1, x2, x3], rtol=0, atol=1e-14)
    assert abs(x1 - (1.0 - kappa * dt * 1.5625)) > 1e-4  # not the exact lagged value

    linear = point_problem(kappa=kappa, lag=0.75, history=lambda t: 1.0 + t, t_final=0.1)
    x = solve(linear, dt=dt, rng=np.random.default_rng(0)).x[:, 0, 0]
    assert x[1] == pytest.approx(1.0 - kappa * dt * 0.25, abs=1e-14)


def test_erlang_chain_is_euler_maruyama_of_the_augmented_system(
        rng: np.random.Generator) -> None:
    """Erlang-2 (mean 1) run as its linear chain: dx = −κ y_2 dt + σ dW,
    dy_1 = 2(x − y_1) dt, dy_2 = 2(y_1 − y_2) dt, and x ≡ 1 before 0 so y_1 = y_2 = 1 at 0.

    sdeint.itoEuler integrates the same three equations with the same increments (all
    paths at once: state (x, y_1, y_2) of 3P components, noise matrix sparse). The only
    differences are the chain's start, which sdde computes by quadrature of the history
    (mass 1 − 1e-12 for the Erlang rule), and the order of additions; atol 1e-10 leaves
    a factor 100 over what is seen (≈1e-12).
    """
    kappa, sigma, t_final, dt, n_paths = 1.5, 0.5, 2.0, 0.01, 64
    problem = kernel_problem(sdde.delays.erlang(2, 1.0), chain=True, kappa=kappa,
                             sigma=sigma, t_final=t_final)
    assert problem.delays[0].chain == (2, 2.0)
    steps = n_steps(problem, dt)
    dW = brownian_increments(rng, steps, n_paths, 1, dt)
    ours = solve(problem, dt=dt, n_paths=n_paths, dW=dW)
    ref = _erlang2_chain_itoeuler(kappa, sigma, t_final, steps, dW[:, :, 0])
    np.testing.assert_allclose(ours.x[:, :, 0], ref, rtol=0, atol=1e-10)


def _erlang2_chain_itoeuler(kappa: float, sigma: float, t_final: float, steps: int,
                            dW: np.ndarray) -> np.ndarray:
    """x(t) of the Erlang-2 chain for ``dW.shape[1]`` paths by ``sdeint.itoEuler``."""
    n_paths = dW.shape[1]
    noise = sparse.csr_array(sparse.vstack([sigma * sparse.eye(n_paths),
                                            sparse.csr_array((2 * n_paths, n_paths))]))

    def drift(u: np.ndarray, t: float) -> np.ndarray:
        x, y1, y2 = u[:n_paths], u[n_paths:2 * n_paths], u[2 * n_paths:]
        return np.concatenate([-kappa * y2, 2.0 * (x - y1), 2.0 * (y1 - y2)])

    tspan = np.linspace(0.0, t_final, steps + 1)
    out = sdeint.itoEuler(drift, lambda u, t: noise, np.ones(3 * n_paths), tspan, dW=dW)
    return np.asarray(out[:, :n_paths])


# ---------------------------------------------------------- tier 2: a second implementation
def _as_callable(problem: SDDEProblem) -> SDDEProblem:
    """The same problem with the drift as a plain function (forces the numpy loop)."""
    drift = problem.drift
    assert isinstance(drift, LinearDrift)
    gains, offset = drift.gains.copy(), drift.offset.copy()
    return SDDEProblem(drift=lambda t, x, y: offset - np.einsum("cm,cpm->pm", gains, y),
                       delays=problem.delays, diffusion=problem.diffusion,
                       history=problem.history, t_final=problem.t_final,
                       n_modes=problem.n_modes)


@pytest.mark.parametrize("chain", [False, True], ids=["grid-kernel", "chain-kernel"])
def test_compiled_kernel_matches_numpy_loop(chain: bool) -> None:
    """Two channels (an off-grid point lag and an Erlang-2 kernel of mean 0.5), two modes,
    a constant offset, per-mode Poisson-type multiplicative noise and a callable history.

    The numpy loop evaluates f = offset − Σ_c gains_c y_c and adds f·dt; the kernel adds
    −dt·gain·weight per tap. Same arithmetic in another order: ~1e-16 per step, 300 steps
    of a stable system stay far below 1e-12 (relative to max |x| ≈ 2).
    """
    gains = np.array([[0.7, 0.3], [0.4, 1.1]])
    delays = (Delay.point(0.75),
              Delay.from_kernel(sdde.delays.erlang(2, 1.0), time_unit=0.5, chain=chain))
    problem = SDDEProblem(drift=LinearDrift(gains=gains, offset=[0.1, -0.2]), delays=delays,
                          diffusion=Diffusion(sigma=[0.2, 0.3], beta=[0.5, 0.1]),
                          history=lambda t: np.array([1.0 + t, math.cos(3.0 * t)]),
                          t_final=3.0)
    numpy_problem = _as_callable(problem)
    assert problem.linear and not numpy_problem.linear
    compiled = solve(problem, dt=0.01, n_paths=40, rng=np.random.default_rng(3))
    looped = solve(numpy_problem, dt=0.01, n_paths=40, rng=np.random.default_rng(3))
    assert np.max(np.abs(compiled.x)) > 0.5  # a non-trivial comparison
    np.testing.assert_allclose(compiled.x, looped.x, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(compiled.t, looped.t)


def test_numpy_loop_with_callable_diffusion_matches_kernel() -> None:
    """A callable g(x) = σ + β x (not a Diffusion) also takes the numpy loop; it must match
    the compiled kind="linear" noise to rounding (same argument as above)."""
    problem = point_problem(kappa=1.2, lag=0.5, sigma=0.3, beta=0.6, kind="linear",
                            t_final=2.0)
    numpy_problem = SDDEProblem(drift=problem.drift, delays=problem.delays,
                                diffusion=lambda x: 0.3 + 0.6 * x, history=1.0, t_final=2.0)
    assert not numpy_problem.linear
    compiled = solve(problem, dt=0.01, n_paths=30, rng=np.random.default_rng(9))
    looped = solve(numpy_problem, dt=0.01, n_paths=30, rng=np.random.default_rng(9))
    np.testing.assert_allclose(compiled.x, looped.x, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ tier 3: reproducibility
def _two_mode_problem(t_final: float = 50.0) -> SDDEProblem:
    return SDDEProblem(drift=LinearDrift(gains=[[0.3, 0.9]]), delays=(Delay.point(1.0),),
                       diffusion=Diffusion(sigma=[0.2, 0.3]), history=1.0, t_final=t_final)


def test_same_seed_gives_identical_bits() -> None:
    problem = _two_mode_problem(5.0)
    first = solve(problem, dt=0.01, n_paths=300, rng=np.random.default_rng(42))
    second = solve(problem, dt=0.01, n_paths=300, rng=np.random.default_rng(42))
    other = solve(problem, dt=0.01, n_paths=300, rng=np.random.default_rng(43))
    assert np.array_equal(first.x, second.x)
    assert np.array_equal(first.diverged_at, second.diverged_at)
    assert not np.array_equal(first.x[1:], other.x[1:])


def test_numpy_loop_same_seed_gives_identical_bits() -> None:
    problem = _as_callable(point_problem(sigma=0.5, t_final=1.0))
    first = solve(problem, dt=0.05, n_paths=5, rng=np.random.default_rng(8))
    second = solve(problem, dt=0.05, n_paths=5, rng=np.random.default_rng(8))
    assert np.array_equal(first.x, second.x)


def test_paths_do_not_depend_on_the_number_of_paths() -> None:
    """Path blocks of PATH_BLOCK = 256 draw from spawned streams: 100, 300 and 600 paths
    (one, two and three blocks) share their leading paths bit for bit."""
    assert PATH_BLOCK == 256
    problem = _two_mode_problem(3.0)
    runs = {n: solve(problem, dt=0.01, n_paths=n, rng=np.random.default_rng(5)).x
            for n in (100, 300, 600)}
    assert np.array_equal(runs[100], runs[300][:, :100])
    assert np.array_equal(runs[100], runs[600][:, :100])
    assert np.array_equal(runs[300], runs[600][:, :300])


def test_brownian_increments_replay_a_run() -> None:
    """5000 steps of 2 modes cross solve's internal chunk of 2^20 / (256 · 2) = 2048 steps,
    while brownian_increments draws all steps at once: the streams must still agree."""
    problem = _two_mode_problem(50.0)
    dt, n_paths = 0.01, 300
    by_rng = solve(problem, dt=dt, n_paths=n_paths, rng=np.random.default_rng(11))
    dW = brownian_increments(np.random.default_rng(11), n_steps(problem, dt), n_paths, 2, dt)
    assert dW.shape == (5000, n_paths, 2)
    by_dw = solve(problem, dt=dt, n_paths=n_paths, dW=dW)
    assert np.array_equal(by_rng.x, by_dw.x)
    # The increments are the path's own: x(t_1) − x(0) = −κ dt x(−1) + σ ΔW_0 for x ≡ 1.
    np.testing.assert_allclose(by_dw.x[1] - 1.0, -np.array([0.3, 0.9]) * dt
                               + np.array([0.2, 0.3]) * dW[0], rtol=0, atol=1e-15)


@pytest.mark.parametrize("save_every", [1, 7, 25])
def test_save_every_keeps_every_kth_row(save_every: int) -> None:
    problem = point_problem(sigma=0.5, t_final=5.0)
    full = solve(problem, dt=0.01, n_paths=20, rng=np.random.default_rng(2))
    thin = solve(problem, dt=0.01, n_paths=20, rng=np.random.default_rng(2),
                 save_every=save_every)
    assert np.array_equal(thin.x, full.x[::save_every])
    np.testing.assert_allclose(thin.t, full.t[::save_every], rtol=1e-14, atol=0)
    assert thin.t[0] == 0.0 and thin.x.shape[0] == 500 // save_every + 1


# ------------------------------------------------------- tier 4: statistics against theory
STAT_CASES = {
    # name: (problem, dt, n_paths, save_every)
    "point-lag-0.75-offset": (point_problem(kappa=1.0, lag=0.75, sigma=1.0, offset=0.3,
                                            t_final=5.0), 0.05, 20_000, 20),
    "gamma2-grid": (kernel_problem(sdde.delays.parse("gamma:shape=2,mean=1"), chain=False),
                    0.1, 10_000, 10),
    "gamma2-chain": (kernel_problem(sdde.delays.parse("gamma:shape=2,mean=1"), chain=True),
                     0.05, 20_000, 20),
}


@pytest.mark.parametrize("case", list(STAT_CASES))
def test_monte_carlo_matches_exact_moments(case: str) -> None:
    """Sample mean and variance of x(t) at t = 1, …, 5 against exact_moments.

    The noise is additive and the history deterministic, so x(t) is exactly Gaussian:
    SE(mean) = sqrt(v/n) and SE(variance) = v·sqrt(2/(n − 1)). exact_moments gives the
    moments of the same discrete scheme, so there is no O(dt) term to allow for.
    """
    problem, dt, n_paths, save_every = STAT_CASES[case]
    sol = solve(problem, dt=dt, n_paths=n_paths, rng=np.random.default_rng(2024),
                save_every=save_every)
    exact = exact_moments(problem, dt=dt, save_every=save_every)
    np.testing.assert_allclose(exact.t, sol.t, rtol=1e-14)
    np.testing.assert_allclose(exact.t[1:], [1, 2, 3, 4, 5], rtol=1e-12)
    mean, var = exact.mean[1:, 0], exact.variance[1:, 0]
    x = sol.x[1:, :, 0]
    assert np.all(np.abs(x.mean(axis=1) - mean) < N_SE * np.sqrt(var / n_paths))
    assert np.all(np.abs(x.var(axis=1, ddof=1) - var)
                  < N_SE * var * math.sqrt(2.0 / (n_paths - 1)))
    # At t = 0 both are the history exactly.
    assert np.all(sol.x[0] == 1.0) and exact.mean[0, 0] == 1.0 and exact.variance[0, 0] == 0.0


def test_monte_carlo_matches_exact_moments_with_poisson_noise() -> None:
    """g(x)² = σ² + β² x²: the second moment solves a Volterra equation, exact for the
    scheme. x(t) is not Gaussian, so E[x²] is compared with the sample's own standard
    error of x² (N_SE of them)."""
    problem = point_problem(kappa=1.2, sigma=0.3, beta=0.6, t_final=5.0)
    dt, n_paths = 0.05, 20_000
    sol = solve(problem, dt=dt, n_paths=n_paths, rng=np.random.default_rng(7), save_every=20)
    exact = exact_moments(problem, dt=dt, save_every=20)
    x = sol.x[1:, :, 0]
    second = exact.mean[1:, 0] ** 2 + exact.variance[1:, 0]
    se = (x**2).std(axis=1, ddof=1) / math.sqrt(n_paths)
    assert np.all(np.abs((x**2).mean(axis=1) - second) < N_SE * se)
    mean_se = np.sqrt(exact.variance[1:, 0] / n_paths)
    assert np.all(np.abs(x.mean(axis=1) - exact.mean[1:, 0]) < N_SE * mean_se)


def test_poisson_noise_second_moment_closed_form_without_drift() -> None:
    """κ = 0: r ≡ 1 and S_n = (x₀² + σ²/β²)(1 + β² dt)^n − σ²/β² exactly."""
    problem = point_problem(kappa=0.0, sigma=0.5, beta=0.8, t_final=3.0)
    dt = 0.01
    exact = exact_moments(problem, dt=dt)
    n = np.arange(exact.t.size)
    ratio = 0.25 / 0.64
    closed = (1.0 + ratio) * (1.0 + 0.64 * dt) ** n - ratio
    np.testing.assert_allclose(exact.mean[:, 0] ** 2 + exact.variance[:, 0], closed,
                               rtol=1e-12)


def _kuechler_mensch(kappa: float) -> float:
    return (1.0 + math.sin(kappa)) / (2.0 * kappa * math.cos(kappa))


STATIONARY = {
    # name: (delay law, chain?, closed form for σ = 1, as a function of κ)
    "point": (sdde.delays.Deterministic(value=1.0), False, _kuechler_mensch),
    "exponential-grid": (sdde.delays.Exponential(scale=1.0), False,
                         lambda k: (1.0 + k) / (2.0 * k)),
    "exponential-chain": (sdde.delays.Exponential(scale=1.0), True,
                          lambda k: (1.0 + k) / (2.0 * k)),
    "erlang2-grid": (sdde.delays.erlang(2, 1.0), False,
                     lambda k: (3.0 * k + 4.0) / (2.0 * k * (4.0 - k))),
    "erlang2-chain": (sdde.delays.erlang(2, 1.0), True,
                      lambda k: (3.0 * k + 4.0) / (2.0 * k * (4.0 - k))),
}


@pytest.mark.parametrize("case", list(STATIONARY))
def test_exact_moments_converge_to_stationary_variance(case: str) -> None:
    """Var x(200) of the scheme (zero history, κ = 1, σ = 0.7) at dt = 0.02 and 0.01.

    * t = 200 is stationary to far below 1e-12: the slowest root has Re λ ≤ −0.3 for all
      three kernels, so the missing ∫_200^∞ r² is ~e^{−120}.
    * The scheme's variance is first order in dt (Euler–Maruyama; for the OU process its
      stationary variance is σ²/(2κ − κ²dt), relative error κdt/2): the error ratio under
      halving is 2 + O(dt); it is checked to ±0.1 (measured 2.01–2.03).
    * The relative error at dt = 0.01 must be below 2κ·dt = 2% (measured 0.5–1.0 κdt:
      the OU value κdt/2, roughly doubled by the delay).
    * The Richardson combination 2 v(dt/2) − v(dt) cancels the first-order term; the
      O(dt²) rest is ~1e-4 (measured ≤ 3e-4 relative), so 2e-3 relative.
    * stationary_variance (Parseval) agrees with the closed form to 1e-9.
    """
    law, chain, closed_form = STATIONARY[case]
    kappa, sigma, t_final = 1.0, 0.7, 200.0
    truth = sigma**2 * closed_form(kappa)
    assert stationary_variance(kappa, law, sigma) == pytest.approx(truth, rel=1e-9)
    delay = Delay.point(1.0) if case == "point" else Delay.from_kernel(law, chain=chain)
    problem = SDDEProblem(drift=LinearDrift(gains=[[kappa]]), delays=(delay,),
                          diffusion=Diffusion(sigma=sigma), history=0.0, t_final=t_final)
    variances = []
    for dt in (0.02, 0.01):
        moments = exact_moments(problem, dt=dt, save_every=round(t_final / dt))
        assert moments.t[-1] == pytest.approx(t_final)
        assert np.all(moments.mean == 0.0)
        variances.append(float(moments.variance[-1, 0]))
    errors = [v - truth for v in variances]
    assert errors[0] / errors[1] == pytest.approx(2.0, abs=0.1)
    assert 0 < errors[1] / truth < 2 * kappa * 0.01
    assert 2 * variances[1] - variances[0] == pytest.approx(truth, rel=2e-3)


def test_grid_erlang_kernel_matches_linear_chain_sde_in_distribution() -> None:
    """x(2) for the Erlang-2 kernel (mean 1) spread on the delay grid (chain=False, dt =
    0.025) against the linear-chain SDE of the module docstring, integrated by
    sdeint.itoEuler at dt = 0.0025 with independent noise. κ = 1.5, σ = 0.5, x ≡ 1 before 0.

    Two independent samples of n = 4000: SE of a difference of means sqrt(v₁/n + v₂/n),
    of variances sqrt(2/(n − 1))·sqrt(v₁² + v₂²) (both exactly Gaussian).

    Each side is a first-order scheme with its own bias. The allowance is computed, not
    guessed: the bias of a first-order scheme at dt is ≈ 2·(m(dt) − m(dt/2)); for sdde the
    noise-free scheme mean and exact variance come from exact_moments at dt and dt/2, for
    the chain from noise-free sdeint runs (its variance from its impulse response). It is
    inflated by 1.5 for the O(dt²) remainder. (Measured biases: sdde −0.016 in the mean,
    +0.003 in the variance; chain −0.002 and +0.0005; one SE of the mean is 0.011, and
    the allowance ≈ 0.028 ≈ 2.6 SE.) A wrong kernel, e.g. mean 1.1 instead of 1, moves the
    mean at t = 2 by 0.098 ≈ 9 SE, beyond the ≈ 7.6 SE accepted.
    """
    kappa, sigma, t_final, n_paths = 1.5, 0.5, 2.0, 4000
    dt, dt_chain = 0.025, 0.0025
    problem = kernel_problem(sdde.delays.erlang(2, 1.0), chain=False, kappa=kappa,
                             sigma=sigma, t_final=t_final)
    assert problem.delays[0].chain is None
    ours = solve(problem, dt=dt, n_paths=n_paths, rng=np.random.default_rng(21)).x[-1, :, 0]
    steps = round(t_final / dt_chain)
    dW = np.random.default_rng(22).standard_normal((steps, n_paths)) * math.sqrt(dt_chain)
    chain = _erlang2_chain_itoeuler(kappa, sigma, t_final, steps, dW)[-1]

    def sdde_moments(step: float) -> tuple[float, float]:
        m = exact_moments(problem, dt=step, save_every=round(t_final / step))
        return float(m.mean[-1, 0]), float(m.variance[-1, 0])

    def chain_moments(step: float) -> tuple[float, float]:
        n = round(t_final / step)
        zero = np.zeros((n, 1))
        mean = _erlang2_chain_itoeuler(kappa, 0.0, t_final, n, zero)[-1, 0]
        impulse = _chain_impulse_response(kappa, t_final, n)
        return float(mean), float(sigma**2 * step * np.sum(impulse[:-1] ** 2))

    allowance = np.zeros(2)
    for moments, step in ((sdde_moments, dt), (chain_moments, dt_chain)):
        allowance += 1.5 * 2 * np.abs(np.subtract(moments(step), moments(step / 2)))
    assert np.all(allowance < [0.06, 0.015])  # the biases are O(dt) and small

    n = n_paths
    v1, v2 = ours.var(ddof=1), chain.var(ddof=1)
    se_mean = math.sqrt(v1 / n + v2 / n)
    se_var = math.sqrt(2.0 / (n - 1)) * math.hypot(v1, v2)
    assert abs(ours.mean() - chain.mean()) < N_SE * se_mean + allowance[0]
    assert abs(v1 - v2) < N_SE * se_var + allowance[1]


def _chain_impulse_response(kappa: float, t_final: float, steps: int) -> np.ndarray:
    """x_n of the Euler chain started at x = 1, y_1 = y_2 = 0 (a unit noise kick)."""
    tspan = np.linspace(0.0, t_final, steps + 1)
    out = sdeint.itoEuler(
        lambda u, t: np.array([-kappa * u[2], 2.0 * (u[0] - u[1]), 2.0 * (u[1] - u[2])]),
        lambda u, t: np.zeros((3, 1)), np.array([1.0, 0.0, 0.0]), tspan,
        dW=np.zeros((steps, 1)))
    return np.asarray(out[:, 0])


# ----------------------------------------------------------------- AsyncSGDModel.to_problem
def _model(**kw: object) -> AsyncSGDModel:
    args: dict[str, object] = {
        "lr": 0.01, "noise": 1.0, "spectrum": HessianSpectrum.parse("1,4"),
        "cluster": Cluster(workers=32, delay=sdde.delays.parse("gamma:shape=2,mean=1"))}
    args.update(kw)
    return AsyncSGDModel(**args)  # type: ignore[arg-type]


def test_to_problem_fields_follow_the_model() -> None:
    """κ = η n h per mode on one channel, the kernel in units of the mean delay (mass 1
    without thinning: the quadrature rule leaves out at most 1e-12 of tail), σ² = η² n c,
    additive noise by default; history x0."""
    model = _model()
    problem = model.to_problem(30.0, x0=0.5)
    assert isinstance(problem.drift, LinearDrift)
    np.testing.assert_allclose(problem.drift.gains, model.kappas[None, :], rtol=1e-15)
    np.testing.assert_allclose(model.kappas, [0.32, 1.28], rtol=1e-12)
    assert len(problem.delays) == 1 and problem.n_modes == 2
    assert problem.delays[0].mass == pytest.approx(1.0, abs=1e-9)
    # Mean delay 1 in the model's time unit (Erlang-2: its linear chain, rate 2).
    delay = problem.delays[0]
    assert float(delay.weights @ delay.lags) == pytest.approx(1.0, abs=1e-9)
    assert delay.chain == (2, 2.0)
    diffusion = problem.diffusion
    assert isinstance(diffusion, Diffusion) and diffusion.additive
    np.testing.assert_allclose(np.broadcast_to(diffusion.sigma, (2,)) ** 2,
                               model.noise_intensities, rtol=1e-12)
    np.testing.assert_allclose(model.noise_intensities, 0.01**2 * 32 * 1.0, rtol=1e-12)
    assert problem.history == 0.5 and problem.t_final == 30.0


def test_to_problem_poisson_gradient_noise() -> None:
    """g = sqrt(σ² + β² x²) with β = η √n h per mode (ascending curvature)."""
    model = _model(spectrum=HessianSpectrum(eigenvalues=[4.0, 1.0]))
    diffusion = model.to_problem(10.0, gradient_noise="poisson").diffusion
    assert isinstance(diffusion, Diffusion) and diffusion.kind == "poisson"
    np.testing.assert_allclose(diffusion.beta, 0.01 * math.sqrt(32) * np.array([1.0, 4.0]),
                               rtol=1e-12)
    assert not diffusion.additive
    with pytest.raises(ValueError, match="gradient_noise must be"):
        model.to_problem(10.0, gradient_noise="cubic")


def test_to_problem_thinned_kernel_has_the_kernel_mass() -> None:
    """A staleness threshold thins the kernel: the delay's mass is φ(0) = E[w] < 1, and it
    is spread on the grid (no chain)."""
    model = _model(cluster=Cluster(workers=32, delay=sdde.delays.parse("gamma:shape=2,mean=1"),
                                   threshold=20))
    delay = model.to_problem(10.0).delays[0]
    assert delay.chain is None
    assert delay.mass == pytest.approx(model.kernel.mass, rel=1e-12)
    assert 0.0 < delay.mass < 1.0


def test_to_problem_monte_carlo_stationary_variance() -> None:
    """Var x(25) over 4000 paths (x0 = 0, so the mean is exactly 0) against
    σ²·stationary_variance(κ, kernel) for κ = 0.32 and 1.28.

    Tolerance: 5 SE (v·sqrt(2/(n − 1)) = 2.2% per mode; x is Gaussian) plus the
    scheme's O(dt) bias, bounded by 2κ·dt relative (OU: κdt/2; measured via exact_moments
    for this kernel: 0.66κdt and 1.3κdt for the two modes). t = 25 is stationary: the slowest
    root has Re λ ≈ −0.37, so the missing tail of σ²∫r² is ~e^{−18}.
    """
    model = _model()
    t_final, dt, n_paths = 25.0, 0.02, 4000
    problem = model.to_problem(t_final, x0=0.0)
    sol = solve(problem, dt=dt, n_paths=n_paths, rng=np.random.default_rng(4),
                save_every=round(t_final / dt))
    assert sol.status == "success"
    sample = sol.x[-1].var(axis=0, ddof=1)
    for mode, (kappa, sigma2) in enumerate(zip(model.kappas, model.noise_intensities,
                                               strict=True)):
        truth = stationary_variance(float(kappa), model.kernel, math.sqrt(float(sigma2)))
        tol = N_SE * truth * math.sqrt(2.0 / (n_paths - 1)) + 2 * kappa * dt * truth
        assert abs(sample[mode] - truth) < tol, (mode, sample[mode], truth, tol)


# ------------------------------------------------------------------------------ divergence
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy-loop"])
def test_unstable_gain_is_reported_as_diverged(compiled: bool) -> None:
    """κ = 3 > π/2 with a point lag 1 grows like e^{0.46 t}: past the bound 1e6 near t ≈ 29.
    No overflow, NaN or warning; each path is frozen at its last value within the bound."""
    problem = point_problem(kappa=3.0, sigma=0.1, t_final=40.0)
    if not compiled:
        problem = _as_callable(problem)
    bound = 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol = solve(problem, dt=0.01, n_paths=16, rng=np.random.default_rng(1), bound=bound)
    assert sol.status == "diverged"
    assert "16 of 16 paths diverged" in sol.message and "unstable" in sol.message
    assert np.all(np.isfinite(sol.x)) and np.max(np.abs(sol.x)) <= bound
    assert np.all(np.isfinite(sol.diverged_at))
    assert np.all((sol.diverged_at > 10.0) & (sol.diverged_at <= 40.0))
    for p, when in enumerate(sol.diverged_at):
        after = sol.t >= when
        assert np.all(sol.x[after, p] == sol.x[np.argmax(after) - 1, p])  # frozen


def test_stable_gain_succeeds() -> None:
    problem = point_problem(kappa=1.0, sigma=0.1, t_final=40.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol = solve(problem, dt=0.01, n_paths=16, rng=np.random.default_rng(1), bound=1e6)
    assert sol.status == "success"
    assert np.all(np.isinf(sol.diverged_at))
    assert sol.message == "16 paths integrated to t = 40"


# ------------------------------------------------------------------------------ bad input
def _problem_1() -> SDDEProblem:
    return point_problem(sigma=0.1, t_final=1.0)


BAD_INPUT = {
    "negative lag": (lambda: Delay.point(-0.5), "a lag must be a finite number >= 0"),
    "nan lag": (lambda: Delay.point(math.nan), "a lag must be a finite number >= 0"),
    "negative lag in array": (lambda: Delay(lags=[1.0, -0.1], weights=[0.5, 0.5]),
                              "lags must be finite and >= 0"),
    "nan lag in array": (lambda: Delay(lags=[np.nan], weights=[1.0]),
                         "lags must be finite and >= 0"),
    "negative weight": (lambda: Delay(lags=[1.0], weights=[-1.0]),
                        "weights must be finite and >= 0"),
    "dt does not divide t_final": (
        lambda: solve(_problem_1(), dt=0.3, rng=np.random.default_rng(0)),
        "does not fit t_final = 1 a whole number of times"),
    "negative dt": (lambda: solve(_problem_1(), dt=-0.1, rng=np.random.default_rng(0)),
                    "dt must be a finite number > 0"),
    "dW of the wrong shape": (
        lambda: solve(_problem_1(), dt=0.1, n_paths=2, dW=np.zeros((10, 3, 1))),
        "dW has shape (10, 3, 1), expected (n_steps, n_paths, n_modes) = (10, 2, 1)"),
    "neither rng nor dW": (lambda: solve(_problem_1(), dt=0.1), "pass rng="),
    "zero paths": (lambda: solve(_problem_1(), dt=0.1, n_paths=0,
                                 rng=np.random.default_rng(0)),
                   "n_paths must be a whole number >= 1"),
    "save_every 0": (lambda: solve(_problem_1(), dt=0.1, save_every=0,
                                   rng=np.random.default_rng(0)),
                     "save_every must be a whole number >= 1"),
    "bound 0": (lambda: solve(_problem_1(), dt=0.1, bound=0.0, rng=np.random.default_rng(0)),
                "bound must be > 0"),
    "not a solver": (lambda: solve(_problem_1(), "euler", dt=0.1,  # type: ignore[arg-type]
                                   rng=np.random.default_rng(0)),
                     "solver must be an AbstractSolver"),
    "gains of the wrong shape": (
        lambda: SDDEProblem(drift=LinearDrift(gains=[[1.0], [2.0]]),
                            delays=(Delay.point(1.0),)),
        "drift gains have shape (2, 1), expected (n_channels, n_modes) = (1, 1)"),
    "history of the wrong length": (
        lambda: SDDEProblem(drift=LinearDrift(gains=[[1.0, 2.0]]),
                            delays=(Delay.point(1.0),), history=[1.0, 2.0, 3.0]),
        "history must be finite, one value or one per mode (2)"),
    "sigma of the wrong length": (
        lambda: SDDEProblem(drift=LinearDrift(gains=[[1.0, 2.0]]), delays=(Delay.point(1.0),),
                            diffusion=Diffusion(sigma=[0.1, 0.2, 0.3])),
        "diffusion sigma must have 1 or 2 values"),
    "empty delays": (lambda: SDDEProblem(drift=LinearDrift(gains=np.zeros((0, 1))),
                                         delays=()),
                     "delays must be a non-empty sequence of Delay"),
    "bad Diffusion kind": (lambda: Diffusion(sigma=1.0, kind="cubic"),
                           "diffusion kind must be 'poisson' or 'linear'"),
    "negative poisson sigma": (lambda: Diffusion(sigma=-1.0), "diffusion sigma must be >= 0"),
    "exact_moments with linear multiplicative noise": (
        lambda: exact_moments(point_problem(sigma=0.1, beta=0.5, kind="linear",
                                            t_final=1.0), dt=0.1),
        "exact_moments needs a LinearDrift and additive or Poisson-form Diffusion noise"),
    "exact_moments with a callable drift": (
        lambda: exact_moments(_as_callable(_problem_1()), dt=0.1),
        "exact_moments needs a LinearDrift"),
    "coarsen factor that does not divide": (
        lambda: coarsen(np.zeros((10, 1, 1)), 3), "coarsen: factor 3 must be >= 1 and divide"),
    "brownian_increments with no paths": (
        lambda: brownian_increments(np.random.default_rng(0), 10, 0, 1, 0.1),
        "n_steps, n_paths and dim must be >= 1"),
    "time_unit 0": (lambda: Delay.from_kernel(sdde.delays.erlang(2, 1.0), time_unit=0.0),
                    "time_unit must be a finite number > 0"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_raises_value_error_with_a_message(case: str) -> None:
    make, fragment = BAD_INPUT[case]
    with pytest.raises(ValueError, match=re.escape(fragment)):
        make()


# --------------------------------------------------------------------------- known bugs
def test_empty_delay_is_refused_at_construction() -> None:
    """Regression: an empty Delay was accepted and solve() failed inside numpy."""
    with pytest.raises(ValueError, match="lag"):
        Delay(lags=[], weights=[])


def test_save_every_accepts_numpy_integers() -> None:
    """Regression: save_every=np.int64(10) was refused (n_paths accepted it)."""
    problem = _problem_1()
    thin = solve(problem, dt=0.01, save_every=np.int64(10), rng=np.random.default_rng(0))
    assert thin.x.shape[0] == 11


def test_exact_moments_of_unstable_mode_is_warning_free() -> None:
    """Regression: κ = 3 over t = 1000 overflowed in r² (RuntimeWarning) and
    returned inf; now the mode is reported in diverged_at, with no warning."""
    problem = point_problem(kappa=3.0, sigma=1.0, t_final=1000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        moments = exact_moments(problem, dt=0.01, save_every=1000)
    assert not np.any(np.isnan(moments.variance))


def test_message_reports_t_final_when_save_every_does_not_divide() -> None:
    """Regression: the message gave the last saved time (0.9), not the end of
    the run (1), when save_every does not divide the number of steps."""
    sol = solve(_problem_1(), dt=0.1, save_every=3, rng=np.random.default_rng(0))
    assert sol.t[-1] == pytest.approx(0.9)  # rows kept: t = 0, 0.3, 0.6, 0.9
    assert sol.message == "1 paths integrated to t = 1"


def test_exact_moments_stop_only_the_unstable_mode() -> None:
    """Two modes, κ = 1 (stable) and κ = 3 (unstable): the unstable one is reported as
    diverged with infinite variance, the stable one is untouched (same as alone)."""
    both = SDDEProblem(drift=LinearDrift(gains=[[1.0, 3.0]]), delays=(Delay.point(1.0),),
                       diffusion=Diffusion(sigma=1.0), history=1.0, t_final=1000.0)
    alone = SDDEProblem(drift=LinearDrift(gains=[[1.0]]), delays=(Delay.point(1.0),),
                        diffusion=Diffusion(sigma=1.0), history=1.0, t_final=1000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = exact_moments(both, dt=0.01, save_every=1000)
        ref = exact_moments(alone, dt=0.01, save_every=1000)
    assert m.diverged_at[0] == np.inf and np.isfinite(m.diverged_at[1])
    np.testing.assert_array_equal(m.mean[:, 0], ref.mean[:, 0])
    np.testing.assert_array_equal(m.variance[:, 0], ref.variance[:, 0])
    assert m.variance[-1, 1] == np.inf and np.isinf(m.mean[-1, 1])


def test_n_paths_is_taken_from_dw() -> None:
    problem = _problem_1()
    n_steps = round(problem.t_final / 0.01)
    dW = brownian_increments(np.random.default_rng(4), n_steps, 7, 1, 0.01)
    assert solve(problem, dt=0.01, dW=dW).x.shape[1] == 7


def test_to_problem_orders_x0_like_the_modes() -> None:
    """x0 is given in the spectrum's order (like noise); the problem's modes are sorted by
    curvature."""
    model = sdde.AsyncSGDModel(lr=0.01, cluster=sdde.Cluster(workers=8),
                               spectrum=sdde.HessianSpectrum.parse("4,1"), noise=0.0)
    problem = model.to_problem(1.0, x0=[40.0, 10.0])
    np.testing.assert_array_equal(problem.drift.gains[0], model.kappas)
    np.testing.assert_array_equal(problem.history_at(np.array([0.0]))[0], [10.0, 40.0])


@pytest.mark.parametrize("tail", [1e-9, 1e-6, 1e-3])
def test_kernel_tail_is_cut_with_its_mass_kept(tail: float) -> None:
    """Pareto 2.5 (mean 1, scale 0.6): the tail beyond u has mass (0.6/u)^2.5, so the cut
    is where that reaches `tail`; the mass moved onto the cut keeps φ(0), and the mean
    moves by at most ∫_cut^∞ u dF (≤ 5/3 · cut · tail for this law)."""
    law = sdde.delays.parse("pareto:shape=2.5,scale=1")
    full = Delay.from_kernel(law, tail=0.0)
    cut = Delay.from_kernel(law, tail=tail)
    assert cut.mass == pytest.approx(full.mass, rel=1e-13)
    expected_cut = 0.6 * tail ** (-1 / 2.5)
    assert cut.lags.max() == pytest.approx(expected_cut, rel=0.05)  # node spacing
    mean_full, mean_cut = full.lags @ full.weights, cut.lags @ cut.weights
    assert 0 <= mean_full - mean_cut <= 5 / 3 * expected_cut * tail * 1.1


def test_history_buffer_too_large_is_refused() -> None:
    law = sdde.delays.parse("pareto:shape=2.5,scale=1")
    problem = SDDEProblem(drift=LinearDrift(gains=[[1.0]]), delays=(Delay.from_kernel(law),),
                          history=1.0, t_final=1.0)
    with pytest.raises(ValueError, match=r"needs a history of \d+ steps .* tail=1e-6"):
        solve(problem, dt=0.001, n_paths=1000, rng=np.random.default_rng(0))

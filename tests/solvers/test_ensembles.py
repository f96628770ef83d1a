"""The ensemble fast path of ``sdde.solve``: normals drawn in the compiled kernel, per-mode
taps, float32 states and the xoshiro256++ generator. Each test has an independent answer:

* Draws in the kernel: the increments of ``brownian_increments`` (numpy's own
  ``Generator.standard_normal`` on the spawned block streams) replay a run bit for bit,
  for partial blocks, several modes, taps and chains together.
* Taps with one coefficient per mode: a plain numpy program (one mat-vec per step and
  mode, written here) on the same increments, to rounding.
* float32: the same increments rounded to float32 (so a run with ``dW`` replays it bit for
  bit), and within a stated rounding bound of the float64 run.
* xoshiro256++: the reference outputs worked out by hand from the definition; its normals
  against the normal law (Kolmogorov–Smirnov, moments, the tail beyond the ziggurat's
  base, the wedges) in standard errors; replay and path-prefix laws (hypothesis); a Monte
  Carlo variance against ``exact_moments``.

Statistical tests use fixed seeds and 5 standard errors, as in ``test_solve.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import sdde
from sdde import (
    Delay,
    Diffusion,
    LinearDrift,
    SDDEProblem,
    brownian_increments,
    exact_moments,
    solve,
)
from sdde.solvers import _xoshiro

N_SE = 5.0
FEW = settings(max_examples=12, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow])


def mixed_problem(n_modes: int, t_final: float = 2.0) -> SDDEProblem:
    """An off-grid point lag, a uniform kernel (grid taps) and an Erlang-2 chain, with
    per-mode gains, an offset and multiplicative noise."""
    gains = np.linspace(0.3, 1.2, 3 * n_modes).reshape(3, n_modes)
    delays = (Delay.point(0.37),
              Delay.from_kernel(sdde.delays.parse("uniform:low=0,high=1")),
              Delay.from_kernel(sdde.delays.parse("gamma:shape=2,mean=0.5")))
    return SDDEProblem(drift=LinearDrift(gains=gains, offset=np.full(n_modes, 0.1)),
                       delays=delays,
                       diffusion=Diffusion(sigma=np.linspace(0.2, 0.4, n_modes), beta=0.3),
                       history=1.0, t_final=t_final)


def steps(problem: SDDEProblem, dt: float) -> int:
    return round(problem.t_final / dt)


# --------------------------------------------------------- normals drawn inside the kernel
@pytest.mark.parametrize("n_modes", [1, 3])
def test_kernel_draws_are_the_brownian_increments(n_modes: int) -> None:
    """300 paths (a full block and a partial one of 44) of a problem with taps and a
    chain: drawing in the kernel gives the bits of a run on ``brownian_increments``."""
    problem = mixed_problem(n_modes)
    dt, n_paths = 0.01, 300
    drawn = solve(problem, dt=dt, n_paths=n_paths, rng=np.random.default_rng(7))
    dW = brownian_increments(np.random.default_rng(7), steps(problem, dt), n_paths,
                             n_modes, dt)
    given_noise = solve(problem, dt=dt, dW=dW)
    assert np.array_equal(drawn.x, given_noise.x)
    assert drawn.x.dtype == np.float64


def numpy_reference(problem: SDDEProblem, dt: float, dW: np.ndarray) -> np.ndarray:
    """Delayed Euler–Maruyama of ``problem`` (grid taps only, constant history, additive
    or linear noise) as a plain numpy program: the delayed values are one mat-vec of the
    whole history window per channel."""
    drift, diffusion = problem.drift, problem.diffusion
    assert isinstance(drift, LinearDrift) and isinstance(diffusion, Diffusion)
    weights = [d.grid_weights(dt) for d in problem.delays]
    n_steps, n_paths, n_modes = dW.shape
    longest = max(w.size for w in weights)
    history = np.full((longest + n_steps, n_paths, n_modes), float(problem.history))
    for n in range(n_steps):
        now = longest - 1 + n
        x = history[now]
        y = [np.tensordot(w, history[now - np.arange(w.size)], axes=1) for w in weights]
        force = drift.offset - sum(g * yc for g, yc in zip(drift.gains, y, strict=True))
        history[now + 1] = x + force * dt + (diffusion.sigma + diffusion.beta * x) * dW[n]
    return history[longest - 1:]


@FEW
@given(n_modes=st.integers(1, 3), lag=st.floats(0.0, 0.6), seed=st.integers(0, 2**32 - 1))
def test_per_mode_taps_match_a_numpy_program(n_modes: int, lag: float, seed: int) -> None:
    """Taps carry one coefficient per mode (not tiled over paths): against a numpy
    mat-vec program on the same increments. Same arithmetic in another order; 100 steps
    of |x| = O(1): 1e-12."""
    gains = np.linspace(0.4, 1.5, 2 * n_modes).reshape(2, n_modes)
    problem = SDDEProblem(
        drift=LinearDrift(gains=gains, offset=np.full(n_modes, -0.2)),
        delays=(Delay.point(lag), Delay.from_kernel(sdde.delays.parse("uniform:low=0,high=1"),
                                                    chain=False)),
        diffusion=Diffusion(sigma=np.linspace(0.1, 0.5, n_modes), beta=0.2, kind="linear"),
        history=1.0, t_final=1.0)
    dt = 0.01
    dW = brownian_increments(np.random.default_rng(seed), steps(problem, dt), 19, n_modes, dt)
    got = solve(problem, dt=dt, dW=dW).x
    expected = numpy_reference(problem, dt, dW)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------ float32
def test_float32_replays_the_rounded_increments() -> None:
    """float32 states draw the float64 increments rounded to float32: a run with the
    increments of ``brownian_increments`` gives the same bits."""
    problem = mixed_problem(2)
    dt, n_paths = 0.01, 270
    drawn = solve(problem, dt=dt, n_paths=n_paths, rng=np.random.default_rng(3),
                  dtype=np.float32)
    dW = brownian_increments(np.random.default_rng(3), steps(problem, dt), n_paths, 2, dt)
    given_noise = solve(problem, dt=dt, dW=dW, dtype=np.float32)
    assert drawn.x.dtype == np.float32
    assert np.array_equal(drawn.x, given_noise.x)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy-loop"])
def test_float32_is_float64_to_rounding(compiled: bool) -> None:
    """Same seed, same increments: each step rounds x, the taps and the noise term to
    float32 (relative 2⁻²⁴ each, a handful per step); the scheme is stable, so the
    error grows at most linearly: |x32 − x64| <= 8 · n_steps · 2⁻²⁴ · max|x|."""
    problem = mixed_problem(2)
    if not compiled:
        drift = problem.drift
        assert isinstance(drift, LinearDrift)
        gains, offset = drift.gains.copy(), drift.offset.copy()
        problem = SDDEProblem(
            drift=lambda t, x, y: offset - np.einsum("cm,cpm->pm", gains, y),
            delays=problem.delays, diffusion=problem.diffusion, history=1.0,
            t_final=problem.t_final, n_modes=2)
    dt = 0.01
    single = solve(problem, dt=dt, n_paths=50, rng=np.random.default_rng(4), dtype=np.float32)
    double = solve(problem, dt=dt, n_paths=50, rng=np.random.default_rng(4))
    assert single.x.dtype == np.float32
    bound = 8 * steps(problem, dt) * 2.0**-24 * float(np.max(np.abs(double.x)))
    error = float(np.max(np.abs(single.x.astype(np.float64) - double.x)))
    assert 0 < error <= bound


def test_float32_divergence_is_reported() -> None:
    """An unstable gain in float32: stopped at the bound, no overflow, same step as in
    float64 (the bound is far below float32's range here)."""
    problem = SDDEProblem(drift=LinearDrift(gains=[[3.0]]), delays=(Delay.point(1.0),),
                          diffusion=Diffusion(sigma=0.1), history=1.0, t_final=30.0)
    single = solve(problem, dt=0.05, n_paths=4, rng=np.random.default_rng(0), bound=1e6,
                   dtype=np.float32)
    double = solve(problem, dt=0.05, n_paths=4, rng=np.random.default_rng(0), bound=1e6)
    assert single.status == "diverged" and np.all(np.isfinite(single.x))
    np.testing.assert_array_equal(single.diverged_at, double.diverged_at)


@pytest.mark.parametrize("option", [{"dtype": np.int64}, {"dtype": "float16"},
                                    {"dtype": "no such type"}, {"generator": "mt19937"}])
def test_bad_precision_or_generator_is_refused(option: dict[str, object]) -> None:
    problem = mixed_problem(1)
    name = next(iter(option))
    with pytest.raises(ValueError, match=name):
        solve(problem, dt=0.01, n_paths=2, rng=np.random.default_rng(0), **option)


# -------------------------------------------------------------------------- xoshiro256++
def test_xoshiro_reference_outputs() -> None:
    """From state (1, 2, 3, 4), by hand from the definition (Blackman & Vigna):
    out₁ = rotl(1 + 4, 23) + 1 = 5·2²³ + 1; the update gives s0 = 7, s3 = rotl(6, 45), so
    out₂ = rotl(7 + 6·2⁴⁵, 23) + 7 = 7·2²³ + 6·2⁴ + 7."""
    state = np.array([1, 2, 3, 4], dtype=np.uint64)
    assert int(_xoshiro.next_uint64(state)) == 5 * 2**23 + 1
    assert int(_xoshiro.next_uint64(state)) == 7 * 2**23 + 6 * 2**4 + 7


def test_ziggurat_tables_close_at_zero() -> None:
    """Every layer has the same area: the recursion from R must end at the mode
    (x[255] small, f(x[255]) close to 1) and the edges decrease."""
    edges = _xoshiro._EDGES
    assert np.all(np.diff(edges[1:]) < 0) and edges[-1] == 0.0
    assert edges[255] * (1.0 - math.exp(-0.5 * edges[255] ** 2)) < 1e-2


@pytest.mark.slow
def test_xoshiro_normals_are_standard_normal() -> None:
    """4·10⁶ draws (seed fixed): Kolmogorov–Smirnov p-value above 1e-4 (fixed seed, so
    this either always passes or always fails), mean, variance and the frequencies of
    the tail beyond R (the base layer's slow path) and of 1 < |z| < 2 (wedges) within
    5 standard errors of the normal law's."""
    z = _xoshiro.standard_normals(np.random.default_rng(2024), 4_000_000)
    n = z.size
    assert stats.kstest(z, "norm").pvalue > 1e-4
    assert abs(z.mean()) < N_SE / math.sqrt(n)
    assert abs(z.var() - 1.0) < N_SE * math.sqrt(2.0 / n)
    for lo, hi in ((_xoshiro._R, math.inf), (1.0, 2.0)):
        p = 2 * (stats.norm.sf(lo) - stats.norm.sf(hi))
        freq = np.mean((np.abs(z) > lo) & (np.abs(z) < hi))
        assert abs(freq - p) < N_SE * math.sqrt(p * (1 - p) / n)


@FEW
@given(n_paths=st.integers(1, 600), more=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_xoshiro_paths_replay_and_do_not_depend_on_n_paths(n_paths: int, more: int,
                                                           seed: int) -> None:
    """Same seed → same bits; a path is the same however many paths are run."""
    problem = mixed_problem(1, t_final=0.3)
    run = [solve(problem, dt=0.01, n_paths=n, rng=np.random.default_rng(seed),
                 generator="xoshiro256").x for n in (n_paths, n_paths, n_paths + more)]
    assert np.array_equal(run[0], run[1])
    assert np.array_equal(run[0], run[2][:, :n_paths])


def test_xoshiro_differs_from_pcg64_and_is_ignored_with_given_increments() -> None:
    problem = mixed_problem(1)
    fast = solve(problem, dt=0.01, n_paths=8, rng=np.random.default_rng(1),
                 generator="xoshiro256")
    default = solve(problem, dt=0.01, n_paths=8, rng=np.random.default_rng(1))
    assert not np.array_equal(fast.x[1:], default.x[1:])
    dW = brownian_increments(np.random.default_rng(1), steps(problem, 0.01), 8, 1, 0.01)
    assert np.array_equal(solve(problem, dt=0.01, dW=dW, generator="xoshiro256").x,
                          solve(problem, dt=0.01, dW=dW).x)


@pytest.mark.slow
def test_xoshiro_monte_carlo_matches_exact_moments() -> None:
    """20000 paths of a point delay with additive noise: x(t) is Gaussian, so the
    sample mean and variance at t = 1, …, 5 are within 5 SE of the scheme's exact ones."""
    problem = SDDEProblem(drift=LinearDrift(gains=[[1.0]]), delays=(Delay.point(1.0),),
                          diffusion=Diffusion(sigma=1.0), history=1.0, t_final=5.0)
    dt, n_paths, save_every = 0.01, 20_000, 100
    sol = solve(problem, dt=dt, n_paths=n_paths, rng=np.random.default_rng(99),
                save_every=save_every, generator="xoshiro256")
    exact = exact_moments(problem, dt=dt, save_every=save_every)
    mean, var = exact.mean[1:, 0], exact.variance[1:, 0]
    x = sol.x[1:, :, 0]
    assert np.all(np.abs(x.mean(axis=1) - mean) < N_SE * np.sqrt(var / n_paths))
    assert np.all(np.abs(x.var(axis=1, ddof=1) - var)
                  < N_SE * var * math.sqrt(2.0 / (n_paths - 1)))

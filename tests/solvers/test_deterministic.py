"""The compiled noise-free runs behind ``exact_moments`` and ``model_moments``.

:mod:`sdde.solvers._deterministic` advances the mean and impulse runs of every mode at
once on a linear history array. How the tests know the truth:

1. Second implementation: ``moments._solve_moments`` runs :func:`sdde.solve` on one
   path per mode and run (the pre-compiled path). The recursion is the same, only the
   order of summation of the taps differs, so the two agree to rounding: within
   ``RTOL`` of the local size of the solution (its largest value over the window of the
   longest lag around each step; near a zero crossing a pointwise relative error means
   nothing). Point, off-grid, shifted-exponential, uniform, lognormal and gamma kernels,
   Erlang chains, several channels, offsets, callable histories, Poisson-form noise,
   divergence.
2. Independent arithmetic: the recursion written out in numpy in extended precision
   (``np.longdouble``) from ``Delay.grid_weights`` and the chain rule.
3. Laws (Hypothesis): agreement with ``solve`` for random lags, gains and steps; the
   runs are linear in the history (doubling it doubles the mean, bit for bit).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import maximum_filter1d

from sdde import (
    AsyncSGDModel,
    Cluster,
    Delay,
    Diffusion,
    HessianSpectrum,
    LinearDrift,
    SDDEProblem,
    delays,
)
from sdde.solvers import moments
from sdde.solvers._deterministic import noise_free_runs, noise_free_tasks
from sdde.solvers.moments import exact_moments, model_moments

#: Agreement with the solve-based path, relative to the local size of the solution.
RTOL = 1e-10


def _window(problem: SDDEProblem, dt: float) -> int:
    """Steps of the longest lag (the memory over which rounding errors mix)."""
    return max(1, math.ceil(problem.max_lag / dt)) + 1


def assert_close(new: np.ndarray, ref: np.ndarray, window: int, rtol: float = RTOL) -> None:
    """``|new − ref| <= rtol · max |ref|`` over ``±window`` steps, infinities equal."""
    assert new.shape == ref.shape
    np.testing.assert_array_equal(np.isinf(new), np.isinf(ref))
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.sign(new[np.isinf(ref)]), np.sign(ref[np.isinf(ref)]))
    size = maximum_filter1d(np.abs(np.where(finite, ref, 0.0)), size=2 * window + 1,
                            axis=0, mode="nearest")
    err = np.abs(np.where(finite, new, 0.0) - np.where(finite, ref, 0.0))
    worst = float(np.max(err - rtol * size - 1e-300))
    assert worst <= 0.0, f"max excess {worst:g}, max error {float(err.max()):g}"


def assert_same_moments(problem: SDDEProblem, dt: float, save_every: int = 1,
                        rtol: float = RTOL) -> moments.Moments:
    new = exact_moments(problem, dt=dt, save_every=save_every)
    ref = moments._solve_moments(problem, dt=dt, save_every=save_every)
    np.testing.assert_array_equal(new.t, ref.t)
    np.testing.assert_array_equal(new.diverged_at, ref.diverged_at)
    window = -(-_window(problem, dt) // save_every)
    for name in ("mean", "variance", "fundamental"):
        assert_close(getattr(new, name), getattr(ref, name), window, rtol)
    return new


def _kernel(law: object, *, chain: bool = False, kappas: tuple[float, ...] = (0.4, 1.1),
            sigma: float = 0.7, beta: float = 0.0, history: object = 1.0,
            offset: float = 0.0, t_final: float = 12.0) -> SDDEProblem:
    return SDDEProblem(drift=LinearDrift(gains=[list(kappas)], offset=offset),
                       delays=(Delay.from_kernel(law, chain=chain),),  # type: ignore[arg-type]
                       diffusion=Diffusion(sigma=sigma, beta=beta), history=history,
                       t_final=t_final, n_modes=len(kappas))


def _backlog(t: float) -> np.ndarray:
    """``x0 = (1, −2)`` at 0 and a quarter of it before (like a worker backlog)."""
    start = np.array([1.0, -2.0])
    return start if t >= 0 else 0.25 * start


KERNELS = {
    "shifted-exp": lambda: _kernel(delays.shifted_exponential(shift=0.5, mean=1.0)),
    "uniform": lambda: _kernel(delays.Uniform(low=0.0, high=2.0)),
    "lognormal": lambda: _kernel(delays.LogNormal(mu=-0.125, sigma=0.5)),
    "gamma 2.5 on the grid": lambda: _kernel(delays.Gamma(shape=2.5, scale=0.4)),
    "gamma 3 as a chain": lambda: _kernel(delays.Gamma(shape=3.0, scale=1 / 3), chain=True),
    "exponential chain, backlog": lambda: _kernel(delays.Exponential(scale=1.0), chain=True,
                                                  history=_backlog),
    "shifted-exp, backlog and offset": lambda: _kernel(
        delays.shifted_exponential(shift=0.5, mean=1.0), history=_backlog, offset=0.3),
    "off-grid point lag": lambda: SDDEProblem(
        drift=LinearDrift(gains=[[0.3, 1.2, 1.5]], offset=[0.0, 0.1, -0.2]),
        delays=(Delay.point(0.737),), diffusion=Diffusion(sigma=[0.5, 1.0, 2.0]),
        history=[1.0, -1.0, 0.5], t_final=20.0),
    "three channels: point, kernel, chain": lambda: SDDEProblem(
        drift=LinearDrift(gains=[[0.2, 0.5], [0.3, 0.1], [0.4, 0.2]]),
        delays=(Delay.point(0.25), Delay.from_kernel(delays.Uniform(low=0.0, high=2.0)),
                Delay.from_kernel(delays.Gamma(shape=2.0, scale=0.5))),
        diffusion=Diffusion(sigma=1.0), history=_backlog, t_final=15.0),
}


@pytest.mark.parametrize("case", sorted(KERNELS))
def test_matches_solve_path(case: str) -> None:
    """Mean, variance and fundamental solution as the solve-based path, every step and
    thinned."""
    problem = KERNELS[case]()
    assert_same_moments(problem, dt=0.01)
    assert_same_moments(problem, dt=0.02, save_every=7)


@pytest.mark.parametrize("case", ["shifted-exp", "gamma 3 as a chain", "off-grid point lag"])
def test_matches_solve_path_with_poisson_noise(case: str) -> None:
    """Poisson-form noise: the Volterra second moment from the same runs."""
    problem = KERNELS[case]()
    n = problem.n_modes
    noisy = SDDEProblem(drift=problem.drift, delays=problem.delays,
                        diffusion=Diffusion(sigma=0.5, beta=np.linspace(0.2, 0.6, n)),
                        history=problem.history, t_final=6.0, n_modes=n)
    got = assert_same_moments(noisy, dt=0.02, save_every=3)
    assert np.all(got.variance[1:] > 0)


def test_long_decay_keeps_relative_accuracy() -> None:
    """A mode that decays by 1e-200 keeps its tail to rounding relative to its size."""
    problem = _kernel(delays.shifted_exponential(shift=0.5, mean=1.0), kappas=(0.9,),
                      t_final=400.0)
    got = assert_same_moments(problem, dt=0.02)
    tail = np.abs(got.mean[-1, 0])
    assert 0.0 < tail < 1e-60


def test_divergence_stops_only_the_unstable_mode() -> None:
    """κ = 3 with a unit lag is unstable: its moments are infinite from the same step
    as the solve-based path's, the stable mode is untouched, and nothing warns; alone,
    the unstable mode stops the run early (every lane frozen)."""
    problem = SDDEProblem(drift=LinearDrift(gains=[[0.5, 3.0]]), delays=(Delay.point(1.0),),
                          diffusion=Diffusion(sigma=1.0), history=1.0, t_final=1000.0)
    alone = SDDEProblem(drift=LinearDrift(gains=[[3.0]]), delays=(Delay.point(1.0),),
                        diffusion=Diffusion(sigma=1.0), history=1.0, t_final=1000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = assert_same_moments(problem, dt=0.01, save_every=10)
        assert_same_moments(alone, dt=0.01)
    assert 0.0 < got.diverged_at[1] < 1000.0
    assert np.isinf(got.diverged_at[0]) and np.isfinite(got.diverged_at[1])
    assert np.isinf(got.variance[-1, 1]) and np.isinf(got.mean[-1, 1])
    assert np.all(np.isfinite(got.variance[:, 0]))


def test_divergence_with_poisson_noise() -> None:
    problem = SDDEProblem(drift=LinearDrift(gains=[[0.5, 3.0]]), delays=(Delay.point(1.0),),
                          diffusion=Diffusion(sigma=1.0, beta=0.3), history=1.0,
                          t_final=400.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same_moments(problem, dt=0.05, save_every=4)


def _longdouble_runs(problem: SDDEProblem, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The recursion in extended precision: ``(mean, impulse)`` of every mode."""
    from sdde.model.problem import chain_start

    drift = problem.drift
    assert isinstance(drift, LinearDrift)
    n_steps = round(problem.t_final / dt)
    weights = [None if d.chain else d.grid_weights(dt) for d in problem.delays]
    n_slots = max([1] + [w.size for w in weights if w is not None])
    past = problem.history_at(-dt * np.arange(n_slots, dtype=np.float64))[::-1]
    out = []
    for impulse in (False, True):
        x = np.zeros((n_slots + n_steps, problem.n_modes), dtype=np.longdouble)
        if impulse:
            x[n_slots - 1] = 1
        else:
            x[:n_slots] = past
        stages = [None if not d.chain else
                  (np.zeros_like(chain_start(d, problem, dt)) if impulse
                   else chain_start(d, problem, dt)).astype(np.longdouble)
                  for d in problem.delays]
        offset = 0 if impulse else np.asarray(drift.offset, dtype=np.longdouble)
        for row in range(n_slots - 1, n_slots - 1 + n_steps):
            step = x[row] + np.longdouble(dt) * offset
            for c, (w, state) in enumerate(zip(weights, stages, strict=True)):
                if state is None:
                    y = w.astype(np.longdouble) @ x[row - np.arange(w.size)]
                else:
                    y = state[-1].copy()
                    rate = np.longdouble(dt) * problem.delays[c].chain[1]
                    previous = np.concatenate([x[row][None], state[:-1]])
                    state += rate * (previous - state)
                step = step - np.longdouble(dt) * drift.gains[c] * y
            x[row + 1] = step
        out.append(x[n_slots - 1:])
    return out[0], out[1]


@pytest.mark.parametrize("case", ["off-grid point lag", "lognormal",
                                  "three channels: point, kernel, chain"])
def test_matches_extended_precision_recursion(case: str) -> None:
    problem = KERNELS[case]()
    dt = 0.05
    runs = noise_free_runs(problem, dt, bound=1e150)
    mean, impulse = _longdouble_runs(problem, dt)
    window = _window(problem, dt)
    assert_close(runs.mean, mean.astype(np.float64), window, rtol=1e-12)
    assert_close(runs.impulse, impulse.astype(np.float64), window, rtol=1e-12)
    assert np.all(runs.mean_diverged == -1) and np.all(runs.impulse_diverged == -1)


@settings(max_examples=25, deadline=None)
@given(lag=st.floats(0.0, 2.0), kappa=st.floats(0.05, 2.5), steps_per_unit=st.sampled_from(
    [10, 25, 40]), history=st.floats(-3.0, 3.0))
def test_agrees_with_solve_for_random_point_lags(lag: float, kappa: float,
                                                 steps_per_unit: int, history: float) -> None:
    problem = SDDEProblem(drift=LinearDrift(gains=[[kappa]]), delays=(Delay.point(lag),),
                          diffusion=Diffusion(sigma=1.0), history=history, t_final=30.0)
    assert_same_moments(problem, dt=1.0 / steps_per_unit)


@settings(max_examples=20, deadline=None)
@given(kappa=st.floats(0.05, 3.0), shift=st.floats(0.0, 0.9))
def test_mean_is_linear_in_the_history(kappa: float, shift: float) -> None:
    """Doubling the history doubles the mean exactly (a power of two rounds nowhere);
    the impulse run does not depend on it."""
    base = _kernel(delays.shifted_exponential(shift=shift, mean=1.0), kappas=(kappa,),
                   history=0.75, t_final=8.0)
    double = _kernel(delays.shifted_exponential(shift=shift, mean=1.0), kappas=(kappa,),
                     history=1.5, t_final=8.0)
    one, two = noise_free_runs(base, 0.02, bound=1e150), noise_free_runs(double, 0.02,
                                                                          bound=1e150)
    np.testing.assert_array_equal(two.mean, 2.0 * one.mean)
    np.testing.assert_array_equal(two.impulse, one.impulse)


def test_model_moments_matches_the_solve_based_richardson_combination() -> None:
    """model_moments end to end (both grids, Richardson) against the same formula on the
    solve-based path."""
    model = AsyncSGDModel(lr=0.01, spectrum=HessianSpectrum.parse("0.1:10:4:log"),
                          cluster=Cluster(workers=4, delay=delays.shifted_exponential(
                              shift=0.5, mean=1.0)))
    got = model_moments(model, 30.0)
    span = 30.0 / model.mean_delay
    steps = math.ceil(span / 0.01)
    dt = span / steps
    problem = model.to_problem(span)
    coarse = moments._solve_moments(problem, dt=dt)
    fine = moments._solve_moments(problem, dt=dt / 2, save_every=2)
    window = _window(problem, dt)
    np.testing.assert_array_equal(got.t, coarse.t * model.mean_delay)
    for name in ("mean", "variance"):
        want = 2.0 * getattr(fine, name) - getattr(coarse, name)
        assert_close(getattr(got, name), want, window)


@pytest.mark.parametrize("min_tasks", [1, 2, 3, 7])
@pytest.mark.parametrize("n_modes", [1, 2, 5, 9])
def test_tasks_split_the_lanes_without_changing_a_bit(min_tasks: int, n_modes: int) -> None:
    """Lanes are independent: however they are grouped (and run, here in reverse), the
    runs are identical (one lane per task up to two modes, else groups of 2 to 16)."""
    problem = SDDEProblem(
        drift=LinearDrift(gains=np.outer([0.2, 0.3, 0.4], np.linspace(0.5, 2.0, n_modes))),
        delays=(Delay.point(0.25), Delay.from_kernel(delays.Uniform(low=0.0, high=2.0)),
                Delay.from_kernel(delays.Gamma(shape=2.0, scale=0.5))),
        diffusion=Diffusion(sigma=1.0), history=1.0, t_final=15.0, n_modes=n_modes)
    whole = noise_free_runs(problem, 0.05, bound=1e150)
    runs, tasks = noise_free_tasks(problem, 0.05, bound=1e150, min_tasks=min_tasks)
    n_lanes = 2 * n_modes
    assert len(tasks) == (n_lanes if n_modes <= 2 else
                          min(n_modes, max(-(-n_lanes // 16), min_tasks)))
    for task in reversed(tasks):
        task()
    for got, want in zip(runs, whole, strict=True):
        np.testing.assert_array_equal(got, want)


def test_model_moments_is_the_richardson_combination_of_exact_moments() -> None:
    """The threaded runs of model_moments give exactly what exact_moments gives."""
    model = AsyncSGDModel(lr=0.02, spectrum=HessianSpectrum.parse("0.5,1,4"), noise=0.1,
                          cluster=Cluster(workers=8, delay=delays.Uniform(low=0.5,
                                                                         high=1.5)))
    got = model_moments(model, 20.0)
    span = 20.0 / model.mean_delay
    dt = span / math.ceil(span / 0.01)
    problem = model.to_problem(span)
    coarse = exact_moments(problem, dt=dt)
    fine = exact_moments(problem, dt=dt / 2, save_every=2)
    for name in ("mean", "variance"):
        np.testing.assert_array_equal(getattr(got, name),
                                      2.0 * getattr(fine, name) - getattr(coarse, name))
    assert np.all(got.variance[1:] > 0)

"""Exact mean and variance of linear SDDEs with additive noise, without Monte Carlo.

For ``dx = (b − Σ_c a_c y_c) dt + σ dW`` the delayed Euler–Maruyama scheme is linear:
``x_n = m_n + σ Σ_{k<n} r_{n−1−k} ΔW_k``, where ``m`` is the scheme run without noise
(the mean) and ``r`` its fundamental solution (``r_0 = 1``, zero history). So

    E[x_n] = m_n,    Var[x_n] = σ² dt Σ_{i<n} r_i²,

exactly for the scheme on the same grid (a Monte-Carlo run of :func:`sdde.solve` has
these moments, up to sampling error), and as ``dt → 0`` the moments of the SDDE, with
``Var x(t) = σ² ∫_0^t r(u)² du`` (THEORY.md §3) and its limit the stationary variance.

Multiplicative noise of the Poisson form ``g(x)² = σ² + β² x²`` keeps the scheme linear
in its second moment: the increments are uncorrelated, so ``S_n = E[x_n²]`` solves the
discrete Volterra equation

    S_n = m_n² + dt Σ_{k<n} r_{n−1−k}² (σ² + β² S_k),

again exact for the scheme (``theory/derivations/sparsification.py``).

``m`` and ``r`` come from compiled noise-free runs of every mode at once
(:mod:`sdde.solvers._deterministic`); they equal :func:`sdde.solve` on one path per
mode with zero increments up to the order in which the delay taps are summed (about
1e-12 of the solution's size over the longest lag, tested against that path).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from sdde._numerics import FloatArray
from sdde.model.problem import Diffusion, LinearDrift, SDDEProblem
from sdde.solvers._deterministic import NoiseFreeRuns, noise_free_runs, noise_free_tasks
from sdde.solvers.integrator import solve

if TYPE_CHECKING:
    from sdde.model.async_sgd import AsyncSGDModel


@dataclass(frozen=True)
class Moments:
    """Mean and variance per mode on the saved grid.

    Attributes
    ----------
    t : ndarray, shape (n_save,)
    mean : ndarray, shape (n_save, n_modes)
    variance : ndarray, shape (n_save, n_modes)
    fundamental : ndarray, shape (n_save, n_modes)
        The fundamental solution ``r`` (response to a unit initial value, zero history).
    diverged_at : ndarray, shape (n_modes,)
        Time from which each unstable mode's moments exceed ``1e150`` (``inf`` if
        never); from then on its mean is ``±inf`` and its variance ``inf`` (no warnings).
    """

    t: FloatArray
    mean: FloatArray
    variance: FloatArray
    fundamental: FloatArray
    diverged_at: FloatArray


def exact_moments(problem: SDDEProblem, *, dt: float, save_every: int = 1) -> Moments:
    """Mean and variance of the delayed Euler–Maruyama solution, computed exactly.

    Parameters
    ----------
    problem : SDDEProblem
        A linear problem (:class:`sdde.LinearDrift`) with additive noise or noise of the
        Poisson form (:class:`sdde.Diffusion`, ``kind="poisson"``: then the variance
        solves a Volterra equation, ``O(steps²)`` per mode).
    dt : float
        Step size (the grid of :func:`sdde.solve`).
    save_every : int
        Keep every ``save_every``-th step.

    Returns
    -------
    Moments

    Examples
    --------
    >>> from sdde import Delay, Diffusion, LinearDrift, SDDEProblem
    >>> p = SDDEProblem(drift=LinearDrift(gains=[[1.0]]), delays=(Delay.point(1.0),),
    ...                 diffusion=Diffusion(sigma=1.0), history=0.0, t_final=200.0)
    >>> m = exact_moments(p, dt=0.01, save_every=20000)
    >>> round(float(m.variance[-1, 0]), 3)  # (1 + sin 1) / (2 cos 1) = 1.704 as dt → 0
    1.72
    """
    _check_linear(problem)
    return _from_runs(problem, noise_free_runs(problem, dt, bound=_BOUND), dt, save_every)


def _check_linear(problem: SDDEProblem) -> None:
    """Refuse problems whose moments are not those of a linear recursion."""
    diffusion = problem.diffusion
    if not (isinstance(problem.drift, LinearDrift) and isinstance(diffusion, Diffusion)
            and (diffusion.additive or diffusion.kind == "poisson")):
        raise ValueError("exact_moments needs a LinearDrift and additive or Poisson-form "
                         "Diffusion noise; estimate other problems with solve(...)")


def _from_runs(problem: SDDEProblem, runs: NoiseFreeRuns, dt: float,
               save_every: int) -> Moments:
    """:func:`exact_moments` from the compiled noise-free runs."""
    assert isinstance(problem.diffusion, Diffusion)
    n_steps = runs.mean.shape[0] - 1
    return _assemble(runs.mean, runs.impulse, runs.mean_diverged * dt,
                     runs.impulse_diverged * dt, dt * np.arange(n_steps + 1, dtype=np.float64),
                     problem.diffusion, dt, save_every)


def _assemble(mean: FloatArray, r: FloatArray, mean_gone: FloatArray, r_gone: FloatArray,
              t: FloatArray, diffusion: Diffusion, dt: float, save_every: int) -> Moments:
    """Moments from the mean and impulse runs at every step, shape ``(n_steps + 1,
    n_modes)``, and the times at which they were frozen (negative: never)."""
    n_modes = mean.shape[1]
    sigma2 = np.broadcast_to(np.asarray(diffusion.sigma, dtype=np.float64), (n_modes,)) ** 2
    beta2 = np.broadcast_to(np.asarray(diffusion.beta, dtype=np.float64), (n_modes,)) ** 2
    with np.errstate(over="ignore"):  # r² <= 1e300; only a diverged sum reaches inf
        variance = np.vstack([np.zeros((1, n_modes)),
                              sigma2 * dt * np.cumsum(r[:-1] ** 2, axis=0)])
    for m in np.flatnonzero(beta2 > 0.0):  # the mean at every step drives S_n
        with np.errstate(over="ignore", invalid="ignore"):
            second = second_moment(mean[:, m], r[:, m], dt, float(sigma2[m]), float(beta2[m]))
            variance[:, m] = np.where(np.isfinite(second), second - mean[:, m] ** 2, np.inf)
    keep = slice(None, None, save_every)
    t, mean, variance = t[keep], mean[keep].copy(), variance[keep]
    # after a divergence the frozen values mean nothing: report the limits instead
    mean_gone = np.where(mean_gone >= 0, mean_gone, math.inf)
    r_gone = np.where(r_gone >= 0, r_gone, math.inf)
    gone = t[:, None] >= mean_gone
    mean[gone] = np.copysign(np.inf, mean[gone])
    variance[t[:, None] >= r_gone] = np.inf
    return Moments(t=t, mean=mean, variance=variance, fundamental=r[keep].copy(),
                   diverged_at=np.minimum(mean_gone, r_gone))


def _solve_moments(problem: SDDEProblem, *, dt: float, save_every: int = 1) -> Moments:
    """:func:`exact_moments` through :func:`sdde.solve`, one mode and one run at a time
    (the reference the compiled runs of :mod:`sdde.solvers._deterministic` are tested
    and benchmarked against)."""
    parts = [_one_mode(_mode(problem, m), dt, save_every) for m in range(problem.n_modes)]
    return Moments(t=parts[0].t, mean=np.hstack([q.mean for q in parts]),
                   variance=np.hstack([q.variance for q in parts]),
                   fundamental=np.hstack([q.fundamental for q in parts]),
                   diverged_at=np.array([float(q.diverged_at[0]) for q in parts]))


def _one_mode(problem: SDDEProblem, dt: float, save_every: int) -> Moments:
    """:func:`_solve_moments` of a one-mode problem (a divergence stops that mode only)."""
    assert isinstance(problem.drift, LinearDrift) and isinstance(problem.diffusion, Diffusion)
    n_steps = round(problem.t_final / dt)
    quiet = replace(problem, diffusion=Diffusion(sigma=0.0))
    silence = np.zeros((n_steps, 1, 1))
    mean_run = solve(quiet, dt=dt, dW=silence, bound=_BOUND)
    impulse = replace(quiet, drift=replace(problem.drift, offset=0.0),
                      history=_unit_impulse)
    r_run = solve(impulse, dt=dt, dW=silence, bound=_BOUND)
    gone = [np.where(np.isfinite(run.diverged_at), run.diverged_at, -1.0)
            for run in (mean_run, r_run)]
    return _assemble(mean_run.x[:, 0], r_run.x[:, 0], gone[0], gone[1], r_run.t,
                     problem.diffusion, dt, save_every)


@numba.njit(cache=True)
def second_moment(mean: FloatArray, r: FloatArray, dt: float, sigma2: float,
                  beta2: float) -> FloatArray:
    """``S_n = m_n² + dt Σ_{k<n} r_{n−1−k}² (σ² + β² S_k)`` for every step ``n``.

    ``mean`` and ``r`` are the scheme's mean and fundamental solution on the same grid
    (``r_0 = 1``); ``inf`` from the first step that exceeds 1e300.
    """
    n = mean.shape[0]
    out = np.empty(n)
    forcing = np.empty(n)
    r2 = np.empty(n)
    for i in range(n):
        r2[i] = r[i] * r[i]
    for i in range(n):
        acc = 0.0
        for k in range(i):
            acc += r2[i - 1 - k] * forcing[k]
        value = mean[i] * mean[i] + dt * acc
        if not value <= 1e300:
            out[i:] = np.inf
            return out
        out[i] = value
        forcing[i] = sigma2 + beta2 * value
    return out


def _mode(problem: SDDEProblem, m: int) -> SDDEProblem:
    """Mode ``m`` of a linear problem as a problem of its own (modes are uncoupled)."""
    drift, diffusion = problem.drift, problem.diffusion
    assert isinstance(drift, LinearDrift) and isinstance(diffusion, Diffusion)
    n = problem.n_modes

    def pick(values: Any) -> FloatArray:
        return np.asarray(np.broadcast_to(np.asarray(values, dtype=np.float64), (n,))[m:m + 1])

    history = problem.history
    if callable(history):
        def one_history(t: float) -> float:
            return float(np.broadcast_to(np.asarray(history(t)), (n,))[m])
    else:
        one_history = float(pick(history)[0])  # type: ignore[assignment]
    return replace(problem, drift=LinearDrift(gains=drift.gains[:, m:m + 1],
                                              offset=pick(drift.offset)),
                   diffusion=Diffusion(sigma=pick(diffusion.sigma), beta=pick(diffusion.beta),
                                       kind=diffusion.kind),
                   history=one_history, n_modes=1)


#: Moments beyond this size belong to an unstable mode (see Moments.diverged_at).
_BOUND = 1e150


def _unit_impulse(t: float) -> float:
    """History ``1`` at ``t = 0`` and ``0`` before (the fundamental solution's)."""
    return 1.0 if t == 0.0 else 0.0


#: Most steps :func:`model_moments` takes (memory and time grow with the horizon).
MAX_MODEL_STEPS = 100_000


def model_moments(model: AsyncSGDModel, t_final: float, *, x0: float = 1.0,
                  max_dt: float = 0.01, gradient_noise: str = "additive",
                  jump_factor: float = 1.0) -> Moments:
    """Mean and variance of every mode of an asynchronous-SGD model, up to ``t_final``.

    :func:`exact_moments` of :meth:`AsyncSGDModel.to_problem` is exact for the
    Euler–Maruyama grid and first order in ``dt``; the Richardson combination
    ``2 m(dt/2) − m(dt)`` cancels that first-order error. Times are the model's own
    (``t`` is in the user's time unit, not mean delays); modes in ascending curvature.

    Parameters
    ----------
    model : AsyncSGDModel
    t_final : float
        Horizon, in the model's time unit.
    x0 : float
        Starting value of every mode (the history before 0 is ``model.backlog · x0``).
    max_dt : float
        Largest step, in mean delays (the step fits the horizon a whole number of times).
    gradient_noise, jump_factor
        As for :meth:`AsyncSGDModel.to_problem`: ``"poisson"`` adds the squared-gradient
        noise of Poisson arrivals (its variance costs ``O(steps²)`` per mode).

    Returns
    -------
    Moments
        ``diverged_at`` in the model's time unit; past it a mode's moments are infinite.

    Notes
    -----
    The noise-free runs of both grids are shared out over the cores this process may
    use (threads; the result does not depend on how many).

    Raises
    ------
    ValueError
        If the horizon needs more than :data:`MAX_MODEL_STEPS` steps.
    """
    scale = model.mean_delay
    span = t_final / scale
    steps = max(1, math.ceil(span / max_dt))
    if steps > MAX_MODEL_STEPS:
        raise ValueError(f"model_moments: {t_final:g} time units is {steps} steps of "
                         f"{max_dt:g} mean delays, over the limit of {MAX_MODEL_STEPS}")
    dt = span / steps
    problem = model.to_problem(span, x0=x0, gradient_noise=gradient_noise,
                               jump_factor=jump_factor)
    _check_linear(problem)
    coarse, fine = _both_grids(problem, dt)
    size = min(coarse.t.size, fine.t.size)

    def extrapolate(c: FloatArray, f: FloatArray) -> FloatArray:
        with np.errstate(over="ignore", invalid="ignore"):
            out = 2.0 * f[:size] - c[:size]
        return np.where(np.isfinite(out), out, f[:size])  # past a divergence: inf

    return Moments(t=coarse.t[:size] * scale, mean=extrapolate(coarse.mean, fine.mean),
                   variance=extrapolate(coarse.variance, fine.variance),
                   fundamental=coarse.fundamental[:size],
                   diverged_at=np.minimum(coarse.diverged_at, fine.diverged_at) * scale)


def _both_grids(problem: SDDEProblem, dt: float) -> tuple[Moments, Moments]:
    """:func:`exact_moments` at ``dt`` and at ``dt / 2`` (every other step), their
    noise-free runs shared out over the available cores (fine grid first: it is the
    longer). The tasks are as large as the kernel likes (16 lanes): halving them to
    feed more threads cost 1.8× the CPU time on the 8-mode CLI example."""
    n_threads = _available_cores()
    coarse, coarse_tasks = noise_free_tasks(problem, dt, bound=_BOUND)
    fine, fine_tasks = noise_free_tasks(problem, dt / 2, bound=_BOUND)
    tasks = fine_tasks + coarse_tasks
    if n_threads == 1:
        for task in tasks:
            task()
    else:
        with ThreadPoolExecutor(max_workers=min(n_threads, len(tasks))) as pool:
            for done in [pool.submit(task) for task in tasks]:
                done.result()
    return _from_runs(problem, coarse, dt, 1), _from_runs(problem, fine, dt / 2, 2)


def _available_cores() -> int:
    """Cores this process may run on (at most 8: the tasks are few)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        n = os.cpu_count() or 1
    return max(1, min(n, 8))

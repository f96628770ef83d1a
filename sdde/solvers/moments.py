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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from sdde._numerics import FloatArray
from sdde.model.problem import Diffusion, LinearDrift, SDDEProblem
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
    diffusion = problem.diffusion
    if not (isinstance(problem.drift, LinearDrift) and isinstance(diffusion, Diffusion)
            and (diffusion.additive or diffusion.kind == "poisson")):
        raise ValueError("exact_moments needs a LinearDrift and additive or Poisson-form "
                         "Diffusion noise; estimate other problems with solve(...)")
    parts = [_one_mode(_mode(problem, m), dt, save_every) for m in range(problem.n_modes)]
    return Moments(t=parts[0].t, mean=np.hstack([q.mean for q in parts]),
                   variance=np.hstack([q.variance for q in parts]),
                   fundamental=np.hstack([q.fundamental for q in parts]),
                   diverged_at=np.array([float(q.diverged_at[0]) for q in parts]))


def _one_mode(problem: SDDEProblem, dt: float, save_every: int) -> Moments:
    """:func:`exact_moments` of a one-mode problem (a divergence stops that mode only)."""
    assert isinstance(problem.drift, LinearDrift) and isinstance(problem.diffusion, Diffusion)
    n_steps = round(problem.t_final / dt)
    quiet = replace(problem, diffusion=Diffusion(sigma=0.0))
    silence = np.zeros((n_steps, 1, 1))
    beta2 = float(np.asarray(problem.diffusion.beta)[0]) ** 2
    mean_run = solve(quiet, dt=dt, dW=silence, save_every=1 if beta2 > 0 else save_every,
                     bound=_BOUND)
    impulse = replace(quiet, drift=replace(problem.drift, offset=0.0),
                      history=_unit_impulse)
    r_run = solve(impulse, dt=dt, dW=silence, bound=_BOUND)
    r = r_run.x[:, 0]
    sigma2 = float(np.asarray(problem.diffusion.sigma)[0]) ** 2
    keep = slice(None, None, save_every)
    mean = mean_run.x[:, 0]
    if beta2 > 0.0:  # the mean at every step drives the second moment; then thinned
        every = mean[:, 0]
        with np.errstate(over="ignore", invalid="ignore"):
            second = second_moment(every, r[:, 0], dt, sigma2, beta2)
            variance = np.where(np.isfinite(second), second - every**2, np.inf)
        mean = mean[keep]
    else:
        with np.errstate(over="ignore"):  # r² <= 1e300; only a diverged sum reaches inf
            variance = np.concatenate([[0.0], sigma2 * dt * np.cumsum(r[:-1, 0] ** 2)])
    t, variance = r_run.t[keep], variance[keep, None]
    # after a divergence the frozen values mean nothing: report the limits instead
    mean_gone, r_gone = float(mean_run.diverged_at[0]), float(r_run.diverged_at[0])
    gone = t >= mean_gone
    mean[gone] = np.copysign(np.inf, mean[gone])
    variance[t >= r_gone] = np.inf
    return Moments(t=t, mean=mean, variance=variance, fundamental=r[keep],
                   diverged_at=np.array([min(mean_gone, r_gone)]))


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
    coarse = exact_moments(problem, dt=dt)
    fine = exact_moments(problem, dt=dt / 2, save_every=2)
    size = min(coarse.t.size, fine.t.size)

    def extrapolate(c: FloatArray, f: FloatArray) -> FloatArray:
        with np.errstate(over="ignore", invalid="ignore"):
            out = 2.0 * f[:size] - c[:size]
        return np.where(np.isfinite(out), out, f[:size])  # past a divergence: inf

    return Moments(t=coarse.t[:size] * scale, mean=extrapolate(coarse.mean, fine.mean),
                   variance=extrapolate(coarse.variance, fine.variance),
                   fundamental=coarse.fundamental[:size],
                   diverged_at=np.minimum(coarse.diverged_at, fine.diverged_at) * scale)

"""Exact mean and variance of linear SDDEs with additive noise, without Monte Carlo.

For ``dx = (b − Σ_c a_c y_c) dt + σ dW`` the delayed Euler–Maruyama scheme is linear:
``x_n = m_n + σ Σ_{k<n} r_{n−1−k} ΔW_k``, where ``m`` is the scheme run without noise
(the mean) and ``r`` its fundamental solution (``r_0 = 1``, zero history). So

    E[x_n] = m_n,    Var[x_n] = σ² dt Σ_{i<n} r_i²,

exactly for the scheme on the same grid (a Monte-Carlo run of :func:`sdde.solve` has
these moments, up to sampling error), and as ``dt → 0`` the moments of the SDDE, with
``Var x(t) = σ² ∫_0^t r(u)² du`` (THEORY.md §3) and its limit the stationary variance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sdde._numerics import FloatArray
from sdde.integrator import solve
from sdde.problem import Diffusion, LinearDrift, SDDEProblem


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
    """

    t: FloatArray
    mean: FloatArray
    variance: FloatArray
    fundamental: FloatArray


def exact_moments(problem: SDDEProblem, *, dt: float, save_every: int = 1) -> Moments:
    """Mean and variance of the delayed Euler–Maruyama solution, computed exactly.

    Parameters
    ----------
    problem : SDDEProblem
        A linear problem (:class:`sdde.LinearDrift`) with additive noise
        (:class:`sdde.Diffusion` with ``beta = 0``).
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
            and diffusion.additive):
        raise ValueError("exact_moments needs a LinearDrift and additive Diffusion noise "
                         "(beta = 0); estimate other problems with solve(...)")
    quiet = replace(problem, diffusion=Diffusion(sigma=0.0))
    zero = np.zeros((1, 1, problem.n_modes))
    n_steps = round(problem.t_final / dt)
    mean = solve(quiet, dt=dt, dW=np.zeros((n_steps, 1, problem.n_modes)),
                 save_every=save_every, bound=np.inf).x[:, 0]
    impulse = replace(quiet, drift=replace(problem.drift, offset=0.0),
                      history=_unit_impulse(problem.n_modes))
    full = solve(impulse, dt=dt, dW=np.broadcast_to(zero, (n_steps, 1, problem.n_modes)),
                 bound=np.inf)
    r = full.x[:, 0]
    sigma2 = np.broadcast_to(np.asarray(diffusion.sigma) ** 2, (problem.n_modes,))
    variance = np.vstack([np.zeros((1, problem.n_modes)),
                          sigma2 * dt * np.cumsum(r[:-1] ** 2, axis=0)])
    keep = slice(None, None, save_every)
    return Moments(t=full.t[keep], mean=mean, variance=variance[keep], fundamental=r[keep])


def _unit_impulse(n_modes: int):  # type: ignore[no-untyped-def]
    """History ``1`` at ``t = 0`` and ``0`` before."""
    def history(t: float) -> FloatArray:
        return np.full(n_modes, 1.0 if t == 0.0 else 0.0)
    return history

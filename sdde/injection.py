"""Delay injection (Dai et al.): SGD whose every gradient is uniformly stale, by design.

Staleness studies inject delay into sequential SGD instead of running a cluster: update
``t`` applies the gradient taken ``S_t`` updates earlier, ``S_t`` uniform on
``{0, …, K}`` and independent of everything else,

    θ_{t+1} = θ_t − η g(θ_{t − S_t}),        (θ_t = θ_0 for t <= 0).

Because the ``S_t`` are independent, the discrete-time model's mean recursion with the
uniform weights ``q_s = 1/(K + 1)`` is *exact* for the mean here (unlike a real
cluster, whose consecutive staleness values are dependent). The expected loss adds the
variance, which :func:`predicted_loss` takes from the additive gradient noise only (the
randomness of ``S_t`` itself adds a little more; the tests say how much).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sdde._numerics import FloatArray
from sdde.discrete import discrete_moments
from sdde.objectives import QuadraticObjective


def injected_weights(max_staleness: int) -> FloatArray:
    """``q_s = 1/(K + 1)`` for ``s = 0 … K``: the staleness law of delay injection."""
    if isinstance(max_staleness, bool) or not isinstance(max_staleness, int) \
            or max_staleness < 0:
        raise ValueError(f"max_staleness must be a whole number >= 0, got {max_staleness!r}")
    return np.full(max_staleness + 1, 1.0 / (max_staleness + 1))


@dataclass(frozen=True)
class InjectedRun:
    """Replicas of delay-injected SGD.

    Attributes
    ----------
    theta : ndarray, shape (replicas, n_updates + 1, d)
        Every iterate.
    loss : ndarray, shape (replicas, n_updates + 1)
        ``f(θ_t)`` (noise-free loss).
    """

    theta: FloatArray
    loss: FloatArray


def simulate_injected(objective: QuadraticObjective, *, lr: float, max_staleness: int,
                      n_updates: int, rng: np.random.Generator, replicas: int = 1,
                      theta0: float = 1.0) -> InjectedRun:
    """Run delay-injected SGD on a quadratic, all replicas at once.

    Parameters
    ----------
    objective : QuadraticObjective
        Curvatures and gradient-noise variances.
    lr : float
        Learning rate ``η``.
    max_staleness : int
        ``K``: each gradient is ``S ~ Uniform{0, …, K}`` updates old (``0``: plain SGD).
    n_updates : int
        Updates per replica.
    rng : numpy.random.Generator
    replicas : int
    theta0 : float
        Starting value of every coordinate (and the history before it).

    Returns
    -------
    InjectedRun

    Examples
    --------
    >>> f = QuadraticObjective(curvatures=[1.0])
    >>> run = simulate_injected(f, lr=0.5, max_staleness=0, n_updates=3,
    ...                         rng=np.random.default_rng(0))
    >>> run.theta[0, :, 0].tolist()               # plain gradient descent: ×(1 − η h)
    [1.0, 0.5, 0.25, 0.125]
    """
    q = injected_weights(max_staleness)
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    for name, value in (("n_updates", n_updates), ("replicas", replicas)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    h = objective.curvatures
    noise_sd = np.sqrt(np.asarray(objective.noise, dtype=np.float64))
    d = h.size
    theta = np.empty((replicas, n_updates + 1, d))
    theta[:, 0, :] = theta0
    rows = np.arange(replicas)
    for t in range(n_updates):
        lag = rng.integers(0, q.size, size=replicas)
        pulled = theta[rows, np.maximum(t - lag, 0), :]
        grad = h * pulled + noise_sd * rng.standard_normal((replicas, d))
        theta[:, t + 1, :] = theta[:, t, :] - lr * grad
    loss = 0.5 * np.einsum("rtd,d->rt", theta * theta, h)
    return InjectedRun(theta=theta, loss=loss)


def predicted_moments(objective: QuadraticObjective, *, lr: float, max_staleness: int,
                      n_updates: int, theta0: float = 1.0) -> tuple[FloatArray, FloatArray]:
    """Mean (exact) and additive-noise variance of every coordinate after ``0 … n``
    updates, shape ``(n_updates + 1, d)`` each (:func:`sdde.discrete.discrete_moments`)."""
    q = injected_weights(max_staleness)
    pairs = [discrete_moments(lr * float(h), q, n_updates, x0=theta0, noise=lr * lr * float(c))
             for h, c in zip(objective.curvatures, np.asarray(objective.noise), strict=True)]
    return (np.stack([m for m, _ in pairs], axis=1), np.stack([v for _, v in pairs], axis=1))


def predicted_loss(objective: QuadraticObjective, *, lr: float, max_staleness: int,
                   n_updates: int, theta0: float = 1.0) -> FloatArray:
    """``E f(θ_t) ≈ ½ Σ h (m² + v)`` after ``0 … n_updates`` updates."""
    mean, var = predicted_moments(objective, lr=lr, max_staleness=max_staleness,
                                  n_updates=n_updates, theta0=theta0)
    return np.asarray(0.5 * (mean * mean + var) @ objective.curvatures)


def iterations_to_target(loss: FloatArray, target: float) -> float:
    """First update index where ``loss`` is at or below ``target`` (``inf`` if never)."""
    below = np.flatnonzero(np.asarray(loss) <= target)
    return float(below[0]) if below.size else math.inf


def relative_iterations(objective: QuadraticObjective, *, lr: float, max_staleness: int,
                        target: float, n_updates: int, theta0: float = 1.0) -> float:
    """Predicted iterations to ``target`` with staleness up to ``K``, over those with none
    (Dai et al.'s measure of the cost of staleness)."""
    fresh = iterations_to_target(predicted_loss(objective, lr=lr, max_staleness=0,
                                                n_updates=n_updates, theta0=theta0), target)
    if not math.isfinite(fresh) or fresh == 0:
        raise ValueError(f"plain SGD does not reach the target {target:g} within "
                         f"{n_updates} updates (or starts below it): raise n_updates or "
                         "the target")
    stale = iterations_to_target(predicted_loss(objective, lr=lr, max_staleness=max_staleness,
                                                n_updates=n_updates, theta0=theta0), target)
    return stale / fresh

"""Asynchrony as implicit momentum: geometric staleness makes SGD a heavy-ball method.

If the staleness ``S`` of each applied gradient is geometric, ``P(S = s) = p (1 − p)^s``
(exact for exponential round times, with ``p = 1/n``; the moment-matched geometric law for
any other, since the mean staleness is always ``n − 1``), the mean recursion of the
discrete-time model, ``x_{t+1} = x_t − α Σ_s q_s x_{t−s}``, is *exactly* the heavy-ball
recursion

    x_{t+1} = x_t − α p x_t + μ (x_t − x_{t−1}),      μ = 1 − p,   t >= 1,

(``x_1 = (1 − α) x_0`` from the constant history): the geometric weights obey
``y_t = p x_t + (1 − p) y_{t−1}`` for ``y_t = Σ_s q_s x_{t−s}``, which turns the infinite
memory into one step of momentum (Mitliagkas et al. 2016, "Asynchrony begets momentum").
The heavy ball is stable iff ``0 < α p < 2 (1 + μ)``, so the discrete threshold of
geometric staleness is ``α* = 2 (2 − p) / p`` (``2 (2n − 1)`` for ``p = 1/n``).
Derivation: ``theory/derivations/implicit_momentum.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sdde._numerics import FloatArray


@dataclass(frozen=True)
class HeavyBall:
    """The heavy-ball method equivalent to asynchronous SGD with geometric staleness.

    Attributes
    ----------
    momentum : float
        ``μ = 1 − p``.
    step : float
        The gain per update ``α p`` (``α = η h`` of the asynchronous method).
    """

    momentum: float
    step: float

    @property
    def stable(self) -> bool:
        """Whether ``|roots of z² − (1 + μ − αp) z + μ| < 1``: ``0 < αp < 2(1 + μ)``."""
        return 0.0 < self.step < 2.0 * (1.0 + self.momentum)

    @property
    def spectral_radius(self) -> float:
        """Largest modulus of the roots of ``z² − (1 + μ − αp) z + μ``: the error's
        geometric rate per update."""
        roots = np.roots([1.0, -(1.0 + self.momentum - self.step), self.momentum])
        return float(np.max(np.abs(roots)))

    def mean(self, n_steps: int, *, x0: float = 1.0, alpha: float | None = None) -> FloatArray:
        """``x_0 … x_{n_steps}`` of the recursion from the constant history ``x0``.

        The first step is the asynchronous method's own, ``x_1 = (1 − α) x_0`` with
        ``α = step / (1 − momentum)`` (the history has no momentum yet).
        """
        p = 1.0 - self.momentum
        a = self.step / p if alpha is None else alpha
        x = np.empty(n_steps + 1)
        x[0] = x0
        if n_steps >= 1:
            x[1] = (1.0 - a) * x0
        for t in range(1, n_steps):
            x[t + 1] = x[t] - self.step * x[t] + self.momentum * (x[t] - x[t - 1])
        return x


def heavy_ball(alpha: float, p: float) -> HeavyBall:
    """The heavy ball equivalent to gain ``α = η h`` under geometric staleness ``p``.

    Parameters
    ----------
    alpha : float
        Per-update gain ``η h`` (> 0).
    p : float
        Geometric staleness parameter in ``(0, 1]`` (``1/n`` for ``n`` exponential workers).

    Examples
    --------
    >>> hb = heavy_ball(0.5, 1 / 8)          # 8 exponential workers
    >>> hb.momentum, hb.step
    (0.875, 0.0625)
    """
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p!r}")
    return HeavyBall(momentum=1.0 - p, step=alpha * p)


def implicit_momentum(workers: int) -> float:
    """``μ = 1 − 1/n``: the momentum ``n`` asynchronous workers imply (geometric staleness
    of mean ``n − 1``)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    return 1.0 - 1.0 / workers


def geometric_critical_alpha(p: float) -> float:
    """``α* = 2 (2 − p) / p``: the discrete-time threshold of geometric staleness."""
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p!r}")
    return 2.0 * (2.0 - p) / p

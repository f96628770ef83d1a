"""The model against the reference simulator (THEORY.md §4), one quantity at a time.

So far: the divergence threshold, measured by bisection on the learning rate with the
exact simulator (:func:`measured_threshold`), to be set beside the SDDE's ``κ*`` and the
discrete-time model's threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sdde.model import AsyncSGDModel
from sdde.objectives import QuadraticObjective
from sdde.simulator import run
from sdde.stability import critical_kappa

#: Bracket expansions (each a factor 2) before giving up.
_MAX_DOUBLINGS = 40


@dataclass(frozen=True)
class MeasuredThreshold:
    """A divergence threshold bracketed by simulation.

    Attributes
    ----------
    lr_stable, lr_unstable : float
        The largest learning rate classified stable and the smallest classified
        unstable; the threshold lies between them.
    kappa_stable, kappa_unstable : float
        The same as ``κ = η n h_max``.
    replicas, n_updates : int
        Runs per learning rate (majority vote) and updates per run.
    """

    lr_stable: float
    lr_unstable: float
    kappa_stable: float
    kappa_unstable: float
    replicas: int
    n_updates: int

    @property
    def kappa(self) -> float:
        """Midpoint of the bracket."""
        return 0.5 * (self.kappa_stable + self.kappa_unstable)


def measured_threshold(model: AsyncSGDModel, *, rng: np.random.Generator,
                       n_updates: int = 20_000, replicas: int = 5,
                       rel_tol: float = 2e-3) -> MeasuredThreshold:
    """The learning rate at which the simulated server starts to diverge.

    Only the stiffest mode (largest curvature ``h``) matters. It is simulated without
    gradient noise from ``θ₀ = 1``: a learning rate is *unstable* when the envelope of
    the loss (its maximum over a window) is larger over the last quarter of the run than
    over the second quarter, or the run diverged. A majority of ``replicas`` decides.
    Bisection starts from the SDDE's ``κ*`` and stops when the bracket is narrower than
    ``rel_tol``; near the threshold the growth rate vanishes, so a longer run
    (``n_updates``) resolves a narrower bracket.

    Parameters
    ----------
    model : AsyncSGDModel
        Its learning rate is ignored; the cluster, spectrum and step policy are used.
    rng : numpy.random.Generator
        Source of randomness (each learning rate gets fresh replicas).
    n_updates, replicas : int
        Length and number of the runs per learning rate.
    rel_tol : float
        Relative width of the final bracket.

    Returns
    -------
    MeasuredThreshold
    """
    if not 0 < rel_tol < 1:
        raise ValueError(f"rel_tol must lie in (0, 1), got {rel_tol!r}")
    h = float(model.curvatures[-1])
    scale = model.n_workers * h  # κ = lr · scale
    guess = critical_kappa(model.kernel)
    guess = guess if math.isfinite(guess) else 4.0
    objective = QuadraticObjective(curvatures=np.array([h]), noise=0.0)

    def unstable(lr: float) -> bool:
        res = run(model.cluster, objective, lr=lr, n_updates=n_updates, rng=rng,
                  policy=model.policy, replicas=replicas, theta0=1.0,
                  record_every=max(1, n_updates // 400))
        votes = 0
        for r in range(replicas):
            if res.status[r] == "diverged":
                votes += 1
                continue
            loss = res.loss[r]
            quarter = loss.size // 4
            early, late = loss[quarter:2 * quarter].max(), loss[3 * quarter:].max()
            votes += bool(late > early)
        return 2 * votes > replicas

    lo, hi = 0.5 * guess / scale, 2.0 * guess / scale
    for _ in range(_MAX_DOUBLINGS):
        if not unstable(lo):
            break
        lo, hi = lo / 2.0, lo
    for _ in range(_MAX_DOUBLINGS):
        if unstable(hi):
            break
        lo, hi = hi, hi * 2.0
    else:
        raise ValueError(f"no divergence found up to lr = {hi:g}: the server stays stable "
                         f"at every learning rate tried")
    while hi - lo > rel_tol * hi:
        mid = 0.5 * (lo + hi)
        if unstable(mid):
            hi = mid
        else:
            lo = mid
    return MeasuredThreshold(lr_stable=lo, lr_unstable=hi, kappa_stable=lo * scale,
                             kappa_unstable=hi * scale, replicas=replicas,
                             n_updates=n_updates)

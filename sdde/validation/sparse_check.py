"""Sparsified asynchronous SGD: the SDDE's time to target against the exact simulator.

The quadratic repeats each Hessian mode of the model over ``copies`` coordinates (so that
a sparsifier has ``d = modes × copies`` coordinates to choose from; the model's spectrum
weights must be those multiplicities). The simulation's time is the first crossing of the
loss averaged over replicas, with a bootstrap 95 % interval. The prediction is a bracket
from the equivalent model (:func:`sdde.literature.sparse_sgd.sparsified_model`): its
exact SDDE
moments, whose mean is the mean-field one, with

* only the minibatch noise (``lower``): the lumps' own randomness left out, so ``E[x²]``
  and the time are underestimated;
* the squared size of every push added as noise with the coordinate frozen over a push's
  rounds (``upper``: :attr:`~sdde.literature.sparse_sgd.SparsifiedModel.jump_factor`); by
  Cauchy–Schwarz ``(Σ_{j≤G} x_j)² ≤ G Σ_j x_j²``, so this overestimates the lumps of error
  feedback.

Unsparsified and masked pushes (small jumps) give a narrow bracket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sdde.literature.sparse_sgd import BRACKET_HORIZON, predicted_loss, sparsified_model
from sdde.model.async_sgd import AsyncSGDModel
from sdde.simulator._curves import first_crossing, loss_on_grid
from sdde.simulator.objectives import QuadraticObjective
from sdde.simulator.server import run
from sdde.simulator.sparsification import Sparsifier
from sdde.stability.report import analyze_stability
from sdde.validation.compare import _bootstrap_half_width

__all__ = ["SparseTimeToTarget", "time_to_target_check"]

#: Points of the common time grid the replicas' losses are read on.
_GRID = 2000


@dataclass(frozen=True)
class SparseTimeToTarget:
    """Time until the expected loss falls below a target, predicted and simulated.

    Attributes
    ----------
    sparsifier : str
    lower, upper : float
        The SDDE's times without and with the pushes' squared-size noise (``inf``: not
        within the horizon).
    simulated : float
        First crossing of the replicas' mean loss (``inf`` if not within the run).
    half_width : float
        Half-width of the simulated value's bootstrap 95 % interval.
    loss_floor : float
        The equivalent model's stationary expected loss (minibatch noise only).
    times, lower_loss, upper_loss, simulated_loss : ndarray
        The expected-loss curves on a common time grid (for plots).
    """

    sparsifier: str
    lower: float
    upper: float
    simulated: float
    half_width: float
    loss_floor: float
    times: np.ndarray
    lower_loss: np.ndarray
    upper_loss: np.ndarray
    simulated_loss: np.ndarray

    def within(self, relative: float) -> bool:
        """Whether the simulated time lies in ``[lower, upper]`` widened by ``relative``
        and by two half-widths of its interval."""
        slack = 2.0 * self.half_width
        return bool((1.0 - relative) * self.lower - slack <= self.simulated
                    <= (1.0 + relative) * self.upper + slack)


def time_to_target_check(model: AsyncSGDModel, sparsifier: Sparsifier, *, copies: int,
                         target: float, rng: np.random.Generator, replicas: int = 8,
                         horizon: float | None = None) -> SparseTimeToTarget:
    """Predicted and simulated time to ``target`` for sparsified pushes.

    Parameters
    ----------
    model : AsyncSGDModel
        One group of workers, constant policy; its spectrum weights equal ``copies``.
    sparsifier : Sparsifier
    copies : int
        Coordinates per Hessian mode in the simulated quadratic.
    target : float
        Loss level (the initial loss is ``½ Σ copies · h``, every coordinate at 1).
    rng : numpy.random.Generator
    replicas : int
    horizon : float, optional
        Simulated time (default 4 × the lower predicted time to target).

    Returns
    -------
    SparseTimeToTarget
    """
    weights = np.asarray(model.spectrum.weights, dtype=np.float64)
    if not np.all(weights == copies):
        raise ValueError(f"the model's spectrum weights must all equal copies = {copies}")
    dim = model.spectrum.n_modes * copies
    sparse = sparsified_model(model, sparsifier, dim)
    report = analyze_stability(sparse.equivalent, target_loss=target, optimise_workers=False,
                               server=False)
    if horizon is None:
        t = report.time_to_target
        additive = math.inf if t is None else float(t)
        if not 0.0 < additive < math.inf:
            raise ValueError("the model never reaches the target, or starts below it: "
                             "give a horizon")
        horizon = BRACKET_HORIZON * additive
    grid = np.linspace(0.0, horizon, _GRID)
    lower_loss, upper_loss = (predicted_loss(sparse, grid, lumps=lumps)
                              for lumps in (False, True))
    curvatures = np.repeat(model.curvatures, copies)
    noise = np.repeat(model.noise_variances, copies)
    cluster = model.cluster
    n_updates = math.ceil(horizon * cluster.arrival_rate) + 2 * cluster.n_workers
    result = run(cluster, QuadraticObjective(curvatures=curvatures, noise=noise), lr=model.lr,
                 n_updates=n_updates, rng=rng, replicas=replicas, sparsifier=sparsifier,
                 record_every=max(1, n_updates // _GRID))
    losses = loss_on_grid(result, grid)
    simulated = first_crossing(grid, losses.mean(axis=0), target)
    half = _bootstrap_half_width(losses, lambda m: first_crossing(grid, m, target), rng)
    return SparseTimeToTarget(
        sparsifier=str(sparsifier), lower=first_crossing(grid, lower_loss, target),
        upper=first_crossing(grid, upper_loss, target), simulated=simulated,
        half_width=half, loss_floor=report.loss_floor, times=grid, lower_loss=lower_loss,
        upper_loss=upper_loss, simulated_loss=losses.mean(axis=0))

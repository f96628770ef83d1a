"""Stability charts: which (workers, learning rate) pairs converge.

A mode diverges iff ``κ = η n h >= κ*``, and the threshold ``κ*`` depends on ``n`` only
through the kernel's shape (shared link, staleness threshold, step policy). So a chart
needs one threshold per worker count (one in all when the shape does not change) and a
vectorised comparison, not a root search per point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray
from sdde.model import AsyncSGDModel
from sdde.stability import critical_kappa


@dataclass(frozen=True)
class StabilityChart:
    """Verdicts on a workers × learning-rate grid.

    Attributes
    ----------
    workers : ndarray of int, shape (n_workers,)
    lrs : ndarray, shape (n_lrs,)
    kappa_star : ndarray, shape (n_workers,)
        Threshold of the kernel at each worker count.
    headroom : ndarray, shape (n_workers, n_lrs)
        ``κ* / κ_max``: above 1 the run converges.
    """

    workers: npt.NDArray[np.int64]
    lrs: FloatArray
    kappa_star: FloatArray
    headroom: FloatArray

    @property
    def stable(self) -> npt.NDArray[np.bool_]:
        """Whether every mode converges, per grid point."""
        return np.asarray(self.headroom > 1.0)

    @property
    def max_stable_lr(self) -> FloatArray:
        """Largest stable learning rate per worker count: ``κ*(n) / (n h_max)``."""
        return np.asarray(self.kappa_star / self.workers, dtype=np.float64) / self._h_max

    _h_max: float = 1.0


def stability_chart(model: AsyncSGDModel, workers: npt.ArrayLike,
                    lrs: npt.ArrayLike) -> StabilityChart:
    """Verdict of every (workers, learning rate) pair for the model's loss and cluster.

    Parameters
    ----------
    model : AsyncSGDModel
        Supplies the cluster (one worker group), spectrum and policy; its own ``lr`` and
        worker count are ignored.
    workers : array_like of int
        Worker counts (rows).
    lrs : array_like of float
        Learning rates (columns).

    Returns
    -------
    StabilityChart

    Examples
    --------
    >>> from sdde import Cluster, HessianSpectrum, delays
    >>> m = AsyncSGDModel(lr=0.01, spectrum=HessianSpectrum.parse("1"),
    ...                   cluster=Cluster(workers=1, delay=delays.Deterministic(value=1.0)))
    >>> chart = stability_chart(m, [10, 20], [0.05, 0.1])
    >>> chart.stable.tolist()  # stable iff η n < π/2
    [[True, True], [True, False]]
    """
    n = np.asarray(workers, dtype=np.int64)
    eta = np.asarray(lrs, dtype=np.float64)
    if n.ndim != 1 or n.size == 0 or np.any(n < 1):
        raise ValueError("workers must be a non-empty list of whole numbers >= 1")
    if eta.ndim != 1 or eta.size == 0 or not np.all(np.isfinite(eta) & (eta > 0)):
        raise ValueError("lrs must be a non-empty list of finite numbers > 0")
    if model.kernel_depends_on_workers:
        kappa_star = np.array([critical_kappa(model.with_workers(int(k)).kernel) for k in n])
    else:
        kappa_star = np.full(n.shape, critical_kappa(model.kernel))
    h_max = model.spectrum.h_max
    kappa_max = eta[None, :] * n[:, None] * h_max
    return StabilityChart(workers=n, lrs=eta, kappa_star=kappa_star,
                          headroom=kappa_star[:, None] / kappa_max, _h_max=h_max)

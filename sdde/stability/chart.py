"""Stability charts: which (workers, learning rate) pairs converge.

A mode diverges iff ``κ = η n h >= κ*``, and the threshold ``κ*`` depends on ``n`` only
through the kernel's shape (shared link, staleness threshold, step policy). So a chart
needs one threshold per worker count (one in all when the shape does not change) and a
vectorised comparison, not a root search per point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray, finite_or_none
from sdde.model.async_sgd import AsyncSGDModel
from sdde.stability.mean_field import critical_kappa
from sdde.stability.thresholds import almost_sure_by_workers


@dataclass(frozen=True)
class StabilityChart:
    """Verdicts on a workers × learning-rate grid.

    Attributes
    ----------
    workers : ndarray of int, shape (n_workers,)
    lrs : ndarray, shape (n_lrs,)
    kappa_star : ndarray, shape (n_workers,)
        Mean-field threshold of the kernel at each worker count.
    kappa_as : ndarray, shape (n_workers,)
        Almost-sure threshold of the server at each worker count (the verdict's).
    headroom : ndarray, shape (n_workers, n_lrs)
        ``κ_as / κ_max``: above 1 a run converges.
    """

    workers: npt.NDArray[np.int64]
    lrs: FloatArray
    kappa_star: FloatArray
    kappa_as: FloatArray
    headroom: FloatArray

    @property
    def stable(self) -> npt.NDArray[np.bool_]:
        """Whether every mode converges, per grid point."""
        return np.asarray(self.headroom > 1.0)

    @property
    def max_stable_lr(self) -> FloatArray:
        """Largest stable learning rate per worker count: ``κ_as(n) / (n h_max)``."""
        return np.asarray(self.kappa_as / self.workers, dtype=np.float64) / self._h_max

    _h_max: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: the grid, ``κ*`` and the boundary per worker count, verdicts."""
        return {"workers": [int(n) for n in self.workers],
                "lrs": [float(v) for v in self.lrs],
                "critical_kappa": [finite_or_none(float(k)) for k in self.kappa_star],
                "almost_sure_kappa": [finite_or_none(float(k)) for k in self.kappa_as],
                "max_stable_lr": [finite_or_none(float(v)) for v in self.max_stable_lr],
                "converges": self.stable.tolist()}

    def summary(self, point: tuple[int, float], rows: int = 9) -> str:
        """A few worker counts around ``point = (n, lr)``: boundary and verdict at ``lr``."""
        n, lr = point
        picks = np.unique(np.concatenate([
            np.geomspace(self.workers[0], self.workers[-1], rows).round(), [n]]))
        lines = [f"Stability chart around n = {n}, η = {lr:g} "
                 f"(full grid {self.workers.size} × {self.lrs.size} in --json / --plot)",
                 f"  {'workers':>8}  {'max stable lr':>14}  {'at η = ' + format(lr, 'g'):>14}"]
        for k in picks.astype(np.int64):
            i = int(np.argmin(np.abs(self.workers - k)))
            bound = float(self.max_stable_lr[i])
            verdict = "converges" if lr < bound else "DIVERGES"
            mark = "  ← you" if self.workers[i] == n else ""
            lines.append(f"  {int(self.workers[i]):>8}  {bound:>14.4g}  {verdict:>14}{mark}")
        return "\n".join(lines)


def chart_around(model: AsyncSGDModel, *, span: float = 8.0, n_workers: int = 40,
                 n_lrs: int = 60) -> StabilityChart:
    """A workers × learning-rate chart centred on the model's own point (log scales).

    Worker counts from ``n / span`` to ``n · span`` (whole numbers, the model's ``n``
    included) and learning rates from ``η / span²`` to ``η · span²``.
    """
    workers, lrs = chart_axes(model.n_workers, model.lr, span=span, n_workers=n_workers,
                              n_lrs=n_lrs)
    return stability_chart(model, workers, lrs)


def chart_axes(n: int, lr: float, *, span: float = 8.0, n_workers: int = 40,
               n_lrs: int = 60) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The worker counts and learning rates of :func:`chart_around` (no analysis).

    Whole worker counts from ``n / span`` to ``n · span`` (``n`` included, log-spaced,
    distinct) and ``n_lrs`` learning rates from ``η / span²`` to ``η · span²``.
    """
    workers = np.unique(np.concatenate([
        np.geomspace(max(1.0, n / span), n * span, n_workers).round(), [n]])).astype(np.int64)
    return workers, np.geomspace(lr / span**2, lr * span**2, n_lrs)


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
    >>> chart.stable.tolist()  # a run converges iff η n < 2 n sin(π/(4n − 2)) (≈ π/2)
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
    kappa_as = almost_sure_by_workers(model, n)
    h_max = model.spectrum.h_max
    kappa_max = eta[None, :] * n[:, None] * h_max
    return StabilityChart(workers=n, lrs=eta, kappa_star=kappa_star, kappa_as=kappa_as,
                          headroom=kappa_as[:, None] / kappa_max, _h_max=h_max)

"""The three divergence thresholds of the real server, side by side, and which one binds.

* **mean** (``E θ`` bounded): the mean-field ``κ*`` of the SDDE
  (:mod:`sdde.stability.mean_field`);
* **mean square** (``E θ²`` bounded): :mod:`sdde.stability.mean_square`;
* **almost sure** (a single run converges): :mod:`sdde.stability.almost_sure`.

By Jensen's inequality ``κ_ms <= κ_as`` for the server, and ``κ_ms`` is also below the
server's own mean threshold. The verdict a user reads is the almost-sure one: below
``κ_ms`` runs converge with a finite stationary variance; between ``κ_ms`` and ``κ_as``
they converge but the stationary loss is heavy-tailed (infinite variance with gradient
noise); above ``κ_as`` a typical run blows up. theory/divergence.md has the derivations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray, finite_or_none
from sdde._progress import ProgressCallback
from sdde.model.async_sgd import AsyncSGDModel
from sdde.stability.almost_sure import (
    AlmostSureThreshold,
    almost_sure_threshold,
    closed_form_threshold,
    tabulated_threshold,
)
from sdde.stability.mean_field import critical_kappa
from sdde.stability.mean_square import mean_square_threshold

Regime = Literal["converges", "heavy-tailed", "diverges"]


@dataclass(frozen=True)
class Threshold:
    """One notion's divergence threshold, as a gain ``κ = η n h``.

    Attributes
    ----------
    kappa : float
        The threshold (``inf``: none).
    half_width : float
        95 % interval half-width (0 for exact or deterministic computations).
    method : str
        How it was computed (``"SDDE mean field"``, ``"closed form"``,
        ``"Poisson SDDE"``, ``"Lyapunov estimate"``, ...).
    exact : bool
        Whether it is the real server's threshold exactly (up to its interval).
    """

    kappa: float
    half_width: float
    method: str
    exact: bool

    def to_dict(self, lr_per_kappa: float) -> dict[str, Any]:
        """Plain JSON types; ``lr`` is the learning rate at the threshold."""
        return {"kappa": finite_or_none(self.kappa), "lr": finite_or_none(
            self.kappa * lr_per_kappa), "half_width": finite_or_none(self.half_width),
            "method": self.method, "exact": self.exact}


@dataclass(frozen=True)
class DivergenceThresholds:
    """The mean, mean-square and almost-sure thresholds of one model's cluster and policy.

    Attributes
    ----------
    mean, mean_square, almost_sure : Threshold
        The three thresholds (``κ`` units).
    sigma2 : float
        Variance rate of ``log |θ|`` per mean round at the almost-sure threshold (NaN if
        not estimated).
    """

    mean: Threshold
    mean_square: Threshold
    almost_sure: Threshold
    sigma2: float = math.nan

    @property
    def binding(self) -> Threshold:
        """The threshold of the verdict: the almost-sure one (a typical run diverges)."""
        return self.almost_sure

    def regime(self, kappa: float) -> Regime:
        """What a mode of gain ``kappa`` does: converges, heavy-tailed, or diverges."""
        if kappa >= self.almost_sure.kappa:
            return "diverges"
        return "heavy-tailed" if kappa >= self.mean_square.kappa else "converges"

    def to_dict(self, lr_per_kappa: float) -> dict[str, Any]:
        """Plain JSON types, one entry per notion, and the binding one's name."""
        return {"mean": self.mean.to_dict(lr_per_kappa),
                "mean_square": self.mean_square.to_dict(lr_per_kappa),
                "almost_sure": self.almost_sure.to_dict(lr_per_kappa),
                "binding": "almost_sure"}


def mean_field_thresholds(model: AsyncSGDModel) -> DivergenceThresholds:
    """The mean-field ``κ*`` in every slot, for a model that stands for no server.

    An equivalent model (e.g. :func:`sdde.literature.sparse_sgd.sparsified_model`'s, whose
    rounds are geometric sums of the real ones) has no server whose staleness sequence
    could be simulated; its report keeps the mean-field verdict and says so.
    """
    kappa_star = critical_kappa(model.kernel)
    mean = Threshold(kappa=kappa_star, half_width=0.0, method="SDDE mean field", exact=False)
    proxy = Threshold(kappa=kappa_star, half_width=0.0,
                      method="SDDE mean field (equivalent model: no server to simulate)",
                      exact=False)
    return DivergenceThresholds(mean=mean, mean_square=proxy, almost_sure=proxy)


def divergence_thresholds(model: AsyncSGDModel, *,
                          rng: np.random.Generator | None = None,
                          progress: ProgressCallback | None = None) -> DivergenceThresholds:
    """The three divergence thresholds of ``model``'s cluster and step policy.

    Parameters
    ----------
    model : AsyncSGDModel
        Its cluster, step policy and kernel are used (the learning rate and spectrum are
        not: thresholds are gains ``κ``).
    rng : numpy.random.Generator, optional
        For the almost-sure estimate where no closed form or table applies (default: a
        fixed seed, with the result cached).
    progress : callable, optional
        Called with the fraction done of the almost-sure Monte Carlo estimate, if one runs.

    Returns
    -------
    DivergenceThresholds

    Examples
    --------
    >>> from sdde import AsyncSGDModel, Cluster, HessianSpectrum, delays
    >>> m = AsyncSGDModel(lr=0.01, spectrum=HessianSpectrum.parse("1"),
    ...                   cluster=Cluster(workers=16, delay=delays.parse("exponential:mean=1")))
    >>> t = divergence_thresholds(m)
    >>> t.mean.kappa, round(t.mean_square.kappa, 3), round(t.almost_sure.kappa, 1)
    (inf, 6.179, 7.6)
    """
    policy = None if model.policy.is_constant else model.policy
    kappa_star = critical_kappa(model.kernel)
    mean = Threshold(kappa=kappa_star, half_width=0.0, method="SDDE mean field", exact=False)
    surely: AlmostSureThreshold = almost_sure_threshold(model.cluster, policy, rng=rng,
                                                                progress=progress)
    almost = Threshold(kappa=surely.kappa, half_width=surely.half_width, method=surely.method,
                       exact=True)
    ms = mean_square_threshold(model.cluster, policy, kernel=model.kernel)
    square = Threshold(kappa=ms.kappa, half_width=0.0, method=ms.method, exact=ms.exact)
    if square.kappa > almost.kappa:  # E θ² cannot stay bounded where runs blow up
        square = Threshold(kappa=almost.kappa, half_width=almost.half_width,
                           method=f"{ms.method}, capped at the almost-sure threshold",
                           exact=False)
    return DivergenceThresholds(mean=mean, mean_square=square, almost_sure=almost,
                                sigma2=surely.sigma2)


#: Worker counts at which the almost-sure threshold is estimated for a chart or a sweep
#: when neither a closed form nor the table applies; between them it is interpolated
#: (linearly in ``1/n``, or in ``√n`` where the mean-field ``κ*`` is infinite).
WORKER_KNOTS = 12


def almost_sure_by_workers(model: AsyncSGDModel, workers: npt.ArrayLike, *,
                           rel_tol: float = 0.02) -> FloatArray:
    """``κ_as(n)`` of the model's cluster and policy at each worker count.

    Closed forms and the table are used where they apply (every ``n``); otherwise the
    threshold is estimated at up to :data:`WORKER_KNOTS` geometrically spaced counts (each
    estimate cached) and interpolated, which is what keeps a 200 × 200 chart cheap.
    """
    n = np.asarray(workers, dtype=np.int64)
    distinct = np.unique(n)

    def at(k: int) -> float:
        variant = model.with_workers(int(k))
        policy = None if variant.policy.is_constant else variant.policy
        return almost_sure_threshold(variant.cluster, policy, rel_tol=rel_tol).kappa

    probe = model.with_workers(int(distinct[0]))
    cheap = closed_form_threshold(probe.cluster, None if probe.policy.is_constant
                                  else probe.policy) is not None or tabulated_threshold(
        probe.cluster, None if probe.policy.is_constant else probe.policy) is not None
    if cheap or distinct.size <= WORKER_KNOTS:
        values = {int(k): at(int(k)) for k in distinct}
        return np.array([values[int(k)] for k in n], dtype=np.float64)
    knots = np.unique(np.geomspace(distinct[0], distinct[-1], WORKER_KNOTS).round()
                      ).astype(np.int64)
    known = np.array([at(int(k)) for k in knots])
    if math.isinf(critical_kappa(model.kernel)):
        return np.asarray(np.interp(np.sqrt(n), np.sqrt(knots), known), dtype=np.float64)
    return np.asarray(np.interp(1.0 / n, 1.0 / knots[::-1], known[::-1]), dtype=np.float64)

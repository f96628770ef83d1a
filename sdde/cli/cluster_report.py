"""Reports: one call gathers the figures a user asks for, with text and JSON renderings.

The CLI, notebooks and figure scripts all call :func:`analyze_cluster`; none of them
computes anything the report does not hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdde._numerics import finite_or_none
from sdde._progress import ProgressCallback
from sdde.cluster.cluster import INERT_THRESHOLD_MASS, Cluster, RunTime
from sdde.cluster.staleness import StalenessLaw

#: Updates a run-time estimate is quoted for when the caller does not say.
DEFAULT_UPDATES = 10_000

_METHOD_LABELS = {
    "poisson": "Poisson approximation",
    "renewal": "exact (renewal theory)",
    "simulation": "exact (simulated)",
}


@dataclass(frozen=True, kw_only=True)
class ClusterReport:
    """What a cluster does with gradients: rates, times, staleness (approximate and exact).

    Attributes
    ----------
    cluster : Cluster
        The analysed cluster.
    arrival_rate : float
        Gradients arriving per time unit.
    accepted_rate : float
        Updates applied per time unit (equal to ``arrival_rate`` without a threshold).
    run_time : RunTime
        Time to apply ``run_time.updates`` updates.
    sync_round_time : float
        ``E[max_i X_i]``: the round time synchronous SGD would have.
    staleness : StalenessLaw
        Poisson approximation.
    staleness_exact : StalenessLaw or None
        Exact law (renewal theory or simulation); None when not asked for.
    """

    cluster: Cluster
    arrival_rate: float
    accepted_rate: float
    run_time: RunTime
    sync_round_time: float
    staleness: StalenessLaw
    staleness_exact: StalenessLaw | None

    @property
    def total_variation(self) -> float | None:
        """Distance between the Poisson approximation and the exact staleness law."""
        if self.staleness_exact is None:
            return None
        return self.staleness.total_variation(self.staleness_exact)

    def acceptance(self, law: StalenessLaw) -> float:
        """Accepted fraction of gradients under the threshold for ``law`` (1 without one)."""
        k = self.cluster.threshold
        return 1.0 if k is None else float(law.cdf(k))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (no NaN or infinity: unbounded values are ``None``)."""
        exact = self.staleness_exact
        return {
            "cluster": {
                **self.cluster.to_dict(),
                "arrival_rate": self.arrival_rate,
                "accepted_rate": self.accepted_rate,
                "acceptance": self.acceptance(self.staleness),
                "run_time": self.run_time.to_dict(),
                "sync_round_time": finite_or_none(self.sync_round_time),
                "staleness": self.staleness.to_dict(),
                "staleness_exact": None if exact is None else {
                    **exact.to_dict(), "acceptance": self.acceptance(exact)},
                "staleness_total_variation": self.total_variation,
            },
        }

    def summary(self) -> str:
        """A compact plain-text table for the terminal."""
        c = self.cluster
        lines = [f"cluster: {c.n_workers} workers"]
        for g in c.groups:
            law = g.delay
            lines.append(f"  {g.workers:>5} × rounds {law}  (mean {law.mean:.4g}, "
                         f"cv {_num(law.cv)})")
        if c.link is not None:
            lines.append(f"  shared link adds {c.link.comm_time(c.n_workers):.4g} per round")
        lines += [
            f"  arrival rate        {self.arrival_rate:.4g} gradients per time unit",
            f"  run time            {_run_time_text(self.run_time)}",
            f"  synchronous round   {self.sync_round_time:.4g} time units "
            f"(E[max of {c.n_workers}]); async applies "
            f"{self.accepted_rate * self.sync_round_time:.3g} updates in that time",
        ]
        if c.inert_threshold is not None:
            lines.append(f"  staleness cut-off K={c.inert_threshold} drops no gradient (staleness "
                         f"above it has probability < {INERT_THRESHOLD_MASS:g}): analysed "
                         "without a threshold")
        if c.threshold is not None:
            lines.append(f"  staleness cut-off K={c.threshold}: accepted fraction "
                         f"{self.acceptance(self.staleness):.4f} (Poisson)"
                         + ("" if self.staleness_exact is None else
                            f", {self.acceptance(self.staleness_exact):.4f} (exact)"))
        lines.append("staleness (server updates between a gradient's pull and push)")
        lines.append(f"  {'':<26}{'mean':>9}{'std':>9}{'p50':>7}{'p99':>7}")
        for stale in filter(None, (self.staleness, self.staleness_exact)):
            lines.append(f"  {_METHOD_LABELS[stale.method]:<26}{stale.mean:>9.4g}{stale.std:>9.4g}"
                         f"{_int(stale.quantile(0.5)):>7}{_int(stale.quantile(0.99)):>7}")
            if stale.n_samples:
                lines.append(f"  {'':<26}(from {stale.n_samples} simulated gradients)")
        if self.total_variation is not None:
            lines.append(f"  total variation between them: {self.total_variation:.4f}")
        return "\n".join(lines)


def analyze_cluster(
    cluster: Cluster,
    *,
    updates: int = DEFAULT_UPDATES,
    exact: bool = True,
    rng: np.random.Generator | None = None,
    n_gradients: int | None = None,
    progress: ProgressCallback | None = None,
) -> ClusterReport:
    """Rates, run time and staleness of a cluster.

    Parameters
    ----------
    cluster : Cluster
        The cluster.
    updates : int
        Number of updates the run time is quoted for.
    exact : bool
        Also compute the exact staleness law (closed form where possible, otherwise
        simulated with ``rng``).
    rng : numpy.random.Generator, optional
        Needed when the exact law is simulated.
    n_gradients : int, optional
        Gradients to simulate for a simulated exact law.
    progress : callable, optional
        Called with the fraction done of the exact staleness computation.

    Returns
    -------
    ClusterReport
    """
    staleness_exact = None
    if exact:
        kwargs: dict[str, Any] = {"rng": rng, "progress": progress}
        if n_gradients is not None:
            kwargs["n_gradients"] = n_gradients
        staleness_exact = cluster.staleness("exact", **kwargs)
    return ClusterReport(
        cluster=cluster,
        arrival_rate=cluster.arrival_rate,
        accepted_rate=cluster.accepted_rate,
        run_time=cluster.run_time(updates),
        sync_round_time=cluster.sync_round_time,
        staleness=cluster.staleness("poisson"),
        staleness_exact=staleness_exact,
    )


def _num(v: float) -> str:
    """A number for the report: 3 digits, or ∞."""
    return "∞" if math.isinf(v) else f"{v:.3g}"


def _int(v: float) -> str:
    return str(int(v)) if math.isfinite(v) else ">max"


def _run_time_text(run_time: Any) -> str:
    """``mean ± std time units for N updates``, or why the spread is not a number."""
    head = f"{run_time.mean:.4g}"
    tail = f" time units for {run_time.updates} updates"
    if math.isinf(run_time.std):
        return (head + tail + " (spread unbounded: the round times have infinite variance, "
                "so a run's length varies without bound)")
    return f"{head} ± {run_time.std:.2g}{tail}"

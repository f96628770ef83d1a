"""The cluster: workers, arrivals and staleness.

A :class:`Cluster` is a set of worker groups, each with a computation-time law, and an
optional staleness cut-off and shared link. This layer answers everything that depends on
the cluster alone: the arrival rate, the run time, the synchronous round, and the staleness
law of the gradients, under the Poisson approximation and exactly (renewal theory, or a
simulation of the merged push schedule), plus staleness models fitted to measured
histograms.

Layer 2 of 12. It may import ``sdde.delays`` and the shared
``sdde._numerics``/``sdde._progress``; it is imported by ``sdde.model``,
``sdde.simulator``, ``sdde.solvers``, ``sdde.stability``, ``sdde.literature``,
``sdde.schedule``, ``sdde.validation``, ``sdde.sweeps``, ``sdde.cli``
(docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.cluster.cluster import (
        DEFAULT_SIMULATED_GRADIENTS,
        Cluster,
        RunTime,
        SharedLink,
        WorkerGroup,
        default_delay,
    )
    from sdde.cluster.staleness import StalenessLaw, mixed_poisson_pmf, poisson_staleness
    from sdde.cluster.staleness_models import FittedStaleness, fit_best, fit_staleness

_EXPORTS = {
    "Cluster": "sdde.cluster.cluster",
    "WorkerGroup": "sdde.cluster.cluster",
    "SharedLink": "sdde.cluster.cluster",
    "RunTime": "sdde.cluster.cluster",
    "default_delay": "sdde.cluster.cluster",
    "DEFAULT_SIMULATED_GRADIENTS": "sdde.cluster.cluster",
    "StalenessLaw": "sdde.cluster.staleness",
    "poisson_staleness": "sdde.cluster.staleness",
    "mixed_poisson_pmf": "sdde.cluster.staleness",
    "FittedStaleness": "sdde.cluster.staleness_models",
    "fit_staleness": "sdde.cluster.staleness_models",
    "fit_best": "sdde.cluster.staleness_models",
}
__all__ = [
    "DEFAULT_SIMULATED_GRADIENTS",
    "Cluster",
    "FittedStaleness",
    "RunTime",
    "SharedLink",
    "StalenessLaw",
    "WorkerGroup",
    "default_delay",
    "fit_best",
    "fit_staleness",
    "mixed_poisson_pmf",
    "poisson_staleness",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__

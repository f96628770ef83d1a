"""Sweeps: an analysis over a labelled grid, as an xarray.Dataset.

Analyses (stability, simulation, any function), executors (in-process, a local process pool,
Dask) and a resumable store of chunk files; every point is seeded by its coordinates, so
results do not depend on how the grid was split. ``sdde.sweep`` is its public entry point.

Layer 11 of 12. It may import ``sdde.delays``, ``sdde.cluster``, ``sdde.model``,
``sdde.simulator``, ``sdde.solvers``, ``sdde.stability``, ``sdde.literature``,
``sdde.schedule``, ``sdde.validation`` and the shared
``sdde._numerics``/``sdde._progress``; it is imported by ``sdde.cli``
(docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.sweeps.analyses import FunctionAnalysis, SimulationAnalysis, StabilityAnalysis
    from sdde.sweeps.engine import check_sweep, open_sweep, sweep

_EXPORTS = {
    "sweep": "sdde.sweeps.engine",
    "open_sweep": "sdde.sweeps.engine",
    "check_sweep": "sdde.sweeps.engine",
    "StabilityAnalysis": "sdde.sweeps.analyses",
    "SimulationAnalysis": "sdde.sweeps.analyses",
    "FunctionAnalysis": "sdde.sweeps.analyses",
}
__all__ = [
    "FunctionAnalysis",
    "SimulationAnalysis",
    "StabilityAnalysis",
    "check_sweep",
    "open_sweep",
    "sweep",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__

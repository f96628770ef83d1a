"""The reference: an exact event-driven simulation of the parameter server.

Workers pull, compute for a random time and push; the server applies every gradient on
arrival, with its true staleness, cut-off, step policy and (optionally) sparsification. No
approximation: every model above is checked against it. A compiled event loop and a plain-
Python twin agree update for update. Objectives (quadratic, logistic regression, any
gradient oracle) live here too.

Layer 5 of 12. It may import ``sdde.delays``, ``sdde.cluster``, ``sdde.model`` and the
shared ``sdde._numerics``/``sdde._progress``; it is imported by ``sdde.solvers``,
``sdde.stability``, ``sdde.literature``, ``sdde.schedule``, ``sdde.validation``,
``sdde.sweeps``, ``sdde.cli`` (docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.simulator.logistic import LogisticRegressionObjective
    from sdde.simulator.objectives import GradientOracle, QuadraticObjective
    from sdde.simulator.server import SimulationResult, run, simulate
    from sdde.simulator.sparsification import Sparsifier, sparsify

_EXPORTS = {
    "SimulationResult": "sdde.simulator.server",
    "simulate": "sdde.simulator.server",
    "run": "sdde.simulator.server",
    "QuadraticObjective": "sdde.simulator.objectives",
    "GradientOracle": "sdde.simulator.objectives",
    "LogisticRegressionObjective": "sdde.simulator.logistic",
    "Sparsifier": "sdde.simulator.sparsification",
    "sparsify": "sdde.simulator.sparsification",
}
__all__ = [
    "GradientOracle",
    "LogisticRegressionObjective",
    "QuadraticObjective",
    "SimulationResult",
    "Sparsifier",
    "run",
    "simulate",
    "sparsify",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__

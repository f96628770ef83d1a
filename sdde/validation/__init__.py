"""Every prediction against the reference simulator, with intervals.

Comparisons of arrival rates, staleness laws, decay rates, stationary variances, times to
target and divergence thresholds (``sdde.validate``), the validation table, and the
simulation report that runs the simulator beside a model's prediction.

Layer 10 of 12. It may import ``sdde.delays``, ``sdde.cluster``, ``sdde.model``,
``sdde.simulator``, ``sdde.solvers``, ``sdde.stability``, ``sdde.literature``,
``sdde.schedule`` and the shared ``sdde._numerics``/``sdde._progress``; it is imported
by ``sdde.sweeps``, ``sdde.cli`` (docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.validation.compare import Comparison, MeasuredThreshold, measured_threshold
    from sdde.validation.simulation_report import SimulationReport, simulate_report
    from sdde.validation.sparse_check import time_to_target_check
    from sdde.validation.table import ValidationTable, validation_table

_EXPORTS = {
    "Comparison": "sdde.validation.compare",
    "MeasuredThreshold": "sdde.validation.compare",
    "measured_threshold": "sdde.validation.compare",
    "validation_table": "sdde.validation.table",
    "ValidationTable": "sdde.validation.table",
    "SimulationReport": "sdde.validation.simulation_report",
    "simulate_report": "sdde.validation.simulation_report",
    "time_to_target_check": "sdde.validation.sparse_check",
}
__all__ = [
    "Comparison",
    "MeasuredThreshold",
    "SimulationReport",
    "ValidationTable",
    "measured_threshold",
    "simulate_report",
    "time_to_target_check",
    "validation_table",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__

"""Scheduling: which workers, which cut-off, which step policy and learning rate are fastest.

:func:`schedule` searches the decision space of a cluster owner for the shortest
predicted time to a target loss (or the fastest decay) subject to the real server's
stability with a safety margin; :mod:`sdde.schedule.speed` tabulates each kernel's rate
curve once so the learning-rate axis and every Hessian mode are look-ups.

Layer 9 of 12. It may import ``sdde.delays``, ``sdde.cluster``, ``sdde.model``,
``sdde.simulator``, ``sdde.solvers``, ``sdde.stability``, ``sdde.literature`` and the
shared ``sdde._numerics``/``sdde._progress``; it is imported by ``sdde.validation``,
``sdde.sweeps``, ``sdde.cli`` (docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.schedule.optimizer import Candidate, Schedule, Setting, schedule
    from sdde.schedule.speed import Configuration, RateCurve, Speed

_EXPORTS = {
    "schedule": "sdde.schedule.optimizer",
    "Schedule": "sdde.schedule.optimizer",
    "Setting": "sdde.schedule.optimizer",
    "Candidate": "sdde.schedule.optimizer",
    "Configuration": "sdde.schedule.speed",
    "RateCurve": "sdde.schedule.speed",
    "Speed": "sdde.schedule.speed",
}
__all__ = ["Candidate", "Configuration", "RateCurve", "Schedule", "Setting", "Speed",
           "schedule"]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__

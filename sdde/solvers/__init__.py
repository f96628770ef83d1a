"""Solving the SDDE: sample paths and exact moments.

:func:`solve` integrates an :class:`SDDEProblem` (delayed Euler–Maruyama, compiled, for
point, distributed and chain kernels); :func:`exact_moments` gives the mean and variance of
a model's modes without sampling.

Layer 6 of 12. It may import ``sdde.delays``, ``sdde.cluster``, ``sdde.model``,
``sdde.simulator`` and the shared ``sdde._numerics``/``sdde._progress``; it is imported
by ``sdde.stability``, ``sdde.literature``, ``sdde.schedule``, ``sdde.validation``,
``sdde.sweeps``, ``sdde.cli`` (docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.solvers.algorithms import SOLVERS, AbstractSolver, DelayedEulerMaruyama
    from sdde.solvers.integrator import Solution, solve
    from sdde.solvers.moments import Moments, exact_moments, model_moments

_EXPORTS = {
    "AbstractSolver": "sdde.solvers.algorithms",
    "DelayedEulerMaruyama": "sdde.solvers.algorithms",
    "SOLVERS": "sdde.solvers.algorithms",
    "Solution": "sdde.solvers.integrator",
    "solve": "sdde.solvers.integrator",
    "Moments": "sdde.solvers.moments",
    "exact_moments": "sdde.solvers.moments",
    "model_moments": "sdde.solvers.moments",
}
__all__ = [
    "SOLVERS",
    "AbstractSolver",
    "DelayedEulerMaruyama",
    "Moments",
    "Solution",
    "exact_moments",
    "model_moments",
    "solve",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__

"""Models from the neighbouring papers, in the same framework.

Delay injection (Dai et al.), asynchrony as implicit momentum, the synchronous baseline,
sparsified pushes (Candela et al.) and the linearisation of any objective at its minimiser:
each is reduced to the SDDE machinery of the layers below.

Layer 8 of 12. It may import ``sdde.delays``, ``sdde.cluster``, ``sdde.model``,
``sdde.simulator``, ``sdde.solvers``, ``sdde.stability`` and the shared
``sdde._numerics``/``sdde._progress``; it is imported by ``sdde.schedule``,
``sdde.validation``, ``sdde.sweeps``, ``sdde.cli`` (docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.literature.injection import InjectionReport, analyze_injection, simulate_injected
    from sdde.literature.linearization import LinearizedObjective, linearize
    from sdde.literature.momentum import HeavyBall, heavy_ball, implicit_momentum
    from sdde.literature.sparse_sgd import SparsifiedModel, analyze_sparsified, sparsified_model
    from sdde.literature.synchrony import SyncComparison, compare_synchronous

_EXPORTS = {
    "analyze_injection": "sdde.literature.injection",
    "simulate_injected": "sdde.literature.injection",
    "InjectionReport": "sdde.literature.injection",
    "implicit_momentum": "sdde.literature.momentum",
    "heavy_ball": "sdde.literature.momentum",
    "HeavyBall": "sdde.literature.momentum",
    "compare_synchronous": "sdde.literature.synchrony",
    "SyncComparison": "sdde.literature.synchrony",
    "linearize": "sdde.literature.linearization",
    "LinearizedObjective": "sdde.literature.linearization",
    "sparsified_model": "sdde.literature.sparse_sgd",
    "SparsifiedModel": "sdde.literature.sparse_sgd",
    "analyze_sparsified": "sdde.literature.sparse_sgd",
}
__all__ = [
    "HeavyBall",
    "InjectionReport",
    "LinearizedObjective",
    "SparsifiedModel",
    "SyncComparison",
    "analyze_injection",
    "analyze_sparsified",
    "compare_synchronous",
    "heavy_ball",
    "implicit_momentum",
    "linearize",
    "simulate_injected",
    "sparsified_model",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__

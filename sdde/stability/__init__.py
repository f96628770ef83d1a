"""Stability and speed: will it diverge, and how fast does it converge?

The real server's divergence thresholds (almost-sure: a run blows up; mean-square: E θ²
grows) beside the mean-field κ* of the SDDE, the characteristic roots (Lambert W, spectral
discretisation polished by Newton, certified by the argument principle), the stationary
variance, the discrete-time model with the exact staleness law, stability charts, and
:func:`analyze_stability`, which assembles them into the report a user reads.

Layer 7 of 12. It may import ``sdde.delays``, ``sdde.cluster``, ``sdde.model``,
``sdde.simulator``, ``sdde.solvers`` and the shared
``sdde._numerics``/``sdde._progress``; it is imported by ``sdde.literature``,
``sdde.schedule``, ``sdde.validation``, ``sdde.sweeps``, ``sdde.cli``
(docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.stability.almost_sure import (
        AlmostSureThreshold,
        almost_sure_threshold,
        lyapunov_curve,
    )
    from sdde.stability.chart import StabilityChart, stability_chart
    from sdde.stability.discrete import discrete_critical_alpha, discrete_moments, discrete_roots
    from sdde.stability.mean_field import KAPPA_MAX, critical_kappa, stationary_variance
    from sdde.stability.mean_square import MeanSquareThreshold, mean_square_threshold
    from sdde.stability.report import StabilityReport, analyze_stability
    from sdde.stability.roots import (
        characteristic_roots,
        lambert_w,
        point_delay_roots,
        unstable_root_count,
    )
    from sdde.stability.thresholds import DivergenceThresholds, divergence_thresholds

_EXPORTS = {
    "AlmostSureThreshold": "sdde.stability.almost_sure",
    "almost_sure_threshold": "sdde.stability.almost_sure",
    "lyapunov_curve": "sdde.stability.almost_sure",
    "MeanSquareThreshold": "sdde.stability.mean_square",
    "mean_square_threshold": "sdde.stability.mean_square",
    "DivergenceThresholds": "sdde.stability.thresholds",
    "divergence_thresholds": "sdde.stability.thresholds",
    "KAPPA_MAX": "sdde.stability.mean_field",
    "critical_kappa": "sdde.stability.mean_field",
    "stationary_variance": "sdde.stability.mean_field",
    "characteristic_roots": "sdde.stability.roots",
    "dominant_decay_rate": "sdde.stability.roots",
    "dominant_root": "sdde.stability.roots",
    "unstable_root_count": "sdde.stability.roots",
    "point_delay_roots": "sdde.stability.roots",
    "lambert_w": "sdde.stability.roots",
    "discrete_critical_alpha": "sdde.stability.discrete",
    "discrete_roots": "sdde.stability.discrete",
    "discrete_moments": "sdde.stability.discrete",
    "StabilityChart": "sdde.stability.chart",
    "stability_chart": "sdde.stability.chart",
    "StabilityReport": "sdde.stability.report",
    "analyze_stability": "sdde.stability.report",
}
__all__ = [
    "KAPPA_MAX",
    "AlmostSureThreshold",
    "DivergenceThresholds",
    "MeanSquareThreshold",
    "StabilityChart",
    "StabilityReport",
    "almost_sure_threshold",
    "analyze_stability",
    "characteristic_roots",
    "critical_kappa",
    "discrete_critical_alpha",
    "discrete_moments",
    "discrete_roots",
    "divergence_thresholds",
    "dominant_decay_rate",
    "dominant_root",
    "lambert_w",
    "lyapunov_curve",
    "mean_square_threshold",
    "point_delay_roots",
    "stability_chart",
    "stationary_variance",
    "unstable_root_count",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__

"""sdde: will your asynchronous SGD converge, and how fast?

Asynchronous SGD is modelled as a stochastic delay differential equation driven by
Poisson-approximated gradient arrivals, and every answer is checked against an exact
discrete simulation. The public surface is curated here and loaded on first use (so the
command line starts instantly); modules whose names start with ``_`` are private.

Examples
--------
>>> import sdde
>>> cluster = sdde.Cluster(workers=32, delay=sdde.delays.parse("gamma:shape=2,mean=1"))
>>> cluster.arrival_rate
32.0
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sdde import analyses, chart, delays, discrete, plots, sweep, symbolic, validate
    from sdde.cluster import Cluster, RunTime, SharedLink, WorkerGroup
    from sdde.delays import DelayLaw
    from sdde.integrator import Solution, solve
    from sdde.kernels import DelayKernel, StepPolicy
    from sdde.logistic import LogisticRegressionObjective
    from sdde.model import AsyncSGDModel
    from sdde.moments import Moments, exact_moments
    from sdde.noise import brownian_increments
    from sdde.objectives import QuadraticObjective
    from sdde.problem import Delay, Diffusion, LinearDrift, SDDEProblem
    from sdde.report import ClusterReport, analyze_cluster
    from sdde.roots import characteristic_roots
    from sdde.simulator import SimulationResult, simulate
    from sdde.solvers import AbstractSolver, DelayedEulerMaruyama
    from sdde.sparse_model import SparsifiedModel, sparsified_model
    from sdde.sparsification import Sparsifier
    from sdde.spectrum import HessianSpectrum
    from sdde.stability import critical_kappa, stationary_variance
    from sdde.stability_report import StabilityReport, analyze_stability
    from sdde.staleness import StalenessLaw

try:
    __version__ = version("sdde")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

#: Public submodules, reachable as ``sdde.<name>`` after ``import sdde`` alone.
_SUBMODULES = ("analyses", "chart", "delays", "discrete", "plots", "sweep", "symbolic",
               "validate")

_PUBLIC = {
    "Cluster": "sdde.cluster",
    "RunTime": "sdde.cluster",
    "SharedLink": "sdde.cluster",
    "WorkerGroup": "sdde.cluster",
    "DelayLaw": "sdde.delays",
    "StalenessLaw": "sdde.staleness",
    "ClusterReport": "sdde.report",
    "analyze_cluster": "sdde.report",
    "HessianSpectrum": "sdde.spectrum",
    "critical_kappa": "sdde.stability",
    "characteristic_roots": "sdde.roots",
    "AsyncSGDModel": "sdde.model",
    "DelayKernel": "sdde.kernels",
    "StepPolicy": "sdde.kernels",
    "StabilityReport": "sdde.stability_report",
    "analyze_stability": "sdde.stability_report",
    "stationary_variance": "sdde.stability",
    "SDDEProblem": "sdde.problem",
    "Delay": "sdde.problem",
    "LinearDrift": "sdde.problem",
    "Diffusion": "sdde.problem",
    "AbstractSolver": "sdde.solvers",
    "DelayedEulerMaruyama": "sdde.solvers",
    "solve": "sdde.integrator",
    "Solution": "sdde.integrator",
    "exact_moments": "sdde.moments",
    "Moments": "sdde.moments",
    "brownian_increments": "sdde.noise",
    "QuadraticObjective": "sdde.objectives",
    "LogisticRegressionObjective": "sdde.logistic",
    "SimulationResult": "sdde.simulator",
    "simulate": "sdde.simulator",
    "Sparsifier": "sdde.sparsification",
    "SparsifiedModel": "sdde.sparse_model",
    "sparsified_model": "sdde.sparse_model",
}

__all__ = [
    "AbstractSolver",
    "AsyncSGDModel",
    "Cluster",
    "ClusterReport",
    "Delay",
    "DelayKernel",
    "DelayLaw",
    "DelayedEulerMaruyama",
    "Diffusion",
    "HessianSpectrum",
    "LinearDrift",
    "LogisticRegressionObjective",
    "Moments",
    "QuadraticObjective",
    "RunTime",
    "SDDEProblem",
    "SharedLink",
    "SimulationResult",
    "Solution",
    "SparsifiedModel",
    "Sparsifier",
    "StabilityReport",
    "StalenessLaw",
    "StepPolicy",
    "WorkerGroup",
    "__version__",
    "analyses",
    "analyze_cluster",
    "analyze_stability",
    "brownian_increments",
    "characteristic_roots",
    "chart",
    "critical_kappa",
    "delays",
    "discrete",
    "exact_moments",
    "plots",
    "simulate",
    "solve",
    "sparsified_model",
    "stationary_variance",
    "sweep",
    "symbolic",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # symbolic loads sympy, plots matplotlib: only on first use
        return importlib.import_module(f"sdde.{name}")
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'sdde' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

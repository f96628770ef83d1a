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
from typing import TYPE_CHECKING, Any

from sdde import _lazy
from sdde._version import __version__

if TYPE_CHECKING:
    from sdde import delays, symbolic
    from sdde.cli import plots
    from sdde.cli.cluster_report import ClusterReport, analyze_cluster
    from sdde.cluster.cluster import Cluster, RunTime, SharedLink, WorkerGroup
    from sdde.cluster.staleness import StalenessLaw
    from sdde.delays import DelayLaw
    from sdde.literature.sparse_sgd import SparsifiedModel, sparsified_model
    from sdde.model.async_sgd import AsyncSGDModel
    from sdde.model.kernels import DelayKernel, StepPolicy
    from sdde.model.noise import brownian_increments
    from sdde.model.problem import Delay, Diffusion, LinearDrift, SDDEProblem
    from sdde.model.spectrum import HessianSpectrum
    from sdde.simulator.logistic import LogisticRegressionObjective
    from sdde.simulator.objectives import QuadraticObjective
    from sdde.simulator.server import SimulationResult, simulate
    from sdde.simulator.sparsification import Sparsifier
    from sdde.solvers.algorithms import AbstractSolver, DelayedEulerMaruyama
    from sdde.solvers.integrator import Solution, solve
    from sdde.solvers.moments import Moments, exact_moments
    from sdde.stability import chart, discrete
    from sdde.stability.mean_field import critical_kappa, stationary_variance
    from sdde.stability.report import StabilityReport, analyze_stability
    from sdde.stability.roots import characteristic_roots
    from sdde.sweeps import analyses
    from sdde.sweeps import engine as sweep
    from sdde.validation import compare as validate


#: Public modules reachable as ``sdde.<name>`` after ``import sdde`` alone, loaded on first
#: use (symbolic loads sympy, plots matplotlib). Besides the layers, four modules keep the
#: short names they had before the package was split into layers.
_MODULES = {
    "chart": "sdde.stability.chart",
    "discrete": "sdde.stability.discrete",
    "plots": "sdde.cli.plots",
    "analyses": "sdde.sweeps.analyses",
}

_PUBLIC = {
    "Cluster": "sdde.cluster.cluster",
    "RunTime": "sdde.cluster.cluster",
    "SharedLink": "sdde.cluster.cluster",
    "WorkerGroup": "sdde.cluster.cluster",
    "DelayLaw": "sdde.delays",
    "StalenessLaw": "sdde.cluster.staleness",
    "ClusterReport": "sdde.cli.cluster_report",
    "analyze_cluster": "sdde.cli.cluster_report",
    "HessianSpectrum": "sdde.model.spectrum",
    "critical_kappa": "sdde.stability.mean_field",
    "characteristic_roots": "sdde.stability.roots",
    "AsyncSGDModel": "sdde.model.async_sgd",
    "DelayKernel": "sdde.model.kernels",
    "StepPolicy": "sdde.model.kernels",
    "StabilityReport": "sdde.stability.report",
    "analyze_stability": "sdde.stability.report",
    "stationary_variance": "sdde.stability.mean_field",
    "SDDEProblem": "sdde.model.problem",
    "Delay": "sdde.model.problem",
    "LinearDrift": "sdde.model.problem",
    "Diffusion": "sdde.model.problem",
    "AbstractSolver": "sdde.solvers.algorithms",
    "DelayedEulerMaruyama": "sdde.solvers.algorithms",
    "solve": "sdde.solvers.integrator",
    "Solution": "sdde.solvers.integrator",
    "exact_moments": "sdde.solvers.moments",
    "Moments": "sdde.solvers.moments",
    "brownian_increments": "sdde.model.noise",
    "QuadraticObjective": "sdde.simulator.objectives",
    "LogisticRegressionObjective": "sdde.simulator.logistic",
    "SimulationResult": "sdde.simulator.server",
    "simulate": "sdde.simulator.server",
    "Sparsifier": "sdde.simulator.sparsification",
    "SparsifiedModel": "sdde.literature.sparse_sgd",
    "sparsified_model": "sdde.literature.sparse_sgd",
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
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    return _lazy.load(__name__, _PUBLIC, name)


def __dir__() -> list[str]:
    return sorted(__all__)

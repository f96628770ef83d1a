"""The asynchronous-SGD model: what is being trained, and how.

An :class:`AsyncSGDModel` joins a cluster, a learning rate, a Hessian spectrum, gradient
noise and a step policy; its delay kernel (the law of a gradient's age, thinned by the
staleness cut-off and weighted by the step policy) is what every analysis above works with.
An :class:`SDDEProblem` is the SDDE written as data (linear drift over delay kernels,
diffusion), which the model produces and the solvers consume.

Layer 3 of 12. It may import ``sdde.delays``, ``sdde.cluster`` and the shared
``sdde._numerics``/``sdde._progress``; it is imported by ``sdde.curvature``,
``sdde.simulator``, ``sdde.solvers``, ``sdde.stability``, ``sdde.literature``, ``sdde.schedule``,
``sdde.validation``, ``sdde.sweeps``, ``sdde.cli`` (docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.model.async_sgd import AsyncSGDModel
    from sdde.model.kernels import DelayKernel, StepPolicy
    from sdde.model.noise import brownian_increments
    from sdde.model.problem import Delay, Diffusion, LinearDrift, SDDEProblem
    from sdde.model.spectrum import HessianSpectrum

_EXPORTS = {
    "AsyncSGDModel": "sdde.model.async_sgd",
    "DelayKernel": "sdde.model.kernels",
    "StepPolicy": "sdde.model.kernels",
    "HessianSpectrum": "sdde.model.spectrum",
    "brownian_increments": "sdde.model.noise",
    "SDDEProblem": "sdde.model.problem",
    "Delay": "sdde.model.problem",
    "LinearDrift": "sdde.model.problem",
    "Diffusion": "sdde.model.problem",
}
__all__ = [
    "AsyncSGDModel",
    "Delay",
    "DelayKernel",
    "Diffusion",
    "HessianSpectrum",
    "LinearDrift",
    "SDDEProblem",
    "StepPolicy",
    "brownian_increments",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__

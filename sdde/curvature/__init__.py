"""Curvature and gradient noise from a user's own model, for any framework.

Everything here takes a Hessian-vector product ``hvp(v) -> H v`` on numpy float64 vectors
(the framework adapters build one from a JAX or PyTorch loss) and returns typed results:
:func:`top_eigenvalues` (Lanczos, ``scipy.sparse.linalg.eigsh``), :func:`spectral_density`
(stochastic Lanczos quadrature, with the standard error of its moments) and
:func:`gradient_noise` (sdde's per-mode noise variance from per-example gradients). Each
result has ``to_spectrum()`` / ``variances`` to feed :class:`sdde.AsyncSGDModel`
(docs/curvature.md).

Layer 4 of 12. It may import ``sdde.delays``, ``sdde.cluster``, ``sdde.model`` and the
shared ``sdde._numerics``; nothing in the package imports it but the layers above.
JAX, PyTorch and ``scipy.sparse.linalg`` load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.curvature._operator import FlatHVP
    from sdde.curvature.jax_adapter import hvp_from_jax, per_example_gradients_from_jax
    from sdde.curvature.lanczos import TopEigenvalues, top_eigenvalues
    from sdde.curvature.noise import GradientNoise, gradient_noise
    from sdde.curvature.slq import SpectralDensity, spectral_density
    from sdde.curvature.torch_adapter import hvp_from_torch, per_example_gradients_from_torch

_EXPORTS = {
    "FlatHVP": "sdde.curvature._operator",
    "TopEigenvalues": "sdde.curvature.lanczos",
    "top_eigenvalues": "sdde.curvature.lanczos",
    "SpectralDensity": "sdde.curvature.slq",
    "spectral_density": "sdde.curvature.slq",
    "GradientNoise": "sdde.curvature.noise",
    "gradient_noise": "sdde.curvature.noise",
    "hvp_from_jax": "sdde.curvature.jax_adapter",
    "per_example_gradients_from_jax": "sdde.curvature.jax_adapter",
    "hvp_from_torch": "sdde.curvature.torch_adapter",
    "per_example_gradients_from_torch": "sdde.curvature.torch_adapter",
}
__all__ = [
    "FlatHVP",
    "GradientNoise",
    "SpectralDensity",
    "TopEigenvalues",
    "gradient_noise",
    "hvp_from_jax",
    "hvp_from_torch",
    "per_example_gradients_from_jax",
    "per_example_gradients_from_torch",
    "spectral_density",
    "top_eigenvalues",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__

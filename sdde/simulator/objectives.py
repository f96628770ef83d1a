"""Gradient oracles for the reference simulator.

``QuadraticObjective`` is the model of THEORY.md §3 in the Hessian's eigenbasis:
``f(θ) = ½ Σ_i h_i θ_i²`` with stochastic gradients ``h ⊙ θ + sqrt(c) ⊙ z``,
``z ~ N(0, I)``: O(d) per gradient, and the exact counterpart of the SDDE's modes. Any
object with ``dim``, ``loss(θ)`` and ``stochastic_gradient(θ, rng)`` (a
:class:`GradientOracle`) can be simulated too, e.g. a non-quadratic loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from sdde._numerics import FloatArray


@runtime_checkable
class GradientOracle(Protocol):
    """What the simulator needs from an objective."""

    @property
    def dim(self) -> int:
        """Number of parameters."""
        ...

    def loss(self, theta: FloatArray) -> float:
        """The (noise-free) loss at ``theta``."""
        ...

    def stochastic_gradient(self, theta: FloatArray, rng: np.random.Generator) -> FloatArray:
        """One stochastic gradient at ``theta``, drawing its randomness from ``rng``."""
        ...


@dataclass(frozen=True, kw_only=True)
class QuadraticObjective:
    """``f(θ) = ½ Σ h_i θ_i²`` with Gaussian gradient noise of variance ``c_i`` per coordinate.

    Parameters
    ----------
    curvatures : array_like
        Hessian eigenvalues ``h_i > 0`` (one coordinate per mode).
    noise : float or array_like
        Gradient-noise variances ``c_i >= 0`` (one value or one per coordinate).

    Examples
    --------
    >>> f = QuadraticObjective(curvatures=[1.0, 4.0], noise=0.0)
    >>> f.loss(np.array([1.0, 1.0]))
    2.5
    """

    curvatures: FloatArray
    noise: FloatArray | float = 0.0

    def __post_init__(self) -> None:
        h = np.atleast_1d(np.asarray(self.curvatures, dtype=np.float64))
        if h.ndim != 1 or h.size == 0 or not np.all(np.isfinite(h) & (h > 0)):
            raise ValueError("curvatures must be a non-empty list of finite numbers > 0")
        c = np.atleast_1d(np.asarray(self.noise, dtype=np.float64))
        if c.shape not in ((1,), h.shape) or not np.all(np.isfinite(c) & (c >= 0)):
            raise ValueError(f"noise must be finite and >= 0 (one value or {h.size}), "
                             f"got {self.noise!r}")
        object.__setattr__(self, "curvatures", h)
        object.__setattr__(self, "noise", np.array(np.broadcast_to(c, h.shape)))

    @property
    def dim(self) -> int:
        """Number of coordinates ``d``."""
        return int(self.curvatures.size)

    def loss(self, theta: FloatArray) -> float:
        """``½ Σ h θ²`` (the noise-free loss)."""
        return float(0.5 * np.dot(self.curvatures, theta * theta))

    def gradient(self, theta: FloatArray, z: FloatArray) -> FloatArray:
        """A stochastic gradient at ``theta`` from standard normals ``z`` (shape ``(d,)``)."""
        return np.asarray(self.curvatures * theta + np.sqrt(self.noise) * z)

    def stochastic_gradient(self, theta: FloatArray, rng: np.random.Generator) -> FloatArray:
        """:meth:`gradient` with ``z`` drawn from ``rng`` (the :class:`GradientOracle` form)."""
        return self.gradient(theta, rng.standard_normal(self.dim))

"""Hessian-vector products as plain numpy callables: the one interface every method uses.

A Hessian-vector product (HVP) is any callable ``hvp(v) -> H v`` on float64 vectors of
length ``dim``. The framework adapters return a :class:`FlatHVP`, which is such a callable
and also knows its ``dim`` and how to map a flat vector back to the model's parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdde._numerics import FloatArray

HVP = Callable[[FloatArray], Any]


@dataclass(frozen=True, kw_only=True)
class FlatHVP:
    """A Hessian-vector product on the flattened parameter vector.

    Parameters
    ----------
    apply : callable
        ``apply(v) -> H v`` on float64 arrays of shape ``(dim,)``.
    dim : int
        Number of parameters.
    unravel : callable
        Maps a flat vector of shape ``(dim,)`` back to the model's parameter structure
        (a JAX pytree, a dict of torch tensors), e.g. to look at an eigenvector.
    framework : str
        Where the product comes from (``"jax"``, ``"torch"``).
    """

    apply: Callable[[FloatArray], FloatArray]
    dim: int
    unravel: Callable[[FloatArray], Any]
    framework: str

    def __call__(self, v: FloatArray) -> FloatArray:
        return self.apply(v)


def resolve_dim(hvp: HVP, dim: int | None) -> int:
    """``dim``, or ``hvp.dim`` when ``dim`` is None; the two must agree when both exist."""
    own = getattr(hvp, "dim", None)
    if dim is None:
        if own is None:
            raise ValueError("dim: give the number of parameters (the length of the vectors "
                             "hvp takes), e.g. top_eigenvalues(hvp, 650)")
        dim = own
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
        raise ValueError(f"dim must be a whole number >= 1 (the number of parameters), "
                         f"got {dim!r}")
    if own is not None and int(own) != int(dim):
        raise ValueError(f"dim: the Hessian-vector product acts on {own} parameters, but "
                         f"dim={dim} was given; leave dim out or pass {own}")
    return int(dim)


@dataclass
class CountingHVP:
    """``hvp`` checked (shape, finiteness) and counted: the methods' view of a user's HVP."""

    hvp: HVP
    dim: int
    calls: int = 0

    def __call__(self, v: FloatArray) -> FloatArray:
        self.calls += 1
        out = np.asarray(self.hvp(np.ascontiguousarray(v, dtype=np.float64)),
                         dtype=np.float64).reshape(-1)
        if out.shape != (self.dim,):
            raise ValueError(f"hvp returned {out.size} numbers for a vector of length "
                             f"{self.dim}; it must return H v with the shape of v")
        if not np.all(np.isfinite(out)):
            raise ValueError("hvp returned a non-finite value (NaN or inf): check the loss "
                             "at these parameters (the Hessian must be finite there)")
        return out


def check_rng(rng: np.random.Generator | None, *, required: bool) -> None:
    """Refuse anything but a ``numpy.random.Generator`` (or None where that is allowed)."""
    if rng is None and not required:
        return
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, e.g. "
                         f"np.random.default_rng(0), got {rng!r}")


def check_count(name: str, value: object, low: int) -> int:
    """``value`` as an int if it is a whole number ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)

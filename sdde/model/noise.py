"""Brownian increments: drawn from an explicit generator, and coarsened for nested grids.

Paths are grouped in fixed blocks of :data:`PATH_BLOCK`; each block draws from its own
stream, spawned from one seed taken from the caller's generator. Path ``i`` therefore
sees the same increments whatever ``n_paths`` (``>= i + 1``) or chunking is used.
"""

from __future__ import annotations

import numpy as np

from sdde._numerics import FloatArray

#: Paths per independent random stream.
PATH_BLOCK = 256


def block_streams(rng: np.random.Generator, n_blocks: int) -> list[np.random.Generator]:
    """One generator per path block, spawned from a single seed drawn from ``rng``."""
    root = np.random.SeedSequence(int(rng.integers(2**63)))
    return [np.random.Generator(np.random.PCG64(child)) for child in root.spawn(n_blocks)]


def block_increments(stream: np.random.Generator, n_steps: int, width: int, dim: int,
                     dt: float) -> FloatArray:
    """The next ``n_steps`` increments of one path block's stream, its first ``width``
    paths: a full block is always drawn, so a path does not depend on ``width``, and
    successive calls continue the same sequence as one larger call."""
    z = stream.standard_normal((n_steps, PATH_BLOCK, dim))
    return z[:, :width] * np.sqrt(dt)


def brownian_increments(rng: np.random.Generator, n_steps: int, n_paths: int, dim: int,
                        dt: float) -> FloatArray:
    """Increments ``ΔW`` of shape ``(n_steps, n_paths, dim)``, variance ``dt`` each.

    They are the increments :func:`sdde.solve` draws itself from the same ``rng``, so
    passing them as ``dW`` reproduces a run.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    n_steps, n_paths, dim : int
        Time steps, paths and dimensions (modes).
    dt : float
        Step size.

    Returns
    -------
    ndarray
    """
    if min(n_steps, n_paths, dim) < 1:
        raise ValueError(f"n_steps, n_paths and dim must be >= 1, got {n_steps}, {n_paths}, "
                         f"{dim}")
    n_blocks = -(-n_paths // PATH_BLOCK)
    return np.concatenate([
        block_increments(stream, n_steps, min(PATH_BLOCK, n_paths - b * PATH_BLOCK), dim, dt)
        for b, stream in enumerate(block_streams(rng, n_blocks))], axis=1)


def coarsen(dW: FloatArray, factor: int) -> FloatArray:
    """Increments on a grid ``factor`` times coarser: sums of ``factor`` consecutive steps.

    Raises
    ------
    ValueError
        If ``factor`` does not divide the number of steps.
    """
    if factor < 1 or dW.shape[0] % factor:
        raise ValueError(f"coarsen: factor {factor} must be >= 1 and divide the "
                         f"{dW.shape[0]} steps")
    return dW.reshape(dW.shape[0] // factor, factor, *dW.shape[1:]).sum(axis=1)

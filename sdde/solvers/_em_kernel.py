"""Compiled delayed Euler–Maruyama steps for linear drifts (numba, cached on disk).

The state of a block of paths lives in a ring buffer ``ring[L, n_paths · n_modes]`` on
the step grid (paths and modes flattened into one axis, mode fastest, so the inner loops
run over contiguous memory and vectorise): slot ``head`` is ``x(t_n)`` and slot
``(head − j) mod L`` is ``x(t_{n−j})``. Delayed values enter through sparse taps ``(j,
coefficient per mode)``, so a point delay costs one multiply-add per path and step (a
one-mode kernel's taps go four to a pass over the accumulator, in the same order of
summation as one by one).
Erlang kernels integrated as linear chains keep their stages in ``chains[c, i, ·]`` and
are stepped by the same Euler–Maruyama rule.

The noise is either read from pre-drawn increments (:func:`advance`) or drawn inside the
step loop from the block's own ``numpy.random.Generator`` (:func:`advance_drawing`):
numba's ``Generator.standard_normal`` runs numpy's ziggurat on the same bit generator,
so the draws are those of ``stream.standard_normal((n_steps, PATH_BLOCK, n_modes))``,
bit for bit, without a noise array in memory. Every array of states (ring, chains,
saved rows) may be float32 or float64; the arithmetic follows their dtype.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from sdde._numerics import FloatArray
from sdde.solvers._xoshiro import fill, seed_state


class LinearStep(NamedTuple):
    """The coefficients of one Euler–Maruyama step of a linear problem.

    ``tap_coef[t]`` is ``−dt · gain · weight`` of tap ``t`` per mode (lag ``tap_lag[t]``
    steps); ``drift_const = dt · offset``, ``sigma`` and ``beta`` are tiled over the
    block's paths (one row each, read once per step). Chain ``c`` has ``chain_len[c]``
    stages, step ``chain_step[c] = dt · rate`` and coefficient ``chain_coef[c] = −dt ·
    gain`` (tiled) on its last stage. ``linear_noise``: ``g = σ + β x`` (else ``g =
    sqrt(σ² + β² x²)``).
    """

    tap_lag: np.ndarray
    tap_coef: FloatArray
    drift_const: FloatArray
    sigma: FloatArray
    beta: FloatArray
    linear_noise: bool
    chain_len: np.ndarray
    chain_step: FloatArray
    chain_coef: FloatArray
    n_modes: int
    bound: float


# The per-step helpers are inlined into the step loops (numba IR inlining) and index the
# 2-d arrays directly rather than through row views: a call or a view per step costs
# reference-count updates of every array involved, more than the arithmetic of a block.
@numba.njit(cache=True, nogil=True, inline="always")
def _add_tap(acc: FloatArray, coef: FloatArray, t: int, ring: FloatArray, slot: int,
             n_modes: int) -> None:
    """``acc += coef[t, mode] · ring[slot]`` (one coefficient per mode, not tiled)."""
    if n_modes == 1:
        weight = coef[t, 0]
        for i in range(acc.shape[0]):
            acc[i] += weight * ring[slot, i]
    else:
        for base in range(0, acc.shape[0], n_modes):
            for m in range(n_modes):
                acc[base + m] += coef[t, m] * ring[slot, base + m]


@numba.njit(cache=True, nogil=True, inline="always")
def _add_four_taps(acc: FloatArray, coef: FloatArray, lag: np.ndarray, t: int,
                   ring: FloatArray, head: int) -> None:
    """Taps ``t … t + 3`` of a one-mode problem in one pass (same sum order as one by
    one: ``((acc + a) + b) + c) + d``)."""
    n_slots = ring.shape[0]
    s0, s1 = (head - lag[t]) % n_slots, (head - lag[t + 1]) % n_slots
    s2, s3 = (head - lag[t + 2]) % n_slots, (head - lag[t + 3]) % n_slots
    w0, w1, w2, w3 = coef[t, 0], coef[t + 1, 0], coef[t + 2, 0], coef[t + 3, 0]
    for i in range(acc.shape[0]):
        acc[i] = (((acc[i] + w0 * ring[s0, i]) + w1 * ring[s1, i]) + w2 * ring[s2, i]
                  + w3 * ring[s3, i])


@numba.njit(cache=True, nogil=True, inline="always")
def _chain(acc: FloatArray, stages: FloatArray, ch: int, length: int, h: float,
           coef: FloatArray, ring: FloatArray, head: int) -> None:
    """``acc += coef · y_k`` of chain ``ch``, then its explicit Euler step (old values
    first: stage ``s`` from ``s − 1``, stage 0 from ``x``)."""
    size = acc.shape[0]
    for i in range(size):
        acc[i] += coef[ch, i] * stages[ch, length - 1, i]
    for s in range(length - 1, 0, -1):
        for i in range(size):
            stages[ch, s, i] += h * (stages[ch, s - 1, i] - stages[ch, s, i])
    for i in range(size):
        stages[ch, 0, i] += h * (ring[head, i] - stages[ch, 0, i])


@numba.njit(cache=True, nogil=True)
def _freeze(ring: FloatArray, head: int, nxt: int, acc: FloatArray, n_modes: int,
            bound: float, diverged_at: np.ndarray, step: int) -> None:
    """The rare case: a path leaves ``[−bound, bound]`` (or is NaN) for the first time,
    or was frozen before; it keeps its last value and ``diverged_at[p]`` its step."""
    for p in range(acc.shape[0] // n_modes):
        base = p * n_modes
        frozen = diverged_at[p] >= 0
        if not frozen:
            for m in range(n_modes):
                if not (abs(acc[base + m]) <= bound):
                    frozen = True
                    diverged_at[p] = step + 1
                    break
        for m in range(n_modes):
            ring[nxt, base + m] = ring[head, base + m] if frozen else acc[base + m]


@numba.njit(cache=True, nogil=True, inline="always")
def _advance_one(ring: FloatArray, head: int, chains: FloatArray, acc: FloatArray,
                 noise: FloatArray, c: LinearStep, step: int, diverged_at: np.ndarray,
                 any_frozen: bool, saved: FloatArray, save_every: int,
                 save_pos: int) -> tuple[int, int, bool]:
    """Write ``x(t_{step+1})`` into slot ``head + 1`` from ``x(t_step)`` in slot ``head``
    and the increments ``noise``, and save the row if it is due; return the new
    ``head``, ``save_pos`` and whether any path is frozen. A path whose state leaves
    ``[−bound, bound]`` (or becomes NaN) is frozen and ``diverged_at[p]`` records the
    step; it is never updated again, so no overflow or NaN is produced."""
    n_slots, size = ring.shape
    drift_const, sigma, beta = c.drift_const, c.sigma, c.beta
    if c.linear_noise:  # x + dt · offset + g(x) ΔW: the step without the delays
        for i in range(size):
            x = ring[head, i]
            acc[i] = x + drift_const[i] + (sigma[i] + beta[i] * x) * noise[i]
    else:
        for i in range(size):
            x = ring[head, i]
            g = math.sqrt(sigma[i] * sigma[i] + beta[i] * beta[i] * x * x)
            acc[i] = x + drift_const[i] + g * noise[i]
    n_taps, grouped = c.tap_lag.shape[0], 0
    if c.n_modes == 1:  # four taps per pass over acc: a quarter of its loads and stores
        while grouped + 4 <= n_taps:
            _add_four_taps(acc, c.tap_coef, c.tap_lag, grouped, ring, head)
            grouped += 4
    for t in range(grouped, n_taps):
        _add_tap(acc, c.tap_coef, t, ring, (head - c.tap_lag[t]) % n_slots, c.n_modes)
    for ch in range(c.chain_len.shape[0]):
        _chain(acc, chains, ch, c.chain_len[ch], c.chain_step[ch], c.chain_coef, ring, head)
    nxt = (head + 1) % n_slots
    outside = 0  # the common case: nothing diverged, nothing frozen (vectorised)
    for i in range(size):
        outside += not (abs(acc[i]) <= c.bound)
    if outside == 0 and not any_frozen:
        for i in range(size):
            ring[nxt, i] = acc[i]
    else:
        _freeze(ring, head, nxt, acc, c.n_modes, c.bound, diverged_at, step)
        any_frozen = True
    if (step + 1) % save_every == 0:
        for i in range(size):
            saved[save_pos, i] = ring[nxt, i]
        save_pos += 1
    return nxt, save_pos, any_frozen


@numba.njit(cache=True, nogil=True)
def _frozen(diverged_at: np.ndarray) -> bool:
    return bool(np.any(diverged_at >= 0))


# One loop per source of increments, so that only the generator in use is compiled.
@numba.njit(cache=True, nogil=True)
def _run_given(ring: FloatArray, head: int, chains: FloatArray, dW: FloatArray,
               c: LinearStep, step0: int, diverged_at: np.ndarray, saved: FloatArray,
               save_every: int, save_pos: int) -> tuple[int, int]:
    acc, any_frozen = np.empty(ring.shape[1], dtype=ring.dtype), _frozen(diverged_at)
    for k in range(dW.shape[0]):
        head, save_pos, any_frozen = _advance_one(ring, head, chains, acc, dW[k], c,
                                                  step0 + k, diverged_at, any_frozen,
                                                  saved, save_every, save_pos)
    return head, save_pos


@numba.njit(cache=True, nogil=True)
def _run_pcg64(ring: FloatArray, chains: FloatArray, stream: np.random.Generator,
               n_steps: int, scale: float, n_draws: int, c: LinearStep,
               diverged_at: np.ndarray, saved: FloatArray, save_every: int) -> None:
    size = ring.shape[1]
    acc, noise = np.empty(size, dtype=ring.dtype), np.empty(size, dtype=ring.dtype)
    head, save_pos, any_frozen = 0, 1, _frozen(diverged_at)
    for k in range(n_steps):
        for j in range(size):  # a whole block's row; paths past the block's width dropped
            noise[j] = stream.standard_normal() * scale
        for _ in range(size, n_draws):
            stream.standard_normal()
        head, save_pos, any_frozen = _advance_one(ring, head, chains, acc, noise, c, k,
                                                  diverged_at, any_frozen, saved,
                                                  save_every, save_pos)


@numba.njit(cache=True, nogil=True)
def _run_xoshiro(ring: FloatArray, chains: FloatArray, state: np.ndarray, n_steps: int,
                 scale: float, n_draws: int, c: LinearStep, diverged_at: np.ndarray,
                 saved: FloatArray, save_every: int) -> None:
    size = ring.shape[1]
    acc, noise = np.empty(size, dtype=ring.dtype), np.empty(size, dtype=ring.dtype)
    head, save_pos, any_frozen = 0, 1, _frozen(diverged_at)
    for k in range(n_steps):
        fill(state, noise, n_draws, scale)
        head, save_pos, any_frozen = _advance_one(ring, head, chains, acc, noise, c, k,
                                                  diverged_at, any_frozen, saved,
                                                  save_every, save_pos)


def advance(ring: FloatArray, head: int, chains: FloatArray, dW: FloatArray,
            c: LinearStep, step0: int, diverged_at: np.ndarray, saved: FloatArray,
            save_every: int, save_pos: int) -> tuple[int, int]:
    """Advance ``dW.shape[0]`` steps on pre-drawn increments ``dW[k, path · n_modes + m]``
    (steps ``step0, step0 + 1, …``); return the new ``head`` and ``save_pos``."""
    return _run_given(ring, head, chains, dW.astype(ring.dtype, copy=False), c, step0,
                      diverged_at, saved, save_every, save_pos)


def advance_drawing(ring: FloatArray, chains: FloatArray, stream: np.random.Generator,
                    fast: bool, n_steps: int, scale: float, n_draws: int, c: LinearStep,
                    diverged_at: np.ndarray, saved: FloatArray, save_every: int) -> None:
    """Advance all ``n_steps`` steps from slot 0 (row 0 of ``saved`` already written),
    drawing the increments from the block's ``stream``: per step ``n_draws`` standard
    normals (a full block), of which the first ``ring.shape[1]`` are used, times
    ``scale`` (``sqrt(dt)``, rounded as numpy's ``z * sqrt(dt)``). With ``fast``, the
    normals come from a xoshiro256++ state seeded from ``stream``
    (:mod:`sdde.solvers._xoshiro`) instead of ``stream`` itself."""
    if fast:
        _run_xoshiro(ring, chains, seed_state(stream), n_steps, scale, n_draws, c,
                     diverged_at, saved, save_every)
    else:
        _run_pcg64(ring, chains, stream, n_steps, scale, n_draws, c, diverged_at, saved,
                   save_every)

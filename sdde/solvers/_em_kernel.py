"""Compiled delayed Euler–Maruyama steps for linear drifts (numba, cached on disk).

The state of a block of paths lives in a ring buffer ``ring[L, n_paths · n_modes]`` on
the step grid (paths and modes flattened into one axis, mode fastest, so the inner loops
run over contiguous memory and vectorise): slot ``head`` is ``x(t_n)`` and slot
``(head − j) mod L`` is ``x(t_{n−j})``. Delayed values enter through sparse taps ``(j,
coefficient per element)``, so a point delay costs one multiply-add per path and step.
Erlang kernels integrated as linear chains keep their stages in ``chains[c, i, ·]`` and
are stepped by the same Euler–Maruyama rule.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from sdde._numerics import FloatArray


@numba.njit(cache=True, nogil=True)
def advance(ring: FloatArray, head: int, tap_lag: np.ndarray, tap_coef: FloatArray,
            drift_const: FloatArray, sigma: FloatArray, beta: FloatArray, linear_noise: bool,
            chains: FloatArray, chain_len: np.ndarray, chain_step: FloatArray,
            chain_coef: FloatArray, dW: FloatArray, bound: float, step0: int,
            n_modes: int, diverged_at: np.ndarray, saved: FloatArray, save_every: int,
            save_pos: int) -> tuple[int, int]:
    """Advance ``dW.shape[0]`` steps; return the new ``head`` and ``save_pos``.

    All per-element arrays have length ``n_paths · n_modes`` (per-mode values tiled over
    the paths). ``tap_coef[t]`` is ``−dt · gain · weight`` of tap ``t`` (lag
    ``tap_lag[t]`` steps), ``drift_const = dt · offset``. Chain ``c`` has ``chain_len[c]``
    stages, step ``chain_step[c] = dt · rate`` and coefficient ``chain_coef[c] = −dt ·
    gain`` on its last stage. A path whose state leaves ``[−bound, bound]`` (or becomes
    NaN) is frozen and ``diverged_at[p]`` records the step; it is never updated again,
    so no overflow or NaN is produced.
    """
    n_slots, size = ring.shape
    n_paths = size // n_modes
    acc = np.empty(size)
    any_frozen = False
    for p in range(n_paths):
        any_frozen |= diverged_at[p] >= 0
    for k in range(dW.shape[0]):
        nxt = (head + 1) % n_slots
        x = ring[head]
        noise = dW[k]
        if linear_noise:
            for i in range(size):
                acc[i] = x[i] + drift_const[i] + (sigma[i] + beta[i] * x[i]) * noise[i]
        else:
            for i in range(size):
                g = math.sqrt(sigma[i] * sigma[i] + beta[i] * beta[i] * x[i] * x[i])
                acc[i] = x[i] + drift_const[i] + g * noise[i]
        for t in range(tap_lag.shape[0]):
            past = ring[(head - tap_lag[t]) % n_slots]
            coef = tap_coef[t]
            for i in range(size):
                acc[i] += coef[i] * past[i]
        for c in range(chain_len.shape[0]):
            last, h = chain_len[c] - 1, chain_step[c]
            coef = chain_coef[c]
            stages = chains[c]
            for i in range(size):
                acc[i] += coef[i] * stages[last, i]
            for s in range(last, 0, -1):  # old values first: explicit Euler
                for i in range(size):
                    stages[s, i] += h * (stages[s - 1, i] - stages[s, i])
            for i in range(size):
                stages[0, i] += h * (x[i] - stages[0, i])
        new = ring[nxt]
        fine = True  # the common case: nothing diverged, nothing frozen (vectorised)
        for i in range(size):
            fine &= abs(acc[i]) <= bound
        if fine and not any_frozen:
            for i in range(size):
                new[i] = acc[i]
            head = nxt
            if (step0 + k + 1) % save_every == 0:
                saved[save_pos] = ring[head]
                save_pos += 1
            continue
        any_frozen = True
        for p in range(n_paths):
            base = p * n_modes
            frozen = diverged_at[p] >= 0
            if not frozen:
                for m in range(n_modes):
                    if not (abs(acc[base + m]) <= bound):
                        frozen = True
                        diverged_at[p] = step0 + k + 1
                        break
            if frozen:
                for m in range(n_modes):
                    new[base + m] = x[base + m]
            else:
                for m in range(n_modes):
                    new[base + m] = acc[base + m]
        head = nxt
        if (step0 + k + 1) % save_every == 0:
            saved[save_pos] = ring[head]
            save_pos += 1
    return head, save_pos

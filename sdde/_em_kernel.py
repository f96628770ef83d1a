"""Compiled delayed Euler–Maruyama steps for linear drifts (numba, cached on disk).

State lives in a ring buffer ``ring[L, n_paths, n_modes]`` on the step grid: slot
``head`` is ``x(t_n)`` and slot ``(head − j) mod L`` is ``x(t_{n−j})``. The delayed
values enter through sparse taps ``(j, coefficient per mode)``, so a point delay costs
one multiply-add per path and step. Erlang kernels integrated as linear chains keep their
stages in ``chains[c, i, p, m]`` and are stepped by the same Euler–Maruyama rule.
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
            diverged_at: np.ndarray, saved: FloatArray, save_every: int,
            save_pos: int) -> tuple[int, int]:
    """Advance ``dW.shape[0]`` steps; return the new ``head`` and ``save_pos``.

    ``tap_coef[t, m]`` is ``−dt · gain · weight`` of tap ``t`` (lag ``tap_lag[t]`` steps),
    ``drift_const[m] = dt · offset``. Chain ``c`` has ``chain_len[c]`` stages, step
    ``chain_step[c] = dt · rate`` and drift coefficient ``chain_coef[c, m] = −dt · gain``
    on its last stage. A path whose state leaves ``[−bound, bound]`` (or
    becomes NaN) is frozen and ``diverged_at[p]`` records the step; it is never updated
    again, so no overflow or NaN is produced.
    """
    n_slots, n_paths, n_modes = ring.shape
    n_taps = tap_lag.shape[0]
    acc = np.empty((n_paths, n_modes))
    for k in range(dW.shape[0]):
        nxt = (head + 1) % n_slots
        for p in range(n_paths):
            for m in range(n_modes):
                x = ring[head, p, m]
                if linear_noise:
                    g = sigma[m] + beta[m] * x
                else:
                    g = math.sqrt(sigma[m] * sigma[m] + (beta[m] * x) ** 2)
                acc[p, m] = x + drift_const[m] + g * dW[k, p, m]
        for t in range(n_taps):
            slot = (head - tap_lag[t]) % n_slots
            for p in range(n_paths):
                for m in range(n_modes):
                    acc[p, m] += tap_coef[t, m] * ring[slot, p, m]
        for c in range(chain_len.shape[0]):
            last, h = chain_len[c] - 1, chain_step[c]
            for p in range(n_paths):
                for m in range(n_modes):
                    acc[p, m] += chain_coef[c, m] * chains[c, last, p, m]
                    for i in range(last, 0, -1):  # old values first: explicit Euler
                        chains[c, i, p, m] += h * (chains[c, i - 1, p, m] - chains[c, i, p, m])
                    chains[c, 0, p, m] += h * (ring[head, p, m] - chains[c, 0, p, m])
        for p in range(n_paths):
            frozen = diverged_at[p] >= 0
            if not frozen:
                for m in range(n_modes):
                    v = acc[p, m]
                    if not (abs(v) <= bound):
                        frozen = True
                        diverged_at[p] = step0 + k + 1
                        break
            for m in range(n_modes):
                ring[nxt, p, m] = ring[head, p, m] if frozen else acc[p, m]
        head = nxt
        if (step0 + k + 1) % save_every == 0:
            for p in range(n_paths):
                for m in range(n_modes):
                    saved[save_pos, p, m] = ring[head, p, m]
            save_pos += 1
    return head, save_pos

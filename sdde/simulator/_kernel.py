"""Compiled event loop of the reference simulator on a quadratic objective (numba).

It is the same loop as :func:`sdde.simulator.server._events_python`, line for line, on arrays:
both consume the same push schedule, the same standard normals and the same sparsification
keys, so they agree update for update (tests/simulator/test_simulator.py,
tests/simulator/test_sparsification.py).
"""

from __future__ import annotations

import numba
import numpy as np

from sdde._numerics import FloatArray

#: Status codes of :func:`run_events`.
RUNNING, FINISHED, DIVERGED = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def sparsify_into(p: FloatArray, keep: int, keys: FloatArray, sent: FloatArray,
                  residual: FloatArray) -> None:
    """:func:`sdde.simulator.sparsification.sparsify` into ``sent`` and ``residual`` (not ``p``).

    ``keys`` of length 0 mean top-k. The same choice as ``sparsify``'s stable sort of the
    scores ``−|p|`` (top-k) or ``keys`` (random-k), in O(d) time: with ``cut`` the
    ``keep``-th smallest score, send every coordinate scoring below ``cut``, then those
    scoring ``cut`` in index order until ``keep`` are sent (finite ``p``;
    tests/simulator/test_sparsification.py checks that the two agree, ties included).
    """
    top = keys.shape[0] == 0
    for i in range(p.shape[0]):
        sent[i] = -abs(p[i]) if top else keys[i]  # the scores, until overwritten below
        residual[i] = sent[i]  # a copy for the selection to reorder
    cut = _select(residual, keep - 1)
    ties = keep  # coordinates scoring exactly ``cut`` to send: keep minus those below
    for i in range(p.shape[0]):
        if sent[i] < cut:
            ties -= 1
    for i in range(p.shape[0]):
        score = sent[i]
        chosen = score < cut or (score == cut and ties > 0)
        if score == cut and chosen:
            ties -= 1
        sent[i] = p[i] if chosen else 0.0
        residual[i] = 0.0 if chosen else p[i]


@numba.njit(cache=True, nogil=True)
def _select(values: FloatArray, k: int) -> float:
    """The ``k``-th smallest of ``values`` (from 0), by Hoare's quickselect (reorders them)."""
    lo, hi = 0, values.shape[0] - 1
    while lo < hi:
        pivot = values[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return values[k]
    return values[k]


@numba.njit(cache=True, nogil=True)
def run_events(first: int, workers: np.ndarray, times: FloatArray, z: FloatArray,
               curvatures: FloatArray, noise_sd: FloatArray, lr: float, factors: FloatArray,
               threshold: int, theta: FloatArray, snapshots: FloatArray,
               pulled_version: np.ndarray, pulled_time: FloatArray, counters: np.ndarray,
               staleness: np.ndarray, accepted: np.ndarray, delay: FloatArray,
               loss: FloatArray, loss_time: FloatArray, theta_record: FloatArray,
               n_updates: int, record_every: int, bound: float, keep: int,
               error_feedback: bool, keys: FloatArray | None,
               residuals: FloatArray) -> int:
    """Apply the pushes ``first, …, first + len(z) − 1``; return a status code.

    ``counters = [updates applied, loss records written, last event index]``;
    ``theta_record`` has one row per record, or none (then θ is not recorded).

    Sparsification (:mod:`sdde.simulator.sparsification`): ``keys=None`` is the plain loop (numba
    prunes the sparsified branches when it compiles that case, so the plain loop pays
    nothing for them). Otherwise each push sends ``keep`` of the ``d`` coordinates,
    chosen by the smallest of its row of ``keys`` (random-k, shape ``(len(z), d)``) or,
    when ``keys`` has no rows, by the largest ``|p_i|`` (top-k). With ``error_feedback``
    worker ``w`` adds its residual ``residuals[w]`` (shape ``(n, d)``) and keeps what it
    did not send.
    """
    d = theta.shape[0]
    grad = np.empty(d)
    if keys is not None:
        sent = np.empty(d)
        rest = np.empty(d)
        no_keys = np.empty(0)
        every_push = keep < d and error_feedback  # a dropped push still updates its residual
    for k in range(z.shape[0]):
        e = first + k
        w = workers[e]
        stale = counters[0] - pulled_version[w]
        staleness[e] = stale
        delay[e] = times[e] - pulled_time[w]
        counters[2] = e
        take = threshold < 0 or stale <= threshold
        accepted[e] = take
        if keys is not None and (take or every_push):  # sparsified: what is sent
            for i in range(d):
                grad[i] = curvatures[i] * snapshots[w, i] + noise_sd[i] * z[k, i]
                if error_feedback:
                    grad[i] += residuals[w, i]
            sparsify_into(grad, keep, keys[k] if keys.shape[0] > 0 else no_keys, sent, rest)
            if error_feedback:
                for i in range(d):
                    residuals[w, i] = rest[i]
        if take:
            step = lr * factors[min(stale, factors.shape[0] - 1)]
            ok = True
            if keys is None:  # the plain loop: the gradient computed and applied in one pass
                for i in range(d):
                    grad[i] = curvatures[i] * snapshots[w, i] + noise_sd[i] * z[k, i]
                    theta[i] -= step * grad[i]
                    if not (abs(theta[i]) <= bound):
                        ok = False
            else:
                for i in range(d):
                    theta[i] -= step * sent[i]
                    if not (abs(theta[i]) <= bound):
                        ok = False
            counters[0] += 1
            if not ok:
                return DIVERGED
            if counters[0] % record_every == 0:
                value = 0.0
                for i in range(d):
                    value += 0.5 * curvatures[i] * theta[i] * theta[i]
                loss[counters[1]] = value
                loss_time[counters[1]] = times[e]
                if theta_record.shape[0] > 0:
                    for i in range(d):
                        theta_record[counters[1], i] = theta[i]
                counters[1] += 1
        for i in range(d):  # the worker pulls the current parameters
            snapshots[w, i] = theta[i]
        pulled_version[w] = counters[0]
        pulled_time[w] = times[e]
        if counters[0] >= n_updates:
            return FINISHED
    return RUNNING

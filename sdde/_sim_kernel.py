"""Compiled event loop of the reference simulator on a quadratic objective (numba).

It is the same loop as :func:`sdde.simulator._events_python`, line for line, on arrays:
both consume the same push schedule and the same standard normals, so they agree update
for update (tests/test_simulator.py).
"""

from __future__ import annotations

import numba
import numpy as np

from sdde._numerics import FloatArray

#: Status codes of :func:`run_events`.
RUNNING, FINISHED, DIVERGED = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def run_events(first: int, workers: np.ndarray, times: FloatArray, z: FloatArray,
               curvatures: FloatArray, noise_sd: FloatArray, lr: float, factors: FloatArray,
               threshold: int, theta: FloatArray, snapshots: FloatArray,
               pulled_version: np.ndarray, pulled_time: FloatArray, counters: np.ndarray,
               staleness: np.ndarray, accepted: np.ndarray, delay: FloatArray,
               loss: FloatArray, loss_time: FloatArray, theta_record: FloatArray,
               n_updates: int, record_every: int, bound: float) -> int:
    """Apply the pushes ``first, …, first + len(z) − 1``; return a status code.

    ``counters = [updates applied, loss records written, last event index]``;
    ``theta_record`` has one row per record, or none (then θ is not recorded).
    """
    d = theta.shape[0]
    grad = np.empty(d)
    for k in range(z.shape[0]):
        e = first + k
        w = workers[e]
        stale = counters[0] - pulled_version[w]
        staleness[e] = stale
        delay[e] = times[e] - pulled_time[w]
        counters[2] = e
        take = threshold < 0 or stale <= threshold
        accepted[e] = take
        if take:
            step = lr * factors[min(stale, factors.shape[0] - 1)]
            ok = True
            for i in range(d):
                grad[i] = curvatures[i] * snapshots[w, i] + noise_sd[i] * z[k, i]
                theta[i] -= step * grad[i]
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

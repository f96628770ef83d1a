"""Merging the workers' push times into one time-ordered schedule (numba bucket sort).

``push_schedule`` used to sort all pushes with a stable ``argsort`` (~10⁶ floats per
replica, the largest part of a one-mode simulation). The pushes are spread nearly evenly
over ``[0, horizon]``, so a bucket sort with about two pushes per bucket orders them in
``O(N)``: one counting pass, one scatter pass (row by row, so a bucket holds equal times
in row order), then an insertion sort of each small bucket (a stable merge sort for a
crowded one). Ties in time go to the lower row, exactly as the stable sort did.
"""

from __future__ import annotations

import numba
import numpy as np

from sdde._numerics import FloatArray

#: Buckets with more entries than this are sorted by a stable merge sort.
_INSERTION_MAX = 32


@numba.njit(cache=True, nogil=True)
def merge_rows(arrivals: FloatArray, counts: np.ndarray,
               horizon: float) -> tuple[FloatArray, np.ndarray]:
    """All ``arrivals[w, :counts[w]]`` (values in ``[0, horizon]``) in time order.

    Parameters
    ----------
    arrivals : ndarray, shape (n, m)
        Row ``w``: worker ``w``'s push times.
    counts : ndarray of int, shape (n,)
        How many leading entries of each row to take.
    horizon : float
        Upper bound of the values taken (> 0).

    Returns
    -------
    times : ndarray, shape (counts.sum(),)
        Ascending.
    workers : ndarray of int64
        The row of each time; ties in time are ordered by row.
    """
    n = arrivals.shape[0]
    total = 0
    for w in range(n):
        total += counts[w]
    n_buckets = max(1, total // 2)
    scale = n_buckets / horizon
    start = np.zeros(n_buckets + 1, dtype=np.int64)
    for w in range(n):
        for j in range(counts[w]):
            start[min(int(arrivals[w, j] * scale), n_buckets - 1) + 1] += 1
    for b in range(n_buckets):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    times = np.empty(total)
    workers = np.empty(total, dtype=np.int64)
    for w in range(n):
        for j in range(counts[w]):
            t = arrivals[w, j]
            b = min(int(t * scale), n_buckets - 1)
            k = fill[b]
            fill[b] = k + 1
            times[k] = t
            workers[k] = w
    for b in range(n_buckets):
        lo, hi = start[b], start[b + 1]
        if hi - lo > _INSERTION_MAX:
            order = np.argsort(times[lo:hi], kind="mergesort")  # stable: rows stay ordered
            times[lo:hi] = times[lo:hi][order]
            workers[lo:hi] = workers[lo:hi][order]
            continue
        for i in range(lo + 1, hi):
            t, w = times[i], workers[i]
            k = i - 1
            while k >= lo and (times[k] > t or (times[k] == t and workers[k] > w)):
                times[k + 1] = times[k]
                workers[k + 1] = workers[k]
                k -= 1
            times[k + 1] = t
            workers[k + 1] = w
    return times, workers

"""The workers' push times, and their merge into one time-ordered schedule (numba).

``push_schedule`` used to build each worker's push times with numpy (a cumulative sum and
a concatenation) and sort all pushes with a stable ``argsort`` (~10⁶ floats per replica,
the largest part of a one-mode simulation). Here :func:`arrivals` builds the push times
in one pass, and :func:`merge_rows` orders them in ``O(N)`` with a bucket sort: the
pushes are spread nearly evenly over ``[0, horizon]``, so about two per bucket; one
counting pass, one scatter pass (row by row, so a bucket holds equal times in row order),
then an insertion sort of each small bucket (a stable merge sort for a crowded one). The
schedule is the same, bit for bit: the sums are taken in ``np.cumsum``'s order, and ties
in time go to the lower row, as the stable sort did.
"""

from __future__ import annotations

import numba
import numpy as np

from sdde._numerics import FloatArray

#: Buckets with more entries than this are sorted by a stable merge sort.
_INSERTION_MAX = 32


@numba.njit(cache=True, nogil=True)
def arrivals(start: FloatArray, rounds: FloatArray,
             horizon: float) -> tuple[FloatArray, bool]:
    """Push times ``start[w]``, then ``start[w] + cumsum(rounds[w])`` (shape (n, m + 1)).

    Also returns whether every worker's last push is at or after ``horizon`` (if not,
    more rounds are needed to cover the window).
    """
    n, m = rounds.shape
    out = np.empty((n, m + 1))
    covered = True
    for w in range(n):
        out[w, 0] = start[w]
        total = 0.0
        for j in range(m):
            total += rounds[w, j]
            out[w, j + 1] = start[w] + total
        if out[w, m] < horizon:
            covered = False
    return out, covered


@numba.njit(cache=True, nogil=True)
def merge_rows(arrivals: FloatArray, horizon: float) -> tuple[FloatArray, np.ndarray]:
    """All entries ``<= horizon`` of the rows of ``arrivals`` (each ascending), in time order.

    Parameters
    ----------
    arrivals : ndarray, shape (n, m)
        Row ``w``: worker ``w``'s push times, ascending (``inf`` padding allowed).
    horizon : float
        The window's end (> 0); the entries in ``[0, horizon]`` are taken.

    Returns
    -------
    times : ndarray
        Ascending.
    workers : ndarray of int64
        The row of each time; ties in time are ordered by row.
    """
    n, m = arrivals.shape
    counts = np.zeros(n, dtype=np.int64)
    total = 0
    for w in range(n):
        k = 0
        while k < m and arrivals[w, k] <= horizon:
            k += 1
        counts[w] = k
        total += k
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

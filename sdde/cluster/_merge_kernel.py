"""The workers' push times, and their merge into one time-ordered schedule (numba).

``push_schedule`` used to build each worker's push times with numpy (a cumulative sum and
a concatenation) and sort all pushes with a stable ``argsort`` (~10⁶ floats per replica,
the largest part of a one-mode simulation). Here :func:`arrivals` builds the push times
in one pass, and :func:`merge_rows` orders them in ``O(N)`` with a bucket sort: the
pushes are spread nearly evenly over ``[0, horizon]``. The window is cut into time blocks
of a few thousand pushes, so that each block's buckets and output stay in cache (a
bucket sort over the whole window scatters into megabytes and is bound by memory); per
block, one counting pass and one scatter pass into about four buckets per push (row by
row, so a bucket holds equal times in row order), then one insertion sort of the nearly
sorted block (a stable merge sort of each crowded bucket instead, when one holds many
equal or close times). The schedule is the same, bit for bit: the sums are taken in
``np.cumsum``'s order, and ties in time go to the lower row, as the stable sort did.
"""

from __future__ import annotations

import numba
import numpy as np

from sdde._numerics import FloatArray

#: Buckets with more entries than this are sorted by a stable merge sort.
_INSERTION_MAX = 32
#: Pushes per time block of the merge (at least 4 per row): a block's buckets and output
#: stay in cache.
_BLOCK_PUSHES = 4096
#: Buckets per push in a block: mostly empty or single buckets, so the final insertion
#: sort rarely moves anything.
_BUCKETS_PER_PUSH = 4


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
    n = arrivals.shape[0]
    counts = np.empty(n, dtype=np.int64)
    for w in range(n):
        counts[w] = _count_inside(arrivals[w], horizon)
    total = int(counts.sum())
    times = np.empty(total)
    workers = np.empty(total, dtype=np.int64)
    n_blocks = block_count(total, n)
    width = horizon / n_blocks
    staged_times, staged_rows, buckets = block_buffers(total, n)
    begin = np.zeros(n, dtype=np.int64)  # each row's first entry not yet placed
    end = np.empty(n, dtype=np.int64)
    out = 0
    for block in range(n_blocks):
        limit = np.inf if block == n_blocks - 1 else (block + 1) * width
        size = _stage_rows(arrivals, counts, begin, end, limit, staged_times, staged_rows)
        while size < 0:  # a crowded block: grow the staging buffers and stage again
            staged_times, staged_rows = grown(staged_times, staged_rows)
            size = _stage_rows(arrivals, counts, begin, end, limit, staged_times,
                               staged_rows)
        buckets = sort_block(staged_times, staged_rows, size, block * width, width, buckets,
                             times[out:out + size], workers[out:out + size])
        begin[:] = end
        out += size
    return times, workers


@numba.njit(cache=True, nogil=True)
def _stage_rows(arrivals: FloatArray, counts: np.ndarray, begin: np.ndarray,
                end: np.ndarray, limit: float, staged_times: FloatArray,
                staged_rows: np.ndarray) -> int:
    """Stage the entries ``< limit`` of each row from ``begin`` on (row by row); set ``end``.

    Returns how many, or -1 if they do not fit (then stage again into larger buffers).
    """
    size = 0
    for w in range(arrivals.shape[0]):
        j = begin[w]
        while j < counts[w] and arrivals[w, j] < limit:
            if size == staged_times.shape[0]:
                return -1
            staged_times[size] = arrivals[w, j]
            staged_rows[size] = w
            size += 1
            j += 1
        end[w] = j
    return size


@numba.njit(cache=True, nogil=True)
def block_count(total: int, n: int) -> int:
    """Time blocks for ``total`` pushes of ``n`` rows (:data:`_BLOCK_PUSHES` each, >= 4n)."""
    return max(1, total // max(_BLOCK_PUSHES, 4 * n))


@numba.njit(cache=True, nogil=True)
def block_buffers(total: int, n: int) -> tuple[FloatArray, np.ndarray, np.ndarray]:
    """Staging (times, rows) and bucket buffers for :func:`sort_block`, sized for a block."""
    size = min(max(total, 1), 2 * max(_BLOCK_PUSHES, 4 * n))
    return (np.empty(size), np.empty(size, dtype=np.int64),
            np.empty(_BUCKETS_PER_PUSH * size + 1, dtype=np.int64))


@numba.njit(cache=True, nogil=True)
def grown(staged_times: FloatArray, staged_rows: np.ndarray) -> tuple[FloatArray, np.ndarray]:
    """The staging buffers, doubled (a crowded block)."""
    size = staged_times.shape[0]
    return (np.concatenate((staged_times, np.empty(size))),
            np.concatenate((staged_rows, np.empty(size, dtype=np.int64))))


@numba.njit(cache=True, nogil=True)
def sort_block(staged_times: FloatArray, staged_rows: np.ndarray, size: int, lo: float,
               width: float, buckets: np.ndarray, times: FloatArray,
               rows: np.ndarray) -> np.ndarray:
    """Write the ``size`` staged pushes of ``[lo, lo + width)`` in (time, row) order.

    The pushes were staged row by row, each row ascending. A counting sort into about
    :data:`_BUCKETS_PER_PUSH` buckets per push (scattered in staging order, so a bucket
    holds equal times in row order), then one insertion sort of the nearly sorted block,
    or, if a bucket is crowded (many equal or close times), a stable merge sort of each
    crowded bucket and an insertion sort of the others. Returns the bucket buffer (grown
    if it was too small).
    """
    if size == 0:
        return buckets
    n_buckets = _BUCKETS_PER_PUSH * size
    if buckets.shape[0] < n_buckets + 1:
        buckets = np.empty(n_buckets + 1, dtype=np.int64)
    start = buckets
    start[:n_buckets + 1] = 0
    scale = n_buckets / width
    largest = 0
    for k in range(size):
        b = min(max(int((staged_times[k] - lo) * scale), 0), n_buckets - 1) + 1
        start[b] += 1
        largest = max(largest, start[b])
    position = 0
    for b in range(n_buckets + 1):
        position += start[b]
        start[b] = position
    for k in range(size):  # in staging order: a bucket keeps equal times in row order
        t = staged_times[k]
        b = min(max(int((t - lo) * scale), 0), n_buckets - 1)
        i = start[b]
        start[b] = i + 1
        times[i] = t
        rows[i] = staged_rows[k]
    if largest > _INSERTION_MAX:  # start[b] is now the end of bucket b
        _sort_buckets(times, rows, start, n_buckets)
    else:
        _insertion_sort(times, rows, 0, size)
    return buckets


@numba.njit(cache=True, nogil=True)
def _count_inside(row: FloatArray, horizon: float) -> int:
    """Entries of the ascending ``row`` that are ``<= horizon`` (a binary search)."""
    lo, hi = 0, row.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if row[mid] <= horizon:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, nogil=True)
def _sort_buckets(times: FloatArray, rows: np.ndarray, ends: np.ndarray,
                  n_buckets: int) -> None:
    """Sort each bucket (it ends at ``ends[b]``): a stable merge sort if crowded, else an
    insertion sort."""
    lo = 0
    for b in range(n_buckets):
        hi = ends[b]
        if hi - lo > _INSERTION_MAX:
            order = np.argsort(times[lo:hi], kind="mergesort")  # stable: rows stay ordered
            times[lo:hi] = times[lo:hi][order]
            rows[lo:hi] = rows[lo:hi][order]
        else:
            _insertion_sort(times, rows, lo, hi)
        lo = hi


@numba.njit(cache=True, nogil=True)
def _insertion_sort(times: FloatArray, rows: np.ndarray, lo: int, hi: int) -> None:
    """Sort ``[lo, hi)`` by (time, row), cheap when nearly sorted."""
    for i in range(lo + 1, hi):
        t, w = times[i], rows[i]
        k = i - 1
        while k >= lo and (times[k] > t or (times[k] == t and rows[k] > w)):
            times[k + 1] = times[k]
            rows[k + 1] = rows[k]
            k -= 1
        times[k + 1] = t
        rows[k + 1] = w

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
from sdde.cluster._merge_kernel import block_buffers, block_count, grown, sort_block

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
    if keys is None and d == 1:
        return _scalar_events(first, workers, times, z, curvatures[0], noise_sd[0], lr,
                              factors, threshold, theta, snapshots, pulled_version,
                              pulled_time, counters, staleness, accepted, delay, loss,
                              loss_time, theta_record, n_updates, record_every, bound)
    grad = np.empty(d)
    if keys is not None:
        sent = np.empty(d)
        rest = np.empty(d)
        no_keys = np.empty(0)
        every_push = keep < d and error_feedback  # a dropped push still updates its residual
    applied, records, e = counters[0], counters[1], counters[2]
    next_record = _next_record(applied, record_every)
    top = factors.shape[0] - 1
    status = RUNNING
    for k in range(z.shape[0]):
        e = first + k
        w = workers[e]
        stale = applied - pulled_version[w]
        staleness[e] = stale
        delay[e] = times[e] - pulled_time[w]
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
            step = lr * factors[min(stale, top)]
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
            applied += 1
            if not ok:
                status = DIVERGED
                break
            if applied == next_record:
                next_record += record_every
                value = 0.0
                for i in range(d):
                    value += 0.5 * curvatures[i] * theta[i] * theta[i]
                _record(records, value, times[e], theta, loss, loss_time, theta_record)
                records += 1
        for i in range(d):  # the worker pulls the current parameters
            snapshots[w, i] = theta[i]
        pulled_version[w] = applied
        pulled_time[w] = times[e]
        if applied >= n_updates:
            status = FINISHED
            break
    counters[0], counters[1], counters[2] = applied, records, e
    return status


@numba.njit(cache=True, nogil=True)
def _next_record(applied: int, record_every: int) -> int:
    """The update count of the next loss record after ``applied`` updates."""
    return applied + record_every - applied % record_every


@numba.njit(cache=True, nogil=True)
def _record(row: int, value: float, time: float, theta: FloatArray, loss: FloatArray,
            loss_time: FloatArray, theta_record: FloatArray) -> None:
    """Write loss record ``row`` (and θ, if ``theta_record`` has rows)."""
    loss[row] = value
    loss_time[row] = time
    if theta_record.shape[0] > 0:
        for i in range(theta.shape[0]):
            theta_record[row, i] = theta[i]


@numba.njit(cache=True, nogil=True)
def _scalar_events(first: int, workers: np.ndarray, times: FloatArray, z: FloatArray,
                   h: float, noise_sd: float, lr: float, factors: FloatArray, threshold: int,
                   theta: FloatArray, snapshots: FloatArray, pulled_version: np.ndarray,
                   pulled_time: FloatArray, counters: np.ndarray, staleness: np.ndarray,
                   accepted: np.ndarray, delay: FloatArray, loss: FloatArray,
                   loss_time: FloatArray, theta_record: FloatArray, n_updates: int,
                   record_every: int, bound: float) -> int:
    """:func:`run_events` for one coordinate, unsparsified: θ and the pulls held as scalars.

    The same operations in the same order as the general loop (so the same floats): only
    the loop over coordinates is gone, and θ lives in a register instead of memory.
    """
    x = theta[0]
    applied, records, e = counters[0], counters[1], counters[2]
    next_record = _next_record(applied, record_every)
    top = factors.shape[0] - 1
    status = RUNNING
    for k in range(z.shape[0]):
        e = first + k
        w = workers[e]
        t = times[e]
        stale = applied - pulled_version[w]
        staleness[e] = stale
        delay[e] = t - pulled_time[w]
        take = threshold < 0 or stale <= threshold
        accepted[e] = take
        if take:
            x -= lr * factors[min(stale, top)] * (h * snapshots[w, 0] + noise_sd * z[k, 0])
            applied += 1
            if not (abs(x) <= bound):
                status = DIVERGED
                break
            if applied == next_record:
                next_record += record_every
                theta[0] = x
                _record(records, 0.5 * h * x * x, t, theta, loss, loss_time, theta_record)
                records += 1
        snapshots[w, 0] = x
        pulled_version[w] = applied
        pulled_time[w] = t
        if applied >= n_updates:
            status = FINISHED
            break
    theta[0] = x
    counters[0], counters[1], counters[2] = applied, records, e
    return status


@numba.njit(cache=True, nogil=True)
def run_schedule(start: FloatArray, rounds: FloatArray, counts: np.ndarray, horizon: float,
                 rng: np.random.Generator, curvatures: FloatArray, noise_sd: FloatArray,
                 lr: float, factors: FloatArray, threshold: int, theta: FloatArray,
                 snapshots: FloatArray, pulled_version: np.ndarray, pulled_time: FloatArray,
                 counters: np.ndarray, times: FloatArray, staleness: np.ndarray,
                 accepted: np.ndarray, delay: FloatArray, loss: FloatArray,
                 loss_time: FloatArray, theta_record: FloatArray, n_updates: int,
                 record_every: int, bound: float) -> int:
    """Merge the workers' pushes and apply them, one time block at a time (plain quadratic).

    Worker ``w`` pushes at ``start[w]``, then at ``start[w] + cumsum(rounds[w])`` (summed
    in order, as :func:`sdde.cluster._merge_kernel.arrivals`); ``counts[w]`` of its pushes
    lie in ``[0, horizon]``. Each block of the merged schedule
    (:func:`sdde.cluster._merge_kernel.sort_block`, the order of ``merge_rows``) gets its
    standard normals from ``rng``, push after push and coordinate after coordinate (the
    values ``rng.standard_normal((pushes, d))`` gives), and goes through
    :func:`run_events`. The whole schedule never exists as an array of workers, nor the
    normals: the same run as ``merge_rows`` + ``run_events`` on normals drawn in chunks,
    bit for bit, with no array larger than a block besides the returned ones.

    ``times``, ``staleness``, ``accepted`` and ``delay`` have one entry per push in the
    window (``counts.sum()``; allocated by the caller, where numpy backs large arrays with
    huge pages): they are written up to the last push applied, ``counters[2]``. Returns
    the status.
    """
    n, d = start.shape[0], theta.shape[0]
    total = times.shape[0]
    n_blocks = block_count(total, n)
    width = horizon / n_blocks
    staged_times, staged_rows, buckets = block_buffers(total, n)
    workers = np.empty(staged_rows.shape[0], dtype=np.int64)
    z = np.empty((staged_rows.shape[0], d))
    no_residuals = np.empty((0, d))
    pushed = np.zeros(n, dtype=np.int64)  # each worker's pushes merged so far
    sums = np.zeros(n)  # the sum of their rounds
    pushed_next, sums_next = np.empty(n, dtype=np.int64), np.empty(n)
    status, out = RUNNING, 0
    for block in range(n_blocks):
        limit = np.inf if block == n_blocks - 1 else (block + 1) * width
        size = _stage_rounds(start, rounds, counts, pushed, sums, pushed_next, sums_next,
                             limit, staged_times, staged_rows)
        while size < 0:  # a crowded block: grow the buffers and stage it again
            staged_times, staged_rows = grown(staged_times, staged_rows)
            size = _stage_rounds(start, rounds, counts, pushed, sums, pushed_next,
                                 sums_next, limit, staged_times, staged_rows)
        if workers.shape[0] < size:
            workers = np.empty(staged_rows.shape[0], dtype=np.int64)
            z = np.empty((staged_rows.shape[0], d))
        pushed[:] = pushed_next
        sums[:] = sums_next
        if size == 0:
            continue
        block_times = times[out:out + size]
        buckets = sort_block(staged_times, staged_rows, size, block * width, width, buckets,
                             block_times, workers)
        for k in range(size):
            for i in range(d):
                z[k, i] = rng.standard_normal()
        status = run_events(0, workers, block_times, z[:size], curvatures, noise_sd, lr,
                            factors, threshold, theta, snapshots, pulled_version, pulled_time,
                            counters, staleness[out:out + size], accepted[out:out + size],
                            delay[out:out + size], loss, loss_time, theta_record, n_updates,
                            record_every, bound, d, False, None, no_residuals)
        counters[2] += out  # the block's last push, as an index of the whole window
        out += size
        if status != RUNNING:
            break
    return status


@numba.njit(cache=True, nogil=True)
def _stage_rounds(start: FloatArray, rounds: FloatArray, counts: np.ndarray,
                  pushed: np.ndarray, sums: FloatArray, pushed_next: np.ndarray,
                  sums_next: FloatArray, limit: float, staged_times: FloatArray,
                  staged_rows: np.ndarray) -> int:
    """Stage each worker's next pushes before ``limit`` (worker by worker, in time order).

    Worker ``w`` has merged ``pushed[w]`` pushes, whose rounds sum to ``sums[w]``; its
    state after the block goes to ``pushed_next``, ``sums_next``. Returns the pushes
    staged, or -1 if they do not fit (then stage again into larger buffers).
    """
    size, m = 0, rounds.shape[1]
    for w in range(start.shape[0]):
        k, total = pushed[w], sums[w]
        while k < counts[w]:
            t = start[w] if k == 0 else start[w] + total
            if not t < limit:
                break
            if size == staged_times.shape[0]:
                return -1
            staged_times[size] = t
            staged_rows[size] = w
            size += 1
            if k < m:
                total += rounds[w, k]
            k += 1
        pushed_next[w], sums_next[w] = k, total
    return size


@numba.njit(cache=True, nogil=True)
def push_counts(start: FloatArray, rounds: FloatArray,
                horizon: float) -> tuple[np.ndarray, bool]:
    """Each worker's pushes in ``[0, horizon]`` (as :func:`run_schedule` builds them), and
    whether every worker's last push is at or after ``horizon`` (the rounds cover the window,
    as :func:`sdde.cluster._merge_kernel.arrivals` decides)."""
    n, m = rounds.shape
    counts = np.zeros(n, dtype=np.int64)
    covered = True
    for w in range(n):
        t, total, k = start[w], 0.0, 0
        while t <= horizon:
            k += 1
            if k > m:
                break
            total += rounds[w, k - 1]
            t = start[w] + total
        counts[w] = min(k, m + 1)
        if t < horizon:  # only when every round was summed: the last push falls short
            covered = False
    return counts, covered

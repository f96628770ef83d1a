"""Staleness by simulating independent stationary renewal processes (the exact law, sampled).

Each worker starts from a stationary phase: its first push comes after a draw from the
equilibrium law of its round time, later rounds are i.i.d. Every push after a worker's
first is a gradient whose pull happened inside the simulated window, so its staleness
(updates applied between its pull and its push) is observed exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray
from sdde.delays import DelayLaw

IntArray = npt.NDArray[np.int64]


def push_schedule(
    groups: Sequence[tuple[int, DelayLaw]], horizon: float, rng: np.random.Generator,
    *, stationary: bool = True,
) -> tuple[FloatArray, IntArray]:
    """Push times of all workers in ``[0, horizon]``, sorted, with the pushing worker's index.

    Parameters
    ----------
    groups : sequence of (n_workers, DelayLaw)
        Worker groups; workers are numbered group by group.
    horizon : float
        Length of the simulated window.
    rng : numpy.random.Generator
        Source of randomness.
    stationary : bool
        First pushes after a draw from the equilibrium law (stationary phases), or after
        a full round from a common start at 0 (lock-step).

    Returns
    -------
    times : ndarray, shape (n_pushes,)
    workers : ndarray of int, shape (n_pushes,)
    """
    from sdde.cluster._merge_kernel import arrivals, merge_rows  # numba: imported when first needed

    rows = []
    for n, law in groups:
        start = law.equilibrium().sample(rng, n) if stationary else law.sample(rng, n)
        m = rounds_per_draw(n, law, horizon)
        pushes, covered = arrivals(start, law.sample(rng, (n, m)), horizon)
        rows.append(pushes if covered else extend_rows(pushes, law, rng, m, horizon))
    width = max(a.shape[1] for a in rows)
    table = rows[0] if len(rows) == 1 else np.vstack(
        [np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=np.inf) for a in rows])
    return merge_rows(table, float(horizon))


#: Most round times drawn at once per group (256 MiB); longer schedules are extended.
_MAX_DRAW = 2**25


def rounds_per_draw(n: int, law: DelayLaw, horizon: float) -> int:
    """Rounds drawn per worker at once: the mean count in the window and an 8-sd margin.

    A high cv's margin would be gigabytes: past :data:`_MAX_DRAW` values for the group
    the bulk is drawn, and :func:`extend_rows` extends the rows that fall short.
    """
    per_worker = horizon / law.mean
    spread = math.sqrt(per_worker) * max(law.cv, 1.0) if math.isfinite(law.cv) else per_worker
    m = math.ceil(per_worker + 8.0 * spread + 10.0)
    if n * m > _MAX_DRAW:
        m = max(math.ceil(per_worker + 8.0 * math.sqrt(per_worker) + 10.0), _MAX_DRAW // n)
    return m


def extend_rows(pushes: FloatArray, law: DelayLaw, rng: np.random.Generator, m: int,
                horizon: float) -> FloatArray:
    """Push times ``pushes[w]`` extended, ``m`` rounds at a time, until every row passes
    ``horizon`` (rare: the first draw covers the window nearly always)."""
    from sdde.cluster._merge_kernel import arrivals

    covered = False
    while not covered:
        more, covered = arrivals(pushes[:, -1].copy(), law.sample(rng, (pushes.shape[0], m)),
                                 horizon)
        pushes = np.concatenate([pushes, more[:, 1:]], axis=1)
    return pushes


def previous_push(workers: IntArray) -> IntArray:
    """Index of the same worker's previous push (its pull), or -1 for its first push."""
    idx = np.arange(workers.size)
    order = np.lexsort((idx, workers))
    prev = np.full(workers.size, -1, dtype=np.int64)
    same = workers[order][1:] == workers[order][:-1]
    prev[order[1:][same]] = order[:-1][same]
    return prev


def simulate_staleness(
    groups: Sequence[tuple[int, DelayLaw]],
    *,
    rng: np.random.Generator,
    n_gradients: int,
    threshold: int | None = None,
    burn_in: float = 0.1,
) -> tuple[IntArray, IntArray]:
    """Observed staleness of simulated gradients.

    Parameters
    ----------
    groups : sequence of (n_workers, DelayLaw)
        Worker groups.
    rng : numpy.random.Generator
        Source of randomness.
    n_gradients : int
        Approximate number of gradients to observe.
    threshold : int, optional
        Gradients with staleness above it are dropped and do not count as updates.
    burn_in : float
        With a threshold, the fraction of the window discarded while acceptance
        settles (without one, the start is already stationary and nothing is discarded).

    Returns
    -------
    staleness : ndarray of int, shape (n_observed,)
        Staleness of each observed gradient, in push order.
    workers : ndarray of int, shape (n_observed,)
        Which worker pushed it.
    """
    total_rate = sum(n / law.mean for n, law in groups)
    keep_from = burn_in if threshold is not None else 0.0
    horizon = n_gradients / total_rate / (1.0 - keep_from)
    times, workers = push_schedule(groups, horizon, rng)
    prev = previous_push(workers)
    if threshold is None:
        stale = np.arange(workers.size) - prev - 1
    else:
        stale = _staleness_with_threshold(prev, threshold)
    observed = (prev >= 0) & (np.where(prev >= 0, times[prev], -1.0) >= keep_from * horizon)
    return stale[observed].astype(np.int64), workers[observed]


def _staleness_with_threshold(prev: IntArray, threshold: int) -> IntArray:
    """Sequential pass: staleness counts accepted updates only (acceptance feeds back)."""
    n = prev.size
    accepted_before = 0
    seen_at_pull = np.zeros(n, dtype=np.int64)  # updates applied when push i's worker pulled
    stale = np.zeros(n, dtype=np.int64)
    prev_list = prev.tolist()
    for i in range(n):
        q = prev_list[i]
        s = accepted_before - (int(seen_at_pull[q]) if q >= 0 else accepted_before)
        stale[i] = s
        if s <= threshold:
            accepted_before += 1
        seen_at_pull[i] = accepted_before
    return stale

"""The push schedule of one replica, drawn in the order ``push_schedule`` draws it.

:func:`sdde.cluster._staleness_sim.push_schedule` draws each worker's first push and a
block of rounds, builds every push time (``arrivals``) and merges them (``merge_rows``).
For one group of workers, :func:`draw_schedule` draws the same random numbers in the same
order but, when the rounds cover the window (nearly always), stops there and returns them
as :class:`Rounds`: the compiled loop merges the pushes block by block as it applies them
(:func:`sdde.simulator._kernel.run_schedule`), so the push times of all workers and the
merged schedule are never stored whole. Otherwise it finishes as ``push_schedule`` does,
with the merged times and workers. tests/simulator/test_fused_schedule.py checks that
both give ``push_schedule``'s schedule, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sdde._numerics import FloatArray
from sdde.cluster import _staleness_sim
from sdde.cluster._merge_kernel import arrivals, merge_rows
from sdde.delays import DelayLaw
from sdde.simulator._kernel import push_counts


@dataclass(frozen=True)
class Rounds:
    """Worker ``w`` pushes at ``start[w]``, then after each of its ``rounds[w]``;
    ``counts[w]`` of these pushes lie in the window."""

    start: FloatArray
    rounds: FloatArray
    counts: np.ndarray


def draw_schedule(groups: Sequence[tuple[int, DelayLaw]], horizon: float,
                  rng: np.random.Generator, *, stationary: bool,
                  as_rounds: bool) -> Rounds | tuple[FloatArray, np.ndarray]:
    """``push_schedule(groups, horizon, rng, stationary=stationary)``, or its rounds.

    With ``as_rounds``, one group, and rounds that cover ``[0, horizon]``, returns the
    :class:`Rounds`; otherwise the merged ``(times, workers)``. Either way ``rng`` is
    left where ``push_schedule`` leaves it.
    """
    if not as_rounds or len(groups) != 1:
        return _staleness_sim.push_schedule(groups, horizon, rng, stationary=stationary)
    n, law = groups[0]
    start = law.equilibrium().sample(rng, n) if stationary else law.sample(rng, n)
    m = _rounds_per_draw(n, law, horizon)
    rounds = law.sample(rng, (n, m))
    counts, covered = push_counts(start, rounds, horizon)
    if covered:
        return Rounds(start=start, rounds=rounds, counts=counts)
    pushes, covered = arrivals(start, rounds, horizon)
    while not covered:  # rare: extend the short rows, as push_schedule does
        more, covered = arrivals(pushes[:, -1].copy(), law.sample(rng, (n, m)), horizon)
        pushes = np.concatenate([pushes, more[:, 1:]], axis=1)
    return merge_rows(pushes, float(horizon))


def _rounds_per_draw(n: int, law: DelayLaw, horizon: float) -> int:
    """Rounds drawn per worker at once: ``push_schedule``'s choice (the mean count and an
    8-sd margin, capped at ``_MAX_DRAW`` values for the group)."""
    per_worker = horizon / law.mean
    spread = math.sqrt(per_worker) * max(law.cv, 1.0) if math.isfinite(law.cv) else per_worker
    m = math.ceil(per_worker + 8.0 * spread + 10.0)
    if n * m > _staleness_sim._MAX_DRAW:
        m = max(math.ceil(per_worker + 8.0 * math.sqrt(per_worker) + 10.0),
                _staleness_sim._MAX_DRAW // n)
    return m

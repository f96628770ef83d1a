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
    m = _staleness_sim.rounds_per_draw(n, law, horizon)
    rounds = law.sample(rng, (n, m))
    counts, covered = push_counts(start, rounds, horizon)
    if covered:
        return Rounds(start=start, rounds=rounds, counts=counts)
    pushes, _ = arrivals(start, rounds, horizon)  # rare: extend, as push_schedule does
    return merge_rows(_staleness_sim.extend_rows(pushes, law, rng, m, horizon), float(horizon))

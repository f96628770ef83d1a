"""The compiled push schedule equals the numpy construction it replaced, bit for bit.

``sdde.cluster._merge_kernel.arrivals`` replaced ``start + np.cumsum(rounds)`` with the start
prepended, and ``merge_rows`` replaced ``np.argsort(kind="stable")`` over the pushes
concatenated row by row; they must agree exactly (times and the row of each time), for
spread-out times, for many equal times (lock-step deterministic workers) and for times
crowded into a few buckets (the merge-sort path).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde.cluster._merge_kernel import arrivals, merge_rows

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def _stable_sort(rows: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    inside = rows <= horizon
    times = rows[inside]
    workers = np.broadcast_to(np.arange(rows.shape[0])[:, None], rows.shape)[inside]
    order = np.argsort(times, kind="stable")
    return times[order], workers[order]


@st.composite
def schedules(draw):
    n = draw(st.integers(1, 40))
    m = draw(st.integers(1, 60))
    horizon = draw(st.floats(0.5, 100.0))
    kind = draw(st.sampled_from(["uniform", "grid", "clustered"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "uniform":
        values = rng.uniform(0.0, horizon, (n, m))
    elif kind == "grid":  # few distinct values: many exact ties between rows
        values = rng.integers(0, 4, (n, m)) * (horizon / 4)
    else:  # most values in a sliver of the window: crowded buckets
        values = horizon * rng.beta(0.05, 5.0, (n, m))
    rows = np.sort(values, axis=1)
    # each row keeps a random number of entries in the window; the rest lie beyond it
    # (finite, or inf as push_schedule pads groups)
    keep = rng.integers(0, m + 1, n)
    beyond = np.arange(m)[None, :] >= keep[:, None]
    rows[beyond] = np.where(rng.random(beyond.sum()) < 0.5, np.inf,
                            horizon * (1.5 + np.arange(m)[None, :].repeat(n, 0)[beyond]))
    return rows, horizon


@SETTINGS
@given(schedules())
def test_merge_equals_stable_sort(case) -> None:
    rows, horizon = case
    times, workers = merge_rows(rows, horizon)
    expected_times, expected_workers = _stable_sort(rows, horizon)
    np.testing.assert_array_equal(times, expected_times)
    np.testing.assert_array_equal(workers, expected_workers)


@SETTINGS
@given(st.integers(1, 20), st.integers(1, 50), st.floats(0.1, 50.0), st.integers(0, 2**32 - 1))
def test_arrivals_equal_the_numpy_cumulative_sum(n: int, m: int, horizon: float,
                                                 seed: int) -> None:
    rng = np.random.default_rng(seed)
    start, rounds = rng.exponential(1.0, n), rng.exponential(1.0, (n, m))
    pushes, covered = arrivals(start, rounds, horizon)
    expected = np.concatenate([start[:, None], start[:, None] + np.cumsum(rounds, axis=1)],
                              axis=1)
    np.testing.assert_array_equal(pushes, expected)
    assert covered == bool(np.all(expected[:, -1] >= horizon))

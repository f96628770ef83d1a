"""The bucket merge of the push schedule equals a stable sort of all pushes.

``sdde._merge_kernel.merge_rows`` replaced ``np.argsort(kind="stable")`` over the pushes
concatenated row by row; the two must agree exactly (times and the row of each time), for
spread-out times, for many equal times (lock-step deterministic workers) and for times
crowded into a few buckets (the merge-sort path).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde._merge_kernel import merge_rows

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def _stable_sort(rows: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    times = np.concatenate([rows[w, :c] for w, c in enumerate(counts)])
    workers = np.concatenate([np.full(c, w) for w, c in enumerate(counts)])
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
    counts = rng.integers(0, m + 1, n).astype(np.int64)
    return rows, counts, horizon


@SETTINGS
@given(schedules())
def test_merge_equals_stable_sort(case) -> None:
    rows, counts, horizon = case
    times, workers = merge_rows(rows, counts, horizon)
    expected_times, expected_workers = _stable_sort(rows, counts)
    np.testing.assert_array_equal(times, expected_times)
    np.testing.assert_array_equal(workers, expected_workers)

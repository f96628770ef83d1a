"""The fast paths of the reference simulator reproduce the reference, bit for bit (issue 21).

``simulate`` on a quadratic without sparsification merges the pushes block by block as it
applies them (``run_schedule``), drawing the normals inside the compiled loop; the
schedule comes from ``draw_schedule`` instead of ``push_schedule``; ``merge_rows`` sorts
in time blocks; constant and table step policies use a short factor table. Each is
checked here against the construction it replaced, which is independent code:
``push_schedule`` (numpy cumulative sums, ``arrivals``), a stable ``np.argsort``,
``run_events`` fed with ``rng.standard_normal((pushes, d))``, and ``StepPolicy.factor``
at every staleness. The plain-Python engine comparison of tests/simulator/test_simulator.py
covers the whole run. Seeds are fixed; Hypothesis runs derandomized.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sdde
from sdde import Cluster, delays
from sdde.cluster import _staleness_sim
from sdde.cluster._merge_kernel import arrivals, merge_rows
from sdde.cluster._staleness_sim import push_schedule
from sdde.model.kernels import StepPolicy
from sdde.simulator._kernel import push_counts, run_events, run_schedule
from sdde.simulator._schedule import Rounds, draw_schedule
from sdde.simulator.objectives import QuadraticObjective
from sdde.simulator.server import _factor_table, run

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
LAWS = {
    "shifted-exp": delays.parse("shifted-exp:shift=0.5,mean=1"),
    "exponential": delays.Exponential(scale=1.0),
    "gamma": delays.Gamma.from_mean(shape=4.0, mean=1.0),
    "constant": delays.Deterministic(value=1.0),  # ties between workers everywhere
    "pareto": delays.parse("pareto:shape=1.8,scale=1"),  # infinite variance
}


def _merged(schedule: Rounds | tuple[np.ndarray, np.ndarray],
            horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """The merged (times, workers) a schedule stands for."""
    if isinstance(schedule, Rounds):
        pushes, _ = arrivals(schedule.start, schedule.rounds, horizon)
        return merge_rows(pushes, horizon)
    return schedule


# ------------------------------------------------------------------ the schedule draws


@pytest.mark.parametrize("law", sorted(LAWS))
@pytest.mark.parametrize("stationary", [True, False])
def test_draw_schedule_is_push_schedule(law: str, stationary: bool) -> None:
    """Same pushes, same workers, and the stream left at the same place."""
    groups, horizon = [(12, LAWS[law])], 700.0
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    schedule = draw_schedule(groups, horizon, a, stationary=stationary, as_rounds=True)
    times, workers = push_schedule(groups, horizon, b, stationary=stationary)
    got_times, got_workers = _merged(schedule, horizon)
    np.testing.assert_array_equal(got_times, times)
    np.testing.assert_array_equal(got_workers, workers)
    assert a.random() == b.random()


def test_draw_schedule_short_rounds_are_extended_as_push_schedule(monkeypatch) -> None:
    """With a tiny cap on the rounds drawn at once, the rows must be extended (the path
    where the rounds do not cover the window): still push_schedule's schedule."""
    monkeypatch.setattr(_staleness_sim, "_MAX_DRAW", 64)
    groups, horizon = [(16, delays.parse("pareto:shape=1.2,scale=1"))], 400.0
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    schedule = draw_schedule(groups, horizon, a, stationary=True, as_rounds=True)
    assert not isinstance(schedule, Rounds)  # the extension path was taken
    times, workers = push_schedule(groups, horizon, b)
    np.testing.assert_array_equal(schedule[0], times)
    np.testing.assert_array_equal(schedule[1], workers)
    assert a.random() == b.random()


def test_draw_schedule_several_groups_is_push_schedule() -> None:
    groups, horizon = [(5, LAWS["gamma"]), (3, LAWS["constant"])], 300.0
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    schedule = draw_schedule(groups, horizon, a, stationary=True, as_rounds=True)
    times, workers = push_schedule(groups, horizon, b)
    np.testing.assert_array_equal(schedule[0], times)
    np.testing.assert_array_equal(schedule[1], workers)


@SETTINGS
@given(st.integers(1, 12), st.integers(1, 40), st.floats(0.0, 80.0),
       st.integers(0, 2**32 - 1), st.booleans())
def test_push_counts_match_arrivals(n: int, m: int, horizon: float, seed: int,
                                    zeros: bool) -> None:
    """Pushes in the window and coverage, as counted on ``arrivals``' table (zero-length
    rounds included: equal push times within a row)."""
    rng = np.random.default_rng(seed)
    start = rng.exponential(1.0, n)
    rounds = rng.exponential(1.0, (n, m)) * (rng.random((n, m)) < 0.5 if zeros else 1.0)
    counts, covered = push_counts(start, rounds, horizon)
    table, expected_covered = arrivals(start, rounds, horizon)
    np.testing.assert_array_equal(counts, (table <= horizon).sum(axis=1))
    assert covered == expected_covered


# --------------------------------------------------------- the merge, across time blocks


@st.composite
def large_schedules(draw):
    """Rows long enough to span several time blocks (4096 pushes each)."""
    n = draw(st.integers(1, 64))
    m = draw(st.integers(200, 600))
    kind = draw(st.sampled_from(["renewal", "grid", "clustered"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "renewal":
        rows = np.cumsum(rng.exponential(1.0, (n, m)), axis=1)
    elif kind == "grid":  # few distinct values: many exact ties between rows
        rows = np.sort(rng.integers(0, 50, (n, m)).astype(float), axis=1)
    else:  # most values in a sliver of the window: crowded buckets
        rows = np.sort(m * rng.beta(0.05, 5.0, (n, m)), axis=1)
    horizon = float(draw(st.floats(0.3, 1.0)) * rows.max())
    return rows, horizon


@SETTINGS
@given(large_schedules())
def test_merge_across_blocks_equals_stable_sort(case) -> None:
    rows, horizon = case
    times, workers = merge_rows(rows, horizon)
    inside = rows <= horizon
    expected = rows[inside]
    ids = np.broadcast_to(np.arange(rows.shape[0])[:, None], rows.shape)[inside]
    order = np.argsort(expected, kind="stable")
    np.testing.assert_array_equal(times, expected[order])
    np.testing.assert_array_equal(workers, ids[order])


# ------------------------------------------------- the fused loop and its normals


@numba.njit
def _numba_normals(rng: np.random.Generator, n: int) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.standard_normal()
    return out


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.MT19937,
                                           np.random.Philox, np.random.SFC64])
def test_numba_normals_are_numpy_normals(bit_generator) -> None:
    """``run_schedule`` draws its normals one by one inside numba: they must be numpy's
    (the same ziggurat on the same bit generator) and leave the stream at the same place,
    whatever the bit generator."""
    a, b = np.random.Generator(bit_generator(17)), np.random.Generator(bit_generator(17))
    np.testing.assert_array_equal(_numba_normals(a, 200_000), b.standard_normal(200_000))
    assert a.random() == b.random()


def test_fused_run_with_another_bit_generator_is_the_python_run() -> None:
    cluster = Cluster(workers=8, delay=LAWS["gamma"], threshold=12)
    objective = QuadraticObjective(curvatures=[1.0, 2.0, 3.0], noise=1.0)
    kw = {"lr": 0.01, "n_updates": 20_000, "record_every": 10}
    fused = run(cluster, objective, rng=np.random.Generator(np.random.MT19937(3)), **kw)
    reference = run(cluster, objective, rng=np.random.Generator(np.random.MT19937(3)),
                    engine="python", **kw)
    for key in ("times", "staleness", "delay", "accepted", "loss", "loss_times"):
        np.testing.assert_array_equal(getattr(fused, key), getattr(reference, key))


def test_chunked_normals_equal_one_draw() -> None:
    """The reused-buffer chunks of the unfused compiled path draw the same normals."""
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    whole = a.standard_normal((3000, 3))
    parts = np.empty((3000, 3))
    for first in range(0, 3000, 700):
        b.standard_normal(out=parts[first:first + 700])
    np.testing.assert_array_equal(parts, whole)


def _state(n: int, d: int, n_updates: int, record_every: int, record_theta: bool) -> dict:
    records = n_updates // record_every + 1
    return {"theta": np.ones(d), "snapshots": np.ones((n, d)),
            "pulled_version": np.zeros(n, dtype=np.int64), "pulled_time": np.zeros(n),
            "counters": np.array([0, 1, 0], dtype=np.int64),
            "loss": np.full(records, np.nan), "loss_time": np.full(records, np.nan),
            "theta_record": np.full((records if record_theta else 0, d), np.nan)}


@SETTINGS
@given(n=st.integers(1, 40), d=st.integers(1, 3), law=st.sampled_from(sorted(LAWS)),
       threshold=st.sampled_from([-1, 0, 3, 30]), record_every=st.integers(1, 50),
       bound=st.sampled_from([1e100, 3.0]), lr=st.sampled_from([0.01, 0.3]),
       seed=st.integers(0, 2**32 - 1))
def test_run_schedule_equals_merge_then_run_events(n, d, law, threshold, record_every,
                                                   bound, lr, seed) -> None:
    """The fused loop against the unfused one on the same draws: every array bit for bit
    (several time blocks, ties, thresholds, divergence and records)."""
    rng = np.random.default_rng(seed)
    horizon = 9000.0 / n  # about 9000 pushes: three blocks
    start = LAWS[law].equilibrium().sample(rng, n)
    rounds = LAWS[law].sample(rng, (n, int(horizon / LAWS[law].mean * 1.5) + 40))
    counts, covered = push_counts(start, rounds, horizon)
    if not covered:
        return  # heavy tails: push_schedule would draw more rounds (tested above)
    curvatures, noise_sd = np.linspace(0.5, 2.0, d), np.full(d, 0.7)
    factors = 1.0 / (1.0 + np.arange(60.0))
    n_updates = int(counts.sum()) * 3 // 4
    seed_normals = int(rng.integers(2**32))
    fused = _state(n, d, n_updates, record_every, True)
    events = int(counts.sum())
    out = {"times": np.empty(events), "staleness": np.empty(events, dtype=np.int64),
           "accepted": np.empty(events, dtype=np.bool_), "delay": np.empty(events)}
    status = run_schedule(start, rounds, counts, horizon, np.random.default_rng(seed_normals),
                          curvatures, noise_sd, lr, factors, threshold, fused["theta"],
                          fused["snapshots"], fused["pulled_version"], fused["pulled_time"],
                          fused["counters"], out["times"], out["staleness"], out["accepted"],
                          out["delay"], fused["loss"], fused["loss_time"],
                          fused["theta_record"], n_updates, record_every, bound)
    pushes, _ = arrivals(start, rounds, horizon)
    times, workers = merge_rows(pushes, horizon)
    z = np.random.default_rng(seed_normals).standard_normal((times.size, d))
    plain = _state(n, d, n_updates, record_every, True)
    expected = {"staleness": np.empty(events, dtype=np.int64),
                "accepted": np.empty(events, dtype=np.bool_), "delay": np.empty(events)}
    expected_status = run_events(
        0, workers, times, z, curvatures, noise_sd, lr, factors, threshold, plain["theta"],
        plain["snapshots"], plain["pulled_version"], plain["pulled_time"], plain["counters"],
        expected["staleness"], expected["accepted"], expected["delay"], plain["loss"],
        plain["loss_time"], plain["theta_record"], n_updates, record_every, bound, d, False,
        None, np.empty((0, d)))
    assert status == expected_status
    last = int(plain["counters"][2]) + 1
    np.testing.assert_array_equal(out["times"][:last], times[:last])
    for key, value in expected.items():
        np.testing.assert_array_equal(out[key][:last], value[:last])
    for key, value in plain.items():
        np.testing.assert_array_equal(fused[key], value)


def test_fused_and_unfused_simulate_agree_on_a_long_run() -> None:
    """10⁵ updates (25 blocks), d = 1: the compiled run against the Python engine's
    schedule and normals, through the unfused compiled loop (a sparsifier that keeps every
    coordinate takes the unfused path and is the plain run bit for bit)."""
    cluster = Cluster(workers=32, delay=LAWS["shifted-exp"], threshold=40)
    objective = QuadraticObjective(curvatures=[1.0], noise=1.0)
    kw = {"lr": 0.001, "n_updates": 100_000, "record_every": 1000, "record_theta": True}
    fused = run(cluster, objective, rng=np.random.default_rng(2), **kw)
    unfused = run(cluster, objective, rng=np.random.default_rng(2),
                  sparsifier=sdde.Sparsifier.parse("random:1.0"), **kw)
    for key in ("times", "staleness", "delay", "accepted", "loss", "loss_times", "theta"):
        np.testing.assert_array_equal(getattr(fused, key), getattr(unfused, key))


# ------------------------------------------------------------------ the factor table


@SETTINGS
@given(st.lists(st.floats(0.0, 5.0), min_size=1, max_size=8), st.floats(0.1, 4.0),
       st.integers(1, 200))
def test_short_factor_tables_give_every_factor(values, scale, n_updates) -> None:
    """Constant and table policies get a short table: looked up as the loops do
    (``g[min(s, len − 1)]``), it gives ``StepPolicy.factor`` at every staleness."""
    staleness = np.arange(n_updates + 1)
    for policy in (StepPolicy(scale=scale), StepPolicy(name="table", values=tuple(values),
                                                       scale=scale)):
        table = _factor_table(policy, n_updates)
        looked_up = table[np.minimum(staleness, table.size - 1)]
        np.testing.assert_array_equal(looked_up, policy.factor(staleness))


def test_exhausted_schedule_is_redrawn_identically_in_both_engines(monkeypatch) -> None:
    """When the pushes run out before the last update (here forced: the run is told that
    nothing is dropped, while threshold 0 drops most pushes), a longer schedule is drawn
    from where the stream stands. The fused compiled run draws its normals inside the loop;
    it must leave the stream exactly where the Python engine does, so that both draw the
    same second schedule and agree bit for bit."""
    from sdde.simulator import server

    monkeypatch.setattr(Cluster, "accepted_rate", property(lambda self: self.arrival_rate))
    calls = []
    original = server.draw_schedule

    def counting(*args, **kwargs):
        calls.append(kwargs["as_rounds"])
        return original(*args, **kwargs)

    monkeypatch.setattr(server, "draw_schedule", counting)
    cluster = Cluster(workers=8, delay=LAWS["shifted-exp"], threshold=0)
    objective = QuadraticObjective(curvatures=[1.0, 3.0], noise=0.5)
    kw = {"lr": 0.01, "n_updates": 3000, "record_every": 7, "record_theta": True}
    fused = run(cluster, objective, rng=np.random.default_rng(8), **kw)
    assert calls.count(True) >= 2  # the fused run redrew its schedule
    reference = run(cluster, objective, rng=np.random.default_rng(8), engine="python", **kw)
    for key in ("times", "staleness", "delay", "accepted", "loss", "loss_times", "theta"):
        np.testing.assert_array_equal(getattr(fused, key), getattr(reference, key))

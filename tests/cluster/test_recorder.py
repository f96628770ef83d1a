"""RoundRecorder: durations and staleness of scripted schedules, files read back by sdde."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import delays
from sdde.cluster.staleness_models import fit_staleness
from sdde.trace import RoundRecorder


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def scripted() -> RoundRecorder:
    """Three workers; times and the order of events written out by hand."""
    clock = FakeClock()
    rec = RoundRecorder(clock=clock)
    for t, event, worker in [(0.0, "pull", 0), (0.5, "pull", 1), (1.0, "pull", 2),
                             (2.0, "push", 1),   # 0 updates since its pull at 0.5
                             (2.0, "pull", 1),
                             (3.0, "push", 0),   # 1 update (1's) since its pull at 0
                             (3.5, "push", 2),   # 2 updates (1's, 0's) since 1.0
                             (4.0, "push", 1)]:  # 2 updates (0's, 2's) since 2.0
        clock.now = t
        getattr(rec, event)(worker)
    return rec


def test_scripted_schedule_gives_exact_durations_and_staleness() -> None:
    rec = scripted()
    assert rec.durations.tolist() == [1.5, 3.0, 2.5, 2.0]
    assert rec.staleness.tolist() == [0, 1, 2, 2]
    assert rec.staleness_counts().tolist() == [1, 1, 2]
    assert rec.n_updates == 4 and rec.n_rounds == 4
    assert rec.workers == [1, 0, 2, 1]


def test_dropped_gradient_is_a_round_but_not_an_update() -> None:
    clock = FakeClock()
    rec = RoundRecorder(clock=clock)
    rec.pull("a")
    rec.pull("b")
    clock.now = 1.0
    assert rec.push("a", applied=False) == 0
    clock.now = 2.0
    assert rec.push("b") == 0  # a's gradient was dropped: nothing was applied in between
    assert rec.n_updates == 1 and rec.n_rounds == 2


def test_context_manager_pulls_and_pushes_and_discards_on_error() -> None:
    clock = FakeClock()
    rec = RoundRecorder(clock=clock)
    with rec.round("w"):
        clock.now = 0.25
    assert rec.durations.tolist() == [0.25]
    with pytest.raises(RuntimeError), rec.round("w"):
        raise RuntimeError("worker crashed")
    rec.pull("w")  # the failed round was discarded: a new pull is allowed
    assert rec.n_rounds == 1


def test_law_and_trace_file_round_trip(tmp_path) -> None:
    rec = scripted()
    law = rec.to_law(unit=0.5)
    assert law.samples.tolist() == [3.0, 4.0, 5.0, 6.0]
    path = rec.write_trace(tmp_path / "rounds.txt", unit=0.5)
    read = delays.parse(f"trace:{path}")
    np.testing.assert_array_equal(read.samples, law.samples)  # repr: exact round trip
    normalised = delays.parse(f"trace:{rec.write_trace(tmp_path / 'n.txt', normalise=True)}")
    assert normalised.mean == pytest.approx(1.0, rel=1e-15)


def test_staleness_file_is_what_fit_staleness_reads(tmp_path) -> None:
    rec = scripted()
    counts = np.loadtxt(rec.write_staleness(tmp_path / "s.txt"))
    assert counts.tolist() == [1, 1, 2]
    fit = fit_staleness(counts, "poisson", counts=True)
    assert fit.params["lam"] == pytest.approx(5 / 4)  # the Poisson MLE is the mean


@given(n_workers=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_random_schedule_matches_a_direct_count(n_workers: int, seed: int) -> None:
    """Staleness = pushes between a worker's pull and its push, counted independently."""
    rng = np.random.default_rng(seed)
    clock = FakeClock()
    rec = RoundRecorder(clock=clock)
    log: list[tuple[str, int]] = []
    open_ = set()
    for step in range(60):
        clock.now = float(step + 1)
        w = int(rng.integers(n_workers))
        event = "push" if w in open_ else "pull"
        getattr(rec, event)(w)
        (open_.discard if event == "push" else open_.add)(w)
        log.append((event, w))
    expected = []
    for i, (event, w) in enumerate(log):
        if event == "push":
            start = max(j for j in range(i) if log[j] == ("pull", w))
            expected.append(sum(1 for e, _ in log[start:i] if e == "push"))
    assert rec.staleness.tolist() == expected


def test_threads_hammering_give_consistent_counts() -> None:
    rec = RoundRecorder()
    n_threads, rounds = 8, 500

    def worker(w: int) -> None:
        for _ in range(rounds):
            with rec.round(w):
                pass

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = rec.staleness_counts()
    assert rec.n_updates == rec.n_rounds == counts.sum() == n_threads * rounds
    # every update is seen by at most the other threads' open rounds: staleness < n_threads,
    # and the staleness of all rounds sums to the number of (update, open round) overlaps,
    # at most (n_threads − 1) per update
    assert counts.size <= n_threads
    assert int(np.arange(counts.size) @ counts) <= (n_threads - 1) * rec.n_updates


@pytest.mark.parametrize(("call", "message"), [
    (lambda r: r.push("x"), "pushed without a pull"),
    (lambda r: (r.pull("x"), r.pull("x")), "pulled twice"),
    (lambda r: r.staleness_counts(), "no round recorded"),
    (lambda r: r.to_law(), "no round recorded"),
    (lambda r: r.to_law(unit=-1.0), "unit must be a positive"),
])
def test_bad_use_is_a_one_line_value_error(call, message) -> None:
    with pytest.raises(ValueError, match=message) as info:
        call(RoundRecorder())
    assert "\n" not in str(info.value)


def test_zero_duration_is_reported() -> None:
    rec = RoundRecorder(clock=lambda: 1.0)
    rec.pull(0)
    rec.push(0)
    with pytest.raises(ValueError, match="round 1 lasted 0 s"):
        rec.to_law()

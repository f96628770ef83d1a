"""Reference simulator of asynchronous SGD: event-loop throughput, and where the time goes.

Run: ``.venv/bin/python benchmarks/bench_simulator.py`` (about 3 minutes; ``--quick`` runs
only section 0, about 40 s). Against the code before issue 21:
``PYTHONPATH=/work/before .venv/bin/python benchmarks/bench_simulator.py`` (only the public
``sdde.simulate`` and kernels present in both trees are used). The model throughout: n = 32
workers with shifted-exponential rounds (shift 0.5, mean 1), lr = 0.001, gradient-noise
variance 1, stationary start, no threshold; d = 100 modes have curvatures 0.1 … 10
(largest κ = lr·n·h = 0.32), d = 1 has h = 1 (κ = 0.032).

0. The headline (issue 21): ``sdde.simulate`` against the simplest honest implementation
   of the same server, written below in plain Python (:func:`heapq_server`): a heap of the
   workers' next push times, each worker drawing its rounds from the same shifted-
   exponential law (``random.expovariate``) and its gradient noise from ``random.gauss``;
   the server applies each gradient at the parameters its worker pulled and records, as
   ``simulate`` does, every push's time, staleness and delay and the loss every 1000
   updates. d = 1: 10⁶ updates each; d = 100: the same loop on numpy vectors, 10⁵
   updates (scaled per update), against ``simulate`` with 10⁶. The two are interleaved
   (a change of machine load hits both), median of ``--repeats`` (default 5) after a
   warm-up call; the ratio is of updates per second. Agreement: both runs' mean staleness
   (n − 1 = 31 in stationarity) and time-averaged loss over the second half (the
   stationary loss, equal within sampling error).

Sections 1–5 (not with ``--quick``): times are medians of 3 runs (5 for d = 1) after a
small warm-up call, so that the numba compile (or cache load) is excluded; that first call
is timed on its own, in this process and in a fresh interpreter with an empty numba cache
(a true compile). ``simulate`` spreads replicas over one thread per core, so "updates/s"
counts all replicas' updates over the wall time of the whole call, while the parts in
section 3 are timed alone in one thread (their sum can then exceed the call: "other"
comes out negative).

1. Throughput of ``sdde.simulate`` for d = 100, 10⁶ updates, ``record_every=1000``: the
   compiled engine against the plain-Python reference engine in the same run (on 2·10⁴
   updates, scaled per update; the two are interleaved so a change of machine load hits
   both), and their ratio. Sanity check: both engines on the same 2·10⁴-update run see the
   same staleness sequence and losses equal to rounding (numpy sums the loss pairwise).
2. d = 1, 10⁶ updates × R replicas (R = 1, 8, 32): updates/s against the target of 3·10⁷.
   The column "of it kernel" is the system CPU time of the ``simulate`` call (from
   ``getrusage``): the operating system faulting in and zeroing fresh memory for the large
   temporary arrays, the noisiest part of the wall time on a virtual machine.
3. The same runs split into their parts, each timed alone with the sizes ``simulate``
   uses (one spawned stream per replica, the same horizon, the same chunks of normals):
   drawing the push schedule (``push_schedule``), drawing the gradient normals, the event
   loop (``run_events``), and "other" (``simulate`` minus the three: step-policy factors,
   output arrays, padding the replicas into one result). Then, for one replica, the parts
   of ``push_schedule``: the round draws, the merge of all pushes (``merge_rows``, a numba
   bucket sort) and the rest, with the stable ``argsort`` it replaced timed beside it.
4. d = 100, 10⁶ updates per replica, R = 1 and 4: throughput and the same split; there the
   floor is drawing the 10⁸ normals.
5. Sparsified gradients (``sdde.Sparsifier``), d = 100, 10⁶ updates, one replica: the
   plain run against random-k and top-k with error feedback, both sending 10 % of the
   coordinates, and their cost relative to the plain run (the selection sorts each
   push's ``d`` keys or magnitudes; random-k also draws ``d`` uniform keys per push).
"""

from __future__ import annotations

import argparse
import functools
import heapq
import math
import random
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
from _common import fresh_interpreter_seconds, median_time

import sdde
from sdde.cluster._merge_kernel import arrivals, merge_rows
from sdde.cluster._staleness_sim import push_schedule
from sdde.model.kernels import StepPolicy
from sdde.model.noise import block_streams
from sdde.simulator._kernel import RUNNING, run_events
from sdde.simulator.objectives import QuadraticObjective
from sdde.simulator.server import SimulationResult, simulate
from sdde.simulator.sparsification import Sparsifier

try:  # issue 21: the schedule merged inside the event loop (absent before it)
    from sdde.simulator._kernel import run_schedule
    from sdde.simulator._schedule import Rounds, draw_schedule
    FUSED = True
except ImportError:
    FUSED = False

N_WORKERS = 32
DELAY = "shifted-exp:shift=0.5,mean=1"
LR = 0.001
N_UPDATES = 1_000_000
PYTHON_UPDATES = 20_000
RECORD_EVERY = 1000
TARGET = 3e7  # updates per second across replicas, d = 1 (issue 21)
CHUNK_VALUES = 1 << 20  # normals per chunk, as sdde.simulator.server draws them
REPEATS = 3
PARTS = ("schedule", "normals", "events", "other")
SHIFT, EXP_MEAN = 0.5, 0.5  # the round law of DELAY: SHIFT + exponential of mean EXP_MEAN
HEAPQ_UPDATES = {1: 1_000_000, 100: 100_000}  # plain-Python run lengths (d = 1, d = 100)


def _model(spectrum: str) -> sdde.AsyncSGDModel:
    return sdde.AsyncSGDModel(
        lr=LR, cluster=sdde.Cluster(workers=N_WORKERS, delay=sdde.delays.parse(DELAY)),
        spectrum=sdde.HessianSpectrum.parse(spectrum), noise=1.0)


def _run(model: sdde.AsyncSGDModel, n_updates: int, replicas: int = 1,
         engine: str = "compiled", seed: int = 0,
         sparsifier: Sparsifier | None = None) -> SimulationResult:
    result = simulate(model, n_updates=n_updates, rng=np.random.default_rng(seed),
                      replicas=replicas, record_every=RECORD_EVERY, engine=engine,
                      sparsifier=sparsifier)
    if any(status != "finished" for status in result.status):
        raise RuntimeError(f"a benchmark run did not finish: {result.status}")
    return result


def _median_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    return median_time(fn, repeats)


def _horizon(model: sdde.AsyncSGDModel, n_updates: int) -> float:
    """The schedule window ``simulate`` draws for one replica (sdde.simulator.server._replica)."""
    cluster = model.cluster
    needed = n_updates / (cluster.accepted_rate / cluster.arrival_rate)
    return (needed + 6.0 * math.sqrt(needed) + 2 * cluster.n_workers) / cluster.arrival_rate


def _split_once(model: sdde.AsyncSGDModel, n_updates: int, replicas: int,
                seed: int = 0) -> dict[str, float]:
    """Seconds spent drawing schedules, drawing normals and in ``run_events``, R replicas."""
    cluster = model.cluster
    groups = [(g.workers, law) for g, law in zip(cluster.groups, cluster.round_laws,
                                                 strict=True)]
    horizon = _horizon(model, n_updates)
    objective = QuadraticObjective(curvatures=model.curvatures, noise=model.noise_variances)
    d, n = objective.dim, cluster.n_workers
    noise_sd = np.sqrt(objective.noise)
    factors = np.asarray(StepPolicy().factor(np.arange(n_updates + 1)), dtype=np.float64)
    n_records = n_updates // RECORD_EVERY + 1
    chunk = max(1, CHUNK_VALUES // d)
    spent = dict.fromkeys(PARTS[:3], 0.0)
    if FUSED:
        return _split_fused(objective, groups, horizon, factors, n_records, replicas, seed)
    for stream in block_streams(np.random.default_rng(seed), replicas):
        t = time.perf_counter()
        times, workers = push_schedule(groups, horizon, stream, stationary=True)
        spent["schedule"] += time.perf_counter() - t
        n_events = times.size
        theta, snapshots = np.ones(d), np.ones((n, d))
        pulled_version, pulled_time = np.zeros(n, dtype=np.int64), np.zeros(n)
        counters = np.array([0, 1, 0], dtype=np.int64)
        staleness = np.full(n_events, -1, dtype=np.int64)
        accepted = np.zeros(n_events, dtype=np.bool_)
        delay = np.full(n_events, np.nan)
        loss, loss_time = np.full(n_records, np.nan), np.full(n_records, np.nan)
        no_theta_record, no_residuals = np.empty((0, d)), np.empty((0, d))
        status = RUNNING
        for first in range(0, n_events, chunk):
            t = time.perf_counter()
            z = stream.standard_normal((min(chunk, n_events - first), d))
            spent["normals"] += time.perf_counter() - t
            t = time.perf_counter()
            status = run_events(first, workers, times, z, objective.curvatures, noise_sd, LR,
                                factors, -1, theta, snapshots, pulled_version, pulled_time,
                                counters, staleness, accepted, delay, loss, loss_time,
                                no_theta_record, n_updates, RECORD_EVERY, 1e100, d, False,
                                None, no_residuals)
            spent["events"] += time.perf_counter() - t
            if status != RUNNING:
                break
        if status == RUNNING or counters[0] != n_updates:
            raise RuntimeError("the split run did not apply every update")
    return spent


def _split_fused(objective: QuadraticObjective, groups: list, horizon: float,
                 factors: np.ndarray, n_records: int, replicas: int,
                 seed: int) -> dict[str, float]:
    """:func:`_split_once` after issue 21: the round draws (``draw_schedule``), then the
    merge, normals and event loop together (``run_schedule``; normals counted there)."""
    spent = dict.fromkeys(PARTS[:3], 0.0)
    d, n = objective.dim, N_WORKERS
    for stream in block_streams(np.random.default_rng(seed), replicas):
        t = time.perf_counter()
        schedule = draw_schedule(groups, horizon, stream, stationary=True, as_rounds=True)
        spent["schedule"] += time.perf_counter() - t
        if not isinstance(schedule, Rounds):
            raise RuntimeError("the rounds did not cover the window")
        events = int(schedule.counts.sum())
        counters = np.array([0, 1, 0], dtype=np.int64)
        t = time.perf_counter()
        status = run_schedule(
            schedule.start, schedule.rounds, schedule.counts, horizon, stream,
            objective.curvatures, np.sqrt(objective.noise), LR, factors, -1, np.ones(d),
            np.ones((n, d)), np.zeros(n, dtype=np.int64), np.zeros(n), counters,
            np.empty(events), np.empty(events, dtype=np.int64),
            np.empty(events, dtype=np.bool_), np.empty(events), np.full(n_records, np.nan),
            np.full(n_records, np.nan), np.empty((0, d)), N_UPDATES, RECORD_EVERY, 1e100)
        spent["events"] += time.perf_counter() - t
        if status == RUNNING or counters[0] != N_UPDATES:
            raise RuntimeError("the split run did not apply every update")
    return spent


def _throughput_and_split(model: sdde.AsyncSGDModel, replicas: int, repeats: int
                          ) -> tuple[float, float, dict[str, float]]:
    """Median ``simulate`` wall and kernel (system CPU) time, median time of each part.

    ``simulate`` runs and split runs alternate, so a change of machine load hits both.
    """
    totals: list[float] = []
    kernel: list[float] = []
    parts: dict[str, list[float]] = {key: [] for key in PARTS[:3]}
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        totals.append(_median_time(lambda: _run(model, N_UPDATES, replicas), repeats=1))
        kernel.append(resource.getrusage(resource.RUSAGE_SELF).ru_stime - before)
        for key, value in _split_once(model, N_UPDATES, replicas).items():
            parts[key].append(value)
    total = statistics.median(totals)
    split = {key: statistics.median(values) for key, values in parts.items()}
    split["other"] = total - sum(split.values())
    return total, statistics.median(kernel), split


def _round_time(rnd: random.Random) -> float:
    """One round: the shift plus an exponential (the law of DELAY)."""
    return SHIFT + rnd.expovariate(1.0 / EXP_MEAN)


def _equilibrium_time(rnd: random.Random) -> float:
    """A worker's first push from a stationary phase: the residual of a round in progress.

    Its density is ``P(X > y) / E[X]``: uniform on ``[0, SHIFT)`` with probability
    ``SHIFT / E[X]``, else ``SHIFT`` plus an exponential of mean ``EXP_MEAN``.
    """
    if rnd.random() < SHIFT / (SHIFT + EXP_MEAN):
        return rnd.uniform(0.0, SHIFT)
    return _round_time(rnd)


def heapq_server(n_updates: int, curvatures: np.ndarray, seed: int
                 ) -> tuple[list[float], list[int], list[float], list[float]]:
    """The asynchronous parameter server in plain Python: the honest simple baseline.

    A heap holds each worker's next push time. Each push applies ``lr`` times the
    gradient ``h θ_pulled + z`` (``z`` standard normal per coordinate) at the parameters
    its worker pulled, then the worker pulls and starts a new round. d = 1 works on
    floats (``random.gauss``), d > 1 on numpy vectors. Returns every push's time,
    staleness and delay, and the loss every ``RECORD_EVERY`` updates.
    """
    rnd = random.Random(seed)
    d = curvatures.size
    if d == 1:
        h: float | np.ndarray = float(curvatures[0])
        theta: float | np.ndarray = 1.0
        noise = functools.partial(rnd.gauss, 0.0, 1.0)
    else:
        h, theta = curvatures, np.ones(d)
        noise = functools.partial(np.random.default_rng(seed).standard_normal, d)
    heap = [(_equilibrium_time(rnd), w) for w in range(N_WORKERS)]
    heapq.heapify(heap)
    pulled, version, pulled_at = [theta] * N_WORKERS, [0] * N_WORKERS, [0.0] * N_WORKERS
    times: list[float] = []
    staleness: list[int] = []
    delay: list[float] = []
    loss: list[float] = []
    for k in range(n_updates):
        t, w = heap[0]
        times.append(t)
        staleness.append(k - version[w])
        delay.append(t - pulled_at[w])
        theta = theta - LR * (h * pulled[w] + noise())  # a new object: pulls stay valid
        if (k + 1) % RECORD_EVERY == 0:
            loss.append(0.5 * float(np.sum(h * theta * theta)))
        pulled[w], version[w], pulled_at[w] = theta, k + 1, t
        heapq.heapreplace(heap, (t + _round_time(rnd), w))
    return times, staleness, delay, loss


def _agreement(staleness: np.ndarray, loss: np.ndarray) -> tuple[float, float]:
    """Mean staleness, and the mean loss over the second half of the records."""
    return float(np.mean(staleness)), float(np.mean(loss[loss.size // 2:]))


def _timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall time, CPU time of this process (user + system), and the value of ``fn()``."""
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    value = fn()
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), value


def bench_versus_heapq(repeats: int) -> None:
    """Section 0: ``simulate`` against :func:`heapq_server`, interleaved, d = 1 and 100.

    Both run in one thread (one replica), so their CPU time (user + system) is also the
    time they would take on an idle core: on this shared machine it varies less than the
    wall time, and is printed beside it.
    """
    print(f"sdde.simulate vs a plain-Python heapq server (same law, same records), "
          f"n = {N_WORKERS}, median of {repeats}, interleaved; updates/s by wall time "
          f"[by CPU time]")
    print(f"  {'d':>4s} {'sdde':>21s} {'heapq':>21s} {'ratio':>15s} "
          f"{'mean staleness sdde/heapq':>26s} {'stationary loss sdde/heapq':>27s}")
    for spectrum, d in (("1", 1), ("0.1:10:100", 100)):
        model = _model(spectrum)
        curvatures = np.asarray(model.curvatures, dtype=np.float64)
        _run(model, 1000)  # warm-up: numba cache load
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        for i in range(repeats):  # each run's output replaces the last one's, as in a loop
            *spent, result = _timed(functools.partial(_run, model, N_UPDATES, seed=i))
            ours.append((spent[0], spent[1]))
            *spent, baseline = _timed(functools.partial(heapq_server, HEAPQ_UPDATES[d],
                                                        curvatures, seed=i))
            theirs.append((spent[0], spent[1]))
        rates = [[n / statistics.median(run[k] for run in runs) for k in (0, 1)]
                 for n, runs in ((N_UPDATES, ours), (HEAPQ_UPDATES[d], theirs))]
        assert isinstance(result, SimulationResult)
        _, stale, _, loss = baseline  # type: ignore[misc]
        a = _agreement(result.staleness[0, :result.n_events[0]], result.loss[0])
        b = _agreement(np.asarray(stale), np.asarray(loss))
        cells = " ".join(f"{wall:9.3e} [{cpu:9.3e}]" for wall, cpu in rates)
        ratios = f"{rates[0][0] / rates[1][0]:5.1f}x [{rates[0][1] / rates[1][1]:5.1f}x]"
        print(f"  {d:4d} {cells} {ratios:>15s} "
              f"{a[0]:12.2f} / {b[0]:<11.2f} {a[1]:13.4g} / {b[1]:<11.4g}")
    print(f"  target (d = 1): {TARGET:.0e} updates/s and 30x the heapq loop")


_FRESH = """
import time
import numpy as np
import sdde
m = sdde.AsyncSGDModel(lr=0.001, cluster=sdde.Cluster(
    workers=32, delay=sdde.delays.parse("shifted-exp:shift=0.5,mean=1")),
    spectrum=sdde.HessianSpectrum.parse("1"), noise=1.0)
t = time.perf_counter()
sdde.simulate(m, n_updates=1000, rng=np.random.default_rng(0), record_every=100)
print(time.perf_counter() - t)
"""


def bench_first_call() -> None:
    small = _model("1")

    def call() -> None:
        simulate(small, n_updates=1000, rng=np.random.default_rng(0), record_every=100)

    here = _median_time(call, repeats=1)
    warm = _median_time(call)
    fresh = fresh_interpreter_seconds(_FRESH)
    print("first simulate call (d = 1, 10^3 updates), excluded from the figures below")
    print(f"  this process (numba cache on disk)     {here:8.3f} s")
    print(f"  fresh interpreter, empty numba cache   {fresh:8.3f} s  (cold compile)")
    print(f"  the same call, warm (median of {REPEATS})      {warm:8.3f} s")


def bench_engines() -> None:
    model = _model("0.1:10:100")
    compiled: list[float] = []
    python: list[float] = []
    for _ in range(REPEATS):  # interleaved: a change of machine load hits both
        compiled.append(_median_time(lambda: _run(model, N_UPDATES), repeats=1))
        python.append(_median_time(lambda: _run(model, PYTHON_UPDATES, engine="python"),
                                   repeats=1))
    rows = (("python reference", PYTHON_UPDATES, statistics.median(python)),
            ("compiled (numba)", N_UPDATES, statistics.median(compiled)))
    per_python = rows[0][2] / PYTHON_UPDATES
    a = _run(model, PYTHON_UPDATES, engine="python", seed=5)
    b = _run(model, PYTHON_UPDATES, engine="compiled", seed=5)
    diff = float(np.max(np.abs(a.loss - b.loss)))
    same = bool(np.array_equal(a.staleness, b.staleness))
    print(f"\nengines, n = {N_WORKERS}, d = 100 (h 0.1..10, kappa max "
          f"{float(model.kappas.max()):.2f}), record_every = {RECORD_EVERY}, median of "
          f"{REPEATS}")
    print(f"  {'engine':18s} {'updates':>9s} {'time s':>8s} {'updates/s':>11s} "
          f"{'us/update':>10s} {'speed-up':>9s}")
    for label, n_updates, elapsed in rows:
        each = elapsed / n_updates
        print(f"  {label:18s} {n_updates:9d} {elapsed:8.3f} {1 / each:11.3e} "
              f"{1e6 * each:10.3f} {per_python / each:8.1f}x")
    print(f"  same {PYTHON_UPDATES} updates (seed 5), both engines: same staleness {same}, "
          f"max abs loss difference {diff:.1e} (final loss {float(a.loss[0, -1]):.4f})")


def _print_split(label: str, model: sdde.AsyncSGDModel, replicas_list: tuple[int, ...],
                 target: float | None, repeats: int
                 ) -> dict[int, tuple[float, dict[str, float]]]:
    d = model.spectrum.n_modes
    results = {r: _throughput_and_split(model, r, repeats) for r in replicas_list}
    print(f"\n{label}: simulate, 10^6 updates x R replicas (threads: one per core), "
          f"median of {repeats}")
    head = (f"  {'R':>3s} {'updates':>9s} {'time s':>8s} {'updates/s':>11s} {'ns/update':>10s} "
            f"{'of it kernel':>13s}")
    print(head + (f" {'vs target':>10s}" if target else ""))
    for r, (total, kernel, _) in results.items():
        n = r * N_UPDATES
        line = (f"  {r:3d} {n:9.0e} {total:8.2f} {n / total:11.3e} {1e9 * total / n:10.1f} "
                f"{1e9 * kernel / n:13.1f}")
        print(line + (f" {n / total / target:9.2f}x" if target else ""))
    print(f"  where the time goes: each part timed alone at the same sizes, ns per update "
          f"(share); d = {d}")
    if FUSED:
        print("  (schedule = the round draws only; the merge and the normals are drawn inside "
              "the event loop, run_schedule, and counted in events)")
    print(f"  {'R':>3s} " + " ".join(f"{p:>14s}" for p in PARTS) + f" {'largest':>9s}")
    for r, (total, _, split) in results.items():
        n = r * N_UPDATES
        cells = " ".join(f"{1e9 * split[p] / n:7.1f} ({100 * split[p] / total:3.0f}%)"
                         for p in PARTS)
        print(f"  {r:3d} {cells} {max(split, key=split.__getitem__):>9s}")
    return {r: (total, split) for r, (total, _, split) in results.items()}


def bench_schedule_parts(model: sdde.AsyncSGDModel) -> None:
    """One replica's ``push_schedule``: round draws, the merge of all pushes, the rest.

    The compiled push times and merge (``arrivals``, ``merge_rows``) are timed beside the
    numpy construction ``push_schedule`` used before (cumulative sum, concatenation, mask,
    stable ``argsort``: the baseline; both give the same schedule,
    tests/cluster/test_merge_properties.py).
    """
    law = model.cluster.round_laws[0]
    n = model.cluster.n_workers
    horizon = _horizon(model, N_UPDATES)
    per_worker = horizon / law.mean  # rounds per worker, as push_schedule sizes its draw
    spread = math.sqrt(per_worker) * max(law.cv, 1.0)
    m = math.ceil(per_worker + 8.0 * spread + 10.0)
    groups = [(n, law)]
    rng = np.random.default_rng(1)
    total = _median_time(lambda: push_schedule(groups, horizon, rng), repeats=5)
    draw = _median_time(lambda: law.sample(rng, (n, m)), repeats=5)
    start, rounds = law.equilibrium().sample(rng, n), law.sample(rng, (n, m))
    build = _median_time(lambda: arrivals(start, rounds, horizon), repeats=5)
    pushes_by_worker, _ = arrivals(start, rounds, horizon)
    merge_time = _median_time(lambda: merge_rows(pushes_by_worker, horizon), repeats=5)

    def numpy_baseline() -> tuple[np.ndarray, np.ndarray]:
        """What push_schedule did before: cumsum, concatenate, mask, stable argsort."""
        pushes = np.concatenate([start[:, None], start[:, None] + np.cumsum(rounds, axis=1)],
                                axis=1)
        inside = pushes <= horizon
        times = pushes[inside]
        ids = np.broadcast_to(np.arange(n)[:, None], pushes.shape)[inside]
        order = np.argsort(times, kind="stable")
        return times[order], ids[order]

    baseline = _median_time(numpy_baseline, repeats=5)
    pushes = int(np.count_nonzero(pushes_by_worker <= horizon))
    rest = total - draw - build - merge_time
    print(f"\ninside push_schedule, one replica: {n} workers x {m} rounds drawn, {pushes} "
          f"pushes kept (median of 5)")
    print(f"  {'part':44s} {'time s':>8s} {'ns/push':>8s} {'share':>6s}")
    for label, value in (("round draws, law.sample(rng, (n, m))", draw),
                         ("push times (arrivals)", build),
                         ("merge of all pushes (merge_rows)", merge_time),
                         ("rest (equilibrium draw, call overhead)", rest),
                         ("push_schedule total", total)):
        print(f"  {label:44s} {value:8.4f} {1e9 * value / pushes:8.1f} "
              f"{100 * value / total:5.0f}%")
    both = build + merge_time
    print(f"  baseline, numpy cumsum + stable argsort     {baseline:8.4f} "
          f"{1e9 * baseline / pushes:8.1f}  (compiled: {baseline / both:.1f}x faster)")


def bench_d1() -> None:
    model = _model("1")
    results = _print_split("d = 1", model, (1, 8, 32), TARGET, repeats=5)
    rates = {r: r * N_UPDATES / total for r, (total, _) in results.items()}
    grand = sum(total for total, _ in results.values())
    share = {p: sum(split[p] for _, split in results.values()) / grand for p in PARTS}
    top = max(share, key=share.__getitem__)
    verdict = "met" if min(rates.values()) >= TARGET else "missed"
    print(f"  target {TARGET:.0e} updates/s: {verdict} (best {max(rates.values()):.2e}, "
          f"worst {min(rates.values()):.2e}); largest part over all R: {top} "
          f"({100 * share[top]:.0f}% of the time)")
    bench_schedule_parts(model)


def _numpy_normals_seconds(rows: int, d: int) -> float:
    """Time numpy takes to draw ``rows × d`` standard normals, in chunks into one buffer."""
    rng, buffer = np.random.default_rng(0), np.empty((CHUNK_VALUES // d, d))
    start = time.perf_counter()
    for _ in range(rows // buffer.shape[0]):
        rng.standard_normal(out=buffer)
    return time.perf_counter() - start


def bench_d100() -> None:
    model = _model("0.1:10:100")
    results = _print_split("d = 100", model, (1, 4), None, repeats=REPEATS)
    for r, (total, split) in results.items():
        floor = split["normals"]
        if FUSED:  # drawn inside the loop: time numpy drawing as many, in chunks, instead
            floor = _numpy_normals_seconds(r * N_UPDATES, 100)
        print(f"  R = {r}: simulate / drawing its {r}e8 normals with numpy (the old floor) = "
              f"{total / floor:.2f}x")


def bench_sparsified() -> None:
    model = _model("0.1:10:100")
    cases: dict[str, Sparsifier | None] = {
        "plain": None, "random:0.1": Sparsifier.parse("random:0.1"),
        "top:0.1:ef": Sparsifier.parse("top:0.1:ef")}
    for sparsifier in cases.values():  # warm-up: compile or load the sparsified loop
        _run(model, 1000, sparsifier=sparsifier)
    spent: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(REPEATS):  # interleaved: a change of machine load hits every case
        for label, sparsifier in cases.items():
            spent[label].append(_median_time(
                lambda s=sparsifier: _run(model, N_UPDATES, sparsifier=s), repeats=1))
    plain = statistics.median(spent["plain"])
    print(f"\nsparsified gradients, d = 100, n = {N_WORKERS}, 10^6 updates, R = 1, median of "
          f"{REPEATS}")
    print(f"  {'sparsifier':12s} {'time s':>8s} {'updates/s':>11s} {'ns/update':>10s} "
          f"{'vs plain':>9s}")
    for label in cases:
        elapsed = statistics.median(spent[label])
        print(f"  {label:12s} {elapsed:8.3f} {N_UPDATES / elapsed:11.3e} "
              f"{1e9 * elapsed / N_UPDATES:10.1f} {elapsed / plain:8.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="section 0 only")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of section 0")
    args = parser.parse_args()
    start = time.perf_counter()
    bench_versus_heapq(args.repeats)
    if not args.quick:
        print()
        bench_first_call()
        bench_engines()
        bench_d1()
        bench_d100()
        bench_sparsified()
    print(f"\nwhole benchmark: {time.perf_counter() - start:.0f} s")

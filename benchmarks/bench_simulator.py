"""Reference simulator of asynchronous SGD: event-loop throughput, and where the time goes.

Run: ``.venv/bin/python benchmarks/bench_simulator.py`` (about 3 minutes). Prints five
sections. The model throughout: n = 32 workers with shifted-exponential rounds (shift 0.5,
mean 1), lr = 0.001, gradient-noise variance 1, stationary start, no threshold; d = 100
modes have curvatures 0.1 … 10 (largest κ = lr·n·h = 0.32), d = 1 has h = 1 (κ = 0.032).
Times are medians of 3 runs (5 for d = 1) after a small warm-up call, so that the numba
compile (or cache load) is excluded; that first call is timed on its own, in this process
and in a fresh interpreter with an empty numba cache (a true compile). ``simulate`` spreads
replicas over one thread per core, so "updates/s" counts all replicas' updates over the
wall time of the whole call, while the parts in section 3 are timed alone in one thread
(their sum can then exceed the call: "other" comes out negative).

1. Throughput of ``sdde.simulate`` for d = 100, 10⁶ updates, ``record_every=1000``: the
   compiled engine against the plain-Python reference engine in the same run (on 2·10⁴
   updates, scaled per update; the two are interleaved so a change of machine load hits
   both), and their ratio. Sanity check: both engines on the same 2·10⁴-update run see the
   same staleness sequence and losses equal to rounding (numpy sums the loss pairwise).
2. d = 1, 10⁶ updates × R replicas (R = 1, 8, 32): updates/s against the target of 10⁷.
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

import math
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

N_WORKERS = 32
DELAY = "shifted-exp:shift=0.5,mean=1"
LR = 0.001
N_UPDATES = 1_000_000
PYTHON_UPDATES = 20_000
RECORD_EVERY = 1000
TARGET = 1e7  # updates per second across replicas, d = 1
CHUNK_VALUES = 1 << 20  # normals per chunk, as sdde.simulator.server draws them
REPEATS = 3
PARTS = ("schedule", "normals", "events", "other")


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


def bench_d100() -> None:
    model = _model("0.1:10:100")
    results = _print_split("d = 100", model, (1, 4), None, repeats=REPEATS)
    for r, (total, split) in results.items():
        print(f"  R = {r}: simulate / drawing its {r}e8 normals (the floor) = "
              f"{total / split['normals']:.2f}x")


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
    start = time.perf_counter()
    bench_first_call()
    bench_engines()
    bench_d1()
    bench_d100()
    bench_sparsified()
    print(f"\nwhole benchmark: {time.perf_counter() - start:.0f} s")

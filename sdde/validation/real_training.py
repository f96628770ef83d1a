"""A real asynchronous parameter server: worker threads, real gradients, wall-clock time.

Nothing here is simulated. ``n`` worker threads loop: each **pulls** a copy of the
current parameters (under the server's lock, recorded by a
:class:`~sdde.cluster.recorder.RoundRecorder`), computes a real minibatch gradient of a
JAX model (:mod:`sdde.validation._jax_task`, compiled once), **waits** until its round
time has passed (a draw from an sdde delay law, in units of ``time_unit`` seconds), and
**pushes**; the server applies each push as it arrives, ``θ ← θ − η g``, under the lock,
and counts it. Staleness is whatever the threads' interleaving makes it. A monitor thread
evaluates the full-data loss of the newest snapshot and stops the run on divergence.
Every worker calls the compiled gradient once, then waits at a barrier: the clock starts
when all are ready, and every worker's first round starts then (``t = 0``).

Reproducibility: the minibatches and round-time draws of worker ``w`` come from
``numpy.random.default_rng([seed, w])`` and are the same on every run, but the order in
which threads reach the lock depends on the operating system's scheduler, so wall-clock
runs are not bit-reproducible (their statistics are).

Examples
--------
>>> from sdde.validation._jax_task import make_task            # doctest: +SKIP
>>> task = make_task("logistic")                               # doctest: +SKIP
>>> run = run_async_training(task, n_workers=4, lr=0.05, n_updates=400)  # doctest: +SKIP
>>> run.n_applied, run.diverged                                # doctest: +SKIP
(400, False)
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdde._numerics import FloatArray
from sdde.cluster.recorder import RoundRecorder
from sdde.delays import DelayLaw, parse
from sdde.validation._jax_task import JaxTask

#: Round-time draws a worker takes from its generator at once.
_DRAW_BLOCK = 256


@dataclass(frozen=True, kw_only=True, eq=False)
class RealRunResult:
    """What a real asynchronous run measured.

    Attributes
    ----------
    n_workers, lr, delay, time_unit, seed
        The setting (``delay`` as a spec string; rounds drawn in units of ``time_unit`` s).
    n_applied : int
        Updates the server applied (each push exactly once).
    diverged : bool
        The loss became non-finite or exceeded ``divergence_factor`` × the initial loss.
    wall_seconds : float
        Duration of the run.
    durations : ndarray, shape (n_rounds,)
        Measured round durations (pull to push), seconds.
    staleness : ndarray of int, shape (n_rounds,)
        Measured staleness of each round, in the order the pushes were applied.
    times : ndarray, shape (n_points,)
        Wall time (s since the start) of each loss evaluation.
    updates : ndarray of int, shape (n_points,)
        Applied updates at each evaluation.
    losses : ndarray, shape (n_points,)
        Full-data loss of the parameters at each evaluation (``inf`` if not finite).
    theta_final : ndarray, shape (dim,)
        Parameters at the end.
    """

    n_workers: int
    lr: float
    delay: str
    time_unit: float
    seed: int
    n_applied: int
    diverged: bool
    wall_seconds: float
    durations: FloatArray
    staleness: np.ndarray
    times: FloatArray
    updates: np.ndarray
    losses: FloatArray
    theta_final: FloatArray

    @property
    def mean_round(self) -> float:
        """Mean measured round duration, seconds."""
        return float(np.mean(self.durations))

    def stationary_staleness(self, warmup: int | None = None) -> np.ndarray:
        """Staleness of the rounds after the first ``warmup`` (default ``2 n``) pushes: the
        first rounds all start at ``t = 0`` and are not yet stationary."""
        skip = 2 * self.n_workers if warmup is None else warmup
        return self.staleness[skip:]

    def time_to_loss(self, target: float) -> float:
        """First wall time (s) the evaluated loss is at or below ``target`` (inf if never)."""
        below = np.flatnonzero(self.losses <= target)
        return float(self.times[below[0]]) if below.size else math.inf

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (summaries of the arrays, the loss curve in full)."""
        stale = self.stationary_staleness()
        return {
            "n_workers": self.n_workers, "lr": self.lr, "delay": self.delay,
            "time_unit": self.time_unit, "seed": self.seed, "n_applied": self.n_applied,
            "diverged": self.diverged, "wall_seconds": self.wall_seconds,
            "mean_round": self.mean_round,
            "round_cv": float(np.std(self.durations) / np.mean(self.durations)),
            "mean_staleness": float(stale.mean()) if stale.size else None,
            "times": self.times.tolist(), "updates": self.updates.tolist(),
            "losses": [v if math.isfinite(v) else None for v in self.losses.tolist()],
        }


class _Server:
    """The shared state: parameters, lock, counters, snapshots for the loss curve."""

    def __init__(self, theta0: FloatArray, lr: float, n_updates: int, eval_every: int,
                 recorder: RoundRecorder) -> None:
        self.lock = threading.Lock()
        self.theta = np.array(theta0, dtype=np.float64)
        self.lr = lr
        self.n_updates = n_updates
        self.eval_every = eval_every
        self.recorder = recorder
        self.n_applied = 0
        self.stop = threading.Event()
        self.diverged = False
        self.start = time.perf_counter()
        self.snapshots: list[tuple[float, int, FloatArray]] = [(0.0, 0, self.theta.copy())]
        self.changed = threading.Condition(self.lock)

    def pull(self, worker: int) -> FloatArray | None:
        with self.lock:
            if self.stop.is_set():
                return None
            self.recorder.pull(worker)
            return self.theta.copy()

    def push(self, worker: int, gradient: FloatArray) -> None:
        with self.lock:
            if self.stop.is_set():
                self.recorder.discard(worker)
                return
            with np.errstate(over="ignore", invalid="ignore"):
                self.theta -= self.lr * gradient
            self.recorder.push(worker)
            self.n_applied += 1
            if self.n_applied % self.eval_every == 0 or self.n_applied == self.n_updates:
                self.snapshots.append((time.perf_counter() - self.start, self.n_applied,
                                       self.theta.copy()))
                if not bool(np.all(np.isfinite(self.theta))):
                    self.diverged = True
                    self.stop.set()
                self.changed.notify_all()
            if self.n_applied >= self.n_updates:
                self.stop.set()
                self.changed.notify_all()


def _worker(server: _Server, task: JaxTask, worker: int, law: DelayLaw, time_unit: float,
            seed: int, include_compute: bool, barrier: threading.Barrier) -> None:
    rng = np.random.default_rng([seed, worker])
    draws: list[float] = []
    task.gradient(server.theta, np.arange(task.batch_size))  # this thread's first call
    barrier.wait()  # every worker starts its first round at t = 0
    while True:
        theta = server.pull(worker)
        if theta is None:
            return
        pulled = time.perf_counter()
        if not draws:
            draws = (law.sample(rng, _DRAW_BLOCK) * time_unit).tolist()[::-1]
        round_time = draws.pop()
        rows = rng.choice(task.n_samples, task.batch_size, replace=False)
        gradient = task.gradient(theta, rows)
        deadline = (time.perf_counter() if include_compute else pulled) + round_time
        wait = deadline - time.perf_counter()
        if wait > 0 and server.stop.wait(wait):  # returns early (True) when the run stops
            server.push(worker, gradient)  # discarded: the server has stopped
            return
        server.push(worker, gradient)


def _monitor(server: _Server, task: JaxTask, limit: float) -> None:
    """Evaluate the newest snapshot's loss as snapshots arrive; stop on divergence."""
    seen = [0]
    while not server.stop.is_set():
        with server.changed:
            server.changed.wait_for(lambda: server.stop.is_set()
                                    or len(server.snapshots) > seen[0], timeout=1.0)
            seen[0] = len(server.snapshots)
            theta = server.snapshots[-1][2]
        value = task.loss(theta)
        if not (math.isfinite(value) and value <= limit):
            with server.lock:
                server.diverged = True
                server.stop.set()


def run_async_training(
    task: JaxTask,
    *,
    n_workers: int,
    lr: float,
    delay: str | DelayLaw = "shifted-exp:shift=0.5,mean=1",
    time_unit: float = 0.003,
    n_updates: int = 2000,
    seed: int = 0,
    include_compute: bool = False,
    eval_every: int | None = None,
    divergence_factor: float = 1e3,
    theta0: FloatArray | None = None,
    recorder: RoundRecorder | None = None,
) -> RealRunResult:
    """Run asynchronous SGD with real worker threads and a real parameter server.

    Parameters
    ----------
    task : JaxTask
        The model and data (:func:`sdde.validation._jax_task.make_task`).
    n_workers : int
        Worker threads ``n >= 1``.
    lr : float
        Learning rate ``η > 0``; the server applies ``θ ← θ − η g``.
    delay : str or DelayLaw
        Law of a worker's round time (a spec for :func:`sdde.delays.parse`), in units of
        ``time_unit`` seconds.
    time_unit : float
        Seconds per unit of the delay law (a few milliseconds, so the gradient's compute
        time, ~0.1 ms, is small beside a round).
    n_updates : int
        Stop after this many applied updates.
    seed : int
        Worker ``w`` draws its minibatches and round times from
        ``default_rng([seed, w])``.
    include_compute : bool
        ``False``: a round lasts the drawn time (the worker computes, then waits for the
        rest); ``True``: it lasts the compute time plus the drawn time.
    eval_every : int, optional
        Snapshot the parameters every this many updates (default ``max(1, n_updates //
        200)``); their full-data losses form the loss curve.
    divergence_factor : float
        The run diverged if the loss is not finite or exceeds this times the initial loss.
    theta0 : array_like, optional
        Initial parameters (default ``task.theta0``).
    recorder : RoundRecorder, optional
        Records pulls and pushes (a new one by default).

    Returns
    -------
    RealRunResult
    """
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers must be a whole number >= 1, got {n_workers!r}")
    if not (isinstance(lr, int | float) and 0 < lr < math.inf):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if not (isinstance(time_unit, int | float) and 0 < time_unit < math.inf):
        raise ValueError(f"time_unit must be a positive number of seconds, got {time_unit!r}")
    if isinstance(n_updates, bool) or not isinstance(n_updates, int) or n_updates < 1:
        raise ValueError(f"n_updates must be a whole number >= 1, got {n_updates!r}")
    law = parse(delay) if isinstance(delay, str) else delay
    if not isinstance(law, DelayLaw):
        raise ValueError(f"delay must be a spec string or a DelayLaw, got {delay!r}")
    every = max(1, n_updates // 200) if eval_every is None else int(eval_every)
    start = np.array(task.theta0 if theta0 is None else theta0, dtype=np.float64)
    if start.shape != task.theta0.shape:
        raise ValueError(f"theta0 must have shape {task.theta0.shape}, got {start.shape}")
    rec = RoundRecorder() if recorder is None else recorder
    initial_loss = task.loss(start)
    server = _Server(start, float(lr), n_updates, every, rec)

    def start_clock() -> None:
        server.start = time.perf_counter()

    barrier = threading.Barrier(n_workers, action=start_clock)
    threads = [threading.Thread(target=_worker, name=f"sdde-worker-{w}", daemon=True,
                                args=(server, task, w, law, float(time_unit), seed,
                                      include_compute, barrier))
               for w in range(n_workers)]
    monitor = threading.Thread(target=_monitor, name="sdde-monitor", daemon=True,
                               args=(server, task, divergence_factor * initial_loss))
    monitor.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.stop.set()
    with server.changed:
        server.changed.notify_all()
    monitor.join()
    wall = time.perf_counter() - server.start
    times, updates, snaps = zip(*server.snapshots, strict=True)
    losses = np.array([task.loss(th) for th in snaps])
    losses[~np.isfinite(losses)] = np.inf
    diverged = server.diverged or not bool(np.all(np.isfinite(server.theta))) or bool(
        np.any(losses > divergence_factor * initial_loss))
    return RealRunResult(
        n_workers=n_workers, lr=float(lr), delay=str(law), time_unit=float(time_unit),
        seed=seed, n_applied=server.n_applied, diverged=diverged, wall_seconds=wall,
        durations=rec.durations, staleness=rec.staleness, times=np.asarray(times),
        updates=np.asarray(updates, dtype=np.int64), losses=losses,
        theta_final=server.theta.copy())

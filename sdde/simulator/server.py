"""The reference discrete-event simulation of asynchronous SGD (THEORY.md §1): ground truth.

``n`` workers loop: pull the parameters, compute a gradient for a random time ``X``
(i.i.d. per round, from each group's law), push it. The server applies each gradient on
arrival, scaled by the step policy ``g(s)`` of its staleness ``s`` (updates applied since
its worker pulled), or drops it when ``s`` exceeds the threshold; the pushing worker then
pulls the new parameters. Nothing is approximated: the push times are the workers'
renewal processes, and each gradient is evaluated at the parameters its worker pulled.

Push times do not depend on the parameters, so a run draws its whole push schedule
first (``sdde.cluster._staleness_sim.push_schedule``) and then replays it through the event loop
(:func:`_events_python`, the readable specification, or its compiled twin
``sdde.simulator._kernel.run_events``). The compiled run of a quadratic without
sparsification draws the same schedule's rounds (``sdde.simulator._schedule.draw_schedule``)
and merges the pushes block by block inside the event loop, drawing each block's normals
there (``sdde.simulator._kernel.run_schedule``): the same run, bit for bit, without
storing the merged schedule or the normals.

With a :class:`~sdde.simulator.sparsification.Sparsifier` each push sends only some coordinates
of its gradient (random-k or top-k), with or without error feedback: see
:mod:`sdde.simulator.sparsification` for the exact semantics.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sdde._numerics import FloatArray
from sdde.cluster.cluster import Cluster
from sdde.model._contract import VALUE_MAX
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.kernels import StepPolicy
from sdde.model.noise import block_streams
from sdde.simulator._kernel import DIVERGED, FINISHED, RUNNING, run_events, run_schedule
from sdde.simulator._schedule import Rounds, draw_schedule
from sdde.simulator.objectives import GradientOracle, QuadraticObjective
from sdde.simulator.sparsification import Sparsifier, sparsify

#: Standard normals drawn per chunk of events (bounds the noise memory), when random-k
#: keys are drawn after each chunk (the chunks are then part of the draw order).
_CHUNK_VALUES = 1 << 20
#: Standard normals per chunk otherwise, drawn into one buffer reused chunk after chunk
#: (it stays in cache). The normals do not depend on the chunking: ``standard_normal``
#: draws value after value from the stream (tests/simulator/test_fused_schedule.py).
_CHUNK_VALUES_REUSED = 1 << 15


@dataclass(frozen=True)
class SimulationResult:
    """What the simulated server saw, per replica (rows), event by event (columns).

    Rows are padded to the longest replica: ``n_events[r]`` columns are real, the rest
    hold NaN (times, delays) or -1 (staleness).

    Attributes
    ----------
    times : ndarray, shape (replicas, n_max)
        Arrival time of each gradient at the server.
    staleness : ndarray of int, shape (replicas, n_max)
        Updates applied between the gradient's pull and its push.
    delay : ndarray, shape (replicas, n_max)
        Time between the gradient's pull and its push (its round's computation time).
    accepted : ndarray of bool, shape (replicas, n_max)
        Whether the gradient was applied (not dropped by the threshold).
    n_events : ndarray of int, shape (replicas,)
        Gradients that arrived before the run ended.
    loss_times, loss : ndarray, shape (replicas, n_records)
        The loss ``f(θ)`` after every ``record_every`` updates (first column: the start),
        with the time of that update; NaN after a divergence.
    status : tuple of str
        ``"finished"`` or ``"diverged"`` per replica.
    diverged_at : ndarray, shape (replicas,)
        Time of the update that left the bound (``inf`` if none).
    theta : ndarray, shape (replicas, n_records, d), or None
        The parameters at the loss records (only with ``record_theta=True``).
    """

    times: FloatArray
    staleness: np.ndarray
    delay: FloatArray
    accepted: np.ndarray
    n_events: np.ndarray
    loss_times: FloatArray
    loss: FloatArray
    status: tuple[str, ...]
    diverged_at: FloatArray
    theta: FloatArray | None = None

    @property
    def arrival_rate(self) -> float:
        """Gradients per unit time, pooled over replicas (events over elapsed time)."""
        spans = np.array([self.times[r, n - 1] for r, n in enumerate(self.n_events) if n])
        return float(self.n_events.sum() / spans.sum())

    def observed_staleness(self) -> np.ndarray:
        """Staleness of all gradients (all replicas, in order)."""
        return np.concatenate([self.staleness[r, :n] for r, n in enumerate(self.n_events)])


def simulate(model: AsyncSGDModel, *, n_updates: int, rng: np.random.Generator,
             replicas: int = 1, theta0: float | FloatArray = 1.0,
             start: Literal["stationary", "lockstep"] = "stationary",
             record_every: int = 1, record_theta: bool = False, bound: float = 1e100,
             engine: Literal["compiled", "python"] = "compiled",
             sparsifier: Sparsifier | None = None) -> SimulationResult:
    """Simulate asynchronous SGD on the model's quadratic loss, exactly.

    The objective has one coordinate per Hessian mode (:attr:`AsyncSGDModel.curvatures`
    order) with gradient-noise variance ``noise``; the server uses the model's learning
    rate, step policy and the cluster's threshold.

    Parameters
    ----------
    model : AsyncSGDModel
    n_updates : int
        Updates to apply (a run ends earlier if it diverges).
    rng : numpy.random.Generator
        Source of randomness; replica ``r`` draws from its own spawned stream, so it is
        the same whatever the number of replicas.
    replicas : int
        Independent runs.
    theta0 : float or array_like
        Starting parameters (one value or one per mode, in the spectrum's order).
    start : {"stationary", "lockstep"}
        Workers start in stationary phases (the first push after a draw from the
        equilibrium law) or together at ``t = 0`` (the first push after a full round).
    record_every : int
        Record the loss every this many updates.
    record_theta : bool
        Record the parameters too (in the modes' order, :attr:`AsyncSGDModel.curvatures`).
    bound : float
        A run stops, as diverged, when a parameter leaves ``[−bound, bound]``.
    engine : {"compiled", "python"}
        The numba event loop or the plain-Python reference (identical results).
    sparsifier : Sparsifier, optional
        Send only part of each gradient (random-k or top-k, with or without error
        feedback; :mod:`sdde.simulator.sparsification`). Coordinates are the modes in the
        curvatures' ascending order (top-k ties go to the flatter mode). ``None``: send
        everything.

    Returns
    -------
    SimulationResult
    """
    eigen = np.asarray(model.spectrum.eigenvalues, dtype=np.float64)
    order = np.argsort(eigen, kind="stable")
    start_theta = np.broadcast_to(np.asarray(theta0, dtype=np.float64), eigen.shape)[order]
    objective = QuadraticObjective(curvatures=model.curvatures, noise=model.noise_variances)
    return run(model.cluster, objective, lr=model.lr, policy=model.policy,
               n_updates=n_updates, rng=rng, replicas=replicas, theta0=start_theta,
               start=start, record_every=record_every, record_theta=record_theta,
               bound=bound, engine=engine, sparsifier=sparsifier)


def run(cluster: Cluster, objective: GradientOracle, *, lr: float, n_updates: int,
        rng: np.random.Generator,
        policy: StepPolicy | Callable[[np.ndarray], FloatArray] | None = None,
        replicas: int = 1, theta0: float | FloatArray = 1.0,
        start: Literal["stationary", "lockstep"] = "stationary", record_every: int = 1,
        record_theta: bool = False, bound: float = 1e100,
        engine: Literal["compiled", "python"] = "compiled",
        sparsifier: Sparsifier | None = None) -> SimulationResult:
    """:func:`simulate` for any cluster, objective and step policy.

    ``objective`` is a :class:`~sdde.simulator.objectives.QuadraticObjective` (compiled or Python
    engine, identical results) or any :class:`~sdde.simulator.objectives.GradientOracle` (always the
    Python loop: ``stochastic_gradient(θ_pulled, rng)`` per applied update). ``policy``
    may be a :class:`StepPolicy` or a function ``g(s)`` of an integer array of staleness
    values (e.g. ``lambda s: np.exp(-0.1 * s)``).

    ``sparsifier`` (:class:`~sdde.simulator.sparsification.Sparsifier`) sparsifies every push, in
    both engines and for any oracle. Random-k keys come from the replica's stream: on a
    quadratic, ``rng.random((rows, d))`` right after each chunk's normals; for another
    oracle, ``rng.random(d)`` right after each gradient it computes. They are drawn only
    when ``keep(d) < d``, so a sparsifier that keeps every coordinate reproduces the
    plain run bit for bit. With error feedback and ``keep(d) < d`` a gradient the
    threshold drops is still computed (it updates its worker's residual).
    """
    if not isinstance(objective, GradientOracle):
        raise ValueError("objective must be a QuadraticObjective or have dim, loss(theta) "
                         "and stochastic_gradient(theta, rng)")
    if sparsifier is not None and not isinstance(sparsifier, Sparsifier):
        raise ValueError(f"sparsifier must be a Sparsifier or None, got {sparsifier!r}")
    _check(n_updates=n_updates, replicas=replicas, record_every=record_every, lr=lr,
           bound=bound, start=start, engine=engine)
    factors = _factor_table(StepPolicy() if policy is None else policy, n_updates)
    theta_start = np.atleast_1d(np.asarray(theta0, dtype=np.float64))
    if theta_start.shape not in ((1,), (objective.dim,)) or not np.all(np.isfinite(theta_start)):
        raise ValueError(f"theta0 must be finite, one value or {objective.dim}, got {theta0!r}")
    if np.max(np.abs(theta_start)) > VALUE_MAX:  # its loss h θ² would overflow
        raise ValueError(f"theta0 must lie in [-{VALUE_MAX:g}, {VALUE_MAX:g}] (the input "
                         f"contract), got {theta0!r}")
    theta_start = np.broadcast_to(theta_start, (objective.dim,)).copy()
    groups = [(g.workers, law) for g, law in zip(cluster.groups, cluster.round_laws,
                                                 strict=True)]
    acceptance = cluster.accepted_rate / cluster.arrival_rate
    def one(stream: np.random.Generator) -> dict:
        return _replica(groups, cluster, objective, lr, factors, theta_start, n_updates,
                        acceptance, stream, start == "stationary", record_every,
                        record_theta, bound, engine, sparsifier)

    streams = block_streams(rng, replicas)
    threads = min(replicas, os.cpu_count() or 1) if engine == "compiled" else 1
    if threads == 1:
        return _stack([one(stream) for stream in streams])
    # replicas are independent (own streams; the event loop releases the GIL): the
    # result does not depend on how they are spread over threads
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return _stack(list(pool.map(one, streams)))


def _factor_table(policy: StepPolicy | Callable[[np.ndarray], FloatArray],
                  n_updates: int) -> FloatArray:
    """``g(0), g(1), …``: the step factors the event loops look up as ``g[min(s, len − 1)]``.

    Staleness never exceeds the updates applied, so ``n_updates + 1`` entries cover any run;
    a constant or ``table`` :class:`StepPolicy` is constant from its last entry on, so its
    short table gives the same factor for every staleness (and saves building a table of
    ``n_updates`` entries).
    """
    size = n_updates + 1
    if isinstance(policy, StepPolicy) and policy.name in ("constant", "table"):
        size = min(size, 1 if policy.name == "constant" else len(policy.values or ()))
    staleness = np.arange(size)
    factors = np.asarray(policy.factor(staleness) if isinstance(policy, StepPolicy)
                         else policy(staleness), dtype=np.float64)
    if factors.shape != staleness.shape or not np.all(np.isfinite(factors)):
        raise ValueError("the step policy must return one finite factor per staleness")
    return factors


#: Bytes a simulation holds per push event and replica: the push schedule (time, worker),
#: the recorded staleness, delay and acceptance, and the copies made when replicas are
#: stacked (measured peak: ~70 bytes per event).
BYTES_PER_EVENT = 80


def simulation_bytes(model: AsyncSGDModel, *, n_updates: int, replicas: int,
                     record_every: int = 1) -> int:
    """Memory :func:`simulate` needs for ``replicas`` runs of ``n_updates`` updates.

    An estimate from the expected number of pushes (``n_updates`` over the acceptance
    under a threshold, plus a round of slack), at :data:`BYTES_PER_EVENT` each, and the
    loss records; the workers' parameter snapshots are negligible for the model's
    quadratic (one coordinate per mode).
    """
    cluster = model.cluster
    acceptance = cluster.accepted_rate / cluster.arrival_rate
    events = n_updates / max(acceptance, 1e-12) + 2 * cluster.n_workers
    records = n_updates / record_every * (2 + model.spectrum.n_modes)
    return int(replicas * (events * BYTES_PER_EVENT + records * 8
                           + cluster.n_workers * model.spectrum.n_modes * 8))


def _check(*, n_updates: int, replicas: int, record_every: int, lr: float, bound: float,
           start: str, engine: str) -> None:
    for name, value in (("n_updates", n_updates), ("replicas", replicas),
                        ("record_every", record_every)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if isinstance(lr, bool) or not (isinstance(lr, int | float) and 0 < lr < math.inf):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if not bound > 0:
        raise ValueError(f"bound must be > 0, got {bound!r}")
    if start not in ("stationary", "lockstep"):
        raise ValueError(f"start must be 'stationary' or 'lockstep', got {start!r}")
    if engine not in ("compiled", "python"):
        raise ValueError(f"engine must be 'compiled' or 'python', got {engine!r}")


@dataclass
class _State:
    """One replica's server and workers between chunks of events."""

    theta: FloatArray
    snapshots: FloatArray  # the parameters each worker pulled
    pulled_version: np.ndarray  # updates applied when it pulled
    pulled_time: FloatArray
    counters: np.ndarray  # [updates applied, loss records written, last event]


def _replica(groups: list, cluster: Cluster, objective: GradientOracle, lr: float,
             factors: FloatArray, theta0: FloatArray, n_updates: int, acceptance: float,
             rng: np.random.Generator, stationary: bool, record_every: int,
             record_theta: bool, bound: float, engine: str,
             sparsifier: Sparsifier | None) -> dict:
    n = cluster.n_workers
    threshold = -1 if cluster.threshold is None else cluster.threshold
    # the compiled plain quadratic merges the pushes as it applies them (run_schedule)
    fused = engine == "compiled" and sparsifier is None \
        and isinstance(objective, QuadraticObjective)
    # pushes needed: n_updates / acceptance, plus ~6 standard deviations and a full round
    needed = n_updates / acceptance
    horizon = (needed + 6.0 * math.sqrt(needed) + 2 * n) / cluster.arrival_rate
    while True:
        schedule = draw_schedule(groups, horizon, rng, stationary=stationary, as_rounds=fused)
        if isinstance(schedule, Rounds):  # only when fused: a plain quadratic
            assert isinstance(objective, QuadraticObjective)
            out = _replay_rounds(schedule, horizon, objective, lr, factors, threshold, theta0,
                                 n_updates, rng, record_every, record_theta, bound)
        else:
            out = _replay(*schedule, n, objective, lr, factors, threshold, theta0, n_updates,
                          rng, record_every, record_theta, bound, engine, sparsifier)
        if out["status"] != "exhausted":
            return out
        horizon *= 2.0  # rare (a long threshold transient): draw a longer schedule


def _start(n: int, objective: GradientOracle, theta0: FloatArray, n_updates: int,
           record_every: int, record_theta: bool) -> tuple[_State, tuple[np.ndarray, ...]]:
    """A replica's server and workers at the start, and its records (the first written)."""
    state = _State(theta=theta0.copy(), snapshots=np.tile(theta0, (n, 1)),
                   pulled_version=np.zeros(n, dtype=np.int64), pulled_time=np.zeros(n),
                   counters=np.zeros(3, dtype=np.int64))
    n_records = n_updates // record_every + 1
    loss = np.full(n_records, np.nan)
    loss_time = np.full(n_records, np.nan)
    theta_record = np.full((n_records if record_theta else 0, theta0.size), np.nan)
    loss[0], loss_time[0] = objective.loss(theta0), 0.0
    if record_theta:
        theta_record[0] = theta0
    state.counters[1] = 1
    return state, (loss, loss_time, theta_record)


def _outcome(status: int, state: _State, times: FloatArray, staleness: np.ndarray,
             delay: FloatArray, accepted: np.ndarray, records: tuple[np.ndarray, ...],
             record_theta: bool) -> dict:
    """One replica's row of the result (or ``exhausted``: the schedule ran out)."""
    if status == RUNNING:
        return {"status": "exhausted"}
    loss, loss_time, theta_record = records
    last = int(state.counters[2]) + 1
    diverged = status == DIVERGED
    return {"status": "diverged" if diverged else "finished", "times": times[:last],
            "staleness": staleness[:last], "delay": delay[:last], "accepted": accepted[:last],
            "loss": loss, "loss_time": loss_time,
            "theta": theta_record if record_theta else None,
            "diverged_at": float(times[last - 1]) if diverged else math.inf}


def _replay_rounds(schedule: Rounds, horizon: float, objective: QuadraticObjective,
                   lr: float, factors: FloatArray, threshold: int, theta0: FloatArray,
                   n_updates: int, rng: np.random.Generator, record_every: int,
                   record_theta: bool, bound: float) -> dict:
    """The compiled plain quadratic run on a schedule still in rounds (``run_schedule``)."""
    state, records = _start(schedule.start.size, objective, theta0, n_updates, record_every,
                            record_theta)
    n_events = int(schedule.counts.sum())
    times, staleness = np.empty(n_events), np.empty(n_events, dtype=np.int64)
    accepted, delay = np.empty(n_events, dtype=np.bool_), np.empty(n_events)
    arguments: tuple[Any, ...] = (
        schedule.start, schedule.rounds, schedule.counts, float(horizon), rng,
        objective.curvatures, np.sqrt(objective.noise), lr, factors, threshold, state.theta,
        state.snapshots, state.pulled_version, state.pulled_time, state.counters, times,
        staleness, accepted, delay, *records, n_updates, record_every, bound)
    status = run_schedule(*arguments)
    return _outcome(status, state, times, staleness, delay, accepted, records, record_theta)


def _replay(times: FloatArray, workers: np.ndarray, n: int, objective: GradientOracle,
            lr: float, factors: FloatArray, threshold: int, theta0: FloatArray,
            n_updates: int, rng: np.random.Generator, record_every: int, record_theta: bool,
            bound: float, engine: str, sparsifier: Sparsifier | None) -> dict:
    state, records = _start(n, objective, theta0, n_updates, record_every, record_theta)
    n_events = times.size
    # written by the event loop up to the last event, which is all that is returned
    staleness = np.empty(n_events, dtype=np.int64)
    accepted = np.empty(n_events, dtype=np.bool_)
    delay = np.empty(n_events)
    loss, loss_time, theta_record = records
    arrays = (state.theta, state.snapshots, state.pulled_version, state.pulled_time,
              state.counters, staleness, accepted, delay, loss, loss_time, theta_record)
    compression = _Compression(sparsifier, n, theta0.size)
    if isinstance(objective, QuadraticObjective):
        status = _quadratic_events(objective, workers, times, rng, lr, factors, threshold,
                                   arrays, n_updates, record_every, bound, engine,
                                   compression)
    else:  # any oracle: the Python loop, gradients drawn only for the pushes that need one
        def gradient(e: int, pulled: FloatArray) -> FloatArray:
            g = np.asarray(objective.stochastic_gradient(pulled.copy(), rng))
            compression.draw_keys(rng, e, 1)  # this push's random-k keys, if any
            return g

        status = _events_python(0, n_events, workers, times, gradient,
                                lambda x: float(objective.loss(x.copy())), lr, factors,
                                threshold, state.theta, state.snapshots,
                                state.pulled_version, state.pulled_time, state.counters,
                                staleness, accepted, delay, loss, loss_time, theta_record,
                                n_updates, record_every, bound, compression.active())
    return _outcome(status, state, times, staleness, delay, accepted, records, record_theta)


class _Compression:
    """One replica's sparsification state: its workers' residuals and the current keys.

    Called as ``compress(e, w, g)`` on push ``e`` of worker ``w`` with gradient ``g``, it
    returns what is sent (:func:`~sdde.simulator.sparsification.sparsify` of ``g``, plus the
    residual under error feedback) and keeps the new residual. ``keys`` holds the random-k
    keys of pushes ``first, first + 1, …`` (no rows: top-k, or every coordinate kept);
    the compiled loop reads the same arrays.
    """

    def __init__(self, sparsifier: Sparsifier | None, n: int, d: int) -> None:
        self.sparsifier = sparsifier
        self.keep = d if sparsifier is None else sparsifier.keep(d)
        self.error_feedback = sparsifier is not None and sparsifier.error_feedback
        # a dropped push still updates its worker's residual, unless nothing is ever left
        self.every_push = self.error_feedback and self.keep < d
        self.random_keys = sparsifier is not None and sparsifier.kind == "random" \
            and self.keep < d
        self.residuals = np.zeros((n if self.error_feedback else 0, d))
        self.keys = np.empty((0, d))
        self.first = 0

    def active(self) -> _Compression | None:
        """``self``, or ``None`` without a sparsifier (the plain loop)."""
        return None if self.sparsifier is None else self

    @property
    def kernel_keys(self) -> FloatArray | None:
        """``keys`` as ``run_events`` takes them: ``None`` selects its plain loop."""
        return None if self.sparsifier is None else self.keys

    def draw_keys(self, rng: np.random.Generator, first: int, rows: int) -> None:
        """Draw the random-k keys of pushes ``first .. first + rows − 1`` (only if needed)."""
        if self.random_keys:
            self.keys, self.first = rng.random((rows, self.keys.shape[1])), first

    def __call__(self, e: int, w: int, g: FloatArray) -> FloatArray:
        p = g + self.residuals[w] if self.error_feedback else g
        keys = self.keys[e - self.first] if self.keys.shape[0] else None
        sent, rest = sparsify(p, self.keep, keys)
        if self.error_feedback:
            self.residuals[w] = rest
        return sent


def _quadratic_events(objective: QuadraticObjective, workers: np.ndarray, times: FloatArray,
                      rng: np.random.Generator, lr: float, factors: FloatArray,
                      threshold: int, arrays: tuple[np.ndarray, ...], n_updates: int,
                      record_every: int, bound: float, engine: str,
                      compression: _Compression) -> int:
    """The quadratic event loop (compiled or Python) over chunks of pre-drawn normals."""
    d, n_events = objective.dim, times.size
    (theta, snapshots, version, pulled_at, counters, staleness, accepted, delay, loss,
     loss_time, theta_record) = arrays
    h, noise_sd = objective.curvatures, np.sqrt(objective.noise)

    def loss_of(x: FloatArray) -> float:
        value = 0.0  # summed in order, as the compiled loop does
        for h_i, x_i in zip(h, x, strict=True):
            value += 0.5 * h_i * x_i * x_i
        return value

    status = RUNNING
    if compression.random_keys:  # keys drawn after each chunk's normals: chunks fixed
        chunk, buffer = max(1, _CHUNK_VALUES // d), None
    else:  # only normals are drawn, so chunks do not change them: a small buffer, reused
        chunk = max(1, min(_CHUNK_VALUES_REUSED // d, n_events))
        buffer = np.empty((chunk, d))
    for first in range(0, n_events, chunk):
        rows = min(chunk, n_events - first)
        if buffer is None:
            z = rng.standard_normal((rows, d))
        else:
            z = buffer[:rows]
            rng.standard_normal(out=z)
        compression.draw_keys(rng, first, rows)
        if engine == "compiled":
            status = run_events(first, workers, times, z, h, noise_sd, lr, factors, threshold,
                                theta, snapshots, version, pulled_at, counters, staleness,
                                accepted, delay, loss, loss_time, theta_record, n_updates,
                                record_every, bound, compression.keep,
                                compression.error_feedback, compression.kernel_keys,
                                compression.residuals)
        else:
            def gradient(e: int, pulled: FloatArray, z: FloatArray = z,
                         first: int = first) -> FloatArray:
                return np.asarray(h * pulled + noise_sd * z[e - first])

            status = _events_python(first, z.shape[0], workers, times, gradient, loss_of, lr,
                                    factors, threshold, theta, snapshots, version, pulled_at,
                                    counters, staleness, accepted, delay, loss, loss_time,
                                    theta_record, n_updates, record_every, bound,
                                    compression.active())
        if status != RUNNING:
            break
    return status


def _events_python(first: int, n_new: int, workers: np.ndarray, times: FloatArray,
                   gradient: Callable[[int, FloatArray], FloatArray],
                   loss_of: Callable[[FloatArray], float], lr: float, factors: FloatArray,
                   threshold: int, theta: FloatArray, snapshots: FloatArray,
                   pulled_version: np.ndarray, pulled_time: FloatArray, counters: np.ndarray,
                   staleness: np.ndarray, accepted: np.ndarray, delay: FloatArray,
                   loss: FloatArray, loss_time: FloatArray, theta_record: FloatArray,
                   n_updates: int, record_every: int, bound: float,
                   compress: _Compression | None = None) -> int:
    """The event loop, written to be read: the specification the compiled loop follows.

    ``gradient(e, θ_pulled)`` is the stochastic gradient of push ``e`` at the parameters
    its worker pulled; ``loss_of(θ)`` the recorded loss; ``theta_record`` gets θ at
    each record when it has rows. ``compress(e, w, g)``, if given, is what worker ``w``
    sends instead of ``g`` (a sparsifier, :class:`_Compression`).
    """
    for e in range(first, first + n_new):
        w = workers[e]
        stale = counters[0] - pulled_version[w]  # updates since worker w pulled
        staleness[e], delay[e], counters[2] = stale, times[e] - pulled_time[w], e
        accepted[e] = take = threshold < 0 or stale <= threshold
        if take or (compress is not None and compress.every_push):
            g = gradient(e, snapshots[w])
            sent = g if compress is None else compress(e, w, g)
        if take:
            theta -= lr * factors[min(stale, factors.size - 1)] * sent
            counters[0] += 1
            if not np.all(np.abs(theta) <= bound):
                return DIVERGED
            if counters[0] % record_every == 0:
                loss[counters[1]] = loss_of(theta)
                loss_time[counters[1]] = times[e]
                if theta_record.shape[0]:
                    theta_record[counters[1]] = theta
                counters[1] += 1
        snapshots[w] = theta  # the worker pulls the new parameters
        pulled_version[w], pulled_time[w] = counters[0], times[e]
        if counters[0] >= n_updates:
            return FINISHED
    return RUNNING


def _stack(rows: list[dict]) -> SimulationResult:
    """Replica rows, padded to the longest, as one record.

    Each row's arrays are dropped as soon as they are copied, so that a replica's events
    are held about once, not twice, at the peak.
    """
    n_events = np.array([row["times"].size for row in rows], dtype=np.int64)
    width = int(n_events.max())

    def pad(key: str, fill: float | int | bool, dtype: type) -> np.ndarray:
        if len(rows) == 1:  # nothing to pad: the row itself, as a view
            return np.asarray(rows[0][key], dtype=dtype)[None, :]
        out: np.ndarray = np.empty((len(rows), width), dtype=dtype)  # each entry written once
        for r, row in enumerate(rows):
            values = row.pop(key)
            out[r, :values.size] = values
            out[r, values.size:] = fill
        return out

    return SimulationResult(
        times=pad("times", np.nan, np.float64), staleness=pad("staleness", -1, np.int64),
        delay=pad("delay", np.nan, np.float64), accepted=pad("accepted", False, np.bool_),
        n_events=n_events,
        loss_times=np.vstack([row["loss_time"] for row in rows]),
        loss=np.vstack([row["loss"] for row in rows]),
        status=tuple(row["status"] for row in rows),
        diverged_at=np.array([row["diverged_at"] for row in rows]),
        theta=None if rows[0]["theta"] is None else np.stack([row["theta"] for row in rows]))

"""Record the rounds of a real asynchronous training job: durations and staleness.

A training loop tells a :class:`RoundRecorder` when a worker reads the parameters
(:meth:`RoundRecorder.pull`) and when the server applies that worker's gradient
(:meth:`RoundRecorder.push`). Each round then has

* a **duration**: the time from the worker's pull to its push (computation, communication
  and waiting: what ``sdde.delays`` calls the round time ``X``);
* a **staleness**: the number of server updates applied between that pull and that push
  (the ``S`` of :class:`~sdde.cluster.staleness.StalenessLaw`).

The durations become the trace file that ``sdde-analyze --delay trace:FILE`` reads (one
duration per line, ``#`` comments), or directly an :class:`~sdde.delays.Empirical` law
(:meth:`RoundRecorder.to_law`); the staleness histogram is what
:func:`sdde.cluster.staleness_models.fit_staleness` fits with ``counts=True``, and what
:meth:`sdde.Cluster.staleness` predicts.

Examples
--------
>>> ticks = iter([0.0, 1.0, 2.5, 3.0])
>>> rec = RoundRecorder(clock=lambda: next(ticks))
>>> rec.pull("a"); rec.pull("b")           # both read θ₀ (t = 0 and 1)
>>> rec.push("a"), rec.push("b")           # a's update lands first: b's gradient is 1 stale
(0, 1)
>>> rec.durations.tolist(), rec.staleness_counts().tolist()
([2.5, 2.0], [1, 1])
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from sdde._numerics import FloatArray
from sdde.delays import Empirical


class RoundRecorder:
    """Thread-safe record of pulls and pushes: round durations and staleness.

    Parameters
    ----------
    clock : callable, optional
        Returns the current time in seconds (default :func:`time.perf_counter`); tests
        pass a fake clock.

    Notes
    -----
    Every call takes one lock, so the recorder can be called from worker threads and the
    server thread at once. Call :meth:`push` where the server applies the update (inside
    the server's own lock, if it has one): the staleness counts the pushes recorded
    between a worker's pull and its push, so it equals the server's count of interleaved
    updates only when pushes are recorded in the order the updates are applied.
    A worker has at most one open round; a gradient the server drops (e.g. too stale) is
    closed with ``push(worker, applied=False)``: its round is recorded, but it does not
    count as an update.
    """

    def __init__(self, *, clock: Callable[[], float] = time.perf_counter) -> None:
        if not callable(clock):
            raise ValueError(f"clock must be a callable returning seconds, got {clock!r}")
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[Hashable, tuple[float, int]] = {}
        self._durations: list[float] = []
        self._staleness: list[int] = []
        self._workers: list[Hashable] = []
        self._n_updates = 0

    # ------------------------------------------------------------------ events
    def pull(self, worker: Hashable) -> None:
        """``worker`` has read the current parameters: its round starts now.

        Raises
        ------
        ValueError
            If ``worker`` already has an open round (pulled without pushing since).
        """
        with self._lock:
            if worker in self._open:
                raise ValueError(f"worker {worker!r} pulled twice without a push in between: "
                                 "call push (or discard) to close its round first")
            self._open[worker] = (self._clock(), self._n_updates)

    def push(self, worker: Hashable, *, applied: bool = True) -> int:
        """The server has applied ``worker``'s gradient (or dropped it): its round ends now.

        Parameters
        ----------
        worker : hashable
            The worker that pulled.
        applied : bool
            Whether the gradient was applied (counts as a server update) or dropped.

        Returns
        -------
        int
            The round's staleness: updates applied between the pull and this push.

        Raises
        ------
        ValueError
            If ``worker`` has no open round (push without pull).
        """
        with self._lock:
            now = self._clock()
            try:
                start, updates_at_pull = self._open.pop(worker)
            except KeyError:
                raise ValueError(f"worker {worker!r} pushed without a pull: call pull when it "
                                 "reads the parameters") from None
            staleness = self._n_updates - updates_at_pull
            self._durations.append(now - start)
            self._staleness.append(staleness)
            self._workers.append(worker)
            if applied:
                self._n_updates += 1
            return staleness

    def discard(self, worker: Hashable) -> None:
        """Forget ``worker``'s open round (the job stopped before its push); no-op if none."""
        with self._lock:
            self._open.pop(worker, None)

    @contextmanager
    def round(self, worker: Hashable) -> Iterator[None]:
        """``with recorder.round(worker): ...``: pull on entry, push on a normal exit.

        If the block raises, the round is discarded (no push is recorded) and the
        exception propagates.
        """
        self.pull(worker)
        try:
            yield
        except BaseException:
            self.discard(worker)
            raise
        self.push(worker)

    # ---------------------------------------------------------------- results
    @property
    def n_updates(self) -> int:
        """Applied updates recorded so far."""
        with self._lock:
            return self._n_updates

    @property
    def n_rounds(self) -> int:
        """Closed rounds (applied or dropped) recorded so far."""
        with self._lock:
            return len(self._durations)

    @property
    def durations(self) -> FloatArray:
        """Round durations in seconds, in the order the rounds closed, shape (n_rounds,)."""
        with self._lock:
            return np.array(self._durations, dtype=np.float64)

    @property
    def staleness(self) -> np.ndarray:
        """Staleness of each closed round, in the order the rounds closed (int64)."""
        with self._lock:
            return np.array(self._staleness, dtype=np.int64)

    @property
    def workers(self) -> list[Hashable]:
        """The worker of each closed round, in the order the rounds closed."""
        with self._lock:
            return list(self._workers)

    def staleness_counts(self) -> np.ndarray:
        """Histogram ``counts[s]`` = rounds with staleness ``s``, for ``s = 0 … max``.

        The input of ``fit_staleness(counts, counts=True)``.

        Raises
        ------
        ValueError
            If no round has been recorded.
        """
        stale = self.staleness
        if stale.size == 0:
            raise ValueError("no round recorded yet: call pull and push first")
        return np.bincount(stale)

    def scaled_durations(self, *, unit: float = 1.0, normalise: bool = False) -> FloatArray:
        """Durations in units of ``unit`` seconds, or divided by their mean (``normalise``).

        Raises
        ------
        ValueError
            If no round has been recorded, ``unit`` is not a positive number, or a
            duration is not positive (a clock that did not advance).
        """
        if not (isinstance(unit, int | float) and not isinstance(unit, bool) and 0 < unit < np.inf):
            raise ValueError(f"unit must be a positive number of seconds, got {unit!r}")
        d = self.durations
        if d.size == 0:
            raise ValueError("no round recorded yet: call pull and push first")
        if not np.all(np.isfinite(d) & (d > 0)):
            i = int(np.flatnonzero(~(np.isfinite(d) & (d > 0)))[0])
            raise ValueError(f"round {i + 1} lasted {d[i]:g} s: durations must be > 0 (does the "
                             "clock advance?)")
        return d / (float(np.mean(d)) if normalise else float(unit))

    def to_law(self, *, unit: float = 1.0, normalise: bool = False) -> Empirical:
        """The empirical law of the round durations (see :meth:`scaled_durations`)."""
        return Empirical(samples=self.scaled_durations(unit=unit, normalise=normalise),
                         source="RoundRecorder")

    # ----------------------------------------------------------------- files
    def write_trace(self, path: str | Path, *, unit: float = 1.0,
                    normalise: bool = False) -> Path:
        """Write the durations as a trace file for ``--delay trace:PATH``.

        One duration per line (full precision, so the file reads back exactly), after
        ``#`` comment lines that state the unit.

        Parameters
        ----------
        path : str or Path
        unit : float
            Seconds per written unit (``0.001``: milliseconds).
        normalise : bool
            Divide by the mean duration instead (mean 1; ``unit`` is then ignored).

        Returns
        -------
        Path
        """
        d = self.scaled_durations(unit=unit, normalise=normalise)
        what = "divided by their mean" if normalise else f"in units of {unit!r} s"
        header = (f"# round durations (pull to push), {what}; {d.size} rounds\n"
                  "# written by sdde.trace.RoundRecorder; read with --delay trace:FILE\n")
        p = Path(path)
        p.write_text(header + "".join(f"{v!r}\n" for v in d.tolist()))
        return p

    def write_staleness(self, path: str | Path) -> Path:
        """Write the staleness histogram: line ``s`` (after ``#`` comments) holds ``counts[s]``.

        ``fit_staleness(numpy.loadtxt(path), counts=True)`` fits it.
        """
        counts = self.staleness_counts()
        p = Path(path)
        p.write_text(f"# staleness histogram: line s (from 0) = rounds with staleness s; "
                     f"{int(counts.sum())} rounds\n" + "".join(f"{c}\n" for c in counts.tolist()))
        return p

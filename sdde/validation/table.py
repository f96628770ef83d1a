"""The validation table: every quantity of :mod:`sdde.validation.compare` over delay laws × workers.

``validation_table()`` runs the comparisons for each law and worker count and returns a
:class:`ValidationTable`, which renders one Markdown table per quantity (the SDDE's and
the discrete-time model's relative errors against the simulator, with the simulator's
95 % interval). ``figures/validation_table.py`` writes it into ``docs/validation.md``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sdde._progress import ProgressCallback
from sdde.cluster.cluster import Cluster
from sdde.delays import parse as parse_law
from sdde.validation import compare as validate

#: The laws of the validation (all of mean 1), as ``sdde.delays.parse`` specs.
DEFAULT_LAWS = (
    "deterministic:value=1",
    "exponential:mean=1",
    "shifted-exp:shift=0.5,mean=1",
    "gamma:shape=2,mean=1",
    "uniform:low=0,high=2",
    "lognormal:mean=1,cv=0.5",
)
#: Worker counts of the validation.
DEFAULT_WORKERS = (2, 4, 8, 16, 64, 256)


@dataclass(frozen=True)
class Effort:
    """How much simulation each comparison gets (longer runs: narrower intervals).

    Attributes
    ----------
    rounds : int
        Rounds per worker for the arrival rate and the staleness law.
    replicas : int
        Replicas of the arrival-rate, staleness and threshold runs.
    curve_replicas : int
        Replicas averaged for the decay rate and the time to target.
    variance_replicas : int
        Replicas of the stationary-variance run.
    relaxation_times : float
        Length of each stationary-variance average, in relaxation times.
    threshold_rounds : int
        Rounds per worker in each threshold run (at least 20 000 updates).
    threshold_rel_tol : float
        Each replica's final threshold bracket, relative.
    """

    rounds: int = 1000
    replicas: int = 8
    curve_replicas: int = 256
    variance_replicas: int = 32
    relaxation_times: float = 4000.0
    threshold_rounds: int = 1000
    threshold_rel_tol: float = 2e-3

    @classmethod
    def quick(cls) -> Effort:
        """A few seconds per cell: for smoke tests, not for conclusions."""
        return cls(rounds=100, replicas=4, curve_replicas=16, variance_replicas=4,
                   relaxation_times=100.0, threshold_rounds=100, threshold_rel_tol=2e-2)


@dataclass(frozen=True)
class ValidationRow:
    """All comparisons for one delay law and worker count."""

    law: str
    workers: int
    arrival_rate: validate.Comparison
    staleness: validate.StalenessCheck
    decay_rate: validate.Comparison
    stationary_variance: validate.Comparison
    time_to_target: validate.Comparison
    threshold: validate.Comparison


@dataclass(frozen=True)
class ValidationTable:
    """The rows of a validation run, and their Markdown rendering.

    Attributes
    ----------
    rows : tuple of ValidationRow
    kappa : float
        Gain of the decay, variance and time-to-target comparisons.
    effort : Effort
    seed : int or None
    """

    rows: tuple[ValidationRow, ...]
    kappa: float
    effort: Effort = field(default_factory=Effort)
    seed: int | None = None

    @property
    def laws(self) -> list[str]:
        """The laws, in order of first appearance."""
        return list(dict.fromkeys(row.law for row in self.rows))

    @property
    def workers(self) -> list[int]:
        """The worker counts, ascending."""
        return sorted({row.workers for row in self.rows})

    def row(self, law: str, workers: int) -> ValidationRow:
        """The row of one law and worker count."""
        for row in self.rows:
            if row.law == law and row.workers == workers:
                return row
        raise KeyError(f"no row for {law!r} with {workers} workers")

    def comparison_table(self, quantity: str) -> str:
        """Markdown: per law and ``n``, ``SDDE error · discrete error (± interval)``.

        ``quantity`` is an attribute of :class:`ValidationRow` holding a
        :class:`~sdde.validation.compare.Comparison` (``"threshold"``, ``"decay_rate"``, ...).
        """
        def cell(c: validate.Comparison) -> str:
            return (f"{_percent(c.sdde_error)} · {_percent(c.discrete_error)} "
                    f"(±{100 * c.relative_half_width:.1f})")

        return self._table(lambda row: cell(getattr(row, quantity)))

    def simulated_table(self, quantity: str, digits: int = 4) -> str:
        """Markdown: the simulated values themselves, ``value ± half-width``."""
        def cell(c: validate.Comparison) -> str:
            return f"{c.simulated:.{digits}g} ± {c.half_width:.2g}"

        return self._table(lambda row: cell(getattr(row, quantity)))

    def staleness_table(self) -> str:
        """Markdown: total variation of the simulated staleness law to the Poisson law
        and to the exact renewal law, with the sampling noise."""
        def cell(s: validate.StalenessCheck) -> str:
            exact = "–" if math.isnan(s.tv_exact) else f"{s.tv_exact:.3f}"
            return f"{s.tv_poisson:.3f} · {exact} ({s.tv_noise:.3f})"

        return self._table(lambda row: cell(row.staleness))

    def _table(self, cell: object) -> str:
        assert callable(cell)
        head = "| law | " + " | ".join(f"n = {n}" for n in self.workers) + " |"
        rule = "| --- | " + " | ".join("---" for _ in self.workers) + " |"
        lines = [head, rule]
        for law in self.laws:
            cells = [cell(self.row(law, n)) for n in self.workers]
            lines.append(f"| `{law}` | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _percent(error: float) -> str:
    if math.isnan(error):
        return "–"
    if math.isinf(error):
        return "∞"
    return f"{100 * error:+.1f}"


def validation_row(law: str, workers: int, *, kappa: float, rng: np.random.Generator,
                   effort: Effort | None = None) -> ValidationRow:
    """Every comparison for one delay law (a ``sdde.delays.parse`` spec) and ``n``."""
    effort = effort or Effort()
    cluster = Cluster(workers=workers, delay=parse_law(law))
    threshold_updates = max(20_000, effort.threshold_rounds * workers)
    return ValidationRow(
        law=law, workers=workers,
        arrival_rate=validate.compare_arrival_rate(cluster, rng=rng, rounds=effort.rounds,
                                                   replicas=effort.replicas),
        staleness=validate.compare_staleness(cluster, rng=rng, rounds=effort.rounds,
                                             replicas=effort.replicas),
        decay_rate=validate.compare_decay_rate(cluster, kappa=kappa, rng=rng,
                                               replicas=effort.curve_replicas),
        stationary_variance=validate.compare_stationary_variance(
            cluster, kappa=kappa, rng=rng, replicas=effort.variance_replicas,
            relaxation_times=effort.relaxation_times),
        time_to_target=validate.compare_time_to_target(cluster, kappa=kappa, rng=rng,
                                                       replicas=effort.curve_replicas),
        threshold=validate.compare_threshold(cluster, rng=rng, n_updates=threshold_updates,
                                             replicas=effort.replicas,
                                             rel_tol=effort.threshold_rel_tol))


def cell_rng(seed: int, law: str, workers: int) -> np.random.Generator:
    """The random stream of one cell, keyed on the seed, the law and the worker count."""
    return np.random.default_rng([seed, workers, zlib.crc32(law.encode())])


def validation_table(laws: Sequence[str] = DEFAULT_LAWS,
                     workers: Sequence[int] = DEFAULT_WORKERS, *, kappa: float = 0.25,
                     seed: int | None = 0, effort: Effort | None = None,
                     progress: ProgressCallback | None = None) -> ValidationTable:
    """Run :func:`validation_row` for every law and worker count.

    Parameters
    ----------
    laws : sequence of str
        Delay-law specs (:func:`sdde.delays.parse`), best of mean 1.
    workers : sequence of int
        Worker counts.
    kappa : float
        Gain ``κ = η n h`` of the decay, variance and time-to-target comparisons (the
        SDDE's mean must not oscillate there: below ``1/e`` for every law here).
    seed : int or None
        Seed of the whole table. Each cell draws from its own stream keyed on the seed,
        its law and its worker count (:func:`cell_rng`), so a cell's numbers do not
        depend on which other cells are computed.
    effort : Effort, optional
        Simulation lengths (default :class:`Effort`; :meth:`Effort.quick` for tests).
    progress : callable, optional
        Called with the fraction of cells done.

    Returns
    -------
    ValidationTable
    """
    effort = effort or Effort()
    cells = [(law, n) for law in laws for n in workers]
    entropy = int(np.random.SeedSequence(seed).entropy)  # type: ignore[arg-type]
    rows = []
    for i, (law, n) in enumerate(cells):
        rows.append(validation_row(law, n, kappa=kappa, rng=cell_rng(entropy, law, n),
                                   effort=effort))
        if progress is not None:
            progress((i + 1) / len(cells))
    return ValidationTable(rows=tuple(rows), kappa=kappa, effort=effort, seed=seed)

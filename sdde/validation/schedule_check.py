"""The scheduler's choices against the exact simulator.

:func:`check_schedule` simulates the setting :func:`sdde.schedule.schedule` chose, its
runner-ups and the caller's own setting (all workers, no cut-off, their learning rate) on
the quadratic loss, and measures each one's time to the target loss: the first time the
mean loss over the replicas is below the target, with a 95 % bootstrap interval over
replicas. The chosen setting should be the simulator's fastest, within its interval, and
never diverge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdde._numerics import finite_or_none
from sdde._progress import ProgressCallback
from sdde.cluster.cluster import SharedLink
from sdde.model.spectrum import HessianSpectrum
from sdde.schedule.optimizer import Schedule, Setting
from sdde.simulator._curves import first_crossing, loss_on_grid
from sdde.simulator.server import simulate

#: Bootstrap resamples of the replicas for the interval of a time to target.
BOOTSTRAP = 400
#: Simulated horizon, in multiples of the slowest predicted time to target.
HORIZON = 3.0
#: Points of the common time grid the replicas' losses are read on.
GRID_POINTS = 2000


@dataclass(frozen=True)
class CheckedSetting:
    """One simulated setting: its label, the prediction and the measurement."""

    label: str
    setting: Setting
    predicted: float
    simulated: float
    interval: tuple[float, float]
    diverged_fraction: float

    def to_dict(self, schedule: Schedule) -> dict[str, Any]:
        """Plain JSON types."""
        return {"label": self.label, "setting": self.setting.to_dict(schedule.groups),
                "predicted_time": finite_or_none(self.predicted),
                "simulated_time": finite_or_none(self.simulated),
                "interval": [finite_or_none(v) for v in self.interval],
                "diverged_fraction": self.diverged_fraction}


@dataclass(frozen=True)
class ScheduleCheck:
    """The chosen setting, the runner-ups and the caller's, simulated."""

    schedule: Schedule
    rows: tuple[CheckedSetting, ...]

    @property
    def chosen_is_fastest(self) -> bool:
        """Whether no other setting is faster than the chosen one beyond the intervals
        (the chosen one's lower end is below every other's simulated time) and the chosen
        one never diverged."""
        chosen, others = self.rows[0], self.rows[1:]
        return chosen.diverged_fraction == 0 and all(
            chosen.interval[0] <= o.simulated for o in others)

    def summary(self) -> str:
        """Human-readable table."""
        lines = [f"{'':<12} {'workers':<12} {'cut-off':<8} {'lr':<10} {'predicted':<10} "
                 f"{'simulated (95% CI)':<26} diverged"]
        for r in self.rows:
            c = r.setting.candidate
            ci = f"{_num(r.simulated)} ({_num(r.interval[0])}–{_num(r.interval[1])})"
            lines.append(f"{r.label:<12} {'+'.join(map(str, c.counts)):<12} "
                         f"{'none' if c.threshold is None else c.threshold:<8} "
                         f"{r.setting.lr:<10.4g} {_num(r.predicted):<10} {ci:<26} "
                         f"{r.diverged_fraction:.0%}")
        lines.append(f"chosen setting is the simulator's fastest: {self.chosen_is_fastest}")
        return "\n".join(lines)


def _num(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else "∞"


def check_schedule(schedule: Schedule, spectrum: HessianSpectrum, *,
                   rng: np.random.Generator, noise: Any = 0.0, replicas: int = 64,
                   initial_error: float = 1.0, link: SharedLink | None = None,
                   progress: ProgressCallback | None = None) -> ScheduleCheck:
    """Simulate the chosen setting, the runner-ups and the caller's own setting.

    Parameters
    ----------
    schedule : Schedule
        A :func:`sdde.schedule.schedule` result with a target loss.
    spectrum, noise, link
        The problem it was computed for.
    rng : numpy.random.Generator
        Source of the simulations (each setting gets its own spawned stream).
    replicas : int
        Independent runs per setting.
    initial_error : float
        Starting parameter along every mode.
    progress : callable, optional
        Called with the fraction done.

    Returns
    -------
    ScheduleCheck
    """
    if schedule.target_loss is None:
        raise ValueError("checking a schedule needs its target loss (schedule(..., "
                         "target_loss=...))")
    report = progress or (lambda _f: None)
    entries = [("chosen", schedule.best)] + [(f"runner-up {i + 1}", s)
                                             for i, s in enumerate(schedule.alternatives)]
    if schedule.baseline is not None:
        entries.append(("yours", schedule.baseline))
    finite = [s.speed.time_to_target for _, s in entries
              if math.isfinite(s.speed.time_to_target)]
    horizon = HORIZON * max(finite)
    grid = np.linspace(0.0, horizon, GRID_POINTS)
    streams = rng.spawn(len(entries))
    rows = []
    for k, ((label, setting), stream) in enumerate(zip(entries, streams, strict=True)):
        model = schedule.model(setting, spectrum, noise, link)
        updates = max(10, math.ceil(horizon * model.cluster.accepted_rate * 1.05))
        result = simulate(model, n_updates=updates, rng=stream, replicas=replicas,
                          theta0=initial_error, record_every=max(1, updates // GRID_POINTS))
        finished = np.array([s == "finished" for s in result.status])
        diverged = 1.0 - float(finished.mean())
        curves = loss_on_grid(result, grid)
        # a diverged replica's loss stays above any target from its end on
        curves[~finished] = np.where(np.isnan(curves[~finished]), np.inf, curves[~finished])
        target = float(schedule.target_loss)
        measured = first_crossing(grid, curves.mean(axis=0), target)
        boot_rng = np.random.default_rng(stream.integers(2**63))
        draws = [first_crossing(grid, curves[boot_rng.integers(0, replicas, replicas)]
                                .mean(axis=0), target) for _ in range(BOOTSTRAP)]
        ordered = np.sort(np.array(draws))  # may hold inf: order statistics, no arithmetic
        lo, hi = ordered[int(0.025 * BOOTSTRAP)], ordered[int(0.975 * BOOTSTRAP) - 1]
        rows.append(CheckedSetting(label=label, setting=setting,
                                   predicted=setting.speed.time_to_target,
                                   simulated=measured, interval=(float(lo), float(hi)),
                                   diverged_fraction=diverged))
        report((k + 1) / len(entries))
    return ScheduleCheck(schedule=schedule, rows=tuple(rows))

"""Curves from simulation records: values on a time grid, crossings, fitted decay rates.

Shared by :mod:`sdde.validation.compare` and :mod:`sdde.validation.simulation_report`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sdde._numerics import FloatArray

if TYPE_CHECKING:
    from sdde.simulator.server import SimulationResult

#: The decay rate is fitted where the mean falls from e^-2 to e^-6 of its start.
_FIT_WINDOW = (math.exp(-2.0), math.exp(-6.0))


def on_grid(result: SimulationResult, grid: FloatArray, mode: int = 0) -> FloatArray:
    """Each replica's parameter ``mode`` (piecewise constant between records) at ``grid``.

    Needs ``record_theta=True``; shape ``(replicas, grid.size)``.
    """
    assert result.theta is not None
    return _piecewise(result.loss_times, result.theta[:, :, mode], grid)


def loss_on_grid(result: SimulationResult, grid: FloatArray) -> FloatArray:
    """Each replica's recorded loss (piecewise constant between records) at ``grid``."""
    return _piecewise(result.loss_times, result.loss, grid)


def _piecewise(times: FloatArray, values: FloatArray, grid: FloatArray) -> FloatArray:
    out = np.empty((times.shape[0], grid.size))
    for r in range(out.shape[0]):
        t, v = times[r], values[r]
        ok = np.isfinite(t)
        index = np.searchsorted(t[ok], grid, side="right") - 1
        out[r] = v[ok][index]
    return out


def fitted_decay_rate(t: FloatArray, mean: FloatArray) -> float:
    """Exponential rate of ``mean(t)`` where it falls from ``e^-2`` to ``e^-6`` of its start.

    A least-squares line through ``log mean`` on that window; NaN if the curve does not
    fall below ``e^-2``, leaves fewer than 8 points in the window, or swings below
    ``−e^-6`` anywhere (an oscillating mean, whose window would sit on a zero crossing:
    lower the gain).
    """
    start = mean[0]
    ratio = mean / start
    if np.any(ratio < -_FIT_WINDOW[1]):
        return math.nan
    below = np.flatnonzero(ratio < _FIT_WINDOW[0])
    if below.size == 0:
        return math.nan
    first = int(below[0])
    past = np.flatnonzero(ratio[first:] < _FIT_WINDOW[1])
    last = first + int(past[0]) if past.size else ratio.size - 1
    window = ratio[first:last + 1]
    if window.size < 8 or np.any(window <= 0):
        return math.nan
    slope = np.polyfit(t[first:last + 1], np.log(window), 1)[0]
    return float(-slope)



def first_crossing(t: FloatArray, curve: FloatArray, level: float) -> float:
    """First time ``curve`` is at or below ``level`` (linear interpolation; inf if never)."""
    below = np.flatnonzero(curve <= level)
    if below.size == 0:
        return math.inf
    i = int(below[0])
    if i == 0:
        return float(t[0])
    c0, c1 = curve[i - 1], curve[i]
    return float(t[i - 1] + (t[i] - t[i - 1]) * (c0 - level) / (c0 - c1))

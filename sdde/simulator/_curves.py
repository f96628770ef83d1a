"""Curves from simulation records: values on a time grid, crossings, fitted decay rates.

Shared by :mod:`sdde.validation.compare` and :mod:`sdde.validation.simulation_report`.
"""

from __future__ import annotations

import itertools
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


#: The envelope of an oscillating mean is fitted on its peaks between these fractions
#: of its start: below e^-1 the faster roots have died out, above e^-12 the peaks stand
#: clear of round-off and of the replicas' scatter.
_ENVELOPE_WINDOW = (math.exp(-1.0), math.exp(-12.0))


def envelope_decay_rate(t: FloatArray, mean: FloatArray) -> float:
    """Exponential rate of the envelope of a damped oscillation ``mean(t)``.

    The curve is cut into half-cycles at its sign changes; each complete half-cycle's
    largest ``|mean|`` is a peak. For ``A e^{−r t} cos(ω t + φ)`` the peaks are ``π/ω``
    apart and sit at the same phase, so ``log |peak|`` against its time is a line of slope
    ``−r`` exactly. The line is fitted through the peaks between ``e^-1`` and ``e^-12`` of
    the start. Half-cycles shorter than a quarter of the median (sign flickers of a
    noisy mean near a zero) are dropped. NaN with fewer than 3 peaks in the window.
    """
    ratio = mean / mean[0]
    crossings = np.flatnonzero(np.sign(ratio[1:]) * np.sign(ratio[:-1]) < 0) + 1
    if crossings.size < 2:
        return math.nan
    bounds = list(itertools.pairwise(crossings.tolist()))  # complete half-cycles
    lengths = np.array([t[b - 1] - t[a] for a, b in bounds])
    peak_t, peak = [], []
    for (a, b), length in zip(bounds, lengths, strict=True):
        if length < 0.25 * float(np.median(lengths)):
            continue
        i = a + int(np.argmax(np.abs(ratio[a:b])))
        value = abs(float(ratio[i]))
        if _ENVELOPE_WINDOW[1] < value < _ENVELOPE_WINDOW[0]:
            peak_t.append(float(t[i]))
            peak.append(value)
    if len(peak) < 3:
        return math.nan
    return float(-np.polyfit(peak_t, np.log(peak), 1)[0])


def late_decay_rate(t: FloatArray, mean: FloatArray) -> float:
    """Exponential rate of a slowly falling ``mean(t)`` over the second half of ``t``.

    For a mean that stays above ``e^-2`` of its start (a slow mode): a least-squares line
    through ``log mean`` on ``[t_end / 2, t_end]``, where the faster roots have died out
    if the record spans many mean delays. NaN if the mean is not positive there or has
    not moved (a relative change below 1e-9 is round-off).
    """
    ratio = mean / mean[0]
    half = t >= 0.5 * t[-1]
    window = ratio[half]
    if window.size < 8 or np.any(window <= 0) or abs(window[-1] - window[0]) < 1e-9:
        return math.nan
    return float(-np.polyfit(t[half], np.log(window), 1)[0])


def transient_decay_rate(t: FloatArray, mean: FloatArray) -> float:
    """Exponential rate of ``mean(t)`` from ``e^-2`` of its start to ``e^-6`` or its first
    zero crossing, whichever comes first.

    For a mean that overshoots zero once and then creeps back (a heavy-tailed delay law:
    no exponential envelope to fit). NaN with fewer than 8 points in that window.
    """
    ratio = mean / mean[0]
    below = np.flatnonzero(ratio < _FIT_WINDOW[0])
    if below.size == 0:
        return math.nan
    first = int(below[0])
    stop = np.flatnonzero(ratio[first:] < _FIT_WINDOW[1])  # negative values included
    last = first + int(stop[0]) if stop.size else ratio.size
    window = ratio[first:last]
    if window.size < 8:
        return math.nan
    return float(-np.polyfit(t[first:last], np.log(window), 1)[0])


#: How :func:`decay_fit` fitted a curve, as printed in reports.
FIT_METHODS = {
    "window": "fit where the mean falls from e^-2 to e^-6",
    "envelope": "fit on the peaks of the damped oscillation's envelope",
    "late": "fit over the run's second half (the mean falls less than e^-2)",
    "transient": "fit from e^-2 down to the mean's first zero crossing (it overshoots "
                 "once, with no envelope to fit)",
}


def decay_fit(t: FloatArray, mean: FloatArray, method: str | None = None
              ) -> tuple[float, str]:
    """Decay rate of a mean curve, fitted the way its shape allows; ``(rate, method)``.

    ``method`` (a key of :data:`FIT_METHODS`) forces a fit, so a second curve can be
    fitted like a first; by default it is chosen from the curve: ``"envelope"``
    (:func:`envelope_decay_rate`) if the mean swings below ``−e^-6`` of its start and
    its envelope has enough peaks, ``"transient"`` (:func:`transient_decay_rate`) if it
    swings there without them, ``"window"`` (:func:`fitted_decay_rate`) if it falls
    below ``e^-2``, ``"late"`` (:func:`late_decay_rate`) otherwise.
    """
    if method is None:
        ratio = mean / mean[0]
        if np.any(ratio < -_FIT_WINDOW[1]):
            method = ("envelope" if math.isfinite(envelope_decay_rate(t, mean))
                      else "transient")
        elif np.any(ratio < _FIT_WINDOW[0]):
            method = "window"
        else:
            method = "late"
    fit = {"envelope": envelope_decay_rate, "window": fitted_decay_rate,
           "late": late_decay_rate, "transient": transient_decay_rate}[method]
    return fit(t, mean), method



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

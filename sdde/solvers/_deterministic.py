"""Noise-free delayed Euler–Maruyama runs of a linear problem, for :mod:`sdde.solvers.moments`.

:func:`sdde.solvers.moments.exact_moments` needs, per mode, two runs of the scheme
without noise: the mean ``m`` (from the problem's history and offset) and the
fundamental solution ``r`` (``r_0 = 1``, zero history). Both obey the same linear
recursion

    x_{n+1} = x_n + dt · b − dt Σ_c a_c y_c(t_n),
    y_c(t_n) = Σ_j W_{c,j} x_{n−j}    (grid taps of :meth:`sdde.Delay.grid_weights`),

or, for a channel integrated as a linear chain, ``y_c`` its last stage stepped by the
same explicit Euler rule as :func:`sdde.solve`. This module advances it for all modes
and both runs at once: the state of one step is a row of ``2 · n_modes`` lanes (mean
lanes, then impulse lanes) and the whole run is one linear array ``hist[L − 1 + n]``
(no ring buffer), so each tap is one multiply-add over a contiguous row; modes share
the taps (only the gains differ, applied once per channel after the tap sum). Lanes
are independent, so they are advanced in groups (tasks that may run on threads: the
kernel releases the GIL) without changing a bit. Up to two modes, each lane is a task
of its own and its tap sum a vectorised dot product over a contiguous stretch of its
history (zeros included); that beats one multiply-add per nonzero tap on so few lanes.

Cost: ``O(n_steps · n_taps)`` per lane, the direct sum (a blocked FFT convolution would
be ``O(n_steps log² n_steps)`` but its error is relative to the largest value in each
block, not to the value computed, which a decaying tail such as ``1e-95`` does not
survive).

Divergence follows :func:`sdde.solve` with one path per lane: a lane whose next value
leaves ``[−bound, bound]`` (or is NaN) at step ``n + 1`` is frozen at its last value and
``diverged[lane] = n + 1``. The result equals :func:`sdde.solve` of each mode on its own
up to the order of summation of the taps (rounding, about 1e-16 relative per step).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import numba
import numpy as np

from sdde._numerics import FloatArray
from sdde.model.problem import LinearDrift, SDDEProblem, chain_start

#: Most lanes (runs of one mode) one kernel call advances: a row of 128 bytes.
_LANES_PER_TASK = 16
#: Up to this many lanes (two modes), each lane is advanced on its own (see tasks).
_DENSE_LANES = 4


class NoiseFreeRuns(NamedTuple):
    """Every step of the noise-free scheme, per mode.

    Attributes
    ----------
    mean : ndarray, shape (n_steps + 1, n_modes)
        The run from the problem's history and offset (``m_n``).
    impulse : ndarray, shape (n_steps + 1, n_modes)
        The fundamental solution ``r_n`` (``r_0 = 1``, zero history, no offset).
    mean_diverged : ndarray of int64, shape (n_modes,)
        Step from which ``mean`` is frozen (``-1`` if never).
    impulse_diverged : ndarray of int64, shape (n_modes,)
        Step from which ``impulse`` is frozen (``-1`` if never).
    """

    mean: FloatArray
    impulse: FloatArray
    mean_diverged: np.ndarray
    impulse_diverged: np.ndarray


def noise_free_runs(problem: SDDEProblem, dt: float, *, bound: float) -> NoiseFreeRuns:
    """The mean and impulse runs of a linear problem's Euler–Maruyama scheme.

    Parameters
    ----------
    problem : SDDEProblem
        A problem with a :class:`sdde.LinearDrift` (its diffusion is ignored).
    dt : float
        Step size; ``round(t_final / dt)`` steps are taken.
    bound : float
        A lane whose value leaves ``[−bound, bound]`` is frozen (see module).

    Returns
    -------
    NoiseFreeRuns
    """
    runs, tasks = noise_free_tasks(problem, dt, bound=bound)
    for task in tasks:
        task()
    return runs


def noise_free_tasks(problem: SDDEProblem, dt: float, *, bound: float,
                     min_tasks: int = 1) -> tuple[NoiseFreeRuns, list[Callable[[], None]]]:
    """:func:`noise_free_runs` split into independent tasks (for threads: the kernel
    releases the GIL), at least ``min_tasks`` of them when there are as many lanes.

    Returns
    -------
    runs : NoiseFreeRuns
        Filled in by the tasks; read it after all have run.
    tasks : list of callables
        Each advances a group of at most 16 lanes (``2 · n_modes`` lanes in all).
    """
    drift = problem.drift
    assert isinstance(drift, LinearDrift)
    n_steps = round(problem.t_final / dt)
    if n_steps < 1 or abs(n_steps * dt - problem.t_final) > 1e-9 * problem.t_final:
        raise ValueError(f"dt = {dt:g} does not fit t_final = {problem.t_final:g} a whole "
                         f"number of times; use t_final / N (e.g. dt = "
                         f"{problem.t_final / max(n_steps, 1):.6g})")
    weights = [None if d.chain else d.grid_weights(dt) for d in problem.delays]
    n_slots = max([1] + [w.size for w in weights if w is not None])
    lanes = _lanes(problem, dt, n_slots)
    n_lanes = lanes.start.shape[1]
    # few lanes: one per task, its taps a vectorised dot product over its own history;
    # more: groups of lanes advanced together, one multiply-add per nonzero tap and lane
    # (the choice depends on the problem only, so results do not depend on min_tasks)
    dense = n_lanes <= _DENSE_LANES
    taps = _tap_table(weights, dense)
    out = np.empty((n_steps + 1, n_lanes))
    diverged = np.full(n_lanes, -1, dtype=np.int64)

    def task(group: slice) -> None:
        hist = np.zeros((n_slots + n_steps, group.stop - group.start))
        hist[:n_slots] = lanes.start[:, group]
        group_diverged = np.full(hist.shape[1], -1, dtype=np.int64)
        advance_lanes(hist, n_slots, *taps, np.ascontiguousarray(lanes.gain[:, group]),
                      np.ascontiguousarray(lanes.offset[group]), lanes.chain_channel,
                      lanes.chain_len, lanes.chain_step,
                      np.ascontiguousarray(lanes.stages[:, :, group]), float(bound),
                      group_diverged, dense)
        out[:, group] = hist[n_slots - 1:]
        diverged[group] = group_diverged

    n_groups = n_lanes if dense else min(n_lanes // 2, max(-(-n_lanes // _LANES_PER_TASK),
                                                           min_tasks))
    edges = np.linspace(0, n_lanes, n_groups + 1).round().astype(int)
    tasks: list[Callable[[], None]] = [partial(task, slice(int(a), int(b)))
                                       for a, b in itertools.pairwise(edges)]
    n_modes = problem.n_modes
    return NoiseFreeRuns(mean=out[:, :n_modes], impulse=out[:, n_modes:],
                         mean_diverged=diverged[:n_modes],
                         impulse_diverged=diverged[n_modes:]), tasks


class _Lanes(NamedTuple):
    """Per-lane data (mean lanes of every mode, then impulse lanes): ``start`` the
    history rows ``x(−(L−1) dt), …, x(0)``, ``gain[c] = −dt · a_c``, ``offset = dt · b``
    (0 on the impulse lanes), chain ``k`` feeds channel ``chain_channel[k]`` with
    ``chain_len[k]`` stages of step ``chain_step[k] = dt · rate`` starting at
    ``stages[k]``."""

    start: FloatArray
    gain: FloatArray
    offset: FloatArray
    chain_channel: np.ndarray
    chain_len: np.ndarray
    chain_step: FloatArray
    stages: FloatArray


def _lanes(problem: SDDEProblem, dt: float, n_slots: int) -> _Lanes:
    """The mean lanes from the problem's history, offset and chain starts; the impulse
    lanes ``r_0 = 1`` on a zero history (chains at 0), without offset."""
    drift = problem.drift
    assert isinstance(drift, LinearDrift)
    n_modes = problem.n_modes
    start = np.zeros((n_slots, 2 * n_modes))
    start[:, :n_modes] = problem.history_at(-dt * np.arange(n_slots, dtype=np.float64))[::-1]
    start[n_slots - 1, n_modes:] = 1.0
    chained = [(c, d) for c, d in enumerate(problem.delays) if d.chain]
    starts = [chain_start(d, problem, dt) for _, d in chained]
    stages = np.zeros((len(starts), max([1] + [s.shape[0] for s in starts]), 2 * n_modes))
    for k, values in enumerate(starts):
        stages[k, :values.shape[0], :n_modes] = values
    gain = -dt * drift.gains
    return _Lanes(start=start, gain=np.hstack([gain, gain]),
                  offset=np.concatenate([dt * np.asarray(drift.offset), np.zeros(n_modes)]),
                  chain_channel=np.array([c for c, _ in chained], dtype=np.int64),
                  chain_len=np.array([d.chain[0] for _, d in chained],  # type: ignore[index]
                                     dtype=np.int64),
                  chain_step=np.array([dt * d.chain[1] for _, d in chained],  # type: ignore
                                      dtype=np.float64),
                  stages=stages)


def _tap_table(weights: list[FloatArray | None],
               dense: bool) -> tuple[np.ndarray, np.ndarray, FloatArray]:
    """The grid taps, channel by channel: ``(first tap of each channel and one past the
    last, lag in steps, weight)``. Sparse: the nonzero taps. Dense: every lag from the
    last nonzero one down to the first (a contiguous stretch of the history, oldest
    first)."""
    starts, lags, values = [0], [], []
    for w in weights:
        nonzero = np.flatnonzero(w) if w is not None else np.zeros(0, dtype=np.int64)
        if dense and nonzero.size:
            nonzero = np.arange(nonzero[-1], nonzero[0] - 1, -1)
        lags.append(nonzero)
        values.append(np.zeros(0) if w is None else w[nonzero])
        starts.append(starts[-1] + nonzero.size)
    return (np.array(starts, dtype=np.int64), np.concatenate(lags).astype(np.int64),
            np.concatenate(values).astype(np.float64))


@numba.njit(cache=True, nogil=True, fastmath=True)
def _dot(a: FloatArray, b: FloatArray) -> float:
    """``Σ a_i b_i`` of two contiguous arrays, vectorised (reassociated: fastmath; kept
    out of line so that the flags stay on this loop and off the caller's NaN checks).
    Finite inputs only: the history never holds values beyond the bound."""
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


@numba.njit(cache=True, nogil=True, inline="always", fastmath={"contract"})
def _tap_sum(hist: FloatArray, row: int, tap_lag: np.ndarray, tap_weight: FloatArray,
             first: int, stop: int, y: FloatArray) -> None:
    """``y = Σ_t tap_weight[t] · hist[row − tap_lag[t]]`` over taps ``first`` to ``stop``,
    four taps per pass over ``y`` (a pass costs a load and a store of every lane)."""
    n_lanes = hist.shape[1]
    y[:] = 0.0
    t = first
    while t + 4 <= stop:
        w0, w1, w2, w3 = tap_weight[t], tap_weight[t + 1], tap_weight[t + 2], tap_weight[t + 3]
        b0, b1, b2, b3 = row - tap_lag[t], row - tap_lag[t + 1], row - tap_lag[t + 2], \
            row - tap_lag[t + 3]
        for lane in range(n_lanes):
            y[lane] += ((w0 * hist[b0, lane] + w1 * hist[b1, lane])
                        + (w2 * hist[b2, lane] + w3 * hist[b3, lane]))
        t += 4
    for u in range(t, stop):
        w0, b0 = tap_weight[u], row - tap_lag[u]
        for lane in range(n_lanes):
            y[lane] += w0 * hist[b0, lane]


@numba.njit(cache=True, nogil=True)
def advance_lanes(hist: FloatArray, n_slots: int, tap_start: np.ndarray, tap_lag: np.ndarray,
                  tap_weight: FloatArray, gain: FloatArray, offset: FloatArray,
                  chain_channel: np.ndarray, chain_len: np.ndarray, chain_step: FloatArray,
                  stages: FloatArray, bound: float, diverged: np.ndarray,
                  dense: bool) -> None:
    """Fill ``hist[n_slots:]`` with the noise-free scheme, one row per step.

    ``hist[n_slots − 1 − j]`` holds ``x(−j dt)`` on entry (``j < n_slots``); row
    ``n_slots − 1 + n`` receives ``x_n``. Channel ``c`` has taps ``tap_start[c]`` to
    ``tap_start[c + 1]`` (``dense``: one lane, and the dense table of
    :func:`_tap_table`); a chain channel's value is its last stage. ``diverged[lane]``
    records the step at which a lane was frozen (see module).
    """
    n_rows, n_lanes = hist.shape
    if dense and n_lanes != 1:
        raise ValueError("the dense tap table is for one lane")
    flat = hist.reshape(n_rows * n_lanes)
    n_channels = tap_start.shape[0] - 1
    y = np.empty(n_lanes)
    acc = np.empty(n_lanes)
    n_frozen = 0
    for lane in range(n_lanes):
        if diverged[lane] >= 0:
            n_frozen += 1
    for row in range(n_slots - 1, n_rows - 1):
        if n_frozen == n_lanes:  # every lane frozen: the rest repeats the last row
            for later in range(row + 1, n_rows):
                hist[later] = hist[row]
            return
        for lane in range(n_lanes):
            acc[lane] = hist[row, lane] + offset[lane]
        for c in range(n_channels):
            first, stop = tap_start[c], tap_start[c + 1]
            if first == stop:
                continue
            if dense:  # one lane: the taps are a contiguous stretch of its history
                oldest = row - tap_lag[first]
                y[0] = _dot(tap_weight[first:stop], flat[oldest:oldest + stop - first])
            else:
                _tap_sum(hist, row, tap_lag, tap_weight, first, stop, y)
            for lane in range(n_lanes):
                acc[lane] += gain[c, lane] * y[lane]
        for k in range(chain_len.shape[0]):
            c, last, h = chain_channel[k], chain_len[k] - 1, chain_step[k]
            for lane in range(n_lanes):
                acc[lane] += gain[c, lane] * stages[k, last, lane]
            for s in range(last, 0, -1):  # old values first: explicit Euler
                for lane in range(n_lanes):
                    stages[k, s, lane] += h * (stages[k, s - 1, lane] - stages[k, s, lane])
            for lane in range(n_lanes):
                stages[k, 0, lane] += h * (hist[row, lane] - stages[k, 0, lane])
        for lane in range(n_lanes):
            value = acc[lane]
            if diverged[lane] < 0 and not abs(value) <= bound:
                diverged[lane] = row - n_slots + 2
                n_frozen += 1
            hist[row + 1, lane] = hist[row, lane] if diverged[lane] >= 0 else value


__all__ = ["NoiseFreeRuns", "advance_lanes", "noise_free_runs", "noise_free_tasks"]

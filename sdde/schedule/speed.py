"""How fast one configuration trains, at every learning rate, from one table per kernel.

A configuration (which workers, which staleness cut-off, which step policy) fixes the
delay kernel and the time unit ``E[X]``; the learning rate only moves each mode's gain
``κ = η n h`` along the kernel's rate curve. So the rightmost root's decay rate ``r(κ)``
and the unit-noise stationary variance ``v₁(κ)`` are tabulated once per kernel on a
geometric grid of gains and interpolated (shape-preserving, in ``log κ``); every learning
rate and every Hessian mode, millions of them, is then a vectorised look-up. The loss is
the report's rightmost-root curve (:func:`sdde.stability.report.loss_from_rates`):
``½ Σ w h (x₀² e^{−2ρt} + v (1 − e^{−2ρt}))`` with ``ρ = r(κ)/E[X]``, ``v = σ² v₁(κ)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import interpolate, optimize

from sdde._numerics import FloatArray
from sdde.model.async_sgd import AsyncSGDModel
from sdde.stability import discrete
from sdde.stability.discrete import discrete_spectral_radius, discrete_stationary_variance
from sdde.stability.mean_field import unit_noise_variances
from sdde.stability.report import mode_weights, time_below
from sdde.stability.roots import dominant_decay_rate

#: Gains tabulated per decade of ``κ`` (the rate curve is smooth between its kinks; the
#: interpolation error is checked against direct roots in the tests).
POINTS_PER_DECADE = 12
#: Fewest gains tabulated for one curve.
MIN_POINTS = 10
#: Smallest per-update contraction of the discrete-time table (see DiscreteRateCurve).
RADIUS_FLOOR = 1e-3
#: Distinct gains solved directly for a reported speed (:meth:`Configuration.exact_speed`).
EXACT_MODES = 64
#: Learning rates tried per decade of the axis before the refinement.
LR_GRID = 13
#: Decades below the cap the learning-rate search may go (a noise floor near the target
#: pushes the best learning rate down).
LR_DECADES_MAX = 8


@dataclass
class RateCurve:
    """``r(κ)`` (per mean delay) and ``v₁(κ)`` of one kernel, tabulated on demand.

    Values are cached per grid gain, so curves of the same kernel asked for different
    ranges share their root solves.
    """

    model: AsyncSGDModel
    with_variance: bool
    _rates: dict[float, tuple[float, bool]] = field(default_factory=dict)
    _variances: dict[float, float] = field(default_factory=dict)
    _span: tuple[float, float] | None = None
    _interpolants: tuple[Any, Any, float, bool] | None = None

    @property
    def solves(self) -> int:
        """Gains solved so far (roots, and variances when asked for)."""
        return len(self._rates)

    def _grid(self, lo: float, hi: float) -> FloatArray:
        a, b = math.floor(math.log10(lo) * POINTS_PER_DECADE), math.ceil(
            math.log10(hi) * POINTS_PER_DECADE)
        if b - a + 1 < MIN_POINTS:
            b = a + MIN_POINTS - 1
        return np.asarray(10.0 ** (np.arange(a, b + 1) / POINTS_PER_DECADE), dtype=np.float64)

    def tables(self, lo: float, hi: float) -> tuple[FloatArray, FloatArray, FloatArray,
                                                      FloatArray]:
        """Grid gains covering ``[lo, hi]``, ``r``, whether each ``r`` is an exact root,
        and ``v₁`` (NaN without variance)."""
        grid = self._grid(lo, hi)
        missing = np.array([k for k in grid if float(k) not in self._rates])
        if missing.size:
            rates, exact, var = self._compute(missing)
            for k, r, e, v in zip(missing, rates, exact, var, strict=True):
                self._rates[float(k)] = (float(r), bool(e))
                self._variances[float(k)] = float(v)
        rates = np.array([self._rates[float(k)][0] for k in grid])
        exact = np.array([self._rates[float(k)][1] for k in grid])
        var = np.array([self._variances.get(float(k), math.nan) for k in grid])
        return grid, rates, exact, var

    def _compute(self, kappas: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Rates, exactness and unit-noise variances at new grid gains (the SDDE's)."""
        kernel = self.model.kernel
        found = [dominant_decay_rate(float(k), kernel) for k in kappas]
        rates = np.array([r for r, _ in found])
        exact = np.array([e for _, e in found])
        var = np.full(kappas.shape, math.nan)
        if self.with_variance:
            var = unit_noise_variances(kappas, kernel)
        return rates, exact, var

    def evaluate(self, kappas: FloatArray) -> tuple[FloatArray, FloatArray, bool]:
        """``r(κ)`` and ``v₁(κ)`` at any gains (interpolated), and whether every rate
        used is an exact root (else some are the abscissa bound)."""
        k = np.asarray(kappas, dtype=np.float64)
        lo, hi = float(k.min()), float(k.max())
        if self._span is None or lo < self._span[0] or hi > self._span[1]:
            # two grid steps of room at each end, where interpolation is least accurate
            pad = 10.0 ** (2.0 / POINTS_PER_DECADE)
            span = (lo / pad, hi * pad) if self._span is None else (
                min(lo / pad, self._span[0]), max(hi * pad, self._span[1]))
            self._build(*span)
        assert self._interpolants is not None
        rate_of, var_of, infinite_from, exact = self._interpolants
        x = np.log(k)
        r = rate_of(x) * k  # r/κ and κ v₁ are smooth and bounded at small κ
        if self.with_variance:
            v = np.where(k >= infinite_from, math.inf, var_of(x) / k)
        else:
            v = np.zeros_like(k)
        return r, v, exact

    def _build(self, lo: float, hi: float) -> None:
        grid, rates, exact, var = self.tables(lo, hi)
        x = np.log(grid)
        rate_of = interpolate.PchipInterpolator(x, rates / grid)
        finite = np.isfinite(var)
        infinite_from = float(grid[~finite].min()) if np.any(~finite) else math.inf
        below = grid < infinite_from  # the variance's table ends where it becomes infinite
        # log(κ v₁) is smooth down to κ → 0 (κ v₁ → 1/(2m)) and tames the pole at κ*
        log_var = (interpolate.PchipInterpolator(x[below], np.log(var[below] * grid[below]))
                   if np.count_nonzero(below) >= 2 else None)

        def var_of(z: FloatArray) -> FloatArray:
            if log_var is None:
                return np.full(np.shape(z), math.inf)
            return np.asarray(np.exp(log_var(z)), dtype=np.float64)

        self._span = (lo, hi)
        self._interpolants = (rate_of, var_of, infinite_from, bool(np.all(exact)))


@dataclass
class DiscreteRateCurve(RateCurve):
    """The same table from the discrete-time model (updates counted one by one).

    The recursion ``θ_{k+1} = θ_k − α Σ_s q_s θ_{k−s}`` (``α = η h = κ/n``) is
    what the server does on average. Its spectral radius ``ρ`` gives the rate per mean
    delay ``−log ρ · λ_acc E[X]``, and its stationary variance per unit update noise
    ``S(α)`` gives ``v₁ = S(α)/n`` (update noise ``η² c`` against ``σ² = η² n c``).
    """

    def _compute(self, kappas: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        m = self.model
        q = _short_weights(m)
        scale = m.cluster.accepted_rate * m.mean_delay
        n = m.n_workers
        radii = np.array([discrete_spectral_radius(float(k) / n, q) for k in kappas])
        # ρ → 0 (one worker at α = 1: θ ← 0 at once) is clipped at 1e-3 per update: a mode
        # that falls a thousandfold in one update counts as gone, and the learning rates
        # around 1/h tie instead of one point winning by a logarithmic singularity
        rates = -np.log(np.maximum(radii, RADIUS_FLOOR)) * scale
        var = np.full(kappas.shape, math.nan)
        if self.with_variance:
            var = np.array([discrete_stationary_variance(float(k) / n, q, 1.0) / n
                            if r < 1 else math.inf for k, r in zip(kappas, radii,
                                                                   strict=True)])
        return rates, np.ones(kappas.shape, dtype=bool), var


def _short_weights(model: AsyncSGDModel) -> FloatArray:
    """``q_s`` without the last 1e-7 of the mass (as the report's discrete check: it moves
    the coefficients by ``α·1e-7``)."""
    q = discrete.staleness_weights(model.staleness_weights("poisson"))
    tail = np.cumsum(q[::-1])[::-1]
    return np.asarray(q[: int(np.flatnonzero(tail > 1e-7 * tail[0])[-1]) + 1])


def discrete_applies(model: AsyncSGDModel) -> bool:
    """Whether the discrete-time table replaces the SDDE's: for one worker, where it is
    exact (staleness is always 0: ``θ ← (1 − ηh) θ`` plus noise) and the SDDE, which
    still sees a delay, puts the fastest learning rate too low. With 2-15 workers the
    Poisson-staleness recursion was no better than the SDDE against the simulator (a
    24 + 8 straggler mixture: 26 % slow at 15 workers) and is costly for wide staleness
    laws, so the SDDE stays."""
    return model.n_workers == 1


@dataclass(frozen=True)
class Speed:
    """The predicted speed of one configuration at one learning rate."""

    lr: float
    decay_rate: float
    time_to_target: float
    loss_floor: float
    exact_rates: bool


@dataclass
class Configuration:
    """One configuration's speed along the learning-rate axis.

    Parameters
    ----------
    model : AsyncSGDModel
        The configuration at any learning rate (its ``lr`` is not used).
    curve : RateCurve
        The kernel's rate table (shared between configurations with the same kernel).
    """

    model: AsyncSGDModel
    curve: RateCurve

    def speed(self, lr: float, *, target_loss: float | None, initial_error: float) -> Speed:
        """Decay rate of the slowest mode, loss floor and time to the target at ``lr``,
        from the table."""
        kappas = lr * self.model.n_workers * self.model.curvatures
        r, v1, exact = self.curve.evaluate(kappas)
        return self._speed(lr, r, v1, exact, target_loss, initial_error)

    def _speed(self, lr: float, r: FloatArray, v1: FloatArray, exact: bool,
               target_loss: float | None, initial_error: float) -> Speed:
        m = self.model
        h = m.curvatures
        rates = r / m.mean_delay
        sigma2 = lr**2 * m.n_workers * m.noise_variances
        variances = np.where(sigma2 > 0, sigma2 * v1, 0.0)
        weights = mode_weights(m)
        floor = 0.5 * float(np.sum(weights * h * variances))
        time = math.nan
        if target_loss is not None:
            time = time_below(rates, variances, weights, h, initial_error, target_loss)
        return Speed(lr=lr, decay_rate=float(rates.min()), time_to_target=time,
                     loss_floor=floor, exact_rates=exact)

    def exact_speed(self, lr: float, *, target_loss: float | None,
                    initial_error: float) -> Speed:
        """:meth:`speed` with every rate and variance solved at the modes' own gains (no
        table): what the scheduler reports. Up to :data:`EXACT_MODES` distinct gains are
        solved (evenly in ``log κ``, both ends included); other modes interpolate those."""
        m = self.model
        h = m.curvatures
        kappas = lr * m.n_workers * h
        picks = np.unique(np.rint(np.linspace(0, h.size - 1, min(EXACT_MODES, h.size)))
                          .astype(int))
        rates_at, exact_at, var_at = self.curve._compute(kappas[picks])
        x = np.log(kappas)
        r = np.interp(x, x[picks], rates_at) if picks.size < h.size else rates_at
        v1 = (np.interp(x, x[picks], var_at) if picks.size < h.size else var_at) \
            if self.curve.with_variance else np.zeros_like(kappas)
        return self._speed(lr, r, v1, bool(np.all(exact_at)), target_loss, initial_error)

    def best_lr(self, lr_cap: float, *, target_loss: float | None,
                initial_error: float, hints: Sequence[float] = ()) -> Speed:
        """The learning rate in ``(0, lr_cap]`` that reaches the target soonest (or, without
        a target, maximises the slowest mode's decay rate), and its speed.

        A geometric grid over the decade below ``lr_cap`` (moved down a decade at a time
        while the best is at its lower end) finds the best bracket, a bounded scalar search
        on ``log η`` refines it; ties go to the smaller learning rate (more margin).
        ``hints`` are learning rates found under other caps: one at or below this cap that
        scores better wins.
        """
        def score(lr: float) -> float:
            s = self.speed(lr, target_loss=target_loss, initial_error=initial_error)
            value = s.time_to_target if target_loss is not None else -s.decay_rate
            return value if math.isfinite(value) else math.inf

        top = lr_cap
        n, h = self.model.n_workers, self.model.curvatures
        for _ in range(LR_DECADES_MAX):
            grid = top * np.geomspace(0.1, 1.0, LR_GRID)
            self.curve.evaluate(np.array([grid[0] * n * h[0], top * n * h[-1]]))  # one table
            values = np.array([score(float(x)) for x in grid])
            i = int(np.argmin(values))
            if i > 0 or not math.isfinite(values[0]):
                break
            top = float(grid[1])
        if math.isfinite(values[i]) and 0 < i < grid.size - 1:
            res = optimize.minimize_scalar(lambda x: score(math.exp(x)),
                                           bounds=(math.log(grid[i - 1]), math.log(grid[i + 1])),
                                           method="bounded", options={"xatol": 1e-4})
            lr = float(math.exp(res.x)) if res.fun <= values[i] else float(grid[i])
        else:
            lr = float(grid[i])
        for hint in hints:
            if 0 < hint <= lr_cap and score(hint) < score(lr):
                lr = float(hint)
        return self.speed(lr, target_loss=target_loss, initial_error=initial_error)

"""The stability report: will this run diverge, how fast does it converge, where are the limits.

:func:`analyze_stability` turns an :class:`~sdde.model.async_sgd.AsyncSGDModel` into a
:class:`StabilityReport`: a certified verdict per Hessian mode (argument-principle count,
cross-checked against the threshold ``κ*``), the rightmost root and what it means in
wall-clock time, the largest stable learning rate and worker count, the worker count that
converges fastest, the stationary variance and loss floor, the time to a target loss, and
the discrete-time model's prediction where the continuous model is known to be coarse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from sdde._invariants import check
from sdde._numerics import ComplexArray, FloatArray, brentq, finite_or_none
from sdde._progress import ProgressCallback
from sdde.delays import GeometricSum
from sdde.model._contract import TARGET_MAX, TARGET_MIN, check_gains, check_value
from sdde.model.async_sgd import AsyncSGDModel
from sdde.simulator._curves import first_crossing
from sdde.stability import discrete
from sdde.stability.almost_sure import (
    almost_sure_threshold,
    closed_form_threshold,
    gaussian_tail_index,
    lyapunov_curve,
    tabulated_threshold,
)
from sdde.stability.mean_field import critical_kappa
from sdde.stability.modes import ModeResult as ModeResult  # re-exported
from sdde.stability.modes import ModeTable, solve_modes
from sdde.stability.roots import (
    characteristic_roots,
    dominant_decay_rate,
    single_blas_thread,
)
from sdde.stability.thresholds import (
    DivergenceThresholds,
    Regime,
    divergence_thresholds,
    mean_field_thresholds,
)

#: Most modes whose time to target comes from the SDDE's exact moments (beyond, from each
#: mode's rightmost root and stationary variance).
MAX_SOLVED_MODES = 24
#: Most modes a report's JSON lists one by one (spread over the spectrum, both ends in).
MAX_LISTED_MODES = 1000
#: Largest number of workers searched for the stability and speed limits.
MAX_WORKERS = 4096
#: Below this many workers, or above this per-update gain ``η h_max``, the continuous
#: model is known to be coarse and the discrete-time prediction is reported beside it
#: (docs/validation.md: below 16 workers the SDDE's threshold, speed and time to target
#: are off by 5-45 % against the exact simulator; from 16, by a few per cent).
FEW_WORKERS = 16
LARGE_STEP = 0.1
#: Relative disagreement of the two models' thresholds or decay rates that is flagged.
DISAGREEMENT = 0.1
#: Up to this many workers the discrete check uses the exact renewal staleness law
#: (where it has a closed form; about 0.1 s at 64 workers), else the Poisson law.
EXACT_STALENESS_WORKERS = 64


@dataclass(frozen=True)
class DiscreteCheck:
    """The discrete-time model's prediction (time counted in applied updates)."""

    critical_lr: float
    stable: bool | None
    spectral_radius: float
    decay_rate: float
    staleness: str = "poisson"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"critical_lr": finite_or_none(self.critical_lr), "stable": self.stable,
                "spectral_radius": self.spectral_radius,
                "decay_rate": finite_or_none(self.decay_rate), "staleness": self.staleness}


@dataclass(frozen=True)
class GroupLimit:
    """The worker-count limits of one group of a mixed cluster, the other groups fixed.

    Attributes
    ----------
    delay : str
        The group's round-time law.
    workers : int
        Workers the group has now.
    max_stable : int or None
        Largest count of this group with which a run converges (0: none; None: not
        searched).
    fastest : int or None
        The count whose slowest mode decays fastest at this learning rate, stability
        respected (None: unknown).
    fastest_rate : float
        That decay rate per time unit.
    """

    delay: str
    workers: int
    max_stable: int | None
    fastest: int | None
    fastest_rate: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"delay": self.delay, "workers": self.workers, "max_stable": self.max_stable,
                "fastest": self.fastest, "fastest_rate": finite_or_none(self.fastest_rate)}


@dataclass(frozen=True)
class StabilityReport:
    """Everything :func:`analyze_stability` found; :meth:`summary` prints it."""

    model: AsyncSGDModel
    kappa_star: float
    thresholds: DivergenceThresholds
    modes: ModeTable
    stable: bool | None
    max_stable_lr: float
    max_stable_workers: int | None
    optimal_workers: int | None
    optimal_decay_rate: float
    decay_rate: float
    heavy_tailed: bool
    loss_floor: float
    target_loss: float | None
    time_to_target: float | None
    discrete: DiscreteCheck | None
    warnings: tuple[str, ...] = field(default=())
    loss_tail_index: float | None = None
    group_limits: tuple[GroupLimit, ...] = ()
    discrete_note: str | None = None

    @property
    def regime(self) -> Regime:
        """The stiffest mode's regime: converges, heavy-tailed, or diverges."""
        return self.thresholds.regime(float(self.model.kappas[-1]))

    @property
    def margin(self) -> float:
        """``κ_as / κ_max``: the factor by which the learning rate can grow before a run
        of the server diverges."""
        return self.thresholds.almost_sure.kappa / float(self.model.kappas[-1])

    @property
    def max_stable_curvature(self) -> float:
        """``κ_as / (η n)``: the largest Hessian eigenvalue this setting tolerates."""
        return self.thresholds.almost_sure.kappa / (self.model.lr * self.model.n_workers)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: non-finite numbers become None, and the keys whose None means
        "unbounded" (+∞) are listed under ``unbounded``."""
        values = {"critical_kappa": self.kappa_star, "margin": self.margin,
                  "max_stable_lr": self.max_stable_lr,
                  "max_stable_curvature": self.max_stable_curvature,
                  "time_to_target": math.nan if self.time_to_target is None
                  else self.time_to_target}
        return {
            "model": self.model.to_dict(), "kernel": self.model.kernel.to_dict(),
            "converges": self.stable, "regime": self.regime,
            "thresholds": self.thresholds.to_dict(
                1.0 / (self.model.n_workers * self.model.spectrum.h_max)),
            "critical_kappa": finite_or_none(self.kappa_star),
            "kappa_max": float(self.model.kappas[-1]),
            "margin": finite_or_none(self.margin),
            "max_stable_curvature": finite_or_none(self.max_stable_curvature),
            "unbounded": [k for k, v in values.items() if v == math.inf],
            "max_stable_lr": finite_or_none(self.max_stable_lr),
            "max_stable_workers": self.max_stable_workers,
            "optimal_workers": self.optimal_workers,
            "optimal_decay_rate": finite_or_none(self.optimal_decay_rate),
            "decay_rate": finite_or_none(self.decay_rate), "heavy_tailed": self.heavy_tailed,
            "loss_floor": finite_or_none(self.loss_floor),
            "loss_tail_index": None if self.loss_tail_index is None
            else finite_or_none(self.loss_tail_index),
            "target_loss": self.target_loss,
            "time_to_target": None if self.time_to_target is None
            else finite_or_none(self.time_to_target),
            "discrete": None if self.discrete is None else self.discrete.to_dict(),
            "group_limits": [g.to_dict() for g in self.group_limits],
            "modes": [self.modes[i].to_dict() for i in self.modes.listed(MAX_LISTED_MODES)],
            "modes_listed": f"{min(len(self.modes), MAX_LISTED_MODES)} of {len(self.modes)}",
            "mode_solver": self.modes.grid, "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """Human-readable table."""
        m = self.model
        table = self.modes
        worst = table[int(np.argmax(table.kappa))]
        finite = np.flatnonzero(np.isfinite(table.decay_rate))
        slow = table[int(finite[np.argmin(table.decay_rate[finite])])] if finite.size else None
        verdict = {True: "converges", False: "DIVERGES",
                   None: "at the divergence threshold (within its interval)"}
        certified = (f"{int(np.sum(np.maximum(table.unstable_roots, 0)))} roots in the right "
                     "half-plane over all modes, by argument-principle count")
        if self.stable and math.isfinite(self.margin):
            margin = (f"; the learning rate can grow {self.margin:.3g}× before a run "
                      "diverges")
        elif self.stable:
            margin = "; no learning rate makes a run diverge"
        elif self.stable is False:
            margin = f"; lower the learning rate {1 / self.margin:.3g}× to converge"
        else:
            margin = ""
        if self.stable and self.regime == "heavy-tailed":
            margin += (" (runs converge, but E θ² grows: the loss is heavy-tailed, "
                       "infinite variance)")
        th = self.thresholds
        per_kappa = 1.0 / (m.n_workers * m.spectrum.h_max)
        rows = [
            ("verdict", f"{verdict[self.stable]}{margin}"),
            ("largest gain κ = η·n·h", f"{worst.kappa:.6g}"),
            ("divergence thresholds", "gain κ           learning rate   how"),
            ("  a run diverges", _threshold_row(th.almost_sure, per_kappa) + "  ← verdict"),
            ("  E θ² grows", _threshold_row(th.mean_square, per_kappa)),
            ("  E θ grows (mean field κ*)", _threshold_row(th.mean, per_kappa)),
            ("mean-field certificate", certified),
            ("max stable learning rate", _num(self.max_stable_lr)),
            ("max stable curvature", f"{_num(self.max_stable_curvature)} (largest Hessian "
                                     f"eigenvalue this setting tolerates)"),
            ("max stable workers", _max_workers_text(self)),
        ]
        for g in self.group_limits:
            rows.append((f"  group {g.workers} × {g.delay}",
                         f"max stable {'—' if g.max_stable is None else _count(g.max_stable)}"
                         f" of this group (others fixed); fastest "
                         + ("unknown" if g.fastest is None else
                            f"{g.fastest} (decay rate {_num(g.fastest_rate)}/time)")))
        if self.optimal_workers is not None:
            rows.append(("fastest worker count", f"{self.optimal_workers} (slowest-mode decay "
                                                 f"rate {_num(self.optimal_decay_rate)}/time)"))
        if slow is not None:
            root = slow.root if slow.root is not None else complex("nan")
            label = "transient decay rate" if self.heavy_tailed else "decay rate"
            units = ("" if m.mean_delay == 1.0 else
                     f" (z in units of the mean delay E[X] = {_num(m.mean_delay)})")
            if slow.decay_rate > 0:
                which, rate = "slowest mode", (f"{label} {_num(slow.decay_rate)}/time, "
                                               f"e-fold time {_num(1 / slow.decay_rate)}")
            else:
                which = "fastest-growing mode"
                growth = -slow.decay_rate
                rate = (f"growth rate {_num(growth)}/time, the mean grows e-fold every "
                        f"{_num(1 / growth) if growth > 0 else '∞'}")
            rows.append((f"{which} (h = {slow.curvature:.6g})",
                         f"root {root.real:.6g}{root.imag:+.6g}i{units} → {rate}"
                         + ("" if not math.isfinite(slow.period)
                            else f", period {_num(slow.period)}")))
        rows.append(("noise floor (stationary loss)", _floor_text(self)))
        if self.target_loss is not None:
            rows.append((f"time to loss {self.target_loss:g}", _target_text(self)))
        if self.discrete is not None:
            d = self.discrete
            rows.append(("discrete-time model", f"{verdict[d.stable]}; max stable lr "
                         f"{_num(d.critical_lr)}"
                         + f"; decay rate {_num(d.decay_rate)}/time"))
        elif self.discrete_note is not None:
            rows.append(("discrete-time model", f"not computed: {self.discrete_note}"))
        width = max(len(k) for k, _ in rows)
        lines = [f"Stability · η = {m.lr:g} · {m.n_workers} workers · "
                 f"{m.spectrum.describe()}, h in [{m.spectrum.h_min:g}, "
                 f"{m.spectrum.h_max:g}] · {_kernel_text(m)}"]
        lines += [f"  {k:<{width}}  {v}" for k, v in rows]
        lines += [f"  note: {w}" for w in self.warnings]
        return "\n".join(lines)


def analyze_stability(
    model: AsyncSGDModel,
    *,
    target_loss: float | None = None,
    initial_error: float = 1.0,
    optimise_workers: bool = True,
    progress: ProgressCallback | None = None,
    rng: np.random.Generator | None = None,
    server: bool = True,
) -> StabilityReport:
    """Stability, speed and limits of asynchronous SGD for one model.

    Parameters
    ----------
    model : AsyncSGDModel
        Learning rate, cluster, Hessian spectrum, noise and step policy.
    target_loss : float, optional
        Report the time until the expected loss falls below this value.
    initial_error : float
        Initial distance from the optimum along every mode (``|x_i(0)|``); the initial
        loss is ``½ Σ w_i h_i initial_error²``.
    optimise_workers : bool
        Search the worker count that converges fastest (single worker group only).
    progress : callable, optional
        Called with the fraction done.
    rng : numpy.random.Generator, optional
        For the almost-sure threshold where no closed form or table applies, and the tail
        index (default: a fixed seed; the thresholds are then cached per cluster).
    server : bool
        Whether the model stands for a server whose thresholds can be computed (the
        default). ``False`` for equivalent models (sparsified pushes): their verdict and
        limits are the mean field's.

    Returns
    -------
    StabilityReport

    Notes
    -----
    Time to target is the first crossing of ``E[loss](t) = ½ Σ w h (m² + v)`` from the
    SDDE's exact moments (:func:`sdde.solvers.moments.model_moments`). Beyond 24 modes, for
    heavy tails, or past 1000 mean delays it uses the rightmost root of each mode instead,
    ``E[loss](t) ≈ ½ Σ w h (x₀² e^{2 Re z₀ t} + v (1 − e^{2 Re z₀ t}))``, which also
    sets the horizon of the exact computation.

    Examples
    --------
    >>> from sdde import Cluster, HessianSpectrum, delays
    >>> from sdde.model.async_sgd import AsyncSGDModel
    >>> m = AsyncSGDModel(lr=0.01, spectrum=HessianSpectrum.parse("1"),
    ...                   cluster=Cluster(workers=32, delay=delays.Deterministic(value=1.0)))
    >>> r = analyze_stability(m, optimise_workers=False)
    >>> r.stable, round(r.kappa_star, 9)          # the mean field: κ* = π/2
    (True, 1.570796327)
    >>> round(r.max_stable_lr, 9)                 # the server: 2 n sin(π/(4n − 2)) / n
    0.049861383
    """
    if target_loss is not None:
        check_value("target loss", target_loss, low=TARGET_MIN, high=TARGET_MAX,
                    example="0.01")
    check_value("initial error", initial_error, zero_ok=True, example="1")
    check_gains(model.lr, model.n_workers, model.spectrum.eigenvalues)
    # small dense problems throughout: one BLAS thread (busy cores made threads wait)
    with single_blas_thread():
        return _analyze_stability(model, target_loss, initial_error, optimise_workers,
                                  progress, rng, server)


def _analyze_stability(model: AsyncSGDModel, target_loss: float | None,
                       initial_error: float, optimise_workers: bool,
                       progress: ProgressCallback | None, rng: np.random.Generator | None,
                       server: bool) -> StabilityReport:
    """:func:`analyze_stability` once its arguments are checked."""
    report_progress = progress or (lambda _f: None)
    kernel = model.kernel
    kappa_star = critical_kappa(kernel)
    # rounds that are geometric sums of real ones belong to an equivalent model (sparsified
    # pushes), never to a server: the mean field is all there is to say
    server = server and not any(isinstance(law, GeometricSum)
                                for law in model.cluster.round_laws)
    thresholds = divergence_thresholds(
        model, rng=rng, progress=lambda f: report_progress(0.2 * f)) if server else \
        mean_field_thresholds(model)
    report_progress(0.2)
    modes = solve_modes(model, thresholds, progress=lambda f: report_progress(0.2 + 0.2 * f))
    report_progress(0.4)
    stable = modes.verdict()
    h_max = model.spectrum.h_max
    max_lr = thresholds.almost_sure.kappa / (model.n_workers * h_max)
    max_workers = _max_stable_workers(model, server)
    report_progress(0.5)
    limits = tuple(group_limits(model)) if (optimise_workers and server
                                           and len(model.cluster.groups) > 1) else ()
    optimal, best_rate = (None, math.nan)
    if optimise_workers and len(model.cluster.groups) == 1 and max_workers:
        optimal, best_rate = _optimal_workers(model, max_workers)
    report_progress(0.9)
    finite_rates = modes.decay_rate[~np.isnan(modes.decay_rate)]
    decay = float(finite_rates.min()) if finite_rates.size else math.nan
    weights = mode_weights(model)
    loss_floor = 0.5 * float(np.sum(weights * model.curvatures * modes.variance))
    time_to_target = None
    if target_loss is not None:
        time_to_target = _time_to_target(model, modes, weights, initial_error, target_loss)
    discrete_check, discrete_note = _discrete_check(model)
    tail = _loss_tail_index(model, thresholds, rng) if np.any(
        modes.regime_is("heavy-tailed") & (model.noise_intensities > 0)) else None
    warnings = _warnings(model, modes, thresholds, discrete_check, kernel.heavy_tailed)
    if optimise_workers and len(model.cluster.groups) == 1 and max_workers and optimal is None:
        warnings.append("fastest worker count unknown: no characteristic root was found "
                        "beside the fastest worker count tried (the rightmost root lies "
                        "beyond the kernel's quadrature rule)")
    report = StabilityReport(
        model=model, kappa_star=kappa_star, thresholds=thresholds, modes=modes,
        stable=stable,
        max_stable_lr=max_lr, max_stable_workers=max_workers, optimal_workers=optimal,
        optimal_decay_rate=best_rate, decay_rate=decay, heavy_tailed=kernel.heavy_tailed,
        loss_floor=loss_floor, target_loss=target_loss, time_to_target=time_to_target,
        discrete=discrete_check, warnings=tuple(warnings), loss_tail_index=tail,
        group_limits=limits, discrete_note=discrete_note)
    check_report(report)
    report_progress(1.0)
    return report


#: Distance from the imaginary axis (relative to ``1 + |z|``) within which a root counts
#: as on it when its side is compared with the certified count.
AXIS_TOLERANCE = 1e-9


def check_report(report: StabilityReport) -> None:
    """Check that a report does not contradict itself.

    Parameters
    ----------
    report : StabilityReport
        As :func:`analyze_stability` builds it.

    Raises
    ------
    sdde._invariants.InvariantError
        When an invariant fails (a bug in sdde, never a property of the input):

        * each solved mode's rightmost root lies on the side of the imaginary axis its
          certified count says (``count > 0 ⇒ Re z₀ >= −tol`` and ``count = 0 ⇒
          Re z₀ <= tol``, ``tol`` = :data:`AXIS_TOLERANCE` ``(1 + |z₀|)``: within ``tol`` of
          the axis either count is consistent), a root exists when the count is positive,
          and its decay rate is ``−Re z₀ / E[X]`` (``>= 0`` iff the mean converges);
        * the report's decay rate is the slowest mode's, ``>= 0`` iff every mode's mean
          converges (when all counts are known);
        * gains, thresholds and the largest stable learning rate are positive, half-widths,
          variances, the loss floor, the time to target, periods and the discrete spectral
          radius are ``>= 0``, the acceptance probability ``φ(0)`` of a constant-step
          kernel lies in ``(0, 1]``;
        * the verdict agrees with the largest stable learning rate (converges iff
          ``lr < max_stable_lr``) and with the modes' own verdicts;
        * the fastest worker count lies between 1 and the largest stable count, and each
          group's limits between 0 and :data:`MAX_WORKERS`.
    """
    model = report.model
    scale = model.mean_delay
    table = report.modes if isinstance(report.modes, ModeTable) else ModeTable.from_results(
        report.modes)
    counts, z = table.unstable_roots, table.root
    found = ~np.isnan(z.real)

    def first(mask: np.ndarray) -> str:
        i = int(np.flatnonzero(mask)[0])
        return (f"mode {i} (h = {table.curvature[i]:.6g}, κ = {table.kappa[i]:.6g}): "
                f"{int(counts[i])} certified roots in Re z >= 0, rightmost root found "
                f"{complex(z[i])!r}, decay rate {table.decay_rate[i]!r}, variance "
                f"{table.variance[i]!r}")

    bad = ~((table.kappa > 0) & (table.headroom > 0))
    check(not np.any(bad), lambda: f"gain and headroom > 0: {first(bad)}")
    bad = (table.variance < 0) | (table.period <= 0) | (counts < -1)
    check(not np.any(bad), lambda: f"variance >= 0, period > 0, unstable root count >= 0: "
                                   f"{first(bad)}")
    bad = table.exact & ~found & (counts > 0)
    check(not np.any(bad), lambda: f"certified unstable roots but no root found: "
                                   f"{first(bad)}")
    with np.errstate(invalid="ignore"):
        bad = found & ~np.isclose(table.decay_rate, -z.real / scale, rtol=1e-12, atol=1e-300)
    check(not np.any(bad), lambda: f"decay rate is not −Re z₀ / E[X]: {first(bad)}")
    # solved modes only (interpolated ones follow them); within tol of the axis either
    # count is consistent with the root found
    tol = AXIS_TOLERANCE * (1.0 + np.abs(z))
    with np.errstate(invalid="ignore"):
        bad = table.exact & found & (counts >= 0) & (((counts > 0) & (z.real < -tol))
                                                    | ((counts == 0) & (z.real > tol)))
    check(not np.any(bad), lambda: f"the certified count disagrees with the side of the "
                                   f"rightmost root, {first(bad)}")
    rates = table.decay_rate[~np.isnan(table.decay_rate)]
    if rates.size:
        check(report.decay_rate == rates.min(),
              f"decay rate {report.decay_rate!r} is the slowest mode's {rates.min()!r}")
    if rates.size == len(table) and np.all(counts >= 0):
        converges = bool(np.all(counts == 0))
        tol_rate = AXIS_TOLERANCE * (1.0 + float(np.max(np.abs(z))))
        # within tol of the axis either verdict is consistent with the rate
        check((not converges or report.decay_rate >= -tol_rate / scale)
              and (converges or report.decay_rate <= tol_rate / scale),
              f"decay rate {report.decay_rate!r} but the mean field "
              f"{'converges' if converges else 'diverges'} (certified counts "
              f"{np.unique(counts).tolist()})")
    th = report.thresholds
    for name, t in (("mean", th.mean), ("mean-square", th.mean_square),
                    ("almost-sure", th.almost_sure)):
        check(t.kappa > 0 and t.half_width >= 0,
              f"{name} threshold > 0 with half-width >= 0, got {t.kappa!r} ± "
              f"{t.half_width!r}")
    check(report.kappa_star > 0, f"κ* > 0, got {report.kappa_star!r}")
    check(report.max_stable_lr > 0, f"max stable lr > 0, got {report.max_stable_lr!r}")
    expected = table.verdict()
    check(report.stable == expected,
          f"verdict {report.stable!r} but the modes' verdicts say {expected!r}")
    if report.stable is not None:
        below = model.lr < report.max_stable_lr * (1.0 + 1e-12)
        above = model.lr >= report.max_stable_lr * (1.0 - 1e-12)
        check(below if report.stable else above,
              f"verdict {'converges' if report.stable else 'diverges'} but lr = "
              f"{model.lr!r} and the max stable lr = {report.max_stable_lr!r}")
    check(not report.loss_floor < 0, f"loss floor >= 0, got {report.loss_floor!r}")
    check(report.time_to_target is None or report.time_to_target >= 0,
          f"time to target >= 0, got {report.time_to_target!r}")
    check(report.loss_tail_index is None or not report.loss_tail_index <= 0,
          f"loss tail index > 0, got {report.loss_tail_index!r}")
    if model.kernel.policy.is_constant:
        mass = model.kernel.mass
        check(0 < mass <= 1 + 1e-9, f"acceptance probability φ(0) in (0, 1], got {mass!r}")
    top = report.max_stable_workers
    check(top is None or 0 <= top <= MAX_WORKERS,
          f"max stable workers in 0..{MAX_WORKERS}, got {top!r}")
    if report.optimal_workers is not None:
        check(1 <= report.optimal_workers <= (MAX_WORKERS if top is None else top)
              and math.isfinite(report.optimal_decay_rate),
              f"fastest worker count in 1..{top} with a finite rate, got "
              f"{report.optimal_workers!r} ({report.optimal_decay_rate!r})")
    if report.discrete is not None:
        d = report.discrete
        check(d.spectral_radius >= 0 and d.critical_lr > 0,
              f"discrete spectral radius >= 0 and critical lr > 0, got "
              f"{d.spectral_radius!r}, {d.critical_lr!r}")
    for g in report.group_limits:
        check(g.max_stable is None or 0 <= g.max_stable <= MAX_WORKERS,
              f"group {g.delay}: max stable count in 0..{MAX_WORKERS}, got {g.max_stable!r}")
        check(g.fastest is None or (0 <= g.fastest <= (g.max_stable or 0)
                                    and math.isfinite(g.fastest_rate)),
              f"group {g.delay}: fastest count in 0..{g.max_stable} with a finite rate, "
              f"got {g.fastest!r} ({g.fastest_rate!r})")


def _loss_tail_index(model: AsyncSGDModel, thresholds: DivergenceThresholds,
                     rng: np.random.Generator | None) -> float:
    """Tail index of the stationary loss of the stiffest mode, between the mean-square and
    the almost-sure threshold: ``ξ/2`` with ``ξ = −2γ/σ²`` from the Lyapunov exponent and
    the variance rate of ``log |θ|`` at its gain (:func:`gaussian_tail_index`)."""
    policy = None if model.policy.is_constant else model.policy
    curve = lyapunov_curve(model.cluster, [float(model.kappas[-1])], policy=policy,
                           rounds=4000.0, rng=rng)
    gamma = float(curve.gamma[0])
    if not math.isfinite(gamma):  # −∞: a fresh push lands on θ* (a g = 1), no tail at all
        return math.inf if gamma < 0 else 0.0
    return 0.5 * gaussian_tail_index(gamma, float(curve.sigma2[0]))


def rightmost_roots(model: AsyncSGDModel, *, n_roots: int = 6,
                    max_modes: int = 6) -> list[tuple[float, ComplexArray]]:
    """The ``n_roots`` rightmost roots of up to ``max_modes`` modes (spread over the
    spectrum, the extremes included), as ``(h, roots)`` pairs, units of the mean delay."""
    kappas, h = model.kappas, model.curvatures
    spread = np.linspace(0, kappas.size - 1, min(max_modes, kappas.size))
    picks = sorted(set(np.rint(spread).astype(int).tolist()))
    return [(float(h[i]), characteristic_roots(float(kappas[i]), model.kernel, n=n_roots))
            for i in picks]


def mode_weights(model: AsyncSGDModel) -> FloatArray:
    """The spectrum's weights in :attr:`AsyncSGDModel.curvatures` (ascending) order."""
    w = np.asarray(model.spectrum.weights, dtype=np.float64)
    return np.asarray(w[model.spectrum.order], dtype=np.float64)


# --------------------------------------------------------------- worker limits
#: Relative precision of the almost-sure thresholds behind the worker-count search.
SEARCH_REL_TOL = 0.05
#: Above this many workers the search does not simulate: where neither a closed form nor
#: the table applies it takes the mean-field ``κ*(n)`` (the almost-sure threshold tends to
#: it as ``n`` grows; docs/validation.md), or for laws whose ``κ*`` is infinite it scales
#: the last estimate like ``√n`` (exponential-like rounds).
SIMULATED_WORKERS = 256


def worker_search_threshold(model: AsyncSGDModel, n: int) -> float:
    """``κ_as(n)`` of the model's cluster and policy with ``n`` workers, as the worker-count
    search uses it: closed form or table where they apply; else an estimate to
    :data:`SEARCH_REL_TOL` up to :data:`SIMULATED_WORKERS` workers, and beyond them the
    mean-field ``κ*(n)`` (or the last estimate scaled like ``√n`` when ``κ*`` is infinite)."""
    variant = model.with_workers(n)
    policy = None if variant.policy.is_constant else variant.policy
    cheap = (closed_form_threshold(variant.cluster, policy) is not None
             or tabulated_threshold(variant.cluster, policy) is not None)
    if cheap or n <= SIMULATED_WORKERS:
        return almost_sure_threshold(variant.cluster, policy, rel_tol=SEARCH_REL_TOL).kappa
    star = critical_kappa(variant.kernel)
    if math.isfinite(star):
        return star
    return worker_search_threshold(model, SIMULATED_WORKERS) * math.sqrt(n / SIMULATED_WORKERS)


def _stable_at(model: AsyncSGDModel, n: int) -> bool:
    """Whether a run with ``n`` workers converges: ``η n h_max < κ_as(n)``."""
    kappa_max = model.lr * n * model.spectrum.h_max
    return bool(kappa_max < worker_search_threshold(model, n))


def _max_stable_workers(model: AsyncSGDModel, server: bool = True) -> int | None:
    """Largest ``n`` with ``η n h_max < κ_as(n)`` (None for several worker groups).

    The almost-sure threshold depends on ``n`` (the staleness sequence's randomness
    shrinks as ``n`` grows), so the first unstable ``n`` is found by doubling, then
    bisection, from the closed forms, the table or cached estimates.
    """
    if len(model.cluster.groups) != 1:
        return None

    def stable(n: int) -> bool:
        if server:
            return _stable_at(model, n)
        variant = model.with_workers(n)
        return bool(variant.kappas[-1] < critical_kappa(variant.kernel))

    return _largest_true(stable, 1)


def _slowest_rate(model: AsyncSGDModel, n: int) -> float:
    """Decay rate (per time unit) of the slowest of the extreme modes at ``n`` workers."""
    if model.kernel_depends_on_workers:
        variant = model.with_workers(n)
        kernel, kappas, scale = variant.kernel, variant.kappas, variant.mean_delay
    else:  # same kernel (and its cached quadrature rule) for every n; κ scales with n
        kernel, scale = model.kernel, model.mean_delay
        kappas = model.kappas * (n / model.n_workers)
    rates = []
    for kappa in {float(kappas[0]), float(kappas[-1])}:  # one if h_min = h_max
        z = characteristic_roots(kappa, kernel, n=1)
        rates.append(-z[0].real / scale if z.size else math.nan)
    return min(rates)


def _optimal_workers(model: AsyncSGDModel, max_workers: int) -> tuple[int | None, float]:
    """Worker count maximising the slowest mode's decay rate, subject to stability.

    The slowest mode is taken among the two extreme curvatures (the decay rate of one
    mode is unimodal in ``κ``, so its minimum over a range of ``κ`` is at an end).
    Candidates: every ``n`` up to 64, else a geometric grid refined around its best.
    The rate is unimodal, so an unknown rate (no rightmost root found: ``tail:0.5``
    beyond about 28 workers, whose root lies left of where the quadrature rule is
    trustworthy) only matters beside the best candidate: then ``(None, nan)``.
    """
    top = min(max_workers, MAX_WORKERS)
    if top < 1:
        return None, math.nan
    if top <= 64:
        candidates = list(range(1, top + 1))
    else:
        candidates = sorted({round(v) for v in np.geomspace(1, top, 40)})
    rates = {n: _slowest_rate(model, n) for n in candidates}

    def score(n: int) -> tuple[float, int]:
        return (rates[n] if math.isfinite(rates[n]) else -math.inf, -n)

    best = max(rates, key=score)
    i = candidates.index(best)
    lo, hi = candidates[max(i - 1, 0)], candidates[min(i + 1, len(candidates) - 1)]
    if math.isnan(rates[lo]) or math.isnan(rates[hi]):
        return None, math.nan  # the rate beside the best is unknown: so is the optimum
    if top > 64:  # refine between the neighbours of the best grid point
        best_n = _integer_golden(lambda n: rates.setdefault(n, _slowest_rate(model, n)),
                                 lo, hi)
        best = max((best, best_n), key=score)
    return best, rates[best]


#: Counts of one group tried for its fastest count (all up to this, else a geometric grid).
GROUP_CANDIDATES = 12


def group_limits(model: AsyncSGDModel) -> list[GroupLimit]:
    """Per group of a mixed cluster, the others fixed: the largest stable count of the
    group (``η n h_max < κ_as``, the server's almost-sure threshold at
    :data:`SEARCH_REL_TOL`, by doubling and bisection up to :data:`MAX_WORKERS`) and the
    count whose slowest mode decays fastest at this learning rate (the rightmost root at
    the extreme curvatures, over all counts up to :data:`GROUP_CANDIDATES` or a
    geometric grid refined around its best)."""
    out = []
    h_max = model.spectrum.h_max
    for gi, group in enumerate(model.cluster.groups):
        others = model.n_workers - group.workers

        def variant(m: int, gi: int = gi) -> AsyncSGDModel:
            return model.with_group_workers(gi, m)

        def stable(m: int) -> bool:
            v = variant(m)
            policy = None if v.policy.is_constant else v.policy
            kappa_as = almost_sure_threshold(v.cluster, policy, rel_tol=SEARCH_REL_TOL).kappa
            return bool(model.lr * v.n_workers * h_max < kappa_as)

        top = _largest_true(stable, 0 if others > 0 else 1)
        fastest, rate = None, math.nan
        if top is not None and top >= (0 if others > 0 else 1):
            lo = 0 if others > 0 else 1
            if top - lo + 1 <= GROUP_CANDIDATES:
                candidates = list(range(lo, top + 1))
            else:
                candidates = sorted({lo, top, *np.geomspace(max(lo, 1), top,
                                                            GROUP_CANDIDATES).round()
                                     .astype(int).tolist()})
            rates = {m: _fast_slowest_rate(variant(m)) for m in candidates}
            best = max(rates, key=lambda m: (rates[m] if math.isfinite(rates[m])
                                             else -math.inf, -m))
            i = candidates.index(best)
            a, b = candidates[max(i - 1, 0)], candidates[min(i + 1, len(candidates) - 1)]
            if b - a > 2:
                def rate_at(m: int, rates: dict[int, float] = rates) -> float:
                    return rates.setdefault(m, _fast_slowest_rate(variant(m)))

                best_m = _integer_golden(rate_at, a, b)
                best = max((best, best_m), key=lambda m: rates[m])
            if math.isfinite(rates[best]):
                fastest, rate = best, rates[best]
        out.append(GroupLimit(delay=str(group.delay), workers=group.workers,
                              max_stable=top, fastest=fastest, fastest_rate=rate))
    return out


def _largest_true(pred: Any, lo: int) -> int | None:
    """Largest ``m`` in ``lo..MAX_WORKERS`` with ``pred(m)``, for a ``pred`` true up to some
    point (doubling, then bisection); ``lo − 1`` if ``pred(lo)`` fails (None for ``lo`` 0).
    """
    if not pred(lo):
        return max(lo - 1, 0) if lo > 0 else None
    a, b = lo, max(2 * lo, 1)
    while b <= MAX_WORKERS and pred(b):
        a, b = b, 2 * b
    if b > MAX_WORKERS:
        return MAX_WORKERS
    while b - a > 1:
        mid = (a + b) // 2
        a, b = (mid, b) if pred(mid) else (a, mid)
    return a


def _fast_slowest_rate(model: AsyncSGDModel) -> float:
    """:func:`_slowest_rate` of a model as it stands, by :func:`dominant_decay_rate`
    (rational roots for exponential/Erlang mixtures; the abscissa bound where every root
    lies left of it)."""
    kappas = model.kappas
    rates = [dominant_decay_rate(k, model.kernel)[0] / model.mean_delay
             for k in {float(kappas[0]), float(kappas[-1])}]
    return min(rates)


def _integer_golden(f: Any, lo: int, hi: int) -> int:
    """Maximiser of a unimodal function on the integers ``lo..hi``."""
    while hi - lo > 3:
        a = lo + (hi - lo) // 3
        b = hi - (hi - lo) // 3
        if f(a) < f(b):
            lo = a
        else:
            hi = b
    return max(range(lo, hi + 1), key=f)


# ---------------------------------------------------------------- loss in time
def loss_from_rates(t: float, rates: FloatArray, variances: FloatArray, weights: FloatArray,
                    curvatures: FloatArray, x0: float) -> float:
    """``½ Σ w h (x0² e^{−2ρt} + v (1 − e^{−2ρt}))``: the expected loss at time ``t`` from each
    mode's decay rate ``ρ`` (the rightmost root) and stationary variance ``v``."""
    decay = np.exp(-2.0 * rates * t)
    return float(0.5 * np.sum(weights * curvatures * (x0**2 * decay + variances * (1 - decay))))


def loss_curve(report: StabilityReport, t: FloatArray, x0: float) -> FloatArray:
    """The expected loss at times ``t`` from every mode's rightmost root and stationary
    variance (:func:`loss_from_rates`, weights included), for spectra of any size: the
    modes enter through ``a = ½ w h (x0² − v)`` and ``ρ``, in blocks of times so that a
    million modes never need a times × modes array. ``inf`` where a mode grows or has an
    infinite variance."""
    modes, h = report.modes, report.model.curvatures
    w = mode_weights(report.model)
    rates, v = modes.decay_rate, modes.variance
    times = np.asarray(t, dtype=np.float64)
    if not (np.all(np.isfinite(v)) and np.all(rates > 0)):
        return np.full(times.shape, math.inf)
    floor = 0.5 * float(np.sum(w * h * v))
    amplitude = 0.5 * w * h * (x0**2 - v)
    out = np.empty(times.shape)
    block = max(1, 4_000_000 // max(rates.size, 1))
    for start in range(0, times.size, block):
        chunk = times[start:start + block]
        out[start:start + block] = floor + np.exp(-2.0 * np.outer(chunk, rates)) @ amplitude
    return out


def time_below(rates: FloatArray, variances: FloatArray, weights: FloatArray,
               curvatures: FloatArray, x0: float, target: float) -> float:
    """First ``t`` at which :func:`loss_from_rates` is below ``target`` (``inf`` if never:
    a mode does not decay, or the noise floor is at or above the target)."""
    if not np.all(rates > 0) or not np.all(np.isfinite(rates)):
        return math.inf

    def approximate(t: float) -> float:
        return loss_from_rates(t, rates, variances, weights, curvatures, x0)

    if approximate(0.0) <= target:
        return 0.0
    floor = 0.5 * float(np.sum(weights * curvatures * variances))
    if floor >= target:
        return math.inf
    hi = 1.0 / float(rates.min())
    while approximate(hi) > target:
        hi *= 2.0
    return float(brentq(lambda t: approximate(t) - target, 0.0, hi,
                                 xtol=1e-12 * hi))


def _time_to_target(model: AsyncSGDModel, modes: ModeTable, weights: np.ndarray,
                    x0: float, target: float) -> float:
    """First time ``½ Σ w h (m² + v)`` is below ``target``.

    From the exact moments of the SDDE (:func:`sdde.solvers.moments.model_moments`) when there
    are at most :data:`MAX_SOLVED_MODES` modes and the crossing is within 1000 mean
    delays; otherwise (and for heavy tails) from the rightmost roots
    (:func:`time_below`), which is how the horizon is chosen in the first case too.
    """
    if not np.all(modes.regime_is("converges") & np.isfinite(modes.decay_rate)):
        return math.inf
    h = model.curvatures
    rates, variances = modes.decay_rate, modes.variance
    guess = time_below(rates, variances, weights, h, x0, target)
    if guess == 0.0 or math.isinf(guess):
        return guess
    if model.spectrum.n_modes > MAX_SOLVED_MODES or model.kernel.heavy_tailed:
        return guess
    from sdde.solvers.moments import MAX_MODEL_STEPS, model_moments  # numba: only for a target

    horizon = 2.0 * guess
    for _ in range(8):  # the exact curve crosses later than the approximation rarely
        if horizon > 0.01 * MAX_MODEL_STEPS * model.mean_delay:
            return guess  # slow dynamics (small κ): the dominant roots are accurate there
        moments = model_moments(model, horizon, x0=x0)
        loss = 0.5 * ((moments.mean**2 + moments.variance) @ (weights * h))
        crossing = first_crossing(moments.t, loss, target)
        if math.isfinite(crossing):
            return crossing
        horizon *= 2.0
    return math.inf


# -------------------------------------------------------------- discrete model
def _discrete_check(model: AsyncSGDModel) -> tuple[DiscreteCheck | None, str | None]:
    """The discrete-time prediction when the staleness support is small enough, else None
    and why."""
    exact = model.cluster.renewal_exact and model.n_workers <= EXACT_STALENESS_WORKERS
    method: Literal["poisson", "exact"] = "exact" if exact else "poisson"
    q = discrete.staleness_weights(model.staleness_weights(method))
    # The scan costs O(S²) and the roots O(S³) in the largest staleness S: staleness
    # values holding the last 1e-14 of the mass move the threshold and the roots by
    # about α·1e-14 and are left out.
    tail = np.cumsum(q[::-1])[::-1]
    q = q[: int(np.flatnonzero(tail > 1e-14 * tail[0])[-1]) + 1]
    if q.size > discrete.MAX_DEGREE:
        # hundreds of workers, or a heavy-tailed staleness law: the continuous model is the
        # accurate one there
        return None, (f"staleness reaches {q.size - 1} updates, and the recursion's "
                      f"polynomial is solved up to {discrete.MAX_DEGREE} (many workers or "
                      "a long-tailed staleness law: the continuous model answers alone)")
    alpha_star = discrete.discrete_critical_alpha(q)
    alpha = float(model.alphas[-1])
    count = discrete.discrete_unstable_count(alpha, q)
    # the decay rate from dense roots, cubic in the degree: the last 1e-7 of the mass is
    # left out (≈ α·1e-7 on the coefficients; the rate −λ log ρ moves by ~1e-5 relative
    # for ρ ≈ 0.98, and six digits are printed: the last may change)
    short = q[: int(np.flatnonzero(tail > 1e-7 * tail[0])[-1]) + 1]
    radius = max(discrete.discrete_spectral_radius(a, short) for a in
                 {float(model.alphas[0]), float(model.alphas[-1])})
    rate = -math.log(radius) * model.cluster.accepted_rate if radius > 0 else math.inf
    return DiscreteCheck(critical_lr=alpha_star / model.spectrum.h_max,
                         stable=None if count is None else count == 0,
                         spectral_radius=radius, decay_rate=rate, staleness=method), None


def _warnings(model: AsyncSGDModel, modes: ModeTable,
              thresholds: DivergenceThresholds, check: DiscreteCheck | None,
              heavy: bool) -> list[str]:
    out = []
    if heavy:
        out.append("heavy-tailed delays: the transform does not continue left of the "
                   "imaginary axis, so convergence is not exponential in the end; the "
                   "decay rate shown is that of the transient (law below its 99.9% "
                   "quantile), after which the error decays like the delay law's tail")
    kappa_star = thresholds.mean.kappa
    if math.isinf(kappa_star):
        out.append("the mean-field SDDE never diverges for this delay law (its kernel is "
                   "completely monotone), but a run of the server does: the verdict uses "
                   "the almost-sure threshold")
    counted = modes.unstable_roots >= 0
    crossing = int(np.count_nonzero(counted & ((modes.unstable_roots == 0)
                                               != (modes.kappa < kappa_star))))
    if crossing:
        out.append(f"the certified root count and the threshold scan disagree for "
                   f"{crossing} mode(s); the count is authoritative")
    noisy = model.noise_intensities > 0
    if np.any(modes.regime_is("heavy-tailed")):
        out.append("above the mean-square threshold E θ² grows: a run converges, but "
                   + ("the stationary loss has infinite variance (its noise floor is ∞) "
                      if np.any(noisy) else "the expected loss diverges ")
                   + "and the time to a target of the expected loss is ∞")
    if check is not None:
        # the verdict and limits come from the server's own thresholds; what stays coarse
        # in the continuous model with few workers or large steps is its speed
        coarse = model.n_workers < FEW_WORKERS or float(model.alphas[-1]) > LARGE_STEP
        finite = modes.decay_rate[np.isfinite(modes.decay_rate)]
        rate = float(finite.min()) if finite.size else math.nan
        differs = (math.isfinite(rate) and math.isfinite(check.decay_rate) and rate > 0
                   and abs(check.decay_rate / rate - 1) > DISAGREEMENT)
        if check.stable and (coarse or differs):
            if model.n_workers < FEW_WORKERS:
                why = (f"{model.n_workers} workers: below {FEW_WORKERS} its speed is off by "
                       f"up to 45 %, docs/validation.md")
            elif float(model.alphas[-1]) > LARGE_STEP:
                why = f"η·h_max = {float(model.alphas[-1]):.3g}"
            else:
                why = "the two models' decay rates differ by more than 10 %"
            out.append(f"the continuous model's decay rate is coarse here ({why}); the "
                       f"discrete-time model (updates counted one by one) predicts "
                       f"{_num(check.decay_rate)}/time")
    return out


def _floor_text(report: StabilityReport) -> str:
    """The noise floor, or why there is none."""
    noisy = bool(np.any(report.model.noise_intensities > 0))
    if report.stable is False:
        return "— (a run diverges)"
    if not noisy:
        return "0 (no gradient noise)"
    if math.isinf(report.loss_floor) and report.regime == "heavy-tailed":
        tail = report.loss_tail_index
        index = "" if tail is None or not math.isfinite(tail) else (
            f"; P(loss > x) ~ x^-{tail:.2g}" + (", infinite mean" if tail <= 1 else ""))
        return f"∞: heavy-tailed loss, infinite variance (above E θ²'s threshold{index})"
    return _num(report.loss_floor)


def _target_text(report: StabilityReport) -> str:
    """The time to the target loss, or why it is never reached."""
    t = report.time_to_target if report.time_to_target is not None else math.inf
    if math.isfinite(t):
        return _num(t)
    if report.stable is False:
        return "— (a run diverges)"
    if report.regime == "heavy-tailed":
        return "∞ (E θ² grows: the expected loss diverges although runs converge)"
    if report.target_loss is not None and report.loss_floor >= report.target_loss:
        return f"∞ (the noise floor {_num(report.loss_floor)} is above the target)"
    return "∞"


def _kernel_text(model: AsyncSGDModel) -> str:
    """The kernel as the report names it: the law (one group) or the groups' mix."""
    extra = model.kernel.describe_options()
    if len(model.cluster.groups) == 1:
        return f"rounds {model.delay_law}{extra}"
    return f"rounds of {len(model.cluster.groups)} groups, mixed by arrival rate{extra}"


def _max_workers_text(report: StabilityReport) -> str:
    """The largest stable worker count, or why there is none."""
    if report.max_stable_workers is not None:
        return _count(report.max_stable_workers)
    if len(report.model.cluster.groups) > 1:
        return "— (several worker groups: see each group's row)"
    return "— (not searched)"


def _threshold_row(threshold: Any, lr_per_kappa: float) -> str:
    """``κ ± hw   lr   method`` for one threshold of the report's table."""
    kappa = _num(threshold.kappa)
    if threshold.half_width > 0 and math.isfinite(threshold.kappa):
        kappa = f"{threshold.kappa:.4g} ± {threshold.half_width:.2g}"
    return f"{kappa:<16} {_num(threshold.kappa * lr_per_kappa):<15} {threshold.method}"


def _num(v: float) -> str:
    return f"{v:.6g}" if math.isfinite(v) else ("∞" if v > 0 else "—")


def _count(n: int) -> str:
    return f"{n}" if n < MAX_WORKERS else f">= {MAX_WORKERS}"

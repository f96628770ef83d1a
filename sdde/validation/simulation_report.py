"""The reference simulation of one model, summarised beside the model's predictions.

``sdde-analyze --simulate`` runs the exact simulator (:mod:`sdde.simulator.server`) on the
model's quadratic loss (one coordinate per Hessian eigenvalue, the model's gradient noise,
step policy and threshold) and reports what it saw next to what the SDDE predicts:
arrival rate, staleness, the decay rate of the slowest mode's mean, each mode's
stationary variance, and the loss curve (the SDDE's expected loss from
:func:`sdde.exact_moments`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sdde._numerics import FloatArray, finite_or_none
from sdde._progress import ProgressCallback
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.spectrum import HessianSpectrum
from sdde.simulator._curves import FIT_METHODS, decay_fit, first_crossing, loss_on_grid, on_grid
from sdde.simulator.objectives import QuadraticObjective
from sdde.simulator.server import run, simulate
from sdde.solvers.moments import MAX_MODEL_STEPS, model_moments

if TYPE_CHECKING:
    from sdde.stability.report import StabilityReport

#: Points of the loss curves in the report.
CURVE_POINTS = 200
#: The curves are computed this many times finer; crossings are read there.
_FINE = 20
#: Records per replica (the loss and θ are recorded every ``updates / RECORDS`` updates).
RECORDS = 4000
#: A mode's stationary variance is measured over the run's second half if the SDDE's
#: transient there is below this fraction (``e^{−2 r t}`` at the half-way time).
TRANSIENT_LEFT = 1e-3
#: Figures below this fraction of their scale (the initial loss) are round-off: "≈ 0".
ROUNDOFF = 1e-12
#: When both late losses are round-off, the table shows the time to this fraction of the
#: initial loss instead.
LOSS_DROP = 1e-6
#: How the predicted rate was found when the SDDE's curve could not be fitted.
ROOT_METHOD = ("rightmost root −Re z₀/E[X] (the run outlasts the exact moments' "
               "horizon of {horizon:g} time units)")


@dataclass(frozen=True, kw_only=True)
class SimulationReport:
    """What the exact simulator saw, with the SDDE's prediction beside each figure.

    Attributes
    ----------
    replicas, updates : int
        Independent runs and updates per run.
    diverged_fraction : float
        Share of replicas that left the bound.
    diverged_at : float
        Earliest divergence time (inf if none).
    arrival_rate, predicted_arrival_rate : float
        Gradients per time unit: observed, and ``Σ n_g / E[X_g]``.
    staleness_mean, staleness_p99 : float
        Observed staleness (all replicas), and ``predicted_staleness_mean``/``_p99`` from
        the Poisson approximation.
    decay_rate, predicted_decay_rate : float
        Decay rate of the slowest mode's mean over replicas (a noise-free run of that
        mode alone) and of the SDDE's mean of that mode over the same time, both fitted
        the same way (:func:`sdde.simulator._curves.decay_fit`): where the mean falls from
        e^-2 to e^-6; on the peaks of the envelope of an oscillating mean; over the
        run's second half for a slow mode that does not fall to e^-2. When the run
        outlasts the exact moments' horizon the prediction is the rightmost root's
        ``−Re z₀ / E[X]`` (the asymptotic rate). NaN if a curve cannot be fitted.
    decay_method, predicted_decay_method : str
        How each rate was found (a sentence; empty if not fitted).
    stationary_variance, predicted_variance : ndarray
        Per mode (ascending curvature): time average of ``θ²`` over the second half of
        the run (NaN where the transient has not died out by then) and the SDDE's.
    t, loss, predicted_loss : ndarray
        The loss curves: mean over replicas of the simulated loss, and the SDDE's
        expected loss ``½ Σ h (m² + v)`` (both summed over all coordinates, without the
        spectrum's weights: the simulated objective has one coordinate per eigenvalue).
    target_loss, time_to_target, predicted_time_to_target : float or None
        First time each loss curve is below the target (inf if not within the run).
    time_to_drop, predicted_time_to_drop : float
        Time after which each loss curve stays below :data:`LOSS_DROP` times its start
        (an oscillating mean's loss dips to zero earlier; inf if it ends above; NaN
        without curves): shown instead of the late loss when both late losses are
        round-off (below :data:`ROUNDOFF` of the start).
    notes : tuple of str
        Figures that are unreliable or infinite, and why (heavy-tailed round times).
    """

    replicas: int
    updates: int
    diverged_fraction: float
    diverged_at: float
    arrival_rate: float
    predicted_arrival_rate: float
    staleness_mean: float
    staleness_p99: float
    predicted_staleness_mean: float
    predicted_staleness_p99: float
    decay_rate: float
    predicted_decay_rate: float
    stationary_variance: FloatArray
    predicted_variance: FloatArray
    t: FloatArray
    loss: FloatArray
    predicted_loss: FloatArray
    target_loss: float | None
    time_to_target: float | None
    predicted_time_to_target: float | None
    decay_method: str = ""
    predicted_decay_method: str = ""
    time_to_drop: float = math.nan
    predicted_time_to_drop: float = math.nan
    notes: tuple[str, ...] = ()

    @property
    def diverged(self) -> bool:
        """Whether any replica diverged."""
        return self.diverged_fraction > 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (non-finite numbers become None)."""
        def listed(values: FloatArray) -> list[float | None]:
            return [finite_or_none(float(v)) for v in values]

        def maybe(value: float | None) -> float | None:
            return None if value is None else finite_or_none(value)

        return {
            "replicas": self.replicas, "updates": self.updates, "diverged": self.diverged,
            "diverged_fraction": self.diverged_fraction,
            "diverged_at": finite_or_none(self.diverged_at),
            "arrival_rate": self.arrival_rate,
            "predicted_arrival_rate": self.predicted_arrival_rate,
            "staleness_mean": self.staleness_mean, "staleness_p99": self.staleness_p99,
            "predicted_staleness_mean": self.predicted_staleness_mean,
            "predicted_staleness_p99": self.predicted_staleness_p99,
            "decay_rate": finite_or_none(self.decay_rate),
            "predicted_decay_rate": finite_or_none(self.predicted_decay_rate),
            "decay_method": self.decay_method,
            "predicted_decay_method": self.predicted_decay_method,
            "stationary_variance": listed(self.stationary_variance),
            "predicted_stationary_variance": listed(self.predicted_variance),
            "late_loss": _late(self.loss), "predicted_late_loss": _late(self.predicted_loss),
            "target_loss": self.target_loss,
            "time_to_target": maybe(self.time_to_target),
            "predicted_time_to_target": maybe(self.predicted_time_to_target),
            "loss_drop": LOSS_DROP, "time_to_drop": finite_or_none(self.time_to_drop),
            "predicted_time_to_drop": finite_or_none(self.predicted_time_to_drop),
            "notes": list(self.notes),
            "loss_curve": {"t": listed(self.t), "simulated": listed(self.loss),
                           "predicted": listed(self.predicted_loss)},
        }

    def summary(self) -> str:
        """Model and simulation side by side."""
        scale = float(self.predicted_loss[0]) if self.predicted_loss.size else math.nan

        def num(v: float | None, mark: str = "") -> str:
            if v is None or math.isnan(v):
                return "—"
            if math.isinf(v):
                return "∞"
            return ("≈ 0" if 0 < abs(v) < ROUNDOFF * scale else f"{v:.4g}") + mark

        heavy = bool(self.notes)
        rows = [("arrival rate (per time unit)", num(self.predicted_arrival_rate),
                 num(self.arrival_rate)),
                ("staleness mean", num(self.predicted_staleness_mean),
                 num(self.staleness_mean, " †" if heavy else "")),
                ("staleness p99", num(self.predicted_staleness_p99),
                 num(self.staleness_p99)),
                ("decay rate, slowest mode", num(self.predicted_decay_rate),
                 num(self.decay_rate, " †" if heavy else "")),
                ("stationary variance, slowest mode", num(float(self.predicted_variance[0])),
                 num(float(self.stationary_variance[0])))]
        late, predicted_late = _late(self.loss), _late(self.predicted_loss)
        if all(v is not None and abs(v) < ROUNDOFF * scale for v in (late, predicted_late)):
            rows.append((f"time to loss {LOSS_DROP:g} × initial, for good",
                         num(self.predicted_time_to_drop), num(self.time_to_drop)))
        else:
            rows.append(("loss, mean over the run's second half", num(predicted_late),
                         num(late)))
        if self.target_loss is not None:
            rows.append((f"time to loss {self.target_loss:g}",
                         num(self.predicted_time_to_target), num(self.time_to_target)))
        width = max(len(r[0]) for r in rows)
        lines = [f"Simulation · {self.replicas} replicas × {self.updates} updates "
                 f"(exact event-driven server)",
                 f"  {'':<{width}}  {'SDDE':>10}  {'simulated':>10}"]
        lines += [f"  {a:<{width}}  {b:>10}  {c:>10}" for a, b, c in rows]
        lines += _method_lines(self.predicted_decay_method, self.decay_method)
        lines += [f"  † {note}" for note in self.notes]
        if self.diverged:
            lines.append(f"  DIVERGED in {self.diverged_fraction:.0%} of the replicas "
                         f"(first at t = {self.diverged_at:.4g})")
        return "\n".join(lines)


def simulate_report(model: AsyncSGDModel, *, updates: int, replicas: int,
                    rng: np.random.Generator, initial_error: float = 1.0,
                    target_loss: float | None = None,
                    stability: StabilityReport | None = None,
                    progress: ProgressCallback | None = None) -> SimulationReport:
    """Simulate ``model`` and summarise the runs beside the SDDE's predictions.

    Parameters
    ----------
    model : AsyncSGDModel
    updates, replicas : int
        Updates per run and independent runs.
    rng : numpy.random.Generator
    initial_error : float
        Starting parameter along every mode (every worker holds it at ``t = 0``).
    target_loss : float, optional
        Report when each loss curve first falls below it.
    stability : StabilityReport, optional
        The model's :func:`sdde.analyze_stability` report, for the per-mode decay rates
        and stationary variances (computed here when not given).
    progress : callable, optional
        Called with the fraction done.

    Returns
    -------
    SimulationReport
    """
    from sdde.stability.report import analyze_stability

    report = progress or (lambda _f: None)
    record_every = max(1, updates // RECORDS)
    result = simulate(model, n_updates=updates, rng=rng, replicas=replicas,
                      theta0=initial_error, record_every=record_every, record_theta=True)
    report(0.6)
    finished = [r for r, status in enumerate(result.status) if status == "finished"]
    stale = result.observed_staleness()
    poisson = model.cluster.staleness("poisson")
    if stability is None:
        stability = analyze_stability(model, optimise_workers=False)
    rates = np.array([m.decay_rate for m in stability.modes])
    predicted_var = np.array([m.variance for m in stability.modes])
    t = np.empty(0)
    loss = predicted = np.empty(0)
    decay = predicted_decay = math.nan
    method = predicted_method = ""
    variance = np.full(model.spectrum.n_modes, math.nan)
    if finished:
        end = min(float(np.nanmax(result.loss_times[r])) for r in finished)
        fine_t = np.linspace(0.0, end, _FINE * (CURVE_POINTS - 1) + 1)  # for crossings
        kept = _subset(result, finished)
        fine_loss = loss_on_grid(kept, fine_t).mean(axis=0)
        fine_predicted = predicted_loss(model, fine_t, initial_error)
        t, loss, predicted = fine_t[::_FINE], fine_loss[::_FINE], fine_predicted[::_FINE]
        variance = _stationary_variances(kept, end, rates)
    else:
        fine_t = fine_loss = fine_predicted = np.empty(0)
    if initial_error > 0:
        decay, method, predicted_decay, predicted_method = _decay_rates(
            model, float(rates[0]), updates, replicas, rng, initial_error)
    report(1.0)
    drop = (_settling_time(fine_t, fine_loss, LOSS_DROP * float(fine_predicted[0]))
            if fine_t.size else math.nan)
    predicted_drop = (_settling_time(fine_t, fine_predicted,
                                     LOSS_DROP * float(fine_predicted[0]))
                      if fine_t.size else math.nan)
    crossing = (None if target_loss is None
                else first_crossing(fine_t, fine_loss, target_loss) if fine_t.size
                else math.inf)
    predicted_crossing = (None if target_loss is None
                          else first_crossing(fine_t, fine_predicted, target_loss)
                          if fine_t.size else math.inf)
    diverged_at = float(np.min(result.diverged_at))
    return SimulationReport(
        replicas=replicas, updates=updates,
        diverged_fraction=1.0 - len(finished) / replicas, diverged_at=diverged_at,
        arrival_rate=result.arrival_rate, predicted_arrival_rate=model.cluster.arrival_rate,
        staleness_mean=float(stale.mean()),
        staleness_p99=float(np.quantile(stale, 0.99, method="inverted_cdf")),
        predicted_staleness_mean=poisson.mean,
        predicted_staleness_p99=float(poisson.quantile(0.99)),
        decay_rate=decay, predicted_decay_rate=predicted_decay, decay_method=method,
        predicted_decay_method=predicted_method,
        stationary_variance=variance, predicted_variance=predicted_var, t=t, loss=loss,
        predicted_loss=predicted, target_loss=target_loss, time_to_target=crossing,
        predicted_time_to_target=predicted_crossing, time_to_drop=drop,
        predicted_time_to_drop=predicted_drop,
        notes=heavy_tail_notes(model, float(stale.mean())))


def _decay_rates(model: AsyncSGDModel, root_rate: float, updates: int, replicas: int,
                 rng: np.random.Generator, x0: float) -> tuple[float, str, float, str]:
    """Decay rate of the slowest mode's mean: simulated and predicted, fitted alike.

    Returns ``(simulated, its method, predicted, its method)``. The modes of a quadratic
    loss evolve independently under the same push schedule, so the slowest one is
    simulated by itself: another mode's divergence does not end its run, and without
    gradient noise a few replicas resolve its mean (the mean dynamics do not depend on
    additive noise). The run lasts until the rightmost root's rate ``root_rate`` brings
    the mean near ``e^-16`` (an oscillation's envelope is fitted down to ``e^-12``), at
    most ``updates``. The SDDE's mean of that mode (:func:`model_moments`) covers the same
    time; the fit method is chosen on it (:func:`decay_fit`) and applied to both curves.
    Past the exact moments' horizon the prediction is ``root_rate`` itself.
    """
    rate = model.cluster.accepted_rate
    if root_rate > 0:
        updates = min(updates, math.ceil(16.0 / root_rate * rate) + 10)
    slowest = QuadraticObjective(curvatures=model.curvatures[:1], noise=0.0)
    result = run(model.cluster, slowest, lr=model.lr, n_updates=updates, rng=rng,
                 policy=model.policy, replicas=replicas, theta0=x0, record_theta=True)
    finished = all(status == "finished" for status in result.status)
    end = (min(float(np.nanmax(row)) for row in result.loss_times) if finished
           else updates / rate)
    horizon = 0.01 * MAX_MODEL_STEPS * model.mean_delay
    predicted, predicted_method = root_rate, ROOT_METHOD.format(horizon=horizon)
    method = None
    if end <= horizon:
        one = replace(model, spectrum=HessianSpectrum.parse(repr(float(model.curvatures[0]))),
                      noise=0.0)
        moments = model_moments(one, end, x0=x0)
        predicted, method = decay_fit(moments.t, moments.mean[:, 0])
        predicted_method = FIT_METHODS[method]
    if not finished:
        return math.nan, "", predicted, predicted_method
    t = np.linspace(0.0, end, 4 * RECORDS)
    simulated, method = decay_fit(t, on_grid(result, t, mode=0).mean(axis=0), method)
    return (simulated, FIT_METHODS[method] if math.isfinite(simulated) else "", predicted,
            predicted_method if math.isfinite(predicted) else "")


def _method_lines(predicted: str, simulated: str) -> list[str]:
    """How the two decay rates were found: one line if alike."""
    if not predicted and not simulated:
        return []
    if predicted == simulated or not simulated:
        return [f"  decay rates: {predicted}"]
    return [f"  decay rate, SDDE: {predicted}", f"  decay rate, simulated: {simulated}"]


def heavy_tail_notes(model: AsyncSGDModel, staleness_mean: float) -> tuple[str, ...]:
    """Caveats for round-time laws of infinite variance (e.g. Pareto with shape ≤ 2).

    The staleness then has infinite variance too. Over ``T`` updates the counted
    gradients and the rounds still open at the end hold exactly ``T (n − 1)`` staleness,
    so the observed mean falls short of its exact value ``n − 1`` (a theorem for every
    law) by what the open rounds gathered, about ``(n − 1) E[X²] / (2 E[X]²)`` each:
    unbounded here, so the shortfall shrinks slowly with ``T``. The mean decays like
    the law's tail at the end, not exponentially, so a fitted rate is the transient's.
    """
    heavy = [g.delay for g in model.cluster.groups if math.isinf(g.delay.var)]
    if not heavy:
        return ()
    laws = ", ".join(sorted({str(law) for law in heavy}))
    return (f"heavy-tailed round times ({laws}: infinite variance). The staleness has "
            f"infinite variance too, and its simulated mean ({staleness_mean:.4g}) counts "
            f"only the gradients that arrived: the rounds still open when the run stops "
            f"hold the rest, and they are long, so the mean falls short and converges "
            f"slowly with the run's length. The exact mean is n − 1 = "
            f"{model.n_workers - 1} for every law (a theorem); compare the p99 instead.",
            "the mean's decay turns from exponential to the law's power tail at the end: "
            "the fitted rates describe the transient.")


def _settling_time(t: FloatArray, curve: FloatArray, level: float) -> float:
    """Time after which ``curve`` stays at or below ``level`` (linear interpolation;
    inf if it ends above, NaN if it is not finite at the end)."""
    if not math.isfinite(float(curve[-1])):
        return math.nan
    above = np.flatnonzero(~(curve <= level))
    if above.size == 0:
        return float(t[0])
    i = int(above[-1])
    if i == curve.size - 1:
        return math.inf
    c0, c1 = curve[i], curve[i + 1]
    if not math.isfinite(float(c0)):
        return float(t[i + 1])
    return float(t[i] + (t[i + 1] - t[i]) * (c0 - level) / (c0 - c1))


def _late(curve: FloatArray) -> float | None:
    """Mean of a loss curve over its second half (None if empty or not finite)."""
    if not curve.size:
        return None
    return finite_or_none(float(np.mean(curve[curve.size // 2:])))


def _subset(result: Any, rows: list[int]) -> Any:
    """The finished replicas' records (the fields the curves need)."""
    return replace(result, loss_times=result.loss_times[rows], loss=result.loss[rows],
                   theta=None if result.theta is None else result.theta[rows])


def _stationary_variances(result: Any, end: float, rates: FloatArray) -> FloatArray:
    """Per mode: the time average of θ² over ``[end/2, end]`` (NaN if not yet stationary)."""
    half = end / 2.0
    t = np.linspace(half, end, 4 * CURVE_POINTS)
    out = np.full(rates.size, math.nan)
    for mode, rate in enumerate(rates):
        if rate > 0 and math.exp(-2.0 * rate * half) < TRANSIENT_LEFT:
            out[mode] = float((on_grid(result, t, mode=mode) ** 2).mean())
    return out


def predicted_loss(model: AsyncSGDModel, t: FloatArray, x0: float) -> FloatArray:
    """The SDDE's expected loss ``½ Σ h (m² + v)`` at times ``t`` (exact moments).

    Summed over the modes without the spectrum's weights, like the simulated objective;
    ``x0`` is the starting value of every mode. Computed up to
    :data:`sdde.solvers.moments.MAX_MODEL_STEPS` steps of 0.01 mean delays (1000 mean delays);
    later times hold the last value if the curve has settled by then (its last tenth
    within 1e-3), NaN otherwise.
    """
    cap = 0.01 * MAX_MODEL_STEPS * model.mean_delay
    end = min(max(float(t[-1]), 1e-9 * model.mean_delay), cap)
    moments = model_moments(model, end, x0=x0)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = 0.5 * ((moments.mean**2 + moments.variance) @ model.curvatures)
    out = np.interp(t, moments.t, expected)
    if float(t[-1]) > end:
        tail = expected[int(0.9 * expected.size):]
        with np.errstate(invalid="ignore"):  # inf - inf of a diverging curve: not settled
            settled = np.all(np.abs(tail - tail[-1]) <= 1e-3 * abs(tail[-1]))
        out[t > end] = tail[-1] if settled else math.nan
    return out

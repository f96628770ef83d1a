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
from sdde.simulator._curves import first_crossing, fitted_decay_rate, loss_on_grid, on_grid
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
        Decay rate of the slowest mode's mean over replicas, fitted where it falls from
        e^-2 to e^-6 (from a noise-free run of that mode alone; NaN if it does not fall
        that far), and the same fit on the SDDE's mean curve
        (:func:`sdde.validation.compare.sdde_fitted_decay_rate`; the asymptotic rate ``−Re z₀`` is
        in the stability report).
    stationary_variance, predicted_variance : ndarray
        Per mode (ascending curvature): time average of ``θ²`` over the second half of
        the run (NaN where the transient has not died out by then) and the SDDE's.
    t, loss, predicted_loss : ndarray
        The loss curves: mean over replicas of the simulated loss, and the SDDE's
        expected loss ``½ Σ h (m² + v)`` (both summed over all coordinates, without the
        spectrum's weights: the simulated objective has one coordinate per eigenvalue).
    target_loss, time_to_target, predicted_time_to_target : float or None
        First time each loss curve is below the target (inf if not within the run).
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
            "stationary_variance": listed(self.stationary_variance),
            "predicted_stationary_variance": listed(self.predicted_variance),
            "late_loss": _late(self.loss), "predicted_late_loss": _late(self.predicted_loss),
            "target_loss": self.target_loss,
            "time_to_target": maybe(self.time_to_target),
            "predicted_time_to_target": maybe(self.predicted_time_to_target),
            "loss_curve": {"t": listed(self.t), "simulated": listed(self.loss),
                           "predicted": listed(self.predicted_loss)},
        }

    def summary(self) -> str:
        """Model and simulation side by side."""
        def num(v: float | None) -> str:
            if v is None or math.isnan(v):
                return "—"
            return "∞" if math.isinf(v) else f"{v:.4g}"

        rows = [("arrival rate (per time unit)", num(self.predicted_arrival_rate),
                 num(self.arrival_rate)),
                ("staleness mean", num(self.predicted_staleness_mean),
                 num(self.staleness_mean)),
                ("staleness p99", num(self.predicted_staleness_p99),
                 num(self.staleness_p99)),
                ("decay rate, slowest mode (fit)", num(self.predicted_decay_rate),
                 num(self.decay_rate)),
                ("stationary variance, slowest mode", num(float(self.predicted_variance[0])),
                 num(float(self.stationary_variance[0]))),
                ("loss, mean over the run's second half", num(_late(self.predicted_loss)),
                 num(_late(self.loss)))]
        if self.target_loss is not None:
            rows.append((f"time to loss {self.target_loss:g}",
                         num(self.predicted_time_to_target), num(self.time_to_target)))
        width = max(len(r[0]) for r in rows)
        lines = [f"Simulation · {self.replicas} replicas × {self.updates} updates "
                 f"(exact event-driven server)",
                 f"  {'':<{width}}  {'SDDE':>10}  {'simulated':>10}"]
        lines += [f"  {a:<{width}}  {b:>10}  {c:>10}" for a, b, c in rows]
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
    from sdde.validation.compare import sdde_fitted_decay_rate

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
    decay = math.nan
    variance = np.full(model.spectrum.n_modes, math.nan)
    if finished:
        end = min(float(np.nanmax(result.loss_times[r])) for r in finished)
        fine_t = np.linspace(0.0, end, _FINE * (CURVE_POINTS - 1) + 1)  # for crossings
        kept = _subset(result, finished)
        fine_loss = loss_on_grid(kept, fine_t).mean(axis=0)
        fine_predicted = predicted_loss(model, fine_t, initial_error)
        t, loss, predicted = fine_t[::_FINE], fine_loss[::_FINE], fine_predicted[::_FINE]
        decay = _decay_rate(model, float(rates[0]), updates, replicas, rng, initial_error)
        variance = _stationary_variances(kept, end, rates)
    else:
        fine_t = fine_loss = fine_predicted = np.empty(0)
    report(1.0)
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
        decay_rate=decay, predicted_decay_rate=sdde_fitted_decay_rate(model, initial_error)
        if initial_error > 0 else math.nan,
        stationary_variance=variance, predicted_variance=predicted_var, t=t, loss=loss,
        predicted_loss=predicted, target_loss=target_loss, time_to_target=crossing,
        predicted_time_to_target=predicted_crossing)


def _decay_rate(model: AsyncSGDModel, predicted_rate: float, updates: int,
                replicas: int, rng: np.random.Generator, x0: float) -> float:
    """Decay rate of the slowest mode's mean over replicas, from a noise-free run of that
    mode alone.

    The modes of a quadratic loss evolve independently under the same push schedule, so
    the slowest one can be simulated by itself: another mode's divergence does not end
    its run, and without gradient noise a few replicas resolve its mean (the mean
    dynamics do not depend on additive noise).
    """
    if x0 <= 0:
        return math.nan
    rate = model.cluster.accepted_rate
    if predicted_rate > 0:  # run until the SDDE's mean is near e^-12: the fit needs e^-6
        updates = min(updates, math.ceil(12.0 / predicted_rate * rate) + 10)
    slowest = QuadraticObjective(curvatures=model.curvatures[:1], noise=0.0)
    result = run(model.cluster, slowest, lr=model.lr, n_updates=updates, rng=rng,
                 policy=model.policy, replicas=replicas, theta0=x0, record_theta=True)
    if any(status != "finished" for status in result.status):
        return math.nan
    end = min(float(np.nanmax(row)) for row in result.loss_times)
    t = np.linspace(0.0, end, 4 * RECORDS)
    return fitted_decay_rate(t, on_grid(result, t, mode=0).mean(axis=0))


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

"""sdde's predictions against real asynchronous training (:mod:`sdde.validation.real_training`).

Three comparisons, each feeding sdde only what a user could measure on their own job:

* **staleness law**: the histogram the :class:`~sdde.cluster.recorder.RoundRecorder`
  measured, against ``Cluster(workers=n, delay=<measured round law>).staleness(...)``
  (Poisson approximation and exact), by total variation;
* **largest stable learning rate**: a scan of real runs (geometric grid, then bisection;
  a few seeds per learning rate) against ``analyze_stability(...).max_stable_lr`` with the
  measured round law and the measured top Hessian eigenvalue;
* **time to a target loss**: the first wall-clock crossing (in mean rounds) against
  ``analyze_stability(..., target_loss=...)`` on the quadratic model at the optimum: the
  Hessian's eigenvalues there, the initial error projected on its eigenvectors (the
  weights) and the gradient-noise variance along each eigenvector from per-example
  gradients.

A cross-entropy loss has bounded gradients, so a run past the threshold rarely blows up:
the optimum stops being stable and the loss rises again from the lowest value it reached
and stays up (the iterate oscillates where the curvature is smaller). :func:`run_failed`
counts both as failures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdde._numerics import FloatArray
from sdde.cluster.cluster import Cluster
from sdde.cluster.staleness import StalenessLaw
from sdde.delays import Empirical
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.spectrum import HessianSpectrum
from sdde.stability.report import analyze_stability
from sdde.validation._jax_task import JaxTask
from sdde.validation.real_training import RealRunResult

#: A run failed if the mean loss over its last tenth exceeds this times the lowest loss it
#: reached (the optimum lost its stability), besides blowing up. Stable runs end within a
#: few per cent of their lowest loss (gradient noise); failed ones at 2-10 times it.
REBOUND_FACTOR = 1.5
#: Most modes handed to the time-to-target analysis: beyond it the spectrum is binned
#: (exact moments, whose cost grows with the modes, are used up to 24).
MAX_MODES = 12
#: Atoms of the round law in the time-to-target analysis: the measured law's quantiles at
#: the midpoints of this many equal-probability cells (the exact moments' kernel costs
#: grow with the atoms; the staleness and threshold comparisons use every measured round).
LAW_ATOMS = 128


def round_law(result: RealRunResult) -> Empirical:
    """The measured round durations, divided by their mean (the time unit: one mean round)."""
    return Empirical(samples=result.durations / result.mean_round, source="real run")


def coarse_law(law: Empirical, n_atoms: int = LAW_ATOMS) -> Empirical:
    """``law`` summarised by its quantiles at ``(j + ½)/n_atoms``, rescaled to its mean."""
    if law.samples.size <= n_atoms:
        return law
    q = np.quantile(law.samples, (np.arange(n_atoms) + 0.5) / n_atoms)
    return Empirical(samples=q * (law.mean / q.mean()), source=law.source)


# ------------------------------------------------------------------ staleness
@dataclass(frozen=True, kw_only=True)
class StalenessComparison:
    """Measured staleness against sdde's laws for the measured round times."""

    n_workers: int
    n_rounds: int
    measured_mean: float
    poisson_mean: float
    tv_poisson: float
    tv_exact: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dict(self.__dict__)


def measured_staleness_law(staleness: np.ndarray) -> StalenessLaw:
    """The empirical law of measured staleness values."""
    counts = np.bincount(np.asarray(staleness, dtype=np.int64))
    p = counts / counts.sum()
    k = np.arange(p.size)
    mean = float(p @ k)
    return StalenessLaw(probabilities=p, tail_mass=0.0, mean=mean,
                        var=float(p @ (k - mean) ** 2), method="measured",
                        n_samples=int(counts.sum()))


def compare_staleness(result: RealRunResult, *, rng: np.random.Generator,
                      n_gradients: int = 200_000) -> StalenessComparison:
    """Total variation between the measured staleness (after warm-up) and sdde's laws.

    ``Cluster(workers=n, delay=round_law(result))``: ``staleness("poisson")`` and
    ``staleness("exact")`` (simulated stationary renewal processes for an empirical law,
    ``n_gradients`` of them, drawn from ``rng``).
    """
    measured = measured_staleness_law(result.stationary_staleness())
    cluster = Cluster(workers=result.n_workers, delay=round_law(result))
    poisson = cluster.staleness("poisson")
    exact = cluster.staleness("exact", rng=rng,
                              n_gradients=max(n_gradients, 1000 * result.n_workers))
    return StalenessComparison(
        n_workers=result.n_workers, n_rounds=int(measured.n_samples or 0),
        measured_mean=measured.mean, poisson_mean=poisson.mean,
        tv_poisson=measured.total_variation(poisson), tv_exact=measured.total_variation(exact))


# --------------------------------------------------------- stability threshold
def run_failed(result: RealRunResult, *, rebound: float = REBOUND_FACTOR) -> bool:
    """Whether a run diverged (blew up) or lost the optimum's stability (see module notes)."""
    if result.diverged:
        return True
    losses = result.losses
    tail = losses[-max(1, losses.size // 10):]
    return bool(np.mean(tail) > rebound * np.min(losses))


def predicted_max_lr(law: Empirical, n_workers: int, h_max: float) -> float:
    """sdde's largest stable learning rate ``κ_as / (n h_max)`` for the measured round law."""
    model = AsyncSGDModel(lr=1e-3 / (n_workers * h_max), cluster=Cluster(workers=n_workers,
                                                                          delay=law),
                          spectrum=HessianSpectrum(eigenvalues=np.array([h_max])))
    return float(analyze_stability(model, optimise_workers=False).max_stable_lr)


@dataclass(frozen=True, kw_only=True)
class LrScan:
    """A measured stability boundary: the largest learning rate seen stable, the smallest
    seen failing, and every (lr, seed, failed) tried."""

    stable_lr: float
    failed_lr: float
    trials: tuple[tuple[float, int, bool], ...]

    @property
    def estimate(self) -> float:
        """Geometric midpoint of the bracket."""
        return math.sqrt(self.stable_lr * self.failed_lr)

    @property
    def half_width(self) -> float:
        """Relative half-width of the bracket, ``sqrt(failed / stable) − 1``."""
        return math.sqrt(self.failed_lr / self.stable_lr) - 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"stable_lr": self.stable_lr, "failed_lr": self.failed_lr,
                "estimate": self.estimate, "half_width": self.half_width,
                "trials": [list(t) for t in self.trials]}


def scan_stable_lr(run: Callable[[float, int], RealRunResult], *, start: float,
                   seeds: Sequence[int] = (0, 1), factor: float = 2.0,
                   bisections: int = 3, max_steps: int = 12) -> LrScan:
    """Bracket the learning rate at which real runs start failing.

    From ``start`` the learning rate is multiplied (or divided) by ``factor`` until a
    stable and a failing value are found, then the bracket is bisected in log scale
    ``bisections`` times. A learning rate fails when more than half of ``seeds`` fail
    (:func:`run_failed`); ``run(lr, seed)`` does one real run.
    """
    trials: list[tuple[float, int, bool]] = []

    def fails(lr: float) -> bool:
        outcomes = [run_failed(run(lr, s)) for s in seeds]
        trials.extend((lr, s, f) for s, f in zip(seeds, outcomes, strict=True))
        return 2 * sum(outcomes) > len(outcomes)

    lo, hi = (start, None) if not fails(start) else (None, start)
    for _ in range(max_steps):
        if lo is not None and hi is not None:
            break
        lr = (lo * factor) if lo is not None else (hi / factor)  # type: ignore[operator]
        if fails(lr):
            hi = lr
        else:
            lo = lr
    if lo is None or hi is None:
        raise ValueError(f"no stability boundary within a factor {factor ** max_steps:g} of "
                         f"lr = {start:g}: start nearer the predicted value")
    for _ in range(bisections):
        mid = math.sqrt(lo * hi)
        if fails(mid):
            hi = mid
        else:
            lo = mid
    return LrScan(stable_lr=lo, failed_lr=hi, trials=tuple(trials))


# -------------------------------------------------------------- time to target
def minimise(task: JaxTask, *, newton_steps: int = 2) -> FloatArray:
    """The minimiser of a convex task's full-data loss: L-BFGS from ``task.theta0``, then
    ``newton_steps`` Newton steps on the dense Hessian (gradient norm ~1e-13 after them)."""
    from scipy import optimize

    res = optimize.minimize(task.loss, task.theta0, jac=task.gradient, method="L-BFGS-B",
                            options={"gtol": 1e-9, "maxiter": 2000, "maxcor": 30})
    theta = np.asarray(res.x, dtype=np.float64)
    for _ in range(newton_steps):
        theta = theta - np.linalg.solve(task.hessian(theta), task.gradient(theta))
    return theta


@dataclass(frozen=True, kw_only=True)
class QuadraticFit:
    """The loss near its minimiser as sdde's quadratic model: per eigenvector of the Hessian
    at ``theta_star``, its curvature, the squared initial error along it and the
    minibatch gradient-noise variance along it."""

    theta_star: FloatArray
    loss_star: float
    curvatures: FloatArray
    weights: FloatArray
    noise: FloatArray

    def spectrum(self, max_modes: int = MAX_MODES) -> tuple[HessianSpectrum, FloatArray]:
        """The spectrum (weights = squared initial errors) and per-mode noise, binned into at
        most ``max_modes`` log-spaced curvature bins: in each bin the curvature is the
        weight-averaged one (so the initial loss ``½ Σ w h`` is kept exactly) and the noise
        is the curvature-weighted mean (so the noise floor ``≈ Σ η c / 4`` per mode is
        kept to first order)."""
        h, w, c = self.curvatures, self.weights, self.noise
        keep = h > 0
        h, w, c = h[keep], w[keep], c[keep]
        if h.size <= max_modes:
            return HessianSpectrum(eigenvalues=h, weights=w), c
        edges = np.geomspace(h.min(), h.max() * (1 + 1e-12), max_modes + 1)
        which = np.clip(np.searchsorted(edges, h, side="right") - 1, 0, max_modes - 1)
        hs, ws, cs = [], [], []
        for b in range(max_modes):
            sel = which == b
            if not np.any(sel) or w[sel].sum() <= 0:
                continue
            hs.append(float(w[sel] @ h[sel] / w[sel].sum()))
            ws.append(float(w[sel].sum()))
            cs.append(float(c[sel].mean()))
        return HessianSpectrum(eigenvalues=np.array(hs), weights=np.array(ws)), np.array(cs)


def quadratic_fit(task: JaxTask, theta_star: FloatArray,
                  theta0: FloatArray | None = None) -> QuadraticFit:
    """Dense Hessian at ``theta_star``, its eigenvectors ``u_i``, the weights
    ``(u_iᵀ(θ₀ − θ*))²`` and the noise ``Var_rows(u_iᵀ g_row) / B · (m − B)/(m − 1)`` of a
    minibatch of ``B`` rows drawn without replacement (per-example gradients at ``θ*``)."""
    start = task.theta0 if theta0 is None else np.asarray(theta0, dtype=np.float64)
    from sdde.curvature import gradient_noise

    values, vectors = np.linalg.eigh(task.hessian(theta_star))
    noise = np.array(gradient_noise(task.per_example_gradients(theta_star), vectors,
                                    batch_size=task.batch_size,
                                    population_size=task.n_samples).variances)
    noise[noise < 1e-30] = 0.0  # directions the data never move (constant pixels): rounding
    weights = (vectors.T @ (start - theta_star)) ** 2
    return QuadraticFit(theta_star=theta_star, loss_star=task.loss(theta_star),
                        curvatures=values, weights=weights, noise=noise)


def predicted_time_to_target(fit: QuadraticFit, *, lr: float, law: Empirical, n_workers: int,
                             target_excess: float) -> float:
    """sdde's time (in mean rounds: ``law`` has mean 1) until the expected excess loss of
    the quadratic model ``fit`` falls to ``target_excess``."""
    spectrum, noise = fit.spectrum()
    model = AsyncSGDModel(lr=lr, cluster=Cluster(workers=n_workers, delay=coarse_law(law)),
                          spectrum=spectrum, noise=tuple(noise))
    report = analyze_stability(model, target_loss=target_excess, initial_error=1.0,
                               optimise_workers=False)
    return math.inf if report.time_to_target is None else float(report.time_to_target)


def measured_time_to_target(result: RealRunResult, *, loss_star: float,
                            target_excess: float) -> float:
    """First wall-clock time, in mean rounds, at which ``loss − loss_star <= target_excess``."""
    return result.time_to_loss(loss_star + target_excess) / result.mean_round

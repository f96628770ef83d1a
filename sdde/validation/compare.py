"""The models against the reference simulator (THEORY.md §4), one quantity at a time.

Each function simulates one mode of a quadratic loss (curvature ``h = 1``) on a cluster
with the exact event-driven server (:mod:`sdde.simulator.server`) and sets the measurement, with a
95 % confidence interval, beside two predictions:

* the SDDE (:mod:`sdde.stability.mean_field`, :mod:`sdde.stability.roots`,
  :func:`sdde.exact_moments`), and
* the discrete-time model (:mod:`sdde.stability.discrete`: updates counted one by one, each with an
  independent staleness drawn from the cluster's *exact* staleness law).

The operating point is the dimensionless gain ``κ = η n h`` (learning rate ``κ / n``).
Derivations and caveats: ``theory/validation.md``; the full table:
:func:`sdde.validation.table.validation_table`.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sdde._numerics import FloatArray
from sdde.cluster.cluster import Cluster
from sdde.literature.sparse_sgd import sparsified_model
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.spectrum import HessianSpectrum
from sdde.simulator._curves import first_crossing as _first_crossing
from sdde.simulator._curves import fitted_decay_rate, on_grid
from sdde.simulator.objectives import QuadraticObjective
from sdde.simulator.server import SimulationResult, run
from sdde.simulator.sparsification import Sparsifier
from sdde.solvers.moments import model_moments
from sdde.stability import discrete
from sdde.stability.mean_field import critical_kappa, stationary_variance
from sdde.stability.roots import characteristic_roots

#: Halvings of the learning rate looking for a stable start before giving up.
_MAX_DOUBLINGS = 40
#: Step up from the stable start by this factor to the first unstable learning rate...
_GROWTH = 1.25
#: ... at most this many times (a factor 1.25^150 ≈ 3e14).
_MAX_STEPS_UP = 150
#: Confidence level of every interval.
CONFIDENCE = 0.95
#: Bootstrap resamples for intervals of curve functionals (decay rate, time to target).
_BOOTSTRAP = 400
#: Grid points per fitted mean trajectory.
_GRID = 2000
#: SDDE moments: step (mean delays) of the coarse grid; Richardson with half of it.
_SDDE_DT = 0.01


@dataclass(frozen=True)
class Comparison:
    """One quantity: the simulated value with its interval, and the two predictions.

    Attributes
    ----------
    quantity : str
        What is compared.
    simulated : float
        The simulator's estimate.
    half_width : float
        Half-width of its 95 % confidence interval.
    sdde, discrete : float
        The SDDE's and the discrete-time model's predictions (NaN where a model has none).
    """

    quantity: str
    simulated: float
    half_width: float
    sdde: float
    discrete: float = math.nan

    @property
    def sdde_error(self) -> float:
        """``(SDDE − simulated) / simulated``."""
        return _relative(self.sdde, self.simulated)

    @property
    def discrete_error(self) -> float:
        """``(discrete − simulated) / simulated``."""
        return _relative(self.discrete, self.simulated)

    @property
    def relative_half_width(self) -> float:
        """The interval's half-width relative to the simulated value."""
        return abs(self.half_width / self.simulated) if self.simulated else math.inf


def _relative(predicted: float, simulated: float) -> float:
    """``(predicted − simulated) / simulated``, with the infinite cases spelled out."""
    if math.isnan(predicted) or math.isnan(simulated) or simulated == 0:
        return math.nan
    if math.isinf(simulated):  # never reached in the simulation
        return math.nan if math.isinf(predicted) else -1.0
    if math.isinf(predicted):
        return math.inf if predicted > 0 else -math.inf
    return (predicted - simulated) / simulated


@dataclass(frozen=True)
class StalenessCheck:
    """The simulated staleness law against the Poisson approximation and the exact law.

    Attributes
    ----------
    mean : float
        Simulated mean staleness (``n − 1`` exactly in theory, any law).
    tv_poisson : float
        Total variation between the simulated law and the mixed-Poisson approximation
        (the staleness behind the SDDE).
    tv_exact : float
        Total variation to the exact renewal law (NaN when that law has no closed form).
    tv_noise : float
        The sampling noise of such distances: half the distance between the laws of two
        independent halves of the replicas (the halves' errors add in quadrature, and
        each has twice the full sample's variance).
    n_samples : int
        Gradients observed.
    """

    mean: float
    tv_poisson: float
    tv_exact: float
    tv_noise: float
    n_samples: int


# ------------------------------------------------------------------- helpers
def unit_model(cluster: Cluster, kappa: float, noise: float = 0.0) -> AsyncSGDModel:
    """One mode of curvature 1 on ``cluster`` at gain ``κ`` (learning rate ``κ / n``)."""
    if isinstance(kappa, bool | np.bool_) or not (isinstance(kappa, numbers.Real)
                                                  and 0 < kappa < math.inf):
        raise ValueError(f"kappa must be a finite number > 0, got {kappa!r}")
    kappa = float(kappa)
    return AsyncSGDModel(lr=kappa / cluster.n_workers, cluster=cluster,
                         spectrum=HessianSpectrum.parse("1"), noise=noise)


def exact_staleness_weights(cluster: Cluster, rng: np.random.Generator) -> FloatArray:
    """``q_s``: the exact staleness law (renewal, or simulated when it has no closed form)."""
    law = cluster.staleness("exact", rng=rng)
    return discrete.staleness_weights(np.asarray(law.probabilities, dtype=np.float64))


def _simulate(model: AsyncSGDModel, *, n_updates: int, replicas: int,
              rng: np.random.Generator, theta0: float, record_every: int = 1,
              record_theta: bool = True) -> SimulationResult:
    objective = QuadraticObjective(curvatures=np.array([1.0]),
                                   noise=np.array([float(np.asarray(model.noise))]))
    return run(model.cluster, objective, lr=model.lr, n_updates=n_updates, rng=rng,
               replicas=replicas, theta0=theta0, record_every=record_every,
               record_theta=record_theta)


def _t_half_width(values: FloatArray) -> float:
    """Half-width of the Student-t interval for the mean of independent ``values``."""
    if values.size < 2:
        return math.inf
    quantile = stats.t.ppf(0.5 + CONFIDENCE / 2, values.size - 1)
    return float(quantile * values.std(ddof=1) / math.sqrt(values.size))


def _bootstrap_half_width(rows: FloatArray, functional: Callable[[FloatArray], float],
                          rng: np.random.Generator) -> float:
    """Half the width of the percentile interval of ``functional(mean of resampled rows)``."""
    draws = []
    for _ in range(_BOOTSTRAP):
        pick = rng.integers(0, rows.shape[0], rows.shape[0])
        value = functional(rows[pick].mean(axis=0))
        if math.isfinite(value):
            draws.append(value)
    if len(draws) < _BOOTSTRAP // 2:
        return math.inf
    lo, hi = np.quantile(draws, [0.5 - CONFIDENCE / 2, 0.5 + CONFIDENCE / 2])
    return float(hi - lo) / 2.0


def _sdde_moments(model: AsyncSGDModel, t_final: float, x0: float
                  ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The slowest mode's SDDE mean and variance on a grid (:func:`model_moments`)."""
    moments = model_moments(model, t_final, x0=x0, max_dt=_SDDE_DT)
    return moments.t, moments.mean[:, 0], moments.variance[:, 0]


# ---------------------------------------------------------------- quantities
def compare_arrival_rate(cluster: Cluster, *, rng: np.random.Generator,
                         rounds: int = 1000, replicas: int = 8) -> Comparison:
    """Gradients per unit time against ``λ = Σ n_g / E[X_g]``.

    Each replica runs ``rounds · n`` updates from stationary phases and counts the
    events in the fixed window ``[0, T]``, ``T = 0.9 · rounds · n / λ``: for a stationary
    process ``E N(T) = λ T`` exactly, whereas events over the time of the last event
    would be biased by ``O(1 / events)``. The discrete-time model has no clock (NaN).
    """
    n_updates = rounds * cluster.n_workers
    window = 0.9 * n_updates / cluster.arrival_rate
    result = _simulate(unit_model(cluster, 0.1), n_updates=n_updates, replicas=replicas,
                       rng=rng, theta0=0.0, record_every=n_updates, record_theta=False)
    last = np.array([result.times[r, n - 1] for r, n in enumerate(result.n_events)])
    if np.any(last < window):
        raise RuntimeError(f"a replica ended before t = {window:g}: its arrival rate is "
                           f"more than 10 % below λ = {cluster.arrival_rate:g}")
    rates = np.sum(result.times <= window, axis=1) / window  # NaN padding compares False
    return Comparison("arrival rate", float(rates.mean()), _t_half_width(rates),
                      cluster.arrival_rate)


def compare_staleness(cluster: Cluster, *, rng: np.random.Generator, rounds: int = 1000,
                      replicas: int = 8) -> StalenessCheck:
    """The simulated staleness law against the Poisson and the exact (renewal) laws."""
    if replicas < 2:
        raise ValueError(f"replicas must be >= 2 (two halves measure the noise), got "
                         f"{replicas!r}")
    result = _simulate(unit_model(cluster, 0.1), n_updates=rounds * cluster.n_workers,
                       replicas=replicas, rng=rng, theta0=0.0,
                       record_every=rounds * cluster.n_workers, record_theta=False)
    per_replica = [result.staleness[r, :n] for r, n in enumerate(result.n_events)]
    pooled = np.concatenate(per_replica)
    half = replicas // 2
    first, second = np.concatenate(per_replica[:half]), np.concatenate(per_replica[half:])
    poisson = np.asarray(cluster.staleness("poisson").probabilities)
    exact = (np.asarray(cluster.staleness("exact").probabilities)
             if cluster.renewal_exact else None)
    return StalenessCheck(
        mean=float(pooled.mean()), tv_poisson=_tv(_pmf(pooled), poisson),
        tv_exact=math.nan if exact is None else _tv(_pmf(pooled), exact),
        tv_noise=0.5 * _tv(_pmf(first), _pmf(second)), n_samples=int(pooled.size))


def _pmf(samples: np.ndarray) -> FloatArray:
    return np.bincount(samples) / samples.size


def _tv(p: FloatArray, q: FloatArray) -> float:
    size = max(p.size, q.size)
    return 0.5 * float(np.abs(np.pad(p, (0, size - p.size))
                              - np.pad(q, (0, size - q.size))).sum())


def compare_decay_rate(cluster: Cluster, *, kappa: float, rng: np.random.Generator,
                       replicas: int = 64) -> Comparison:
    """Decay rate of the mean trajectory (per unit time), without gradient noise.

    All three curves start at ``θ = 1`` with every worker holding it, and each rate is
    fitted the same way (:func:`fitted_decay_rate`) on its own curve: the simulated mean
    over replicas, the SDDE's mean (:func:`sdde.exact_moments`) and the discrete
    recursion's mean (:func:`sdde.stability.discrete.discrete_moments`, update ``k`` at ``k / λ``).
    The interval bootstraps the replicas.
    """
    model = unit_model(cluster, kappa)
    horizon, t_sdde, m_sdde = _decay_horizon(model)
    grid = np.linspace(0.0, horizon, _GRID)
    n_updates = math.ceil(1.2 * horizon * cluster.arrival_rate) + 2 * cluster.n_workers
    result = _simulate(model, n_updates=n_updates, replicas=replicas, rng=rng, theta0=1.0)
    paths = on_grid(result, grid)
    simulated = fitted_decay_rate(grid, paths.mean(axis=0))
    half = _bootstrap_half_width(paths, lambda m: fitted_decay_rate(grid, m), rng)
    q = exact_staleness_weights(cluster, rng)
    steps = math.ceil(horizon * cluster.arrival_rate)
    mean_discrete, _ = discrete.discrete_moments(model.lr, q, steps)
    predicted_discrete = fitted_decay_rate(np.arange(steps + 1) / cluster.arrival_rate,
                                           mean_discrete)
    return Comparison("decay rate", simulated, half, fitted_decay_rate(t_sdde, m_sdde),
                      predicted_discrete)


def _decay_horizon(model: AsyncSGDModel, x0: float = 1.0) -> tuple[float, FloatArray, FloatArray]:
    """A time by which the SDDE mean is below ``e^-8``, and that mean on a grid."""
    horizon = 20.0 * model.mean_delay / model.kappas[0]
    while True:
        t, mean, _ = _sdde_moments(model, horizon, x0)
        if np.any(np.abs(mean) < math.exp(-8.0) * abs(x0)):
            return horizon, t, mean
        if horizon > 1e4 * model.mean_delay / model.kappas[0]:
            raise ValueError(f"the SDDE mean does not decay at kappa = "
                             f"{model.kappas[0]:g}: choose a stable gain")
        horizon *= 2.0


def compare_stationary_variance(cluster: Cluster, *, kappa: float,
                                rng: np.random.Generator, replicas: int = 32,
                                relaxation_times: float = 400.0,
                                batch: int = 8) -> Comparison:
    """Stationary variance of the parameter under unit gradient noise (``c = 1``).

    Each replica starts at the optimum, runs 5 relaxation times ``1 / rate`` (the SDDE's
    mean decay rate) unrecorded, then averages ``θ²`` over time for
    ``relaxation_times`` more (θ is piecewise constant between updates, so the time
    average is exact). The interval is Student's over replicas; replicas run ``batch``
    at a time to bound memory. Predictions: :func:`sdde.stationary_variance` (with
    ``σ² = η² n c``) and :func:`sdde.stability.discrete.discrete_stationary_variance` (``η² c``
    per update).
    """
    model = unit_model(cluster, kappa, noise=1.0)
    kernel = model.kernel
    sigma = math.sqrt(float(model.noise_intensities[0]))
    predicted = stationary_variance(kappa, kernel, sigma)
    rate = -float(characteristic_roots(kappa, kernel, n=1)[0].real) / model.mean_delay
    burn, span = 5.0 / rate, relaxation_times / rate
    n_updates = math.ceil((burn + span) * cluster.arrival_rate)
    estimates: list[float] = []
    for first in range(0, replicas, batch):
        count = min(batch, replicas - first)
        result = _simulate(model, n_updates=n_updates, replicas=count,
                           rng=np.random.default_rng(rng.integers(2**63)), theta0=0.0)
        estimates.extend(_time_average_square(result, burn))
    values = np.array(estimates)
    q = exact_staleness_weights(cluster, rng)
    return Comparison("stationary variance", float(values.mean()), _t_half_width(values),
                      predicted, discrete.discrete_stationary_variance(model.lr, q,
                                                                       model.lr**2))


def _time_average_square(result: SimulationResult, start: float) -> list[float]:
    """Per replica: the time average of θ² from ``start`` to the last update."""
    assert result.theta is not None
    out = []
    for r in range(result.loss.shape[0]):
        t, theta = result.loss_times[r], result.theta[r, :, 0]
        ok = np.isfinite(t)
        t, theta = t[ok], theta[ok]
        i = int(np.searchsorted(t, start, side="right")) - 1
        edges = np.concatenate(([start], t[i + 1:]))
        out.append(float(np.sum(theta[i:-1] ** 2 * np.diff(edges)) / (edges[-1] - start)))
    return out


def compare_time_to_target(cluster: Cluster, *, kappa: float, rng: np.random.Generator,
                           replicas: int = 64, floor: float = 1e-3,
                           target: float = 1e-2) -> Comparison:
    """Time until the expected loss ``½ E[θ²]`` first falls below ``target · loss(0)``.

    Starts at ``θ = 1`` (loss ½); the gradient-noise variance is set so that the SDDE's
    stationary loss is ``floor · loss(0)``. Each model's expected-loss curve (simulated:
    mean over replicas; SDDE: exact moments; discrete: its moments, update ``k`` at time
    ``k / λ``) is crossed by linear interpolation. The interval bootstraps the replicas.
    """
    if not 0 < floor < target < 1:
        raise ValueError(f"need 0 < floor < target < 1, got floor={floor!r}, "
                         f"target={target!r}")
    unit = unit_model(cluster, kappa, noise=1.0)
    sigma_unit = math.sqrt(float(unit.noise_intensities[0]))
    noise = floor / stationary_variance(kappa, unit.kernel, sigma_unit)  # ½v/½ = floor
    model = unit_model(cluster, kappa, noise=noise)
    horizon, _, _ = _decay_horizon(model)
    t_sdde, m_sdde, v_sdde = _sdde_moments(model, horizon, 1.0)
    level = target  # E θ² over θ(0)² = 1 is the loss ratio
    predicted = _first_crossing(t_sdde, m_sdde**2 + v_sdde, level)
    grid = np.linspace(0.0, horizon, _GRID)
    n_updates = math.ceil(1.2 * horizon * cluster.arrival_rate) + 2 * cluster.n_workers
    result = _simulate(model, n_updates=n_updates, replicas=replicas, rng=rng, theta0=1.0)
    squares = on_grid(result, grid) ** 2
    simulated = _first_crossing(grid, squares.mean(axis=0), level)
    half = _bootstrap_half_width(squares, lambda m: _first_crossing(grid, m, level), rng)
    q = exact_staleness_weights(cluster, rng)
    steps = math.ceil(horizon * cluster.arrival_rate)
    m_d, v_d = discrete.discrete_moments(model.lr, q, steps, noise=model.lr**2 * noise)
    predicted_discrete = _first_crossing(np.arange(steps + 1) / cluster.arrival_rate,
                                         m_d**2 + v_d, level)
    return Comparison("time to target", simulated, half, predicted, predicted_discrete)


# ----------------------------------------------------------------- threshold
@dataclass(frozen=True)
class MeasuredThreshold:
    """A divergence threshold measured by simulation, one bisection per replica.

    Attributes
    ----------
    replica_kappas : ndarray
        Each replica's threshold (the middle of its final bracket), as ``κ = η n h``.
    lr_stable, lr_unstable : float
        The largest learning rate every replica classified stable and the smallest every
        replica classified unstable (the union of the replicas' brackets).
    kappa_stable, kappa_unstable : float
        The same as ``κ``.
    replicas, n_updates : int
        Replicas (independent push schedules) and updates per run.
    rel_tol : float
        Relative width of each replica's final bracket.
    """

    replica_kappas: FloatArray
    lr_stable: float
    lr_unstable: float
    kappa_stable: float
    kappa_unstable: float
    replicas: int
    n_updates: int
    rel_tol: float

    @property
    def kappa(self) -> float:
        """Mean of the replicas' thresholds."""
        return float(np.mean(self.replica_kappas))

    @property
    def half_width(self) -> float:
        """95 % interval half-width: Student's over replicas plus half the bracket width."""
        spread = _t_half_width(self.replica_kappas) if self.replicas > 1 else 0.0
        return spread + 0.5 * self.rel_tol * float(np.max(self.replica_kappas))


def measured_threshold(model: AsyncSGDModel, *, rng: np.random.Generator,
                       n_updates: int = 20_000, replicas: int = 5,
                       rel_tol: float = 2e-3, sparsifier: Sparsifier | None = None,
                       dim: int = 1) -> MeasuredThreshold:
    """The learning rate at which the simulated server starts to diverge.

    Only the stiffest mode (largest curvature ``h``) matters. It is simulated without
    gradient noise from ``θ₀ = 1``: a run is *unstable* when the envelope of its loss
    (the maximum over a window) is larger over the last quarter of the run than over the
    second quarter, or it diverged. Each replica keeps one push schedule for all the
    learning rates it tries (common random numbers), so its verdict is a function of the
    learning rate alone. From half the SDDE's ``κ*`` (halved until stable) it steps up
    by factors of 1.25 to the first unstable rate, then bisects until its bracket is
    narrower than ``rel_tol``. Near the threshold the growth rate vanishes, so longer
    runs (``n_updates``) resolve it better.

    Parameters
    ----------
    model : AsyncSGDModel
        Its learning rate is ignored; the cluster, spectrum and step policy are used.
    rng : numpy.random.Generator
        Source of the replicas' push schedules.
    n_updates, replicas : int
        Length of each run and number of independent replicas.
    rel_tol : float
        Relative width of each replica's final bracket.
    sparsifier : Sparsifier, optional
        Sparsify every push (:mod:`sdde.simulator.sparsification`); the stiffest mode is then
        repeated over ``dim`` coordinates for the sparsifier to choose from, and the search
        starts from the sparsified model's threshold
        (:func:`sdde.literature.sparse_sgd.sparsified_model`).
    dim : int
        Coordinates of the simulated quadratic (all with the stiffest curvature).

    Returns
    -------
    MeasuredThreshold
    """
    if not 0 < rel_tol < 1:
        raise ValueError(f"rel_tol must lie in (0, 1), got {rel_tol!r}")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ValueError(f"replicas must be a whole number >= 1, got {replicas!r}")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a whole number >= 1, got {dim!r}")
    h = float(model.curvatures[-1])
    scale = model.n_workers * h  # κ = lr · scale
    guess = critical_kappa(model.kernel)
    if sparsifier is not None:
        guess = sparsified_model(model, sparsifier, dim).kappa_star()
    guess = guess if math.isfinite(guess) else 4.0
    objective = QuadraticObjective(curvatures=np.full(dim, h), noise=0.0)
    seeds = rng.integers(0, 2**63, size=replicas)

    def unstable(lr: float, seed: int) -> bool:
        res = run(model.cluster, objective, lr=lr, n_updates=n_updates,
                  rng=np.random.default_rng(seed), policy=model.policy, theta0=1.0,
                  record_every=max(1, n_updates // 400), sparsifier=sparsifier)
        if res.status[0] == "diverged":
            return True
        loss = res.loss[0]
        quarter = loss.size // 4
        return bool(loss[3 * quarter:].max() > loss[quarter:2 * quarter].max())

    def bisect(seed: int) -> tuple[float, float]:
        # a stable start, then up in small steps to the first unstable rate: a wide first
        # bracket could step over an unstable range (a noise-free run with α = η h = 1
        # exactly lands on the optimum after any fresh gradient and stays there)
        lo = 0.5 * guess / scale
        for _ in range(_MAX_DOUBLINGS):
            if not unstable(lo, seed):
                break
            lo /= 2.0
        hi = lo * _GROWTH
        for _ in range(_MAX_STEPS_UP):
            if unstable(hi, seed):
                break
            lo, hi = hi, hi * _GROWTH
        else:
            raise ValueError(f"no divergence found up to lr = {hi:g}: the server stays "
                             f"stable at every learning rate tried")
        while hi - lo > rel_tol * hi:
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if unstable(mid, seed) else (mid, hi)
        return lo, hi

    with ThreadPoolExecutor(max_workers=min(replicas, os.cpu_count() or 1)) as pool:
        brackets = np.array(list(pool.map(bisect, (int(s) for s in seeds))))
    lo, hi = float(brackets[:, 0].min()), float(brackets[:, 1].max())
    return MeasuredThreshold(replica_kappas=brackets.mean(axis=1) * scale, lr_stable=lo,
                             lr_unstable=hi, kappa_stable=lo * scale,
                             kappa_unstable=hi * scale, replicas=replicas,
                             n_updates=n_updates, rel_tol=rel_tol)


def compare_threshold(cluster: Cluster, *, rng: np.random.Generator,
                      n_updates: int = 20_000, replicas: int = 8,
                      rel_tol: float = 5e-3) -> Comparison:
    """The divergence threshold ``κ``: measured, the SDDE's ``κ*`` and the discrete ``n α*``.

    The discrete threshold is NaN when the staleness support is beyond
    :data:`sdde.stability.discrete.MAX_DEGREE`.
    """
    model = unit_model(cluster, 1.0)
    measured = measured_threshold(model, rng=rng, n_updates=n_updates, replicas=replicas,
                                  rel_tol=rel_tol)
    q = exact_staleness_weights(cluster, rng)
    predicted_discrete = (cluster.n_workers * discrete.discrete_critical_alpha(q)
                          if q.size <= discrete.MAX_DEGREE else math.nan)
    return Comparison("divergence threshold κ", measured.kappa, measured.half_width,
                      critical_kappa(model.kernel), predicted_discrete)

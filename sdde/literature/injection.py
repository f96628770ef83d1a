"""Delay injection (Dai et al.): SGD whose every gradient is uniformly stale, by design.

Staleness studies inject delay into sequential SGD instead of running a cluster: update
``t`` applies the gradient taken ``S_t`` updates earlier, ``S_t`` uniform on
``{0, …, K}`` and independent of everything else,

    θ_{t+1} = θ_t − η g(θ_{t − S_t}),        (θ_t = θ_0 for t <= 0).

Because the ``S_t`` are independent, the discrete-time model's mean recursion with the
uniform weights ``q_s = 1/(K + 1)`` is *exact* for the mean here (unlike a real
cluster, whose consecutive staleness values are dependent). The expected loss adds the
variance, which :func:`predicted_loss` takes from the additive gradient noise only (the
randomness of ``S_t`` itself adds a little more; the tests say how much).

Two tasks: a :class:`~sdde.simulator.objectives.QuadraticObjective` (its coordinates are the
modes), and any other :class:`~sdde.simulator.objectives.GradientOracle` with a ``hessian`` (e.g.
:class:`sdde.simulator.logistic.LogisticRegressionObjective`), predicted through
:func:`sdde.literature.linearization.linearize`: the Hessian at the minimiser, its eigenmodes and
the gradient noise projected on them make a quadratic whose excess loss is the prediction.

The continuous-time counterpart is the SDDE with :func:`injection_kernel`; its
divergence threshold :func:`injection_threshold` converges to the discrete one
(:func:`discrete_threshold`) as ``K`` grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray, finite_or_none
from sdde.delays import Deterministic, Mixture
from sdde.literature.linearization import LinearizedObjective
from sdde.model.kernels import DelayKernel
from sdde.simulator.objectives import GradientOracle, QuadraticObjective
from sdde.stability.discrete import discrete_critical_alpha, discrete_moments
from sdde.stability.mean_field import critical_kappa


def injected_weights(max_staleness: int) -> FloatArray:
    """``q_s = 1/(K + 1)`` for ``s = 0 … K``: the staleness law of delay injection."""
    if isinstance(max_staleness, bool) or not isinstance(max_staleness, int | np.integer) \
            or max_staleness < 0:
        raise ValueError(f"max_staleness must be a whole number >= 0, got {max_staleness!r}")
    return np.full(int(max_staleness) + 1, 1.0 / (int(max_staleness) + 1))


Task = QuadraticObjective | LinearizedObjective


def _quadratic_and_start(task: Task, theta0: npt.ArrayLike) -> tuple[QuadraticObjective,
                                                                      FloatArray]:
    """The quadratic and each mode's starting distance from the optimum."""
    if isinstance(task, LinearizedObjective):
        start = np.broadcast_to(np.asarray(theta0, dtype=np.float64), task.theta_star.shape)
        return task.quadratic, task.coordinates(start)
    if isinstance(task, QuadraticObjective):
        return task, np.broadcast_to(np.asarray(theta0, dtype=np.float64),
                                     task.curvatures.shape).copy()
    raise ValueError("expected a QuadraticObjective or a LinearizedObjective (see "
                     f"sdde.literature.linearization.linearize), got {type(task).__name__}")


# ------------------------------------------------------------------------------ simulation
@dataclass(frozen=True)
class InjectedRun:
    """Replicas of delay-injected SGD.

    Attributes
    ----------
    theta : ndarray, shape (replicas, n_updates + 1, d)
        Every iterate.
    loss : ndarray, shape (replicas, n_updates + 1)
        ``f(θ_t)`` (noise-free loss).
    """

    theta: FloatArray
    loss: FloatArray


def simulate_injected(objective: GradientOracle, *, lr: float, max_staleness: int,
                      n_updates: int, rng: np.random.Generator, replicas: int = 1,
                      theta0: npt.ArrayLike = 1.0) -> InjectedRun:
    """Run delay-injected SGD on any gradient oracle.

    A :class:`~sdde.simulator.objectives.QuadraticObjective` runs all replicas at once (vectorised);
    any other :class:`~sdde.simulator.objectives.GradientOracle` (e.g.
    :class:`sdde.simulator.logistic.LogisticRegressionObjective`) one gradient at a time.

    Parameters
    ----------
    objective : GradientOracle
        Quadratic (curvatures and gradient-noise variances) or any other oracle.
    lr : float
        Learning rate ``η``.
    max_staleness : int
        ``K``: each gradient is ``S ~ Uniform{0, …, K}`` updates old (``0``: plain SGD).
    n_updates : int
        Updates per replica.
    rng : numpy.random.Generator
    replicas : int
    theta0 : float or array_like, shape (d,)
        Starting point (and the history before it); a number sets every coordinate.

    Returns
    -------
    InjectedRun

    Examples
    --------
    >>> f = QuadraticObjective(curvatures=[1.0])
    >>> run = simulate_injected(f, lr=0.5, max_staleness=0, n_updates=3,
    ...                         rng=np.random.default_rng(0))
    >>> run.theta[0, :, 0].tolist()               # plain gradient descent: ×(1 − η h)
    [1.0, 0.5, 0.25, 0.125]
    """
    q = injected_weights(max_staleness)
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    for name, value in (("n_updates", n_updates), ("replicas", replicas)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if not isinstance(objective, GradientOracle):
        raise ValueError("objective must be a GradientOracle (dim, loss, stochastic_gradient), "
                         f"got {type(objective).__name__}")
    d = objective.dim
    start = np.asarray(theta0, dtype=np.float64)
    if start.shape not in ((), (1,), (d,)) or not np.all(np.isfinite(start)):
        raise ValueError(f"theta0 must be a finite number or {d} of them, got shape "
                         f"{start.shape}")
    theta = np.empty((replicas, n_updates + 1, d))
    theta[:, 0, :] = start
    if isinstance(objective, QuadraticObjective):
        h = objective.curvatures
        noise_sd = np.sqrt(np.asarray(objective.noise, dtype=np.float64))
        rows = np.arange(replicas)
        for t in range(n_updates):
            lag = rng.integers(0, q.size, size=replicas)
            pulled = theta[rows, np.maximum(t - lag, 0), :]
            grad = h * pulled + noise_sd * rng.standard_normal((replicas, d))
            theta[:, t + 1, :] = theta[:, t, :] - lr * grad
        loss = 0.5 * np.einsum("rtd,d->rt", theta * theta, h)
        return InjectedRun(theta=theta, loss=loss)
    # the same draws of the staleness as the quadratic path (an oracle that draws no
    # randomness of its own follows the same staleness sequence)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(n_updates):
            lag = rng.integers(0, q.size, size=replicas)
            for r in range(replicas):
                grad = objective.stochastic_gradient(theta[r, max(t - int(lag[r]), 0)], rng)
                theta[r, t + 1] = theta[r, t] - lr * grad
        loss = np.array([[objective.loss(p) for p in path] for path in theta])
    return InjectedRun(theta=theta, loss=loss)


# ------------------------------------------------------------------------------ prediction
def predicted_moments(objective: Task, *, lr: float, max_staleness: int,
                      n_updates: int, theta0: npt.ArrayLike = 1.0
                      ) -> tuple[FloatArray, FloatArray]:
    """Mean (exact) and additive-noise variance of every mode after ``0 … n`` updates,
    shape ``(n_updates + 1, d)`` each (:func:`sdde.stability.discrete.discrete_moments`).

    For a :class:`LinearizedObjective` the modes are its Hessian's eigenvectors and
    ``theta0`` is a point in parameter space."""
    q = injected_weights(max_staleness)
    quadratic, start = _quadratic_and_start(objective, theta0)
    pairs = [discrete_moments(lr * float(h), q, n_updates, x0=float(x0),
                              noise=lr * lr * float(c))
             for h, c, x0 in zip(quadratic.curvatures, np.asarray(quadratic.noise), start,
                                 strict=True)]
    return (np.stack([m for m, _ in pairs], axis=1), np.stack([v for _, v in pairs], axis=1))


def predicted_loss(objective: Task, *, lr: float, max_staleness: int,
                   n_updates: int, theta0: npt.ArrayLike = 1.0,
                   weights: npt.ArrayLike | None = None) -> FloatArray:
    """``E f(θ_t) − f* ≈ ½ Σ w h (m² + v)`` after ``0 … n_updates`` updates.

    ``weights`` (default 1) counts each mode's multiplicity, as in
    :class:`sdde.model.spectrum.HessianSpectrum`."""
    mean, var = predicted_moments(objective, lr=lr, max_staleness=max_staleness,
                                  n_updates=n_updates, theta0=theta0)
    quadratic, _ = _quadratic_and_start(objective, theta0)
    h = quadratic.curvatures if weights is None else (
        quadratic.curvatures * np.asarray(weights, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(0.5 * (mean * mean + var) @ h)


def iterations_to_target(loss: FloatArray, target: float) -> float:
    """First update index where ``loss`` is at or below ``target`` (``inf`` if never)."""
    below = np.flatnonzero(np.asarray(loss) <= target)
    return float(below[0]) if below.size else math.inf


def relative_iterations(objective: Task, *, lr: float, max_staleness: int,
                        target: float, n_updates: int, theta0: npt.ArrayLike = 1.0,
                        weights: npt.ArrayLike | None = None) -> float:
    """Predicted iterations to an (excess) loss ``target`` with staleness up to ``K``,
    over those with none (Dai et al.'s measure of the cost of staleness).

    ``objective`` is a :class:`~sdde.simulator.objectives.QuadraticObjective` or the
    :class:`LinearizedObjective` of any other task (:func:`linearize`); ``inf`` when the
    stale run never reaches the target within ``n_updates``.
    """
    fresh = iterations_to_target(predicted_loss(objective, lr=lr, max_staleness=0,
                                                n_updates=n_updates, theta0=theta0,
                                                weights=weights), target)
    if not math.isfinite(fresh) or fresh == 0:
        raise ValueError(f"plain SGD does not reach the target {target:g} within "
                         f"{n_updates} updates (or starts below it): raise n_updates or "
                         "the target")
    stale = iterations_to_target(predicted_loss(objective, lr=lr, max_staleness=max_staleness,
                                                n_updates=n_updates, theta0=theta0,
                                                weights=weights), target)
    return stale / fresh


@dataclass(frozen=True)
class Measured:
    """A simulated relative-iterations value and its bootstrap standard error."""

    value: float
    stderr: float


def simulated_relative_iterations(objective: Task, *, lr: float, max_staleness: int,
                                  target: float, n_updates: int, rng: np.random.Generator,
                                  replicas: int, theta0: npt.ArrayLike = 1.0,
                                  n_boot: int = 200,
                                  fresh: InjectedRun | None = None) -> Measured:
    """:func:`relative_iterations` measured by simulation: the first update where the
    replica-mean excess loss is at or below ``target``, with staleness up to ``K`` over
    with none. The standard error resamples the replicas of both runs (bootstrap).

    ``fresh`` reuses a ``K = 0`` run (of the same ``objective.objective`` or quadratic,
    learning rate and start) across several ``K``.
    """
    oracle = objective.objective if isinstance(objective, LinearizedObjective) else objective
    f_star = objective.f_star if isinstance(objective, LinearizedObjective) else 0.0
    start = np.asarray(theta0, dtype=np.float64)

    def excess(k: int) -> FloatArray:
        run = simulate_injected(oracle, lr=lr, max_staleness=k, n_updates=n_updates, rng=rng,
                                replicas=replicas, theta0=start)
        return run.loss - f_star

    base = excess(0) if fresh is None else fresh.loss - f_star
    stale = base if max_staleness == 0 else excess(max_staleness)

    def ratio(a: FloatArray, b: FloatArray) -> float:
        first = iterations_to_target(a.mean(axis=0), target)
        return iterations_to_target(b.mean(axis=0), target) / first if first > 0 else math.nan

    value = ratio(base, stale)
    picks = [ratio(base[rng.integers(0, base.shape[0], base.shape[0])],
                   stale[rng.integers(0, stale.shape[0], stale.shape[0])])
             for _ in range(n_boot)]
    finite = np.asarray(picks)[np.isfinite(picks)]
    spread = float(finite.std(ddof=1)) if finite.size > 1 else math.inf
    return Measured(value=value, stderr=spread)


# --------------------------------------------------------------------------- the SDDE kernel
def injection_kernel(max_staleness: int, *, offset: float = 0.5) -> DelayKernel:
    """The SDDE kernel of delay injection: updates at rate 1, the gradient ``S`` updates old.

    In continuous time one update per time unit makes ``S ~ Uniform{0, …, K}`` updates a
    delay of ``S`` time units; the kernel is the uniform mixture of point delays at
    ``s + offset``, ``s = 0 … K`` (a :class:`~sdde.delays.Mixture` of
    :class:`~sdde.delays.Deterministic` atoms; a single atom for ``K = 0``).

    ``offset``: a delay law is ``> 0``, so the fresh gradient ``s = 0`` cannot sit at 0.
    The default ``½`` is the midpoint rule: the discrete step ``x_{t+1} − x_t =
    −α x_{t−s}`` is ``dx/dt = −α x(t − s − ½)`` at the midpoint ``t + ½``, and with it the
    continuous threshold of a constant staleness ``τ``, ``π / (2τ + 1)``, matches the
    discrete ``2 sin(π / (2 (2τ + 1)))`` to second order. For the uniform law the
    relative gap of :func:`injection_threshold` to :func:`discrete_threshold` is then
    ``≈ π² / (24 (K + 1)²)`` (measured: 1.7e-2, 1.4e-3, 9.7e-5 at ``K`` = 4, 16, 64).
    The literal mapping (``offset → 0``) is off by ``O(1/K)`` (0.70, 0.14, 0.032). For
    large ``K`` the kernel tends to the uniform law on ``[0, K + 1]``, whose transform is
    ``(1 − e^{−z(K+1)}) / (z (K + 1))`` and whose threshold is ``κ* = π²/4`` in units of
    its mean ``(K + 1)/2``, i.e. ``η h < π² / (2 (K + 1))``.

    Parameters
    ----------
    max_staleness : int
        ``K >= 0``.
    offset : float
        ``> 0``; time units added to every delay (default ``0.5``).

    Returns
    -------
    DelayKernel
        In units of its mean delay ``K/2 + offset`` (the gain is ``κ = η h (K/2 + offset)``).

    Examples
    --------
    >>> k = injection_kernel(1)                       # atoms at ½ and 3/2, mean 1
    >>> bool(abs(complex(k.transform(1j)) - (np.exp(-0.5j) + np.exp(-1.5j)) / 2) < 1e-13)
    True
    """
    q = injected_weights(max_staleness)
    if not (isinstance(offset, int | float) and not isinstance(offset, bool)
            and 0 < offset < math.inf):
        raise ValueError(f"offset must be a finite number > 0, got {offset!r}")
    atoms = [Deterministic(value=s + float(offset)) for s in range(q.size)]
    if len(atoms) == 1:
        return DelayKernel(atoms[0])
    return DelayKernel(Mixture(components=tuple(atoms), weights=tuple(q.tolist())))


def injection_threshold(max_staleness: int, *, offset: float = 0.5) -> float:
    """The SDDE's critical ``η·h`` for delay injection: ``κ* / (K/2 + offset)``
    (:func:`sdde.stability.mean_field.critical_kappa` of :func:`injection_kernel`).

    Examples
    --------
    >>> round(injection_threshold(0), 12)             # point delay ½: κ* = π/2
    3.14159265359
    """
    kappa = critical_kappa(injection_kernel(max_staleness, offset=offset))
    return kappa / (max_staleness / 2 + offset)


def discrete_threshold(max_staleness: int) -> float:
    """The exact critical ``η·h`` of delay injection's mean:
    :func:`sdde.stability.discrete.discrete_critical_alpha` of :func:`injected_weights`.

    Examples
    --------
    >>> discrete_threshold(0)                          # plain gradient descent
    2.0
    """
    return discrete_critical_alpha(injected_weights(max_staleness))


def default_target(objective: Task, *, lr: float, n_updates: int,
                   theta0: npt.ArrayLike = 1.0, weights: npt.ArrayLike | None = None,
                   fraction: float = 0.05) -> float:
    """A target excess loss plain SGD reaches: ``fraction`` of the starting loss, or twice
    the loss plain SGD has after ``n_updates`` (its noise floor, if it settled) if higher.
    """
    loss = predicted_loss(objective, lr=lr, max_staleness=0, n_updates=n_updates,
                          theta0=theta0, weights=weights)
    target = max(fraction * float(loss[0]), 2.0 * float(loss[-1]))
    if not (math.isfinite(target) and target < float(loss[0])):
        kept = float(loss[-1]) / float(loss[0])
        if math.isfinite(kept) and kept < 1.0:  # it converges, just not far in n_updates
            raise ValueError(f"plain SGD at lr = {lr:g} still has {kept:.0%} of its starting "
                             f"loss after {n_updates} updates (n_updates), so no target "
                             "below the start can be chosen: give more updates or a target "
                             "loss")
        raise ValueError(f"plain SGD at lr = {lr:g} does not bring the loss below its start "
                         f"in {n_updates} updates (η·h_max at or beyond 2, or too much "
                         "noise): lower the learning rate or the noise")
    return target


@dataclass(frozen=True)
class InjectionReport:
    """Delay injection's cost and thresholds for one quadratic (``sdde-analyze --inject``).

    Attributes
    ----------
    max_staleness : int
        ``K``.
    lr : float
    target_loss : float
        The (excess) loss both runs are timed to.
    fresh_iterations : float
        Predicted updates plain SGD needs.
    stale_iterations : float
        Predicted updates with staleness uniform on ``0 … K`` (``inf``: not within the
        horizon).
    relative_iterations : float
        Their ratio.
    sdde_threshold, discrete_threshold : float
        Critical ``η·h``: :func:`injection_threshold`, :func:`discrete_threshold`
        (``nan`` for ``K`` beyond :data:`sdde.stability.discrete.MAX_DEGREE`).
    alpha_max : float
        ``η·h_max`` of the quadratic.
    """

    max_staleness: int
    lr: float
    target_loss: float
    fresh_iterations: float
    stale_iterations: float
    relative_iterations: float
    sdde_threshold: float
    discrete_threshold: float
    alpha_max: float

    @property
    def stable(self) -> bool:
        """``η·h_max`` below the exact discrete threshold (the SDDE's where that is not
        computed)."""
        threshold = (self.discrete_threshold if math.isfinite(self.discrete_threshold)
                     else self.sdde_threshold)
        return bool(self.alpha_max < threshold)

    def summary(self) -> str:
        """One line for the terminal."""
        k = self.max_staleness
        head = f"delay injection (staleness uniform on 0..{k}): "
        if not self.stable:
            cost = "DIVERGES"
        elif math.isfinite(self.relative_iterations):
            cost = (f"{self.relative_iterations:.3g}× the iterations of staleness-free SGD "
                    f"to reach the target loss {self.target_loss:.3g} "
                    f"({self.stale_iterations:.0f} vs {self.fresh_iterations:.0f})")
        else:
            cost = (f"never reaches the target loss {self.target_loss:.3g} "
                    f"(staleness-free SGD: {self.fresh_iterations:.0f} updates)")
        disc = ("not computed" if math.isnan(self.discrete_threshold)
                else f"< {self.discrete_threshold:.4g}")
        return (f"{head}{cost}; SDDE threshold η·h < {self.sdde_threshold:.4g}, discrete "
                f"{disc} (η·h_max = {self.alpha_max:.4g})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``null`` for infinite or unknown values)."""
        num = finite_or_none
        return {"max_staleness": self.max_staleness, "lr": self.lr,
                "target_loss": self.target_loss,
                "fresh_iterations": num(self.fresh_iterations),
                "stale_iterations": num(self.stale_iterations),
                "relative_iterations": num(self.relative_iterations),
                "sdde_threshold": num(self.sdde_threshold),
                "discrete_threshold": num(self.discrete_threshold),
                "alpha_max": self.alpha_max, "stable": self.stable}


def analyze_injection(objective: Task, *, lr: float, max_staleness: int, n_updates: int,
                      theta0: npt.ArrayLike = 1.0, weights: npt.ArrayLike | None = None,
                      target: float | None = None) -> InjectionReport:
    """Predicted cost of delay injection (:func:`relative_iterations`) and its thresholds.

    ``target`` defaults to :func:`default_target`. Raises ``ValueError`` when plain SGD
    does not reach the target within ``n_updates``.
    """
    from sdde.stability.discrete import MAX_DEGREE

    injected_weights(max_staleness)
    if target is None:
        target = default_target(objective, lr=lr, n_updates=n_updates, theta0=theta0,
                                weights=weights)
    ratio = relative_iterations(objective, lr=lr, max_staleness=max_staleness, target=target,
                                n_updates=n_updates, theta0=theta0, weights=weights)
    fresh = iterations_to_target(predicted_loss(objective, lr=lr, max_staleness=0,
                                                n_updates=n_updates, theta0=theta0,
                                                weights=weights), target)
    quadratic, _ = _quadratic_and_start(objective, theta0)
    report = InjectionReport(
        max_staleness=int(max_staleness), lr=float(lr), target_loss=float(target),
        fresh_iterations=fresh, stale_iterations=ratio * fresh, relative_iterations=ratio,
        sdde_threshold=injection_threshold(int(max_staleness)),
        discrete_threshold=(discrete_threshold(int(max_staleness))
                            if max_staleness < MAX_DEGREE else math.nan),
        alpha_max=float(lr * quadratic.curvatures.max()))
    if not report.stable:  # passing the target on the way out is not reaching it
        report = replace(report, stale_iterations=math.inf, relative_iterations=math.inf)
    return report

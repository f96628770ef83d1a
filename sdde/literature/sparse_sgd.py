"""The SDDE of sparsified asynchronous SGD: an equivalent plain model.

Derived in ``theory/derivations/sparsification.py``.

With ``q = k/d`` the share of coordinates a push carries, each sparsifier is, for the
SDDE's mean dynamics and additive noise, the plain model with other parameters:

* **random-k, no error feedback**: every coordinate of a push is applied with probability
  ``q``, independently of the optimisation. The mean step is ``q η``, the noise of one
  applied coordinate ``q c`` (plus ``q(1 − q) (h x)²``, the multiplicative part the
  additive-noise SDDE leaves out): the plain model with learning rate ``q η`` and noise
  ``c / q``. Sparsification just shrinks the steps: the largest stable learning rate
  grows by ``1/q``, the decay rate per unit time falls by ``q`` where ``κ`` is small.
* **random-k with error feedback**: nothing is lost; each coordinate of a gradient is
  sent, in full, at the end of round ``G ~ Geometric(q)`` of its worker, so its age is
  the geometric sum ``S = X_1 + … + X_G`` (:class:`~sdde.delays.GeometricSum`). The rate
  of gradients is unchanged and only the delay law changes: in units of its mean
  ``E[X]/q`` that is the plain model on rounds ``S`` with learning rate ``η/q`` and
  noise ``q c``. A fresh start has empty residuals, so only ``q`` of the constant
  history's gradient backlog is in flight at ``t = 0`` (``backlog = q``).
* **top-k** is data dependent and has no model of its own. Its speed and noise floor
  are those of random-k with the same ``k`` (measured: top-k reaches targets 1.5–2.5×
  sooner, so this is pessimistic). Its divergence threshold is not: without error
  feedback a growing coordinate is the largest and is always sent, so top-k diverges
  where unsparsified SGD does (measured: the same bracket, on the same push schedules),
  and :attr:`SparsifiedModel.stability` is the plain model; with error feedback it
  diverged at 0.65–0.99 of that.

The continuous model needs each push to move a coordinate by a small fraction of its
distance to the optimum: :attr:`SparsifiedModel.push_gain` ``= η h_max`` (``/q`` with
error feedback, whose pushes carry ``1/q`` gradients' worth) of 0.1 or less kept the
simulated thresholds within 6 % (13 % allowed in the tests) and the times to target
inside the model's bracket (docs/sparsification.md), as for plain asynchronous SGD (THEORY.md §4).

Step policies other than the constant one and staleness thresholds act on the staleness
of a push, not on the age of a piecemeal gradient, and shared links change the rounds
with ``n``: the model refuses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sdde._numerics import FloatArray, finite_or_none
from sdde.cluster.cluster import Cluster
from sdde.delays import GeometricSum
from sdde.model.async_sgd import AsyncSGDModel
from sdde.simulator.sparsification import Sparsifier
from sdde.stability.mean_field import critical_kappa

if TYPE_CHECKING:
    from sdde.stability.report import StabilityReport

__all__ = ["MIN_FEEDBACK_SHARE", "PUSH_GAIN_LIMIT", "SparsificationReport", "SparsifiedModel",
           "analyze_sparsified", "predicted_loss", "sparsified_model"]

#: Push gain above which the continuous model of sparsified SGD is rough.
PUSH_GAIN_LIMIT = 0.1
#: Smallest k/d modelled with error feedback (the geometric sum's cost grows like 1/q:
#: about 8 s for one analysis at k/d = 0.002).
MIN_FEEDBACK_SHARE = 0.002
#: Most steps of the SDDE grid, and with the lumps' noise (which costs steps² per mode).
_STEPS, _VOLTERRA_STEPS = 50_000, 4_000
#: The bracket's curves run to this multiple of its lower time to target.
BRACKET_HORIZON = 4.0


@dataclass(frozen=True)
class SparsifiedModel:
    """A sparsified setting and the plain model with the same SDDE.

    Attributes
    ----------
    original : AsyncSGDModel
        The user's setting without sparsification.
    sparsifier : Sparsifier
    dim : int
        Number of coordinates ``d``.
    equivalent : AsyncSGDModel
        The plain model whose SDDE is the sparsified one's: analyse it with
        :func:`sdde.analyze_stability` (its times are real times). Its learning rate is
        :attr:`lr_factor` times the user's.
    lr_factor : float
        ``q`` without error feedback, ``1/q`` with it (``q = k/d``).
    """

    original: AsyncSGDModel
    sparsifier: Sparsifier
    dim: int
    equivalent: AsyncSGDModel
    lr_factor: float

    @property
    def share(self) -> float:
        """``q = k/d``: the share of coordinates each push carries."""
        return self.sparsifier.keep(self.dim) / self.dim

    @property
    def stability(self) -> AsyncSGDModel:
        """The model whose divergence threshold applies: :attr:`original` for top-k
        without error feedback (a diverging coordinate is always sent), else
        :attr:`equivalent`."""
        if self.sparsifier.kind == "top" and not self.sparsifier.error_feedback:
            return self.original
        return self.equivalent

    @property
    def jump_factor(self) -> float:
        """Mean squared update per arrival of the equivalent model, relative to its own
        full gradient (``β²`` of :meth:`AsyncSGDModel.to_problem`): ``1/q`` for masked
        pushes (a coordinate moves by ``η h x`` with probability ``q``, not by ``q η h x``
        every time), ``2 − q`` with error feedback (a send carries ``G`` gradients,
        ``E[G²] = (2 − q)/q²``), 1 unsparsified."""
        q = self.share
        if q == 1.0:
            return 1.0
        return 2.0 - q if self.sparsifier.error_feedback else 1.0 / q

    @property
    def push_gain(self) -> float:
        """How far one push moves the stiffest coordinate, relative to its distance, at
        the user's learning rate (:meth:`push_gain_at`). Above 0.1 the model is rough."""
        return self.push_gain_at(self.original.lr)

    def push_gain_at(self, lr: float) -> float:
        """``η h_max`` at learning rate ``lr``, over ``q`` with error feedback (whose sends
        carry ``1/q`` gradients' worth)."""
        gain = lr * float(self.original.curvatures[-1])
        return gain / self.share if self.sparsifier.error_feedback else gain

    def kappa_star(self) -> float:
        """The divergence threshold in the user's ``κ = η n h``, from :attr:`stability`'s
        kernel."""
        if self.stability is self.original:
            return critical_kappa(self.original.kernel)
        return self.user_kappa(critical_kappa(self.equivalent.kernel))

    @property
    def caveats(self) -> tuple[str, ...]:
        """What the model does not capture for this setting (one line each)."""
        notes = []
        if self.sparsifier.kind == "top" and self.share < 1.0:
            notes.append("top-k has no model of its own: speed and noise floor are "
                         "random-k's (top-k was 1.5-2.5x faster in measurements)")
            if self.sparsifier.error_feedback:
                notes.append("top-k with error feedback diverged at 0.65-0.99 of the "
                             "predicted threshold in measurements")
        if self.push_gain > PUSH_GAIN_LIMIT and self.share < 1.0:
            notes.append(f"each push moves the stiffest coordinate by {self.push_gain:.2g} "
                         f"of its distance (> {PUSH_GAIN_LIMIT:g}): the continuous model "
                         "is rough here")
        return tuple(notes)

    def user_lr(self, equivalent_lr: float) -> float:
        """The user's learning rate that corresponds to a learning rate of the
        equivalent model (e.g. its ``max_stable_lr``)."""
        return equivalent_lr / self.lr_factor

    def user_kappa(self, equivalent_kappa: float) -> float:
        """``κ = η n h`` in the user's terms for a gain of the equivalent model (e.g. its
        ``κ*``, measured in its own time unit ``E[S]``): ``κ' = η' n h`` and ``η' =``
        :attr:`lr_factor` ``· η``."""
        return equivalent_kappa / self.lr_factor


def sparsified_model(model: AsyncSGDModel, sparsifier: Sparsifier,
                     dim: int | None = None) -> SparsifiedModel:
    """The plain model whose SDDE is that of ``model`` with sparsified pushes.

    Parameters
    ----------
    model : AsyncSGDModel
        Learning rate, cluster (one group of workers, no threshold, no shared link),
        spectrum and noise, with the constant step policy.
    sparsifier : Sparsifier
    dim : int, optional
        Number of coordinates ``d`` the sparsifier chooses from (default: the number of
        Hessian modes).

    Returns
    -------
    SparsifiedModel

    Examples
    --------
    >>> from sdde import Cluster, HessianSpectrum, delays
    >>> m = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=16),
    ...                   spectrum=HessianSpectrum.parse("1"), noise=1.0)
    >>> s = sparsified_model(m, Sparsifier("random", 0.1), dim=100)
    >>> round(s.equivalent.lr, 12), s.equivalent.noise
    (0.001, 10.0)
    >>> ef = sparsified_model(m, Sparsifier("random", 0.1, error_feedback=True), dim=100)
    >>> round(ef.equivalent.lr, 12), round(ef.equivalent.mean_delay, 12)
    (0.1, 10.0)
    """
    if not isinstance(sparsifier, Sparsifier):
        raise ValueError(f"sparsifier must be a Sparsifier, got {sparsifier!r}")
    d = model.spectrum.n_modes if dim is None else dim
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise ValueError(f"dim must be a whole number >= 1, got {dim!r}")
    cluster = model.cluster
    if len(cluster.groups) != 1 or cluster.link is not None or cluster.threshold is not None:
        raise ValueError("the sparsified model needs one group of identical workers, no "
                         "staleness threshold and no shared link")
    if not model.policy.is_constant:
        raise ValueError("the sparsified model needs the constant step policy (a policy "
                         "weighs a push's staleness, not the age of a piecemeal gradient)")
    q = sparsifier.keep(d) / d
    if sparsifier.error_feedback and q < MIN_FEEDBACK_SHARE:
        raise ValueError(f"error feedback with k/d = {q:.3g} is not modelled (its delay law "
                         f"costs time and memory like d/k): use k/d >= {MIN_FEEDBACK_SHARE:g}")
    noise = model.noise
    if q == 1.0:
        return SparsifiedModel(original=model, sparsifier=sparsifier, dim=d,
                               equivalent=model, lr_factor=1.0)
    if not sparsifier.error_feedback:
        equivalent = replace(model, lr=model.lr * q, noise=_scaled(noise, 1.0 / q))
        return SparsifiedModel(original=model, sparsifier=sparsifier, dim=d,
                               equivalent=equivalent, lr_factor=q)
    law = GeometricSum(base=cluster.round_laws[0], p=q)
    equivalent = replace(model, lr=model.lr / q, noise=_scaled(noise, q), backlog=q,
                         cluster=Cluster(workers=cluster.n_workers, delay=law))
    return SparsifiedModel(original=model, sparsifier=sparsifier, dim=d,
                           equivalent=equivalent, lr_factor=1.0 / q)


def _scaled(noise: float | tuple[float, ...] | FloatArray,
            factor: float) -> float | FloatArray:
    if isinstance(noise, float | int):
        return noise * factor
    return np.asarray(noise, dtype=np.float64) * factor




def predicted_loss(sparse: SparsifiedModel, times: np.ndarray, *, lumps: bool = False,
                   initial_error: float = 1.0) -> np.ndarray:
    """Expected loss ``½ Σ w h E[x²]`` at ``times`` (increasing, from 0) from the equivalent
    model's exact SDDE moments: minibatch noise only, or with the pushes' squared-size
    noise (``lumps``, :attr:`SparsifiedModel.jump_factor`; an overestimate for error
    feedback, so the two bracket the truth: ``theory/derivations/sparsification.py``).

    The step is 0.01 mean delays, coarser for long horizons: at most 50 000 steps, and
    4 000 with ``lumps``, whose second moment costs ``O(steps²)`` per mode (the
    Richardson-extrapolated moments stay accurate to about 1e-3 for the slow modes that
    last that long).
    """
    from sdde.solvers.moments import model_moments  # numba: only when a curve is asked for

    model = sparse.equivalent
    end = float(times[-1])
    span = end / model.mean_delay
    max_dt = max(0.01, span / (_VOLTERRA_STEPS if lumps else _STEPS))
    moments = model_moments(model, end, x0=initial_error, max_dt=max_dt,
                            gradient_noise="poisson" if lumps else "additive",
                            jump_factor=sparse.jump_factor)
    weights = np.asarray(model.spectrum.weights, dtype=np.float64)
    order = np.argsort(np.asarray(model.spectrum.eigenvalues), kind="stable")
    loss = 0.5 * ((moments.mean**2 + moments.variance) @ (weights[order] * model.curvatures))
    return np.asarray(np.interp(times, moments.t, loss), dtype=np.float64)


@dataclass(frozen=True)
class SparsificationReport:
    """What sparsified pushes change (``sdde-analyze --sparsify``).

    Attributes
    ----------
    sparsifier : str
    share : float
        ``q = k/d``.
    stable : bool or None
        The verdict of :attr:`SparsifiedModel.stability`'s model.
    kappa_star : float
        The divergence threshold in the user's ``κ = η n h``.
    max_stable_lr, plain_max_stable_lr : float
        Largest stable learning rate with and without sparsification.
    decay_rate, plain_decay_rate : float
        Slowest mode's decay rate per time unit, with and without.
    loss_floor : float
        Stationary expected loss (minibatch noise only).
    time_to_target : tuple of float, or None
        The bracket ``(without, with)`` the pushes' squared-size noise, with a target
        (``inf``: not within four times the lower end).
    push_gain : float
    caveats : tuple of str
    """

    sparsifier: str
    share: float
    stable: bool | None
    kappa_star: float
    max_stable_lr: float
    plain_max_stable_lr: float
    decay_rate: float
    plain_decay_rate: float
    loss_floor: float
    time_to_target: tuple[float, float] | None
    push_gain: float
    caveats: tuple[str, ...]

    def summary(self) -> str:
        """A few lines for the terminal."""
        verdict = {True: "converges", False: "DIVERGES", None: "undecided"}[self.stable]
        text = (f"sparsified pushes ({self.sparsifier}, k/d = {self.share:.3g}): {verdict}; "
                f"largest stable lr {self.max_stable_lr:.4g} (unsparsified "
                f"{self.plain_max_stable_lr:.4g})")
        if self.stable is not False:
            text += (f"; slowest mode decays at {self.decay_rate:.3g}/time unit "
                     f"(unsparsified {self.plain_decay_rate:.3g}); loss floor "
                     f"{self.loss_floor:.3g}")
        if self.time_to_target is not None and self.stable is not False:
            low, high = self.time_to_target
            if not math.isfinite(low):
                text += "; never reaches the target"
            elif math.isfinite(high):
                text += f"; time to target {low:.4g} to {high:.4g}"
            else:
                text += (f"; time to target at least {low:.4g} (with the pushes' own noise "
                         f"not within {BRACKET_HORIZON * low:.4g})")
        return "\n".join([text, *(f"  note: {c}" for c in self.caveats)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``null`` for infinite or unknown values)."""
        num = finite_or_none
        return {"sparsifier": self.sparsifier, "share": self.share, "stable": self.stable,
                "kappa_star": num(self.kappa_star), "max_stable_lr": num(self.max_stable_lr),
                "plain_max_stable_lr": num(self.plain_max_stable_lr),
                "decay_rate": num(self.decay_rate),
                "plain_decay_rate": num(self.plain_decay_rate),
                "loss_floor": num(self.loss_floor),
                "time_to_target": None if self.time_to_target is None
                else [num(t) for t in self.time_to_target],
                "push_gain": self.push_gain, "caveats": list(self.caveats)}


def analyze_sparsified(model: AsyncSGDModel, sparsifier: Sparsifier, *, dim: int,
                       target_loss: float | None = None, initial_error: float = 1.0,
                       plain: StabilityReport | None = None) -> SparsificationReport:
    """Stability, speed, noise floor and time to target with sparsified pushes.

    Parameters
    ----------
    model : AsyncSGDModel
        The unsparsified setting (see :func:`sparsified_model` for what it may hold).
    sparsifier : Sparsifier
    dim : int
        Coordinates ``d`` of the model.
    target_loss : float, optional
        Bracket the time until the expected loss falls below it.
    initial_error : float
        Initial distance from the optimum along every mode.
    plain : StabilityReport, optional
        ``analyze_stability(model, server=False)``, if already computed: the comparison is
        in the mean field on both sides, since the equivalent model stands for no server
        whose staleness sequence could be simulated.

    Returns
    -------
    SparsificationReport
        A diverging setting has no decay rate (NaN), an infinite floor and an infinite
        time to target.

    Examples
    --------
    >>> from sdde import Cluster, HessianSpectrum
    >>> m = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=64),
    ...                   spectrum=HessianSpectrum.parse("1"), noise=1e-3)
    >>> r = analyze_sparsified(m, Sparsifier("random", 0.1), dim=1000)
    >>> r.stable, round(r.max_stable_lr / r.plain_max_stable_lr, 6)
    (True, 10.0)
    """
    from sdde.stability.report import analyze_stability

    # both sides in the mean field: the equivalent model stands for no server whose
    # staleness sequence could be simulated, so the comparison is like for like
    sparse = sparsified_model(model, sparsifier, dim)
    if plain is None:
        plain = analyze_stability(model, optimise_workers=False, server=False)
    equivalent = analyze_stability(sparse.equivalent, server=False, target_loss=target_loss,
                                   initial_error=initial_error, optimise_workers=False)
    if sparse.stability is model:
        stable, max_lr = plain.stable, plain.max_stable_lr
    else:
        stable, max_lr = equivalent.stable, sparse.user_lr(equivalent.max_stable_lr)
    kappa_star = max_lr * model.n_workers * model.spectrum.h_max
    decay, floor = equivalent.decay_rate, equivalent.loss_floor
    bracket = None
    if stable is False:  # the speed and floor of a diverging run mean nothing
        decay, floor = math.nan, math.inf
        bracket = None if target_loss is None else (math.inf, math.inf)
    elif target_loss is not None:
        t = equivalent.time_to_target
        low = math.inf if t is None else float(t)
        high = low if low == 0.0 else math.inf
        if 0.0 < low < math.inf:
            from sdde.simulator._curves import first_crossing

            times = np.linspace(0.0, BRACKET_HORIZON * low, 2000)
            high = first_crossing(times, predicted_loss(sparse, times, lumps=True,
                                                         initial_error=initial_error),
                                  target_loss)
        bracket = (low, high)
    caveats = list(sparse.caveats)
    edge = sparse.push_gain_at(max_lr)
    if math.isfinite(edge) and edge > PUSH_GAIN_LIMIT and sparse.share < 1.0:
        caveats.append(f"at the predicted largest stable lr a push moves the stiffest "
                       f"coordinate by {edge:.2g} of its distance: the threshold is rough "
                       "there (measured down to half of it)")
    return SparsificationReport(
        sparsifier=str(sparsifier), share=sparse.share, stable=stable, kappa_star=kappa_star,
        max_stable_lr=max_lr, plain_max_stable_lr=plain.max_stable_lr,
        decay_rate=decay, plain_decay_rate=plain.decay_rate, loss_floor=floor,
        time_to_target=bracket, push_gain=sparse.push_gain, caveats=tuple(caveats))

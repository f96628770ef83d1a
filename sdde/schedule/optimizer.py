"""Which workers, which cut-off, which step policy and learning rate train fastest.

:func:`schedule` searches the decision space of a cluster owner: how many workers of each
group to use, the staleness cut-off ``K``, the step policy and the learning rate. It
returns the setting with the shortest predicted time to a target loss (or the fastest
decay of the slowest mode when no target is given) among those that keep a run of the
real server safely stable: the largest gain ``κ = η n h_max`` stays a chosen margin
(default 20 %) below the almost-sure threshold ``κ_as``, and, when a target loss or
gradient noise is given, below the mean-square threshold ``κ_ms`` (the expected loss and
its floor are finite only there).

The search exploits the structure instead of trying every point (theory/scheduling.md):

* thresholds are gains, so each configuration's are computed once and cap the whole
  learning-rate axis at ``η_cap = (1 − margin) κ_lim / (n h_max)``;
* a configuration's rate curve ``r(κ)`` is tabulated once per kernel
  (:class:`sdde.schedule.speed.RateCurve`): worker counts of one group share it, since
  the kernel changes with the subset only through the groups' mixture weights;
* worker subsets are searched on a coarse grid per group, then refined by a pattern
  search on the integer lattice; cut-offs and step policies are tried on the best
  subsets only.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from sdde._numerics import finite_or_none
from sdde._progress import ProgressCallback
from sdde.cluster.cluster import Cluster, SharedLink, WorkerGroup
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.kernels import StepPolicy
from sdde.model.spectrum import HessianSpectrum
from sdde.schedule.speed import (
    Configuration,
    DiscreteRateCurve,
    RateCurve,
    Speed,
    discrete_applies,
)
from sdde.stability.almost_sure import almost_sure_threshold
from sdde.stability.mean_square import mean_square_threshold

#: Default safety margin below the thresholds (20 %).
DEFAULT_MARGIN = 0.2
#: Relative precision of the almost-sure estimates behind the search (the margin absorbs
#: it; the chosen settings are re-checked at the report's 1 %).
SEARCH_REL_TOL = 0.05
#: Worker counts per group on the coarse grid (every count when a group is this small).
COARSE_COUNTS = 7
#: Subsets whose cut-off and policy variants are tried.
VARIANT_SUBSETS = 1
#: Best coarse subsets the pattern search starts from.
PATTERN_STARTS = 3
#: Staleness quantiles at which ``thresholds="auto"`` places the cut-offs.
AUTO_CUTOFF_LEVELS = (0.9, 0.99)
#: The largest gain searched where no threshold exists (every push dropped, or none found).
NO_THRESHOLD_KAPPA = 1e3
#: Leading settings re-solved without the table and re-ranked.
EXACT_SETTINGS = 8
#: Margins of the speed-against-margin front.
FRONT_MARGINS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
#: Configurations (best first) whose learning-rate axis the front re-optimises.
FRONT_CONFIGURATIONS = 8

Objective = Literal["time to target", "decay rate"]


@dataclass(frozen=True)
class Candidate:
    """One configuration: workers used per group, staleness cut-off, step policy."""

    counts: tuple[int, ...]
    threshold: int | None
    policy: str

    def describe(self, groups: Sequence[WorkerGroup]) -> str:
        """``24 × gamma…, 0 × exponential…, no cut-off, constant`` in words."""
        used = ", ".join(f"{c}/{g.workers} of {g.delay}" for c, g in
                         zip(self.counts, groups, strict=True))
        cut = "no cut-off" if self.threshold is None else f"cut-off K = {self.threshold}"
        return f"{used}; {cut}; {self.policy} steps"


@dataclass(frozen=True)
class Setting:
    """A configuration at its best learning rate, with its predicted speed and limits.

    Attributes
    ----------
    candidate : Candidate
        Workers per group, cut-off, policy.
    n_workers : int
        Workers used in all.
    lr : float
        The chosen learning rate.
    lr_cap : float
        The largest learning rate the margin allows, ``(1 − margin) κ_lim / (n h_max)``.
    kappa_max : float
        ``κ = η n h_max`` at ``lr``.
    kappa_as, kappa_as_half_width : float
        The almost-sure threshold and its 95 % half-width.
    kappa_ms : float
        The mean-square threshold (NaN when it does not constrain: no target, no noise).
    limit : {"almost-sure", "mean-square"}
        Which threshold sets the cap.
    speed : Speed
        Predicted decay rate, loss floor and time to target at ``lr``.
    """

    candidate: Candidate
    n_workers: int
    lr: float
    lr_cap: float
    kappa_max: float
    kappa_as: float
    kappa_as_half_width: float
    kappa_ms: float
    limit: str
    speed: Speed

    @property
    def binds(self) -> bool:
        """Whether the chosen learning rate sits at the margin's cap."""
        return bool(self.lr >= self.lr_cap * (1 - 1e-3))

    @property
    def headroom(self) -> float:
        """``κ_as / κ_max``: the factor the learning rate can grow by before a run diverges."""
        return self.kappa_as / self.kappa_max

    def value(self, objective: Objective) -> float:
        """The objective: time to target (smaller is better) or decay rate (larger)."""
        if objective == "time to target":
            return self.speed.time_to_target
        return self.speed.decay_rate

    def to_dict(self, groups: Sequence[WorkerGroup]) -> dict[str, Any]:
        """Plain JSON types."""
        c = self.candidate
        return {"workers": [{"delay": str(g.delay), "used": n, "available": g.workers}
                            for n, g in zip(c.counts, groups, strict=True)],
                "n_workers": self.n_workers, "threshold": c.threshold, "policy": c.policy,
                "lr": self.lr, "lr_cap": self.lr_cap, "kappa_max": self.kappa_max,
                "kappa_as": finite_or_none(self.kappa_as),
                "kappa_as_half_width": finite_or_none(self.kappa_as_half_width),
                "kappa_ms": finite_or_none(self.kappa_ms), "limit": self.limit,
                "binds": self.binds, "headroom": finite_or_none(self.headroom),
                "decay_rate": finite_or_none(self.speed.decay_rate),
                "time_to_target": finite_or_none(self.speed.time_to_target),
                "loss_floor": finite_or_none(self.speed.loss_floor),
                "exact_rates": self.speed.exact_rates}


@dataclass(frozen=True)
class FrontPoint:
    """The best objective reachable when the learning rate keeps ``margin`` below the
    thresholds, and the configuration reaching it."""

    margin: float
    value: float
    setting: Setting


@dataclass(frozen=True)
class SearchCost:
    """What the search computed: configurations, kernels (rate tables), threshold
    estimates, pushes simulated for them, and wall-clock seconds."""

    configurations: int
    kernels: int
    root_solves: int
    pushes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"configurations": self.configurations, "kernels": self.kernels,
                "root_solves": self.root_solves, "pushes": self.pushes,
                "seconds": self.seconds}


@dataclass(frozen=True)
class Schedule:
    """The result of :func:`schedule`: the best setting, alternatives, the front, the cost.

    Attributes
    ----------
    groups : tuple of WorkerGroup
        The available workers.
    objective : {"time to target", "decay rate"}
        What was optimised.
    target_loss : float or None
    margin : float
        Safety margin below the thresholds.
    best : Setting
    alternatives : tuple of Setting
        The best settings of other kinds (other groups used, cut-off or not, another
        policy), best first.
    baseline : Setting or None
        All workers, no cut-off, constant steps, at the caller's learning rate (if given).
    front : tuple of FrontPoint
        Speed against margin.
    evaluated : tuple of Setting
        Every configuration evaluated, best first.
    cost : SearchCost
    """

    groups: tuple[WorkerGroup, ...]
    objective: Objective
    target_loss: float | None
    margin: float
    best: Setting
    alternatives: tuple[Setting, ...]
    baseline: Setting | None
    front: tuple[FrontPoint, ...]
    evaluated: tuple[Setting, ...]
    cost: SearchCost

    @property
    def binding(self) -> str:
        """Which constraint binds at the best setting, in words."""
        b = self.best
        if not b.binds:
            return ("none: the speed peaks below the cap (a larger learning rate would "
                    + ("raise the noise floor or " if self.target_loss is not None else "")
                    + "slow the slowest mode)")
        which = "almost-sure (a run diverges)" if b.limit == "almost-sure" else \
            "mean-square (E θ² grows)"
        return f"the {which} threshold less the {self.margin:.0%} margin"

    def model(self, setting: Setting, spectrum: HessianSpectrum, noise: Any = 0.0,
              link: SharedLink | None = None) -> AsyncSGDModel:
        """The :class:`AsyncSGDModel` of a setting (for the report or the simulator)."""
        return _model(self.groups, setting.candidate, spectrum, noise, link, setting.lr)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        g = self.groups
        return {"objective": self.objective, "target_loss": self.target_loss,
                "margin": self.margin, "binding": self.binding,
                "best": self.best.to_dict(g),
                "alternatives": [s.to_dict(g) for s in self.alternatives],
                "baseline": None if self.baseline is None else self.baseline.to_dict(g),
                "front": [{"margin": p.margin, "value": finite_or_none(p.value),
                           "setting": p.setting.to_dict(g)} for p in self.front],
                "cost": self.cost.to_dict()}

    def summary(self) -> str:
        """Human-readable table."""
        unit = "time to target" if self.objective == "time to target" else "decay rate"
        lines = [f"Schedule · {self.objective} · margin {self.margin:.0%} below the "
                 f"thresholds · {sum(g.workers for g in self.groups)} workers available in "
                 f"{len(self.groups)} group(s)"]
        header = f"  {'':<12} {'workers used':<22} {'cut-off':<8} {'policy':<16} " \
                 f"{'lr':<11} {unit:<15} {'κ_as/κ':<7}"
        lines.append(header)
        rows = [("best", self.best)] + [(f"runner-up {i + 1}", s)
                                        for i, s in enumerate(self.alternatives)]
        if self.baseline is not None:
            rows.append(("yours", self.baseline))
        for label, s in rows:
            used = "+".join(str(c) for c in s.candidate.counts)
            cut = "none" if s.candidate.threshold is None else str(s.candidate.threshold)
            lines.append(f"  {label:<12} {used + f' (n={s.n_workers})':<22} {cut:<8} "
                         f"{s.candidate.policy:<16} {s.lr:<11.4g} "
                         f"{_fmt(s.value(self.objective)):<15} {s.headroom:<7.3g}")
        lines.append(f"  binding constraint: {self.binding}")
        front = ", ".join(f"{p.margin:.0%}: {_fmt(p.value)}" for p in self.front)
        lines.append(f"  {unit} against margin: {front}")
        c = self.cost
        lines.append(f"  search: {c.configurations} configurations, {c.kernels} rate tables "
                     f"({c.root_solves} root solves), {c.pushes:,} simulated pushes for "
                     f"thresholds, {c.seconds:.2f} s")
        if not self.best.speed.exact_rates:
            lines.append("  note: some decay rates are the delay law's abscissa bound (every "
                         "root lies left of it): a lower bound on the speed")
        return "\n".join(lines)


def _fmt(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else ("∞" if v > 0 else "—")


def _model(groups: Sequence[WorkerGroup], candidate: Candidate, spectrum: HessianSpectrum,
           noise: Any, link: SharedLink | None, lr: float) -> AsyncSGDModel:
    used = [WorkerGroup(workers=c, delay=g.delay)
            for c, g in zip(candidate.counts, groups, strict=True) if c > 0]
    cluster = Cluster(workers=used, threshold=candidate.threshold, link=link)
    policy = StepPolicy.for_cluster(candidate.policy, cluster)
    return AsyncSGDModel(lr=lr, cluster=cluster, spectrum=spectrum, noise=noise, policy=policy)


@dataclass
class _Search:
    """The problem and the caches of one :func:`schedule` call."""

    groups: tuple[WorkerGroup, ...]
    spectrum: HessianSpectrum
    noise: Any
    link: SharedLink | None
    target_loss: float | None
    initial_error: float
    margin: float
    rng: np.random.Generator | None
    curves: dict[str, RateCurve] = field(default_factory=dict)
    settings: dict[Candidate, Setting | None] = field(default_factory=dict)
    configurations: dict[Candidate, tuple[Configuration, float, float, float, str]] = \
        field(default_factory=dict)
    pushes: int = 0

    @property
    def objective(self) -> Objective:
        return "time to target" if self.target_loss is not None else "decay rate"

    @property
    def needs_mean_square(self) -> bool:
        return self.target_loss is not None or bool(np.any(np.asarray(self.noise) > 0))

    def score(self, s: Setting | None) -> float:
        """Smaller is better; ``inf`` for settings that cannot reach the objective."""
        if s is None:
            return math.inf
        v = s.value(self.objective)
        if self.objective == "decay rate":
            v = -v if v > 0 else math.inf
        return v if math.isfinite(v) else math.inf

    def configuration(self, c: Candidate) -> tuple[Configuration, float, float, float, str]:
        """The configuration of a candidate with its thresholds: ``(conf, κ_as, hw, κ_ms,
        limit)``."""
        if c not in self.configurations:
            model = _model(self.groups, c, self.spectrum, self.noise, self.link, 1.0)
            policy = None if model.policy.is_constant else model.policy
            surely = almost_sure_threshold(model.cluster, policy, rng=self.rng,
                                           rel_tol=SEARCH_REL_TOL)
            self.pushes += surely.pushes
            kappa_ms = math.nan
            limit = "almost-sure"
            if self.needs_mean_square:
                kappa_ms = mean_square_threshold(model.cluster, policy,
                                                 kernel=model.kernel).kappa
                if kappa_ms < surely.kappa:
                    limit = "mean-square"
            key = _kernel_key(model)
            if key not in self.curves:
                kind = DiscreteRateCurve if discrete_applies(model) else RateCurve
                self.curves[key] = kind(model, with_variance=bool(
                    np.any(model.noise_variances > 0)))
            conf = Configuration(model, self.curves[key])
            self.configurations[c] = (conf, surely.kappa, surely.half_width, kappa_ms, limit)
        return self.configurations[c]

    def evaluate(self, c: Candidate, margin: float | None = None) -> Setting | None:
        """The candidate at its best learning rate under ``margin`` (default the search's);
        None when no learning rate is safe (every push dropped counts as never moving)."""
        if margin is None and c in self.settings:
            return self.settings[c]
        m = self.margin if margin is None else margin
        conf, kappa_as, hw, kappa_ms, limit = self.configuration(c)
        bound = kappa_ms if limit == "mean-square" else kappa_as
        model = conf.model
        h_max = float(model.curvatures[-1])
        out: Setting | None = None
        if bound > 0 and model.cluster.accepted_rate > 0:
            # no threshold (bound = inf): the cap is where the rate table ends, the rate
            # peaks far below it
            cap = ((1.0 - m) * bound if math.isfinite(bound) else NO_THRESHOLD_KAPPA) / (
                model.n_workers * h_max)
            known = self.settings.get(c)
            speed = conf.best_lr(cap, target_loss=self.target_loss,
                                 initial_error=self.initial_error,
                                 hints=() if known is None else (known.lr,))
            out = Setting(candidate=c, n_workers=model.n_workers, lr=speed.lr, lr_cap=cap,
                          kappa_max=speed.lr * model.n_workers * h_max, kappa_as=kappa_as,
                          kappa_as_half_width=hw, kappa_ms=kappa_ms, limit=limit, speed=speed)
        if margin is None:
            self.settings[c] = out
        return out

    def exact(self, s: Setting) -> Setting:
        """The setting with its speed solved at every mode's own gain (no table)."""
        if s.kappa_max >= (s.kappa_ms if s.limit == "mean-square" else s.kappa_as):
            return s  # past a threshold: at_lr already says there is no speed
        conf = self.configuration(s.candidate)[0]
        speed = conf.exact_speed(s.lr, target_loss=self.target_loss,
                                 initial_error=self.initial_error)
        return replace(s, speed=speed)

    def at_lr(self, c: Candidate, lr: float) -> Setting:
        """The candidate at a given learning rate (the caller's own setting)."""
        conf, kappa_as, hw, kappa_ms, limit = self.configuration(c)
        model = conf.model
        h_max = float(model.curvatures[-1])
        bound = kappa_ms if limit == "mean-square" else kappa_as
        speed = conf.speed(lr, target_loss=self.target_loss, initial_error=self.initial_error)
        if lr * model.n_workers * h_max >= bound:  # past a threshold: no speed to speak of
            speed = Speed(lr=lr, decay_rate=math.nan, time_to_target=math.inf,
                          loss_floor=math.inf, exact_rates=speed.exact_rates)
        return Setting(candidate=c, n_workers=model.n_workers, lr=lr,
                       lr_cap=(1.0 - self.margin) * bound / (model.n_workers * h_max),
                       kappa_max=lr * model.n_workers * h_max, kappa_as=kappa_as,
                       kappa_as_half_width=hw, kappa_ms=kappa_ms, limit=limit, speed=speed)


def _kernel_key(model: AsyncSGDModel) -> str:
    """Configurations whose kernels are equal share a rate table: the kernel depends on
    the mixture weights, and on ``n`` only through a cut-off, a policy or a link (and the
    discrete-time table, used below 16 workers, on ``n`` always)."""
    depends = model.kernel_depends_on_workers or discrete_applies(model)
    return repr((str(model.delay_law), model.cluster.threshold, str(model.policy),
                 model.n_workers if depends else None))


def _coarse_counts(available: int) -> list[int]:
    if available < COARSE_COUNTS:
        return list(range(available + 1))
    grid = np.geomspace(1, available, COARSE_COUNTS - 1).round().astype(int)
    return sorted({0, *grid.tolist()})


def schedule(
    workers: Sequence[WorkerGroup | tuple[int, Any]] | Cluster,
    spectrum: HessianSpectrum,
    *,
    noise: float | Sequence[float] = 0.0,
    target_loss: float | None = None,
    initial_error: float = 1.0,
    margin: float = DEFAULT_MARGIN,
    thresholds: Sequence[int | None] | Literal["auto"] = "auto",
    policies: Sequence[str] = ("constant",),
    link: SharedLink | None = None,
    lr: float | None = None,
    rng: np.random.Generator | None = None,
    progress: ProgressCallback | None = None,
) -> Schedule:
    """The fastest safe way to run asynchronous SGD on the workers available.

    Parameters
    ----------
    workers : Cluster or sequence of WorkerGroup or (int, DelayLaw)
        The workers available, in groups (a Cluster's groups and link are used; its
        cut-off is one of the candidates).
    spectrum : HessianSpectrum
        Loss curvatures.
    noise : float or sequence of float
        Gradient-noise variance per mode.
    target_loss : float, optional
        Minimise the predicted time until the expected loss is below it; without it,
        maximise the slowest mode's decay rate.
    initial_error : float
        Initial distance from the optimum along every mode.
    margin : float
        Safety margin in ``[0, 1)``: the largest gain stays ``(1 − margin)`` times the
        almost-sure threshold (and the mean-square one with a target or noise).
    thresholds : "auto" or sequence of int or None
        Staleness cut-offs to try (``None``: no cut-off). ``"auto"``: none, and the 90 %
        and 99 % quantiles of each subset's staleness.
    policies : sequence of str
        Step policies to try (:meth:`StepPolicy.parse` specs, e.g. ``"tail:0.5"``).
    link : SharedLink, optional
        A shared link (each round gains ``n · size / capacity``).
    lr : float, optional
        Your current learning rate: the result's ``baseline`` is all workers, no
        cut-off, constant steps at it.
    rng : numpy.random.Generator, optional
        For the almost-sure estimates (default: a fixed seed, cached).
    progress : callable, optional
        Called with the fraction done.

    Returns
    -------
    Schedule

    Examples
    --------
    >>> from sdde import HessianSpectrum, delays
    >>> from sdde.cluster.cluster import WorkerGroup
    >>> fast, slow = delays.parse("gamma:shape=4,mean=1"), delays.parse("exponential:mean=3")
    >>> s = schedule([WorkerGroup(workers=24, delay=fast), WorkerGroup(workers=8, delay=slow)],
    ...              HessianSpectrum.parse("0.1:10:20:log"), noise=1.0, target_loss=0.5,
    ...              thresholds=[None])
    >>> s.best.kappa_max <= 0.8 * s.best.kappa_as   # 20 % below a run's divergence
    True
    >>> s.best.candidate.counts[1], round(s.best.speed.time_to_target, 1)
    (8, 10.3)
    """
    started = time.perf_counter()
    report = progress or (lambda _f: None)
    if isinstance(workers, Cluster):
        link = workers.link if link is None else link
        extra = [] if workers.threshold is None else [workers.threshold]
        groups = workers.groups
    else:
        groups = Cluster(workers=workers).groups
        extra = []
    if not (isinstance(margin, int | float) and 0 <= margin < 1):
        raise ValueError(f"margin must be a number in [0, 1), got {margin!r}")
    if target_loss is not None and not (isinstance(target_loss, int | float)
                                        and 0 < target_loss < math.inf):
        raise ValueError(f"target loss must be a finite number > 0, got {target_loss!r}")
    if not policies:
        raise ValueError("give at least one step policy, e.g. policies=['constant']")
    for p in policies:
        StepPolicy.parse(p, staleness=Cluster(workers=2).staleness("poisson"))  # validates
    search = _Search(groups=tuple(groups), spectrum=spectrum, noise=noise, link=link,
                     target_loss=target_loss, initial_error=initial_error,
                     margin=float(margin), rng=rng)
    base_policy = policies[0]

    # 1. worker subsets, no cut-off, the first policy: coarse grid, then pattern search
    coarse = [tuple(c) for c in itertools.product(*(_coarse_counts(g.workers)
                                                     for g in groups)) if sum(c) > 0]
    for i, counts in enumerate(coarse):
        search.evaluate(Candidate(counts, None, base_policy))
        report(0.5 * (i + 1) / len(coarse))
    ranked = sorted(search.settings, key=lambda c: search.score(search.settings[c]))
    starts = [c.counts for c in ranked[:PATTERN_STARTS]]
    for start in starts:
        _pattern_search(search, start, base_policy)
    report(0.7)

    # 2. cut-offs and policies on the best subsets
    subsets = []
    for c in sorted(search.settings, key=lambda c: search.score(search.settings[c])):
        if c.counts not in subsets:
            subsets.append(c.counts)
        if len(subsets) == VARIANT_SUBSETS:
            break
    for counts in subsets:
        for cut in _cutoffs(search, counts, thresholds, extra, base_policy):
            for policy in policies:
                search.evaluate(Candidate(counts, cut, policy))
    report(0.85)

    evaluated = sorted((s for s in search.settings.values() if s is not None),
                       key=search.score)
    # the table's interpolation errs near a real-to-complex transition of the dominant
    # root (a square-root corner): the leading settings are solved exactly and re-ranked
    evaluated[:EXACT_SETTINGS] = sorted((search.exact(s) for s in evaluated[:EXACT_SETTINGS]),
                                        key=search.score)
    if not evaluated or not math.isfinite(search.score(evaluated[0])):
        raise ValueError("no setting reaches the objective safely: every configuration "
                         "diverges, drops every gradient or has a noise floor above the "
                         "target (try a larger target loss or a smaller margin)")
    best = evaluated[0]
    alternatives = _alternatives(search, evaluated)
    baseline = None
    if lr is not None:
        everyone = Candidate(tuple(g.workers for g in groups), None, "constant")
        baseline = search.exact(search.at_lr(everyone, lr))
    front = _front(search, evaluated[:FRONT_CONFIGURATIONS])
    # a setting found safe under a larger margin is safe under this one: if the front's
    # learning-rate searches found a better one, it is the answer
    own = next(p for p in front if p.margin == search.margin)
    if search.score(own.setting) < search.score(best):
        found = own.setting
        bound = found.kappa_ms if found.limit == "mean-square" else found.kappa_as
        best = replace(found, lr_cap=(1.0 - search.margin) * bound
                       / (found.n_workers * spectrum.h_max))
        alternatives = tuple(s for s in alternatives if s.candidate != best.candidate)
    report(1.0)
    cost = SearchCost(configurations=len(search.configurations), kernels=len(search.curves),
                      root_solves=sum(c.solves for c in search.curves.values()),
                      pushes=search.pushes, seconds=time.perf_counter() - started)
    return Schedule(groups=tuple(groups), objective=search.objective, target_loss=target_loss,
                    margin=float(margin), best=best, alternatives=alternatives,
                    baseline=baseline, front=front, evaluated=tuple(evaluated), cost=cost)


def _pattern_search(search: _Search, start: tuple[int, ...], policy: str) -> None:
    """Compass search on the subset lattice from ``start``: steps of each group's coarse
    spacing, halved until 1, moving to any better neighbour."""
    groups = search.groups
    current = start
    steps = [max(1, g.workers // (2 * COARSE_COUNTS)) if g.workers >= COARSE_COUNTS else 1
             for g in groups]
    step = max(steps)
    while True:
        improved = False
        for gi, g in enumerate(groups):
            for sign in (-1, 1):
                counts = list(current)
                counts[gi] = min(max(counts[gi] + sign * step, 0), g.workers)
                cand = tuple(counts)
                if cand == current or sum(cand) == 0:
                    continue
                c = Candidate(cand, None, policy)
                if search.score(search.evaluate(c)) < search.score(
                        search.evaluate(Candidate(current, None, policy))):
                    current, improved = cand, True
        if not improved:
            if step == 1:
                return
            step = max(1, step // 2)


def _cutoffs(search: _Search, counts: tuple[int, ...],
             thresholds: Sequence[int | None] | Literal["auto"], extra: list[int],
             policy: str) -> list[int | None]:
    if thresholds != "auto":
        values: list[int | None] = list(thresholds)
    else:
        conf = search.configuration(Candidate(counts, None, policy))[0]
        law = conf.model.cluster.staleness("poisson")
        values = [None] + [int(law.quantile(q)) for q in AUTO_CUTOFF_LEVELS
                           if math.isfinite(law.quantile(q))]
    return list(dict.fromkeys([*values, *extra]))


def _kind(c: Candidate) -> tuple[tuple[bool, ...], bool, str]:
    return (tuple(n > 0 for n in c.counts), c.threshold is not None, c.policy)


def _alternatives(search: _Search, evaluated: list[Setting]) -> tuple[Setting, ...]:
    """The best setting of each other kind (groups used, cut-off or not, policy), two at
    most; if fewer kinds exist, the next best settings."""
    best = evaluated[0]
    seen = {_kind(best.candidate)}
    out: list[Setting] = []
    for s in evaluated[1:]:
        k = _kind(s.candidate)
        if k not in seen and math.isfinite(search.score(s)):
            seen.add(k)
            out.append(s)
        if len(out) == 2:
            return tuple(out)
    for s in evaluated[1:]:
        if s not in out and math.isfinite(search.score(s)) and len(out) < 2:
            out.append(s)
    return tuple(out)


def _front(search: _Search, top: list[Setting]) -> tuple[FrontPoint, ...]:
    """Best objective at each margin of :data:`FRONT_MARGINS` over the top configurations
    (``top[0]``, the chosen setting, at the search's own margin)."""
    points = []
    for m in sorted({*FRONT_MARGINS, search.margin}):
        if m == search.margin:
            points.append(FrontPoint(margin=m, value=top[0].value(search.objective),
                                     setting=top[0]))
            continue
        found = [s for s in (search.evaluate(t.candidate, margin=m) for t in top)
                 if s is not None]
        if not found:
            continue
        best = search.exact(min(found, key=search.score))
        points.append(FrontPoint(margin=m, value=best.value(search.objective), setting=best))
    # a setting safe under a larger margin is safe under a smaller one: keep the best so far
    kept: list[FrontPoint] = []
    for p in sorted(points, key=lambda p: -p.margin):
        if kept and search.score(kept[-1].setting) < search.score(p.setting):
            p = FrontPoint(margin=p.margin, value=kept[-1].value, setting=kept[-1].setting)
        kept.append(p)
    return tuple(sorted(kept, key=lambda p: p.margin))

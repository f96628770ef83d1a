"""The cluster: workers, their computation-time laws, a staleness threshold, a shared link.

A :class:`Cluster` answers the first questions a user has: how fast do gradients reach
the parameter server, how long do ``T`` updates take, how stale are the gradients, and
how many are dropped under a staleness threshold. See ``theory/staleness.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from sdde._numerics import FloatArray, adaptive_gauss_kronrod
from sdde._progress import ProgressCallback
from sdde.cluster import _renewal, _staleness_sim
from sdde.cluster.staleness import (
    K_CAP,
    TAIL_TOL,
    StalenessLaw,
    poisson_acceptance,
    poisson_k_max,
    poisson_staleness,
)
from sdde.delays import DelayLaw, shifted_exponential
from sdde.delays._base import require_finite

#: Gradients simulated by default when the exact staleness law has no closed form.
DEFAULT_SIMULATED_GRADIENTS = 200_000
#: Fewest simulated gradients per worker: below about ten rounds per worker the window's
#: two ends (first pushes unobserved, last rounds cut off) dominate the estimate.
MIN_GRADIENTS_PER_WORKER = 10


@dataclass(frozen=True, kw_only=True)
class WorkerGroup:
    """``workers`` identical workers whose rounds follow ``delay``."""

    workers: int
    delay: DelayLaw

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int | np.integer) \
                or self.workers < 1:
            raise ValueError(f"workers must be a whole number >= 1, got {self.workers!r}")
        object.__setattr__(self, "workers", int(self.workers))
        if not isinstance(self.delay, DelayLaw):
            raise ValueError(f"delay must be a DelayLaw (see sdde.delays.parse), "
                             f"got {self.delay!r}")


@dataclass(frozen=True, kw_only=True)
class SharedLink:
    """A shared link that serialises the workers' gradient transfers.

    Each round gains a communication time ``n · message_size / capacity``: with ``n``
    workers sharing bandwidth ``capacity``, each transfer of ``message_size`` gets a
    ``1/n`` share. Units are the user's (e.g. MB and MB per time unit).
    """

    message_size: float
    capacity: float

    def __post_init__(self) -> None:
        require_finite("link", "message_size", self.message_size, minimum=0.0)
        require_finite("link", "capacity", self.capacity, minimum=0.0)

    def comm_time(self, n_workers: int) -> float:
        """Communication time added to every round when ``n_workers`` share the link.

        Raises
        ------
        ValueError
            If ``n_workers · message_size / capacity`` overflows.
        """
        t = n_workers * self.message_size / self.capacity
        if not math.isfinite(t):
            raise ValueError(f"link: communication time n·message_size/capacity overflows "
                             f"({n_workers}·{self.message_size:g}/{self.capacity:g})")
        return t


@dataclass(frozen=True, kw_only=True)
class RunTime:
    """Wall-clock time to apply a number of updates: mean and renewal-CLT spread."""

    updates: int
    mean: float
    std: float

    def to_dict(self) -> dict[str, float | None]:
        """Plain JSON types (an infinite spread, from infinite-variance rounds, is None)."""
        return {"updates": self.updates, "mean": self.mean,
                "std": self.std if math.isfinite(self.std) else None}


def _as_group(item: object) -> WorkerGroup:
    if isinstance(item, WorkerGroup):
        return item
    if isinstance(item, tuple | list) and len(item) == 2:
        return WorkerGroup(workers=item[0], delay=item[1])
    raise ValueError(f"each worker group must be a WorkerGroup or a (workers, DelayLaw) pair, "
                     f"got {item!r}")


def default_delay() -> DelayLaw:
    """The default round-time law: shifted exponential, shift 0.5, mean 1."""
    return shifted_exponential(shift=0.5, mean=1.0)


@dataclass(frozen=True, kw_only=True, init=False)
class Cluster:
    """Workers pushing gradients to one parameter server.

    Parameters
    ----------
    workers : int or sequence of WorkerGroup or (int, DelayLaw)
        Number of identical workers, or groups of workers with their own laws
        (e.g. 24 fast and 8 slow).
    delay : DelayLaw, optional
        Round-time law for identical workers (default: shifted exponential, shift 0.5,
        mean 1). Not allowed together with groups.
    threshold : int, optional
        Staleness threshold ``K``: gradients with staleness above ``K`` are dropped.
    link : SharedLink, optional
        Shared-bandwidth model: every round gains ``n · message_size / capacity``.

    Examples
    --------
    >>> from sdde import Cluster, delays
    >>> c = Cluster(workers=32, delay=delays.parse("gamma:shape=2,mean=1"))
    >>> float(c.arrival_rate)
    32.0
    >>> c.staleness(method="poisson").mean
    31.0
    """

    groups: tuple[WorkerGroup, ...]
    threshold: int | None
    link: SharedLink | None
    #: A threshold the user gave that drops no gradient (but with probability below
    #: :data:`INERT_THRESHOLD_MASS`): the cluster is analysed without it, and says so.
    inert_threshold: int | None

    def __init__(
        self,
        *,
        workers: int | Sequence[WorkerGroup | tuple[int, DelayLaw]],
        delay: DelayLaw | None = None,
        threshold: int | None = None,
        link: SharedLink | None = None,
    ) -> None:
        groups: tuple[WorkerGroup, ...]
        if isinstance(workers, int | np.integer) and not isinstance(workers, bool):
            groups = (WorkerGroup(workers=int(workers), delay=delay or default_delay()),)
        elif isinstance(workers, Sequence) and not isinstance(workers, str) and workers:
            if delay is not None:
                raise ValueError("give the delay law inside each worker group, not as delay=")
            groups = tuple(_as_group(g) for g in workers)
        else:
            raise ValueError(f"workers must be a whole number >= 1 or a list of groups, "
                             f"got {workers!r}")
        if threshold is not None and (isinstance(threshold, bool)
                                      or not isinstance(threshold, int | np.integer)
                                      or threshold < 0):
            raise ValueError(f"threshold must be a whole number >= 0, got {threshold!r}")
        if link is not None and not isinstance(link, SharedLink):
            raise ValueError(f"link must be a SharedLink, got {link!r}")
        if link is not None:
            link.comm_time(sum(g.workers for g in groups))  # validates: raises on overflow
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "link", link)
        means = [g.delay.mean for g in groups]
        if max(means) > MAX_MEAN_RATIO * min(means):
            raise ValueError(
                f"workers: the groups' mean round times span a factor "
                f"{max(means) / min(means):.3g}, beyond {MAX_MEAN_RATIO:g} (the input "
                "contract: the fastest group's staleness counts would outgrow any table "
                "while the slowest's are seen once in a lifetime); leave out the slowest "
                "or the fastest group")
        given = None if threshold is None else int(threshold)
        inert = given is not None and _drops_nothing(self._group_pairs(), given)
        if given is not None and not inert and given > MAX_THRESHOLD:
            raise ValueError(
                f"threshold: K = {given:,} is past the {MAX_THRESHOLD:,} staleness values sdde "
                "tabulates for a threshold, yet this cluster's staleness tail reaches beyond "
                f"it (heavy-tailed rounds): use a threshold of at most {MAX_THRESHOLD:,}")
        object.__setattr__(self, "threshold", None if inert else given)
        object.__setattr__(self, "inert_threshold", given if inert else None)

    # ------------------------------------------------------------------ basics
    @property
    def given_threshold(self) -> int | None:
        """The threshold as given (an inert one included): what a cluster of other worker
        counts built from this one must keep."""
        return self.threshold if self.threshold is not None else self.inert_threshold

    @property
    def n_workers(self) -> int:
        """Total number of workers ``n``."""
        return sum(g.workers for g in self.groups)

    @property
    def round_laws(self) -> tuple[DelayLaw, ...]:
        """Each group's effective round law (the shared link's time added)."""
        if self.link is None:
            return tuple(g.delay for g in self.groups)
        extra = self.link.comm_time(self.n_workers)
        return tuple(g.delay.shifted(extra) for g in self.groups)

    def _group_pairs(self) -> list[tuple[int, DelayLaw]]:
        return [(g.workers, law) for g, law in zip(self.groups, self.round_laws, strict=True)]

    @cached_property
    def time_unit(self) -> float:
        """The unit ``t₀ = n / Λ`` the cluster computes in (the harmonic-mean round time).

        Staleness laws do not depend on the time unit at all, and run and round times
        scale with it, so every computation runs on the round laws divided by ``t₀``
        (mean rounds near 1) and times are converted back at the end: the unit the user
        measures time in never affects the numerics.
        """
        return self.n_workers / self.arrival_rate

    @cached_property
    def _unit_pairs(self) -> list[tuple[int, DelayLaw]]:
        """The groups with their round laws in units of :attr:`time_unit`."""
        factor = 1.0 / self.time_unit
        return [(n, law.scaled(factor)) for n, law in self._group_pairs()]

    @property
    def arrival_rate(self) -> float:
        """Gradients reaching the server per time unit, ``Λ = Σ n_g / E[X_g]`` (exact)."""
        return float(sum(n / law.mean for n, law in self._group_pairs()))

    # ---------------------------------------------------------------- staleness
    def staleness(
        self,
        method: Literal["poisson", "exact"] = "poisson",
        *,
        rng: np.random.Generator | None = None,
        n_gradients: int = DEFAULT_SIMULATED_GRADIENTS,
        tail_tol: float = TAIL_TOL,
        progress: ProgressCallback | None = None,
    ) -> StalenessLaw:
        """Law of the staleness of an arriving gradient.

        Parameters
        ----------
        method : {"poisson", "exact"}
            ``poisson``: the mixed-Poisson approximation ``S | X=x ~ Poisson(a x)``.
            ``exact``: the exact law: from stationary renewal counts when every round law
            is deterministic, exponential, gamma, a shift of those or two-point, with a
            coefficient of variation of at most 4, and no threshold is set (``method``
            of the result is ``"renewal"``); otherwise by simulating stationary workers
            (``"simulation"``, needs ``rng``).
        rng : numpy.random.Generator, optional
            Needed when the exact law is simulated.
        n_gradients : int
            Gradients to simulate for a simulated law: at least
            :data:`MIN_GRADIENTS_PER_WORKER` per worker (else ``ValueError``).
        tail_tol : float
            Probability mass allowed beyond the tabulated range.
        progress : callable, optional
            Called with the fraction done (in [0, 1]) during the exact renewal
            computation, which takes seconds for thousands of workers.

        Returns
        -------
        StalenessLaw
            Mean ``n - 1`` without a threshold (exactly, for any laws); with a threshold
            ``K``, staleness counts accepted updates only and its mean is
            ``(n - 1) · P(accept)``.
        """
        if method == "poisson":
            if tail_tol == TAIL_TOL:
                return self._poisson[0]
            return poisson_staleness(self._unit_pairs, threshold=self.threshold,
                                     tail_tol=tail_tol, acceptance=self._acceptance)[0]
        if method != "exact":
            raise ValueError(f"method must be 'poisson' or 'exact', got {method!r}")
        if self.renewal_exact:
            return self._renewal_staleness(tail_tol, progress)
        if rng is None:
            raise ValueError(
                "the exact staleness of this cluster is simulated: pass rng="
                "numpy.random.default_rng(seed)"
            )
        return self._simulated_staleness(rng, n_gradients)

    @cached_property
    def _poisson(self) -> tuple[StalenessLaw, np.ndarray]:
        """Poisson-approximation law and per-group acceptance, solved once per cluster."""
        return poisson_staleness(self._unit_pairs, threshold=self.threshold,
                                 acceptance=self._acceptance)

    @cached_property
    def _acceptance(self) -> np.ndarray:
        """Per-group acceptance under the threshold (Poisson fixed point), without the law."""
        return poisson_acceptance(self._unit_pairs, self.threshold)

    @property
    def renewal_exact(self) -> bool:
        """Whether the exact staleness law is computed in closed form (else simulated)."""
        return self.threshold is None and all(_renewal.is_tractable(law)
                                              and law.cv <= _renewal.MAX_CV
                                              for law in self.round_laws)

    def _renewal_staleness(self, tail_tol: float,
                           progress: ProgressCallback | None = None) -> StalenessLaw:
        pairs = self._unit_pairs
        k_max = poisson_k_max(pairs, tail_tol=tail_tol)
        while True:  # the exact tail can be heavier than the Poisson one (high cv): grow
            pmf = _renewal.renewal_staleness_pmf(pairs, k_max, progress)
            if 1.0 - float(pmf.sum()) <= tail_tol or k_max >= K_CAP:
                break
            k_max = min(2 * k_max, K_CAP)
        k = np.arange(pmf.size)
        mean = float(self.n_workers - 1)  # exact for any laws (theory/staleness.md §2)
        var = max(float(pmf @ (k - mean) ** 2), 0.0)
        return StalenessLaw(probabilities=pmf, tail_mass=max(0.0, 1.0 - float(pmf.sum())),
                            mean=mean, var=var, method="renewal")

    def _simulated_staleness(self, rng: np.random.Generator, n_gradients: int) -> StalenessLaw:
        n = self.n_workers
        minimum = MIN_GRADIENTS_PER_WORKER * n
        if isinstance(n_gradients, bool) or not isinstance(n_gradients, int | np.integer) \
                or n_gradients < minimum:
            raise ValueError(
                f"gradients to simulate (n_gradients, --gradients) must be at least "
                f"{MIN_GRADIENTS_PER_WORKER} per worker, so >= {minimum} for {n} workers, "
                f"for the simulated exact staleness law; got {n_gradients!r}")
        stale, _ = _staleness_sim.simulate_staleness(
            self._unit_pairs, rng=rng, n_gradients=int(n_gradients), threshold=self.threshold)
        if stale.size == 0:  # not reached inside the input contract of sdde.delays.parse
            raise ValueError("no simulated gradient completed its round within the simulated "
                             "window: the round-time law's tail is too heavy to simulate")
        counts = np.bincount(stale)
        if self.threshold is None:
            # Exact for any laws (theory/staleness.md §2); the sample mean misses the
            # longest rounds, which the finite window cuts off (bias ~ n·cv²/n_gradients).
            mean = float(n - 1)
            heavy = any(not math.isfinite(law.raw_moment(2)) for _, law in self._unit_pairs)
            var = math.inf if heavy and n > 1 else float(stale.var())
        else:
            mean, var = float(stale.mean()), float(stale.var())
        return StalenessLaw(probabilities=counts / stale.size, tail_mass=0.0, mean=mean,
                            var=var, method="simulation", n_samples=int(stale.size))

    def acceptance(self, method: Literal["poisson", "exact"] = "poisson", *,
                   rng: np.random.Generator | None = None,
                   n_gradients: int = DEFAULT_SIMULATED_GRADIENTS) -> float:
        """Fraction of arriving gradients accepted under the threshold (1 without one)."""
        if self.threshold is None:
            return 1.0
        law = self.staleness(method, rng=rng, n_gradients=n_gradients)
        return float(law.cdf(self.threshold))

    @property
    def accepted_rate(self) -> float:
        """Updates applied per time unit (Poisson fixed point under a threshold)."""
        if self.threshold is None:
            return self.arrival_rate
        pairs = self._unit_pairs
        p = self._acceptance
        return float(sum(pg * n / law.mean for pg, (n, law) in zip(p, pairs, strict=True))
                     / self.time_unit)

    # ------------------------------------------------------------------ timing
    def run_time(self, updates: int) -> RunTime:
        """Time to apply ``updates`` updates: mean and renewal-CLT standard deviation.

        Notes
        -----
        The superposed arrival count has ``Var N(t) ≈ v t`` with
        ``v = Σ_g n_g σ_g² / μ_g³`` (renewal CLT), so the time to ``T`` arrivals has mean
        ``T / Λ`` and standard deviation ``sqrt(v T / Λ) / Λ`` (the long-run rate: from a
        stationary start the time to the ``T``-th update differs by a term of order one
        round, e.g. ``-μ/2`` for one deterministic worker). Under a threshold the
        accepted stream is treated as an independent thinning with probability ``p``:
        variance rate ``p² v + p (1 - p) Λ`` and rate ``p Λ`` (an approximation).
        """
        if isinstance(updates, bool) or not isinstance(updates, int | np.integer) \
                or updates < 1:
            raise ValueError(f"updates must be a whole number >= 1, got {updates!r}")
        # in units of time_unit (Λ near n), converted back at the end
        pairs, unit = self._unit_pairs, self.time_unit
        lam = float(sum(n / law.mean for n, law in pairs))
        v = sum(n * law.var / law.mean**3 for n, law in pairs)
        p = 1.0 if self.threshold is None else self.accepted_rate * unit / lam
        v_acc = p * p * v + p * (1.0 - p) * lam
        lam_acc = p * lam
        mean = updates / lam_acc
        std = math.sqrt(v_acc * mean) / lam_acc if math.isfinite(v_acc) else math.inf
        return RunTime(updates=int(updates), mean=mean * unit, std=std * unit)

    @property
    def sync_round_time(self) -> float:
        """Expected round time of synchronous SGD, ``E[max_i X_i]`` over all workers.

        Never below the largest mean round time (see :func:`expected_max`).
        """
        slowest = max(law.mean for _, law in self._group_pairs())  # exact, in user units
        if self.n_workers == 1:  # E[max of one round] is its mean, exactly (no rescaling)
            return slowest
        return max(self.time_unit * expected_max(self._unit_pairs), slowest)

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """Inputs of the cluster as plain JSON types."""
        return {
            "workers": self.n_workers,
            "groups": [{"workers": g.workers, "delay": str(g.delay)} for g in self.groups],
            "threshold": self.threshold,
            "inert_threshold": self.inert_threshold,
            "link": None if self.link is None else {"message_size": self.link.message_size,
                                                    "capacity": self.link.capacity},
        }


#: Largest ratio of the slowest to the fastest group's mean round time.
MAX_MEAN_RATIO = 1e6
#: Largest staleness threshold that drops gradients (tables of the thinned law and kernel
#: hold K + 1 values: 8 MiB each).
MAX_THRESHOLD = 2**20
#: A staleness threshold dropping less than this fraction of gradients is no threshold.
INERT_THRESHOLD_MASS = 1e-12


def _drops_nothing(groups: Sequence[tuple[int, DelayLaw]], threshold: int) -> bool:
    """Whether staleness above ``threshold`` has probability below the inert mass.

    A gradient of group ``g`` with round ``x`` sees about ``Poisson(b_g x)`` updates
    (``b_g = Λ − 1/μ_g``). Its staleness exceeds ``k_g = 2 (b x_q + 12 √(b x_q) + 30)``,
    ``x_q`` the ``1 − 10⁻¹³`` quantile of the round, with probability below ``10⁻¹³``
    (round beyond ``x_q``) plus a Poisson tail far below that; the factor 2 leaves room
    for renewal counts more dispersed than Poisson ones. Thresholds from ``n − 1`` up are
    checked only (below that, every threshold drops gradients).
    """
    n = sum(count for count, _ in groups)
    if threshold < 2 * (n + 30):
        return False
    total = sum(count / law.mean for count, law in groups)
    for _, law in groups:
        try:
            x_q = float(law.quantile(1.0 - 0.1 * INERT_THRESHOLD_MASS))
        except (ValueError, ArithmeticError):
            return False
        lam = (total - 1.0 / law.mean) * x_q
        if not (math.isfinite(lam) and threshold >= 2.0 * (lam + 12.0 * math.sqrt(lam) + 30.0)):
            return False
    return True


def expected_max(groups: Sequence[tuple[int, DelayLaw]]) -> float:
    """``E[max]`` of independent rounds: ``n_g`` rounds of law ``F_g`` for each group.

    Parameters
    ----------
    groups : sequence of (int, DelayLaw)
        Counts ``n_g >= 1`` and laws with finite means.

    Returns
    -------
    float
        At least ``max_g E[X_g]`` (exactly that for a single round) and never negative.

    Notes
    -----
    With ``*`` the group of largest mean,
    ``E[max] = μ* + ∫ (F*(x) − Π_g F_g(x)^{n_g}) dx`` and the integrand is
    ``F* · (1 − F*^{n*−1} Π_{g≠*} F_g^{n_g}) >= 0``: the exact mean carries the bulk and
    the quadrature only the non-negative excess. ``1 − Π`` is ``−expm1(Σ m_g log F_g)``
    with ``log F = log1p(−sf)`` in the tail, so there is no cancellation where heavy
    tails still carry a sizeable part of ``E[max]``. The range is cut at quantiles of
    every group (down to ``1e-15 / n`` of tail mass, and at a few lower levels), so the
    adaptive Gauss–Kronrod rule (:func:`sdde._numerics.adaptive_gauss_kronrod`) sees each
    scale; beyond the last cut ``x = e / t`` maps the tail onto ``(0, 1]``, where a power
    tail becomes an integrable end-point singularity.
    """
    pairs = [(int(n), law) for n, law in groups]
    star = max(range(len(pairs)), key=lambda g: pairs[g][1].mean)
    top = pairs[star][1]
    if all(law.continuous_mass == 0.0 for _, law in pairs):
        return max(_expected_max_atomic(pairs), float(top.mean))
    others = [(n - (g == star), law) for g, (n, law) in enumerate(pairs)]
    others = [(m, law) for m, law in others if m > 0]
    if not others:
        return float(top.mean)
    n_total = sum(n for n, _ in pairs)

    def excess(x: FloatArray) -> FloatArray:
        f_top = np.asarray(top.cdf(x), dtype=np.float64)
        log_rest = np.zeros_like(x)
        for m, law in others:
            sf = np.asarray(law.sf(x), dtype=np.float64)
            upper = sf < 0.5
            with np.errstate(divide="ignore"):  # F = 0 below a law's support: log 0
                log_f = np.where(upper, np.log1p(-np.where(upper, sf, 0.0)),
                                 np.log(np.asarray(law.cdf(x), dtype=np.float64)))
            log_rest += m * log_f
        return np.where(f_top > 0.0, f_top * -np.expm1(log_rest), 0.0)

    lo = top.support[0]
    levels = np.concatenate([[1e-3, 0.1, 0.5], 1.0 - np.logspace(0, -15, 31)[1:] / n_total])
    with np.errstate(over="ignore", under="ignore"):
        edges = np.concatenate([np.asarray(law.quantile(levels), dtype=np.float64)
                                for _, law in pairs]
                               + [law.breakpoints() for _, law in pairs]
                               + [law.atoms()[0] for _, law in pairs] + [np.array([lo])])
    edges = np.unique(edges[np.isfinite(edges) & (edges >= lo)])
    atol = 1e-12 * top.mean
    body = adaptive_gauss_kronrod(excess, edges, atol=atol, rtol=1e-10) if edges.size > 1 else 0.0
    e = float(edges[-1])
    if e > 0 and math.isinf(max(law.support[1] for _, law in pairs)):
        # x = e / t maps the tail onto (0, 1]: a power tail is an integrable singularity
        tail = adaptive_gauss_kronrod(lambda t: excess(e / t) * e / (t * t), [0.0, 1.0],
                                      atol=atol, rtol=1e-10)
    else:
        tail = 0.0
    return float(top.mean + max(body + tail, 0.0))


def _expected_max_atomic(pairs: Sequence[tuple[int, DelayLaw]]) -> float:
    """``E[max]`` of independent rounds of purely atomic laws, exactly, in ``O(N log N)``.

    Parameters
    ----------
    pairs : sequence of (int, DelayLaw)
        Counts ``n_g >= 1`` and laws without a continuous part (e.g. traces).

    Returns
    -------
    float
        ``E[max]``.

    Notes
    -----
    ``P(max <= x) = Π_g F_g(x)^{n_g}`` is a step function on the merged atoms
    ``x_0 < x_1 < …``, so ``E[max] = x_0 + Σ_j (x_{j+1} − x_j) (1 − Π_g F_g(x_j)^{n_g})``
    (for one trace of ``N`` values and ``n`` rounds this is
    ``Σ_i x_(i) [(i/N)^n − ((i−1)/N)^n]``). Every term is ``>= 0``; ``1 − Π`` is
    ``−expm1(Σ n_g log F_g)`` with ``log F = log1p(−sf)`` in the tail, ``sf`` summed
    from the top, so there is no cancellation in the tail.
    """
    pts_all = [law.atoms() for _, law in pairs]
    grid = np.unique(np.concatenate([pts for pts, _ in pts_all]))
    log_p = np.zeros(grid.size)
    for (n, _), (pts, mass) in zip(pairs, pts_all, strict=True):
        # mass strictly above each atom, summed from the top (exact in the tail)
        above = np.concatenate([np.cumsum(mass[::-1])[::-1][1:], [0.0]])
        total = float(np.sum(mass))
        idx = np.searchsorted(pts, grid, side="right")  # atoms <= grid point
        sf = np.where(idx > 0, above[np.maximum(idx - 1, 0)], total) / total
        with np.errstate(divide="ignore"):
            log_f = np.where(sf < 0.5, np.log1p(-np.minimum(sf, 0.5)),
                             np.log(np.maximum(1.0 - sf, 0.0)))
        log_p += n * log_f
    excess = -np.expm1(log_p[:-1])
    return float(grid[0] + np.sum(np.diff(grid) * excess))

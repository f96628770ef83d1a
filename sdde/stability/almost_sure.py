"""The almost-sure divergence threshold: where a single run of the real server blows up.

Without gradient noise, one Hessian mode of the server (THEORY.md §1, §3b) is a product
of random linear maps: worker ``i`` holds ``y_i``, the parameter at its last pull, and a
push by worker ``w`` with staleness ``s`` does ``θ ← θ − a g(s) y_w`` (if accepted by the
staleness cut-off), then ``y_w ← θ``, with ``a = η h = κ / n``. A run diverges almost
surely when the top Lyapunov exponent ``γ(κ)`` of that product (the growth rate of
``log |θ|`` per mean round) is positive. This is what a user sees as "my run blew up",
and it is not the mean-field threshold ``κ*`` of :mod:`sdde.stability.mean_field`: for
exponential rounds ``κ* = ∞`` while the server diverges at ``κ ≈ 1.78 √n``.

The push schedule (which worker pushes when) does not depend on ``θ``, so one schedule
drives every gain at once (common random numbers, :mod:`sdde.stability._lyapunov_kernel`):
``γ̂`` is then a smooth function of ``κ`` and its zero is found by a root finder on a local
quadratic fit, not by bisection on a noisy verdict. :func:`almost_sure_threshold` returns
the first upward crossing of zero with a 95 % interval (batch means, delta method);
theory/divergence.md derives the method and docs/validation.md checks it against the
simulator's measured thresholds.

Closed forms: one worker (``θ ← (1 − κ g(0)) θ``: ``κ_as = 2 / g(0)``) and deterministic
rounds (constant staleness ``n − 1``: ``θ_{k+1} = θ_k − a g θ_{k−n+1}``, a root on the unit
circle at ``a g = 2 sin(π / (4n − 2))``). The built-in example laws are tabulated in ``n``
(``data/almost_sure.json``, made by ``tools/tabulate_almost_sure.py``), so the command
line answers without the simulation.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import stdtrit  # t quantiles without scipy.stats (0.5 s to import)

from sdde._numerics import FloatArray, finite_or_none
from sdde._progress import ProgressCallback
from sdde.cluster.cluster import Cluster
from sdde.model.kernels import StepPolicy

IntArray = npt.NDArray[np.int64]

#: Confidence level of every interval.
CONFIDENCE = 0.95
#: Mean rounds discarded at the start of each schedule: the state's direction aligns with
#: the top Oseledets direction within about 5 rounds for every built-in law.
BURN_IN = 10.0
#: Pushes per schedule at most (about 40 bytes each while drawn, 2 kept).
MAX_PUSHES = 10_000_000
#: Pushes one estimate may simulate in all (a few seconds): past it the estimate stops
#: with the interval it has reached, which the result reports.
MAX_TOTAL_PUSHES = 6_000_000
#: Staleness values tabulated for the step policy (beyond: ``16 n + 64``, the last value).
POLICY_TABLE_SLACK = 64
#: Default relative 95 % half-width of an estimated threshold.
DEFAULT_REL_TOL = 0.01
#: The tabulated thresholds (the built-in example laws, one worker group, no cut-off).
TABLE_PATH = Path(__file__).with_name("data") / "almost_sure.json"


# ------------------------------------------------------------------------- records
@dataclass(frozen=True)
class LyapunovCurve:
    """``γ(κ)`` estimated on a grid from batches of pushes (common random numbers).

    Attributes
    ----------
    kappas : ndarray, shape (M,)
        Gains ``κ = η n h``.
    batches : ndarray, shape (B, M)
        Growth of ``log |θ|`` per mean round over each batch (rows pooled over schedules).
    batch_time : float
        Length of a batch in mean rounds (``n`` pushes per round).
    """

    kappas: FloatArray
    batches: FloatArray
    batch_time: float

    @property
    def time(self) -> float:
        """Mean rounds used for the estimate (burn-in excluded)."""
        return self.batch_time * self.batches.shape[0]

    @property
    def gamma(self) -> FloatArray:
        """The top Lyapunov exponent per mean round at each ``κ``."""
        return np.asarray(self.batches.mean(axis=0), dtype=np.float64)

    @property
    def half_width(self) -> FloatArray:
        """95 % batch-means interval half-width of :attr:`gamma` (Student, B − 1 df)."""
        b = self.batches.shape[0]
        return np.asarray(_t_quantile(b) * self.batches.std(axis=0, ddof=1) / math.sqrt(b),
                          dtype=np.float64)

    @property
    def sigma2(self) -> FloatArray:
        """Variance rate of ``log |θ|`` per mean round (``log |θ_t| ≈ γ t + σ √t Z``)."""
        return np.asarray(self.batches.var(axis=0, ddof=1) * self.batch_time,
                          dtype=np.float64)


@dataclass(frozen=True)
class AlmostSureThreshold:
    """The almost-sure divergence threshold ``κ_as`` of the real server.

    Attributes
    ----------
    kappa : float
        ``κ_as = η n h`` at which a single run starts to diverge (``inf``: none found).
    half_width : float
        95 % interval half-width (0 for a closed form).
    method : str
        ``"closed form"``, ``"Lyapunov estimate"`` or ``"tabulated Lyapunov estimate"``.
    sigma2 : float
        Variance rate of ``log |θ|`` per mean round at the threshold (NaN if not
        estimated): with ``γ`` it gives the tail index below the threshold.
    pushes : int
        Pushes simulated for the estimate (0 for a closed form or a table look-up).
    searched_to : float
        Largest ``κ`` searched when no crossing was found (``kappa`` is then ``inf``).
    """

    kappa: float
    half_width: float
    method: str
    sigma2: float = math.nan
    pushes: int = 0
    searched_to: float = math.nan

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % interval ``(κ − hw, κ + hw)``."""
        return (self.kappa - self.half_width, self.kappa + self.half_width)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (None for non-finite values)."""
        return {"kappa": finite_or_none(self.kappa),
                "half_width": finite_or_none(self.half_width), "method": self.method,
                "sigma2": finite_or_none(self.sigma2)}


# ------------------------------------------------------------------------ schedules
def push_workers(cluster: Cluster, rounds: float, rng: np.random.Generator) -> IntArray:
    """The pushing worker of each push over ``rounds`` mean rounds, stationary phases.

    The exact push order of the simulator (:func:`sdde.cluster._staleness_sim.push_schedule`);
    a mean round is ``n / λ`` time units, so about ``n · rounds`` pushes.
    """
    from sdde.cluster._staleness_sim import push_schedule  # numba: on first use

    pairs = [(g.workers, law) for g, law in zip(cluster.groups, cluster.round_laws,
                                                 strict=True)]
    horizon = rounds * cluster.n_workers / cluster.arrival_rate
    _, workers = push_schedule(pairs, horizon, rng, stationary=True)
    dtype = np.int16 if cluster.n_workers <= np.iinfo(np.int16).max else np.int32
    return np.ascontiguousarray(workers, dtype=dtype)


def _span(cluster: Cluster, rounds: float) -> float:
    """Rounds to draw so that ``n (BURN_IN + rounds)`` pushes are there: a margin of five
    standard deviations of the push count (``cv √(n T)``) and one round."""
    total = BURN_IN + rounds
    cvs = [law.cv for law in cluster.round_laws]
    cv = max(cvs) if all(math.isfinite(c) for c in cvs) else 10.0
    return total + 1.0 + 5.0 * max(cv, 0.5) * math.sqrt(total / cluster.n_workers)


def policy_factors(policy: StepPolicy | None, n: int) -> FloatArray:
    """``g(s)`` for ``s = 0 … 16 n + 63`` (the last value holds beyond); ``[1]`` if constant."""
    if policy is None or policy.is_constant:
        return np.ones(1)
    return np.ascontiguousarray(policy.factor(np.arange(16 * n + POLICY_TABLE_SLACK)),
                                dtype=np.float64)


def _sweep(workers: npt.NDArray[np.integer], cluster: Cluster, kappas: FloatArray,
           factors: FloatArray, batch_time: float, seed: int) -> tuple[FloatArray, float]:
    """Per-batch growth per mean round of one schedule, every ``κ`` in one pass."""
    from sdde.stability._lyapunov_kernel import lyapunov_sweep, safe_renorm

    n = cluster.n_workers
    gains = np.ascontiguousarray(kappas, dtype=np.float64) / n
    renorm = safe_renorm(n, float(gains.max()), float(np.abs(factors).max()))
    batch = max(renorm, renorm * round(batch_time * n / renorm))
    burn = renorm * math.ceil(BURN_IN * n / renorm)
    start = np.random.default_rng(seed).standard_normal(n + 1)  # a generic start
    threshold = -1 if cluster.threshold is None else int(cluster.threshold)
    logs, _ = lyapunov_sweep(np.asarray(workers, dtype=np.int64), n, gains, factors,
                             threshold, burn, batch, renorm, start[:n], float(start[n]))
    return np.asarray(logs / (batch / n), dtype=np.float64), batch / n


def _sweep_all(schedules: Sequence[npt.NDArray[np.integer]], cluster: Cluster,
               kappas: FloatArray, factors: FloatArray, batch_time: float) -> LyapunovCurve:
    """:func:`_sweep` of every stored schedule on one grid, batches pooled."""
    def one(k: int) -> tuple[FloatArray, float]:
        return _sweep(schedules[k], cluster, kappas, factors, batch_time, seed=k)

    out = _map(one, range(len(schedules)))
    return LyapunovCurve(np.asarray(kappas, dtype=np.float64),
                         np.vstack([o[0] for o in out]), out[0][1])


def _map(fn: Any, items: Any) -> list[Any]:
    items = list(items)
    threads = min(len(items), os.cpu_count() or 1)
    if threads <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(threads) as pool:  # the kernels release the GIL
        return list(pool.map(fn, items))


def _draw(cluster: Cluster, rounds: float, rng: np.random.Generator
          ) -> list[npt.NDArray[np.integer]]:
    """Independent schedules totalling ``rounds`` mean rounds after their burn-ins."""
    n = cluster.n_workers
    count = max(math.ceil(rounds * n / MAX_PUSHES), min(os.cpu_count() or 1,
                                                         math.ceil(rounds / 200.0)), 1)
    seeds = [int(s) for s in rng.integers(0, 2**63, size=count)]
    return _map(lambda s: push_workers(cluster, _span(cluster, rounds / count),
                                       np.random.default_rng(s)), seeds)


def lyapunov_curve(cluster: Cluster, kappas: npt.ArrayLike, *,
                   policy: StepPolicy | None = None, rounds: float = 2000.0,
                   rng: np.random.Generator | None = None,
                   batches: int = 20) -> LyapunovCurve:
    """The top Lyapunov exponent ``γ(κ)`` of the noise-free server on a grid of gains.

    Parameters
    ----------
    cluster : Cluster
        Workers, round laws and staleness cut-off.
    kappas : array_like
        Gains ``κ = η n h`` (all evaluated on the same schedules).
    policy : StepPolicy, optional
        Step-size factor ``g(s)`` (constant by default).
    rounds : float
        Mean rounds simulated after the burn-in (about ``n · rounds`` pushes).
    rng : numpy.random.Generator, optional
        Source of the schedules (default: a fixed seed, 0).
    batches : int
        Batches the run is split into for the interval.

    Returns
    -------
    LyapunovCurve

    Examples
    --------
    >>> from sdde import Cluster, delays
    >>> c = Cluster(workers=8, delay=delays.parse("exponential:mean=1"))
    >>> curve = lyapunov_curve(c, [2.0, 8.0], rounds=500)
    >>> bool(curve.gamma[0] < 0 < curve.gamma[1])  # κ_as(8) = 5.5 lies between
    True
    """
    grid = np.atleast_1d(np.asarray(kappas, dtype=np.float64))
    if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError("kappas must be finite numbers > 0, at least one")
    if not (math.isfinite(rounds) and rounds > 0):
        raise ValueError(f"rounds must be a finite number > 0, got {rounds!r}")
    rng = rng if rng is not None else np.random.default_rng(0)
    schedules = _draw(cluster, rounds, rng)
    factors = policy_factors(policy, cluster.n_workers)
    return _sweep_all(schedules, cluster, grid, factors, rounds / max(batches, 2)
                      / len(schedules))


# ------------------------------------------------------------------------ the root
def _t_quantile(batches: int) -> float:
    return float(stdtrit(max(batches - 1, 1), 0.5 + CONFIDENCE / 2))


def first_upward_crossing(kappas: FloatArray, gamma: FloatArray) -> int | None:
    """Index ``j`` of the first ``γ_j < 0 <= γ_{j+1}`` (the first from below), or None.

    Both values must be finite: ``−∞`` marks a gain where the state collapses to zero
    (``a g = 1`` on a fresh push), not a crossing.
    """
    for j in range(len(kappas) - 1):
        if np.isfinite(gamma[j]) and np.isfinite(gamma[j + 1]) and gamma[j] < 0 <= gamma[j + 1]:
            return j
    return None


def root_with_interval(curve: LyapunovCurve, j: int) -> tuple[float, float, float]:
    """The root of ``γ̂`` between ``κ_j`` and ``κ_{j+1}``, its 95 % half-width and slope.

    A quadratic through the (up to) four nearest grid points, its root inside the
    bracket (linear interpolation if it left). The fit is linear in the data, so the
    batches combined with the fit's weights at the root give the batch-means interval of
    ``γ̂(κ̂)``, divided by the slope (delta method; with common random numbers the fit
    adds no noise of its own).
    """
    k, g = curve.kappas, curve.gamma
    lo, hi = max(0, j - 1), min(len(k), j + 3)
    kk, gg = k[lo:hi] - k[j], g[lo:hi]
    deg = 2 if kk.size >= 3 else 1
    coef = np.polyfit(kk, gg, deg)
    found = np.roots(coef)
    found = found[np.isreal(found)].real
    inside = found[(found >= -1e-12) & (found <= k[j + 1] - k[j] + 1e-12)]
    offset = float(inside[0]) if inside.size else float(
        -g[j] * (k[j + 1] - k[j]) / (g[j + 1] - g[j]))
    slope = float(np.polyval(np.polyder(coef), offset))
    weights = np.vander(np.array([offset]), deg + 1) @ np.linalg.pinv(np.vander(kk, deg + 1))
    at_root = curve.batches[:, lo:hi] @ weights.ravel()
    hw_gamma = _t_quantile(at_root.size) * float(at_root.std(ddof=1)) / math.sqrt(at_root.size)
    return float(k[j]) + offset, (hw_gamma / abs(slope) if slope != 0 else math.inf), slope


#: Sweeps of the Monte Carlo estimate at most: 5 coarse, 3 fine, 4 polishing.
_MAX_SWEEPS = 12


def _estimate(cluster: Cluster, policy: StepPolicy | None, rng: np.random.Generator,
              rel_tol: float, progress: ProgressCallback | None = None) -> AlmostSureThreshold:
    """The Monte Carlo estimate (pilot grid → fine grid → polished root, more rounds
    until the interval is narrower than ``rel_tol``; see theory/divergence.md).

    ``progress`` is called with the share of the (at most :data:`_MAX_SWEEPS`) sweeps done.
    """
    sweeps = 0

    def swept() -> None:
        nonlocal sweeps
        sweeps += 1
        if progress is not None:
            progress(min(sweeps / _MAX_SWEEPS, 1.0))

    n = cluster.n_workers
    factors = policy_factors(policy, n)
    pilot = max(400.0, 40_000.0 / n)
    max_rounds = min(400.0 * pilot, MAX_TOTAL_PUSHES / n)
    schedules = _draw(cluster, pilot, rng)
    batch_time = pilot / 20.0
    lo_k, hi_k = 0.3, 3.0 + 4.0 * math.sqrt(n)
    j = None
    for _ in range(5):  # widen the search until γ crosses zero
        grid = np.geomspace(lo_k, hi_k, 24)
        coarse = _sweep_all(schedules, cluster, grid, factors, batch_time)
        swept()
        batch_time = coarse.batch_time  # rounded to the renormalisation interval
        j = first_upward_crossing(grid, coarse.gamma)
        if j is not None:
            break
        lo_k, hi_k = hi_k, hi_k * 4.0
    pushes = int(sum(s.size for s in schedules))
    if j is None:
        return AlmostSureThreshold(kappa=math.inf, half_width=0.0, method="Lyapunov estimate",
                                   pushes=pushes, searched_to=hi_k)
    ratio = grid[1] / grid[0]
    fine = np.linspace(grid[j] / ratio, grid[j + 1] * ratio, 9)
    found = None
    for _ in range(3):  # re-centre when the crossing sits at an edge of the window
        curve = _sweep_all(schedules, cluster, fine, factors, batch_time)
        swept()
        jf = first_upward_crossing(fine, curve.gamma)
        if jf is not None:
            found = root_with_interval(curve, jf)
            if 0 < jf < fine.size - 2:
                break
        width = fine[-1] - fine[0]
        shift = (0.8 * width if curve.gamma[-1] < 0 else -0.8 * width) if jf is None \
            else fine[jf] - fine[fine.size // 2]
        fine = np.clip(fine + shift, 1e-6, None)
    if found is None:  # the fine window lost it: the coarse bracket's root
        found = root_with_interval(coarse, j)
        curve = coarse
    root, hw, _ = found
    final = last = curve  # last: the curve the current root came from
    for _ in range(4):
        if hw > rel_tol * root and final.time < max_rounds:
            extra = min(max_rounds, 1.15 * final.time * (hw / (rel_tol * root)) ** 2) \
                - final.time
            if extra > 0.05 * final.time:
                schedules += _draw(cluster, extra, rng)
        polish = root + max(hw / root, 0.003) * root * np.linspace(-2.0, 2.0, 5)
        final = _sweep_all(schedules, cluster, polish, factors, batch_time)
        swept()
        jp = first_upward_crossing(polish, final.gamma)
        if jp is None:  # the crossing left the polish window: back to the fine grid
            final = _sweep_all(schedules, cluster, fine, factors, batch_time)
            swept()
            jp = first_upward_crossing(fine, final.gamma)
            if jp is None:  # noise moved it out of the fine grid too: keep the last
                final = last  # bracketed estimate, its interval as wide as it was
                break
        root, hw, _ = root_with_interval(final, jp)
        last = final
        if hw <= rel_tol * root or final.time >= max_rounds:
            break
    sigma2 = float(np.interp(root, final.kappas, final.sigma2))
    return AlmostSureThreshold(kappa=root, half_width=hw, method="Lyapunov estimate",
                               sigma2=sigma2, pushes=int(sum(s.size for s in schedules)))


# ------------------------------------------------------------------- closed forms
def deterministic_threshold(n: int) -> float:
    """``κ_as`` of deterministic rounds (distinct stationary phases), constant policy.

    The pushes cycle through the workers, every staleness is ``n − 1`` and the server is
    ``θ_{k+1} = θ_k − a θ_{k−n+1}``, characteristic polynomial ``z^n − z^{n−1} + a``. A root
    ``z = e^{iω}`` on the unit circle needs ``|e^{iω} − 1| = a`` and ``(n − ½) ω = π/2``:
    ``a = 2 sin(π / (4n − 2))``, ``κ = 2 n sin(π / (4n − 2))`` (2 at ``n = 1``, → π/2).

    Examples
    --------
    >>> deterministic_threshold(1), round(deterministic_threshold(10**6), 5)  # → π/2
    (2.0, 1.5708)
    """
    return 2.0 * n * math.sin(math.pi / (4 * n - 2))


def closed_form_threshold(cluster: Cluster, policy: StepPolicy | None = None) -> float | None:
    """``κ_as`` where it is known exactly (None elsewhere): one worker, deterministic rounds.

    Both recursions are deterministic (staleness always 0, or always ``n − 1``), so this is
    also their mean and mean-square threshold; ``inf`` when the cut-off drops every push.
    """
    n = cluster.n_workers
    g = policy_factors(policy, n)
    laws = cluster.round_laws
    if n == 1:
        stale = 0
    elif len(laws) == 1 and laws[0].std == 0:
        stale = n - 1
    else:
        return None
    if cluster.threshold is not None and stale > cluster.threshold:
        return math.inf  # every push is dropped: nothing ever moves
    factor = float(g[min(stale, g.size - 1)])
    if factor == 0:
        return math.inf
    base = 2.0 if n == 1 else deterministic_threshold(n)
    return base / factor


@cache
def _table() -> dict[str, Any]:
    return dict(json.loads(TABLE_PATH.read_text()))


def tabulated_threshold(cluster: Cluster, policy: StepPolicy | None = None
                        ) -> AlmostSureThreshold | None:
    """``κ_as`` from the table of the built-in laws, or None where it does not apply.

    It applies to one group of workers with a tabulated round law (any mean: ``κ`` is in
    mean-round units), no staleness cut-off and the constant policy. Between tabulated
    worker counts it interpolates linearly in ``1/n`` (in ``√n`` for exponential rounds);
    beyond the last it goes linearly in ``1/n`` to the mean-field ``κ*`` (the
    almost-sure threshold tends to it for laws with a finite one), and for exponential
    rounds it uses the large-``n`` law ``κ_as ≈ A √n + B`` fitted to the table's end.
    The half-width is the largest of the neighbouring entries'.
    """
    if (len(cluster.groups) != 1 or cluster.threshold is not None
            or (policy is not None and not policy.is_constant)):
        return None
    entry = _table()["laws"].get(str(cluster.round_laws[0].normalized()))
    n = cluster.n_workers
    if entry is None or n < entry["n"][0]:
        return None
    ns = np.asarray(entry["n"], dtype=np.float64)
    ks = np.asarray(entry["kappa"], dtype=np.float64)
    hws = np.asarray(entry["half_width"], dtype=np.float64)
    method = "tabulated Lyapunov estimate"
    if n <= ns[-1]:
        i = int(np.searchsorted(ns, n))
        hw = float(hws[max(i - 1, 0):i + 1].max())
        if entry["scaling"] == "sqrt":
            value = float(np.interp(math.sqrt(n), np.sqrt(ns), ks))
        else:
            value = float(np.interp(1.0 / n, 1.0 / ns[::-1], ks[::-1]))
        return AlmostSureThreshold(kappa=value, half_width=hw, method=method)
    if entry["scaling"] == "sqrt":
        a, b = entry["sqrt_fit"]
        return AlmostSureThreshold(kappa=a * math.sqrt(n) + b,
                                   half_width=float(hws[-1] / ks[-1]) * (a * math.sqrt(n) + b),
                                   method=method + " (large-n fit)")
    star = float(entry["kappa_star"])
    value = star + (ks[-1] - star) * ns[-1] / n
    return AlmostSureThreshold(kappa=value, half_width=float(hws[-1]),
                               method=method + " (large-n limit κ*)")


_CACHE: dict[tuple[str, str, float], AlmostSureThreshold] = {}


def almost_sure_threshold(cluster: Cluster, policy: StepPolicy | None = None, *,
                          rng: np.random.Generator | None = None,
                          rel_tol: float = DEFAULT_REL_TOL,
                          use_table: bool = True,
                          progress: ProgressCallback | None = None) -> AlmostSureThreshold:
    """``κ_as``: the gain ``κ = η n h`` above which a single run of the server diverges.

    Parameters
    ----------
    cluster : Cluster
        Workers, round laws and staleness cut-off.
    policy : StepPolicy, optional
        Step-size factor ``g(s)`` (constant by default).
    rng : numpy.random.Generator, optional
        Source of the push schedules. By default a fixed seed, and the answer is cached
        per cluster and policy (so a report and its sweeps agree).
    rel_tol : float
        Target relative 95 % half-width of a Monte Carlo estimate.
    use_table : bool
        Use the closed forms and the table of the built-in laws where they apply.
    progress : callable, optional
        Called with the fraction done of a Monte Carlo estimate (seconds to minutes for
        thousands of workers).

    Returns
    -------
    AlmostSureThreshold

    Examples
    --------
    >>> from sdde import Cluster, delays
    >>> c = Cluster(workers=256, delay=delays.parse("exponential:mean=1"))
    >>> t = almost_sure_threshold(c)       # the mean-field κ* is ∞ here
    >>> t.method, round(t.kappa, 1)
    ('tabulated Lyapunov estimate', 28.9)
    """
    if not (isinstance(rel_tol, float | int) and 0 < rel_tol < 1):
        raise ValueError(f"rel_tol must lie in (0, 1), got {rel_tol!r}")
    if use_table:
        exact = closed_form_threshold(cluster, policy)
        if exact is not None:
            return AlmostSureThreshold(kappa=exact, half_width=0.0, method="closed form")
        tabulated = tabulated_threshold(cluster, policy)
        if tabulated is not None:
            return tabulated
    if cluster.accepted_rate == 0:
        return AlmostSureThreshold(kappa=math.inf, half_width=0.0, method="closed form")
    if rng is not None:
        return _estimate(cluster, policy, rng, rel_tol, progress)
    key = (repr(cluster), repr(policy), float(rel_tol))
    if key not in _CACHE:
        _CACHE[key] = _estimate(cluster, policy, np.random.default_rng(0), rel_tol, progress)
    return _CACHE[key]


# ------------------------------------------------------------------------ tails
def gaussian_tail_index(gamma: float, sigma2: float) -> float:
    """Tail index ``ξ = −2γ/σ²`` of ``|θ|`` below the almost-sure threshold.

    With gradient noise the stationary law of a mode has a power tail,
    ``P(|θ| > x) ~ x^{−ξ}``, where ``ξ`` solves ``Λ(ξ) = 0`` for the moment growth rate
    ``Λ(p) = lim t⁻¹ log E|θ_t|^p`` of the noise-free server (Kesten). With the first two
    cumulants of the log-growth, ``Λ(p) ≈ γ p + σ² p²/2``, so ``ξ ≈ −2γ/σ²``; the loss
    ``∝ θ²`` then has tail index ``ξ/2`` (infinite variance when ``ξ < 4``, infinite mean
    when ``ξ < 2``). Accurate near ``κ_as`` (small ``ξ``); ``inf`` when ``σ² = 0``, NaN when
    ``γ >= 0``.
    """
    if not gamma < 0:
        return math.nan
    return math.inf if sigma2 <= 0 else -2.0 * gamma / sigma2

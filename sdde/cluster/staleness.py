"""Staleness laws: the record type and the Poisson (mixed-Poisson) approximation.

Staleness ``S`` of a gradient is the number of server updates applied between the
worker's pull and its push. Three calculators produce a :class:`StalenessLaw`:

* ``poisson`` (this module): ``S | X = x ~ Poisson(a x)`` with ``a`` the other
  workers' (accepted) update rate — a mixed Poisson law computed by quadrature;
* ``renewal`` (:mod:`sdde.cluster._renewal`): the exact law from stationary renewal counts,
  for laws whose convolution powers are known in closed form;
* ``simulation`` (:mod:`sdde.cluster._staleness_sim`): independent stationary renewal
  processes, simulated.

The derivations are in ``theory/staleness.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from sdde._numerics import FloatArray
from sdde.delays import DelayLaw
from sdde.delays._quadrature import law_quadrature

#: Largest staleness value a pmf is tabulated up to (beyond it only the tail mass is kept).
K_CAP = 2**18
#: Default bound on the probability mass left beyond the tabulated range.
TAIL_TOL = 1e-12
#: Half-width, in standard deviations, of the Poisson window evaluated around each node.
_WINDOW_SDS = 10.0

Groups = Sequence[tuple[int, DelayLaw]]


@dataclass(frozen=True, kw_only=True, eq=False)
class StalenessLaw:
    """Law of the staleness ``S`` (server updates between a gradient's pull and push).

    Parameters
    ----------
    probabilities : ndarray, shape (k_max + 1,)
        ``P(S = k)`` for ``k = 0 … k_max``.
    tail_mass : float
        ``P(S > k_max)``: mass beyond the tabulated range (tiny unless the law of the
        round times is heavy-tailed).
    mean, var : float
        Mean and variance of ``S`` (from closed forms where known, so they include the
        tail; ``inf`` where the variance diverges).
    method : {"poisson", "renewal", "simulation"}
        How the law was obtained.
    n_samples : int, optional
        Number of simulated gradients behind a ``simulation`` law.
    """

    probabilities: FloatArray
    tail_mass: float
    mean: float
    var: float
    method: str
    n_samples: int | None = None

    def __post_init__(self) -> None:
        p = np.asarray(self.probabilities, dtype=np.float64)
        p = np.where(p < 0, 0.0, p)  # FFT and quadrature round-off can leave -1e-17
        p.setflags(write=False)
        object.__setattr__(self, "probabilities", p)

    @property
    def k_max(self) -> int:
        """Largest tabulated staleness value."""
        return int(self.probabilities.size - 1)

    @property
    def std(self) -> float:
        """Standard deviation of ``S``."""
        return math.sqrt(self.var)

    def pmf(self, k: npt.ArrayLike) -> Any:
        """``P(S = k)``; 0 for negative or non-integer ``k``, ``nan`` beyond ``k_max``."""
        k_arr = np.asarray(k, dtype=np.float64)
        out = np.zeros(k_arr.shape)
        whole = (k_arr >= 0) & (k_arr == np.floor(k_arr))
        inside = whole & (k_arr <= self.k_max)
        out[inside] = self.probabilities[k_arr[inside].astype(np.int64)]
        out[whole & (k_arr > self.k_max)] = math.nan
        return out[()]

    def cdf(self, k: npt.ArrayLike) -> Any:
        """``P(S <= k)`` (``1 - tail_mass`` is the largest value known beyond ``k_max``)."""
        k_arr = np.floor(np.asarray(k, dtype=np.float64))
        cum = np.cumsum(self.probabilities)
        idx = np.clip(k_arr, -1, self.k_max).astype(np.int64)
        out = np.where(idx < 0, 0.0, cum[np.maximum(idx, 0)])
        return np.minimum(out, 1.0)[()]

    def quantile(self, q: npt.ArrayLike) -> Any:
        """Smallest ``k`` with ``P(S <= k) >= q``; ``inf`` if that lies beyond ``k_max``."""
        q_arr = np.asarray(q, dtype=np.float64)
        if np.any((q_arr < 0) | (q_arr > 1) | ~np.isfinite(q_arr)):
            raise ValueError(f"quantile levels must lie in [0, 1], got {q!r}")
        cum = np.cumsum(self.probabilities)
        # A level within rounding of a cumulative step belongs to that step.
        idx = np.atleast_1d(np.searchsorted(cum, q_arr - 1e-12, side="left").astype(np.float64))
        idx[idx > self.k_max] = math.inf
        return idx.reshape(q_arr.shape)[()]

    def total_variation(self, other: StalenessLaw) -> float:
        """Total-variation distance ``½ Σ |p_k − q_k|``.

        Beyond the shorter table the two tail masses are counted as if disjoint, so the
        value is an upper bound by at most ``½ (tail_mass + other.tail_mass)``.
        """
        n = max(self.probabilities.size, other.probabilities.size)
        p = np.zeros(n)
        q = np.zeros(n)
        p[: self.probabilities.size] = self.probabilities
        q[: other.probabilities.size] = other.probabilities
        return float(0.5 * (np.abs(p - q).sum() + self.tail_mass + other.tail_mass))

    def to_dict(self, *, max_points: int = 4096) -> dict[str, Any]:
        """Plain JSON types; the pmf is cut where its cumulative reaches ``1 - 1e-9``."""
        last = int(min(self.quantile(1 - 1e-9) if self.tail_mass < 1e-9 else self.k_max,
                       self.k_max, max_points - 1))
        return {
            "method": self.method,
            "mean": _json_float(self.mean),
            "var": _json_float(self.var),
            "p50": _json_float(float(self.quantile(0.5))),
            "p99": _json_float(float(self.quantile(0.99))),
            "pmf": [float(v) for v in self.probabilities[: last + 1]],
            "tail_mass": float(self.tail_mass),
            "n_samples": self.n_samples,
        }


def _json_float(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


# ----------------------------------------------------------------- mixed Poisson


@np.errstate(under="ignore")  # far-tail probabilities underflow to 0, harmlessly
def mixed_poisson_pmf(law: DelayLaw, rate: float, k_max: int) -> FloatArray:
    """``P(S = k) = ∫ Pois(k; rate · x) dF(x)`` for ``k = 0 … k_max``.

    Parameters
    ----------
    law : DelayLaw
        Law ``F`` of the mixing variable (a round time).
    rate : float
        Poisson rate per unit time (``>= 0``).
    k_max : int
        Largest ``k`` returned.

    Returns
    -------
    ndarray, shape (k_max + 1,)

    Notes
    -----
    Quadrature in ``x`` (:func:`sdde.delays._quadrature.law_quadrature`) with panels of
    constant width in ``sqrt(x)``, where the Poisson kernel has constant width. Each
    node only feeds the ``k`` within ``±10`` standard deviations of its mean, so the cost
    is about ``k_max`` times a constant rather than ``k_max`` times the node count.
    Nodes beyond ``x_cut`` with ``P(Pois(rate x_cut) <= k_max) = 1e-18`` are dropped.
    """
    out = np.zeros(k_max + 1)
    if rate == 0.0:
        out[0] = 1.0
        return out
    x_cut = float(special.gammainccinv(k_max + 1.0, 1e-18)) / rate
    nodes, weights = law_quadrature(law, sqrt_step=0.5 / math.sqrt(rate), x_max=x_cut)
    lam = rate * nodes
    order = np.argsort(lam)
    lam, weights = lam[order], weights[order]
    chunk = 32
    log_fact = special.gammaln(np.arange(k_max + 1) + 1.0)
    for start in range(0, lam.size, chunk):
        lam_c, w_c = lam[start:start + chunk], weights[start:start + chunk]
        k_lo = max(0, math.floor(lam_c[0] - _WINDOW_SDS * math.sqrt(lam_c[0]) - 10))
        k_hi = min(k_max, math.ceil(lam_c[-1] + _WINDOW_SDS * math.sqrt(lam_c[-1]) + 40))
        if k_lo > k_hi:
            continue
        k = np.arange(k_lo, k_hi + 1, dtype=np.float64)
        # xlogy: k log λ with 0 log 0 = 0, so a node at x = 0 puts its mass on k = 0 only.
        log_p = (special.xlogy(k[:, None], lam_c[None, :]) - lam_c[None, :]
                 - log_fact[k_lo:k_hi + 1, None])
        out[k_lo:k_hi + 1] += np.exp(log_p) @ w_c
    return out


def poisson_staleness(
    groups: Groups,
    *,
    threshold: int | None = None,
    tail_tol: float = TAIL_TOL,
) -> tuple[StalenessLaw, FloatArray]:
    """Staleness under the Poisson approximation, and each group's acceptance probability.

    Parameters
    ----------
    groups : sequence of (n_workers, DelayLaw)
        Worker groups with their (effective) round-time laws.
    threshold : int, optional
        Staleness threshold ``K``: gradients with ``S > K`` are dropped and do not
        count as updates. The acceptance probabilities then solve the fixed point
        ``p_g = P(S_g <= K)`` with ``S_g | x ~ Poisson(b_g(p) x)``.
    tail_tol : float
        Mass allowed beyond the tabulated range (up to :data:`K_CAP`).

    Returns
    -------
    law : StalenessLaw
        Staleness of an arriving gradient (before any dropping), averaged over groups
        with weights proportional to their arrival rates.
    acceptance : ndarray, shape (n_groups,)
        Per-group acceptance probabilities (all 1 without a threshold).

    Notes
    -----
    Group ``g`` has ``n_g`` workers with mean round ``μ_g`` and rate ``r_g = 1/μ_g``.
    A gradient of group ``g`` sees the other workers' accepted updates at rate
    ``b_g = Σ_h n_h r_h p_h − r_g p_g``; without a threshold ``b_g = Λ − r_g`` with
    ``Λ = Σ n_h r_h``, and the mean staleness is ``n − 1`` exactly.
    """
    counts = np.array([n for n, _ in groups], dtype=np.float64)
    laws = [law for _, law in groups]
    rates = 1.0 / np.array([law.mean for law in laws])
    p = np.ones(len(laws)) if threshold is None else _acceptance_fixed_point(
        counts, rates, laws, threshold)
    other_rates = counts @ (rates * p) - rates * p
    shares = counts * rates / (counts @ rates)
    k_max = _k_max(laws, other_rates, tail_tol)
    pmf = sum(
        (s * mixed_poisson_pmf(law, b, k_max) for s, law, b in zip(shares, laws, other_rates,
                                                                     strict=True)),
        start=np.zeros(k_max + 1),
    )
    means = other_rates / rates
    mean = float(shares @ means)
    second = np.array([0.0 if b == 0 else b * law.mean + b * b * law.raw_moment(2)
                       for law, b in zip(laws, other_rates, strict=True)])
    var = float(shares @ second - mean * mean) if np.all(np.isfinite(second)) else math.inf
    law_out = StalenessLaw(probabilities=pmf, tail_mass=max(0.0, 1.0 - float(pmf.sum())),
                           mean=mean, var=var, method="poisson")
    return law_out, p


def _k_max(laws: Sequence[DelayLaw], rates: FloatArray, tail_tol: float) -> int:
    """A ``k`` with ``P(S > k) <~ tail_tol`` for the mixed Poisson laws (capped)."""
    k = 1.0
    for law, a in zip(laws, rates, strict=True):
        x_q = float(law.quantile(1.0 - tail_tol))
        lam = a * x_q
        k = max(k, lam + 12.0 * math.sqrt(lam) + 30.0)
    return int(min(math.ceil(k), K_CAP))


def _acceptance_fixed_point(counts: FloatArray, rates: FloatArray, laws: Sequence[DelayLaw],
                            threshold: int) -> FloatArray:
    if threshold < 0:
        raise ValueError(f"threshold must be a whole number >= 0, got {threshold!r}")

    def accept(p: FloatArray) -> FloatArray:
        # A probability: the summed pmf can exceed 1 by rounding (1 + 4e-16 when the
        # threshold is far in the tail), which would leave brentq's bracket without a sign change.
        b = counts @ (rates * p) - rates * p
        return np.array([min(1.0, float(mixed_poisson_pmf(law, max(bg, 0.0), threshold).sum()))
                         for law, bg in zip(laws, b, strict=True)])

    if len(laws) == 1:
        root = optimize.brentq(lambda q: q - accept(np.array([q]))[0], 0.0, 1.0, xtol=1e-14)
        return np.array([root])
    guess = np.full(len(laws), float(np.mean(accept(np.ones(len(laws))))))
    sol = optimize.root(lambda p: p - accept(np.clip(p, 0.0, 1.0)), guess, tol=1e-13)
    p = np.clip(sol.x, 0.0, 1.0)
    if not sol.success or np.max(np.abs(p - accept(p))) > 1e-9:
        raise RuntimeError(f"acceptance fixed point did not converge: {sol.message}")
    return np.asarray(p, dtype=np.float64)

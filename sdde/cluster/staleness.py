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
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import fft, special

from sdde import _lazy
from sdde._numerics import FloatArray, brentq
from sdde.delays import (
    DelayLaw,
    Deterministic,
    Empirical,
    Exponential,
    Gamma,
    Mixture,
    Shifted,
    Uniform,
)
from sdde.delays._quadrature import law_quadrature

optimize = _lazy.module("scipy.optimize")  # optimize.root for several groups only

#: Largest staleness value a pmf is tabulated up to (beyond it only the tail mass is kept),
#: unless the mean staleness times :data:`K_CAP_PER_MEAN` is larger: the bulk of the law is
#: always tabulated (a million workers have a mean staleness near 10⁶).
K_CAP = 2**18
#: Most staleness values a table may hold (512 MiB of float64).
MAX_TABLE = 2**26
#: The cap on tabulated staleness values is at least this many times the mean staleness.
K_CAP_PER_MEAN = 32
#: Default bound on the probability mass left beyond the tabulated range.
TAIL_TOL = 1e-12
#: Half-width, in standard deviations, of the Poisson window evaluated around each node.
_WINDOW_SDS = 10.0
#: Quadrature panel width in ``sqrt(rate x)``: two standard deviations of the Poisson
#: kernel per 10-point Gauss–Legendre panel. Measured against panels half as wide: 2e-15
#: in total variation (round-off); 1.5 times wider gives 3e-13, twice 5e-11.
_SQRT_STEP = 1.0
#: Mass of the round law beyond the quantile the transform method's FFT length covers.
_TRANSFORM_TAIL = 1e-16
#: Largest FFT length (times transform terms) of the transform method.
_TRANSFORM_MAX = 2**26
#: The transform method is used while its ``L log L`` is below this times the quadrature's work.
_TRANSFORM_ADVANTAGE = 4.0
#: Work (``L log L``) below which the transform is used whatever the quadrature would cost.
_TRANSFORM_CHEAP = 2.0**20
#: Spectrum values below this bound are not evaluated (each changes ``p_k`` by less).
_TRANSFORM_NEGLIGIBLE = 1e-30

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
        if p.ndim != 1 or p.size == 0 or not np.all(np.isfinite(p)):
            raise ValueError("a staleness law needs a non-empty 1-d table of finite "
                             f"probabilities, got shape {p.shape}")
        p = np.where(p < 0, 0.0, p)  # FFT and quadrature round-off can leave -1e-17
        p.setflags(write=False)
        object.__setattr__(self, "probabilities", p)

    @cached_property
    def _cumulative(self) -> FloatArray:
        """``P(S <= k)`` for ``k = 0 … k_max`` (once: tables reach 10⁷ entries)."""
        return np.cumsum(self.probabilities)

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
        cum = self._cumulative
        idx = np.clip(k_arr, -1, self.k_max).astype(np.int64)
        out = np.where(idx < 0, 0.0, cum[np.maximum(idx, 0)])
        return np.minimum(out, 1.0)[()]

    def quantile(self, q: npt.ArrayLike) -> Any:
        """Smallest ``k`` with ``P(S <= k) >= q``; ``inf`` if that lies beyond ``k_max``."""
        q_arr = np.asarray(q, dtype=np.float64)
        if np.any((q_arr < 0) | (q_arr > 1) | ~np.isfinite(q_arr)):
            raise ValueError(f"quantile levels must lie in [0, 1], got {q!r}")
        cum = self._cumulative
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

    def to_dict(self, *, max_points: int = 16384) -> dict[str, Any]:
        """Plain JSON types; the pmf listed from ``pmf_start`` over its central range.

        The listed range holds all but ``1e-9`` of the mass (at most ``max_points``
        values around the median when the law is wider), and ``pmf_mass_outside`` is the
        rest, so ``sum(pmf) + pmf_mass_outside == 1`` whatever was cut.
        """
        probabilities = self.probabilities
        cdf = np.cumsum(probabilities)
        first = int(np.searchsorted(cdf, 1e-9 / 2, side="right")) if cdf.size else 0
        last = int(min(np.searchsorted(cdf, cdf[-1] - 1e-9 / 2) if cdf.size else 0,
                       probabilities.size - 1))
        if last - first + 1 > max_points:
            median = int(self.quantile(0.5))
            first = max(first, median - max_points // 2)
            last = min(last, first + max_points - 1)
        listed = probabilities[first:last + 1]
        return {
            "method": self.method,
            "mean": _json_float(self.mean),
            "var": _json_float(self.var),
            "p50": _json_float(float(self.quantile(0.5))),
            "p99": _json_float(float(self.quantile(0.99))),
            "pmf_start": first,
            "pmf": [float(v) for v in listed],
            "pmf_mass_outside": max(0.0, 1.0 - float(listed.sum())),
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
    Two methods, the cheaper one is used:

    * transform: the generating function is ``E[z^S] = φ(rate (1 - z))`` with ``φ`` the
      Laplace transform of ``F``; on ``L`` roots of unity, an inverse FFT returns the pmf
      folded modulo ``L``. ``L`` is chosen with ``P(S >= L) <= 1e-16``, which bounds the
      folding error in total variation (the law's ``1 - 1e-16`` quantile plus 12 Poisson
      standard deviations). Needs a closed-form ``φ``; cost ``O(L log L)``. Frequencies
      where ``|φ| <= φ(Re z) < 1e-30`` are not evaluated (:func:`_transform_frequencies`).
    * quadrature in ``x`` (:func:`sdde.delays._quadrature.law_quadrature`) with panels of
      constant width in ``sqrt(x)``, where the Poisson kernel has constant width
      (two of its standard deviations, :data:`_SQRT_STEP`). Each
      node only feeds the ``k`` within ``±10`` standard deviations of its mean, so the
      cost is about ``k_max`` times a constant rather than ``k_max`` times the node count.
      Nodes beyond ``x_cut`` with ``P(Pois(rate x_cut) <= k_max) = 1e-18`` are dropped.
      The Poisson log-pmf is written through the deviance (:func:`_log_poisson_norm`),
      accurate to ``ε |k - λ|`` instead of ``ε λ``.

    The two methods agree to about 1e-15 in total variation up to 10⁴ workers
    (``tests/cluster/test_large_clusters.py``).
    """
    out = np.zeros(k_max + 1)
    if rate == 0.0:
        out[0] = 1.0
        return out
    size = _transform_length(law, rate)
    # the transform is also the more accurate (no k log λ - λ cancellation): use it
    # whenever it takes milliseconds, or less than the quadrature
    if size is not None and size * math.log2(size) <= max(
            _TRANSFORM_CHEAP, _TRANSFORM_ADVANTAGE * _quadrature_work(law, rate, k_max)):
        return _mixed_poisson_transform(law, rate, k_max, size)
    return _mixed_poisson_quadrature(law, rate, k_max)


def _mixed_poisson_quadrature(law: DelayLaw, rate: float, k_max: int) -> FloatArray:
    out = np.zeros(k_max + 1)
    x_cut = float(special.gammainccinv(k_max + 1.0, 1e-18)) / rate
    nodes, weights = law_quadrature(law, sqrt_step=_SQRT_STEP / math.sqrt(rate), x_max=x_cut)
    lam = rate * nodes
    order = np.argsort(lam)
    lam, weights = lam[order], weights[order]
    zero = lam == 0.0  # a node at x = 0 puts its mass on k = 0 only
    out[0] += float(weights[zero].sum())
    lam, weights = lam[~zero], weights[~zero]
    chunk = 32
    # log Pois(k; λ) = -λ D((k - λ)/λ) - ½ log(2πk) - stirlerr(k), D(d) = (1+d) log1p(d) - d:
    # rounding error ~ ε |k - λ| where k log λ - λ - log k! loses ~ ε λ (1e-10 at λ = 10⁶)
    log_norm = _log_poisson_norm(k_max)
    for start in range(0, lam.size, chunk):
        lam_c, w_c = lam[start:start + chunk], weights[start:start + chunk]
        k_lo = max(0, math.floor(lam_c[0] - _WINDOW_SDS * math.sqrt(lam_c[0]) - 10))
        k_hi = min(k_max, math.ceil(lam_c[-1] + _WINDOW_SDS * math.sqrt(lam_c[-1]) + 40))
        if k_lo > k_hi:
            continue
        k = np.arange(k_lo, k_hi + 1, dtype=np.float64)
        d = (k[:, None] - lam_c[None, :]) / lam_c[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):  # k = 0: d = -1, D = 1
            deviance = np.where(d > -1.0, (1.0 + d) * np.log1p(d) - d, 1.0)
        log_p = -lam_c[None, :] * deviance - log_norm[k_lo:k_hi + 1, None]
        # einsum, not BLAS: waking BLAS threads costs ~10 ms per call on a busy machine
        out[k_lo:k_hi + 1] += np.einsum("kn,n->k", np.exp(log_p), w_c)
    return out


def _log_poisson_norm(k_max: int) -> FloatArray:
    """``½ log(2πk) + stirlerr(k)`` for ``k = 0 … k_max`` (0 at ``k = 0``).

    ``stirlerr(k) = log k! - (k log k - k + ½ log(2πk))``: from ``gammaln`` below 15,
    where it is a difference of small numbers, and from Stirling's series (next term
    below 2e-16) from 15 on, where the difference would cancel.
    """
    k = np.arange(k_max + 1, dtype=np.float64)
    out = np.zeros(k_max + 1)
    small = (k >= 1) & (k < 15)
    ks = k[small]
    out[small] = special.gammaln(ks + 1.0) - (ks * np.log(ks) - ks)
    big = k >= 15
    kb = k[big]
    kb2 = kb**-2.0
    stirlerr = (1 / 12 - kb2 * (1 / 360 - kb2 * (1 / 1260 - kb2 * (1 / 1680 - kb2 / 1188)))) / kb
    out[big] = 0.5 * np.log(2.0 * np.pi * kb) + stirlerr
    return out


def _quadrature_work(law: DelayLaw, rate: float, k_max: int) -> float:
    """Exponentials the quadrature evaluates, roughly (nodes times window width)."""
    x_hi = min(float(law.quantile(1.0 - 1e-16)),
               float(special.gammainccinv(k_max + 1.0, 1e-18)) / rate)
    x_lo = float(law.support[0])
    if not x_hi > x_lo:
        return 1.0
    # 10 nodes per panel of _SQRT_STEP in sqrt(rate x), each with a window of
    # 20 sqrt(rate x) + 50
    y_lo, y_hi = math.sqrt(rate * x_lo), math.sqrt(rate * x_hi)
    nodes = 10.0 / _SQRT_STEP * (y_hi - y_lo) + 1000.0
    return nodes * (10.0 * (y_lo + y_hi) + 50.0)


def _transform_length(law: DelayLaw, rate: float) -> int | None:
    """FFT length ``L`` with ``P(S >= L) <= 2e-16``, or ``None`` if no cheap ``φ``."""
    terms = _transform_terms(law)
    if terms is None:
        return None
    lam = rate * float(law.quantile(1.0 - _TRANSFORM_TAIL))
    if not math.isfinite(lam) or lam > _TRANSFORM_MAX:
        return None
    size = int(fft.next_fast_len(math.ceil(lam + 12.0 * math.sqrt(lam) + 40.0), real=True))
    return size if terms * size <= _TRANSFORM_MAX else None


def _transform_terms(law: DelayLaw) -> int | None:
    """Cost of one closed-form ``φ(z)`` in elementary terms (``None``: not closed form)."""
    if isinstance(law, Shifted):
        return _transform_terms(law.base)
    if isinstance(law, Mixture):
        parts = [_transform_terms(c) for c in law.components]
        return None if any(t is None for t in parts) else sum(t for t in parts if t)
    if isinstance(law, Empirical):
        return int(law.atoms()[0].size)
    if isinstance(law, Deterministic | Exponential | Gamma | Uniform):
        return 1
    return None


def _mixed_poisson_transform(law: DelayLaw, rate: float, k_max: int, size: int) -> FloatArray:
    n_freq = _transform_frequencies(law, rate, size)
    omega = (2.0 * math.pi / size) * np.arange(n_freq)
    # rate (1 - e^{-iω}) without cancellation at small ω
    z = np.empty(n_freq, dtype=np.complex128)
    z.real = (2.0 * rate) * np.sin(0.5 * omega) ** 2
    z.imag = rate * np.sin(omega)
    del omega
    spectrum = np.zeros(size // 2 + 1, dtype=np.complex128)
    spectrum[:n_freq] = law.laplace(z)
    del z  # tables of 10⁷ entries: keep the peak memory down
    pmf = fft.irfft(spectrum, size, overwrite_x=True)
    del spectrum
    np.maximum(pmf, 0.0, out=pmf)  # round-off leaves |values| below 1e-18
    if size >= k_max + 1:
        return pmf[: k_max + 1]
    out = np.zeros(k_max + 1)
    out[:size] = pmf
    return out


def _transform_frequencies(law: DelayLaw, rate: float, size: int) -> int:
    """How many low frequencies carry ``|φ| >= _TRANSFORM_NEGLIGIBLE``; the rest are 0.

    ``|φ(z)| <= E[e^{-Re(z) X}] = φ(Re z)``, and ``Re z = 2 rate sin²(ω/2)`` increases on
    ``[0, π]``, so the bound decreases and bisection finds where it crosses. Dropping
    the rest changes each ``p_k`` by at most ``2 · _TRANSFORM_NEGLIGIBLE``. Shifted and
    gamma laws keep well under 1 % of the frequencies for 10⁶ workers.
    """
    n_all = size // 2 + 1

    def bound(omega: float) -> float:
        return float(np.real(law.laplace(2.0 * rate * math.sin(0.5 * omega) ** 2)))

    if bound(math.pi) >= _TRANSFORM_NEGLIGIBLE:
        return n_all
    lo, hi = 0.0, math.pi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if bound(mid) >= _TRANSFORM_NEGLIGIBLE else (lo, mid)
    return min(n_all, math.ceil(hi * size / (2.0 * math.pi)) + 2)


def poisson_staleness(
    groups: Groups,
    *,
    threshold: int | None = None,
    tail_tol: float = TAIL_TOL,
    acceptance: FloatArray | None = None,
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
        Mass allowed beyond the tabulated range (up to :data:`K_CAP`, or
        :data:`K_CAP_PER_MEAN` times the mean staleness if that is larger).
    acceptance : ndarray, optional
        The groups' acceptance probabilities if already solved
        (:func:`poisson_acceptance` with the same groups and threshold).

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
    p = poisson_acceptance(groups, threshold) if acceptance is None else acceptance
    other_rates = counts @ (rates * p) - rates * p
    shares = counts * rates / (counts @ rates)
    k_max = _k_max(laws, other_rates, tail_tol)
    pmf = np.zeros(k_max + 1)
    for s, law, b in zip(shares, laws, other_rates, strict=True):
        pmf += s * mixed_poisson_pmf(law, b, k_max)
    means = other_rates / rates
    mean = float(shares @ means)
    second = np.array([0.0 if b == 0 else b * law.mean + b * b * law.raw_moment(2)
                       for law, b in zip(laws, other_rates, strict=True)])
    var = float(shares @ second - mean * mean) if np.all(np.isfinite(second)) else math.inf
    law_out = StalenessLaw(probabilities=pmf, tail_mass=max(0.0, 1.0 - float(pmf.sum())),
                           mean=mean, var=var, method="poisson")
    return law_out, p


def poisson_acceptance(groups: Groups, threshold: int | None) -> FloatArray:
    """Each group's acceptance probability ``P(S_g <= K)`` under the Poisson approximation.

    The fixed point of :func:`poisson_staleness` alone: it needs the pmf up to ``K`` only,
    so a cluster's accepted update rate costs nothing like its staleness table (a Pareto
    law's table runs to 2¹⁸ values, 1–2 s, where ``K`` is often below 100).

    Parameters
    ----------
    groups : sequence of (n_workers, DelayLaw)
        Worker groups with their (effective) round-time laws.
    threshold : int or None
        Staleness threshold ``K`` (``None``: every gradient is accepted).

    Returns
    -------
    ndarray, shape (n_groups,)
    """
    if threshold is None:
        return np.ones(len(groups))
    counts = np.array([n for n, _ in groups], dtype=np.float64)
    laws = [law for _, law in groups]
    rates = 1.0 / np.array([law.mean for law in laws])
    return _acceptance_fixed_point(counts, rates, laws, threshold)


def poisson_k_max(groups: Groups, *, tail_tol: float = TAIL_TOL) -> int:
    """Largest staleness :func:`poisson_staleness` tabulates without a threshold.

    ``P(S > k_max) <~ tail_tol`` under the Poisson approximation, up to the cap
    ``max(K_CAP, K_CAP_PER_MEAN · mean staleness)``; no pmf is computed.
    """
    counts = np.array([n for n, _ in groups], dtype=np.float64)
    laws = [law for _, law in groups]
    rates = 1.0 / np.array([law.mean for law in laws])
    return _k_max(laws, counts @ rates - rates, tail_tol)


def _k_max(laws: Sequence[DelayLaw], rates: FloatArray, tail_tol: float) -> int:
    """A ``k`` with ``P(S > k) <~ tail_tol`` for the mixed Poisson laws (capped).

    Raises ``ValueError`` when the bulk of some group's staleness (its mean) lies beyond
    :data:`MAX_TABLE` entries: no table of the law fits in memory.
    """
    k = 1.0
    cap = float(K_CAP)
    for law, a in zip(laws, rates, strict=True):
        x_q = float(law.quantile(1.0 - tail_tol))
        lam = a * x_q
        k = max(k, lam + 12.0 * math.sqrt(lam) + 30.0)
        cap = max(cap, K_CAP_PER_MEAN * a * law.mean)
        if a * law.mean > MAX_TABLE:
            raise ValueError(
                f"workers: a gradient of the group whose mean round is {law.mean:.3g} times "
                f"the cluster's mean sees {a * law.mean:.3g} updates on average, beyond the "
                f"{MAX_TABLE:,} staleness values sdde tabulates: use fewer workers, or "
                "groups whose round times are closer")
    return int(min(math.ceil(k), math.ceil(cap), MAX_TABLE))


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
        root = brentq(lambda q: q - accept(np.array([q]))[0], 0.0, 1.0, xtol=1e-14)
        return np.array([root])
    guess = np.full(len(laws), float(np.mean(accept(np.ones(len(laws))))))
    sol = optimize.root(lambda p: p - accept(np.clip(p, 0.0, 1.0)), guess, tol=1e-13)
    p = np.clip(sol.x, 0.0, 1.0)
    if not sol.success or np.max(np.abs(p - accept(p))) > 1e-9:
        raise RuntimeError(f"acceptance fixed point did not converge: {sol.message}")
    return np.asarray(p, dtype=np.float64)

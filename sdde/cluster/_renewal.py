"""Exact staleness from stationary renewal counts (no Poisson approximation).

A gradient of a worker in group ``g`` with round time ``x`` has staleness
``S = Σ_{j ≠ i} N_j(x)``, where the ``N_j`` are the counts, in an interval of length
``x``, of the other workers' *stationary* renewal processes, independent of each other
and of ``x``. For a stationary renewal process with round law ``F`` (mean ``μ``),

    P(N(t) >= m) = (I_{m-1}(t) - I_m(t)) / μ,   I_j(t) = E[(t - T_j)^+],

with ``T_j`` the sum of ``j`` rounds (``theory/staleness.md`` derives this from
``F_e * F^{*(m-1)}`` and the transform ``(φ^{m-1} - φ^m) / (μ z)``). ``I_j`` is closed-form
when the family is closed under convolution: deterministic, exponential, gamma (any
shape), their shifts, and the two-point straggler law. The counts of different workers
are combined by FFT and the round time ``x`` is integrated out by quadrature.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, special

from sdde._numerics import FloatArray
from sdde._progress import ProgressCallback
from sdde.delays import DelayLaw, Deterministic, Exponential, Gamma, Mixture, Shifted
from sdde.delays._quadrature import law_quadrature

#: Mass a count table may leave beyond its last entry.
_COUNT_TAIL = 1e-20
#: Largest coefficient of variation the renewal method is used for. Beyond it the count
#: variance's constant term (~ cv^4) makes the FFT and node ranges explode; simulate instead.
MAX_CV = 4.0
#: Kinks beyond this number are not added as panel edges (accuracy then degrades gently).
_MAX_KINKS = 20_000


def is_tractable(law: DelayLaw) -> bool:
    """Whether :func:`integrated_sum_cdf` has a closed form for ``law``."""
    if isinstance(law, Deterministic | Exponential | Gamma):
        return True
    if isinstance(law, Shifted):
        return is_tractable(law.base)
    return _two_point_atoms(law) is not None


def _two_point_atoms(law: DelayLaw) -> tuple[float, float, float] | None:
    if (isinstance(law, Mixture) and len(law.components) == 2
            and all(isinstance(c, Deterministic) for c in law.components)):
        c1, c2 = (float(c.mean) for c in law.components)
        return c1, c2, float(law.weights[1])
    return None


def integrated_sum_cdf(law: DelayLaw, j: FloatArray, t: FloatArray) -> FloatArray:
    """``I_j(t) = E[(t - T_j)^+]`` for ``T_j`` a sum of ``j`` i.i.d. rounds.

    Parameters
    ----------
    law : DelayLaw
        A law for which :func:`is_tractable` holds.
    j : ndarray of int, shape (n_j,)
        Numbers of rounds (``T_0 = 0``).
    t : ndarray, shape (n_t, 1) or (n_t, n_j)
        Times; broadcast against ``j``.

    Returns
    -------
    ndarray, shape (n_t, n_j)
    """
    j = np.asarray(j, dtype=np.float64)
    if isinstance(law, Deterministic):
        return np.maximum(t - j * law.value, 0.0)
    if isinstance(law, Exponential):
        return _gamma_integrated(1.0, law.scale, j, t)
    if isinstance(law, Gamma):
        return _gamma_integrated(law.shape, law.scale, j, t)
    if isinstance(law, Shifted):
        return integrated_sum_cdf(law.base, j, t - j * law.shift)
    atoms = _two_point_atoms(law)
    if atoms is None:
        raise ValueError(f"{law.family}: no closed-form renewal counts")
    c1, c2, p = atoms
    out = np.zeros(np.broadcast_shapes(np.shape(t), j.shape))
    for i in range(int(j.max()) + 1):  # i slow rounds among j
        weight = special.binom(j, i) * p**i * (1.0 - p) ** (j - i)
        weight = np.where(i <= j, weight, 0.0)
        out += weight * np.maximum(t - (j - i) * c1 - i * c2, 0.0)
    return out


def _gamma_integrated(shape: float, scale: float, j: FloatArray, t: FloatArray) -> FloatArray:
    s = j * shape  # T_j ~ Gamma(j k, θ)
    tt = np.maximum(t, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        body = tt * special.gammainc(s, tt / scale) - s * scale * special.gammainc(s + 1.0,
                                                                                  tt / scale)
    return np.where(s == 0, tt, np.where(tt > 0, np.maximum(body, 0.0), 0.0))


def count_pmf(law: DelayLaw, t: FloatArray) -> FloatArray:
    """``P(N(t) = m)`` of a stationary renewal process, for each ``t``.

    Parameters
    ----------
    law : DelayLaw
        Tractable round law.
    t : ndarray, shape (n_t,)
        Interval lengths.

    Returns
    -------
    ndarray, shape (n_t, m_max + 1)
        Rows sum to 1 up to ``_COUNT_TAIL``; ``m_max`` is grown until they do.
    """
    t = np.asarray(t, dtype=np.float64)[:, None]
    mu = law.mean
    t_max = float(t.max()) if t.size else 0.0
    m_max = math.ceil(t_max / mu + 10.0 * math.sqrt(t_max / mu + 1.0) * max(law.cv, 1.0) + 12)
    while True:
        j = np.arange(m_max + 2, dtype=np.float64)
        integ = integrated_sum_cdf(law, j, t)
        # at_least[:, m] = P(N >= m) for m = 0 … m_max + 1
        at_least = np.ones((t.shape[0], m_max + 2))
        at_least[:, 1:] = np.clip((integ[:, :-1] - integ[:, 1:]) / mu, 0.0, 1.0)
        if np.all(at_least[:, -1] < _COUNT_TAIL):
            pmf: FloatArray = np.maximum(at_least[:, :-1] - at_least[:, 1:], 0.0)
            return pmf
        m_max *= 2


def _kinks(law: DelayLaw, x_max: float) -> FloatArray:
    """Points ``t <= x_max`` where some ``I_j(t)`` is not smooth."""
    if isinstance(law, Deterministic):
        return law.value * np.arange(1.0, min(_MAX_KINKS, math.floor(x_max / law.value)) + 1.0)
    if isinstance(law, Shifted):
        j = np.arange(0, min(_MAX_KINKS, math.floor(x_max / max(law.shift, 1e-300))) + 1)
        inner = _kinks(law.base, x_max)
        pts = [j * law.shift]
        if inner.size:
            pts.append((inner[None, :] + j[:, None] * law.shift).ravel())
        out = np.unique(np.concatenate(pts))
        return out[out <= x_max][:_MAX_KINKS]
    atoms = _two_point_atoms(law)
    if atoms is not None:
        c1, c2, _ = atoms
        i = np.arange(0, math.floor(x_max / c1) + 1)
        grid = (i[:, None] * c1 + i[None, :] * c2).ravel()
        grid = np.unique(grid[(grid > 0) & (grid <= x_max)])
        return grid[:_MAX_KINKS]
    return np.empty(0)


@np.errstate(under="ignore")  # tail probabilities and high powers underflow to 0, harmlessly
def renewal_staleness_pmf(groups: Sequence[tuple[int, DelayLaw]], k_max: int,
                          progress: ProgressCallback | None = None) -> FloatArray:
    """Exact staleness pmf on ``0 … k_max``, averaged over groups by arrival share.

    Parameters
    ----------
    groups : sequence of (n_workers, DelayLaw)
        Worker groups; every law must satisfy :func:`is_tractable`.
    k_max : int
        Largest staleness tabulated.
    progress : callable, optional
        Called with the fraction of the work done.

    Returns
    -------
    ndarray, shape (k_max + 1,)
    """
    counts = np.array([n for n, _ in groups], dtype=np.float64)
    laws = [law for _, law in groups]
    rates = 1.0 / np.array([law.mean for law in laws])
    shares = counts * rates / (counts @ rates)
    out = np.zeros(k_max + 1)
    for g, law in enumerate(laws):
        others = counts.copy()
        others[g] -= 1

        def report(done: float, g: int = g) -> None:
            if progress is not None:
                progress((g + done) / len(laws))

        out += shares[g] * _tagged_group_pmf(law, laws, others, k_max, report)
    return out


def _tagged_group_pmf(tagged: DelayLaw, laws: Sequence[DelayLaw], others: FloatArray,
                      k_max: int, progress: ProgressCallback) -> FloatArray:
    total_rate = float(others @ (1.0 / np.array([law.mean for law in laws])))
    if total_rate == 0.0:  # a single worker is never stale
        out = np.zeros(k_max + 1)
        out[0] = 1.0
        return out
    var_rate = float(sum(n * law.var / law.mean**3 for n, law in zip(others, laws, strict=True)))
    # Var N(t) = t σ²/μ³ + O(1); the O(1) term is below ~ 1 + cv^4 (renewal theory).
    n_other = float(sum(n * (1.0 + law.cv**4) for n, law in zip(others, laws, strict=True)))

    def low_end(x: float) -> float:  # a conservative lower edge of S | x minus k_max
        return total_rate * x - 14.0 * math.sqrt(var_rate * x + n_other) - 30.0 - k_max

    upper = (k_max + 30.0) / total_rate + 1.0
    while low_end(upper) <= 0:
        upper *= 2.0
    x_cut = optimize.brentq(low_end, 0.0, upper, xtol=1e-12) if low_end(0.0) < 0 else 0.0
    kinks = np.concatenate([_kinks(law, x_cut) for law, n in zip(laws, others, strict=True)
                            if n > 0])
    nodes, weights = law_quadrature(tagged, sqrt_step=0.5 / math.sqrt(total_rate),
                                    x_max=x_cut, kinks=kinks)
    if nodes.size == 0:
        return np.zeros(k_max + 1)
    order = np.argsort(nodes)
    nodes, weights = nodes[order], weights[order]
    out = np.zeros(k_max + 1)
    for start in range(0, nodes.size, 128):
        x = nodes[start:start + 128]
        tables = [(count_pmf(law, x), int(n)) for law, n in zip(laws, others, strict=True)
                  if n > 0]
        # S | x lies below its mean + 28 sd (+ slack) up to far less than 1e-30: an FFT of
        # that length does not wrap mass around onto the tabulated range. Moments of the
        # count tables are exact, so the length adapts to any round law.
        mean_s = sum(n * (pmf @ np.arange(pmf.shape[1])) for pmf, n in tables)
        var_s = sum(n * (pmf @ np.arange(pmf.shape[1]) ** 2) for pmf, n in tables) - sum(
            n * (pmf @ np.arange(pmf.shape[1])) ** 2 for pmf, n in tables)
        span = float(np.max(mean_s + 28.0 * np.sqrt(np.maximum(var_s, 0.0)))) + 64.0
        span = max(span, max(pmf.shape[1] for pmf, _ in tables))
        size = 1 << max(6, math.ceil(math.log2(span)))
        spectrum = np.ones((x.size, size // 2 + 1), dtype=np.complex128)
        for pmf, n in tables:
            spectrum *= np.fft.rfft(pmf, size, axis=1) ** n
        conditional = np.fft.irfft(spectrum, size, axis=1)[:, : k_max + 1]
        out[: conditional.shape[1]] += weights[start:start + 128] @ conditional
        # Cost per chunk grows with x (longer FFTs): weight progress by x², roughly.
        progress(float(np.sum(nodes[: start + 128] ** 2) / np.sum(nodes**2)))
    return out

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
are combined in Fourier space, on a window of ``O(sqrt(n))`` values around the mean of
``S | x`` (:func:`_tagged_group_pmf`), and the round time ``x`` is integrated out by
quadrature: ``O(n log n)`` work in all, 1 s for 10⁴ workers and half a minute for 10⁶
(:func:`estimate_renewal_seconds` predicts it before starting).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import fft, special

from sdde._numerics import FloatArray, brentq
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
            pmf[pmf < 1e-300] = 0.0  # subnormals slow every later product ~100-fold
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
        # i fast and j slow rounds: i c1 + j c2 <= x_max, row by row in j (rows of
        # small j hold the smallest kinks); at most ~ 4 _MAX_KINKS points are built,
        # however many fast rounds fit in x_max (slowdowns up to 1e6).
        c1, c2, _ = atoms
        rows: list[FloatArray] = []
        total = 0
        for n_slow in range(math.floor(x_max / c2) + 1):
            n_fast = min(math.floor((x_max - n_slow * c2) / c1), _MAX_KINKS)
            rows.append(n_slow * c2 + c1 * np.arange(0, n_fast + 1, dtype=np.float64))
            total += n_fast + 1
            if total > 4 * _MAX_KINKS:
                break
        grid = np.concatenate(rows)
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
        Called with the fraction of the work done (weighted by each node's expected
        cost), once per chunk of :data:`_CHUNK` quadrature nodes: hundreds of calls for
        10⁵ workers.

    Returns
    -------
    ndarray, shape (k_max + 1,)

    Notes
    -----
    The cost grows like ``n log n`` (``O(sqrt(n))`` nodes, windows of ``O(sqrt(n))``);
    :func:`estimate_renewal_seconds` predicts the wall time from the same node set
    without computing any table, so a caller can refuse a computation of minutes.
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
    """``P(S = k)``, ``k <= k_max``, for a gradient of a worker with round law ``tagged``.

    Each quadrature node ``x`` contributes the conditional law of ``S | x`` on a window
    that holds all but :data:`_WINDOW_TAIL` of its mass on each side (Chernoff bounds
    from the count tables), by one inverse FFT over that window only ("shifted FFT", see
    Notes). The window is ``O(sqrt(n))`` wide where the full range is ``O(n)``, so 10⁴
    workers take a second instead of three minutes
    (:func:`_tagged_group_pmf_reference` is the full-range method).

    Notes
    -----
    With ``c_g`` the rounded mean count of group ``g`` and a window ``[lo, lo + L)``,
    ``S - lo = Σ_g Σ_{i ∈ g} (N_i - c_g) + h`` with ``h = Σ_g n_g c_g - lo``. The length-
    ``L`` DFT of the pmf of ``S - lo`` folded modulo ``L`` is therefore
    ``e^{-2πi l h / L} Π_g ψ_g(l)^{n_g}``, ``ψ_g`` the DFT of the centred count table
    folded modulo ``L``; folding aliases only the mass outside the window. Powers are
    taken as ``exp(n_g log ψ_g)`` over the low frequencies where the product is above
    ``e^{-745}`` (the rest underflow to 0 in any method; a bound monotone in the
    frequency finds them, :func:`_significant_frequencies`), and the phase uses the
    integer ``l h mod L``, so no large angle is ever rounded. The ``ψ_g`` at those few
    frequencies are direct sums over the short count tables (:func:`_centred_dft`).
    Aliasing and the two window tails change the result by at most
    ``4 · _WINDOW_TAIL`` in total variation.
    """
    nodes, weights = _tagged_nodes(tagged, laws, others, k_max)
    out = np.zeros(k_max + 1)
    if nodes is None:  # a single worker is never stale
        out[0] = 1.0
        progress(1.0)
        return out
    if nodes.size == 0:
        progress(1.0)
        return out
    active = [(law, int(n)) for law, n in zip(laws, others, strict=True) if n > 0]
    cost = _node_costs(laws, others, nodes)
    done_cost, total_cost = 0.0, float(cost.sum())
    for start in range(0, nodes.size, _CHUNK):
        x = nodes[start:start + _CHUNK]
        w = weights[start:start + _CHUNK]
        _add_windowed_conditionals(out, x, w, active)
        done_cost += float(cost[start:start + _CHUNK].sum())
        progress(done_cost / total_cost)
    return out


def _tagged_nodes(tagged: DelayLaw, laws: Sequence[DelayLaw], others: FloatArray,
                  k_max: int) -> tuple[FloatArray | None, FloatArray]:
    """Sorted quadrature nodes and weights in ``x`` (``None`` if no other worker)."""
    total_rate = float(others @ (1.0 / np.array([law.mean for law in laws])))
    if total_rate == 0.0:
        return None, np.empty(0)
    var_rate = float(sum(n * law.var / law.mean**3 for n, law in zip(others, laws, strict=True)))
    # Var N(t) = t σ²/μ³ + O(1); the O(1) term is below ~ 1 + cv^4 (renewal theory).
    n_other = float(sum(n * (1.0 + law.cv**4) for n, law in zip(others, laws, strict=True)))

    def low_end(x: float) -> float:  # a conservative lower edge of S | x minus k_max
        return total_rate * x - 14.0 * math.sqrt(var_rate * x + n_other) - 30.0 - k_max

    upper = (k_max + 30.0) / total_rate + 1.0
    while low_end(upper) <= 0:
        upper *= 2.0
    x_cut = brentq(low_end, 0.0, upper, xtol=1e-12) if low_end(0.0) < 0 else 0.0
    kinks = np.concatenate([_kinks(law, x_cut) for law, n in zip(laws, others, strict=True)
                            if n > 0])
    nodes, weights = law_quadrature(tagged, sqrt_step=0.5 / math.sqrt(total_rate),
                                    x_max=x_cut, kinks=_thin(kinks, 1e-9 * x_cut))
    order = np.argsort(nodes)
    return nodes[order], weights[order]


def _thin(points: FloatArray, spacing: float) -> FloatArray:
    """Sorted ``points``, at most one in each cell ``[j spacing, (j + 1) spacing)``.

    A shift of ``1e-45`` puts 20 000 kinks within ``1e-40`` of 0: panels there carry no
    mass but cost ten nodes each (seconds of FFTs). Panel edges ``1e-9 x_cut`` apart
    already resolve any kink to far below the quadrature's own error.
    """
    points = np.unique(points)
    if points.size < 2:
        return points
    cells = np.floor(points / spacing)  # at most one point per cell of width spacing
    keep = np.concatenate([[True], np.diff(cells) > 0])
    out: FloatArray = points[keep]
    return out


def _count_sd_bound(laws: Sequence[DelayLaw], others: FloatArray, x: FloatArray) -> FloatArray:
    """A rough upper estimate of the standard deviation of ``S | x`` (for cost estimates)."""
    var_rate = float(sum(n * law.var / law.mean**3 for n, law in zip(others, laws, strict=True)))
    n_other = float(sum(n * (1.0 + law.cv**4) for n, law in zip(others, laws, strict=True)))
    rate = float(sum(n / law.mean for n, law in zip(others, laws, strict=True)))
    # For small x the count is Poisson-like (variance ~ rate x), whatever the law.
    return np.sqrt(np.minimum(var_rate * x + n_other, rate * x + 1.0))


def _node_costs(laws: Sequence[DelayLaw], others: FloatArray, x: FloatArray) -> FloatArray:
    """Relative cost of each node: an FFT over its window, ``~ L log L``."""
    length = np.exp2(np.ceil(np.log2(2.0 * _WINDOW_SDS * _count_sd_bound(laws, others, x)
                                     + 64.0)))
    return length * np.log2(length) + _NODE_OVERHEAD


def _add_windowed_conditionals(out: FloatArray, x: FloatArray, w: FloatArray,
                               active: Sequence[tuple[DelayLaw, int]]) -> None:
    """``out[k] += Σ_r w_r P(S = k | x_r)`` over each node's window (see the caller)."""
    k_max = out.size - 1
    tables = []
    for law, n in active:
        pmf = count_pmf(law, x)
        m = np.arange(pmf.shape[1], dtype=np.float64)
        centre = np.rint(np.einsum("rm,m->r", pmf, m)).astype(np.int64)  # c_g per node
        tables.append((pmf, n, centre))
    lo, hi = _chernoff_window(tables)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, sum(n * (pmf.shape[1] - 1) for pmf, n, _ in tables))
    keep = lo <= k_max  # windows wholly beyond k_max contribute only their tail
    if not np.any(keep):
        return
    size = fft.next_fast_len(max(64, int(np.max((hi - lo + 1)[keep]))), real=True)
    # Beyond n_freq, Π|ψ_g|^{n_g} < e^{-745} underflows to 0 in any method: skip it.
    n_freq = _significant_frequencies(tables, size)
    freq = np.arange(n_freq, dtype=np.int64)
    log_abs = np.zeros((x.size, n_freq))
    angle = np.zeros((x.size, n_freq))
    for pmf, n, centre in tables:
        re, im = _centred_dft(pmf, centre, size, n_freq)
        with np.errstate(divide="ignore"):  # |ψ| = 0: log 0 = -inf, its power is 0
            log_abs += n * 0.5 * np.log(re**2 + im**2)
        angle += n * np.arctan2(im, re)
    h = sum(n * centre for _, n, centre in tables) - lo
    angle -= 2.0 * np.pi * ((freq[None, :] * (h % size)[:, None]) % size) / size
    spectrum = np.zeros((x.size, size // 2 + 1), dtype=np.complex128)  # (irfft's own
    spectrum[:, :n_freq] = np.exp(log_abs + 1j * angle)  # zero padding is 4x slower)
    conditional = fft.irfft(spectrum, size, axis=1)  # row r: P(S = lo_r + j | x_r)
    for r in np.nonzero(keep)[0]:
        top = min(int(lo[r]) + size, k_max + 1)
        out[lo[r]:top] += w[r] * conditional[r, : top - lo[r]]


def _significant_frequencies(tables: Sequence[tuple[FloatArray, int, np.ndarray]],
                             size: int) -> int:
    """Number ``n_freq`` of low frequencies outside which ``Π_g |ψ_g|^{n_g} < e^{-745}``.

    For a pmf ``p`` on the integers, ``|ψ(ω)|² = (Σ p)² - Σ_{j≠k} p_j p_k (1 - cos ω(j-k))
    <= 1 - 2 A (1 - cos ω)`` with ``A = Σ_j p_j p_{j+1}`` (all dropped terms are ``>= 0``):
    a bound that decreases on ``[0, π]``, so bisection finds where it falls below the
    threshold, for every node at once.
    """
    overlap = [(n, np.einsum("rm,rm->r", pmf[:, :-1], pmf[:, 1:])) for pmf, n, _ in tables]

    def log_bound(omega: FloatArray) -> FloatArray:  # bound on log Π|ψ_g|^{2 n_g}
        total = np.zeros_like(omega)
        for n, a in overlap:
            total += n * np.log(np.maximum(1.0 - 2.0 * a * (1.0 - np.cos(omega)), 1e-300))
        return total

    n_rows = tables[0][0].shape[0]
    top = np.full(n_rows, math.pi)
    if np.any(log_bound(top) > 2.0 * _LOG_TINY):
        return size // 2 + 1
    lo, hi = np.zeros(n_rows), top
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        above = log_bound(mid) > 2.0 * _LOG_TINY
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return min(size // 2 + 1, math.ceil(float(np.max(hi)) * size / (2.0 * math.pi)) + 2)


def _centred_dft(pmf: FloatArray, centre: np.ndarray, size: int,
                 n_freq: int) -> tuple[FloatArray, FloatArray]:
    """Real and imaginary parts of ``ψ(l) = Σ_m p_m e^{-2πi l (m - c) / size}``, ``l < n_freq``.

    A direct sum over the table (``width · n_freq`` terms) when that is cheaper than an
    FFT of length ``size``, else the FFT of the table folded modulo ``size``. Angles are
    reduced with integer arithmetic (``l m mod size``), so they are exact before rounding.
    """
    width = pmf.shape[1]
    if width * n_freq > size * math.log2(size):
        psi = fft.rfft(_centred_fold(pmf, centre, size), axis=1)[:, :n_freq]
        return psi.real, psi.imag
    freq = np.arange(n_freq, dtype=np.int64)
    turn = 2.0 * np.pi / size
    theta = turn * ((np.arange(width, dtype=np.int64)[:, None] * freq[None, :]) % size)
    # einsum, not BLAS: waking BLAS threads costs ~10 ms per call on a busy machine
    cos_sum = np.einsum("rm,mf->rf", pmf, np.cos(theta))
    sin_sum = np.einsum("rm,mf->rf", pmf, np.sin(theta))
    shift = turn * ((freq[None, :] * (centre % size)[:, None]) % size)  # e^{+i l c turn}
    cos_shift, sin_shift = np.cos(shift), np.sin(shift)
    # (cos_sum - i sin_sum) (cos_shift + i sin_shift)
    return (cos_sum * cos_shift + sin_sum * sin_shift,
            cos_sum * sin_shift - sin_sum * cos_shift)


def _centred_fold(pmf: FloatArray, centre: np.ndarray, size: int) -> FloatArray:
    """``out[r, j] = P(N_r - centre_r ≡ j mod size)`` for the count table ``pmf``."""
    rows, width = pmf.shape
    row = np.arange(rows)[:, None]
    if width <= size:  # no two counts share a residue: scatter
        out = np.zeros((rows, size))
        out[row, (np.arange(width)[None, :] - centre[:, None]) % size] = pmf
        return out
    padded = np.zeros((rows, -(-width // size) * size))  # fold, then rotate each row
    padded[:, :width] = pmf
    folded = padded.reshape(rows, -1, size).sum(axis=1)
    rotated: FloatArray = folded[row, (np.arange(size)[None, :] + centre[:, None]) % size]
    return rotated


def _chernoff_window(tables: Sequence[tuple[FloatArray, int, np.ndarray]]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Integer ``lo, hi`` per node with ``P(S < lo), P(S > hi) <= _WINDOW_TAIL`` (Chernoff).

    ``P(S - μ >= a) <= exp(K(t) - t a)`` for every ``t > 0``, ``K`` the cumulant generating
    function of ``S - μ``, which is exact from the count tables; minimised over a grid of
    ``t`` (and likewise for ``t < 0``). The tables omit a mass below ``_COUNT_TAIL`` whose
    counts are at most a few standard deviations further out, so ``|t| <= 1`` (and
    ``|t| m <= 60`` over the table) keeps their share of ``K`` negligible; a smaller grid
    only widens the window.
    """
    n_rows = tables[0][0].shape[0]
    width = max(pmf.shape[1] for pmf, _, _ in tables)
    t_pos = _T_GRID[_T_GRID * width <= 60.0]  # p_m e^{t m} stays far from subnormal
    t = np.concatenate([-t_pos, t_pos])
    cgf = np.zeros((n_rows, t.size))
    mean = np.zeros(n_rows)
    for pmf, n, _ in tables:
        m = np.arange(pmf.shape[1], dtype=np.float64)
        mu = np.einsum("rm,m->r", pmf, m)
        with np.errstate(divide="ignore"):
            big = np.where(pmf < 1e-200, 0.0, pmf)  # leaves K(t) unchanged to 1e-170
            # einsum, not BLAS: waking BLAS threads costs ~10 ms per call on a busy machine
            mgf = np.einsum("rm,mt->rt", big, np.exp(m[:, None] * t[None, :]))
            cgf += n * (np.log(mgf) - mu[:, None] * t)
        mean += n * mu
    log_tail = math.log(_WINDOW_TAIL)
    reach = (cgf - log_tail) / np.abs(t)[None, :]  # deviation a with bound <= tail at this t
    above = np.min(reach[:, t > 0], axis=1)
    below = np.min(reach[:, t < 0], axis=1)
    return (np.floor(mean - below).astype(np.int64),
            np.ceil(mean + above).astype(np.int64))


def estimate_renewal_seconds(groups: Sequence[tuple[int, DelayLaw]], k_max: int) -> float:
    """Rough wall time, in seconds, of :func:`renewal_staleness_pmf` on this machine.

    Counts the quadrature nodes and their FFT windows without computing any table
    (milliseconds), and converts with a calibrated cost per unit of ``L log L`` work. The
    value is good to a factor of about two: enough to refuse, or warn about, a
    computation of minutes (``--no-exact``).

    Parameters
    ----------
    groups : sequence of (n_workers, DelayLaw)
        As for :func:`renewal_staleness_pmf`.
    k_max : int
        Largest staleness tabulated.
    """
    counts = np.array([n for n, _ in groups], dtype=np.float64)
    laws = [law for _, law in groups]
    work = 0.0
    for g, law in enumerate(laws):
        others = counts.copy()
        others[g] -= 1
        nodes, _ = _tagged_nodes(law, laws, others, k_max)
        if nodes is None or nodes.size == 0:
            continue
        n_tables = sum(1 for n in others if n > 0)
        work += n_tables * float(_node_costs(laws, others, nodes).sum())
    return _SECONDS_PER_WORK * work


#: Mass of ``S | x`` a node's window may leave out (on each side).
_WINDOW_TAIL = 1e-20
#: Half-width, in standard deviations, the windows are about (cost estimates only).
_WINDOW_SDS = 10.0
#: Chernoff exponents tried (and their negatives).
_T_GRID = np.geomspace(1e-4, 1.0, 24)
#: Log of the smallest spectrum magnitude kept (below it, exp underflows to 0).
_LOG_TINY = -745.0
#: Nodes per vectorised chunk.
_CHUNK = 64
#: Per-node cost beyond the FFTs (tables, Chernoff bounds), in units of ``L log L``.
_NODE_OVERHEAD = 220_000.0
#: Seconds per unit of work, calibrated on a busy 2-core x86-64 machine
#: (``benchmarks/bench_large_clusters.py``: 10³ workers 0.4 s, 10⁴ 0.8-1.6 s, 10⁵ 4-6 s,
#: 10⁶ 26 s).
_SECONDS_PER_WORK = 4.5e-10


def _tagged_group_pmf_reference(tagged: DelayLaw, laws: Sequence[DelayLaw],
                                others: FloatArray, k_max: int) -> FloatArray:
    """The full-length FFT of every conditional law (the previous method, ``O(n^1.5 log n)``).

    A second implementation for tests and benchmarks: each node's FFT spans ``0`` to
    the mean ``+ 28`` standard deviations of ``S | x``.
    """
    nodes, weights = _tagged_nodes(tagged, laws, others, k_max)
    out = np.zeros(k_max + 1)
    if nodes is None:
        out[0] = 1.0
        return out
    for start in range(0, nodes.size, 128):
        x = nodes[start:start + 128]
        tables = [(count_pmf(law, x), int(n)) for law, n in zip(laws, others, strict=True)
                  if n > 0]
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
    return out

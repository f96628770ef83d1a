"""The discrete-time counterpart: asynchronous SGD counted in server updates.

Between consecutive arrivals nothing happens. If the staleness of each update were drawn
independently of the past, the mean of a mode would obey the recursion
``m_{t+1} = m_t − α Σ_s q_s m_{t−s}``, with ``α = η h`` and ``q_s`` the probability that
an arriving gradient has staleness ``s`` *and* is applied, times the step-policy factor
``g(s)`` (``q_s = g(s) p_s 1{s <= K}``). Its characteristic equation is
``ζ − 1 + α Q(1/ζ) = 0`` with ``Q(y) = Σ q_s y^s``; the mean converges iff every root has
``|ζ| < 1``. The continuous model is its limit for many workers and small ``α``
(``κ = α n``, ``ζ ≈ e^{z / n}``). Derivation: ``theory/stability.md`` §6.

In a real server successive staleness values are *not* independent (a worker's staleness
counts the others' pushes since its own last one), so the recursion is exact only when
the staleness is constant (deterministic rounds: ``S = n − 1``) and an approximation
otherwise; ``theory/validation.md`` measures how good (``sdde.validation.compare``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import numpy.typing as npt

from sdde._numerics import ComplexArray, FloatArray, brentq
from sdde.stability._winding import certified_arg_change

#: Largest staleness kept in a dense polynomial root computation (degree of the
#: characteristic polynomial); beyond, only the threshold and the certified count are
#: computed (the continuous model is accurate there).
MAX_DEGREE = 600


def staleness_weights(weights: npt.ArrayLike) -> FloatArray:
    """Validated ``q_s``, trailing entries below 1e-16 of the largest dropped."""
    q = np.asarray(weights, dtype=np.float64)
    if q.ndim != 1 or q.size == 0 or not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError("staleness weights must be a non-empty 1-d array of finite "
                         "numbers >= 0")
    if q.sum() <= 0:
        raise ValueError("staleness weights must not all be zero")
    nz = np.flatnonzero(q > 1e-16 * q.max())
    return q[: nz[-1] + 1]


def _q_on_circle(theta: FloatArray, q: FloatArray) -> ComplexArray:
    """``Q(e^{−iθ}) = Σ_s q_s e^{−isθ}``, in blocks of about a million table entries."""
    theta = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    s = np.arange(q.size)
    out = np.empty(theta.shape, dtype=np.complex128)
    block = max(1, 2**20 // q.size)
    for start in range(0, theta.size, block):
        tb = theta[start:start + block]
        out[start:start + block] = np.exp(-1j * np.outer(tb, s)) @ q
    return out


def discrete_roots(alpha: float, weights: npt.ArrayLike) -> ComplexArray:
    """Roots of ``ζ^{S+1} − ζ^S + α Σ_s q_s ζ^{S−s}`` (``S`` the largest staleness).

    Parameters
    ----------
    alpha : float
        Step times curvature, ``α = η h > 0``.
    weights : array_like
        ``q_s`` for ``s = 0, 1, …``: staleness probabilities (thinned and weighted).

    Returns
    -------
    ndarray of complex
        All ``S + 1`` roots, by modulus descending.

    Examples
    --------
    >>> z = discrete_roots(0.5, [0.0, 1.0])  # ζ² − ζ + 0.5 = 0
    >>> bool(abs(abs(z[0]) - 0.5 ** 0.5) < 1e-12)
    True
    """
    _check_alpha(alpha)
    q = staleness_weights(weights)
    if q.size > MAX_DEGREE:
        raise ValueError(f"staleness up to {q.size - 1} makes a polynomial of degree above "
                         f"{MAX_DEGREE}; use discrete_spectral_radius")
    coeffs = np.zeros(q.size + 1)
    coeffs[0], coeffs[1] = 1.0, -1.0
    coeffs[1:] += alpha * q
    roots = np.asarray(np.roots(coeffs), dtype=np.complex128)
    return roots[np.argsort(-np.abs(roots))]


def discrete_spectral_radius(alpha: float, weights: npt.ArrayLike) -> float:
    """Largest ``|ζ|`` over the characteristic roots: the mean's decay per update.

    Uses the dense polynomial roots (staleness up to :data:`MAX_DEGREE`); the
    per-update decay rate is ``−log ρ``.
    """
    return float(np.abs(discrete_roots(alpha, weights)[0]))


def discrete_unstable_count(alpha: float, weights: npt.ArrayLike) -> int | None:
    """Roots with ``|ζ| >= 1``, by the argument principle on the unit circle.

    Notes
    -----
    ``P(ζ) = ζ^S (ζ − 1 + α Q(1/ζ))``; on ``ζ = e^{iθ}`` the winding of ``P`` is ``S``
    plus that of ``g(θ) = e^{iθ} − 1 + α Q(e^{−iθ})``, so the ``S + 1`` roots have
    ``1 − wind(g)`` outside the circle. ``g(−θ) = conj g(θ)`` and ``g(0) = α Q(1) > 0``,
    so ``wind(g) = Δ_{[0, π]} arg g / π``; ``|g'| <= 1 + α Σ s q_s`` certifies it.
    Returns None when a root lies on the circle (within rounding).
    """
    _check_alpha(alpha)
    q = staleness_weights(weights)
    s = np.arange(q.size)

    def g(theta: FloatArray) -> ComplexArray:
        return np.exp(1j * theta) - 1.0 + alpha * _q_on_circle(theta, q)

    change = certified_arg_change(g, 0.0, math.pi, lipschitz=1.0 + alpha * float(s @ q),
                                  error=1e-12 * (1.0 + alpha * float(q.sum())))
    if change is None:
        return None
    return 1 - round(change / math.pi)


def discrete_critical_alpha(weights: npt.ArrayLike) -> float:
    """Smallest ``α = η h`` at which a root reaches the unit circle.

    Parameters
    ----------
    weights : array_like
        ``q_s`` for ``s = 0, 1, …``.

    Returns
    -------
    float
        ``α*``: the mean converges for ``0 < α < α*``.

    Raises
    ------
    ValueError
        If the staleness support exceeds :data:`MAX_DEGREE` (the scan costs ``O(S²)``;
        there the continuous model is accurate).

    Notes
    -----
    A root at ``ζ = e^{iθ}`` needs ``α = R(θ) = (1 − e^{iθ}) / Q(e^{−iθ})`` real and
    positive; ``α*`` is the least such value over ``θ ∈ (0, π]``. For a constant
    staleness ``τ`` (``q = δ_τ``) this is ``2 sin(π / (2 (2τ + 1)))``.

    Examples
    --------
    >>> round(discrete_critical_alpha([0, 0, 1]), 12)  # τ = 2: 2 sin(π/10)
    0.61803398875
    """
    q = staleness_weights(weights)
    if q.size > MAX_DEGREE:
        raise ValueError(f"staleness up to {q.size - 1}: the discrete-time threshold is "
                         f"computed for staleness up to {MAX_DEGREE - 1} only")
    step = min(0.01, 0.25 / max(q.size, 1))

    # Where |Q| is below rounding, R = (1 − e^{iθ}) / Q is noise (and may be 1/0): such
    # stretches hold no trustworthy crossing and are skipped.
    noise = 1e-12 * float(q.sum())

    def ratio(theta: FloatArray) -> tuple[ComplexArray, FloatArray]:
        theta = np.atleast_1d(theta)
        qv = _q_on_circle(theta, q)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (1.0 - np.exp(1j * theta)) / qv, np.abs(qv)

    def im_ratio(theta: float) -> float:
        return float(ratio(np.array([theta]))[0][0].imag)

    # the scan grid θ_j = 2πj/M on (0, π]: Q there is one FFT of q (O(M log M) instead of
    # a dense M × S sum); the first point is moved off θ = 0, where R = 0/Q(1)
    half = max(64, math.ceil(math.pi / step))
    theta = 2.0 * math.pi * np.arange(half + 1) / (2 * half)
    theta[0] = step * 1e-3
    qv = np.fft.fft(q, 2 * half)[: half + 1]
    qv[0] = _q_on_circle(theta[:1], q)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        r, size = (1.0 - np.exp(1j * theta)) / qv, np.abs(qv)
    # θ = π: R(π) = 2 / Q(−1) exactly, a candidate when Q(−1) = Σ (−1)^s q_s > 0.
    q_minus_one = float(np.sum(q[::2]) - np.sum(q[1::2]))
    candidates = [2.0 / q_minus_one] if q_minus_one > noise else []
    usable = (size[:-1] > noise) & (size[1:] > noise)
    # sign changes of Im R, and grid points where it is exactly 0 (the grid holds rational
    # multiples of π, where constant staleness has its crossings)
    for i in np.flatnonzero((np.sign(r.imag[:-1]) * np.sign(r.imag[1:]) <= 0) & usable):
        a, b = float(theta[i]), float(theta[i + 1])
        ra, rb = ratio(np.array([a, b]))[0]
        if abs(ra.imag) <= 1e-12 * abs(ra) or abs(rb.imag) <= 1e-12 * abs(rb):
            # the crossing is a grid point, within rounding (the FFT and the direct sum
            # may even disagree on the sign of Im R there)
            t = a if abs(ra.imag) <= 1e-12 * abs(ra) else b
        elif ra.imag * rb.imag > 0:  # (tiny values that round differently)
            continue
        else:
            t = brentq(im_ratio, a, b, xtol=1e-15)
        value = ratio(np.array([t]))[0][0]
        if value.real > 0 and abs(value.imag) <= 1e-9 * abs(value):
            candidates.append(float(value.real))
    return min(candidates) if candidates else math.inf


def _check_alpha(alpha: float) -> None:
    if isinstance(alpha, bool | np.bool_) or not (
            isinstance(alpha, numbers.Real) and 0 < alpha < math.inf):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")


def dominant_root(alpha: float, weights: npt.ArrayLike) -> complex:
    """The root of largest modulus (with ``Im >= 0``)."""
    roots = discrete_roots(alpha, weights)
    top = roots[np.abs(roots) >= np.abs(roots[0]) * (1 - 1e-12)]
    return complex(top[np.argmax(top.imag)])




def discrete_moments(alpha: float, weights: npt.ArrayLike, n_steps: int, *,
                     x0: float = 1.0, noise: float = 0.0) -> tuple[FloatArray, FloatArray]:
    """Mean and variance of the recursion after ``0, 1, …, n_steps`` updates.

    ``x_{t+1} = x_t − α Σ_s q_s x_{t−s} + ε_t`` with ``Var ε_t = noise`` (independent),
    started from the constant history ``x_t = x0`` for ``t <= 0`` (every worker pulled
    the starting point).

    Parameters
    ----------
    alpha : float
        Per-update gain ``α = η h``.
    weights : array_like
        ``q_s`` for ``s = 0, 1, …``.
    n_steps : int
        Updates to compute.
    x0 : float
        Starting value (and history).
    noise : float
        Variance added per update (``η² c`` for gradient-noise variance ``c``).

    Returns
    -------
    mean, variance : ndarray, shape (n_steps + 1,)

    Notes
    -----
    The recursion is the IIR filter ``x[t] = x[t−1] − α Σ_s q_s x[t−1−s] + ε[t−1]``
    (``scipy.signal.lfilter``); the variance is ``noise · Σ_{j <= t} g_j²`` with ``g``
    its impulse response.

    Examples
    --------
    >>> mean, var = discrete_moments(0.5, [1.0], 3, noise=1.0)  # x ← x/2 + ε
    >>> mean.tolist(), var.tolist()
    ([1.0, 0.5, 0.25, 0.125], [0.0, 1.0, 1.25, 1.3125])
    """
    from scipy import signal  # imported here: scipy.signal costs 0.1 s at start-up

    _check_alpha(alpha)
    q = staleness_weights(weights)
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 0:
        raise ValueError(f"n_steps must be a whole number >= 0, got {n_steps!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    b, a = np.array([0.0, 1.0]), np.zeros(q.size + 1)
    a[0], a[1] = 1.0, -1.0
    a[1:] += alpha * q
    history = signal.lfiltic(b, a, y=np.full(a.size - 1, float(x0)))
    with np.errstate(over="ignore", invalid="ignore"):
        mean = signal.lfilter(b, a, np.zeros(n_steps), zi=history)[0]
        impulse = signal.lfilter(b, a, np.eye(1, n_steps + 1).ravel())
        variance = (noise * np.cumsum(impulse * impulse) if noise > 0
                    else np.zeros(n_steps + 1))  # no noise: no variance, even if unstable
    return np.concatenate(([float(x0)], mean)), np.asarray(variance, dtype=np.float64)


def discrete_stationary_variance(alpha: float, weights: npt.ArrayLike, noise: float) -> float:
    """``lim Var x_t`` of :func:`discrete_moments` (``inf`` when the recursion is unstable).

    The impulse response is summed over a doubling horizon until its last half adds less
    than ``1e-12`` of the total.

    Examples
    --------
    >>> round(discrete_stationary_variance(0.5, [1.0], 1.0), 12)  # 1 / (1 − 1/4)
    1.333333333333
    """
    n_steps = 1024
    while True:
        _, var = discrete_moments(alpha, weights, n_steps, noise=noise)
        total, half = float(var[-1]), float(var[n_steps // 2])
        if not math.isfinite(total) or total > 1e150 * max(noise, 1e-300):
            return math.inf
        if total - half <= 1e-12 * total:
            return total
        if n_steps >= 1 << 26:
            return math.inf  # still growing after 67 million updates: not stationary
        n_steps *= 2

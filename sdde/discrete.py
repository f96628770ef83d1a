"""The discrete-time counterpart: asynchronous SGD counted in server updates.

Between consecutive arrivals nothing happens, so the mean of a mode obeys the exact
recursion ``m_{t+1} = m_t − α Σ_s q_s m_{t−s}``, with ``α = η h`` and ``q_s`` the
probability that an arriving gradient has staleness ``s`` *and* is applied, times the
step-policy factor ``g(s)`` (``q_s = g(s) p_s 1{s <= K}``). Its characteristic equation
is ``ζ − 1 + α Q(1/ζ) = 0`` with ``Q(y) = Σ q_s y^s``; the mean converges iff every
root has ``|ζ| < 1``. The continuous model is its limit for many workers and small
``α`` (``κ = α n``, ``ζ ≈ e^{z / n}``); with few workers or large ``α`` the two differ
and this is the one to believe. Derivation: ``theory/stability.md`` §6.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import numpy.typing as npt
from scipy import optimize

from sdde._numerics import ComplexArray, FloatArray
from sdde._winding import certified_arg_change

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

    theta = np.linspace(step * 1e-3, math.pi, max(64, math.ceil(math.pi / step)) + 1)
    r, size = ratio(theta)
    # θ = π: R(π) = 2 / Q(−1) exactly, a candidate when Q(−1) = Σ (−1)^s q_s > 0.
    q_minus_one = float(np.sum(q[::2]) - np.sum(q[1::2]))
    candidates = [2.0 / q_minus_one] if q_minus_one > noise else []
    usable = (size[:-1] > noise) & (size[1:] > noise)
    for i in np.flatnonzero((np.sign(r.imag[:-1]) * np.sign(r.imag[1:]) < 0) & usable):
        a, b = float(theta[i]), float(theta[i + 1])
        if im_ratio(a) * im_ratio(b) >= 0:  # (tiny values that round differently)
            continue
        t = optimize.brentq(im_ratio, a, b, xtol=1e-15)
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



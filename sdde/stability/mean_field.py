"""Stability of one Hessian mode: the divergence threshold κ* of a delay law.

A mode with dimensionless gain ``κ = η · n · h`` (time in units of the mean delay) has
the characteristic equation ``z + κ φ(z) = 0``, ``φ`` the Laplace transform of the
normalised delay law ``F̃``. Its mean dynamics converge iff every root has ``Re z < 0``;
the divergence threshold ``κ*`` is the smallest ``κ`` at which a root reaches the
imaginary axis. Derivation: ``theory/stability.md``.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable

import numpy as np

from sdde import _lazy
from sdde._numerics import FloatArray, brentq, gauss_legendre_panels
from sdde.delays import (
    DelayLaw,
    Deterministic,
    Exponential,
    Gamma,
    Shifted,
    Uniform,
)
from sdde.model.kernels import COARSE_TAIL, DelayKernel, as_kernel
from sdde.stability._axis import AnalyticForms, AxisTransform, analytic_forms
from sdde.stability._rational_roots import chain_matrix
from sdde.stability.roots import phase_type_components

integrate = _lazy.module("scipy.integrate")

#: Thresholds are searched up to this gain: a mode with κ = η·n·h above 100 is far beyond
#: any learning rate in practical use.
KAPPA_MAX = 100.0
_EPS4 = 4 * float(np.finfo(np.float64).eps)
_HALF_PI = 0.5 * math.pi
#: ``max_{y > 0} (1 − cos y) / y = 0.72461135…`` (at ``y ≈ 2.3311``), rounded up: with
#: ``w >= 0``, ``Re φ(iω) = E[w cos ωX̃] >= φ(0) − 0.72462 ω E[w X̃]``, so no root crosses
#: below ``ω = φ(0) / (0.72462 E[w X̃])`` and the scan starts there.
_CHORD = 0.72462
#: Purely atomic laws with at most this many atoms are scanned with their exact cosine
#: sums (two-point stragglers, small mixtures of point delays).
_MAX_ATOMS = 256
#: Scans longer than this many grid points first try the distribution-function
#: certificate of :func:`_certified_free_band` on the band they would cover.
_LONG_SCAN = 512


def critical_kappa(law: DelayLaw | DelayKernel, *, kappa_max: float | None = None) -> float:
    """Divergence threshold ``κ*`` of a delay law or kernel (in units of its mean).

    Parameters
    ----------
    law : DelayLaw or DelayKernel
        Delay law (only its shape matters: it is normalised to mean 1), or a kernel
        thinned by a staleness threshold and weighted by a step policy.
    kappa_max : float, optional
        Largest threshold searched for (default :data:`KAPPA_MAX` times the law's
        :attr:`~sdde.delays.DelayLaw.kappa_scale`).

    Returns
    -------
    float
        ``κ*``; ``inf`` when no root reaches the imaginary axis for ``κ <= kappa_max``
        (exponential or gamma delays with shape <= 1 are stable at every ``κ``).

    Notes
    -----
    A root crosses at ``z = iω`` (``ω > 0``) iff ``iω + κ φ(iω) = 0``, i.e.
    ``Re φ(iω) = 0``, ``Im φ(iω) < 0`` and ``κ = -ω / Im φ(iω)``. Since
    ``|φ(iω)| <= φ(0)``, every crossing has ``κ >= ω / φ(0)``, so the scan over ``ω``
    stops once ``ω`` exceeds ``φ(0)`` times the best ``κ`` found. Laws with a completely
    monotone density (mixtures of exponentials: gamma and Weibull with shape <= 1) have
    ``Re φ(iω) > 0`` for all ``ω`` and never cross (``theory/stability.md`` §4). At
    ``κ → 0`` the only root near the axis is ``z ≈ -κ φ(0)``, so the smallest crossing ``κ`` is the
    threshold. The transform is only needed on the imaginary axis, where it exists for
    every law, heavy-tailed ones included.

    Plain laws of the point-delay, gamma/Erlang, uniform and shifted-exponential families
    have closed forms (:func:`closed_form_kappa`). Purely atomic laws (two-point
    stragglers, traces with few distinct values) are scanned with their exact cosine
    sums. Pareto, lognormal and Weibull (shape > 1) laws are scanned octave by octave
    with a transform exact to rounding, heavy tails included (steepest descent,
    :mod:`sdde.stability._axis`), and a certified bound on ``|d²/dω² Re φ|`` instead of
    a fine grid (:func:`_octave_kappa`). Other laws and thinned or weighted kernels take
    the general scan, :func:`scan_kappa`. Two bounds shorten the scans:
    ``Re φ(iω) >= φ(0) − 0.72462 ω E[w X̃]`` (``1 − cos y <= 0.72462 y``) rules out
    crossings below ``ω₀ = φ(0) / (0.72462 E[w X̃])``, and for a plain law
    ``Re φ(iω) >= F(c) (1 + cos Ωc) − 1`` for every ``ω <= Ω`` and ``c <= π/Ω`` rules out
    a whole band ``[0, Ω]`` from a few values of the distribution function (this is what
    makes heavy-tailed laws whose ``κ*`` exceeds ``kappa_max`` cheap).

    Laws without a closed-form transform are scanned with a coarse quadrature rule
    (absolute error ~2e-6, more at high ω where its cut mass grows; grid values within
    twice its error bound of zero are recomputed exactly) and each sign change is refined
    with the full-accuracy rule.
    Crossings closer together than the scan step (a quarter period of the law's 99.9 %
    quantile) could be missed; the argument-principle count of the stability analysis
    is the check on that.

    Examples
    --------
    >>> from sdde import delays
    >>> from sdde.stability.mean_field import critical_kappa
    >>> round(critical_kappa(delays.Deterministic(value=3.0)), 12)  # π/2
    1.570796326795
    """
    plain = law if isinstance(law, DelayLaw) else law.law if (
        isinstance(law, DelayKernel) and law.trivial) else None
    if plain is not None:
        cap = KAPPA_MAX * plain.kappa_scale if kappa_max is None else kappa_max
        exact = closed_form_kappa(plain)
        if exact is not None:
            return exact if exact <= cap else math.inf
        if plain.continuous_mass == 0.0 and plain.atoms()[0].size <= _MAX_ATOMS:
            return _atomic_kappa(plain, cap)
        unit = plain.normalized()
        forms = analytic_forms(unit)
        if forms is not None:
            return _analytic_kappa(forms, cap)
    kernel = as_kernel(law)
    if kernel.completely_monotone:
        return math.inf
    return scan_kappa(kernel, KAPPA_MAX * kernel.law.kappa_scale if kappa_max is None
                      else kappa_max)


def scan_kappa(kernel: DelayKernel, kappa_max: float) -> float:
    """:func:`critical_kappa` of any kernel by the general scan (the careful path).

    ``Re φ(iω)`` on a grid a quarter period of the 0.999 quantile apart, from the
    kernel's closed-form transform or its quadrature rules, every sign change refined by
    Newton's method (see :func:`critical_kappa`). The fast paths of plain laws are
    tested against it.

    Parameters
    ----------
    kernel : DelayKernel
        The kernel.
    kappa_max : float
        Largest threshold searched for.

    Returns
    -------
    float
        ``κ*``, or ``inf`` above ``kappa_max``.
    """
    step = _scan_step(kernel.law)
    # 0.9: the mass and weighted mean of a rule-based kernel are its rule's sums (both 0
    # when a policy damps every weight below the float range: then scan from 0)
    moment = kernel.weighted_mean
    start = 0.9 * kernel.mass / (_CHORD * moment) if moment > 0 else 0.0
    if kernel.trivial and (kernel.mass * kappa_max - start) / step > _LONG_SCAN:
        start = max(start, _certified_free_band(kernel.law.cdf, start, kappa_max))
    return _scan(functools.partial(_kernel_re_on_grid, kernel),
                 functools.partial(_crossing, kernel),
                 start=start, step=step, mass=kernel.mass, kappa_max=kappa_max)


def closed_form_kappa(law: DelayLaw) -> float | None:
    """``κ*`` of a plain law in closed form, or None when its family has none.

    Parameters
    ----------
    law : DelayLaw
        Any law (it need not have mean 1: only its shape matters).

    Returns
    -------
    float or None
        ``κ*`` (``inf`` for the exponential law, and gamma laws of shape <= 1), without any
        cap; None for the other families.

    Notes
    -----
    With ``φ`` the transform of the mean-1 law, a crossing ``iω`` has
    ``arg φ(iω) = −π/2 (mod 2π)`` and ``κ = ω / |φ(iω)|``:

    * point delay: ``φ = e^{−iω}``, ``κ* = π/2``;
    * gamma of shape ``k > 1``: ``φ = (1 + iω/k)^{−k}``, ``k atan(ω/k) = π/2``, so
      ``κ* = k tan(π/2k) / cos(π/2k)^k``;
    * uniform of relative width ``w = (b − a)/E[X] <= 2``: ``φ = e^{−iω} sinc(wω/2)``,
      first at ``ω = π/2``: ``κ* = (π/2) α / sin α``, ``α = πw/4``;
    * shift ``s`` plus an exponential of mean ``1 − s``: ``ωs + atan((1 − s)ω) = π/2``
      (one root, brentq), ``κ* = ω sqrt(1 + (1 − s)²ω²)``.

    Later crossings have larger ``ω`` and smaller ``|φ|``, hence larger ``κ``
    (``tests/stability/test_critical_kappa.py`` derives each case).

    Examples
    --------
    >>> from sdde import delays
    >>> round(closed_form_kappa(delays.parse("erlang:k=2,mean=3")), 12)  # Routh–Hurwitz: 4
    4.0
    """
    if isinstance(law, Deterministic):
        return _HALF_PI
    if isinstance(law, Gamma):
        return _gamma_kappa(float(law.shape))
    if isinstance(law, Exponential):
        return math.inf
    if isinstance(law, Uniform):
        alpha = 0.5 * math.pi * (law.high - law.low) / (law.high + law.low)
        return _HALF_PI * alpha / math.sin(alpha)
    if isinstance(law, Shifted) and isinstance(law.base, Deterministic):
        return _HALF_PI
    if isinstance(law, Shifted) and isinstance(law.base, Exponential):
        return _shifted_exponential_kappa(law.shift / (law.shift + law.base.scale))
    return None


def _gamma_kappa(shape: float) -> float:
    """``k tan(a) / cos(a)^k`` with ``a = π/(2k)``; ``cos(a)^k`` as
    ``exp(k log1p(−2 sin²(a/2)))``, accurate for large ``k``."""
    if shape <= 1.0:
        return math.inf
    a = _HALF_PI / shape
    log_cos = math.log1p(-2.0 * math.sin(0.5 * a) ** 2)
    exponent = -shape * log_cos
    return shape * math.tan(a) * math.exp(exponent) if exponent < 700.0 else math.inf


def _shifted_exponential_kappa(shift: float) -> float:
    """``κ*`` of the mean-1 law ``shift + Exp(mean 1 − shift)``."""
    if shift <= 0.0:
        return math.inf
    m = 1.0 - shift
    omega = float(brentq(lambda w: w * shift + math.atan(w * m) - _HALF_PI,
                                  0.0, _HALF_PI / shift, xtol=1e-300, rtol=_EPS4))
    return omega * math.hypot(1.0, omega * m)


def _scan(re_on_grid: Callable[[FloatArray], FloatArray],
          crossing: Callable[[float, float, float, float], complex | None], *,
          start: float, step: float, mass: float, kappa_max: float) -> float:
    """Smallest ``κ = −ω / Im φ(iω)`` over the zeros of ``Re φ(iω)`` found on the grid
    ``ω = start + k·step``, up to ``ω = mass · min(κ found, kappa_max)``.

    ``re_on_grid`` gives ``Re φ`` on grid points (exact signs); ``crossing(lo, hi, f_lo,
    f_hi)`` refines one sign change to ``ω + i Im φ(iω)`` (None if there is none).
    """
    best = math.inf
    block = 64
    while start < (bound := mass * min(best, kappa_max)):
        # Blocks share their end points, so a sign change at a boundary is not missed;
        # none reaches past the bound by more than one step.
        size = min(block, math.ceil((bound - start) / step))
        omega = np.asarray(start + step * np.arange(size + 1), dtype=np.float64)
        re = re_on_grid(omega)
        for i in np.flatnonzero(np.sign(re[:-1]) * np.sign(re[1:]) <= 0):
            found = crossing(float(omega[i]), float(omega[i + 1]), float(re[i]),
                             float(re[i + 1]))
            if found is not None and found.imag < 0:
                best = min(best, -found.real / found.imag)
        start = float(omega[-1])
        block = min(2 * block, 1024)
    return best if best <= kappa_max else math.inf


def _kernel_re_on_grid(kernel: DelayKernel, omega: FloatArray) -> FloatArray:
    """``Re φ(iω)`` on an arithmetic grid, with exact signs: closed form, or a coarse rule
    whose values within its error of zero are recomputed with the full rule."""
    if kernel.fast:
        return kernel.re_on_axis(omega)
    coarse = kernel.rule(float(omega[-1]), tail=COARSE_TAIL)
    re = coarse.re_on_grid(float(omega[0]), float(omega[1] - omega[0]), omega.size)
    # values within the coarse rule's error (its cut mass grows with ω for kernels with
    # an atom-free but slowly decaying density): decide exactly
    doubtful = np.abs(re) <= max(4 * COARSE_TAIL, 2 * coarse.error)
    if doubtful.any():
        re[doubtful] = kernel.re_on_axis(omega[doubtful])
    return re


def _certified_free_band(cdf: Callable[[FloatArray], FloatArray], start: float,
                         kappa_max: float) -> float:
    """Largest ``Ω`` (of 16 geometric candidates from ``start`` to ``kappa_max``) for which
    ``Re φ(iω) > 0`` on all of ``[0, Ω]`` is proved from the mean-1 law's distribution
    function: for ``X̃ <= c <= π/Ω`` and ``ω <= Ω``, ``cos ωX̃ >= cos Ωc``, so
    ``Re φ(iω) >= F(c) (1 + cos Ωc) − 1``. ``start`` when no candidate is proved."""
    top = max(kappa_max, start)
    bands = start * (top / start) ** np.linspace(0.0, 1.0, 16)
    t = np.linspace(1.0 / 32.0, 1.0, 32)
    cuts = (math.pi / bands)[:, None] * t[None, :]
    with np.errstate(all="ignore"):
        values = np.asarray(cdf(cuts), dtype=np.float64)
    bound = np.max(values * (1.0 + np.cos(math.pi * t))[None, :], axis=1) - 1.0
    proved = np.flatnonzero(bound > 1e-12)
    return float(bands[proved[-1]]) if proved.size else start


def _atomic_kappa(law: DelayLaw, kappa_max: float) -> float:
    """:func:`critical_kappa` of a purely atomic plain law from its exact cosine sums.

    ``φ(iω) = Σ p_j e^{−iωx_j}`` (mean-1 atoms ``x_j``); the grid step is a quarter period
    of the 0.999 quantile's atom, as in :func:`_scan_step`.
    """
    points, masses = law.atoms()
    x = np.asarray(points, dtype=np.float64) / float(masses @ points)
    p = np.asarray(masses, dtype=np.float64)
    order = np.argsort(x)
    cum = np.cumsum(p[order])
    reach = float(x[order][min(int(np.searchsorted(cum, 0.999 * cum[-1] * (1 - 1e-15))),
                               x.size - 1)])
    px = p * x

    def re_on_grid(omega: FloatArray) -> FloatArray:
        return np.asarray(np.cos(np.outer(omega, x)) @ p, dtype=np.float64)

    def evaluate(w: float) -> tuple[complex, float]:
        e = np.exp(-1j * w * x)
        return complex(p @ e), float(px @ e.imag)  # d/dω Σ p cos ωx = Σ p x Im e^{−iωx}

    def crossing(lo: float, hi: float, f_lo: float, f_hi: float) -> complex | None:
        return _refine(evaluate, lo, hi, f_lo, f_hi, lo - f_lo * (hi - lo) / (f_hi - f_lo)
                       if f_hi != f_lo else lo)

    start = float(p.sum()) / (_CHORD * float(px.sum()))
    return _scan(re_on_grid, crossing, start=start, step=min(0.05, 0.25 / max(reach, 1e-12)),
                 mass=float(p.sum()), kappa_max=kappa_max)


def _analytic_kappa(forms: AnalyticForms, kappa_max: float) -> float:
    """:func:`critical_kappa` of a plain mean-1 law with closed forms (Pareto, lognormal).

    The axis is scanned in octaves ``[ω₀ 2^j, ω₀ 2^{j+1}]`` (``ω₀`` from the bounds of
    :func:`critical_kappa`), each with its own :class:`~sdde.stability._axis.AxisTransform`
    (exact to rounding, tail included, its body cut at ``20/ω₀ 2^j``: the octaves cost
    alike) and a bound ``M`` on ``|d²/dω² Re φ(iω)|`` there (see :func:`_octave_kappa`).
    """
    low = _certified_free_band(forms.cdf, 1.0 / _CHORD, kappa_max)
    best = math.inf
    # κ = ω/|Im φ| >= ω/|φ| >= ω²/V (V the density's total variation): no crossing
    # below min(best, kappa_max) lies past ω = sqrt(V min(best, kappa_max))
    while low < (bound := min(best, kappa_max,
                              math.sqrt(forms.variation * min(best, kappa_max)))):
        high = min(2.0 * low, bound)
        best = min(best, _octave_kappa(AxisTransform(forms, low, 2.0 * low), low, high, best))
        low = high
    return best if best <= kappa_max else math.inf


def _octave_kappa(axis: AxisTransform, low: float, high: float, best: float) -> float:
    """Smallest crossing ``κ`` below ``best`` with ``ω`` in ``[low, high]``, certified.

    With ``M`` bounding ``|f''|`` (``f = Re φ(iω)``) on the octave, an interval
    ``[a, b]`` of width ``h`` whose ends have the same sign holds no zero if
    ``min(|f(a)|, |f(b)|) > M h²/8`` (``f`` is within ``M h²/8`` of its chord), and one
    with a sign change holds exactly one if ``max(|f(a)|, |f(b)|) > M h²`` (three zeros
    would put a zero of ``f'`` within ``h`` of every point, so ``|f| <= M h²``). Other
    intervals are halved, down to ``1e-9 ω`` (a root touching the axis without crossing
    is no crossing); the grid starts with ``M h²/8 = 0.005``. Each single zero is refined
    by Newton's method.
    """
    curvature = axis.curvature_bound()
    count = min(256, max(4, math.ceil((high - low) * math.sqrt(curvature / 0.04))))
    step = (high - low) / count
    re = axis.re_on_grid(low, step, count + 1)
    close = np.abs(re) <= 1e-12  # the grid's rotations round: decide these exactly
    if close.any():
        re[close] = axis(np.asarray(low + step * np.flatnonzero(close), dtype=np.float64))[0].real
    omega = low + step * np.arange(count + 1)
    a, b, fa, fb = omega[:-1], omega[1:], re[:-1], re[1:]

    def at(w: float) -> tuple[complex, float]:
        phi, slope = axis(np.array([w]))
        return complex(phi[0]), float(slope[0])

    floor = 1e-9 * high
    while a.size:
        width = b - a
        same = np.sign(fa) * np.sign(fb) > 0
        single = ~same & ((np.maximum(np.abs(fa), np.abs(fb)) > curvature * width**2)
                          | (width <= floor))
        for i in np.flatnonzero(single):
            lo, hi, f_lo, f_hi = float(a[i]), float(b[i]), float(fa[i]), float(fb[i])
            start = lo - f_lo * (hi - lo) / (f_hi - f_lo) if f_hi != f_lo else lo
            found = _refine(at, lo, hi, f_lo, f_hi, start)
            if found is not None and found.imag < 0:
                best = min(best, -found.real / found.imag)
        cleared = same & (np.minimum(np.abs(fa), np.abs(fb)) > curvature * width**2 / 8)
        split = ~single & ~cleared & (width > floor) & (a < best)
        a, b, fa, fb = a[split], b[split], fa[split], fb[split]
        if a.size:
            mid = 0.5 * (a + b)
            fm = axis(mid)[0].real
            a, b = np.concatenate([a, mid]), np.concatenate([mid, b])
            fa, fb = np.concatenate([fa, fm]), np.concatenate([fm, fb])
    return best


def _crossing(kernel: DelayKernel, lo: float, hi: float, f_lo: float,
              f_hi: float) -> complex | None:
    """``ω + i Im φ(iω)`` at the zero ``ω`` of ``Re φ(iω)`` in ``[lo, hi]``.

    ``f_lo`` and ``f_hi`` are the scan's values of ``Re φ`` at the ends, of opposite
    signs (or zero). Their signs are exact: a coarse value within the coarse rule's error
    of zero has been recomputed with the full rule. The zero is found by Newton's method
    on the full-accuracy transform, safeguarded by bisection inside the bracket, started
    from the zero of the coarse rule: one exponential table gives ``Re φ``, its slope
    ``-Im φ'`` and ``Im φ`` at once, and two or three steps reach machine precision where
    bisection-type solvers need ten evaluations.
    """
    if f_lo * f_hi > 0:
        return None
    w = lo - f_lo * (hi - lo) / (f_hi - f_lo) if f_hi != f_lo else lo  # secant start
    if not kernel.fast and f_lo != 0.0 and f_hi != 0.0:
        coarse = kernel.rule(hi, tail=COARSE_TAIL)
        # if the coarse rule's signs at the ends differ from the exact ones: secant start
        with contextlib.suppress(ValueError):
            w = brentq(lambda x: float(coarse.re_on_axis(np.array([x]))[0]),
                                lo, hi, xtol=1e-10 * hi)

    def evaluate(x: float) -> tuple[complex, float]:
        value, slope = kernel.with_derivative(np.array([1j * x]))
        return complex(value[0]), float(-slope[0].imag)  # d/dω Re φ(iω) = Re(i φ')

    return _refine(evaluate, lo, hi, f_lo, f_hi, w)


def _refine(evaluate: Callable[[float], tuple[complex, float]], lo: float, hi: float,
            f_lo: float, f_hi: float, w: float) -> complex | None:
    """Safeguarded Newton on ``Re φ(iω)`` in the bracket ``[lo, hi]`` from ``w``.

    ``evaluate(ω)`` gives ``φ(iω)`` and ``d/dω Re φ(iω)``. Returns ``ω* + i Im φ(iω*)``
    (None when ``f_lo`` and ``f_hi`` have the same sign).
    """
    if f_lo == 0.0 or f_hi == 0.0:
        w = lo if f_lo == 0.0 else hi
        return complex(w, evaluate(w)[0].imag)
    if f_lo * f_hi > 0:
        return None
    sign_lo = math.copysign(1.0, f_lo)
    value = complex(math.nan)
    for _ in range(60):
        value, df = evaluate(w)
        f = value.real
        if f == 0.0:
            break
        if math.copysign(1.0, f) == sign_lo:
            lo = w
        else:
            hi = w
        newton = f / df if df != 0.0 else math.inf
        if abs(newton) <= _EPS4 * w or hi - lo <= _EPS4 * hi:
            w -= newton if math.isfinite(newton) else 0.0  # Im φ moves by O(eps): kept
            break
        w = w - newton if lo < w - newton < hi else 0.5 * (lo + hi)
    return complex(w, value.imag)


def _scan_step(unit: DelayLaw) -> float:
    """Grid step in ω that resolves ``Re φ(iω) = E[cos ωX]`` for the normalised law.

    Oscillations from delays beyond the 99.9 % quantile have amplitude below 1e-3; the
    step resolves everything inside it (four points per period of its largest delay).
    """
    reach = min(unit.support[1], float(unit.quantile(0.999)))
    return min(0.05, 0.25 / max(reach, 1e-12))


def stationary_variance(kappa: float, law: DelayLaw | DelayKernel, sigma: float = 1.0) -> float:
    """Stationary variance of the mode ``dx = −κ ∫ x(t−u) dF̃(u) dt + σ dW``.

    Time is in units of the law's mean (``F̃`` is the normalised law).

    Parameters
    ----------
    kappa : float
        Dimensionless gain ``κ > 0``.
    law : DelayLaw or DelayKernel
        Delay law (normalised to mean 1 internally), or a thinned/weighted kernel.
    sigma : float
        Noise intensity ``σ >= 0``.

    Returns
    -------
    float
        The variance; ``inf`` if the mode is not stable (``κ >= κ*``).

    Notes
    -----
    The stationary solution is ``x = ∫ r(t − s) σ dW(s)`` with ``r`` the fundamental
    solution, whose Fourier transform is ``1 / (iω + κ φ(iω))``. Parseval gives

        Var x = σ² / (2π) ∫ |iω + κ φ(iω)|^{-2} dω = σ² / π ∫_0^∞ |iω + κ φ(iω)|^{-2} dω.

    Point delay closed form: ``σ² (1 + sin κ) / (2 κ cos κ)`` (Küchler & Mensch 1992).

    Examples
    --------
    >>> import math
    >>> from sdde import delays
    >>> from sdde.stability.mean_field import stationary_variance
    >>> v = stationary_variance(1.0, delays.Deterministic(value=1.0))
    >>> bool(abs(v - (1 + math.sin(1)) / (2 * math.cos(1))) < 1e-10)
    True
    """
    if not (isinstance(kappa, int | float) and 0 < kappa < math.inf):
        raise ValueError(f"kappa must be a finite number > 0, got {kappa!r}")
    if not (isinstance(sigma, int | float) and 0 <= sigma < math.inf):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    kernel = as_kernel(law)
    if kappa >= critical_kappa(kernel):
        return math.inf
    far = 2000.0 * (1.0 + kappa)
    if not kernel.fast:
        # Quadrature-rule kernels: the rule's cost grows with the frequency, so the cut
        # comes earlier; the neglected ~κ |φ| / W² stays below 1e-7 relative for densities
        # (|φ(iω)| = O(1/ω)) and atoms-only kernels have rules of a few nodes anyway.
        far = 256.0 * (1.0 + kappa)
        kernel.rule(far)  # build once

    def density(w: float) -> float:
        return 1.0 / abs(1j * w + kappa * complex(kernel.on_axis(np.array([w]))[0])) ** 2

    # Resonances sit near |ω| ~ κ (and near the crossing frequency, below κ*): cut there.
    # For large ω the density is 1/ω² − 2κ Im φ(iω)/ω³ + O(κ²/ω⁴); the middle term
    # oscillates, so beyond W its integral is O(κ/W³). Up to W = 2000 (1 + κ) the density
    # is integrated on pieces of length 20; beyond, the 1/ω² part exactly (1/W): the
    # neglected rest is ~κ/W³ < 1e-10 relative to the variance.
    # A small gain's peak (height 1/κ², width κ) decays like 1/ω² over decades up to
    # 4κ + 4: geometric cuts (six per decade) keep every piece smooth on its own scale.
    decades = np.geomspace(2.0 * kappa, 4.0 * kappa + 4.0,
                           max(2, math.ceil(6 * math.log10((4.0 * kappa + 4.0) / kappa))))
    cuts = np.unique(np.concatenate([[0.0, 0.5 * kappa, kappa], decades,
                                     np.arange(4.0 * kappa + 4.0, far, 20.0), [far]]))
    lo, hi = cuts[:-1], cuts[1:]
    # Every piece by Gauss–Legendre with 16 and 32 nodes at once (vectorised); pieces
    # where the two differ by more than 1e-12 relative go to adaptive quadrature.
    coarse, fine = (_gauss_legendre(kernel, kappa, lo, hi, order) for order in (16, 32))
    doubtful = np.abs(fine - coarse) > 1e-12 * np.abs(fine) + 1e-300
    # full_output: QUADPACK's roundoff notice (atoms' kernels at 1e-11 relative) is not a
    # warning for the user; its result is the best it reaches, as before
    body = float(np.sum(fine[~doubtful])) + sum(
        integrate.quad(density, a, b, limit=200, epsabs=1e-15, epsrel=1e-11,
                       full_output=1)[0]
        for a, b in zip(lo[doubtful], hi[doubtful], strict=True))
    return float(sigma**2 / math.pi * (body + 1.0 / far))


def stationary_variance_curve(kappas: FloatArray, kernel: DelayKernel) -> FloatArray:
    """:func:`stationary_variance` with ``σ = 1`` at many gains of one kernel at once.

    The integrand ``|iω + κ φ(iω)|^{-2}`` needs the kernel's transform on the frequency axis
    only, which does not depend on ``κ``: it is evaluated once on Gauss–Legendre panels cut
    geometrically (8 per decade) from ``κ_min/4`` to ``4κ_max + 4``, where the resonances
    are, then every 20 (for laws with atoms, whose ``φ(iω)`` never stops oscillating, every
    ``min(20, 1.25/x₉₉₉)``: a fifth of the period of the 0.999 quantile's delay) up to the
    far cut ``W``, and reused for all gains. Beyond ``W`` the integrand is ``ω^{-2} (1 +
    ε)`` with ``|ε| <= 3κ/ω`` (``|φ| <= 1``), so taking ``1/W`` for it errs by at most ``1.5
    κ/W²``: ``W = 2000 (1 + κ)`` for closed-form transforms as in
    :func:`stationary_variance`, ``W = 64 (1 + κ_max)`` for quadrature-rule kernels and laws
    with atoms, whose transform costs more at high frequency (an error below ``4e-4/(1 +
    κ)``; the tests measure the agreement with :func:`stationary_variance`). A gain whose
    16- and 32-node sums differ by more than ``1e-8`` relative is computed alone by
    :func:`stationary_variance`. ``inf`` at and beyond ``κ*``.

    Examples
    --------
    >>> from sdde import delays
    >>> k = as_kernel(delays.parse("lognormal:mean=1,cv=1"))
    >>> v = stationary_variance_curve(np.array([0.1, 1.0]), k)
    >>> bool(np.allclose(v, [stationary_variance(0.1, k), stationary_variance(1.0, k)],
    ...                  rtol=1e-6))
    True
    """
    kappa = np.asarray(kappas, dtype=np.float64)
    out = np.full(kappa.shape, math.inf)
    stable = kappa < critical_kappa(kernel)
    if not np.any(stable):
        return out
    k = kappa[stable]
    atoms = kernel.law.atoms()[0].size > 0
    far = (2000.0 if kernel.fast and not atoms else 64.0) * (1.0 + float(k.max()))
    if not kernel.fast:
        kernel.rule(far)
    start = 4.0 * float(k.max()) + 4.0
    decades = math.log10(start / (0.25 * float(k.min())))
    # atoms never stop oscillating (φ(iω) has period 2π/x in each atom x): panels of at
    # most a fifth of the period of the 0.999 quantile's; a density's φ(iω) decays
    step = min(20.0, 1.25 / max(float(kernel.law.quantile(0.999)), 1e-3)) if atoms else 20.0
    cuts = np.unique(np.concatenate([[0.0], np.geomspace(0.25 * float(k.min()), start,
                                                         max(2, math.ceil(8 * decades))),
                                     np.arange(start, far, step), [far]]))
    cuts = cuts[cuts <= far]
    sums = []
    for order in (16, 32):
        nodes, weights = gauss_legendre_panels(cuts, order)
        phi = np.asarray(kernel.on_axis(nodes), dtype=np.complex128)
        sums.append((weights[None, :] / np.abs(1j * nodes[None, :]
                                              + k[:, None] * phi[None, :]) ** 2).sum(axis=1))
    coarse, fine = sums
    values = (fine + 1.0 / far) / math.pi
    for i in np.flatnonzero(np.abs(fine - coarse) > 1e-8 * np.abs(fine)):
        values[i] = stationary_variance(float(k[i]), kernel, 1.0)
    out[stable] = values
    return out


def unit_noise_variances(kappas: FloatArray, kernel: DelayKernel) -> FloatArray:
    """Stationary variances with ``σ = 1`` at many gains of one kernel (``inf`` at and beyond
    ``κ*``): exact from a Lyapunov equation for exponential/Erlang mixtures
    (:func:`phase_type_stationary_variance`), else :func:`stationary_variance_curve`.

    Examples
    --------
    >>> from sdde import delays
    >>> k = as_kernel(delays.parse("exponential:mean=1"))   # v = (1 + κ) / (2 κ)
    >>> [round(float(v), 12) for v in unit_noise_variances(np.array([0.5, 1.0]), k)]
    [1.5, 1.0]
    """
    k = np.asarray(kappas, dtype=np.float64)
    first = phase_type_stationary_variance(float(k[0]), kernel) if k.size else None
    if first is None:
        return stationary_variance_curve(k, kernel)
    rest = [phase_type_stationary_variance(float(x), kernel) for x in k[1:]]
    return np.array([first, *rest], dtype=np.float64)


def phase_type_stationary_variance(kappa: float, kernel: DelayKernel,
                                   sigma: float = 1.0) -> float | None:
    """:func:`stationary_variance` for exponential/Erlang mixture kernels, from a Lyapunov
    equation (None for other kernels).

    The linear chain trick makes ``dx = −κ Σ_c w_c y_{c,k_c} dt + σ dW`` with
    ``dy_{c,1} = r_c (x − y_{c,1}) dt`` and ``dy_{c,j} = r_c (y_{c,j−1} − y_{c,j}) dt`` a
    finite linear SDE ``ds = A s dt + σ e₀ dW``; its stationary covariance solves
    ``A P + P Aᵀ + σ² e₀ e₀ᵀ = 0`` and ``v = P₀₀`` (``inf`` when ``A`` is not Hurwitz).
    Microseconds instead of a frequency integral, exact to rounding.

    Examples
    --------
    >>> from sdde import delays
    >>> k = as_kernel(delays.parse("exponential:mean=1"))   # v = σ² (1 + κ) / (2 κ)
    >>> round(phase_type_stationary_variance(0.5, k), 12)
    1.5
    """
    from scipy import linalg

    components = phase_type_components(kernel)
    if components is None:
        return None
    a = chain_matrix(kappa, tuple(components))
    if np.linalg.eigvals(a).real.max() >= 0:
        return math.inf
    size = a.shape[0]
    q = np.zeros((size, size))
    q[0, 0] = sigma * sigma
    p = linalg.solve_continuous_lyapunov(a, -q)
    return float(p[0, 0])


def _gauss_legendre(kernel: DelayKernel, kappa: float, lo: FloatArray, hi: FloatArray,
                    order: int) -> FloatArray:
    """``∫ |iω + κ φ(iω)|^{-2} dω`` over each ``[lo_j, hi_j]`` by an ``order``-point rule."""
    nodes, weights = gauss_legendre_panels(np.append(lo, hi[-1]), order)
    phi = np.asarray(kernel.on_axis(nodes), dtype=np.complex128)
    density = weights / np.abs(1j * nodes + kappa * phi) ** 2
    return np.asarray(density.reshape(lo.size, order).sum(axis=1), dtype=np.float64)

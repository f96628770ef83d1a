"""Stability of one Hessian mode: the divergence threshold κ* of a delay law.

A mode with dimensionless gain ``κ = η · n · h`` (time in units of the mean delay) has
the characteristic equation ``z + κ φ(z) = 0``, ``φ`` the Laplace transform of the
normalised delay law ``F̃``. Its mean dynamics converge iff every root has ``Re z < 0``;
the divergence threshold ``κ*`` is the smallest ``κ`` at which a root reaches the
imaginary axis. Derivation: ``theory/stability.md``.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
from scipy import integrate, optimize

from sdde._numerics import FloatArray, gauss_legendre_panels
from sdde.delays import DelayLaw
from sdde.model.kernels import COARSE_TAIL, DelayKernel, as_kernel
from sdde.stability.roots import phase_type_components

#: Thresholds are searched up to this gain: a mode with κ = η·n·h above 100 is far beyond
#: any learning rate in practical use.
KAPPA_MAX = 100.0
_EPS4 = 4 * float(np.finfo(np.float64).eps)


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
    kernel = as_kernel(law)
    if kernel.completely_monotone:
        return math.inf
    if kappa_max is None:
        kappa_max = KAPPA_MAX * kernel.law.kappa_scale
    step = _scan_step(kernel.law)

    best = math.inf
    start, block = 0.0, 64
    while start < (bound := kernel.mass * min(best, kappa_max)):
        # Blocks share their end points, so a sign change at a boundary is not missed;
        # none reaches past the bound by more than one step.
        size = min(block, math.ceil((bound - start) / step))
        omega = np.asarray(start + step * np.arange(size + 1), dtype=np.float64)
        if kernel.fast:
            re = kernel.re_on_axis(omega)
        else:
            coarse = kernel.rule(float(omega[-1]), tail=COARSE_TAIL)
            re = coarse.re_on_grid(start, step, omega.size)
            # values within the coarse rule's error (its cut mass grows with ω for
            # kernels with an atom-free but slowly decaying density): decide exactly
            doubtful = np.abs(re) <= max(4 * COARSE_TAIL, 2 * coarse.error)
            if doubtful.any():
                re[doubtful] = kernel.re_on_axis(omega[doubtful])
        for i in np.flatnonzero(np.sign(re[:-1]) * np.sign(re[1:]) <= 0):
            crossing = _crossing(kernel, float(omega[i]), float(omega[i + 1]),
                                 float(re[i]), float(re[i + 1]))
            if crossing is not None and crossing.imag < 0:
                best = min(best, -crossing.real / crossing.imag)
        start = float(omega[-1])
        block = min(2 * block, 1024)
    return best if best <= kappa_max else math.inf


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
    if f_lo == 0.0 or f_hi == 0.0:
        w = lo if f_lo == 0.0 else hi
        return complex(w, float(kernel.on_axis(np.array([w]))[0].imag))
    if f_lo * f_hi > 0:
        return None
    w = lo - f_lo * (hi - lo) / (f_hi - f_lo)  # secant start
    if not kernel.fast:
        coarse = kernel.rule(hi, tail=COARSE_TAIL)
        # if the coarse rule's signs at the ends differ from the exact ones: secant start
        with contextlib.suppress(ValueError):
            w = optimize.brentq(lambda x: float(coarse.re_on_axis(np.array([x]))[0]),
                                lo, hi, xtol=1e-10 * hi)
    sign_lo = math.copysign(1.0, f_lo)
    for _ in range(60):
        value, slope = kernel.with_derivative(np.array([1j * w]))
        f, df = float(value[0].real), float(-slope[0].imag)  # d/dω Re φ(iω) = Re(i φ')
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
    return complex(w, float(value[0].imag))


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
    size = 1 + sum(k for _, _, k in components)
    a = np.zeros((size, size))
    row = 1
    for weight, rate, shape in components:
        for j in range(shape):
            a[row + j, row + j] = -rate
            a[row + j, 0 if j == 0 else row + j - 1] += rate
        a[0, row + shape - 1] = -kappa * weight
        row += shape
    if np.linalg.eigvals(a).real.max() >= 0:
        return math.inf
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

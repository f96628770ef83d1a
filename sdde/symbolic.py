"""Symbolic stability theory of one Hessian mode (sympy).

A mode with gain ``κ = η·n·h`` and a delay kernel of mean 1 has the characteristic
function ``Δ(z) = z + κ φ(z)``. This module builds ``φ`` symbolically for the kernels
where a formula exists, and derives from it:

* the imaginary-axis crossing conditions and, where they can be solved, the closed-form
  divergence threshold ``κ*`` (:func:`critical_kappa`);
* Routh–Hurwitz conditions when ``φ`` is rational (:func:`routh_hurwitz`), and ``κ*``
  from them;
* the double-root (critical damping) condition and the ``κ`` that maximises the decay
  rate (:func:`critical_damping`);
* the stationary variance of ``dx = −κ ∫ x(t−u) dF̃(u) dt + σ dW`` in closed form
  (:func:`stationary_variance`);
* the discrete-time recursion with constant staleness and its threshold
  (:func:`discrete_threshold`);
* LaTeX (:func:`latex`) and numpy functions (:func:`lambdify`).

sympy is imported with this module only; ``import sdde`` and ``sdde-analyze`` never load
it. Derivations: ``theory/derivations/``.

Examples
--------
>>> from sdde import symbolic
>>> symbolic.critical_kappa(symbolic.erlang(2)).kappa
4
>>> symbolic.critical_kappa(symbolic.point_delay()).kappa
pi/2
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from scipy import optimize

#: The Laplace variable, the frequency on the imaginary axis and the gain.
Z = sp.Symbol("z")
OMEGA = sp.Symbol("omega", positive=True)
KAPPA = sp.Symbol("kappa", positive=True)
SIGMA = sp.Symbol("sigma", positive=True)
#: Step times curvature in the discrete-time recursion, and the staleness.
ALPHA = sp.Symbol("alpha", positive=True)
STALENESS = sp.Symbol("S", integer=True, nonnegative=True)


@dataclass(frozen=True)
class SymbolicKernel:
    """A mean-1 delay kernel with a symbolic transform ``φ(z)``.

    Attributes
    ----------
    name : str
        Human-readable name with its parameters.
    transform : sympy.Expr
        ``φ(z)`` in the symbol :data:`Z`.
    parameters : dict
        The kernel's own symbols (or numbers), by name.
    phase : sympy.Expr or None
        ``θ(ω)`` with ``φ(iω) = A(ω) e^{−iθ(ω)}``, valid from ``ω = 0`` up to the first
        crossing (``A > 0``, ``θ`` increasing there); ``None`` when no such form is known.
    modulus : sympy.Expr or None
        ``A(ω)``, paired with ``phase``.
    """

    name: str
    transform: sp.Expr
    parameters: dict[str, Any] = field(default_factory=dict)
    phase: sp.Expr | None = None
    modulus: sp.Expr | None = None

    @property
    def rational(self) -> bool:
        """Whether ``φ`` is a rational function of ``z`` (the linear chain trick applies)."""
        if self.transform.is_rational_function(Z):
            return True
        if any(factor.has(Z) for factor in self.transform.atoms(sp.exp)):
            return False  # a delay factor e^{−cz}
        return bool(sp.simplify(self.transform).is_rational_function(Z))

    def subs(self, **values: Any) -> SymbolicKernel:
        """The kernel with symbolic parameters replaced by values (numbers or expressions).

        Raises
        ------
        ValueError
            For a name that is not a parameter, or a parameter that is already a number
            (build the kernel again with the new value instead).
        """
        unknown = set(values) - set(self.parameters)
        if unknown:
            raise ValueError(f"{self.name}: no parameter(s) {sorted(unknown)}; "
                             f"known: {sorted(self.parameters)}")
        fixed = sorted(k for k in values if not isinstance(self.parameters[k], sp.Symbol))
        if fixed:
            raise ValueError(f"{self.name}: parameter(s) {fixed} are already numbers; "
                             "build the kernel again with the new values")
        mapping = {self.parameters[k]: v for k, v in values.items()}

        def put(expr: sp.Expr | None) -> sp.Expr | None:
            return None if expr is None else expr.subs(mapping)

        params = {k: (sp.sympify(values[k]) if k in values else v)
                  for k, v in self.parameters.items()}
        base, _, rest = self.name.partition("(")
        labels = [item for item in rest.rstrip(")").split(", ") if item]
        labels = [f"{key}={params[key]}" if key in params else item
                  for item in labels for key in [item.split("=")[0]]]
        return SymbolicKernel(f"{base}({', '.join(labels)})" if labels else base,
                              put(self.transform), params, put(self.phase), put(self.modulus))


# ------------------------------------------------------------------ kernels
def point_delay() -> SymbolicKernel:
    """All delays equal to the mean: ``φ(z) = e^{−z}``."""
    return SymbolicKernel("point_delay", sp.exp(-Z), {}, OMEGA, sp.Integer(1))


def exponential() -> SymbolicKernel:
    """Exponential delays of mean 1: ``φ(z) = 1/(1 + z)``."""
    return SymbolicKernel("exponential", 1 / (1 + Z), {}, sp.atan(OMEGA),
                          1 / sp.sqrt(1 + OMEGA**2))


def erlang(k: int | sp.Symbol | None = None) -> SymbolicKernel:
    """Erlang (gamma with whole shape ``k``) of mean 1: ``φ(z) = (1 + z/k)^{−k}``.

    ``k`` may be a number or left symbolic (a positive integer symbol).
    """
    shape = sp.Symbol("k", positive=True, integer=True) if k is None else sp.sympify(k)
    if shape.is_number and not (shape.is_integer and shape >= 1):
        raise ValueError(f"erlang: k must be a whole number >= 1, got {k!r}")
    return SymbolicKernel(f"erlang(k={shape})", (1 + Z / shape) ** (-shape), {"k": shape},
                          shape * sp.atan(OMEGA / shape),
                          (1 + OMEGA**2 / shape**2) ** (-shape / 2))


def shifted_exponential(shift: Any = None) -> SymbolicKernel:
    """``s`` plus an exponential of mean ``1 − s`` (``0 <= s < 1``):
    ``φ(z) = e^{−sz} / (1 + (1 − s) z)``."""
    s = sp.Symbol("s", positive=True) if shift is None else sp.sympify(shift)
    _check_range("shifted_exponential", "shift s", s, 0, 1)
    return SymbolicKernel(f"shifted_exponential(s={s})", sp.exp(-s * Z) / (1 + (1 - s) * Z),
                          {"s": s}, s * OMEGA + sp.atan((1 - s) * OMEGA),
                          1 / sp.sqrt(1 + (1 - s) ** 2 * OMEGA**2))


def uniform(half_width: Any = None) -> SymbolicKernel:
    """Uniform on ``[1 − a, 1 + a]`` (``0 < a <= 1``): ``φ(z) = e^{−z} sinh(az)/(az)``.

    On the axis ``φ(iω) = e^{−iω} sin(aω)/(aω)``: phase ``ω`` while ``aω < π``.
    """
    a = sp.Symbol("a", positive=True) if half_width is None else sp.sympify(half_width)
    _check_range("uniform", "half_width a", a, 0, 1, closed_low=False)
    return SymbolicKernel(f"uniform(a={a})", sp.exp(-Z) * sp.sinh(a * Z) / (a * Z), {"a": a},
                          OMEGA, sp.sin(a * OMEGA) / (a * OMEGA))


def two_point(p: Any = None, slowdown: Any = None) -> SymbolicKernel:
    """A round is ``r`` times slower with probability ``p``; mean 1:
    ``φ(z) = ((1 − p) e^{−tz} + p e^{−rtz})``, ``t = 1/(1 − p + p r)``."""
    p_ = sp.Symbol("p", positive=True) if p is None else sp.sympify(p)
    r = sp.Symbol("r", positive=True) if slowdown is None else sp.sympify(slowdown)
    _check_range("two_point", "p", p_, 0, 1)
    _check_range("two_point", "slowdown r", r, 0, sp.oo, closed_low=False)
    t = 1 / (1 - p_ + p_ * r)
    return SymbolicKernel(f"two_point(p={p_}, r={r})",
                          (1 - p_) * sp.exp(-t * Z) + p_ * sp.exp(-r * t * Z), {"p": p_, "r": r})


def thinned_erlang(k: int, threshold: int, rho: Any = None, gamma: Any = 1) -> SymbolicKernel:
    """Erlang-``k`` delays (mean 1) with staleness threshold ``K`` and step ``γ^s``.

    A gradient of delay ``u`` has Poisson(``ρu``) staleness, so the kernel is
    ``w(u) f_k(u)`` with ``w(u) = Σ_{s<=K} γ^s Pois(s; ρu)``, ``f_k`` the Erlang density
    ``k^k u^{k−1} e^{−ku} / (k−1)!``, and

        φ(z) = Σ_{s<=K} (γρ)^s k^k (s+k−1)! / (s! (k−1)! (z + ρ + k)^{s+k}),

    a rational function (``γ = 1``: constant steps; ``k = 1``: exponential delays).
    """
    if isinstance(k, bool) or not (isinstance(k, int) and k >= 1):
        raise ValueError(f"thinned_erlang: k must be a whole number >= 1, got {k!r}")
    if isinstance(threshold, bool) or not (isinstance(threshold, int) and threshold >= 0):
        raise ValueError(f"thinned_erlang: threshold must be a whole number >= 0, "
                         f"got {threshold!r}")
    r = sp.Symbol("rho", positive=True) if rho is None else sp.sympify(rho)
    g = sp.sympify(gamma)
    phi = sum(((g * r) ** s * k**k * sp.factorial(s + k - 1)
               / (sp.factorial(s) * sp.factorial(k - 1) * (Z + r + k) ** (s + k))
               for s in range(threshold + 1)), sp.Integer(0))
    return SymbolicKernel(f"thinned_erlang(k={k}, K={threshold}, rho={r}, gamma={g})", phi,
                          {"rho": r, "gamma": g})


def _check_range(kernel: str, name: str, value: sp.Expr, low: Any, high: Any, *,
                 closed_low: bool = True) -> None:
    """Reject a numeric parameter outside ``[low, high]`` (``(low, high]`` if not
    ``closed_low``); symbols pass."""
    if not value.is_number:
        return
    if not value.is_real or value > high or value < low or (not closed_low and value == low):
        where = (f"be > {low}" if high == sp.oo else
                 f"lie in {'[' if closed_low else '('}{low}, {high}]")
        raise ValueError(f"{kernel}: {name} must {where}, got {value}")


# ------------------------------------------------------------------ equations
def characteristic_function(kernel: SymbolicKernel) -> sp.Expr:
    """``Δ(z) = z + κ φ(z)``; its zeros are the mode's exponents."""
    return Z + KAPPA * kernel.transform


def crossing_conditions(kernel: SymbolicKernel) -> tuple[sp.Expr, sp.Expr]:
    """``(Re φ(iω), −ω / Im φ(iω))``: a root crosses at ``iω`` iff the first vanishes
    (with ``Im φ(iω) < 0``), at the gain given by the second."""
    return _axis_parts(kernel, simplify=True)


def _axis_parts(kernel: SymbolicKernel, *, simplify: bool) -> tuple[sp.Expr, sp.Expr]:
    on_axis = sp.expand_complex(kernel.transform.subs(Z, sp.I * OMEGA))
    re, im = on_axis.as_real_imag()
    if not simplify:
        return re, -OMEGA / im
    re, im = sp.simplify(re), sp.simplify(im)
    return re, sp.simplify(-OMEGA / im)


@dataclass(frozen=True)
class Threshold:
    """A divergence threshold ``κ*`` and how it was obtained.

    Attributes
    ----------
    kappa : sympy.Expr
        ``κ*`` (``oo`` if no root ever crosses); a Float when only a numerical solution
        of the crossing equation exists.
    omega : sympy.Expr
        The crossing frequency (``oo`` if none).
    closed_form : bool
        Whether ``kappa`` is an exact expression.
    equation : sympy.Expr
        The crossing equation (``= 0``) in :data:`OMEGA` that was solved.
    method : str
        ``"phase"`` (``θ(ω) = π/2``), ``"routh-hurwitz"`` or ``"numeric"``.
    """

    kappa: sp.Expr
    omega: sp.Expr
    closed_form: bool
    equation: sp.Expr
    method: str


def critical_kappa(kernel: SymbolicKernel) -> Threshold:
    """The divergence threshold ``κ*`` of a kernel.

    With ``φ(iω) = A(ω) e^{−iθ(ω)}`` (``A > 0``, ``θ`` increasing from 0), the first
    crossing is where ``θ(ω) = π/2`` and then ``κ* = ω / A(ω)``; rational kernels are
    solved by Routh–Hurwitz; otherwise every sign change of ``Re φ(iω)`` on ``ω > 0`` is
    found on a grid, refined to 30 digits (mpmath), and the smallest gain over the
    crossings (``Im φ(iω) < 0``) is returned, marked ``closed_form=False``.

    Parameters
    ----------
    kernel : SymbolicKernel
        The kernel (parameters may be symbolic for the phase method; the numerical
        fallback needs numbers).

    Returns
    -------
    Threshold
    """
    if kernel.phase is not None:
        equation = kernel.phase - sp.pi / 2
        try:
            solutions = sp.solve(equation, OMEGA)
        except NotImplementedError:
            solutions = None
        if solutions is not None:
            finite = [w for w in solutions if w.is_finite is not False and w != sp.zoo]
            if not finite:  # θ stays below π/2: no crossing at any gain
                return Threshold(sp.oo, sp.oo, True, equation, "phase")
            w = finite[0]
            kappa = sp.simplify(w / kernel.modulus.subs(OMEGA, w))  # type: ignore[union-attr]
            if kappa.has(sp.zoo, sp.nan):
                return Threshold(sp.oo, sp.oo, True, equation, "phase")
            return Threshold(kappa, sp.simplify(w), True, equation, "phase")
    if kernel.rational and not kernel.transform.free_symbols - {Z}:
        return routh_hurwitz_threshold(kernel)
    return _numeric_threshold(kernel)


def _numeric_threshold(kernel: SymbolicKernel) -> Threshold:
    """Scan ``Re φ(iω)`` for sign changes on ``ω > 0``, refine each to 30 digits, keep the
    crossings (``Im φ(iω) < 0``) and return the smallest gain ``κ = −ω / Im φ(iω)``.

    The grid resolves the fastest oscillation of ``φ`` on the axis (32 points per period
    of the largest delay in an ``e^{−cz}`` factor). A positive kernel has
    ``|φ(iω)| <= φ(0)``, so a crossing at ``ω`` needs ``κ >= ω / φ(0)``: the scan stops
    once ``ω`` exceeds ``φ(0)`` times the best gain found.
    """
    free = kernel.transform.free_symbols - {Z}
    if free:
        names = sorted(map(str, free))
        raise ValueError(f"{kernel.name}: no closed form; give numbers for {names} to "
                         "solve the crossing equation numerically")
    re, kappa_of_omega = _axis_parts(kernel, simplify=False)  # numbers: no need
    phi = sp.lambdify(Z, kernel.transform, modules="numpy")
    at_zero = float(sp.limit(kernel.transform, Z, 0))
    step = math.pi / (16.0 * max(1.0, _largest_delay(kernel.transform)))
    best: tuple[float, sp.Float, sp.Float] | None = None
    start = 0.0
    while start < _NUMERIC_OMEGA_MAX and (best is None or start < at_zero * best[0]):
        grid = start + step * np.arange(1, 4097)
        values = np.asarray(phi(1j * grid), dtype=complex) * np.ones_like(grid)
        real = values.real
        sign_change = np.flatnonzero(np.sign(real[:-1]) * np.sign(real[1:]) <= 0)
        for i in sign_change:
            imag = min(values.imag[i], values.imag[i + 1])
            # |d/dω φ(iω)| <= E[U] = 1, so |Im φ| <= |imag| + step inside the interval
            if imag >= 0 or (best is not None and grid[i] / (step - imag) > best[0]):
                continue  # no crossing, or none below the best gain so far
            omega = _refine(re, lambda w: float(np.real(phi(1j * w))), grid[i], grid[i + 1])
            gain = kappa_of_omega.subs(OMEGA, omega)
            if not (gain.is_finite and gain > 0):  # Im φ(iω) >= 0: not a crossing
                continue
            gain = sp.Float(gain, 30)
            if best is None or gain < best[1]:
                best = (float(gain), gain, omega)
        start = float(grid[-1])
    if best is None:
        raise ValueError(f"{kernel.name}: no imaginary-axis crossing found for "
                         f"0 < ω <= {start:g}")
    equation = kernel.phase - sp.pi / 2 if kernel.phase is not None else re
    return Threshold(best[1], best[2], False, equation, "numeric")


#: Upper end of the numerical crossing scan: a crossing beyond it needs ``κ >= 1e5``.
#: (The non-rational kernels here all cross; rational ones use Routh–Hurwitz instead.)
_NUMERIC_OMEGA_MAX = 1e5


def _refine(equation: sp.Expr, real: Callable[[float], float], lo: float,
            hi: float) -> sp.Float:
    """A zero of ``equation(ω)`` in ``[lo, hi]`` to 30 digits: Brent's method in double
    precision, then Newton in mpmath (bisection at 30 digits if Newton strays)."""
    f_lo, f_hi = real(lo), real(hi)
    if f_lo == 0.0 or f_hi == 0.0:
        start = lo if f_lo == 0.0 else hi
    else:
        start = optimize.brentq(real, lo, hi, xtol=1e-300, rtol=1e-15)
    try:
        omega = sp.nsolve(equation, OMEGA, start, prec=30)
    except ValueError:
        omega = None
    if omega is None or not lo - 1e-9 * hi <= omega <= hi + 1e-9 * hi:
        omega = sp.nsolve(equation, OMEGA, (lo, hi), solver="bisect", prec=30)
    return sp.Float(omega, 30)


def _largest_delay(transform: sp.Expr) -> float:
    """The largest ``c`` over the ``e^{−c z}`` factors of a transform (0 if none)."""
    delays = [0.0]
    for factor in transform.atoms(sp.exp):
        coefficient = sp.expand(factor.args[0]).coeff(Z)
        if coefficient.is_number:
            delays.append(abs(float(coefficient)))
    return max(delays)


# ------------------------------------------------------------------ Routh–Hurwitz
def characteristic_polynomial(kernel: SymbolicKernel) -> sp.Poly:
    """``z Q(z) + κ P(z)`` for a rational ``φ = P/Q`` (the linear-chain reduction)."""
    if not kernel.rational:
        raise ValueError(f"{kernel.name}: φ is not rational; there is no polynomial")
    p, q = sp.fraction(sp.cancel(sp.together(kernel.transform)))
    poly = sp.Poly(sp.expand(Z * q + KAPPA * p), Z)
    lead = poly.LC()
    return sp.Poly(sp.expand(poly.as_expr() / lead), Z)


def routh_hurwitz(poly: sp.Poly) -> list[sp.Expr]:
    """Hurwitz conditions: every root of ``poly`` has ``Re z < 0`` iff all returned
    expressions are positive (the leading coefficient made 1).

    Returns the coefficients ``a_1 … a_n`` followed by the leading principal minors
    ``Δ_2 … Δ_{n−1}`` of the Hurwitz matrix (``Δ_1 = a_1`` and ``Δ_n = a_n Δ_{n−1}``
    add nothing).
    """
    coeffs = [sp.expand(c / poly.LC()) for c in poly.all_coeffs()]  # a_0 = 1, a_1, …, a_n
    n = len(coeffs) - 1

    def a(i: int) -> sp.Expr:
        return coeffs[i] if 0 <= i <= n else sp.Integer(0)

    hurwitz = sp.Matrix(n, n, lambda i, j: a(2 * j - i + 1))
    minors = [sp.factor(hurwitz[:m, :m].det()) for m in range(2, n)]
    return coeffs[1:] + minors


def routh_hurwitz_threshold(kernel: SymbolicKernel) -> Threshold:
    """``κ*`` of a rational kernel: the smallest ``κ > 0`` at which a Hurwitz condition
    fails (``Δ_{n−1}(κ) = 0``: a pair reaches the axis; ``a_n = κ P(0) > 0`` never fails)."""
    conditions = routh_hurwitz(characteristic_polynomial(kernel))
    candidates: list[sp.Expr] = []
    for condition in conditions:
        numerator = sp.numer(sp.together(condition))
        if not numerator.has(KAPPA):
            continue
        for root in sp.Poly(numerator, KAPPA).real_roots():
            if root > 0:
                candidates.append(root)
    if not candidates:
        return Threshold(sp.oo, sp.oo, True, sp.Integer(0), "routh-hurwitz")
    kappa = min(candidates, key=lambda r: float(r))
    kappa = sp.nsimplify(kappa) if kappa.is_Rational else sp.simplify(kappa)
    re, _ = crossing_conditions(kernel)
    omega = sp.sqrt(_crossing_omega_squared(kernel, kappa))
    return Threshold(kappa, sp.simplify(omega), True, sp.numer(sp.together(re)),
                     "routh-hurwitz")


def _crossing_omega_squared(kernel: SymbolicKernel, kappa: sp.Expr) -> sp.Expr:
    """``ω²`` of the purely imaginary root pair of the polynomial at ``κ = kappa``:
    exact (a common root of the even and odd parts) for rational ``κ``, else to 30
    digits."""
    poly = characteristic_polynomial(kernel).as_expr().subs(KAPPA, kappa)
    if not kappa.is_Rational:
        roots = sp.Poly(poly.subs(KAPPA, kappa).evalf(40), Z).nroots(n=30)
        pair = min((r for r in roots if sp.im(r) > 0), key=lambda r: abs(sp.re(r)))
        return sp.im(pair) ** 2
    on_axis = sp.expand(poly.subs(Z, sp.I * OMEGA))
    re, im = sp.re(on_axis), sp.im(on_axis)
    common = sp.gcd(sp.Poly(re, OMEGA), sp.Poly(sp.expand(im / OMEGA), OMEGA))
    roots = [r for r in sp.Poly(common, OMEGA).real_roots() if r > 0]
    return sp.simplify(roots[0] ** 2) if roots else sp.oo


# ------------------------------------------------------------------ critical damping
@dataclass(frozen=True)
class CriticalDamping:
    """The double root of ``Δ`` and the fastest decay.

    Attributes
    ----------
    kappa : sympy.Expr
        The gain of the real double root (critical damping).
    root : sympy.Expr
        The double root ``z`` there.
    decay_rate : sympy.Expr
        ``−Re`` of the rightmost root at ``kappa``: the fastest decay over all ``κ``.
    """

    kappa: sp.Expr
    root: sp.Expr
    decay_rate: sp.Expr


def critical_damping(kernel: SymbolicKernel) -> CriticalDamping:
    """The real double root ``Δ(z) = Δ'(z) = 0`` where the rightmost real root meets the
    next one: from there on the rightmost roots form a complex pair and move right, so
    this ``κ`` maximises the decay rate.

    Solved in closed form for the point delay (``z = −1``, ``κ = 1/e``) and for rational
    kernels (the discriminant in ``z`` of the characteristic polynomial, a polynomial in
    ``κ``; its smallest positive root).
    """
    delta = characteristic_function(kernel)
    if kernel.rational:
        # Δ = z Q + κ P is linear in κ: κ = −zQ/P, and Δ' = 0 becomes a polynomial in z.
        p, q = sp.fraction(sp.cancel(sp.together(kernel.transform)))
        doubled = sp.Poly(sp.expand((q + Z * sp.diff(q, Z)) * p - Z * q * sp.diff(p, Z)), Z)
        for root in sorted((r for r in doubled.real_roots() if r < 0), key=float,
                           reverse=True):
            kappa = sp.simplify(-root * q.subs(Z, root) / p.subs(Z, root))
            if not kappa.is_positive:
                continue
            poly = characteristic_polynomial(kernel).as_expr().subs(KAPPA, kappa)
            coeffs = [complex(c) for c in sp.Poly(poly, Z).all_coeffs()]
            rightmost = float(np.roots(coeffs).real.max())
            # A double root is found to ~sqrt(eps) by a dense eigensolver: 1e-6 slack.
            if rightmost <= float(root) + 1e-6 * (1 + abs(float(root))):
                return CriticalDamping(kappa, root, -root)
        raise ValueError(f"{kernel.name}: no real double root is the rightmost one")
    try:
        solutions = sp.solve([delta, sp.diff(delta, Z)], [Z, KAPPA], dict=True)
    except NotImplementedError:
        solutions = []
    real = [s for s in solutions if s[Z].is_real and s[KAPPA].is_positive]
    if len(real) != 1:
        raise ValueError(f"{kernel.name}: no closed-form double root found")
    return CriticalDamping(sp.simplify(real[0][KAPPA]), real[0][Z], -real[0][Z])


# ------------------------------------------------------------------ variance
def stationary_variance(kernel: SymbolicKernel) -> sp.Expr:
    """Stationary variance of ``dx = −κ ∫ x(t−u) dF̃(u) dt + σ dW`` (valid for ``κ < κ*``).

    Point delay: ``σ² (1 + sin κ) / (2κ cos κ)`` (Küchler & Mensch 1992). Rational
    kernels: the Lyapunov equation ``M Σ + Σ Mᵀ + σ² e₁e₁ᵀ = 0`` of the linear-chain
    system (``x`` and a state-space realisation of ``φ``), solved symbolically.
    """
    if kernel.transform == sp.exp(-Z):
        return SIGMA**2 * (1 + sp.sin(KAPPA)) / (2 * KAPPA * sp.cos(KAPPA))
    if not kernel.rational:
        raise ValueError(f"{kernel.name}: no closed form for the variance (use the "
                         "numerical sdde.stationary_variance)")
    m = _chain_matrix(kernel)
    size = m.shape[0]
    cov = sp.Matrix(size, size, lambda i, j: sp.Symbol(f"c_{min(i, j)}_{max(i, j)}"))
    noise = sp.zeros(size, size)
    noise[0, 0] = SIGMA**2
    equations = list(m * cov + cov * m.T + noise)
    unknowns = sorted(cov.free_symbols, key=str)
    solution = sp.solve(equations, unknowns, dict=True)[0]
    return sp.factor(sp.simplify(cov[0, 0].subs(solution)))


def _chain_matrix(kernel: SymbolicKernel) -> sp.Matrix:
    """Drift matrix of ``(x, y)`` with ``y' = A y + b x``, ``x' = −κ cᵀy``, where
    ``cᵀ(zI − A)^{−1} b = φ(z)`` (controllable canonical form of ``φ = P/Q``)."""
    p, q = sp.fraction(sp.cancel(sp.together(kernel.transform)))
    q_poly, p_poly = sp.Poly(q, Z), sp.Poly(p, Z)
    lead = q_poly.LC()
    q_coeffs = [c / lead for c in q_poly.all_coeffs()]  # 1, q_1, …, q_d
    d = q_poly.degree()
    p_coeffs = [c / lead for c in reversed(p_poly.all_coeffs())]  # p_0, p_1, …
    p_coeffs += [sp.Integer(0)] * (d - len(p_coeffs))
    m = sp.zeros(d + 1, d + 1)
    for i in range(1, d):  # y_i' = y_{i+1}
        m[i, i + 1] = 1
    for j in range(d):  # y_d' = −Σ q_{d−j} y_{j+1} + x
        m[d, j + 1] = -q_coeffs[d - j]
    m[d, 0] = 1
    for j in range(d):  # x' = −κ Σ p_j y_{j+1}
        m[0, j + 1] = -KAPPA * p_coeffs[j]
    return m


# ------------------------------------------------------------------ discrete time
@dataclass(frozen=True)
class DiscreteThreshold:
    """Stability of ``x_{t+1} = x_t − α x_{t−S}`` (constant staleness ``S``).

    Attributes
    ----------
    polynomial : sympy.Expr
        ``ζ^{S+1} − ζ^S + α``.
    alpha : sympy.Expr
        ``α*``: stable iff ``0 < α < α*``.
    angle : sympy.Expr
        The argument ``θ`` of the root pair on the unit circle at ``α*``.
    """

    polynomial: sp.Expr
    alpha: sp.Expr
    angle: sp.Expr


def discrete_threshold(staleness: int | sp.Symbol | None = None) -> DiscreteThreshold:
    """``α* = 2 sin(π / (2(2S + 1)))`` for constant staleness ``S``.

    On ``ζ = e^{iθ}`` the equation reads ``e^{iθ(S+½)} · 2i sin(θ/2) = −α``: modulus
    ``2 sin(θ/2) = α`` and phase ``θ(S + ½) + π/2 = π``, the first crossing at
    ``θ = π/(2S + 1)``.
    """
    s = STALENESS if staleness is None else sp.sympify(staleness)
    theta = sp.Symbol("theta", positive=True)
    zeta = sp.Symbol("zeta")
    angle = sp.solve(theta * (s + sp.Rational(1, 2)) + sp.pi / 2 - sp.pi, theta)[0]
    alpha = sp.simplify(2 * sp.sin(angle / 2))
    return DiscreteThreshold(zeta ** (s + 1) - zeta**s + ALPHA, alpha, sp.simplify(angle))


# ------------------------------------------------------------------ output
def latex(expr: sp.Expr) -> str:
    """LaTeX of an expression (``sympy.latex``)."""
    return str(sp.latex(expr))


def lambdify(expr: sp.Expr, *args: sp.Symbol) -> Callable[..., Any]:
    """A numpy function of ``args`` evaluating ``expr`` (``sympy.lambdify``)."""
    return sp.lambdify(args, expr, modules="numpy")


@functools.cache
def erlang_threshold_formula() -> sp.Expr:
    """``κ*(k) = k tan(π/2k) / cos(π/2k)^k`` for Erlang-k, derived by the phase method."""
    return critical_kappa(erlang()).kappa


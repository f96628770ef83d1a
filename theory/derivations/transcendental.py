# %% [markdown]
# # Shifted-exponential and two-point delays: thresholds without a closed form
#
# **Model.** As everywhere: `Δ(z) = z + κ φ(z)`, `φ` the transform of a mean-1 delay law,
# and a root crosses the imaginary axis at `iω` iff `Re φ(iω) = 0`, `Im φ(iω) < 0`, at
# `κ = −ω / Im φ(iω)` (`theory/stability.md` §2).
#
# * **Shifted exponential**: `X̃ = s + E`, `E` exponential of mean `1 − s` (`0 ≤ s < 1`):
#   `φ(z) = e^{−sz}/(1 + (1 − s)z)`. Crossing: phase `sω + atan((1 − s)ω) = π/2`, i.e.
#   `x tan x = s/(1 − s)` with `x = sω`, and then `κ* = x / (s sin x)`.
# * **Two-point**: a round takes `t` with probability `1 − p` and `rt` with probability `p`,
#   `t = 1/(1 − p + pr)`: `φ(z) = (1 − p) e^{−tz} + p e^{−rtz}`. Crossing:
#   `(1 − p) cos tω + p cos rtω = 0` with `κ = ω / ((1 − p) sin tω + p sin rtω) > 0`.
#
# **Results.** Neither equation has a closed-form solution in general (below: why), so
# both are solved with mpmath to 30 digits and compared with sdde's `critical_kappa`.
# Limits of the shifted exponential: `s → 1` gives the point delay (`κ* → π/2`), `s → 0`
# the exponential (`κ* ≈ 1/s + 1/6 → ∞`). For the two-point law the threshold is not
# always at the first zero of `Re φ(iω)` (example `p = 0.2, r = 12`), and for `r = 2`
# the equation is a quadratic in `cos tω` (closed form).

# %%
import math

import mpmath as mp
import numpy as np
import sympy as sp

from sdde import delays, symbolic
from sdde.stability.mean_field import critical_kappa

mp.mp.dps = 30
z, omega = symbolic.Z, symbolic.OMEGA
s = sp.Symbol("s", positive=True)
x, c = sp.symbols("x c", positive=True)

# %% [markdown]
# ## 1. Shifted exponential: the crossing equation
#
# `φ(iω) = e^{−isω} / (1 + i(1 − s)ω) = A(ω) e^{−iθ(ω)}` with
# `A = (1 + (1 − s)²ω²)^{−1/2}` and `θ = sω + atan((1 − s)ω)`, which increases from 0 to
# `∞`. A crossing needs `θ = π/2 + 2πj`, at `κ = ω/A(ω)`, increasing in `ω`: the first
# (`θ = π/2`) is the threshold, and it always exists when `s > 0`.
#
# Taking `tan` of `sω = π/2 − atan((1 − s)ω)` gives `tan(sω) = 1/((1 − s)ω)`; in
# `x = sω ∈ (0, π/2)` this is
#
#     x tan x = c,    c = s/(1 − s),
#
# and since `(1 − s)ω = x/c = cot x`, `κ* = ω sqrt(1 + cot² x) = x / (s sin x)`.

# %%
kernel = symbolic.shifted_exponential()
phase, modulus = kernel.phase, kernel.modulus
print("θ(ω) =", phase, "   A(ω) =", modulus)
# |φ(iω)|² = φ(iω) φ(−iω) (real coefficients) = A². The phase: e^{−isω} contributes −sω,
# and 1/(1 + i(1 − s)ω), whose denominator has real part 1 > 0, contributes −atan((1 − s)ω).
phi_s = kernel.transform
assert sp.simplify(phi_s.subs(z, sp.I * omega) * phi_s.subs(z, -sp.I * omega)
                   - modulus**2) == 0
q = sp.Symbol("q", positive=True)  # q = (1 − s) ω
# θ = π/2 ⇔ sω = π/2 − atan(q) ⇔ tan(sω) = 1/q  (both sides in (0, π/2)):
assert sp.simplify(sp.tan(sp.pi / 2 - sp.atan(q)) - 1 / q) == 0
# with x = sω, q = (1 − s)x/s:  tan x = s/((1 − s)x)  ⇔  x tan x = s/(1 − s).
# On a solution q = cot x, and κ = ω/A = ω sqrt(1 + q²) = (x/s) / sin x:
assert sp.simplify(modulus.subs(omega, q / (1 - s)) - 1 / sp.sqrt(1 + q**2)) == 0
kappa_on_solution = (x / s) * sp.sqrt(1 + q**2)
# Both sides are positive for x ∈ (0, π/2); compare squares (sympy keeps |sin x| otherwise).
assert sp.simplify(kappa_on_solution.subs(q, 1 / sp.tan(x)) ** 2
                   - (x / (s * sp.sin(x))) ** 2) == 0
print("crossing: x tan x = s/(1 − s), x = sω;   κ* = x/(s sin x)")

# %% [markdown]
# *Why no closed form.* `x tan x = c` is the classical transcendental equation of the
# heat equation with a Robin boundary condition: it mixes `x` algebraically with a
# trigonometric function of `x`, so it is not polynomial in `x`, `e^{ix}` or `tan x`, and it
# is not of the `w e^w` form that Lambert W inverts (the point delay's `z e^z = −κ` is).
# sympy's `solve` gives up on it (and on the original phase equation):

# %%
for target in (x * sp.tan(x) - c, phase - sp.pi / 2):
    try:
        sp.solve(target, x if target.has(x) else omega)
    except NotImplementedError as exc:
        print("sympy.solve:", str(exc).splitlines()[-1])
    else:
        raise AssertionError("sympy found a closed form after all")

# %% [markdown]
# *Solving it.* On `[0, π/2]`, `g(x) = x sin x − c cos x` (`x tan x = c` times `cos x`, no
# poles) increases strictly from `−c` to `π/2`, so it has exactly one root there; mpmath's
# bracketing solver finds it to 30 digits.

# %%
def shifted_exp_threshold(shift: mp.mpf) -> mp.mpf:
    """κ* of the shifted exponential with shift s, to mpmath precision."""
    ratio = shift / (1 - shift)
    root = mp.findroot(lambda y: y * mp.sin(y) - ratio * mp.cos(y), (mp.mpf(0), mp.pi / 2),
                       solver="anderson")
    residual = root * mp.sin(root) - ratio * mp.cos(root)
    assert 0 < root < mp.pi / 2 and abs(residual) < mp.mpf(10) ** -25 * (1 + ratio)
    return root / (shift * mp.sin(root))


# %% [markdown]
# ## 2. Shifted exponential: limits
#
# * `s → 1`: `c → ∞`, `x → π/2`, `κ* → (π/2)/(1 · 1) = π/2`: the point delay.
# * `s → 0`: `c = s + s² + …` is small, so is `x`: `x tan x = x² + x⁴/3 + …` gives
#   `x² = c − c²/3 + …`, and `κ* s = x / sin x = 1 + x²/6 + …`, so
#   `κ* = 1/s + 1/6 + O(s) → ∞`: the exponential law never crosses (`erlang.py`, `k = 1`).
#   Carried one order further (below): `κ* = 1/s + 1/6 + 47s/360 + O(s²)`.

# %%
usq = sp.Symbol("U", positive=True)  # x²
series_lhs = sp.series(sp.sqrt(usq) * sp.tan(sp.sqrt(usq)), usq, 0, 4).removeO()
inverse = sp.Integer(0)  # x² = c − (x tan x − x²) by fixed-point iteration, to O(c³)
for _ in range(3):
    inverse = sp.expand(sp.series(c - (series_lhs - usq).subs(usq, inverse), c, 0, 3).removeO())
print("x² =", inverse, "+ O(c³)")
ks = sp.series((sp.sqrt(usq) / sp.sin(sp.sqrt(usq))), usq, 0, 3).removeO()
kappa_s = sp.series(ks.subs(usq, inverse).subs(c, s / (1 - s)), s, 0, 3).removeO()
print("κ* · s =", kappa_s, "+ O(s³)")
assert sp.expand(kappa_s - (1 + s / 6)).coeff(s, 1) == 0
assert kappa_s.coeff(s, 0) == 1
next_term = kappa_s.coeff(s, 2)  # κ* = 1/s + 1/6 + next_term · s + O(s²)
print("κ* = 1/s + 1/6 +", next_term, "· s + O(s²)")
for tiny in ("1e-3", "1e-5"):
    val = shifted_exp_threshold(mp.mpf(tiny))
    gap = val - (1 / mp.mpf(tiny) + mp.mpf(1) / 6)
    print(f"  s = {tiny}: κ* = {mp.nstr(val, 15)},  κ* − (1/s + 1/6) = {mp.nstr(gap, 3)}")
    exact_next = mp.mpf(next_term.p) / next_term.q
    assert abs(gap - exact_next * mp.mpf(tiny)) <= mp.mpf(tiny) ** 2  # O(s²) is left
assert sp.limit(x / sp.sin(x), x, sp.pi / 2) == sp.pi / 2
near_one = shifted_exp_threshold(1 - mp.mpf("1e-9"))
print(f"  s = 1 − 1e−9: κ* = {mp.nstr(near_one, 15)}  (π/2 = {mp.nstr(mp.pi / 2, 15)})")
assert abs(near_one - mp.pi / 2) < 1e-8

# %% [markdown]
# ## 3. Two-point law: the crossing equation
#
# `Re φ(iω) = (1 − p) cos tω + p cos rtω` and `Im φ(iω) = −(1 − p) sin tω − p sin rtω`.
# For irrational `r` the two cosines have incommensurate frequencies: `Re φ(iω) = 0` is an
# exponential polynomial with no known closed-form zeros. For integer `r`,
# `cos rtω = T_r(cos tω)` (Chebyshev) turns it into a polynomial equation of degree `r` in
# `cos tω`, solvable by radicals for `r ≤ 4`; `r = 2` is a quadratic, solved below.
#
# Unlike the phase-monotone kernels above, the first zero of `Re φ(iω)` need not give the
# threshold: `Im φ` may be positive there, or a later crossing may need a smaller `κ`.
# Every crossing has `κ ≥ ω` (`|φ(iω)| ≤ 1`), so it suffices to examine the zeros with
# `ω ≤` the best `κ` found so far (`theory/stability.md` §2). The zeros are bracketed on a
# grid of step `0.02 · 2π/(rt)` (fifty points per period of the faster cosine) and refined
# with mpmath at 30 digits.

# %%
def two_point_crossings(p: mp.mpf, r: mp.mpf) -> list[tuple[mp.mpf, mp.mpf | None]]:
    """(ω, κ) for every zero of Re φ(iω) with ω up to the best κ (κ None if Im φ ≥ 0)."""
    t = 1 / (1 - p + p * r)

    def re(w: mp.mpf) -> mp.mpf:
        return (1 - p) * mp.cos(t * w) + p * mp.cos(r * t * w)

    def im(w: mp.mpf) -> mp.mpf:
        return -(1 - p) * mp.sin(t * w) - p * mp.sin(r * t * w)

    # Bracket on a float grid (signs only), refine each bracket in 30-digit arithmetic.
    tf, rf, pf = float(t), float(r), float(p)
    step = 0.02 * 2 * math.pi / (rf * tf)
    out: list[tuple[mp.mpf, mp.mpf | None]] = []
    best, lo = mp.inf, 0.0
    while lo < best:
        grid = lo + step * np.arange(257)
        values = (1 - pf) * np.cos(tf * grid) + pf * np.cos(rf * tf * grid)
        for i in np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0):
            if grid[i] >= best:
                break
            w = mp.findroot(re, (mp.mpf(grid[i]), mp.mpf(grid[i + 1])), solver="anderson")
            kappa = -w / im(w) if im(w) < 0 else None
            out.append((w, kappa))
            if kappa is not None:
                best = min(best, kappa)
        lo = float(grid[-1])
    return out


def two_point_threshold(p: float, r: float) -> tuple[mp.mpf, int]:
    """κ* and the index of the zero of Re φ(iω) that gives it."""
    crossings = two_point_crossings(mp.mpf(str(p)), mp.mpf(str(r)))
    kappas = [k if k is not None else mp.inf for _, k in crossings]
    best = min(kappas)
    return best, kappas.index(best)


example = two_point_crossings(mp.mpf("0.2"), mp.mpf(12))
print("p = 0.2, r = 12: zeros of Re φ(iω) up to the threshold:")
for w, kappa in example:
    print(f"   ω = {mp.nstr(w, 10):<14} κ = {mp.nstr(kappa, 12) if kappa else '(Im φ > 0)'}")

# %% [markdown]
# *r = 2, closed form.* With `y = cos tω`, `(1 − p) y + p (2y² − 1) = 0`:
# `y = (−(1 − p) ± sqrt((1 − p)² + 8p²)) / (4p)`. At `tω = arccos y` (`sin tω > 0`),
# `Im φ = −sin tω ((1 − p) + 2p y)`, so the `+` root with `(1 − p) + 2py > 0` is a crossing
# at `κ = arccos(y) / (t sin(arccos y) (1 − p + 2py))`; it is the threshold here (checked
# against the general search).

# %%
pp, yy = sp.symbols("p y", positive=True)
quadratic = (1 - pp) * yy + pp * (2 * yy**2 - 1)
roots_y = sp.solve(quadratic, yy)
plus = sp.simplify((-(1 - pp) + sp.sqrt((1 - pp) ** 2 + 8 * pp**2)) / (4 * pp))
assert any(sp.simplify(r_ - plus) == 0 for r_ in roots_y)
t2 = 1 / (1 + pp)  # t = 1/(1 − p + 2p)
kappa_r2 = sp.acos(plus) / (t2 * sp.sqrt(1 - plus**2) * (1 - pp + 2 * pp * plus))
y_plus = sp.Symbol("y_+")
print("r = 2: y_+ =", plus, ";  κ*(p) =",
      kappa_r2.subs(plus, y_plus).subs(sp.sqrt(1 - y_plus**2), sp.sin(sp.acos(y_plus))))
kappa_r2_fn = sp.lambdify(pp, kappa_r2, "mpmath")
for p_ in ("0.1", "0.3", "0.5", "0.8"):
    closed, _ = kappa_r2_fn(mp.mpf(p_)), None
    searched, _ = two_point_threshold(float(p_), 2.0)
    assert abs(closed - searched) < mp.mpf(10) ** -25, (p_, closed, searched)
print("   agrees with the general search to 1e−25 for p = 0.1, 0.3, 0.5, 0.8")

# %% [markdown]
# ## 4. Checks against sdde's numerics
#
# Both laws have closed-form transforms in sdde, so `critical_kappa` refines each zero of
# `Re φ(iω)` by Newton to ~`4 eps` in `ω` and `κ = −ω/Im φ` inherits a few ulps. Against
# 30-digit mpmath the agreement must be at rounding level: `1e−12` relative. The search
# in sdde stops at `κ = 100` by default; `s = 0.05` (κ* ≈ 20) is within it.

# %%
print(" shifted exponential: s, κ* (mpmath, 30 digits), sdde, rel. diff")
for shift in ("0.05", "0.1", "0.25", "0.5", "0.75", "0.9", "0.99"):
    exact = shifted_exp_threshold(mp.mpf(shift))
    numeric = critical_kappa(delays.shifted_exponential(shift=float(shift), mean=1.0))
    rel = float(abs(numeric - exact) / exact)
    print(f"   {shift:<5} {mp.nstr(exact, 25):<28} {numeric:<20.15g} {rel:.1e}")
    assert rel <= 1e-12, (shift, numeric, exact)
    if shift in ("0.1", "0.5"):  # sdde.symbolic's nsolve fallback (≈0.4 s each) agrees too
        th = symbolic.critical_kappa(symbolic.shifted_exponential(sp.Rational(shift)))
        assert not th.closed_form and abs(mp.mpf(str(th.kappa)) - exact) < mp.mpf(10) ** -20

print(" two-point: p, r, κ* (mpmath), zero index, sdde, rel. diff")
for p_, r_ in ((0.1, 2.0), (0.5, 1.5), (0.3, 3.0), (0.05, 20.0), (0.2, 12.0),
               (0.16, 16.0), (0.45, 2.2), (0.3, math.sqrt(7))):
    exact, index = two_point_threshold(p_, r_)
    numeric = critical_kappa(delays.two_point(time=1.0, p=p_, slowdown=r_))
    rel = float(abs(numeric - exact) / exact)
    print(f"   {p_:<5} {r_:<8.5g} {mp.nstr(exact, 20):<24} {index}  {numeric:<18.15g} {rel:.1e}")
    assert rel <= 1e-12, (p_, r_, numeric, exact)
    if (p_, r_) in ((0.2, 12.0), (0.16, 16.0)):
        assert index == 2  # the threshold is the third zero of Re φ(iω), not the first
print("transcendental: all checks passed")

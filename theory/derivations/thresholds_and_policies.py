# %% [markdown]
# # Staleness thresholds and geometric step policies on Erlang delays
#
# **Model** (`theory/stability.md` §5). A gradient that was `u` mean delays old when it
# arrived has staleness `S ~ Poisson(ρu)`, `ρ` the accepted updates per mean delay. A
# threshold `K` drops it when `S > K`; the geometric policy scales its step by `γ^S`. Its
# expected weight is `w(u) = Σ_{s≤K} γ^s Pois(s; ρu)`, and with Erlang-`k` delays of mean 1
# (density `f_k(u) = k^k u^{k−1} e^{−ku}/(k−1)!`) the mode has
# `Δ(z) = z + κ φ(z)`, `φ(z) = ∫ e^{−zu} w(u) f_k(u) du`.
#
# **Results.**
#
# 1. `φ(z) = Σ_{s≤K} (γρ)^s k^k (s+k−1)! / (s! (k−1)! (z + ρ + k)^{s+k})`: rational, so
#    `Δ = 0` is a polynomial equation (degree `K + k + 1`) and Routh–Hurwitz applies; by
#    Orlando's formula `κ*` is the smallest positive root of the last Hurwitz minor.
# 2. `k = 1` (exponential delays): every Hurwitz condition is positive for every `κ > 0`
#    (in general for `K = 1`; for the `(K, ρ, γ)` checked for `K ≥ 2`): no threshold or
#    geometric policy makes exponential delays unstable.
# 3. `k = 2`: `κ*(K, ρ, γ)` from Routh–Hurwitz agrees with sdde's numerical `critical_kappa`.
# 4. A threshold raises `κ*` above plain Erlang-2's 4 when it bites (small `K/ρ`), but **not
#    always**: a loose threshold lowers it slightly (e.g. `K = 4, ρ = 1`: `κ* = 3.99201`,
#    proved exactly), because it removes the long delays and so makes the kernel less
#    dispersed, closer to a point delay.

# %%
import math

import numpy as np
import sympy as sp
from sympy.polys.matrices import DomainMatrix

from sdde import delays, symbolic
from sdde.model.kernels import DelayKernel, StepPolicy
from sdde.stability.mean_field import critical_kappa
from sdde.stability.roots import unstable_root_count

z, kappa = symbolic.Z, symbolic.KAPPA
u = sp.Symbol("u", positive=True)
k = sp.Symbol("k", positive=True, integer=True)
s = sp.Symbol("s", nonnegative=True, integer=True)
rho, gamma = sp.symbols("rho gamma", positive=True)

# %% [markdown]
# ## 1. The transform
#
# Term by term, `γ^s Pois(s; ρu) f_k(u) = γ^s ρ^s k^k u^{s+k−1} e^{−(ρ+k)u} / (s! (k−1)!)`,
# and `∫ u^{n−1} e^{−(z+ρ+k)u} du = (n−1)! / (z + ρ + k)^n` for `Re z > −ρ − k`:

# %%
term = (gamma**s * sp.exp(-rho * u) * (rho * u) ** s / sp.factorial(s)
        * k**k * u ** (k - 1) * sp.exp(-k * u) / sp.factorial(k - 1))
integral = sp.integrate(sp.exp(-z * u) * term, (u, 0, sp.oo), conds="none")
claimed = ((gamma * rho) ** s * k**k * sp.factorial(s + k - 1)
           / (sp.factorial(s) * sp.factorial(k - 1) * (z + rho + k) ** (s + k)))
print("∫ e^{−zu} γ^s Pois(s; ρu) f_k(u) du =", sp.simplify(integral))
assert sp.simplify(sp.gammasimp(integral / claimed)) == 1
for kk, big_k in ((1, 2), (2, 3)):
    summed = sum(claimed.subs({k: kk, s: j}) for j in range(big_k + 1))
    assert sp.simplify(summed - symbolic.thinned_erlang(kk, big_k, rho, gamma).transform) == 0
print("φ(z) = Σ_{s≤K} (γρ)^s k^k (s+k−1)!/(s!(k−1)!(z+ρ+k)^{s+k})  (= sdde.symbolic)")

# %% [markdown]
# The mass `φ(0) = E[w(X̃)]` and `φ(iω)` against sdde's kernel (a quadrature rule of the
# weighted law, absolute error ≤ `1e−12` + the rule's own, `theory/stability.md` §5):

# %%
for kk, big_k, r_, g_ in ((1, 2, 3, 1), (2, 4, 1, sp.Rational(9, 10)), (2, 1, 4, 1)):
    phi_exact = symbolic.thinned_erlang(kk, big_k, r_, g_).transform
    law = delays.Exponential(scale=1.0) if kk == 1 else delays.erlang(kk, 1.0)
    kernel = DelayKernel(law, threshold=big_k, updates_per_delay=float(r_),
                         policy=StepPolicy("geometric", float(g_)))
    mass = phi_exact.subs(z, 0)
    assert abs(kernel.mass - float(mass)) <= 1e-11, (kernel.mass, mass)
    omegas = np.array([0.3, 1.7, 6.0])
    exact_on_axis = [complex(phi_exact.subs(z, sp.I * sp.Float(w))) for w in omegas]
    assert np.max(np.abs(kernel.on_axis(omegas) - exact_on_axis)) <= 1e-11
    print(f"  k={kk}, K={big_k}, ρ={r_}, γ={g_}: φ(0) = {mass} = {float(mass):.12f}")

# %% [markdown]
# ## 2. Routh–Hurwitz and Orlando's formula
#
# With `φ = P/Q`, `Q = (z + ρ + k)^{K+k}`, the roots of `Δ` are the roots of the
# polynomial `z Q(z) + κ P(z)` (`Q ≠ 0` where `φ` is analytic, and no root of the
# polynomial sits at `z = −ρ − k`, where `P ≠ 0`). For its monic form
# `z^n + a_1 z^{n−1} + … + a_n` the Hurwitz criterion is: all `a_i > 0` and the minors
# `Δ_2 … Δ_{n−1}` of the Hurwitz matrix positive. Orlando's formula,
# `Δ_{n−1} = (−1)^{n(n−1)/2} Π_{i<j} (λ_i + λ_j)` over the roots `λ`, says more: as `κ`
# grows from 0 (where the roots are 0 and `−ρ − k`: stable for small `κ > 0`, and
# `Δ_{n−1} ≠ 0`), stability can only be lost through a pair `±iω` on the axis, which makes
# `Δ_{n−1} = 0`; conversely `Δ_{n−1} = 0` needs `λ_i = −λ_j`, impossible while all roots are
# in the open left half-plane. So **κ\* is the smallest positive root of `Δ_{n−1}(κ)`**.
#
# (The minors are computed over `QQ[κ]` by sympy's `DomainMatrix`, fraction-free: about
# 0.04 s for `K = 6`, where `sdde.symbolic.routh_hurwitz`'s `Matrix.det` takes ~1.3 s and
# the Berkowitz method about a minute.)

# %%
def hurwitz(kk: int, big_k: int, r_: sp.Expr, g_: sp.Expr) -> tuple[list[sp.Poly], sp.Poly]:
    """Monic coefficients a_1…a_n and the minors Δ_2…Δ_{n−1}, as polynomials in κ."""
    num, den = sp.fraction(sp.cancel(sp.together(
        symbolic.thinned_erlang(kk, big_k, r_, g_).transform)))
    poly = sp.Poly(sp.expand(z * den + kappa * num), z)
    coeffs = [sp.expand(c / poly.LC()) for c in poly.all_coeffs()]
    n = len(coeffs) - 1

    def a(i: int) -> sp.Expr:
        return coeffs[i] if 0 <= i <= n else sp.Integer(0)

    matrix = sp.Matrix(n, n, lambda i, j: a(2 * j - i + 1))
    ring = sp.QQ[tuple(sorted(matrix.free_symbols | {kappa}, key=str))]  # κ (and ρ, γ)
    minors = [sp.Poly(ring.to_sympy(DomainMatrix.from_Matrix(matrix[:m, :m])
                                    .convert_to(ring).det()), kappa) for m in range(2, n)]
    return [sp.Poly(c, kappa) for c in coeffs[1:]], minors


def rh_threshold(kk: int, big_k: int, r_: sp.Expr, g_: sp.Expr = 1) -> sp.Float:
    """κ*: smallest positive root of the last Hurwitz minor (30 digits), ∞ if none."""
    _, minors = hurwitz(kk, big_k, sp.nsimplify(r_), sp.nsimplify(g_))
    last = minors[-1]
    positive = [iv for iv in last.intervals(eps=sp.Rational(1, 10**30)) if iv[0][0] > 0]
    if not positive:
        return sp.oo
    (lo, hi), _ = positive[0]
    return sp.Float((lo + hi) / 2, 30)


coeffs_demo, minors_demo = hurwitz(2, 1, sp.Integer(1), sp.Integer(1))
print("k = 2, K = 1, ρ = γ = 1: a_i =", [c.as_expr() for c in coeffs_demo])
print("   minors Δ_2…Δ_3 =", [sp.factor(m.as_expr()) for m in minors_demo])
print("   κ* =", rh_threshold(2, 1, 1))

# %% [markdown]
# ## 3. Exponential delays (`k = 1`) never cross
#
# `K = 1` in general: the polynomial is
# `z³ + 2(1+ρ) z² + ((1+ρ)² + κ) z + κ(1 + ρ + γρ)`; all coefficients are positive and the
# one minor is `Δ_2 = a_1 a_2 − a_3 = 2(1+ρ)³ + κ (1 + ρ(1 − γ)) > 0` for `0 < γ ≤ 1`.

# %%
coeffs1, minors1 = hurwitz(1, 1, rho, gamma)
print("k = 1, K = 1: a_i =", [sp.factor(c.as_expr()) for c in coeffs1])
print("   Δ_2 =", sp.collect(sp.expand(minors1[0].as_expr()), kappa))
assert sp.expand(minors1[0].as_expr()
                 - (2 * (1 + rho) ** 3 + kappa * (1 + rho * (1 - gamma)))) == 0

# %% [markdown]
# `K ≥ 2` for given numbers: each condition is a polynomial in `κ`; Sturm's theorem
# (`Poly.count_roots`) shows it has no root in `(0, ∞)`, and it is positive at `κ = 1`, so
# it is positive for every `κ > 0`. sdde agrees: `critical_kappa` finds no crossing, and the
# certified argument-principle count finds no unstable root at `κ = 50`.

# %%
never = ((2, 3, 1), (3, sp.Rational(1, 2), sp.Rational(9, 10)), (4, 2, 1),
         (2, 8, sp.Rational(1, 2)))
for big_k, r_, g_ in never:
    conds_a, conds_m = hurwitz(1, big_k, sp.nsimplify(r_), sp.nsimplify(g_))
    for cond in conds_a + conds_m:
        at_zero = int(cond.eval(0) == 0)  # a_n = κ P(0) vanishes at κ = 0 only
        assert cond.count_roots(0, None) == at_zero and cond.eval(1) > 0, cond
    kernel = DelayKernel(delays.Exponential(scale=1.0), threshold=big_k,
                         updates_per_delay=float(r_), policy=StepPolicy("geometric", float(g_)))
    assert critical_kappa(kernel) == math.inf
    assert unstable_root_count(50.0, kernel) == 0
    print(f"  k = 1, K = {big_k}, ρ = {r_}, γ = {g_}: {len(conds_a) + len(conds_m)} Hurwitz "
          "conditions positive for all κ > 0; sdde: κ* = inf, 0 unstable roots at κ = 50")

# %% [markdown]
# ## 4. Erlang-2: κ* by Routh–Hurwitz against sdde
#
# sdde's kernel transform is a quadrature rule with absolute error about `1e−12`
# (`RULE_TAIL`) on the axis; the slope `|d Re φ(iω)/dω|` at these crossings is of order
# 0.1–1, so the crossing frequency and `κ*` are good to ~`1e−11` relative: `1e−9` relative
# leaves a margin of 100.

# %%
cases = ((0, 1, 1), (1, 1, 1), (2, 1, 1), (1, 4, 1), (1, 1, sp.Rational(9, 10)),
         (2, 4, sp.Rational(9, 10)), (4, 1, 1), (3, 2, sp.Rational(1, 2)))
print(" K  ρ   γ     κ* (Routh–Hurwitz, 30 digits)       sdde               rel. diff")
for big_k, r_, g_ in cases:
    exact = rh_threshold(2, big_k, r_, g_)
    kernel = DelayKernel(delays.erlang(2, 1.0), threshold=big_k, updates_per_delay=float(r_),
                         policy=StepPolicy("geometric", float(g_)))
    numeric = critical_kappa(kernel)
    rel = abs(numeric - float(exact)) / float(exact)
    print(f" {big_k}  {r_!s:<3} {g_!s:<5} {exact!s:<35} {numeric:<18.15g} {rel:.1e}")
    assert rel <= 1e-9, (big_k, r_, g_, numeric, exact)

# %% [markdown]
# ## 5. Does a threshold raise κ* above plain Erlang-2's 4?
#
# Two effects compete. The threshold drops the stalest gradients, so the kernel's mass
# `m = φ(0) < 1` (a smaller effective gain `κm`): stabilising. But the dropped gradients are
# the long delays, so the kernel that remains is less dispersed than Erlang-2, closer to a
# point delay (`κ* = π/2`): destabilising. With the moments of the weighted kernel,
# `m = φ(0)`, `μ = E[wX̃] = −φ'(0)`, `E[wX̃²] = φ''(0)`, the normalised kernel `w dF̃/m` has
# mean `μ/m` and squared coefficient of variation `c² = φ''(0) m/μ² − 1` (Erlang-2: 1/2).
# A tight threshold (small `K/ρ`) is dominated by the mass; a loose one by the shape.

# %%
print(" ρ  K   m = φ(0)  μ = E[wX̃]  c²      κ*          κ* vs 4")
rows = []
for r_ in (1, 2, 4):
    for big_k in range(0, 9):
        phi_k = symbolic.thinned_erlang(2, big_k, r_, 1).transform
        m0 = phi_k.subs(z, 0)
        m1 = -sp.diff(phi_k, z).subs(z, 0)
        m2 = sp.diff(phi_k, z, 2).subs(z, 0)
        cv2 = m2 * m0 / m1**2 - 1
        value = rh_threshold(2, big_k, r_)
        rows.append((r_, big_k, value))
        print(f" {r_}  {big_k}   {float(m0):.5f}   {float(m1):.5f}    {float(cv2):.4f}  "
              f"{float(value):<11.7g} {'raised' if value > 4 else 'LOWER'}")
assert all(v > 4 for r_, big_k, v in rows if big_k <= 1.5 * r_)
lowered = [(r_, big_k) for r_, big_k, v in rows if v < 4]
print("thresholds that lower κ* below 4:", lowered)
assert (1, 4) in lowered and (2, 6) in lowered

# %% [markdown]
# *An exact proof for `K = 4, ρ = 1`.* The last Hurwitz minor has rational coefficients;
# at `κ = 4` it is negative, so the polynomial is not Hurwitz at `κ = 4` and `κ* < 4`. sdde
# confirms it with the certified root count: 2 roots in the right half-plane at `κ = 4`,
# none at `3.99`.

# %%
_, minors_44 = hurwitz(2, 4, sp.Integer(1), sp.Integer(1))
value_at_4 = minors_44[-1].eval(4)
print("K = 4, ρ = 1: Δ_{n−1}(4) =", value_at_4, f"≈ {float(value_at_4):.4g}")
assert value_at_4 < 0 and minors_44[-1].eval(0) > 0
kernel_44 = DelayKernel(delays.erlang(2, 1.0), threshold=4, updates_per_delay=1.0)
assert unstable_root_count(4.0, kernel_44) == 2 and unstable_root_count(3.99, kernel_44) == 0
assert critical_kappa(kernel_44) < 4
print("thresholds_and_policies: all checks passed")

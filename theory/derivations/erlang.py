# %% [markdown]
# # Erlang-k delays: threshold, Routh–Hurwitz, critical damping, variance
#
# **Model.** Delays are Erlang with `k` phases and mean 1 (gamma, integer shape `k`,
# rate `k`): density `f_k(u) = k^k u^{k−1} e^{−ku} / (k−1)!`. The mode
# `dx = −κ ∫ x(t − u) f_k(u) du dt + σ dW` has characteristic function
# `Δ(z) = z + κ φ(z)`, `φ(z) = (1 + z/k)^{−k}`.
#
# **Results.**
#
# 1. `κ*(k) = k tan(π/2k) / cos(π/2k)^k` for `k ≥ 2` (crossing at `ω = k tan(π/2k)`);
#    `k = 1` never crosses; `κ*(k) → π/2` (the point delay) as `k → ∞`, like
#    `π/2 (1 + π²/(8k))`.
# 2. Linear chain trick: `Δ(z) = 0` ⇔ `z (1 + z/k)^k + κ = 0`, a polynomial. Routh–Hurwitz:
#    `k = 2` stable iff `κ < 4`; `k = 3` iff `κ < 8/3`.
# 3. Critical damping: double root `z = −k/(k+1)` at `κ = (k/(k+1))^{k+1}` → `1/e`.
# 4. Stationary variance (Lyapunov equation of the chain): `k = 1`: `σ²(1 + κ)/(2κ)`;
#    `k = 2`: `σ²(3κ + 4)/(2κ(4 − κ))`; `k = 3`: `σ²(24 + 15κ − κ²)/(6κ(8 − 3κ))`;
#    `k = 4`: `σ²(1024 + 576κ − 65κ²)/(2κ(1024 − 448κ − κ²))`, whose pole
#    `−224 + 160√2` is `κ*(4)`.

# %%
import math

import numpy as np
import sympy as sp
from scipy import linalg

from sdde import delays, symbolic
from sdde.stability.mean_field import critical_kappa, stationary_variance
from sdde.stability.roots import characteristic_roots

z, kappa, omega, sigma = symbolic.Z, symbolic.KAPPA, symbolic.OMEGA, symbolic.SIGMA
k = sp.Symbol("k", positive=True, integer=True)
u = sp.Symbol("u", positive=True)

# %% [markdown]
# ## 1. The transform and the threshold
#
# `φ(z) = ∫ e^{−zu} f_k(u) du` (for `Re z > −k`):

# %%
density = k**k * u ** (k - 1) * sp.exp(-k * u) / sp.factorial(k - 1)
phi = sp.simplify(sp.integrate(sp.exp(-z * u) * density, (u, 0, sp.oo), conds="none"))
print("φ(z) =", phi)
assert sp.simplify(phi - symbolic.erlang().transform) == 0

# %% [markdown]
# On the axis `φ(iω) = (1 + iω/k)^{−k} = A(ω) e^{−iθ(ω)}` with modulus
# `A = (1 + ω²/k²)^{−k/2}` and phase `θ = k atan(ω/k)`, which increases from 0 towards
# `kπ/2`. A crossing `iω + κ φ(iω) = 0` needs `φ(iω)` to point along `−i`: `θ = π/2 + 2πj`,
# and then `κ = ω/A(ω)` (`theory/stability.md` §2). `ω/A` increases with `ω`, so the first
# solution, `θ = π/2`, gives `κ*`. It exists iff `kπ/2 > π/2`, i.e. `k > 1`: for `k = 1`
# the phase `atan ω` stays below `π/2` and no root ever crosses.

# %%
theta = k * sp.atan(omega / k)
modulus = (1 + omega**2 / k**2) ** (-k / 2)
omega_star = sp.solve(sp.Eq(theta, sp.pi / 2), omega)[0]
kappa_star = sp.simplify(omega_star / modulus.subs(omega, omega_star))
# For k ≥ 2, 0 < π/2k ≤ π/4 and cos(π/2k) > 0: the |·| sympy keeps can be dropped.
kappa_star = kappa_star.replace(sp.Abs, lambda x: x)
print("ω* =", omega_star, "   κ* =", kappa_star)
formula = k * sp.tan(sp.pi / (2 * k)) / sp.cos(sp.pi / (2 * k)) ** k
for n in range(2, 9):
    assert sp.simplify(kappa_star.subs(k, n) - formula.subs(k, n)) == 0
assert kappa_star == formula
assert symbolic.erlang_threshold_formula().replace(sp.Abs, lambda x: x) == formula
assert symbolic.critical_kappa(symbolic.erlang(1)).kappa == sp.oo
print("κ*(k) = k tan(π/2k)/cos(π/2k)^k;  k = 1: phase atan ω < π/2, κ* = ∞")
for n in range(2, 7):
    print(f"  k = {n}: κ* = {sp.nsimplify(sp.simplify(formula.subs(k, n)))}"
          f" = {float(formula.subs(k, n)):.12f}")

# %% [markdown]
# Large `k` (delays concentrating at 1): the limit is the point delay's `π/2`, and in
# `t = 1/k` the expansion is `π/2 + π³t/16 + …`, i.e. `κ* ≈ π/2 (1 + π² v/8)` with the
# delay variance `v = 1/k` (the same first-order law as the uniform kernel,
# `uniform.py`).

# %%
limit = sp.limit(formula, k, sp.oo)
t = sp.Symbol("t", positive=True)
expansion = sp.series(formula.subs(k, 1 / t), t, 0, 2).removeO()
print("lim κ*(k) =", limit, ";  κ*(1/t) =", expansion, "+ O(t²)")
assert limit == sp.pi / 2
assert sp.simplify(expansion - sp.pi / 2 * (1 + sp.pi**2 * t / 8)) == 0

# %% [markdown]
# ## 2. Linear chain trick and Routh–Hurwitz
#
# An Erlang-`k` delay is `k` exponential stages of rate `k` in series. With
# `y_j(t) = ∫ x(t − u) f_j(u) du`, `f_j` the density of the first `j` stages
# (`f_j = k^j u^{j−1} e^{−ku}/(j−1)!`), one has `y_j' = k (y_{j−1} − y_j)`, `y_0 = x`, and
# the delay equation becomes the ODE system `x' = −κ y_k` (plus noise `σ dW` on `x`):
# exactly finite-dimensional. Its characteristic polynomial is
# `det(zI − M) = k^k (z (1 + z/k)^k + κ)`, whose roots are the roots of `Δ` (`φ` has no zeros,
# and its only pole `z = −k` is not a root).

# %%
def chain_matrix(n: int, gain: sp.Expr = kappa) -> sp.Matrix:
    """Drift matrix of (x, y_1, …, y_n): x' = −κ y_n, y_j' = n (y_{j−1} − y_j)."""
    m = sp.zeros(n + 1, n + 1)
    m[0, n] = -gain
    for j in range(1, n + 1):
        m[j, j - 1], m[j, j] = n, -n
    return m


for n in range(1, 6):
    charpoly = sp.expand(chain_matrix(n).charpoly(z).as_expr())
    assert sp.expand(charpoly - n**n * (z * (1 + z / n) ** n + kappa)) == 0
print("det(zI − M) = k^k (z(1 + z/k)^k + κ) for k = 1…5")

# %% [markdown]
# Routh–Hurwitz: a monic polynomial `z^n + a_1 z^{n−1} + … + a_n` has all roots in
# `Re z < 0` iff all `a_i > 0` and the leading principal minors `Δ_2 … Δ_{n−1}` of the
# Hurwitz matrix `H_{ij} = a_{2j−i}` (1-based, `a_0 = 1`, `a_m = 0` outside `0…n`) are
# positive.
#
# *k = 2*: `z³ + 4z² + 4z + 4κ`: `Δ_2 = a_1 a_2 − a_3 = 16 − 4κ`: stable iff `κ < 4`.
#
# *k = 3*: `z⁴ + 9z³ + 27z² + 27z + 27κ`: `Δ_3 = a_1 a_2 a_3 − a_1² a_4 − a_3²`
# `= 27(216 − 81κ)`: stable iff `κ < 8/3` (`Δ_2 = 9·27 − 27 > 0` always).
#
# Both agree with the phase formula: `2 tan(π/4)/cos(π/4)² = 4`,
# `3 tan(π/6)/cos(π/6)³ = 8/3`.

# %%
def hurwitz_conditions(poly: sp.Expr) -> tuple[list[sp.Expr], list[sp.Expr]]:
    """Coefficients a_1…a_n of the monic polynomial and the minors Δ_2…Δ_{n−1}."""
    coeffs = sp.Poly(poly, z).all_coeffs()
    coeffs = [sp.expand(c / coeffs[0]) for c in coeffs]
    n = len(coeffs) - 1

    def a(i: int) -> sp.Expr:
        return coeffs[i] if 0 <= i <= n else sp.Integer(0)

    hurwitz = sp.Matrix(n, n, lambda i, j: a(2 * (j + 1) - (i + 1)))
    return coeffs[1:], [sp.factor(hurwitz[:m, :m].det()) for m in range(2, n)]


for n, expected in ((2, 4), (3, sp.Rational(8, 3))):
    poly = sp.expand(z * (1 + z / n) ** n + kappa)
    coeffs, minors = hurwitz_conditions(poly)
    print(f"k = {n}: monic {sp.Poly(poly, z).monic().as_expr()}")
    label = "Δ_2" if n == 2 else f"Δ_2…Δ_{n}"
    print(f"        a = {coeffs};  minors {label} = {minors}")
    # All a_i > 0 for κ > 0, and Δ_{n−1} is linear in κ with a single root:
    last = minors[-1]
    root = sp.solve(last, kappa)
    assert root == [expected], root
    assert all(sp.Poly(c, kappa).LC() > 0 for c in coeffs)
    assert last.subs(kappa, 0) > 0 and last.subs(kappa, expected + 1) < 0
    assert all(m.subs(kappa, expected) > 0 for m in minors[:-1])
    assert sp.simplify(formula.subs(k, n) - expected) == 0
    # sdde.symbolic's Routh–Hurwitz gives the same conditions and threshold:
    assert symbolic.routh_hurwitz_threshold(symbolic.erlang(n)).kappa == expected
    print(f"        stable iff κ < {expected}")

# %% [markdown]
# ## 3. Critical damping
#
# A double root: `Δ = 0` and `Δ' = 1 − κ (1 + z/k)^{−k−1} = 0`. The second gives
# `κ = (1 + z/k)^{k+1}`; put into the first, `z + (1 + z/k) = 0`, so
#
#     z = −k/(k + 1),    κ = (1 − 1/(k+1))^{k+1} = (k/(k+1))^{k+1} → 1/e.
#
# As for the point delay, the two rightmost real roots merge there into a complex pair;
# the decay rate `k/(k+1)` tends to the point delay's 1. For `k ≥ 2` the pair then moves
# right (checked below at `1.1κ`), so this `κ` is the unique fastest decay. `k = 1` is
# degenerate: the roots of `z² + z + κ` are `−1/2 ± i sqrt(κ − 1/4)` for `κ ≥ 1/4`, so the
# decay rate stays `1/2` from `κ = 1/4` on (the mode never destabilises, it only
# oscillates faster).

# %%
z_double = sp.solve(sp.Eq(z + (1 + z / k), 0), z)[0]
kappa_double = sp.simplify((1 + z_double / k) ** (k + 1))
delta = z + kappa * phi
assert sp.simplify(delta.subs({z: z_double, kappa: kappa_double})) == 0
assert sp.simplify(sp.diff(delta, z).subs({z: z_double, kappa: kappa_double})) == 0
print("double root z =", z_double, " at κ =", kappa_double,
      " → ", sp.limit(kappa_double, k, sp.oo), "as k → ∞")
assert sp.limit(kappa_double, k, sp.oo) == sp.exp(-1)
for n in range(1, 5):
    cd = symbolic.critical_damping(symbolic.erlang(n))
    assert cd.root == z_double.subs(k, n) and cd.kappa == kappa_double.subs(k, n), cd

# %% [markdown]
# ## 4. Stationary variance from the Lyapunov equation
#
# The chain `X = (x, y_1, …, y_k)` obeys `dX = M X dt + σ e_1 dW`; its stationary
# covariance `Σ` solves `M Σ + Σ Mᵀ + σ² e_1 e_1ᵀ = 0` (for `κ < κ*`, `M` is a stability
# matrix), and `Var x = Σ_11`.
#
# *k = 1 by hand*: `x' = −κ y (+ noise)`, `y' = x − y`. With `Σ = [[a, b], [b, c]]`,
# `M = [[0, −κ], [1, −1]]`:
#
# * (1,1): `−2κ b + σ² = 0` ⇒ `b = σ²/(2κ)`;
# * (2,2): `2(b − c) = 0` ⇒ `c = b`;
# * (1,2): `−κ c + a − b = 0` ⇒ `a = b(1 + κ) = σ²(1 + κ)/(2κ)`.

# %%
a_, b_, c_ = sp.symbols("a b c")
m1 = chain_matrix(1)
cov1 = sp.Matrix([[a_, b_], [b_, c_]])
lyap = m1 * cov1 + cov1 * m1.T + sp.diag(sigma**2, 0)
print("k = 1 Lyapunov system:", [sp.Eq(e, 0) for e in (lyap[0, 0], lyap[0, 1], lyap[1, 1])])
sol1 = sp.solve([lyap[0, 0], lyap[0, 1], lyap[1, 1]], [a_, b_, c_], dict=True)[0]
print("  ⇒", sol1)
assert sp.simplify(sol1[a_] - sigma**2 * (1 + kappa) / (2 * kappa)) == 0


def lyapunov_variance(n: int) -> sp.Expr:
    """Σ_11 of the k = n chain, from the symbolic Lyapunov equation."""
    m = chain_matrix(n)
    size = n + 1
    cov = sp.Matrix(size, size, lambda i, j: sp.Symbol(f"s_{min(i, j)}{max(i, j)}"))
    eqs = list(m * cov + cov * m.T + sp.diag(sigma**2, *([0] * n)))
    solution = sp.solve(eqs, sorted(cov.free_symbols, key=str), dict=True)[0]
    return sp.factor(cov[0, 0].subs(solution))


closed_forms = {
    1: sigma**2 * (1 + kappa) / (2 * kappa),
    2: sigma**2 * (3 * kappa + 4) / (2 * kappa * (4 - kappa)),
    3: sigma**2 * (24 + 15 * kappa - kappa**2) / (6 * kappa * (8 - 3 * kappa)),
    4: sigma**2 * (1024 + 576 * kappa - 65 * kappa**2)
    / (2 * kappa * (1024 - 448 * kappa - kappa**2)),
}
for n, expected in closed_forms.items():
    ours = lyapunov_variance(n)
    # sdde.symbolic uses a different realisation (controllable canonical form): the same
    # variance must come out.
    theirs = symbolic.stationary_variance(symbolic.erlang(n))
    assert sp.simplify(ours - expected) == 0 and sp.simplify(theirs - expected) == 0
    print(f"k = {n}: Var x = {expected}")
    # κ → 0: the Ornstein–Uhlenbeck value σ²/(2κ)
    assert sp.limit(kappa * expected, kappa, 0, "+") == sigma**2 / 2
# The variance diverges exactly at κ* (a pole at 4 and 8/3; k = 1 never diverges).
assert sp.solve(sp.denom(sp.together(closed_forms[2])), kappa) == [4]  # κ > 0
assert sp.solve(sp.denom(sp.together(closed_forms[3])), kappa) == [sp.Rational(8, 3)]
# k = 4: the pole is the positive root of κ² + 448κ − 1024, −224 + 160√2 = κ*(4).
pole_4 = sp.solve(sp.denom(sp.together(closed_forms[4])), kappa)
assert pole_4 == [-224 + 160 * sp.sqrt(2)]
assert sp.simplify(sp.radsimp(formula.subs(k, 4) - pole_4[0])) == 0

# %% [markdown]
# ## 5. Checks against sdde's numerics, k = 1…6
#
# * κ*: `critical_kappa` refines the zero of `Re φ(iω)` (closed-form transform) by
#   Newton to ~`4 eps` in `ω`; `κ = −ω/Im φ` inherits a few ulps: `1e−12` relative.
# * Critical damping: `characteristic_roots` polishes eigenvalues by Newton; at a double
#   root Newton converges only linearly and the root is determined to `sqrt(eps)`-ish
#   accuracy (`theory/stability.md` §9: "found to about 1e−8"): `1e−6` absolute. The
#   fastest-decay property is checked at `0.9κ` and `1.1κ`.
# * Variance: the Parseval integral (relative tolerance `1e−11` per piece, tail below
#   `1e−10`) against the closed forms for `k ≤ 4` and against a numerical Lyapunov solve
#   (`scipy.linalg.solve_continuous_lyapunov`, backward stable: ~`1e−13` relative for
#   these well-conditioned 6×6 and 7×7 systems) for `k = 5, 6`: `1e−9` relative.

# %%
print(" k   κ* formula         sdde                z_double   sdde rightmost")
for n in range(1, 7):
    law = delays.erlang(n, 1.0)
    numeric = critical_kappa(law)
    exact = math.inf if n == 1 else float(formula.subs(k, n))
    if n == 1:
        assert numeric == math.inf
    else:
        assert abs(numeric - exact) <= 1e-12 * exact, (n, numeric, exact)
    kd, zd = float(kappa_double.subs(k, n)), float(z_double.subs(k, n))
    rightmost = characteristic_roots(kd, law, n=2)
    assert np.all(np.abs(rightmost - zd) <= 1e-6), (n, rightmost)
    below = characteristic_roots(0.9 * kd, law, n=1)[0].real
    above = characteristic_roots(1.1 * kd, law, n=1)[0].real
    assert rightmost[0].real < below
    if n == 1:  # z² + z + κ: Re z = −1/2 for every κ ≥ 1/4
        assert abs(above + 0.5) <= 1e-9, above
    else:
        assert rightmost[0].real < above
    print(f" {n}   {exact:<18.15g} {numeric:<18.15g}  {zd:+.6f}  {rightmost[0].real:+.6f}")

variance_fns = {n: sp.lambdify(kappa, f.subs(sigma, 1), "math") for n, f in closed_forms.items()}
print(" k   κ      reference          sdde (Parseval)    rel. diff")
for n in range(1, 7):
    law = delays.erlang(n, 1.0)
    top = 4.0 if n == 1 else float(formula.subs(k, n))
    for frac in (0.05, 0.5, 0.9):
        g = frac * top
        if n in variance_fns:
            reference = variance_fns[n](g)
        else:
            m = np.array(chain_matrix(n, sp.Float(g)).evalf(), dtype=float)
            noise = np.zeros((n + 1, n + 1))
            noise[0, 0] = 1.0
            reference = float(linalg.solve_continuous_lyapunov(m, -noise)[0, 0])
        numeric = stationary_variance(g, law)
        rel = abs(numeric - reference) / reference
        print(f" {n}   {g:.4f} {reference:<18.13g} {numeric:<18.13g} {rel:.1e}")
        assert rel <= 1e-9, (n, g, numeric, reference)
print("erlang: all checks passed")

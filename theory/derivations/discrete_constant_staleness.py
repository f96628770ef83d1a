# %% [markdown]
# # Discrete time, constant staleness: α* = 2 sin(π / (2(2S + 1)))
#
# **Model** (`theory/stability.md` §6). Counted in server updates, a mode whose every
# gradient is exactly `S` updates stale (round robin over `n = S + 1` workers) obeys
#
#     x_{t+1} = x_t − α x_{t−S},    α = η h.
#
# Trying `x_t = ζ^t` and multiplying by `ζ^S`: the characteristic polynomial is
# `ζ^{S+1} − ζ^S + α`, and the mean converges iff all its `S + 1` roots have `|ζ| < 1`.
#
# **Results.**
#
# 1. `α*(S) = 2 sin(π/(2(2S + 1)))`, the root pair reaching the unit circle at
#    `θ = ±π/(2S + 1)`: `S = 0` gives 2, `S = 1` gives 1, `S = 2` gives `(√5 − 1)/2`.
# 2. Large `S`: `α* (2S + 1) → π`, i.e. **`α* S → π/2`** (not π/4), and `α* ≈ π/(2S + 1)`.
# 3. Continuous limit: the gain per mean delay is `κ = α n = α (S + 1)`, and
#    `(S + 1) α*` decreases from 2 (`S = 0, 1`) to the point delay's `κ* = π/2`, like
#    `π/2 + x − πx²/12 + O(x³)` with `x = π/(2(2S + 1))`.

# %%
import itertools
import math

import numpy as np
import sympy as sp

from sdde import symbolic
from sdde.stability.discrete import discrete_critical_alpha, discrete_spectral_radius

alpha = symbolic.ALPHA
S = sp.Symbol("S", positive=True, integer=True)
theta = sp.Symbol("theta", positive=True)
zeta = sp.Symbol("zeta")
j = sp.Symbol("j", integer=True, nonnegative=True)

# %% [markdown]
# ## 1. The root on the unit circle
#
# As `α → 0` the polynomial tends to `ζ^S (ζ − 1)`: one root `ζ ≈ 1 − α` just inside the
# circle and `S` roots near 0. Roots move continuously with `α`, so stability is lost when
# a root reaches `|ζ| = 1` (`ζ = 1` is never a root: there the polynomial equals `α > 0`).
# On `ζ = e^{iθ}`, `0 < θ ≤ π` (conjugate pairs):
#
#     ζ^S (ζ − 1) = −α,   ζ − 1 = e^{iθ/2} · 2i sin(θ/2),
#
# so `e^{iθ(S + 1/2)} · 2i sin(θ/2) = −α`. With `sin(θ/2) > 0`, the modulus gives
# `2 sin(θ/2) = α` and the argument `θ(S + 1/2) + π/2 = π (mod 2π)`.

# %%
factorised = sp.exp(sp.I * theta * (S + sp.Rational(1, 2))) * 2 * sp.I * sp.sin(theta / 2)
lhs = sp.exp(sp.I * S * theta) * (sp.exp(sp.I * theta) - 1)
assert sp.simplify((lhs - factorised).rewrite(sp.exp)) == 0
print("ζ^S(ζ − 1) on |ζ| = 1:", factorised)
phase_eq = sp.Eq(theta * (S + sp.Rational(1, 2)) + sp.pi / 2, sp.pi + 2 * sp.pi * j)
theta_j = sp.solve(phase_eq, theta)[0]
print("phase condition ⇒ θ_j =", sp.factor(theta_j))
alpha_j = 2 * sp.sin(theta_j / 2)
print("α_j = 2 sin(θ_j/2) =", sp.simplify(alpha_j))

# %% [markdown]
# `θ_j = π(4j + 1)/(2S + 1)`; those in `(0, π]` give real positive `α_j = 2 sin(θ_j/2)`, and
# `sin` increases on `[0, π/2]`, so the smallest is `j = 0`: `θ* = π/(2S + 1)`,
# **α\* = 2 sin(π/(2(2S + 1)))**.
#
# *Direction.* Every crossing is outward, so no pair ever returns and the mean converges
# exactly for `0 < α < α*` (for general staleness laws this fails, §6 of
# `theory/stability.md`). With `P(ζ) = ζ^{S+1} − ζ^S + α`, `dζ/dα = −1/P'(ζ)` and
# `P'(ζ) = ζ^{S−1}((S + 1)ζ − S)`; on the circle `ζ^S = −α/(ζ − 1)`, so
# `d|ζ|/dα = Re(ζ̄ dζ/dα) = Re((ζ − 1)/((S + 1)ζ − S)) / α`, whose sign is that of
# `Re((e^{iθ} − 1)((S + 1)e^{−iθ} − S)) = (2S + 1)(1 − cos θ) > 0`.

# %%
radial = sp.expand_complex((sp.exp(sp.I * theta) - 1) * ((S + 1) * sp.exp(-sp.I * theta) - S))
radial = sp.simplify(sp.re(radial))
print("Re((e^{iθ} − 1)((S + 1)e^{−iθ} − S)) =", sp.factor(radial))
assert sp.simplify(radial - (2 * S + 1) * (1 - sp.cos(theta))) == 0
alpha_star = sp.simplify(alpha_j.subs(j, 0))
print("α*(S) =", alpha_star)
assert sp.simplify(alpha_star - 2 * sp.sin(sp.pi / (2 * (2 * S + 1)))) == 0
assert sp.simplify(alpha_star - symbolic.discrete_threshold().alpha.subs(
    symbolic.STALENESS, S)) == 0
specials = {0: sp.Integer(2), 1: sp.Integer(1), 2: (sp.sqrt(5) - 1) / 2}
for n_, value in specials.items():
    exact = sp.nsimplify(sp.simplify(alpha_star.subs(S, n_)))
    print(f"  S = {n_}: α* = {exact}")
    assert sp.simplify(exact - value) == 0
# S = 0: x_{t+1} = (1 − α) x_t, |1 − α| < 1 ⇔ α < 2. S = 1: ζ² − ζ + α has root product α.
assert sp.solve(sp.Eq(sp.Abs(1 - alpha), 1), alpha) == [2]

# %% [markdown]
# ## 2. Large staleness
#
# `α* = 2 sin(x)` with `x = π/(2(2S + 1)) → 0`, so `α* ≈ 2x = π/(2S + 1)`:
# `α* (2S + 1) → π` and `α* S → π/2`. In words: with `S` stale updates in flight the step
# must shrink like `π/(2S)`.

# %%
lim_2s1 = sp.limit(alpha_star * (2 * S + 1), S, sp.oo)
lim_s = sp.limit(alpha_star * S, S, sp.oo)
print("lim α*(2S + 1) =", lim_2s1, ";  lim α* S =", lim_s)
assert lim_2s1 == sp.pi and lim_s == sp.pi / 2

# %% [markdown]
# ## 3. Link to the continuous model
#
# With `n = S + 1` workers there are `n` updates per mean delay: `ζ = e^{z/n}` and the gain
# per mean delay is `κ = α n`; the recursion becomes `z + κ e^{−z} ≈ 0` for `|z| ≪ n`
# (`theory/stability.md` §6), the point delay of `point_delay.py`. So `(S + 1) α*` should
# tend to `π/2`. With `x = π/(2(2S + 1))`, `S + 1 = (π/x + 2)/4`, so
# `(S + 1) α* = (π/x + 2) sin(x)/2`:

# %%
x = sp.Symbol("x", positive=True)
kappa_equiv = (sp.pi / x + 2) * sp.sin(x) / 2
assert sp.simplify(kappa_equiv.subs(x, sp.pi / (2 * (2 * S + 1))) - (S + 1) * alpha_star) == 0
series = sp.series(kappa_equiv, x, 0, 3).removeO()
print("(S + 1) α* =", series, "+ O(x³)")
assert sp.expand(series - (sp.pi / 2 + x - sp.pi * x**2 / 12)) == 0
assert sp.limit((S + 1) * alpha_star, S, sp.oo) == sp.pi / 2
values = [float(((S + 1) * alpha_star).subs(S, n_)) for n_ in range(0, 200)]
assert math.isclose(values[0], 2.0) and math.isclose(values[1], 2.0)
assert all(b < a for a, b in itertools.pairwise(values[1:]))
assert values[-1] > math.pi / 2
print(f"(S + 1) α*: 2, 2, {values[2]:.4f}, {values[3]:.4f}, … , {values[-1]:.6f} (S = 199) "
      f"↓ π/2 = {math.pi / 2:.6f}")

# %% [markdown]
# ## 4. Check against sdde's numerics, S = 0 … 30
#
# `discrete_critical_alpha` scans `θ`, refines the sign changes of `Im R(θ)` by Brent's
# method to machine precision and evaluates `R = (1 − e^{iθ})/Q(e^{−iθ})` there: `α*` to a
# few ulps; `1e−12` relative leaves a wide margin. The direction of the crossing is checked
# with `discrete_spectral_radius` (dense companion-matrix eigenvalues, error ~`1e−14`
# here): below `1` at `α*(1 − 1e−6)`, above at `α*(1 + 1e−6)`, where the radius moves by
# about `1e−6 α* |dζ/dα|` ≫ `1e−14`; and above 1 on a grid of `α` from `α*` to 4 (no return).

# %%
alpha_fn = sp.lambdify(S, alpha_star, "math")
worst = 0.0
for n_ in range(31):
    weights = np.zeros(n_ + 1)
    weights[n_] = 1.0
    exact = alpha_fn(n_)
    numeric = discrete_critical_alpha(weights)
    rel = abs(numeric - exact) / exact
    worst = max(worst, rel)
    assert rel <= 1e-12, (n_, numeric, exact)
    assert discrete_spectral_radius(exact * (1 - 1e-6), weights) < 1.0
    assert discrete_spectral_radius(exact * (1 + 1e-6), weights) > 1.0
    assert all(discrete_spectral_radius(a_, weights) > 1.0
               for a_ in np.linspace(exact * (1 + 1e-3), 4.0, 40))
    if n_ in (0, 1, 2, 5, 10, 30):
        print(f"  S = {n_:>2}: α* = {exact:.15f}  sdde {numeric:.15f}  "
              f"α*·S = {exact * n_:.5f}  α*·(S+1) = {exact * (n_ + 1):.5f}")
print(f"largest relative difference over S = 0…30: {worst:.1e}")
print("discrete_constant_staleness: all checks passed")

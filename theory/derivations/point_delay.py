# %% [markdown]
# # Point delay: threshold, critical damping, stationary variance
#
# **Model.** One Hessian mode whose gradients are all exactly one mean delay old. In units
# of that delay (`theory/stability.md` §1)
#
#     dx = −κ x(t − 1) dt + σ dW,
#
# so the mean obeys `x' = −κ x(t − 1)` and trying `x = e^{zt}` gives the characteristic
# function `Δ(z) = z + κ φ(z)` with `φ(z) = E[e^{−zX̃}] = e^{−z}` (`X̃ ≡ 1`). The mode is
# stable iff every root of `Δ` has `Re z < 0`.
#
# **Results.**
#
# 1. `κ* = π/2`: a root pair crosses the imaginary axis at `z = ±iπ/2`, moving right.
# 2. The double root `z = −1` at `κ = 1/e` (`Δ = Δ' = 0`): the fastest decay over all `κ`.
# 3. For `κ < π/2` the stationary variance is `σ² (1 + sin κ) / (2κ cos κ)`
#    (Küchler & Mensch 1992, *Stochastics and Stochastic Reports* 40, 23–42).
#
# Every step is done in sympy; the last cell checks each result against sdde's numerical
# code. Run with `python theory/derivations/point_delay.py` or open it as a notebook
# (`jupytext --to notebook`).

# %%
import math

import numpy as np
import sympy as sp

from sdde import delays, symbolic
from sdde.stability.mean_field import critical_kappa, stationary_variance
from sdde.stability.roots import characteristic_roots

z, kappa, omega, sigma = symbolic.Z, symbolic.KAPPA, symbolic.OMEGA, symbolic.SIGMA
kernel = symbolic.point_delay()
delta = symbolic.characteristic_function(kernel)
print("Δ(z) =", delta)

# %% [markdown]
# ## 1. The threshold from the imaginary-axis crossing
#
# At `κ → 0` the only root near the axis is `z ≈ −κ`; the others come in from
# `Re z = −∞` (`z e^{z} = −κ`). Roots move continuously with `κ`, and `z = 0` is never a
# root (`Δ(0) = κ > 0`), so stability is lost when a pair reaches `z = ±iω`, `ω > 0`
# (`theory/stability.md` §2). Splitting `Δ(iω) = 0` into real and imaginary parts:

# %%
re_delta, im_delta = sp.expand_complex(delta.subs(z, sp.I * omega)).as_real_imag()
print("Re Δ(iω) =", re_delta, "   Im Δ(iω) =", im_delta)
# Re Δ = κ cos ω = 0 with κ > 0: cos ω = 0. Im Δ = 0: κ = ω / sin ω, which must be > 0.
kappa_on_axis = sp.solve(im_delta, kappa)[0]
candidates = sp.solve(sp.cos(omega), omega)  # sympy returns the zeros in [0, 2π)
for w in candidates:
    print(f"  ω = {w}: κ = ω/sin ω = {sp.simplify(kappa_on_axis.subs(omega, w))}")

# %% [markdown]
# `ω = 3π/2` needs `κ < 0`. The zeros of `cos` repeat with period `2π`, and at each one
# `κ = ω/|sin ω| = ω`, so the crossings with `κ > 0` are at `ω = π/2 + 2πj`, `κ = ω`; the
# smallest is `ω = κ = π/2`. Direction: differentiating `Δ(z(κ), κ) = 0`,
# `dz/dκ = −φ(z) / (1 + κ φ'(z))`. Its real part at the crossing is positive, so the pair
# moves into the right half-plane and stays there (at every later crossing too, by the
# same computation with `ω = κ`): the mode is stable exactly for `0 < κ < π/2`.

# %%
omega_star = sp.pi / 2
kappa_star = sp.simplify(kappa_on_axis.subs(omega, omega_star))
phi = kernel.transform
dz_dkappa = -phi / (1 + kappa * sp.diff(phi, z))
speed = sp.simplify(dz_dkappa.subs({z: sp.I * omega_star, kappa: kappa_star}))
print("κ* =", kappa_star, " at ω =", omega_star)
print("dz/dκ at the crossing =", speed, " real part:", sp.simplify(sp.re(speed)))
assert kappa_star == sp.pi / 2
assert sp.re(speed).is_positive
# sdde.symbolic finds the same by its phase method (θ(ω) = ω = π/2, A = 1):
assert symbolic.critical_kappa(kernel).kappa == sp.pi / 2

# %% [markdown]
# ## 2. Critical damping: the double root `z = −1` at `κ = 1/e`
#
# `z e^{z} = −κ`, so the roots are `z = W_k(−κ)` over the branches of Lambert W. For
# `0 < κ < 1/e` the two rightmost roots are real (`W_0` and `W_{−1}`); they meet where
# `Δ = Δ' = 0` and leave the real axis as a complex pair. Solving the two equations:

# %%
double = sp.solve([delta, sp.diff(delta, z)], [z, kappa], dict=True)
print("Δ = Δ' = 0:", double)
assert double == [{z: -1, kappa: sp.exp(-1)}]
# Δ'' ≠ 0 there: the root is exactly double, not triple.
assert sp.diff(delta, z, 2).subs({z: -1, kappa: sp.exp(-1)}) != 0
print("sdde.symbolic.critical_damping:", symbolic.critical_damping(kernel))

# %% [markdown]
# Why this is the fastest decay. For `κ < 1/e` the rightmost root `W_0(−κ)` is real and
# decreases from 0 to −1 as `κ` grows (`W_0` increases on `[−1/e, 0]`), so it is `> −1`.
# For `κ > 1/e` the rightmost roots are the conjugate pair `W_0(−κ)`, `W_{−1}(−κ)`; write
# `W_0(−κ) = u + iv` with `0 < v < π` (the range of the principal branch). `z e^{z} = −κ`
# is real, so `Im(z e^{z}) = e^{u}(u sin v + v cos v) = 0`, i.e. `u = −v cot v`, and
# `−v cot v > −1` on `(0, π)` (`tan v > v` below `π/2`; `−v cot v ≥ 0` above). So the
# spectral abscissa is `> −1` for every `κ ≠ 1/e` and equals `−1` at `κ = 1/e`: decay like
# `e^{−t}` (in units of the delay) is the best a point delay allows. Near the branch point
# (`p = i sqrt(2(eκ − 1))`) the series `W = −1 + p − p²/3 + …` gives
# `Re z = −1 + 2(eκ − 1)/3 + O((eκ − 1)²)`:

# %%
uu, vv = sp.symbols("u v", real=True)
im_part = sp.simplify(sp.im(sp.expand_complex((uu + sp.I * vv) * sp.exp(uu + sp.I * vv))))
u_on_root = sp.solve(im_part, uu)
print("Im(z e^z) =", im_part, " ⇒ u =", u_on_root)
assert len(u_on_root) == 1 and sp.simplify(u_on_root[0] + vv / sp.tan(vv)) == 0
# −v cot v > −1 on (0, π): checked on a fine grid (tan v > v is the analytic reason)
v_grid = np.linspace(1e-6, math.pi - 1e-6, 100001)
assert np.all(-v_grid / np.tan(v_grid) > -1)
p = sp.Symbol("p")
w_series = -1 + p - p**2 / 3 + sp.Rational(11, 72) * p**3
eps = sp.Symbol("epsilon", positive=True)  # eκ − 1
print("Re W near the branch point ≈",
      sp.expand(sp.re(w_series.subs(p, sp.I * sp.sqrt(2 * eps))).series(eps, 0, 2).removeO()))

# %% [markdown]
# ## 3. Stationary variance (Küchler & Mensch 1992)
#
# Let `R(s) = E[x(t + s) x(t)]` be the stationary autocovariance (even in `s`). For
# `s > 0` the noise after `t` is independent of `x(t)`, so
# `R'(s) = −κ E[x(t + s − 1) x(t)] = −κ R(s − 1)`, which for `0 < s < 1` is
# `−κ R(1 − s)` (evenness). Differentiating once more,
# `R''(s) = κ R'(1 − s) = −κ² R(−s) = −κ² R(s)`: on `[0, 1]`, `R = A cos κs + B sin κs`.
# Two conditions fix `A` and `B`:
#
# * Itô: `0 = d E[x²]/dt = −2κ E[x(t) x(t − 1)] + σ² = −2κ R(1) + σ²`, so
#   `R'(0+) = −κ R(1) = −σ²/2`;
# * the delay relation itself, `R'(s) = −κ R(1 − s)`, at `s = 0`.
#
# The variance is `R(0) = A`.

# %%
s = sp.Symbol("s", real=True)
A, B = sp.symbols("A B")
R = sp.Function("R")
general = sp.dsolve(R(s).diff(s, 2) + kappa**2 * R(s), R(s)).rhs
print("R'' = −κ² R  ⇒  R(s) =", general)
cov = A * sp.cos(kappa * s) + B * sp.sin(kappa * s)
conditions = [
    sp.Eq(sp.diff(cov, s).subs(s, 0), -sigma**2 / 2),
    sp.Eq(sp.diff(cov, s).subs(s, 0), -kappa * cov.subs(s, 1)),
]
sol = sp.solve(conditions, [A, B], dict=True)[0]
variance = sp.simplify(sol[A])
print("A =", variance, "   B =", sol[B])
# The delay relation then holds on the whole of (0, 1), not only at s = 0:
covariance = cov.subs(sol)
residual = sp.diff(covariance, s) + kappa * covariance.subs(s, 1 - s)
assert sp.simplify(sp.expand_trig(residual)) == 0
closed_form = sigma**2 * (1 + sp.sin(kappa)) / (2 * kappa * sp.cos(kappa))
assert sp.simplify(variance - closed_form) == 0
assert sp.simplify(symbolic.stationary_variance(kernel) - closed_form) == 0
print("Var x = σ²(1 + sin κ)/(2κ cos κ)  (matches sdde.symbolic.stationary_variance)")

# %% [markdown]
# Limits: as `κ → 0`, `κ Var → σ²/2`, the Ornstein–Uhlenbeck value `σ²/(2κ)` (the delay no
# longer matters); as `κ → π/2` the variance diverges (`cos κ → 0`), as it must at the
# threshold.

# %%
assert sp.limit(kappa * variance, kappa, 0, "+") == sigma**2 / 2
assert sp.limit(variance, kappa, sp.pi / 2, "-") == sp.oo
print("κ·Var → σ²/2 as κ → 0;  Var → ∞ as κ → π/2")

# %% [markdown]
# ## 4. Checks against sdde's numerics
#
# * `critical_kappa` scans `Re φ(iω)` and refines the zero by Newton to about `4 eps`
#   relative in `ω`, and `κ = −ω/Im φ` with `Im φ = −1` there: agreement to `1e−12`
#   relative leaves a margin of ~1000 over rounding.
# * `characteristic_roots` uses Lambert W (with the branch-point series within `1e−3` of
#   `−1/e`): each root to rounding. A double root is, in general, only determined to about
#   `sqrt(eps) ≈ 1e−8` by a root finder; the branch-point series is exact to `1e−13`, so
#   `1e−9` is a safe tolerance for `z = −1`.
# * `stationary_variance` integrates `|iω + κφ(iω)|^{−2}` (Parseval) with relative
#   tolerance `1e−11` per piece and a tail error below `1e−10` relative
#   (`theory/stability.md` §10): `1e−9` relative.

# %%
point = delays.Deterministic(value=1.0)
numeric_kstar = critical_kappa(point)
print(f"κ*: symbolic {float(kappa_star):.15f}, sdde.critical_kappa {numeric_kstar:.15f}")
assert abs(numeric_kstar - math.pi / 2) <= 1e-12 * math.pi / 2


def abscissa(k: float) -> float:
    """Real part of the rightmost root at gain k (sdde's Lambert-W roots)."""
    return float(characteristic_roots(k, point, n=2)[0].real)


e_inv = math.exp(-1.0)
roots_at_1_over_e = characteristic_roots(e_inv, point, n=2)
print("two rightmost roots at κ = 1/e:", roots_at_1_over_e)
assert np.all(np.abs(roots_at_1_over_e + 1.0) <= 1e-9)
left, centre, right = abscissa(0.9 * e_inv), abscissa(e_inv), abscissa(1.1 * e_inv)
print(f"rightmost Re z at 0.9/e, 1/e, 1.1/e: {left:.6f}, {centre:.6f}, {right:.6f}")
assert centre < left and centre < right
# ... and over a grid of gains up to the threshold the minimum sits at 1/e:
grid = np.linspace(0.02, 1.56, 155)
best = grid[np.argmin([abscissa(float(k)) for k in grid])]
assert abs(best - e_inv) <= 0.01, best
# the spectral abscissa near the branch point follows −1 + 2(eκ − 1)/3:
for k in (1.001 * e_inv, 1.01 * e_inv):
    predicted = -1 + 2 * (math.e * k - 1) / 3
    assert abs(abscissa(k) - predicted) <= (math.e * k - 1) ** 2, (k, abscissa(k))

variance_fn = sp.lambdify(kappa, variance.subs(sigma, 1), "math")
print(" κ      closed form        sdde (Parseval)     rel. diff")
for k in (0.01, 0.2, e_inv, 0.8, 1.2, 1.5):
    exact, numeric = variance_fn(k), stationary_variance(k, point)
    rel = abs(numeric - exact) / exact
    print(f" {k:.4f} {exact:.15g} {numeric:.15g} {rel:.1e}")
    assert rel <= 1e-9
assert stationary_variance(1.6, point) == math.inf  # beyond κ* = π/2 ≈ 1.5708
print("point_delay: all checks passed")

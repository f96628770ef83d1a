# %% [markdown]
# # Uniform delays on [1 − a, 1 + a]: the threshold κ*(a)
#
# **Model.** Delays uniform on `[1 − a, 1 + a]`, `0 < a ≤ 1` (mean 1, variance `a²/3`).
# Characteristic function `Δ(z) = z + κ φ(z)` with
# `φ(z) = ∫ e^{−zu} du / (2a) = e^{−z} sinh(az)/(az)`.
#
# **Result.** `κ*(a) = π² a / (4 sin(πa/2))`, the crossing at `ω = π/2` for every `a`;
# `a = 1` (uniform on `[0, 2]`) gives `π²/4`, `a → 0` the point delay's `π/2`, and for small
# spread `κ* ≈ π/2 (1 + π² v/8)`, `v = a²/3` the delay variance (the same first-order law as
# Erlang-k, `erlang.py`). `κ*(a)` increases with `a`: more spread, more stable.

# %%
import math

import sympy as sp

from sdde import delays, symbolic
from sdde.stability.mean_field import critical_kappa

z, kappa, omega = symbolic.Z, symbolic.KAPPA, symbolic.OMEGA
a = sp.Symbol("a", positive=True)
u = sp.Symbol("u", positive=True)

# %% [markdown]
# ## 1. The transform on the imaginary axis

# %%
phi = sp.integrate(sp.exp(-z * u) / (2 * a), (u, 1 - a, 1 + a))
phi = sp.simplify(phi.args[0][0])  # sympy returns a Piecewise: the z ≠ 0 branch (φ(0) = 1)
print("φ(z) =", phi)
assert sp.simplify((phi - symbolic.uniform().transform).rewrite(sp.exp)) == 0
on_axis = sp.simplify(symbolic.uniform().transform.subs(z, sp.I * omega).rewrite(sp.sin))
print("φ(iω) =", on_axis)
expected = sp.exp(-sp.I * omega) * sp.sin(a * omega) / (a * omega)
assert sp.simplify((on_axis - expected).rewrite(sp.exp)) == 0

# %% [markdown]
# So `φ(iω) = e^{−iω} · sin(aω)/(aω)`: while `aω < π` the factor `A(ω) = sin(aω)/(aω)` is
# positive and the phase is exactly `θ(ω) = ω`. A crossing `iω + κφ(iω) = 0` needs
# `θ = π/2 (mod 2π)` with `A > 0`, or `θ = 3π/2 (mod 2π)` with `A < 0`, and `κ = ω/|A|`.
#
# * The first candidate is `ω = π/2` (`aω = aπ/2 ≤ π/2 < π`, so `A > 0`):
#   `κ = (π/2) / (sin(aπ/2)/(aπ/2)) = π² a / (4 sin(πa/2))`.
# * Every crossing has `κ = ω/|A| ≥ ω` (`|A| ≤ 1`); every other candidate has
#   `ω ≥ 3π/2 ≈ 4.71` (the zeros of `sin(aω)`, `ω = jπ/a ≥ π`, make `φ(iω) = 0`, not a
#   crossing), while `κ*(a) ≤ π²/4 ≈ 2.47` (below). So `ω = π/2` gives the threshold.
#
# `Re φ(iω) = cos ω · sin(aω)/(aω)`, `Im φ(iω) = −sin ω · sin(aω)/(aω)`; sdde.symbolic's
# phase method (θ = ω, modulus A) solves the same equation.

# %%
re_phi, im_phi = sp.expand_complex(expected).as_real_imag()
print("Re φ(iω) =", sp.simplify(re_phi), "   Im φ(iω) =", sp.simplify(im_phi))
omega_star = sp.pi / 2
assert sp.simplify(re_phi.subs(omega, omega_star)) == 0
kappa_star = sp.simplify(-omega_star / im_phi.subs(omega, omega_star))
formula = sp.pi**2 * a / (4 * sp.sin(sp.pi * a / 2))
assert sp.simplify(kappa_star - formula) == 0
threshold = symbolic.critical_kappa(symbolic.uniform())
assert threshold.omega == omega_star and sp.simplify(threshold.kappa - formula) == 0
print("κ*(a) =", formula, " at ω =", omega_star)

# %% [markdown]
# ## 2. Special values, monotonicity, small spread
#
# With `x = πa/2 ∈ (0, π/2]`, `κ* = (π/2) x / sin x`. Its derivative in `x` is
# `(π/2)(sin x − x cos x)/sin² x > 0` (`tan x > x`), so `κ*` increases with `a` from
# `π/2` (`a → 0`) to `π²/4` (`a = 1`).

# %%
at_one = sp.simplify(formula.subs(a, 1))
at_zero = sp.limit(formula, a, 0, "+")
print("κ*(1) =", at_one, f"= {float(at_one):.12f};  κ*(a → 0) =", at_zero)
assert at_one == sp.pi**2 / 4 and at_zero == sp.pi / 2
x = sp.Symbol("x", positive=True)
slope = sp.simplify(sp.diff(sp.pi / 2 * x / sp.sin(x), x))
print("d/dx [(π/2) x/sin x] =", slope)
assert sp.simplify(slope - sp.pi / 2 * (sp.sin(x) - x * sp.cos(x)) / sp.sin(x) ** 2) == 0
v = sp.Symbol("v", positive=True)  # delay variance a²/3
small = sp.series(formula, a, 0, 3).removeO()
print("κ*(a) =", small, "+ O(a⁴)")
assert sp.simplify(small - sp.pi / 2 * (1 + sp.pi**2 * v / 8).subs(v, a**2 / 3)) == 0

# %% [markdown]
# ## 3. Check against sdde's numerics
#
# The uniform law's transform is closed form, so `critical_kappa` refines the zero of
# `Re φ(iω)` by Newton to ~`4 eps` relative; `κ = −ω/Im φ(iω)` inherits a few ulps:
# `1e−12` relative.

# %%
kappa_fn = sp.lambdify(a, formula, "math")
print(" a      closed form          sdde.critical_kappa   rel. diff")
for half_width in (0.05, 0.25, 0.5, 0.75, 0.9, 1.0):
    exact = kappa_fn(half_width)
    numeric = critical_kappa(delays.Uniform(low=1.0 - half_width, high=1.0 + half_width))
    rel = abs(numeric - exact) / exact
    print(f" {half_width:<6} {exact:<20.15g} {numeric:<20.15g}  {rel:.1e}")
    assert rel <= 1e-12, (half_width, numeric, exact)
assert abs(critical_kappa(delays.Uniform(low=0.0, high=2.0)) - math.pi**2 / 4) <= 1e-12 * 2.5
print("uniform: all checks passed")

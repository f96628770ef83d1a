# %% [markdown]
# # A sufficient condition for every kernel: κ · E[w X̃] ≤ 1 ⇒ stable
#
# **Model.** A mode with gain `κ` and kernel `w(u) dF̃(u)` (delay law `F̃` of mean 1,
# weight `0 ≤ w ≤ 1` from a staleness threshold and/or step policy; `w ≡ 1` for a plain
# law) has `Δ(z) = z + κ φ(z)`, `φ(z) = E[w(X̃) e^{−zX̃}]`, defined and continuous on
# `Re z ≥ 0` for every law, heavy-tailed ones included (`|e^{−zX̃}| ≤ 1`). The mode is
# stable iff `Δ` has no root with `Re z ≥ 0`. Write `m = φ(0) = E[w(X̃)] > 0` (the mass)
# and `μ = E[w(X̃) X̃]`.
#
# **Claim.** If `κ μ ≤ 1`, no root has `Re z ≥ 0`: **κ\* > 1/μ**. For a plain mean-1 law
# (`μ = 1`): every law is stable for `κ ≤ 1`, i.e. `κ* > 1`.
#
# **How tight.** Not sharp: over every kernel tested the smallest `κ* μ` is `π/2`, attained
# by every point-delay kernel. Bernard & Crauste ("Optimal linear stability condition for
# scalar differential equations with distributed delay", arXiv:1405.7333) show that, at a
# given mean delay, stability with the point delay implies stability with any delay
# distribution, i.e. `κ* ≥ π/2` for every mean-1 law; weighted kernels reduce to that case
# (the normalised kernel `w dF̃/m` is a law of mean `μ/m`, and the gain in units of that
# mean is `κ m · μ/m = κ μ`), so `κ* μ ≥ π/2`. The numbers below agree with it. The short
# proof here gives the constant 1 instead of `π/2`, with nothing but `|1 − e^{−v}| ≤ |v|`.

# %%
import math

import numpy as np
import sympy as sp

from sdde import delays
from sdde.model.kernels import DelayKernel, StepPolicy
from sdde.stability.mean_field import critical_kappa
from sdde.stability.roots import characteristic_roots

# %% [markdown]
# ## 1. Proof
#
# Suppose `Re z ≥ 0` and `z + κ φ(z) = 0`. Since `φ(z) = m − E[w (1 − e^{−zX̃})]`,
#
#     z + κ m = κ E[w (1 − e^{−zX̃})].                                   (1)
#
# **Lemma.** `|1 − e^{−v}| ≤ |v|` for `Re v ≥ 0`: `1 − e^{−v} = v ∫_0^1 e^{−tv} dt` and
# `|e^{−tv}| = e^{−t Re v} ≤ 1`. With `v = z X̃` (`X̃ ≥ 0`, so `Re v ≥ 0`), (1) gives
#
#     |z + κ m| ≤ κ E[w |z| X̃] = κ μ |z|.                                (2)
#
# On the other hand, with `Re z ≥ 0` and `κ m > 0`,
#
#     |z + κ m|² = |z|² + 2 κ m Re z + κ² m² ≥ |z|² + κ² m².             (3)
#
# Together: `κ² μ² |z|² ≥ |z|² + κ² m²`, i.e. `(κ² μ² − 1) |z|² ≥ κ² m² > 0`, which needs
# `κ μ > 1`. So for `κ μ ≤ 1` there is no root in the closed right half-plane; the first
# `κ` with a root on the axis, `κ*`, is therefore `> 1/μ`. ∎
#
# By-product: at a crossing `z = iω` (3) is an equality, so `ω² (κ²μ² − 1) ≥ κ² m²`: the
# crossing frequency satisfies `ω* ≥ κ* m / sqrt(κ*² μ² − 1)` (checked below).
#
# The algebra, in sympy:

# %%
v, t = sp.symbols("v t")
lemma = v * sp.integrate(sp.exp(-t * v), (t, 0, 1), conds="none")
assert sp.simplify(lemma - (1 - sp.exp(-v))) == 0
print("1 − e^{−v} = v ∫_0^1 e^{−tv} dt  ✓")

x, y = sp.symbols("x y", real=True)  # z = x + iy
km = sp.Symbol("km", positive=True)  # κ m
zz = x + sp.I * y
square = sp.expand(sp.Abs(zz + km) ** 2)
assert sp.expand(square - (x**2 + y**2 + 2 * km * x + km**2)) == 0
print("|z + κm|² = |z|² + 2κm Re z + κ²m²  ✓")

kmu, r2 = sp.symbols("kappa_mu r2", positive=True)  # κμ and |z|²
# (2) squared and (3): κ²μ²|z|² ≥ |z|² + κ²m²  ⇔  (κ²μ² − 1)|z|² ≥ κ²m²
combined = sp.expand(kmu**2 * r2 - (r2 + km**2))
assert sp.factor(combined + km**2) == r2 * (kmu - 1) * (kmu + 1)
# For κμ ≤ 1 the left side (κ²μ² − 1)|z|² is ≤ 0 < κ²m²: contradiction.
assert sp.ask(sp.Q.negative(combined.subs(kmu, 1)), sp.Q.positive(km)) is True
print("(κ²μ² − 1)|z|² ≥ κ²m² > 0 forces κμ > 1  ✓")

# A numerical sanity check of the lemma on a grid of the closed right half-plane:
grid = (np.linspace(0, 30, 301)[:, None] + 1j * np.linspace(-60, 60, 601)[None, :]).ravel()
assert np.all(np.abs(1 - np.exp(-grid)) <= np.abs(grid) * (1 + 1e-15) + 1e-300)

# %% [markdown]
# ## 2. Plain laws: κ* > 1 (and ≥ π/2)
#
# `critical_kappa` is exact to rounding for closed-form transforms and to ~`1e−10`
# relative for quadrature-rule laws (`theory/stability.md` §7), so the strict inequality
# `κ* > 1` is checked with no tolerance; the comparison with Bernard & Crauste's `π/2`
# allows `1e−12` relative for the point delay, which attains it. `inf`: no crossing (laws
# with completely monotone densities, `theory/stability.md` §4, or beyond the search limit
# `κ = 100`).

# %%
laws = {
    "point delay": delays.Deterministic(value=1.0),
    "uniform [0, 2]": delays.Uniform(low=0.0, high=2.0),
    "uniform [0.8, 1.2]": delays.Uniform(low=0.8, high=1.2),
    "Erlang-2": delays.erlang(2, 1.0),
    "Erlang-6": delays.erlang(6, 1.0),
    "gamma, shape 10": delays.Gamma.from_mean(shape=10.0, mean=1.0),
    "gamma, shape 1.5": delays.Gamma.from_mean(shape=1.5, mean=1.0),
    "exponential": delays.Exponential(scale=1.0),
    "Weibull, shape 2": delays.Weibull.from_mean(shape=2.0, mean=1.0),
    "Weibull, shape 5": delays.Weibull.from_mean(shape=5.0, mean=1.0),
    "lognormal, cv 0.3": delays.LogNormal.from_mean_cv(mean=1.0, cv=0.3),
    "lognormal, cv 1": delays.LogNormal.from_mean_cv(mean=1.0, cv=1.0),
    "Pareto, shape 3": delays.Pareto.from_mean(shape=3.0, mean=1.0),
    "shifted exp., s = 0.5": delays.shifted_exponential(shift=0.5, mean=1.0),
    "shifted exp., s = 0.9": delays.shifted_exponential(shift=0.9, mean=1.0),
    "two-point p = 0.1, r = 5": delays.two_point(time=1.0, p=0.1, slowdown=5.0),
    "two-point p = 0.2, r = 12": delays.two_point(time=1.0, p=0.2, slowdown=12.0),
    "two-point p = 0.5, r = 1.5": delays.two_point(time=1.0, p=0.5, slowdown=1.5),
}
print(f" {'law':<28} κ* = κ*·μ   (bound 1; sharp bound π/2 = {math.pi / 2:.6f})")
for name, law in laws.items():
    value = critical_kappa(law)
    print(f" {name:<28} {value:.6f}")
    assert value > 1.0
    assert value >= math.pi / 2 * (1 - 1e-12), (name, value)
assert abs(critical_kappa(laws["point delay"]) - math.pi / 2) <= 1e-12

# %% [markdown]
# The by-product: crossing frequencies from the roots at `κ*` (the rightmost root there
# is `iω*`, to the accuracy of `characteristic_roots`, ~`1e−10`):

# %%
for name in ("point delay", "Erlang-2", "uniform [0, 2]", "two-point p = 0.1, r = 5"):
    law = laws[name]
    k_star = critical_kappa(law)
    root = characteristic_roots(k_star, law, n=1)[0]
    assert abs(root.real) <= 1e-8, (name, root)
    omega_star = abs(root.imag)
    floor = k_star / math.sqrt(k_star**2 - 1)  # m = μ = 1
    print(f" {name:<28} ω* = {omega_star:.6f} ≥ κ*/sqrt(κ*² − 1) = {floor:.6f}")
    assert omega_star >= floor

# %% [markdown]
# ## 3. Thinned and weighted kernels: κ* · E[w X̃] > 1
#
# `DelayKernel.weighted_mean` is `μ = E[w X̃]` from the kernel's quadrature rule (relative
# error ~`1e−12`); `κ*` from `critical_kappa` on the same rule. The ratio `κ* μ` is the
# threshold in units of the bound `1/μ`; the point-delay rows sit exactly at `π/2`
# (`w(1)` scales the single atom: `μ = m`, and `κ* m = π/2`).

# %%
policies = ((2, 2.0, StepPolicy()), (None, 4.0, StepPolicy("inverse")),
            (3, 8.0, StepPolicy("geometric", 0.9)), (0, 1.0, StepPolicy()),
            (5, 4.0, StepPolicy("inverse")))
bases = ("point delay", "Erlang-2", "Erlang-6", "lognormal, cv 0.3", "lognormal, cv 1",
         "Weibull, shape 5", "Pareto, shape 3", "two-point p = 0.1, r = 5")
print(f" {'law':<26} {'K':>4} {'ρ':>4} {'policy':<14} {'m':>7} {'μ':>7} {'κ*':>10} "
      f"{'κ*·μ':>8}")
ratios = []
for name in bases:
    for big_k, r_, policy in policies:
        kernel = DelayKernel(laws[name], threshold=big_k, updates_per_delay=r_, policy=policy)
        value, mu = critical_kappa(kernel), kernel.weighted_mean
        ratio = value * mu
        print(f" {name:<26} {big_k!s:>4} {r_:>4g} {policy!s:<14} {kernel.mass:7.4f} {mu:7.4f} "
              f"{value:10.5f} {ratio:8.4f}")
        assert ratio > 1.0, (name, big_k, r_, str(policy), value, mu)
        assert ratio >= math.pi / 2 * (1 - 1e-9), (name, big_k, r_, str(policy), ratio)
        if math.isfinite(ratio):
            ratios.append(ratio)
print(f"smallest κ*·μ over the kernels: {min(ratios):.10f} (π/2 = {math.pi / 2:.10f}); "
      f"largest finite: {max(ratios):.4f}")
assert abs(min(ratios) - math.pi / 2) <= 1e-9
print("sufficient_condition: all checks passed")

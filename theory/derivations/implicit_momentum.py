# %% [markdown]
# # Asynchrony as momentum: geometric staleness is a heavy ball
#
# **Model** (`sdde.literature.momentum`). Counted in server updates, a mode whose gradients have
# i.i.d. staleness `S` with `P(S = s) = q_s` has the mean recursion
#
#     x_{t+1} = x_t − α Σ_s q_s x_{t−s},    α = η h.
#
# For **geometric** staleness, `q_s = p (1 − p)^s` (exact for exponential round times with
# `p = 1/n`, and the moment-matched law for any other since the mean staleness is always
# `n − 1`), the infinite memory collapses into one step of momentum.
#
# **Results.**
#
# 1. `x_{t+1} = x_t − α p x_t + μ (x_t − x_{t−1})` with `μ = 1 − p` for `t >= 1`: the
#    heavy-ball method (Polyak), with momentum `1 − 1/n` for `n` exponential workers
#    (Mitliagkas et al. 2016). Its characteristic polynomial is
#    `z² − (1 + μ − α p) z + μ`.
# 2. Stable iff `0 < α p < 2 (1 + μ)`: the discrete-time threshold of geometric staleness
#    is `α* = 2 (2 − p) / p`, i.e. `2 (2n − 1)` for `n` exponential workers, so
#    `κ* = n α* = 2n (2n − 1)` grows like `4n²` in this model, far above the simulator's
#    measured `≈ 1.8 √n` (docs/validation.md: the mean recursion is not exact for the
#    mean when staleness values are dependent).

# %%
import numpy as np
import sympy as sp

from sdde.literature.momentum import geometric_critical_alpha, heavy_ball
from sdde.stability.discrete import discrete_critical_alpha, discrete_moments

z, p, alpha = sp.symbols("z p alpha", positive=True)
s = sp.Symbol("s", integer=True, nonnegative=True)
mu = 1 - p

# %% [markdown]
# ## 1. The characteristic equation
#
# With `x_t = z^t`, the recursion gives `z − 1 + α Q(z) = 0`, `Q(z) = Σ_s q_s z^{−s}`,
# a geometric series for `|z| > 1 − p`.

# %%
series = sp.summation(p * (1 - p) ** s * z ** (-s), (s, 0, sp.oo))
Q = sp.simplify(series.rewrite(sp.Piecewise).replace(  # the branch valid for |z| > 1 − p
    sp.Piecewise, lambda *branches: branches[0][0]))
print("Q(z) =", Q)
async_char = sp.together((z - 1 + alpha * Q) * (z - mu))
heavy_char = z**2 - (1 + mu - alpha * p) * z + mu
assert sp.simplify(async_char - heavy_char) == 0
print("(z − 1 + αQ(z))·(z − μ) =", sp.expand(heavy_char))

# %% [markdown]
# ## 2. The Schur–Cohn conditions of a quadratic
#
# `z² + a₁ z + a₀` has both roots inside the unit circle iff `|a₀| < 1` and
# `|a₁| < 1 + a₀`. Here `a₀ = μ ∈ [0, 1)` and `a₁ = −(1 + μ − α p)`, so the condition is
# `0 < α p < 2 (1 + μ)`, and at `α p = 2(1 + μ)` a root sits at `z = −1`.

# %%
alpha_star = sp.simplify(2 * (1 + mu) / p)
print("α* =", alpha_star)
assert sp.simplify(heavy_char.subs({alpha: alpha_star, z: -1})) == 0
assert sp.simplify(alpha_star - 2 * (2 - p) / p) == 0
n = sp.Symbol("n", positive=True, integer=True)
assert sp.expand(alpha_star.subs(p, 1 / n)) == 4 * n - 2

# %% [markdown]
# ## 3. Against sdde's numerics
#
# The discrete model's threshold (an argument-principle scan of the truncated weights) and
# its mean (an IIR filter) must reproduce the heavy ball: thresholds to 1e-9 relative
# (the weights are cut where the tail is below 1e-18), trajectories to 1e-12.

# %%
for p_value in (0.5, 0.25, 0.125, 0.1):
    cut = int(np.ceil(np.log(1e-18) / np.log(1 - p_value)))
    q = p_value * (1 - p_value) ** np.arange(cut + 1)
    numeric = discrete_critical_alpha(q)
    exact = float(alpha_star.subs(p, p_value))
    assert abs(numeric / exact - 1) < 1e-9, (p_value, numeric, exact)
    assert abs(geometric_critical_alpha(p_value) / exact - 1) < 1e-15
    for a in (0.3, 0.9 * exact):
        mean, _ = discrete_moments(a, q, 400)
        assert np.max(np.abs(mean - heavy_ball(a, p_value).mean(400))) < 1e-12
    print(f"p = {p_value}: α* = {exact:.6g} (closed form), {numeric:.6g} (discrete model)")
print("all checks passed")

# %% [markdown]
# # Sparsified gradients in the SDDE
#
# **Setting** (`sdde.simulator.sparsification`, the simulator's semantics). Each push carries
# `k` of the `d` coordinates of `p` (`p = g` without error feedback, `p = g + r_w` with
# it), `q = k/d`. Random-k picks them uniformly, afresh per push, independently of
# everything else. One mode of a quadratic, `g = h x + σ z`, `a = η λ h`.
#
# **Results.**
#
# 1. *Random-k without error feedback.* Coordinate `i` of a push is applied with
#    probability `q` (a Bernoulli `δ`): the applied step has mean `q η h x` and variance
#    `η²(q σ² + q(1 − q) h² x²)`. The mean dynamics and the additive noise are those of
#    the plain model with `η' = q η` and `c' = c/q`; the multiplicative part
#    `q(1 − q)(h x)²` is what the additive-noise SDDE leaves out.
# 2. *Random-k with error feedback.* Nothing is lost: each coordinate of a gradient is
#    sent, in full, at the end of round `G` of its worker, `P(G = g) = q (1 − q)^{g−1}`.
#    Its age is `S = X_1 + … + X_G`, with transform `φ_S = q φ / (1 − (1 − q) φ)`, mean
#    `E[X]/q` and variance `Var X / q + (1 − q) E[X]² / q²`. Gradients arrive at the
#    same rate; in units of `E[S]` the SDDE is the plain one with rounds `S`,
#    `η' = η/q` and `c' = q c`.
# 3. Exponential rounds stay exponential (`Exp(m)` summed `Geometric(q)` times is
#    `Exp(m/q)`), and by Rényi's theorem `S/E[S]` tends to `Exp(1)` for any rounds as
#    `q → 0`: the kernel becomes an exponential of mean `E[X]/q`.
# 4. *Second moments.* The SDDE's mean is the mean-field one; the pushes are lumps, and
#    a jump process has diffusion `rate × E[jump²]`. Per unit time that is `λ η² h² x²`
#    for plain pushes, `λ q η² h² x²` for masked ones (`1/q` times the equivalent
#    model's own `λ' η'² h² x²`), and, for error feedback, whose sends carry
#    `G ~ Geometric(q)` gradients (`E[G²] = (2 − q)/q²`), at most
#    `λ q η² h² x² E[G²]` (`2 − q` times the equivalent model's): by Cauchy–Schwarz
#    `(Σ_{j≤G} x_j)² ≤ G Σ_j x_j²`, so freezing `x` over a send overestimates it. With
#    `g(x)² = σ² + β² x²` the scheme's second moment solves the Volterra equation
#    `S_n = m_n² + dt Σ_{k<n} r²_{n−1−k}(σ² + β² S_k)` (`sdde.solvers.moments`), and the minibatch
#    noise alone gives the lower end: the prediction is a bracket.
# 5. *A fresh start has empty residuals.* The SDDE's constant history has a backlog of
#    `a E[S]` of gradient in flight at `t = 0`; a fresh start has only the rounds under
#    way, `a E[X] = q · a E[S]`: the history before 0 is `q x₀` (`backlog = q`).
# 6. *The small-q limit is a lightly damped oscillator.* With an exponential kernel of
#    mean `D` the mode is `D z² + z + a = 0`: damping ratio `1/(2 √(a D))`, decay rate
#    `1/(2D) = q/(2 E[X])` once `a D > 1/4`, and stationary variance
#    `s² (1 + a D) / (2 a)`; with `a D = κ/q` the noise floor grows like `1/q` while the
#    divergence threshold in `κ` stays of order 1 (it is `∞` for exactly exponential
#    kernels).

# %%
import math

import numpy as np
import sympy as sp

from sdde import Cluster, HessianSpectrum, delays
from sdde.literature.sparse_sgd import sparsified_model
from sdde.model.async_sgd import AsyncSGDModel
from sdde.simulator.sparsification import Sparsifier
from sdde.stability.mean_field import critical_kappa, stationary_variance

q, eta, h, x, sigma, c, lam, m = sp.symbols("q eta h x sigma c lambda m", positive=True)
z = sp.Symbol("z")

# %% [markdown]
# ## 1. Random-k without error feedback: a Bernoulli mask
#
# `δ ∈ {0, 1}` with `P(δ = 1) = q`, independent of the noise `ζ ~ N(0, 1)`; the applied
# step is `η δ (h x + σ ζ)`.

# %%
mean_step = q * eta * (h * x)  # E[δ] E[hx + σζ]
second = q * eta**2 * (h**2 * x**2 + sigma**2)  # E[δ²] E[(hx + σζ)²], δ² = δ
variance = sp.expand(second - mean_step**2)
assert sp.simplify(variance - eta**2 * (q * sigma**2 + q * (1 - q) * h**2 * x**2)) == 0
print("Var(step) =", sp.factor(variance))
# the plain model with η' = q η and c' = c/q has the same drift and additive noise:
eta1, c1 = q * eta, c / q
assert sp.simplify(eta1 * h * x - mean_step) == 0
assert sp.simplify(eta1**2 * c1 - q * eta**2 * c) == 0  # σ² = c per coordinate

# %% [markdown]
# ## 2. Error feedback: the geometric sum of rounds
#
# The transform of `S = X_1 + … + X_G` is `E[φ(z)^G]`, the probability generating
# function of `G` at `φ(z)`.

# %%
g = sp.Symbol("g", integer=True, positive=True)
u = sp.Symbol("u")
pgf = sp.summation(q * (1 - q) ** (g - 1) * u**g, (g, 1, sp.oo))
pgf = sp.simplify(pgf.rewrite(sp.Piecewise).replace(
    sp.Piecewise, lambda *branches: branches[0][0]))  # the branch for |u (1 − q)| < 1
assert sp.simplify(pgf - q * u / (1 - (1 - q) * u)) == 0
print("E[u^G] =", pgf)

# moments from a generic round law φ(z) = 1 − m₁ z + m₂ z²/2 + O(z³)
m1, m2 = sp.symbols("m1 m2", positive=True)
phi_series = 1 - m1 * z + m2 * z**2 / 2
phi_s = sp.series(pgf.subs(u, phi_series), z, 0, 3).removeO()
mean_s = -phi_s.coeff(z, 1)
var_s = sp.simplify(2 * phi_s.coeff(z, 2) - mean_s**2)
assert sp.simplify(mean_s - m1 / q) == 0
assert sp.simplify(var_s - ((m2 - m1**2) / q + (1 - q) * m1**2 / q**2)) == 0
print("E[S] =", mean_s, "  Var S =", sp.factor(var_s))

# exponential rounds stay exponential
phi_exp = 1 / (1 + m * z)
assert sp.simplify(pgf.subs(u, phi_exp) - 1 / (1 + m / q * z)) == 0
print("Exp(m) summed Geometric(q) times: transform", sp.simplify(pgf.subs(u, phi_exp)))

# %% [markdown]
# The equivalent plain model: the drift `a = η λ h` and the noise `s² = η² λ c` are per
# unit time and do not change; in units of `E[S] = n/(qλ)` the gain and the noise
# intensity must be `κ' = a E[S] = η' n h` and `σ'² = s² E[S] = η'² n c'`.

# %%
n = sp.Symbol("n", positive=True)
mean_delay_s = n / (q * lam)
eta_ef, c_ef = eta / q, q * c
assert sp.simplify(eta * lam * h * mean_delay_s - eta_ef * n * h) == 0
assert sp.simplify(eta**2 * lam * c * mean_delay_s - eta_ef**2 * n * c_ef) == 0
print("error feedback: η' = η/q, c' = q c, time unit E[X]/q")

# %% [markdown]
# ## 3. Jump sizes: the squared-update noise factors
#
# Relative to the equivalent model's own squared-gradient noise `λ' η'² h²`.

# %%
G2 = sp.simplify(sp.summation(q * (1 - q) ** (g - 1) * g**2, (g, 1, sp.oo)).rewrite(
    sp.Piecewise).replace(sp.Piecewise, lambda *branches: branches[0][0]))
assert sp.simplify(G2 - (2 - q) / q**2) == 0
masked = (lam * q * eta**2) / (lam * (q * eta) ** 2)  # rate λ, E[δ²] = q; η' = q η
feedback = (lam * q * eta**2 * G2) / ((q * lam) * (eta / q) ** 2)  # λ' = qλ, η' = η/q
assert sp.simplify(masked - 1 / q) == 0 and sp.simplify(feedback - (2 - q)) == 0
print("E[G²] =", sp.factor(G2), "  factors: masked", masked, " error feedback",
      sp.simplify(feedback))

# %% [markdown]
# ## 4. The exponential kernel: a damped oscillator
#
# With `y = ∫ x(t − u) e^{−u/D}/D du`: `dx = −a y dt + s dW`, `dy = (x − y)/D dt`. The
# characteristic polynomial is `D z² + z + a`; the stationary covariance `P` solves the
# Lyapunov equation `A P + P Aᵀ + B Bᵀ = 0`.

# %%
a, D, s = sp.symbols("a D s", positive=True)
A = sp.Matrix([[0, -a], [1 / D, -1 / D]])
B = sp.Matrix([s, 0])
p11, p12, p22 = sp.symbols("p11 p12 p22")
P = sp.Matrix([[p11, p12], [p12, p22]])
solution = sp.solve(list(A * P + P * A.T + B * B.T), [p11, p12, p22], dict=True)[0]
var_x = sp.simplify(solution[p11])
assert sp.simplify(var_x - s**2 * (1 + a * D) / (2 * a)) == 0
print("Var x =", sp.factor(var_x))
char = sp.expand(sp.simplify((A - z * sp.eye(2)).det() * D))
assert sp.simplify(char - (D * z**2 + z + a)) == 0
roots = sp.solve(char, z)
print("roots:", roots, "→ decay rate 1/(2D) when 4 a D > 1")

# %% [markdown]
# ## Checks against sdde's numerics
#
# The geometric sum of exponential rounds is exactly exponential: sdde's stationary
# variance (Parseval on the transform) must equal the Lyapunov closed form (in units of
# the mean, `D = 1`, `a = κ`), and no threshold exists. For shifted-exponential rounds
# `q κ*(S)` stays of order 1 as `q → 0` (the κ* of the user's `η n h`).

# %%
law = delays.GeometricSum(base=delays.Exponential(scale=1.0), p=0.05)
assert critical_kappa(law) == math.inf
for kappa in (0.1, 2.0, 30.0):
    closed = float(var_x.subs({s: 1, a: kappa, D: 1}))
    numeric = stationary_variance(kappa, law)
    assert abs(numeric / closed - 1) < 1e-8, (kappa, numeric, closed)
    print(f"κ = {kappa:5}: Var x = {numeric:.10f} (closed form {closed:.10f})")

base = delays.shifted_exponential(mean=1.0, shift=0.5)
user_thresholds = []
for share in (1.0, 0.3, 0.1, 0.03, 0.01):
    user_thresholds.append(share * critical_kappa(delays.GeometricSum(base=base, p=share)))
print("q κ*(S), q = 1 … 0.01:", np.round(user_thresholds, 4))
assert all(2.0 < t < 3.0 for t in user_thresholds)

model = AsyncSGDModel(lr=0.05, cluster=Cluster(workers=16, delay=base),
                      spectrum=HessianSpectrum.parse("1"), noise=1.0)
ef = sparsified_model(model, Sparsifier("random", 0.1, error_feedback=True), dim=10)
assert abs(ef.equivalent.mean_delay - 10.0 * model.mean_delay) < 1e-12
assert abs(ef.equivalent.kappas[0] - model.kappas[0] / 0.1) < 1e-12
assert ef.equivalent.backlog == 0.1 and abs(ef.jump_factor - 1.9) < 1e-15
plain = sparsified_model(model, Sparsifier("random", 0.1), dim=10)
assert abs(plain.equivalent.kappas[0] - 0.1 * model.kappas[0]) < 1e-12
assert abs(plain.jump_factor - 10.0) < 1e-12
print("all checks passed")

# %% [markdown]
# # Exponential rounds, exact server: κ_ms = (1 + √(1 + 8n))/2 and κ_mean = 2n(2n − 1)
#
# **Model** (`theory/divergence.md` §3). One Hessian mode of the real server, counted in
# server updates. Worker `j` holds `y_j`, the parameter at its last pull; a push by worker
# `i` does
#
#     θ ← θ − a y_i + ε,    y_i ← θ,        a = η h = κ/n,   E ε = 0,   E ε² = s².
#
# With exponential (memoryless) round times the worker that pushes next is uniform over
# the `n` workers and independent of everything before, so one update is a random linear
# map chosen uniformly among `n`, applied to `x = (θ, y_1, …, y_n)`, plus noise.
#
# **Results.**
#
# 1. The worker-averaged second moments `P = Eθ²`, `Q = avg_j Eθy_j`, `R = avg_j Ey_j²`,
#    `S = avg_{j≠k} Ey_jy_k` evolve by a closed 4×4 map `M(a)` plus noise
#    `s²(1, 1/n, 1/n, 0)` (for any start, exchangeable or not).
# 2. `det(M − I) = −2a(na² − a − 2)/n³`; `ρ(M)` is an eigenvalue, so `E θ²` stays bounded
#    iff `n a² − a − 2 < 0`: **κ_ms = (1 + √(1 + 8n))/2**, i.e. `κ_ms(κ_ms − 1) = 2n`.
# 3. Stationary `E θ² = s²(an + 1)/(a(2 + a − na²))`; with the SDDE's noise intensity
#    `σ² = n s²` per mean round: `σ²(κ + 1)/(2κ) / (1 − κ(κ − 1)/(2n))`.
# 4. The mean `(Eθ, avg Ey_j)` has the 2×2 map `[[1, −a], [1/n, 1 − (1 + a)/n]]`, which
#    loses stability at `z = −1` when **a = 4n − 2** (`κ_mean = 2n(2n − 1)`, counted in
#    updates); it is exactly the heavy ball of `implicit_momentum.py`. In continuous time
#    `E θ(t)` converges for every κ.
# 5. The Poisson-driven SDDE approximation gives `κ(κ + 1) = 2n` instead (and
#    `3κ² + (2n + 4)κ − 8n = 0` for Erlang-2).
# 6. Check: the 4×4 map equals the exact average of the `(n + 1)×(n + 1)` second-moment
#    matrix over the pusher, for `n = 2, 3`, in exact rational arithmetic.

# %%
import math

import numpy as np
import sympy as sp

from sdde import Cluster, delays, symbolic
from sdde.model.kernels import DelayKernel
from sdde.stability.discrete import discrete_moments
from sdde.stability.mean_square import (
    exponential_moment_map,
    exponential_stationary_variance,
    exponential_threshold,
    mean_square_threshold,
    poisson_sdde_threshold,
)

a, n, s2 = sp.symbols("a n s2", positive=True)
kappa = symbolic.KAPPA
P, Q, R, S = sp.symbols("P Q R S")
theta, y_push, y_j, y_k, eps = sp.symbols("theta y_i y_j y_k epsilon")

# %% [markdown]
# ## 1. The second-moment map, from the update rule
#
# Follow two distinct workers `j ≠ k`. The pusher is `j` (probability `1/n`), `k` (`1/n`)
# or another worker `i` (`(n − 2)/n`); it is independent of the state, so each case's
# expectation uses the moments before the update. Averaged over workers, a product of
# the state's coordinates has expectation `θ² → P`, `θ y_· → Q`, `y_·² → R`,
# `y_· y_· (two different workers) → S`; the noise is independent with `E ε² = s²`.
# (Averaging over `j`, `k` after conditioning on the pusher is what makes the worker
# averages close for any start; §4 checks it on non-exchangeable starts.)

# %%
def expectation(expr: sp.Expr) -> sp.Expr:
    """E of a quadratic form in (θ, y_i, y_j, y_k, ε) in terms of P, Q, R, S, s²."""
    poly = sp.Poly(sp.expand(expr), theta, y_push, y_j, y_k, eps)
    ys = (y_push, y_j, y_k)
    out = sp.Integer(0)
    for monomial, coeff in poly.terms():
        powers = dict(zip((theta, y_push, y_j, y_k, eps), monomial, strict=True))
        if powers[eps] == 2:
            out += coeff * s2
        elif powers[eps] == 1:
            continue  # E ε · (state) = 0
        elif powers[theta] == 2:
            out += coeff * P
        elif powers[theta] == 1:
            out += coeff * Q
        elif any(powers[y] == 2 for y in ys):
            out += coeff * R
        else:
            out += coeff * S
    return out


cases = {"j": sp.Integer(1) / n, "k": sp.Integer(1) / n, "other": (n - 2) / n}
new = {"P": 0, "Q": 0, "R": 0, "S": 0}
for pusher, prob in cases.items():
    pushed = {"j": y_j, "k": y_k, "other": y_push}[pusher]
    theta_new = theta - a * pushed + eps
    yj_new = theta_new if pusher == "j" else y_j
    yk_new = theta_new if pusher == "k" else y_k
    new["P"] += prob * expectation(theta_new**2)
    new["Q"] += prob * expectation(theta_new * yj_new)
    new["R"] += prob * expectation(yj_new**2)
    new["S"] += prob * expectation(yj_new * yk_new)
moments = [P, Q, R, S]
step = sp.Matrix([sp.expand(new[name]) for name in "PQRS"])
M = step.jacobian(moments)
noise = step.subs({m: 0 for m in moments})
M = M.applyfunc(sp.factor)
print("M(a) =")
sp.pprint(M)
print("noise per update =", list(noise))
assert (noise - s2 * sp.Matrix([1, 1 / n, 1 / n, 0])).applyfunc(sp.cancel) == sp.zeros(4, 1)
p_new = P - 2 * a * Q + a**2 * R
expected = sp.Matrix([p_new,
                      p_new / n + (1 - 1 / n) * (Q - a * S),
                      p_new / n + (1 - 1 / n) * R,
                      2 * (Q - a * S) / n + (1 - 2 / n) * S])
assert (M * sp.Matrix(moments) - expected).applyfunc(sp.cancel) == sp.zeros(4, 1)

# %% [markdown]
# ## 2. det(M − I) and the mean-square threshold
#
# `M` maps the second-moment vectors of random states (worker averages of positive
# semidefinite matrices, a closed convex cone with interior) into themselves, so by the
# Krein–Rutman theorem its spectral radius `ρ(M)` is an eigenvalue. At `a = 0`, `M` is
# lower triangular with eigenvalues `1, 1 − 1/n, 1 − 1/n, 1 − 2/n` (the `1` is the
# constant state `θ = y_j`, left alone). For small `a > 0`,
# `det(M − I) = Π(λ − 1) ≈ 4a/n³ > 0` with three factors near `−1/n, −1/n, −2/n`, so the
# fourth eigenvalue is below 1: the mode is mean-square stable. `ρ(M)` can reach 1 only
# where 1 is an eigenvalue, i.e. at a root of `det(M − I)`.

# %%
det = sp.factor(sp.simplify((M - sp.eye(4)).det()))
print("det(M − I) =", det)
assert sp.simplify(det - (-2 * a * (n * a**2 - a - 2) / n**3)) == 0
lam = sp.Symbol("lambda")
at_zero = sp.factor((M.subs(a, 0) - lam * sp.eye(4)).det())
print("char. polynomial at a = 0:", at_zero)
assert sp.simplify(at_zero - (lam - 1) * (lam - 1 + 1 / n) ** 2 * (lam - 1 + 2 / n)) == 0
a_ms = next(r for r in sp.solve(n * a**2 - a - 2, a) if r.subs(n, 4) > 0)
kappa_ms = sp.simplify(n * a_ms)
print("a_ms =", a_ms, "  κ_ms = n a_ms =", kappa_ms)
assert sp.simplify(kappa_ms - (1 + sp.sqrt(1 + 8 * n)) / 2) == 0
assert sp.simplify(sp.expand(kappa_ms * (kappa_ms - 1) - 2 * n)) == 0
large_n = sp.series(kappa_ms, n, sp.oo, 2).removeO()
print("large n: κ_ms =", large_n, "+ O(n^(-5/2))")
assert sp.simplify(large_n - (sp.sqrt(2 * n) + sp.Rational(1, 2) + sp.sqrt(2) / (16 * sp.sqrt(n))
                              - sp.sqrt(2) / (512 * n**sp.Rational(3, 2)))) == 0

# %% [markdown]
# ## 3. The stationary second moment with gradient noise
#
# Below κ_ms the moments converge to `v = (I − M)^{−1} s² (1, 1/n, 1/n, 0)`. Between
# pushes nothing changes and the push times of `n` exponential workers form a Poisson
# process independent of the pusher sequence, so the time-stationary `E θ²` is the same
# as the one at update instants.

# %%
stationary = (sp.eye(4) - M).LUsolve(noise).applyfunc(sp.factor)
print("stationary (P, Q, R, S) =", list(stationary))
D = 2 + a - n * a**2
for got, want in zip(stationary, [a * n + 1, a + 1, a * n + 1, 1], strict=True):
    assert sp.simplify(got - s2 * want / (a * D)) == 0
sigma2 = sp.Symbol("sigma2", positive=True)  # σ² = n s² per mean round
p_kappa = sp.factor(stationary[0].subs({a: kappa / n, s2: sigma2 / n}))
print("E θ² (κ units) =", p_kappa)
assert sp.simplify(p_kappa - sigma2 * (kappa + 1) / (2 * kappa)
                   / (1 - kappa * (kappa - 1) / (2 * n))) == 0

# %% [markdown]
# ## 4. Brute force: the exact average over the pusher, n = 2, 3
#
# The `(n + 1)×(n + 1)` second-moment matrix `C = E[x xᵀ]` evolves exactly as
# `C' = (1/n) Σ_i (A_i C A_iᵀ + s² b_i b_iᵀ)`, `A_i` the update by worker `i` and
# `b_i = e_θ + e_{y_i}` where the noise enters. From a non-exchangeable rational start
# (`B Bᵀ`, `B` a fixed integer matrix), with `a` and `s²` symbolic, three updates of the
# full matrix must give the same worker averages as three steps of the 4×4 map.

# %%
def worker_averages(C: sp.Matrix, m: int) -> sp.Matrix:
    Y = C[1:, 1:]
    off = sum(Y[j, k] for j in range(m) for k in range(m) if j != k)
    return sp.Matrix([C[0, 0], sum(C[0, 1:]) / m, Y.trace() / m, off / (m * (m - 1))])


for m in (2, 3):
    updates, shocks = [], []
    for i in range(m):
        A = sp.eye(m + 1)
        row = sp.zeros(1, m + 1)
        row[0], row[1 + i] = 1, -a
        A[0, :] = row
        A[1 + i, :] = row
        b = sp.zeros(m + 1, 1)
        b[0] = b[1 + i] = 1
        updates.append(A)
        shocks.append(b * b.T)
    B = sp.Matrix(m + 1, m + 1, lambda r, c: (3 * r + 5 * c * c + r * c) % 7 - 3)
    C = B * B.T
    v = worker_averages(C, m)
    Mm, noise_m = M.subs(n, m), noise.subs(n, m)
    for _ in range(3):
        C = sum((A * C * A.T + s2 * sh for A, sh in zip(updates, shocks, strict=True)),
                sp.zeros(m + 1, m + 1)) / m
        v = Mm * v + noise_m
        assert (worker_averages(C, m) - v).applyfunc(sp.expand) == sp.zeros(4, 1), m
    print(f"n = {m}: three updates of the full {m + 1}×{m + 1} moment matrix agree with "
          "the 4×4 map exactly")

# %% [markdown]
# ## 5. The mean: a 2×2 map, threshold a = 4n − 2
#
# `E θ' = E θ − a avg_j E y_j` and `avg E y_j' = E θ'/n + (1 − 1/n) avg E y_j`. The
# characteristic polynomial `z² − (2 − (1 + a)/n) z + (1 − 1/n)` has `p(1) = a/n > 0` and
# root product `1 − 1/n < 1`, so the roots leave the unit disc only through `z = −1`:
# Schur–Cohn (`|a₀| < 1`, `|a₁| < 1 + a₀`) gives `0 < a < 4n − 2`. The same map is the heavy
# ball of `implicit_momentum.py` with `p = 1/n`: for exponential rounds the discrete
# recursion with the (geometric) staleness law is *exact* for the mean.
#
# In continuous time the number of updates by time `t` (mean rounds) is Poisson(`nt`),
# independent of the pushers, so `(Eθ, Ey)(t) = exp(nt(M₁ − I))(1, 1)`, and
# `n(M₁ − I) = [[0, −κ], [1, −1 − κ/n]]` has characteristic polynomial
# `z² + (1 + κ/n) z + κ`: Hurwitz for every κ (the SDDE's `z² + z + κ` plus a `κ/n`
# damping). The mean in time never diverges, like the SDDE's (κ* = ∞).

# %%
m_mean, u_mean, z = sp.symbols("m u z")
theta_new = m_mean - a * u_mean
mean_step = sp.Matrix([theta_new, theta_new / n + (1 - 1 / n) * u_mean])
M1 = mean_step.jacobian([m_mean, u_mean])
print("mean map M₁ =", M1.tolist())
char = sp.expand((z * sp.eye(2) - M1).det())
assert sp.simplify(char - (z**2 - (2 - (1 + a) / n) * z + (1 - 1 / n))) == 0
assert sp.simplify(char.subs(z, 1) - a / n) == 0
a_mean = sp.solve(char.subs(z, -1), a)[0]
print("mean threshold: a =", a_mean, "  κ_mean = n a =", sp.factor(n * a_mean))
assert sp.simplify(a_mean - (4 * n - 2)) == 0
generator = (n * (M1 - sp.eye(2))).subs(a, kappa / n).applyfunc(sp.simplify)
char_t = sp.expand((z * sp.eye(2) - generator).det())
print("continuous time: z² + (1 + κ/n) z + κ ⇒", char_t)
assert sp.simplify(char_t - (z**2 + (1 + kappa / n) * z + kappa)) == 0
# the heavy ball / geometric staleness recursion is the exact mean (n = 4, κ = 4 and 20)
for k_val in (4.0, 20.0):
    nn, aa = 4, k_val / 4
    q = (1 / nn) * (1 - 1 / nn) ** np.arange(600)
    recursion, _ = discrete_moments(aa, q, 80)
    M1_num = np.array(M1.subs({n: nn, a: aa}).tolist(), dtype=float)
    state, exact = np.ones(2), [1.0]
    for _ in range(80):
        state = M1_num @ state
        exact.append(state[0])
    assert np.max(np.abs(recursion - np.array(exact))) < 1e-10 * max(1.0, np.abs(exact).max())

# %% [markdown]
# ## 6. The Poisson-driven SDDE's approximation
#
# `theory/divergence.md` §4: `κ_ms` of the Poisson SDDE solves `κ² ‖G_κ‖² = n`, with
# `‖G_κ‖²` the SDDE's stationary variance at unit noise (`sdde.symbolic`). Exponential:
# `‖G‖² = (κ + 1)/(2κ)` ⇒ `κ(κ + 1) = 2n`, one below the exact `κ(κ − 1) = 2n`.
# Erlang-2: `‖G‖² = (3κ + 4)/(2κ(4 − κ))` ⇒ `3κ² + (2n + 4)κ − 8n = 0`.

# %%
sigma = symbolic.SIGMA
g_exp = symbolic.stationary_variance(symbolic.exponential()).subs(sigma, 1)
g_er2 = symbolic.stationary_variance(symbolic.erlang(2)).subs(sigma, 1)
eq_exp = sp.factor(sp.numer(sp.together(kappa**2 * g_exp - n)))
eq_er2 = sp.factor(sp.numer(sp.together(kappa**2 * g_er2 - n)))
print("exponential:", eq_exp, "= 0;   Erlang-2:", eq_er2, "= 0")
assert sp.simplify(eq_exp / (kappa * (kappa + 1) - 2 * n)) in (1, -1)
assert sp.simplify(eq_er2 / (3 * kappa**2 + (2 * n + 4) * kappa - 8 * n)) in (1, -1)

# %% [markdown]
# ## 7. Against sdde's numerics
#
# `sdde.stability.mean_square`: the 4×4 map to 1e-15, the closed-form threshold and the
# stationary variance to 1e-9; `ρ(M)` is a real eigenvalue, below 1 just under κ_ms and
# above 1 just over it; the Poisson-SDDE root finder against the two quadratics (1e-9
# for Erlang-2; 1e-5 for the exponential, whose `κ* = ∞` leaves a slowly decaying integrand).

# %%
M_num = sp.lambdify((a, n), M, "numpy")
for nn in (2, 3, 4, 8, 16, 64, 256):
    k_ms = float(kappa_ms.subs(n, nn))
    assert abs(exponential_threshold(nn) / k_ms - 1) < 1e-12
    assert math.isclose(k_ms * (k_ms - 1), 2 * nn, rel_tol=1e-12)
    for factor in (0.5, 1 - 1e-6, 1 + 1e-6, 1.5):
        aa = factor * k_ms / nn
        mat = np.array(M_num(aa, nn), dtype=float)
        assert np.max(np.abs(mat - exponential_moment_map(aa, nn))) < 1e-15
        eig = np.linalg.eigvals(mat)
        top = eig[np.argmax(np.abs(eig))]
        assert abs(top.imag) < 1e-12 and top.real > 0
        assert (abs(top) < 1) == (factor < 1), (nn, factor, abs(top))
        want = float(p_kappa.subs({kappa: factor * k_ms, n: nn, sigma2: 1}))
        got = exponential_stationary_variance(factor * k_ms, nn, 1.0)
        if factor < 1:
            assert abs(got / want - 1) < 1e-9, (nn, factor, got, want)
        else:
            assert got == math.inf
    exp_cluster = Cluster(workers=nn, delay=delays.parse("exponential:mean=1"))
    assert mean_square_threshold(exp_cluster).kappa == exponential_threshold(nn)
    sdde_exp = (math.sqrt(1 + 8 * nn) - 1) / 2
    sdde_er2 = float(max(sp.solve(eq_er2.subs(n, nn), kappa)))
    got_er2 = poisson_sdde_threshold(DelayKernel(delays.parse("gamma:shape=2,mean=1")), nn)
    assert abs(got_er2 / sdde_er2 - 1) < 1e-9, (nn, got_er2, sdde_er2)
    if nn in (2, 16, 256):  # κ* = ∞: the quadrature's far tail limits it to about 1e-6
        got_exp = poisson_sdde_threshold(DelayKernel(delays.parse("exponential:mean=1")), nn)
        assert abs(got_exp / sdde_exp - 1) < 1e-5, (nn, got_exp, sdde_exp)
    print(f"n = {nn:3d}: κ_ms = {k_ms:.6f} (exact server), Poisson SDDE {sdde_exp:.6f} "
          f"(exponential), {sdde_er2:.6f} (Erlang-2); κ_mean = {2 * nn * (2 * nn - 1)}")
# n = 1 (θ ← (1 − κ)θ, κ = 2) and the integer cases κ(κ − 1) = 2n: n = 3, 6
assert [exponential_threshold(k) for k in (1, 3, 6)] == [2.0, 3.0, 4.0]
print("all checks passed")

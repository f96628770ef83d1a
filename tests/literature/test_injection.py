"""Delay injection (sdde.literature.injection): uniformly stale SGD, simulated and predicted.

Independent answers: plain gradient descent written out (K = 0); the exact mean of the
discrete recursion against the replica mean (staleness values are independent here, so the
mean recursion is exact; 5 standard errors, false-failure rate ~6e-7 per comparison).
The predicted loss omits the variance the random staleness adds itself; the measured
agreement is stated where it is tested.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from sdde.literature.injection import (
    default_target,
    discrete_threshold,
    injected_weights,
    injection_kernel,
    injection_threshold,
    iterations_to_target,
    predicted_loss,
    predicted_moments,
    relative_iterations,
    simulate_injected,
    simulated_relative_iterations,
)
from sdde.literature.linearization import LinearizedObjective, linearize, logistic_example
from sdde.simulator.objectives import QuadraticObjective

NOISY = QuadraticObjective(curvatures=[0.1, 1.0], noise=[0.5, 0.5])


def test_no_staleness_is_plain_sgd() -> None:
    f = QuadraticObjective(curvatures=[0.3, 2.0])
    run = simulate_injected(f, lr=0.2, max_staleness=0, n_updates=30,
                            rng=np.random.default_rng(0), replicas=2)
    expected = np.array([(1 - 0.2 * f.curvatures) ** t for t in range(31)])
    assert np.allclose(run.theta[0], expected, rtol=1e-13)
    assert np.allclose(run.theta[1], expected, rtol=1e-13)


@pytest.mark.parametrize("max_staleness", [3, 12])
def test_replica_mean_is_the_discrete_recursion(max_staleness: int) -> None:
    f = QuadraticObjective(curvatures=[0.5, 2.0])
    run = simulate_injected(f, lr=0.05, max_staleness=max_staleness, n_updates=120,
                            rng=np.random.default_rng(4), replicas=3000)
    mean, _ = predicted_moments(f, lr=0.05, max_staleness=max_staleness, n_updates=120)
    for t in (5, 20, 60, 120):
        sim = run.theta[:, t, :]
        se = sim.std(axis=0, ddof=1) / np.sqrt(sim.shape[0])
        assert np.all(np.abs(sim.mean(axis=0) - mean[t]) <= 5 * se + 1e-15), t


@pytest.mark.parametrize("max_staleness", [0, 4, 16, 32])
def test_predicted_loss_and_iterations_to_target(max_staleness: int) -> None:
    # measured accuracy of the additive-noise prediction (400 replicas): the stationary
    # loss within 5 % and the iterations to loss 0.05 within 12 % (here 38 vs 42 at worst)
    run = simulate_injected(NOISY, lr=0.05, max_staleness=max_staleness, n_updates=2000,
                            rng=np.random.default_rng(1), replicas=400)
    simulated = run.loss.mean(axis=0)
    predicted = predicted_loss(NOISY, lr=0.05, max_staleness=max_staleness, n_updates=2000)
    assert predicted[-500:].mean() / simulated[-500:].mean() == pytest.approx(1.0, abs=0.05)
    assert iterations_to_target(predicted, 0.05) == pytest.approx(
        iterations_to_target(simulated, 0.05), rel=0.12)


def test_relative_iterations() -> None:
    assert relative_iterations(NOISY, lr=0.05, max_staleness=0, target=0.05,
                               n_updates=2000) == 1.0
    # moderate staleness first helps (an overshoot that acts like momentum), then hurts
    ratios = [relative_iterations(NOISY, lr=0.05, max_staleness=k, target=0.05,
                                  n_updates=2000) for k in (16, 64)]
    assert ratios[0] < 1.0 < ratios[1]
    with pytest.raises(ValueError, match="does not reach the target"):
        relative_iterations(NOISY, lr=0.05, max_staleness=4, target=1e-4, n_updates=2000)


@given(k=st.integers(0, 500))
def test_weights_are_a_uniform_law(k: int) -> None:
    q = injected_weights(k)
    assert q.size == k + 1 and q.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(q == q[0])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_staleness": -1}, "max_staleness"),
    ({"max_staleness": 1.5}, "max_staleness"),
    ({"lr": 0.0}, "lr must"),
    ({"n_updates": 0}, "n_updates"),
    ({"replicas": 0}, "replicas"),
])
def test_bad_input(kwargs: dict, message: str) -> None:
    args = {"lr": 0.1, "max_staleness": 2, "n_updates": 10, "replicas": 1} | kwargs
    with pytest.raises(ValueError, match=message):
        simulate_injected(NOISY, rng=np.random.default_rng(0), **args)


# ------------------------------------------------------------- the non-quadratic task
@pytest.fixture(scope="module")
def logistic() -> LinearizedObjective:
    return linearize(logistic_example(), rng=np.random.default_rng(0))


def test_linearize_is_the_quadratic_model(logistic: LinearizedObjective) -> None:
    task = logistic.objective
    h = logistic.quadratic.curvatures
    # θ* is a minimiser and H(θ*) = V diag(h) Vᵀ
    assert np.linalg.norm(task.gradient(logistic.theta_star)) < 1e-7
    hess = task.hessian(logistic.theta_star)
    assert np.allclose(logistic.modes @ np.diag(h) @ logistic.modes.T, hess, atol=1e-12)
    # second-order Taylor: f(θ* + δ) − f* = ½ Σ h x² + O(|δ|³)
    delta = 1e-3 * np.random.default_rng(1).standard_normal(task.dim)
    x = logistic.coordinates(logistic.theta_star + delta)
    excess = task.loss(logistic.theta_star + delta) - logistic.f_star
    assert excess == pytest.approx(0.5 * float(h @ (x * x)), rel=1e-3)
    # the ridge-only modes (a constant added to every class's score) carry no noise
    c = logistic.quadratic.noise
    assert np.all(c[np.isclose(h, task.l2)] < 1e-20)
    assert np.all(c[~np.isclose(h, task.l2)] > 0)


def test_linearized_prediction_matches_the_quadratic_one(logistic: LinearizedObjective) -> None:
    # predicted_loss of a LinearizedObjective is predicted_loss of its quadratic, started
    # at the modes' coordinates
    theta0 = np.zeros(logistic.objective.dim)
    mine = predicted_loss(logistic, lr=0.25, max_staleness=4, n_updates=50, theta0=theta0)
    theirs = predicted_loss(logistic.quadratic, lr=0.25, max_staleness=4, n_updates=50,
                            theta0=logistic.coordinates(theta0))
    assert np.array_equal(mine, theirs)


def test_generic_oracle_path_written_out() -> None:
    # an oracle known only through the GradientOracle protocol runs the loop; without
    # noise it draws only the staleness, one value per update: the recursion written out
    class Plain:
        dim = 2
        h = np.array([0.3, 2.0])

        def loss(self, theta: np.ndarray) -> float:
            return float(0.5 * self.h @ (theta * theta))

        def stochastic_gradient(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            return self.h * theta

    for k in (0, 3):
        run = simulate_injected(Plain(), lr=0.2, max_staleness=k, n_updates=25,
                                rng=np.random.default_rng(5), theta0=[1.0, -2.0])
        rng = np.random.default_rng(5)
        path = [np.array([1.0, -2.0])]
        for t in range(25):
            lag = int(rng.integers(0, k + 1))
            path.append(path[t] - 0.2 * Plain.h * path[max(t - lag, 0)])
        assert np.allclose(run.theta[0], path, rtol=1e-14, atol=0)
        assert np.allclose(run.loss[0], [Plain().loss(p) for p in path], rtol=1e-14)


# ----------------------------------------------------- simulated vs predicted, both tasks
# Tolerance: |predicted − simulated| <= 3 standard errors of the simulated ratio (bootstrap
# over replicas; false-failure rate ~0.3 % per comparison if the model were exact) plus a
# model error: the predicted loss leaves out the variance the random staleness adds (the
# quadratic: 0.1, as test_predicted_loss_and_iterations_to_target measured 12 % on the
# iterations) and, for logistic regression, the non-quadratic loss (plain SGD reaches the
# target after 22 updates where the linearisation says 24: 0.15).
@pytest.mark.parametrize("max_staleness", [0, 4, 16])
def test_relative_iterations_quadratic_simulated(max_staleness: int) -> None:
    # measured (400 replicas): K = 4: 0.93 predicted, 0.98 ± 0.04 simulated;
    # K = 16: 0.68 and 0.73 ± 0.06
    rng = np.random.default_rng(11)
    sim = simulated_relative_iterations(NOISY, lr=0.05, max_staleness=max_staleness,
                                        target=0.05, n_updates=200, rng=rng, replicas=400)
    pred = relative_iterations(NOISY, lr=0.05, max_staleness=max_staleness, target=0.05,
                               n_updates=2000)
    assert abs(pred - sim.value) <= 3 * sim.stderr + 0.1, (pred, sim)


@pytest.mark.parametrize("max_staleness", [0, 4, 16])
def test_relative_iterations_logistic_simulated(logistic: LinearizedObjective,
                                                max_staleness: int) -> None:
    # measured (30 replicas, from θ = 0, η = 0.25, target 0.0044): K = 4: 0.875
    # predicted, 0.82 ± 0.02 simulated; K = 16: 0.625 and 0.59 ± 0.10
    theta0 = np.zeros(logistic.objective.dim)
    target = default_target(logistic, lr=0.25, n_updates=1500, theta0=theta0)
    sim = simulated_relative_iterations(logistic, lr=0.25, max_staleness=max_staleness,
                                        target=target, n_updates=150, replicas=30,
                                        rng=np.random.default_rng(12), theta0=theta0)
    pred = relative_iterations(logistic, lr=0.25, max_staleness=max_staleness, target=target,
                               n_updates=1500, theta0=theta0)
    assert abs(pred - sim.value) <= 3 * sim.stderr + 0.15, (pred, sim)


# ------------------------------------------------------------------ the SDDE kernel
def test_injection_kernel_is_the_uniform_mixture_of_atoms() -> None:
    # transform against the closed geometric sum Σ_s e^{−z(s + ½)} / (K + 1), in units
    # of the mean (K/2 + ½)
    for k in (1, 4, 16):
        kernel = injection_kernel(k)
        mean = k / 2 + 0.5
        z = np.array([0.3 + 0.7j, 2j, 1.5 - 0.2j])
        w = z / mean  # the delays s + ½ in units of the mean
        closed = np.exp(-w / 2) * (1 - np.exp(-w * (k + 1))) / ((k + 1) * (1 - np.exp(-w)))
        assert np.allclose(kernel.transform(z), closed, atol=1e-13)
    assert injection_kernel(0).point_delay
    with pytest.raises(ValueError, match="offset"):
        injection_kernel(3, offset=0.0)


def test_large_k_threshold_is_the_uniform_closed_form() -> None:
    # uniform on [0, 2] (the normalised limit law): φ(z) = (1 − e^{−2z}) / (2z), whose
    # threshold sympy derives as κ* = π²/4; the atoms' threshold approaches it
    from sdde import symbolic

    assert symbolic.critical_kappa(symbolic.uniform(1)).kappa == sympy.pi**2 / 4
    for k, tol in ((16, 2e-3), (64, 1.5e-4)):
        assert injection_threshold(k) == pytest.approx(math.pi**2 / (2 * (k + 1)), rel=tol)


@pytest.mark.parametrize(("max_staleness", "gap"), [(4, 1.664e-2), (16, 1.424e-3),
                                                    (64, 9.734e-5)])
def test_threshold_converges_to_the_discrete_one(max_staleness: int, gap: float) -> None:
    # measured relative gaps, ≈ π² / (24 (K + 1)²): O(1/K²) with the midpoint offset ½
    sdde_value = injection_threshold(max_staleness)
    exact = discrete_threshold(max_staleness)
    assert sdde_value / exact - 1 == pytest.approx(gap, rel=0.01)
    assert sdde_value / exact - 1 == pytest.approx(
        math.pi**2 / (24 * (max_staleness + 1) ** 2), rel=0.02)
    # the literal mapping (delay s, the fresh gradient at ~0) is off by O(1/K)
    literal = injection_threshold(max_staleness, offset=1e-9) / exact - 1
    assert 1.0 / max_staleness < literal < 3.0 / max_staleness


def test_small_k_gaps() -> None:
    # the continuous model is off for few atoms: K = 0 (plain GD, α* = 2) gives π
    assert discrete_threshold(0) == 2.0
    assert injection_threshold(0) == pytest.approx(math.pi, rel=1e-12)
    # K = 1, both in closed form: z² + (α/2 − 1) z + α/2 is Schur stable iff α < 2
    # (Schur–Cohn), and the kernel ½(δ_{1/2} + δ_{3/2}) crosses at ω = π/2 (cos ω = 0),
    # κ* = −ω / Im φ(iω) = π/√2
    assert discrete_threshold(1) == pytest.approx(2.0, rel=1e-12)
    assert injection_threshold(1) == pytest.approx(math.pi / math.sqrt(2.0), rel=1e-12)

"""Delay injection (sdde.injection): uniformly stale SGD, simulated and predicted.

Independent answers: plain gradient descent written out (K = 0); the exact mean of the
discrete recursion against the replica mean (staleness values are independent here, so the
mean recursion is exact; 5 standard errors, false-failure rate ~6e-7 per comparison).
The predicted loss omits the variance the random staleness adds itself; the measured
agreement is stated where it is tested.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdde.injection import (
    injected_weights,
    iterations_to_target,
    predicted_loss,
    predicted_moments,
    relative_iterations,
    simulate_injected,
)
from sdde.objectives import QuadraticObjective

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

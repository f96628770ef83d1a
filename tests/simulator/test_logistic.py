"""Multinomial logistic regression (sdde.simulator.logistic): checked against independent answers.

Expected values come from outside the class: central finite differences of the loss and
of the gradient, an analytic Hessian written here from the textbook formula, log K at
θ = 0, the law of large numbers / CLT for the minibatch mean, plain gradient descent on
the digits, and the simulator's own status and loss record. Seeds are fixed.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

import sdde
from sdde.cluster.cluster import Cluster
from sdde.simulator import logistic
from sdde.simulator.logistic import LogisticRegressionObjective
from sdde.simulator.objectives import GradientOracle
from sdde.simulator.server import run

EPS = np.finfo(np.float64).eps


def small(m: int = 50, p: int = 4, k: int = 3, *, seed: int = 0, batch_size: int = 5,
          l2: float = 0.1) -> LogisticRegressionObjective:
    """A small random problem: standard-normal features, uniform labels."""
    gen = np.random.default_rng(seed)
    return LogisticRegressionObjective(features=gen.standard_normal((m, p)),
                                       labels=gen.integers(0, k, size=m), n_classes=k,
                                       batch_size=batch_size, l2=l2)


def central_difference(f, theta: np.ndarray, step: float) -> np.ndarray:
    """∂f/∂θ_j ≈ (f(θ + s e_j) − f(θ − s e_j)) / 2s, column by column (f may be vector)."""
    cols = []
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = step
        cols.append((np.asarray(f(theta + e)) - np.asarray(f(theta - e))) / (2.0 * step))
    return np.stack(cols, axis=-1)


def analytic_hessian(obj: LogisticRegressionObjective, theta: np.ndarray) -> np.ndarray:
    """(1/m) Σ_i (x̃ x̃ᵀ) ⊗ (diag π − π πᵀ) + l2 I, written from the textbook formula."""
    x = np.hstack([obj.features, np.ones((obj.n_samples, 1))])
    w = theta.reshape(x.shape[1], obj.n_classes)
    h = np.zeros((obj.dim, obj.dim))
    for xi in x:
        z = xi @ w
        pi = np.exp(z - z.max())
        pi /= pi.sum()
        h += np.kron(np.outer(xi, xi), np.diag(pi) - np.outer(pi, pi))
    return h / obj.n_samples + obj.l2 * np.eye(obj.dim)


# ----------------------------------------------------------------- the oracle's maths


def test_is_a_gradient_oracle() -> None:
    obj = small()
    assert isinstance(obj, GradientOracle)
    assert obj.dim == (4 + 1) * 3


def test_exported_like_quadratic_objective() -> None:
    assert sdde.LogisticRegressionObjective is LogisticRegressionObjective
    assert "LogisticRegressionObjective" in sdde.__all__


def test_gradient_matches_central_differences(rng: np.random.Generator) -> None:
    """Step 1e-6: truncation ~ s² |f'''| / 6 ~ 1e-13, rounding ~ eps |f| / s ~ 1e-9 (|f| ~ 2),
    so a tolerance of 1e-6 · ‖g‖∞ (‖g‖∞ ~ 0.1-1) leaves a margin of >= 100×."""
    obj = small()
    for _ in range(3):
        theta = 0.5 * rng.standard_normal(obj.dim)
        exact = obj.gradient(theta)
        fd = central_difference(obj.loss, theta, 1e-6)
        assert np.max(np.abs(fd - exact)) <= 1e-6 * np.max(np.abs(exact))


def test_stochastic_gradient_is_unbiased(rng: np.random.Generator) -> None:
    """The mean of N = 20000 minibatch gradients (batch 5 of 50) is the full gradient.

    Draws are i.i.d., so each coordinate's mean error is ~ N(0, σ²/N) (CLT): require
    |mean − exact| < 5 σ̂/√N for all 15 coordinates. A two-sided 5σ excursion has
    probability 5.7e-7, so by the union bound a false alarm over 15 coordinates has
    probability < 1e-5, while a bias of a few σ/√N (~1e-3 of the gradient) is caught."""
    obj = small()
    theta = 0.5 * rng.standard_normal(obj.dim)
    n = 20_000
    draws = np.stack([obj.stochastic_gradient(theta, rng) for _ in range(n)])
    sigma = draws.std(axis=0, ddof=1)
    assert np.all(sigma > 0)
    assert np.all(np.abs(draws.mean(axis=0) - obj.gradient(theta)) < 5.0 * sigma / math.sqrt(n))


def test_full_batch_stochastic_gradient_is_the_gradient(rng: np.random.Generator) -> None:
    """batch_size == m without replacement draws every row once: only the summation order
    differs, so agreement is to rounding (a few eps × the largest term)."""
    obj = small(batch_size=50)
    theta = 0.5 * rng.standard_normal(obj.dim)
    g = obj.gradient(theta)
    for _ in range(5):
        assert np.allclose(obj.stochastic_gradient(theta, rng), g, rtol=0, atol=1e-13)


def test_minibatch_rows_are_drawn_without_replacement() -> None:
    """The documented draw: rng.choice(m, batch_size, replace=False) (same stream ⇒ same
    gradient as computed by hand on those rows)."""
    obj = small(batch_size=7)
    theta = np.linspace(-1.0, 1.0, obj.dim)
    rows = np.random.default_rng(3).choice(obj.n_samples, 7, replace=False)
    sub = LogisticRegressionObjective(features=obj.features[rows], labels=obj.labels[rows],
                                      n_classes=3, batch_size=7, l2=obj.l2)
    got = obj.stochastic_gradient(theta, np.random.default_rng(3))
    assert np.allclose(got, sub.gradient(theta), rtol=0, atol=1e-14)


@pytest.mark.parametrize("k", [2, 3, 10])
def test_loss_at_zero_is_log_k(k: int) -> None:
    """All scores 0 ⇒ each row's cross-entropy is log K (the ridge term is 0). Exact in
    exact arithmetic; the mean of m equal terms may round by an ulp or two."""
    obj = small(k=k)
    assert math.isclose(obj.loss(np.zeros(obj.dim)), math.log(k), rel_tol=4 * EPS)


def test_loss_adds_the_ridge_on_every_parameter() -> None:
    """l2 changes the loss by ½ Δl2 ‖θ‖², biases included (documented choice)."""
    a, b = small(l2=0.0), small(l2=0.3)
    theta = np.linspace(-1.0, 1.0, a.dim)
    assert math.isclose(b.loss(theta) - a.loss(theta), 0.15 * float(theta @ theta),
                        rel_tol=1e-12)


def test_accuracy_counts_argmax_hits() -> None:
    # one feature; class 1 scores x, class 0 scores 0 ⇒ predict 1 iff x > 0
    obj = LogisticRegressionObjective(features=np.array([[-1.0], [2.0], [3.0], [-4.0]]),
                                      labels=np.array([0, 1, 0, 0]), n_classes=2,
                                      batch_size=1)
    theta = np.array([[0.0, 1.0], [0.0, 0.0]]).ravel()  # rows: feature, bias
    assert obj.accuracy(theta) == 0.75


def test_hessian_formula_matches_differences_of_the_gradient(rng: np.random.Generator) -> None:
    """The analytic Hessian used below is itself checked against finite differences of
    ``gradient`` (step 1e-5: error ~ eps/s + s² ~ 1e-10)."""
    obj = small()
    theta = 0.5 * rng.standard_normal(obj.dim)
    fd = central_difference(obj.gradient, theta, 1e-5)
    assert np.allclose(fd, analytic_hessian(obj, theta), rtol=0, atol=1e-8)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_hessian_method_matches_differences_and_the_formula(k: int,
                                                            rng: np.random.Generator) -> None:
    """``hessian`` against central differences of ``gradient`` (independent; step 1e-5,
    error ~ eps/s + s² ~ 1e-10) and the Kronecker formula written out in this file."""
    obj = small(k=k)
    theta = 0.5 * rng.standard_normal(obj.dim)
    hess = obj.hessian(theta)
    assert hess.shape == (obj.dim, obj.dim)
    assert np.array_equal(hess, hess.T)
    assert np.allclose(hess, central_difference(obj.gradient, theta, 1e-5), rtol=0, atol=1e-8)
    assert np.allclose(hess, analytic_hessian(obj, theta), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_lipschitz_bound_bounds_the_hessian(k: int, rng: np.random.Generator) -> None:
    obj = small(k=k)
    bound = obj.lipschitz_bound()
    for scale in (0.0, 0.3, 1.0, 3.0):
        theta = scale * rng.standard_normal(obj.dim)
        top = np.linalg.eigvalsh(analytic_hessian(obj, theta)).max()
        assert top <= bound * (1 + 1e-9)
    if k == 2:
        # at θ = 0 with two classes, diag π − ππᵀ has top eigenvalue exactly ½: tight
        top0 = np.linalg.eigvalsh(analytic_hessian(obj, np.zeros(obj.dim))).max()
        assert math.isclose(top0, bound, rel_tol=1e-12)


# ----------------------------------------------------------------------- the digits


def test_digits_loads_and_gradient_descent_learns() -> None:
    """Plain GD with lr = 1/L (L = lipschitz_bound ≈ 3.67) for 200 steps reaches loss ≈ 0.121
    and training accuracy ≈ 0.980 (measured); thresholds 0.2 and 0.95 leave margin for
    BLAS/platform rounding while still failing if the gradient or the scaling is wrong
    (a wrong sign diverges; unscaled pixels learn far more slowly)."""
    obj = LogisticRegressionObjective.digits()
    assert obj.dim == 65 * 10
    assert obj.n_samples == 1797
    assert obj.batch_size == 32
    # standardised columns: mean 0, sd 1, the 3 constant columns at 0
    sd = obj.features.std(axis=0)
    assert np.allclose(obj.features.mean(axis=0), 0.0, atol=1e-12)
    assert np.sum(sd == 0.0) == 3
    assert np.allclose(sd[sd > 0], 1.0)
    lr = 1.0 / obj.lipschitz_bound()
    theta = np.zeros(obj.dim)
    losses = [obj.loss(theta)]
    assert math.isclose(losses[0], math.log(10), rel_tol=4 * EPS)
    for _ in range(200):
        theta = theta - lr * obj.gradient(theta)
        losses.append(obj.loss(theta))
    # lr <= 1/L: the descent lemma makes every step decrease the loss
    assert np.all(np.diff(losses) < 0)
    assert losses[-1] < 0.2
    assert obj.accuracy(theta) > 0.95


def test_digits_unstandardised_pixels_in_unit_interval() -> None:
    obj = LogisticRegressionObjective.digits(standardize=False, batch_size=8, l2=0.0)
    assert obj.features.min() == 0.0
    assert obj.features.max() == 1.0
    assert (obj.batch_size, obj.l2) == (8, 0.0)


def test_digits_without_scikit_learn(monkeypatch: pytest.MonkeyPatch) -> None:
    logistic._digits_arrays.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import now fails
    try:
        with pytest.raises(ImportError, match=r"pip install 'sdde\[datasets\]'"):
            LogisticRegressionObjective.digits()
    finally:
        logistic._digits_arrays.cache_clear()


def test_async_sgd_on_digits_with_the_simulator() -> None:
    """4 workers (staleness ~3), lr = 1/L, 300 updates of batch-32 gradients: the recorded
    loss starts at log 10 and ends near 0.10 (measured over seeds 0-4: 0.099-0.103)."""
    obj = LogisticRegressionObjective.digits()
    res = run(Cluster(workers=4), obj, lr=1.0 / obj.lipschitz_bound(), n_updates=300,
              rng=np.random.default_rng(0), theta0=0.0, record_every=50)
    assert res.status == ("finished",)
    loss = res.loss[0]
    assert loss.shape == (7,)
    assert math.isclose(loss[0], math.log(10), rel_tol=4 * EPS)
    assert np.all(np.isfinite(loss))
    assert loss[-1] < 0.3
    assert round(float(res.observed_staleness().mean())) == 3  # n − 1


# ---------------------------------------------------------------------- bad input


GOOD = {"features": np.zeros((4, 2)), "labels": np.array([0, 1, 2, 0]), "n_classes": 3}


@pytest.mark.parametrize(("change", "message"), [
    ({"features": np.zeros(4)}, "features must be a 2-D array"),
    ({"features": np.zeros((0, 2))}, "features must be a 2-D array"),
    ({"features": np.zeros((4, 0))}, "features must be a 2-D array"),
    ({"features": np.array([[0.0, np.nan]] * 4)}, "features must be finite"),
    ({"labels": np.array([0, 1, 2])}, "one label per feature row"),
    ({"labels": np.array([[0, 1, 2, 0]])}, "one label per feature row"),
    ({"labels": np.array([0.0, 1.0, 2.0, 0.0])}, "labels must be integers"),
    ({"labels": np.array([0, 1, 3, 0])}, r"labels must lie in 0 \.\. n_classes − 1 = 2"),
    ({"labels": np.array([0, -1, 2, 0])}, "labels must lie in"),
    ({"n_classes": 1}, "n_classes must be a whole number >= 2"),
    ({"n_classes": 3.0}, "n_classes must be a whole number >= 2"),
    ({"n_classes": True}, "n_classes must be a whole number >= 2"),
    ({"batch_size": 0}, r"batch_size must be a whole number in 1 \.\. m = 4"),
    ({"batch_size": 5}, r"batch_size must be a whole number in 1 \.\. m = 4"),
    ({"batch_size": 2.0}, "batch_size must be a whole number"),
    ({"batch_size": True}, "batch_size must be a whole number"),
    ({"l2": -1e-3}, "l2 must be a finite number >= 0"),
    ({"l2": math.inf}, "l2 must be a finite number >= 0"),
    ({"l2": math.nan}, "l2 must be a finite number >= 0"),
    ({"l2": "0.1"}, "l2 must be a finite number >= 0"),
])
def test_bad_input(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LogisticRegressionObjective(**{**GOOD, "batch_size": 2, **change})


def test_bad_theta_shape() -> None:
    obj = LogisticRegressionObjective(**GOOD, batch_size=2)
    for method in (obj.loss, obj.gradient, obj.accuracy):
        with pytest.raises(ValueError, match=r"theta must have shape \(9,\)"):
            method(np.zeros(8))
    with pytest.raises(ValueError, match="theta must have shape"):
        obj.stochastic_gradient(np.zeros((3, 3)), np.random.default_rng(0))


def test_inputs_are_copied_not_frozen_in_place() -> None:
    x = np.zeros((4, 2))
    y = np.array([0, 1, 2, 0])
    obj = LogisticRegressionObjective(features=x, labels=y, n_classes=3, batch_size=2)
    assert x.flags.writeable and y.flags.writeable
    x[0, 0] = 5.0
    assert obj.features[0, 0] == 0.0
    assert not obj.features.flags.writeable

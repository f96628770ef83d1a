"""Hypothesis invariants of the logistic-regression oracle (sdde.simulator.logistic) over random
small problems (derandomised, so every run draws the same examples).

Structural answers, no oracle: the loss is convex, and its second difference along any
line is at most ``s² · L · ‖v‖²`` with ``L = lipschitz_bound()`` (Taylor with the
Hessian bound); a full batch drawn without replacement is the whole data set; softmax
ignores a score shift common to all classes, so with ``l2 = 0`` adding ``a 1ᵀ`` to the
weight matrix changes neither the loss nor the gradient.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde.simulator.logistic import LogisticRegressionObjective

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


@st.composite
def problems(draw, l2: st.SearchStrategy[float] | None = None):
    """A random problem (m <= 20, p <= 4, K <= 4), a point θ and a direction v."""
    m = draw(st.integers(1, 20))
    p = draw(st.integers(1, 4))
    k = draw(st.integers(2, 4))
    scale = draw(st.floats(0.1, 5.0))
    gen = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    obj = LogisticRegressionObjective(
        features=scale * gen.standard_normal((m, p)), labels=gen.integers(0, k, size=m),
        n_classes=k, batch_size=m,
        l2=draw(l2 if l2 is not None else st.floats(0.0, 1.0)))
    theta = draw(st.floats(0.0, 3.0)) * gen.standard_normal(obj.dim)
    direction = gen.standard_normal(obj.dim)
    return obj, theta, direction


@SETTINGS
@given(problems(), st.floats(1e-3, 2.0))
def test_second_difference_between_zero_and_the_bound(case, step: float) -> None:
    """0 <= f(θ+sv) − 2f(θ) + f(θ−sv) <= s² L ‖v‖² (convexity; H ⪯ L I). Each loss is
    rounded by a few eps × (|f| + the largest |score|, which the log-sum-exp cancels):
    16 eps × that is allowed on both sides."""
    obj, theta, v = case
    points = [theta + c * step * v for c in (1.0, 0.0, -1.0)]
    values = [obj.loss(x) for x in points]
    second = values[0] - 2.0 * values[1] + values[2]
    design = np.hstack([obj.features, np.ones((obj.n_samples, 1))])
    scores = max(float(np.abs(design @ x.reshape(-1, obj.n_classes)).max()) for x in points)
    slack = 16.0 * np.finfo(np.float64).eps * (max(abs(x) for x in values) + scores)
    assert second >= -slack
    assert second <= step**2 * obj.lipschitz_bound() * float(v @ v) * (1 + 1e-9) + slack


@SETTINGS
@given(problems(), st.integers(0, 2**32 - 1))
def test_full_batch_equals_gradient(case, seed: int) -> None:
    """batch_size == m: the minibatch is a permutation of the rows; sums agree to
    rounding (m · eps × the size of the terms)."""
    obj, theta, _ = case
    g = obj.gradient(theta)
    sg = obj.stochastic_gradient(theta, np.random.default_rng(seed))
    terms = np.abs(np.hstack([obj.features, np.ones((obj.n_samples, 1))])).max() \
        + obj.l2 * np.abs(theta).max()
    assert np.allclose(sg, g, rtol=0, atol=64 * np.finfo(np.float64).eps * terms)


@SETTINGS
@given(problems(l2=st.just(0.0)))
def test_common_class_shift_changes_nothing_without_ridge(case) -> None:
    """W → W + a 1ᵀ adds x̃·a to every class's score: softmax, hence loss and gradient,
    unchanged (rounding grows with the size of the scores)."""
    obj, theta, v = case
    k = obj.n_classes
    a = v[: obj.dim // k]  # one shift per row of W
    shifted = (theta.reshape(-1, k) + a[:, None]).ravel()
    size = 1.0 + np.abs(obj.features).max() * (np.abs(theta).max() + np.abs(a).max())
    tol = 1e3 * np.finfo(np.float64).eps * size
    assert abs(obj.loss(shifted) - obj.loss(theta)) <= tol
    assert np.allclose(obj.gradient(shifted), obj.gradient(theta), rtol=0, atol=tol)

"""Gradient noise along directions against a direct numpy computation, and its laws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde.curvature import gradient_noise


def _direct(g: np.ndarray, u: np.ndarray, batch: int) -> np.ndarray:
    """``Var(uᵢᵀ g_e) / B`` one direction at a time, with numpy's ``var`` (ddof=1)."""
    return np.array([np.var(g @ (col / np.linalg.norm(col)), ddof=1) / batch for col in u.T])


def test_matches_a_direct_computation(rng: np.random.Generator) -> None:
    g = rng.standard_normal((500, 20)) * np.linspace(0.1, 3.0, 20) + 0.3
    u = rng.standard_normal((20, 4))
    noise = gradient_noise(g, u, batch_size=8)
    np.testing.assert_allclose(noise.variances, _direct(g, u, 8), rtol=1e-12)
    np.testing.assert_allclose(np.diag(noise.covariance), noise.variances, rtol=1e-12)
    unit = u / np.linalg.norm(u, axis=0)
    np.testing.assert_allclose(noise.covariance, np.cov(g @ unit, rowvar=False) / 8,
                               rtol=1e-12)
    np.testing.assert_allclose(noise.mean, g.mean(axis=0) @ unit, rtol=1e-12)
    assert noise.n_examples == 500 and noise.batch_size == 8
    assert noise.to_dict()["population_size"] is None


def test_without_replacement_is_exact_for_a_finite_population(rng: np.random.Generator) -> None:
    # every batch of B out of M = 7 rows, enumerated: the exact variance of the batch mean
    from itertools import combinations

    g = rng.standard_normal((7, 3))
    u = np.eye(3)[:, :1]
    means = np.array([g[list(rows)].mean(axis=0) @ u[:, 0] for rows in combinations(range(7), 3)])
    noise = gradient_noise(g, u, batch_size=3, population_size=7)
    assert noise.variances[0] == pytest.approx(np.var(means), rel=1e-12)  # ddof 0: exact


def test_chunks_and_callables_give_the_same_answer(rng: np.random.Generator) -> None:
    g = rng.standard_normal((300, 10))
    u = rng.standard_normal(10)  # one direction, as a vector
    whole = gradient_noise(g, u, batch_size=4)
    chunks = gradient_noise(iter(np.array_split(g, 7)), u, batch_size=4)
    called = gradient_noise(lambda: (g[i:i + 50] for i in range(0, 300, 50)), u, batch_size=4)
    listed = gradient_noise(g.tolist(), u, batch_size=4)
    for other in (chunks, called, listed):
        np.testing.assert_allclose(other.variances, whole.variances, rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(batch=st.integers(1, 64), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 2**32 - 1))
def test_variance_falls_as_one_over_b_and_ignores_direction_length(batch: int, scale: float,
                                                                   seed: int) -> None:
    gen = np.random.default_rng(seed)
    g = gen.standard_normal((40, 5))
    u = gen.standard_normal((5, 2))
    one = gradient_noise(g, u, batch_size=1)
    many = gradient_noise(g, scale * u, batch_size=batch)
    np.testing.assert_allclose(many.variances * batch, one.variances, rtol=1e-10)
    np.testing.assert_allclose(many.variance_std_error * batch, one.variance_std_error,
                               rtol=1e-10)


def test_the_stated_error_covers_the_sampling_error(rng: np.random.Generator) -> None:
    # Gaussian gradients of known variance along e_0: 2.0² per example
    estimates, errors = [], []
    for _ in range(200):
        g = rng.standard_normal((400, 2)) * [2.0, 1.0]
        noise = gradient_noise(g, np.eye(2)[:, :1], batch_size=1)
        estimates.append(noise.variances[0])
        errors.append(noise.variance_std_error[0])
    # the spread of 200 estimates matches the stated error (sqrt(2 σ⁴ / n) = 0.283 for a
    # Gaussian): the standard deviation of 200 nearly Gaussian draws has a relative
    # standard error of 1/sqrt(2 · 200) = 5 %, so 15 % is three of those; seed fixed
    assert np.std(estimates) == pytest.approx(np.mean(errors), rel=0.15)
    assert np.mean(estimates) == pytest.approx(4.0, abs=4 * 0.283 / np.sqrt(200))


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    ((np.ones((5, 3)), np.ones((4, 1))), {"batch_size": 1}, r"shape \(n, dim\) = \(n, 4\)"),
    ((np.ones((5, 3)), np.zeros((3, 1))), {"batch_size": 1}, "non-zero"),
    ((np.ones((1, 3)), np.ones((3, 1))), {"batch_size": 1}, "at least 2 examples"),
    ((np.ones((5, 3)), np.ones((3, 1))), {"batch_size": 0}, "batch_size"),
    ((np.ones((5, 3)), np.ones((3, 1))), {"batch_size": 6, "population_size": 5}, "exceed"),
    ((np.full((5, 3), np.nan), np.ones((3, 1))), {"batch_size": 1}, "non-finite"),
    ((iter([]), np.ones((3, 1))), {"batch_size": 1}, "no gradients"),
])
def test_bad_input_is_refused(args: tuple, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        gradient_noise(*args, **kwargs)

"""Stochastic Lanczos quadrature against exact traces of matrices with a known spectrum.

Two laws: (1) with the probes fixed, each probe's m-node rule reproduces
``zᵀ H^p z / ‖z‖²`` for every ``p <= 2m − 1`` (Gauss quadrature is exact to that degree),
to rounding; (2) over random probes, the moments ``tr(H^p) / dim`` are within a few of the
stated standard errors of the exact ones, and that standard error matches Hutchinson's
exact variance for Rademacher probes, ``Var(zᵀAz) = 2 (‖A‖_F² − Σ A_ii²)``
(Avron & Toledo 2011, J. ACM 58:8).
"""

from __future__ import annotations

import numpy as np
import pytest
from curvature_reference import symmetric_with_spectrum
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde.curvature import spectral_density
from sdde.model.spectrum import HessianSpectrum


def _exact_moments(eigenvalues: np.ndarray) -> np.ndarray:
    return np.array([np.mean(eigenvalues ** p) for p in range(1, 5)])


def test_moments_are_within_four_standard_errors(rng: np.random.Generator) -> None:
    exact = np.concatenate([np.geomspace(1e-3, 1.0, 250), np.linspace(2.0, 10.0, 50)])
    h = symmetric_with_spectrum(exact, rng)
    d = spectral_density(lambda v: h @ v, 300, n_probes=30, lanczos_steps=20, rng=rng)
    # Each moment is the mean of 30 independent probe values; 4 standard errors leave a
    # false-failure chance below 1e-3 per moment (t with 29 degrees of freedom: 4e-4).
    # The seed is fixed.
    assert np.all(np.abs(d.moments - _exact_moments(exact)) <= 4 * d.moment_std_error)
    assert d.n_hvp == 30 * 20 and d.n_steps == 20 and d.exact_degree == 39
    assert d.weights.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(d.probe_weights.sum(axis=1), 1.0, atol=1e-12)
    assert d.nodes.size == 600 and np.all(np.diff(d.nodes) >= 0)
    # every node lies inside the spectrum's hull (Ritz values interlace), up to rounding
    assert d.nodes.min() > exact.min() - 1e-9 and d.nodes.max() < exact.max() + 1e-9


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.floats(-5.0, 5.0), min_size=8, max_size=60),
       steps=st.integers(3, 8), seed=st.integers(0, 2**32 - 1))
def test_each_probe_rule_is_exact_to_degree_2m_minus_1(values: list[float], steps: int,
                                                        seed: int) -> None:
    exact = np.array(values)
    gen = np.random.default_rng(seed)
    h = symmetric_with_spectrum(exact, gen)
    probes = gen.standard_normal((3, exact.size))
    d = spectral_density(lambda v: h @ v, exact.size, lanczos_steps=steps, probes=probes)
    v = probes / np.linalg.norm(probes, axis=1, keepdims=True)
    scale = max(np.abs(exact).max(), 1e-300)
    power = v.T
    for p in range(1, d.exact_degree + 1):
        power = h @ power
        quadratic = np.einsum("ij,ji->i", v, power)  # vᵀ H^p v per probe
        got, _ = d.moment(p)
        # rounding grows with the degree: ~ (p + m) eps per product, relative to ‖H‖^p
        assert got == pytest.approx(quadratic.mean(), rel=0, abs=1e-11 * p * scale ** p)


def test_the_stated_error_matches_hutchinsons_exact_variance(rng: np.random.Generator) -> None:
    exact = np.linspace(0.1, 3.0, 80)
    h = symmetric_with_spectrum(exact, rng)
    n_probes = 400
    d = spectral_density(lambda v: h @ v, 80, n_probes=n_probes, lanczos_steps=5, rng=rng)
    for p in (1, 2):
        a = np.linalg.matrix_power(h, p)
        variance = 2 * (np.sum(a * a) - np.sum(np.diag(a) ** 2)) / 80**2
        expected = np.sqrt(variance / n_probes)
        # the sample standard deviation of 400 draws of a quadratic form is within ~5 %
        # of the true one (relative SE sqrt((kurtosis − 1) / 4n), kurtosis of order 3-5);
        # 20 % is four of those
        assert d.moment_std_error[p - 1] == pytest.approx(expected, rel=0.2)


def test_an_invariant_subspace_stops_the_probe_and_is_exact(rng: np.random.Generator) -> None:
    exact = np.repeat([1.0, 2.0, 5.0], [30, 20, 10])
    h = symmetric_with_spectrum(exact, rng)
    d = spectral_density(lambda v: h @ v, 60, n_probes=5, lanczos_steps=10, rng=rng)
    assert d.n_hvp == 5 * 3  # three distinct eigenvalues: three steps per probe
    np.testing.assert_allclose(np.unique(np.round(d.nodes, 10)), [1.0, 2.0, 5.0])
    assert np.count_nonzero(d.probe_weights) == 15  # the rest is weight-0 padding
    np.testing.assert_allclose(d.probe_weights.sum(axis=1), 1.0, atol=1e-12)
    # with the density concentrated on 3 points, moments of every degree are exact per probe
    for p in range(1, 5):
        mean, _ = d.moment(p)
        assert np.isfinite(mean)


def test_steps_are_capped_at_dim(rng: np.random.Generator) -> None:
    exact = np.linspace(1.0, 2.0, 6)
    h = symmetric_with_spectrum(exact, rng)
    d = spectral_density(lambda v: h @ v, 6, n_probes=3, lanczos_steps=50, rng=rng)
    assert d.n_steps == 6
    # the full space: each probe's rule has the exact eigenvalues as nodes
    np.testing.assert_allclose(np.sort(d.probe_nodes[0]), exact, atol=1e-12)


def test_to_spectrum_scales_weights_to_multiplicities(rng: np.random.Generator) -> None:
    exact = np.concatenate([-np.linspace(0.5, 1.0, 20), np.linspace(0.1, 4.0, 80)])
    h = symmetric_with_spectrum(exact, rng)
    d = spectral_density(lambda v: h @ v, 100, n_probes=8, lanczos_steps=12, rng=rng)
    spectrum = d.to_spectrum()
    assert isinstance(spectrum, HessianSpectrum)
    assert spectrum.h_min > 0
    assert np.sum(spectrum.weights) == pytest.approx(100 * (1 - d.nonpositive_weight),
                                                     rel=1e-12)
    assert 0 < d.nonpositive_weight < 1
    with pytest.raises(ValueError, match="no node above"):
        d.to_spectrum(min_curvature=10.0)
    noisy = d.to_spectrum(noise=0.25)
    assert noisy.noise is not None and np.all(noisy.noise == 0.25)
    np.testing.assert_array_equal(noisy.weights, spectrum.weights)
    assert d.to_dict()["n_probes"] == 8


def test_the_smoothed_density_integrates_to_one(rng: np.random.Generator) -> None:
    h = symmetric_with_spectrum(np.linspace(0.0, 1.0, 40), rng)
    d = spectral_density(lambda v: h @ v, 40, n_probes=4, lanczos_steps=8, rng=rng)
    grid = np.linspace(-1.0, 2.0, 3001)
    assert np.trapezoid(d.smoothed(grid, 0.05), grid) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_probes": 1}, "n_probes"), ({"lanczos_steps": 2}, "lanczos_steps"),
    ({"rng": None}, "Generator"), ({"probes": np.ones((1, 10))}, "probes must have shape"),
    ({"probes": np.zeros((2, 10))}, "non-zero"),
])
def test_bad_arguments_are_refused(kwargs: dict, match: str) -> None:
    args = {"n_probes": 4, "lanczos_steps": 5, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(ValueError, match=match):
        spectral_density(lambda v: v, 10, **args)


def test_moments_beyond_the_exact_degree_are_refused(rng: np.random.Generator) -> None:
    d = spectral_density(lambda v: v, 10, n_probes=2, lanczos_steps=3, rng=rng)
    assert d.moment(5)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at most 2 · n_steps − 1 = 5"):
        d.moment(6)


def test_a_read_only_product_is_not_written_to(rng: np.random.Generator) -> None:
    h = symmetric_with_spectrum(np.linspace(1.0, 2.0, 20), rng)

    def frozen(v: np.ndarray) -> np.ndarray:  # as JAX's arrays seen through numpy
        out = h @ v
        out.setflags(write=False)
        return out
    d = spectral_density(frozen, 20, n_probes=2, lanczos_steps=4, rng=rng)
    assert d.moments[0] == pytest.approx(1.5, abs=6 * d.moment_std_error[0] + 1e-12)

"""Top eigenvalues from Hessian-vector products against dense ``numpy.linalg.eigvalsh`` and
against the spectrum a matrix was built from.

Tolerances: for a symmetric ``H`` each Ritz value lies within its residual norm of an
eigenvalue (Parlett, The Symmetric Eigenvalue Problem, Thm 4.5.1). ``eigvalsh`` is backward
stable (exact for ``H + E``, ``‖E‖ <= p(n) eps ‖H‖``, p a modest polynomial: Golub & Van
Loan §8.3), and a matrix built as ``Q Λ Qᵀ`` in floating point has the spectrum ``Λ`` up to
the same order of rounding. So the results agree to ``residual + n · eps · ‖H‖`` (n · eps
standing in for p(n) eps, generous for n <= 200).
"""

from __future__ import annotations

import numpy as np
import pytest
from curvature_reference import symmetric_with_spectrum
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde.curvature import FlatHVP, top_eigenvalues
from sdde.model.spectrum import HessianSpectrum

EPS = np.finfo(float).eps


def _tolerance(result, exact: np.ndarray) -> np.ndarray:
    return result.residual_norms + exact.size * EPS * np.abs(exact).max()


def test_top_ten_of_a_random_spd_matrix(rng: np.random.Generator) -> None:
    exact = np.geomspace(1e-3, 1e2, 200)
    h = symmetric_with_spectrum(exact, rng)
    top = top_eigenvalues(lambda v: h @ v, 200, k=10, rng=rng)
    assert top.method == "lanczos" and top.converged and top.k == 10
    dense = np.linalg.eigvalsh(h)
    reference = dense[::-1][:10]
    assert np.all(np.abs(top.eigenvalues - reference) <= _tolerance(top, dense))
    assert np.all(np.diff(top.eigenvalues) <= 0)  # descending
    # the residuals are at rounding level: machine precision was asked for (tol=0)
    assert top.residual_norms.max() < 1e3 * EPS * exact.max()
    assert top.n_hvp > 10


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.integers(-1000, 1000), min_size=30, max_size=80, unique=True),
       k=st.integers(1, 6), which=st.sampled_from(["LA", "SA", "LM"]),
       seed=st.integers(0, 2**32 - 1))
def test_extreme_eigenvalues_of_random_symmetric_spectra(values: list[int], k: int,
                                                         which: str, seed: int) -> None:
    # distinct eigenvalues 0.01 apart at least (repeated ones are a Krylov method's blind
    # spot, a separate question), indefinite as a network's Hessian is
    exact = np.array(values, dtype=float) / 100.0
    h = symmetric_with_spectrum(exact, np.random.default_rng(seed))
    top = top_eigenvalues(lambda v: h @ v, exact.size, k=k, which=which,
                          rng=np.random.default_rng(seed))
    key = {"LA": -exact, "SA": exact, "LM": -np.abs(exact)}[which]
    reference = exact[np.argsort(key, kind="stable")][:k]
    if which == "LM":  # ties in magnitude (x and −x) may come in either order
        assert np.allclose(np.abs(top.eigenvalues), np.abs(reference), rtol=0, atol=1e-9)
        return
    assert np.all(np.abs(top.eigenvalues - reference) <= _tolerance(top, exact))


def test_a_small_problem_is_solved_densely(rng: np.random.Generator) -> None:
    exact = np.linspace(-1.0, 3.0, 9)
    h = symmetric_with_spectrum(exact, rng)
    top = top_eigenvalues(lambda v: h @ v, 9, k=4, return_eigenvectors=True)
    assert top.method == "dense" and top.n_hvp == 9  # one product per column
    np.testing.assert_allclose(top.eigenvalues, exact[::-1][:4], atol=1e-12)
    u = top.eigenvectors
    assert u is not None and u.shape == (9, 4)
    np.testing.assert_allclose(h @ u, u * top.eigenvalues, atol=1e-12)


def test_eigenvectors_are_unit_and_satisfy_the_eigen_equation(rng: np.random.Generator) -> None:
    h = symmetric_with_spectrum(np.linspace(0.1, 5.0, 60), rng)
    top = top_eigenvalues(lambda v: h @ v, 60, k=3, return_eigenvectors=True, rng=rng)
    u = top.eigenvectors
    assert u is not None
    np.testing.assert_allclose(np.linalg.norm(u, axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(h @ u - u * top.eigenvalues, axis=0),
                               top.residual_norms, atol=1e-12)
    assert top_eigenvalues(lambda v: h @ v, 60, k=3).eigenvectors is None


def test_the_start_vector_comes_from_rng(rng: np.random.Generator) -> None:
    h = symmetric_with_spectrum(np.linspace(0.1, 5.0, 60), rng)
    a = top_eigenvalues(lambda v: h @ v, 60, k=2, rng=np.random.default_rng(1))
    b = top_eigenvalues(lambda v: h @ v, 60, k=2, rng=np.random.default_rng(1))
    assert a.n_hvp == b.n_hvp and np.array_equal(a.eigenvalues, b.eigenvalues)


def test_dim_comes_from_a_flat_hvp_and_must_agree() -> None:
    h = np.diag(np.arange(1.0, 31.0))
    op = FlatHVP(apply=lambda v: h @ v, dim=30, unravel=lambda v: v, framework="test")
    assert top_eigenvalues(op, k=2).eigenvalues.tolist() == pytest.approx([30.0, 29.0])
    with pytest.raises(ValueError, match="acts on 30 parameters"):
        top_eigenvalues(op, 20, k=2)
    with pytest.raises(ValueError, match="give the number of parameters"):
        top_eigenvalues(lambda v: h @ v, k=2)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"k": 0}, "k must be"), ({"k": 31}, "at most dim"), ({"which": "BE"}, "which must"),
    ({"tol": -1.0}, "tol must"), ({"rng": 3}, "Generator"), ({"maxiter": 0}, "maxiter"),
])
def test_bad_arguments_are_refused(kwargs: dict, match: str) -> None:
    h = np.diag(np.arange(1.0, 31.0))
    with pytest.raises(ValueError, match=match):
        top_eigenvalues(lambda v: h @ v, 30, **kwargs)


def test_a_broken_hvp_is_named() -> None:
    with pytest.raises(ValueError, match="returned 3 numbers"):
        top_eigenvalues(lambda v: np.ones(3), 30, k=2)
    with pytest.raises(ValueError, match="non-finite"):
        top_eigenvalues(lambda v: v * np.nan, 30, k=2)


def test_non_convergence_is_a_value(rng: np.random.Generator) -> None:
    h = symmetric_with_spectrum(np.geomspace(1e-3, 1.0, 200), rng)
    top = top_eigenvalues(lambda v: h @ v, 200, k=10, maxiter=1, rng=rng)
    assert not top.converged and top.k < 10


def test_to_spectrum_keeps_positive_curvature() -> None:
    h = np.diag([-2.0, -1.0, 0.0, 1.0, 3.0, 5.0] + [0.5] * 20)
    top = top_eigenvalues(lambda v: h @ v, 26, k=3, which="LM")  # 5, 3, −2 by magnitude
    spectrum = top.to_spectrum()
    assert isinstance(spectrum, HessianSpectrum)
    assert sorted(spectrum.eigenvalues.tolist()) == pytest.approx([3.0, 5.0])
    assert top.to_dict()["eigenvalues"] == pytest.approx([5.0, 3.0, -2.0])
    negative = top_eigenvalues(lambda v: -np.abs(h) @ v, 26, k=2)
    with pytest.raises(ValueError, match="no eigenvalue above"):
        negative.to_spectrum()


def test_to_spectrum_carries_the_noise_of_the_kept_modes() -> None:
    h = np.diag([-2.0, 1.0, 3.0] + [0.5] * 20)
    top = top_eigenvalues(lambda v: h @ v, 23, k=3, which="LM")  # 3, −2, 1
    spectrum = top.to_spectrum(noise=np.array([0.3, 0.2, 0.1]))
    assert spectrum.eigenvalues.tolist() == pytest.approx([3.0, 1.0])
    assert spectrum.noise is not None and spectrum.noise.tolist() == [0.3, 0.1]
    assert top.to_spectrum(noise=0.5).noise.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="one per eigenvalue"):
        top.to_spectrum(noise=[0.1, 0.2])

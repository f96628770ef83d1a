"""Hessian spectra (``sdde.model.spectrum.HessianSpectrum``) checked against independent answers.

The answers here are exact: a spec string names its eigenvalues (``np.linspace`` /
``np.geomspace`` for ranges, the numbers themselves for lists and files), and a matrix's
spectrum is ``np.linalg.eigvalsh`` of it. Every rejected input must raise ``ValueError``
with a message naming what is wrong.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from sdde.model.spectrum import HessianSpectrum

#: Eigenvalues from a symmetric eigensolver are backward stable: each is within a few
#: ulps of ||M||_2 of the exact one, so two implementations (eigvalsh on M vs on (M+Mᵀ)/2,
#: rows permuted) agree to ~n·eps·||M||. 1e-12·||M|| leaves a margin of ~1000.
EIG_RTOL = 1e-12


# ------------------------------------------------------------------- parsing specs
def test_parse_single_value() -> None:
    spec = HessianSpectrum.parse("2.5")
    np.testing.assert_array_equal(spec.eigenvalues, [2.5])
    np.testing.assert_array_equal(spec.weights, [1.0])
    assert (spec.n_modes, spec.h_min, spec.h_max) == (1, 2.5, 2.5)


def test_parse_list_keeps_values_and_order() -> None:
    spec = HessianSpectrum.parse(" 0.1, 1 ,10 ")
    np.testing.assert_array_equal(spec.eigenvalues, [0.1, 1.0, 10.0])
    assert (spec.n_modes, spec.h_min, spec.h_max) == (3, 0.1, 10.0)


def test_parse_linear_range_is_linspace() -> None:
    spec = HessianSpectrum.parse("0.1:10:5")
    np.testing.assert_array_equal(spec.eigenvalues, np.linspace(0.1, 10.0, 5))
    # The end points are hit exactly (linspace sets them), and the step is (10-0.1)/4.
    assert spec.h_min == 0.1
    assert spec.h_max == 10.0
    np.testing.assert_allclose(np.diff(spec.eigenvalues), 9.9 / 4, rtol=1e-14)


def test_parse_log_range_is_geomspace() -> None:
    spec = HessianSpectrum.parse("0.1:10:5:log")
    np.testing.assert_array_equal(spec.eigenvalues, np.geomspace(0.1, 10.0, 5))
    # Constant ratio 100**(1/4) = sqrt(10) between neighbours (geomspace is exact to a
    # few ulps: 1e-14 leaves a margin of ~50).
    np.testing.assert_allclose(spec.eigenvalues[1:] / spec.eigenvalues[:-1], math.sqrt(10.0),
                               rtol=1e-14)
    assert spec.eigenvalues[0] == pytest.approx(0.1, rel=1e-15)
    assert spec.eigenvalues[-1] == pytest.approx(10.0, rel=1e-15)


def test_parse_one_mode_range() -> None:
    np.testing.assert_array_equal(HessianSpectrum.parse("3:3:1").eigenvalues, [3.0])


def test_parse_file_with_whitespace_commas_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "eigs.txt"
    path.write_text("# Hessian eigenvalues of a toy model\n"
                    "0.5  2.0,\t3e-1\n"
                    "\n"
                    "   7 , 1e2   # the top mode\n"
                    "# 99 (commented out)\n")
    spec = HessianSpectrum.parse(f"file:{path}")
    np.testing.assert_array_equal(spec.eigenvalues, [0.5, 2.0, 0.3, 7.0, 100.0])
    assert (spec.n_modes, spec.h_min, spec.h_max) == (5, 0.3, 100.0)
    # The same file read directly.
    np.testing.assert_array_equal(HessianSpectrum.from_file(path).eigenvalues,
                                  spec.eigenvalues)


# ------------------------------------------------------------------ from a matrix
def test_from_matrix_of_random_spd_matrix(rng: np.random.Generator) -> None:
    n = 6
    b = rng.standard_normal((n, n))
    m = b @ b.T + 0.5 * np.eye(n)  # SPD, smallest eigenvalue >= 0.5
    spec = HessianSpectrum.from_matrix(m)
    expected = np.linalg.eigvalsh(m)
    scale = np.linalg.norm(m, 2)
    assert spec.n_modes == n
    np.testing.assert_allclose(np.sort(spec.eigenvalues), expected, rtol=0,
                               atol=EIG_RTOL * scale)
    assert spec.h_max == pytest.approx(expected[-1], abs=EIG_RTOL * scale)
    assert spec.h_min == pytest.approx(expected[0], abs=EIG_RTOL * scale)
    # Independent check of the spectrum: sum and product of eigenvalues are the trace and
    # the determinant (relative accuracy ~n·eps·cond; cond < 1e3 here, so 1e-10).
    assert spec.eigenvalues.sum() == pytest.approx(np.trace(m), rel=1e-12)
    assert np.prod(spec.eigenvalues) == pytest.approx(np.linalg.det(m), rel=1e-10)

    # Order-insensitive: a symmetric permutation P M Pᵀ has the same spectrum.
    perm = rng.permutation(n)
    permuted = HessianSpectrum.from_matrix(m[np.ix_(perm, perm)])
    np.testing.assert_allclose(np.sort(permuted.eigenvalues), np.sort(spec.eigenvalues),
                               rtol=0, atol=EIG_RTOL * scale)


def test_from_matrix_diagonal_is_exact() -> None:
    spec = HessianSpectrum.from_matrix(np.diag([3.0, 0.25, 7.0]))
    np.testing.assert_array_equal(np.sort(spec.eigenvalues), [0.25, 3.0, 7.0])
    assert (spec.h_min, spec.h_max, spec.n_modes) == (0.25, 7.0, 3)


# ------------------------------------------------------------------ to_dict / weights
def test_to_dict_is_plain_json() -> None:
    spec = HessianSpectrum(eigenvalues=np.array([0.5, 2.0, 4.0]), weights=[1, 0, 3])
    d = spec.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d == {"n_modes": 3, "h_min": 0.5, "h_max": 4.0, "total_weight": 4.0,
                 "listed": True, "eigenvalues": [0.5, 2.0, 4.0], "weights": [1.0, 0.0, 3.0]}
    assert all(type(v) is float for v in d["eigenvalues"] + d["weights"])
    assert type(d["n_modes"]) is int


def test_default_weights_are_ones() -> None:
    spec = HessianSpectrum(eigenvalues=[1.0, 2.0])
    np.testing.assert_array_equal(spec.weights, [1.0, 1.0])


def test_arrays_are_read_only() -> None:
    spec = HessianSpectrum(eigenvalues=[1.0, 2.0])
    with pytest.raises(ValueError, match="read-only"):
        spec.eigenvalues[0] = 5.0


# ------------------------------------------------------------------ error paths
@pytest.mark.parametrize("spec", ["0", "-1", "nan", "inf", "-inf", "1e400", "1,0,2", "2,-3",
                                  "1,nan"])
def test_non_positive_or_non_finite_eigenvalue(spec: str) -> None:
    with pytest.raises(ValueError, match=r"finite and > 0.*flat or negatively curved.*"
                                         r"no stability question"):
        HessianSpectrum.parse(spec)


@pytest.mark.parametrize("values", [[0.0], [1.0, -2.0], [math.nan], [math.inf]])
def test_constructor_rejects_bad_eigenvalues(values: list[float]) -> None:
    with pytest.raises(ValueError, match="flat or negatively curved"):
        HessianSpectrum(eigenvalues=values)


@pytest.mark.parametrize("spec", ["", "   "])
def test_empty_spec(spec: str) -> None:
    with pytest.raises(ValueError, match="give a value"):
        HessianSpectrum.parse(spec)


def test_empty_eigenvalue_list() -> None:
    with pytest.raises(ValueError, match="at least one eigenvalue"):
        HessianSpectrum(eigenvalues=[])


@pytest.mark.parametrize(("spec", "match"), [
    ("10:0.1:5", r"0 < low <= high"),          # lo > hi
    ("0:10:5", r"0 < low <= high"),            # lo == 0
    ("-1:10:5", r"0 < low <= high"),           # lo < 0
    ("0.1:inf:5", r"0 < low <= high < inf"),   # hi infinite
    ("nan:10:5", r"0 < low <= high"),          # lo not a number
    ("0.1:10:0", r"number of modes.*1\.\."),    # n = 0
    ("0.1:10:-3", r"number of modes.*1\.\."),   # n < 0
    ("a:10:5", r"lo:hi:n with numbers"),       # non-numeric lo
    ("0.1:b:5", r"lo:hi:n with numbers"),      # non-numeric hi
    ("0.1:10:2.5", r"whole n"),                # fractional n
    ("0.1:10:5:log:x", r"lo:hi:n or lo:hi:n:log"),  # 5 parts
    ("0.1:10", r"lo:hi:n or lo:hi:n:log"),     # 2 parts
])
def test_bad_range(spec: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        HessianSpectrum.parse(spec)


@pytest.mark.parametrize("word", ["cubic", "LOG", "", "geometric"])
def test_bad_spacing_word(word: str) -> None:
    with pytest.raises(ValueError, match=r"spacing must be 'linear' or 'log'"):
        HessianSpectrum.parse(f"0.1:10:5:{word}")


@pytest.mark.parametrize("spec", ["1,x,3", "1,,3", "two", "1;2"])
def test_non_numeric_list_item(spec: str) -> None:
    with pytest.raises(ValueError, match="numbers separated by commas"):
        HessianSpectrum.parse(spec)


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_file.txt"
    with pytest.raises(ValueError, match=r"cannot read .*no_such_file\.txt"):
        HessianSpectrum.parse(f"file:{missing}")
    with pytest.raises(ValueError, match="cannot read"):  # a directory is not a file
        HessianSpectrum.parse(f"file:{tmp_path}")


def test_file_with_a_non_number(tmp_path: Path) -> None:
    path = tmp_path / "eigs.txt"
    path.write_text("1.0 2.0\n3.0 abc # fine comment\n")
    with pytest.raises(ValueError, match=r"holds 'abc', not a number"):
        HessianSpectrum.parse(f"file:{path}")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n  # another\n", " , ,\n"])
def test_file_with_no_numbers(tmp_path: Path, text: str) -> None:
    path = tmp_path / "eigs.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match="holds no eigenvalues"):
        HessianSpectrum.parse(f"file:{path}")


def test_file_with_a_negative_eigenvalue(tmp_path: Path) -> None:
    path = tmp_path / "eigs.txt"
    path.write_text("1 2 -0.5\n")
    with pytest.raises(ValueError, match="flat or negatively curved"):
        HessianSpectrum.parse(f"file:{path}")


@pytest.mark.parametrize("matrix", [np.ones((2, 3)), np.ones(3), np.ones((2, 2, 2)),
                                    np.zeros((0, 0))])
def test_non_square_matrix(matrix: np.ndarray) -> None:
    with pytest.raises(ValueError, match="must be square"):
        HessianSpectrum.from_matrix(matrix)


def test_non_symmetric_matrix() -> None:
    with pytest.raises(ValueError, match="not symmetric"):
        HessianSpectrum.from_matrix([[2.0, 1.0], [0.0, 2.0]])
    # Asymmetry far below the tolerance (atol=1e-10 relative to the largest entry) is
    # symmetrised away, and the answer is the symmetric part's spectrum.
    spec = HessianSpectrum.from_matrix([[2.0, 1.0 + 1e-13], [1.0, 2.0]])
    np.testing.assert_allclose(np.sort(spec.eigenvalues), [1.0, 3.0], rtol=1e-12)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_matrix(bad: float) -> None:
    m = np.eye(3)
    m[1, 2] = m[2, 1] = bad
    with pytest.raises(ValueError, match="non-finite"):
        HessianSpectrum.from_matrix(m)


@pytest.mark.parametrize("matrix", [
    [[1.0, 1.0], [1.0, 1.0]],                 # eigenvalues 0, 2 (eigvalsh gives 0 exactly)
    [[2.0, 0.0], [0.0, 0.0]],                 # 0, 2
    [[1.0, 0.0], [0.0, -3.0]],                # negative
    [[1.0, 2.0], [2.0, 1.0]],                 # -1, 3 (indefinite)
    -np.eye(3),
])
def test_matrix_with_zero_or_negative_eigenvalue(matrix: list[list[float]]) -> None:
    with pytest.raises(ValueError, match="flat or negatively curved"):
        HessianSpectrum.from_matrix(matrix)


def test_exactly_singular_gram_matrices_are_rejected() -> None:
    """M = B Bᵀ with an integer 4×3 matrix B has rank <= 3: an exact zero eigenvalue.

    The entries are small integers, so M is stored exactly and is singular in floating
    point too (det M = 0 exactly). Every such M must be rejected like ``[[1, 1], [1, 1]]``
    is. With 20 matrices and roundoff landing on either side of 0, a correct check is
    needed for all to be rejected (each alone is a coin flip for the buggy one).
    """
    gen = np.random.default_rng(2024)
    accepted = []
    for _ in range(20):
        b = gen.integers(-3, 4, size=(4, 3)).astype(np.float64)
        m = b @ b.T
        try:
            spec = HessianSpectrum.from_matrix(m)
        except ValueError as exc:
            assert "flat or negatively curved" in str(exc)
        else:
            accepted.append(spec.h_min)
    assert accepted == [], f"singular matrices accepted with h_min = {accepted}"


@pytest.mark.parametrize("weights", [[1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [[1.0, 1.0, 1.0]]])
def test_weights_of_wrong_length(weights: list[float]) -> None:
    with pytest.raises(ValueError, match="one per eigenvalue"):
        HessianSpectrum(eigenvalues=[1.0, 2.0, 3.0], weights=weights)


@pytest.mark.parametrize("weights", [[1.0, -0.5, 1.0], [-1.0, -1.0, -1.0]])
def test_negative_weights(weights: list[float]) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        HessianSpectrum(eigenvalues=[1.0, 2.0, 3.0], weights=weights)


def test_all_zero_weights() -> None:
    with pytest.raises(ValueError, match="not all 0"):
        HessianSpectrum(eigenvalues=[1.0, 2.0, 3.0], weights=[0.0, 0.0, 0.0])


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_weights(bad: float) -> None:
    with pytest.raises(ValueError, match="weights must be finite"):
        HessianSpectrum(eigenvalues=[1.0, 2.0], weights=[1.0, bad])

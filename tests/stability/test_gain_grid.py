"""The gain grid (sdde.stability.gain_grid) against functions known in closed form.

An accepted panel met two error estimates at ``tol``; the tests allow 100 ``tol``: the
estimates bound the error of an analytic function up to a small factor (the last two
Chebyshev coefficients), not to the last digit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde.stability.gain_grid import (
    MIN_WIDTH,
    chebyshev_coefficients,
    fit_gain_function,
    lobatto_nodes,
)

TOL = 1e-10
KAPPAS = np.geomspace(1e-3, 10.0, 20_001)


def test_chebyshev_coefficients_of_a_polynomial_are_exact() -> None:
    """T_3 through the Lobatto nodes: coefficient 1 at j = 3, 0 elsewhere."""
    x = lobatto_nodes(10)
    c = chebyshev_coefficients((4 * x**3 - 3 * x)[None, :, None])[0, :, 0]
    expected = np.zeros(11)
    expected[3] = 1.0
    assert np.allclose(c, expected, atol=1e-14)


def test_smooth_vector_function_is_interpolated_within_the_tolerance() -> None:
    def f(k: np.ndarray) -> np.ndarray:
        return np.column_stack([np.sin(k), np.cos(3 * k), np.sqrt(k)])

    grid = fit_gain_function(f, 1e-3, 10.0, tol=TOL)
    values, direct = grid(KAPPAS)
    assert not direct.any()
    exact = f(KAPPAS)
    scale = np.linalg.norm(exact, axis=1).max()
    assert np.max(np.linalg.norm(values - exact, axis=1)) <= 100 * TOL * scale


def test_a_kink_becomes_a_narrow_direct_panel_and_the_rest_is_exact() -> None:
    """|κ − 0.3| + 1 has a kink no polynomial resolves: the panel around it fails at the
    narrowest width and its gains are marked for a direct solve."""
    def f(k: np.ndarray) -> np.ndarray:
        return (np.abs(k - 0.3) + 1.0)[:, None]

    grid = fit_gain_function(f, 1e-3, 10.0, tol=TOL)
    k = np.sort(np.append(KAPPAS, 0.3 * np.exp(np.linspace(-1e-4, 1e-4, 11))))
    values, direct = grid(k)
    assert direct.any()
    assert np.all(np.abs(np.log(k[direct] / 0.3)) <= 2 * MIN_WIDTH)
    assert np.max(np.abs(values[~direct, 0] - f(k[~direct])[:, 0])) <= 100 * TOL * 11
    assert np.isnan(values[direct]).all()


def test_nan_values_are_never_interpolated() -> None:
    """A function that cannot be computed somewhere (NaN) gives direct panels there."""
    def f(k: np.ndarray) -> np.ndarray:
        return np.where((k > 0.5) & (k < 0.6), np.nan, np.log(k))[:, None]

    values, direct = fit_gain_function(f, 0.1, 1.0, tol=TOL)(np.array([0.55, 0.2, 0.9]))
    assert direct.tolist() == [True, False, False]
    assert values[1:, 0] == pytest.approx(np.log([0.2, 0.9]), abs=100 * TOL * 2.4)


def test_gains_outside_the_range_need_a_direct_solve() -> None:
    grid = fit_gain_function(lambda k: k[:, None], 0.1, 1.0, tol=TOL)
    _, direct = grid(np.array([0.05, 0.5, 2.0]))
    assert direct.tolist() == [True, False, True]


def test_absolute_error_for_a_logarithm() -> None:
    grid = fit_gain_function(lambda k: np.log(k)[:, None], 1e-6, 1e3, tol=TOL, absolute=True)
    values, direct = grid(KAPPAS)
    assert not direct.any()
    assert np.max(np.abs(values[:, 0] - np.log(KAPPAS))) <= 100 * TOL


@settings(max_examples=25, deadline=None, derandomize=True)
@given(a=st.floats(-3, 3), b=st.floats(0.1, 5), c=st.floats(-2, 2),
       low=st.floats(1e-4, 1.0), decades=st.floats(0.0, 4.0))
def test_random_analytic_functions(a: float, b: float, c: float, low: float,
                                   decades: float) -> None:
    """a·exp(−b κ) + c·log(1 + κ) on any range (a single gain included)."""
    def f(k: np.ndarray) -> np.ndarray:
        return (a * np.exp(-b * k) + c * np.log1p(k))[:, None]

    high = low * 10**decades
    k = np.geomspace(low, high, 501)
    values, direct = fit_gain_function(f, low, high, tol=TOL)(k)
    assert not direct.any()
    scale = max(float(np.abs(f(k)).max()), 1e-300)
    assert np.max(np.abs(values[:, 0] - f(k)[:, 0])) <= 100 * TOL * max(scale, 1.0)


def test_bad_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="0 < low <= high"):
        fit_gain_function(lambda k: k[:, None], 1.0, 0.5)
    with pytest.raises(ValueError, match="0 < low <= high"):
        fit_gain_function(lambda k: k[:, None], 0.0, math.inf)

"""Characteristic roots of the point-delay mode, ``z + κ e^{-z} = 0`` (``sdde.stability.roots``).

Independent answers used here:

* the equation itself (residual of every returned root);
* ``scipy.optimize.brentq`` on the real function ``z + κ e^{-z}`` for the real roots;
* closed forms: the double root ``-1`` at ``κ = 1/e``, the crossing pair ``±iπ/2`` at
  ``κ = π/2``, and the branch-point expansion ``W = -1 ± sqrt(2δ) + O(δ)`` with
  ``δ = 1 + e x``;
* mpmath's ``lambertw`` at 40 digits for ``lambert_w`` near the branch point.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy import optimize

from sdde.stability.roots import lambert_w, point_delay_roots

EPS = float(np.finfo(float).eps)
INV_E = 1.0 / math.e
HALF_PI = math.pi / 2.0

#: κ values from far below 1/e through the double root to far above π/2.
KAPPAS = [1e-6, 0.1, INV_E, INV_E * (1 + 1e-12), INV_E * (1 - 1e-12), INV_E * (1 + 1e-6),
          INV_E * (1 - 1e-6), INV_E * (1 + 1e-3), INV_E * (1 - 1e-3), 0.4, 1.0, HALF_PI,
          10.0, 1e4]
#: Residual bound: evaluating z + κe^{-z} at a root rounds at ~eps·(|z| + |κe^{-z}|) =
#: 2eps|z|; Halley/series roots are good to a few ulps. 1e-12 is ~2000 eps.
RESIDUAL_RTOL = 1e-12


def residual(z: np.ndarray, kappa: float) -> np.ndarray:
    return np.abs(z + kappa * np.exp(-z)) / np.maximum(1.0, np.abs(z))


# ----------------------------------------------------------------- residuals, order
@pytest.mark.parametrize("kappa", KAPPAS)
@pytest.mark.parametrize("n_roots", [1, 2, 5, 10, 31])
def test_every_root_solves_the_characteristic_equation(kappa: float, n_roots: int) -> None:
    z = point_delay_roots(kappa, n_roots)
    assert z.shape == (n_roots,)
    assert z.dtype == np.complex128
    assert np.all(np.isfinite(z))
    assert residual(z, kappa).max() <= RESIDUAL_RTOL


@pytest.mark.parametrize("kappa", KAPPAS)
def test_roots_sorted_by_real_part_with_conjugates_adjacent(kappa: float) -> None:
    z = point_delay_roots(kappa, 30)
    assert np.all(np.diff(z.real) <= 0)
    # Walk the list: a real root stands alone; a complex one is followed by its conjugate
    # (same modulus to rounding: each branch is computed separately, so allow a few ulps).
    i = 0
    while i < len(z):
        if z[i].imag == 0.0:
            i += 1
            continue
        if i + 1 == len(z):  # the last root may be half of a pair cut by n_roots
            break
        assert abs(z[i + 1] - np.conj(z[i])) <= 8 * EPS * abs(z[i]), (i, z[i], z[i + 1])
        i += 2


def test_positive_imaginary_part_first_in_the_rightmost_pair() -> None:
    """Above 1/e the rightmost roots are the pair W_0(-κ), W_-1(-κ) = conj(W_0(-κ)).

    221 κ on a grid in (1/e, 0.6), plus κ = 0.4: the first root returned must be the
    Im > 0 member every time (the buggy sort gets ~30% of them wrong, so this cannot
    pass by luck on another platform's last-ulp rounding).
    """
    kappas = [0.4, *np.linspace(0.38, 0.6, 221).tolist()]
    wrong = [k for k in kappas if not point_delay_roots(k, 1)[0].imag > 0]
    assert wrong == []


@pytest.mark.parametrize("kappa", KAPPAS)
def test_first_roots_do_not_depend_on_n_roots(kappa: float) -> None:
    """The n rightmost roots are a prefix of the n+m rightmost ones."""
    many = point_delay_roots(kappa, 40)
    for n in (1, 2, 3, 7, 10):
        np.testing.assert_array_equal(point_delay_roots(kappa, n), many[:n])


@pytest.mark.parametrize("kappa", [k for k in KAPPAS if k != INV_E])
def test_distinct_branches_give_distinct_roots(kappa: float) -> None:
    """No root is returned twice.

    The closest two distinct roots are the pair near -1 for κ near 1/e, which sit
    ``2 sqrt(2|1 - eκ|)`` apart (>= 2.8e-6 for |1 - eκ| >= 1e-12); every other pair of
    roots is O(1) apart (branches differ by ~2π in the imaginary part).
    """
    z = point_delay_roots(kappa, 30)
    dist = np.abs(z[:, None] - z[None, :]) + np.diag(np.full(len(z), np.inf))
    delta = abs(1.0 - math.e * kappa)
    if delta < 1e-2:
        close = dist.min()
        assert close == pytest.approx(2.0 * math.sqrt(2.0 * delta), rel=1e-2)
        # All other pairs are far apart.
        dist[0, 1] = dist[1, 0] = np.inf
    assert dist.min() > 0.5


def test_exact_double_root_at_one_over_e() -> None:
    z = point_delay_roots(INV_E, 10)
    assert abs(z[0] + 1.0) <= 1e-12
    assert abs(z[1] + 1.0) <= 1e-12
    # The rest are distinct from -1 and from each other, strictly to the left of -1.
    rest = z[2:]
    assert np.all(rest.real < -2.0)
    dist = np.abs(rest[:, None] - rest[None, :]) + np.diag(np.full(len(rest), np.inf))
    assert dist.min() > 0.5


# ----------------------------------------------------------------- real roots vs brentq
@pytest.mark.parametrize("kappa", [1e-6, 0.01, 0.1, 0.2, 0.3, INV_E * (1 - 1e-3),
                                   INV_E * (1 - 1e-6), INV_E * (1 - 1e-12)])
def test_rightmost_roots_below_one_over_e_are_real_and_match_brentq(kappa: float) -> None:
    """For κ < 1/e, f(z) = z + κe^{-z} has two real roots: f(0) = κ > 0, f(-1) = κe - 1 < 0,
    and f → +∞ as z → -∞, so one root lies in (-1, 0) and one below -1.

    Tolerance: near a simple root z₀ with f'(z₀) = 1 + z₀, rounding of f (~2eps|z₀|) moves
    the computed root by ~2eps|z₀|/|1 + z₀| in either method; 16 eps|z₀|/|1+z₀| allows 8x.
    (At κ = (1 - 1e-12)/e that is ~3e-9: the two roots are only 2.8e-6 apart.)
    """
    def f(x: float) -> float:
        return x + kappa * math.exp(-x)

    right = optimize.brentq(f, -1.0, 0.0, xtol=1e-300, rtol=4 * EPS)
    left = optimize.brentq(f, -60.0, -1.0, xtol=1e-300, rtol=4 * EPS)
    z = point_delay_roots(kappa, 4)
    assert z[0].imag == 0.0
    assert z[1].imag == 0.0
    assert z[2].imag != 0.0  # the next roots are a complex pair
    for got, ref in ((z[0].real, right), (z[1].real, left)):
        assert abs(got - ref) <= 16 * EPS * abs(ref) / abs(1.0 + ref)


# ----------------------------------------------------------------- stability boundary
def test_stable_just_below_half_pi() -> None:
    """dz/dκ = -e^{-z}/(1 + z) = (π/2 + i)/(1 + π²/4) at z = iπ/2, κ = π/2: real part
    (π/2)/(1 + π²/4) ≈ 0.45, so a 1e-9 relative step in κ (Δκ = π/2·1e-9) moves the
    crossing pair by ≈ 7.1e-10, far above the ~1e-16 root error. The second-order term is
    O(Δκ²) ~ 1e-18, so the first-order prediction holds to rel 1e-4 with a wide margin.
    """
    z = point_delay_roots(HALF_PI * (1 - 1e-9), 10)
    assert z.real.max() < 0
    assert z.real.max() == pytest.approx(-(HALF_PI**2) * 1e-9 / (1 + HALF_PI**2), rel=1e-4)


def test_unstable_just_above_half_pi() -> None:
    z = point_delay_roots(HALF_PI * (1 + 1e-9), 10)
    assert z.real.max() > 0
    assert z.real.max() == pytest.approx(HALF_PI**2 * 1e-9 / (1 + HALF_PI**2), rel=1e-4)
    # Only the one pair has crossed.
    assert np.sum(z.real > 0) == 2


def test_crossing_pair_at_half_pi() -> None:
    """At κ = π/2, z = ±iπ/2 solves the equation exactly: ±iπ/2 + (π/2)e^{∓iπ/2} = 0."""
    z = point_delay_roots(HALF_PI, 4)
    pair = z[:2][np.argsort(z[:2].imag)]  # order by imaginary part: -iπ/2, +iπ/2
    assert abs(pair[0] + 1j * HALF_PI) <= 1e-12
    assert abs(pair[1] - 1j * HALF_PI) <= 1e-12
    # Every other root is strictly stable.
    assert z[2:].real.max() < -1.0


@pytest.mark.parametrize("kappa", [1e-4, 0.1, INV_E, 1.0, 1.5, 1.57, 1.571, 2.0, 10.0, 1e3])
def test_stable_iff_kappa_below_half_pi(kappa: float) -> None:
    assert (point_delay_roots(kappa, 10).real.max() < 0) == (kappa < HALF_PI)


# ----------------------------------------------------------------- fastest decay
def test_fastest_decay_is_the_double_root_at_one_over_e() -> None:
    """Spectral abscissa α(κ) = max Re z: W_0(-κ) > -1 for κ < 1/e and Re W_0(-κ) > -1
    above; the minimum -1 is attained only at κ = 1/e (the double root).
    """
    offsets = np.concatenate([-np.geomspace(0.5, 1e-9, 60), [0.0], np.geomspace(1e-9, 3.0, 60)])
    kappas = INV_E * (1.0 + offsets)
    assert kappas[60] == INV_E
    alpha = np.array([point_delay_roots(float(k), 2).real.max() for k in kappas])
    assert int(np.argmin(alpha)) == 60
    assert alpha[60] == pytest.approx(-1.0, abs=1e-12)
    # Neighbours at relative distance δ = 1e-9: α ≈ -1 + sqrt(2δ) below (real root) and
    # α ≈ -1 + 2δ/3 above (W = -1 + p - p²/3 + ... with p = i sqrt(2δ)): both clearly
    # above -1 + 1e-13 (the accuracy of α).
    assert alpha[59] > -1.0 + 1e-6
    assert alpha[61] > -1.0 + 1e-13
    # Strictly decreasing up to 1/e, strictly increasing after it.
    assert np.all(np.diff(alpha[:61]) < 0)
    assert np.all(np.diff(alpha[60:]) > 0)


# ----------------------------------------------------------------- lambert_w
def test_lambert_w_at_the_branch_point_is_finite() -> None:
    x = -INV_E
    for k in (0, -1):
        w = lambert_w(x, k)
        assert np.isfinite(w)
        assert abs(w + 1.0) <= 1e-12


def _mp_lambertw(x: float, k: int) -> complex:
    with mpmath.workdps(40):
        return complex(mpmath.lambertw(mpmath.mpf(x), k))


@pytest.mark.parametrize("k", [0, -1])
@pytest.mark.parametrize("side", [1.0, -1.0])
def test_lambert_w_continuous_across_series_switch(k: int, side: float) -> None:
    """At |1 + e x| = 1e-3 the implementation switches from the branch-point series to
    scipy. Values just inside and just outside must agree with each other (after the
    first-order change W'(x)Δx) and with mpmath.

    Tolerance 1e-13: the series is truncated after p⁸ with p = sqrt(2·1e-3) ≈ 0.045, so the
    first omitted term is ~0.006·p⁹ ≈ 4e-15; forming δ = 1 + e x loses ~2e-16 absolute,
    which W near the branch point amplifies by dW/dδ ≈ 1/p ≈ 22 (~5e-15). 1e-13 is ~10x
    the sum of both.
    """
    inside = (side * 1e-3 * (1 - 1e-9) - 1.0) / math.e
    outside = (side * 1e-3 * (1 + 1e-9) - 1.0) / math.e
    w_in, w_out = lambert_w(inside, k), lambert_w(outside, k)
    for x, w in ((inside, w_in), (outside, w_out)):
        assert abs(w - _mp_lambertw(x, k)) <= 1e-13
    # dW/dx = W / (x (1 + W)); the step is ~2e-12/e.
    slope = w_in / (inside * (1.0 + w_in))
    assert abs((w_out - w_in) - slope * (outside - inside)) <= 1e-13
    # Near the switch the two branches are real for x > -1/e and conjugate below.
    if side > 0:
        assert w_in.imag == 0.0
        assert w_out.imag == 0.0
    else:
        assert (w_in.imag > 0) == (k == 0)
        assert (w_out.imag > 0) == (k == 0)


@pytest.mark.parametrize("k", [0, -1])
@pytest.mark.parametrize("delta", [5e-4, -5e-4, 1e-5, -1e-5, 1e-7, -1e-7])
def test_lambert_w_series_zone_against_mpmath(k: int, delta: float) -> None:
    """Inside the series zone the result is accurate up to the conditioning of W at the
    branch point: δ = 1 + e x is formed with an absolute error of ~2e-16, and W changes by
    dW/dδ ≈ 1/sqrt(2|δ|) per unit δ. Tolerance: 1e-13 + 8·2e-16/sqrt(2|δ|).
    """
    x = (delta - 1.0) / math.e
    w = lambert_w(x, k)
    tol = 1e-13 + 8 * 2.2e-16 / math.sqrt(2 * abs(delta))
    assert abs(w - _mp_lambertw(x, k)) <= tol
    # And it solves w e^w = x (residual relative to |x| ≈ 1/e).
    assert abs(w * np.exp(w) - x) <= 1e-14


@pytest.mark.parametrize("k", [-3, -2, 1, 2])
def test_lambert_w_other_branches_solve_w_exp_w(k: int) -> None:
    for x in (-INV_E, -0.2, -1.0, -50.0):
        w = lambert_w(x, k)
        assert abs(w * np.exp(w) - x) <= 1e-13 * max(1.0, abs(x))
        assert w == pytest.approx(_mp_lambertw(x, k), abs=1e-12)


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize("kappa", [0, 0.0, -1.0, -1e-300, math.nan, math.inf, -math.inf, "1.0",
                                   None, 1 + 0j])
def test_bad_kappa(kappa: object) -> None:
    with pytest.raises(ValueError, match="kappa must be a finite number > 0"):
        point_delay_roots(kappa, 4)  # type: ignore[arg-type]


@pytest.mark.parametrize("n_roots", [0, -2, 2.5, 3.0, True, False, "4", None])
def test_bad_n_roots(n_roots: object) -> None:
    with pytest.raises(ValueError, match="n_roots must be a whole number >= 1"):
        point_delay_roots(1.0, n_roots)  # type: ignore[arg-type]

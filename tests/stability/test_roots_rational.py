"""Rational kernels' whole spectrum, and the fast root search against its reference (issue 21).

Independent answers used here:

* ``numpy.roots`` of the cubic ``z (1 + z/2)² + 1`` (gamma 2 at ``κ = 1``), and the
  quadratic ``z² + z + κ`` of the exponential kernel (closed form);
* the eigenvalues of the linear chain ODE (``numpy.linalg.eigvals`` of its matrix), a
  second route to the same finite spectrum for exponential/Erlang mixtures;
* mpmath's ``polyroots`` at 50 digits for tall Erlang chains (``k`` up to 40, where the
  companion matrix in ``z`` alone is far from exact);
* the argument-principle count ``unstable_root_count`` (the certificate);
* the generator search (``method="generator"``), for the roots right of the abscissa;
* the reference method ``_characteristic_roots(..., fast=False)`` (before this issue's
  speed-ups) for the distributed kernels.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
from chain_reference import linear_chain_eigenvalues
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import delays
from sdde.model.kernels import DelayKernel, as_kernel
from sdde.stability import roots as roots_module
from sdde.stability._rational_roots import characteristic_value, rational_roots
from sdde.stability.roots import (
    characteristic_roots,
    dominant_root,
    kernel_of,
    phase_type_components,
    roots_agree_with_count,
    unstable_root_count,
)


def degree(components: list[tuple[float, float, int]]) -> int:
    """Number of roots: 1 + the longest shape of each distinct rate (phases of one rate
    share a chain; φ in lowest terms)."""
    longest: dict[float, int] = {}
    for _, rate, shape in components:
        longest[rate] = max(longest.get(rate, 0), shape)
    return 1 + sum(longest.values())


def distinct_rates(components: list[tuple[float, float, int]]) -> bool:
    rates = sorted(rate for _, rate, _ in components)
    return all(b - a > 1e-2 * b for a, b in itertools.pairwise(rates))


def nearest_gap(found: np.ndarray, expected: np.ndarray) -> float:
    """Largest distance from an expected root to the nearest found one, relative to
    ``1 + |z|``; the two lists must have the same length."""
    assert found.shape == expected.shape
    gaps = np.min(np.abs(expected[:, None] - found[None, :]), axis=1)
    return float(np.max(gaps / (1.0 + np.abs(expected)), initial=0.0))


def check_sorted_pairs(z: np.ndarray) -> None:
    """Real parts descending (to the 1e-9 rounding the sort uses), each pair adjacent
    with ``Im > 0`` first and its partner the exact conjugate."""
    assert np.all(np.diff(np.round(z.real, 9)) <= 0)
    i = 0
    while i < z.size:
        if z[i].imag == 0.0:
            i += 1
            continue
        assert z[i].imag > 0 and z[i + 1] == np.conj(z[i]), z
        i += 2


# ------------------------------------------------------------------ the case
def test_gamma_two_returns_its_real_root_left_of_the_abscissa() -> None:
    """Gamma 2 (mean 1) at κ = 1: z (1 + z/2)² + 1 = 0 has a pair and a real root near
    −3.13, left of the abscissa −2; all three are returned, rightmost first."""
    z = characteristic_roots(1.0, delays.parse("gamma:shape=2,mean=1"), n=10)
    expected = np.roots([0.25, 1.0, 1.0, 1.0])
    assert z.size == 3
    assert nearest_gap(z, expected) <= 1e-13
    assert z[2].imag == 0.0 and z[2].real == pytest.approx(-3.1303954, abs=1e-7)
    assert z[0].real == z.real.max() and z[0].imag > 0
    check_sorted_pairs(z)


@pytest.mark.parametrize("kappa", [0.01, 0.2, 1.0, 5.0, 100.0])
def test_exponential_is_the_quadratic(kappa: float) -> None:
    z = characteristic_roots(kappa, delays.parse("exponential:mean=1"), n=5)
    disc = np.sqrt(complex(1.0 - 4.0 * kappa))
    assert nearest_gap(z, np.array([(-1 + disc) / 2, (-1 - disc) / 2])) <= 1e-14


def test_double_root_is_listed_twice() -> None:
    """Exponential at κ = 1/4: z² + z + 1/4 = (z + 1/2)², a double root (both copies, each
    to ~sqrt(eps), the accuracy a double root allows)."""
    z = characteristic_roots(0.25, delays.parse("exponential:mean=1"), n=5)
    assert z.size == 2
    assert np.all(np.abs(z + 0.5) <= 1e-7)


# -------------------------------------------------------------- whole spectrum, two routes
mixtures = st.lists(
    st.tuples(st.floats(0.05, 1.0), st.floats(0.2, 20.0), st.integers(1, 6)),
    min_size=1, max_size=3,
).map(lambda parts: [(w / sum(p[0] for p in parts), r, k) for w, r, k in parts])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(components=mixtures, kappa=st.floats(1e-3, 50.0))
def test_rational_roots_are_the_chain_eigenvalues(components, kappa) -> None:
    """Every root of z Q + κ P, each once, against the chain ODE's eigenvalues (unpolished,
    backward stable: the chain matrix has norm <= 20 + 50). Roots closer than 1e-2 (1 + |z|)
    to each other (a double root, or the clusters of two long chains of nearly equal
    rates) are ill-conditioned, the reference's eigenvalues there good only to ~1e-7 (mpmath
    shows the polished roots exact to rounding); such draws are skipped, as are draws with
    two rates closer than 1 % (separate chains of one rate are not minimal, see
    test_phases_sharing_a_rate_share_a_chain). Otherwise 1e-9 (1 + |z|). The residual
    check is for every draw."""
    z = rational_roots(kappa, tuple(components))
    check_sorted_pairs(z)
    value, _, scale = characteristic_value(kappa, tuple(components), z)
    assert np.all(np.abs(value) <= 1e-13 * scale)
    expected = linear_chain_eigenvalues(kappa, components)
    gap = np.abs(expected[:, None] - expected[None, :]) + np.eye(expected.size)
    if not distinct_rates(components) or np.any(gap < 1e-2 * (1 + np.abs(expected))):
        return
    assert nearest_gap(z, expected) <= 1e-9


@settings(max_examples=60, deadline=None, derandomize=True)
@given(components=mixtures, kappa=st.floats(1e-3, 50.0))
def test_whole_spectrum_agrees_with_the_certified_count(components, kappa) -> None:
    """The invariant the generator search keeps: the roots found right of the axis are
    the argument-principle count (when the count is decidable)."""
    law = delays.Mixture(
        components=tuple(delays.Gamma(shape=float(k), scale=1.0 / r) for _, r, k in components),
        weights=tuple(w for w, _, _ in components))
    count = unstable_root_count(kappa, law)
    z = characteristic_roots(kappa, law, n=100)
    assert z.size == degree(components)
    if count is not None:
        assert roots_agree_with_count(z, count)
    assert dominant_root(kappa, as_kernel(law)) == z[0]


@pytest.mark.parametrize("kappa", [0.1, 1.0, 7.0])
def test_phases_sharing_a_rate_share_a_chain(kappa: float) -> None:
    """Exponential and Erlang-2 of one rate r: φ = w₁ r/(r + z) + w₂ r²/(r + z)² has
    denominator (r + z)², so the spectrum is the cubic z (r + z)² + κ (w₁ r (r + z) +
    w₂ r²) (numpy.roots), not four roots (−r is a pole of Δ, never a root)."""
    w1, w2, r = 0.4, 0.6, 1.6  # mean w₁/r + 2 w₂/r = 1
    components = ((w1, r, 1), (w2, r, 2))
    cubic = np.polynomial.polynomial.polyadd(
        np.polynomial.polynomial.polymul([0.0, 1.0], [r * r, 2 * r, 1.0]),
        kappa * np.array([w1 * r * r + w2 * r * r, w1 * r]))
    expected = np.polynomial.polynomial.polyroots(cubic)
    z = rational_roots(kappa, components)
    assert z.size == 3
    assert nearest_gap(z, expected) <= 1e-12


@pytest.mark.parametrize("k", [1, 2, 3, 5, 10, 20, 40])
@pytest.mark.parametrize("kappa", [0.05, 1.0, 10.0])
def test_tall_erlang_chains_against_mpmath(k: int, kappa: float) -> None:
    """Erlang-k (mean 1): k (u − 1) u^k + κ = 0 in u = 1 + z/k, solved by mpmath at 50
    digits. The polished roots are good to 1e-10 (1 + |z|) even at k = 40, where the
    companion matrix in z alone loses several digits near the cluster at z = −k."""
    mpmath.mp.dps = 50
    coefficients = [k, -k] + [0] * (k - 1) + [kappa]  # k u^{k+1} − k u^k + κ
    u = np.array([complex(r) for r in mpmath.polyroots(coefficients, maxsteps=400,
                                                           extraprec=400)])
    expected = k * (u - 1.0)
    z = characteristic_roots(kappa, delays.erlang(k, 1.0), n=k + 5)
    assert z.size == k + 1
    assert nearest_gap(z, expected) <= 1e-10
    check_sorted_pairs(z)


@pytest.mark.parametrize("kappa", [0.05, 0.3, 1.0, 3.0, 10.0])
@pytest.mark.parametrize("spec", ["gamma:shape=2,mean=1", "gamma:shape=3,mean=1",
                                  "exponential:mean=1"])
def test_generator_roots_are_among_the_rational_ones(spec: str, kappa: float) -> None:
    """The generator search (a second method) finds only roots right of the abscissa;
    each is one of the rational path's roots (both polished to ~1e-10)."""
    law = delays.parse(spec)
    exact = characteristic_roots(kappa, law, n=100)
    searched = characteristic_roots(kappa, law, n=100, method="generator")
    assert searched.size >= 1
    for root in searched:
        assert np.min(np.abs(exact - root)) <= 1e-9 * (1 + abs(root))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_n_is_a_prefix(n: int) -> None:
    law = delays.Mixture(components=(delays.Exponential(scale=2.0), delays.erlang(3, 0.5)),
                         weights=(0.3, 0.7))
    full = characteristic_roots(0.7, law, n=100)
    assert np.array_equal(characteristic_roots(0.7, law, n=n), full[:n])


def test_thinned_kernels_are_not_rational() -> None:
    """A threshold's weight makes φ non-rational: no phase-type shortcut, and the roots
    stay right of where the kernel's rule is valid (the generator search)."""
    kernel = DelayKernel(delays.parse("gamma:shape=2,mean=1"), updates_per_delay=4.0,
                         threshold=3)
    assert phase_type_components(kernel) is None
    assert characteristic_roots(0.5, kernel, n=4).size >= 1


# ----------------------------------------------------------------- caches and the fast path
def test_equal_laws_share_one_kernel() -> None:
    """Equal (frozen, compared by value) laws map to one cached kernel; kernels pass
    through; the roots are the same whichever is passed."""
    a = delays.parse("lognormal:mean=1,cv=0.5")
    b = delays.parse("lognormal:mean=1,cv=0.5")
    assert kernel_of(a) is kernel_of(b)
    kernel = as_kernel(a)
    assert kernel_of(kernel) is kernel
    np.testing.assert_array_equal(characteristic_roots(1.0, a, n=4),
                                  characteristic_roots(1.0, kernel, n=4))


FAST_VS_REFERENCE = [
    ("uniform:low=0,high=2", 1.0), ("uniform:low=0.5,high=1.5", 3.0),
    ("gamma:shape=2.5,mean=1", 0.3), ("gamma:shape=2.5,mean=1", 3.0),
    ("lognormal:mean=1,cv=0.5", 1.0), ("lognormal:mean=1,cv=2", 3.0),
    ("pareto:shape=2.5,mean=1", 1.0), ("pareto:shape=2.5,mean=1", 10.0),
    ("weibull:shape=1.5,mean=1", 1.0), ("weibull:shape=0.7,mean=1", 0.3),
    ("shifted-exp:shift=0.5,mean=1", 1.0),
]


@pytest.mark.parametrize(("spec", "kappa"), FAST_VS_REFERENCE)
def test_fast_search_matches_the_reference(spec: str, kappa: float) -> None:
    """The first pass as sped up (cached setup, resolved eigenvalues only, conjugate
    folding, shorter patience for wandering guesses) returns the reference method's
    rightmost roots, to the polish's accuracy (both satisfy the 1e-10 residual bound;
    1e-9 (1 + |z|) between them)."""
    kernel = as_kernel(delays.parse(spec))
    for n in (1, 2, 6):
        fast = characteristic_roots(kappa, kernel, n=n)
        reference = roots_module._characteristic_roots(kappa, kernel, n, None, fast=False)
        assert fast.shape == reference.shape
        assert np.all(np.abs(fast - reference) <= 1e-9 * (1 + np.abs(reference)))


def test_folded_newton_is_newton_on_both_members() -> None:
    """``_newton(conjugates=True)`` (one start per pair, the conjugate appended) returns
    what Newton from every start returns."""
    kernel = as_kernel(delays.parse("weibull:shape=1.5,mean=1"))
    transform, abscissa = roots_module._transform_and_abscissa(kernel, False)
    starts = np.array([-0.4 + 1.0j, -0.4 - 1.0j, -1.5 + 4.0j, -1.5 - 4.0j, -0.2 + 0.0j])
    both = roots_module._newton(2.0, transform, starts, abscissa)
    folded = roots_module._newton(2.0, transform, starts, abscissa, conjugates=True)
    np.testing.assert_allclose(folded, both, rtol=0, atol=1e-12)


def test_root_on_the_axis_of_a_heavy_tail_is_the_full_laws() -> None:
    """Lognormal cv 1e-3 at a κ a rounding error below its threshold: the crossing pair
    lies a rounding error left of the axis; it is the full law's root (residual at
    rounding level), not the transient root of the law's body (4e-6 away)."""
    law = delays.parse("lognormal:mean=1,cv=0.001")
    kernel = as_kernel(law)
    kappa = 1.5707982646903174
    z = characteristic_roots(kappa, kernel, n=2)
    phi, _ = kernel.with_derivative(z)
    assert np.all(np.abs(z + kappa * phi) <= 1e-12)
    assert abs(z[0].real) <= 1e-9 and z[0].imag == pytest.approx(math.pi / 2, abs=1e-8)


@pytest.mark.parametrize(("spec", "kappa", "root"), [
    ("uniform:low=0,high=2", 0.3238051189459574, -0.79681213002002),
    ("shifted-exp:shift=0.5,mean=1", 0.32224140612404395, -0.7639320225002103),
])
def test_fast_search_keeps_a_double_root(spec: str, kappa: float, root: float) -> None:
    """At critical damping (κ and z₀ from ``sdde.symbolic.critical_damping``) the
    rightmost root is double: Newton converges to it only linearly, and the shorter
    patience of the first pass must not drop it. Listed twice, to ~sqrt(eps)."""
    z = characteristic_roots(kappa, delays.parse(spec), n=3)
    assert z[0] == z[1] and z[0].imag == 0.0
    assert z[0].real == pytest.approx(root, abs=1e-6)

"""Roots of very concentrated kernels (Erlang/gamma shapes up to 10⁴, near-deterministic
laws) against independent answers.

* Erlang ``k``: ``z (1 + z/k)^k + κ = 0`` is a polynomial; with ``w = 1 + z/k`` it is the
  trinomial ``k w^{k+1} − k w^k + κ``, solved by ``numpy.roots`` (companion matrix).
* Gamma of any shape: the crossing is closed form, ``κ*(k) = k tan(π/2k) sec^k(π/2k)`` at
  ``ω* = k tan(π/2k)``; the rightmost root is found to 30 digits by ``mpmath.findroot``
  on the exact equation from the point delay's ``W₀(−κ)`` (scipy's ``lambertw``).
* Near-deterministic laws: the roots are ``O(cv²|z|²)`` from the point delay's Lambert W
  roots (the mean is matched, so the first-order term cancels).

The issue these guard: ``sdde-analyze --workers 32 --delay erlang:k=5000 --lr 0.054``
counted two unstable roots but reported a rightmost root at ``Re z = −1.51`` and a
positive decay rate (Newton stalled at the closed form's ``~k·eps`` noise floor and the
converged unstable root was thrown away).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from sdde import Cluster, HessianSpectrum, delays
from sdde.delays import DelayLaw, Gamma
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.kernels import as_kernel
from sdde.stability import roots as roots_module
from sdde.stability.mean_field import critical_kappa
from sdde.stability.report import analyze_stability
from sdde.stability.roots import (
    characteristic_roots,
    roots_agree_with_count,
    unstable_root_count,
)

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


def gamma_critical(k: float) -> tuple[float, float]:
    """``(κ*, ω*)`` of the mean-1 gamma law of shape ``k > 1``."""
    a = math.pi / (2.0 * k)
    return k * math.tan(a) / math.cos(a) ** k, k * math.tan(a)


def gamma_rightmost(k: float, kappa: float) -> complex:
    """Rightmost root of ``z + κ (1 + z/k)^{−k}`` to 30 digits, from ``W₀(−κ)``.

    For ``k >= 20`` and ``κ`` in ``[0.5, 3]`` the rightmost root is within ``~2/k`` of
    the point delay's and Newton from there converges to it."""
    with mpmath.workdps(30):
        start = mpmath.mpc(complex(special.lambertw(-kappa, 0)))
        start = mpmath.mpc(start.real, abs(start.imag))
        k_mp, kappa_mp = mpmath.mpf(k), mpmath.mpf(kappa)
        root = mpmath.findroot(lambda z: z + kappa_mp * (1 + z / k_mp) ** (-k_mp), start)
        return complex(root)


def erlang_polynomial_rightmost(k: int, kappa: float) -> complex:
    """Rightmost root of ``z (1 + z/k)^k + κ`` from the trinomial in ``w = 1 + z/k``."""
    coefficients = np.zeros(k + 2)
    coefficients[0], coefficients[1], coefficients[-1] = k, -k, kappa
    z = k * (np.roots(coefficients) - 1.0)
    top = z[np.abs(z.real - z.real.max()) <= 1e-9 * (1 + abs(z.real.max()))]
    return complex(top[np.argmax(top.imag)])


# ------------------------------------------------------------ the reported case
def test_erlang_5000_unstable_pair_is_found() -> None:
    """The issue's case: κ = 32 × 0.054 = 1.728 > κ*(5000) = 1.57118; two unstable roots,
    the rightmost ``0.0678 + 1.6128i`` (mpmath on the exact equation)."""
    law = Gamma(shape=5000.0, scale=1 / 5000)
    exact = gamma_rightmost(5000.0, 1.728)
    z = characteristic_roots(1.728, law, n=2)
    assert unstable_root_count(1.728, law) == 2
    assert abs(z[0] - exact) <= 1e-9 and abs(z[1] - exact.conjugate()) <= 1e-9
    assert z[0].real > 0.06


def test_erlang_5000_report_is_consistent() -> None:
    """Through the report: the rightmost root is right of the axis and the decay rate is
    negative (growth), as the certified count says."""
    model = AsyncSGDModel(lr=0.054, spectrum=HessianSpectrum.parse("1"),
                          cluster=Cluster(workers=32, delay=delays.parse("erlang:k=5000")))
    report = analyze_stability(model)
    mode = report.modes[0]
    assert mode.unstable_roots == 2
    assert mode.root is not None and mode.root.real > 0.06
    assert mode.decay_rate < 0 and report.decay_rate < 0
    assert report.stable is False


# ------------------------------------------------- Erlang: polynomial reference
@SETTINGS
@given(k=st.integers(2, 160), side=st.sampled_from([-1.0, 1.0]),
       offset=st.floats(-6.0, -1.0))
def test_erlang_rightmost_root_is_the_polynomial_root(k: int, side: float,
                                                      offset: float) -> None:
    """κ within 10⁻⁶…10⁻¹ (relative) of κ*(k), either side: the rightmost root is the
    trinomial's, on the side of the axis the certified count says."""
    star, _ = gamma_critical(float(k))
    kappa = star * (1.0 + side * 10.0**offset)
    law = Gamma(shape=float(k), scale=1.0 / k)
    exact = erlang_polynomial_rightmost(k, kappa)
    z = characteristic_roots(kappa, law, n=2)
    count = unstable_root_count(kappa, law)
    assert count == (2 if side > 0 else 0)
    assert abs(z[0] - exact) <= 1e-8 * (1 + abs(exact))
    assert (count > 0) == (z[0].real >= 0)


# ---------------------------------------- gamma shapes up to 10⁴ near the crossing
SHAPES = st.floats(math.log(20.0), math.log(1e4)).map(math.exp)


@SETTINGS
@given(shape=SHAPES, integer=st.booleans(), side=st.sampled_from([-1.0, 1.0]),
       offset=st.floats(-7.0, -1.0))
def test_gamma_rightmost_root_sign_matches_the_count(shape: float, integer: bool,
                                                     side: float, offset: float) -> None:
    """Shapes 20…10⁴ (Erlang or not), κ within 10⁻⁷…10⁻¹ of κ*: the rightmost root
    agrees with mpmath's on the exact equation, its real part has the sign the certified
    count says, and the roots found agree with the count."""
    k = float(round(shape)) if integer else shape
    star, _ = gamma_critical(k)
    kappa = star * (1.0 + side * 10.0**offset)
    law = Gamma(shape=k, scale=1.0 / k)
    count = unstable_root_count(kappa, law)
    assert count == (2 if side > 0 else 0)
    z = characteristic_roots(kappa, law, n=4)
    exact = gamma_rightmost(k, kappa)
    assert abs(z[0] - exact) <= 1e-8 * (1 + abs(exact))
    assert (z[0].real > 0) == (count > 0)
    assert roots_agree_with_count(z, count)


@SETTINGS
@given(shape=st.floats(math.log(1.5), math.log(1e4)).map(math.exp))
def test_critical_kappa_puts_a_root_on_the_axis(shape: float) -> None:
    """Shapes 1.5…10⁴: ``critical_kappa`` is the closed form, the rightmost root there
    is ``iω*`` and the count steps from 0 to 2 across it."""
    law = Gamma(shape=shape, scale=1.0 / shape)
    star, omega = gamma_critical(shape)
    found = critical_kappa(law)
    assert found == pytest.approx(star, rel=1e-10)
    z = characteristic_roots(found, law, n=2)
    assert abs(z[0].real) <= 1e-9
    assert z[0].imag == pytest.approx(omega, rel=1e-9)
    assert unstable_root_count(found * (1 - 1e-7), law) == 0
    assert unstable_root_count(found * (1 + 1e-7), law) == 2


@pytest.mark.parametrize("kappa", [0.3, 1.0, 3.0, 10.0, 30.0])
@pytest.mark.parametrize("k", [1600, 5000, 10000])
def test_large_erlang_roots_agree_with_the_count(k: int, kappa: float) -> None:
    """Far from the crossing too (up to 10 unstable roots at κ = 30): the roots found
    right of the axis are exactly the certified count, and the rightmost is mpmath's."""
    law = Gamma(shape=float(k), scale=1.0 / k)
    count = unstable_root_count(kappa, law)
    assert count is not None
    z = characteristic_roots(kappa, law, n=4 + count)
    assert int(np.sum(z.real >= 0)) == count
    exact = gamma_rightmost(float(k), kappa)
    assert abs(z[0] - exact) <= 1e-8 * (1 + abs(exact))


# ---------------------------------------------------- near-deterministic laws
def near_deterministic(family: str, cv: float) -> DelayLaw:
    """Mean-1 law of the family with coefficient of variation ``cv``."""
    if family == "lognormal":
        return delays.parse(f"lognormal:mean=1,cv={cv!r}")
    if family == "uniform":
        half = math.sqrt(3.0) * cv
        return delays.parse(f"uniform:low={1 - half!r},high={1 + half!r}")
    return delays.parse(f"shifted-exp:shift={1 - cv!r},mean=1")


@settings(max_examples=20, deadline=None, derandomize=True)
@given(family=st.sampled_from(["lognormal", "uniform", "shifted-exp"]),
       cv=st.floats(math.log(1e-4), math.log(1e-2)).map(math.exp),
       kappa=st.floats(1.0, 2.5))
def test_near_deterministic_roots_approach_lambert_w(family: str, cv: float,
                                                     kappa: float) -> None:
    """The rightmost root is within ``O(cv² |z|²)`` of ``W₀(−κ)``, and its side of the
    axis is the certified count's (where the count is decidable)."""
    law = near_deterministic(family, cv)
    w = complex(special.lambertw(-kappa, 0))
    w = complex(w.real, abs(w.imag))
    z = characteristic_roots(kappa, law, n=2)
    assert abs(z[0] - w) <= 20.0 * cv**2 * (1 + abs(w)) ** 2 + 1e-9
    count = unstable_root_count(kappa, law)
    if count is not None:
        assert roots_agree_with_count(z, count)
        assert (count > 0) == (z[0].real >= 0)


@pytest.mark.parametrize("family", ["lognormal", "uniform", "shifted-exp"])
@pytest.mark.parametrize("cv", [1e-3, 1e-2])
def test_near_deterministic_critical_kappa_puts_a_root_on_the_axis(family: str,
                                                                   cv: float) -> None:
    """At ``critical_kappa`` the rightmost root is on the axis (to the rule's accuracy),
    and a little beyond the crossing the certified count and the root agree."""
    law = near_deterministic(family, cv)
    star = critical_kappa(law)
    assert star == pytest.approx(math.pi / 2, rel=10 * cv**2)
    z = characteristic_roots(star, law, n=2)
    assert abs(z[0].real) <= 1e-7
    for factor, expected in ((1 - 1e-4, 0), (1 + 1e-4, 2)):
        count = unstable_root_count(star * factor, law)
        assert count == expected
        zz = characteristic_roots(star * factor, law, n=2)
        assert (zz[0].real > 0) == (expected > 0)


# --------------------------------------------------------- the wider search
def test_wider_search_recovers_roots_the_generator_misses(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """With the generator and the rational shortcut blinded, the certified count (2 at
    κ = 5 for gamma shape 2.5, κ* = 3.08) drives the wider search to the same roots."""
    law = Gamma(shape=2.5, scale=0.4)
    expected = characteristic_roots(5.0, law, n=2)
    assert expected[0].real > 0
    monkeypatch.setattr(roots_module, "_generator_eigenvalues",
                        lambda *a, **k: np.empty(0, dtype=np.complex128))
    monkeypatch.setattr(roots_module, "_phase_type_roots",
                        lambda *a, **k: np.empty(0, dtype=np.complex128))
    found = characteristic_roots(5.0, law, n=2)
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-10)


def test_wider_search_uses_a_count_passed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """A quadrature kernel (Weibull, not concentrated: no count of its own) searches
    wider when the caller's count disagrees with the first pass."""
    law = delays.parse("weibull:shape=1.5,mean=1")
    kappa = 3.0 * critical_kappa(law)
    count = unstable_root_count(kappa, law)
    assert count is not None and count > 0
    expected = characteristic_roots(kappa, law, n=2)
    calls: list[int] = []
    original = roots_module._RootSearch.wider_guesses

    def spy(self: object, size: int, depth: int) -> np.ndarray:
        calls.append(depth)
        return original(self, size, depth)  # type: ignore[arg-type]

    monkeypatch.setattr(roots_module._RootSearch, "wider_guesses", spy)
    monkeypatch.setattr(roots_module, "_generator_eigenvalues",
                        lambda *a, **k: np.array([-5.0 + 0j]))
    blind = characteristic_roots(kappa, law, n=2)
    assert blind.size == 0 or blind[0].real < 0  # the first pass alone misses them
    found = characteristic_roots(kappa, law, n=2, unstable_count=count)
    assert calls and roots_agree_with_count(found, count)
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_bad_unstable_count(bad: object) -> None:
    with pytest.raises(ValueError, match="unstable_count"):
        characteristic_roots(1.0, Gamma(shape=2.0, scale=0.5), unstable_count=bad)  # type: ignore[arg-type]


def test_newton_accepts_the_noise_floor_of_a_closed_form() -> None:
    """At ``k = 10⁴`` the closed form is good to ``~k·eps``: Newton stalls there, and the
    root (residual far below the documented 1e-10 scale) is kept, not dropped."""
    kernel = as_kernel(Gamma(shape=1e4, scale=1e-4))
    transform, abscissa = roots_module._transform_and_abscissa(kernel, False)
    start = np.array([complex(special.lambertw(-1.0, 0))])
    start = np.array([complex(start[0].real, abs(start[0].imag))])
    found = roots_module._newton(1.0, transform, start, abscissa)
    assert found.size == 1
    assert abs(found[0] - gamma_rightmost(1e4, 1.0)) <= 1e-10


# ------------------------------------------------- the fastest worker count
@pytest.mark.parametrize("spec", ["erlang:k=1600", "erlang:k=5000", "erlang:k=10000",
                                  "lognormal:mean=1,cv=0.001",
                                  "uniform:low=0.999,high=1.001",
                                  "shifted-exp:shift=0.999,mean=1"])
def test_fastest_worker_count_does_not_drift(spec: str) -> None:
    """Concentrated rounds behave like deterministic ones: the fastest count at
    η = 0.054 is the point delay's (κ = η n nearest the double root at 1/e: n = 7), at
    the point delay's rate to within the kernel's spread."""
    def report(delay: DelayLaw) -> tuple[int | None, float]:
        model = AsyncSGDModel(lr=0.054, spectrum=HessianSpectrum.parse("1"),
                              cluster=Cluster(workers=32, delay=delay))
        r = analyze_stability(model)
        return r.optimal_workers, r.optimal_decay_rate

    point_n, point_rate = report(delays.Deterministic(value=1.0))
    n, rate = report(delays.parse(spec))
    assert point_n == 7 and n == point_n
    assert rate == pytest.approx(point_rate, rel=2e-2)
    # and by brute force over every count: the rate is −Re z₀ of the exact kernel
    kernel = as_kernel(delays.parse(spec))
    rates = {m: -characteristic_roots(0.054 * m, kernel, n=1)[0].real for m in range(1, 30)}
    assert max(rates, key=lambda m: rates[m]) == n

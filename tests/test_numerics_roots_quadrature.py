"""sdde's own Brent root finder and adaptive Gauss–Kronrod rule (sdde._numerics).

They replace ``scipy.optimize.brentq`` and ``scipy.integrate.quad`` on the command's
start-up path (importing those two modules costs 0.35 s). Independent answers: SciPy's
``brentq`` itself (the port must return the same float, bit for bit), closed-form
integrals, and QUADPACK.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize

from sdde import delays
from sdde._numerics import adaptive_gauss_kronrod, brentq
from sdde.cluster.cluster import expected_max

coefficients = st.lists(st.floats(-5.0, 5.0, allow_nan=False), min_size=5, max_size=5)


def _function(c: list[float]):  # a smooth function with several sign changes
    return lambda x: c[0] + c[1] * x + c[2] * x**3 + c[3] * math.sin(3 * x) + c[4] * math.exp(-x)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(c=coefficients, xtol_exp=st.floats(-15.0, -3.0), rtol_factor=st.floats(1.0, 1000.0))
def test_brentq_returns_scipys_root_bit_for_bit(c: list[float], xtol_exp: float,
                                                rtol_factor: float) -> None:
    f = _function(c)
    if np.sign(f(-3.0)) * np.sign(f(3.0)) > 0:  # no bracket (signs: products underflow)
        return
    xtol, rtol = 10.0**xtol_exp, 4 * np.finfo(float).eps * rtol_factor
    assert brentq(f, -3.0, 3.0, xtol=xtol, rtol=rtol) == optimize.brentq(
        f, -3.0, 3.0, xtol=xtol, rtol=rtol)


def test_brentq_refuses_what_scipy_refuses() -> None:
    with pytest.raises(ValueError, match="different signs"):
        brentq(lambda x: x * x + 1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="rtol"):
        brentq(lambda x: x, -1.0, 1.0, rtol=1e-20)
    with pytest.raises(RuntimeError, match="converge"):
        brentq(lambda x: x**3 - 0.3, 0.0, 1.0, xtol=1e-300, maxiter=2)
    assert brentq(lambda x: x, 0.0, 1.0) == 0.0  # a root on the bracket


@settings(max_examples=100, deadline=None, derandomize=True)
@given(power=st.floats(-0.8, 6.0), rate=st.floats(0.0, 20.0))
def test_gauss_kronrod_against_closed_forms(power: float, rate: float) -> None:
    """∫₀¹ t^p dt = 1/(p+1) (an end-point singularity for p < 0, down to the −0.8 that
    E[max]'s tail integral meets for the heaviest Pareto tail the contract accepts), and
    ∫₀^π e^{−r t} sin t dt = (1 + e^{−rπ}) / (1 + r²), to the asked 1e-12."""
    value = adaptive_gauss_kronrod(lambda t: t**power, [0.0, 1.0], atol=1e-14, rtol=1e-12)
    assert value == pytest.approx(1.0 / (power + 1.0), rel=1e-11)
    value = adaptive_gauss_kronrod(lambda t: np.exp(-rate * t) * np.sin(t), [0.0, math.pi],
                                   atol=1e-15, rtol=1e-12)
    assert value == pytest.approx((1 + math.exp(-rate * math.pi)) / (1 + rate * rate),
                                  rel=1e-11)


def test_gauss_kronrod_gives_up_loudly() -> None:
    with pytest.raises(RuntimeError, match="no convergence"):
        adaptive_gauss_kronrod(lambda t: 1.0 / t, [0.0, 1.0], atol=1e-12, rtol=1e-12,
                               max_rounds=50)


def _expected_max_by_quadpack(n: int, law: delays.DelayLaw) -> float:
    """E[max of n] = ∫ (1 − F^n) dx for a law on [0, ∞), by QUADPACK (the old route)."""
    return integrate.quad(lambda x: -math.expm1(n * math.log1p(-float(law.sf(x))))
                          if float(law.sf(x)) < 0.5 else 1.0 - float(law.cdf(x)) ** n,
                          0.0, math.inf, limit=500, epsabs=1e-13, epsrel=1e-12)[0]


@pytest.mark.parametrize("spec", ["exponential:mean=1", "gamma:shape=2,mean=1",
                                  "weibull:shape=1.5,mean=1", "lognormal:mean=1,cv=0.5"])
@pytest.mark.parametrize("n", [2, 32, 1000])
def test_expected_max_against_quadpack(spec: str, n: int) -> None:
    law = delays.parse(spec)
    assert expected_max([(n, law)]) == pytest.approx(_expected_max_by_quadpack(n, law),
                                                     rel=1e-9)


@pytest.mark.parametrize("n", [2, 32, 1000])
def test_expected_max_of_exponentials_is_harmonic(n: int) -> None:
    """Rounds Exp(1): E[max of n] = H_n exactly; Pareto(α, 1): E[max of 2] = 2α²/(2α−1)/(α−1)
    ... checked through the order statistics' closed form E[max] = n α B(n, 1 − 1/α)."""
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    assert expected_max([(n, delays.Exponential(scale=1.0))]) == pytest.approx(harmonic,
                                                                               rel=1e-11)
    alpha = 1.2  # the heaviest tail the input contract accepts: the tail integral matters
    exact = n * math.exp(math.lgamma(n) + math.lgamma(1.0 - 1.0 / alpha)
                         - math.lgamma(n + 1.0 - 1.0 / alpha))
    assert expected_max([(n, delays.Pareto(shape=alpha, scale=1.0))]) == pytest.approx(
        exact, rel=1e-9)

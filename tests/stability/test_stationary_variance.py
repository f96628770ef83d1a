"""Stationary variance of a stable mode against closed forms and a second method."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg

from sdde import delays
from sdde.stability.mean_field import critical_kappa, stationary_variance

# Parseval quadrature is asked for 1e-11 relative per piece and neglects a tail of order
# κ/W³ ≈ 1e-10 relative (theory/stability.md): 1e-9 leaves an order of magnitude.
RTOL = 1e-9


def kuechler_mensch(kappa: float) -> float:
    """Point delay: Var = (1 + sin κ) / (2 κ cos κ) for σ = 1 (Küchler & Mensch 1992)."""
    return (1.0 + math.sin(kappa)) / (2.0 * kappa * math.cos(kappa))


def erlang_lyapunov(kappa: float, k: int) -> float:
    """Independent method: the Erlang-k kernel (mean 1) is a chain of k exponential stages
    y_1' = k(x − y_1), y_j' = k(y_{j−1} − y_j), and dx = −κ y_k dt + dW. The stationary
    covariance S solves A S + S Aᵀ + B Bᵀ = 0; Var x = S[0, 0]."""
    a = np.zeros((k + 1, k + 1))
    a[0, k] = -kappa
    for j in range(1, k + 1):
        a[j, j - 1] = k
        a[j, j] = -k
    b = np.zeros((k + 1, k + 1))
    b[0, 0] = 1.0
    return float(linalg.solve_continuous_lyapunov(a, -b)[0, 0])


@pytest.mark.parametrize("kappa", [0.01, 0.3, 1 / math.e, 1.0, 1.5, 1.57])
def test_point_delay_matches_closed_form(kappa: float) -> None:
    got = stationary_variance(kappa, delays.Deterministic(value=2.5))
    assert got == pytest.approx(kuechler_mensch(kappa), rel=RTOL)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.95])
def test_erlang_kernel_matches_lyapunov_equation(k: int, fraction: float) -> None:
    law = delays.erlang(k, 1.0)
    kappa_star = critical_kappa(law)
    kappa = fraction * (kappa_star if math.isfinite(kappa_star) else 4.0)
    assert stationary_variance(kappa, law) == pytest.approx(erlang_lyapunov(kappa, k),
                                                            rel=RTOL)


def test_small_gain_limit_is_ornstein_uhlenbeck() -> None:
    # As κ → 0 the delay is negligible on the relaxation scale 1/κ: Var → σ²/(2κ),
    # with a first-order correction of order κ · (mean delay) = relative 1e-4 here.
    kappa = 1e-4
    for spec in ("deterministic", "uniform:low=0,high=2", "gamma:shape=3"):
        v = stationary_variance(kappa, delays.parse(spec), sigma=2.0)
        assert v == pytest.approx(4.0 / (2.0 * kappa), rel=3e-4)


def test_unstable_mode_has_infinite_variance() -> None:
    law = delays.Deterministic(value=1.0)
    assert stationary_variance(math.pi / 2 * 1.001, law) == math.inf
    assert stationary_variance(3.0, law) == math.inf


@settings(max_examples=20, deadline=None, derandomize=True)
@given(kappa=st.floats(0.05, 1.5), sigma=st.floats(0.1, 10.0), scale=st.floats(0.1, 10.0))
def test_variance_scales_with_sigma_squared_and_not_with_time_unit(
        kappa: float, sigma: float, scale: float) -> None:
    law = delays.parse("shifted-exp:shift=0.5,mean=1")
    base = stationary_variance(kappa, law)
    assert stationary_variance(kappa, law.scaled(scale), sigma=sigma) == pytest.approx(
        sigma**2 * base, rel=RTOL)


def test_variance_grows_towards_the_threshold() -> None:
    law = delays.erlang(2, 1.0)
    values = [stationary_variance(k, law) for k in (1.0, 2.0, 3.0, 3.9, 3.99)]
    assert all(b > a for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(("kappa", "sigma"), [(0.0, 1.0), (-1.0, 1.0), (math.inf, 1.0),
                                              (1.0, -1.0), (1.0, math.nan)])
def test_bad_arguments_raise(kappa: float, sigma: float) -> None:
    with pytest.raises(ValueError):
        stationary_variance(kappa, delays.Deterministic(value=1.0), sigma=sigma)

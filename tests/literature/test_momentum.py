"""Asynchrony as momentum (sdde.literature.momentum): geometric staleness is a heavy ball.

Independent answers: the discrete-time model's own mean recursion (an IIR filter over the
truncated geometric weights) and its threshold scan, the renewal-theory staleness of
exponential rounds inside analyze_stability, and the roots of the heavy ball's quadratic.
The derivation is theory/derivations/implicit_momentum.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sdde
from sdde.literature.momentum import geometric_critical_alpha, heavy_ball, implicit_momentum
from sdde.stability.discrete import discrete_critical_alpha, discrete_moments


def _geometric_weights(p: float) -> np.ndarray:
    cut = int(np.ceil(np.log(1e-18) / np.log(1 - p))) if p < 1 else 0
    return p * (1 - p) ** np.arange(cut + 1)


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.08, 1.0), fraction=st.floats(0.01, 1.5))
def test_mean_recursion_is_the_heavy_ball(p: float, fraction: float) -> None:
    alpha = fraction * geometric_critical_alpha(p)
    mean, _ = discrete_moments(alpha, _geometric_weights(p), 200)
    hb = heavy_ball(alpha, p).mean(200)
    scale = max(1.0, float(np.max(np.abs(mean))))
    assert np.max(np.abs(mean - hb)) <= 1e-10 * scale


@settings(max_examples=15, deadline=None)
@given(p=st.floats(0.08, 1.0))
def test_threshold_of_geometric_staleness(p: float) -> None:
    assert discrete_critical_alpha(_geometric_weights(p)) == pytest.approx(
        geometric_critical_alpha(p), rel=1e-8)


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.01, 1.0), alpha=st.floats(1e-3, 500.0))
def test_stable_iff_spectral_radius_below_one(p: float, alpha: float) -> None:
    hb = heavy_ball(alpha, p)
    radius = hb.spectral_radius
    if abs(radius - 1.0) > 1e-9:
        assert hb.stable == (radius < 1.0)
    assert hb.stable == (alpha < geometric_critical_alpha(p))


@pytest.mark.parametrize("n", [2, 3, 8, 16])  # the report checks the discrete model up to 16
def test_exponential_workers_discrete_threshold_is_2_2n_minus_1(n: int) -> None:
    # exponential rounds: the exact (renewal) staleness is geometric with p = 1/n, so the
    # report's discrete-time threshold is the heavy ball's, α* = 2(2n − 1)
    model = sdde.AsyncSGDModel(lr=0.01, cluster=sdde.Cluster(
        workers=n, delay=sdde.delays.parse("exponential:mean=1")),
        spectrum=sdde.HessianSpectrum.parse("1"))
    discrete = sdde.analyze_stability(model, optimise_workers=False).discrete
    assert discrete is not None and discrete.staleness == "exact"
    assert discrete.critical_lr == pytest.approx(2 * (2 * n - 1), rel=1e-9)
    assert implicit_momentum(n) == pytest.approx(1 - 1 / n, rel=1e-15)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: heavy_ball(0.0, 0.5), "alpha"),
    (lambda: heavy_ball(math.inf, 0.5), "alpha"),
    (lambda: heavy_ball(1.0, 0.0), "p must be"),
    (lambda: heavy_ball(1.0, 1.5), "p must be"),
    (lambda: implicit_momentum(0), "whole number"),
    (lambda: implicit_momentum(True), "whole number"),
    (lambda: geometric_critical_alpha(-0.1), "p must be"),
])
def test_bad_input(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()

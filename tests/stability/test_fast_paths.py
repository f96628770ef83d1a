"""The fast paths behind the scheduler against the general methods they shortcut:
the Lyapunov-equation variance of phase-type kernels and the one-pass variance curve
against the adaptive Parseval integral (``stationary_variance``), the rational dominant
root against the generator's roots, and the vectorised quantile bisection against the
scalar one (identical, step for step)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import Cluster, delays
from sdde._numerics import invert_monotone, invert_monotone_many
from sdde.cluster.cluster import WorkerGroup
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.kernels import as_kernel
from sdde.model.spectrum import HessianSpectrum
from sdde.stability.mean_field import (
    critical_kappa,
    phase_type_stationary_variance,
    stationary_variance,
    stationary_variance_curve,
)
from sdde.stability.roots import characteristic_roots, dominant_decay_rate

erlang_mixtures = st.builds(
    lambda shapes, means, w: delays.Mixture(
        components=tuple(delays.parse(f"gamma:shape={k},mean={m}") for k, m in
                         zip(shapes, means, strict=False)),
        weights=tuple(np.asarray(w[:len(shapes)]) / np.sum(w[:len(shapes)]))),
    st.lists(st.integers(1, 5), min_size=2, max_size=3),
    st.lists(st.floats(0.3, 4.0), min_size=3, max_size=3),
    st.lists(st.floats(0.05, 1.0), min_size=3, max_size=3))


@settings(max_examples=30, deadline=None)
@given(law=erlang_mixtures, fraction=st.floats(0.01, 0.9))
def test_lyapunov_variance_is_the_parseval_integral(law, fraction):
    """Two independent routes to the same stationary variance: a Lyapunov equation of the
    linear-chain system and the frequency integral. Both are accurate to ~1e-10."""
    kernel = as_kernel(law)
    kappa = fraction * min(critical_kappa(kernel), 20.0)
    fast = phase_type_stationary_variance(kappa, kernel, 0.7)
    assert fast == pytest.approx(stationary_variance(kappa, kernel, 0.7), rel=1e-8)


def test_lyapunov_variance_closed_form_and_refusals():
    k = as_kernel(delays.parse("exponential:mean=2"))
    for kappa in (0.1, 1.0, 7.0):  # z² + z + κ: v = (1 + κ) / (2κ), stable for every κ
        assert phase_type_stationary_variance(kappa, k) == pytest.approx(
            (1 + kappa) / (2 * kappa), rel=1e-12)
    assert phase_type_stationary_variance(1.0, as_kernel(delays.parse("lognormal:mean=1,cv=1"))
                                          ) is None
    erlang = as_kernel(delays.parse("gamma:shape=3,mean=1"))
    assert math.isinf(phase_type_stationary_variance(1.01 * critical_kappa(erlang), erlang))


def _thinned_mixture() -> AsyncSGDModel:
    fast, slow = delays.parse("gamma:shape=4,mean=1"), delays.parse("exponential:mean=3")
    cluster = Cluster(workers=[WorkerGroup(workers=12, delay=fast),
                               WorkerGroup(workers=4, delay=slow)], threshold=30)
    return AsyncSGDModel(lr=1.0, cluster=cluster, spectrum=HessianSpectrum.parse("1"))


@pytest.mark.parametrize("kernel", [
    as_kernel(delays.parse("lognormal:mean=1,cv=1")),
    as_kernel(delays.parse("shifted-exp:shift=0.5,mean=1")),
    as_kernel(delays.parse("two-point:time=1,p=0.1,slowdown=5")),
    _thinned_mixture().kernel,
], ids=["lognormal", "shifted-exp", "two-point", "thinned-mixture"])
def test_variance_curve_is_stationary_variance(kernel):
    """The one-pass curve differs from the adaptive integral by its far cut, at most
    ``1.5 κ/W²`` absolute (W = 64(1 + κ_max) for rule kernels and atoms, else 2000(1 + κ)),
    by its quadrature: a gain is accepted when the 16- and 32-node sums agree to 1e-8
    relative, so it is trusted to a few 1e-8 (3e-8 allowed; 1.1e-8 is the largest seen)."""
    kappas = np.geomspace(0.004, 0.8 * min(critical_kappa(kernel), 5.0), 4)
    curve = stationary_variance_curve(kappas, kernel)
    atoms = kernel.law.atoms()[0].size > 0
    far = (2000.0 if kernel.fast and not atoms else 64.0) * (1.0 + kappas.max())
    for kappa, value in zip(kappas, curve, strict=True):
        exact = stationary_variance(float(kappa), kernel)
        assert abs(value - exact) <= 1.5 * kappa / far**2 + 3e-8 * exact


def test_variance_curve_is_infinite_beyond_the_threshold():
    kernel = as_kernel(delays.parse("gamma:shape=4,mean=1"))
    star = critical_kappa(kernel)
    assert np.all(np.isinf(stationary_variance_curve(np.array([star, 2 * star]), kernel)))


@settings(max_examples=30, deadline=None)
@given(law=erlang_mixtures, kappa=st.floats(0.01, 3.0))
def test_rational_dominant_root_is_the_generators(law, kappa):
    """Where the generator finds a root right of the abscissa, the rational shortcut's
    dominant root is that root (both polished to ~1e-10)."""
    kernel = as_kernel(law)
    rate, exact = dominant_decay_rate(kappa, kernel)
    assert exact
    roots = characteristic_roots(kappa, kernel, n=1)
    if roots.size:
        assert rate == pytest.approx(-roots[0].real, rel=1e-7, abs=1e-9)
    else:  # every root is left of the abscissa −min r_c: the continued root is too
        assert rate >= -law.normalized().laplace_abscissa - 1e-9


def test_dominant_rate_falls_back_to_the_abscissa_bound():
    kernel = _thinned_mixture().kernel
    for kappa in (0.05, 0.5):
        rate, exact = dominant_decay_rate(kappa, kernel)
        roots = characteristic_roots(kappa, kernel, n=1)
        assert exact == bool(roots.size)
        if roots.size:
            assert rate == pytest.approx(-roots[0].real)


@settings(max_examples=40, deadline=None)
@given(levels=st.lists(st.floats(1e-9, 1 - 1e-9), min_size=1, max_size=20),
       law=st.sampled_from(["lognormal:mean=1,cv=2", "weibull:shape=0.7,mean=2",
                            "two-point:time=1,p=0.2,slowdown=4",
                            "shifted-exp:shift=0.5,mean=1"]))
def test_vector_bisection_is_the_scalar_one(levels, law):
    """Each level follows the scalar bisection's steps: the results are equal, bit for bit."""
    d = delays.parse(law)
    lo, hi = d.support
    q = np.array(levels)
    vector = invert_monotone_many(lambda x: np.asarray(d.cdf(x), dtype=float), q, lo, hi)
    scalar = [invert_monotone(lambda x: float(d.cdf(x)), float(v), lo, hi) for v in q]
    assert vector.tolist() == scalar

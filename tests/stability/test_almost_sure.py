"""The almost-sure divergence threshold (``sdde.stability.almost_sure``) against independent
answers: a plain-numpy twin of the compiled kernel, the reference simulator's own event loop
on the same push schedule, the exact exponent and root of deterministic rounds, the one-worker
closed form, fresh estimates from other seeds for the table, and (slow) the simulator's
measured divergence threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import Cluster, StepPolicy, delays
from sdde.cluster._staleness_sim import push_schedule
from sdde.simulator.objectives import QuadraticObjective
from sdde.simulator.server import _replay
from sdde.stability import almost_sure
from sdde.stability._lyapunov_kernel import lyapunov_sweep


def numpy_twin(workers: np.ndarray, n: int, gains: np.ndarray, factors: np.ndarray,
               threshold: int, burn_in: int, batch: int, renorm: int, y0: np.ndarray,
               theta0: float) -> tuple[np.ndarray, np.ndarray]:
    """The recursion written plainly: θ ← θ − a g(s) y_w if accepted, then y_w ← θ."""
    n_batches = (workers.size - burn_in) // batch
    logs = np.zeros((n_batches, gains.size))
    accepted = np.zeros(n_batches, dtype=np.int64)
    y = np.repeat(y0[:, None].astype(float), gains.size, axis=1)
    theta = np.full(gains.size, float(theta0))
    pulled = np.zeros(n, dtype=np.int64)
    acc, at_start = np.zeros(gains.size), np.zeros(gains.size)
    updates = updates_at_start = 0
    for e in range(burn_in + n_batches * batch):
        w = int(workers[e])
        s = updates - pulled[w]
        if threshold < 0 or s <= threshold:
            theta = theta - gains * factors[min(s, factors.size - 1)] * y[w]
            updates += 1
        y[w] = theta
        pulled[w] = updates
        if (e + 1) % renorm == 0:
            big = np.maximum(np.abs(theta), np.abs(y).max(axis=0))
            acc += np.log(big)
            y /= big
            theta = theta / big
            done = e + 1 - burn_in
            if done == 0:
                at_start, updates_at_start = acc.copy(), updates
            elif done > 0 and done % batch == 0:
                logs[done // batch - 1] = acc - at_start
                accepted[done // batch - 1] = updates - updates_at_start
                at_start, updates_at_start = acc.copy(), updates
    return logs, accepted


@pytest.mark.parametrize("threshold", [-1, 2, 5])
def test_kernel_equals_its_numpy_twin(threshold: int) -> None:
    rng = np.random.default_rng(0)
    n = 6
    cluster = Cluster(workers=n, delay=delays.parse("gamma:shape=2,mean=1"))
    workers = almost_sure.push_workers(cluster, 300.0, rng).astype(np.int64)
    gains = np.linspace(0.05, 1.4, 9)
    factors = 1.0 / (1.0 + 0.1 * np.arange(12))
    y0 = rng.standard_normal(n)
    got = lyapunov_sweep(workers, n, gains, factors, threshold, 120, 600, 60, y0, 0.7)
    want = numpy_twin(workers, n, gains, factors, threshold, 120, 600, 60, y0, 0.7)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-9)
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize(("spec", "n", "kappa", "threshold", "policy"), [
    ("exponential:mean=1", 4, 3.0, -1, None),
    ("shifted-exp:shift=0.5,mean=1", 8, 2.2, -1, None),
    ("gamma:shape=2,mean=1", 5, 2.5, 6, None),
    ("uniform:low=0,high=2", 6, 2.0, -1, "inverse"),
])
def test_kernel_is_the_reference_simulators_server(spec: str, n: int, kappa: float,
                                                   threshold: int, policy: str | None) -> None:
    """The same push schedule through the simulator's event loop (noise-free, h = 1,
    every worker holding θ₀ = 1): the kernel's log-norm of (θ, y) after all pushes equals
    the one rebuilt from the simulator's θ record (1e-8)."""
    law = delays.parse(spec)
    times, workers = push_schedule([(n, law)], 300.0, np.random.default_rng(1))
    workers = np.ascontiguousarray(workers, dtype=np.int64)
    lr = kappa / n
    n_updates = int(0.9 * workers.size) if threshold < 0 else workers.size // 2
    stale = np.arange(n_updates + 1)
    factors = 1.0 / (1.0 + stale) if policy == "inverse" else np.ones(stale.size)
    out = _replay(times, workers, n, QuadraticObjective(curvatures=np.array([1.0]), noise=0.0),
                  lr, factors, threshold, np.array([1.0]), n_updates,
                  np.random.default_rng(0), 1, True, 1e300, "compiled", None)
    accepted = out["accepted"]
    pushes = int(np.flatnonzero(accepted)[n_updates - 1]) + 1  # the push of the last update
    thetas = out["theta"][: n_updates + 1, 0]
    held, k = np.ones(n), 0
    for e in range(pushes):
        k += int(accepted[e])
        held[workers[e]] = thetas[k]
    expected = math.log(max(abs(thetas[k]), float(np.abs(held).max())))
    logs, applied = lyapunov_sweep(workers[:pushes], n, np.array([lr]),
                                   factors if policy else np.ones(1), threshold, 0, pushes, 1,
                                   np.ones(n), 1.0)
    assert applied[0] == n_updates
    assert logs[0, 0] == pytest.approx(expected, rel=1e-8, abs=1e-8)


def exact_deterministic_gamma(n: int, kappa: float) -> float:
    """``n log ρ`` of ``z^n − z^{n−1} + κ/n`` (growth per mean round), from numpy's roots."""
    coefficients = np.zeros(n + 1)
    coefficients[0], coefficients[1], coefficients[-1] = 1.0, -1.0, kappa / n
    return float(n * np.log(np.max(np.abs(np.roots(coefficients)))))


@pytest.mark.parametrize("n", [2, 3, 8, 32])
def test_deterministic_rounds_exponent_is_the_recursions_spectral_radius(n: int) -> None:
    """Constant staleness n − 1: the exponent is exact up to the transient (2e-3)."""
    cluster = Cluster(workers=n, delay=delays.parse("deterministic:value=1"))
    kappas = np.array([0.5, 1.2, 1.6, 2.0, 2.5])
    curve = almost_sure.lyapunov_curve(cluster, kappas, rounds=3000.0, batches=1)
    exact = [exact_deterministic_gamma(n, k) for k in kappas]
    np.testing.assert_allclose(curve.gamma, exact, atol=2e-3)


@given(st.integers(2, 400))
@settings(max_examples=40, deadline=None)
def test_deterministic_threshold_puts_a_root_on_the_unit_circle(n: int) -> None:
    kappa = almost_sure.deterministic_threshold(n)
    coefficients = np.zeros(n + 1)
    coefficients[0], coefficients[1], coefficients[-1] = 1.0, -1.0, kappa / n
    assert np.max(np.abs(np.roots(coefficients))) == pytest.approx(1.0, abs=1e-9)
    assert math.pi / 2 < kappa <= 2.0  # decreasing to π/2, the point delay's κ*


def test_closed_forms() -> None:
    one = Cluster(workers=1, delay=delays.parse("lognormal:mean=1,cv=0.5"))
    assert almost_sure.almost_sure_threshold(one).kappa == 2.0  # θ ← (1 − κ) θ
    halved = StepPolicy(name="table", values=(0.5,))
    assert almost_sure.almost_sure_threshold(one, halved).kappa == 4.0
    det = Cluster(workers=8, delay=delays.parse("deterministic:value=3"))
    t = almost_sure.almost_sure_threshold(det)
    assert (t.kappa, t.method) == (almost_sure.deterministic_threshold(8), "closed form")
    # a cut-off below the constant staleness n − 1 drops every push: nothing moves
    dropped = Cluster(workers=8, delay=delays.parse("deterministic:value=1"), threshold=3)
    assert almost_sure.almost_sure_threshold(dropped).kappa == math.inf


@pytest.mark.parametrize(("spec", "n"), [("exponential:mean=1", 8), ("gamma:shape=2,mean=1", 16),
                                         ("lognormal:mean=1,cv=0.5", 48),
                                         ("exponential:mean=1", 600)])
def test_table_agrees_with_fresh_estimates(spec: str, n: int) -> None:
    """Each table entry (or its interpolation between worker counts: 48 and 600 are not
    tabulated) is within 1.5 combined 95 % half-widths of an estimate from another seed
    (two independent estimates: their difference has that combined half-width)."""
    cluster = Cluster(workers=n, delay=delays.parse(spec).scaled(2.5))  # any mean
    table = almost_sure.tabulated_threshold(cluster)
    assert table is not None and table.method.startswith("tabulated")
    fresh = almost_sure.almost_sure_threshold(cluster, rng=np.random.default_rng(99),
                                              rel_tol=0.01, use_table=False)
    combined = math.hypot(table.half_width, fresh.half_width)
    assert abs(table.kappa - fresh.kappa) <= 1.5 * combined


def test_table_does_not_apply_to_cut_offs_policies_or_unknown_laws() -> None:
    law = delays.parse("gamma:shape=2,mean=1")
    assert almost_sure.tabulated_threshold(Cluster(workers=8, delay=law, threshold=5)) is None
    assert almost_sure.tabulated_threshold(Cluster(workers=8, delay=law),
                                           StepPolicy.parse("inverse")) is None
    assert almost_sure.tabulated_threshold(
        Cluster(workers=8, delay=delays.parse("gamma:shape=2.5,mean=1"))) is None


def test_estimate_is_reproducible_and_cached() -> None:
    cluster = Cluster(workers=6, delay=delays.parse("gamma:shape=2.5,mean=1"))
    a = almost_sure.almost_sure_threshold(cluster, rel_tol=0.02)
    b = almost_sure.almost_sure_threshold(cluster, rel_tol=0.02)
    c = almost_sure.almost_sure_threshold(cluster, rng=np.random.default_rng(0), rel_tol=0.02,
                                          use_table=False)
    assert a is b and a.kappa == c.kappa and a.method == "Lyapunov estimate"
    assert a.half_width <= 0.02 * a.kappa


def test_first_crossing_from_below_is_reported() -> None:
    kappas = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert almost_sure.first_upward_crossing(kappas, np.array([-1, 1, -1, 1, 2.0])) == 0
    assert almost_sure.first_upward_crossing(kappas, np.array([1, -1, -1, 1, 2.0])) == 2
    assert almost_sure.first_upward_crossing(kappas, np.array([-1.0] * 5)) is None


def test_tail_index() -> None:
    assert almost_sure.gaussian_tail_index(-0.1, 0.1) == pytest.approx(2.0)
    assert math.isnan(almost_sure.gaussian_tail_index(0.1, 0.1))
    assert almost_sure.gaussian_tail_index(-0.1, 0.0) == math.inf


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "n", "policy"), [
    ("exponential:mean=1", 4, "constant"), ("gamma:shape=2,mean=1", 2, "constant"),
    ("uniform:low=0,high=2", 16, "constant"),
    # damping policies, where the mean-field κ* is 27 % too high (23.3) or infinite
    ("gamma:shape=2,mean=1", 16, "geometric:0.9"), ("gamma:shape=2,mean=1", 16, "inverse")])
def test_estimate_matches_the_simulators_measured_threshold(spec: str, n: int,
                                                            policy: str) -> None:
    """The simulator's own divergence verdict (bisection on the loss envelope, 8 replicas)
    brackets the same threshold: within the two 95 % intervals combined (×1.5)."""
    from sdde.model.async_sgd import AsyncSGDModel
    from sdde.model.spectrum import HessianSpectrum
    from sdde.validation.compare import measured_threshold

    cluster = Cluster(workers=n, delay=delays.parse(spec))
    step = StepPolicy.parse(policy)
    model = AsyncSGDModel(lr=0.01, cluster=cluster, spectrum=HessianSpectrum.parse("1"),
                          policy=step)
    measured = measured_threshold(model, rng=np.random.default_rng(3), replicas=8,
                                  rel_tol=5e-3)
    estimate = almost_sure.almost_sure_threshold(
        cluster, None if step.is_constant else step, use_table=False)
    combined = math.hypot(measured.half_width, estimate.half_width)
    assert abs(measured.kappa - estimate.kappa) <= 1.5 * combined


@pytest.mark.parametrize("n", [3, 12])
def test_a_zero_cut_off_keeps_only_fresh_gradients(n: int) -> None:
    """K = 0 accepts a push only if nobody pushed since its pull, when the worker holds
    θ itself: θ ← (1 − a) θ, which grows exactly from a = 2 on: κ_as = 2n (and collapses
    to 0 at a = 1, a dip the search must step over, not mistake for a crossing)."""
    cluster = Cluster(workers=n, delay=delays.parse("exponential:mean=1"), threshold=0)
    t = almost_sure.almost_sure_threshold(cluster, rng=np.random.default_rng(5), rel_tol=0.01)
    assert t.kappa == pytest.approx(2 * n, rel=1e-4)

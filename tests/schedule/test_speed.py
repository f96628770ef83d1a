"""The speed tables of the scheduler (``sdde.schedule.speed``) against direct answers:
roots and variances solved at each gain without interpolation, the rightmost-root loss
curve of the report, a dense scan of the learning rate, and the one-worker recursion in
closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdde import Cluster, delays
from sdde.cluster.cluster import WorkerGroup
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.spectrum import HessianSpectrum
from sdde.schedule.speed import Configuration, DiscreteRateCurve, RateCurve
from sdde.stability.mean_field import critical_kappa, stationary_variance
from sdde.stability.report import mode_weights, time_below
from sdde.stability.roots import characteristic_roots, dominant_decay_rate


def _model(law: str = "gamma:shape=4,mean=1", n: int = 16, noise: float = 1.0,
           hessian: str = "0.1:10:12:log") -> AsyncSGDModel:
    return AsyncSGDModel(lr=1.0, cluster=Cluster(workers=n, delay=delays.parse(law)),
                         spectrum=HessianSpectrum.parse(hessian), noise=noise)


@pytest.mark.parametrize("law", ["gamma:shape=4,mean=1", "lognormal:mean=1,cv=0.5"])
def test_interpolated_rates_and_variances_match_direct_solves(law):
    """Between grid gains (12 per decade, shape-preserving cubic in log κ of r/κ and
    log κ v₁)
    the table is within 1 % of a direct solve below the first real-to-complex transition
    of the dominant root (κ ≈ 0.25-0.35 here), where ``r`` has a square-root corner that
    no table resolves (up to 20 % off there: the reported speeds are re-solved exactly,
    :meth:`Configuration.exact_speed`). The variance is smooth: 1 % everywhere."""
    model = _model(law)
    curve = RateCurve(model, with_variance=True)
    star = critical_kappa(model.kernel)
    kappas = np.geomspace(0.003, 0.7 * min(star, 5.0), 17) * 1.0173  # off the grid
    r, v, exact = curve.evaluate(kappas)
    assert exact
    for k, rate, var in zip(kappas, r, v, strict=True):
        if k < 0.15:
            assert rate == pytest.approx(dominant_decay_rate(float(k), model.kernel)[0],
                                         rel=0.01)
        assert var == pytest.approx(stationary_variance(float(k), model.kernel), rel=0.01)


def test_speed_is_the_reports_loss_curve_with_direct_values():
    model = _model()
    conf = Configuration(model, RateCurve(model, with_variance=True))
    lr = 0.5 * critical_kappa(model.kernel) / (model.n_workers * model.curvatures[-1])
    speed = conf.exact_speed(lr, target_loss=0.3, initial_error=1.0)
    kappas = lr * model.n_workers * model.curvatures
    rates = np.array([dominant_decay_rate(float(k), model.kernel)[0] for k in kappas])
    rates /= model.mean_delay
    sigma2 = lr**2 * model.n_workers * model.noise_variances
    var = np.array([stationary_variance(float(k), model.kernel) for k in kappas]) * sigma2
    direct = time_below(rates, var, mode_weights(model), model.curvatures, 1.0, 0.3)
    assert speed.time_to_target == pytest.approx(direct, rel=1e-8)
    assert speed.decay_rate == pytest.approx(rates.min(), rel=1e-8)
    table = conf.speed(lr, target_loss=0.3, initial_error=1.0)  # the search's estimate
    assert table.time_to_target == pytest.approx(direct, rel=0.05)


@pytest.mark.parametrize("target", [None, 0.3])
def test_best_learning_rate_beats_a_dense_scan(target):
    model = _model()
    conf = Configuration(model, RateCurve(model, with_variance=True))
    cap = 0.8 * critical_kappa(model.kernel) / (model.n_workers * model.curvatures[-1])
    best = conf.best_lr(cap, target_loss=target, initial_error=1.0)
    assert 0 < best.lr <= cap

    def value(s):
        return s.time_to_target if target is not None else -s.decay_rate

    scan = min(value(conf.speed(float(lr), target_loss=target, initial_error=1.0))
               for lr in cap * np.geomspace(1e-3, 1.0, 2000))
    assert value(best) <= scan + 1e-6 * abs(scan)


def test_one_worker_table_is_the_exact_recursion():
    """One worker: θ ← (1 − α) θ + ε with α = κ (no staleness). Per mean round the mode
    falls by ``|1 − α|``: ``r = −log|1 − α|``; the variance per unit update noise is
    ``1/(1 − (1 − α)²)``."""
    model = _model("exponential:mean=2", n=1)
    curve = DiscreteRateCurve(model, with_variance=True)
    grid, rates, _, var = curve.tables(0.01, 1.5)
    inside = np.abs(1 - grid) > 1e-3  # near α = 1 (θ ← 0 at once) the table is clipped
    assert rates[inside] == pytest.approx(-np.log(np.abs(1 - grid[inside])), rel=1e-9)
    stable = grid < 1.99
    assert var[stable] == pytest.approx(1 / (1 - (1 - grid[stable]) ** 2), rel=1e-6)


def test_abscissa_bound_is_flagged():
    """A thinned kernel's table holds the generator's root where it finds one, and says
    it holds the abscissa bound elsewhere."""
    fast, slow = delays.parse("gamma:shape=4,mean=1"), delays.parse("exponential:mean=3")
    cluster = Cluster(workers=[WorkerGroup(workers=12, delay=fast),
                               WorkerGroup(workers=4, delay=slow)], threshold=40)
    model = AsyncSGDModel(lr=1.0, cluster=cluster, spectrum=HessianSpectrum.parse("1"))
    grid, rates, exact, _ = RateCurve(model, with_variance=False).tables(0.05, 1.0)
    for k, rate, is_root in zip(grid, rates, exact, strict=True):
        roots = characteristic_roots(float(k), model.kernel, n=1)
        assert is_root == bool(roots.size)
        if is_root:
            assert rate == pytest.approx(-roots[0].real, rel=1e-12)
        else:
            assert math.isfinite(rate) and rate > 0

"""AsyncSGDModel: the per-mode inputs of the stability analysis (THEORY.md §3).

Exact values from the definitions: ``κ = η n h``, ``σ² = η² n c``, ``E[X] = n / Λ`` with
``Λ = Σ n_g / E[X_g]``, and the arrival-weighted mixture of the groups' round laws.
Float comparisons use rel 1e-12: each quantity is a handful of multiplications.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdde import Cluster, HessianSpectrum, delays
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.kernels import StepPolicy

GAMMA = delays.parse("gamma:shape=4,mean=1")
SLOW = delays.parse("exponential:mean=3")


def model(**kw: object) -> AsyncSGDModel:
    args: dict[str, object] = {"lr": 0.01, "cluster": Cluster(workers=32),
                               "spectrum": HessianSpectrum(eigenvalues=[4.0, 0.5, 1.0])}
    args.update(kw)
    return AsyncSGDModel(**args)  # type: ignore[arg-type]


def test_kappas_are_lr_n_h_ascending() -> None:
    m = model()
    np.testing.assert_allclose(m.curvatures, [0.5, 1.0, 4.0], rtol=0)
    np.testing.assert_allclose(m.kappas, 0.01 * 32 * np.array([0.5, 1.0, 4.0]), rtol=1e-12)
    assert np.all(np.diff(m.kappas) > 0)
    np.testing.assert_allclose(m.alphas, 0.01 * np.array([0.5, 1.0, 4.0]), rtol=1e-12)


def test_noise_intensities_follow_curvature_order() -> None:
    # noise is given in the spectrum's order (4, 0.5, 1); intensities are reported in
    # ascending-curvature order (0.5, 1, 4).
    m = model(noise=(3.0, 1.0, 2.0))
    np.testing.assert_allclose(m.noise_variances, [1.0, 2.0, 3.0], rtol=0)
    np.testing.assert_allclose(m.noise_intensities, 0.01**2 * 32 * np.array([1.0, 2.0, 3.0]),
                               rtol=1e-12)
    scalar = model(noise=0.7)
    assert scalar.noise == 0.7
    np.testing.assert_allclose(scalar.noise_intensities, np.full(3, 0.01**2 * 32 * 0.7),
                               rtol=1e-12)


def test_mean_delay_and_mixture_for_groups() -> None:
    cluster = Cluster(workers=[(24, GAMMA), (8, SLOW)])
    m = model(cluster=cluster)
    rate = 24 / 1.0 + 8 / 3.0
    assert m.n_workers == 32
    assert m.mean_delay == pytest.approx(32 / rate, rel=1e-12)
    law = m.delay_law
    assert isinstance(law, delays.Mixture)
    # Arrival-weighted: group g contributes n_g / E[X_g] of the arrivals.
    np.testing.assert_allclose(law.weights, [24 / rate, (8 / 3) / rate], rtol=1e-12)
    assert law.mean == pytest.approx(m.mean_delay, rel=1e-12)


def test_single_group_law_is_the_round_law() -> None:
    m = model(cluster=Cluster(workers=8, delay=GAMMA))
    assert m.delay_law is GAMMA
    assert m.mean_delay == pytest.approx(1.0, rel=1e-12)


def test_with_workers_and_with_lr() -> None:
    m = model(cluster=Cluster(workers=8, delay=GAMMA, threshold=5), noise=0.3)
    w = m.with_workers(20)
    assert w.n_workers == 20 and w.cluster.threshold == 5 and w.lr == m.lr
    assert w.cluster.groups[0].delay is GAMMA and w.noise == 0.3
    np.testing.assert_allclose(w.kappas, m.kappas * 20 / 8, rtol=1e-12)
    lr = m.with_lr(0.02)
    assert lr.lr == 0.02 and lr.cluster == m.cluster
    np.testing.assert_allclose(lr.kappas, 2 * m.kappas, rtol=1e-12)
    assert m.lr == 0.01  # frozen: the original is unchanged
    with pytest.raises(ValueError, match="single worker group"):
        model(cluster=Cluster(workers=[(24, GAMMA), (8, SLOW)])).with_workers(4)


@pytest.mark.parametrize("lr", [0, -0.1, math.inf, math.nan, True, "0.1"])
def test_bad_lr(lr: object) -> None:
    with pytest.raises(ValueError, match="lr"):
        model(lr=lr)


@pytest.mark.parametrize("noise", [-1.0, (1.0, 2.0), (1.0, -1.0, 1.0), math.nan, math.inf,
                                   (1.0, 2.0, 3.0, 4.0)])
def test_bad_noise(noise: object) -> None:
    with pytest.raises(ValueError, match="noise"):
        model(noise=noise)


def test_bad_types() -> None:
    with pytest.raises(ValueError, match="cluster"):
        model(cluster=32)
    with pytest.raises(ValueError, match="spectrum"):
        model(spectrum="1")
    with pytest.raises(ValueError, match="policy"):
        model(policy="inverse")


def test_staleness_weights_constant_policy_sum_to_one() -> None:
    q = model(cluster=Cluster(workers=16, delay=GAMMA)).staleness_weights()
    assert np.all(q >= 0)
    assert q.sum() == pytest.approx(1.0, abs=1e-12)  # renormalised explicitly


def test_staleness_weights_threshold_and_policy() -> None:
    k = 5
    cut = model(cluster=Cluster(workers=16, delay=GAMMA, threshold=k))
    q = cut.staleness_weights()
    assert np.all(q[k + 1:] == 0.0)
    assert q.sum() == pytest.approx(1.0, abs=1e-12)
    # (Not a truncation of the unthresholded law: dropped gradients are not updates, so
    # the staleness law itself changes with K.) A policy multiplies the weights by g(s).
    inv = model(cluster=Cluster(workers=16, delay=GAMMA, threshold=k),
                policy=StepPolicy("inverse")).staleness_weights()
    np.testing.assert_allclose(inv, q / (1.0 + np.arange(q.size)), rtol=1e-12)

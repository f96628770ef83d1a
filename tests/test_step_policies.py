"""Staleness-adaptive step policies: tables, η·e^{−βS}, the tail-adaptive policy.

Independent answers: the geometric policy's closed-form weight (a table of ``γ^s`` must
give the same kernel); a direct sum of ``g(s)`` against scipy's Poisson pmf; and the exact
simulator's measured divergence threshold for each policy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sdde
from sdde.cli import main
from sdde.kernels import StepPolicy
from sdde.validate import measured_threshold

LAW = sdde.delays.parse("shifted-exp:shift=0.5,mean=1")
CLUSTER = sdde.Cluster(workers=16, delay=LAW)
MEANS = np.array([0.0, 0.3, 2.0, 15.0, 80.0])


def _model(policy: StepPolicy, cluster: sdde.Cluster = CLUSTER) -> sdde.AsyncSGDModel:
    return sdde.AsyncSGDModel(lr=0.01, cluster=cluster, spectrum=sdde.HessianSpectrum.parse("1"),
                              policy=policy)


@pytest.mark.parametrize("threshold", [None, 3, 40])
def test_a_table_of_powers_is_the_geometric_policy(threshold: int | None) -> None:
    geometric = StepPolicy.parse("geometric:0.9")
    table = StepPolicy(name="table", values=tuple(0.9 ** np.arange(600)))
    assert np.allclose(table.weight(MEANS, threshold), geometric.weight(MEANS, threshold),
                       rtol=1e-13, atol=1e-300)
    assert sdde.critical_kappa(_model(table).kernel) == pytest.approx(
        sdde.critical_kappa(_model(geometric).kernel), rel=1e-9)


def test_exponential_is_geometric_with_gamma_e_to_the_minus_beta() -> None:
    policy = StepPolicy.parse("exponential:0.05")
    assert policy == StepPolicy("geometric", math.exp(-0.05))
    s = np.arange(50)
    assert np.allclose(policy.factor(s), np.exp(-0.05 * s), rtol=1e-14)


def test_tail_adaptive_table_and_weight() -> None:
    law = CLUSTER.staleness("poisson")
    policy = StepPolicy.tail_adaptive(0.5, law)
    s = np.arange(400)
    factor = policy.factor(s)
    cdf = np.cumsum(law.probabilities)
    expected = 1.0 + 0.5 * (1.0 - 2.0 * np.minimum(cdf[np.minimum(s, cdf.size - 1)], 1.0))
    expected[s > law.k_max] = 0.5
    assert np.allclose(factor, expected, rtol=1e-14)
    assert np.all(np.diff(factor) <= 1e-15) and factor.max() <= 1.5 and factor.min() >= 0.5
    for threshold in (None, 20):
        top = 400 if threshold is None else threshold
        direct = [float(np.sum(factor[: top + 1] * stats.poisson.pmf(s[: top + 1], m)))
                  for m in MEANS]
        assert np.allclose(policy.weight(MEANS, threshold), direct, rtol=1e-12, atol=1e-300)


def test_an_all_ones_table_is_the_constant_policy_in_the_simulator() -> None:
    ones = StepPolicy(name="table", values=(1.0,))
    assert ones.is_constant
    plain = sdde.simulate(_model(StepPolicy()), n_updates=3000, rng=np.random.default_rng(0))
    tabled = sdde.simulate(_model(ones), n_updates=3000, rng=np.random.default_rng(0))
    assert np.array_equal(plain.loss, tabled.loss)


@pytest.mark.parametrize("spec", ["constant", "geometric:0.9", "exponential:0.05", "tail:0.5",
                                  "tail:1", "inverse"])
def test_predicted_threshold_against_the_simulator(spec: str) -> None:
    # 16 shifted-exponential workers. The SDDE's κ* sits below the measured threshold by
    # 1-7 % for these policies; the validation table (docs/validation.md) shows SDDE
    # threshold errors up to 8.4 % at n = 16 for the constant policy, so 10 % is the
    # model's own accuracy, not a tuned margin. The discrete-time model (exact renewal
    # staleness) counts updates one by one and is held to 5 % (it errs by up to 2.6 % here).
    policy = StepPolicy.for_cluster(spec, CLUSTER)
    model = _model(policy)
    measured = measured_threshold(model, rng=np.random.default_rng(0), replicas=3, rel_tol=0.01)
    truth = 0.5 * (measured.kappa_stable + measured.kappa_unstable)
    predicted = sdde.critical_kappa(model.kernel)
    assert abs(predicted / truth - 1) < 0.10, (predicted, truth)
    discrete = sdde.analyze_stability(model, optimise_workers=False).discrete
    assert discrete is not None
    assert abs(discrete.critical_lr * 16 / truth - 1) < 0.05


def test_adaptive_policies_raise_the_threshold_in_order() -> None:
    # damping stale gradients more raises κ*: constant < tail:0.5 < tail:1 < e^{−0.05 s} <
    # 0.9^s < 1/(1 + s), as the simulator measures too (test above)
    kappas = [sdde.critical_kappa(_model(StepPolicy.for_cluster(spec, CLUSTER)).kernel)
              for spec in ("constant", "tail:0.5", "tail:1", "exponential:0.05",
                           "geometric:0.9", "inverse")]
    assert kappas == sorted(kappas)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "table"}, "needs values"),
    ({"name": "table", "values": ()}, "needs values"),
    ({"name": "table", "values": (1.0, -0.1)}, ">= 0"),
    ({"name": "table", "values": (1.0, math.nan)}, "finite"),
    ({"name": "inverse", "values": (1.0,)}, "no table"),
])
def test_bad_tables(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StepPolicy(**kwargs)


@pytest.mark.parametrize(("spec", "message"), [
    ("tail:2", "0 <= A <= 1"),
    ("tail:x", "needs a number"),
    ("exponential:-1", "beta >= 0"),
    ("tail:0.5", "staleness law"),
])
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StepPolicy.parse(spec)


def test_cli_takes_the_new_policies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--workers", "16", "--no-exact", "--json", "--step-policy", "tail:0.5"]) == 0
    out = capsys.readouterr().out
    assert '"policy": "tail:0.5"' in out
    assert main(["--workers", "16", "--no-exact", "--step-policy", "tail:3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "0 <= A <= 1" in err[0]


def test_damping_policies_on_gamma_rounds_diverge_below_the_models_threshold() -> None:
    # Where the mean-field model is off (docs/guide/threshold.md): with gamma (shape 2)
    # rounds the inverse policy's kernel never crosses (κ* = ∞), yet the exact simulator
    # diverges at κ ≈ 52; fluctuations of the staleness sequence, which no mean model sees,
    # as for exponential rounds. Pinned so the caveat in the guide stays true.
    cluster = sdde.Cluster(workers=16, delay=sdde.delays.parse("gamma:shape=2,mean=1"))
    model = _model(StepPolicy.parse("inverse"), cluster)
    assert sdde.critical_kappa(model.kernel) == math.inf
    measured = measured_threshold(model, rng=np.random.default_rng(0), replicas=3, rel_tol=0.02)
    assert measured.kappa_unstable < 100

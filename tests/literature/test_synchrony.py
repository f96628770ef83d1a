"""The synchronous-SGD baseline (sdde.literature.synchrony): does asynchrony pay?

Independent answers: the harmonic number ``E[max of n exponentials] = H_n``, and a direct
simulation of synchronous rounds (n round times drawn per round, one linear-scaled step),
whose measured decay rate per time unit must match within its sampling error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sdde
from sdde.cli.command import main
from sdde.literature.synchrony import compare_synchronous


def _model(n: int, lr: float, spec: str, hessian: str = "1") -> sdde.AsyncSGDModel:
    return sdde.AsyncSGDModel(lr=lr, cluster=sdde.Cluster(workers=n, delay=sdde.delays.parse(spec)),
                              spectrum=sdde.HessianSpectrum.parse(hessian))


@pytest.mark.parametrize("n", [1, 4, 32])
def test_exponential_rounds_closed_form(n: int) -> None:
    model = _model(n, 0.2 / n, "exponential:mean=2", "0.5,1")
    comparison = compare_synchronous(model, async_decay_rate=0.1)
    harmonic = sum(1.0 / k for k in range(1, n + 1))
    assert comparison.round_time == pytest.approx(2.0 * harmonic, rel=1e-9)
    worst = max(abs(1 - 0.2 * 0.5), abs(1 - 0.2 * 1.0))
    assert comparison.decay_rate == pytest.approx(-math.log(worst) / (2.0 * harmonic), rel=1e-9)
    assert comparison.stable


def test_decay_rate_matches_simulated_rounds() -> None:
    # 16 gamma workers: simulate 4000 synchronous rounds (each waits for the slowest of 16
    # draws) of x ← (1 − nηh) x; log|x| falls linearly in time at the predicted rate. The
    # time of R rounds has relative sd ≈ sd(max)/(mean(max)·√R) < 0.5 %; 3 % is ample.
    n, lr, h = 16, 0.01, 1.0
    model = _model(n, lr, "gamma:shape=2,mean=1")
    comparison = compare_synchronous(model, async_decay_rate=1.0)
    rng = np.random.default_rng(0)
    rounds = 4000
    times = model.cluster.groups[0].delay.sample(rng, (rounds, n)).max(axis=1)
    log_error = rounds * math.log(abs(1 - n * lr * h))
    measured = -log_error / times.sum()
    assert measured == pytest.approx(comparison.decay_rate, rel=0.03)


def test_divergence_and_speedup() -> None:
    unstable = compare_synchronous(_model(32, 0.1, "gamma:shape=2,mean=1"), async_decay_rate=0.3)
    assert not unstable.stable and unstable.decay_rate < 0 and unstable.speedup is None
    assert "DIVERGES" in unstable.summary()
    ok = compare_synchronous(_model(8, 0.01, "gamma:shape=2,mean=1"), async_decay_rate=0.3)
    assert ok.speedup == pytest.approx(0.3 / ok.decay_rate)
    assert ("asynchrony is" in ok.summary()) == (ok.speedup >= 1)
    gone = compare_synchronous(_model(8, 0.01, "gamma:shape=2,mean=1"), async_decay_rate=-0.1)
    assert gone.speedup is None and gone.to_dict()["async_speedup"] is None


def test_cli_prints_and_reports_the_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--workers", "32", "--lr", "0.01", "--no-exact"]) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if x.strip().startswith("synchronous SGD ")]
    assert len(line) == 1 and "faster" in line[0]
    assert main(["--workers", "32", "--lr", "0.01", "--no-exact", "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)["synchronous"]
    assert data["stable"] is True and data["async_speedup"] > 1


def test_a_step_policy_scales_the_synchronous_step_by_its_fresh_factor() -> None:
    """Every synchronous gradient is fresh, so a policy weighs it by g(0): deterministic
    rounds (E[max X] = 1), κ = η n h = 1.6 and g(0) = 0.5 give −ln|1 − 0.8| per time unit;
    without the policy |1 − 1.6| = 0.6."""
    from dataclasses import replace

    model = _model(16, 0.1, "deterministic:value=1")
    policy = sdde.StepPolicy(name="table", values=(0.5, 0.25))
    weighted = compare_synchronous(replace(model, policy=policy), async_decay_rate=0.1)
    assert weighted.decay_rate == pytest.approx(-math.log(0.2), rel=1e-12)
    assert compare_synchronous(model, async_decay_rate=0.1).decay_rate == pytest.approx(
        -math.log(0.6), rel=1e-12)

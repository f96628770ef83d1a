"""``sdde.validate``: the simulator's divergence threshold against exact answers.

With deterministic rounds and stationary phases, every gradient after a worker's first
has staleness exactly ``n − 1`` (tests/test_simulator.py), so the simulated server *is*
the constant-staleness recursion ``x_{k+1} = x_k − α x_{k−S}``, whose threshold is
``α* = 2 sin(π / (2(2S + 1)))`` (Levin & May 1976; theory/derivations/
discrete_constant_staleness.py). The first-round transient does not change stability.
The bisection's bracket must contain it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sdde
from sdde.validate import measured_threshold


def _model(n: int, law: sdde.DelayLaw, h: float = 1.0) -> sdde.AsyncSGDModel:
    return sdde.AsyncSGDModel(lr=0.01, cluster=sdde.Cluster(workers=n, delay=law),
                              spectrum=sdde.HessianSpectrum.parse(f"{h}"), noise=0.0)


@pytest.mark.parametrize(("n", "h"), [(4, 1.0), (16, 2.5), (64, 1.0)])
def test_deterministic_rounds_give_the_levin_may_threshold(n: int, h: float) -> None:
    model = _model(n, sdde.delays.Deterministic(value=1.0), h)
    result = measured_threshold(model, rng=np.random.default_rng(n))
    alpha = 2.0 * math.sin(math.pi / (2 * (2 * (n - 1) + 1)))
    assert result.lr_stable <= alpha / h <= result.lr_unstable
    assert result.lr_unstable - result.lr_stable <= 2e-3 * result.lr_unstable
    assert result.kappa_stable == pytest.approx(result.lr_stable * n * h, rel=1e-15)


def test_bracket_shrinks_with_rel_tol() -> None:
    model = _model(8, sdde.delays.Deterministic(value=1.0))
    coarse = measured_threshold(model, rng=np.random.default_rng(0), rel_tol=0.05)
    fine = measured_threshold(model, rng=np.random.default_rng(0), rel_tol=0.005)
    width = [r.kappa_unstable - r.kappa_stable for r in (coarse, fine)]
    assert width[1] < width[0]
    assert coarse.kappa_stable <= fine.kappa <= coarse.kappa_unstable


def test_rel_tol_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="rel_tol"):
        measured_threshold(_model(2, sdde.delays.Exponential(scale=1.0)),
                           rng=np.random.default_rng(0), rel_tol=0.0)

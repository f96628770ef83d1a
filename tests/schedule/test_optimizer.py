"""The scheduler (``sdde.schedule.optimizer``): the constraints it promises, an exhaustive
search over every worker subset, the laws of units (round times and curvatures rescale
the answer, nothing else), and its errors."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import delays
from sdde.cluster.cluster import WorkerGroup
from sdde.model.spectrum import HessianSpectrum
from sdde.schedule.optimizer import Candidate, _Search, schedule

FAST = delays.parse("gamma:shape=4,mean=1")
SLOW = delays.parse("exponential:mean=3")
SPECTRUM = HessianSpectrum.parse("0.2:5:4:log")


def groups(scale: float = 1.0, fast: int = 4, slow: int = 2) -> list[WorkerGroup]:
    return [WorkerGroup(workers=fast, delay=delays.parse(f"gamma:shape=4,mean={scale}")),
            WorkerGroup(workers=slow, delay=delays.parse(f"exponential:mean={3 * scale}"))]


@pytest.fixture(scope="module")
def small():
    return schedule(groups(), SPECTRUM, noise=0.5, target_loss=0.3, lr=0.3,
                    thresholds=[None])


def test_margin_and_thresholds_are_respected(small):
    for s in (small.best, *small.alternatives):
        bound = s.kappa_ms if s.limit == "mean-square" else s.kappa_as
        assert s.kappa_max <= (1 - small.margin) * bound * (1 + 1e-9)
        assert s.kappa_ms <= s.kappa_as * (1 + 1e-9) or s.limit == "almost-sure"
        assert math.isfinite(s.speed.time_to_target)
        assert s.speed.loss_floor < 0.3


def test_best_is_the_exhaustive_optimum(small):
    """Every subset of 4 + 2 workers evaluated one by one (the same speed model): the
    coarse grid and pattern search find the best of all 20 within the exact re-solve's
    precision (interpolated ranks, exact values: 1 %)."""
    search = _Search(groups=tuple(groups()), spectrum=SPECTRUM, noise=0.5, link=None,
                     target_loss=0.3, initial_error=1.0, margin=0.2, rng=None)
    every = [search.exact(s) for c in ((a, b) for a in range(5) for b in range(3) if a + b)
             if (s := search.evaluate(Candidate(c, None, "constant")))]
    exhaustive = min(s.speed.time_to_target for s in every)
    assert small.best.speed.time_to_target <= exhaustive * 1.01


def test_front_is_monotone_and_ends_at_the_choice(small):
    values = [p.value for p in small.front]
    assert all(b >= a * (1 - 1e-9) for a, b in itertools.pairwise(values))
    at_margin = next(p for p in small.front if p.margin == small.margin)
    assert at_margin.value == pytest.approx(small.best.speed.time_to_target, rel=1e-5)


def test_result_serialises_and_reads(small):
    data = json.loads(json.dumps(small.to_dict(), allow_nan=False))
    assert data["best"]["n_workers"] == small.best.n_workers
    text = small.summary()
    assert "best" in text and "binding constraint" in text and "search:" in text


@settings(max_examples=3, deadline=None)
@given(scale=st.sampled_from([0.25, 4.0]))
def test_round_times_rescale_the_time_only(small, scale):
    """Gains are per mean round: slowing every machine by c changes nothing but the clock,
    so the same workers, cut-off and learning rate are chosen and the time is c times."""
    scaled = schedule(groups(scale), SPECTRUM, noise=0.5, target_loss=0.3, lr=0.3,
                      thresholds=[None])
    assert scaled.best.candidate == small.best.candidate
    assert scaled.best.lr == pytest.approx(small.best.lr, rel=1e-6)
    assert scaled.best.speed.time_to_target == pytest.approx(
        scale * small.best.speed.time_to_target, rel=1e-6)


def test_curvatures_rescale_the_learning_rate_only(small):
    """``κ = η n h``: curvatures c times larger, learning rate c times smaller; with the
    noise c² times larger the floor and the time are the same."""
    c = 3.0
    spectrum = HessianSpectrum(eigenvalues=c * SPECTRUM.eigenvalues)
    scaled = schedule(groups(), spectrum, noise=0.5 * c * c, target_loss=0.3 * c, lr=0.3,
                      thresholds=[None])
    assert scaled.best.candidate == small.best.candidate
    assert scaled.best.lr == pytest.approx(small.best.lr / c, rel=1e-6)
    assert scaled.best.speed.time_to_target == pytest.approx(
        small.best.speed.time_to_target, rel=1e-6)


def test_naive_setting_above_the_threshold_never_arrives(small):
    assert small.baseline is not None
    b = small.baseline
    assert b.candidate.counts == (4, 2) and b.lr == 0.3
    bound = b.kappa_ms if b.limit == "mean-square" else b.kappa_as
    assert (b.kappa_max >= bound) == math.isinf(b.speed.time_to_target)


def test_noise_never_helps():
    quiet = schedule(groups(), SPECTRUM, noise=0.0, target_loss=0.3, thresholds=[None])
    noisy = schedule(groups(), SPECTRUM, noise=0.5, target_loss=0.3, thresholds=[None])
    assert noisy.best.speed.time_to_target >= quiet.best.speed.time_to_target * (1 - 1e-3)


def test_decay_rate_objective_without_a_target():
    s = schedule(groups(), SPECTRUM, thresholds=[None])
    assert s.objective == "decay rate" and s.best.speed.decay_rate > 0
    assert all(s.best.speed.decay_rate >= a.speed.decay_rate * (1 - 0.01)
               for a in s.alternatives)


def test_cutoffs_and_policies_are_searched():
    s = schedule(groups(), SPECTRUM, noise=0.5, target_loss=0.3, thresholds="auto",
                 policies=("constant", "tail:0.5"))
    kinds = {(e.candidate.threshold is not None, e.candidate.policy) for e in s.evaluated}
    assert (True, "constant") in kinds and (False, "tail:0.5") in kinds


@pytest.mark.parametrize("kwargs, message", [
    ({"margin": 1.0}, "margin"),
    ({"target_loss": -1.0}, "target loss"),
    ({"target_loss": 1e-9, "noise": 10.0}, "no setting"),
    ({"policies": ()}, "policy"),
    ({"policies": ("bogus",)}, "step policy"),
])
def test_bad_requests_raise_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        schedule(groups(), SPECTRUM, **{"thresholds": [None], **kwargs})


def test_one_group_searches_its_count():
    s = schedule([WorkerGroup(workers=8, delay=FAST)], SPECTRUM, target_loss=0.1,
                 thresholds=[None])
    assert 1 <= s.best.candidate.counts[0] <= 8
    assert np.isfinite(s.best.speed.time_to_target)

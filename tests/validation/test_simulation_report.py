"""``--simulate``: both decay rates for every stable setting, and honest figures.

Three kinds of fit (:func:`sdde.simulator._curves.decay_fit`) are checked against closed
forms, then the report against the rightmost root (the asymptotic rate, an independent
computation) and the discrete-time model, on an oscillating setting, a slow mode and a
run past the exact moments' horizon. The printed text is checked for the fit method,
the absence of round-off figures (``2.8e-273``) and the heavy-tail caveats.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pytest

import sdde
from sdde.simulator._curves import (
    decay_fit,
    envelope_decay_rate,
    fitted_decay_rate,
    late_decay_rate,
)
from sdde.stability.report import analyze_stability
from sdde.validation.simulation_report import (
    ROUNDOFF,
    SimulationReport,
    heavy_tail_notes,
    simulate_report,
)

SHIFTED = "shifted-exp:shift=0.5,mean=1"  # the CLI's default law


def _model(workers: int, lr: float, hessian: str = "1",
           delay: str = SHIFTED) -> sdde.AsyncSGDModel:
    return sdde.AsyncSGDModel(lr=lr, cluster=sdde.Cluster(workers=workers,
                                                          delay=sdde.delays.parse(delay)),
                              spectrum=sdde.HessianSpectrum.parse(hessian), noise=0.0)


def _report(model: sdde.AsyncSGDModel, *, updates: int, replicas: int,
            seed: int = 0) -> tuple[SimulationReport, sdde.StabilityReport]:
    stability = analyze_stability(model, optimise_workers=False)
    report = simulate_report(model, updates=updates, replicas=replicas,
                             rng=np.random.default_rng(seed), stability=stability)
    return report, stability


# ------------------------------------------------------------------- the fits
@pytest.mark.parametrize(("rate", "omega", "phase"), [(0.5, 1.0, 0.0), (0.2, 1.5, 1.0),
                                                      (1.0, 6.0, -0.7)])
def test_envelope_of_a_damped_cosine_is_its_rate(rate: float, omega: float,
                                                 phase: float) -> None:
    # the extrema of e^{-rt} cos(ωt + φ) sit at one phase, π/ω apart: log |peak| is a
    # line of slope -r; the grid (2e5 points over 16/r) moves a peak by at most
    # half a step, a relative error O((ω dt)²) < 1e-6 in its height
    t = np.linspace(0.0, 16.0 / rate, 200_001)
    mean = np.exp(-rate * t) * np.cos(omega * t + phase)
    assert envelope_decay_rate(t, mean) == pytest.approx(rate, rel=1e-5)
    assert decay_fit(t, mean) == (pytest.approx(rate, rel=1e-5), "envelope")
    assert math.isnan(fitted_decay_rate(t, mean))  # the old fit gave up on it


def test_envelope_ignores_a_faster_root_and_sign_flicker() -> None:
    # a second pair decaying 4x faster is below e^-12 relative by the first peak used
    # (|mean| < e^-1, t > 2): e^{-1.5 t} < 5 % at t = 2, and the fit spans ~10 peaks
    # down to e^-12, so its pull on the slope is below 1e-2 relative; a flicker of
    # sign near zero (amplitude 1e-9, shorter than a quarter half-cycle) is dropped
    t = np.linspace(0.0, 32.0, 64_001)
    mean = np.exp(-0.5 * t) * np.cos(t) + 0.3 * np.exp(-2.0 * t) * np.cos(3 * t)
    mean += 1e-9 * np.sign(np.sin(40 * t)) * (np.abs(mean) < 1e-8)
    assert envelope_decay_rate(t, mean) == pytest.approx(0.5, rel=1e-2)


def test_late_fit_of_a_slow_exponential() -> None:
    t = np.linspace(0.0, 300.0, 4001)
    mean = 2.0 * np.exp(-3.2e-4 * t)  # falls to e^-0.1 only: the e^-2 window is empty
    assert math.isnan(fitted_decay_rate(t, mean))
    assert decay_fit(t, mean) == (pytest.approx(3.2e-4, rel=1e-9), "late")
    assert math.isnan(late_decay_rate(t, np.ones_like(t)))  # nothing moved: no rate


def test_a_single_overshoot_is_fitted_down_to_its_zero_crossing() -> None:
    # a heavy-tailed law's mean: e^{-rt} until it overshoots once (t = 9, at e^-4.5),
    # then creeps back as -c/t: no envelope; the fit stops at the crossing, so it sees
    # the exponential alone, exactly
    t = np.linspace(0.0, 70.0, 7001)
    mean = np.where(t < 9.0, np.exp(-0.5 * t), -0.05 / np.maximum(t, 1.0))
    assert math.isnan(envelope_decay_rate(t, mean))
    assert decay_fit(t, mean) == (pytest.approx(0.5, rel=1e-9), "transient")


def test_decay_fit_can_be_forced_to_fit_a_second_curve_alike() -> None:
    t = np.linspace(0.0, 20.0, 2001)
    rate, method = decay_fit(t, np.exp(-0.5 * t))
    assert method == "window" and rate == pytest.approx(0.5, rel=1e-9)
    assert decay_fit(t, np.exp(-0.5 * t), "late") == (pytest.approx(0.5, rel=1e-9), "late")


# ---------------------------------------------------------- the report's rates
def test_oscillating_mean_gets_both_rates() -> None:
    # the --help example --workers 8 --lr 0.1: the rightmost roots are -0.507 ± 1.02i,
    # the next ones beyond Re z = -2 (characteristic_roots finds no other within its
    # search), so the envelope fit of the SDDE's mean equals -Re z₀ to well within
    # 1 % (observed 2e-4)
    report, stability = _report(_model(8, 0.1), updates=2000, replicas=64)
    root_rate = stability.modes[0].decay_rate
    assert report.predicted_decay_rate == pytest.approx(root_rate, rel=1e-2)
    assert "envelope" in report.predicted_decay_method
    assert report.decay_method == report.predicted_decay_method
    # at 8 workers the continuous model is coarse (docs/validation.md): the simulated
    # mean follows the discrete-time model (updates counted one by one), 0.5576/time.
    # Over seeds 0-3 the 16-replica fit scattered by 3 % (sd); 64 replicas halve that,
    # and the discrete model's own error was below 1 %: 6 % is 4 sd plus that bias
    assert stability.discrete is not None
    assert report.decay_rate == pytest.approx(stability.discrete.decay_rate, rel=0.06)
    text = report.summary()
    assert "decay rates: fit on the peaks of the damped oscillation's envelope" in text
    assert "—" not in text.split("decay rate, slowest mode")[1].splitlines()[0]
    # no round-off figures: the noise-free loss falls to 1e-300 over the run
    assert not re.search(r"e-\d\d\d", text), text
    assert "time to loss 1e-06 × initial, for good" in text
    assert "≈ 0" in text  # the simulated stationary variance of a noise-free run
    # the loss falls by 1e-6 after about ln(1e6)/(2 · 0.5) ≈ 14 time units
    assert 5.0 < report.predicted_time_to_drop < 30.0
    assert 5.0 < report.time_to_drop < 30.0


def test_slow_mode_gets_both_rates() -> None:
    # --hessian 0.001:1:5 (32 workers, η = 0.01): the slowest mode decays at 3.2e-4 per
    # time unit, to e^-0.1 over the run; the fit over the run's second half (t > 156,
    # where the other roots, Re z < -1, have died out as e^-156) equals -Re z₀ to
    # round-off (1e-4 is generous); the simulated noise-free mean is (1 - ηh)^N(t):
    # its slope scatters with the count of updates, ~0.3 % here (8 replicas of ~5000
    # updates, renewal cv 0.5): 2 % is over 6 sd
    model = _model(32, 0.01, "0.001:1:5")
    report, stability = _report(model, updates=10_000, replicas=8)
    root_rate = stability.modes[0].decay_rate
    assert root_rate == pytest.approx(3.2e-4, rel=1e-2)
    assert report.predicted_decay_rate == pytest.approx(root_rate, rel=1e-4)
    assert report.decay_rate == pytest.approx(root_rate, rel=2e-2)
    assert "second half" in report.predicted_decay_method
    assert report.to_dict()["predicted_decay_rate"] is not None
    assert "decay rates: fit over the run's second half" in report.summary()


def test_past_the_moment_horizon_the_prediction_is_the_rightmost_root() -> None:
    # 4 workers: 6000 updates last 1500 time units, past the exact moments' 1000
    model = _model(4, 0.01, "0.001")
    report, stability = _report(model, updates=6000, replicas=2)
    assert report.predicted_decay_rate == stability.modes[0].decay_rate
    assert report.predicted_decay_method.startswith("rightmost root")
    assert "1000 time units" in report.predicted_decay_method
    # the simulated mean is fitted over the run's second half: (1 - ηh)^N(t) with N the
    # update count (2 replicas of ~3000 updates in the window: ~1.5 % sd); 8 %
    assert report.decay_rate == pytest.approx(report.predicted_decay_rate, rel=0.08)
    text = report.summary()
    assert "decay rate, SDDE: rightmost root" in text
    assert "decay rate, simulated: fit over the run's second half" in text


# ------------------------------------------------------------------ heavy tails
def test_heavy_tailed_rounds_flag_the_staleness_mean() -> None:
    model = _model(32, 0.01, delay="pareto:shape=1.5")
    notes = heavy_tail_notes(model, 29.64)
    assert len(notes) == 2
    assert "pareto:shape=1.5" in notes[0] and "infinite variance" in notes[0]
    assert "n − 1 = 31" in notes[0] and "29.64" in notes[0]
    assert heavy_tail_notes(_model(32, 0.01), 31.0) == ()  # finite variance: no caveat
    assert heavy_tail_notes(_model(32, 0.01, delay="pareto:shape=2.5"), 31.0) == ()


def test_caveats_are_printed_under_the_table() -> None:
    report, _ = _report(_model(32, 0.01), updates=400, replicas=2)
    flagged = replace(report, notes=heavy_tail_notes(
        _model(32, 0.01, delay="pareto:shape=1.5"), 29.64))
    assert "†" not in report.summary()
    text = flagged.summary()
    rows = {line.split("  ")[1]: line for line in text.splitlines()
            if line.startswith("  ") and "  " in line[2:]}
    assert rows["staleness mean"].rstrip().endswith("†")
    assert rows["decay rate, slowest mode"].rstrip().endswith("†")
    assert not rows["staleness p99"].rstrip().endswith("†")
    assert "  † heavy-tailed round times (pareto:shape=1.5,scale=0.333333: infinite " \
           "variance)" in text
    assert "  † the mean's decay turns from exponential to the law's power tail" in text


@pytest.mark.slow  # the exact moments of a Pareto kernel take a minute
def test_heavy_tailed_report_prints_its_caveats() -> None:
    model = _model(4, 0.05, delay="pareto:shape=1.5")
    # the stability analysis of a Pareto law takes minutes (a Lyapunov estimate); the
    # report reads only its per-mode rates and variances, so a light-tailed one stands in
    stand_in = analyze_stability(_model(4, 0.05), optimise_workers=False)
    report = simulate_report(model, updates=1000, replicas=2,
                             rng=np.random.default_rng(0), stability=stand_in)
    assert report.notes == heavy_tail_notes(model, report.staleness_mean)
    text = report.summary()
    mean_row = next(line for line in text.splitlines() if "staleness mean" in line)
    assert mean_row.rstrip().endswith("†")
    assert "† heavy-tailed round times (pareto:shape=1.5" in text
    assert "the exact mean is n − 1 = 3 for every law (a theorem)" in text.lower()
    assert report.to_dict()["notes"] == list(report.notes)


def test_roundoff_values_print_as_zero_only_below_the_threshold() -> None:
    report, _ = _report(_model(8, 0.1), updates=400, replicas=2)
    scale = float(report.predicted_loss[0])
    tiny = replace(report, stationary_variance=np.array([0.5 * ROUNDOFF * scale]))
    real = replace(report, stationary_variance=np.array([2.0 * ROUNDOFF * scale]))
    row = "stationary variance, slowest mode"
    assert next(x for x in tiny.summary().splitlines() if row in x).endswith("≈ 0")
    assert not next(x for x in real.summary().splitlines() if row in x).endswith("≈ 0")

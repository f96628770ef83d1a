"""The stability report's internal invariants (sdde._invariants, report.check_report).

Each invariant is driven by making one component return an inconsistent value (through
``monkeypatch`` where the component is a function the report calls, through
``dataclasses.replace`` of a finished report otherwise) and asserting
:class:`~sdde._invariants.InvariantError`; consistent reports pass untouched.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from sdde import Cluster, HessianSpectrum, delays
from sdde._invariants import InvariantError, check
from sdde.model.async_sgd import AsyncSGDModel
from sdde.stability import modes as modes_module
from sdde.stability import report as report_module
from sdde.stability.report import (
    MAX_WORKERS,
    DiscreteCheck,
    GroupLimit,
    StabilityReport,
    analyze_stability,
    check_report,
)

POINT = delays.Deterministic(value=1.0)


def model(lr: float, n: int = 30, noise: float = 0.0, spectrum: str = "1") -> AsyncSGDModel:
    """Point delay: κ = lr·n, κ* = π/2 (lr = 0.05: stable; lr = 0.055: diverges)."""
    return AsyncSGDModel(lr=lr, cluster=Cluster(workers=n, delay=POINT),
                         spectrum=HessianSpectrum.parse(spectrum), noise=noise)


STABLE = model(0.05)
UNSTABLE = model(0.055)


@pytest.fixture(scope="module")
def stable_report() -> StabilityReport:
    return analyze_stability(model(0.05, noise=0.1), optimise_workers=False)


# ------------------------------------------------------------------ the helper
def test_check_passes_and_raises() -> None:
    check(True, "never shown")
    check(np.bool_(True), "numpy booleans are fine")
    with pytest.raises(InvariantError, match="internal invariant violated: the message"):
        check(False, "the message")
    assert issubclass(InvariantError, RuntimeError)


@pytest.mark.parametrize("m", [STABLE, UNSTABLE, model(0.01, n=32, spectrum="0.1:1:5")])
def test_consistent_reports_pass(m: AsyncSGDModel) -> None:
    check_report(analyze_stability(m, optimise_workers=False))


# ------------------------------------------- roots against the certified count
def test_rightmost_root_left_of_the_axis_with_unstable_count(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's symptom: two certified unstable roots, rightmost root at Re < 0."""
    monkeypatch.setattr(modes_module, "characteristic_roots",
                        lambda *a, **k: np.array([-1.5 + 7.6j, -1.5 - 7.6j]))
    with pytest.raises(InvariantError, match="2 certified roots in Re z >= 0"):
        analyze_stability(UNSTABLE, optimise_workers=False)


def test_root_right_of_the_axis_with_zero_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modes_module, "unstable_root_count", lambda *a, **k: 0)
    with pytest.raises(InvariantError, match="0 certified roots"):
        analyze_stability(UNSTABLE, optimise_workers=False)


def test_unstable_count_with_a_stable_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modes_module, "unstable_root_count", lambda *a, **k: 2)
    with pytest.raises(InvariantError, match="2 certified roots"):
        analyze_stability(STABLE, optimise_workers=False)


def test_negative_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modes_module, "unstable_root_count", lambda *a, **k: -2)
    with pytest.raises(InvariantError, match=r"counts? >= 0"):
        analyze_stability(STABLE, optimise_workers=False)


def test_unstable_count_and_no_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modes_module, "characteristic_roots",
                        lambda *a, **k: np.empty(0, dtype=np.complex128))
    monkeypatch.setattr(modes_module, "dominant_root", lambda *a, **k: None)
    with pytest.raises(InvariantError, match="no root found"):
        analyze_stability(UNSTABLE, optimise_workers=False)


def test_mode_decay_rate_is_minus_the_real_part(stable_report: StabilityReport) -> None:
    mode = stable_report.modes[0]
    bad = dataclasses.replace(mode, decay_rate=mode.decay_rate + 0.5)
    with pytest.raises(InvariantError, match="decay rate"):
        check_report(dataclasses.replace(stable_report, modes=(bad,)))


def test_report_decay_rate_is_the_slowest_modes(stable_report: StabilityReport) -> None:
    with pytest.raises(InvariantError, match="slowest mode"):
        check_report(dataclasses.replace(stable_report,
                                         decay_rate=stable_report.decay_rate + 1.0))


def test_growth_rate_with_every_mode_converging(stable_report: StabilityReport) -> None:
    """A negative decay rate while every count is 0 (root, rate and report all moved
    together, so only the mean-field convergence invariant can object)."""
    mode = stable_report.modes[0]
    assert mode.root is not None
    moved = dataclasses.replace(mode, root=complex(0.1, mode.root.imag), decay_rate=-0.1)
    with pytest.raises(InvariantError):
        check_report(dataclasses.replace(stable_report, modes=(moved,), decay_rate=-0.1))


# ------------------------------------------------------ signs and ranges
def test_negative_variance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modes_module, "stationary_variance", lambda *a, **k: -1.0)
    with pytest.raises(InvariantError, match="variance >= 0"):
        analyze_stability(model(0.05, noise=0.1), optimise_workers=False)


def test_negative_time_to_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "_time_to_target", lambda *a, **k: -1.0)
    with pytest.raises(InvariantError, match="time to target >= 0"):
        analyze_stability(STABLE, optimise_workers=False, target_loss=0.01)


def test_negative_loss_floor(stable_report: StabilityReport) -> None:
    with pytest.raises(InvariantError, match="loss floor"):
        check_report(dataclasses.replace(stable_report, loss_floor=-1e-3))


def test_nonpositive_tail_index(stable_report: StabilityReport) -> None:
    with pytest.raises(InvariantError, match="tail index"):
        check_report(dataclasses.replace(stable_report, loss_tail_index=-0.5))


@pytest.mark.parametrize("which", ["mean", "mean_square", "almost_sure"])
def test_nonpositive_threshold(monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    original = report_module.divergence_thresholds

    def broken(*args: Any, **kwargs: Any) -> Any:
        th = original(*args, **kwargs)
        bad = dataclasses.replace(getattr(th, which), kappa=-1.0)
        return dataclasses.replace(th, **{which: bad})

    monkeypatch.setattr(report_module, "divergence_thresholds", broken)
    with pytest.raises(InvariantError, match=r"threshold > 0|headroom > 0"):
        analyze_stability(STABLE, optimise_workers=False)


def test_negative_half_width(monkeypatch: pytest.MonkeyPatch) -> None:
    original = report_module.divergence_thresholds

    def broken(*args: Any, **kwargs: Any) -> Any:
        th = original(*args, **kwargs)
        return dataclasses.replace(th, mean=dataclasses.replace(th.mean, half_width=-1e-3))

    monkeypatch.setattr(report_module, "divergence_thresholds", broken)
    with pytest.raises(InvariantError, match="half-width >= 0"):
        analyze_stability(STABLE, optimise_workers=False)


def test_nonpositive_critical_kappa(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "critical_kappa", lambda *a, **k: 0.0)
    with pytest.raises(InvariantError, match="κ\\* > 0"):
        analyze_stability(STABLE, optimise_workers=False)


def test_acceptance_probability_above_one(monkeypatch: pytest.MonkeyPatch) -> None:
    report = analyze_stability(STABLE, optimise_workers=False)
    monkeypatch.setattr(type(STABLE.kernel), "mass", property(lambda self: 1.5))
    with pytest.raises(InvariantError, match="acceptance probability"):
        check_report(report)


def test_negative_spectral_radius(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "_discrete_check", lambda *a, **k: (DiscreteCheck(
        critical_lr=0.05, stable=True, spectral_radius=-0.5, decay_rate=1.0), None))
    with pytest.raises(InvariantError, match="spectral radius"):
        analyze_stability(STABLE, optimise_workers=False)


# ----------------------------------------------- verdict and learning-rate limit
@pytest.mark.parametrize("m", [STABLE, UNSTABLE])
def test_verdict_agrees_with_the_max_stable_lr(m: AsyncSGDModel) -> None:
    """Converges iff lr < max stable lr: moving the limit across lr is caught."""
    report = analyze_stability(m, optimise_workers=False)
    moved = m.lr * (0.5 if report.stable else 2.0)
    with pytest.raises(InvariantError, match="max stable lr"):
        check_report(dataclasses.replace(report, max_stable_lr=moved))


def test_verdict_agrees_with_the_modes(stable_report: StabilityReport) -> None:
    with pytest.raises(InvariantError, match="modes' verdicts"):
        check_report(dataclasses.replace(stable_report, stable=False))


# -------------------------------------------------------------- worker counts
def test_max_stable_workers_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "_max_stable_workers",
                        lambda *a, **k: MAX_WORKERS + 1)
    monkeypatch.setattr(report_module, "_optimal_workers", lambda *a, **k: (None, math.nan))
    with pytest.raises(InvariantError, match="max stable workers"):
        analyze_stability(STABLE)


def test_fastest_count_beyond_the_stable_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "_optimal_workers",
                        lambda m, top: (top + 1, 1.0))
    with pytest.raises(InvariantError, match="fastest worker count"):
        analyze_stability(STABLE)


def test_fastest_count_without_a_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "_optimal_workers", lambda m, top: (1, math.nan))
    with pytest.raises(InvariantError, match="fastest worker count"):
        analyze_stability(STABLE)


def test_group_limits_out_of_range(stable_report: StabilityReport) -> None:
    limit = GroupLimit(delay="deterministic:value=1", workers=4, max_stable=3, fastest=5,
                       fastest_rate=1.0)
    with pytest.raises(InvariantError, match="fastest count"):
        check_report(dataclasses.replace(stable_report, group_limits=(limit,)))
    limit = dataclasses.replace(limit, max_stable=-1, fastest=None)
    with pytest.raises(InvariantError, match="max stable count"):
        check_report(dataclasses.replace(stable_report, group_limits=(limit,)))


# ------------------------------------------------------------------ the CLI
def test_cli_reports_a_violation_as_an_internal_error(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit code 1 and one line naming the invariant, instead of a wrong report."""
    from sdde.cli import main

    monkeypatch.setattr(modes_module, "unstable_root_count", lambda *a, **k: 0)
    code = main(["--workers", "30", "--lr", "0.055", "--delay", "deterministic:value=1",
                 "--no-exact"])
    err = capsys.readouterr().err
    assert code == 1
    assert "internal error" in err and "InvariantError" in err

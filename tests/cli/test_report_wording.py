"""The report's wording (issue "the first hour of a new user"): each phrase a new user
stumbled on, with the text it prints now."""

from __future__ import annotations

import re

import pytest

from tests.cli.cli_run import run


def _out(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return out


def test_a_growing_mode_prints_its_growth_time(capsys: pytest.CaptureFixture[str]) -> None:
    """Not "e-fold time ∞": the mean grows e-fold every 1/(growth rate)."""
    out = _out(capsys, "--workers", "32", "--lr", "0.08")
    row = next(line for line in out.splitlines() if "fastest-growing mode" in line)
    growth = float(re.search(r"growth rate (\S+)/time", row).group(1))
    every = float(re.search(r"grows e-fold every (\S+),", row).group(1))
    assert every == pytest.approx(1 / growth, rel=1e-5)
    assert "∞" not in row
    assert "time to" not in out  # no target asked


def test_diverging_run_says_why_there_is_no_floor_or_time(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _out(capsys, "--workers", "32", "--lr", "0.08", "--noise", "1", "--target-loss",
               "0.1")
    assert re.search(r"noise floor \(stationary loss\)\s+— \(a run diverges\)", out)
    assert re.search(r"time to loss 0.1\s+— \(a run diverges\)", out)


def test_a_target_under_the_floor_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    out = _out(capsys, "--workers", "32", "--lr", "0.01", "--noise", "1", "--target-loss",
               "1e-6")
    assert re.search(r"time to loss 1e-06\s+∞ \(the noise floor \S+ is above the target\)",
                     out)


def test_roots_name_their_unit_when_the_mean_round_is_not_one(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _out(capsys, "--workers", "32", "--lr", "0.01", "--delay", "exponential:mean=3")
    assert "(z in units of the mean delay E[X] = 3)" in out
    assert "E[X]" not in _out(capsys, "--workers", "32", "--lr", "0.01")


def test_specs_are_echoed_as_typed(capsys: pytest.CaptureFixture[str]) -> None:
    """``exponential:0.05`` stays so (not geometric:0.951229); the cut-off K is named as
    such, never "threshold" (the report's thresholds are divergence thresholds)."""
    out = _out(capsys, "--workers", "32", "--lr", "0.01", "--step-policy", "exponential:0.05",
               "--threshold", "40")
    assert "step policy exponential:0.05" in out and "geometric" not in out
    assert "staleness cut-off K = 40" in out and "threshold 40" not in out
    assert "staleness cut-off K=40: accepted fraction" in out


def test_mixed_workers_are_named_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    out = _out(capsys, "--workers", "16:exponential", "16:deterministic:value=2", "--lr", "0.01")
    header = next(line for line in out.splitlines() if line.startswith("Stability"))
    assert header.endswith("rounds of 2 groups, mixed by arrival rate")
    assert "components=" not in header and "weights=" not in header
    assert re.search(r"max stable workers\s+— \(several worker groups: see each group's "
                     r"row\)", out)


def test_heavy_tailed_run_time_has_no_infinite_spread(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _out(capsys, "--delay", "pareto:shape=1.5", "--lr", "0.001")
    assert "± inf" not in out
    assert "spread unbounded: the round times have infinite variance" in out


def test_a_missing_discrete_row_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    """Past 600 staleness values the discrete-time recursion is not solved: the row says
    so instead of vanishing."""
    out = _out(capsys, "--workers", "1000", "--lr", "1e-5", "--no-exact")
    assert re.search(r"discrete-time model\s+not computed: staleness reaches \d+ updates, "
                     r"and the recursion's polynomial is solved up to 600", out)

"""``sdde-analyze --inject K``: delay injection's line and its ``injection`` JSON key.

Independent answers: the library (:func:`sdde.literature.injection.relative_iterations` on the same
quadratic), plain gradient descent's threshold ``η·h < 2`` at ``K = 0`` and the point
delay ``½`` of the SDDE kernel there (``κ* = π/2``, so ``η·h < π``).
"""

from __future__ import annotations

import math

import pytest
from cli_run import run, run_json

from sdde.cli.command import EXIT_USAGE, MAX_INJECT, PROG
from sdde.literature.injection import default_target, relative_iterations
from sdde.simulator.objectives import QuadraticObjective

BASE = ("--workers", "4", "--lr", "0.05", "--hessian", "0.1,1", "--noise", "0.5",
        "--no-exact")


def test_json_matches_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, *BASE, "--inject", "16")
    inj = data["injection"]
    assert data["inputs"]["inject"] == 16
    f = QuadraticObjective(curvatures=[0.1, 1.0], noise=0.5)
    target = default_target(f, lr=0.05, n_updates=10_000)
    assert inj["target_loss"] == pytest.approx(target, rel=1e-12)
    assert inj["relative_iterations"] == pytest.approx(
        relative_iterations(f, lr=0.05, max_staleness=16, target=target, n_updates=10_000),
        rel=1e-12)
    assert inj["stale_iterations"] == pytest.approx(
        inj["relative_iterations"] * inj["fresh_iterations"], rel=1e-12)
    assert inj["max_staleness"] == 16 and inj["alpha_max"] == pytest.approx(0.05)
    # the SDDE's threshold is within 0.2 % of the exact one at K = 16 (tests/test_injection)
    assert inj["sdde_threshold"] / inj["discrete_threshold"] - 1 == pytest.approx(
        1.42e-3, rel=0.02)
    assert inj["stable"] is True


def test_no_staleness_is_plain_gradient_descent(capsys: pytest.CaptureFixture[str]) -> None:
    inj = run_json(capsys, *BASE, "--inject", "0", "--target-loss", "0.1")["injection"]
    assert inj["relative_iterations"] == 1.0 and inj["target_loss"] == 0.1
    assert inj["discrete_threshold"] == 2.0
    assert inj["sdde_threshold"] == pytest.approx(math.pi, rel=1e-12)


def test_never_reaching_the_target_is_null(capsys: pytest.CaptureFixture[str]) -> None:
    # K = 64 at η·h_max = 0.05: the oscillating stale run stays above the target
    inj = run_json(capsys, *BASE, "--inject", "64")["injection"]
    assert inj["relative_iterations"] is None and inj["stale_iterations"] is None
    assert inj["fresh_iterations"] > 0


def test_without_inject_the_key_is_null(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, *BASE)
    assert data["injection"] is None and data["inputs"]["inject"] is None


def test_human_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *BASE, "--inject", "4")
    assert code == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("delay injection")]
    assert line.startswith("delay injection (staleness uniform on 0..4): ")
    assert "× the iterations of staleness-free SGD to reach the target" in line
    assert "SDDE threshold η·h < 0.9708, discrete < 0.9549" in line


@pytest.mark.parametrize(("value", "message"), [
    ("-1", "--inject must be a whole number >= 0, got '-1'"),
    ("1.5", "--inject must be a whole number >= 0"),
    ("many", "--inject must be a whole number >= 0"),
    (str(MAX_INJECT + 1), f"--inject must be a whole number in 0..{MAX_INJECT}"),
])
def test_bad_values_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], value: str,
                                         message: str) -> None:
    code, out, err = run(capsys, *BASE, "--inject", value)
    assert code == EXIT_USAGE and out == ""
    assert err.count("\n") == 1 and err.startswith(f"{PROG}: error: {message}")


def test_unreachable_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *BASE, "--updates", "10", "--target-loss", "1e-4",
                       "--inject", "4")
    assert code == EXIT_USAGE and err.count("\n") == 1
    assert "--inject: plain SGD does not reach the target" in err and "--updates" in err


def test_a_diverging_run_is_reported_as_diverging(capsys: pytest.CaptureFixture[str]) -> None:
    """η·h_max = 0.5 is above the exact threshold at K = 16 (0.2895 < 0.3): passing the
    target on the way out must not count as reaching it."""
    code, out, _ = run(capsys, *BASE, "--lr", "0.5", "--inject", "16")
    assert code == 0
    assert "delay injection (staleness uniform on 0..16): DIVERGES" in out
    inj = run_json(capsys, *BASE, "--lr", "0.5", "--inject", "16")["injection"]
    assert inj["stable"] is False and inj["discrete_threshold"] < 0.3
    assert inj["relative_iterations"] is None and inj["stale_iterations"] is None

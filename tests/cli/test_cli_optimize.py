"""``sdde-analyze --optimize``: the scheduler on the command line (small clusters keep each
run to a few seconds)."""

from __future__ import annotations

import pytest
from cli_run import run, run_json

from sdde.cli.command import EXIT_USAGE

SMALL = ("--workers", "4:gamma:shape=4,mean=1", "2:exponential:mean=3", "--hessian",
         "0.2:5:4:log", "--noise", "0.5", "--lr", "0.3")


def test_optimize_prints_the_schedule_and_the_command(capsys):
    code, out, err = run(capsys, *SMALL, "--target-loss", "0.3", "--optimize")
    assert code == 0, err
    assert "Schedule" in out and "best" in out and "yours" in out
    assert "binding constraint" in out and "sdde-analyze --workers" in out


def test_optimize_json_and_simulated_check(capsys, tmp_path):
    data = run_json(capsys, *SMALL, "--target-loss", "0.3", "--optimize", "--simulate",
                    "--replicas", "8", "--plot", str(tmp_path))
    best = data["schedule"]["best"]
    assert best["kappa_max"] <= 0.8 * best["kappa_as"] * (1 + 1e-9)
    assert data["check"][0]["label"] == "chosen"
    assert data["check"][0]["diverged_fraction"] == 0
    assert sorted(p.rsplit("/", 1)[-1] for p in data["plots"]) == [
        "schedule_front.png", "schedule_subsets.png"]
    assert all((tmp_path / n).stat().st_size > 10_000 for n in ("schedule_front.png",
                                                                 "schedule_subsets.png"))


@pytest.mark.parametrize("argv, message", [
    (("--margin", "0.3"), "--margin sets up the scheduler"),
    (("--optimize", "--margin", "1"), "--margin must be a number in [0, 1)"),
    (("--optimize", "--cutoffs", "x"), "--cutoffs must be a whole number"),
    (("--optimize", "--simulate"), "add --target-loss"),
    (("--optimize", "--sweep"), "cannot be combined with --sweep"),
    (("--optimize", "--policies", "bogus"), "step policy"),
])
def test_bad_optimize_input_exits_2_with_one_line(capsys, argv, message):
    code, _out, err = run(capsys, *SMALL, *argv)
    assert code == EXIT_USAGE
    assert message in err and err.count("\n") == 1 and "Traceback" not in err

"""``sdde-analyze`` stability options: --hessian, --noise, --policy, --target-loss,
--initial-error. In-process ``main([...])`` with capsys; ``--no-exact`` and a point delay
keep every run well under a second (κ* = π/2 exactly, so JSON values are checked at 1e-9).
"""

from __future__ import annotations

import json
import math

import pytest
from cli_run import run, strict_json

import sdde
from sdde.cli.command import EXIT_USAGE, PROG

ERROR_PREFIX = f"{PROG}: error:"
FAST = ("--no-exact", "--delay", "deterministic:value=1")


def test_default_run_prints_stability(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--no-exact", "--workers", "8")
    assert code == 0, err
    assert "Traceback" not in out + err
    assert "Stability" in out and "verdict" in out and "converges" in out


def test_json_has_stability_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *FAST, "--workers", "32", "--lr", "0.01", "--hessian",
                         "0.5,1", "--noise", "0.5", "--json")
    assert code == 0, err
    assert out.count("\n") == 1
    data = strict_json(out)
    stab = data["stability"]
    assert stab["critical_kappa"] == pytest.approx(math.pi / 2, rel=1e-9)  # mean field
    assert stab["converges"] is True
    # the server with constant staleness 31: a root of z^32 − z^31 + a on the unit circle
    server = 2 * 32 * math.sin(math.pi / (4 * 32 - 2))
    assert stab["max_stable_lr"] == pytest.approx(server / 32, rel=1e-9)
    assert len(stab["modes"]) == 2 and stab["loss_floor"] > 0
    assert data["inputs"]["hessian"] == "0.5,1" and data["inputs"]["noise"] == 0.5


def test_divergent_run_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *FAST, "--workers", "32", "--lr", "0.06")
    assert code == 0, err  # a divergent configuration is an answer, not an error
    assert "DIVERGES" in out


@pytest.mark.parametrize(("argv", "needle"), [
    (("--hessian", "0,1"), "hessian"),
    (("--hessian", "a"), "hessian"),
    (("--policy", "foo"), "policy"),
    (("--policy", "geometric:2"), "policy"),
    (("--policy", "geometric:x"), "policy"),
    (("--noise", "-1"), "--noise"),
    (("--noise", "nan"), "--noise"),
    (("--target-loss", "0"), "--target-loss"),
    (("--target-loss", "inf"), "--target-loss"),
    (("--initial-error", "-1"), "--initial-error"),
])
def test_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str],
                                         argv: tuple[str, ...], needle: str) -> None:
    code, out, err = run(capsys, *FAST, *argv)
    assert code == EXIT_USAGE, (code, out, err)
    assert "Traceback" not in out + err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(ERROR_PREFIX)
    assert needle in lines[0]


@pytest.mark.parametrize("policy", ["inverse", "geometric:0.9"])
def test_policies_run(capsys: pytest.CaptureFixture[str], policy: str) -> None:
    code, out, err = run(capsys, *FAST, "--workers", "16", "--policy", policy, "--json")
    assert code == 0, err
    data = strict_json(out)
    assert data["inputs"]["policy"] == policy
    assert data["stability"]["model"]["policy"] == policy


def test_target_loss(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *FAST, "--workers", "20", "--lr", "0.01",
                         "--target-loss", "0.01", "--initial-error", "2")
    assert code == 0, err
    assert "time to loss 0.01" in out
    # Noiseless, one mode h = 1, point delay: the command reports what the library computes
    # (tests/stability/test_stability_report.py checks that against the method-of-steps solution),
    # which is later than the dominant-root estimate ln(x0²/(2ε)) / (2r), r = −Re W_0(−0.2).
    code, out, _ = run(capsys, *FAST, "--workers", "20", "--lr", "0.01",
                       "--target-loss", "0.01", "--initial-error", "2", "--json")
    assert code == 0
    from sdde.stability.report import analyze_stability
    from sdde.stability.roots import point_delay_roots
    model = sdde.AsyncSGDModel(lr=0.01, cluster=sdde.Cluster(
        workers=20, delay=sdde.delays.parse(json.loads(out)["inputs"]["delay"])),
        spectrum=sdde.HessianSpectrum.parse("1"))
    expected = analyze_stability(model, target_loss=0.01, initial_error=2.0,
                                 optimise_workers=False).time_to_target
    stab = json.loads(out)["stability"]
    assert stab["time_to_target"] == pytest.approx(expected, rel=1e-12)
    r = -float(point_delay_roots(0.2, 1)[0].real)
    assert stab["time_to_target"] > math.log(4 / 0.02) / (2 * r)

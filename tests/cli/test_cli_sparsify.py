"""``sdde-analyze --sparsify SPEC``: the sparsified model's line and its JSON key.

Independent answers: masking scales the largest stable learning rate by exactly ``1/q``
(same kernel, ``η' = q η``); top-k without error feedback diverges where unsparsified
SGD does; the library's :func:`sdde.literature.sparse_sgd.analyze_sparsified` on the
same model.
"""

from __future__ import annotations

import json

import pytest
from cli_run import run, run_json

from sdde import AsyncSGDModel, Cluster, HessianSpectrum, Sparsifier
from sdde.cli.command import EXIT_USAGE, PROG
from sdde.literature.sparse_sgd import analyze_sparsified

BASE = ("--workers", "32", "--lr", "0.01", "--hessian", "0.5,1", "--noise", "0.001",
        "--no-exact", "--updates", "2000")


def test_masking_raises_the_largest_stable_rate_by_one_over_q(
        capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, *BASE, "--sparsify", "random:0.25")
    sparse = data["sparsification"]
    assert data["inputs"]["sparsify"] == "random:0.25" and data["inputs"]["dim"] == 1_000_000
    assert sparse["share"] == 0.25 and sparse["stable"] is True
    assert sparse["max_stable_lr"] == pytest.approx(4 * sparse["plain_max_stable_lr"],
                                                    rel=1e-12)
    # the comparison is in the mean field on both sides (no server to simulate for the
    # equivalent model): the plain side is κ*, not the report's almost-sure threshold
    assert sparse["plain_max_stable_lr"] == pytest.approx(
        data["stability"]["thresholds"]["mean"]["lr"], rel=1e-12)
    assert sparse["time_to_target"] is None and sparse["push_gain"] == pytest.approx(0.01)
    # pushes are small at the user's rate, not at the 4× larger threshold (0.28 of the way)
    [note] = sparse["caveats"]
    assert "threshold is rough" in note and "0.28" in note


def test_json_matches_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    sparse = run_json(capsys, *BASE, "--sparsify", "random:0.1:ef", "--dim", "500",
                      "--target-loss", "0.01")["sparsification"]
    model = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=32),
                          spectrum=HessianSpectrum.parse("0.5,1"), noise=0.001)
    report = analyze_sparsified(model, Sparsifier("random", 0.1, error_feedback=True),
                                dim=500, target_loss=0.01)
    assert sparse == json.loads(json.dumps(report.to_dict()))
    low, high = sparse["time_to_target"]
    assert low > 0 and (high is None or high >= low)


def test_top_k_without_error_feedback_keeps_the_plain_threshold(
        capsys: pytest.CaptureFixture[str]) -> None:
    sparse = run_json(capsys, *BASE, "--sparsify", "top:0.1")["sparsification"]
    assert sparse["max_stable_lr"] == sparse["plain_max_stable_lr"]
    assert any("top-k" in note for note in sparse["caveats"])


def test_the_line_and_its_notes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *BASE, "--lr", "0.05", "--sparsify", "random:0.1:ef")
    assert code == 0
    line = next(row for row in out.splitlines() if row.startswith("sparsified pushes"))
    assert "random:0.1:ef" in line and "largest stable lr" in line
    assert "note: each push moves the stiffest coordinate by 0.5" in out


@pytest.mark.parametrize("extra, message", [
    (("--sparsify", "middle:0.1"), "--sparsify: bad sparsifier"),
    (("--sparsify", "random:0"), "--sparsify: bad sparsifier"),
    (("--sparsify", "random:0.1", "--threshold", "20"), "no staleness threshold"),
    (("--sparsify", "random:0.1", "--step-policy", "inverse"), "constant step policy"),
    (("--sparsify", "random:0.1", "--simulate"), "cannot be combined with --simulate"),
    (("--sparsify", "random:0.1", "--dim", "0"), "--dim"),
    (("--dim", "100",), "add --sparsify"),
    (("--sparsify", "random:0.1", "--sweep"), "cannot be combined with --sweep"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str],
                                          extra: tuple[str, ...], message: str) -> None:
    code, out, err = run(capsys, *BASE, *extra)
    assert code == EXIT_USAGE and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{PROG}: error:") and message in lines[0]

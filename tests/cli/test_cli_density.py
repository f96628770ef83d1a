"""``--hessian density:FILE``: a weighted spectrum with per-node noise, end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.cli.cli_run import ERROR_PREFIX, run, run_json


def _density(tmp_path: Path, n: int, noise: bool) -> Path:
    h = np.geomspace(1e-3, 1.0, n)
    w = np.linspace(0.5, 2.0, n)
    columns = [h, w] + ([np.full(n, 0.8)] if noise else [])
    path = tmp_path / "density.txt"
    np.savetxt(path, np.column_stack(columns), fmt="%.17g", header="h weight noise")
    return path


def test_density_with_noise_matches_the_same_spectrum_given_directly(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The file's noise column is the model's per-mode noise and its weights are
    multiplicities: the floor is ½ Σ w h v with the per-mode variances of the same range
    given with ``--noise`` (unit weights), and the rates are the same."""
    path = _density(tmp_path, 900, noise=True)
    dense = run_json(capsys, "--workers", "32", "--lr", "0.01", "--hessian",
                     f"density:{path}")["stability"]
    assert dense["mode_solver"]["method"] == "grid"
    assert dense["modes_listed"] == "900 of 900"
    ranged = run_json(capsys, "--workers", "32", "--lr", "0.01", "--hessian",
                      "0.001:1:900:log", "--noise", "0.8")["stability"]
    assert dense["decay_rate"] == pytest.approx(ranged["decay_rate"], rel=1e-12)
    h = np.array([m["h"] for m in ranged["modes"]])
    v = np.array([m["stationary_variance"] for m in ranged["modes"]])
    w = np.linspace(0.5, 2.0, 900)
    assert dense["loss_floor"] == pytest.approx(0.5 * np.sum(w * h * v), rel=1e-12)


def test_large_spectra_list_a_thousand_modes_in_json(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    path = _density(tmp_path, 3000, noise=True)
    data = run_json(capsys, "--workers", "32", "--lr", "0.01", "--hessian", f"density:{path}")
    assert data["stability"]["modes_listed"] == "1000 of 3000"
    assert len(data["stability"]["modes"]) == 1000
    assert data["stability"]["model"]["spectrum"]["listed"] is False


def test_density_text_names_nodes_and_weight(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    path = _density(tmp_path, 100, noise=False)
    code, out, err = run(capsys, "--workers", "32", "--lr", "0.01", "--hessian",
                         f"density:{path}", "--noise", "1")
    assert code == 0, err
    assert "100 density nodes (total weight 125)" in out


def test_noise_twice_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    path = _density(tmp_path, 10, noise=True)
    code, out, err = run(capsys, "--hessian", f"density:{path}", "--noise", "1")
    assert code == 2 and out == ""
    assert err.startswith(ERROR_PREFIX) and "third column" in err and err.count("\n") == 1

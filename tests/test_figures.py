"""The figure scripts run (fast versions), check what they draw, and write real images."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from figures.__main__ import ALL, FIGURES, TABLES

ROOT = Path(__file__).resolve().parents[1]

FIGURES_DIR = ROOT / "figures"


@pytest.mark.parametrize("name", FIGURES)
def test_figure_fast_writes_nonblank_outputs(name: str, tmp_path: Path) -> None:
    import matplotlib.image

    module = importlib.import_module(f"figures.{name}")
    paths = module.main(tmp_path, fast=True)  # raises AssertionError if a check fails
    assert paths, f"{name} wrote nothing"
    for path in paths:
        assert path.suffix in (".png", ".md") and path.parent == tmp_path and path.exists()
        if path.suffix == ".md":  # a table beside the figure
            assert "| --- |" in path.read_text(), f"{path.name} holds no table"
            continue
        pixels = matplotlib.image.imread(path)
        assert pixels.ndim == 3 and min(pixels.shape[:2]) > 100
        assert float(np.std(pixels)) > 0.0, f"{path.name} is blank"


def test_main_lists_every_module() -> None:
    # a new script in figures/ must be added to figures/__main__.py, or `python -m
    # figures` would silently skip it
    modules = {p.stem for p in FIGURES_DIR.glob("*.py") if not p.stem.startswith("__")}
    assert set(ALL) == modules
    assert len(ALL) == len(set(ALL))
    assert not set(FIGURES) & set(TABLES)


def test_main_rejects_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    from figures.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["no_such_figure"])
    assert exit_info.value.code == 2
    assert "no_such_figure" in capsys.readouterr().err

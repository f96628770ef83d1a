"""The notebooks in docs/notebooks/: committed without outputs, and they run top to bottom.

Each notebook is executed with nbclient in a fresh ``python3`` kernel, which
jupyter_client starts with this interpreter (``sys.executable``: the kernelspec's argv
says ``python``), so it sees the same installed ``sdde``. The notebooks check their own
claims with ``assert`` cells, so a run without errors also means the prose still matches
the numbers. About 10 s each on two cores; marked slow.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

FOLDER = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
EXPECTED = {"divergence_thresholds", "staleness_and_run_time", "model_vs_reference",
            "beyond_quadratics", "staleness_models_and_policies", "momentum_and_synchrony",
            "delay_injection", "sparsification", "schedule_my_cluster"}


def _execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(FOLDER)}})
    client.execute()
    return nb


@pytest.fixture
def inline_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Figures are returned to the client as PNGs, whatever MPLBACKEND the caller has."""
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def test_all_notebooks_present() -> None:
    assert {p.stem for p in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_stripped(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "widgets" not in nb.metadata, "saved widget state: run docs/notebooks/strip.py"
    assert nb.cells and nb.cells[0].cell_type == "markdown"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: run docs/notebooks/strip.py"
            assert cell.execution_count is None, f"cell {i} has an execution count"


def test_kernel_is_this_interpreter(inline_figures: None) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys, sdde; print(sys.prefix); print(sdde.__file__)")])
    (output,) = _execute(nb).cells[0].outputs
    prefix, package = output["text"].split()
    assert prefix == sys.prefix
    import sdde

    assert Path(package) == Path(sdde.__file__)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom(path: Path, inline_figures: None) -> None:
    nb = _execute(nbformat.read(path, as_version=4))  # raises CellExecutionError on error
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was drawn"

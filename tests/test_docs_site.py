"""The documentation site builds without a warning, and its pages keep their promises.

`mkdocs build --strict` fails on any warning: a broken link or anchor, a page missing from
the navigation, a docstring mkdocstrings cannot resolve.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sdde

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_docs_build_strict(tmp_path: Path) -> None:
    # the notebooks render unexecuted here: tests/test_notebooks.py executes each of them
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "SDDE_DOCS_EXECUTE": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "critical_kappa" in api and "Parameters" in api
    notebook = tmp_path / "site" / "notebooks" / "divergence_thresholds" / "index.html"
    assert "jp-Notebook" in notebook.read_text()  # rendered by mkdocs-jupyter


def _covered(path: str) -> set[str]:
    """The name a ``::: path`` directive documents, and a module's ``__all__`` with it."""
    names = {path.rsplit(".", 1)[-1]}
    try:
        module = importlib.import_module(path)
    except ImportError:  # a class or function, not a module
        return names
    return names | set(getattr(module, "__all__", ()))


def test_api_reference_covers_the_public_namespace() -> None:
    documented = re.findall(r"^::: (\S+)$", (DOCS / "api.md").read_text(), flags=re.M)
    covered = set().union(*(_covered(path) for path in documented))
    missing = [name for name in sdde.__all__ if name != "__version__" and name not in covered
               # a short module name (sdde.validate) documented under its layer's path
               and getattr(getattr(sdde, name), "__name__", None) not in documented]
    assert not missing, f"docs/api.md does not document {missing}"


def test_index_six_line_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    index = (DOCS / "index.md").read_text()
    example = re.findall(r"## Six lines\n\n```python\n(.*?)```", index, flags=re.S)[0]
    assert len(example.strip().splitlines()) == 6
    exec(compile(example, "docs/index.md", "exec"), {})
    summary = capsys.readouterr().out
    assert "converges" in summary  # Erlang-2: the mean field's κ* = 4 exactly
    assert re.search(r"\(mean field κ\*\)\s+4\s", summary), summary

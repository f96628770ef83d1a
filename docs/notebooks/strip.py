"""Strip outputs from the notebooks before committing them.

    python docs/notebooks/strip.py                # every notebook in this folder
    python docs/notebooks/strip.py a.ipynb ...    # these notebooks
    python docs/notebooks/strip.py --check        # exit 1 if one still has outputs

Removes cell outputs, execution counts, per-cell execution metadata, saved widget state,
and trims ``language_info`` to the language name, so a notebook only changes in git when
its cells do. ``tests/test_notebooks.py`` checks the committed files are stripped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

_CELL_KEYS = ("execution", "collapsed", "scrolled")


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without outputs, execution counts or widget state (in place)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in _CELL_KEYS:
            cell.metadata.pop(key, None)
    nb.metadata.pop("widgets", None)
    if "language_info" in nb.metadata:
        nb.metadata["language_info"] = {"name": nb.metadata["language_info"].get("name",
                                                                                 "python")}
    return nb


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"] or sorted(
        Path(__file__).parent.glob("*.ipynb"))
    dirty = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        stripped = nbformat.writes(strip(nbformat.reads(text, as_version=4))) + "\n"
        if stripped != text:
            dirty.append(path)
            if not check:
                path.write_text(stripped, encoding="utf-8")
    for path in dirty:
        print(f"{'not stripped' if check else 'stripped'}: {path}")
    return 1 if check and dirty else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

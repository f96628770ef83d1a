"""Figure and table scripts: one per artefact, fixed inputs, output in figures/out/.

``python -m figures`` regenerates all of them.
"""

from pathlib import Path


def write_table(text: str, path: Path) -> None:
    """Write a Markdown table to ``path`` (creating figures/out/) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print(text)

"""Figure and table scripts: one per artefact, fixed inputs, output in figures/out/.

``python -m figures`` regenerates all of them (``--fast`` for the quick versions,
``python -m figures NAME ...`` for some). Every figure script is a module with
``main(out_dir: Path = OUT_DIR, *, fast: bool = False) -> list[Path]``: it computes with
sdde's public functions, draws with the helpers of :mod:`sdde.cli.plots`, writes PNGs into
``out_dir`` and :func:`check`\\ s what it drew, so a wrong figure fails loudly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Where figures and tables go (gitignored).
OUT_DIR = Path(__file__).parent / "out"
#: Resolution of the PNGs.
DPI = 130


def write_table(text: str, path: Path) -> None:
    """Write a Markdown table to ``path`` (creating figures/out/) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print(text)


def check(condition: bool, message: str) -> None:
    """Raise :class:`AssertionError` with ``message`` unless ``condition`` holds.

    Unlike ``assert``, this also runs under ``python -O``: a figure that does not show
    what it claims must fail.
    """
    if not condition:
        raise AssertionError(message)


def new_figure(nrows: int = 1, ncols: int = 1, *, size: tuple[float, float] = (6.0, 4.2),
               **kwargs: Any) -> tuple[Figure, Any]:
    """A figure and its axes (``plt.subplots``) with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kwargs.setdefault("layout", "constrained")  # nothing clipped, no tight_layout calls
    return plt.subplots(nrows, ncols, figsize=size, squeeze=False, **kwargs)


def save(fig: Figure, out_dir: Path, name: str) -> Path:
    """Save ``fig`` as ``out_dir/name`` (directory created), close it, return the path."""
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def splice(doc: Path, begin: str, end: str, block: str) -> None:
    """Replace the generated block of ``doc`` between the ``begin`` and ``end`` markers."""
    text = doc.read_text()
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(f"{head}{begin}\n{block}\n{end}{tail}")

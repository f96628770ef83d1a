"""Tables of numbers in text files, read in bulk (private).

Trace files and spectral densities can hold millions of lines: a Python loop over them takes
seconds, pandas' C reader a fraction of one. The readers here only parse fast; each caller
keeps a line-by-line reading as the reference that names the first bad line.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np

from sdde._numerics import FloatArray

#: Above this many bytes the bulk reader is worth its import.
BULK_BYTES = 1 << 16


def without_comments(data: bytes) -> bytes:
    """``data`` with every ``#`` comment (to the end of its line) removed."""
    return re.sub(rb"#[^\n]*", b"", data) if b"#" in data else data


def read_number_table(data: bytes) -> FloatArray | None:
    """The numbers of ``data`` (comments removed, columns separated by white space or
    commas) as a 2-D array, one row per non-blank line, or None when pandas is missing.

    Raises
    ------
    ValueError
        When a line is not numbers, or lines have different numbers of columns.
    """
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas comes with xarray
        return None
    text = without_comments(data).replace(b",", b" ")
    frame = pd.read_csv(io.BytesIO(text), header=None, sep=r"\s+", dtype=np.float64,
                        engine="c", na_filter=False, quoting=csv.QUOTE_NONE)
    return np.asarray(frame.to_numpy(dtype=np.float64))

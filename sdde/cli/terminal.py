"""What reaches the user's terminal: text any stream can encode, and no stray warnings.

Two policies of ``sdde-analyze`` (docs/cli.md, "Input contract"):

* The report uses symbols (``η``, ``κ``, ``±``, ``∞``, ``·``). A stream that cannot encode
  them (``LANG=C``, ``PYTHONIOENCODING=ascii``, an old Windows console) gets ASCII
  spellings (``eta``, ``kappa``, ``+/-``, ``infinity``, ``.``) instead of a
  ``UnicodeEncodeError``.
* A Python warning tells a user nothing they can act on: numerical warnings inside sdde are
  bugs (the test suite turns them into errors), and what a user should know is a report
  line. So the command records warnings instead of printing them; an sdde ``UserWarning``
  (a deliberate notice, e.g. a recomputed sweep chunk) becomes one ``note:`` line, and with
  ``SDDE_DEBUG=1`` every recorded warning is printed as a ``debug:`` line with its origin.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import sys
import unicodedata
import warnings
from collections.abc import Iterator
from typing import TextIO

#: Symbols of the report and their ASCII spellings (others: Unicode names, then "?").
ASCII_SPELLINGS = {
    "·": ".", "×": "x", "±": "+/-", "–": "-", "—": "-", "−": "-", "…": "...",
    "←": "<-", "→": "->", "↦": "->", "≤": "<=", "≥": ">=", "≈": "~", "≠": "!=",
    "∞": "infinity", "√": "sqrt", "⇔": "<=>", "∈": " in ", "★": "*", "‖": "||",
    "∝": "~", "∫": "int", "§": "S", "²": "^2", "³": "^3", "¹": "^1", "⁴": "^4",
    "⁶": "^6", "⁻": "^-", "½": "1/2", "¼": "1/4", "θ": "theta", "η": "eta",
    "κ": "kappa", "λ": "lambda", "μ": "mu", "σ": "sigma", "τ": "tau", "φ": "phi",
}
_HANDLER = "sdde-ascii"
#: The installed package's directory: its own warnings are notices, others' are not.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
#: Set to 1 to print the warnings the command recorded (for developers and bug reports).
DEBUG_ENV = "SDDE_DEBUG"


def ascii_spelling(char: str) -> str:
    """An ASCII rendering of one character: the table, a Greek letter's name, or ``?``."""
    if char in ASCII_SPELLINGS:
        return ASCII_SPELLINGS[char]
    name = unicodedata.name(char, "")
    if name.startswith("GREEK") and "LETTER" in name:
        word = name.rsplit(" ", 1)[-1].lower().replace("lamda", "lambda")
        return word.capitalize() if "CAPITAL" in name else word
    if name.startswith(("SUBSCRIPT ", "SUPERSCRIPT ")):
        digits = unicodedata.digit(char, None)
        if digits is not None:
            return f"^{digits}" if name.startswith("SUPER") else str(digits)
    decomposed = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return decomposed or "?"


def _replace(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start:error.end]
    return "".join(ascii_spelling(c) for c in text), error.end


codecs.register_error(_HANDLER, _replace)


def make_encodable(*streams: TextIO) -> None:
    """Let each stream write the report's symbols, spelled in ASCII where it must."""
    for stream in streams:
        encoding = getattr(stream, "encoding", None)
        if not encoding or not hasattr(stream, "reconfigure"):
            continue
        try:
            "ηκθ·×±∞≤→−".encode(encoding)
        except (UnicodeEncodeError, LookupError):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors=_HANDLER)


@contextlib.contextmanager
def quiet_warnings(prog: str) -> Iterator[None]:
    """Record warnings instead of printing them; deliberate notices become ``note:`` lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            _report(caught, prog)


def _report(caught: list[warnings.WarningMessage], prog: str) -> None:
    debug = os.environ.get(DEBUG_ENV, "") not in ("", "0")
    seen: set[str] = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if w.category is UserWarning and os.path.abspath(w.filename).startswith(_PACKAGE):
            line = f"{prog}: note: {text}"
        elif debug:
            line = (f"{prog}: debug: {w.category.__name__}: {text} "
                    f"({os.path.basename(w.filename)}:{w.lineno})")
        else:
            continue
        if line not in seen:
            seen.add(line)
            print(line, file=sys.stderr)

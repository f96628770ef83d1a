"""A minimal terminal progress bar for long computations (stderr, only on a terminal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

#: Progress callbacks the library accepts: called with the fraction done, in [0, 1].
ProgressCallback = Callable[[float], None]


class TerminalProgress:
    """Draws ``label [#####     ] 50%  3.1 s`` on one line of ``stream``, if it is a TTY.

    Parameters
    ----------
    label : str
        What is being computed.
    stream : text stream, optional
        Where to draw (default ``sys.stderr``); nothing is drawn unless it is a terminal.
    delay : float
        Seconds to wait before drawing, so quick computations stay silent.
    total : int, optional
        Number of work items of similar cost: the bar then shows ``done/total`` and, from
        a tenth done on, the time left extrapolated from the elapsed time. Without it the
        fraction marks stages of unequal cost (a stability analysis: thresholds, modes,
        limits), and no time left is shown: an extrapolation would promise "1 s left" for
        a stage that takes seven.
    """

    def __init__(self, label: str, stream: TextIO | None = None, delay: float = 0.5,
                 total: int | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.delay = delay
        self.drawn = False

    def __call__(self, fraction: float) -> None:
        """Report that ``fraction`` of the work is done."""
        elapsed = time.monotonic() - self.start
        if not self.enabled or elapsed < self.delay:
            return
        fraction = min(max(fraction, 0.0), 1.0)
        filled = round(30 * fraction)
        count = "" if self.total is None else f" {round(fraction * self.total)}/{self.total}"
        left = (f", about {elapsed * (1 - fraction) / fraction:.0f} s left"
                if self.total is not None and fraction >= 0.1 else "")
        self.stream.write(f"\r{self.label} [{'#' * filled}{' ' * (30 - filled)}] "
                          f"{100 * fraction:3.0f}%{count}  {elapsed:.1f} s{left}\033[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """Erase the bar (if one was drawn)."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()

"""The terminal progress bar: drawn only on a terminal, erased at the end."""

from __future__ import annotations

import io
import itertools

from sdde import Cluster
from sdde._progress import TerminalProgress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_is_drawn_on_a_terminal_and_erased() -> None:
    stream = _Terminal()
    bar = TerminalProgress("work", stream=stream, delay=0.0)
    bar(0.5)
    assert "work [" + "#" * 15 + " " * 15 + "]  50%" in stream.getvalue()
    bar.close()
    assert stream.getvalue().endswith("\r\033[K")


def test_bar_is_silent_off_a_terminal_and_before_its_delay() -> None:
    plain = io.StringIO()
    TerminalProgress("work", stream=plain, delay=0.0)(0.5)
    assert plain.getvalue() == ""
    term = _Terminal()
    TerminalProgress("work", stream=term, delay=3600.0)(0.5)
    assert term.getvalue() == ""


def test_exact_staleness_reports_monotone_progress_up_to_one() -> None:
    seen: list[float] = []
    Cluster(workers=64).staleness("exact", progress=seen.append)
    assert seen and all(b >= a for a, b in itertools.pairwise(seen))
    assert seen[-1] == 1.0


def test_bar_with_a_total_shows_items_done_and_time_left() -> None:
    stream = _Terminal()
    bar = TerminalProgress("sweep", stream=stream, delay=0.0, total=40)
    bar.start -= 10.0  # ten seconds in, a quarter done: thirty seconds left
    bar(0.25)
    drawn = stream.getvalue()
    assert " 10/40 " in drawn
    left = float(drawn.split(", about ")[1].split(" s left")[0])
    assert abs(left - 30.0) < 0.5


def test_bar_of_stages_shows_no_time_left() -> None:
    """Stages of unequal cost (no total): the elapsed time only, never a promise."""
    stream = _Terminal()
    bar = TerminalProgress("stability analysis", stream=stream, delay=0.0)
    bar.start -= 1.0
    bar(0.5)
    assert "left" not in stream.getvalue() and "1.0 s" in stream.getvalue()

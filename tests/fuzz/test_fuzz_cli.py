"""Outside-in fuzzing of ``sdde-analyze`` over the whole option space (tests/fuzz/fuzz_harness.py).

Every generated command line runs in a forked child with a wall-clock budget and must end
in one of two ways: a report (exit 0) that breaks no invariant and prints no warning, or a
one-line refusal (exit 2). An internal error, a crash, a run past the budget without a
progress bar and an estimate, a leaked warning or a nonsense output fails the test.

The default tier draws a few command lines per run (derandomised: the same ones every
run); ``-m fuzz`` runs the nightly-sized campaign (2000 command lines, about 40 minutes on
two cores; also ``python tests/fuzz/campaign.py``).
"""

from __future__ import annotations

import collections
import random
from pathlib import Path

import pytest
from fuzz_harness import classify, command_line, command_lines, run_isolated, trace_files, warm_up
from hypothesis import given, settings

#: Classes a command line may end in.
GOOD = {"ok", "refused"}


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], Path]:
    """Trace files of every kind, and a directory for figures."""
    root = tmp_path_factory.mktemp("fuzz")
    warm_up()
    return trace_files(root), root / "plots"


def _check(argv: list[str], *, ascii_stdout: bool = False, budget: float = 30.0) -> None:
    outcome = run_isolated(argv, budget=budget, ascii_stdout=ascii_stdout)
    kind, reason = classify(outcome)
    assert kind in GOOD, f"{kind}: sdde-analyze {' '.join(argv)}\n  {reason}"


@pytest.mark.slow
def test_generated_command_lines_end_cleanly(space: tuple[dict[str, Path], Path]) -> None:
    traces, plots = space

    @settings(max_examples=12, deadline=None, derandomize=True, database=None)
    @given(argv=command_lines(traces, plots))
    def one(argv: list[str]) -> None:
        _check(argv, ascii_stdout=len(argv) % 5 == 0)

    one()


@pytest.mark.parametrize("argv", [
    ["--workers", "32", "--threshold", "1000000000"],
    ["--workers", "16", "--threshold", "1", "--gradients", "1"],
    ["--workers", "32", "--lr", "1e200"],
    ["--workers", "32", "--lr", "5e-324"],
    ["--workers", "32", "--initial-error", "1e200", "--target-loss", "0.5"],
    ["--workers", "32", "--lr", "1_000"],
    ["--workers", "\u0663\u0662"],
], ids=lambda a: " ".join(a))
def test_reported_cases_end_cleanly(argv: list[str],
                                    space: tuple[dict[str, Path], Path]) -> None:
    """Command lines of the outside campaign that once ended in an internal error."""
    _check(argv)


def test_ascii_terminal_gets_ascii_spellings(space: tuple[dict[str, Path], Path]) -> None:
    outcome = run_isolated(["--workers", "8"], ascii_stdout=True)
    assert classify(outcome) == ("ok", "")
    assert "learning rate eta = 0.01" in outcome.out


@pytest.mark.fuzz
def test_campaign(space: tuple[dict[str, Path], Path]) -> None:
    """2000 command lines: none may end outside the good classes (counts are printed)."""
    traces, plots = space
    rng = random.Random(2026)
    counts: collections.Counter[str] = collections.Counter()
    bad = []
    for i in range(2000):
        argv = command_line(rng, traces, plots)
        kind, reason = classify(run_isolated(argv, ascii_stdout=i % 7 == 3))
        counts[kind] += 1
        if kind not in GOOD:
            bad.append(f"{kind}: {' '.join(argv)} -> {reason}")
    print(dict(counts))
    assert not bad, "\n".join(bad[:20])

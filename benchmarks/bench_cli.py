"""The command line: start-up, rejection of bad input, and every documented example.

Run: ``.venv/bin/python benchmarks/bench_cli.py [--examples]``. Each command runs in a
fresh process (``sdde-analyze`` of the interpreter running this script); times are wall
seconds, median of ``REPEATS`` runs, interleaved with the baseline ``python -c "import
numpy, scipy"`` (what any SciPy program pays before it does anything) and, for rejected
input, with ``python -c pass``.

1. The README command ``sdde-analyze --workers 32 --lr 0.01``, against the baseline.
2. Bad input (an unknown delay family, a negative learning rate, a shape outside the
   input contract, a malformed ``--hessian``): the time to the one-line refusal.
3. With ``--examples``: every example of ``sdde-analyze --help`` and every
   ``sdde-analyze`` line of a fenced block in ``docs/`` (once each, plots into a
   temporary directory), against the 3 s budget of issue 21.

Against the code before the performance issue:
``PYTHONPATH=/path/to/old/tree .venv/bin/python benchmarks/bench_cli.py`` (the console
script is not used: ``python -m sdde.cli`` follows ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 7
ROOT = Path(__file__).resolve().parent.parent
README_COMMAND = ("--workers", "32", "--lr", "0.01")
BAD_INPUTS = {
    "unknown --delay family": ("--delay", "foo:1"),
    "--lr -1": ("--lr", "-1"),
    "--delay pareto:shape=1.1 (tail rule)": ("--delay", "pareto:shape=1.1"),
    "--hessian 1:2:x": ("--hessian", "1:2:x"),
}
BUDGET_SECONDS = 3.0
#: The slow corners the issue names, timed with the examples.
CORNERS = (
    ("--workers", "32", "--lr", "0.01", "--delay", "pareto:shape=2.5", "--threshold", "5"),
    ("--workers", "32", "--lr", "0.01", "--simulate"),
)


def _seconds(argv: list[str], *, expect: int | None = 0) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if expect is not None and done.returncode != expect:
        raise RuntimeError(f"{shlex.join(argv)} exited {done.returncode}: {done.stderr}")
    return seconds


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sdde.cli", *args]


def _interleaved(first: list[str], second: list[str], *,
                 expect: int) -> tuple[float, float]:
    a, b = [], []
    for _ in range(REPEATS):
        a.append(_seconds(first, expect=expect))
        b.append(_seconds(second))
    return statistics.median(a), statistics.median(b)


def bench_startup() -> None:
    baseline = [sys.executable, "-c", "import numpy, scipy"]
    sdde, other = _interleaved(_command(*README_COMMAND), baseline, expect=0)
    print(f"{'case':40s} {'sdde s':>8s} {'other s':>8s} {'ratio':>6s}  other")
    print(f"{'sdde-analyze --workers 32 --lr 0.01':40s} {sdde:8.3f} {other:8.3f} "
          f"{sdde / other:6.2f}  python -c 'import numpy, scipy'")
    nothing = [sys.executable, "-c", "pass"]
    for label, args in BAD_INPUTS.items():
        sdde, other = _interleaved(_command(*README_COMMAND, *args), nothing, expect=2)
        print(f"{label:40s} {sdde:8.3f} {other:8.3f} {sdde / other:6.2f}  python -c pass")


def help_examples() -> list[list[str]]:
    """The example command lines of ``sdde-analyze --help`` (as argument lists)."""
    text = subprocess.run(_command("--help"), capture_output=True, text=True,
                          check=True, cwd=ROOT).stdout
    examples = text.split("examples:", 1)[1]
    # examples that read the user's own files (density:, trace:) have none to read here
    return [shlex.split(line)[1:] for line in examples.splitlines()
            if line.strip().startswith("sdde-analyze ")
            and "density:" not in line and "trace:" not in line]


def docs_examples() -> list[list[str]]:
    """Every ``sdde-analyze`` line of a fenced code block under ``docs/``."""
    found = []
    for path in sorted((ROOT / "docs").rglob("*.md")):
        for block in re.findall(r"```[a-z]*\n(.*?)```", path.read_text(), flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.strip().removeprefix("$ ")
                args = shlex.split(line)[1:] if line.startswith("sdde-analyze ") else []
                # the synopsis and a placeholder scheduler address are not runnable
                if args and not any(a.startswith("[") or "//host" in a for a in args):
                    found.append(args)
    return found


def bench_examples() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        seen: set[tuple[str, ...]] = set()
        print(f"\n{'seconds':>8s}  example (budget {BUDGET_SECONDS:g} s, idle machine)")
        for args in help_examples() + docs_examples() + [list(c) for c in CORNERS]:
            if tuple(args) in seen:
                continue
            seen.add(tuple(args))
            local = [a if not a.endswith((".nc", "/")) else os.path.join(scratch, a)
                     for a in args]
            seconds = _seconds(_command(*local), expect=None)
            flag = "" if seconds <= BUDGET_SECONDS else "  over budget"
            print(f"{seconds:8.2f}  sdde-analyze {shlex.join(args)}{flag}")


if __name__ == "__main__":
    bench_startup()
    if "--examples" in sys.argv[1:]:
        bench_examples()

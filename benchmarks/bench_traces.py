"""``sdde-analyze --delay trace:FILE`` on traces of 10⁴ … 10⁷ measured durations.

The previous method read the file line by line, integrated ``E[max of 32]`` (a step
function with one jump per distinct duration) by adaptive quadrature, called ``cdf`` a
million times doing so, and summed the Laplace transform over every distinct duration at
each of the ~16 000 arguments the stability analysis evaluates. The current one parses in
bulk, sums ``E[max]`` exactly over the sorted support, caches the law's moments and
length-biased sampling table, and evaluates the transform from a once-built summary
(per-cell Taylor moments, error below ``3e-14``; see :class:`sdde.delays.Empirical`).

Each row: median wall time of the whole command (a fresh interpreter, imports included)
over ``--repeats`` runs, with and without ``--no-exact``. ``--old SRC`` also times a
source tree holding the previous method (put first on ``PYTHONPATH``) where one run
stays under ``--old-limit`` seconds (10⁴ takes ~13 s, 10⁵ minutes, 10⁶ more than 5).

Run: ``.venv/bin/python benchmarks/bench_traces.py`` (writes the lognormal traces into a
temporary directory; about two minutes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = (10**4, 10**5, 10**6, 10**7)


def write_trace(path: Path, n: int, seed: int = 0) -> None:
    """``n`` lognormal durations (mean 1.13, cv 0.53), six significant digits, one a line."""
    values = np.random.default_rng(seed).lognormal(0.0, 0.5, n)
    np.savetxt(path, values, fmt="%.6g")


def run(trace: Path, exact: bool, src: str | None, timeout: float) -> float:
    """Wall seconds of one ``sdde-analyze --workers 32 --delay trace:...`` run."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "sdde.cli", "--workers", "32", "--delay", f"trace:{trace}"]
    if not exact:
        cmd.append("--no-exact")
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=timeout,
                   cwd=tempfile.gettempdir() if src is not None else None)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--old", metavar="SRC", help="source tree of the previous method")
    parser.add_argument("--old-limit", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'durations':>10} {'mode':>9} {'current s':>10} {'previous s':>11}")
        old_ok = {True: args.old is not None, False: args.old is not None}
        for n in args.sizes:
            trace = Path(tmp) / f"trace{n}.txt"
            write_trace(trace, n)
            for exact in (False, True):
                now = statistics.median(run(trace, exact, None, 600.0)
                                        for _ in range(args.repeats))
                before = "-"
                if old_ok[exact]:
                    try:
                        times = [run(trace, exact, args.old, args.old_limit)
                                 for _ in range(args.repeats)]
                        before = f"{statistics.median(times):.2f}"
                    except subprocess.TimeoutExpired:
                        before = f"> {args.old_limit:g}"
                        old_ok[exact] = False  # larger traces take longer still
                mode = "exact" if exact else "no-exact"
                print(f"{n:>10} {mode:>9} {now:>10.2f} {before:>11}", flush=True)


if __name__ == "__main__":
    main()

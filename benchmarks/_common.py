"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable


def fresh_interpreter_seconds(snippet: str) -> float:
    """Run ``snippet`` in a new interpreter with an empty numba cache; it must print the
    seconds it measured as its last word (the cold, compiling first call)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", snippet], env=env, check=True,
                             capture_output=True, text=True, cwd=os.getcwd())
    return float(out.stdout.split()[-1])


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)

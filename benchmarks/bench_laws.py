"""The parametric delay laws with scipy.stats' formulas evaluated directly vs through scipy.stats.

Run: ``.venv/bin/python benchmarks/bench_laws.py [--before /work/before] [--repeats 5]``.

The two trees cannot share a process (both are the package ``sdde``), so every figure is
taken by a worker interpreter (``--worker``) with ``PYTHONPATH`` set to one tree, and the
workers of this tree and of ``--before`` run interleaved, ``--repeats`` rounds
(alternating which goes first); each table shows the median over the rounds.

1. Per family (exponential, gamma 4 and ½, uniform, lognormal cv 1, Weibull ½ and 2,
   Pareto 2.5; mean 1): ``law.quantile`` at the 97 logit-spaced levels of
   :func:`sdde.delays._quadrature.law_quadrature`, ``law.cdf`` at those 97 quantiles,
   and ``law_quadrature(law, sqrt_step=1/16)`` (the rule of a 64-worker cluster), each the
   median of 7 warm calls in the worker; and the first use of a law (parse, cdf,
   quantile, 100 draws, variance) in a fresh interpreter that has imported numpy,
   scipy.special and sdde.delays (in the old tree it imports scipy.stats; the column
   "stats?" says whether scipy.stats was loaded, after/before). Agreement: the largest relative
   difference between the two trees' quantiles and cdfs, and between their quadrature
   rules' integrals of ``exp(-x)`` (exactly 0 where the formulas are scipy's).
2. ``python -m sdde.cli --workers 64 --delay lognormal:mean=1,cv=1 --json`` and
   ``python -m sdde.cli --workers 24:gamma:shape=4,mean=1 8:exponential:mean=3 --json``
   end to end in a fresh interpreter (run from a neutral directory so that ``-m`` finds
   the tree on ``PYTHONPATH``), a warm-up run of each first. Agreement: the largest
   relative difference of the numbers in the two JSON reports. The end-to-end figure
   includes every other change between the two trees.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import median_time

HERE = Path(__file__).resolve()
THIS_TREE = HERE.parent.parent
#: family name → spec (mean 1 throughout).
CASES = {
    "exponential": "exponential:mean=1",
    "gamma k=4": "gamma:shape=4,mean=1",
    "gamma k=0.5": "gamma:shape=0.5,mean=1",
    "uniform": "uniform:low=0.5,high=1.5",
    "lognormal cv=1": "lognormal:mean=1,cv=1",
    "weibull k=0.5": "weibull:shape=0.5,mean=1",
    "weibull k=2": "weibull:shape=2,mean=1",
    "pareto a=2.5": "pareto:shape=2.5,mean=1",
}
CLI_RUNS = {
    "lognormal, 64 workers": ["--workers", "64", "--delay", "lognormal:mean=1,cv=1", "--json"],
    "gamma + exponential groups": ["--workers", "24:gamma:shape=4,mean=1",
                                   "8:exponential:mean=3", "--json"],
}
INNER = 7


def _median_seconds(fn: Callable[[], object]) -> float:
    return median_time(fn, INNER)


def worker() -> dict[str, Any]:
    """Time every family in this interpreter's tree: seconds and values, as JSON."""
    from sdde.delays import parse
    from sdde.delays._quadrature import _QUANTILE_LEVELS, law_quadrature

    levels = np.asarray(_QUANTILE_LEVELS, dtype=np.float64)
    out: dict[str, Any] = {}
    for name, spec in CASES.items():
        law = parse(spec)
        x = np.asarray(law.quantile(levels), dtype=np.float64)
        nodes, weights = law_quadrature(law, sqrt_step=1 / 16)
        out[name] = {
            "quantile": _median_seconds(lambda law=law: law.quantile(levels)),
            "cdf": _median_seconds(lambda law=law, x=x: law.cdf(x)),
            "quadrature": _median_seconds(
                lambda law=law: law_quadrature(law, sqrt_step=1 / 16), 3),
            "values": {"quantile": x.tolist(),
                       "cdf": np.asarray(law.cdf(x), dtype=np.float64).tolist(),
                       "integral": float(np.sum(weights * np.exp(-nodes)))},
        }
    return out


def first_use(spec: str) -> dict[str, Any]:
    """Seconds from parsing ``spec`` to its first cdf, quantile, draws and variance, in a
    fresh interpreter with numpy, scipy.special and sdde.delays already imported."""
    import scipy.special  # noqa: F401  (both trees need it; not part of the figure)

    from sdde.delays import parse

    t = time.perf_counter()
    law = parse(spec)
    law.cdf(np.linspace(0.0, 3.0, 97))
    law.quantile(np.linspace(0.0, 1.0, 97))
    law.sample(np.random.default_rng(0), 100)
    _ = law.var
    return {"seconds": time.perf_counter() - t, "scipy.stats": "scipy.stats" in sys.modules}


def _run_worker(tree: str, *argv: str) -> Any:
    env = dict(os.environ, PYTHONPATH=tree)
    res = subprocess.run([sys.executable, str(HERE), *argv], env=env, check=True,
                         capture_output=True, text=True, cwd=tempfile.gettempdir())
    return json.loads(res.stdout.strip().splitlines()[-1])


def _measure_tree(tree: str) -> dict[str, Any]:
    """The warm figures of every family, then each family's first use, for one tree."""
    out = _run_worker(tree, "--worker")
    for name, spec in CASES.items():
        out[name]["first use"] = _run_worker(tree, "--first-use", spec)
    return out


def _run_cli(tree: str, argv: list[str]) -> tuple[float, Any]:
    env = dict(os.environ, PYTHONPATH=tree)
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "sdde.cli", *argv], env=env, check=True,
                         capture_output=True, text=True, cwd=tempfile.gettempdir())
    return time.perf_counter() - t, json.loads(res.stdout)


def _numbers(obj: Any) -> list[float]:
    """Every number in a JSON value, depth first."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return []
    if isinstance(obj, int | float):
        return [float(obj)]
    items = obj.values() if isinstance(obj, dict) else obj
    return [v for item in items for v in _numbers(item)]


def _max_rel(a: Any, b: Any) -> float:
    x, y = np.asarray(_numbers(a), dtype=np.float64), np.asarray(_numbers(b), dtype=np.float64)
    if x.shape != y.shape:
        return math.nan
    both = np.isfinite(x) & np.isfinite(y)
    scale = np.maximum(np.abs(x[both]), np.abs(y[both]))
    diff = np.abs(x[both] - y[both])
    rel = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), 0.0)
    same_nonfinite = np.all((x[~both] == y[~both]) | (np.isnan(x[~both]) & np.isnan(y[~both])))
    return float(rel.max(initial=0.0)) if same_nonfinite else math.inf


def _rounds(repeats: int, trees: tuple[str, str],
            measure: Callable[[str], Any]) -> tuple[list[Any], list[Any]]:
    """``measure(tree)`` for both trees, interleaved, alternating which goes first."""
    results: tuple[list[Any], list[Any]] = ([], [])
    for r in range(repeats):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for i in order:
            results[i].append(measure(trees[i]))
    return results


def _seconds(value: Any) -> float:
    return float(value["seconds"] if isinstance(value, dict) else value)


def _families_table(after: list[dict[str, Any]], before: list[dict[str, Any]]) -> None:
    print("\n1. Per family (ms; median over rounds): after (this tree) / before, ratio "
          "before/after")
    head = f"{'family':<16}" + "".join(f"{m:>26}" for m in
                                       ("quantile(97)", "cdf(97)", "law_quadrature",
                                        "first use (fresh)"))
    print(head + f"{'max rel diff q/cdf/∫':>26}{'stats?':>10}")
    for name in CASES:
        cells = []
        for metric in ("quantile", "cdf", "quadrature", "first use"):
            a = statistics.median(_seconds(w[name][metric]) for w in after) * 1e3
            b = statistics.median(_seconds(w[name][metric]) for w in before) * 1e3
            cells.append(f"{a:8.3f} / {b:8.3f} {b / a:6.1f}x")
        va, vb = after[0][name]["values"], before[0][name]["values"]
        agree = "/".join(f"{_max_rel(va[k], vb[k]):.1e}" for k in ("quantile", "cdf", "integral"))
        stats_loaded = "/".join("yes" if w[0][name]["first use"]["scipy.stats"] else "no"
                                for w in (after, before))
        print(f"{name:<16}" + "".join(f"{c:>26}" for c in cells) + f"{agree:>26}"
              + f"{stats_loaded:>10}")


def _cli_table(trees: tuple[str, str], repeats: int) -> None:
    print("\n2. End to end, fresh interpreter (s; median of", repeats, "interleaved rounds)")
    print(f"{'command':<30}{'after':>10}{'before':>10}{'ratio':>8}{'max rel diff':>14}")
    for name, argv in CLI_RUNS.items():
        for tree in trees:  # warm-up (numba's cache, the OS file cache)
            _run_cli(tree, argv)
        after, before = _rounds(repeats, trees, lambda tree, argv=argv: _run_cli(tree, argv))
        a = statistics.median(t for t, _ in after)
        b = statistics.median(t for t, _ in before)
        agree = _max_rel(after[0][1], before[0][1])
        print(f"{name:<30}{a:10.2f}{b:10.2f}{b / a:8.2f}{agree:14.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first-use", metavar="SPEC", help=argparse.SUPPRESS)
    parser.add_argument("--before", default="/work/before", help="the tree to compare with")
    parser.add_argument("--after", default=str(THIS_TREE), help="the tree measured")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-cli", action="store_true", help="only the per-family table")
    args = parser.parse_args()
    if args.worker or args.first_use:
        print(json.dumps(worker() if args.worker else first_use(args.first_use)))
        return
    trees = (args.after, args.before)
    print(f"after = {args.after}, before = {args.before}, {args.repeats} interleaved rounds")
    after, before = _rounds(args.repeats, trees, _measure_tree)
    _families_table(after, before)
    if not args.skip_cli:
        _cli_table(trees, args.repeats)


if __name__ == "__main__":
    main()

"""Heavy-tailed round-time laws: the stability report before and after the fast root path.

Issue "Robustness: no answer in 30 s": ``sdde-analyze --workers 2 --delay pareto:shape=1.5``
took 36–50 s, and the edges of the input contract 47–80 s, most of it in
``scipy.linalg.eig`` inside the worker-count search. Two causes, both removed:

* OpenBLAS ran the small (≤ 201-point) eigenvalue problems and Newton's matrix-vector
  products on one thread per core; on a machine whose cores are busy, its threads wait
  for each other and one eigenvalue problem took 0.26–1.5 s instead of 10–13 ms. The
  report now runs on one BLAS thread (:func:`sdde.stability.roots.single_blas_thread`).
* Every gain rebuilt the generator (Lagrange rows over up to 5000 quadrature nodes) and
  bounded its eigenvalues with the complex transform and its derivative at all ~200 of
  them. The gain-independent part is now built once per kernel
  (``_kernel_generator``), and the bound uses a real exponential table of the law's body.

Both paths give the same matrices, hence the same roots (``tests/stability/
test_heavy_tail_speed.py``). Each row: ``analyze_stability`` of ``η = 0.01``, one Hessian
mode ``h = 1`` (the CLI's defaults), in a fresh interpreter per run (no cached
thresholds or quadrature rules), median of ``--repeats`` runs (default 3); of that, the
worker-count search (``_optimal_workers``); and the fastest worker count and slowest
mode's root of both, which must agree. "old" is the reference method
(``_characteristic_roots(..., fast=False)``) with BLAS threads as configured (one per
core by default); "new" is the code as it stands.

Run: ``.venv/bin/python benchmarks/bench_heavy_tails.py`` (several minutes on a busy
machine: the old path is the slow one); ``--cases pareto:shape=1.5`` for one law,
``--new-only`` to skip the old path.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys

#: (workers, delay law, learning rate): the issue's cases and two large clusters (the
#: CLI's default law).
CASES = [
    (2, "pareto:shape=1.5", 0.01),
    (2, "pareto:shape=1.2", 0.01),
    (2, "weibull:shape=0.12", 0.01),
    (2, "gamma:shape=1e-4", 0.01),
    (2, "lognormal:mean=1,cv=400", 0.01),
    (10000, "shifted-exp:shift=0.5,mean=1", 0.01),
    (1000000, "shifted-exp:shift=0.5,mean=1", 1e-6),
]

SNIPPET = r"""
import contextlib, json, sys, time
import sdde, sdde.cli.cluster_report
from sdde import Cluster, delays
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.kernels import as_kernel
from sdde.model.spectrum import HessianSpectrum
from sdde.stability import report, roots

workers, law, lr, old = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4] == "old"
if old:
    def reference(kappa, law, n=6, *, unstable_count=None):
        kernel = as_kernel(law)
        if kernel.point_delay:
            return roots.point_delay_roots(kappa * kernel.mass, n)
        return roots._characteristic_roots(kappa, kernel, n, unstable_count, fast=False)
    report.characteristic_roots = reference
    report.single_blas_thread = roots.single_blas_thread = contextlib.nullcontext
search = report._optimal_workers
spent = [0.0]
def timed_search(*args):
    t = time.perf_counter()
    out = search(*args)
    spent[0] += time.perf_counter() - t
    return out
report._optimal_workers = timed_search
model = AsyncSGDModel(lr=lr, spectrum=HessianSpectrum.parse("1"),
                      cluster=Cluster(workers=workers, delay=delays.parse(law)))
t = time.perf_counter()
r = report.analyze_stability(model)
total = time.perf_counter() - t
root = r.modes[0].root
print(json.dumps({"total": total, "search": spent[0], "fastest": r.optimal_workers,
                  "rate": r.optimal_decay_rate,
                  "root": None if root is None else [root.real, root.imag]}))
"""


def run(workers: int, law: str, lr: float, which: str) -> dict[str, object]:
    """One ``analyze_stability`` in a fresh interpreter; its times and answers."""
    out = subprocess.run([sys.executable, "-c", SNIPPET, str(workers), law, repr(lr), which],
                         check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(out.stdout.splitlines()[-1])
    return result


def median_run(workers: int, law: str, lr: float, which: str,
               repeats: int) -> tuple[float, float, dict[str, object]]:
    """Median total and search seconds over ``repeats`` runs, and the last run's answers."""
    runs = [run(workers, law, lr, which) for _ in range(repeats)]
    total = statistics.median(float(r["total"]) for r in runs)  # type: ignore[arg-type]
    search = statistics.median(float(r["search"]) for r in runs)  # type: ignore[arg-type]
    return total, search, runs[-1]


def same(a: dict[str, object], b: dict[str, object]) -> bool:
    """Same fastest count; rate and root equal to 1e-8 (relative), or both unknown."""
    def equal(p: float, q: float) -> bool:
        return p == q or (math.isnan(p) and math.isnan(q)) or abs(p - q) <= 1e-8 * abs(q)

    def close(x: object, y: object) -> bool:
        if x is None or y is None:
            return x is y
        xs, ys = (list(v) if isinstance(v, list) else [v] for v in (x, y))
        return all(equal(float(p), float(q)) for p, q in zip(xs, ys, strict=True))
    return a["fastest"] == b["fastest"] and close(a["rate"], b["rate"]) and close(
        a["root"], b["root"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", nargs="*", help="delay laws to run (default: all)")
    parser.add_argument("--new-only", action="store_true", help="skip the old path")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.cases or c[1] in args.cases]
    print(f"analyze_stability, median of {args.repeats} fresh runs (seconds): "
          "total [worker-count search]")
    print(f"{'workers':>8} {'law':<26} {'old':>17} {'new':>15}  fastest (old / new)   same")
    for workers, law, lr in cases:
        new_total, new_search, new = median_run(workers, law, lr, "new", args.repeats)
        if args.new_only:
            old_text, verdict, old_fast = "-", "-", "-"
        else:
            old_total, old_search, old = median_run(workers, law, lr, "old", args.repeats)
            old_text = f"{old_total:7.2f} [{old_search:6.2f}]"
            verdict, old_fast = ("yes" if same(new, old) else "NO"), str(old["fastest"])
        print(f"{workers:>8} {law:<26} {old_text:>17} {new_total:6.2f} [{new_search:5.2f}]  "
              f"{old_fast:>6} / {new['fastest']!s:<6}      {verdict}", flush=True)


if __name__ == "__main__":
    main()

"""Divergence-threshold benchmarks (issue 19): the real server's thresholds, timed.

Run: ``.venv/bin/python benchmarks/bench_thresholds.py``. Prints:

1. ``sdde-analyze --workers 32 --lr 0.01`` (the README command), warm: median wall time of
   5 runs in fresh interpreters, beside ``python -c 'import numpy, scipy'``.
2. A full threshold triple (mean-field κ*, mean-square κ_ms, almost-sure κ_as) per law and
   worker count, cold caches: from the table/closed form as the report does, and from a
   fresh Monte Carlo estimate (``use_table=False``, 1 % relative interval) — the cost a law
   outside the table pays.
3. A 200 × 200 stability chart (workers × learning rate) with the almost-sure verdict.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import numpy as np

from sdde import Cluster, HessianSpectrum, delays
from sdde.model.async_sgd import AsyncSGDModel
from sdde.stability import almost_sure
from sdde.stability.chart import stability_chart
from sdde.stability.mean_field import critical_kappa
from sdde.stability.mean_square import mean_square_threshold

LAWS = ["exponential:mean=1", "shifted-exp:shift=0.5,mean=1", "gamma:shape=2,mean=1",
        "uniform:low=0,high=2", "lognormal:mean=1,cv=0.5", "gamma:shape=2.5,mean=1"]


def command_seconds(argv: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def triple(spec: str, n: int, *, use_table: bool) -> tuple[float, float, float, float]:
    law = delays.parse(spec)
    model = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=n, delay=law),
                          spectrum=HessianSpectrum.parse("1"))
    almost_sure._CACHE.clear()
    t = time.perf_counter()
    star = critical_kappa(model.kernel)
    ms = mean_square_threshold(model.cluster, kernel=model.kernel).kappa
    surely = almost_sure.almost_sure_threshold(model.cluster, use_table=use_table,
                                               rng=None if use_table else
                                               np.random.default_rng(n)).kappa
    return time.perf_counter() - t, star, ms, surely


def main() -> None:
    analyze = [sys.executable, "-m", "sdde.cli", "--workers", "32", "--lr", "0.01"]
    command_seconds(analyze, 1)  # warm the numba and bytecode caches
    print("1. README command (median of 5, fresh interpreters)")
    print(f"   sdde-analyze --workers 32 --lr 0.01   {command_seconds(analyze):.2f} s")
    print(f"   python -c 'import numpy, scipy'       "
          f"{command_seconds([sys.executable, '-c', 'import numpy, scipy']):.2f} s")
    triple("exponential:mean=1", 4, use_table=False)  # compile once
    print("\n2. threshold triple per (law, n): seconds [table or closed form | Monte Carlo]")
    print(f"   {'law':32s} {'n':>5} {'κ*':>8} {'κ_ms':>8} {'κ_as':>8} {'s':>7} {'s (MC)':>7}")
    for spec in LAWS:
        for n in (4, 32, 256):
            fast = triple(spec, n, use_table=True)
            slow = triple(spec, n, use_table=False)
            print(f"   {spec:32s} {n:5d} {fast[1]:8.4g} {fast[2]:8.4g} {fast[3]:8.4g} "
                  f"{fast[0]:7.3f} {slow[0]:7.3f}")
    print("\n3. 200 × 200 stability chart (almost-sure verdict)")
    for spec in ("shifted-exp:shift=0.5,mean=1", "gamma:shape=2.5,mean=1"):
        model = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=32, delay=delays.parse(spec)),
                              spectrum=HessianSpectrum.parse("1"))
        almost_sure._CACHE.clear()
        t = time.perf_counter()
        stability_chart(model, np.unique(np.geomspace(2, 1024, 200).round()),
                        np.geomspace(1e-4, 1.0, 200))
        print(f"   {spec:32s} {time.perf_counter() - t:.2f} s (cold)")


if __name__ == "__main__":
    main()

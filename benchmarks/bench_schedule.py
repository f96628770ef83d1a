"""Scheduling benchmarks (issue 25): the search against brute force, and the command.

Run: ``.venv/bin/python benchmarks/bench_schedule.py``. Prints:

1. ``sdde-analyze --optimize`` for 24 gamma + 8 exponential workers with a target loss,
   warm: median wall time of 3 runs in fresh interpreters.
2. :func:`sdde.schedule.schedule` on the same cluster (no cut-offs) against the simplest
   honest alternative: every one of the 24·8 + 24 + 8 = 224 subsets, each with its own
   thresholds and a 40-point learning-rate grid below its cap, every mode solved directly
   at every point (no rate table, no pattern search). Both answers' predicted times are
   printed: the search must not be worse than the brute force's best.
3. The mixture quantile that every quadrature rule needs (400 levels), vectorised
   bisection against the scalar loop it replaced.
"""

from __future__ import annotations

import math
import subprocess
import time

import numpy as np
from _common import median_time

from sdde import HessianSpectrum, delays
from sdde._numerics import invert_monotone
from sdde.cluster.cluster import WorkerGroup
from sdde.schedule.optimizer import Candidate, _Search, schedule

FAST, SLOW = delays.parse("gamma:shape=4,mean=1"), delays.parse("exponential:mean=3")
GROUPS = (WorkerGroup(workers=24, delay=FAST), WorkerGroup(workers=8, delay=SLOW))
SPECTRUM = HessianSpectrum.parse("0.1:10:20:log")
COMMAND = [".venv/bin/sdde-analyze", "--workers", "24:gamma:shape=4,mean=1",
           "8:exponential:mean=3", "--lr", "0.01", "--hessian", "0.1:10:20:log", "--noise",
           "1", "--target-loss", "0.5", "--optimize"]


def command_seconds(repeats: int = 3) -> float:
    subprocess.run(COMMAND, check=True, capture_output=True)  # warm the numba cache
    return median_time(lambda: subprocess.run(COMMAND, check=True, capture_output=True),
                       repeats)


def brute_force() -> tuple[float, float, Candidate]:
    search = _Search(groups=GROUPS, spectrum=SPECTRUM, noise=1.0, link=None, target_loss=0.5,
                     initial_error=1.0, margin=0.2, rng=None)
    start = time.perf_counter()
    best, best_c = math.inf, None
    for a in range(25):
        for b in range(9):
            if a + b == 0:
                continue
            c = Candidate((a, b), None, "constant")
            conf, kappa_as, _, kappa_ms, limit = search.configuration(c)
            bound = kappa_ms if limit == "mean-square" else kappa_as
            cap = 0.8 * bound / (conf.model.n_workers * SPECTRUM.h_max)
            for lr in cap * np.geomspace(0.01, 1.0, 40):
                t = conf.exact_speed(float(lr), target_loss=0.5, initial_error=1.0)
                if t.time_to_target < best:
                    best, best_c = t.time_to_target, c
    return time.perf_counter() - start, best, best_c


def main() -> None:
    print(f"1. sdde-analyze --optimize (24 + 8 workers, target): {command_seconds():.2f} s "
          "median of 3, warm")
    t = time.perf_counter()
    result = schedule(GROUPS, SPECTRUM, noise=1.0, target_loss=0.5, thresholds=[None])
    search_s = time.perf_counter() - t
    brute_s, brute_best, brute_c = brute_force()
    print(f"2. schedule(): {search_s:.2f} s, best {result.best.candidate.counts} at "
          f"{result.best.speed.time_to_target:.4f}; brute force (224 subsets × 40 lrs, "
          f"direct solves): {brute_s:.2f} s, best {brute_c.counts} at {brute_best:.4f}; "
          f"{brute_s / search_s:.1f}× faster, "
          f"{100 * (result.best.speed.time_to_target / brute_best - 1):+.2f} % in time")
    mixture = delays.Mixture(components=(FAST, SLOW), weights=(0.9, 0.1))
    levels = np.linspace(0.001, 0.999, 400)
    t = time.perf_counter()
    mixture.quantile(levels)
    vector_s = time.perf_counter() - t
    t = time.perf_counter()
    lo, hi = mixture.support
    for q in levels:
        invert_monotone(lambda x: float(mixture.cdf(x)), float(q), lo, hi)
    scalar_s = time.perf_counter() - t
    print(f"3. mixture quantile, 400 levels: vectorised {1e3 * vector_s:.1f} ms, scalar loop "
          f"{1e3 * scalar_s:.1f} ms ({scalar_s / vector_s:.0f}×)")


if __name__ == "__main__":
    main()

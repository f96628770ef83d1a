"""Exact staleness law: renewal-theory quadrature vs stationary simulation.

For each n, times ``Cluster.staleness("exact")`` (renewal theory, deterministic output)
and a simulation of 200 000 gradients, and reports the total-variation distance between
the two: the simulation's sampling error, which the renewal method does not have.

Run: ``.venv/bin/python benchmarks/bench_exact_staleness.py``.
"""

from __future__ import annotations

import time

import numpy as np

from sdde import Cluster, delays
from sdde.cluster.staleness import StalenessLaw

SPEC = "shifted-exp:shift=0.5,mean=1"
GRADIENTS = 200_000


def main() -> None:
    law = delays.parse(SPEC)
    print(f"exact staleness, rounds {SPEC}; simulation of {GRADIENTS} gradients")
    print(f"{'n':>5}{'renewal [ms]':>14}{'simulation [ms]':>17}{'ratio':>8}"
          f"{'TV(sim, renewal)':>18}")
    for n in (4, 16, 64, 256):
        cluster = Cluster(workers=n, delay=law)
        t0 = time.perf_counter()
        exact = cluster.staleness("exact")
        t1 = time.perf_counter()
        sim: StalenessLaw = cluster._simulated_staleness(np.random.default_rng(0), GRADIENTS)
        t2 = time.perf_counter()
        print(f"{n:>5}{(t1 - t0) * 1e3:>14.0f}{(t2 - t1) * 1e3:>17.0f}"
              f"{(t2 - t1) / (t1 - t0):>8.2f}{exact.total_variation(sim):>18.4f}")


if __name__ == "__main__":
    main()

"""Large Hessian spectra: a million-mode density end to end, against solving mode by mode.

What is measured
----------------
* ``sdde-analyze --workers 32 --lr 0.01 --hessian density:FILE`` on a file of 10⁶ nodes
  (log-spaced curvatures 1e-3..1, random weights and per-node noise), wall time of the
  whole command in a fresh process (median of 3), and the same with ``--hessian
  0.001:1:1000000:log --noise 1``.
* The simplest honest alternative: the per-mode computation the report made before the
  gain grid (certified count, rightmost root, stationary variance for every mode), timed
  on 200 modes and scaled to 10⁶ (it is linear in the number of modes). Run with
  ``--before TREE`` to also time the old command on 10⁴ modes from another checkout.
* The accuracy of the grid: the largest relative deviation of the gridded per-mode roots
  and variances from the direct solves on the 200 sampled modes.

Run: ``python benchmarks/bench_spectrum.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sdde import Cluster, HessianSpectrum, delays
from sdde.model.async_sgd import AsyncSGDModel
from sdde.stability.mean_field import stationary_variance
from sdde.stability.modes import solve_modes
from sdde.stability.roots import characteristic_roots, unstable_root_count
from sdde.stability.thresholds import divergence_thresholds

COMMAND = [sys.executable, "-m", "sdde.cli", "--workers", "32", "--lr", "0.01"]


def command_seconds(args: list[str], repeats: int = 3, tree: str | None = None) -> float:
    """Median wall time of the command with ``args`` in a fresh interpreter (``tree``: run
    another checkout's sdde, from its own directory so ``-m`` finds it first)."""
    env = None if tree is None else dict(os.environ, PYTHONPATH=tree)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(COMMAND + args, check=True, capture_output=True, env=env, cwd=tree)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def direct_per_mode(model: AsyncSGDModel, picks: np.ndarray) -> tuple[float, list]:
    """Seconds per mode of the per-mode solve, and its answers at ``picks``."""
    kernel, sigma2 = model.kernel, model.noise_intensities
    out = []
    t = time.perf_counter()
    for i in picks:
        kappa = float(model.kappas[i])
        count = unstable_root_count(kappa, kernel)
        z = characteristic_roots(kappa, kernel, n=2, unstable_count=count)
        v = stationary_variance(kappa, kernel, math.sqrt(sigma2[i]))
        out.append((complex(z[0].real, abs(z[0].imag)), v))
    return (time.perf_counter() - t) / picks.size, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="another checkout to time the old command on")
    args = parser.parse_args()
    n = 1_000_000
    rng = np.random.default_rng(1)
    h = np.geomspace(1e-3, 1.0, n)
    w, c = rng.uniform(0.5, 2.0, n), rng.uniform(0.5, 1.5, n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "density.txt"
        np.savetxt(path, np.c_[h, w, c], fmt="%.17g", header="h weight noise")
        density_s = command_seconds(["--hessian", f"density:{path}"])
    range_s = command_seconds(["--hessian", "0.001:1:1000000:log", "--noise", "1"])
    model = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=32,
                                                   delay=delays.parse("shifted-exp:shift=0.5,"
                                                                      "mean=1")),
                          spectrum=HessianSpectrum.from_density(h, w, noise=c), noise=c)
    t = time.perf_counter()
    table = solve_modes(model, divergence_thresholds(model))
    grid_s = time.perf_counter() - t
    picks = rng.choice(n, size=200, replace=False)
    per_mode, direct = direct_per_mode(model, picks)
    dz = max(abs(complex(table.root[i]) - z) / abs(z) for i, (z, _) in zip(picks, direct,
                                                                           strict=True))
    dv = max(abs(table.variance[i] / v - 1) for i, (_, v) in zip(picks, direct, strict=True))
    print(f"{'what':58s} {'seconds':>10s}")
    print(f"{'sdde-analyze --hessian density:FILE (10⁶ nodes, noise)':58s} {density_s:10.2f}")
    print(f"{'sdde-analyze --hessian 0.001:1:1000000:log --noise 1':58s} {range_s:10.2f}")
    print(f"{'  of which the per-mode answers (gain grid)':58s} {grid_s:10.2f}")
    print(f"{'per-mode solves, 10⁶ modes (200 timed, scaled)':58s} {per_mode * n:10.0f}")
    print(f"ratio per-mode / grid: {per_mode * n / grid_s:.0f}×; "
          f"per-mode / whole command: {per_mode * n / density_s:.0f}×")
    print(f"grid vs direct on 200 sampled modes: max |Δz|/|z| = {dz:.1e}, "
          f"max |Δv|/v = {dv:.1e}; grid: {table.grid}")
    if args.before:
        old = command_seconds(["--hessian", "0.001:1:10000:log", "--noise", "1"], 1,
                              args.before)
        new = command_seconds(["--hessian", "0.001:1:10000:log", "--noise", "1"], 1)
        print(f"10⁴ modes with noise: before {old:.1f} s, now {new:.1f} s "
              f"({old / new:.0f}×)")


if __name__ == "__main__":
    main()

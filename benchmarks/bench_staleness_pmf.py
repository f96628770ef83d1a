"""Staleness pmf under the Poisson approximation for n = 1024, up to its 99.9 % quantile.

Compares sdde's quadrature (sqrt-graded panels, windowed Poisson kernels, all k at once)
with the plain baseline: one ``scipy.integrate.quad`` per k of ``Pois(k; a x) f(x)``.
The baseline is given the peak ``x = k / a`` as a break point and a finite range, without
which QUADPACK misses the peak for most k (then it is fast and wrong). Both run in the
same process; the figure of merit is the ratio of their times, and the largest absolute
difference between the two pmfs is reported alongside.

Run: ``.venv/bin/python benchmarks/bench_staleness_pmf.py`` (about a minute).
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import integrate, stats

from sdde import Cluster, delays
from sdde.cluster.staleness import mixed_poisson_pmf

N_WORKERS = 1024
LAWS = ("shifted-exp:shift=0.5,mean=1", "lognormal:mean=1,cv=0.5", "gamma:shape=2,mean=1",
        "weibull:shape=1.5,mean=1")


def baseline_pmf(law: delays.DelayLaw, rate: float, k_max: int) -> np.ndarray:
    """One adaptive quadrature per k (the straightforward implementation)."""
    lo, hi = law.support
    out = np.empty(k_max + 1)
    for k in range(k_max + 1):
        peak = max(k, 0.5) / rate
        upper = min(hi, peak + 40.0 * math.sqrt(peak / rate) + 40.0 / rate)
        lower = max(lo, peak - 40.0 * math.sqrt(peak / rate) - 40.0 / rate, 0.0)
        out[k], _ = integrate.quad(lambda x, k=k: stats.poisson.pmf(k, rate * x) * law.pdf(x),
                                   lower, upper, points=[peak] if lower < peak < upper else None,
                                   limit=200, epsabs=1e-14, epsrel=1e-10)
    return out


def best_of(fn, repeats: int) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result  # type: ignore[return-value]


def main() -> None:
    print(f"staleness pmf, Poisson approximation, n = {N_WORKERS}, k = 0 … 99.9 % quantile")
    print(f"{'law':<32}{'k_99.9':>8}{'sdde [ms]':>11}{'quad/k [ms]':>13}{'speed-up':>10}"
          f"{'max |Δp|':>11}")
    for spec in LAWS:
        law = delays.parse(spec)
        rate = (N_WORKERS - 1) / law.mean
        k_top = int(Cluster(workers=N_WORKERS, delay=law).staleness("poisson").quantile(0.999))
        t_fast, fast = best_of(lambda law=law, rate=rate, k_top=k_top:
                               mixed_poisson_pmf(law, rate, k_top), 5)
        t_base, base = best_of(lambda law=law, rate=rate, k_top=k_top:
                               baseline_pmf(law, rate, k_top), 1)
        print(f"{spec:<32}{k_top:>8}{t_fast * 1e3:>11.1f}{t_base * 1e3:>13.0f}"
              f"{t_base / t_fast:>9.0f}×{np.max(np.abs(fast - base)):>11.1e}")


if __name__ == "__main__":
    main()

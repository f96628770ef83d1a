"""Staleness laws for large clusters: previous and current methods side by side.

Exact (renewal) law: the previous method took, at every quadrature node, an FFT over
``0 … mean + 28 sd`` of ``S | x`` — ``O(n)`` long, at ``O(sqrt(n))`` nodes — and raised
each count spectrum to the power ``n`` there (``_tagged_group_pmf_reference``). The
current one evaluates only the ``O(sqrt(n))`` window holding ``S | x`` (Chernoff bounds),
with a direct DFT of the short count tables at the low frequencies that do not underflow
and one inverse FFT per node (``_tagged_group_pmf``).

Poisson approximation: the previous method was a quadrature with ``xlogy`` per (k, node)
(copied below); the current one inverts the generating function ``φ(rate (1 - z))`` with
one FFT when the round law's Laplace transform is closed form, and otherwise runs the
quadrature with one logarithm per node.

Each row: median wall time of ``REPEATS`` runs (fewer where one run takes minutes), and
the total-variation distance between the two answers. Then the current methods alone for
n = 10³ … 10⁶, the renewal time estimate next to the measured time, and the whole
``sdde-analyze`` command (fresh interpreter, imports included).

Run: ``.venv/bin/python benchmarks/bench_large_clusters.py`` (about five minutes;
``--quick`` skips the slowest previous-method rows and the 10⁶-worker exact law).
"""

from __future__ import annotations

import math
import subprocess
import sys
import time

import numpy as np
from _common import median_time
from scipy import special

from sdde import Cluster, delays
from sdde.cluster import _renewal as renewal
from sdde.cluster import staleness
from sdde.cluster.staleness import poisson_k_max

SPEC = "shifted-exp:shift=0.5,mean=1"  # the command line's default round law
REPEATS = 3


def previous_mixed_poisson_pmf(law: delays.DelayLaw, rate: float, k_max: int) -> np.ndarray:
    """The Poisson pmf as computed before (xlogy and exp for every (k, node) pair)."""
    out = np.zeros(k_max + 1)
    x_cut = float(special.gammainccinv(k_max + 1.0, 1e-18)) / rate
    nodes, weights = staleness.law_quadrature(law, sqrt_step=0.5 / math.sqrt(rate),
                                              x_max=x_cut)
    lam = rate * nodes
    order = np.argsort(lam)
    lam, weights = lam[order], weights[order]
    log_fact = special.gammaln(np.arange(k_max + 1) + 1.0)
    with np.errstate(under="ignore"):
        for start in range(0, lam.size, 32):
            lam_c, w_c = lam[start:start + 32], weights[start:start + 32]
            k_lo = max(0, math.floor(lam_c[0] - 10.0 * math.sqrt(lam_c[0]) - 10))
            k_hi = min(k_max, math.ceil(lam_c[-1] + 10.0 * math.sqrt(lam_c[-1]) + 40))
            if k_lo > k_hi:
                continue
            k = np.arange(k_lo, k_hi + 1, dtype=np.float64)
            log_p = (special.xlogy(k[:, None], lam_c[None, :]) - lam_c[None, :]
                     - log_fact[k_lo:k_hi + 1, None])
            out[k_lo:k_hi + 1] += np.exp(log_p) @ w_c
    return out


def timed(fn, repeats: int):
    result = fn()  # also the warm-up
    return result, median_time(fn, repeats - 1) if repeats > 1 else _once(fn)


def _once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def tv(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.abs(p - q).sum())


def renewal_side_by_side(quick: bool) -> None:
    law = delays.parse(SPEC)
    print(f"\nexact (renewal) staleness pmf of one tagged worker, rounds {SPEC}")
    print(f"{'n':>7}{'k_max':>10}{'previous [s]':>14}{'current [s]':>13}{'speed-up':>10}"
          f"{'TV':>10}")
    cases = [(100, 3), (300, 3), (1_000, 2)] + ([] if quick else [(3_000, 1)])
    for n, repeats in cases:
        k_max = poisson_k_max([(n, law)])
        others = np.array([n - 1.0])
        new, t_new = timed(lambda o=others, k=k_max: renewal._tagged_group_pmf(
            law, [law], o, k, lambda f: None), REPEATS)
        old, t_old = timed(lambda o=others, k=k_max: renewal._tagged_group_pmf_reference(
            law, [law], o, k), repeats)
        print(f"{n:>7}{k_max:>10}{t_old:>14.3f}{t_new:>13.3f}{t_old / t_new:>10.1f}"
              f"{tv(new, old):>10.1e}")


def poisson_side_by_side(quick: bool) -> None:
    print("\nPoisson-approximation pmf (one group)")
    print(f"{'law':>30}{'n':>9}{'k_max':>10}{'previous [s]':>14}{'current [s]':>13}"
          f"{'speed-up':>10}{'TV':>10}")
    for spec in (SPEC, "lognormal:mean=1,cv=1"):
        law = delays.parse(spec)
        for n in (1_000, 10_000, 100_000):
            rate = (n - 1) / law.mean
            k_max = staleness._k_max([law], np.array([rate]), staleness.TAIL_TOL)
            new, t_new = timed(lambda f=law, r=rate, k=k_max: staleness.mixed_poisson_pmf(
                f, r, k), REPEATS)
            if quick and n > 10_000:
                print(f"{spec:>30}{n:>9}{k_max:>10}{'-':>14}{t_new:>13.3f}")
                continue
            old, t_old = timed(lambda f=law, r=rate, k=k_max: previous_mixed_poisson_pmf(
                f, r, k), 2 if n > 10_000 else REPEATS)
            print(f"{spec:>30}{n:>9}{k_max:>10}{t_old:>14.3f}{t_new:>13.3f}"
                  f"{t_old / t_new:>10.1f}{tv(new, old):>10.1e}")


def current_only(quick: bool) -> None:
    law = delays.parse(SPEC)
    print(f"\ncurrent methods, rounds {SPEC} (Cluster.staleness)")
    print(f"{'n':>9}{'k_max':>11}{'poisson [s]':>13}{'estimate [s]':>14}{'exact [s]':>11}"
          f"{'1 - Σp':>10}{'mean - (n-1)':>14}")
    for n in (1_000, 10_000, 100_000, 1_000_000):
        groups = [(n, law)]
        k_max = poisson_k_max(groups)
        t_pois = _once(lambda m=n: Cluster(workers=m, delay=law).staleness("poisson"))
        estimate = renewal.estimate_renewal_seconds(groups, k_max)
        if quick and n >= 1_000_000:
            print(f"{n:>9}{k_max:>11}{t_pois:>13.2f}{estimate:>14.1f}{'-':>11}")
            continue
        t = time.perf_counter()
        exact = Cluster(workers=n, delay=law).staleness("exact")
        t_exact = time.perf_counter() - t
        p = exact.probabilities
        print(f"{n:>9}{k_max:>11}{t_pois:>13.2f}{estimate:>14.1f}{t_exact:>11.2f}"
              f"{1.0 - p.sum():>10.1e}{p @ np.arange(p.size) - (n - 1):>14.1e}")


def command_line() -> None:
    print("\nsdde-analyze, whole report (fresh interpreter, imports included)")
    for args in (["--workers", "10000", "--lr", "0.01"],
                 ["--workers", "1000000", "--no-exact", "--lr", "1e-6"]):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sdde.cli", *args, "--json"], check=True,
                       capture_output=True)
        print(f"  {' '.join(args):<45}{time.perf_counter() - t:>8.2f} s")


def main() -> None:
    quick = "--quick" in sys.argv
    renewal_side_by_side(quick)
    poisson_side_by_side(quick)
    current_only(quick)
    command_line()


if __name__ == "__main__":
    main()

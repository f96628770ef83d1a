"""Stability benchmarks (issue 3): κ* timings, a 200 × 200 chart, κ* accuracy.

Run: ``.venv/bin/python benchmarks/bench_stability.py``. Prints four tables:

1. ``critical_kappa`` per built-in law: median wall time of a cold call (a fresh kernel
   each time, so no quadrature rule is reused) over 7 calls.
2. A 200 × 200 (workers × learning-rate) stability chart: total time, and the speed-up
   over a per-point root search (rightmost root by :func:`characteristic_roots`) timed on
   a 20 × 20 sub-grid in the same run and scaled to 40 000 points; the verdicts of the
   two methods are compared on that sub-grid.
3. κ* computed vs closed forms.
4. ``stationary_variance``: the vectorised Gauss–Legendre pieces against the adaptive
   quadrature of every piece (the previous method, written out here as the baseline),
   medians of warm calls in the same run, with the relative difference of the values.
"""

from __future__ import annotations

import itertools
import math
import statistics
import time

import numpy as np
from _common import median_time
from scipy import integrate

from sdde import Cluster, HessianSpectrum, delays
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.kernels import as_kernel
from sdde.stability.chart import stability_chart
from sdde.stability.mean_field import critical_kappa, stationary_variance
from sdde.stability.roots import characteristic_roots

LAWS = ["deterministic:value=1", "exponential:mean=1", "shifted-exp:shift=0.5,mean=1",
        "gamma:shape=2,mean=1", "gamma:shape=0.5,mean=1", "uniform:low=0,high=2",
        "lognormal:cv=0.5,mean=1", "lognormal:cv=1,mean=1", "weibull:shape=2,scale=1",
        "weibull:shape=0.7,scale=1", "pareto:shape=2.5,scale=1",
        "two-point:time=1,p=0.05,slowdown=10", "mixture-example"]


def _law(spec: str) -> delays.DelayLaw:
    if spec == "mixture-example":
        return delays.Mixture(components=(delays.parse("gamma:shape=4,mean=1"),
                                          delays.parse("exponential:mean=3")),
                              weights=(0.75, 0.25))
    return delays.parse(spec)


def bench_critical_kappa() -> None:
    print("critical_kappa: median time per cold call (7 calls)")
    print(f"  {'law':40s} {'kappa*':>14s} {'median ms':>10s}")
    for spec in LAWS:
        law = _law(spec)
        times, value = [], math.nan
        for _ in range(7):
            t = time.perf_counter()
            value = critical_kappa(law)
            times.append(time.perf_counter() - t)
        print(f"  {spec:40s} {value:14.10f} {1e3 * statistics.median(times):10.2f}")


def bench_chart() -> None:
    law = delays.parse("shifted-exp:shift=0.5,mean=1")
    model = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=1, delay=law),
                          spectrum=HessianSpectrum.parse("1"))
    workers = np.arange(1, 201)
    lrs = np.geomspace(1e-4, 1.0, 200)
    t = time.perf_counter()
    chart = stability_chart(model, workers, lrs)
    chart_time = time.perf_counter() - t
    sub_w, sub_l = workers[::10], lrs[::10]
    t = time.perf_counter()
    verdicts = np.array([[characteristic_roots(float(eta * n), law, n=1)[0].real < 0
                          for eta in sub_l] for n in sub_w])
    per_point = (time.perf_counter() - t) / verdicts.size
    agree = np.mean(verdicts == chart.stable[::10, ::10])
    print(f"\n200 x 200 stability chart ({law}, h = 1)")
    print(f"  chart time                      {chart_time * 1e3:9.2f} ms")
    print(f"  per-point root search           {per_point * 1e3:9.2f} ms/point "
          f"(timed on {verdicts.size} points) -> {per_point * 40000:8.1f} s for 40 000")
    print(f"  speed-up                        {per_point * 40000 / chart_time:9.0f} x")
    print(f"  verdicts agree on the sub-grid  {100 * agree:9.2f} %")


def bench_accuracy() -> None:
    def erlang(k: float) -> float:
        a = math.pi / (2 * k)
        return k * math.tan(a) / math.cos(a) ** k

    cases = [("deterministic", delays.Deterministic(value=1.0), math.pi / 2),
             ("uniform[0,2]", delays.Uniform(low=0.0, high=2.0), math.pi**2 / 4)]
    cases += [(f"gamma shape {k:g}", delays.Gamma(shape=k, scale=1.0 / k), erlang(k))
              for k in (1.5, 2, 2.5, 3, 5, 10, 50)]
    cases += [("exponential", delays.Exponential(scale=1.0), math.inf)]
    print("\nkappa* vs closed form")
    print(f"  {'law':20s} {'computed':>20s} {'closed form':>20s} {'rel. error':>11s}")
    for name, law, exact in cases:
        got = critical_kappa(law)
        err = 0.0 if got == exact else abs(got / exact - 1)
        print(f"  {name:20s} {got:20.15f} {exact:20.15f} {err:11.1e}")


def _variance_piece_by_piece(kappa: float, law: delays.DelayLaw) -> float:
    """The baseline: one adaptive quadrature per piece (stationary_variance before the
    vectorised rule), for closed-form transforms."""
    kernel = as_kernel(law)
    far = 2000.0 * (1.0 + kappa)

    def density(w: float) -> float:
        return 1.0 / abs(1j * w + kappa * complex(kernel.on_axis(np.array([w]))[0])) ** 2

    cuts = np.unique(np.concatenate([[0.0, 0.5 * kappa, kappa, 2.0 * kappa,
                                      4.0 * kappa + 4.0],
                                     np.arange(4.0 * kappa + 4.0, far, 20.0), [far]]))
    body = sum(integrate.quad(density, a, b, limit=200, epsabs=1e-15, epsrel=1e-11)[0]
               for a, b in itertools.pairwise(cuts))
    return float((body + 1.0 / far) / math.pi)


def bench_stationary_variance() -> None:
    law = delays.GeometricSum(base=delays.shifted_exponential(mean=1.0, shift=0.5), p=0.1)
    cases = [("shifted-exp", delays.shifted_exponential(mean=1.0, shift=0.5), 1.0),
             ("shifted-exp", delays.shifted_exponential(mean=1.0, shift=0.5), 2.0),
             ("gamma shape 2", delays.Gamma(shape=2.0, scale=0.5), 3.0),
             ("geometric sum p=0.1", law, 16.0)]
    print("\nstationary_variance: vectorised pieces vs adaptive quadrature per piece")
    print(f"  {'law':20s} {'kappa':>6s} {'vectorised':>11s} {'per piece':>11s} "
          f"{'speed-up':>9s} {'rel. diff':>10s}")
    for name, law_, kappa in cases:
        new, old = stationary_variance(kappa, law_), _variance_piece_by_piece(kappa, law_)
        t_new = median_time(lambda k=kappa, f=law_: stationary_variance(k, f), 5)
        t_old = median_time(lambda k=kappa, f=law_: _variance_piece_by_piece(k, f), 3)
        print(f"  {name:20s} {kappa:6g} {t_new * 1e3:9.1f}ms {t_old * 1e3:9.1f}ms "
              f"{t_old / t_new:8.1f}x {abs(new / old - 1):10.1e}")


if __name__ == "__main__":
    bench_critical_kappa()
    bench_chart()
    bench_accuracy()
    bench_stationary_variance()

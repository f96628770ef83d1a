"""Figure: how fast asynchronous SGD converges as workers are added, at a fixed learning rate.

One Hessian mode (curvature ``h = 1``), learning rate ``η = 0.01``, four round-time laws of
mean 1. With ``n`` workers the gain is ``κ = η n h`` and the slowest mode decays at
``−Re z₀(κ) / E[X]`` per time unit, ``z₀`` the rightmost root of ``z + κ φ(z) = 0``
(:func:`sdde.characteristic_roots` on the kernel of ``AsyncSGDModel.with_workers(n)``).
More workers push more updates per unit time, but staler ones: the rate rises, peaks at
the fastest worker count (star) and falls through zero where the run starts to diverge
(cross).

Checks: the plotted maximum is at :attr:`StabilityReport.optimal_workers` with its
``optimal_decay_rate``; :attr:`StabilityReport.max_stable_workers` is the last ``n`` below
the real server's almost-sure threshold (``η n h < κ_as(n)``, a run diverges from the next
one on), and the plotted mean-field rate crosses zero (the cross, where the *mean*
diverges) within 2 % of it (:func:`sdde.analyze_stability`). At full quality every worker
count is plotted, so the check covers every integer; the fast version plots a geometric
grid plus the report's worker counts and their neighbours.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from figures import OUT_DIR, check, new_figure, save
from sdde import (
    AsyncSGDModel,
    Cluster,
    HessianSpectrum,
    analyze_stability,
    characteristic_roots,
)
from sdde import delays as delay_laws
from sdde.stability.almost_sure import almost_sure_threshold

LR = 0.01
CURVATURE = 1.0
LAWS = {
    "deterministic": "deterministic:value=1",
    "shifted exp. (shift 0.5)": "shifted-exp:shift=0.5,mean=1",
    "gamma (shape 2)": "gamma:shape=2,mean=1",
    "two-point (5 % stragglers ×10)": "two-point:p=0.05,slowdown=10,mean=1",
}
#: The curves run to this multiple of the largest stable worker count.
BEYOND = 1.4


def model(spec: str, workers: int = 32) -> AsyncSGDModel:
    """The model at ``workers`` workers (the report searches the worker count itself)."""
    return AsyncSGDModel(lr=LR, spectrum=HessianSpectrum.parse(repr(CURVATURE)),
                         cluster=Cluster(workers=workers, delay=delay_laws.parse(spec)))


def slowest_rate(base: AsyncSGDModel, n: int) -> float:
    """Decay rate (per time unit) of the slowest mode with ``n`` workers."""
    variant = base.with_workers(n)
    rates = [-float(characteristic_roots(float(kappa), variant.kernel, n=1)[0].real)
             / variant.mean_delay for kappa in variant.kappas]
    return min(rates)


def worker_grid(best: int, limit: int, fast: bool) -> np.ndarray:
    """Every worker count up to ``BEYOND ×`` the limit, or a geometric grid with the
    fastest count, the limit and their neighbours (fast)."""
    top = math.ceil(BEYOND * limit)
    if not fast:
        return np.arange(1, top + 1)
    marks = [best - 1, best, best + 1, limit, limit + 1]
    grid = np.concatenate([np.geomspace(1, top, 24).round(), marks])
    return np.unique(grid[(grid >= 1) & (grid <= top)]).astype(np.int64)


def zero_crossing(n: np.ndarray, rate: np.ndarray) -> float:
    """Where the piecewise-linear curve first falls to zero or below (NaN if never)."""
    below = np.flatnonzero(rate <= 0)
    if below.size == 0 or below[0] == 0:
        return math.nan
    i = int(below[0])
    return float(n[i - 1] + (n[i] - n[i - 1]) * rate[i - 1] / (rate[i - 1] - rate[i]))


def server_stable(base: AsyncSGDModel, n: int) -> bool:
    """Whether a run with ``n`` workers converges: ``η n h < κ_as(n)``."""
    return LR * n * CURVATURE < almost_sure_threshold(base.with_workers(n).cluster).kappa


def main(out_dir: Path = OUT_DIR, *, fast: bool = False) -> list[Path]:
    """Draw, check and save ``convergence_speed.png``."""
    from sdde.cli.plots import plot_decay_vs_workers

    fig, axes = new_figure(size=(7.5, 5.6))
    ax = axes[0, 0]
    for label, spec in LAWS.items():
        base = model(spec)
        report = analyze_stability(base)
        best, limit = report.optimal_workers, report.max_stable_workers
        check(best is not None and limit is not None,
              f"{label}: the report has no fastest or largest stable worker count")
        n = worker_grid(int(best or 0), int(limit or 0), fast)
        rate = np.array([slowest_rate(base, int(k)) for k in n])
        crossing = zero_crossing(n, rate)
        plot_decay_vs_workers(n, rate, label=f"{label}: fastest n = {best}, "
                                             f"diverges from n = {limit + 1}",
                              optimum=(best, report.optimal_decay_rate),
                              divergence=crossing, ax=ax)
        line = ax.get_lines()[-3]  # the curve (then the optimum marker and the cross)
        x, y = line.get_xdata(), line.get_ydata()
        peak = int(np.argmax(y))
        check(x[peak] == best, f"{label}: plotted maximum at n = {x[peak]}, the report's "
                               f"fastest worker count is {best}")
        check(math.isclose(y[peak], report.optimal_decay_rate, rel_tol=1e-9),
              f"{label}: plotted peak rate {y[peak]!r} != report's "
              f"{report.optimal_decay_rate!r}")
        check(server_stable(base, limit) and not server_stable(base, limit + 1),
              f"{label}: a run is not stable at n = {limit} and unstable at n = {limit + 1}")
        check(abs(crossing / (limit + 1) - 1) < 0.02,
              f"{label}: the mean-field rate crosses zero at n = {crossing:.3f}, far from "
              f"the server's limit {limit}")
    ax.set_title(f"Speed against workers: η = {LR:g}, curvature h = {CURVATURE:g}, "
                 "round-time laws of mean 1\n★ fastest worker count, ✖ divergence "
                 "(rate crosses 0)", fontsize=9)
    low, high = ax.get_ylim()
    ax.axhspan(low, 0.0, color="tab:red", alpha=0.08, lw=0)
    ax.set_ylim(low, high)
    ax.text(0.02, 0.03, "below 0: diverges", transform=ax.transAxes, fontsize=8,
            color="tab:red")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    return [save(fig, out_dir, "convergence_speed.png")]


if __name__ == "__main__":
    for path in main():
        print(path)

"""Figure: where asynchronous SGD converges in the workers × learning-rate plane.

For six round-time laws of mean 1 (one Hessian mode, curvature ``h = 1``) the boundary is
``η*(n) = κ*(n) / (n·h)``, with ``κ*(n) = sdde.critical_kappa`` of the model's delay
kernel at ``n`` workers (``AsyncSGDModel.with_workers(n).kernel``, computed by
:func:`sdde.stability.chart.stability_chart`). Left: plain clusters, whose kernel (the round law
rescaled to mean 1) does not change with ``n``, so every boundary is a line of slope −1.
Right: the same laws with a shared link that adds ``n/64`` mean rounds of communication to
every round: as the link dominates, rounds become nearly deterministic and every
boundary bends towards the point delay's ``κ* = π/2``.

Checks: the drawn boundaries are ``critical_kappa(kernel at n) / (n h)`` at sampled
points, and :func:`sdde.analyze_stability` certifies "converges" 3 % below and
"diverges" 3 % above the boundary there (and "converges" at any rate for exponential
rounds without a link, whose ``κ*`` is infinite).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from figures import OUT_DIR, check, new_figure, save
from sdde import AsyncSGDModel, Cluster, HessianSpectrum, analyze_stability, critical_kappa
from sdde import delays as delay_laws
from sdde.cli.plots import plot_stability_boundaries
from sdde.cluster.cluster import SharedLink
from sdde.stability.chart import StabilityChart, stability_chart

LAWS = {
    "deterministic": "deterministic:value=1",
    "exponential": "exponential:mean=1",
    "shifted exp. (shift 0.5)": "shifted-exp:shift=0.5,mean=1",
    "gamma (shape 2)": "gamma:shape=2,mean=1",
    "lognormal (cv 0.5)": "lognormal:mean=1,cv=0.5",
    "two-point (5 % stragglers ×10)": "two-point:p=0.05,slowdown=10,mean=1",
}
CURVATURE = 1.0
LINK = SharedLink(message_size=1.0, capacity=64.0)
LRS = (2e-4, 5.0)
#: Verdicts are checked this factor below and above the boundary.
MARGIN = 0.03


def model(spec: str, link: SharedLink | None) -> AsyncSGDModel:
    """One mode of curvature ``CURVATURE``; the worker count and rate are placeholders."""
    return AsyncSGDModel(lr=0.01, spectrum=HessianSpectrum.parse(repr(CURVATURE)),
                         cluster=Cluster(workers=1, delay=delay_laws.parse(spec), link=link))


def charts(workers: np.ndarray, link: SharedLink | None) -> dict[str, StabilityChart]:
    """One stability chart per law on the worker grid, keyed on the legend label.

    Where ``κ*`` is the same at every ``n`` (no link) the label quotes it.
    """
    out = {}
    for label, spec in LAWS.items():
        chart = stability_chart(model(spec, link), workers, np.geomspace(*LRS, 3))
        kappa = chart.kappa_star
        constant = bool(np.all(kappa == kappa[0])) and math.isfinite(kappa[0])
        out[f"{label}: κ* = {kappa[0]:.3f}" if constant else label] = chart
    return out


def check_panel(ax: object, link: SharedLink | None,
                sample: list[int]) -> None:
    """The boundary lines are κ*(n)/(n h), and the verdicts flip across them."""
    lines = {str(line.get_label()).split(": κ*")[0]: line
             for line in ax.get_lines()}  # type: ignore[attr-defined]
    for label, spec in LAWS.items():
        base = model(spec, link)
        for n in sample:
            variant = base.with_workers(n)
            kappa = critical_kappa(variant.kernel)
            if not math.isfinite(kappa):
                check(label not in lines or n not in lines[label].get_xdata(),
                      f"{label}, n = {n}: κ* = ∞ but a boundary point is drawn")
                verdict = analyze_stability(variant.with_lr(10.0 / n), optimise_workers=False)
                check(verdict.stable is True, f"{label}, n = {n}: κ* = ∞ but κ = 10 is "
                                              f"not certified stable")
                continue
            x, y = lines[label].get_xdata(), lines[label].get_ydata()
            i = int(np.flatnonzero(x == n)[0])
            expected = kappa / (n * CURVATURE)
            check(math.isclose(y[i], expected, rel_tol=1e-12),
                  f"{label}, n = {n}: drawn boundary {y[i]!r} != κ*/(n h) = {expected!r}")
            below = analyze_stability(variant.with_lr(expected * (1 - MARGIN)),
                                      optimise_workers=False)
            above = analyze_stability(variant.with_lr(expected * (1 + MARGIN)),
                                      optimise_workers=False)
            check(below.stable is True and above.stable is False,
                  f"{label}, n = {n}: verdicts {below.stable} / {above.stable} at "
                  f"η*(1 ∓ {MARGIN}), expected converges / diverges")


def main(out_dir: Path = OUT_DIR, *, fast: bool = False) -> list[Path]:
    """Draw, check and save ``stability_region.png``."""
    sample = [8, 512] if fast else [1, 4, 16, 64, 256, 1024, 4096]
    workers = np.unique(np.concatenate([np.geomspace(1, 4096, 25 if fast else 160).round(),
                                        sample])).astype(np.int64)
    fig, axes = new_figure(1, 2, size=(12.0, 5.2), sharey=True)
    titles = ("plain cluster: κ* does not depend on n",
              f"shared link: every round + n·{LINK.message_size:g}/{LINK.capacity:g} "
              "(κ* → π/2)")
    for ax, link, title in zip(axes[0], (None, LINK), titles, strict=True):
        drawn = charts(workers, link)
        plot_stability_boundaries(drawn, title=title, ax=ax)
        check_panel(ax, link, sample)
    axes[0, 1].set_ylabel("")
    fig.suptitle(f"Stable region of asynchronous SGD (curvature h = {CURVATURE:g}; "
                 "round-time laws of mean 1)", fontsize=11)
    return [save(fig, out_dir, "stability_region.png")]


if __name__ == "__main__":
    for path in main():
        print(path)

"""Figure: where asynchronous SGD converges in the workers × learning-rate plane.

For six round-time laws of mean 1 (one Hessian mode, curvature ``h = 1``) the boundary is
``η*(n) = κ_as(n) / (n·h)``, with ``κ_as(n)`` the almost-sure divergence threshold of the
real server at ``n`` workers (:func:`sdde.stability.almost_sure.almost_sure_threshold`,
computed by :func:`sdde.stability.chart.stability_chart`): above it a run blows up. Left:
plain clusters; the server's threshold tends to the mean-field ``κ*`` as ``n`` grows (a
line of slope −1), except for exponential rounds, whose ``κ*`` is infinite and whose
``κ_as`` grows like ``√n``. Right: the same laws with a shared link that adds ``n/64``
mean rounds of communication to every round: as the link dominates, rounds become nearly
deterministic and every boundary bends towards the point delay's ``π/2``.

Checks: the drawn boundaries are ``almost_sure_threshold(cluster at n) / (n h)`` at sampled
points, and :func:`sdde.analyze_stability` says "converges" 3 % below and "diverges" 3 %
above the boundary there.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from figures import OUT_DIR, check, new_figure, save
from sdde import AsyncSGDModel, Cluster, HessianSpectrum, analyze_stability
from sdde import delays as delay_laws
from sdde.cli.plots import plot_stability_boundaries
from sdde.cluster.cluster import SharedLink
from sdde.stability.almost_sure import almost_sure_threshold
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
    """One stability chart per law on the worker grid, keyed on the legend label."""
    return {label: stability_chart(model(spec, link), workers, np.geomspace(*LRS, 3))
            for label, spec in LAWS.items()}


def check_panel(ax: object, link: SharedLink | None,
                sample: list[int]) -> None:
    """The boundary lines are κ_as(n)/(n h), and the verdicts flip across them."""
    lines = {str(line.get_label()): line for line in ax.get_lines()}  # type: ignore[attr-defined]
    for label, spec in LAWS.items():
        base = model(spec, link)
        for n in sample:
            variant = base.with_workers(n)
            kappa = almost_sure_threshold(variant.cluster).kappa
            x, y = lines[label].get_xdata(), lines[label].get_ydata()
            i = int(np.flatnonzero(x == n)[0])
            expected = kappa / (n * CURVATURE)
            # the chart estimates κ_as to 2 % at a few n and interpolates where no table applies
            check(math.isclose(y[i], expected, rel_tol=0.05),
                  f"{label}, n = {n}: drawn boundary {y[i]!r} != κ_as/(n h) = {expected!r}")
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
    titles = ("plain cluster: a run diverges above κ_as(n)/(n h)",
              f"shared link: every round + n·{LINK.message_size:g}/{LINK.capacity:g} "
              "(→ π/2)")
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

"""Figures of an analysis: plot helpers take data and an ``ax`` and return the ``ax``.

No mathematics here: the callers compute (``sdde.chart``, ``sdde.roots``,
``sdde.report``, ``sdde.simulation_report``) and these functions draw. matplotlib is
imported when a figure is drawn, with the non-interactive Agg backend when writing files.
:func:`write_plots` composes the four figures of ``sdde-analyze --plot DIR``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sdde._numerics import ComplexArray, FloatArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sdde.chart import StabilityChart
    from sdde.report import ClusterReport


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(6.0, 4.2)).add_subplot()


def plot_stability_chart(chart: StabilityChart, *, point: tuple[int, float] | None = None,
                         ax: Axes | None = None) -> Axes:
    """Stable and divergent (workers, learning rate) pairs, the boundary, the user's point."""
    ax = _axes(ax)
    ax.pcolormesh(chart.workers, chart.lrs, chart.stable.T.astype(float), shading="nearest",
                  cmap="RdYlGn", vmin=-0.5, vmax=1.5, alpha=0.45)
    boundary = chart.max_stable_lr
    finite = np.isfinite(boundary)
    ax.plot(chart.workers[finite], boundary[finite], color="black", lw=1.5,
            label="max stable learning rate κ*/(n·h_max)")
    if point is not None:
        ax.plot([point[0]], [point[1]], marker="*", color="navy", ms=14, ls="none",
                label=f"your setting (n = {point[0]}, η = {point[1]:g})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(chart.workers[0], chart.workers[-1])
    ax.set_ylim(chart.lrs[0], chart.lrs[-1])
    ax.set_xlabel("workers n")
    ax.set_ylabel("learning rate η")
    ax.set_title("converges (green) or diverges (red)")
    ax.legend(loc="lower left", fontsize=8)
    return ax


def plot_roots(roots: Sequence[tuple[float, ComplexArray]], *, ax: Axes | None = None) -> Axes:
    """Rightmost characteristic roots per mode (``(h, roots)`` pairs), units of 1/E[X]."""
    ax = _axes(ax)
    for h, z in roots:
        z = np.asarray(z)
        ax.plot(z.real, z.imag, "o", ms=5, alpha=0.8, label=f"h = {h:.3g}")
    ax.axvline(0.0, color="crimson", lw=1.0, label="stability boundary Re z = 0")
    ax.axhline(0.0, color="grey", lw=0.5)
    ax.set_xlabel("Re z (decay rate × E[X], negative: converges)")
    ax.set_ylabel("Im z")
    ax.set_title("rightmost roots of z + κ φ(z) = 0")
    ax.legend(fontsize=8, ncol=2)
    return ax


def plot_staleness(report: ClusterReport, *, observed: np.ndarray | None = None,
                   ax: Axes | None = None) -> Axes:
    """Staleness pmf: the Poisson approximation, the exact law, and simulated counts."""
    ax = _axes(ax)
    approx = np.asarray(report.staleness.probabilities)
    ax.plot(np.arange(approx.size), approx, lw=1.5, label="Poisson approximation")
    if report.staleness_exact is not None:
        exact = np.asarray(report.staleness_exact.probabilities)
        ax.plot(np.arange(exact.size), exact, lw=1.5, ls="--",
                label=f"exact ({report.staleness_exact.method})")
    if observed is not None and observed.size:
        counts = np.bincount(observed) / observed.size
        ax.step(np.arange(counts.size), counts, where="mid", lw=0.8, color="black",
                alpha=0.7, label="simulated")
    ax.set_xlabel("staleness s (updates between pull and push)")
    ax.set_ylabel("P(S = s)")
    ax.set_title("staleness of an arriving gradient")
    ax.legend(fontsize=8)
    return ax


def plot_loss(t: FloatArray, predicted: FloatArray, *, simulated: FloatArray | None = None,
              target: float | None = None, ax: Axes | None = None) -> Axes:
    """Expected loss over time: the SDDE's prediction, and the simulation's mean."""
    ax = _axes(ax)
    ax.plot(t, predicted, lw=1.8, label="SDDE: expected loss")
    if simulated is not None and simulated.size:
        ax.plot(t, simulated, lw=1.0, color="black", alpha=0.8,
                label="simulation: mean over replicas")
    if target is not None:
        ax.axhline(target, color="crimson", ls=":", lw=1.0, label=f"target {target:g}")
    positive = np.concatenate([predicted[predicted > 0],
                               [] if simulated is None else simulated[simulated > 0]])
    if positive.size and positive.max() > 100 * positive.min():
        ax.set_yscale("log")
    ax.set_xlabel("time (your units)")
    ax.set_ylabel("loss")
    ax.set_title("loss over time")
    ax.legend(fontsize=8)
    return ax


def write_plots(directory: str | Path, *, chart: StabilityChart | None,
                point: tuple[int, float],
                roots: Sequence[tuple[float, ComplexArray]], cluster: ClusterReport,
                t: FloatArray, predicted_loss: FloatArray,
                simulated_loss: FloatArray | None = None,
                observed_staleness: np.ndarray | None = None,
                target: float | None = None) -> list[Path]:
    """Write the four PNG figures of an analysis into ``directory`` (created if needed).

    Returns
    -------
    list of Path
        ``stability_chart.png`` (unless ``chart`` is None), ``roots.png``,
        ``staleness.png``, ``loss.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    drawings: list[tuple[str, Any]] = [] if chart is None else [
        ("stability_chart.png", lambda ax: plot_stability_chart(chart, point=point, ax=ax))]
    drawings += [
        ("roots.png", lambda ax: plot_roots(roots, ax=ax)),
        ("staleness.png", lambda ax: plot_staleness(cluster, observed=observed_staleness,
                                                    ax=ax)),
        ("loss.png", lambda ax: plot_loss(t, predicted_loss, simulated=simulated_loss,
                                          target=target, ax=ax)),
    ]
    paths = []
    for name, draw in drawings:
        fig = plt.figure(figsize=(6.0, 4.2))
        draw(fig.add_subplot())
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths

"""Figures of an analysis: plot helpers take data and an ``ax`` and return the ``ax``.

No mathematics here: the callers compute (``sdde.stability.chart``, ``sdde.stability.roots``,
``sdde.cli.cluster_report``, ``sdde.validation.simulation_report``) and these functions draw.
matplotlib is imported when a figure is drawn, with the non-interactive Agg backend when
writing files.
:func:`write_plots` composes the four figures of ``sdde-analyze --plot DIR``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from sdde._numerics import ComplexArray, FloatArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sdde.cli.cluster_report import ClusterReport
    from sdde.cluster.staleness import StalenessLaw
    from sdde.cluster.staleness_models import FittedStaleness
    from sdde.schedule.optimizer import Schedule
    from sdde.stability.chart import StabilityChart


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
            label="max stable learning rate κ_as/(n·h_max): a run diverges above")
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


def roots_legend_title(n_shown: int, n_modes: int | None) -> str:
    """Which modes a roots figure shows: ``"6 of 8 modes shown (...)"``, ``"all 3 modes"``."""
    if n_modes is None:
        return f"{n_shown} mode{'s' * (n_shown != 1)} shown"
    if n_shown >= n_modes:
        return f"all {n_modes} mode{'s' * (n_modes != 1)}"
    return (f"{n_shown} of {n_modes} modes shown (spread over the spectrum, "
            f"smallest and largest h included; {n_modes - n_shown} left out)")


def plot_roots(roots: Sequence[tuple[float, ComplexArray]], *, n_modes: int | None = None,
               ax: Axes | None = None) -> Axes:
    """Rightmost characteristic roots per mode (``(h, roots)`` pairs), units of 1/E[X].

    ``n_modes`` is the spectrum's number of modes: the legend's title says how many of
    them are shown (:func:`roots_legend_title`).
    """
    ax = _axes(ax)
    for h, z in roots:
        z = np.asarray(z)
        ax.plot(z.real, z.imag, "o", ms=5, alpha=0.8, label=f"h = {h:.3g}")
    ax.axvline(0.0, color="crimson", lw=1.0, label="stability boundary Re z = 0")
    ax.axhline(0.0, color="grey", lw=0.5)
    ax.set_xlabel("Re z (decay rate × E[X], negative: converges)")
    ax.set_ylabel("Im z")
    ax.set_title("rightmost roots of z + κ φ(z) = 0")
    # below the axes: the roots fill the plane, and a legend inside would hide some
    ax.legend(fontsize=7, ncol=3, title=roots_legend_title(len(roots), n_modes),
              title_fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    return ax


def plot_staleness(report: ClusterReport, *, observed: np.ndarray | None = None,
                   ax: Axes | None = None) -> Axes:
    """Staleness pmf: the Poisson approximation, the exact law, and simulated counts.

    The staleness axis ends at the largest 99.9 % quantile of the laws shown
    (:data:`STALENESS_QUANTILE`).
    """
    ax = _axes(ax)
    approx = np.asarray(report.staleness.probabilities)
    ax.plot(np.arange(approx.size), approx, lw=1.5, label="Poisson approximation")
    right = float(report.staleness.quantile(STALENESS_QUANTILE))
    if report.staleness_exact is not None:
        exact = np.asarray(report.staleness_exact.probabilities)
        ax.plot(np.arange(exact.size), exact, lw=1.5, ls="--",
                label=f"exact ({report.staleness_exact.method})")
        right = max(right, float(report.staleness_exact.quantile(STALENESS_QUANTILE)))
    if observed is not None and observed.size:
        counts = np.bincount(observed) / observed.size
        ax.step(np.arange(counts.size), counts, where="mid", lw=0.8, color="black",
                alpha=0.7, label="simulated")
        right = max(right, float(np.quantile(observed, STALENESS_QUANTILE,
                                             method="inverted_cdf")))
    ax.set_xlim(-0.5, right + 0.5)
    ax.set_xlabel(f"staleness s (updates between pull and push; up to the "
                  f"{100 * STALENESS_QUANTILE:g} % quantile)")
    ax.set_ylabel("P(S = s)")
    ax.set_title("staleness of an arriving gradient")
    ax.legend(fontsize=8)
    return ax


#: The staleness figure's axis ends at this quantile of the laws shown.
STALENESS_QUANTILE = 0.999
#: A loss below this fraction of the initial loss is off the loss figure's axis: the
#: run has converged for any practical purpose (and, noise-free, the curves would run
#: on to round-off, 1e-300).
LOSS_DEPTH = 1e-12
#: A loss above this multiple of the initial loss is off the axis: the run diverges.
LOSS_HEIGHT = 1e3


@dataclass(frozen=True)
class LossView:
    """Axis limits of the loss figure, chosen from the curves in it.

    Attributes
    ----------
    log : bool
        Logarithmic loss axis (the curves span more than a factor 100).
    bottom, top : float
        Loss axis (NaN: matplotlib's default, on a linear axis).
    right : float
        End of the time axis: where every curve has left the loss axis for good, or
        the last time.
    curves : list of ndarray
        The curves as drawn: NaN after a curve first leaves the axis upwards.
    notes : list of str
        What happens off the axis (printed in the figure).
    """

    log: bool
    bottom: float
    top: float
    right: float
    curves: list[FloatArray]
    notes: list[str]


def loss_view(t: FloatArray, curves: Mapping[str, FloatArray], *,
              target: float | None = None) -> LossView:
    """The meaningful range of some loss curves over the times ``t``.

    The loss axis runs from a little above the initial loss (the first positive value of
    the first curve) to a little below the lowest point any curve reaches on the
    axis: its noise floor, or :data:`LOSS_DEPTH` times the initial loss, whichever is
    higher, and always below ``target``. A curve that climbs past :data:`LOSS_HEIGHT` times
    the initial loss, or overflows, is cut there with a note; the time axis
    ends soon after every curve has left the loss axis for good.

    Parameters
    ----------
    t : ndarray
        Times, shape ``(n,)``.
    curves : mapping of str to ndarray
        Name (used in the notes) → loss at ``t``.
    target : float, optional
        A target loss drawn as a line: kept on the axis.
    """
    named = {name: np.asarray(c, dtype=np.float64) for name, c in curves.items()}
    every = np.concatenate([c[np.isfinite(c) & (c > 0)] for c in named.values()])
    firsts = [c[np.isfinite(c) & (c > 0)] for c in named.values()]
    start = float(next((f[0] for f in firsts if f.size), math.nan))
    if not every.size or not math.isfinite(start):
        return LossView(False, math.nan, math.nan, float(t[-1]), list(named.values()), [])
    notes: list[str] = []
    ceiling = LOSS_HEIGHT * start
    drawn = []
    for name, c in named.items():
        c = c.copy()
        off = np.flatnonzero(np.isinf(c) | (c > ceiling))  # NaN: not computed there
        if off.size:
            i = int(off[0])
            notes.append(f"{name} diverges: passes {LOSS_HEIGHT:g} × the initial loss at "
                         f"t = {float(t[i]):.3g}, cut there")
            c[i:] = math.nan
        elif np.isnan(c[-1]) and np.isfinite(c).any():
            last = int(np.flatnonzero(np.isfinite(c))[-1])
            notes.append(f"{name}: not computed after t = {float(t[last]):.3g}")
        drawn.append(c)
    shown = np.concatenate([c[np.isfinite(c) & (c > 0)] for c in drawn])
    low = max(float(shown.min()), LOSS_DEPTH * start)
    if target is not None and target > 0:
        low = min(low, target)
    log = float(shown.max()) > 100 * low
    if not log:
        return LossView(False, math.nan, math.nan, float(t[-1]), drawn, notes)
    bottom, top = low / 3.0, 3.0 * float(shown.max())
    on_axis = np.zeros(t.size, dtype=bool)
    for c in drawn:
        on_axis |= np.isfinite(c) & (c >= bottom)
    last = int(np.flatnonzero(on_axis)[-1]) if on_axis.any() else t.size - 1
    right = float(t[-1])
    if last < t.size - 1:
        right = min(float(t[-1]), float(t[0]) + 1.1 * (float(t[last]) - float(t[0])))
        if float(shown.min()) < LOSS_DEPTH * start:
            notes.append(f"the curves fall on below {LOSS_DEPTH:g} × the initial loss "
                         f"after t = {float(t[last]):.3g} (converged; shown up to there)")
    return LossView(True, bottom, top, right, drawn, notes)


def plot_loss(t: FloatArray, predicted: FloatArray, *, simulated: FloatArray | None = None,
              target: float | None = None, ax: Axes | None = None) -> Axes:
    """Expected loss over time: the SDDE's prediction, and the simulation's mean.

    The axes show the meaningful range (:func:`loss_view`): a diverging curve is cut
    where it leaves the axis, and what happens off the axis is written in the figure.
    """
    ax = _axes(ax)
    curves = {"SDDE": predicted}
    if simulated is not None and simulated.size:
        curves["simulation"] = simulated
    view = loss_view(t, curves, target=target)
    # few samples on the axis (the run is long, the loss falls early): show where they are
    dots: dict[str, Any] = ({"marker": "o", "ms": 2.5}
                            if np.count_nonzero(t <= view.right) < 40 else {})
    ax.plot(t, view.curves[0], lw=1.8, label="SDDE: expected loss", **dots)
    if len(view.curves) > 1:
        ax.plot(t, view.curves[1], lw=1.0, color="black", alpha=0.8,
                label="simulation: mean over replicas", **dots)
    if target is not None:
        ax.axhline(target, color="crimson", ls=":", lw=1.0, label=f"target {target:g}")
    if view.log:
        ax.set_yscale("log")
        ax.set_ylim(view.bottom, view.top)
    ax.set_xlim(float(t[0]), view.right)
    if view.notes:
        ax.text(0.02, 0.02, "\n".join(view.notes), transform=ax.transAxes, ha="left",
                va="bottom", fontsize=7, color="0.3")
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
                target: float | None = None, n_modes: int | None = None) -> list[Path]:
    """Write the four PNG figures of an analysis into ``directory`` (created if needed).

    ``n_modes`` (the spectrum's number of modes) lets the roots figure say how many of
    them it shows.

    Returns
    -------
    list of Path
        ``stability_chart.png`` (unless ``chart`` is None), ``roots.png``,
        ``staleness.png``, ``loss.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    drawings: list[tuple[str, Any]] = [] if chart is None else [
        ("stability_chart.png", lambda ax: plot_stability_chart(chart, point=point, ax=ax))]
    drawings += [
        ("roots.png", lambda ax: plot_roots(roots, n_modes=n_modes, ax=ax)),
        ("staleness.png", lambda ax: plot_staleness(cluster, observed=observed_staleness,
                                                    ax=ax)),
        ("loss.png", lambda ax: plot_loss(t, predicted_loss, simulated=simulated_loss,
                                          target=target, ax=ax)),
    ]
    return _save_each(out, drawings, (6.0, 4.2))


def _save_each(out: Path, drawings: Sequence[tuple[str, Any]],
               size: tuple[float, float]) -> list[Path]:
    """Draw each ``(name, draw(ax))`` on its own figure and save it as ``out/name``."""
    import matplotlib.pyplot as plt

    paths = []
    for name, draw in drawings:
        fig = plt.figure(figsize=size)
        draw(fig.add_subplot())
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


# ------------------------------------------------------------ figures/ (issue 8)
def plot_stability_boundaries(charts: Mapping[str, StabilityChart], *,
                              title: str | None = None, ax: Axes | None = None) -> Axes:
    """Largest stable learning rate against the worker count, one line per chart.

    Parameters
    ----------
    charts : mapping of str to StabilityChart
        Label (e.g. the delay law) → chart (:func:`sdde.stability.chart.stability_chart`), all on
        the same worker grid. A chart whose threshold is infinite at every ``n`` has no
        boundary and is only named in the legend.
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        Log-log axes; below the lowest boundary is shaded "converges for every law
        shown", above the highest "diverges for every law with a boundary".
    """
    ax = _axes(ax)
    first = next(iter(charts.values()))
    workers = np.asarray(first.workers, dtype=np.float64)
    if any(not np.array_equal(c.workers, first.workers) for c in charts.values()):
        raise ValueError("all charts must share one worker grid")
    low, high = float(first.lrs[0]), float(first.lrs[-1])
    bounds = np.array([np.asarray(c.max_stable_lr, dtype=np.float64) for c in charts.values()])
    finite = np.where(np.isfinite(bounds), bounds, np.nan)
    styles = ("-", "--", "-.", ":")  # boundaries of similar laws overlap: tell them apart
    for i, (label, bound) in enumerate(zip(charts, bounds, strict=True)):
        ok = np.isfinite(bound)
        if ok.any():
            ax.plot(workers[ok], bound[ok], lw=1.6, ls=styles[i % len(styles)], label=label)
        else:
            ax.plot([], [], ls="none", label=f"{label}: no divergence, no boundary")
    if np.isfinite(finite).any(axis=0).all():
        lowest = np.nanmin(finite, axis=0)
        highest = np.nanmax(finite, axis=0)
        ax.fill_between(workers, low, np.clip(lowest, low, high), color="tab:green",
                        alpha=0.12, lw=0, label="converges for every law")
        ax.fill_between(workers, np.clip(highest, low, high), high, color="tab:red",
                        alpha=0.12, lw=0, label="diverges for every law with a boundary")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(workers[0], workers[-1])
    ax.set_ylim(low, high)
    ax.set_xlabel("workers n")
    ax.set_ylabel("largest stable learning rate η* = κ_as(n) / (n·h)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="lower left", fontsize=7)
    return ax


def plot_decay_vs_workers(workers: npt.ArrayLike, rates: npt.ArrayLike, *, label: str,
                          optimum: tuple[int, float] | None = None,
                          divergence: float | None = None, color: str | None = None,
                          ax: Axes | None = None) -> Axes:
    """Decay rate of the slowest mode against the worker count (one delay law).

    Parameters
    ----------
    workers, rates : array_like
        Worker counts and the slowest mode's decay rate ``−Re z₀ / E[X]`` (per time
        unit; negative: the mode grows).
    label : str
        Legend label of the curve.
    optimum : (int, float), optional
        The fastest worker count and its rate: marked with a star.
    divergence : float, optional
        Where the rate crosses zero: marked with a cross on the axis.
    color : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        Logarithmic worker axis, linear rate axis.
    """
    ax = _axes(ax)
    n = np.asarray(workers, dtype=np.float64)
    r = np.asarray(rates, dtype=np.float64)
    (line,) = ax.plot(n, r, lw=1.6, color=color, label=label)
    if optimum is not None:
        ax.plot([optimum[0]], [optimum[1]], marker="*", ms=13, color=line.get_color(),
                mec="black", mew=0.6, ls="none")
    if divergence is not None:
        ax.plot([divergence], [0.0], marker="X", ms=9, color=line.get_color(),
                mec="black", mew=0.6, ls="none")
    ax.axhline(0.0, color="black", lw=0.7)
    ax.set_xscale("log")
    ax.set_xlabel("workers n")
    ax.set_ylabel("decay rate of the slowest mode −Re z₀ / E[X]  (1 / time)")
    return ax


def plot_threshold_vs_cv(cv: npt.ArrayLike, kappa_star: npt.ArrayLike, *, label: str,
                         top: float = 100.0, ax: Axes | None = None, **style: Any) -> Axes:
    """Divergence threshold ``κ*`` against the coefficient of variation of the round time.

    Parameters
    ----------
    cv, kappa_star : array_like
        One family of laws (or single points); infinite thresholds (no divergence up to
        ``top``) are drawn as upward triangles at ``top``.
    label : str
        Legend label.
    top : float
        Upper end of the threshold axis (the largest threshold searched for).
    ax : matplotlib Axes, optional
    **style
        Passed to ``Axes.plot`` (color, marker, ls, ...).

    Returns
    -------
    matplotlib Axes
        Linear cv axis, logarithmic threshold axis.
    """
    ax = _axes(ax)
    x = np.asarray(cv, dtype=np.float64)
    k = np.asarray(kappa_star, dtype=np.float64)
    ok = np.isfinite(k)
    (line,) = ax.plot(x[ok], k[ok], label=label, **style)
    if (~ok).any():
        ax.plot(x[~ok], np.full(int((~ok).sum()), top), marker="^", ls="none", ms=7,
                color=line.get_color(), clip_on=False)
    ax.set_yscale("log")
    ax.set_ylim(top=top)
    ax.set_xlabel("coefficient of variation of the round time, cv = sd / mean")
    ax.set_ylabel("divergence threshold κ* = η·n·h")
    return ax


def plot_staleness_comparison(approx: StalenessLaw, exact: StalenessLaw, *, tv: float,
                              window: tuple[int, int] | None = None, legend: bool = True,
                              ax: Axes | None = None) -> Axes:
    """Two staleness pmfs (the Poisson approximation and the exact law) and their distance.

    Parameters
    ----------
    approx, exact : StalenessLaw
        ``Cluster.staleness("poisson")`` and ``Cluster.staleness("exact")``.
    tv : float
        Their total-variation distance, printed in the panel as ``TV = 0.1234``.
    window : (int, int), optional
        Staleness range shown (default: the longer table).
    legend : bool
        Draw the legend.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    for law, style, name in ((approx, {"lw": 1.4}, "Poisson approximation"),
                             (exact, {"lw": 1.4, "ls": "--"}, f"exact ({exact.method})")):
        p = np.asarray(law.probabilities, dtype=np.float64)
        ax.step(np.arange(p.size), p, where="mid", label=name, **style)
    lo, hi = window if window is not None else (
        0, max(approx.probabilities.size, exact.probabilities.size) - 1)
    ax.set_xlim(lo - 0.5, hi + 0.5)
    peak = max(float(np.max(approx.probabilities)), float(np.max(exact.probabilities)))
    ax.set_ylim(0.0, 1.12 * peak)  # room above a point mass
    ax.text(0.97, 0.95, f"TV = {tv:.4f}", transform=ax.transAxes, ha="right", va="top",
            fontsize=9, bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8})
    ax.set_xlabel("staleness s")
    ax.set_ylabel("P(S = s)")
    if legend:
        ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_band(t: npt.ArrayLike, predicted: npt.ArrayLike, simulated: npt.ArrayLike,
              half_width: npt.ArrayLike, *, log: bool = False,
              predicted_label: str = "SDDE prediction",
              simulated_label: str = "simulation: replica mean, 95 % band",
              ax: Axes | None = None) -> Axes:
    """A predicted curve over a simulated mean with its 95 % confidence band.

    Parameters
    ----------
    t : array_like
        Times.
    predicted : array_like
        The model's curve at ``t``.
    simulated, half_width : array_like
        Mean over replicas and the half-width of its 95 % interval at ``t``.
    log : bool
        Logarithmic vertical axis (parts of the band below zero are clipped).
    predicted_label, simulated_label : str
        Legend labels.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    x = np.asarray(t, dtype=np.float64)
    mean = np.asarray(simulated, dtype=np.float64)
    hw = np.asarray(half_width, dtype=np.float64)
    ax.fill_between(x, mean - hw, mean + hw, color="tab:blue", alpha=0.3, lw=0,
                    label=simulated_label)
    ax.plot(x, mean, color="tab:blue", lw=0.8)
    ax.plot(x, np.asarray(predicted, dtype=np.float64), color="black", lw=1.4, ls="--",
            label=predicted_label)
    if log:
        ax.set_yscale("log", nonpositive="clip")
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("time (mean round times)")
    return ax


def plot_heatmap(values: npt.ArrayLike, *, rows: Sequence[str], columns: Sequence[str],
                 title: str, vmin: float, vmax: float, cmap: str = "RdBu_r",
                 fmt: str = "{:+.1f}", colorbar_label: str = "",
                 ax: Axes | None = None) -> Axes:
    """A labelled matrix of numbers as coloured, annotated cells.

    Parameters
    ----------
    values : array_like, shape (len(rows), len(columns))
        Cell values; NaN cells are blank and marked "–", infinite ones "∞" / "−∞"
        (both left uncoloured). Colours saturate outside ``[vmin, vmax]``; the
        annotations always show the value.
    rows, columns : sequence of str
        Tick labels.
    title : str
    vmin, vmax : float
        Colour range.
    cmap : str
        Colour map (diverging by default, for signed errors).
    fmt : str
        Format of the annotations.
    colorbar_label : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        With one image (the finite cells) and one text per cell.
    """
    import matplotlib as mpl

    ax = _axes(ax)
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (len(rows), len(columns)):
        raise ValueError(f"values have shape {v.shape}, labels say "
                         f"({len(rows)}, {len(columns)})")
    colormap = mpl.colormaps[cmap].with_extremes(bad="0.9")
    image = ax.imshow(np.ma.masked_invalid(v), cmap=colormap, vmin=vmin, vmax=vmax,
                      aspect="auto")
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            x = v[i, j]
            if np.isnan(x):
                text = "–"
            elif np.isinf(x):
                text = "∞" if x > 0 else "−∞"
            else:
                text = fmt.format(x)
            red, green, blue, _ = (colormap(image.norm(x)) if np.isfinite(x)
                                   else colormap.get_bad())
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # luminance of the cell
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if dark else "black")
    ax.set_xticks(range(len(columns)), list(columns), fontsize=8)
    ax.set_yticks(range(len(rows)), list(rows), fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.figure.colorbar(image, ax=ax, label=colorbar_label, shrink=0.85)
    return ax


_SYMBOLS = {"lam": "λ", "nu": "ν"}


def plot_staleness_fits(counts: npt.ArrayLike, fits: Sequence[FittedStaleness], *,
                        window: tuple[int, int] | None = None, legend: bool = True,
                        ax: Axes | None = None) -> Axes:
    """A measured staleness histogram with fitted models over it; the AIC winner starred.

    Parameters
    ----------
    counts : array_like
        ``counts[s]``: gradients measured with staleness ``s`` (drawn as a normalised
        histogram).
    fits : sequence of FittedStaleness
        Models fitted to those counts (:func:`sdde.cluster.staleness_models.fit_staleness`); each
        is drawn as its pmf, labelled with its parameters and AIC above the smallest; the
        smallest is marked ``★`` and drawn thicker. Parameters carry their standard
        errors (``±``).
    window : (int, int), optional
        Staleness range shown (default: the whole histogram).
    legend : bool
        Draw the legend.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One bar container (the histogram), then one line per fit in the order given.
    """
    ax = _axes(ax)
    c = np.asarray(counts, dtype=np.float64)
    s = np.arange(c.size)
    ax.bar(s, c / c.sum(), width=1.0, color="0.78", ec="0.6", lw=0.3,
           label=f"measured ({round(float(c.sum())):,} gradients)")
    best = min(f.aic for f in fits)
    for fit in fits:
        won = fit.aic == best
        params = ", ".join(f"{_SYMBOLS.get(k, k)} = {v:.4g} ± {fit.stderr[k]:.1g}"
                           for k, v in fit.params.items())
        mark = "★ " if won else ""
        ax.plot(s, fit.pmf(s), lw=2.2 if won else 1.2, ls="-" if won else "--",
                marker="o" if won else None, ms=2.5,
                label=f"{mark}{fit.model}: {params}; ΔAIC = {fit.aic - best:,.0f}")
    lo, hi = window if window is not None else (0, c.size - 1)
    ax.set_xlim(lo - 0.5, hi + 0.5)
    ax.set_xlabel("staleness s")
    ax.set_ylabel("P(S = s)")
    if legend:
        ax.legend(fontsize=7, loc="upper right")
    return ax


# ------------------------------------------------------------------ scheduling
def plot_schedule_front(schedule: Schedule, *, ax: Axes | None = None) -> Axes:
    """The best objective against the safety margin, the chosen margin marked."""
    ax = _axes(ax)
    margins = [100 * p.margin for p in schedule.front]
    values = [p.value for p in schedule.front]
    ax.plot(margins, values, "o-", color="C0")
    best = schedule.best.value(schedule.objective)
    ax.plot([100 * schedule.margin], [best], "*", color="C3", markersize=14,
            label=f"chosen ({schedule.margin:.0%} margin)")
    ax.set_xlabel("safety margin below the divergence thresholds (%)")
    ax.set_ylabel(schedule.objective + (" (time)" if schedule.objective == "time to target"
                                        else " (per time)"))
    ax.set_title("Speed against margin")
    ax.legend()
    return ax


def plot_schedule_subsets(schedule: Schedule, *, ax: Axes | None = None) -> Axes:
    """Every evaluated worker subset (no cut-off, first policy) coloured by its objective;
    two groups as a plane, one group as a line, more groups by total workers."""
    ax = _axes(ax)
    base = [s for s in schedule.evaluated if s.candidate.threshold is None
            and s.candidate.policy == schedule.best.candidate.policy]
    values = np.array([s.value(schedule.objective) for s in base])
    finite = np.isfinite(values)
    groups = schedule.groups
    if len(groups) == 2:
        x = np.array([s.candidate.counts[0] for s in base])
        y = np.array([s.candidate.counts[1] for s in base])
        xlabel, ylabel = f"workers used of group 1 ({groups[0].delay})", \
            f"workers used of group 2 ({groups[1].delay})"
    else:
        x = np.array([s.n_workers for s in base])
        y = values
        xlabel, ylabel = "workers used", schedule.objective
    from matplotlib.colors import LogNorm

    shown = values[finite]
    points = ax.scatter(x[finite], y[finite], c=shown, cmap="viridis_r"
                        if schedule.objective == "time to target" else "viridis", s=40,
                        norm=LogNorm(vmin=shown.min(), vmax=shown.max())
                        if shown.size and shown.min() > 0 else None)
    ax.figure.colorbar(points, ax=ax, label=schedule.objective)
    if np.any(~finite):
        ax.scatter(x[~finite], y[~finite], marker="x", color="0.5", label="never reaches it")
    b = schedule.best
    bx = b.candidate.counts[0] if len(groups) == 2 else b.n_workers
    by = b.candidate.counts[1] if len(groups) == 2 else b.value(schedule.objective)
    ax.plot([bx], [by], "*", color="C3", markersize=16, label="chosen")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title("Worker subsets searched (each at its best learning rate)")
    ax.legend(fontsize=8)
    return ax


def write_schedule_plots(directory: str | Path, schedule: Schedule) -> list[Path]:
    """``schedule_front.png`` and ``schedule_subsets.png`` into ``directory``."""
    import matplotlib

    matplotlib.use("Agg")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    return _save_each(out, [
        ("schedule_front.png", lambda ax: plot_schedule_front(schedule, ax=ax)),
        ("schedule_subsets.png", lambda ax: plot_schedule_subsets(schedule, ax=ax))],
        (6.4, 4.6))

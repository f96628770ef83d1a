"""The figures of ``--plot DIR`` scale to what is in them.

The loss axis covers the meaningful range (initial loss down to the noise floor, or
1e-12 of the initial loss, never 1e13 … 1e-300), a diverging curve is cut where it
leaves the axis with a note, the staleness axis ends at the 99.9 % quantile of the laws
shown, and the roots legend says which modes are shown and how many are left out.
Each limit is checked against a closed form for the curve drawn.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt

import sdde
from sdde.cli.plots import (
    LOSS_DEPTH,
    LOSS_HEIGHT,
    loss_view,
    plot_loss,
    plot_roots,
    plot_staleness,
    roots_legend_title,
    write_plots,
)


@pytest.fixture(autouse=True)
def _close_figures() -> None:
    yield
    plt.close("all")


# ------------------------------------------------------------------------- loss
def test_noise_free_decay_is_shown_down_to_1e12_of_the_start() -> None:
    # the --help example: L(t) = ½ e^{-2rt} falls to 1e-300 over the run; the axis stops
    # at 1e-12 of the start, and the time axis 10 % after L reaches it, ln(1e12)/(2r)
    rate, t = 0.5, np.linspace(0.0, 1250.0, 200)
    loss = 0.5 * np.exp(-2 * rate * t)
    view = loss_view(t, {"SDDE": loss, "simulation": 0.9 * loss})
    assert view.log
    assert view.bottom == pytest.approx(LOSS_DEPTH * 0.5 / 3)
    assert view.top == pytest.approx(3 * 0.5)
    reach = math.log(1 / LOSS_DEPTH) / (2 * rate)  # 27.6
    step = t[1] - t[0]  # the last sample on the axis is within a step of the crossing
    assert reach * 1.1 - 1.1 * step <= view.right <= (reach + step) * 1.1 + 1e-9
    assert len(view.notes) == 1 and "converged" in view.notes[0]
    ax = plot_loss(t, loss, simulated=0.9 * loss)
    bottom, top = ax.get_ylim()
    assert bottom == pytest.approx(view.bottom) and top == pytest.approx(view.top)
    assert ax.get_xlim()[1] == pytest.approx(view.right)
    assert any("converged" in text.get_text() for text in ax.texts)


def test_a_noise_floor_sets_the_bottom() -> None:
    t = np.linspace(0.0, 100.0, 400)
    loss = 1e-3 + np.exp(-t)  # the floor 1e-3 is far above 1e-12 of the start
    view = loss_view(t, {"SDDE": loss})
    assert view.bottom == pytest.approx(loss.min() / 3)
    assert view.right == t[-1] and view.notes == []


def test_a_target_below_the_depth_stays_on_the_axis() -> None:
    t = np.linspace(0.0, 100.0, 400)
    view = loss_view(t, {"SDDE": np.exp(-t)}, target=1e-15)
    assert view.bottom == pytest.approx(1e-15 / 3)


def test_a_diverging_curve_is_cut_where_it_leaves_the_axis() -> None:
    # L(t) = e^{t/10} passes LOSS_HEIGHT × L(0) at t = 10 ln(1e3) ≈ 69, and 1e13 by 300
    t = np.linspace(0.0, 300.0, 601)
    growing = np.exp(t / 10)
    view = loss_view(t, {"SDDE": growing, "simulation": np.where(t < 250, growing, np.inf)})
    leave = 10 * math.log(LOSS_HEIGHT)
    for drawn in view.curves:
        finite = t[np.isfinite(drawn)]
        assert finite[-1] == pytest.approx(leave, abs=t[1] - t[0])
        assert np.all(drawn[np.isfinite(drawn)] <= LOSS_HEIGHT)
    assert view.top <= 3 * LOSS_HEIGHT
    assert len(view.notes) == 2 and all("diverges" in n for n in view.notes)
    assert "t = 69" in view.notes[0]
    assert view.right == pytest.approx(1.1 * leave, abs=1.1 * (t[1] - t[0]))


def test_a_curve_that_stops_is_named() -> None:
    t = np.linspace(0.0, 10.0, 11)
    loss = np.where(t <= 6, np.exp(-t), np.nan)
    view = loss_view(t, {"SDDE": loss})
    assert view.notes == ["SDDE: not computed after t = 6"]


def test_a_flat_curve_keeps_a_linear_axis() -> None:
    t = np.linspace(0.0, 10.0, 11)
    view = loss_view(t, {"SDDE": 1.0 + 0.1 * np.exp(-t)})
    assert not view.log and view.right == 10.0


# ---------------------------------------------------------------------- staleness
def test_staleness_axis_ends_at_the_999_quantile() -> None:
    cluster = sdde.Cluster(workers=32, delay=sdde.delays.parse("shifted-exp:shift=0.5,mean=1"))
    approx, exact = cluster.staleness("poisson"), cluster.staleness("exact")
    report = SimpleNamespace(staleness=approx, staleness_exact=exact)
    observed = np.random.default_rng(0).poisson(31, size=5000)
    ax = plot_staleness(report, observed=observed)  # type: ignore[arg-type]

    def q999(p: np.ndarray) -> int:  # the first s with P(S ≤ s) ≥ 0.999
        return int(np.searchsorted(np.cumsum(p), 0.999))

    expected = max(q999(np.asarray(approx.probabilities)),
                   q999(np.asarray(exact.probabilities)),
                   int(np.sort(observed)[math.ceil(0.999 * observed.size) - 1]))
    assert ax.get_xlim() == pytest.approx((-0.5, expected + 0.5))
    assert expected < 0.5 * approx.probabilities.size  # the old axis ran to the table's end
    assert "99.9 % quantile" in ax.get_xlabel()


# -------------------------------------------------------------------------- roots
def test_roots_legend_says_which_modes_are_shown() -> None:
    assert roots_legend_title(6, 8) == ("6 of 8 modes shown (spread over the spectrum, "
                                        "smallest and largest h included; 2 left out)")
    assert roots_legend_title(3, 3) == "all 3 modes"
    assert roots_legend_title(1, 1) == "all 1 mode"
    assert roots_legend_title(6, None) == "6 modes shown"
    roots = [(h, np.array([-0.1 * h + 0.2j, -0.1 * h - 0.2j])) for h in (0.1, 1.0, 10.0)]
    ax = plot_roots(roots, n_modes=20)
    legend = ax.get_legend()
    assert legend.get_title().get_text().startswith("3 of 20 modes shown")
    assert [t.get_text() for t in legend.get_texts()][:3] == ["h = 0.1", "h = 1", "h = 10"]


def test_write_plots_passes_the_mode_count(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cluster = sdde.Cluster(workers=8, delay=sdde.delays.parse("exponential:mean=1"))
    report = SimpleNamespace(staleness=cluster.staleness("poisson"), staleness_exact=None)
    t = np.linspace(0.0, 10.0, 50)
    paths = write_plots(tmp_path, chart=None, point=(8, 0.1),
                        roots=[(1.0, np.array([-0.5 + 1j]))], cluster=report,  # type: ignore[arg-type]
                        t=t, predicted_loss=np.exp(-t), n_modes=4)
    assert [p.name for p in paths] == ["roots.png", "staleness.png", "loss.png"]
    assert all(p.stat().st_size > 0 for p in paths)

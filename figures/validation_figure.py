"""Figure: the validation table (docs/validation.md) as heatmaps over law × workers.

From :func:`sdde.validation.table.validation_table` (full quality: the default table,
six laws × n ∈ {2, 4, 8, 16, 64, 256}, seed 0, default effort, the numbers of
docs/validation.md, about five minutes; fast: two laws × two worker counts with
``Effort.quick()``). Top row: the SDDE's relative error against the exact simulator, in
% of the simulated value, for the divergence threshold, the decay rate of the mean, the
stationary variance and the time to a target loss; middle row: the discrete-time
model's. Bottom: the arrival rate's error (``λ = n / E[X]`` is exact, so this is the
simulator's noise), and the total variation of the simulated staleness law to the
mixed-Poisson law behind the SDDE and to the exact renewal law.

Checks: every drawn cell (colours and printed numbers) is the ValidationTable's number
(``100 × Comparison.sdde_error`` / ``discrete_error``, ``StalenessCheck.tv_*``); and every
arrival-rate error is within 3 half-widths of the cell's own 95 % interval. The rate is
exact in the model, so the error is pure sampling noise: the interval is Student's
over ≥ 4 replicas, and ``|T| > 3 t₀.₉₇₅`` has probability below 0.3 % per cell (3
degrees of freedom; 0.02 % with the default 8 replicas).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from figures import OUT_DIR, check, new_figure, save
from sdde._progress import TerminalProgress
from sdde.validation.table import Effort, ValidationRow, ValidationTable, validation_table

FAST_LAWS = ("deterministic:value=1", "gamma:shape=2,mean=1")
FAST_WORKERS = (16, 64)
#: Model quantities (ValidationRow attributes holding a Comparison) and their titles.
QUANTITIES = {
    "threshold": "divergence threshold κ*",
    "decay_rate": "decay rate of the mean",
    "stationary_variance": "stationary variance",
    "time_to_target": "time to target loss",
}
#: Colour range of the error maps, in % (the annotations show every value).
ERROR_RANGE = 25.0
#: Arrival-rate errors must be within this many half-widths of their 95 % interval.
ARRIVAL_HALF_WIDTHS = 3.0


def short(spec: str) -> str:
    """A row label: the family and its parameters without ``mean=1``."""
    family, _, params = spec.partition(":")
    rest = ",".join(p for p in params.split(",") if p not in ("mean=1", "value=1"))
    return f"{family} {rest}".strip()


def matrices(table: ValidationTable) -> dict[str, np.ndarray]:
    """Panel key → (laws × workers) matrix, from the table's dataclasses."""
    out: dict[str, np.ndarray] = {}

    def grid(value: Callable[[ValidationRow], float]) -> np.ndarray:
        return np.array([[value(table.row(law, n)) for n in table.workers]
                         for law in table.laws], dtype=np.float64)

    for key in QUANTITIES:
        out[f"sdde:{key}"] = grid(lambda row, k=key: 100 * getattr(row, k).sdde_error)
        out[f"discrete:{key}"] = grid(lambda row, k=key: 100 * getattr(row, k).discrete_error)
    out["arrival_rate"] = grid(lambda row: 100 * row.arrival_rate.sdde_error)
    out["tv_poisson"] = grid(lambda row: row.staleness.tv_poisson)
    out["tv_exact"] = grid(lambda row: row.staleness.tv_exact)
    return out


def shown(ax: object) -> tuple[np.ndarray, list[str]]:
    """The drawn image (non-finite cells as NaN) and the cell annotations of a panel."""
    image = ax.images[0].get_array()  # type: ignore[attr-defined]
    texts = [t.get_text() for t in ax.texts]  # type: ignore[attr-defined]
    return np.ma.filled(np.ma.masked_invalid(image).astype(np.float64), np.nan), texts


def check_panel(ax: object, key: str, expected: np.ndarray, fmt: str) -> None:
    """The panel shows exactly ``expected``."""
    image, texts = shown(ax)
    finite = np.where(np.isfinite(expected), expected, np.nan)
    check(image.shape == expected.shape and np.array_equal(image, finite, equal_nan=True),
          f"{key}: the drawn cells differ from the ValidationTable's numbers")
    labels = ["–" if math.isnan(v) else ("∞" if v > 0 else "−∞") if math.isinf(v)
              else fmt.format(v) for v in expected.ravel()]
    check(texts == labels, f"{key}: printed {texts}, table says {labels}")


def main(out_dir: Path = OUT_DIR, *, fast: bool = False,
         table: ValidationTable | None = None) -> list[Path]:
    """Run the validation (unless ``table`` is given), draw, check and save ``validation.png``."""
    from sdde.cli.plots import plot_heatmap

    if table is None and fast:
        table = validation_table(FAST_LAWS, FAST_WORKERS, effort=Effort.quick(), seed=0)
    elif table is None:
        table = validation_table(progress=TerminalProgress("validation figure"))
    data = matrices(table)
    rows = [short(law) for law in table.laws]
    columns = [f"n={n}" for n in table.workers]
    cols = len(QUANTITIES)
    width = 3.2 + 0.45 * len(columns)
    fig, axes = new_figure(3, cols, size=(cols * width, 3 * (1.2 + 0.42 * len(rows))))
    panels: list[tuple[object, str, str]] = []
    for j, (key, title) in enumerate(QUANTITIES.items()):
        for i, model in enumerate(("sdde", "discrete")):
            name = "SDDE" if model == "sdde" else "discrete-time model"
            fmt = "{:+.1f}"
            plot_heatmap(data[f"{model}:{key}"], rows=rows, columns=columns,
                         title=f"{title}: {name} error (%)", vmin=-ERROR_RANGE,
                         vmax=ERROR_RANGE, fmt=fmt, colorbar_label="% of simulated",
                         ax=axes[i, j])
            panels.append((axes[i, j], f"{model}:{key}", fmt))
    bottom = (("arrival_rate", "arrival rate: error of λ = n/E[X] (%)", "RdBu_r", -1.0, 1.0,
               "{:+.2f}", "% of simulated"),
              ("tv_poisson", "staleness: TV(simulated, Poisson)", "Purples", 0.0, 0.3,
               "{:.3f}", "total variation"),
              ("tv_exact", "staleness: TV(simulated, exact renewal)", "Purples", 0.0, 0.3,
               "{:.3f}", "total variation"))
    for j, (key, title, cmap, lo, hi, fmt, unit) in enumerate(bottom):
        plot_heatmap(data[key], rows=rows, columns=columns, title=title, cmap=cmap,
                     vmin=lo, vmax=hi, fmt=fmt, colorbar_label=unit, ax=axes[2, j])
        panels.append((axes[2, j], key, fmt))
    for j in range(len(bottom), cols):
        axes[2, j].set_axis_off()
    for ax, key, fmt in panels:
        check_panel(ax, key, data[key], fmt)
    for row in table.rows:
        c = row.arrival_rate
        check(abs(c.sdde - c.simulated) <= ARRIVAL_HALF_WIDTHS * c.half_width,
              f"{row.law}, n = {row.workers}: arrival rate {c.simulated} ± {c.half_width} "
              f"against the exact λ = {c.sdde}: more than {ARRIVAL_HALF_WIDTHS:g} "
              "half-widths apart")
    fig.suptitle(f"Models against the exact simulator (κ = {table.kappa:g}, seed "
                 f"{table.seed}; grey: no value, ∞: never diverges in the model)",
                 fontsize=11)
    return [save(fig, out_dir, "validation.png")]


if __name__ == "__main__":
    for path in main():
        print(path)

"""Figure: staleness laws, the Poisson approximation against the exact renewal law.

Rows: four round-time laws of mean 1 whose exact staleness law sdde computes by renewal
theory (no Monte Carlo); columns: 2, 16 and 256 workers. Each panel draws
``Cluster.staleness("poisson")`` (the mixed-Poisson law behind the SDDE) and
``Cluster.staleness("exact")``, and prints their total-variation distance (the numbers of
docs/staleness.md's table, ``figures/staleness_tv_table.py``).

Checks: every plotted pmf sums to 1 within 1e-9 over its table (the tail beyond it is
below 1e-12) and has mean ``n − 1`` (docs/staleness.md: exact for any law, and for the
mixed-Poisson law by construction) within 1e-7 relative; and the TV printed in each
panel is ``StalenessLaw.total_variation`` rounded, which in turn equals
``½ Σ |p − q|`` (+ the two tail masses) recomputed from the plotted arrays.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from figures import OUT_DIR, check, new_figure, save
from sdde import Cluster, StalenessLaw
from sdde import delays as delay_laws

LAWS = {
    "deterministic": "deterministic:value=1",
    "shifted exp. (shift 0.5)": "shifted-exp:shift=0.5,mean=1",
    "gamma (shape 2)": "gamma:shape=2,mean=1",
    "two-point (5 % stragglers ×10)": "two-point:p=0.05,slowdown=10,mean=1",
}
WORKERS = (2, 16, 256)
#: Tolerances of the checks (the pmfs are computed to ~1e-12).
SUM_TOL = 1e-9
MEAN_REL_TOL = 1e-7


def window(laws: list[StalenessLaw], n: int) -> tuple[int, int]:
    """Staleness range holding all but 1e-4 of both laws' mass."""
    lo = min(int(law.quantile(1e-4)) for law in laws)
    hi = max(int(law.quantile(1 - 1e-4)) for law in laws)
    return max(0, min(lo, n - 1) - 1), max(hi, n - 1) + 1


def check_panel(ax: object, name: str, approx: StalenessLaw, exact: StalenessLaw,
                n: int) -> None:
    """Mass, mean and printed distance of one panel."""
    for law in (approx, exact):
        p = np.asarray(law.probabilities, dtype=np.float64)
        total = float(p.sum())
        check(abs(total - 1.0) <= SUM_TOL, f"{name}, n = {n}, {law.method}: the pmf sums "
                                           f"to {total!r}")
        mean = float(np.arange(p.size) @ p)
        check(math.isclose(mean, n - 1, rel_tol=MEAN_REL_TOL, abs_tol=MEAN_REL_TOL),
              f"{name}, n = {n}, {law.method}: mean {mean!r}, theory n − 1 = {n - 1}")
    tv = approx.total_variation(exact)
    size = max(approx.probabilities.size, exact.probabilities.size)
    p, q = (np.pad(law.probabilities, (0, size - law.probabilities.size))
            for law in (approx, exact))
    by_hand = 0.5 * float(np.abs(p - q).sum() + approx.tail_mass + exact.tail_mass)
    check(math.isclose(tv, by_hand, rel_tol=1e-12, abs_tol=1e-15),
          f"{name}, n = {n}: total_variation {tv!r} != ½Σ|p − q| {by_hand!r}")
    printed = [float(m.group(1)) for t in ax.texts  # type: ignore[attr-defined]
               if (m := re.fullmatch(r"TV = (\d\.\d{4})", t.get_text()))]
    check(printed == [round(tv, 4)], f"{name}, n = {n}: the panel prints {printed}, "
                                     f"total_variation is {tv:.6f}")


def main(out_dir: Path = OUT_DIR, *, fast: bool = False) -> list[Path]:
    """Draw, check and save ``staleness_pmfs.png`` (the same in both modes: exact, fast)."""
    from sdde.cli.plots import plot_staleness_comparison

    fig, axes = new_figure(len(LAWS), len(WORKERS), size=(12.0, 11.0))
    for i, (name, spec) in enumerate(LAWS.items()):
        for j, n in enumerate(WORKERS):
            cluster = Cluster(workers=n, delay=delay_laws.parse(spec))
            approx, exact = cluster.staleness("poisson"), cluster.staleness("exact")
            ax = axes[i, j]
            plot_staleness_comparison(approx, exact, tv=approx.total_variation(exact),
                                      window=window([approx, exact], n),
                                      legend=(i, j) == (0, 0), ax=ax)
            check_panel(ax, name, approx, exact, n)
            ax.set_title(f"{name}, n = {n}", fontsize=9)
            if j:
                ax.set_ylabel("")
            if i < len(LAWS) - 1:
                ax.set_xlabel("")
    fig.suptitle("Staleness of an arriving gradient: mixed-Poisson approximation against "
                 "the exact renewal law (round times of mean 1)", fontsize=11)
    return [save(fig, out_dir, "staleness_pmfs.png")]


if __name__ == "__main__":
    for path in main():
        print(path)

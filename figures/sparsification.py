"""Figure and table: sparsified pushes, the SDDE's prediction against the exact simulator.

Left: the expected loss against time for random-k with ``k/d`` = 1, 0.1 and 0.01
(``--fast``: 1 and 0.2), without and with error feedback
(:func:`sdde.validation.sparse_check.time_to_target_check`): the SDDE's bracket (band: the
equivalent model's exact moments without and with the pushes' squared-size noise) and the replicas'
mean loss of the exact simulator (dots). Five Hessian modes (``h`` from 0.2 to 1)
repeated over 20 coordinates each (``d = 100``), 64 shifted-exponential workers,
``η n h_max = 0.5``, gradient noise 1e-3. Right: the divergence threshold measured by the
simulator over the model's, against the push gain at the threshold (how far one push
moves the stiffest coordinate; :attr:`~sdde.literature.sparse_sgd.SparsifiedModel.push_gain`):
the continuous model is accurate where pushes are small.

Writes ``sparsification.png`` and ``sparsification.md`` (time to 2 % of the initial loss:
the SDDE's bracket and the simulated time with its bootstrap 95 % half-width, for random-k
and top-k, each with and without error feedback).

Checks (``AssertionError``): the plotted band is the checks' data; for random-k with a
push gain of at most 0.1 the simulated time to target lies in the bracket widened by 5 %
and two half-widths, and the measured thresholds are within 13 % of the model's.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from figures import OUT_DIR, check, new_figure, save, write_table
from sdde import AsyncSGDModel, Cluster, HessianSpectrum, delays
from sdde.literature.sparse_sgd import PUSH_GAIN_LIMIT, sparsified_model
from sdde.simulator.sparsification import Sparsifier
from sdde.validation.compare import measured_threshold
from sdde.validation.sparse_check import SparseTimeToTarget, time_to_target_check

LAW = "shifted-exp:shift=0.5,mean=1"
WORKERS = 64
MODES = np.geomspace(0.2, 1.0, 5)
COPIES = 20
KAPPA_MAX = 0.5
NOISE = 1e-3
TARGET_SHARE = 0.02
THRESHOLD_DIM = 20


def model() -> AsyncSGDModel:
    """The setting of the time-to-target comparison."""
    return AsyncSGDModel(lr=KAPPA_MAX / (WORKERS * MODES.max()), noise=NOISE,
                         cluster=Cluster(workers=WORKERS, delay=delays.parse(LAW)),
                         spectrum=HessianSpectrum(eigenvalues=MODES,
                                                  weights=np.full(MODES.size, float(COPIES))))


def replicas(fast: bool) -> int:
    """Replicas per time-to-target comparison."""
    return 4 if fast else 8


def time_checks(fast: bool) -> list[SparseTimeToTarget]:
    """Predicted and simulated times to target for every sparsifier of the table."""
    if fast:
        specs = ["random:1", "random:0.2", "random:0.2:ef"]
    else:
        specs = ["random:1"] + [f"{kind}:{q:g}{suffix}" for q in (0.1, 0.01)
                                for kind in ("random", "top") for suffix in ("", ":ef")]
    base = model()
    target = TARGET_SHARE * 0.5 * COPIES * float(MODES.sum())
    return [time_to_target_check(base, Sparsifier.parse(spec), copies=COPIES, target=target,
                                 rng=np.random.default_rng(1), replicas=replicas(fast))
            for spec in specs]


def threshold_points(fast: bool) -> list[tuple[str, int, float, float, float]]:
    """``(sparsifier, workers, push gain at κ*, measured/predicted, predicted κ*)``."""
    workers = (16, 256) if fast else (16, 64, 256)
    specs = ("random:0.3:ef",) if fast else ("random:0.3:ef", "random:0.1:ef", "random:0.1")
    out = []
    for n in workers:
        base = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=n, delay=delays.parse(LAW)),
                             spectrum=HessianSpectrum.parse("1"))
        for spec in specs:
            sparsifier = Sparsifier.parse(spec)
            sparse = sparsified_model(base, sparsifier, THRESHOLD_DIM)
            predicted = sparse.kappa_star()
            gain = sparse.push_gain_at(predicted / n)  # η at the threshold (h = 1)
            measured = measured_threshold(base, rng=np.random.default_rng(0),
                                          n_updates=max(20_000, 250 * n), replicas=2,
                                          rel_tol=0.02, sparsifier=sparsifier,
                                          dim=THRESHOLD_DIM)
            out.append((spec, n, gain, measured.kappa / predicted, predicted))
    return out


def table(checks: list[SparseTimeToTarget], replicas: int) -> str:
    """The Markdown table of times to target, with each row's push gain."""
    base = model()
    rows = ["| sparsifier | push gain | SDDE bracket | simulated (± 95 %) | "
            "simulated / lower end |", "| --- | --- | --- | --- | --- |"]
    for c in checks:
        gain = sparsified_model(base, Sparsifier.parse(c.sparsifier),
                                MODES.size * COPIES).push_gain
        upper = f"{c.upper:.1f}" if math.isfinite(c.upper) else f"> {c.times[-1]:.0f}"
        simulated = (f"{c.simulated:.1f} ± {c.half_width:.1f}" if math.isfinite(c.simulated)
                     else f"> {c.times[-1]:.0f}")
        rows.append(f"| {c.sparsifier} | {gain:.2g} | {c.lower:.1f} – {upper} | {simulated} "
                    f"| {c.simulated / c.lower:.2f} |")
    caption = (f"Time until the expected loss falls to {TARGET_SHARE:g} of its start: "
               f"{WORKERS} workers ({LAW}), {MODES.size} modes h = 0.2…1 × {COPIES} "
               f"coordinates, η n h_max = {KAPPA_MAX:g}, gradient noise {NOISE:g}; "
               f"{replicas} replicas. The SDDE's bracket: without and with the pushes' "
               "squared-size noise. top-k uses the random-k model.")
    return caption + "\n\n" + "\n".join(rows)


def main(out_dir: Path = OUT_DIR, *, fast: bool = False) -> list[Path]:
    """Draw, check and save ``sparsification.png`` and ``sparsification.md``."""
    checks = time_checks(fast)
    points = threshold_points(fast)
    base = model()
    fig, axes = new_figure(1, 2, size=(11.0, 4.6))
    left, right = axes[0]
    colours = {"1": "black", "0.2": "tab:blue", "0.1": "tab:blue", "0.01": "tab:orange"}
    for c in checks:
        spec = Sparsifier.parse(c.sparsifier)
        if spec.kind != "random":
            continue
        share = f"{spec.fraction:g}"
        label = f"k/d = {share}" + (", error feedback" if spec.error_feedback else "")
        top = 10.0 * c.lower_loss[0]  # a mean-square unstable upper end: cut off the plot
        upper = np.where(np.isfinite(c.upper_loss), np.minimum(c.upper_loss, top), top)
        left.fill_between(c.times, c.lower_loss, upper, color=colours[share], alpha=0.25,
                          lw=0)
        left.plot(c.times, c.lower_loss, "--" if spec.error_feedback else "-",
                  color=colours[share], lw=1.1, label=label)
        every = max(1, c.times.size // 40)
        left.plot(c.times[::every], c.simulated_loss[::every], "o" if not spec.error_feedback
                  else "^", ms=3.5, color=colours[share],
                  mfc="none" if spec.error_feedback else colours[share])
        gain = sparsified_model(base, spec, MODES.size * COPIES).push_gain
        if gain <= PUSH_GAIN_LIMIT:
            check(c.within(0.05),
                  f"{c.sparsifier}: simulated time to target {c.simulated:.2f} ± "
                  f"{c.half_width:.2f} outside the SDDE's [{c.lower:.2f}, {c.upper:.2f}]")
    left.axhline(TARGET_SHARE * 0.5 * COPIES * float(MODES.sum()), color="0.5", lw=0.8,
                 ls=":")
    left.set(xscale="log", yscale="log", xlabel="time (mean rounds)", ylabel="expected loss",
             title="random-k: SDDE (line: lower end, band: bracket)\nvs simulator (markers)")
    left.set_xlim(left=0.5)
    start = 0.5 * COPIES * float(MODES.sum())
    left.set_ylim(1e-4 * start, 3.0 * start)
    left.legend(fontsize=7, loc="lower left")
    for spec in sorted({p[0] for p in points}):
        mine = [p for p in points if p[0] == spec]
        right.plot([p[2] for p in mine], [p[3] for p in mine], "o-", ms=5, label=spec)
        for _, n, gain, ratio, _ in mine:
            right.annotate(f"n = {n}", (gain, ratio), fontsize=7, xytext=(4, -9),
                           textcoords="offset points")
            if gain <= PUSH_GAIN_LIMIT:
                check(abs(ratio - 1.0) <= 0.13,
                      f"{spec}, n = {n}: measured/predicted threshold {ratio:.3f}")
    check(any(gain <= PUSH_GAIN_LIMIT for _, _, gain, _, _ in points),
          "no threshold point with a push gain of at most 0.1: nothing checked")
    right.axhline(1.0, color="0.5", lw=0.8)
    right.axvline(PUSH_GAIN_LIMIT, color="tab:red", lw=0.8, ls=":")
    right.set(xscale="log", xlabel="push gain at the threshold (η h / q with error feedback)",
              ylabel="measured / predicted threshold",
              title="Where the continuous model holds")
    right.legend(fontsize=7, loc="lower left")
    text = table(checks, replicas(fast))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_table(text, out_dir / "sparsification.md")
    check(all(math.isfinite(c.lower) for c in checks), "a prediction never reaches the target")
    return [save(fig, out_dir, "sparsification.png"), out_dir / "sparsification.md"]


if __name__ == "__main__":
    for path in main():
        print(path)

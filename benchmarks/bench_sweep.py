"""Parameter-sweep benchmarks (issue: sweeps on a local pool or a Dask cluster).

Run: ``.venv/bin/python benchmarks/bench_sweep.py`` (``--quick`` for a smoke run on tiny
grids). Times three workloads under each way :func:`sdde.sweeps.engine.sweep` can run chunks, and
prints one Markdown table with the serial run of the same workload as the baseline:

1. A 10^4-point stability sweep, ``StabilityAnalysis()`` over 1 law × 100 worker counts
   × 100 learning rates (the learning rate is the vectorised dimension: 100 tasks of 100
   points). "Cold" is the first sweep on that executor, "warm" the median of 3 later
   ones. A baseline without the fast path, one ``analyze_stability(model,
   optimise_workers=False)`` per point, is timed on a 200-point sub-grid (every 10th
   worker count × every 5th learning rate) and scaled to 10^4 points; its verdicts are
   compared with the sweep's on that sub-grid.
2. A 200-configuration simulation sweep, ``SimulationAnalysis(replicas=8,
   updates=2000)`` over 2 laws × 10 worker counts × 10 learning rates (all but a few
   stable by κ*), one run per executor after a two-point warm-up sweep on that executor.
3. Scheduling overhead: a function that does nothing over 2000 points with
   ``chunk_size=1`` (2000 tasks); wall time per task, median of 3.

Executors, in this order (the process pools fork, so they run before Dask starts its
threads): ``"serial"`` (this process); ``executor=2`` (the API's local pool: a fresh
``ProcessPoolExecutor`` per ``sweep`` call, its processes forked from this warm one);
a persistent ``ProcessPoolExecutor(2)`` passed in (cold on its first sweep, warm after);
``distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` with a
``Client`` (spawned workers: the first sweep imports sdde and loads the numba cache in
each). Every executor's datasets are checked to equal the serial ones.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import xarray as xr

from sdde import Cluster, HessianSpectrum, analyze_stability, delays
from sdde.model.async_sgd import AsyncSGDModel
from sdde.stability.mean_field import critical_kappa
from sdde.sweeps.analyses import SimulationAnalysis, StabilityAnalysis
from sdde.sweeps.engine import sweep

STABILITY_LAW = "gamma:shape=2,mean=1"  # κ* = 4
SIM_LAWS = ["gamma:shape=2,mean=1", "shifted-exp:shift=0.5,mean=1"]  # κ* = 4, 2.27
SIM_WORKERS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32]


def noop(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, float]:
    """A sweep task that does nothing (module level, so worker processes can import it)."""
    return {"x": 0.0}


def _config(quick: bool) -> dict[str, Any]:
    if quick:
        return {"stab_grid": {"law": [STABILITY_LAW], "workers": list(range(1, 11)),
                              "lr": np.geomspace(1e-4, 1.0, 10)},
                "sim_grid": {"law": SIM_LAWS, "workers": [1, 4], "lr": [0.01, 0.05]},
                "sim": SimulationAnalysis(replicas=2, updates=200),
                "noop_tasks": 100, "baseline_step": (5, 5), "repeats": 1}
    return {"stab_grid": {"law": [STABILITY_LAW], "workers": list(range(1, 101)),
                          "lr": np.geomspace(1e-4, 1.0, 100)},
            "sim_grid": {"law": SIM_LAWS, "workers": SIM_WORKERS,
                         "lr": np.geomspace(1e-3, 0.1, 10)},
            "sim": SimulationAnalysis(replicas=8, updates=2000),
            "noop_tasks": 2000, "baseline_step": (10, 5), "repeats": 3}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def _median(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    runs = [_timed(fn) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), runs[-1][1]


def _measure(executor: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """Every workload on one executor: times and the datasets (to compare)."""
    stab, sim = StabilityAnalysis(), cfg["sim"]
    n_noop = cfg["noop_tasks"]
    out: dict[str, Any] = {}
    out["stab_cold"], out["stab_ds"] = _timed(
        lambda: sweep(stab, cfg["stab_grid"], executor=executor))
    out["stab_warm"], _ = _median(lambda: sweep(stab, cfg["stab_grid"], executor=executor),
                                  cfg["repeats"])
    warm_grid = {"law": SIM_LAWS[:1], "workers": [2], "lr": [0.01, 0.02]}
    sweep(SimulationAnalysis(replicas=2, updates=100), warm_grid, executor=executor)
    out["sim"], out["sim_ds"] = _timed(lambda: sweep(sim, cfg["sim_grid"], executor=executor))
    out["noop"], out["noop_ds"] = _median(
        lambda: sweep(noop, {"i": list(range(n_noop))}, executor=executor, chunk_size=1,
                      outputs=["x"]), cfg["repeats"])
    out["noop"] /= n_noop
    return out


def _per_point_baseline(cfg: dict[str, Any], fast: Any) -> tuple[float, int, float]:
    """Seconds per point of one ``analyze_stability`` call per point, on a sub-grid; the
    share of sub-grid verdicts equal to the sweep's."""
    grid = cfg["stab_grid"]
    step_w, step_l = cfg["baseline_step"]
    law = delays.parse(grid["law"][0])
    spectrum = HessianSpectrum.parse("1")
    workers, lrs = grid["workers"][::step_w], grid["lr"][::step_l]
    verdicts = np.empty((len(workers), len(lrs)), dtype=bool)
    t = time.perf_counter()
    for i, n in enumerate(workers):
        for j, lr in enumerate(lrs):
            model = AsyncSGDModel(lr=float(lr), cluster=Cluster(workers=n, delay=law),
                                  spectrum=spectrum)
            verdicts[i, j] = bool(analyze_stability(model, optimise_workers=False).stable)
    per_point = (time.perf_counter() - t) / verdicts.size
    chart = fast["stable"].isel(law=0).values[::step_w, ::step_l]
    return per_point, verdicts.size, float(np.mean(verdicts == chart))


def _differences(run: dict[str, Any], ref: dict[str, Any]) -> list[str]:
    """Variables whose values differ from the serial run's (NaN equals NaN): name, how
    many grid points, the largest relative difference, one differing point."""
    found = []
    for key in ("stab_ds", "sim_ds", "noop_ds"):
        for name, var in ref[key].data_vars.items():
            a, b = var.values.astype(float), run[key][name].values.astype(float)
            bad = ~((a == b) | (np.isnan(a) & np.isnan(b)))
            if bad.any():
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                point = {d: var[d].values[i].item() for d, i in zip(var.dims, where,
                                                                      strict=True)}
                with np.errstate(invalid="ignore", divide="ignore"):
                    rel = np.nanmax(np.abs(a[bad] - b[bad]) / np.abs(a[bad]))
                found.append(f"{name} at {int(bad.sum())} points (max rel. diff {rel:.1e}; "
                             f"e.g. {point}: {float(a[where])!r} vs {float(b[where])!r})")
    return found


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _cell(seconds: float, base: float) -> str:
    return f"{_fmt_s(seconds)} ({base / seconds:.2f}×)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny grids (smoke run)")
    cfg = _config(parser.parse_args().quick)
    n_stab = int(np.prod([len(v) for v in cfg["stab_grid"].values()]))
    n_sim = int(np.prod([len(v) for v in cfg["sim_grid"].values()]))
    t_start = time.perf_counter()
    print(f"cores: {os.cpu_count()}, load average at start: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")

    results: dict[str, dict[str, Any]] = {}
    results["serial"] = _measure("serial", cfg)
    base_pp, base_n, agree = _per_point_baseline(cfg, results["serial"]["stab_ds"])
    results["pool"] = _measure(2, cfg)
    with ProcessPoolExecutor(max_workers=2) as pool:
        results["persistent"] = _measure(pool, cfg)

    from distributed import Client, LocalCluster

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    dask_start = time.perf_counter() - t
    try:
        results["dask"] = _measure(client, cfg)
    finally:
        client.close()
        cluster.close()

    names = {"serial": '`"serial"` (1 process)', "pool": "`executor=2` (local pool)",
             "persistent": "persistent `ProcessPoolExecutor(2)`",
             "dask": "Dask `LocalCluster`, 2 workers"}
    ref = results["serial"]
    diffs = {k: _differences(r, ref) for k, r in results.items()}
    sim = cfg["sim"]
    print(f"\n| executor | stability, {n_stab} points, cold | stability, warm | "
          f"simulation, {n_sim} × {sim.replicas} replicas × {sim.updates} updates | "
          f"overhead per task ({cfg['noop_tasks']} empty tasks) | same dataset as serial |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key, r in results.items():
        print(f"| {names[key]} | {_cell(r['stab_cold'], ref['stab_cold'])} | "
              f"{_cell(r['stab_warm'], ref['stab_warm'])} | {_cell(r['sim'], ref['sim'])} | "
              f"{r['noop'] * 1e6:.0f} µs | {'no: ' if diffs[key] else 'yes'}"
              f"{', '.join(diffs[key])} |")
    print("\nTimes with the speed-up over the serial run of the same column in brackets.")
    print(f"Dask LocalCluster + Client start: {_fmt_s(dask_start)} (not in the table).")
    print(f"Stability without the fast path (analyze_stability per point, "
          f"optimise_workers=False): {base_pp * 1e3:.1f} ms/point on {base_n} points "
          f"-> {_fmt_s(base_pp * n_stab)} for {n_stab} points; the warm serial sweep is "
          f"{base_pp * n_stab / ref['stab_warm']:.0f}× faster; verdicts agree on "
          f"{100 * agree:.1f} % of the sub-grid.")
    sim_ds = results["serial"]["sim_ds"]
    kappa_star = xr.DataArray([critical_kappa(delays.parse(s)) for s in sim_ds["law"].values],
                              dims="law")
    stable = sim_ds["workers"] * sim_ds["lr"] < kappa_star
    diverged = sim_ds["diverged_fraction"] > 0
    print(f"Simulation configurations: {int(stable.sum())} of {stable.size} stable "
          f"(κ = η n < κ*); {int(diverged.sum())} with a replica that left the bound.")
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"benchmark took {_fmt_s(time.perf_counter() - t_start)}")


if __name__ == "__main__":
    main()

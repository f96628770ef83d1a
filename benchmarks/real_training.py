"""sdde's predictions against a real asynchronous parameter server (worker threads, JAX).

What is measured, for n = 4, 8, 16 worker threads on scikit-learn's digits
(:mod:`sdde.validation.real_training`; rounds drawn from ``shifted-exp:shift=0.5,mean=1``
in units of ``0.5 ms · n``, so the server sees ~2000 updates/s whatever n):

* **staleness**: total variation between the recorded staleness histogram and sdde's
  Poisson and exact laws for the recorded round durations (``trace`` law);
* **largest stable learning rate**: measured by scanning real runs (3000 updates from
  θ = 0; geometric steps of 1.5, then 3 bisections; 2 seeds per lr, a failure = the loss
  blows up or ends above 1.5 × its lowest value), against sdde's ``max_stable_lr`` with the
  measured round law and the top Hessian eigenvalue at the end point of a stable run
  (≈ the minimiser; the value at θ = 0 is printed beside it);
* **time to a target loss** (convex tasks): mean excess loss of 3 seeds, time (mean
  rounds) until it is a fraction r of its initial value, against sdde's time on the
  quadratic model at θ* (Hessian spectrum, initial error projected on the eigenvectors,
  per-example gradient noise). Least squares from θ = 0 at ¼ of the predicted limit;
  logistic regression from a warm start 15 % of the way from θ* to θ = 0 (where its loss is
  near-quadratic) at 1/20 of the limit (its gradient noise floor is high).

Tasks: ``least-squares`` (linear model on one-hot labels: an exactly quadratic loss),
``logistic`` (convex), ``mlp`` (64 → 32 → 10 tanh, non-convex; threshold only).

The simplest honest alternative to sdde's threshold is the synchronous rule
``lr < 2 / h_max`` (gradient descent), printed as the ratio column ``sync/meas``.

Run: ``.venv/bin/python benchmarks/real_training.py [--tasks logistic,mlp] [--out FILE]``
(about 6 minutes on 2 busy cores; JSON to ``benchmarks/out/real_training.json``).
Wall-clock runs depend on the thread scheduler: repeated runs differ by a few per cent.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from sdde.validation import real_compare as rc
from sdde.validation._jax_task import make_task, top_curvatures
from sdde.validation.real_training import RealRunResult, run_async_training

WORKERS = (4, 8, 16)
DELAY = "shifted-exp:shift=0.5,mean=1"
SCAN_UPDATES = 3000
FRACTIONS = (0.5, 0.2, 0.1)
#: Time-to-target setting per task: (fraction of the way from θ* back to θ = 0 the runs
#: start at, learning rate as a fraction of the predicted limit, updates per run).
TARGET_SETTING = {"least-squares": (1.0, 0.25, 3000), "logistic": (0.15, 0.05, 8000)}


def unit(n: int) -> float:
    """Seconds per delay-law unit: the server sees ~2000 updates/s for every n."""
    return 0.0005 * n


def minibatch_sharpness(task, n_batches: int = 200) -> dict:
    """Top eigenvalue of the minibatch Hessians ``X̃_Bᵀ X̃_B / B + l2`` of least squares
    (the Kronecker factor with the classes is the identity)."""
    rng = np.random.default_rng(0)
    design = np.hstack([task.features, np.ones((task.n_samples, 1))])
    tops = [np.linalg.eigvalsh(design[rows].T @ design[rows] / rows.size)[-1] + task.l2
            for rows in (rng.choice(task.n_samples, task.batch_size, replace=False)
                         for _ in range(n_batches))]
    return {"mean": float(np.mean(tops)), "max": float(np.max(tops))}


def mean_curve(runs: list[RealRunResult], loss_star: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean excess loss of several runs on a common grid of mean rounds."""
    horizon = min(r.times[-1] / r.mean_round for r in runs)
    grid = np.arange(0.0, horizon, 0.02)  # finer than one update at n = 16
    curves = [np.interp(grid, r.times / r.mean_round, r.losses - loss_star) for r in runs]
    return grid, np.mean(curves, axis=0)


def first_below(grid: np.ndarray, curve: np.ndarray, level: float) -> float:
    below = np.flatnonzero(curve <= level)
    return float(grid[below[0]]) if below.size else math.inf


def one_task(name: str) -> dict:
    task = make_task(name)  # type: ignore[arg-type]
    theta_star = rc.minimise(task)
    h0 = float(top_curvatures(task, task.theta0, 3)[0])
    out: dict = {"task": name, "dim": task.dim, "loss_star": task.loss(theta_star),
                 "h_max_init": h0, "rows": []}
    if name == "least-squares":
        out["minibatch_sharpness"] = minibatch_sharpness(task)
        print(f"least-squares: h_max {h0:.4g}; minibatch Hessians' top eigenvalue "
              f"{out['minibatch_sharpness']['mean']:.4g} on average "
              f"(max {out['minibatch_sharpness']['max']:.4g} over 200 batches)")
    for n in WORKERS:
        t0 = time.perf_counter()
        # a stable run: staleness, round law, curvature at its end point
        guess = 0.25 / (n * h0)
        ref = run_async_training(task, n_workers=n, lr=guess, delay=DELAY, time_unit=unit(n),
                                 n_updates=SCAN_UPDATES, seed=100)
        law = rc.round_law(ref)
        stale = rc.compare_staleness(ref, rng=np.random.default_rng(n))
        h_end = float(top_curvatures(task, ref.theta_final if name == "mlp" else theta_star,
                                     3)[0])  # the minimiser for the convex tasks
        pred_end = rc.predicted_max_lr(law, n, h_end)
        pred_init = rc.predicted_max_lr(law, n, h0)

        def run(lr: float, seed: int, n: int = n) -> RealRunResult:
            return run_async_training(task, n_workers=n, lr=lr, delay=DELAY, time_unit=unit(n),
                                      n_updates=SCAN_UPDATES, seed=seed)

        scan = rc.scan_stable_lr(run, start=0.8 * pred_end, factor=1.5, bisections=3)
        row = {"n": n, "mean_round_ms": 1e3 * ref.mean_round,
               "round_cv": float(np.std(ref.durations) / ref.mean_round),
               "staleness": stale.to_dict(), "h_max_end": h_end,
               "predicted_lr": pred_end, "predicted_lr_init_curvature": pred_init,
               "sync_lr": 2.0 / h_end, "scan": scan.to_dict(),
               "lr_error": pred_end / scan.estimate - 1.0}
        if name in TARGET_SETTING:
            warm, fraction, updates = TARGET_SETTING[name]
            row["time_to_target"] = time_to_target(task, theta_star, n, fraction * pred_end,
                                                   law, warm, updates)
        row["seconds"] = time.perf_counter() - t0
        out["rows"].append(row)
        print_row(name, row)
    return out


def time_to_target(task, theta_star, n: int, lr: float, law, warm: float,
                   updates: int) -> list[dict]:
    start = theta_star + warm * (task.theta0 - theta_star)
    fit = rc.quadratic_fit(task, theta_star, start)
    runs = [run_async_training(task, n_workers=n, lr=lr, delay=DELAY, time_unit=unit(n),
                               n_updates=updates, seed=200 + s, theta0=start,
                               eval_every=max(1, n // 4)) for s in range(3)]
    grid, curve = mean_curve(runs, fit.loss_star)
    model_initial = 0.5 * float(fit.weights @ fit.curvatures)
    cells = []
    for r in FRACTIONS:
        measured = first_below(grid, curve, r * curve[0])
        predicted = rc.predicted_time_to_target(fit, lr=lr, law=law, n_workers=n,
                                                target_excess=r * model_initial)
        cells.append({"fraction": r, "lr": lr, "measured": measured, "predicted": predicted,
                      "error": predicted / measured - 1.0, "initial_excess": float(curve[0]),
                      "model_initial": model_initial})
    return cells


def print_row(name: str, row: dict) -> None:
    s, scan = row["staleness"], row["scan"]
    print(f"{name:8s} n={row['n']:2d}  round {row['mean_round_ms']:.2f} ms cv {row['round_cv']:.2f}"
          f"  staleness TV poisson {s['tv_poisson']:.3f} exact {s['tv_exact']:.3f}"
          f" (mean {s['measured_mean']:.2f})")
    print(f"{'':8s}       lr: measured {scan['estimate']:.4g} ±{100 * scan['half_width']:.1f}%"
          f"  sdde {row['predicted_lr']:.4g} ({100 * row['lr_error']:+.1f}%)"
          f"  sdde@θ0 {row['predicted_lr_init_curvature']:.4g}"
          f"  sync/meas {row['sync_lr'] / scan['estimate']:.3g}"
          f"  h_end {row['h_max_end']:.4g}  [{row['seconds']:.0f} s]")
    for c in row.get("time_to_target", []):
        print(f"{'':8s}       time to {c['fraction']:.0%} of initial excess: measured "
              f"{c['measured']:.1f} rounds, sdde {c['predicted']:.1f} ({100 * c['error']:+.1f}%)")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="least-squares,logistic,mlp")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out" / "real_training.json"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    results = [one_task(name) for name in args.tasks.split(",")]
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"results": results, "seconds": time.perf_counter() - t0},
                               indent=1))
    print(f"total {time.perf_counter() - t0:.0f} s; wrote {path}")


if __name__ == "__main__":
    main()

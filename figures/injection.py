"""Figure: the cost of injected staleness, predicted and simulated, for two tasks.

Delay injection (Dai et al.; :mod:`sdde.literature.injection`): sequential SGD whose update ``t``
applies the gradient taken ``S_t ~ Uniform{0, …, K}`` updates earlier. The measure is the
number of updates to a target (excess) loss relative to ``K = 0``, against ``K``, at two
learning rates per task. Left: a two-mode quadratic (curvatures 0.1 and 1,
gradient-noise variance 0.1, start 1), simulated over 2000 replicas at once. Right:
logistic regression (:func:`sdde.literature.linearization.logistic_example`: 3 classes, 600 rows,
minibatches of 128, from ``θ = 0``), predicted through its quadratic model at the
minimiser (:func:`sdde.literature.linearization.linearize`). Lines: the discrete recursion's
prediction (:func:`sdde.literature.injection.relative_iterations`, every ``K``); points: the
simulation, with error bars of two bootstrap standard errors over replicas. Target: 5 % of the
starting excess loss or twice plain SGD's noise floor
(:func:`sdde.literature.injection.default_target`).

Checks: at ``K = 0`` both are 1; at every simulated point the prediction lies inside the
drawn error bars widened by the model's known error (0.1 for the quadratic, whose
prediction leaves out the variance the random staleness adds; 0.15 for logistic
regression, which is not quadratic), and inside the bare error bars at most points.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from figures import OUT_DIR, check, new_figure, save
from sdde.literature.injection import (
    default_target,
    relative_iterations,
    simulate_injected,
    simulated_relative_iterations,
)
from sdde.literature.linearization import LinearizedObjective, linearize, logistic_example
from sdde.simulator.objectives import QuadraticObjective

if TYPE_CHECKING:
    from matplotlib.axes import Axes

QUADRATIC = QuadraticObjective(curvatures=np.array([0.1, 1.0]), noise=0.1)
#: task → model error allowed on the relative iterations, and per learning rate the
#: staleness values simulated (full, fast)
TASKS: dict[str, tuple[float, dict[float, tuple[list[int], list[int]]]]] = {
    "quadratic": (0.1, {0.05: ([0, 2, 4, 8, 12, 16, 24, 32], [0, 4, 16, 32]),
                        0.1: ([0, 2, 4, 8, 12, 16], [0, 4, 8, 16])}),
    "logistic": (0.15, {0.125: ([0, 2, 4, 8, 12, 16, 24, 32], [0, 4, 16]),
                        0.25: ([0, 2, 4, 8, 12, 16, 24, 32], [0, 4, 16])}),
}
#: Updates the prediction looks ahead.
HORIZON = 3000


def panel(ax: Axes, name: str, *, fast: bool, seed: int) -> tuple[int, int]:
    """Draw one task; return (points inside the bare error bars, points)."""
    rng = np.random.default_rng(seed)
    slack, settings = TASKS[name]
    task: QuadraticObjective | LinearizedObjective
    if name == "quadratic":
        task, theta0 = QUADRATIC, np.ones(QUADRATIC.dim)
        replicas, updates = (600, 200) if fast else (2000, 400)
    else:
        task = linearize(logistic_example(), rng=rng)
        theta0 = np.zeros(task.objective.dim)
        replicas, updates = (12, 110) if fast else (40, 200)
    oracle = task.objective if isinstance(task, LinearizedObjective) else task
    inside = total = 0
    for i, (lr, (ks_full, ks_fast)) in enumerate(settings.items()):
        ks = ks_fast if fast else ks_full
        colour = f"C{i}"
        target = default_target(task, lr=lr, n_updates=HORIZON, theta0=theta0)
        dense = np.arange(0, max(ks) + 1)
        predicted = np.array([relative_iterations(task, lr=lr, max_staleness=int(k),
                                                  target=target, n_updates=HORIZON,
                                                  theta0=theta0) for k in dense])
        ax.plot(dense, predicted, color=colour, lw=1.5,
                label=f"η = {lr:g}: predicted (target {target:.2g})")
        fresh = simulate_injected(oracle, lr=lr, max_staleness=0, n_updates=updates,
                                  rng=rng, replicas=replicas, theta0=theta0)
        sims = [simulated_relative_iterations(task, lr=lr, max_staleness=k, target=target,
                                              n_updates=updates, rng=rng, replicas=replicas,
                                              theta0=theta0, fresh=fresh) for k in ks]
        value = np.array([s.value for s in sims])
        err = np.array([2 * s.stderr for s in sims])
        ax.errorbar(ks, value, yerr=err, fmt="o", ms=4, color=colour, capsize=3,
                    label=f"η = {lr:g}: simulated ({replicas} replicas, ±2 s.e.)")
        for k, v, e in zip(ks, value, err, strict=True):
            if k == 0:  # 1 by construction on both sides: not a test of the prediction
                continue
            p = float(predicted[k])
            check(math.isfinite(v) and math.isfinite(p),
                  f"{name}, η = {lr:g}, K = {k}: a run never reached the target")
            check(abs(p - v) <= e + slack,
                  f"{name}, η = {lr:g}, K = {k}: predicted {p:.3f}, simulated {v:.3f} "
                  f"± {e:.3f} (+ model error {slack})")
            inside += int(abs(p - v) <= e)
            total += 1
        check(predicted[0] == 1.0 and value[0] == 1.0, f"{name}: K = 0 is not 1")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("largest injected staleness K")
    ax.set_ylabel("updates to target / updates with K = 0")
    ax.set_title("quadratic: curvatures 0.1, 1; noise 0.1; start 1" if name == "quadratic"
                 else "logistic regression (15 parameters) from θ = 0, linearised at θ*",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left" if name == "quadratic" else "upper right")
    return inside, total


def main(out_dir: Path = OUT_DIR, *, fast: bool = False) -> list[Path]:
    """Draw, check and save ``injection.png``."""
    fig, axes = new_figure(1, 2, size=(11.0, 4.6))
    inside = total = 0
    for j, name in enumerate(TASKS):
        a, b = panel(axes[0, j], name, fast=fast, seed=j)
        inside, total = inside + a, total + b
    check(inside >= 0.6 * total, f"the prediction lies inside the simulated ±2 s.e. at "
                                 f"only {inside} of {total} points")
    fig.suptitle("Delay injection, staleness uniform on 0..K: updates to a target loss "
                 "relative to staleness-free SGD", fontsize=10)
    return [save(fig, out_dir, "injection.png")]


if __name__ == "__main__":
    for path in main():
        print(path)

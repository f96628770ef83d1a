"""Exact moments of the SDDE (the predicted loss curve of ``--simulate`` and ``--plot``).

Run: ``.venv/bin/python benchmarks/bench_moments.py [--cli-repeats 5] [--before /work/before]``.
Works against an older tree too (``PYTHONPATH=/work/before .venv/bin/python
benchmarks/bench_moments.py``): without the solve-based reference in that tree only the
sdde column is printed.

1. ``model_moments`` (mean and variance of every mode at dt and dt/2, Richardson) for the
   models of three CLI examples (shifted-exponential delays, shift 0.5, mean 1):
   ``--workers 32 --lr 0.01 --simulate`` (1 mode, 310 time units),
   ``--workers 4 --lr 0.01 --hessian 0.1:10:8:log --sweep --plot`` (8 modes, 1000 time
   units, the 10⁵-step cap) and ``--workers 32 --lr 0.006 --hessian 0.1:10:8:log
   --simulate`` (8 modes, 310 time units); with gradient noise 0.1 so the variance is
   not zero. sdde: the compiled noise-free runs of :mod:`sdde.solvers._deterministic`
   (all modes and both runs at once, on every core). The other: the same formula from
   ``moments._solve_moments``, which runs :func:`sdde.solve` on one path per mode and
   run (the code path before this change). Interleaved, median of 5, ratio.
   Agreement: the largest ``|sdde − other|`` relative to the local size of the curve
   (its largest value over ± the longest lag: rounding mixes over that window), and
   the largest pointwise relative difference where ``|other| > 1e-290`` (large only
   next to zero crossings of an oscillating mean).
2. ``exact_moments`` of one problem per kernel (point lag, shifted-exponential,
   gamma-3 chain, uniform, lognormal; 4 modes, dt = 0.01, 100 mean delays; one with
   Poisson-form noise at 20 mean delays, where the O(steps²) Volterra sum dominates
   both), same columns.
3. The three CLI commands end to end, each in a fresh interpreter, this tree and the
   tree given by ``--before`` interleaved (a warm-up run of each first, so numba's cache
   is hot), median of ``--cli-repeats``. The end-to-end figure includes every other
   change between the two trees.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter1d

from sdde import (
    AsyncSGDModel,
    Cluster,
    Delay,
    Diffusion,
    HessianSpectrum,
    LinearDrift,
    SDDEProblem,
    delays,
)
from sdde.solvers import moments

REPEATS = 5
SHIFTED = delays.shifted_exponential(shift=0.5, mean=1.0)
MODELS = {  # (workers, lr, hessian, horizon in the model's time): as the CLI asks
    "w32 lr.01 (--simulate)": (32, 0.01, "1", 309.5226242698442),
    "w4 lr.01 8 modes (--sweep --plot)": (4, 0.01, "0.1:10:8:log", 1000.0),
    "w32 lr.006 8 modes (--simulate)": (32, 0.006, "0.1:10:8:log", 309.5226242698442),
}
CLI = {
    "--workers 32 --lr 0.01 --simulate": ["--workers", "32", "--lr", "0.01", "--simulate"],
    "--workers 4 --lr 0.01 --hessian 0.1:10:8:log --sweep --plot DIR": [
        "--workers", "4", "--lr", "0.01", "--hessian", "0.1:10:8:log", "--sweep", "--plot"],
    "--workers 32 --lr 0.006 --hessian 0.1:10:8:log --simulate --replicas 8": [
        "--workers", "32", "--lr", "0.006", "--hessian", "0.1:10:8:log", "--simulate",
        "--replicas", "8"],
}


def interleaved(fns: list[Callable[[], object] | None], repeats: int) -> list[float]:
    """Median wall time of each function, the calls interleaved (``nan`` for ``None``)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times, strict=True):
            if fn is not None:
                start = time.perf_counter()
                fn()
                out.append(time.perf_counter() - start)
    return [statistics.median(t) if t else math.nan for t in times]


def agreement(new: np.ndarray, ref: np.ndarray, window: int) -> tuple[float, float]:
    """(max error / local size, max pointwise relative error where |ref| > 1e-290)."""
    finite = np.isfinite(ref) & np.isfinite(new)
    if not np.array_equal(np.isfinite(ref), np.isfinite(new)):
        return math.inf, math.inf
    a, b = np.where(finite, new, 0.0), np.where(finite, ref, 0.0)
    size = maximum_filter1d(np.abs(b), size=2 * window + 1, axis=0, mode="nearest")
    err = np.abs(a - b)
    big = size > 1e-290
    local = float(np.max(err[big] / size[big])) if big.any() else 0.0
    normal = np.abs(b) > 1e-290
    pointwise = float(np.max(err[normal] / np.abs(b[normal]))) if normal.any() else 0.0
    return local, pointwise


def _reference_model_moments(model: AsyncSGDModel, horizon: float) -> moments.Moments:
    """``model_moments`` through the solve-based path (same grid, same formula)."""
    span = horizon / model.mean_delay
    dt = span / max(1, math.ceil(span / 0.01))
    problem = model.to_problem(span)
    coarse = moments._solve_moments(problem, dt=dt)
    fine = moments._solve_moments(problem, dt=dt / 2, save_every=2)
    with np.errstate(over="ignore", invalid="ignore"):
        return moments.Moments(t=coarse.t * model.mean_delay,
                               mean=2.0 * fine.mean - coarse.mean,
                               variance=2.0 * fine.variance - coarse.variance,
                               fundamental=coarse.fundamental,
                               diverged_at=coarse.diverged_at)


def _row(name: str, new: float, old: float, acc: tuple[float, float] | None) -> None:
    ratio = f"{old / new:8.1f}x" if math.isfinite(old) else f"{'-':>9s}"
    other = f"{old:10.3f}" if math.isfinite(old) else f"{'-':>10s}"
    agree = "" if acc is None else f"{acc[0]:11.1e} {acc[1]:11.1e}"
    print(f"  {name:44s} {new:10.3f} {other} {ratio}  {agree}")


def _header(other: str) -> None:
    print(f"  {'case':44s} {'sdde s':>10s} {other:>10s} {'ratio':>9s}  "
          f"{'err/size':>11s} {'pointwise':>11s}")


def section_models(has_reference: bool) -> None:
    print("1. model_moments of the CLI examples' models (noise 0.1), median of "
          f"{REPEATS}, interleaved")
    _header("solve s")
    for name, (workers, lr, hessian, horizon) in MODELS.items():
        model = AsyncSGDModel(lr=lr, spectrum=HessianSpectrum.parse(hessian), noise=0.1,
                              cluster=Cluster(workers=workers, delay=SHIFTED))
        moments.model_moments(model, horizon)  # warm-up (numba cache load)
        ref_fn = (lambda m=model, h=horizon: _reference_model_moments(m, h)) \
            if has_reference else None
        new_t, old_t = interleaved([lambda m=model, h=horizon: moments.model_moments(m, h),
                                    ref_fn], REPEATS)
        acc = None
        if has_reference:
            got, ref = moments.model_moments(model, horizon), _reference_model_moments(
                model, horizon)
            window = Delay.from_kernel(model.kernel).grid_weights(0.01).size
            local = [agreement(getattr(got, f), getattr(ref, f), window)
                     for f in ("mean", "variance")]
            acc = (max(x[0] for x in local), max(x[1] for x in local))
        _row(name, new_t, old_t, acc)


def _kernel_problem(law: object, *, chain: bool, beta: float = 0.0,
                    t_final: float = 100.0) -> SDDEProblem:
    kappas = [0.3, 0.7, 1.0, 1.4]
    return SDDEProblem(drift=LinearDrift(gains=[kappas]),
                       delays=(Delay.from_kernel(law, chain=chain),),  # type: ignore[arg-type]
                       diffusion=Diffusion(sigma=1.0, beta=beta), history=1.0,
                       t_final=t_final, n_modes=len(kappas))


def section_kernels(has_reference: bool) -> None:
    print(f"\n2. exact_moments, 4 modes, dt = 0.01, median of {REPEATS}, interleaved")
    _header("solve s")
    cases = {
        "point lag 1, 100 mean delays": SDDEProblem(
            drift=LinearDrift(gains=[[0.3, 0.7, 1.0, 1.4]]), delays=(Delay.point(1.0),),
            diffusion=Diffusion(sigma=1.0), history=1.0, t_final=100.0, n_modes=4),
        "shifted-exp (grid taps)": _kernel_problem(SHIFTED, chain=False),
        "gamma-3 chain": _kernel_problem(delays.Gamma(shape=3.0, scale=1 / 3), chain=True),
        "uniform[0, 2] (grid taps)": _kernel_problem(delays.Uniform(low=0.0, high=2.0),
                                                     chain=False),
        "lognormal cv 0.5 (grid taps)": _kernel_problem(
            delays.LogNormal.from_mean_cv(mean=1.0, cv=0.5), chain=False),
        "shifted-exp, Poisson noise, 20 mean delays": _kernel_problem(
            SHIFTED, chain=False, beta=0.3, t_final=20.0),
    }
    for name, problem in cases.items():
        moments.exact_moments(problem, dt=0.01)  # warm-up
        ref_fn = (lambda p=problem: moments._solve_moments(p, dt=0.01)) \
            if has_reference else None
        new_t, old_t = interleaved([lambda p=problem: moments.exact_moments(p, dt=0.01),
                                    ref_fn], REPEATS)
        acc = None
        if has_reference:
            got = moments.exact_moments(problem, dt=0.01)
            ref = moments._solve_moments(problem, dt=0.01)
            window = max(1, math.ceil(problem.max_lag / 0.01)) + 1
            local = [agreement(getattr(got, f), getattr(ref, f), window)
                     for f in ("mean", "variance", "fundamental")]
            acc = (max(x[0] for x in local), max(x[1] for x in local))
        _row(name, new_t, old_t, acc)


def _cli_seconds(tree: Path, args: list[str], workdir: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sdde.cli", *args], env=env, cwd=workdir,
                   check=True, capture_output=True)
    return time.perf_counter() - start


def section_cli(before: Path | None, repeats: int) -> None:
    here = Path(moments.__file__).resolve().parents[2]
    trees = [here] + ([before] if before is not None else [])
    print(f"\n3. sdde-analyze end to end (fresh interpreter), median of {repeats}, "
          "interleaved" + (f"; other = {before}" if before else ""))
    _header("before s")
    with tempfile.TemporaryDirectory() as workdir:
        for name, args in CLI.items():
            if "--plot" in args:
                args = [*args, str(Path(workdir) / "plots")]
            for tree in trees:
                _cli_seconds(tree, args, workdir)  # warm-up: numba cache
            runs: list[list[float]] = [[] for _ in trees]
            for _ in range(repeats):
                for tree, out in zip(trees, runs, strict=True):
                    out.append(_cli_seconds(tree, args, workdir))
            medians = [statistics.median(r) for r in runs]
            _row(name[:44], medians[0], medians[1] if before else math.nan, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli-repeats", type=int, default=REPEATS)
    parser.add_argument("--before", type=Path, default=None,
                        help="an older checkout to time the CLI against")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    has_reference = hasattr(moments, "_solve_moments")
    section_models(has_reference)
    section_kernels(has_reference)
    if not args.skip_cli:
        section_cli(args.before, args.cli_repeats)


if __name__ == "__main__":
    main()

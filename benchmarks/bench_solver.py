"""SDDE solver: compiled Euler–Maruyama throughput, sdeint, exact moments, distributed delays.

Run: ``.venv/bin/python benchmarks/bench_solver.py`` (under 2 minutes). Prints five
tables; times are medians of 3 runs unless marked, after a small warm-up call so that the
numba compile (or cache load) is excluded. That first call is timed on its own, in this
process and in a fresh interpreter with an empty numba cache (a true compile).

1. Throughput of ``sdde.solve`` for a point delay (``dx = −x(t−1) dt + 0.1 dW``,
   10⁴ paths × 10⁴ steps, only the end saved), in path-steps per second, and as a ratio
   to the practical floor: drawing the same number (10⁸) of standard normals with
   ``np.random.default_rng(0).standard_normal`` in chunks of 2²⁰, interleaved with the
   solver runs (median of 5). Target ≤ 2×. Also 4 modes (gains 0.5, 1, 2, 4), per
   mode-path-step.
2. Speed-up over ``sdeint.itoEuler`` on the zero-delay problem ``dx = −x dt + 0.1 dW``,
   per path-step: sdeint integrates one path at a time (20 paths × 10⁴ steps, increments
   pre-drawn, so its time excludes the draw), sdde 10⁴ paths × 10⁴ steps (drawing its own
   increments). Target ≥ 100×. One path on the same increments: max abs difference.
3. ``exact_moments`` (variance at every step, exact for the scheme) vs Monte Carlo: a point
   delay with a = 1, σ = 1, t_final = 50, dt = 0.01. The relative standard error of a
   variance estimate from n Gaussian paths is sqrt(2/(n−1)); ``solve`` with 10⁴ paths is
   timed (seeds 0, 1, 2) and scaled linearly to the n that reaches 1e-6. Sanity check: the
   exact final variance against each 10⁴-path estimate and their pool, in standard errors.
4. Distributed kernels (gamma shape 2 and lognormal cv 0.5, mean 1) at dt = 0.01,
   10³ paths × 10⁴ steps (one run each): path-steps per second and the number of grid
   taps. An Erlang kernel is a linear chain by default; it is also timed with
   ``chain=False`` (grid taps) when ``Delay.from_kernel`` has that option.
"""

from __future__ import annotations

import inspect
import math
import statistics
import time
from collections.abc import Callable

import numpy as np
import sdeint
from _common import fresh_interpreter_seconds, median_time

from sdde import delays
from sdde.model.noise import brownian_increments
from sdde.model.problem import Delay, Diffusion, LinearDrift, SDDEProblem
from sdde.solvers.integrator import solve
from sdde.solvers.moments import exact_moments

DT = 0.01
CHUNK = 1 << 20
REPEATS = 3
THROUGHPUT_REPEATS = 5  # the scalar ratio to the floor is the noisiest figure


def _problem(gains: list[list[float]], delay: Delay, sigma: float, t_final: float,
             history: float = 1.0) -> SDDEProblem:
    return SDDEProblem(drift=LinearDrift(gains=gains), delays=(delay,),
                       diffusion=Diffusion(sigma=sigma), history=history, t_final=t_final)


def _median_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    return median_time(fn, repeats)


def _floor(n_values: int, repeats: int = REPEATS) -> float:
    """Time to draw ``n_values`` standard normals in chunks of 2²⁰ (the practical floor)."""
    def draw() -> None:
        rng = np.random.default_rng(0)
        left = n_values
        while left:
            count = min(CHUNK, left)
            rng.standard_normal(count)
            left -= count
    return _median_time(draw, repeats)


_FRESH = """
import time
import numpy as np
from sdde import Delay, Diffusion, LinearDrift, SDDEProblem, solve
p = SDDEProblem(drift=LinearDrift(gains=[[1.0]]), delays=(Delay.point(1.0),),
                diffusion=Diffusion(sigma=0.1), history=1.0, t_final=2.0)
t = time.perf_counter()
solve(p, dt=0.01, n_paths=10, rng=np.random.default_rng(0))
print(time.perf_counter() - t)
"""


def bench_first_call() -> None:
    small = _problem([[1.0]], Delay.point(1.0), 0.1, 2.0)
    t = time.perf_counter()
    solve(small, dt=DT, n_paths=10, rng=np.random.default_rng(0))
    here = time.perf_counter() - t
    fresh = fresh_interpreter_seconds(_FRESH)
    print("first solve call (10 paths x 200 steps), excluded from the figures below")
    print(f"  this process (numba cache on disk)     {here:8.2f} s")
    print(f"  fresh interpreter, empty numba cache   {fresh:8.2f} s")


def bench_throughput() -> float:
    n_paths, n_steps = 10_000, 10_000
    cases = (("1 mode (a = 1), per path-step", [[1.0]]),
             ("4 modes, per mode-path-step", [[0.5, 1.0, 2.0, 4.0]]))
    problems = [_problem(gains, Delay.point(1.0), 0.1, n_steps * DT) for _, gains in cases]
    floor_times: list[float] = []
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(THROUGHPUT_REPEATS):  # interleaved: a change of machine load hits both
        floor_times.append(_floor(n_paths * n_steps, repeats=1))
        for problem, column in zip(problems, times, strict=True):
            column.append(_median_time(lambda p=problem: solve(
                p, dt=DT, n_paths=n_paths, rng=np.random.default_rng(0),
                save_every=n_steps), repeats=1))
    floor = statistics.median(floor_times)
    per_variate = floor / (n_paths * n_steps)
    print(f"\nthroughput, point delay lag 1, sigma 0.1, {n_paths} paths x {n_steps} steps "
          f"(dt = {DT:g}), median of {THROUGHPUT_REPEATS}")
    print(f"  {'case':34s} {'time s':>8s} {'per second':>12s} {'ns each':>8s} "
          f"{'vs floor':>9s}")
    print(f"  {'floor: 1e8 standard normals':34s} {floor:8.2f} "
          f"{1 / per_variate:12.3e} {1e9 * per_variate:8.2f} {1.0:8.2f}x")
    for (label, _), problem, column in zip(cases, problems, times, strict=True):
        elapsed = statistics.median(column)
        each = elapsed / (n_paths * n_steps * problem.n_modes)
        print(f"  {label:34s} {elapsed:8.2f} {1 / each:12.3e} {1e9 * each:8.2f} "
              f"{each / per_variate:8.2f}x")
    return per_variate


def bench_sdeint() -> None:
    n_steps, t_final = 10_000, 100.0
    problem = _problem([[1.0]], Delay.point(0.0), 0.1, t_final)
    tspan = np.linspace(0.0, t_final, n_steps + 1)
    g = np.array([[0.1]])

    def f(y: np.ndarray, t: float) -> np.ndarray:
        return -y

    def G(y: np.ndarray, t: float) -> np.ndarray:
        return g

    base_paths = 20
    dW = brownian_increments(np.random.default_rng(1), n_steps, base_paths, 1, DT)
    t = time.perf_counter()
    for i in range(base_paths):
        sdeint.itoEuler(f, G, np.array([1.0]), tspan, dW=np.ascontiguousarray(dW[:, i]))
    base = (time.perf_counter() - t) / (base_paths * n_steps)

    n_paths = 10_000
    elapsed = _median_time(lambda: solve(problem, dt=DT, n_paths=n_paths,
                                         rng=np.random.default_rng(0), save_every=n_steps))
    ours = elapsed / (n_paths * n_steps)

    one = dW[:, :1]
    ref = sdeint.itoEuler(f, G, np.array([1.0]), tspan, dW=np.ascontiguousarray(one[:, 0]))
    got = solve(problem, dt=DT, dW=one).x[:, 0]
    diff = float(np.max(np.abs(got - ref)))

    print("\nzero delay, dx = -x dt + 0.1 dW: sdeint.itoEuler vs sdde.solve, per path-step")
    print(f"  sdeint.itoEuler ({base_paths} paths x {n_steps} steps, one run) "
          f"{1e6 * base:10.3f} us")
    print(f"  sdde.solve ({n_paths} paths x {n_steps} steps, median)   "
          f"{1e6 * ours:10.5f} us")
    print(f"  speed-up                                          {base / ours:10.0f} x")
    print(f"  one path, same increments: max abs difference     {diff:10.1e} "
          f"(max |x| {float(np.max(np.abs(ref))):.2f})")


def bench_moments() -> None:
    t_final, n_steps = 50.0, 5000
    problem = _problem([[1.0]], Delay.point(1.0), 1.0, t_final)
    moments = exact_moments(problem, dt=DT)
    t_exact = _median_time(lambda: exact_moments(problem, dt=DT), repeats=7)
    n_mc = 10_000
    finals, mc_times = [], []
    for seed in range(REPEATS):  # one timed run per seed: 3 independent estimates
        t = time.perf_counter()
        sol = solve(problem, dt=DT, n_paths=n_mc, rng=np.random.default_rng(seed),
                    save_every=n_steps)
        mc_times.append(time.perf_counter() - t)
        finals.append(sol.x[-1, :, 0])
    t_mc = statistics.median(mc_times)
    rel_se = math.sqrt(2.0 / (n_mc - 1))
    target = 1e-6
    n_needed = 1.0 + 2.0 / target**2
    t_needed = t_mc * n_needed / n_mc
    v_exact = float(moments.variance[-1, 0])

    def z_score(x: np.ndarray) -> float:
        return (float(np.var(x, ddof=1)) - v_exact) / (v_exact * math.sqrt(2.0 / (x.size - 1)))

    print(f"\nvariance, point delay lag 1, a = 1, sigma = 1, t_final = {t_final:g}, "
          f"dt = {DT:g} ({n_steps} steps)")
    print(f"  {'method':40s} {'paths':>10s} {'rel. SE':>9s} {'time s':>12s}")
    print(f"  {'exact_moments (every step, median of 7)':40s} {'-':>10s} {'rounding':>9s} "
          f"{t_exact:12.4f}")
    print(f"  {'Monte Carlo, solve (median of 3 seeds)':40s} {n_mc:10.0f} {rel_se:9.2e} "
          f"{t_mc:12.4f}")
    print(f"  {'Monte Carlo to 1e-6, extrapolated':40s} {n_needed:10.2e} {target:9.0e} "
          f"{t_needed:12.3e}")
    print(f"  ratio (Monte Carlo to 1e-6 / exact)  {t_needed / t_exact:.2e} x "
          f"({t_needed / 86400 / 365.25:.1f} years of Monte Carlo)")
    zs = ", ".join(f"{z_score(x):+.2f}" for x in finals)
    pooled = np.concatenate(finals)
    print(f"  final variance: exact {v_exact:.6f}; Monte Carlo per seed {zs} SE; "
          f"pooled ({pooled.size} paths) {float(np.var(pooled, ddof=1)):.6f}, "
          f"{z_score(pooled):+.2f} SE")


def bench_distributed(per_variate: float) -> None:
    n_paths, n_steps = 1_000, 10_000
    chain_option = "chain" in inspect.signature(Delay.from_kernel).parameters
    cases: list[tuple[str, str, dict[str, bool]]] = [
        ("gamma:shape=2,mean=1", "default", {}),
        ("lognormal:mean=1,cv=0.5", "default", {})]
    if chain_option:  # Erlang kernels default to a linear chain: time the grid taps too
        cases.insert(1, ("gamma:shape=2,mean=1", "chain=False", {"chain": False}))
    print(f"\ndistributed kernels, a = 1, sigma = 0.1, dt = {DT:g}, {n_paths} paths x "
          f"{n_steps} steps (one run)")
    print(f"  {'kernel':24s} {'from_kernel':12s} {'method':16s} {'taps':>5s} {'time s':>7s} "
          f"{'path-steps/s':>13s} {'ns/tap-path-step':>17s} {'vs floor':>9s}")
    for spec, option, kwargs in cases:
        delay = Delay.from_kernel(delays.parse(spec), **kwargs)
        problem = _problem([[1.0]], delay, 0.1, n_steps * DT)
        taps = int(np.count_nonzero(problem.delays[0].grid_weights(DT)))
        chain = getattr(delay, "chain", None)
        method = f"chain, {chain[0]} stages" if chain else "grid taps"
        t = time.perf_counter()
        solve(problem, dt=DT, n_paths=n_paths, rng=np.random.default_rng(0),
              save_every=n_steps)
        elapsed = time.perf_counter() - t
        each = elapsed / (n_paths * n_steps)
        per_tap = "-" if chain else f"{1e9 * each / taps:.3f}"
        print(f"  {spec:24s} {option:12s} {method:16s} {taps:5d} {elapsed:7.2f} "
              f"{1 / each:13.3e} {per_tap:>17s} {each / per_variate:8.1f}x")


if __name__ == "__main__":
    bench_first_call()
    per_variate = bench_throughput()
    bench_sdeint()
    bench_moments()
    bench_distributed(per_variate)

"""Ensembles: ``sdde.solve`` vs the shortest numpy programs for the same scheme, vs the noise.

Run: ``.venv/bin/python benchmarks/bench_ensembles.py`` (about 2 minutes; also against
the tree before the change with ``PYTHONPATH=/work/before``). Every problem is
``dx = −a y(t) dt + σ dW`` with ``a = 1``, ``σ = 0.1``, history ``x ≡ 1``, ``dt = 0.01``,
only the end saved. Three delays ``y``:

a. a point lag of 1 (100 steps), 4000 paths × 6000 steps; the numpy program keeps a
   ring buffer of 101 rows and updates it in place (4 array operations and one
   ``standard_normal(out=)`` per step);
b. the uniform[0, 2] kernel (201 grid taps from ``Delay.grid_weights``), 2000 paths ×
   3000 steps; numpy keeps the history twice over (rows ``h`` and ``h + L``) so the
   window is contiguous and ``y`` is one BLAS mat-vec per step (OpenBLAS with its
   default threads, 2 on the test machine, and again pinned to 1 thread with
   threadpoolctl when it is installed);
c. the gamma-2 kernel as its linear chain (2 stages of rate 2), 4000 paths × 6000 steps;
   numpy steps the two stages in place.

sdde runs single-threaded and draws its own normals (per-block PCG64 streams). The floor
is drawing the same number of standard normals with ``numpy.random.Generator`` in chunks
of 2²⁰; a second floor is the same PCG64 draws made one by one in compiled code (numba,
the way ``solve`` now draws them inside its kernel), and with the xoshiro256 option the
same count from its generator (in chunks of 2²⁰). All timings are interleaved in one
process, median of 7 after a warm-up; ratios are to the sdde time (> 1: sdde is faster).
Accuracy: on 512 shared paths (increments from ``sdde.model.noise.brownian_increments``)
the largest absolute difference between sdde's and the numpy program's whole paths.
Options that only exist after the change (``dtype=np.float32``, ``generator=
"xoshiro256"``) are timed when ``solve`` has them; float32 with its largest difference
from the float64 run on the same seed (same increments, rounded).
"""

from __future__ import annotations

import inspect
import statistics
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from _common import median_time

from sdde import delays
from sdde.model.noise import brownian_increments
from sdde.model.problem import Delay, Diffusion, LinearDrift, SDDEProblem, chain_start
from sdde.solvers.integrator import solve

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - optional
    threadpool_limits = None

DT, GAIN, SIGMA = 0.01, 1.0, 0.1
REPEATS = 7
CHUNK = 1 << 20
SHARED_PATHS = 512
NoiseRow = Callable[[int, np.ndarray], None]


def _problem(delay: Delay, n_steps: int) -> SDDEProblem:
    return SDDEProblem(drift=LinearDrift(gains=[[GAIN]]), delays=(delay,),
                       diffusion=Diffusion(sigma=SIGMA), history=1.0, t_final=n_steps * DT)


def _drawn(rng: np.random.Generator) -> NoiseRow:
    """Noise rows drawn as the program goes (the timed runs)."""
    scale = np.sqrt(DT)

    def row(n: int, out: np.ndarray) -> None:
        rng.standard_normal(out=out)
        out *= scale
    return row


def _shared(dW: np.ndarray) -> NoiseRow:
    """Noise rows read from sdde's increments (the accuracy runs)."""
    def row(n: int, out: np.ndarray) -> None:
        out[:] = dW[n, :, 0]
    return row


def numpy_point(lag_steps: int, n_paths: int, n_steps: int, noise: NoiseRow) -> np.ndarray:
    """Ring-buffer Euler–Maruyama for a point lag; returns paths ``(n_steps + 1, n_paths)``
    when ``n_paths`` is small, else the final state only."""
    ring, size = np.ones((lag_steps + 1, n_paths)), lag_steps + 1
    z = np.empty(n_paths)
    keep = [ring[0].copy()] if n_paths <= SHARED_PATHS else None
    for n in range(n_steps):
        x, new = ring[n % size], ring[(n + 1) % size]  # `new` holds x(t_n − lag) now
        new *= -GAIN * DT
        new += x
        noise(n, z)
        z *= SIGMA
        new += z
        if keep is not None:
            keep.append(new.copy())
    return np.array(keep) if keep is not None else ring[n_steps % size]


def numpy_matvec(weights: np.ndarray, n_paths: int, n_steps: int,
                 noise: NoiseRow) -> np.ndarray:
    """Distributed kernel, one BLAS mat-vec ``y = w · window`` per step on a doubled ring."""
    taps = weights.size
    ring = np.ones((2 * taps, n_paths))
    reversed_weights = np.ascontiguousarray(weights[::-1])
    z = np.empty(n_paths)
    keep = [ring[0].copy()] if n_paths <= SHARED_PATHS else None
    pos = taps - 1  # x_n sits at rows pos and pos + taps; the window ends at pos + taps
    for n in range(n_steps):
        x = ring[pos + taps]
        new = reversed_weights @ ring[pos + 1:pos + 1 + taps]
        new *= -GAIN * DT
        new += x
        noise(n, z)
        z *= SIGMA
        new += z
        pos = (pos + 1) % taps
        ring[pos] = new
        ring[pos + taps] = new
        if keep is not None:
            keep.append(new)
    return np.array(keep) if keep is not None else ring[pos]


def numpy_chain(start: np.ndarray, rate: float, n_paths: int, n_steps: int,
                noise: NoiseRow) -> np.ndarray:
    """Gamma-2 kernel as its chain ``y1' = ρ(x − y1)``, ``y2' = ρ(y1 − y2)``, ``y = y2``."""
    x = np.ones(n_paths)
    y1, y2 = np.full(n_paths, start[0]), np.full(n_paths, start[1])
    z, new = np.empty(n_paths), np.empty(n_paths)
    h = DT * rate
    keep = [x.copy()] if n_paths <= SHARED_PATHS else None
    for n in range(n_steps):
        np.multiply(y2, -GAIN * DT, out=new)
        new += x
        noise(n, z)
        z *= SIGMA
        new += z
        y2 += h * (y1 - y2)
        y1 += h * (x - y1)
        x, new = new, x
        if keep is not None:
            keep.append(x.copy())
    return np.array(keep) if keep is not None else x


@numba.njit(cache=True)
def _draw_compiled(stream: np.random.Generator, n_values: int) -> float:
    total = 0.0
    for _ in range(n_values):
        total += stream.standard_normal()
    return total


def _floor_numpy(n_values: int) -> None:
    rng = np.random.default_rng(0)
    out = np.empty(CHUNK)
    while n_values:
        count = min(CHUNK, n_values)
        rng.standard_normal(out=out[:count])
        n_values -= count


def _floor_xoshiro(n_values: int) -> None:
    from sdde.solvers._xoshiro import fill, seed_state
    state, out = seed_state(np.random.default_rng(0)), np.empty(CHUNK)
    while n_values:
        count = min(CHUNK, n_values)
        fill(state, out, count, 1.0)
        n_values -= count


def _sdde(problem: SDDEProblem, n_paths: int, **options: Any) -> Callable[[], Any]:
    return lambda: solve(problem, dt=DT, n_paths=n_paths, rng=np.random.default_rng(0),
                         save_every=round(problem.t_final / DT), **options)


def _supports(option: str) -> bool:
    return option in inspect.signature(solve).parameters


def _case(label: str, problem: SDDEProblem, n_paths: int,
          others: dict[str, Callable[[NoiseRow, int], np.ndarray]]) -> None:
    n_steps = round(problem.t_final / DT)
    n_values = n_paths * n_steps
    runs: dict[str, Callable[[], Any]] = {"sdde.solve": _sdde(problem, n_paths)}
    if _supports("dtype"):
        runs["sdde.solve dtype=float32"] = _sdde(problem, n_paths, dtype=np.float32)
    if _supports("generator"):
        runs["sdde.solve generator=xoshiro256"] = _sdde(problem, n_paths,
                                                        generator="xoshiro256")
        runs["sdde.solve xoshiro256, float32"] = _sdde(
            problem, n_paths, generator="xoshiro256", dtype=np.float32)
    for name, program in others.items():
        runs[name] = lambda p=program: p(_drawn(np.random.default_rng(0)), n_paths)
    runs["floor: numpy standard_normal"] = lambda: _floor_numpy(n_values)
    runs["floor: PCG64 in compiled code"] = lambda: _draw_compiled(
        np.random.default_rng(0), n_values)
    if _supports("generator"):
        runs["floor: xoshiro256 in compiled code"] = lambda: _floor_xoshiro(n_values)
    for run in runs.values():  # warm-up: compile or load the numba cache
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(REPEATS):  # interleaved: a change of machine load hits every entry
        for name, run in runs.items():
            times[name].append(median_time(run, 1))
    medians = {name: statistics.median(column) for name, column in times.items()}
    ours = medians["sdde.solve"]

    dW = brownian_increments(np.random.default_rng(1), n_steps, SHARED_PATHS, 1, DT)
    reference = solve(problem, dt=DT, dW=dW).x[:, :, 0]
    scale = float(np.max(np.abs(reference)))
    agreement = {name: float(np.max(np.abs(program(_shared(dW), SHARED_PATHS) - reference)))
                 for name, program in others.items()}
    if _supports("dtype"):
        single = solve(problem, dt=DT, n_paths=SHARED_PATHS, rng=np.random.default_rng(2),
                       dtype=np.float32).x
        double = solve(problem, dt=DT, n_paths=SHARED_PATHS, rng=np.random.default_rng(2)).x
        agreement["sdde.solve dtype=float32"] = float(np.max(np.abs(single - double)))

    print(f"\n{label}: {n_paths} paths x {n_steps} steps, median of {REPEATS}")
    print(f"  {'method':36s} {'time s':>8s} {'ns/path-step':>13s} {'time / sdde':>12s} "
          f"{'max |diff|':>11s}")
    for name, elapsed in medians.items():
        diff = agreement.get(name)
        shown = "-" if diff is None else f"{diff:.1e}"
        print(f"  {name:36s} {elapsed:8.3f} {1e9 * elapsed / n_values:13.2f} "
              f"{elapsed / ours:11.2f}x {shown:>11s}")
    floor = medians["floor: numpy standard_normal"]
    compiled = medians["floor: PCG64 in compiled code"]
    print(f"  sdde / numpy normal-draw floor: {ours / floor:.2f}x; sdde / compiled PCG64 "
          f"draw: {ours / compiled:.2f}x; max |x| on the shared paths {scale:.2f}")


def main() -> None:
    n_paths, n_steps = 4000, 6000
    point = _problem(Delay.point(1.0), n_steps)
    _case("a. point lag 1", point, n_paths,
          {"numpy ring buffer": lambda noise, paths: numpy_point(100, paths, n_steps, noise)})

    uniform = Delay.from_kernel(delays.parse("uniform:low=0,high=2"))
    weights = uniform.grid_weights(DT)
    programs: dict[str, Callable[[NoiseRow, int], np.ndarray]] = {
        "numpy mat-vec (BLAS default threads)":
            lambda noise, paths: numpy_matvec(weights, paths, 3000, noise)}
    if threadpool_limits is not None:
        def one_thread(noise: NoiseRow, paths: int) -> np.ndarray:
            with threadpool_limits(limits=1, user_api="blas"):
                return numpy_matvec(weights, paths, 3000, noise)
        programs["numpy mat-vec (BLAS 1 thread)"] = one_thread
    _case(f"b. uniform[0, 2] kernel, {weights.size} taps", _problem(uniform, 3000), 2000,
          programs)

    gamma = Delay.from_kernel(delays.parse("gamma:shape=2,mean=1"))
    problem = _problem(gamma, n_steps)
    assert gamma.chain is not None
    start = chain_start(gamma, problem, DT)[:, 0]
    _case("c. gamma-2 kernel as a chain", problem, n_paths,
          {"numpy chain": lambda noise, paths: numpy_chain(start, gamma.chain[1], paths,
                                                           n_steps, noise)})


if __name__ == "__main__":
    main()

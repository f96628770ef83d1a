"""``solve(problem, solver, ...)``: integrate an SDDE on a fixed grid for many paths.

(The module is not called ``solve`` so that ``sdde.solve`` stays the function.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray
from sdde.model.noise import PATH_BLOCK, block_increments, block_streams
from sdde.model.problem import Diffusion, LinearDrift, SDDEProblem, chain_start
from sdde.solvers._em_kernel import LinearStep, advance, advance_drawing
from sdde.solvers.algorithms import AbstractSolver, DelayedEulerMaruyama

#: Normal variates drawn per chunk of steps (per path block): bounds the noise memory.
_CHUNK_VALUES = 1 << 20
#: Normal generators of the compiled kernel (``solve(generator=)``).
_GENERATORS = ("pcg64", "xoshiro256")
#: Largest history ring buffer of one block of paths.
_MAX_BUFFER_BYTES = 1 << 30


@dataclass(frozen=True)
class Solution:
    """Paths of an SDDE on the saved grid (a typed record; nothing is recomputed).

    Attributes
    ----------
    t : ndarray, shape (n_save,)
        Saved times (``0`` first).
    x : ndarray, shape (n_save, n_paths, n_modes)
        The state; a diverged path keeps its last value within the bound from then on.
    diverged_at : ndarray, shape (n_paths,)
        Time at which each path left ``[−bound, bound]`` (``inf`` if it never did).
    dt : float
        Step size.
    solver : str
        Name of the method.
    t_final : float
        End of the integration (the last saved time when ``save_every`` divides the
        number of steps).
    """

    t: FloatArray
    x: FloatArray
    diverged_at: FloatArray
    dt: float
    solver: str
    t_final: float

    @property
    def status(self) -> str:
        """``"success"``, or ``"diverged"`` if any path left the bound."""
        return "diverged" if np.isfinite(self.diverged_at).any() else "success"

    @property
    def message(self) -> str:
        """One line describing the outcome."""
        n = int(np.isfinite(self.diverged_at).sum())
        if not n:
            return f"{self.x.shape[1]} paths integrated to t = {self.t_final:g}"
        return (f"{n} of {self.x.shape[1]} paths diverged (first at t = "
                f"{float(np.min(self.diverged_at)):g}): the mode is unstable at this step "
                "size or gain")


def solve(problem: SDDEProblem, solver: AbstractSolver | None = None, *, dt: float,
          n_paths: int | None = None, rng: np.random.Generator | None = None,
          dW: FloatArray | None = None, save_every: int = 1, bound: float = 1e100,
          dtype: npt.DTypeLike = np.float64, generator: str = "pcg64") -> Solution:
    """Integrate ``problem`` on the grid ``t_n = n dt`` for ``n_paths`` independent paths.

    Parameters
    ----------
    problem : SDDEProblem
        What to integrate.
    solver : AbstractSolver, optional
        How (default :class:`DelayedEulerMaruyama`).
    dt : float
        Step size; must divide ``t_final`` (to 1e-9 relative).
    n_paths : int, optional
        Number of paths (default: as many as ``dW`` has, else 1).
    rng : numpy.random.Generator, optional
        Source of the Brownian increments (required unless ``dW`` is given). Paths come
        in blocks of :data:`sdde.model.noise.PATH_BLOCK`, each with its own spawned stream, so
        path ``i`` is the same for every ``n_paths > i``, and its increments are those of
        :func:`sdde.model.noise.brownian_increments` with the same ``rng``.
    dW : ndarray, shape (n_steps, n_paths, n_modes), optional
        Pre-drawn increments (e.g. :func:`sdde.model.noise.brownian_increments`, coarsened for
        a convergence ladder).
    save_every : int
        Keep every ``save_every``-th step (``t = 0`` is always kept).
    bound : float
        A path whose state leaves ``[−bound, bound]`` is stopped and reported in
        ``diverged_at``.
    dtype : {numpy.float64, numpy.float32}
        Precision of the states (``Solution.x`` has this dtype). float32 halves the
        memory of the history and of the saved paths; it draws the same increments as
        float64 (rounded to float32), so the two runs differ by rounding only
        (about 1e-7 relative per step, accumulated over the run).
    generator : {"pcg64", "xoshiro256"}
        Normals of the compiled kernel. ``"pcg64"``: numpy's ziggurat on each block's
        PCG64 stream, the increments of :func:`sdde.model.noise.brownian_increments`.
        ``"xoshiro256"``: a third faster to draw (2.5 against 3.3 ns a normal, a
        quarter off a point-delay ensemble, ``benchmarks/bench_ensembles.py``); each
        block seeds a xoshiro256++ state from its stream and draws a 256-layer
        ziggurat in compiled code (:mod:`sdde.solvers._xoshiro`), so runs still replay
        from the seed and a path does not depend on ``n_paths``, but the increments are
        not those of ``brownian_increments``. Problems that take the numpy loop, and
        ``dW``, ignore it.

    Returns
    -------
    Solution

    Notes
    -----
    Linear drifts with :class:`Diffusion` noise run in compiled code, which draws the
    normals one step at a time inside its loop (numpy's ziggurat on the block's own
    PCG64 stream, so no noise array is kept); other problems run a numpy loop over time,
    vectorised over paths and modes. Delays off the grid are interpolated linearly,
    distributed kernels are spread on the grid by hat-function weights
    (:meth:`sdde.Delay.grid_weights`).
    """
    solver = DelayedEulerMaruyama() if solver is None else solver
    if not isinstance(solver, AbstractSolver):
        raise ValueError(f"solver must be an AbstractSolver such as DelayedEulerMaruyama(), "
                         f"got {solver!r}")
    n_steps = _steps(problem.t_final, dt)
    if n_paths is None:
        n_paths = 1 if dW is None else int(np.shape(dW)[1]) if np.ndim(dW) == 3 else 1
    if isinstance(n_paths, bool) or not isinstance(n_paths, int | np.integer) or n_paths < 1:
        raise ValueError(f"n_paths must be a whole number >= 1, got {n_paths!r}")
    if (isinstance(save_every, bool) or not isinstance(save_every, int | np.integer)
            or save_every < 1):
        raise ValueError(f"save_every must be a whole number >= 1, got {save_every!r}")
    if not bound > 0:
        raise ValueError(f"bound must be > 0, got {bound!r}")
    dtype = _precision(dtype)
    if generator not in _GENERATORS:
        raise ValueError(f"generator must be one of {_GENERATORS}, got {generator!r}")
    shape = (n_steps, n_paths, problem.n_modes)
    if dW is not None:
        dW = np.asarray(dW, dtype=np.float64)
        if dW.shape != shape:
            raise ValueError(f"dW has shape {dW.shape}, expected (n_steps, n_paths, n_modes) "
                             f"= {shape} for dt = {dt:g}")
    elif rng is None:
        raise ValueError("pass rng=numpy.random.default_rng(seed) or pre-drawn dW=: sdde "
                         "has no hidden random state")

    weights = [None if d.chain else d.grid_weights(dt) for d in problem.delays]
    n_slots = max([1] + [w.size for w in weights if w is not None])
    save_every, n_paths = int(save_every), int(n_paths)
    n_save = n_steps // save_every + 1
    out = np.empty((n_save, n_paths, problem.n_modes), dtype=dtype)
    diverged_step = np.full(n_paths, -1, dtype=np.int64)
    chain_starts = [chain_start(d, problem, dt) if d.chain else None for d in problem.delays]
    initial = problem.history_at(-dt * np.arange(n_slots, dtype=np.float64))  # x(0), x(−dt), …
    buffer_bytes = dtype.itemsize * n_slots * min(n_paths, PATH_BLOCK) * problem.n_modes
    if buffer_bytes > _MAX_BUFFER_BYTES:
        raise ValueError(f"the longest lag ({problem.max_lag:g}) needs a history of {n_slots} "
                         f"steps ({buffer_bytes / 2**30:.1f} GiB per block of paths); use a "
                         "larger dt, or cut a heavy-tailed kernel shorter with "
                         "Delay.from_kernel(law, tail=1e-6)")
    n_blocks = -(-n_paths // PATH_BLOCK)
    streams: list[np.random.Generator | None] = (
        list(block_streams(rng, n_blocks)) if rng is not None and dW is None
        else [None] * n_blocks)
    compiled = problem.linear and isinstance(solver, DelayedEulerMaruyama)
    for b, stream in enumerate(streams):
        paths = slice(b * PATH_BLOCK, min((b + 1) * PATH_BLOCK, n_paths))
        width = paths.stop - paths.start
        ring = np.empty((n_slots, width, problem.n_modes), dtype=dtype)
        ring[0] = initial[0]
        for j in range(1, n_slots):
            ring[n_slots - j] = initial[j]
        chains = [None if start is None else
                  np.array(np.broadcast_to(start[:, None, :], (
                      start.shape[0], width, problem.n_modes)), dtype=dtype)
                  for start in chain_starts]
        block_out = np.empty((n_save, width, problem.n_modes), dtype=dtype)
        block_out[0] = initial[0]
        block_diverged = np.full(width, -1, dtype=np.int64)
        noise = stream if stream is not None else dW[:, paths]  # type: ignore[index]
        if compiled:
            _compiled(problem, weights, chains, ring, noise, n_steps, dt, bound,
                      block_diverged, block_out, save_every, generator == "xoshiro256")
        else:
            _numpy(problem, solver, weights, chains, ring, noise, n_steps, dt, bound,
                   block_diverged, block_out, save_every)
        out[:, paths] = block_out
        diverged_step[paths] = block_diverged
    t = dt * save_every * np.arange(n_save, dtype=np.float64)
    diverged_at = np.where(diverged_step >= 0, diverged_step * dt, math.inf)
    return Solution(t=t, x=out, diverged_at=diverged_at, dt=dt, solver=solver.name,
                    t_final=n_steps * dt)


def _precision(dtype: npt.DTypeLike) -> np.dtype:
    try:
        checked = np.dtype(dtype)
    except TypeError:
        checked = None
    if checked not in (np.float32, np.float64):
        raise ValueError(f"dtype must be numpy.float64 or numpy.float32, got {dtype!r}")
    return checked


def _steps(t_final: float, dt: float) -> int:
    if not (isinstance(dt, int | float) and 0 < dt < math.inf):
        raise ValueError(f"dt must be a finite number > 0, got {dt!r}")
    n = round(t_final / dt)
    if n < 1 or abs(n * dt - t_final) > 1e-9 * t_final:
        raise ValueError(f"dt = {dt:g} does not fit t_final = {t_final:g} a whole number of "
                         f"times; use t_final / N (e.g. dt = {t_final / max(n, 1):.6g})")
    return int(n)


def _taps(problem: SDDEProblem, weights: list[FloatArray | None],
          dt: float) -> tuple[np.ndarray, FloatArray]:
    """Nonzero grid taps ``(lag in steps, −dt · gain · weight per mode)``."""
    drift = problem.drift
    assert isinstance(drift, LinearDrift)
    lags, coefs = [], []
    for c, w in enumerate(weights):
        if w is None:
            continue
        for j in np.flatnonzero(w):
            lags.append(j)
            coefs.append(-dt * w[j] * drift.gains[c])
    return (np.asarray(lags, dtype=np.int64),
            np.asarray(coefs, dtype=np.float64).reshape(len(lags), problem.n_modes))


def _chain_arrays(problem: SDDEProblem, chains: list[FloatArray | None], dt: float,
                  width: int, dtype: np.dtype) -> tuple[FloatArray, np.ndarray, FloatArray,
                                                        FloatArray]:
    """Stages ``(n_chains, k_max, paths, modes)``, lengths, ``dt · rate`` and
    ``−dt · gain`` of the chain channels, packed for the compiled kernel."""
    drift = problem.drift
    assert isinstance(drift, LinearDrift)
    used = [c for c, state in enumerate(chains) if state is not None]
    k_max = max([1] + [chains[c].shape[0] for c in used])  # type: ignore[union-attr]
    stages = np.zeros((len(used), k_max, width, problem.n_modes), dtype=dtype)
    lengths = np.zeros(len(used), dtype=np.int64)
    steps = np.zeros(len(used))
    coefs = np.zeros((len(used), problem.n_modes))
    for slot, c in enumerate(used):
        state = chains[c]
        chain = problem.delays[c].chain
        assert state is not None and chain is not None
        stages[slot, :state.shape[0]] = state
        lengths[slot], steps[slot] = chain[0], dt * chain[1]
        coefs[slot] = -dt * drift.gains[c]
    return stages, lengths, steps, coefs


def _linear_step(problem: SDDEProblem, weights: list[FloatArray | None], dt: float,
                 bound: float, width: int, dtype: np.dtype, chain_lengths: np.ndarray,
                 chain_steps: FloatArray, chain_coefs: FloatArray) -> LinearStep:
    """The kernel's coefficients in the states' dtype: taps per mode (a tap costs one
    multiply-add per element, with no tiled coefficient row to stream through memory),
    the one-row-per-step values tiled over the block's ``width`` paths."""
    drift, diffusion = problem.drift, problem.diffusion
    assert isinstance(drift, LinearDrift) and isinstance(diffusion, Diffusion)
    n_modes = problem.n_modes

    def tiled(per_mode: npt.ArrayLike) -> FloatArray:
        values = np.broadcast_to(np.asarray(per_mode, dtype=np.float64), (n_modes,))
        return np.tile(values, width).astype(dtype)

    lags, coefs = _taps(problem, weights, dt)
    return LinearStep(
        tap_lag=lags, tap_coef=coefs.astype(dtype), drift_const=tiled(dt * drift.offset),
        sigma=tiled(diffusion.sigma), beta=tiled(diffusion.beta),
        # σ + 0·x is exactly sqrt(σ²): additive noise skips the root
        linear_noise=diffusion.kind == "linear" or diffusion.additive,
        chain_len=chain_lengths, chain_step=chain_steps.astype(dtype),
        chain_coef=np.tile(chain_coefs, (1, width)).astype(dtype), n_modes=n_modes,
        bound=float(bound))


def _noise_chunks(noise: np.random.Generator | FloatArray, n_steps: int, width: int,
                  n_modes: int, dt: float) -> Iterator[tuple[int, FloatArray]]:
    """``(first step, increments)`` in chunks of about 2²⁰ values: drawn from the block's
    stream, or sliced from the given increments."""
    chunk = max(1, _CHUNK_VALUES // (PATH_BLOCK * n_modes))
    for start in range(0, n_steps, chunk):
        count = min(chunk, n_steps - start)
        if isinstance(noise, np.random.Generator):
            yield start, block_increments(noise, count, width, n_modes, dt)
        else:
            yield start, noise[start:start + count]


def _compiled(problem: SDDEProblem, weights: list[FloatArray | None],
              chains: list[FloatArray | None], ring: FloatArray,
              noise: np.random.Generator | FloatArray, n_steps: int, dt: float, bound: float,
              diverged: np.ndarray, saved: FloatArray, save_every: int, fast: bool) -> None:
    """All steps of one block in the compiled kernel, on arrays with paths × modes
    flattened; the normals are drawn inside the kernel unless ``noise`` is an array."""
    n_slots, width, n_modes = ring.shape
    size = width * n_modes
    stages, lengths, steps, chain_coefs = _chain_arrays(problem, chains, dt, width, ring.dtype)
    step = _linear_step(problem, weights, dt, bound, width, ring.dtype, lengths, steps,
                        chain_coefs)
    flat_ring = ring.reshape(n_slots, size)
    flat_stages = stages.reshape(*stages.shape[:2], size)
    flat_saved = saved.reshape(saved.shape[0], size)
    if isinstance(noise, np.random.Generator):
        advance_drawing(flat_ring, flat_stages, noise, fast, n_steps, float(np.sqrt(dt)),
                        PATH_BLOCK * n_modes, step, diverged, flat_saved, save_every)
    else:
        head, save_pos = 0, 1
        for start, rows in _noise_chunks(noise, n_steps, width, n_modes, dt):
            head, save_pos = advance(
                flat_ring, head, flat_stages,
                np.ascontiguousarray(rows).reshape(rows.shape[0], size), step, start,
                diverged, flat_saved, save_every, save_pos)
    packed = [state for state in chains if state is not None]
    for slot, state in enumerate(packed):  # the kernel advanced packed copies: write back
        state[:] = stages[slot, :state.shape[0]]


def _delayed(w: FloatArray | None, state: FloatArray | None, ring: FloatArray,
             head: int) -> FloatArray:
    """``y_n`` of one channel: the chain's last stage, or the grid quadrature."""
    if state is not None:
        return np.array(state[-1])
    assert w is not None
    return np.asarray(np.tensordot(w, ring[(head - np.arange(w.size)) % ring.shape[0]],
                                   axes=1))


def _numpy(problem: SDDEProblem, solver: AbstractSolver,
           weights: list[FloatArray | None], chains: list[FloatArray | None],
           ring: FloatArray, noise: np.random.Generator | FloatArray, n_steps: int,
           dt: float, bound: float, diverged: np.ndarray, saved: FloatArray,
           save_every: int) -> None:
    """All steps of one block in a numpy loop over time (any drift and diffusion)."""
    n_slots, width, n_modes = ring.shape
    head, save_pos = 0, 1
    for start, rows in _noise_chunks(noise, n_steps, width, n_modes, dt):
        for k in range(rows.shape[0]):
            n = start + k
            x = ring[head]
            y = np.stack([_delayed(w, state, ring, head)
                          for w, state in zip(weights, chains, strict=True)])
            for c, state in enumerate(chains):  # explicit Euler on the chain stages
                if state is not None:
                    rate = problem.delays[c].chain[1]  # type: ignore[index]
                    previous = np.concatenate([x[None], state[:-1]])
                    state += dt * rate * (previous - state)
            with np.errstate(all="ignore"):
                new = solver.step(n * dt, x, y, dt, rows[k], problem.drift,
                                  problem.diffusion)
            bad = ~np.all(np.abs(new) <= bound, axis=1) & (diverged < 0)
            diverged[bad] = n + 1
            frozen = diverged >= 0
            new = np.where(frozen[:, None], x, new)
            head = (head + 1) % n_slots
            ring[head] = new
            if (n + 1) % save_every == 0:
                saved[save_pos] = new
                save_pos += 1

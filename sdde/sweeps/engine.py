"""Parameter sweeps: an analysis over a labelled grid, locally or on a Dask cluster.

:func:`sweep` runs an :mod:`analysis <sdde.sweeps.analyses>` at every point of a grid (the
Cartesian product of named coordinates: workers, learning rates, delay laws,
thresholds, …) and returns an ``xarray.Dataset`` with one variable per output, labelled
coordinates and units in the attributes. The grid is cut into chunks that run in a local
process pool (default), in this process, or on a ``dask.distributed`` cluster; with
``store=`` every finished chunk is saved at once, so an interrupted sweep restarted with
the same arguments computes only what is missing. The same seed gives the same dataset
whatever runs it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sdde._progress import ProgressCallback
from sdde.sweeps._executors import check_executor, run_chunks
from sdde.sweeps._store import ChunkStore
from sdde.sweeps.analyses import (
    Analysis,
    FunctionAnalysis,
    Output,
    check_value,
    resolve_dimensions,
)

if TYPE_CHECKING:
    import xarray as xr

#: Default number of chunks a sweep is cut into (fewer if it has fewer points).
TARGET_CHUNKS = 64
#: Version of the store's layout, part of its manifest.
STORE_FORMAT = 1


@dataclass(frozen=True)
class _Job:
    """Everything a worker needs to run any chunk of one sweep (picklable)."""

    analysis: Analysis
    task_dims: tuple[str, ...]
    task_coords: tuple[tuple[Any, ...], ...]
    vectors: tuple[tuple[str, np.ndarray], ...]
    defaults: tuple[tuple[str, Any], ...]
    seed: int
    chunk_size: int
    n_tasks: int

    def points(self, chunk: int) -> range:
        """Flat indices of the task points in ``chunk``."""
        start = chunk * self.chunk_size
        return range(start, min(start + self.chunk_size, self.n_tasks))


def point_key(point: Mapping[str, Any]) -> tuple[int, ...]:
    """The spawn key of a grid point's random stream, from its coordinates alone.

    A hash (BLAKE2b, 128 bits) of the point's ``(dimension, value)`` pairs, defaults
    included, sorted by name: the stream does not depend on the grid's order, on the other
    values in the grid, on the chunking or on who computes it, so a point keeps its numbers
    when a sweep is extended or reordered.
    """
    text = json.dumps(sorted(point.items()), default=str)
    digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))


def _run_chunk(job: _Job, chunk: int) -> dict[str, np.ndarray]:
    """Evaluate every point of one chunk; outputs stacked along a leading point axis."""
    shape = tuple(len(c) for c in job.task_coords)
    vectors = dict(job.vectors)
    rows: list[dict[str, np.ndarray]] = []
    for flat in job.points(chunk):
        where = np.unravel_index(flat, shape) if shape else ()
        point = dict(job.defaults)
        point.update({d: job.task_coords[k][int(where[k])] for k, d in enumerate(job.task_dims)})
        rng = np.random.default_rng(np.random.SeedSequence(job.seed,
                                                           spawn_key=point_key(point)))
        rows.append(job.analysis.evaluate(point, vectors, rng))
    return {name: np.stack([np.asarray(r[name]) for r in rows])
            for name in job.analysis.outputs}


def _as_analysis(fn: Analysis | Callable[..., Any],
                 outputs: Mapping[str, str] | Sequence[str] | None) -> Analysis:
    if isinstance(fn, Analysis):
        if outputs is not None:
            raise ValueError("outputs= is for plain functions; an Analysis declares its own")
        return fn
    if not callable(fn):
        raise ValueError(f"fn must be an sdde.sweeps.analyses.Analysis or a function "
                         f"fn(point, rng) -> dict, got {type(fn).__name__}")
    if not outputs:
        raise ValueError("a plain function needs outputs=: the names it returns "
                         "(a list, or a mapping name -> units)")
    units = dict(outputs) if isinstance(outputs, Mapping) else dict.fromkeys(outputs, "")
    return FunctionAnalysis(fn=fn, outputs_spec={k: Output(u, k) for k, u in units.items()})


def _checked_grid(analysis: Analysis, grid: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Validate every grid value before any work starts; return normalised coordinates."""
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError("grid must be a non-empty mapping: dimension name -> values")
    out: dict[str, list[Any]] = {}
    for dim, values in grid.items():
        if not isinstance(dim, str) or not dim.isidentifier():
            raise ValueError(f"grid dimension names must be identifiers, got {dim!r}")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
            raise ValueError(f"grid dimension {dim!r}: give a list of values, got {values!r}")
        try:
            flat = np.ndim(values) == 1
        except ValueError:  # ragged nesting: numpy cannot even tell the depth
            flat = False
        if not flat:
            raise ValueError(f"grid dimension {dim!r}: give a flat list of values")
        if len(values) == 0:
            raise ValueError(f"grid dimension {dim!r} is empty: give at least one value")
        checked = [check_value(analysis, dim, v.item() if isinstance(v, np.generic) else v)
                   for v in values]
        if len(set(checked)) != len(checked):
            raise ValueError(f"grid dimension {dim!r} repeats a value: {checked}")
        out[dim] = checked
    return out


def _default_chunk_size(n_tasks: int) -> int:
    return max(1, math.ceil(n_tasks / TARGET_CHUNKS))


def _plan(fn: Analysis | Callable[..., Any], grid: Mapping[str, Sequence[Any]], *,
          executor: Any, seed: int, chunk_size: int | None,
          outputs: Mapping[str, str] | Sequence[str] | None
          ) -> tuple[Analysis, dict[str, list[Any]], dict[str, Any], _Job]:
    """Check every argument and lay the grid out in chunks (no work done yet)."""
    analysis = _as_analysis(fn, outputs)
    coords = _checked_grid(analysis, grid)
    defaults = resolve_dimensions(analysis, list(coords))
    clash = sorted(set(analysis.outputs) & set(coords))
    if clash:
        raise ValueError(f"output(s) {clash} are named like grid dimensions; rename them")
    check_executor(executor)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    vec_dims = tuple(d for d in coords if d in analysis.vectorised)
    missing_vec = [d for d in analysis.vectorised if d not in coords]
    if missing_vec:
        raise ValueError(f"the {analysis.name} analysis needs grid dimension(s) {missing_vec}")
    task_dims = tuple(d for d in coords if d not in vec_dims)
    n_tasks = math.prod(len(coords[d]) for d in task_dims)
    if chunk_size is None:
        chunk_size = _default_chunk_size(n_tasks)
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a whole number >= 1, got {chunk_size!r}")
    job = _Job(analysis=analysis, task_dims=task_dims,
               task_coords=tuple(tuple(coords[d]) for d in task_dims),
               vectors=tuple((d, np.asarray(coords[d])) for d in vec_dims),
               defaults=tuple(defaults.items()), seed=int(seed), chunk_size=chunk_size,
               n_tasks=n_tasks)
    return analysis, coords, defaults, job


@dataclass(frozen=True)
class SweepPlan:
    """How a sweep will run: grid points, chunks (tasks) and points per chunk."""

    points: int
    chunks: int
    chunk_size: int


def check_sweep(fn: Analysis | Callable[..., Any], grid: Mapping[str, Sequence[Any]], *,
                executor: Any = None, seed: int = 0, chunk_size: int | None = None,
                outputs: Mapping[str, str] | Sequence[str] | None = None) -> SweepPlan:
    """Check a sweep's arguments as :func:`sweep` does, without running it.

    Returns
    -------
    SweepPlan
        Grid points, chunks and chunk size of the sweep these arguments describe.

    Raises
    ------
    ValueError
        Saying what is wrong (the same errors :func:`sweep` raises before starting).

    Examples
    --------
    >>> from sdde.sweeps.analyses import StabilityAnalysis
    >>> check_sweep(StabilityAnalysis(), {"workers": list(range(1, 201)), "lr": [0.1, 0.2]})
    SweepPlan(points=400, chunks=50, chunk_size=4)
    """
    _, coords, _, job = _plan(fn, grid, executor=executor, seed=seed, chunk_size=chunk_size,
                              outputs=outputs)
    return SweepPlan(points=math.prod(len(v) for v in coords.values()),
                     chunks=math.ceil(job.n_tasks / job.chunk_size), chunk_size=job.chunk_size)


def sweep(fn: Analysis | Callable[..., Any], grid: Mapping[str, Sequence[Any]], *,
          executor: Any = None, store: str | Path | None = None, seed: int = 0,
          chunk_size: int | None = None,
          outputs: Mapping[str, str] | Sequence[str] | None = None,
          progress: ProgressCallback | None = None,
          notice: Callable[[str], None] | None = None) -> xr.Dataset:
    """Run an analysis at every point of a grid; return the labelled results.

    Parameters
    ----------
    fn : Analysis or callable
        An :class:`sdde.sweeps.analyses.Analysis` (:class:`~sdde.sweeps.analyses.StabilityAnalysis`,
        :class:`~sdde.sweeps.analyses.SimulationAnalysis`), or a module-level function
        ``fn(point: dict, rng) -> {name: number}`` (then give ``outputs``).
    grid : mapping of str to sequence
        Dimension name -> coordinate values, e.g. ``{"law": [...], "workers": [...],
        "lr": [...]}``. The dataset's dimensions follow this order. Values are checked
        (types, ranges, parseable laws) before any work starts.
    executor : None, 'serial', 'processes', int, str, Client or Executor
        ``None``: a local process pool (one process per core; no service to start);
        ``'serial'`` or ``1``: this process; an ``int``: that many processes;
        ``'tcp://host:8786'`` (or ``'dask://host:8786'``) or a ``distributed.Client``:
        that Dask cluster (the ``distributed`` extra); any
        ``concurrent.futures.Executor``.
    store : str or Path, optional
        A directory where each finished chunk is saved at once. Restarted with the same
        arguments after an interruption, the sweep loads the saved chunks and computes
        only the others (and any stored chunk it cannot read: a truncated or corrupt
        file, reported through ``notice``).
    seed : int
        Every grid point draws from ``SeedSequence(seed, spawn_key=point_key(point))``,
        keyed on its coordinates: the dataset does not depend on the executor, the number
        of workers, the chunking or the grid's order, and a point keeps its numbers when
        other values are added to the grid.
    chunk_size : int, optional
        Grid points per task (default: the grid cut into about 64 chunks). Vectorised
        dimensions (the learning rate of a stability sweep) count once per point.
    outputs : sequence of str or mapping of str to str, optional
        For a plain function: the names it returns (or name -> units).
    progress : callable, optional
        Called with the fraction of chunks done.
    notice : callable, optional
        Called with one line for each stored chunk that was unreadable and is computed
        again; by default each becomes a ``UserWarning``.

    Returns
    -------
    xarray.Dataset
        One variable per output over the grid's dimensions, with ``units`` and
        ``description`` attributes; coordinates labelled likewise; the analysis, its
        settings, the seed and the defaults of dimensions the grid omits as attributes.

    Raises
    ------
    ValueError
        For a bad grid, executor or store, before any work starts.
    sdde.sweeps._store.SweepWriteError
        An ``OSError`` naming the chunk file, if a finished chunk cannot be saved in
        ``store`` (disk full, permission lost); the chunks saved before are kept.

    Examples
    --------
    >>> from sdde.sweeps.analyses import StabilityAnalysis
    >>> ds = sweep(StabilityAnalysis(), {"law": ["gamma:shape=2,mean=1"],
    ...                                  "workers": [4, 8], "lr": [0.25, 0.75]},
    ...            executor="serial")
    >>> ds["stable"].values.tolist()              # a run converges while η·n < κ_as(n)
    [[[True, True], [True, False]]]
    >>> round(float(ds["max_stable_lr"].sel(workers=8)[0, 0]), 3)    # κ_as(8)/(n h)
    0.476
    """
    analysis, coords, defaults, job = _plan(fn, grid, executor=executor, seed=seed,
                                            chunk_size=chunk_size, outputs=outputs)
    task_dims, vec_dims = job.task_dims, tuple(d for d, _ in job.vectors)
    n_tasks, chunk_size = job.n_tasks, job.chunk_size
    n_chunks = math.ceil(n_tasks / chunk_size)
    manifest = {"format": STORE_FORMAT, "analysis": analysis.describe(),
                "grid": {d: list(v) for d, v in coords.items()}, "defaults": defaults,
                "seed": int(seed), "chunk_size": chunk_size}
    chunk_store = None if store is None else ChunkStore(store, manifest)
    results: dict[int, dict[str, np.ndarray]] = {}
    if chunk_store is not None:
        results = _load_chunks(chunk_store, job, n_chunks, notice)
    todo = [i for i in range(n_chunks) if i not in results]
    if progress is not None:
        progress(len(results) / n_chunks)
    for index, outputs_of_chunk in run_chunks(functools.partial(_run_chunk, job), todo,
                                              executor):
        if chunk_store is not None:
            chunk_store.save(index, outputs_of_chunk)
        results[index] = outputs_of_chunk
        if progress is not None:
            progress(len(results) / n_chunks)
    return _dataset(analysis, coords, task_dims, vec_dims, results, defaults, int(seed))


def _load_chunks(store: ChunkStore, job: _Job, n_chunks: int,
                 notice: Callable[[str], None] | None) -> dict[int, dict[str, np.ndarray]]:
    """The readable chunks of ``store``; each unreadable one is reported and left to run."""
    results: dict[int, dict[str, np.ndarray]] = {}
    for index in sorted(i for i in store.done() if i < n_chunks):
        outputs = store.load(index, names=job.analysis.outputs, length=len(job.points(index)))
        if outputs is not None:
            results[index] = outputs
            continue
        text = f"chunk {index} in {store.path} was unreadable and is computed again"
        if notice is None:
            warnings.warn(text, UserWarning, stacklevel=3)
        else:
            notice(text)
    return results


def _dataset(analysis: Analysis, coords: dict[str, list[Any]], task_dims: tuple[str, ...],
             vec_dims: tuple[str, ...], results: dict[int, dict[str, np.ndarray]],
             defaults: dict[str, Any], seed: int) -> xr.Dataset:
    import xarray as xr

    from sdde._version import __version__

    order = task_dims + vec_dims
    shape = tuple(len(coords[d]) for d in order)
    axes = [order.index(d) for d in coords]  # back to the grid's order
    variables = {}
    for name, spec in analysis.outputs.items():
        flat = np.concatenate([results[i][name] for i in sorted(results)])
        values = flat.reshape(shape).transpose(axes).astype(spec.dtype)
        variables[name] = (list(coords), values,
                           {"units": spec.units, "description": spec.description})
    coordinate_attrs = {d: {"units": s.units, "description": s.description}
                        for d, s in analysis.dimensions.items()}
    dataset = xr.Dataset(
        variables,
        coords={d: (d, np.asarray(v), coordinate_attrs.get(d, {})) for d, v in coords.items()},
        attrs={"analysis": analysis.describe(), "seed": seed, "sdde_version": __version__,
               **{f"default_{d}": v for d, v in defaults.items()}},
    )
    return dataset


def open_sweep(path: str | Path) -> xr.Dataset:
    """Load a sweep saved with ``Dataset.to_netcdf`` (fully, into memory)."""
    import xarray as xr

    return xr.load_dataset(path)


__all__ = ["SweepPlan", "check_sweep", "open_sweep", "sweep"]

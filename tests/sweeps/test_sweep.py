"""Parameter sweeps (:mod:`sdde.sweeps.engine`): one dataset whatever computes it.

How each test knows the truth:

* a second implementation: the vectorised stability path (one κ* per cluster) against
  :func:`sdde.analyze_stability` point by point;
* invariance: the serial run is the reference, and the local process pool, a Dask
  cluster (by ``Client`` and by address), the chunking, the grid's dimension order and an
  interrupted-then-resumed run must all give an ``identical`` dataset;
* bookkeeping: a grid function that logs every evaluation it completes shows that a
  resumed sweep computes only the chunks its store lacks;
* refusal: every bad argument raises ``ValueError`` naming the problem before any chunk
  runs (``run_chunks`` is replaced by a tripwire) and before the store is created.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import sdde
import sdde.sweeps.engine as sweep_module
from sdde.sweeps.analyses import NO_THRESHOLD, SimulationAnalysis, StabilityAnalysis
from sdde.sweeps.engine import open_sweep, sweep

ROOT = Path(__file__).resolve().parents[2]

SIMULATION = SimulationAnalysis(replicas=2, updates=500)
SIMULATION_GRID = {"law": ["gamma:shape=2,mean=1"], "workers": [4, 16], "lr": [0.02, 0.08]}
STABILITY_GRID = {"law": ["gamma:shape=2,mean=1", "exponential:mean=1", "deterministic:value=1"],
                  "workers": [2, 8, 32], "lr": [0.01, 0.1, 1.0], "threshold": [None, 4]}


# ----------------------------------------------------------------- grid functions
def _evaluate(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, float]:
    """A grid function with side effects steered by files in the directory ``point["run"]``.

    ``fail`` holding ``x``: raise at that point; ``kill`` holding ``x``: end the worker
    process there. Every evaluation that completes appends its ``x`` to ``log``.
    """
    run, x = Path(point["run"]), int(point["x"])
    if (run / "fail").exists() and x == int((run / "fail").read_text()):
        raise RuntimeError(f"interrupted at x={x}")
    if (run / "kill").exists() and x == int((run / "kill").read_text()):
        os._exit(1)
    with open(run / "log", "a") as log:
        log.write(f"{x}\n")
    return {"y": x + rng.random()}


def _never(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, float]:
    raise AssertionError("a refused sweep evaluated a point")


def _special(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, float]:
    x = point["x"]
    return {"nan": math.nan, "inf": -math.inf if x < 0 else math.inf, "value": x}


def _log(run: Path) -> list[int]:
    path = run / "log"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _chunks(store: Path) -> set[int]:
    return {int(p.stem.split("-")[1]) for p in store.glob("chunk-*.npz")}


def _logged_grid(run: Path, n: int = 8) -> dict[str, list[Any]]:
    run.mkdir(exist_ok=True)
    return {"x": list(range(n)), "run": [str(run)]}


# ----------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    # no dashboard; the scheduler's HTTP server on a free port, not on a busy 8787
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None,
                                  scheduler_kwargs={"dashboard_address": ":0"}) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def dask_client(dask_cluster: Any) -> Iterator[Any]:
    import distributed

    with distributed.Client(dask_cluster) as client:
        yield client


@pytest.fixture(scope="module")
def serial_simulation() -> xr.Dataset:
    return sweep(SIMULATION, SIMULATION_GRID, executor="serial")


@pytest.fixture(scope="module")
def serial_stability() -> xr.Dataset:
    return sweep(StabilityAnalysis(), STABILITY_GRID, executor="serial")


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the chunk runner by a tripwire: a refused sweep must not get that far."""
    def tripwire(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a refused sweep started running chunks")

    monkeypatch.setattr(sweep_module, "run_chunks", tripwire)


def _executor(name: str, request: pytest.FixtureRequest) -> Any:
    if name == "client":
        return request.getfixturevalue("dask_client")
    if name in ("tcp-address", "dask-address"):
        address = request.getfixturevalue("dask_cluster").scheduler_address
        return address if name == "tcp-address" else address.replace("tcp://", "dask://")
    if name == "threads":
        return ThreadPoolExecutor(2)
    return {"pool-2": 2, "default-pool": None}[name]


# ------------------------------------------------------------------ executors
@pytest.mark.parametrize("name", ["pool-2", "client", "tcp-address"])
def test_simulation_sweep_is_identical_on_every_executor(
        name: str, request: pytest.FixtureRequest, serial_simulation: xr.Dataset) -> None:
    executor = _executor(name, request)
    ds = sweep(SIMULATION, SIMULATION_GRID, executor=executor)
    assert ds.identical(serial_simulation)
    assert np.all(serial_simulation["staleness_mean"] > 0)  # it really simulated


@pytest.mark.parametrize("name", ["default-pool", "pool-2", "threads", "client",
                                  "tcp-address", "dask-address"])
def test_stability_sweep_is_identical_on_every_executor(
        name: str, request: pytest.FixtureRequest, serial_stability: xr.Dataset) -> None:
    executor = _executor(name, request)
    try:
        ds = sweep(StabilityAnalysis(), STABILITY_GRID, executor=executor, chunk_size=5)
    finally:
        if isinstance(executor, ThreadPoolExecutor):
            executor.shutdown()
    assert ds.identical(serial_stability)


# ------------------------------------------------------------ stores, resuming
@pytest.mark.parametrize(("chunk_size", "fail_at", "stored", "first", "second"), [
    # one point per chunk: the failing point raised before completing, so every point
    # completes exactly once over the two runs
    (1, 5, {0, 1, 2, 3, 4}, [0, 1, 2, 3, 4], [5, 6, 7]),
    # three per chunk: 3 completed inside the failed chunk 1, which was not saved, so 3
    # (and only 3) is computed again
    (3, 4, {0}, [0, 1, 2, 3], [3, 4, 5, 6, 7]),
])
def test_interrupted_sweep_resumes_computing_only_unsaved_chunks(
        tmp_path: Path, chunk_size: int, fail_at: int, stored: set[int], first: list[int],
        second: list[int]) -> None:
    run, store = tmp_path / "run", tmp_path / "store"
    grid = _logged_grid(run)
    kwargs = {"outputs": {"y": "s"}, "executor": "serial", "chunk_size": chunk_size}
    (run / "fail").write_text(str(fail_at))
    with pytest.raises(RuntimeError, match=f"interrupted at x={fail_at}"):
        sweep(_evaluate, grid, store=store, **kwargs)
    assert _chunks(store) == stored
    assert not [p for p in store.iterdir() if p.name.startswith(".")]  # nothing half-written
    assert _log(run) == first
    (run / "fail").unlink()
    resumed = sweep(_evaluate, grid, store=store, **kwargs)
    assert _log(run) == first + second
    assert _chunks(store) == set(range(math.ceil(8 / chunk_size)))
    (run / "log").unlink()
    reference = sweep(_evaluate, grid, store=tmp_path / "other", **kwargs)
    assert resumed.identical(reference)
    again = sweep(_evaluate, grid, store=store, **kwargs)  # complete store: nothing to do
    assert _log(run) == list(range(8)) and again.identical(reference)


def test_killed_worker_process_then_serial_resume(tmp_path: Path) -> None:
    run, store = tmp_path / "run", tmp_path / "store"
    grid = _logged_grid(run)
    (run / "kill").write_text("3")
    with pytest.raises(BrokenProcessPool):
        sweep(_evaluate, grid, outputs=["y"], store=store, executor=2, chunk_size=1)
    saved = _chunks(store)
    assert 3 not in saved
    (run / "kill").unlink()
    (run / "log").unlink(missing_ok=True)
    resumed = sweep(_evaluate, grid, outputs=["y"], store=store, executor="serial",
                    chunk_size=1)
    assert sorted(_log(run)) == sorted(set(range(8)) - saved)  # only the missing chunks
    reference = sweep(_evaluate, grid, outputs=["y"], executor="serial", chunk_size=4)
    assert resumed.identical(reference)


@pytest.mark.parametrize("change", [{"seed": 1}, {"chunk_size": 2},
                                    {"grid": {"x": [0, 1, 2]}}, {"outputs": ["y", "z"]}])
def test_store_of_another_sweep_is_refused(tmp_path: Path, change: dict[str, Any]) -> None:
    run, store = tmp_path / "run", tmp_path / "store"
    grid = _logged_grid(run, 4)
    sweep(_evaluate, grid, outputs=["y"], store=store, executor="serial", chunk_size=1)
    kwargs: dict[str, Any] = {"outputs": ["y"], "executor": "serial", "chunk_size": 1,
                              "grid": grid, **change}
    if "x" in kwargs["grid"]:
        kwargs["grid"] = {**grid, **kwargs["grid"]}
    with pytest.raises(ValueError, match="holds a different sweep"):
        sweep(_evaluate, store=store, **kwargs)
    assert _log(run) == [0, 1, 2, 3]


def test_store_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "results.nc"
    path.write_text("not a directory")
    with pytest.raises(ValueError, match="is a file"):
        sweep(_never, {"x": [1, 2]}, outputs=["y"], store=path, executor="serial")
    assert path.read_text() == "not a directory"


# -------------------------------------------------------------- refused input
CLUSTER = {"law": ["gamma:shape=2,mean=1"], "workers": [4, 8], "lr": [0.1, 0.2]}
STABILITY = StabilityAnalysis()

BAD = [  # id, fn, grid, extra keywords, the message must match
    ("empty-dimension", STABILITY, {**CLUSTER, "workers": []}, {}, r"'workers' is empty"),
    ("unknown-law", STABILITY, {**CLUSTER, "law": ["gama:shape=2"]}, {},
     r"'law'.*unknown delay family 'gama'"),
    ("bad-law-parameter", STABILITY, {**CLUSTER, "law": ["gamma:shape=-1"]}, {},
     r"'law'.*shape"),
    ("law-not-a-string", STABILITY, {**CLUSTER, "law": [2]}, {}, r"'law'.*spec"),
    ("string-workers", STABILITY, {**CLUSTER, "workers": ["8"]}, {},
     r"'workers'.*whole number.*'8'"),
    ("float-workers", STABILITY, {**CLUSTER, "workers": [8.0]}, {}, r"'workers'.*whole"),
    ("zero-workers", STABILITY, {**CLUSTER, "workers": [0, 4]}, {}, r"'workers'.*>= 1"),
    ("bool-workers", STABILITY, {**CLUSTER, "workers": [True]}, {}, r"'workers'"),
    ("zero-lr", STABILITY, {**CLUSTER, "lr": [0.1, 0.0]}, {}, r"'lr'.*> 0"),
    ("negative-lr", STABILITY, {**CLUSTER, "lr": [-0.1]}, {}, r"'lr'.*> 0"),
    ("nan-lr", STABILITY, {**CLUSTER, "lr": [0.1, math.nan]}, {}, r"'lr'.*finite"),
    ("inf-lr", STABILITY, {**CLUSTER, "lr": [math.inf]}, {}, r"'lr'.*finite"),
    ("string-lr", STABILITY, {**CLUSTER, "lr": ["0.1"]}, {}, r"'lr'.*number"),
    ("bad-threshold", STABILITY, {**CLUSTER, "threshold": [-2]}, {}, r"'threshold'"),
    ("duplicate-workers", STABILITY, {**CLUSTER, "workers": [4, 8, 4]}, {},
     r"'workers' repeats"),
    ("duplicate-lr", STABILITY, {**CLUSTER, "lr": [0.1, 0.1]}, {}, r"'lr' repeats"),
    ("duplicate-no-threshold", STABILITY, {**CLUSTER, "threshold": [None, NO_THRESHOLD]},
     {}, r"'threshold' repeats"),
    ("unknown-dimension", STABILITY, {**CLUSTER, "batch": [32]}, {},
     r"\['batch'\] unknown to the stability analysis"),
    ("missing-lr", STABILITY, {k: v for k, v in CLUSTER.items() if k != "lr"}, {},
     r"needs grid dimension\(s\) \['lr'\]"),
    ("missing-workers", SIMULATION, {k: v for k, v in CLUSTER.items() if k != "workers"},
     {}, r"needs grid dimension\(s\) \['workers'\]"),
    ("grid-not-a-mapping", STABILITY, list(CLUSTER.items()), {}, r"grid must be .*mapping"),
    ("empty-grid", STABILITY, {}, {}, r"non-empty mapping"),
    ("string-not-list", STABILITY, {**CLUSTER, "law": "gamma:shape=2,mean=1"}, {},
     r"'law': give a list"),
    ("set-not-list", STABILITY, {**CLUSTER, "workers": {4, 8}}, {}, r"'workers': give a list"),
    ("nested-lists", STABILITY, {**CLUSTER, "lr": [[0.1, 0.2]]}, {}, r"'lr': give a flat list"),
    ("dimension-name", _never, {"x": [1], "not a name": [2]}, {"outputs": ["y"]},
     r"identifiers.*'not a name'"),
    ("function-nan", _never, {"x": [1.0, math.nan]}, {"outputs": ["y"]}, r"'x'.*finite"),
    ("function-bool", _never, {"x": [True, False]}, {"outputs": ["y"]}, r"'x'.*number"),
    ("executor-url", STABILITY, CLUSTER, {"executor": "http://x"},
     r"executor 'http://x'.*tcp://host:8786"),
    ("executor-zero", STABILITY, CLUSTER, {"executor": 0}, r"executor.*>= 1, got 0"),
    ("executor-bool", STABILITY, CLUSTER, {"executor": True}, r"executor must be.*True"),
    ("executor-object", STABILITY, CLUSTER, {"executor": object()}, r"executor.*object"),
    ("negative-seed", STABILITY, CLUSTER, {"seed": -1}, r"seed .*>= 0, got -1"),
    ("float-seed", STABILITY, CLUSTER, {"seed": 1.5}, r"seed"),
    ("zero-chunk-size", STABILITY, CLUSTER, {"chunk_size": 0}, r"chunk_size .*>= 1, got 0"),
    ("bool-chunk-size", STABILITY, CLUSTER, {"chunk_size": True}, r"chunk_size"),
    ("function-without-outputs", _never, {"x": [1, 2]}, {}, r"needs outputs="),
    ("analysis-with-outputs", STABILITY, CLUSTER, {"outputs": ["y"]},
     r"outputs= is for plain functions"),
    ("not-callable", "stability", CLUSTER, {}, r"fn must be .*got str"),
]


@pytest.mark.parametrize(("fn", "grid", "kwargs", "message"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_arguments_are_refused_before_any_work(
        fn: Any, grid: Any, kwargs: dict[str, Any], message: str, tmp_path: Path,
        no_work: None) -> None:
    store = tmp_path / "store"
    with pytest.raises(ValueError, match=message):
        sweep(fn, grid, store=store, **kwargs)
    assert not store.exists()


def test_ragged_nested_grid_values_name_the_dimension() -> None:
    with pytest.raises(ValueError, match=r"'lr'"):
        sweep(STABILITY, {**CLUSTER, "lr": [[0.1], [0.2, 0.3]]}, executor="serial")


def test_output_named_like_a_dimension_is_refused_before_any_work(no_work: None) -> None:
    with pytest.raises(ValueError, match=r"'x'"):
        sweep(_special, {"x": [1.0, 2.0]}, outputs=["nan", "inf", "x"], executor="serial")


# -------------------------------------------------------------------- netCDF
def test_netcdf_round_trip_keeps_bools_strings_infinities_and_nans(
        tmp_path: Path, serial_stability: xr.Dataset, serial_simulation: xr.Dataset) -> None:
    stability = serial_stability
    assert stability["stable"].dtype == bool and stability["law"].dtype.kind == "U"
    assert np.isinf(stability["kappa_star"].sel(law="exponential:mean=1", threshold=-1)).all()
    assert np.isinf(stability["margin"]).any() and np.isinf(stability["max_stable_lr"]).any()
    special = sweep(_special, {"x": [-1, 0.5, 2]}, outputs=["nan", "inf", "value"],
                    executor="serial")
    for name, ds in [("stability", stability), ("simulation", serial_simulation),
                     ("special", special)]:
        path = tmp_path / f"{name}.nc"
        ds.to_netcdf(path)
        back = open_sweep(path)
        assert back.identical(ds), name
    assert open_sweep(tmp_path / "stability.nc")["stable"].dtype == bool
    assert open_sweep(tmp_path / "stability.nc")["law"].values.tolist() == STABILITY_GRID["law"]
    assert np.isnan(open_sweep(tmp_path / "special.nc")["nan"]).all()
    assert (open_sweep(tmp_path / "special.nc")["inf"].values == [-np.inf, np.inf, np.inf]).all()


# ------------------------------------------------------- fast path vs per point
def _report(law: str, workers: int, lr: float, threshold: int, hessian: str
            ) -> sdde.StabilityReport:
    model = sdde.AsyncSGDModel(
        lr=lr, spectrum=sdde.HessianSpectrum.parse(hessian),
        cluster=sdde.Cluster(workers=workers, delay=sdde.delays.parse(law),
                             threshold=None if threshold == NO_THRESHOLD else threshold))
    return sdde.analyze_stability(model, optimise_workers=False)


def test_vectorised_stability_agrees_with_analyze_stability_per_point() -> None:
    hessian = "0.5,2"
    grid = {"law": ["lognormal:mean=1,cv=0.5", "shifted-exp:shift=0.5,mean=1"],
            "workers": [2, 8, 32], "lr": [0.002, 0.007, 0.02, 0.07, 0.2],
            "threshold": [None, 6]}
    ds = sweep(StabilityAnalysis(hessian=hessian, decay=True), grid, executor="serial")
    # analyze_stability is slow (it also searches the largest stable worker count), so
    # compare two clusters of the four: one law without a threshold, one with
    compared = 0
    for law, threshold in [(grid["law"][0], NO_THRESHOLD), (grid["law"][1], 6)]:
        for workers in grid["workers"]:
            for lr in grid["lr"]:
                at = {"law": law, "workers": workers, "lr": lr, "threshold": threshold}
                values = ds.sel(at)
                if abs(float(values["margin"]) - 1) < 0.1:  # near the boundary: skipped
                    continue
                report = _report(law, workers, lr, threshold, hessian)
                assert bool(values["stable"]) is report.stable, at
                assert float(values["kappa_star"]) == pytest.approx(report.kappa_star,
                                                                    rel=1e-12), at
                assert float(values["max_stable_lr"]) == report.max_stable_lr, at
                assert float(values["margin"]) == report.margin, at
                assert float(values["decay_rate"]) == pytest.approx(report.decay_rate,
                                                                    rel=1e-9), at
                compared += 1
    assert compared >= 25
    assert ds["stable"].any() and not ds["stable"].all()


def test_decay_rate_of_a_complex_rightmost_pair() -> None:
    law, hessian = "lognormal:mean=1,cv=3", "1"
    ds = sweep(StabilityAnalysis(decay=True), {"law": [law], "workers": [4], "lr": [1.0]},
               executor="serial")
    report = _report(law, 4, 1.0, NO_THRESHOLD, hessian)
    assert report.decay_rate == pytest.approx(0.2343425, rel=1e-6)  # a stable, complex pair
    assert float(ds["decay_rate"].squeeze()) == pytest.approx(report.decay_rate, rel=1e-9)


# -------------------------------------------------------------------- invariance
def test_stability_is_independent_of_chunking_and_dimension_order(
        serial_stability: xr.Dataset) -> None:
    for chunk_size in (1, 4, 100):
        ds = sweep(StabilityAnalysis(), STABILITY_GRID, executor="serial",
                   chunk_size=chunk_size)
        assert ds.identical(serial_stability), chunk_size
    reordered = {d: STABILITY_GRID[d] for d in ("lr", "threshold", "workers", "law")}
    ds = sweep(StabilityAnalysis(), reordered, executor="serial")
    assert ds["stable"].dims == ("lr", "threshold", "workers", "law")
    assert ds.transpose(*STABILITY_GRID).identical(serial_stability)


def test_simulation_is_independent_of_chunking_and_depends_only_on_the_seed(
        serial_simulation: xr.Dataset) -> None:
    for chunk_size in (1, 3):
        ds = sweep(SIMULATION, SIMULATION_GRID, executor="serial", chunk_size=chunk_size)
        assert ds.identical(serial_simulation), chunk_size
    again = sweep(SIMULATION, SIMULATION_GRID, executor="serial", seed=0)
    assert again.identical(serial_simulation)
    other = sweep(SIMULATION, SIMULATION_GRID, executor="serial", seed=1)
    assert other.attrs["seed"] == 1
    assert not np.array_equal(other["staleness_mean"], serial_simulation["staleness_mean"])
    assert not np.array_equal(other["arrival_rate"], serial_simulation["arrival_rate"])


def test_simulation_is_independent_of_dimension_order(serial_simulation: xr.Dataset) -> None:
    reordered = {d: SIMULATION_GRID[d] for d in ("lr", "workers", "law")}
    ds = sweep(SIMULATION, reordered, executor="serial")
    assert ds.transpose(*SIMULATION_GRID).identical(serial_simulation)


def test_a_point_keeps_its_numbers_when_the_grid_grows(serial_simulation: xr.Dataset) -> None:
    # streams are keyed on a point's coordinates, not its position: sweeping one corner
    # of the grid alone gives that corner's numbers in the full sweep
    corner = {d: SIMULATION_GRID[d][-1:] for d in SIMULATION_GRID}
    alone = sweep(SIMULATION, corner, executor="serial")
    inside = serial_simulation.isel({d: slice(-1, None) for d in SIMULATION_GRID})
    xr.testing.assert_identical(alone, inside)


# ---------------------------------------------------------------------- progress
def test_progress_rises_to_one_and_resumes_from_the_stored_fraction(tmp_path: Path) -> None:
    run, store = tmp_path / "run", tmp_path / "store"
    grid = _logged_grid(run)
    seen: list[float] = []
    (run / "fail").write_text("6")
    with pytest.raises(RuntimeError):
        sweep(_evaluate, grid, outputs=["y"], store=store, executor="serial", chunk_size=2,
              progress=seen.append)
    assert seen == [0.0, 0.25, 0.5, 0.75]
    (run / "fail").unlink()
    resumed: list[float] = []
    sweep(_evaluate, grid, outputs=["y"], store=store, executor="serial", chunk_size=2,
          progress=resumed.append)
    assert resumed == [0.75, 1.0]
    pooled: list[float] = []
    sweep(StabilityAnalysis(), STABILITY_GRID, executor=2, chunk_size=3, progress=pooled.append)
    assert pooled[0] == 0.0 and pooled[-1] == 1.0 and len(pooled) == 7
    assert all(a < b for a, b in itertools.pairwise(pooled))


# ------------------------------------------------------------------ attributes
def test_units_and_descriptions_on_every_variable_and_coordinate(
        serial_stability: xr.Dataset, serial_simulation: xr.Dataset) -> None:
    decay = sweep(StabilityAnalysis(decay=True), {"workers": [4], "lr": [0.1]},
                  executor="serial")
    for ds in (serial_stability, serial_simulation, decay):
        for name, variable in ds.variables.items():
            assert isinstance(variable.attrs.get("units"), str), name
            assert variable.attrs.get("description"), name
    assert serial_stability["workers"].attrs["units"] == "workers"
    assert serial_stability["threshold"].attrs["units"] == "updates"
    assert decay["decay_rate"].attrs["units"] == "1/time"
    assert serial_simulation["staleness_mean"].attrs["units"] == "updates"
    assert decay.attrs["default_law"] == "shifted-exp:shift=0.5,mean=1"
    assert decay.attrs["default_threshold"] == NO_THRESHOLD
    assert "decay=True" in decay.attrs["analysis"] and decay.attrs["seed"] == 0
    units = sweep(_special, {"x": [1.0]}, outputs={"nan": "", "inf": "s", "value": "m"},
                  executor="serial")
    assert units["value"].attrs == {"units": "m", "description": "value"}


# --------------------------------------------------------------- the docs example
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # another cluster has it
def test_dask_example_in_the_docs_runs() -> None:
    pytest.importorskip("distributed")
    text = (ROOT / "docs" / "sweeps.md").read_text()
    blocks = re.findall(r"<!-- dask-example -->\s*```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "docs/sweeps.md: one ```python block after <!-- dask-example -->"
    code = blocks[0]
    assert ">>>" not in code and "assert" in code.strip().splitlines()[-1]
    exec(compile(code, str(ROOT / "docs" / "sweeps.md"), "exec"), {"__name__": "__main__"})

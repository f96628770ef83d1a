"""A sweep's files and processes whatever happens to them (:mod:`sdde.sweeps._store`,
:mod:`sdde.sweeps._executors`).

How each test knows the truth:

* invariance: a sweep resumed from a store with truncated or corrupt chunk files equals an
  uninterrupted one, and a grid function that logs its evaluations shows that exactly the
  unreadable chunks ran again;
* injected faults: a full disk is an ``OSError(ENOSPC)`` raised by the writer (monkeypatched),
  a read-only directory a ``chmod`` (skipped as root, whom permissions do not stop);
* processes: a sweep in a subprocess is killed with ``SIGKILL`` and its pool processes,
  which wrote their own pids, must be gone within seconds.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import sdde.sweeps._store as store_module
from sdde.sweeps._store import ChunkStore, SweepWriteError, check_output, write_dataset
from sdde.sweeps.engine import sweep

ROOT = Path(__file__).resolve().parents[2]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _evaluate(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, float]:
    """``x`` plus a random number; every evaluation appends its ``x`` to ``run/log``."""
    with open(Path(point["run"]) / "log", "a") as log:
        log.write(f"{point['x']}\n")
    return {"y": point["x"] + rng.random()}


def _log(run: Path) -> list[int]:
    path = run / "log"
    return sorted(int(line) for line in path.read_text().split()) if path.exists() else []


def _grid(run: Path, n: int = 6) -> dict[str, list[Any]]:
    run.mkdir(exist_ok=True)
    return {"x": list(range(n)), "run": [str(run)]}


def _chunk(store: Path, index: int) -> Path:
    return store / f"chunk-{index:06d}.npz"


KW: dict[str, Any] = {"outputs": ["y"], "executor": "serial", "chunk_size": 1}


def _manifest(store: Path) -> dict[str, Any]:
    return json.loads((store / "manifest.json").read_text())


# ------------------------------------------------------------- unreadable chunks
def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 3)


def _other_outputs(path: Path) -> None:
    np.savez(path, z=np.zeros(1))


def _too_many_points(path: Path) -> None:
    np.savez(path, y=np.zeros(3))


def _lone_array(path: Path) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.zeros(1))


def _pickled(path: Path) -> None:
    np.savez(path, y=np.array([{"not": "numbers"}], dtype=object))


@pytest.mark.parametrize("damage", [_truncate, _empty, _garbage, _other_outputs,
                                    _too_many_points, _lone_array, _pickled])
def test_unreadable_chunk_is_computed_again(damage: Any, tmp_path: Path) -> None:
    run, store = tmp_path / "run", tmp_path / "store"
    grid = _grid(run)
    reference = sweep(_evaluate, grid, store=store, **KW)
    damage(_chunk(store, 2))
    (run / "log").unlink()
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # with notice=, nothing is warned
        resumed = sweep(_evaluate, grid, store=store, notice=notes.append, **KW)
    assert _log(run) == [2]  # only the damaged chunk ran again
    assert notes == [f"chunk 2 in {store} was unreadable and is computed again"]
    xr.testing.assert_identical(resumed, reference)
    assert store_module.CHUNK_NAME.fullmatch(_chunk(store, 2).name)
    assert ChunkStore(store, _manifest(store)).load(2, names=["y"], length=1) is not None


def test_unreadable_chunk_warns_without_a_notice_callback(tmp_path: Path) -> None:
    run, store = tmp_path / "run", tmp_path / "store"
    grid = _grid(run, 3)
    reference = sweep(_evaluate, grid, store=store, **KW)
    _truncate(_chunk(store, 0))
    with pytest.warns(UserWarning, match="chunk 0 in .* was unreadable"):
        resumed = sweep(_evaluate, grid, store=store, **KW)
    xr.testing.assert_identical(resumed, reference)


def test_stray_files_in_the_store_are_not_chunks(tmp_path: Path) -> None:
    run, store = tmp_path / "run", tmp_path / "store"
    grid = _grid(run, 3)
    reference = sweep(_evaluate, grid, store=store, **KW)
    for name in ("chunk-abc.npz", "chunk-.npz", "chunk-000001.npz.bak", "notes.txt"):
        (store / name).write_text("x")
    (store / ".chunk-000002-killed.tmp").write_bytes(b"half a chunk")  # a killed save
    (run / "log").unlink()
    again = sweep(_evaluate, grid, store=store, **KW)
    assert _log(run) == [] and again.identical(reference)
    assert not list(store.glob(".*.tmp"))  # the killed save's leftover is removed


def test_unreadable_manifest_is_refused(tmp_path: Path) -> None:
    run, store = tmp_path / "run", tmp_path / "store"
    grid = _grid(run, 2)
    sweep(_evaluate, grid, store=store, **KW)
    (store / "manifest.json").write_text('{"format": 1, "ana')
    with pytest.raises(ValueError, match=r"unreadable manifest\.json; delete the store"):
        sweep(_evaluate, grid, store=store, **KW)


# --------------------------------------------------------------- failed writes
def test_full_disk_while_saving_a_chunk_keeps_the_finished_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run, store = tmp_path / "run", tmp_path / "store"
    grid = _grid(run)
    real = np.savez
    saved: list[int] = []

    def filling(handle: Any, **arrays: Any) -> None:
        if len(saved) == 3:
            handle.write(b"PK\x03\x04 partial")  # some bytes made it to disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        saved.append(1)
        real(handle, **arrays)

    monkeypatch.setattr(store_module.np, "savez", filling)
    with pytest.raises(SweepWriteError) as info:
        sweep(_evaluate, grid, store=store, **KW)
    assert info.value.errno == errno.ENOSPC and info.value.strerror == "no space left on device"
    assert info.value.filename == str(_chunk(store, 3))
    assert {p.name for p in store.iterdir()} == {"manifest.json", *(
        _chunk(store, i).name for i in range(3))}  # no temporary file left behind
    monkeypatch.setattr(store_module.np, "savez", real)
    (run / "log").unlink()
    resumed = sweep(_evaluate, grid, store=store, **KW)
    assert _log(run) == [3, 4, 5]
    xr.testing.assert_identical(resumed, sweep(_evaluate, grid, **KW))


def test_unwritable_store_is_refused_before_any_work(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(store_module.tempfile, "mkstemp", denied)
    run = tmp_path / "run"
    with pytest.raises(ValueError, match="cannot write into it: permission denied"):
        sweep(_evaluate, _grid(run), store=tmp_path / "store", **KW)
    assert _log(run) == []


def _dataset() -> xr.Dataset:
    return xr.Dataset({"y": (("x",), np.arange(4.0))}, coords={"x": [1, 2, 3, 4]})


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
                                   PermissionError(errno.EACCES, os.strerror(errno.EACCES)),
                                   RuntimeError("NetCDF: HDF error")])
def test_failed_dataset_write_keeps_the_old_file_and_leaves_no_partial_one(
        error: Exception, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "results.nc"
    out.write_bytes(b"an earlier result")

    def failing(self: xr.Dataset, path: Any, *args: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"CDF half")
        raise error

    monkeypatch.setattr(xr.Dataset, "to_netcdf", failing)
    if isinstance(error, RuntimeError):  # with free space, a netCDF error is not a full disk
        with pytest.raises(SweepWriteError) as info:
            write_dataset(_dataset(), out)
        assert info.value.strerror == "the netCDF library failed (NetCDF: HDF error)"
        monkeypatch.setattr(store_module.shutil, "disk_usage",
                            lambda path: type("U", (), {"free": 0})())
    with pytest.raises(SweepWriteError) as info:
        write_dataset(_dataset(), out)
    assert info.value.filename == str(out)
    expected = "permission denied" if isinstance(error, PermissionError) else \
        "no space left on device"
    assert info.value.strerror == expected
    assert out.read_bytes() == b"an earlier result"
    assert [p.name for p in tmp_path.iterdir()] == ["results.nc"]


def test_dataset_write_lets_other_errors_through(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def buggy(self: xr.Dataset, path: Any, *args: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"CDF")
        raise RuntimeError("a bug, not a disk")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", buggy)
    with pytest.raises(RuntimeError, match="a bug"):
        write_dataset(_dataset(), tmp_path / "results.nc")
    assert list(tmp_path.iterdir()) == []


def test_dataset_write_replaces_an_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "results.nc"
    out.write_bytes(b"an earlier result")
    write_dataset(_dataset(), out)
    xr.testing.assert_identical(xr.load_dataset(out), _dataset())
    assert [p.name for p in tmp_path.iterdir()] == ["results.nc"]


# ------------------------------------------------------------ checked up front
def test_check_output_accepts_a_writable_place_and_leaves_nothing(tmp_path: Path) -> None:
    check_output(tmp_path / "r.nc", tmp_path / "r.nc.parts", 1000)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "r.nc.parts").mkdir()  # a store being resumed stays
    check_output(tmp_path / "r.nc", tmp_path / "r.nc.parts", 1000)
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc.parts"]
    assert list((tmp_path / "r.nc.parts").iterdir()) == []


@pytest.mark.parametrize(("setup", "message"), [
    ("missing", "directory '{d}/nowhere' does not exist"),
    ("out-is-dir", "'{d}/r.nc' is a directory; give a file name"),
    ("store-is-file", "'{d}/r.nc.parts' is in the way"),
    ("full", "not enough space in '{d}': the sweep needs about 5 GB, 1 MB are free"),
])
def test_check_output_refuses(setup: str, message: str, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r.nc"
    if setup == "missing":
        out = tmp_path / "nowhere" / "r.nc"
    elif setup == "out-is-dir":
        out.mkdir()
    elif setup == "store-is-file":
        (tmp_path / "r.nc.parts").write_text("x")
    else:
        monkeypatch.setattr(store_module.shutil, "disk_usage",
                            lambda path: type("U", (), {"free": 1_500_000})())
    with pytest.raises(ValueError) as info:
        check_output(out, out.with_name("r.nc.parts"), 5_000_000_000)
    assert str(info.value).startswith(message.format(d=tmp_path))


@pytest.mark.skipif(AS_ROOT or sys.platform == "win32",
                    reason="root writes into read-only directories")
def test_check_output_refuses_read_only_places(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(ValueError, match=f"cannot write into '{locked}': permission"):
            check_output(locked / "r.nc", locked / "r.nc.parts")
    finally:
        locked.chmod(0o755)
    frozen = tmp_path / "r.nc"
    frozen.write_text("x")
    frozen.chmod(0o444)
    with pytest.raises(ValueError, match="the file is read-only"):
        check_output(frozen, tmp_path / "r.nc.parts")


def test_check_output_names_the_store_it_cannot_write(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "r.nc.parts"
    store.mkdir()
    real = store_module.tempfile.mkstemp

    def denied_in_store(*args: Any, dir: Any = None, **kwargs: Any) -> Any:
        if Path(dir) == store:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(store_module.tempfile, "mkstemp", denied_in_store)
    with pytest.raises(ValueError, match=f"cannot write into '{store}': permission denied"):
        check_output(tmp_path / "r.nc", store)
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc.parts"]


# -------------------------------------------------------------------- orphans
SCRIPT = """
import os, sys, time
from pathlib import Path

import sdde.sweeps._executors as executors
from sdde.sweeps.engine import sweep

if sys.argv[2] == "watchdog-only":
    executors.PR_SET_PDEATHSIG = 0  # prctl(0, …) fails: only the watchdog thread remains


def slow(point, rng):
    Path(sys.argv[1], f"worker-{os.getpid()}").touch()
    time.sleep(120)
    return {"y": 0.0}


if __name__ == "__main__":
    sweep(slow, {"x": [0, 1, 2, 3]}, outputs=["y"], executor=2, chunk_size=1)
"""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie no one has reaped yet does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("mechanism", ["pdeathsig", "watchdog-only"])
def test_pool_processes_end_when_the_sweep_is_killed(mechanism: str, tmp_path: Path) -> None:
    script = tmp_path / "killed_sweep.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path), mechanism],
                              env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(workers := list(tmp_path.glob("worker-*"))) < 2:
            assert parent.poll() is None, parent.stderr.read() if parent.stderr else ""
            assert time.monotonic() < deadline, "the pool processes never started"
            time.sleep(0.1)
        pids = [int(p.name.split("-")[1]) for p in workers]
        assert all(_alive(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [pid for pid in pids if _alive(pid)]
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    for pid in survivors:  # do not leave them behind even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"pool processes {survivors} outlived their killed parent"

"""``sdde-analyze --sweep --out FILE.nc``: the saved sweep equals the library's, and bad
sweep options fail with exit code 2 and one line before any work starts."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import sdde.sweeps._store as store_module
import sdde.sweeps.engine as sweep_module
from sdde.cli.command import main
from sdde.sweeps.analyses import SimulationAnalysis, StabilityAnalysis
from sdde.sweeps.engine import sweep


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_stability_sweep_file_equals_the_library(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "chart.nc"
    code, text, err = _run(["--workers", "8", "--no-exact", "--sweep", "--out", str(out),
                            "--sweep-workers", "2,8,32", "--sweep-lr", "0.01:1:5:log",
                            "--sweep-delay", "gamma:shape=2,mean=1", "exponential:mean=1",
                            "--sweep-threshold", "none,10"], capsys)
    assert code == 0, err
    assert f"written to {out}" in text
    assert not out.with_name(out.name + ".parts").exists()  # the resume store is removed
    saved = xr.load_dataset(out)
    grid = {"law": ["gamma:shape=2,mean=1", "exponential:mean=1"], "workers": [2, 8, 32],
            "lr": np.geomspace(0.01, 1, 5).tolist(), "threshold": [None, 10]}
    expected = sweep(StabilityAnalysis(), grid, executor="serial")
    xr.testing.assert_identical(saved.drop_attrs(), expected.drop_attrs())
    assert saved.attrs["analysis"] == expected.attrs["analysis"]


def test_default_grid_is_the_chart_around_the_setting(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "around.nc"
    code, _, err = _run(["--workers", "16", "--lr", "0.02", "--no-exact", "--json", "--sweep",
                         "--out", str(out)], capsys)
    assert code == 0, err
    saved = xr.load_dataset(out)
    assert saved["workers"].values.min() == 2 and saved["workers"].values.max() == 128
    assert np.isclose(saved["lr"].values.min(), 0.02 / 64)
    assert np.isclose(saved["lr"].values.max(), 0.02 * 64)


def test_json_reports_the_sweep_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.nc"
    code, text, err = _run(["--workers", "4", "--no-exact", "--json", "--sweep", "--out",
                            str(out), "--sweep-workers", "2,4", "--sweep-lr", "0.1,0.2,0.3"],
                           capsys)
    assert code == 0, err
    info = json.loads(text)["sweep_file"]
    assert info["path"] == str(out) and info["analysis"] == "stability"
    assert info["sizes"] == {"law": 1, "workers": 2, "lr": 3, "threshold": 1}
    assert info["points"] == 6


def test_simulation_sweep_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim.nc"
    code, _, err = _run(["--workers", "4", "--no-exact", "--simulate", "--replicas", "2",
                         "--updates", "400", "--seed", "3", "--sweep", "--out", str(out),
                         "--sweep-workers", "2,4", "--sweep-lr", "0.05"], capsys)
    assert code == 0, err
    saved = xr.load_dataset(out)
    grid = {"law": ["shifted-exp:shift=0.5,mean=1"], "workers": [2, 4], "lr": [0.05],
            "threshold": [None]}
    expected = sweep(SimulationAnalysis(replicas=2, updates=400), grid, executor="serial",
                     seed=3)
    xr.testing.assert_identical(saved.drop_attrs(), expected.drop_attrs())


@pytest.mark.parametrize(("argv", "message"), [
    (["--sweep-lr", "0.1,0.2"], "add --sweep --out"),
    (["--scheduler", "tcp://127.0.0.1:1"], "add --sweep --out"),
    (["--out", "x.nc"], "add --sweep"),
    (["--sweep", "--out", "x.nc", "--workers", "4:exponential:mean=1"], "one worker count"),
    (["--sweep", "--out", "x.nc", "--bandwidth", "size=1,capacity=10"], "shared link"),
    (["--sweep", "--out", "x.nc", "--sweep-lr", "1:0.1:4"], "LO must not exceed HI"),
    (["--sweep", "--out", "x.nc", "--sweep-lr", "0.1:1"], "LO:HI:N"),
    (["--sweep", "--out", "x.nc", "--sweep-lr", "0.1,abc"], "must be a number"),
    (["--sweep", "--out", "x.nc", "--sweep-lr", "0.1,0.1"], "repeated"),
    (["--sweep", "--out", "x.nc", "--sweep-workers", "0,4"], "whole number >= 1"),
    (["--sweep", "--out", "x.nc", "--sweep-threshold", "none,-3"], "whole number >= 0"),
    (["--sweep", "--out", "x.nc", "--sweep-delay", "gama:shape=2"], "law"),
    (["--sweep", "--out", "x.nc", "--scheduler", "http://example"], "scheduler address"),
    (["--sweep", "--out", "no/such/dir/x.nc"], "does not exist"),
    (["--sweep", "--out", "."], "--out: '.' is a directory; give a file name"),
])
def test_bad_sweep_options(argv: list[str], message: str, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["--no-exact", *argv], capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert not (tmp_path / "x.nc").exists()


def test_interrupted_sweep_keeps_its_chunks_and_resumes(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    # Ctrl-C after the first finished chunk: exit 130, one line on where the chunks are, the
    # store kept; the same command again computes only the rest and gives the same file as
    # an uninterrupted run.
    import sdde.sweeps.engine as sweep_module

    out = tmp_path / "r.nc"
    argv = ["--workers", "4", "--no-exact", "--sweep", "--out", str(out),
            "--sweep-workers", "1:64:20:log", "--sweep-lr", "0.01,0.1"]
    real = sweep_module.run_chunks

    def interrupted(task, chunks, executor):
        for i, item in enumerate(real(task, chunks, "serial")):
            if i == 1:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(sweep_module, "run_chunks", interrupted)
    code, _, err = _run(argv, capsys)
    assert code == 130 and "run the same command again to resume" in err
    store = out.with_name(out.name + ".parts")
    assert len(list(store.glob("chunk-*.npz"))) == 1 and not out.exists()

    ran: list[int] = []

    def counting(task, chunks, executor):
        chunks = list(chunks)
        ran.extend(chunks)
        yield from real(task, chunks, "serial")

    monkeypatch.setattr(sweep_module, "run_chunks", counting)
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    resumed = xr.load_dataset(out)
    # one chunk per worker count (lr is vectorised): all but the stored one ran again
    assert 0 not in ran and len(ran) == resumed.sizes["workers"] - 1
    monkeypatch.setattr(sweep_module, "run_chunks", real)
    fresh = tmp_path / "fresh.nc"
    assert _run([*argv[:5], str(fresh), *argv[6:]], capsys)[0] == 0
    xr.testing.assert_identical(resumed, xr.load_dataset(fresh))


# ------------------------------------------------- files that cannot be written or read
SMALL = ["--workers", "4", "--no-exact", "--sweep", "--sweep-workers", "1:64:12:log",
         "--sweep-lr", "0.01,0.1", "--out"]


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_unwritable_directory_is_refused_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # a read-only directory, simulated (root writes anywhere): every file created in it fails
    locked = tmp_path / "locked"
    locked.mkdir()
    real = store_module.tempfile.mkstemp

    def denied(*args: Any, dir: Any = None, **kwargs: Any) -> Any:
        if dir is not None and locked in (Path(dir), *Path(dir).parents):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real(*args, dir=dir, **kwargs)

    def tripwire(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a refused sweep started running chunks")

    monkeypatch.setattr(store_module.tempfile, "mkstemp", denied)
    monkeypatch.setattr(sweep_module, "run_chunks", tripwire)
    code, out, err = _run([*SMALL, str(locked / "r.nc")], capsys)
    assert code == 2 and out == ""
    assert _one_line(err) == (f"sdde-analyze: error: --out: cannot write into '{locked}': "
                              "permission denied; choose a writable directory")
    assert list(locked.iterdir()) == []


def test_not_enough_disk_space_is_refused_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(store_module.shutil, "disk_usage",
                        lambda path: type("Usage", (), {"free": 100})())
    code, _, err = _run([*SMALL, str(tmp_path / "r.nc")], capsys)
    assert code == 2
    assert "--out: not enough space in" in _one_line(err) and "free some space" in err
    assert list(tmp_path.iterdir()) == []


def test_chunk_folder_in_the_way_is_refused(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.nc.parts").write_text("mine")
    code, _, err = _run([*SMALL, str(tmp_path / "r.nc")], capsys)
    assert code == 2 and "--out: " in _one_line(err) and "is in the way" in err
    assert (tmp_path / "r.nc.parts").read_text() == "mine"


def _fresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> xr.Dataset:
    fresh = tmp_path / "fresh" / "r.nc"
    fresh.parent.mkdir()
    assert _run([*SMALL, str(fresh)], capsys)[0] == 0
    return xr.load_dataset(fresh)


def test_full_disk_while_sweeping_keeps_the_chunks_for_resuming(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.nc"
    store = tmp_path / "r.nc.parts"
    real = store_module.np.savez
    saved: list[int] = []

    def filling(handle: Any, **arrays: Any) -> None:
        if len(saved) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        saved.append(1)
        real(handle, **arrays)

    monkeypatch.setattr(store_module.np, "savez", filling)
    code, text, err = _run([*SMALL, str(out)], capsys)
    assert code == 2 and text == ""
    line = _one_line(err)
    assert line.startswith(f"sdde-analyze: error: --out: cannot write '{store}/chunk-")
    assert (f"no space left on device; the finished chunks are kept in '{store}' for "
            "resuming") in line
    assert len(list(store.glob("chunk-*.npz"))) == 2 and not out.exists()
    assert not list(store.glob(".*"))  # no half-written chunk

    monkeypatch.setattr(store_module.np, "savez", real)
    code, _, err = _run([*SMALL, str(out)], capsys)
    assert code == 0 and err == ""
    xr.testing.assert_identical(xr.load_dataset(out), _fresh(tmp_path, capsys))


def test_full_disk_while_writing_the_file_keeps_the_old_file_and_the_chunks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.nc"
    out.write_bytes(b"an earlier result")
    real = xr.Dataset.to_netcdf

    def filling(self: xr.Dataset, path: Any, *args: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"CDF half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(xr.Dataset, "to_netcdf", filling)
    code, _, err = _run([*SMALL, str(out)], capsys)
    assert code == 2
    assert _one_line(err).startswith(f"sdde-analyze: error: --out: cannot write '{out}': "
                                     "no space left on device; the finished chunks are kept")
    assert out.read_bytes() == b"an earlier result"  # replaced only by a whole file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc", "r.nc.parts"]

    monkeypatch.setattr(xr.Dataset, "to_netcdf", real)
    ran: list[int] = []
    real_chunks = sweep_module.run_chunks

    def counting(task: Any, chunks: Any, executor: Any) -> Any:
        chunks = list(chunks)
        ran.extend(chunks)
        yield from real_chunks(task, chunks, executor)

    monkeypatch.setattr(sweep_module, "run_chunks", counting)
    code, _, err = _run([*SMALL, str(out)], capsys)
    assert code == 0 and err == "" and ran == []  # every chunk came from the store
    xr.testing.assert_identical(xr.load_dataset(out), _fresh(tmp_path, capsys))


def test_corrupt_chunk_is_recomputed_with_one_note(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.nc"
    store = tmp_path / "r.nc.parts"
    real = sweep_module.run_chunks

    def interrupted(task: Any, chunks: Any, executor: Any) -> Any:
        for i, item in enumerate(real(task, chunks, "serial")):
            if i == 4:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(sweep_module, "run_chunks", interrupted)
    assert _run([*SMALL, str(out)], capsys)[0] == 130
    chunks = sorted(store.glob("chunk-*.npz"))
    assert len(chunks) == 4
    chunks[1].write_bytes(chunks[1].read_bytes()[:100])  # truncated
    chunks[3].write_bytes(b"")  # emptied
    monkeypatch.setattr(sweep_module, "run_chunks", real)
    code, _, err = _run([*SMALL, str(out)], capsys)
    assert code == 0
    notes = [f"sdde-analyze: note: chunk {int(p.stem.split('-')[1])} in {store} was "
             "unreadable and is computed again" for p in (chunks[1], chunks[3])]
    assert err.strip().splitlines() == notes  # nothing else: no Python warning
    xr.testing.assert_identical(xr.load_dataset(out), _fresh(tmp_path, capsys))


def test_unreachable_scheduler_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")

    def unreachable(task: Any, chunks: Any, executor: Any) -> Any:  # as Dask says it, at once
        raise OSError("Timed out trying to connect to tcp://127.0.0.1:1 after 30 s:\n"
                      "  ConnectionRefusedError")
        yield

    monkeypatch.setattr(sweep_module, "run_chunks", unreachable)
    code, _, err = _run([*SMALL, str(tmp_path / "r.nc"), "--scheduler", "tcp://127.0.0.1:1"],
                        capsys)
    assert code == 2
    assert _one_line(err) == ("sdde-analyze: error: --scheduler: Timed out trying to connect "
                              "to tcp://127.0.0.1:1 after 30 s: ConnectionRefusedError; start "
                              "the scheduler, or drop --scheduler to run on this machine")

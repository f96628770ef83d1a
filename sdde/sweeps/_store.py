"""A sweep's files: a resumable store of finished chunks, and the saved dataset.

Layout of a store directory::

    manifest.json        what sweep this is (analysis, grid, seed, chunking)
    chunk-000017.npz     the outputs of chunk 17, written to a temporary name and renamed

A chunk file exists only once it is complete (``os.replace`` is atomic on one file
system), so an interrupted sweep leaves finished chunks and nothing half-written; a
restart with the same arguments reads the manifest, checks it matches, and computes only
the chunks whose files are missing or unreadable. The dataset is written the same way
(:func:`write_dataset`): an existing file is replaced only by a complete one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

MANIFEST = "manifest.json"
#: A finished chunk's file name; anything else in the store is not a chunk.
CHUNK_NAME = re.compile(r"chunk-(\d{6,})\.npz")
#: Bytes of the probe file :func:`check_output` writes to test a directory.
PROBE_BYTES = 4096


class SweepWriteError(OSError):
    """Writing one of a sweep's files failed (disk full, permission lost, …).

    An ``OSError`` whose ``filename`` is the file that could not be written and whose
    ``strerror`` says why, in lower case (``"no space left on device"``).
    """


def reason(exc: BaseException) -> str:
    """Why an I/O operation failed, as a lower-case phrase (``"permission denied"``)."""
    text = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or \
        type(exc).__name__
    return text[:1].lower() + text[1:]


def _write_failed(exc: BaseException, path: Path) -> SweepWriteError:
    code = exc.errno if isinstance(exc, OSError) else None
    return SweepWriteError(code, reason(exc), str(path))


class ChunkStore:
    """Finished chunks of one sweep, on disk.

    Parameters
    ----------
    path : str or Path
        The store directory (created if missing).
    manifest : dict
        JSON-serialisable description of the sweep. An existing store with a different
        manifest raises ``ValueError``: its chunks belong to another sweep.

    Raises
    ------
    ValueError
        If ``path`` is a file, holds another sweep or an unreadable manifest, or cannot
        be written.
    """

    def __init__(self, path: str | Path, manifest: dict[str, Any]) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"store {str(self.path)!r} is a file; give a directory path")
        text = json.dumps(manifest, sort_keys=True, indent=1)
        existing = self.path / MANIFEST
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if not existing.exists():
                _write_atomic(existing, text.encode())
                return
            stored = existing.read_text()
        except OSError as exc:
            raise ValueError(f"store {str(self.path)!r}: cannot write into it: "
                             f"{reason(exc)}; choose a writable directory") from None
        try:
            same = json.loads(stored) == json.loads(text)
        except ValueError:
            raise ValueError(f"store {str(self.path)!r} has an unreadable {MANIFEST}; "
                             "delete the store to start the sweep over") from None
        if not same:
            raise ValueError(
                f"store {str(self.path)!r} holds a different sweep (other analysis, "
                "grid, seed or chunking); give a new store path or delete this one")
        for stale in self.path.glob(".chunk-*.tmp"):  # left by a killed run
            stale.unlink(missing_ok=True)

    def _chunk_path(self, index: int) -> Path:
        return self.path / f"chunk-{index:06d}.npz"

    def done(self) -> set[int]:
        """Indices of the chunks stored (readable or not: see :meth:`load`)."""
        return {int(m.group(1)) for p in self.path.iterdir()
                if (m := CHUNK_NAME.fullmatch(p.name))}

    def save(self, index: int, outputs: dict[str, np.ndarray]) -> None:
        """Persist one finished chunk (written to a temporary file, then renamed).

        Raises
        ------
        SweepWriteError
            If the chunk cannot be written (the store is left as it was).
        """
        target = self._chunk_path(index)
        try:
            _write_atomic(target, outputs)
        except OSError as exc:
            raise _write_failed(exc, target) from exc

    def load(self, index: int, names: Collection[str] | None = None,
             length: int | None = None) -> dict[str, np.ndarray] | None:
        """The outputs of a stored chunk, or ``None`` if its file is unreadable.

        Parameters
        ----------
        index : int
            The chunk.
        names : collection of str, optional
            The outputs the chunk must hold (exactly these).
        length : int, optional
            The number of points the chunk must hold (each output's leading axis).

        Returns
        -------
        dict or None
            Output name -> array; ``None`` for a truncated or corrupt file, or one that
            does not hold ``names`` over ``length`` points (compute the chunk again).
        """
        try:
            with open(self._chunk_path(index), "rb") as handle:
                data = np.load(handle, allow_pickle=False)
                if not isinstance(data, np.lib.npyio.NpzFile):  # a lone array
                    return None
                with data:
                    outputs = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            return None
        if names is not None and set(outputs) != set(names):
            return None
        if length is not None and any(np.ndim(v) == 0 or len(v) != length
                                      for v in outputs.values()):
            return None
        return outputs


def _write_atomic(path: Path, content: bytes | dict[str, np.ndarray]) -> None:
    """Write ``content`` (bytes, or arrays as ``.npz``) to ``path`` all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(content, bytes):
                handle.write(content)
            else:
                np.savez(handle, **content)  # type: ignore[arg-type]
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_dataset(dataset: xr.Dataset, path: str | Path) -> None:
    """Save a sweep's dataset as netCDF, all or nothing.

    The file is written under a temporary name in the same directory and renamed to
    ``path`` once complete: an existing file is replaced only by a whole one, and a failed
    write leaves no partial file.

    Raises
    ------
    SweepWriteError
        If the file cannot be written (disk full, no permission).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        dataset.to_netcdf(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        written = tmp.stat().st_size if tmp.exists() else 0
        tmp.unlink(missing_ok=True)
        if isinstance(exc, RuntimeError):  # the netCDF library's I/O errors (a full disk,
            # a quota, a size limit) are RuntimeError("NetCDF: HDF error"): no errno
            if not str(exc).startswith("NetCDF:"):
                raise
            exc = (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                   if shutil.disk_usage(path.parent).free <= max(written, 1 << 20)
                   else OSError(None, f"the netCDF library failed ({exc})"))
        raise _write_failed(exc, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _size(n_bytes: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            break
        n_bytes //= 1000
    return f"{n_bytes} {unit}"


def check_output(path: str | Path, store: str | Path, n_bytes: int = 0) -> None:
    """Check, before a sweep runs, that its dataset and its store can be written.

    Writes (and deletes) a small probe file in the directory of ``path`` and in
    ``store`` (created for the probe and removed again if it did not exist).

    Parameters
    ----------
    path : str or Path
        Where the dataset will be written.
    store : str or Path
        The store directory of finished chunks.
    n_bytes : int
        An estimate of the disk space the sweep needs (chunks and dataset).

    Raises
    ------
    ValueError
        One line saying what is wrong and what to do: a missing directory, ``path`` a
        directory or a read-only file, ``store`` a file, a directory that cannot be
        written, or less free space than ``n_bytes``.
    """
    path, store = Path(path), Path(store)
    directory = path.parent
    if not directory.is_dir():
        raise ValueError(f"directory {str(directory)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a directory; give a file name such as "
                         f"{str(path / 'results.nc')!r}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"cannot overwrite {str(path)!r}: the file is read-only; "
                         "choose another name or make it writable")
    if store.exists() and not store.is_dir():
        raise ValueError(f"{str(store)!r} is in the way (the folder of finished chunks "
                         "goes there); move or delete it")
    where = directory
    try:
        _probe(directory)
        where = store
        created = not store.exists()
        store.mkdir(exist_ok=True)
        try:
            _probe(store)
        finally:
            if created:
                with contextlib.suppress(OSError):
                    store.rmdir()
    except OSError as exc:
        raise ValueError(f"cannot write into {str(where)!r}: {reason(exc)}; "
                         "choose a writable directory") from None
    free = shutil.disk_usage(directory).free
    if n_bytes > free:
        raise ValueError(f"not enough space in {str(directory)!r}: the sweep needs about "
                         f"{_size(n_bytes)}, {_size(free)} are free; free some space or "
                         "choose another directory")


def _probe(directory: Path) -> None:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".sdde-probe-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"\0" * PROBE_BYTES)
    finally:
        Path(name).unlink(missing_ok=True)

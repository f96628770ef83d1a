"""A sweep's resumable store: one file per finished chunk, written atomically.

Layout of a store directory::

    manifest.json        what sweep this is (analysis, grid, seed, chunking)
    chunk-000017.npz     the outputs of chunk 17, written to a temporary name and renamed

A chunk file exists only once it is complete (``os.replace`` is atomic on one file
system), so an interrupted sweep leaves finished chunks and nothing half-written; a
restart with the same arguments reads the manifest, checks it matches, and computes only
the chunks whose files are missing.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "manifest.json"


class ChunkStore:
    """Finished chunks of one sweep, on disk.

    Parameters
    ----------
    path : str or Path
        The store directory (created if missing).
    manifest : dict
        JSON-serialisable description of the sweep. An existing store with a different
        manifest raises ``ValueError``: its chunks belong to another sweep.
    """

    def __init__(self, path: str | Path, manifest: dict[str, Any]) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"store {str(self.path)!r} is a file; give a directory path")
        self.path.mkdir(parents=True, exist_ok=True)
        text = json.dumps(manifest, sort_keys=True, indent=1)
        existing = self.path / MANIFEST
        if existing.exists():
            if json.loads(existing.read_text()) != json.loads(text):
                raise ValueError(
                    f"store {str(self.path)!r} holds a different sweep (other analysis, "
                    "grid, seed or chunking); give a new store path or delete this one")
        else:
            self._write_atomic(existing, text.encode())

    def _chunk_path(self, index: int) -> Path:
        return self.path / f"chunk-{index:06d}.npz"

    def done(self) -> set[int]:
        """Indices of the chunks already stored."""
        return {int(p.stem.split("-")[1]) for p in self.path.glob("chunk-*.npz")}

    def save(self, index: int, outputs: dict[str, np.ndarray]) -> None:
        """Persist one finished chunk."""
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".chunk-", suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **outputs)  # type: ignore[arg-type]
            os.replace(tmp, self._chunk_path(index))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, index: int) -> dict[str, np.ndarray]:
        """The outputs of a stored chunk."""
        with np.load(self._chunk_path(index), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    @staticmethod
    def _write_atomic(path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

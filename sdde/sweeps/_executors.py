"""Where a sweep's chunks run: in this process, a local process pool, or a Dask cluster.

Every backend takes the same picklable task, ``run_chunk(job, chunk_index)``, and yields
``(chunk_index, outputs)`` as chunks finish, in whatever order they finish. Results do
not depend on the backend: each grid point draws from its own random stream, derived from
the seed and the point's coordinates alone (:func:`sdde.sweeps.engine.point_key`).

The local pool's processes end with the process that started them, even when it is
killed (``SIGKILL``) and cannot shut the pool down: see :func:`_end_with_parent`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

#: What a backend runs: ``task(chunk_index) -> outputs``.
Task = Callable[[int], dict[str, np.ndarray]]

#: Scheduler address prefixes that mean "a dask.distributed scheduler".
DASK_PREFIXES = ("dask://", "tcp://", "tls://", "ucx://", "inproc://")
#: Linux ``prctl`` option: the signal a process gets when its parent ends.
PR_SET_PDEATHSIG = 1
#: Seconds between two checks of a pool process's watchdog that its parent is alive.
WATCHDOG_INTERVAL = 1.0


def describe(executor: Any) -> str:
    """A short name for an executor argument (for messages)."""
    if executor is None:
        return "local process pool"
    if isinstance(executor, str):
        return executor
    return type(executor).__name__


def check_executor(executor: Any) -> None:
    """Raise ``ValueError`` for an executor argument no backend accepts (before any work)."""
    if executor is None or executor in ("serial", "processes"):
        return
    if isinstance(executor, bool):
        raise ValueError(f"executor must be None, 'serial', a number of processes, a Dask "
                         f"scheduler address or Client, or a concurrent.futures.Executor; "
                         f"got {executor!r}")
    if isinstance(executor, int):
        if executor < 1:
            raise ValueError(f"executor: a number of processes must be >= 1, got {executor}")
        return
    if isinstance(executor, str):
        if not executor.startswith(DASK_PREFIXES):
            raise ValueError(f"executor {executor!r}: expected 'serial', 'processes' or a "
                             f"Dask scheduler address such as 'tcp://host:8786'")
        _dask_client_type()  # the distributed extra is installed
        return
    if isinstance(executor, Executor) or _is_dask_client(executor):
        return
    raise ValueError(f"executor must be None, 'serial', a number of processes, a Dask "
                     f"scheduler address or Client, or a concurrent.futures.Executor; "
                     f"got {type(executor).__name__}")


def _is_dask_client(obj: Any) -> bool:
    return type(obj).__name__ == "Client" and type(obj).__module__.startswith("distributed")


def run_chunks(task: Task, chunks: Iterable[int], executor: Any
               ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Run ``task`` on every chunk index; yield ``(index, outputs)`` as each finishes.

    Parameters
    ----------
    task : callable
        Picklable ``task(index) -> outputs`` (a ``functools.partial`` of a module-level
        function).
    chunks : iterable of int
        The chunk indices to run.
    executor : None, 'serial', 'processes', int, str, dask Client or Executor
        ``None``/``'processes'``: a local process pool with one process per core;
        an ``int``: a pool of that many processes (``1`` runs in this process);
        ``'serial'``: this process; a scheduler address (``'tcp://host:8786'``, or
        ``'dask://host:8786'``) or a ``distributed.Client``: that Dask cluster; any
        ``concurrent.futures.Executor``: used as is (not shut down).
    """
    todo = list(chunks)
    if not todo:
        return
    if executor == "serial" or executor == 1 or (executor is None and len(todo) == 1):
        for index in todo:
            yield index, task(index)
        return
    if executor is None or executor == "processes" or isinstance(executor, int):
        workers = executor if isinstance(executor, int) else (os.cpu_count() or 1)
        pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)),
                                   initializer=_end_with_parent, initargs=(os.getpid(),))
        try:
            yield from _from_executor(pool, task, todo)
        except BaseException:  # Ctrl-C or a failed chunk: do not wait for the others
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return
    if isinstance(executor, str):
        yield from _from_dask_address(executor, task, todo)
        return
    if _is_dask_client(executor):
        yield from _from_dask_client(executor, task, todo)
        return
    yield from _from_executor(executor, task, todo)


def _end_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this process when the sweep's process ends.

    A pool process waits for tasks on a pipe whose other end it inherited, so it would
    wait forever once its parent is killed (``SIGKILL`` leaves no chance to shut the pool
    down). On Linux the kernel sends it ``SIGTERM`` when its parent ends
    (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread checks every
    :data:`WATCHDOG_INTERVAL` seconds that the parent is still there and ends the process
    otherwise.

    Parameters
    ----------
    parent_pid : int
        The process id of the process that runs the sweep.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # no usable libc: the watchdog remains
            pass
    direct_parent = os.getppid()  # the sweep's process, or a fork server it started

    def orphaned() -> bool:
        if os.getppid() != direct_parent:  # re-parented: the parent has ended
            return True
        if sys.platform == "win32":  # os.kill would terminate the parent there
            return False
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # exists, owned by someone else (the pid was reused)
            return False
        return False

    def watch() -> None:
        while not orphaned():
            time.sleep(WATCHDOG_INTERVAL)
        os._exit(1)

    if orphaned():  # the parent ended before this process got here
        os._exit(1)
    threading.Thread(target=watch, name="sdde-parent-watchdog", daemon=True).start()


def _from_executor(pool: Executor, task: Task, todo: list[int]
                   ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    futures: dict[Future[dict[str, np.ndarray]], int] = {pool.submit(task, i): i for i in todo}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:  # interrupted (Ctrl-C, a failed chunk): drop what has not started
        for future in futures:
            future.cancel()


def _from_dask_address(address: str, task: Task, todo: list[int]
                       ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    client_type = _dask_client_type()
    address = "tcp://" + address.removeprefix("dask://") if address.startswith("dask://") \
        else address
    with client_type(address) as client:
        yield from _from_dask_client(client, task, todo)


def _from_dask_client(client: Any, task: Task, todo: list[int]
                      ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    from distributed import as_completed as dask_completed

    futures = client.map(task, todo, pure=False)
    where = {future.key: index for future, index in zip(futures, todo, strict=True)}
    try:
        for future in dask_completed(futures):
            yield where[future.key], future.result()
    finally:
        client.cancel([f for f in futures if not f.done()])


def _dask_client_type() -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("a Dask scheduler needs the 'distributed' extra: "
                         "pip install 'sdde[distributed]'") from None
    return Client

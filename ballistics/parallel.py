"""One interface for parallel work: map a function over tasks on every core.

The command line (``compare --pairs``), the service (ingest, correlation, search) and the
benchmarks all run their heavy work through an :class:`Executor`. A task is a plain function of
picklable values, so the same code runs in worker processes or, with one worker, in the calling
process. What every task of a run needs (settings, prepared marks, a cache) is the executor's
*state*: sent to each worker once, when it starts, and read by the tasks with
:func:`worker_state`, instead of being pickled again with every task.

:class:`LocalExecutor` is the process pool of one machine; :class:`ballistics.cluster.DaskExecutor`
sends the same tasks to a Dask distributed cluster (the two methods, and :func:`run_with_state`
to give each task its run's state on a worker that serves several runs).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

TaskT = TypeVar("TaskT")
ResultT = TypeVar("ResultT")

_NO_STATE = object()
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

#: the state of the executor whose tasks run in this process: set once per worker process by
#: the pool's initializer (or, inline, by the executor before it runs tasks); read-only to tasks
_worker_state: Any = None
#: a task's state set for its thread alone (a cluster worker runs tasks of several runs at once)
_task_state = threading.local()


def worker_state() -> Any:
    """Return the state of the executor running the current task (see the module docstring)."""
    return getattr(_task_state, "state", _worker_state)


def run_with_state(state: Any, function: Callable[[TaskT], ResultT], task: TaskT) -> ResultT:
    """Return ``function(task)`` with :func:`worker_state` giving ``state`` in this thread."""
    saved = getattr(_task_state, "state", _NO_STATE)
    _task_state.state = state
    try:
        return function(task)
    finally:
        if saved is _NO_STATE:
            del _task_state.state
        else:
            _task_state.state = saved


def _set_worker_state(state: Any) -> None:
    global _worker_state
    _worker_state = state


def _initialize_worker(state: Any) -> None:
    _set_worker_state(state)
    # one process per core already: library threads on top would only compete for the cores
    import cv2

    cv2.setNumThreads(1)


def available_cores() -> int:
    """Return the number of CPU cores this process may run on (the container's share)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def single_threaded_libraries() -> Iterator[None]:
    """Start worker processes with BLAS / OpenMP limited to one thread each."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Executor(ABC):
    """Runs tasks in parallel; results come back as they finish, each carrying its own index."""

    #: number of tasks run at once
    workers: int
    #: True when the tasks run on this machine, so that they may read its files by path and write
    #: its folders; False (a cluster): the caller sends the bytes and keeps the writing
    local_files: bool = True

    @property
    def inline(self) -> bool:
        """True when tasks run in the calling process (one worker)."""
        return self.workers == 1

    @abstractmethod
    def map_unordered(
        self,
        function: Callable[[TaskT], ResultT],
        tasks: Iterable[TaskT],
        *,
        count: int | None = None,
    ) -> Iterator[ResultT]:
        """Yield ``function(task)`` for every task, in the order they finish.

        ``tasks`` may be a generator, consumed as the workers take tasks (so that the caller
        builds each task when it is needed); ``count``, the number of tasks when known, sets
        how many are handed out at once.
        """

    @abstractmethod
    def close(self) -> None:
        """Stop the workers (tasks still running are abandoned)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class LocalExecutor(Executor):
    """A process pool on this machine, started on first use and kept until :meth:`close`.

    Parameters
    ----------
    workers
        Number of processes; None for every available core; 1 runs every task in the calling
        process (no pool), which is also the way to debug.
    state
        What every task may read with :func:`worker_state`; picklable. Sent to each worker
        once, when the pool starts.
    preload
        Modules each worker imports before it starts (the tasks' modules), once, in the clean
        server process the workers fork from.
    max_chunk
        Most tasks handed to a worker at once (small chunks keep every core busy to the end).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        state: Any = None,
        preload: Sequence[str] = (),
        max_chunk: int = 8,
    ) -> None:
        workers = available_cores() if workers is None else workers
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}; use 1 to run in-process.")
        self.workers = workers
        self.state = state
        self._preload = list(preload)
        self._max_chunk = max_chunk
        self._pool: Any = None
        # the HTTP API submits from several threads: start the pool once
        self._start_lock = threading.Lock()

    def map_unordered(
        self,
        function: Callable[[TaskT], ResultT],
        tasks: Iterable[TaskT],
        *,
        count: int | None = None,
    ) -> Iterator[ResultT]:
        if self.workers == 1 or (count is not None and count <= 1):
            if _worker_state is not self.state:  # another executor ran inline before
                _set_worker_state(self.state)
            return map(function, tasks)
        chunk = 1 if count is None else max(1, min(self._max_chunk, count // (self.workers * 8)))
        return self._started().imap_unordered(function, tasks, chunksize=chunk)

    def _started(self) -> Any:
        with self._start_lock:
            if self._pool is None:
                # forkserver: workers fork from a clean server that imported the engine once,
                # not from this process with its threads (a progress bar, BLAS) and open
                # database connections; spawn where fork is unavailable
                methods = multiprocessing.get_all_start_methods()
                method = "forkserver" if "forkserver" in methods else "spawn"
                context = multiprocessing.get_context(method)
                if method == "forkserver":
                    context.set_forkserver_preload([__name__, *self._preload])
                with single_threaded_libraries():
                    self._pool = context.Pool(
                        self.workers, initializer=_initialize_worker, initargs=(self.state,)
                    )
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        if _worker_state is self.state:  # let the state (prepared marks) go with the executor
            _set_worker_state(None)

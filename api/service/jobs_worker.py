"""A process's job runners and what keeps them awake: ``ballistics worker`` and ``serve``.

:class:`JobWorker` runs ``concurrency`` :class:`~api.service.jobs.JobRunner` threads on one open
service (their comparisons share its process pool and its vector index) and, on PostgreSQL, a
:class:`~api.store.notify.ChangeListener` that wakes them as soon as a job is queued anywhere
and catches the index up as soon as an exhibit is stored anywhere. On SQLite nothing is
notified: the runners poll the queue and the index is caught up before each correlation, as
before.

Stopping is graceful: every runner finishes its current job; one still busy after the grace
period has its job released to the queue at once, for another worker. A process killed
without a word (``kill -9``, a power cut) leaves its jobs ``running``: their heartbeats stop
and another worker takes them over after ``stale_after_s`` (:mod:`api.service.jobs`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.service.jobs import JobRunner, JobRunnerConfig, worker_name
from api.store.notify import EXHIBITS, JOBS, ChangeListener, Handler

if TYPE_CHECKING:
    from api.service.core import EvidenceService

logger = logging.getLogger(__name__)

#: seconds between looks at the queue while a listener wakes the runners (a lost notification,
#: or a retry falling due, waits at most this long)
LISTENING_POLL_S = 5.0


def runner_config(*, stale_after_s: float = 30.0, listening: bool = False) -> JobRunnerConfig:
    """The runners' settings for a takeover after ``stale_after_s``: heartbeats four times as
    often (at most every 5 s), a failed job retried after the same delay, and a slower poll of
    the queue when a listener wakes the runners."""
    config = JobRunnerConfig(
        stale_after_s=stale_after_s,
        heartbeat_s=min(5.0, stale_after_s / 4),
        retry_after_s=stale_after_s,
    )
    if listening:
        config = dataclasses.replace(config, poll_interval_s=LISTENING_POLL_S)
    return config


def follow_changes(service: EvidenceService, runners: Sequence[JobRunner] = ()) -> ChangeListener:
    """Start listening for the store's changes: new exhibits catch ``service``'s index up, new
    jobs wake ``runners``. Returns the listener (started on PostgreSQL only; stop it when done).
    """
    handlers: dict[str, Handler] = {EXHIBITS: service.catch_up_index}
    if runners:
        handlers[JOBS] = lambda: _wake(runners)
    listener = ChangeListener(service.store.engine, handlers)
    listener.start()
    return listener


def _wake(runners: Sequence[JobRunner]) -> None:
    for runner in runners:
        runner.wake()


@dataclass(frozen=True)
class BackgroundJobs:
    """What ``ballistics serve`` runs beside its routes: a job runner (unless ``--no-jobs``)
    and the listener that keeps its index (and runner) in step with other processes."""

    runner: JobRunner | None
    listener: ChangeListener

    @classmethod
    def start(
        cls, service: EvidenceService, *, run_jobs: bool, stale_after_s: float = 30.0
    ) -> BackgroundJobs:
        """Start listening, then the runner when ``run_jobs``."""
        runner = None
        if run_jobs:
            listening = service.store.backend == "postgresql"
            config = runner_config(stale_after_s=stale_after_s, listening=listening)
            runner = JobRunner(service, config=config)
        listener = follow_changes(service, [runner] if runner is not None else [])
        if runner is not None:
            runner.start()
        return cls(runner=runner, listener=listener)

    def stop(self, *, grace_s: float = 30.0) -> None:
        """Let the runner finish its job within ``grace_s`` (else hand it back); stop listening."""
        if self.runner is not None and not self.runner.stop(timeout_s=grace_s):
            self.runner.release_current()  # for another process, at once
        self.listener.stop()


@dataclass(frozen=True)
class WorkerReport:
    """What a :class:`JobWorker` did before it stopped."""

    jobs_done: int
    jobs_failed: int
    jobs_released: int


class JobWorker:
    """``concurrency`` job runners on one service, woken by the store's notifications.

    Parameters
    ----------
    service
        The open service whose store holds the jobs.
    concurrency
        Jobs run at once (one runner thread each).
    stale_after_s
        A running job whose worker has been silent this long is taken over.
    """

    def __init__(
        self, service: EvidenceService, *, concurrency: int = 1, stale_after_s: float = 30.0
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}.")
        self.service = service
        listening = service.store.backend == "postgresql"
        config = runner_config(stale_after_s=stale_after_s, listening=listening)
        base = worker_name().rsplit(":", 1)[0]  # host:pid; each runner adds its number
        self.runners = [
            JobRunner(service, config=config, name=f"{base}:{number}")
            for number in range(1, concurrency + 1)
        ]
        self.listener: ChangeListener | None = None

    def start(self) -> None:
        """Start listening for changes, then the runners (each first requeues stale jobs)."""
        self.listener = follow_changes(self.service, self.runners)
        for runner in self.runners:
            runner.start()

    def run_until(self, stop: threading.Event, *, grace_s: float = 30.0) -> WorkerReport:
        """Start, run until ``stop`` is set, then stop gracefully (see :meth:`stop`)."""
        self.start()
        stop.wait()
        return self.stop(grace_s=grace_s)

    def stop(self, *, grace_s: float = 30.0) -> WorkerReport:
        """Let every runner finish its current job within ``grace_s`` seconds; release the jobs
        of those still busy after it, for another worker; stop listening."""
        for runner in self.runners:
            runner.request_stop()
        deadline = time.monotonic() + grace_s
        released = 0
        for runner in self.runners:
            if not runner.stop(timeout_s=max(0.0, deadline - time.monotonic())):
                released += int(runner.release_current())
        if self.listener is not None:
            self.listener.stop()
        return WorkerReport(
            jobs_done=sum(runner.jobs_done for runner in self.runners),
            jobs_failed=sum(runner.jobs_failed for runner in self.runners),
            jobs_released=released,
        )

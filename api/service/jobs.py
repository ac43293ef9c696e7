"""The durable job worker: takes the correlation jobs recorded in the database and runs them.

An upload commits its exhibit and a ``correlate`` job in one transaction
(:mod:`api.service.upload`); a :class:`JobRunner` claims pending jobs one at a time
(:func:`api.store.repository.claim_next_job`: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
servers on one database never take the same job; fair across agencies, so that one lab's burst
of uploads does not hold back another lab's), correlates the exhibit against the store and
marks the job done. While a job runs, a heartbeat is written every ``heartbeat_s``; a job whose
heartbeat stops (its process was killed) is returned to the queue by the next runner that starts
or polls, after ``stale_after_s``. A job that fails is retried after ``retry_after_s`` while it
has attempts left, and its exhibit marked ``failed`` when it has none.

Correlating an exhibit twice is harmless (pairs already recorded under the algorithm version are
not compared again, links are upserted), so a job interrupted after its results were written and
run again only finishes the bookkeeping.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.service.upload import CORRELATE_JOB
from api.store import repository
from api.store.errors import ConflictError
from api.store.models import Job
from api.store.repository.jobs import release_job

if TYPE_CHECKING:
    from api.service.core import EvidenceService

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRunnerConfig:
    """How a :class:`JobRunner` polls, heartbeats and recovers jobs.

    Parameters
    ----------
    poll_interval_s
        Seconds between looks at the queue when it was empty.
    heartbeat_s
        Seconds between heartbeats of the running job.
    stale_after_s
        A running job whose heartbeat is older than this is taken to belong to a stopped
        process and is requeued. Keep it several heartbeats long.
    retry_after_s
        Delay before a failed job is tried again (while it has attempts left).
    """

    poll_interval_s: float = 0.5
    heartbeat_s: float = 5.0
    stale_after_s: float = 30.0
    retry_after_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("poll_interval_s", "heartbeat_s", "stale_after_s", "retry_after_s"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}.")
        if self.stale_after_s <= 2 * self.heartbeat_s:
            raise ValueError(
                f"stale_after_s ({self.stale_after_s}) must exceed two heartbeats "
                f"({2 * self.heartbeat_s}); raise it or shorten heartbeat_s."
            )


DEFAULT_JOB_RUNNER_CONFIG = JobRunnerConfig()


def worker_name() -> str:
    """A name for this process's runner in the jobs table: host, process id, thread."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{threading.get_ident() % 100000}"


class JobRunner:
    """Runs the store's pending jobs, in a background thread or on demand.

    Parameters
    ----------
    service
        The open service whose store holds the jobs.
    config
        Polling, heartbeat and recovery settings.
    name
        How its claims name it in the jobs table (default: host, process id, thread).
    """

    def __init__(
        self,
        service: EvidenceService,
        *,
        config: JobRunnerConfig = DEFAULT_JOB_RUNNER_CONFIG,
        name: str | None = None,
    ) -> None:
        self.service = service
        self.config = config
        self.name = name or worker_name()
        self._current: Job | None = None  # the job claimed and not yet recorded
        self._stop = threading.Event()
        self._signal = threading.Event()  # set by wake() and stop(): look at the queue now
        self._thread: threading.Thread | None = None
        self._last_recovery = 0.0
        self.jobs_done = 0
        self.jobs_failed = 0

    # --- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background thread (it first requeues the jobs of stopped processes)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="ballistics-jobs", daemon=True)
        self._thread.start()

    def stop(self, *, timeout_s: float = 30.0) -> bool:
        """Ask the thread to stop after its current job and wait up to ``timeout_s`` for it;
        return whether it stopped (False: still on its job, see :meth:`release_current`)."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                return False
            self._thread = None
        return True

    def request_stop(self) -> None:
        """Ask the thread to stop after its current job, without waiting."""
        self._stop.set()
        self._signal.set()

    def release_current(self) -> bool:
        """Return the job this runner is on to the queue, for another worker (the process is
        about to exit without finishing it); return whether there was one."""
        job = self._current
        if job is None:
            return False
        try:
            with self.service.store.transaction(write=True) as session:
                release_job(session, job)
        except ConflictError:  # recorded or taken over meanwhile
            return False
        logger.warning("job %d released unfinished, for another worker", job.id)
        return True

    def wake(self) -> None:
        """Look at the queue now (an upload just queued a job) instead of at the next poll."""
        self._signal.set()

    @property
    def running(self) -> bool:
        """Whether the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def run_pending(self, *, max_jobs: int | None = None) -> int:
        """Run due jobs in the calling thread until none is left (or ``max_jobs``); return how
        many ran. For the command line, tests and the demo."""
        self.recover_stale()
        count = 0
        while max_jobs is None or count < max_jobs:
            if not self.run_one():
                break
            count += 1
        return count

    def recover_stale(self) -> int:
        """Requeue running jobs whose worker has been silent for ``stale_after_s``."""
        self._last_recovery = time.monotonic()
        with self.service.store.transaction(write=True) as session:
            return repository.requeue_stale_jobs(session, stale_after_s=self.config.stale_after_s)

    def run_one(self) -> bool:
        """Claim and run one due job; return False when the queue had none."""
        with self.service.store.transaction(write=True) as session:
            job = repository.claim_next_job(session, worker=self.name, kinds=[CORRELATE_JOB])
            if job is None:
                return False
            session.expunge(job)
        self._current = job
        beating = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat,
            args=(job, beating),
            name="ballistics-job-heartbeat",
            daemon=True,
        )
        heartbeat.start()
        try:
            error = self._run(job)
        finally:
            beating.set()
            heartbeat.join()
        try:
            self._record(job, error)
        finally:
            self._current = None
        return True

    # --- internals -----------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            self.recover_stale()
        except Exception:
            logger.exception("could not requeue stale jobs; going on")
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._last_recovery > self.config.stale_after_s:
                    self.recover_stale()
                worked = self.run_one()
            except Exception:  # the database may be away for a moment: keep the thread alive
                logger.exception(
                    "job worker error; retrying in %.1f s", self.config.poll_interval_s
                )
                worked = False
            if not worked:
                self._signal.wait(self.config.poll_interval_s)
                self._signal.clear()

    def _run(self, job: Job) -> str | None:
        """Do the job's work; return None on success or the error's message."""
        if job.kind != CORRELATE_JOB or job.exhibit_pk is None:
            return f"job {job.id} of kind {job.kind!r} has nothing this worker can do"
        try:
            report = self.service.correlate([job.exhibit_pk])
        except Exception as error:
            logger.exception("correlation job %d failed", job.id)
            return f"{type(error).__name__}: {error}"
        if report.errors:
            logger.warning("job %d: %d comparisons failed", job.id, len(report.errors))
        return None

    def _record(self, job: Job, error: str | None) -> None:
        try:
            with self.service.store.transaction(write=True) as session:
                if error is None:
                    repository.finish_job(session, job)
                    self.jobs_done += 1
                    return
                updated = repository.fail_job(
                    session, job, error, retry_after_s=self.config.retry_after_s
                )
                self.jobs_failed += 1
                if updated.status == "failed" and job.exhibit_pk is not None:
                    exhibit = repository.exhibits_by_key(session, [job.exhibit_pk]).get(
                        job.exhibit_pk
                    )
                    if exhibit is not None and exhibit.status != "correlated":
                        repository.set_exhibit_status(session, exhibit, "failed")
        except ConflictError as conflict:  # requeued as stale meanwhile: the new claim decides
            logger.warning("%s", conflict)

    def _heartbeat(self, job: Job, done: threading.Event) -> None:
        while not done.wait(self.config.heartbeat_s):
            try:
                with self.service.store.transaction(write=True) as session:
                    repository.heartbeat_job(session, job)
            except ConflictError:
                return
            except Exception:
                logger.exception("could not record the heartbeat of job %d", job.id)

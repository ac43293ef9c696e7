"""The jobs queue: correlation work that workers claim fairly across agencies, retry and finish."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Result, func, select, update
from sqlalchemy.orm import Session, aliased

from api.store.errors import ConflictError
from api.store.models import (
    Exhibit,
    Job,
    utc_now,
)
from api.store.notify import JOBS, notify
from api.store.repository._common import _identifier

logger = logging.getLogger(__name__)

_MAX_ERROR_LENGTH = 4000


def enqueue_job(
    session: Session,
    kind: str,
    *,
    exhibit: Exhibit | None = None,
    payload: Mapping[str, Any] | None = None,
    max_attempts: int = 3,
) -> Job:
    """Add a pending job; a worker takes it with :func:`claim_next_job` once committed."""
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}.")
    job = Job(
        kind=_identifier(kind, "job kind"),
        exhibit=exhibit,
        payload=dict(payload) if payload is not None else None,
        max_attempts=max_attempts,
    )
    session.add(job)
    session.flush()
    notify(session, JOBS)  # workers on other processes look at the queue once this commits
    return job


#: how many of the fairest candidates a claim tries before falling back to the oldest job
_CLAIM_WINDOW = 8
#: the queue of jobs that belong to no exhibit (and so to no agency)
_NO_AGENCY = -1


def claim_next_job(
    session: Session, *, worker: str, kinds: Sequence[str] | None = None
) -> Job | None:
    """Take the next pending job that is due, fairly across agencies, mark it running, and
    return it (None: none).

    Each agency's jobs (a job's agency is its exhibit's) form a queue, oldest first; the claim
    takes the head of a queue, of the agency served least recently, so that a burst of one
    lab's uploads cannot starve the others: jobs are ordered by their position in their
    agency's queue, then by when that agency's last job started (never first), then by age.

    The claim of a chosen job is one statement, ``UPDATE ... WHERE id = (SELECT ... FOR UPDATE
    SKIP LOCKED) RETURNING``: on PostgreSQL concurrent workers skip each other's rows (the
    choice itself, with its window function, is a plain read: PostgreSQL refuses ``FOR UPDATE``
    beside one), and a job taken meanwhile is passed over for the next; on SQLite the write
    transaction holds the database's lock from its start. Either way no two workers get the
    same job. Call it first in its own write transaction (``store.transaction(write=True)``)
    and commit before the work, so that the claim is visible and the lock short.
    """
    worker = _identifier(worker, "worker")
    now = utc_now()
    for job_id in _fair_job_ids(session, now=now, kinds=kinds, limit=_CLAIM_WINDOW):
        claimed = _claim_job(session, worker=worker, now=now, kinds=kinds, job_id=job_id)
        if claimed is not None:
            return claimed
    # every one of them was taken by concurrent workers meanwhile: the oldest left, if any
    return _claim_job(session, worker=worker, now=now, kinds=kinds, job_id=None)


def _fair_job_ids(
    session: Session, *, now: datetime.datetime, kinds: Sequence[str] | None, limit: int
) -> list[int]:
    """Return the ids of the ``limit`` pending jobs due first in the fair order (see
    :func:`claim_next_job`)."""
    waiting = aliased(Job)
    owner = aliased(Exhibit)
    queue = func.coalesce(owner.agency_pk, _NO_AGENCY)
    pending = (
        select(
            waiting.id.label("id"),
            waiting.available_at.label("available_at"),
            queue.label("queue"),
            func.row_number()
            .over(partition_by=queue, order_by=(waiting.available_at, waiting.id))
            .label("position"),
        )
        .outerjoin(owner, owner.id == waiting.exhibit_pk)
        .where(waiting.status == "pending", waiting.available_at <= now)
    )
    if kinds is not None:
        pending = pending.where(waiting.kind.in_(list(kinds)))
    pending_jobs = pending.subquery("pending_jobs")
    started = aliased(Job)
    started_owner = aliased(Exhibit)
    started_queue = func.coalesce(started_owner.agency_pk, _NO_AGENCY)
    served = (
        select(started_queue.label("queue"), func.max(started.started_at).label("last_started"))
        .outerjoin(started_owner, started_owner.id == started.exhibit_pk)
        .where(started.started_at.is_not(None))
        .group_by(started_queue)
        .subquery("served")
    )
    statement = (
        select(pending_jobs.c.id)
        .outerjoin(served, served.c.queue == pending_jobs.c.queue)
        .order_by(
            pending_jobs.c.position,
            # an agency never served comes first (NULLS FIRST, written for both databases)
            served.c.last_started.is_not(None),
            served.c.last_started,
            pending_jobs.c.available_at,
            pending_jobs.c.id,
        )
        .limit(limit)
    )
    return [int(job_id) for job_id in session.scalars(statement)]


def _claim_job(
    session: Session,
    *,
    worker: str,
    now: datetime.datetime,
    kinds: Sequence[str] | None,
    job_id: int | None,
) -> Job | None:
    """Claim job ``job_id`` if it is still pending (None: the oldest pending job due)."""
    waiting = aliased(Job)
    next_id = (
        select(waiting.id)
        .where(waiting.status == "pending", waiting.available_at <= now)
        .order_by(waiting.available_at, waiting.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if kinds is not None:
        next_id = next_id.where(waiting.kind.in_(list(kinds)))
    if job_id is not None:
        next_id = next_id.where(waiting.id == job_id)
    statement = (
        update(Job)
        .where(Job.id == next_id.scalar_subquery(), Job.status == "pending")
        .values(
            status="running",
            attempts=Job.attempts + 1,
            worker=worker,
            started_at=now,
            heartbeat_at=now,
            updated_at=now,
        )
        .returning(Job)
    )
    return session.scalars(
        statement, execution_options={"synchronize_session": False, "populate_existing": True}
    ).one_or_none()


def heartbeat_job(session: Session, job: Job) -> None:
    """Record that ``job``'s worker is still on it (see :func:`requeue_stale_jobs`)."""
    _update_claimed(session, job, heartbeat_at=utc_now())


def finish_job(session: Session, job: Job) -> Job:
    """Mark a claimed job done.

    Raises
    ------
    ConflictError
        The job is no longer this claim's (it was requeued as stale and claimed again).
    """
    now = utc_now()
    return _update_claimed(session, job, status="done", finished_at=now, heartbeat_at=now)


def fail_job(session: Session, job: Job, error: str, *, retry_after_s: float = 60.0) -> Job:
    """Record a claimed job's failure: pending again after ``retry_after_s`` while it has
    attempts left, else ``failed`` for good.

    Raises
    ------
    ConflictError
        As :func:`finish_job`.
    """
    now = utc_now()
    message = str(error)[:_MAX_ERROR_LENGTH]
    if job.attempts < job.max_attempts:
        return _update_claimed(
            session,
            job,
            status="pending",
            last_error=message,
            available_at=now + datetime.timedelta(seconds=retry_after_s),
        )
    return _update_claimed(session, job, status="failed", last_error=message, finished_at=now)


def release_job(session: Session, job: Job) -> Job:
    """Return a claimed job to the queue at once, for another worker (a worker stopping).

    The attempt stays counted: the next claim counts another, so that this worker, should it
    still write, no longer matches the claim (:func:`finish_job` raises ConflictError).

    Raises
    ------
    ConflictError
        As :func:`finish_job`.
    """
    released = _update_claimed(
        session,
        job,
        status="pending",
        worker=None,
        available_at=utc_now(),
        last_error="released by a worker that stopped",
    )
    notify(session, JOBS)
    return released


def requeue_stale_jobs(session: Session, *, stale_after_s: float) -> int:
    """Return running jobs whose worker fell silent ``stale_after_s`` ago to the queue.

    What a worker calls when it starts (a job left running by a stopped process resumes):
    those with attempts left become pending, the others failed. Returns how many were
    requeued.
    """
    cutoff = utc_now() - datetime.timedelta(seconds=stale_after_s)
    silent = (Job.status == "running") & (
        func.coalesce(Job.heartbeat_at, Job.started_at, Job.updated_at) <= cutoff
    )
    exhausted = _row_count(
        session.execute(
            update(Job)
            .where(silent, Job.attempts >= Job.max_attempts)
            .values(
                status="failed",
                last_error="the worker stopped during the last attempt",
                finished_at=utc_now(),
            ),
            execution_options={"synchronize_session": False},
        )
    )
    requeued = _row_count(
        session.execute(
            update(Job)
            .where(silent, Job.attempts < Job.max_attempts)
            .values(status="pending", worker=None, available_at=utc_now()),
            execution_options={"synchronize_session": False},
        )
    )
    if requeued:
        notify(session, JOBS)
    if exhausted or requeued:
        logger.warning(
            "requeued %d stale jobs, failed %d that had no attempt left", requeued, exhausted
        )
    session.expire_all()
    return requeued


def _row_count(result: Result[Any]) -> int:
    # an UPDATE's result is a CursorResult, which has the count the generic Result lacks
    return int(getattr(result, "rowcount", 0))


def _update_claimed(session: Session, job: Job, **values: Any) -> Job:
    # the claim is (id, attempts, running): a job requeued and claimed again since no longer
    # matches, so a slow worker cannot overwrite the new claim's outcome
    statement = (
        update(Job)
        .where(Job.id == job.id, Job.attempts == job.attempts, Job.status == "running")
        .values(updated_at=utc_now(), **values)
        .returning(Job)
    )
    updated = session.scalars(
        statement, execution_options={"synchronize_session": False, "populate_existing": True}
    ).one_or_none()
    if updated is None:
        raise ConflictError(
            f"job {job.id} is no longer held by this claim (attempt {job.attempts}); it was "
            "requeued as stale or finished elsewhere: drop this attempt's result."
        )
    return updated


def latest_job(session: Session, exhibit: Exhibit) -> Job | None:
    """Return the job most recently queued for ``exhibit`` (None: it never had one)."""
    return session.scalar(
        select(Job).where(Job.exhibit_pk == exhibit.id).order_by(Job.id.desc()).limit(1)
    )


def count_jobs_by_status(session: Session) -> dict[str, int]:
    """Return the number of jobs of each status (statuses without jobs left out)."""
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    return {str(status): int(count) for status, count in rows}


@dataclass(frozen=True)
class QueueStats:
    """The queue as an operator watches it.

    Parameters
    ----------
    by_status
        Jobs per status (statuses without jobs left out).
    due
        Pending jobs that a worker may take now (the others wait for a retry).
    oldest_pending_s
        Seconds since the oldest pending job was queued (None: none pending).
    """

    by_status: dict[str, int]
    due: int
    oldest_pending_s: float | None

    @property
    def pending(self) -> int:
        """Jobs waiting for a worker, due now or later."""
        return self.by_status.get("pending", 0)


def queue_stats(session: Session) -> QueueStats:
    """Return the queue's length, the age of its oldest pending job and jobs per status."""
    now = utc_now()
    due, oldest = session.execute(
        select(
            func.count().filter(Job.available_at <= now),
            func.min(Job.created_at),
        ).where(Job.status == "pending")
    ).one()
    age = None if oldest is None else max(0.0, (now - _aware(oldest)).total_seconds())
    return QueueStats(by_status=count_jobs_by_status(session), due=int(due), oldest_pending_s=age)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    # aggregates bypass the column type that makes values aware: SQLite gives naive UTC
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment

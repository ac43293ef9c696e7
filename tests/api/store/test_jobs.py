"""The durable job queue: exclusive claims, retries, and recovery of jobs left running."""

from __future__ import annotations

import datetime
import threading

import pytest
from sqlalchemy import select, update

from api.store import repository
from api.store.database import Store
from api.store.errors import ConflictError
from api.store.models import Job, utc_now
from tests.api.store.conftest import MakeExhibit


def _enqueue(
    store: Store, count: int, *, kind: str = "correlate", max_attempts: int = 3
) -> list[int]:
    with store.transaction(write=True) as session:
        return [
            repository.enqueue_job(session, kind, payload={"n": n}, max_attempts=max_attempts).id
            for n in range(count)
        ]


def _claim(store: Store, worker: str, *, kinds: list[str] | None = None) -> Job | None:
    with store.transaction(write=True) as session:
        return repository.claim_next_job(session, worker=worker, kinds=kinds)


def test_jobs_are_claimed_oldest_first_and_once(store: Store, make_exhibit: MakeExhibit) -> None:
    with store.transaction(write=True) as session:
        exhibit = make_exhibit(session, "Port of Spain lab", "C-1", "E-1")
        job = repository.enqueue_job(session, "correlate", exhibit=exhibit)
        first_id, exhibit_key = job.id, exhibit.id
    second_id, _ = _enqueue(store, 2)
    claimed = _claim(store, "worker-1")
    assert claimed is not None
    assert (claimed.id, claimed.status, claimed.attempts, claimed.worker) == (
        first_id,
        "running",
        1,
        "worker-1",
    )
    assert claimed.exhibit_pk == exhibit_key
    assert claimed.started_at is not None and claimed.started_at.tzinfo == datetime.UTC
    again = _claim(store, "worker-2")
    assert again is not None and again.id == second_id
    assert again.payload == {"n": 0}


def test_claims_can_be_limited_to_kinds(store: Store) -> None:
    (reindex,) = _enqueue(store, 1, kind="reindex")
    _enqueue(store, 1, kind="correlate")
    claimed = _claim(store, "indexer", kinds=["reindex"])
    assert claimed is not None and claimed.id == reindex
    assert _claim(store, "indexer", kinds=["reindex"]) is None


def test_a_job_held_by_an_open_transaction_is_skipped_by_the_next_claim(store: Store) -> None:
    first_id, second_id = _enqueue(store, 2)
    with store.transaction(write=True) as holder:
        held = repository.claim_next_job(holder, worker="holder")
        assert held is not None and held.id == first_id
        if store.backend == "postgresql":
            # not committed yet: the row is locked, and SKIP LOCKED passes over it
            other = _claim(store, "other")
            assert other is not None and other.id == second_id
    if store.backend == "sqlite":
        # SQLite: the holder had the write lock, so the next claim waited for its commit
        other = _claim(store, "other")
        assert other is not None and other.id == second_id
    assert _claim(store, "third") is None


def test_concurrent_workers_never_share_a_job(store: Store) -> None:
    job_ids = _enqueue(store, 12)
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def work(worker: str) -> None:
        mine = claimed.setdefault(worker, [])
        try:
            while (job := _claim(store, worker)) is not None:
                mine.append(job.id)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    every_claim = [job_id for jobs in claimed.values() for job_id in jobs]
    assert sorted(every_claim) == job_ids  # each job exactly once


def test_a_failed_job_is_retried_later_then_failed_for_good(store: Store) -> None:
    (job_id,) = _enqueue(store, 1, max_attempts=2)
    job = _claim(store, "w")
    assert job is not None
    with store.transaction(write=True) as session:
        retried = repository.fail_job(session, job, "scan unreadable", retry_after_s=3600)
    assert (retried.status, retried.last_error, retried.attempts) == (
        "pending",
        "scan unreadable",
        1,
    )
    assert retried.available_at > utc_now() + datetime.timedelta(minutes=59)
    assert _claim(store, "w") is None  # not due yet
    with store.transaction(write=True) as session:
        session.execute(update(Job).where(Job.id == job_id).values(available_at=utc_now()))
    job = _claim(store, "w")
    assert job is not None and job.attempts == 2
    with store.transaction(write=True) as session:
        failed = repository.fail_job(session, job, "scan unreadable again")
    assert (failed.status, failed.finished_at is not None) == ("failed", True)
    assert _claim(store, "w") is None


def test_jobs_left_running_by_a_stopped_worker_are_resumed(store: Store) -> None:
    resumable, exhausted, fresh = _enqueue(store, 3)
    with store.transaction(write=True) as session:
        session.execute(update(Job).where(Job.id == exhausted).values(max_attempts=1))
    jobs = [_claim(store, "crashed") for _ in range(3)]
    assert all(job is not None for job in jobs)
    an_hour_ago = utc_now() - datetime.timedelta(hours=1)
    with store.transaction(write=True) as session:
        session.execute(
            update(Job).where(Job.id.in_([resumable, exhausted])).values(heartbeat_at=an_hour_ago)
        )
    with store.transaction(write=True) as session:
        assert repository.requeue_stale_jobs(session, stale_after_s=600) == 1
    with store.transaction() as session:
        status = dict(session.execute(select(Job.id, Job.status)).all())
    assert status == {resumable: "pending", exhausted: "failed", fresh: "running"}
    resumed = _claim(store, "restarted")
    assert resumed is not None and (resumed.id, resumed.attempts) == (resumable, 2)


def test_a_worker_whose_job_was_taken_over_cannot_finish_it(store: Store) -> None:
    _enqueue(store, 1)
    slow = _claim(store, "slow")
    assert slow is not None
    with store.transaction(write=True) as session:
        session.execute(update(Job).values(heartbeat_at=utc_now() - datetime.timedelta(hours=1)))
        repository.requeue_stale_jobs(session, stale_after_s=60)
    fast = _claim(store, "fast")
    assert fast is not None and fast.attempts == 2
    with pytest.raises(ConflictError, match="no longer held by this claim"):  # noqa: SIM117
        with store.transaction(write=True) as session:
            repository.finish_job(session, slow)
    with store.transaction(write=True) as session:
        repository.heartbeat_job(session, fast)
        done = repository.finish_job(session, fast)
    assert (done.status, done.worker) == ("done", "fast")


def test_enqueue_refuses_a_job_that_could_never_run(store: Store) -> None:
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):  # noqa: SIM117
        with store.transaction(write=True) as session:
            repository.enqueue_job(session, "correlate", max_attempts=0)

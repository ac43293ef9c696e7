"""Durable correlation jobs: queued with the upload, run by a worker, recovered after a crash."""

from __future__ import annotations

import time

import pytest

from api.service.jobs import JobRunner, JobRunnerConfig
from api.service.upload import CORRELATE_JOB
from api.store import repository
from api.store.models import Job
from tests.api.network import open_network

pytestmark = pytest.mark.slow


@pytest.fixture
def idle(tmp_path, exhibit_files, database_url, prepared_scans):
    """The API with no job worker: uploads stay queued until a runner is driven by hand (on
    SQLite and on PostgreSQL)."""
    yield from open_network(
        tmp_path / "store",
        exhibit_files,
        database_url=database_url,
        prepared=prepared_scans,
        job_worker=False,
    )


def _jobs(network) -> list[Job]:
    with network.service.store.transaction() as session:
        jobs = list(session.query(Job).order_by(Job.id))
        session.expunge_all()
        return jobs


def test_an_upload_is_answered_before_its_correlation_which_a_worker_then_runs(idle):
    first, second = idle.rows[0], idle.rows[1]  # mates (same pistol)
    answers = [idle.upload(first), idle.upload(second)]
    assert [answer.status_code for answer in answers] == [202, 202]
    assert [answer.json()["status"] for answer in answers] == ["queued", "queued"]
    assert [job.status for job in _jobs(idle)] == ["pending", "pending"]
    assert idle.client.get("/v1/health").json()["job_worker"] is False
    runner = JobRunner(idle.service)
    assert runner.run_pending() == 2
    assert [job.status for job in _jobs(idle)] == ["done", "done"]
    for answer in answers:
        state = idle.client.get(
            f"/v1/exhibits/{answer.json()['id']}", headers=idle.headers(first["agency"])
        )
        assert state.json()["status"] == "correlated"
    links = idle.service.links()
    assert [(link["exhibit_a"], link["exhibit_b"]) for link in links] == [
        (first["exhibit_id"], second["exhibit_id"])
    ]


def test_a_job_left_running_by_a_killed_worker_is_taken_over(idle):
    answer = idle.upload(idle.rows[0])
    assert answer.status_code == 202
    # a worker claims the job and dies without a word: no heartbeat, no outcome
    with idle.service.store.transaction(write=True) as session:
        dead = repository.claim_next_job(session, worker="dead-host:1:1", kinds=[CORRELATE_JOB])
        assert dead is not None
    config = JobRunnerConfig(stale_after_s=0.5, heartbeat_s=0.1, poll_interval_s=0.05)
    runner = JobRunner(idle.service, config=config)
    assert runner.run_pending() == 0  # not silent long enough yet: left to its worker
    time.sleep(0.7)
    assert runner.run_pending() == 1
    (job,) = _jobs(idle)
    assert (job.status, job.attempts) == ("done", 2)
    assert job.worker == runner.name


def test_the_background_worker_resumes_pending_jobs_when_the_server_starts(
    tmp_path, exhibit_files, prepared_scans
):
    store = tmp_path / "store"
    ids = []
    for network in open_network(store, exhibit_files, prepared=prepared_scans, job_worker=False):
        for row in network.rows[:2]:
            ids.append((row["agency"], network.upload(row).json()["id"]))
        assert network.client.get("/v1/health").json()["jobs"] == {"pending": 2}
    # "restart": a new server on the same store, with its worker
    for network in open_network(store, exhibit_files):
        network.wait_for_jobs()
        for agency, public_id in ids:
            state = network.client.get(f"/v1/exhibits/{public_id}", headers=network.headers(agency))
            assert state.json()["status"] == "correlated"


def test_a_failing_job_is_retried_then_marks_its_exhibit_failed(idle):
    answer = idle.upload(idle.rows[0])
    with idle.service.store.transaction(write=True) as session:
        job = session.query(Job).one()
        job.max_attempts = 2

    calls = []

    def broken(keys, **options):
        calls.append(list(keys))
        raise RuntimeError("disk full")

    idle.service.correlate = broken  # type: ignore[method-assign]
    runner = JobRunner(
        idle.service, config=JobRunnerConfig(retry_after_s=0.2, heartbeat_s=0.05, stale_after_s=1.0)
    )
    assert runner.run_pending() == 1
    (job,) = _jobs(idle)
    assert job.status == "pending" and "disk full" in job.last_error
    time.sleep(0.3)
    assert runner.run_pending() == 1
    (job,) = _jobs(idle)
    assert job.status == "failed" and job.attempts == 2
    state = idle.client.get(
        f"/v1/exhibits/{answer.json()['id']}", headers=idle.headers(idle.rows[0]["agency"])
    ).json()
    assert state["status"] == "failed"
    assert "disk full" in state["job"]["last_error"]
    assert len(calls) == 2


def test_runner_settings_are_checked():
    with pytest.raises(ValueError, match="stale_after_s"):
        JobRunnerConfig(stale_after_s=5.0, heartbeat_s=5.0)
    with pytest.raises(ValueError, match="poll_interval_s"):
        JobRunnerConfig(poll_interval_s=0)

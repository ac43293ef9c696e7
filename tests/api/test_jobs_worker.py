"""``JobWorker`` (what ``ballistics worker`` runs): a graceful stop finishes the running jobs,
and hands back to the queue those still running after the grace period."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.service import EvidenceService
from api.service.jobs_worker import LISTENING_POLL_S, JobWorker, runner_config
from api.store import repository
from api.store.database import DATABASE_URL_VARIABLE
from api.store.models import Job
from tests.api.synthetic_exhibits import TEST_CONFIG

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def service(tmp_path, database_url) -> Iterator[EvidenceService]:
    opened = EvidenceService.open(
        tmp_path / "store", database_url=database_url, config=TEST_CONFIG, workers=1
    )
    try:
        yield opened
    finally:
        opened.close()


def _queue_job(service: EvidenceService) -> int:
    with service.store.transaction(write=True) as session:
        return repository.enqueue_job(session, "correlate").id


def _job(service: EvidenceService, job_id: int) -> Job:
    with service.store.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _slow_runners(worker: JobWorker, monkeypatch, *, seconds: float) -> threading.Event:
    """Make each runner's work take ``seconds`` (and succeed); return an event set when one
    starts."""
    started = threading.Event()

    def work(job: Job) -> None:
        started.set()
        time.sleep(seconds)

    for runner in worker.runners:
        monkeypatch.setattr(runner, "_run", work)
    return started


def test_a_stop_lets_the_running_job_finish_within_the_grace_period(service, monkeypatch):
    job_id = _queue_job(service)
    worker = JobWorker(service, concurrency=2)
    started = _slow_runners(worker, monkeypatch, seconds=0.5)
    worker.start()
    assert started.wait(10)
    report = worker.stop(grace_s=30.0)
    assert (report.jobs_done, report.jobs_failed, report.jobs_released) == (1, 0, 0)
    assert _job(service, job_id).status == "done"
    assert not any(runner.running for runner in worker.runners)


def test_a_job_still_running_after_the_grace_period_is_handed_back(service, monkeypatch):
    job_id = _queue_job(service)
    worker = JobWorker(service, concurrency=1)
    started = _slow_runners(worker, monkeypatch, seconds=2.0)
    worker.start()
    assert started.wait(10)
    report = worker.stop(grace_s=0.1)
    assert (report.jobs_done, report.jobs_released) == (0, 1)
    released = _job(service, job_id)
    assert (released.status, released.worker, released.attempts) == ("pending", None, 1)
    # another worker takes it at once; the first one's late result is dropped, not recorded
    with service.store.transaction(write=True) as session:
        again = repository.claim_next_job(session, worker="other:1:1")
    assert again is not None and (again.id, again.attempts) == (job_id, 2)
    time.sleep(2.5)
    assert worker.runners[0].jobs_done == 0
    assert _job(service, job_id).status == "running"


def test_runners_poll_slowly_only_where_a_listener_wakes_them():
    assert runner_config(listening=True).poll_interval_s == LISTENING_POLL_S
    polling = runner_config(stale_after_s=8.0)
    assert polling.poll_interval_s < 1.0
    assert (polling.heartbeat_s, polling.retry_after_s) == (2.0, 8.0)
    with pytest.raises(ValueError, match="concurrency"):
        JobWorker(None, concurrency=0)  # type: ignore[arg-type]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_worker_command_stops_gracefully_on_a_signal(tmp_path, stop_signal):
    environment = {key: value for key, value in os.environ.items() if key != DATABASE_URL_VARIABLE}
    environment["PYTHONPATH"] = str(REPOSITORY_ROOT)
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "api.cli", "worker", "--workers", "1"]
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [*command, "--store", str(tmp_path / "store")],
            cwd=REPOSITORY_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while "taking correlation jobs" not in log.read_text():
                assert worker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            worker.send_signal(stop_signal)
            assert worker.wait(timeout=60) == 0, log.read_text()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert "stopped: 0 jobs done, 0 failed, 0 handed back to the queue" in log.read_text()

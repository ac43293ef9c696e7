"""A hub on several processes: two ``serve --no-jobs`` and ``worker`` on one PostgreSQL database.

Real processes on loopback, as machines of one hub would run them: each with its own store
folder (its vector index) and the originals folder shared (here a symbolic link; on machines a
network mount). An upload through one server becomes a lead seen through the other, correlated
by the worker; the other server hears of the new exhibit at once (PostgreSQL notifications);
``/metrics`` is an admin's, and its queue length is the database's; a worker killed with
SIGKILL in the middle of a job loses nothing: another worker takes the job over.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from api.store.database import DATABASE_URL_VARIABLE
from api.store.models import Job
from benchmarks.api_load import free_port, server_environment
from tests.api.network import LABS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
STALE_AFTER_S = 4.0
CASINGS = "cartridge_case/topography"


class Process:
    """One ``ballistics`` command in a subprocess, its output appended to a log file."""

    def __init__(self, arguments: list[str], *, log_path: Path, environment: dict[str, str]):
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "api.cli", *arguments],
            cwd=REPOSITORY_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, ready: Callable[[], bool], *, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not ready():
            if self.popen.poll() is not None:
                raise AssertionError(f"exited {self.popen.returncode}:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready after {timeout_s} s:\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def signal(self, number: int, *, timeout_s: float = 60.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(number)
        code = self.popen.wait(timeout=timeout_s)
        self._log.close()
        return code

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.signal(signal.SIGKILL)
        self._log.close()


class Hub:
    """The processes of one hub on one database, and the agencies' keys."""

    def __init__(self, root: Path, database_url: str, exhibits: tuple[Path, list[dict]]) -> None:
        self.root = root
        self.folder, self.rows = exhibits
        base = {key: value for key, value in os.environ.items() if key != DATABASE_URL_VARIABLE}
        self.environment = server_environment(
            stale_after_s=STALE_AFTER_S, lead_threshold=15.0, base=base
        )
        self.environment[DATABASE_URL_VARIABLE] = database_url
        self.environment["BALLISTICS_TOP_K"] = "5"
        self.database_url = database_url
        (root / "originals").mkdir(parents=True)
        self.processes: list[Process] = []
        self.keys: dict[str, str] = {}

    def store(self, machine: str) -> Path:
        """The store folder of one "machine": its own, with the shared originals linked in."""
        folder = self.root / machine
        if not folder.is_dir():
            folder.mkdir()
            (folder / "originals").symlink_to(self.root / "originals", target_is_directory=True)
        return folder

    def add_agency(self, name: str, country: str, role: str) -> None:
        command = [sys.executable, "-m", "api.cli", "agency", "add", name, "--country", country]
        command += ["--role", role, "--store", str(self.store("admin")), "--json"]
        done = subprocess.run(
            command,
            cwd=REPOSITORY_ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        self.keys[name] = json.loads(done.stdout)["api_key"]

    def serve(self, machine: str) -> str:
        """Start ``serve --no-jobs`` on its own store folder; return its URL once it answers."""
        port = free_port()
        process = self.start(
            machine, ["serve", "--no-jobs", "--host", "127.0.0.1", "--port", str(port)]
        )
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return httpx.get(f"{url}/v1/health", timeout=5.0).status_code == 200
            except httpx.HTTPError:
                return False

        process.wait_for(answers)
        assert httpx.get(f"{url}/v1/health").json()["job_worker"] is False
        return url

    def worker(self, machine: str) -> Process:
        """Start ``worker`` on its own store folder; return it once it takes jobs."""
        process = self.start(machine, ["worker", "--concurrency", "1"])
        process.wait_for(lambda: "taking correlation jobs" in process.log())
        return process

    def start(self, machine: str, arguments: list[str]) -> Process:
        arguments = [*arguments, "--workers", "1", "--store", str(self.store(machine))]
        process = Process(
            arguments, log_path=self.root / f"{machine}.log", environment=self.environment
        )
        self.processes.append(process)
        return process

    def upload(self, url: str, row: dict[str, str]) -> dict[str, Any]:
        path = self.folder / row["path"]
        answer = httpx.post(
            f"{url}/v1/exhibits",
            headers={"X-API-Key": self.keys[row["agency"]]},
            data={
                "exhibit_id": row["exhibit_id"],
                "case_id": row["case_id"],
                "kind": "cartridge_case",
            },
            files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
            timeout=120.0,
        )
        assert answer.status_code == 202, answer.text
        return answer.json()

    def jobs(self) -> list[Job]:
        engine = create_engine(self.database_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return list(connection.execute(select(Job).order_by(Job.id)))
        finally:
            engine.dispose()

    def close(self) -> None:
        for process in self.processes:
            process.stop()


@pytest.fixture
def hub(tmp_path, postgres_schema_url, exhibit_files) -> Iterator[Hub]:
    opened = Hub(tmp_path / "hub", postgres_schema_url, exhibit_files)
    try:
        for name, country in LABS:
            opened.add_agency(name, country, "lab")
        opened.add_agency("Examiner", "TT", "examiner")
        opened.add_agency("Admin", "TT", "admin")
        yield opened
    finally:
        opened.close()


def scrape(hub: Hub, url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = httpx.get(f"{url}/metrics", headers={"X-API-Key": hub.keys["Admin"]})
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def indexed(metrics: dict) -> float:
    return metrics.get(("ballistics_index_vectors", (("partition", CASINGS),)), 0.0)


def wait_until(condition: Callable[[], bool], *, timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"{what}: not after {timeout_s} s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_an_upload_through_one_server_is_a_lead_through_the_other_correlated_by_the_worker(hub):
    first, second = hub.rows[0], hub.rows[1]  # one pistol's two firings, two labs
    assert first["agency"] != second["agency"]
    server_a, server_b = hub.serve("a"), hub.serve("b")
    assert httpx.get(f"{server_b}/metrics").status_code == 401
    lab_key = {"X-API-Key": hub.keys[first["agency"]]}
    assert httpx.get(f"{server_b}/metrics", headers=lab_key).status_code == 403

    # the worker starts on an empty store: its index must catch up to see what comes next
    worker = hub.worker("w")
    examiner = {"X-API-Key": hub.keys["Examiner"]}

    uploaded = hub.upload(server_a, first)
    assert uploaded["status"] == "queued"
    # server B hears of it at once (notified), without a search to catch it up
    heard_s = wait_until(
        lambda: indexed(scrape(hub, server_b)) == 1, timeout_s=5.0, what="B's index"
    )
    assert heard_s < 2.0
    assert scrape(hub, server_b)[("ballistics_process_listening", ())] == 1
    # and the worker, which polls its queue only every 5 s when it listens, is woken at once
    wait_until(lambda: hub.jobs()[0].status != "pending", timeout_s=2.5, what="the worker's claim")
    hub.upload(server_b, second)
    assert indexed(scrape(hub, server_b)) == 2

    def links_through_b() -> list[dict]:
        answer = httpx.get(f"{server_b}/v1/links", headers=examiner, timeout=30.0)
        return answer.json()["links"]

    wait_until(lambda: len(links_through_b()) == 1, timeout_s=180.0, what="the lead")
    (link,) = links_through_b()
    assert {link["exhibit_a"], link["exhibit_b"]} == {first["exhibit_id"], second["exhibit_id"]}
    assert link["status"] == "lead"
    state = httpx.get(f"{server_b}/v1/exhibits/{uploaded['id']}", headers=examiner).json()
    assert state["status"] == "correlated"
    jobs = hub.jobs()
    assert [job.status for job in jobs] == ["done", "done"]
    assert all(job.worker.startswith(f"{socket.gethostname()}:{worker.pid}:") for job in jobs)
    done = scrape(hub, server_a)
    assert done[("ballistics_job_queue_length", ())] == 0
    assert done[("ballistics_jobs_finished_total", (("outcome", "done"),))] == 2

    assert worker.signal(signal.SIGTERM, timeout_s=60) == 0  # a graceful stop
    assert "stopped: 2 jobs done, 0 failed, 0 handed back" in worker.log()


def test_a_worker_killed_in_the_middle_of_a_job_loses_nothing(hub):
    server = hub.serve("a")
    for row in hub.rows:
        hub.upload(server, row)
    queued = scrape(hub, server)  # no worker yet: all six wait
    assert queued[("ballistics_job_queue_length", ())] == len(hub.rows)
    assert queued[("ballistics_job_queue_oldest_seconds", ())] > 0
    doomed = hub.worker("w1")
    prefix = f"{socket.gethostname()}:{doomed.pid}:"

    def running_on_doomed() -> list[Job]:
        return [
            job for job in hub.jobs() if job.status == "running" and job.worker.startswith(prefix)
        ]

    for _ in range(5):  # freeze it the moment it is on a job; a job finished meanwhile: again
        wait_until(
            lambda: bool(running_on_doomed()), timeout_s=120.0, what="a job on the first worker"
        )
        os.kill(doomed.pid, signal.SIGSTOP)
        if running_on_doomed():
            break
        os.kill(doomed.pid, signal.SIGCONT)
    doomed.signal(signal.SIGKILL)
    (orphan,) = [job for job in hub.jobs() if job.status == "running"]
    assert orphan.worker.startswith(prefix) and orphan.attempts == 1

    rescuer = hub.worker("w2")
    wait_until(
        lambda: all(job.status == "done" for job in hub.jobs()),
        timeout_s=240.0,
        what="every job done",
    )
    taken_over = next(job for job in hub.jobs() if job.id == orphan.id)
    assert taken_over.attempts == 2
    assert taken_over.worker.startswith(f"{socket.gethostname()}:{rescuer.pid}:")
    examiner = {"X-API-Key": hub.keys["Examiner"]}
    links = httpx.get(f"{server}/v1/links", headers=examiner, timeout=30.0).json()["links"]
    pairs = {frozenset((link["exhibit_a"], link["exhibit_b"])) for link in links}
    mates = {
        frozenset((hub.rows[n]["exhibit_id"], hub.rows[n + 1]["exhibit_id"])) for n in (0, 2, 4)
    }
    assert pairs == mates  # every pistol's pair of firings, and nothing else

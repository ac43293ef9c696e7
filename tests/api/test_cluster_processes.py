"""Batch work on a Dask cluster: a scheduler and worker processes started with the distributed
package's own commands (``dask scheduler``, ``dask worker``) on loopback, and the ``ballistics``
command line as the coordinator, on PostgreSQL.

An ``ingest --cluster`` is searchable through two ``serve`` processes; ``recorrelate --cluster``
after a change of lead threshold gives the links a local ``recorrelate`` gives; a Dask worker
killed (SIGKILL, with its nanny) in the middle of an ingest loses nothing: the batch completes,
every exhibit stored and correlated once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from api.store.database import DATABASE_URL_VARIABLE
from api.store.models import CorrelationResult, Exhibit, ExhibitDescriptor
from benchmarks.api_load import free_port, server_environment
from tests.api.synthetic_exhibits import manifest_rows, mates, write_exhibits

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
#: the synthetic consecutively made pistols' non-matches score up to about 8, mates 28-34
LEAD_THRESHOLD = "15"
NO_LEADS = "1e9"


class Command:
    """One command in a subprocess of its own session (so that a kill takes its children too),
    its output in a log file."""

    def __init__(self, arguments: list[str], *, log_path: Path, environment: dict[str, str]):
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self.popen = subprocess.Popen(
            arguments,
            cwd=REPOSITORY_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL the command and every process it started (a worker and its nanny)."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)
        self._log.close()


def wait_until(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s} s")
        time.sleep(0.05)


class Cluster:
    """A ``dask scheduler`` and its ``dask worker`` processes on loopback."""

    def __init__(self, root: Path, environment: dict[str, str]) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.environment = environment
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.commands: dict[str, Command] = {}
        self._start(
            "scheduler",
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                f"127.0.0.1:{free_port()}",
            ],
        )

    def _start(self, name: str, arguments: list[str]) -> Command:
        command = Command(
            [sys.executable, "-m", "dask", *arguments],
            log_path=self.root / f"{name}.log",
            environment=self.environment,
        )
        self.commands[name] = command
        return command

    def add_worker(self, name: str) -> Command:
        """Start ``dask worker`` (one process, one thread) and return once the scheduler has it."""
        command = self._start(
            name,
            [
                "worker",
                self.address,
                "--name",
                name,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--local-directory",
                str(self.root / name),
            ],
        )
        wait_until(lambda: name in self.worker_names(), timeout_s=120, what=f"worker {name}")
        return command

    def scheduler_info(self) -> dict[str, Any]:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            return dict(client.scheduler_info())

    def worker_names(self) -> set[str]:
        try:
            workers = self.scheduler_info()["workers"].values()
        except OSError:  # the scheduler is still starting
            return set()
        return {str(worker.get("name")) for worker in workers}

    def close(self) -> None:
        for command in reversed(self.commands.values()):
            command.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A scheduler and two worker processes, for the module's tests."""
    started = Cluster(
        tmp_path_factory.mktemp("dask"), server_environment(stale_after_s=4.0, lead_threshold=None)
    )
    try:
        started.add_worker("w1")
        started.add_worker("w2")
        yield started
    finally:
        started.close()


class Hub:
    """``ballistics`` commands on one database (PostgreSQL; None: SQLite in each folder), each
    "machine" its own store folder (its own vector index) with the originals folder shared."""

    def __init__(self, root: Path, database_url: str | None) -> None:
        base = {key: value for key, value in os.environ.items() if key != DATABASE_URL_VARIABLE}
        self.environment = server_environment(stale_after_s=4.0, lead_threshold=None, base=base)
        if database_url is not None:
            self.environment[DATABASE_URL_VARIABLE] = database_url
        self.environment.pop("BALLISTICS_CLUSTER", None)
        self.root = root
        self.database_url = database_url or ""
        (root / "originals").mkdir(parents=True)
        self.servers: list[Command] = []

    def store(self, machine: str) -> Path:
        folder = self.root / machine
        if not folder.is_dir():
            folder.mkdir()
            (folder / "originals").symlink_to(self.root / "originals", target_is_directory=True)
        return folder

    def run(self, machine: str, arguments: list[str]) -> dict[str, Any]:
        """Run one ``ballistics`` command with ``--json`` to its end; return its document."""
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "api.cli",
                *arguments,
                "--store",
                str(self.store(machine)),
                "--json",
            ],
            cwd=REPOSITORY_ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        document: dict[str, Any] = json.loads(done.stdout)
        return document

    def serve(self, machine: str) -> str:
        port = free_port()
        arguments = ["serve", "--no-jobs", "--host", "127.0.0.1", "--port", str(port)]
        command = Command(
            [
                sys.executable,
                "-m",
                "api.cli",
                *arguments,
                "--workers",
                "1",
                "--store",
                str(self.store(machine)),
            ],
            log_path=self.root / f"{machine}.log",
            environment=self.environment,
        )
        self.servers.append(command)
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            assert command.popen.poll() is None, command.log()[-3000:]
            try:
                return httpx.get(f"{url}/v1/health", timeout=5.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout_s=120, what=f"server {machine}")
        return url

    def read(self, statement: Any) -> list[Any]:
        """Run a query on the hub's database; return its first column."""
        engine = create_engine(self.database_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return list(connection.scalars(statement))
        finally:
            engine.dispose()

    def close(self) -> None:
        for command in self.servers:
            command.kill()


@pytest.fixture
def hub(tmp_path: Path, postgres_schema_url: str) -> Iterator[Hub]:
    opened = Hub(tmp_path / "hub", postgres_schema_url)
    try:
        yield opened
    finally:
        opened.close()


def link_set(document: dict[str, Any]) -> set[tuple[frozenset[str], str, float]]:
    return {
        (frozenset((link["exhibit_a"], link["exhibit_b"])), link["status"], link["score"])
        for link in document["links"]
    }


def linked_pairs(document: dict[str, Any]) -> set[frozenset[str]]:
    return {pair for pair, _, _ in link_set(document)}


def true_pairs(manifest: Path) -> set[frozenset[str]]:
    return {frozenset(pair) for pair in mates(manifest_rows(manifest)).items()}


def test_an_ingest_on_the_cluster_is_searchable_through_two_servers(cluster, hub, exhibits):
    key = hub.run("admin", ["agency", "add", "Searcher", "--country", "TT", "--role", "examiner"])
    report = hub.run(
        "coordinator",
        [
            "ingest",
            str(exhibits),
            "--cluster",
            cluster.address,
            "--lead-threshold",
            LEAD_THRESHOLD,
            "--top-k",
            "2",
        ],
    )
    assert (report["ingested"], report["failed"], report["correlated"]) == (6, [], 6)
    assert report["workers"] == 2  # the cluster's worker threads
    assert linked_pairs(hub.run("coordinator", ["links"])) == true_pairs(exhibits)
    # the originals the workers never saw were stored by the coordinator, in the shared folder
    assert len(list((hub.root / "originals").rglob("*"))) >= 6

    row = manifest_rows(exhibits)[0]
    mate = mates(manifest_rows(exhibits))[row["exhibit_id"]]
    query = exhibits.parent / row["path"]
    for machine in ("a", "b"):
        url = hub.serve(machine)
        answer = httpx.post(
            f"{url}/v1/search",
            headers={"X-API-Key": key["api_key"]},
            data={"kind": "cartridge_case", "top": "3"},
            files={"file": (query.name, query.read_bytes(), "application/octet-stream")},
            timeout=120.0,
        )
        assert answer.status_code == 200, answer.text
        found = [candidate["exhibit_id"] for candidate in answer.json()["candidates"]]
        # the stored exhibit itself first (the same file), then its true mate
        assert found[:2] == [row["exhibit_id"], mate], found


def test_recorrelate_on_the_cluster_after_a_threshold_change_gives_the_local_links(
    cluster, hub, exhibits, tmp_path
):
    # the local run on SQLite beside the cluster's on PostgreSQL: where the comparisons ran
    # and which database keeps them change nothing
    local = Hub(tmp_path / "local", None)
    try:
        for each in (hub, local):  # the same exhibits under the same keys, nothing compared
            each.run("m", ["ingest", str(exhibits), "--no-correlate", "--workers", "1"])
        on_cluster = ["--cluster", cluster.address, "--top-k", "2"]
        on_cores = ["--workers", "2", "--top-k", "2"]
        # every pair compared (on the cluster / here), under a threshold no pair reaches
        first = hub.run("m", ["recorrelate", *on_cluster, "--lead-threshold", NO_LEADS])
        assert first == {**first, "correlated": 6, "leads": 0, "failed": []}
        assert first["comparisons"] > 0
        assert (
            local.run("m", ["recorrelate", *on_cores, "--lead-threshold", NO_LEADS])["comparisons"]
            == first["comparisons"]
        )
        # the threshold is lowered: the pairs scored before become leads, nothing is compared
        after = hub.run("m", ["recorrelate", *on_cluster, "--lead-threshold", LEAD_THRESHOLD])
        here = local.run("m", ["recorrelate", *on_cores, "--lead-threshold", LEAD_THRESHOLD])
        assert after == {**after, "correlated": 6, "leads": 3, "failed": [], "comparisons": 0}
        assert (here["leads"], here["comparisons"]) == (3, 0)
        cluster_links, local_links = (
            link_set(hub.run("m", ["links"])),
            link_set(local.run("m", ["links"])),
        )
        assert cluster_links == local_links
        assert {pair for pair, _, _ in cluster_links} == true_pairs(exhibits)
        # and once more: nothing new
        again = hub.run("m", ["recorrelate", *on_cluster, "--lead-threshold", LEAD_THRESHOLD])
        assert (again["comparisons"], again["links_created"], again["leads"]) == (0, 0, 3)
        assert link_set(hub.run("m", ["links"])) == cluster_links
    finally:
        local.close()


def test_a_dask_worker_killed_mid_batch_loses_nothing(cluster, hub, tmp_path):
    manifest = write_exhibits(tmp_path / "exhibits", firearms=8)
    victim = cluster.add_worker("victim")
    ingest = Command(
        [
            sys.executable,
            "-m",
            "api.cli",
            "ingest",
            str(manifest),
            "--cluster",
            cluster.address,
            "--lead-threshold",
            LEAD_THRESHOLD,
            "--top-k",
            "2",
            "--json",
            "--store",
            str(hub.store("coordinator")),
        ],
        log_path=tmp_path / "ingest.log",
        environment=hub.environment,
    )
    from distributed import Client

    try:
        with Client(cluster.address, timeout=30, set_as_default=False) as client:
            (address,) = (
                address
                for address, worker in client.scheduler_info()["workers"].items()
                if worker.get("name") == "victim"
            )

            def victim_is_working() -> bool:
                assert ingest.popen.poll() is None, ingest.log()[-3000:]
                return bool(client.processing([address]).get(address))

            wait_until(victim_is_working, timeout_s=300, what="a task on the victim")
            victim.kill()
        assert ingest.popen.wait(timeout=600) == 0, ingest.log()[-3000:]
    finally:
        ingest.kill()
    (line,) = (line for line in ingest.log().splitlines() if line.startswith('{"ingested"'))
    report = json.loads(line)
    assert (report["ingested"], report["failed"], report["correlation_errors"]) == (16, [], [])
    assert report["correlated"] == 16
    # each exhibit once, with its descriptor, correlated; each pair's result once per side
    assert hub.read(select(Exhibit.status)) == ["correlated"] * 16
    assert len(set(hub.read(select(ExhibitDescriptor.exhibit_pk)))) == 16
    results = hub.read(
        select(func.count())
        .select_from(CorrelationResult)
        .group_by(CorrelationResult.query_pk, CorrelationResult.candidate_pk)
    )
    assert results and set(results) == {1}
    assert linked_pairs(hub.run("coordinator", ["links"])) == true_pairs(manifest)

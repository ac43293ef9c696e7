"""One store, many processes: every process that searches sees every committed exhibit.

Each process's vector index is a cache of the database that it catches up, before each search
and correlation, from the store's change counters (``store_state``): two services opened on one
store (SQLite and PostgreSQL) and a real ``ballistics serve`` beside a real ``ballistics ingest``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import delete, select

from api.cli import main
from api.service import EvidenceService, partition_of
from api.service.index import SEEN_FILE_NAME, index_folder
from api.store import repository
from api.store.database import DATABASE_URL_VARIABLE
from api.store.models import Exhibit, StoreState
from benchmarks.api_load import ApiServer, server_environment
from tests.api.synthetic_exhibits import (
    TEST_CONFIG,
    key_of,
    manifest_rows,
    write_exhibits,
    write_rows,
)

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
CASING = partition_of("cartridge_case", "topography")


@pytest.fixture(scope="module")
def exhibits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest of four synthetic casings, two pistols (files beside it)."""
    return write_exhibits(tmp_path_factory.mktemp("exhibits"), firearms=2, seed=31)


@pytest.fixture
def two_services(
    tmp_path: Path, database_url: str | None
) -> Iterator[tuple[EvidenceService, EvidenceService]]:
    """Two services opened on one new store, as two processes would (each its own index)."""
    store = tmp_path / "store"
    first = EvidenceService.open(store, database_url=database_url, config=TEST_CONFIG, workers=1)
    try:
        second = EvidenceService.open(
            store, database_url=database_url, config=TEST_CONFIG, workers=1
        )
        try:
            yield first, second
        finally:
            second.close()
    finally:
        first.close()


def scan(exhibits: Path, row: dict[str, str]) -> Path:
    """The scan file of a manifest row (paths are relative to the manifest's folder)."""
    return exhibits.parent / row["path"]


def first_candidate(service: EvidenceService, path: Path) -> tuple[str, bool] | None:
    """Search ``path`` (descriptor stage only, for speed): the first candidate's exhibit id and
    whether it is the same file; None when nothing is found."""
    outcome = service.search(path, top=1, rerank=False)
    if not outcome.candidates:
        return None
    return outcome.candidates[0].exhibit_id, outcome.candidates[0].same_file


def test_exhibits_ingested_through_one_service_are_found_by_another_without_reopening(
    two_services, exhibits
):
    ingesting, searching = two_services
    rows = manifest_rows(exhibits)
    assert searching.index.count(CASING) == 0  # opened before anything was stored
    ingesting.ingest(exhibits, correlate=False)

    for row in rows:
        assert first_candidate(searching, scan(exhibits, row)) == (row["exhibit_id"], True)
    assert searching.index.count(CASING) == len(rows)
    # correlation through the other service finds candidates too (its job runner's step)
    key = key_of(searching, rows[0]["exhibit_id"])
    report = searching.correlate([key])
    assert report.correlated == 1 and report.comparisons >= 1


def test_nothing_new_costs_one_query_and_adds_nothing(two_services, exhibits):
    ingesting, searching = two_services
    ingesting.ingest(exhibits, correlate=False)
    caught_up = searching.catch_up_index()
    assert (caught_up.added, caught_up.incremental) == (len(manifest_rows(exhibits)), True)
    index_before = searching.index
    again = searching.catch_up_index()
    assert (again.added, again.incremental) == (0, True)
    assert searching.index is index_before


def test_a_reindex_through_one_service_makes_the_other_reload(two_services, exhibits):
    reindexing, searching = two_services
    row = manifest_rows(exhibits)[0]
    reindexing.ingest(exhibits, correlate=False)
    assert first_candidate(searching, scan(exhibits, row)) == (row["exhibit_id"], True)
    # an entry lost from this process's index comes back only if the index is reloaded
    searching.index.remove(CASING, np.asarray([key_of(searching, row["exhibit_id"])]))
    assert first_candidate(searching, scan(exhibits, row)) != (row["exhibit_id"], True)

    reindexing.reindex()

    assert first_candidate(searching, scan(exhibits, row)) == (row["exhibit_id"], True)
    # reloaded: from the index the reindex saved, with the counters it saved beside it
    with searching.store.transaction() as session:
        assert searching.index_state.seen == repository.store_generation(session)
        assert searching.index_state.seen.epoch == 1


def test_a_store_without_its_counters_row_still_catches_up(two_services, exhibits):
    ingesting, searching = two_services
    with ingesting.store.transaction(write=True) as session:  # as metadata.create_all leaves it
        session.execute(delete(StoreState))
    with ingesting.store.transaction() as session:
        assert repository.store_generation(session) == repository.StoreGeneration(0, 0)
    rows = manifest_rows(exhibits)
    ingesting.ingest(exhibits, correlate=False)

    with ingesting.store.transaction() as session:
        assert repository.store_generation(session).generation == len(rows)
        stamps = session.scalars(select(Exhibit.index_generation).order_by(Exhibit.id)).all()
    assert sorted(stamps) == list(range(1, len(rows) + 1))
    assert first_candidate(searching, scan(exhibits, rows[-1])) == (rows[-1]["exhibit_id"], True)


def test_a_reopened_store_catches_up_from_the_counters_saved_with_its_index(tmp_path, exhibits):
    store = tmp_path / "store"
    rows = manifest_rows(exhibits)
    for row in rows:  # the halves are written beside the test, not beside the scans
        row["path"] = str(scan(exhibits, row))
    first_half = write_rows(tmp_path / "first.csv", rows[:2])
    second_half = write_rows(tmp_path / "second.csv", rows[2:])
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        service.ingest(first_half, correlate=False)
        service.catch_up_index()
        service.save_index()
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        assert (service.index_state.incremental, service.index_state.added) == (True, 0)
        assert service.index.count(CASING) == 2
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as other:
        other.ingest(second_half, correlate=False)
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        assert service.index_state.incremental is True
        assert first_candidate(service, scan(exhibits, rows[-1])) == (rows[-1]["exhibit_id"], True)

    # counters written with another save than the manifest's are not trusted
    seen_file = index_folder(service.store) / SEEN_FILE_NAME
    seen_file.write_text(json.dumps({**json.loads(seen_file.read_text()), "manifest": "0" * 64}))
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        assert service.index_state.incremental is False
        assert service.index.count(CASING) == len(rows)


@pytest.mark.slow  # about 15 s: a server starts, an ingest process stores four casings
def test_a_search_through_the_server_finds_what_an_ingest_process_stored_meanwhile(
    tmp_path, exhibits, monkeypatch, capsys
):
    monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)
    base = {key: value for key, value in os.environ.items() if key != DATABASE_URL_VARIABLE}
    environment = server_environment(stale_after_s=30.0, lead_threshold=15.0, base=base)
    store = tmp_path / "store"
    arguments = ["agency", "add", "Lab Q", "--country", "NL", "--role", "lab", "--json"]
    assert main([*arguments, "--store", str(store)]) == 0
    api_key = json.loads(capsys.readouterr().out)["api_key"]
    rows = manifest_rows(exhibits)

    with ApiServer(
        store, workers=1, log_path=tmp_path / "server.log", environment=environment
    ) as server:
        server.start()
        command = [sys.executable, "-m", "api.cli", "ingest", str(exhibits), "--store", str(store)]
        ingest = subprocess.run(
            [*command, "--workers", "1", "--no-correlate", "--json"],
            cwd=REPOSITORY_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert ingest.returncode == 0, ingest.stderr
        assert json.loads(ingest.stdout)["ingested"] == len(rows)

        wanted = rows[1]
        path = scan(exhibits, wanted)
        with httpx.Client(base_url=server.url, timeout=120.0) as client:
            answer = client.post(
                "/v1/search",
                headers={"X-API-Key": api_key},
                files={"file": (path.name, path.read_bytes())},
                data={"top": "3"},
            )
        assert answer.status_code == 200, answer.text
        candidates = answer.json()["candidates"]
        assert candidates, f"the server found nothing:\n{server.log_tail()}"
        assert (candidates[0]["exhibit_id"], candidates[0]["same_file"]) == (
            wanted["exhibit_id"],
            True,
        )

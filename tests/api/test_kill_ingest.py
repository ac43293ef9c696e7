"""An ingest killed with SIGKILL half-way: the store opens, every committed exhibit is searchable,
and running the same ingest again completes it without storing anything twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.cli import main
from api.service import EvidenceService, partition_of
from api.store.database import DATABASE_URL_VARIABLE, SQLITE_FILE_NAME
from api.store.models import CorrelationResult, Exhibit, Link
from tests.api.synthetic_exhibits import manifest_rows, write_exhibits

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
FIREARMS = 8  # 16 exhibits: about 2 s of work, killed after the first few are committed
KILL_AFTER = 4
OPTIONS = ("--workers", "2", "--top-k", "1", "--json")


def committed_exhibits(database: Path) -> list[str]:
    """Return the exhibit ids committed so far (read-only; none while the schema is made)."""
    if not database.exists():
        return []
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return []
    try:
        return [row[0] for row in connection.execute("SELECT exhibit_id FROM exhibits")]
    except sqlite3.OperationalError:  # no table yet
        return []
    finally:
        connection.close()


@pytest.mark.slow  # about 10 s: 16 exhibits prepared, then the rest stored and correlated
def test_a_killed_ingest_leaves_a_searchable_store_and_a_rerun_completes_it(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)
    manifest = write_exhibits(tmp_path / "exhibits", firearms=FIREARMS, seed=21)
    rows = manifest_rows(manifest)
    store = tmp_path / "store"
    environment = {key: value for key, value in os.environ.items() if key != DATABASE_URL_VARIABLE}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPOSITORY_ROOT), environment.get("PYTHONPATH", "")]
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "ingest", str(manifest), "--store", str(store), *OPTIONS],
        cwd=REPOSITORY_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    database = store / SQLITE_FILE_NAME
    deadline = time.monotonic() + 120
    try:
        while len(committed_exhibits(database)) < KILL_AFTER:
            if process.poll() is not None:
                pytest.fail(f"ingest ended before it was killed: {process.stderr.read()!r}")
            if time.monotonic() > deadline:
                pytest.fail("ingest committed nothing within 120 s")
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    committed = committed_exhibits(database)
    assert KILL_AFTER <= len(committed) < len(rows), "killed half-way"

    # the store opens, and every committed exhibit is found (its own file is its best match)
    by_id = {row["exhibit_id"]: manifest.parent / row["path"] for row in rows}
    with EvidenceService.open(store, workers=1) as service:
        for exhibit_id in committed:
            outcome = service.search(by_id[exhibit_id], top=1, rerank=False)
            assert outcome.candidates[0].exhibit_id == exhibit_id
            # to rounding: the stored copy was prepared in another process, whose library
            # threads may split (and so round) sums differently (seen once: 0.9998)
            assert outcome.candidates[0].score == pytest.approx(1.0, abs=1e-3)

    # the same ingest again completes it
    status = main(["ingest", str(manifest), "--store", str(store), *OPTIONS])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["failed"] == []
    assert report["skipped"] == len(committed)
    assert report["ingested"] + report["skipped"] == len(rows)
    with EvidenceService.open(store, workers=1) as service:
        with service.store.transaction() as session:
            exhibit_ids = list(session.scalars(select(Exhibit.exhibit_id)))
            statuses = set(session.scalars(select(Exhibit.status)))
            results = session.execute(
                select(CorrelationResult.query_pk, CorrelationResult.candidate_pk)
            ).all()
            links = int(session.scalar(select(func.count()).select_from(Link)))
        index_ids = service.index.ids(partition_of("cartridge_case", "topography")).tolist()
    assert sorted(exhibit_ids) == sorted(by_id)  # each once
    assert sorted(index_ids) == sorted(set(index_ids)) and len(index_ids) == len(rows)
    assert statuses == {"correlated"}
    assert len(results) == len(set(results))
    assert links >= 1

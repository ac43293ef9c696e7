"""The evidence service: ingest, search, links, idempotence, failures, reindex, both backends.

The exhibits are the six synthetic casings of ``tests/api/synthetic_exhibits.py`` (the
``exhibits`` fixture): three pistols fired twice, every exhibit with exactly one true mate.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from api.manifest import read_manifest
from api.service import (
    UNKNOWN_CALIBER_CLASS,
    EvidenceService,
    ServiceConfig,
    allowed_classes,
    caliber_class,
    partition_of,
)
from api.service.index import index_folder
from api.store.models import CorrelationResult, Exhibit, ExhibitDescriptor, Link
from tests.api.synthetic_exhibits import (
    TEST_CONFIG,
    key_of,
    manifest_rows,
    mates,
    write_rows,
)


def count(service: EvidenceService, model: type) -> int:
    with service.store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


@pytest.fixture
def service(tmp_path: Path, database_url: str | None) -> Iterator[EvidenceService]:
    """A new, empty store on each backend, worked in this process."""
    opened = EvidenceService.open(
        tmp_path / "store", database_url=database_url, config=TEST_CONFIG, workers=1
    )
    try:
        yield opened
    finally:
        opened.close()


def test_ingest_then_search_finds_the_true_mate_first_and_links_only_mates(service, exhibits):
    report = service.ingest(exhibits)
    assert (report.ingested, report.skipped, report.failed) == (6, 0, [])
    assert report.correlation is not None and report.correlation.correlated == 6
    assert report.correlation.errors == ()
    rows = manifest_rows(exhibits)
    truth = mates(rows)
    for row in rows[:2]:
        own = key_of(service, row["exhibit_id"])
        outcome = service.search(exhibits.parent / row["path"], top=3, exclude_keys=[own])
        best = outcome.candidates[0]
        assert best.exhibit_id == truth[row["exhibit_id"]]
        assert best.rank == 1 and best.lead is True
        assert best.score > outcome.candidates[1].score
        assert [c.rank for c in outcome.candidates] == [1, 2, 3]
        assert row["exhibit_id"] not in [c.exhibit_id for c in outcome.candidates]

    links = service.links()
    pairs = {frozenset((link["exhibit_a"], link["exhibit_b"])) for link in links}
    assert pairs == {frozenset((exhibit, mate)) for exhibit, mate in truth.items()}
    countries = {row["exhibit_id"]: row["country"] for row in rows}
    for link in links:
        assert link["status"] == "lead"
        assert link["case_a"] != link["case_b"]
        assert (link["country_a"], link["country_b"]) == (
            countries[link["exhibit_a"]],
            countries[link["exhibit_b"]],
        )
        assert link["cross_border"] is (link["country_a"] != link["country_b"])
    assert sum(link["cross_border"] for link in links) == 2
    assert [link["exhibit_a"] for link in service.links(cross_border=True)] != []
    assert all(link["cross_border"] for link in service.links(cross_border=True))
    with service.store.transaction() as session:
        statuses = set(session.scalars(select(Exhibit.status)))
        results = session.execute(
            select(
                CorrelationResult.query_pk, CorrelationResult.candidate_pk, CorrelationResult.score
            )
        ).all()
    assert statuses == {"correlated"}
    # each pair compared once, its score recorded for both exhibits
    scores = {(query, candidate): score for query, candidate, score in results}
    assert all(
        scores.get((candidate, query)) == score for (query, candidate), score in scores.items()
    )
    assert report.correlation.comparisons == len(scores) // 2


def test_ingest_twice_stores_nothing_twice(service, exhibits):
    first = service.ingest(exhibits)
    counts = {model: count(service, model) for model in (Exhibit, Link, CorrelationResult)}
    second = service.ingest(exhibits)
    assert (second.ingested, second.skipped, second.failed) == (0, 6, [])
    assert second.correlation is not None and second.correlation.comparisons == 0
    assert {model: count(service, model) for model in counts} == counts
    assert counts[Exhibit] == first.ingested == 6
    assert service.index.count(partition_of("cartridge_case", "topography")) == 6


def test_a_bad_row_fails_alone_and_the_others_are_stored(service, exhibits, tmp_path):
    rows = manifest_rows(exhibits)[:2]
    for row in rows:
        row["path"] = str(exhibits.parent / row["path"])
    corrupt = tmp_path / "corrupt.x3p"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip archive")
    bad = [
        {**rows[0], "exhibit_id": "BAD-1", "path": str(corrupt)},
        {**rows[0], "exhibit_id": "BAD-2", "path": str(tmp_path / "missing.x3p")},
        {**rows[0], "exhibit_id": "BAD-3", "kind": "bullet"},
        {**rows[0], "exhibit_id": "BAD-4", "country": "Netherlands"},
    ]
    manifest = write_rows(tmp_path / "manifest.csv", [rows[0], *bad, rows[1]])
    report = service.ingest(manifest, correlate=False)
    assert (report.ingested, report.skipped) == (2, 0)
    assert [entry["exhibit_id"] for entry in report.failed] == ["BAD-1", "BAD-2", "BAD-3", "BAD-4"]
    corrupt_entry, missing_entry, bullet_entry, country_entry = report.failed
    assert corrupt_entry["path"] == str(corrupt)
    assert str(corrupt) in corrupt_entry["error"]
    assert "missing.x3p" in missing_entry["error"]
    # a casing scan given as a bullet is refused from its header: too coarse for a land
    assert "µm per pixel is coarser than" in bullet_entry["error"]
    assert "country" in country_entry["error"]
    assert all(entry["error"].startswith("manifest.csv line ") for entry in report.failed)
    assert count(service, Exhibit) == 2
    with service.store.transaction() as session:
        assert set(session.scalars(select(Exhibit.status))) == {"queued"}  # not correlated


def test_another_file_under_a_stored_exhibit_id_is_refused(service, exhibits, tmp_path):
    rows = manifest_rows(exhibits)
    for row in rows:
        row["path"] = str(exhibits.parent / row["path"])
    service.ingest(write_rows(tmp_path / "first.csv", rows[:1]), correlate=False)
    swapped = [{**rows[0], "path": rows[1]["path"]}]
    report = service.ingest(write_rows(tmp_path / "second.csv", swapped), correlate=False)
    (failure,) = report.failed
    assert "already stored with other files" in failure["error"]
    assert (report.ingested, report.skipped) == (0, 0)
    assert count(service, Exhibit) == 1


def test_exhibits_of_one_case_are_never_compared_nor_linked(service, exhibits, tmp_path):
    rows = manifest_rows(exhibits)
    for row in rows:
        row["path"] = str(exhibits.parent / row["path"])
    first, mate = rows[0], rows[1]
    # the two mates filed by one agency in one case: the case links them already
    mate.update(agency=first["agency"], country=first["country"], case_id=first["case_id"])
    service.ingest(write_rows(tmp_path / "manifest.csv", rows))
    keys = {key_of(service, row["exhibit_id"]) for row in (first, mate)}
    with service.store.transaction() as session:
        compared = session.execute(
            select(CorrelationResult.query_pk, CorrelationResult.candidate_pk)
        ).all()
    assert not any({query, candidate} == keys for query, candidate in compared)
    linked = {frozenset((link["exhibit_a"], link["exhibit_b"])) for link in service.links()}
    assert frozenset((first["exhibit_id"], mate["exhibit_id"])) not in linked
    assert len(linked) == 2  # the other two pistols' mates


def test_reindex_rebuilds_the_index_and_gives_identical_results(tmp_path, exhibits):
    store = tmp_path / "store"
    query = exhibits.parent / manifest_rows(exhibits)[2]["path"]
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        service.ingest(exhibits, correlate=False)
        before = service.search(query, top=4, rerank=False)
        report = service.reindex()
    assert report.as_json()["vectors"] == 6
    assert report.as_json()["partitions"] == [
        {"kind": "cartridge_case", "modality": "topography", "vectors": 6}
    ]
    shutil.rmtree(index_folder(service.store))
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        assert service.index_state.added == 6  # reconciled from the database
        service.reindex()
        after = service.search(query, top=4, rerank=False)
    assert [c.exhibit_id for c in after.candidates] == [c.exhibit_id for c in before.candidates]
    np.testing.assert_allclose(
        [c.score for c in after.candidates], [c.score for c in before.candidates], rtol=1e-6
    )
    assert after.candidates[0].score == pytest.approx(1.0)  # the stored copy of the query


def test_a_damaged_or_outdated_index_is_rebuilt_from_the_database(tmp_path, exhibits, caplog):
    store = tmp_path / "store"
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        service.ingest(exhibits, correlate=False)
    manifest = index_folder(service.store) / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format_version": 1', '"format_version": 9'))
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        assert service.index_state.discarded is not None
        assert "format version" in service.index_state.discarded
        assert service.index.count(partition_of("cartridge_case", "topography")) == 6
    assert "rebuilding it from the database" in caplog.text
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        assert not service.index_state.changed  # the rebuilt index was saved


def test_index_ids_the_database_lacks_are_removed_on_open(tmp_path, exhibits):
    store = tmp_path / "store"
    partition = partition_of("cartridge_case", "topography")
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        service.ingest(exhibits, correlate=False)
        vector = service.index.partition(partition).vectors([key_of(service, "R1P01-01")])
        service.index.add(partition, np.asarray([999_999]), vector)
        service.save_index()
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        assert (service.index_state.added, service.index_state.removed) == (0, 1)
        assert 999_999 not in service.index.ids(partition)


def test_a_calibre_filter_admits_its_calibre_and_unknown_calibres(tmp_path, exhibits):
    rows = manifest_rows(exhibits)
    for row in rows:
        row["path"] = str(exhibits.parent / row["path"])
    rows[0]["caliber"] = "9mm Luger"
    rows[1]["caliber"] = ".40 S&W"  # the mate of rows[0], of another calibre on purpose
    rows[2]["caliber"] = ""
    with EvidenceService.open(tmp_path / "store", config=TEST_CONFIG, workers=1) as service:
        service.ingest(write_rows(tmp_path / "manifest.csv", rows[:4]), correlate=False)
        found = service.search(Path(rows[1]["path"]), top=4, caliber="9 MM luger", rerank=False)
    assert {c.exhibit_id for c in found.candidates} == {
        rows[0]["exhibit_id"],
        rows[2]["exhibit_id"],
    }


def test_calibre_classes_are_stable_and_ignore_spelling():
    assert caliber_class("9mm Luger") == caliber_class(" 9 MM-luger ") > 0
    assert caliber_class("9mm Luger") != caliber_class("9x19")
    assert caliber_class(None) == caliber_class("") == caliber_class(" - ") == UNKNOWN_CALIBER_CLASS
    assert allowed_classes(None) is None
    assert allowed_classes("9mm") == [caliber_class("9mm"), UNKNOWN_CALIBER_CLASS]


def test_service_settings_are_checked():
    with pytest.raises(ValueError, match="top_k"):
        ServiceConfig(top_k=0)
    with pytest.raises(ValueError, match="lead_threshold"):
        ServiceConfig(lead_threshold=float("nan"))
    assert TEST_CONFIG.lead_threshold_for("photograph") == 15.0
    default = dataclasses.replace(TEST_CONFIG, lead_threshold=None)
    assert default.lead_threshold_for("topography") == default.compare.lead_threshold


def test_search_reports_unreadable_items(tmp_path, exhibits):
    empty = tmp_path / "no-lands"
    empty.mkdir()
    with EvidenceService.open(tmp_path / "store", config=TEST_CONFIG, workers=1) as service:
        with pytest.raises(ValueError, match="holds no X3P scan"):
            service.search(empty, kind="bullet")
        with pytest.raises(ValueError, match="kind must be"):
            service.search(exhibits, kind="pistol")
        with pytest.raises(ValueError, match="not an X3P"):
            service.search(exhibits, top=1)  # the manifest CSV is no scan


def test_a_read_only_open_refuses_a_folder_without_a_store(tmp_path):
    with pytest.raises(ValueError, match="no evidence store here"):
        EvidenceService.open(tmp_path / "nothing", create=False)
    assert not (tmp_path / "nothing").exists()


def test_parsed_manifests_are_accepted_too(tmp_path, exhibits):
    with EvidenceService.open(tmp_path / "store", config=TEST_CONFIG, workers=1) as service:
        report = service.ingest(read_manifest(exhibits), correlate=False)
        assert report.ingested == 6
        with service.store.transaction() as session:
            versions = set(session.scalars(select(ExhibitDescriptor.version)))
    assert len(versions) == 1

"""``reindex`` after a change of preparation: outdated marks prepared again from the originals.

A store is filled with the six synthetic casings of ``tests/api/synthetic_exhibits.py``, then
opened with other preparation settings (hence another ``casing-prep-...`` version). Reindex must
prepare every mark again from its stored original, write the new mark and descriptor together,
and keep search finding the exhibits; an exhibit whose original is gone keeps its old mark and
is reported. Originals kept at a URL (``$BALLISTICS_ORIGINALS_URL``) are stored there and
prepared again from there.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from api.service import EvidenceService, preparation_version
from api.store.models import Exhibit, ExhibitFile, ExhibitMark
from api.store.originals import FsspecOriginalStore, OriginalStore, open_originals
from tests.api.synthetic_exhibits import TEST_CONFIG, key_of, manifest_rows

CHANGED_CONFIG = dataclasses.replace(
    TEST_CONFIG, prepare=dataclasses.replace(TEST_CONFIG.prepare, outlier_sigmas=5.0)
)


def mark_versions(service: EvidenceService) -> dict[str, tuple[str, bytes]]:
    """exhibit id -> (preparation version, encoded mark) of every stored mark."""
    with service.store.transaction() as session:
        rows = session.execute(
            select(Exhibit.exhibit_id, ExhibitMark.preparation_version, ExhibitMark.data).join(
                ExhibitMark, ExhibitMark.exhibit_pk == Exhibit.id
            )
        ).all()
    return {exhibit_id: (version, bytes(data)) for exhibit_id, version, data in rows}


def test_reindex_prepares_outdated_marks_again_from_the_originals(
    tmp_path: Path, exhibits: Path
) -> None:
    store = tmp_path / "store"
    old_version = preparation_version(TEST_CONFIG)
    new_version = preparation_version(CHANGED_CONFIG)
    assert old_version != new_version
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        service.ingest(exhibits, correlate=False)
        before = mark_versions(service)
    assert {version for version, _ in before.values()} == {old_version}

    query = exhibits.parent / manifest_rows(exhibits)[2]["path"]
    with EvidenceService.open(store, config=CHANGED_CONFIG, workers=1) as service:
        report = service.reindex().as_json()
        after = mark_versions(service)
        found = service.search(query, top=2, rerank=False)
        again = service.reindex().as_json()  # nothing left to prepare
    assert report["marks_prepared_again"] == 6 and report["failed"] == []
    assert report["vectors"] == 6
    assert {version for version, _ in after.values()} == {new_version}
    assert all(after[name][1] != before[name][1] for name in before)  # really prepared again
    assert found.candidates[0].exhibit_id == manifest_rows(exhibits)[2]["exhibit_id"]
    assert found.candidates[0].score == pytest.approx(1.0, abs=1e-5)
    assert again["marks_prepared_again"] == 0


def test_an_exhibit_whose_original_is_gone_keeps_its_old_mark_and_is_reported(
    tmp_path: Path, exhibits: Path
) -> None:
    store = tmp_path / "store"
    lost = manifest_rows(exhibits)[0]["exhibit_id"]
    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        service.ingest(exhibits, correlate=False)
        before = mark_versions(service)
        with service.store.transaction() as session:
            sha256 = session.scalar(
                select(ExhibitFile.sha256).where(ExhibitFile.exhibit_pk == key_of(service, lost))
            )
        blob = service.store.originals.path_for(str(sha256))
    os.chmod(blob, stat.S_IWUSR | stat.S_IRUSR)
    blob.unlink()

    with EvidenceService.open(store, config=CHANGED_CONFIG, workers=1) as service:
        report = service.reindex().as_json()
        after = mark_versions(service)
    assert report["marks_prepared_again"] == 5
    assert [failure["exhibit_id"] for failure in report["failed"]] == [lost]
    assert "original" in report["failed"][0]["error"]
    assert after[lost] == before[lost]  # the old mark, untouched
    assert report["vectors"] == 6  # still indexed from its old descriptor


@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_originals_kept_at_a_url_are_stored_there_and_prepared_again_from_there(
    tmp_path: Path, exhibits: Path, scheme: str
) -> None:
    store = tmp_path / "store"
    if scheme == "memory":  # fsspec's in-memory file system: one process, so one worker
        url, workers = f"memory://originals-{uuid.uuid4().hex}", 1
    else:  # a folder elsewhere, given as a URL, that worker processes open too
        url, workers = f"file://{tmp_path / 'shared' / 'originals'}", 2
    with EvidenceService.open(store, originals_url=url, config=TEST_CONFIG, workers=1) as service:
        service.ingest(exhibits, correlate=False)
        with service.store.transaction() as session:
            digests = session.scalars(select(ExhibitFile.sha256)).all()
    assert len(set(digests)) == 6
    at_url = open_originals(url)
    assert all(at_url.contains(digest) for digest in digests)
    assert not (store / "originals").exists()  # nothing in the store folder's default place

    lost = manifest_rows(exhibits)[0]["exhibit_id"]
    with EvidenceService.open(
        store, originals_url=url, config=CHANGED_CONFIG, workers=workers
    ) as service:
        damaged = _damage_original(service, lost)
        report = service.reindex().as_json()
    assert report["marks_prepared_again"] == 5
    assert [failure["exhibit_id"] for failure in report["failed"]] == [lost]
    assert damaged in report["failed"][0]["error"] and "damaged" in report["failed"][0]["error"]


def _damage_original(service: EvidenceService, exhibit_id: str) -> str:
    """Flip one byte of an exhibit's stored original, wherever the store keeps it; its digest."""
    with service.store.transaction() as session:
        sha256 = str(
            session.scalar(
                select(ExhibitFile.sha256).where(
                    ExhibitFile.exhibit_pk == key_of(service, exhibit_id)
                )
            )
        )
    originals = service.store.originals
    data = bytearray(originals.read(sha256))
    data[-1] ^= 0xFF
    if isinstance(originals, FsspecOriginalStore):
        originals.filesystem.pipe_file(originals.key_for(sha256), bytes(data))
    else:
        assert isinstance(originals, OriginalStore)
        path = originals.path_for(sha256)
        os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
        path.write_bytes(bytes(data))
    return sha256

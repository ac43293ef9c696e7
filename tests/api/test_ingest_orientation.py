"""An orientation declared at intake (manifest column ``orientation``): a casing stored mirrored
and declared so is stored with the mark of the upright file, keeps it through ``reindex``, and
has the declaration in its metadata; a bad value fails its row, naming the column."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from sqlalchemy import select

from api.cli import EXIT_PARTIAL_FAILURE, main
from api.pairs import compare_pairs
from api.service import EvidenceService
from api.store.models import Exhibit, ExhibitMark
from ballistics.io import read_surface, write_x3p
from ballistics.items import Item, Pair
from ballistics.items.encoding import decode_casing_mark
from tests.api.synthetic_exhibits import TEST_CONFIG, manifest_rows, write_rows

CHANGED_CONFIG = dataclasses.replace(
    TEST_CONFIG, prepare=dataclasses.replace(TEST_CONFIG.prepare, outlier_sigmas=5.0)
)


def _same(first: bytes, second: bytes) -> bool:
    """Whether two encoded casing marks hold the same breech face (their sources differ)."""
    a, b = decode_casing_mark(first), decode_casing_mark(second)
    return a.breech_face.shape == b.breech_face.shape and bool(
        np.array_equal(a.breech_face, b.breech_face, equal_nan=True)
    )


def _marks(service: EvidenceService) -> dict[str, tuple[bytes, dict]]:
    with service.store.transaction() as session:
        rows = session.execute(
            select(Exhibit.exhibit_id, ExhibitMark.data, Exhibit.extra_metadata).join(
                ExhibitMark, ExhibitMark.exhibit_pk == Exhibit.id
            )
        ).all()
    return {exhibit_id: (bytes(data), dict(meta or {})) for exhibit_id, data, meta in rows}


def _manifest(tmp_path: Path, exhibits: Path) -> Path:
    row = manifest_rows(exhibits)[0]
    upright = exhibits.parent / row["path"]
    surface = read_surface(upright)
    region = surface.region_of_interest
    stored_bottom_up = write_x3p(
        dataclasses.replace(
            surface,
            values=surface.values[::-1].copy(),
            region_of_interest=None if region is None else region[::-1].copy(),
        ),
        tmp_path / "bottom-up.x3p",
    )
    rows = [
        {**row, "path": str(upright), "exhibit_id": "UP", "orientation": ""},
        {**row, "path": str(stored_bottom_up), "exhibit_id": "DECLARED", "orientation": "mirrored"},
        {**row, "path": str(stored_bottom_up), "exhibit_id": "UNDECLARED", "orientation": ""},
        {**row, "path": str(stored_bottom_up), "exhibit_id": "BAD", "orientation": "upside-down"},
    ]
    return write_rows(tmp_path / "lab.csv", rows)


def test_a_casing_declared_mirrored_is_stored_as_the_upright_one(
    tmp_path: Path, exhibits: Path, capsys
) -> None:
    manifest = _manifest(tmp_path, exhibits)
    store = tmp_path / "store"
    status = main(["ingest", str(manifest), "--store", str(store), "--json", "--no-correlate"])
    report = json.loads(capsys.readouterr().out)
    assert status == EXIT_PARTIAL_FAILURE  # the bad row fails alone
    assert report["ingested"] == 3
    (failure,) = report["failed"]
    assert failure["exhibit_id"] == "BAD"
    assert failure["error"].startswith("lab.csv line 5 orientation: orientation 'upside-down'")
    assert "as_stored, mirrored" in failure["error"]

    with EvidenceService.open(store, config=TEST_CONFIG, workers=1) as service:
        marks = _marks(service)
    assert _same(marks["DECLARED"][0], marks["UP"][0])
    assert not _same(marks["UNDECLARED"][0], marks["UP"][0])  # as stored: the mirror image
    assert marks["DECLARED"][1]["orientation"] == "mirrored"
    assert "orientation" not in marks["UP"][1] and "orientation" not in marks["UNDECLARED"][1]

    # prepared again from the stored original, the declaration still holds
    with EvidenceService.open(store, config=CHANGED_CONFIG, workers=1) as service:
        assert service.reindex().as_json()["marks_prepared_again"] == 3
        again = _marks(service)
    assert _same(again["DECLARED"][0], again["UP"][0])
    assert not _same(again["UP"][0], marks["UP"][0])  # prepared again, with other settings


def test_compare_pairs_reads_each_item_in_its_declared_orientation(
    tmp_path: Path, exhibits: Path
) -> None:
    rows = manifest_rows(exhibits)
    mates = [row for row in rows if row["firearm"] == rows[0]["firearm"]]
    upright, mate = (exhibits.parent / row["path"] for row in mates[:2])
    surface = read_surface(upright)
    region = surface.region_of_interest
    bottom_up = write_x3p(
        dataclasses.replace(
            surface,
            values=surface.values[::-1].copy(),
            region_of_interest=None if region is None else region[::-1].copy(),
        ),
        tmp_path / "bottom-up.x3p",
    )
    pairs = [
        Pair("upright", "mate", Item(upright), Item(mate)),
        Pair("declared", "mate", Item(bottom_up, orientation="mirrored"), Item(mate)),
        Pair("undeclared", "mate", Item(bottom_up), Item(mate)),
    ]
    upright_score, declared_score, undeclared_score = (
        result["score"] for result in compare_pairs(pairs, workers=1).results
    )
    assert declared_score == upright_score
    assert undeclared_score < upright_score

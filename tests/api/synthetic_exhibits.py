"""Synthetic exhibits for the application's tests: files of known pistols, manifests, mates.

The exhibits are synthetic casings with known pistols (``ballistics.synthetic``), rendered at a
coarse 20 µm per pixel so that they are small and quick to prepare: six cases fired by three
consecutively made pistols, two each, so that every exhibit has exactly one true mate.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from api.service import EvidenceService, ServiceConfig
from api.store.models import Exhibit
from ballistics.synthetic import make_casing_dataset, write_exhibit_files

#: rendering resolution of the synthetic scans (µm per pixel): coarse, for speed
PIXEL_UM = 20.0
SEED = 12
#: three agencies, two countries: exhibit i is filed by agency i % 3, so the mates (0, 1) and
#: (4, 5) are filed across a border and the mates (2, 3) within one country
AGENCIES = (("Lab A", "NL"), ("Lab B", "BE"), ("Lab C", "NL"))
#: Synthetic pistols made consecutively share subclass marks: their non-matches score up to
#: about 8 congruent cells (true mates 29-34), above the threshold calibrated on real scans (6),
#: so the tests set the lead threshold between the two.
TEST_CONFIG = ServiceConfig(top_k=2, lead_threshold=15.0)

#: the exhibits written by write_synthetic_casings: two firings of one pistol, one of another
MATCH_A, MATCH_B, OTHER = "P01-01.x3p", "P01-02.x3p", "P02-01.x3p"


def write_exhibits(folder: Path, *, seed: int = SEED, firearms: int = 3) -> Path:
    """Write ``firearms`` pistols x 2 synthetic exhibits and their manifest; return its path."""
    records = make_casing_dataset(
        firearm_count=firearms,
        firings_per_firearm=2,
        seed=seed,
        modality="topography",
        pixel_um=PIXEL_UM,
    )
    return write_exhibit_files(records, folder, modality="topography", agencies=AGENCIES)


def write_synthetic_casings(folder: Path) -> Path:
    """Write three synthetic X3P casings into ``folder`` (names above) and return the folder.

    Two unrelated pistols (no shared production run), so that the known non-match is a plain
    one; the default 10 µm rendering keeps a comparison around a second.
    """
    records = make_casing_dataset(
        firearm_count=2, firings_per_firearm=2, seed=11, consecutive=False, modality=None
    )
    write_exhibit_files(records[:3], folder)
    written = sorted(path.name for path in folder.glob("*.x3p"))
    assert written == [MATCH_A, MATCH_B, OTHER], written
    return folder


def manifest_rows(manifest: Path) -> list[dict[str, str]]:
    with manifest.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(dict.fromkeys(column for row in rows for column in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def mates(rows: list[dict[str, str]]) -> dict[str, str]:
    """Return each exhibit id's true mate (the other exhibit of the same pistol)."""
    by_firearm: dict[str, list[str]] = {}
    for row in rows:
        by_firearm.setdefault(row["firearm"], []).append(row["exhibit_id"])
    return {
        exhibit: next(other for other in group if other != exhibit)
        for group in by_firearm.values()
        for exhibit in group
    }


def key_of(service: EvidenceService, exhibit_id: str) -> int:
    """The store's key of an exhibit, by its exhibit id."""
    with service.store.transaction() as session:
        return int(session.scalar(select(Exhibit.id).where(Exhibit.exhibit_id == exhibit_id)))

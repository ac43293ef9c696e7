"""The orientation declared for each real file whose header does not say it (``orientations.csv``).

A lab declares a file's orientation at intake (manifest column and upload field ``orientation``,
:mod:`ballistics.io.intake_orientation`); the benchmarks declare it for the shared real files from
this table, as a lab that knows its scanner's exports would.

Which files, and why
--------------------
The nine DFSC ``older_pipeline`` files: their rows are stored bottom-up relative to the casing seen
from its base. Nothing in their headers says so (no negative increment, no rotation matrix; the
non-standard ``<Origin>`` they carry is carried alike by files that are not mirrored, see
:mod:`ballistics.io.x3p_orientation`). The evidence is the scores: the known matches between an
``older_pipeline`` file and an ``aces_processed`` file of the same firearm (firearms A and C, the
only ones in both folders) score only once the ``older_pipeline`` rows are reversed: as stored
0.0, 0.0, 0.0, 0.5 (K004fA3 against K013sA1, K013sA2, K014vA2, K027gA3) and 0.5, 0.0, 0.5
(K004xC1..C3 against K013pC1); reversed 6.0, 3.5, 5.5, 4.5 and 1.0, 6.0, 4.0 (2026-12-02,
``compare_casings`` with the defaults). Pairs within ``older_pipeline`` are mirrored on both sides
and score alike either way. With the table, DFSC processed × processed goes from AUC 0.795 to
0.997 (``benchmarks/results/raw_scans.json``). Every other shared file is read as stored.

A row applies to the file at its ``path`` only while the file's SHA-256 is the one listed.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from ballistics.io import AS_STORED, check_declared_orientation

TABLE = Path(__file__).with_name("orientations.csv")


def declared_orientations(data_dir: Path, *, table: Path = TABLE) -> dict[str, str]:
    """Return ``{path relative to data_dir: orientation}`` for every listed file found unchanged.

    A listed file that is missing or whose bytes changed is left out (read as stored).
    """
    declared: dict[str, str] = {}
    with table.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            path = data_dir / row["path"]
            if not path.is_file():
                continue
            if hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]:
                declared[row["path"]] = check_declared_orientation(row["orientation"])
    return declared


def orientation_of(path: Path, data_dir: Path, declared: dict[str, str]) -> str:
    """Return the orientation declared for ``path`` (``as_stored`` when the table has none)."""
    try:
        relative = path.resolve().relative_to(data_dir.resolve()).as_posix()
    except ValueError:
        return AS_STORED
    return declared.get(relative, AS_STORED)

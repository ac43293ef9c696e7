"""Manifest parsing: required columns, bad cells failing their row alone, paths, metadata."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from api.manifest import REQUIRED_COLUMNS, problem_record, read_manifest
from ballistics.errors import EvidenceError

HEADER = "path,exhibit_id,case_id,agency,country,kind"


def write(folder: Path, *lines: str, name: str = "manifest.csv") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rows_are_read_with_paths_relative_to_the_manifest_folder(tmp_path):
    absolute = tmp_path / "elsewhere" / "b.x3p"
    manifest = write(
        tmp_path / "lab",
        f"{HEADER},caliber,pixel_um,occurred_on",
        "scans/a.x3p, E1 ,C1,Port of Spain lab,tt,cartridge_case,9mm Luger,6.25,2025-03-01",
        f"{absolute},E2,C2,Georgetown lab,GY,bullet,,,",
    )
    parsed = read_manifest(manifest)
    assert parsed.problems == []
    first, second = parsed.rows
    assert first.path == tmp_path / "lab" / "scans" / "a.x3p"
    assert first.path_text == "scans/a.x3p"
    assert (first.exhibit_id, first.case_id, first.agency) == ("E1", "C1", "Port of Spain lab")
    assert first.country == "TT"  # upper-cased
    assert first.caliber == "9mm Luger"
    assert first.pixel_um == 6.25
    assert first.occurred_on == datetime.date(2025, 3, 1)
    assert first.line == 2
    assert second.path == absolute
    assert second.kind == "bullet"
    assert (second.caliber, second.pixel_um, second.occurred_on) == (None, None, None)


def test_column_order_is_free_and_unknown_columns_are_kept_as_metadata(tmp_path):
    manifest = write(
        tmp_path,
        "kind,country,agency,case_id,exhibit_id,path,firearm,examiner note",
        "cartridge_case,NL,Lab A,C1,E1,a.x3p,Glock 17 #12,found near the door",
        "cartridge_case,NL,Lab A,C1,E2,b.x3p,,",
    )
    first, second = read_manifest(manifest).rows
    assert first.path == tmp_path / "a.x3p"
    assert dict(first.metadata) == {
        "firearm": "Glock 17 #12",
        "examiner note": "found near the door",
    }
    assert dict(second.metadata) == {}  # empty cells are not metadata


@pytest.mark.parametrize("missing", REQUIRED_COLUMNS)
def test_a_missing_required_column_refuses_the_manifest_naming_it(tmp_path, missing):
    columns = [column for column in REQUIRED_COLUMNS if column != missing]
    manifest = write(tmp_path, ",".join(columns), ",".join("x" for _ in columns))
    with pytest.raises(EvidenceError) as raised:
        read_manifest(manifest)
    assert str(manifest) in str(raised.value)
    assert missing in str(raised.value)


def test_a_missing_or_empty_manifest_is_refused_naming_the_file(tmp_path):
    with pytest.raises(EvidenceError, match="no such manifest"):
        read_manifest(tmp_path / "absent.csv")
    empty = write(tmp_path, "", name="empty.csv")
    with pytest.raises(EvidenceError, match="no header") as raised:
        read_manifest(empty)
    assert "empty.csv" in str(raised.value)
    repeated = write(tmp_path, f"{HEADER},path", "a,b,c,d,NL,cartridge_case,e", name="twice.csv")
    with pytest.raises(EvidenceError, match="'path' more than once"):
        read_manifest(repeated)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(f"{HEADER}\na.x3p,E1,C1,Lab \xe9,NL,cartridge_case\n".encode("latin-1"))
    with pytest.raises(EvidenceError, match="not UTF-8"):
        read_manifest(latin)


@pytest.mark.parametrize(
    ("cells", "field", "reason"),
    [
        ("a.x3p,E1,C1,Lab A,XX,cartridge_case,,", "country", "ISO 3166-1"),
        ("a.x3p,E1,C1,Lab A,Netherlands,cartridge_case,,", "country", "ISO 3166-1"),
        ("a.x3p,E1,C1,Lab A,NL,cartridge_case,2025-13-01,", "occurred_on", "YYYY-MM-DD"),
        ("a.x3p,E1,C1,Lab A,NL,cartridge_case,01/03/2025,", "occurred_on", "YYYY-MM-DD"),
        ("a.x3p,E1,C1,Lab A,NL,casing,,", "kind", "cartridge_case, bullet"),
        ("a.x3p,E1,C1,Lab A,NL,cartridge_case,,-2", "pixel_um", "positive number"),
        ("a.x3p,E1,C1,Lab A,NL,cartridge_case,,abc", "pixel_um", "positive number"),
        (",E1,C1,Lab A,NL,cartridge_case,,", "path", "is empty"),
        ("a.x3p,,C1,Lab A,NL,cartridge_case,,", "exhibit_id", "is empty"),
        ("a.x3p,E1,,Lab A,NL,cartridge_case,,", "case_id", "is empty"),
        ("a.x3p,E1,C1,,NL,cartridge_case,,", "agency", "is empty"),
    ],
)
def test_a_bad_cell_fails_its_row_only_naming_line_and_field(tmp_path, cells, field, reason):
    manifest = write(
        tmp_path,
        f"{HEADER},occurred_on,pixel_um",
        "good.x3p,E0,C0,Lab A,NL,cartridge_case,2025-03-01,",
        cells,
        "other.x3p,E9,C9,Lab A,NL,cartridge_case,,",
    )
    parsed = read_manifest(manifest)
    assert [row.exhibit_id for row in parsed.rows] == ["E0", "E9"]
    (problem,) = parsed.problems
    assert problem.line == 3
    assert problem.error.startswith(f"manifest.csv line 3 {field}: ")
    assert reason in problem.error
    record = problem_record(problem)
    assert set(record) >= {"path", "error"}
    assert record["path"] == cells.split(",")[0]
    assert parsed.row_count == 3


def test_a_row_with_more_cells_than_the_header_fails_alone(tmp_path):
    manifest = write(
        tmp_path,
        HEADER,
        "a.x3p,E1,C1,Lab A,NL,cartridge_case,surplus",
        "b.x3p,E2,C2,Lab A,NL,cartridge_case",
    )
    parsed = read_manifest(manifest)
    assert [row.exhibit_id for row in parsed.rows] == ["E2"]
    assert "7 cells, the header 6" in parsed.problems[0].error


def test_blank_lines_quoted_cells_and_a_byte_order_mark_are_handled(tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "\ufeff" + HEADER + ",note\n\n"
        '"scan, one.x3p",E1,C1,"Lab, A",NL,cartridge_case,"two\nlines"\n'
        "\n"
        "b.x3p,E2,C2,Lab A,NL,cartridge_case,\n",
        encoding="utf-8",
    )
    parsed = read_manifest(manifest)
    assert parsed.problems == []
    first, second = parsed.rows
    assert first.path.name == "scan, one.x3p"
    assert first.agency == "Lab, A"
    assert first.metadata["note"] == "two\nlines"
    assert (first.line, second.line) == (3, 6)


def test_a_declared_orientation_is_read_and_recorded_as_metadata_when_mirrored(tmp_path):
    manifest = write(
        tmp_path,
        f"{HEADER},orientation,firearm",
        "a.x3p,E1,C1,Lab A,NL,cartridge_case,mirrored,G17",
        "b.x3p,E2,C1,Lab A,NL,cartridge_case,as_stored,",
        "c.x3p,E3,C1,Lab A,NL,cartridge_case,,",
        "d,E4,C1,Lab A,NL,bullet,as_stored,",
    )
    parsed = read_manifest(manifest)
    assert parsed.problems == []
    mirrored, as_stored, empty, bullet = parsed.rows
    assert mirrored.orientation == "mirrored"
    assert dict(mirrored.metadata) == {"orientation": "mirrored", "firearm": "G17"}
    for row in (as_stored, empty, bullet):
        assert row.orientation == "as_stored"
        assert "orientation" not in row.metadata  # the default is not written down


@pytest.mark.parametrize(
    ("cell", "kind", "reason"),
    [
        ("flipped", "cartridge_case", "'flipped' is not one of as_stored, mirrored"),
        ("Mirrored", "cartridge_case", "'Mirrored' is not one of as_stored, mirrored"),
        ("mirrored", "bullet", "'mirrored' is declared for cartridge cases only"),
    ],
)
def test_a_bad_orientation_fails_its_row_naming_the_column(tmp_path, cell, kind, reason):
    manifest = write(
        tmp_path,
        f"{HEADER},orientation",
        f"a.x3p,E1,C1,Lab A,NL,{kind},{cell}",
        "b.x3p,E2,C1,Lab A,NL,cartridge_case,mirrored",
    )
    parsed = read_manifest(manifest)
    assert [row.exhibit_id for row in parsed.rows] == ["E2"]
    (problem,) = parsed.problems
    assert problem.error.startswith("manifest.csv line 2 orientation: ")
    assert reason in problem.error

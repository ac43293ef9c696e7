"""Read an ingest manifest: the CSV of evidence items that ``ballistics ingest`` stores.

The format is ../shared/CONTRACT.md's: a header row in any column order; required columns
``path``, ``exhibit_id``, ``case_id``, ``agency``, ``country``, ``kind``; optional ``caliber``,
``pixel_um``, ``occurred_on``, ``orientation`` (``as_stored``, the default, or ``mirrored``: the
file's rows are stored bottom-up relative to the casing seen from its base, see
:mod:`ballistics.io.intake_orientation`; recorded in the exhibit's metadata when ``mirrored``);
any other column is kept, per row, as exhibit metadata (of which
``land_count`` and ``twist``, a bullet's rifling characteristics, are checked: see
:mod:`api.rifling`).

Two kinds of problem are told apart. A manifest that cannot be used at all (missing, unreadable,
not UTF-8, a required column missing, a column named twice) raises
:class:`~ballistics.errors.EvidenceError` naming the file, and nothing is ingested. A bad cell
makes only its row fail: the row becomes a :class:`ManifestProblem` naming the line, the field
and the reason, and the other rows go on.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.rifling import (
    LAND_COUNT_KEY,
    TWIST_KEY,
    RiflingClass,
    parse_land_count,
    parse_twist,
)
from api.store.repository import check_assigned_country_code
from ballistics.errors import EvidenceError
from ballistics.io import AS_STORED, check_declared_orientation
from ballistics.items import ItemKind

#: the optional column (and upload field, and exhibit metadata key) of a declared orientation
ORIENTATION_COLUMN = "orientation"

REQUIRED_COLUMNS = ("path", "exhibit_id", "case_id", "agency", "country", "kind")
OPTIONAL_COLUMNS = ("caliber", "pixel_um", "occurred_on", ORIENTATION_COLUMN)
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: longest identifier (exhibit, case, agency) the store accepts
MAX_IDENTIFIER_LENGTH = 200
#: longest calibre text the store accepts
MAX_CALIBER_LENGTH = 64


@dataclass(frozen=True)
class ManifestRow:
    """One usable row of a manifest.

    Parameters
    ----------
    line
        The line of the file the row starts on (the header is line 1).
    path_text
        The ``path`` cell exactly as written (echoed in results, like ``compare --pairs``).
    path
        Where the item is: ``path_text`` if absolute, else relative to the manifest's folder.
    exhibit_id, case_id, agency
        Identifiers, stripped of surrounding blanks.
    country
        ISO 3166-1 alpha-2 code of the agency's country, upper case: one assigned to a country
        (``GB``, not ``UK``), or ``XK`` for Kosovo; written in any case.
    kind
        ``"cartridge_case"`` or ``"bullet"``.
    caliber
        The calibre as written (stripped), or None when absent or empty.
    pixel_um
        Micrometres per pixel for 2D images without it, or None.
    occurred_on
        The incident's date, or None.
    orientation
        What the lab declared of a cartridge case file's orientation: ``as_stored`` (also when
        the cell is absent or empty) or ``mirrored``.
    metadata
        The row's cells of columns the manifest format does not define (non-empty ones only).
    """

    line: int
    path_text: str
    path: Path
    exhibit_id: str
    case_id: str
    agency: str
    country: str
    kind: str
    caliber: str | None = None
    pixel_um: float | None = None
    occurred_on: datetime.date | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    orientation: str = AS_STORED


@dataclass(frozen=True)
class ManifestProblem:
    """A row that cannot be ingested, and why.

    Parameters
    ----------
    line
        The line the row starts on.
    path_text
        Its ``path`` cell as written (empty when the cell is).
    error
        One line: the manifest's name, the line, the field and the reason.
    exhibit_id
        Its ``exhibit_id`` cell, for the report (empty when the cell is).
    """

    line: int
    path_text: str
    error: str
    exhibit_id: str = ""


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: its usable rows and its bad ones, each in file order.

    Parameters
    ----------
    path
        The manifest file.
    rows
        The rows that passed every check.
    problems
        The rows that did not.
    columns
        The header's column names, stripped, in file order.
    """

    path: Path
    rows: list[ManifestRow]
    problems: list[ManifestProblem]
    columns: tuple[str, ...]

    @property
    def row_count(self) -> int:
        """Number of data rows, usable or not."""
        return len(self.rows) + len(self.problems)


def read_manifest(path: Path | str) -> Manifest:
    """Parse the ingest manifest at ``path``.

    Parameters
    ----------
    path
        The CSV file (UTF-8, with or without a byte-order mark). Relative item paths are taken
        relative to its folder.

    Returns
    -------
    Manifest
        Usable rows and bad rows; a bad cell fails its row only.

    Raises
    ------
    EvidenceError
        The file is missing or unreadable, is not UTF-8 text, has no header, lacks a required
        column, or names a column twice. The message names the file and says what to fix.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvidenceError(str(path), "no such manifest file") from None
    except IsADirectoryError:
        raise EvidenceError(str(path), "is a folder; give the manifest CSV file") from None
    except UnicodeDecodeError as error:
        raise EvidenceError(
            str(path), f"the manifest is not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    except OSError as error:
        raise EvidenceError(
            str(path), f"cannot read the manifest ({error.strerror or error})"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise EvidenceError(str(path), f"the header is not valid CSV ({error})") from None
    if not header or not any(cell.strip() for cell in header):
        raise EvidenceError(
            str(path),
            f"the manifest has no header row; its first line must name the columns "
            f"{', '.join(REQUIRED_COLUMNS)}",
        )
    columns = tuple(cell.strip() for cell in header)
    _check_columns(path, columns)
    rows: list[ManifestRow] = []
    problems: list[ManifestProblem] = []
    folder = path.parent
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # the csv module cannot resynchronise after a malformed line: stop there
            problems.append(
                ManifestProblem(line, "", f"{path.name} line {line}: not valid CSV ({error})")
            )
            break
        if not any(cell.strip() for cell in cells):
            continue  # blank lines separate nothing in a CSV; skip them
        outcome = _parse_row(cells, columns, line=line, folder=folder, name=path.name)
        (rows if isinstance(outcome, ManifestRow) else problems).append(outcome)  # type: ignore[arg-type]
    return Manifest(path=path, rows=rows, problems=problems, columns=columns)


def _check_columns(path: Path, columns: tuple[str, ...]) -> None:
    named = [column for column in columns if column]
    repeated = sorted({column for column in named if named.count(column) > 1})
    if repeated:
        raise EvidenceError(
            str(path),
            f"the header names column {repeated[0]!r} more than once; keep one column of each name",
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise EvidenceError(
            str(path),
            f"the header lacks the required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (found: {', '.join(named) or 'nothing'})",
        )


def _parse_row(
    cells: list[str], columns: tuple[str, ...], *, line: int, folder: Path, name: str
) -> ManifestRow | ManifestProblem:
    values = {column: cell.strip() for column, cell in zip(columns, cells, strict=False)}
    path_text = values.get("path", "")
    exhibit_id = values.get("exhibit_id", "")
    where = f"{name} line {line}"
    try:
        if len(cells) > len(columns):
            raise _CellError("", f"the row has {len(cells)} cells, the header {len(columns)}")
        kind = _kind(values.get("kind", ""))
        orientation = _orientation(values.get(ORIENTATION_COLUMN, ""), kind)
        row = ManifestRow(
            line=line,
            path_text=path_text,
            path=_item_path(path_text, folder),
            exhibit_id=_identifier(values, "exhibit_id"),
            case_id=_identifier(values, "case_id"),
            agency=_identifier(values, "agency"),
            country=_country(values.get("country", "")),
            kind=kind,
            caliber=_caliber(values.get("caliber", "")),
            pixel_um=_pixel_um(values.get("pixel_um", "")),
            occurred_on=_date(values.get("occurred_on", "")),
            metadata=orientation_metadata(_metadata(values), orientation),
            orientation=orientation,
        )
    except _CellError as error:
        field_text = f" {error.column}" if error.column else ""
        return ManifestProblem(
            line, path_text, f"{where}{field_text}: {error.reason}", exhibit_id=exhibit_id
        )
    return row


def _metadata(values: Mapping[str, str]) -> dict[str, str]:
    """The row's other non-empty cells; the rifling characteristics checked and normalised."""
    metadata = {
        column: value
        for column, value in values.items()
        if column and column not in KNOWN_COLUMNS and value
    }
    try:
        rifling = RiflingClass(
            land_count=parse_land_count(metadata.pop(LAND_COUNT_KEY, None)),
            twist=parse_twist(metadata.pop(TWIST_KEY, None)),
        )
    except ValueError as error:
        column = TWIST_KEY if str(error).startswith("twist") else LAND_COUNT_KEY
        raise _CellError(column, str(error)) from None
    return {**metadata, **rifling.as_metadata()}


class _CellError(ValueError):
    """A bad cell: which column and why (turned into a ManifestProblem by the caller)."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _item_path(text: str, folder: Path) -> Path:
    if not text:
        raise _CellError(
            "path", "is empty; give the item's file, absolute or relative to the manifest's folder"
        )
    path = Path(text)
    return path if path.is_absolute() else folder / path


def _identifier(values: Mapping[str, str], column: str) -> str:
    text = values.get(column, "")
    if not text:
        raise _CellError(column, "is empty; every row needs one")
    if len(text) > MAX_IDENTIFIER_LENGTH:
        raise _CellError(
            column, f"is {len(text)} characters long; the most is {MAX_IDENTIFIER_LENGTH}"
        )
    return text


def _country(text: str) -> str:
    # the check `ballistics agency add` makes: a row naming no country fails here, alone
    try:
        return check_assigned_country_code(text)
    except ValueError as error:
        raise _CellError("country", str(error)) from None


def _kind(text: str) -> str:
    names = [kind.value for kind in ItemKind]
    if text not in names:
        raise _CellError("kind", f"{text!r} is not one of {', '.join(names)}")
    return text


def _caliber(text: str) -> str | None:
    if len(text) > MAX_CALIBER_LENGTH:
        raise _CellError(
            "caliber", f"is {len(text)} characters long; the most is {MAX_CALIBER_LENGTH}"
        )
    return text or None


def _orientation(text: str, kind: str) -> str:
    try:
        orientation = check_declared_orientation(text)
    except ValueError as error:
        raise _CellError(ORIENTATION_COLUMN, str(error)) from None
    if orientation != AS_STORED and kind != ItemKind.CARTRIDGE_CASE:
        raise _CellError(
            ORIENTATION_COLUMN, f"{orientation!r} is declared for cartridge cases only, not {kind}"
        )
    return orientation


def orientation_metadata(metadata: Mapping[str, str], orientation: str) -> dict[str, str]:
    """Return ``metadata`` with a declared orientation recorded (only when not ``as_stored``)."""
    recorded = dict(metadata)
    if orientation != AS_STORED:
        recorded[ORIENTATION_COLUMN] = orientation
    return recorded


def declared_orientation(metadata: Mapping[str, Any] | None) -> str:
    """Return the orientation an exhibit's metadata records (``as_stored`` when none).

    Raises
    ------
    ValueError
        The recorded value is not a declared orientation.
    """
    return check_declared_orientation(str((metadata or {}).get(ORIENTATION_COLUMN) or ""))


def _pixel_um(text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise _CellError("pixel_um", f"{text!r} is not a positive number of micrometres per pixel")
    return value


def _date(text: str) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise _CellError(
            "occurred_on", f"{text!r} is not an ISO 8601 date; write it as YYYY-MM-DD"
        ) from None


def problem_record(problem: ManifestProblem) -> dict[str, Any]:
    """Return a bad row as an entry of the ingest report's ``failed`` list."""
    return {
        "path": problem.path_text,
        "error": problem.error,
        "line": problem.line,
        "exhibit_id": problem.exhibit_id,
    }

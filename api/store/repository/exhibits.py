"""Cases and exhibits: an agency's incidents and the items stored under them, with their files."""

from __future__ import annotations

import datetime
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.store.errors import ConflictError, NotFoundError
from api.store.models import (
    EXHIBIT_STATUSES,
    KINDS,
    MODALITIES,
    Agency,
    Case,
    Exhibit,
    ExhibitFile,
)
from api.store.originals import StoredOriginal
from api.store.repository._common import _identifier, _one_of
from api.store.repository.audit_log import audit

#: exhibits read in one query
_LOOKUP_BATCH = 500


def item_sha256(file_digests: Sequence[str]) -> str:
    """Return an item's digest: its file's SHA-256, or for several files (a bullet's lands, in
    land order) the SHA-256 of their digests joined by newlines."""
    if not file_digests:
        raise ValueError("an item has at least one file; give the SHA-256 of each of its files.")
    if len(file_digests) == 1:
        return file_digests[0]
    return hashlib.sha256("\n".join(file_digests).encode("ascii")).hexdigest()


def get_or_create_case(
    session: Session, agency: Agency, case_id: str, *, occurred_on: datetime.date | None = None
) -> Case:
    """Return ``agency``'s case ``case_id``, creating it if new.

    Raises
    ------
    ConflictError
        The case exists with another ``occurred_on`` date.
    """
    case_id = _identifier(case_id, "case_id")
    if isinstance(occurred_on, datetime.datetime):
        raise ValueError("occurred_on is a date; give datetime.date, not a datetime.")
    statement = select(Case).where(Case.agency_pk == agency.id, Case.case_id == case_id)
    case = session.scalar(statement)
    if case is None:
        candidate = Case(agency=agency, case_id=case_id, occurred_on=occurred_on)
        try:
            with session.begin_nested():
                session.add(candidate)
        except IntegrityError:
            case = session.scalar(statement)
            if case is None:
                raise
        else:
            return candidate
    if occurred_on is not None:
        if case.occurred_on is None:
            case.occurred_on = occurred_on
        elif case.occurred_on != occurred_on:
            raise ConflictError(
                f"case {case_id!r} of {agency.name} occurred on {case.occurred_on.isoformat()}, "
                f"not {occurred_on.isoformat()}; correct the occurred_on column."
            )
    return case


def get_case(session: Session, agency: Agency, case_id: str) -> Case:
    """Return ``agency``'s case ``case_id``; raise NotFoundError if there is none."""
    case = session.scalar(select(Case).where(Case.agency_pk == agency.id, Case.case_id == case_id))
    if case is None:
        raise NotFoundError("case", case_id)
    return case


# --- exhibits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExhibitAdded:
    """The outcome of :func:`add_exhibit`: the exhibit, and whether this call created it."""

    exhibit: Exhibit
    created: bool

    @property
    def skipped(self) -> bool:
        """True when the same item was already stored (an idempotent repeat)."""
        return not self.created


def add_exhibit(
    session: Session,
    case: Case,
    exhibit_id: str,
    *,
    kind: str,
    files: Sequence[StoredOriginal],
    caliber: str | None = None,
    modality: str | None = None,
    pixel_um: float | None = None,
    metadata: Mapping[str, Any] | None = None,
    shared: bool = True,
    actor: str | None = None,
) -> ExhibitAdded:
    """Store exhibit ``exhibit_id`` of ``case`` with its original files, once.

    Adding the same item again (same agency, exhibit id, files, case and kind) returns the
    stored exhibit with ``created`` False, so that re-running an ingest changes nothing.

    Parameters
    ----------
    case
        The case it belongs to; the exhibit belongs to the case's agency.
    exhibit_id
        The agency's id of the exhibit, unique within the agency.
    kind
        ``"cartridge_case"`` or ``"bullet"``.
    files
        The stored originals (:meth:`api.store.originals.OriginalStore.put_file`), one per land
        of a bullet in land order.
    caliber, modality, pixel_um
        Calibre (a class filter), modality and micrometres per pixel of the surface read from
        the files; None when not known yet.
    metadata
        Free fields (the manifest's unknown columns, the file's metadata): JSON-serialisable.
    shared
        Whether other agencies may see it.
    actor
        Who submits it, for the audit log; default the case's agency.

    Raises
    ------
    ConflictError
        The agency already has this exhibit id with different files, or in another case, or of
        another kind.
    ValueError
        A field is empty or out of range.
    """
    exhibit_id, kind, modality = _checked_fields(exhibit_id, kind, modality, pixel_um)
    files = list(files)
    digest = item_sha256([original.sha256 for original in files])
    agency = case.agency
    existing = find_exhibit(session, agency, exhibit_id)
    if existing is None:
        exhibit = Exhibit(
            agency=agency,
            case=case,
            exhibit_id=exhibit_id,
            kind=kind,
            caliber=caliber,
            modality=modality,
            sha256=digest,
            pixel_um=pixel_um,
            extra_metadata=dict(metadata or {}),
            shared=bool(shared),
            files=_exhibit_files(files),
        )
        try:
            with session.begin_nested():
                session.add(exhibit)
        except IntegrityError:  # stored by a concurrent transaction since the lookup
            existing = find_exhibit(session, agency, exhibit_id)
            if existing is None:
                raise
        else:
            _audit_added(session, exhibit, actor=actor or agency.name)
            return ExhibitAdded(exhibit=exhibit, created=True)
    check_same_item(
        existing,
        sha256=digest,
        case_id=case.case_id,
        kind=kind,
        caliber=caliber,
        shared=bool(shared),
        modality=modality,
        pixel_um=pixel_um,
        metadata=metadata,
    )
    return ExhibitAdded(exhibit=existing, created=False)


def _checked_fields(
    exhibit_id: str, kind: str, modality: str | None, pixel_um: float | None
) -> tuple[str, str, str | None]:
    """Return the exhibit id, kind and modality as stored; raise ValueError for a bad one."""
    exhibit_id = _identifier(exhibit_id, "exhibit_id")
    kind = _one_of(kind, KINDS, "kind")
    if modality is not None:
        modality = _one_of(str(modality), MODALITIES, "modality")
    if pixel_um is not None and not (math.isfinite(pixel_um) and pixel_um > 0):
        raise ValueError(f"pixel_um {pixel_um!r} must be a positive number of micrometres.")
    return exhibit_id, kind, modality


def _exhibit_files(files: Sequence[StoredOriginal]) -> list[ExhibitFile]:
    return [
        ExhibitFile(
            position=position,
            sha256=original.sha256,
            name=original.name[:500],
            size_bytes=original.size_bytes,
        )
        for position, original in enumerate(files)
    ]


def _audit_added(session: Session, exhibit: Exhibit, *, actor: str) -> None:
    audit(
        session,
        actor,
        "exhibit.add",
        object_type="exhibit",
        object_id=exhibit.public_id,
        details={
            "exhibit_id": exhibit.exhibit_id,
            "case_id": exhibit.case.case_id,
            "sha256": exhibit.sha256,
            "files": [row.sha256 for row in exhibit.files],
        },
    )


def check_same_item(
    exhibit: Exhibit,
    *,
    sha256: str,
    case_id: str,
    kind: str,
    caliber: str | None = None,
    shared: bool | None = None,
    modality: str | None = None,
    pixel_um: float | None = None,
    occurred_on: datetime.date | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Refuse a repeat of ``exhibit`` that differs from what is stored; a repeat is idempotent
    only when it is the same item with the same fields.

    The files, the case and the kind are always compared; the optional fields only when given
    (None: not said, the stored value stands), and of ``metadata`` the entries given.

    Raises
    ------
    ConflictError
        The message names each field that differs with its stored and sent values (the
        exhibit is the caller's own, so its values are the caller's to see).
    """
    where = f"exhibit {exhibit.exhibit_id!r} of {exhibit.agency.name}"
    if exhibit.sha256 != sha256:
        raise ConflictError(
            f"{where} is already stored with other files (SHA-256 {exhibit.sha256}, this item "
            f"{sha256}); an exhibit's files never change: give this item another exhibit_id."
        )
    if exhibit.case.case_id != case_id:
        raise ConflictError(
            f"{where} is already stored in case {exhibit.case.case_id!r}, not {case_id!r}; "
            "correct the case_id (an exhibit never moves to another case)."
        )
    if exhibit.kind != kind:
        raise ConflictError(
            f"{where} is already stored as a {exhibit.kind}, not a {kind}; correct the kind."
        )
    stored_metadata = dict(exhibit.extra_metadata or {})
    compared: list[tuple[str, Any, Any]] = [
        ("caliber", exhibit.caliber, caliber),
        ("shared", exhibit.shared, shared),
        ("modality", exhibit.modality, modality),
        ("occurred_on", exhibit.case.occurred_on, occurred_on),
        *(
            (name, stored_metadata.get(name), value)
            for name, value in sorted((metadata or {}).items())
        ),
    ]
    differences = [
        f"{name} {stored!r} stored, {sent!r} sent"
        for name, stored, sent in compared
        if sent is not None and sent != stored
    ]
    if (
        pixel_um is not None
        and exhibit.pixel_um is not None
        and not math.isclose(pixel_um, exhibit.pixel_um, rel_tol=1e-9)
    ):
        differences.append(f"pixel_um {exhibit.pixel_um!r} stored, {pixel_um!r} sent")
    if differences:
        raise ConflictError(
            f"{where} is already stored with other fields ({'; '.join(differences)}); an "
            "exhibit's fields do not change by uploading it again: send the stored values, or "
            "give this item another exhibit_id."
        )


def find_exhibit(session: Session, agency: Agency, exhibit_id: str) -> Exhibit | None:
    """Return ``agency``'s exhibit ``exhibit_id``, or None."""
    return session.scalar(
        select(Exhibit).where(Exhibit.agency_pk == agency.id, Exhibit.exhibit_id == exhibit_id)
    )


def get_exhibit(session: Session, public_id: str) -> Exhibit:
    """Return the exhibit of public id ``public_id``; raise NotFoundError if there is none."""
    exhibit = session.scalar(select(Exhibit).where(Exhibit.public_id == public_id))
    if exhibit is None:
        raise NotFoundError("exhibit", public_id)
    return exhibit


def exhibits_by_key(session: Session, keys: Iterable[int]) -> dict[int, Exhibit]:
    """Return the exhibits of the given integer ids (FAISS ids), with case and agency loaded.

    Ids with no exhibit (removed since the index was built) are left out of the answer.
    """
    keys = [int(key) for key in keys]
    if not keys:
        return {}
    statement = (
        select(Exhibit)
        .where(Exhibit.id.in_(keys))
        .options(selectinload(Exhibit.case), selectinload(Exhibit.agency))
    )
    return {exhibit.id: exhibit for exhibit in session.scalars(statement)}


def list_exhibits(
    session: Session,
    *,
    agency: Agency | None = None,
    case: Case | None = None,
    kind: str | None = None,
    modality: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Exhibit]:
    """Return exhibits in the order they were stored, optionally filtered."""
    statement = select(Exhibit).order_by(Exhibit.id).offset(offset).limit(limit)
    if agency is not None:
        statement = statement.where(Exhibit.agency_pk == agency.id)
    if case is not None:
        statement = statement.where(Exhibit.case_pk == case.id)
    if kind is not None:
        statement = statement.where(Exhibit.kind == kind)
    if modality is not None:
        statement = statement.where(Exhibit.modality == modality)
    if status is not None:
        statement = statement.where(Exhibit.status == status)
    return list(session.scalars(statement))


def exhibits_newest_first(
    session: Session,
    *,
    agency_key: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    case_id: str | None = None,
    caliber: str | None = None,
    modality: str | None = None,
    limit: int,
    offset: int = 0,
) -> list[Exhibit]:
    """Return exhibits most recent first, filtered in the database, with their case and agency.

    ``agency_key``: one agency's (integer id); ``case_id``: the case's own id, of any agency
    unless ``agency_key`` says; ``caliber``: compared without regard to case, as the leads'
    filter does. ``limit`` and ``offset`` page through the list.
    """
    statement = (
        select(Exhibit)
        .order_by(Exhibit.created_at.desc(), Exhibit.id.desc())
        .offset(offset)
        .limit(limit)
        .options(selectinload(Exhibit.case), selectinload(Exhibit.agency))
    )
    if agency_key is not None:
        statement = statement.where(Exhibit.agency_pk == agency_key)
    if kind is not None:
        statement = statement.where(Exhibit.kind == kind)
    if status is not None:
        statement = statement.where(Exhibit.status == status)
    if modality is not None:
        statement = statement.where(Exhibit.modality == modality)
    if caliber is not None:
        statement = statement.where(func.lower(Exhibit.caliber) == caliber.lower())
    if case_id is not None:
        statement = statement.where(
            Exhibit.case_pk.in_(select(Case.id).where(Case.case_id == case_id))
        )
    return list(session.scalars(statement))


def set_exhibit_status(session: Session, exhibit: Exhibit, status: str) -> Exhibit:
    """Set an exhibit's correlation status (``queued``, ``correlated`` or ``failed``)."""
    exhibit.status = _one_of(status, EXHIBIT_STATUSES, "status")
    session.flush()
    return exhibit


def count_exhibits(session: Session) -> int:
    """Return how many exhibits the store holds."""
    return int(session.scalar(select(func.count()).select_from(Exhibit)) or 0)


def exhibit_kinds(session: Session, keys: Iterable[int]) -> dict[int, str]:
    """Return the kind of mark of each of the exhibits ``keys`` (those that exist)."""
    return {int(key): str(kind) for key, kind in _by_key(session, Exhibit.kind, keys)}


def exhibit_metadata(session: Session, keys: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Return the free metadata of each of the exhibits ``keys`` (those that exist)."""
    return {
        int(key): dict(metadata or {})
        for key, metadata in _by_key(session, Exhibit.extra_metadata, keys)
    }


def uncorrelated_keys(session: Session, keys: Iterable[int]) -> list[int]:
    """Return those of the exhibits ``keys`` not ``correlated`` yet, in key order."""
    return sorted(
        int(key) for key, status in _by_key(session, Exhibit.status, keys) if status != "correlated"
    )


def case_members(session: Session, case_keys: Iterable[int]) -> dict[int, list[int]]:
    """Return the exhibits (integer ids) of each of the cases ``case_keys`` (integer ids)."""
    cases = sorted({int(key) for key in case_keys})
    members: dict[int, list[int]] = {}
    for start in range(0, len(cases), _LOOKUP_BATCH):
        rows = session.execute(
            select(Exhibit.case_pk, Exhibit.id).where(
                Exhibit.case_pk.in_(cases[start : start + _LOOKUP_BATCH])
            )
        )
        for case_pk, key in rows:
            members.setdefault(int(case_pk), []).append(int(key))
    return members


def _by_key(session: Session, column: Any, keys: Iterable[int]) -> list[tuple[int, Any]]:
    """Return (exhibit key, value of ``column``) of the exhibits ``keys``, a batch at a time."""
    keys = sorted({int(key) for key in keys})
    rows: list[tuple[int, Any]] = []
    for start in range(0, len(keys), _LOOKUP_BATCH):
        statement = select(Exhibit.id, column).where(
            Exhibit.id.in_(keys[start : start + _LOOKUP_BATCH])
        )
        rows.extend((int(key), value) for key, value in session.execute(statement))
    return rows

"""Reading and writing the evidence database: plain functions on a SQLAlchemy ``Session``.

The caller owns the transaction (``with store.transaction(write=True) as session: ...``); these
functions flush but never commit, so that an ingest writes an exhibit, its mark, its descriptor,
its job and its audit line all or nothing. Every change a person or the engine makes to evidence
or links appends a line to the audit log in the same transaction.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Result, Select, delete, func, insert, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from api.store.errors import ConflictError, NotFoundError
from api.store.marks import decode_mark
from api.store.models import (
    DECIDED_LINK_STATUSES,
    DECISION_METHODS,
    EXHIBIT_STATUSES,
    KINDS,
    LINK_STATUSES,
    MODALITIES,
    ROLES,
    Agency,
    AuditEntry,
    Case,
    CorrelationResult,
    Exhibit,
    ExhibitDescriptor,
    ExhibitFile,
    ExhibitMark,
    Job,
    Link,
    StoreState,
    check_country_code,
    utc_now,
)
from api.store.originals import StoredOriginal
from ballistics.errors import EvidenceError

logger = logging.getLogger(__name__)

#: the audit log's actor for what the engine does by itself (leads, jobs)
SYSTEM_ACTOR = "system"
_MAX_IDENTIFIER_LENGTH = 200
_MAX_ERROR_LENGTH = 4000


# --- identifiers and digests -------------------------------------------------------------------


def item_sha256(file_digests: Sequence[str]) -> str:
    """Return an item's digest: its file's SHA-256, or for several files (a bullet's lands, in
    land order) the SHA-256 of their digests joined by newlines."""
    if not file_digests:
        raise ValueError("an item has at least one file; give the SHA-256 of each of its files.")
    if len(file_digests) == 1:
        return file_digests[0]
    return hashlib.sha256("\n".join(file_digests).encode("ascii")).hexdigest()


def new_api_key() -> str:
    """Return a new random API key (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    """Return the SHA-256 (hex) stored for an API key.

    A plain hash suffices: keys are 256 random bits, so unlike passwords they cannot be guessed
    from a dictionary, and the lookup must stay fast on every request.
    """
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def _identifier(value: Any, field_name: str) -> str:
    # EvidenceError (a ValueError): the message is meant for the caller, so the HTTP layer
    # answers it as 422 instead of hiding it behind a generic 500
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > _MAX_IDENTIFIER_LENGTH:
        raise EvidenceError(
            "",
            f"{field_name} {value!r} must be a non-empty text of at most "
            f"{_MAX_IDENTIFIER_LENGTH} characters.",
        )
    if "\x00" in text:
        # PostgreSQL refuses NUL in text (a DataError at commit); the last line behind the API's
        # own checks, for every other way in
        raise EvidenceError("", f"{field_name} {value!r} holds a NUL character (\\x00); remove it.")
    return text


def _one_of(value: Any, allowed: Sequence[str], field_name: str) -> str:
    if value not in allowed:
        raise EvidenceError("", f"{field_name} {value!r} is not one of {', '.join(allowed)}.")
    return str(value)


# --- audit log ---------------------------------------------------------------------------------


def audit(
    session: Session,
    actor: str,
    action: str,
    *,
    object_type: str,
    object_id: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append a line to the audit log (there is no function to change or remove one).

    Parameters
    ----------
    actor
        Who acted: an agency's name, or :data:`SYSTEM_ACTOR`.
    action
        What was done, dotted, e.g. ``"exhibit.add"``, ``"link.confirmed"``.
    object_type, object_id
        What it was done to: ``"exhibit"`` and its public id, ``"link"`` and its public id...
    details
        JSON-serialisable facts worth keeping (previous status, digests, comment).
    """
    entry = AuditEntry(
        actor=_identifier(actor, "actor"),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=dict(details) if details is not None else None,
    )
    session.add(entry)
    session.flush()
    return entry


def list_audit(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    after_id: int = 0,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Return audit lines, oldest first, optionally of one object, actor or action.

    Parameters
    ----------
    object_type, object_id
        Only lines about this kind of object, or this object (its public id).
    actor
        Only lines of this actor (an agency's name, or :data:`SYSTEM_ACTOR`).
    action
        Only lines of this action, e.g. ``"access.denied"``.
    after_id
        Only lines after this one (to page through the log).
    limit
        At most this many lines; None: all.
    """
    statement = select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id)
    if object_type is not None:
        statement = statement.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        statement = statement.where(AuditEntry.object_id == object_id)
    if actor is not None:
        statement = statement.where(AuditEntry.actor == actor)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


# --- agencies and cases ------------------------------------------------------------------------

#: user-assigned in ISO 3166-1, so absent from its list, but the code the EU, Interpol and most
#: agencies use for Kosovo (``check_country_code`` accepts it for the same reason)
_KOSOVO = "XK"


def check_assigned_country_code(country: str) -> str:
    """Return ``country`` as the ISO 3166-1 alpha-2 code of a country (upper case), or raise.

    Stricter than :func:`api.store.models.check_country_code`, which checks the form only: the
    code must be one that ISO 3166-1 assigns to a country (pycountry's list), or ``XK`` (Kosovo).
    Case and surrounding blanks are forgiven (``" tt "`` gives ``"TT"``); ``"UK"``, reserved at
    the United Kingdom's request but assigned to no country, is refused (``"GB"`` is its code).

    Raises
    ------
    ValueError
        The message names the field (``country``), the value, and gives an example.
    """
    import pycountry  # loads its JSON database on first use: only where a country is checked

    code = check_country_code(country)
    if code != _KOSOVO and pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(
            f"country {country!r} is not an ISO 3166-1 alpha-2 code assigned to a country; give "
            "the agency's two-letter country code, e.g. 'GB' for the United Kingdom (not 'UK')."
        )
    return code


def get_or_create_agency(session: Session, name: str, *, country: str, role: str = "lab") -> Agency:
    """Return the agency called ``name``, creating it (with ``country`` and ``role``) if new.

    Raises
    ------
    ConflictError
        The agency exists with another country.
    ValueError
        The name is empty, the country is not the ISO 3166-1 alpha-2 code of a country (see
        :func:`check_assigned_country_code`), or the role unknown.
    """
    name = _identifier(name, "agency")
    country = check_assigned_country_code(country)
    role = _one_of(role, ROLES, "role")
    agency = session.scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        candidate = Agency(name=name, country=country, role=role)
        try:
            with session.begin_nested():
                session.add(candidate)
        except IntegrityError:  # created by a concurrent transaction since the select
            agency = session.scalar(select(Agency).where(Agency.name == name))
            if agency is None:
                raise
        else:
            audit(
                session,
                SYSTEM_ACTOR,
                "agency.add",
                object_type="agency",
                object_id=candidate.public_id,
                details={"name": name, "country": country, "role": role},
            )
            return candidate
    if agency.country != country:
        raise ConflictError(
            f"agency {name!r} is registered in {agency.country}, not {country}; check the "
            "country column, or give the other agency another name."
        )
    return agency


def get_agency(session: Session, name: str) -> Agency:
    """Return the agency called ``name``; raise NotFoundError if there is none."""
    agency = session.scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        raise NotFoundError("agency", name)
    return agency


def list_agencies(session: Session) -> list[Agency]:
    """Return every agency, revoked ones included, in order of name."""
    return list(session.scalars(select(Agency).order_by(Agency.name)))


@dataclass(frozen=True)
class AgencyRevoked:
    """What :func:`revoke_agency` did: the agency, and whether this call revoked it."""

    agency: Agency
    changed: bool


def revoke_agency(session: Session, name: str, *, actor: str = SYSTEM_ACTOR) -> AgencyRevoked:
    """Disable the agency called ``name`` and its API key, for good; idempotent.

    Sets ``disabled_at`` and clears ``api_key_hash``, so that no key of the agency authenticates
    even where ``disabled_at`` is not checked. Its rows stay: exhibits, cases, links and audit
    lines still name it. One ``agency.revoke`` audit line is written, by the call that revoked
    it; a call on an agency already revoked changes nothing.

    Raises
    ------
    NotFoundError
        No agency has that name.
    """
    agency = get_agency(session, name)
    # conditional, so that of two concurrent revocations one writes and one audit line is kept
    statement = (
        update(Agency)
        .where(Agency.id == agency.id, Agency.disabled_at.is_(None))
        .values(disabled_at=utc_now(), api_key_hash=None)
        .returning(Agency)
    )
    updated = session.scalars(
        statement, execution_options={"synchronize_session": False, "populate_existing": True}
    ).one_or_none()
    if updated is None:
        session.refresh(agency)
        return AgencyRevoked(agency, changed=False)
    audit(
        session,
        actor,
        "agency.revoke",
        object_type="agency",
        object_id=updated.public_id,
        details={"name": updated.name},
    )
    return AgencyRevoked(updated, changed=True)


def issue_api_key(session: Session, agency: Agency, *, actor: str = SYSTEM_ACTOR) -> str:
    """Give ``agency`` a new API key (replacing any previous one); return the key itself.

    Only its hash is stored: the returned key is shown once and cannot be recovered.

    Raises
    ------
    ConflictError
        The agency was revoked: a revoked agency is never given a key again.
    """
    if agency.disabled_at is not None:
        raise ConflictError(
            f"agency {agency.name!r} was revoked on {agency.disabled_at.date().isoformat()} and "
            "is not re-enabled; register the account under a new name (the revoked agency's "
            "exhibits, links and audit lines keep its name)."
        )
    api_key = new_api_key()
    agency.api_key_hash = hash_api_key(api_key)
    session.flush()
    audit(session, actor, "agency.api_key", object_type="agency", object_id=agency.public_id)
    return api_key


def agency_for_api_key(session: Session, api_key: str) -> Agency:
    """Return the agency holding ``api_key``; raise NotFoundError (key not echoed) if none, or
    if the agency was revoked (``disabled_at`` set)."""
    statement = select(Agency).where(
        Agency.api_key_hash == hash_api_key(api_key),
        # a revoked agency's key is refused even where its hash was left in place
        Agency.disabled_at.is_(None),
    )
    agency = session.scalar(statement)
    if agency is None:
        raise NotFoundError("API key", "(not shown)")
    return agency


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
    exhibit_id = _identifier(exhibit_id, "exhibit_id")
    kind = _one_of(kind, KINDS, "kind")
    if modality is not None:
        modality = _one_of(str(modality), MODALITIES, "modality")
    if pixel_um is not None and not (math.isfinite(pixel_um) and pixel_um > 0):
        raise ValueError(f"pixel_um {pixel_um!r} must be a positive number of micrometres.")
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
            files=[
                ExhibitFile(
                    position=position,
                    sha256=original.sha256,
                    name=original.name[:500],
                    size_bytes=original.size_bytes,
                )
                for position, original in enumerate(files)
            ],
        )
        try:
            with session.begin_nested():
                session.add(exhibit)
        except IntegrityError:  # stored by a concurrent transaction since the lookup
            existing = find_exhibit(session, agency, exhibit_id)
            if existing is None:
                raise
        else:
            audit(
                session,
                actor or agency.name,
                "exhibit.add",
                object_type="exhibit",
                object_id=exhibit.public_id,
                details={
                    "exhibit_id": exhibit_id,
                    "case_id": case.case_id,
                    "sha256": digest,
                    "files": [original.sha256 for original in files],
                },
            )
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


def set_exhibit_status(session: Session, exhibit: Exhibit, status: str) -> Exhibit:
    """Set an exhibit's correlation status (``queued``, ``correlated`` or ``failed``)."""
    exhibit.status = _one_of(status, EXHIBIT_STATUSES, "status")
    session.flush()
    return exhibit


# --- prepared marks and descriptors ------------------------------------------------------------


def set_mark(
    session: Session, exhibit: Exhibit, data: bytes, *, preparation_version: str
) -> ExhibitMark:
    """Store (or replace) the encoded prepared mark of ``exhibit`` (see :mod:`api.store.marks`).

    Raises
    ------
    MarkFormatError
        ``data`` is not an encoded mark.
    ValueError
        It encodes another kind of item than the exhibit.
    """
    kind = decode_mark(data).kind
    if kind != exhibit.kind:
        raise ValueError(
            f"exhibit {exhibit.exhibit_id!r} is a {exhibit.kind} but the mark encodes a {kind}."
        )
    mark = session.get(ExhibitMark, exhibit.id)
    if mark is None:
        mark = ExhibitMark(exhibit_pk=exhibit.id)
        session.add(mark)
    mark.kind = kind
    mark.preparation_version = _identifier(preparation_version, "preparation_version")
    mark.data = bytes(data)
    mark.created_at = utc_now()
    session.flush()
    return mark


def get_mark(session: Session, exhibit: Exhibit) -> bytes:
    """Return the encoded prepared mark of ``exhibit``; raise NotFoundError if it has none."""
    data = session.scalar(select(ExhibitMark.data).where(ExhibitMark.exhibit_pk == exhibit.id))
    if data is None:
        raise NotFoundError("prepared mark of exhibit", exhibit.public_id)
    return bytes(data)


def marks_by_key(session: Session, keys: Iterable[int]) -> dict[int, bytes]:
    """Return the encoded marks of the exhibits of the given integer ids (those that have one)."""
    keys = [int(key) for key in keys]
    if not keys:
        return {}
    rows = session.execute(
        select(ExhibitMark.exhibit_pk, ExhibitMark.data).where(ExhibitMark.exhibit_pk.in_(keys))
    )
    return {key: bytes(data) for key, data in rows}


def set_descriptor(
    session: Session, exhibit: Exhibit, vector: np.ndarray, *, version: str
) -> ExhibitDescriptor:
    """Store (or replace) ``exhibit``'s retrieval descriptor of ``version`` (float32 bytes)."""
    values = np.asarray(vector, dtype="<f4")
    if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all():
        raise ValueError(
            f"a descriptor is a non-empty 1-D vector of finite numbers, got shape {values.shape}."
        )
    version = _identifier(version, "descriptor version")
    row = session.get(ExhibitDescriptor, (exhibit.id, version))
    if row is None:
        row = ExhibitDescriptor(exhibit_pk=exhibit.id, version=version)
        session.add(row)
    row.dimension = int(values.size)
    row.vector = values.tobytes()
    row.created_at = utc_now()
    # other processes catch their vector index up from the exhibits of a higher generation
    exhibit.index_generation = _advance_store_state(session, "generation")
    session.flush()
    return row


# --- the store's change counters ---------------------------------------------------------------


@dataclass(frozen=True)
class StoreGeneration:
    """The store's change counters (table ``store_state``), as a process's index has seen them.

    Parameters
    ----------
    epoch
        Goes up when the whole vector index is rebuilt (``ballistics reindex``).
    generation
        Goes up in every transaction that stores an exhibit's descriptor; the exhibit's
        ``index_generation`` is the value it went up to.
    """

    epoch: int = 0
    generation: int = 0


def store_generation(session: Session) -> StoreGeneration:
    """Return the store's change counters (zeros when the ``store_state`` row is missing).

    Every exhibit whose ``index_generation`` is at most the returned generation is committed:
    the increment holds the row's lock until its transaction ends (SQLite has one writer).
    """
    row = session.execute(
        select(StoreState.index_epoch, StoreState.generation).where(StoreState.id == 1)
    ).first()
    if row is None:
        return StoreGeneration()
    return StoreGeneration(epoch=int(row[0]), generation=int(row[1]))


def advance_index_epoch(session: Session) -> StoreGeneration:
    """Count a rebuild of the vector index; return the counters as this transaction leaves them.

    Other processes seeing the new epoch reload their index instead of catching it up.
    """
    epoch = _advance_store_state(session, "index_epoch")
    return StoreGeneration(epoch=epoch, generation=store_generation(session).generation)


def _advance_store_state(session: Session, column: str) -> int:
    """Add one to ``store_state.<column>`` (creating the row when missing); return the new value.

    One UPDATE that reads and writes the row: on PostgreSQL it takes the row's lock, which
    orders the transactions that count, so generations become visible in order.
    """
    counter = getattr(StoreState, column)
    statement = (
        update(StoreState)
        .where(StoreState.id == 1)
        .values({column: counter + 1})
        .returning(counter)
        .execution_options(synchronize_session=False)
    )
    value = session.execute(statement).scalar_one_or_none()
    if value is None:  # a store made without the migrations (metadata.create_all)
        try:
            with session.begin_nested():
                session.execute(insert(StoreState).values(id=1, generation=0, index_epoch=0))
        except IntegrityError:  # created by a concurrent transaction meanwhile
            pass
        value = session.execute(statement).scalar_one()
    return int(value)


def load_descriptors(
    session: Session, *, version: str, kind: str | None = None, modality: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (int64 exhibit ids, float32 vectors of shape (n, dimension)) of one version.

    What the vector index is rebuilt from. Raises ValueError when vectors of that version
    differ in dimension (a descriptor version fixes the dimension).
    """
    statement = (
        select(ExhibitDescriptor.exhibit_pk, ExhibitDescriptor.dimension, ExhibitDescriptor.vector)
        .join(Exhibit, Exhibit.id == ExhibitDescriptor.exhibit_pk)
        .where(ExhibitDescriptor.version == version)
        .order_by(ExhibitDescriptor.exhibit_pk)
    )
    if kind is not None:
        statement = statement.where(Exhibit.kind == kind)
    if modality is not None:
        statement = statement.where(Exhibit.modality == modality)
    rows = session.execute(statement).all()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    dimensions = {dimension for _, dimension, _ in rows}
    if len(dimensions) != 1:
        raise ValueError(
            f"descriptors of version {version!r} have dimensions {sorted(dimensions)}; a version "
            "must have one dimension: store the new descriptor under a new version."
        )
    ids = np.fromiter((key for key, _, _ in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(bytes(vector) for _, _, vector in rows), dtype="<f4")
    return ids, vectors.reshape(len(rows), dimensions.pop()).astype(np.float32)


# --- correlation results -----------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateScore:
    """One candidate's comparison with a query, as :func:`record_correlation_results` stores it.

    Parameters
    ----------
    candidate_key
        The candidate exhibit's integer id.
    score
        The comparison score (higher: more similar).
    cmc_count
        Congruent matching cells, for cartridge cases.
    details
        The rest of the comparison record (JSON-serialisable).
    """

    candidate_key: int
    score: float
    cmc_count: int | None = None
    details: Mapping[str, Any] | None = field(default=None)


def record_correlation_results(
    session: Session,
    query: Exhibit,
    scores: Iterable[CandidateScore],
    *,
    algorithm_version: str,
) -> int:
    """Store the scores of candidates against ``query``; return how many were stored.

    A candidate already scored against the query by the same algorithm version gets its new
    score (a re-run replaces, never duplicates).
    """
    algorithm_version = _identifier(algorithm_version, "algorithm_version")
    rows = []
    for item in scores:
        if int(item.candidate_key) == query.id:
            raise ValueError(f"exhibit {query.exhibit_id!r} cannot be its own candidate.")
        if not math.isfinite(item.score):
            raise ValueError(
                f"candidate {item.candidate_key} has a non-finite score {item.score!r}."
            )
        rows.append(
            {
                "query_pk": query.id,
                "candidate_pk": int(item.candidate_key),
                "score": float(item.score),
                "cmc_count": None if item.cmc_count is None else int(item.cmc_count),
                "algorithm_version": algorithm_version,
                "details": None if item.details is None else dict(item.details),
                "created_at": utc_now(),
            }
        )
    if not rows:
        return 0
    candidates = sorted({row["candidate_pk"] for row in rows})
    if len(candidates) != len(rows):
        raise ValueError("each candidate may be scored once per call; merge the duplicates.")
    session.execute(
        delete(CorrelationResult).where(
            CorrelationResult.query_pk == query.id,
            CorrelationResult.algorithm_version == algorithm_version,
            CorrelationResult.candidate_pk.in_(candidates),
        )
    )
    session.execute(insert(CorrelationResult), rows)
    return len(rows)


def list_candidates(
    session: Session,
    query: Exhibit,
    *,
    algorithm_version: str | None = None,
    limit: int | None = None,
) -> list[CorrelationResult]:
    """Return ``query``'s stored results, best score first (rank = position + 1).

    ``algorithm_version`` None: the version most recently recorded for this query.
    """
    if algorithm_version is None:
        algorithm_version = session.scalar(
            select(CorrelationResult.algorithm_version)
            .where(CorrelationResult.query_pk == query.id)
            .order_by(CorrelationResult.created_at.desc(), CorrelationResult.id.desc())
            .limit(1)
        )
        if algorithm_version is None:
            return []
    statement = (
        select(CorrelationResult)
        .where(
            CorrelationResult.query_pk == query.id,
            CorrelationResult.algorithm_version == algorithm_version,
        )
        .order_by(CorrelationResult.score.desc(), CorrelationResult.candidate_pk)
        .limit(limit)
        .options(
            selectinload(CorrelationResult.candidate).selectinload(Exhibit.case),
            selectinload(CorrelationResult.candidate).selectinload(Exhibit.agency),
        )
    )
    return list(session.scalars(statement))


# --- links -------------------------------------------------------------------------------------


def upsert_link(
    session: Session,
    first: Exhibit,
    second: Exhibit,
    *,
    score: float,
    algorithm_version: str | None = None,
) -> Link:
    """Record a possible link between two exhibits of different cases; return it.

    (a, b) and (b, a) are the same link. A new link is a ``lead``; an existing one keeps the
    higher of its scores and its status: an examiner's ``confirmed`` or ``rejected`` is never
    turned back into a lead by the engine.

    Raises
    ------
    ValueError
        The exhibits are the same, or of the same case, or the score is not finite.
    """
    if first.id == second.id:
        raise ValueError(f"exhibit {first.exhibit_id!r} cannot be linked with itself.")
    if first.case_pk == second.case_pk:
        raise ValueError(
            f"exhibits {first.exhibit_id!r} and {second.exhibit_id!r} are of the same case; "
            "links join different cases."
        )
    if not math.isfinite(score):
        raise ValueError(f"link score {score!r} is not finite.")
    exhibit_a, exhibit_b = sorted((first, second), key=lambda exhibit: exhibit.id)
    statement = select(Link).where(
        Link.exhibit_a_pk == exhibit_a.id, Link.exhibit_b_pk == exhibit_b.id
    )
    # the row lock (PostgreSQL) keeps two workers from both reading the old score
    link = session.scalar(statement.with_for_update())
    if link is None:
        candidate = Link(
            exhibit_a=exhibit_a,
            exhibit_b=exhibit_b,
            score=float(score),
            algorithm_version=algorithm_version,
            status="lead",
            cross_border=exhibit_a.agency.country != exhibit_b.agency.country,
        )
        try:
            with session.begin_nested():
                session.add(candidate)
        except IntegrityError:
            link = session.scalar(statement.with_for_update())
            if link is None:
                raise
        else:
            audit(
                session,
                SYSTEM_ACTOR,
                "link.lead",
                object_type="link",
                object_id=candidate.public_id,
                details={"score": float(score), "algorithm_version": algorithm_version},
            )
            return candidate
    if score > link.score:
        link.score = float(score)
        link.algorithm_version = algorithm_version
        session.flush()
    return link


def get_link(session: Session, public_id: str, *, for_update: bool = False) -> Link:
    """Return the link of public id ``public_id``; raise NotFoundError if there is none.

    ``for_update``: lock the link's row until the transaction ends (``SELECT ... FOR UPDATE``
    on PostgreSQL; a SQLite write transaction holds the database's lock from its start) and
    read its columns afresh, so that what is decided from its status stays true until commit.
    """
    statement = _links_loaded().where(Link.public_id == public_id)
    if for_update:
        statement = statement.with_for_update(of=Link).execution_options(populate_existing=True)
    link = session.scalar(statement)
    if link is None:
        raise NotFoundError("link", public_id)
    return link


def set_link_status(
    session: Session,
    link: Link,
    status: str,
    *,
    by_agency: Agency,
    comment: str | None = None,
    method: str = "images",
    expected_status: str | None = None,
) -> Link:
    """Record an examiner's decision on a link: ``confirmed`` or ``rejected``.

    A decision may be revised (confirmed to rejected and back); the audit log keeps each one
    with the status it replaced. The link's row is locked and read again first, so that of two
    concurrent decisions the second sees the first's status: each audit line's
    ``previous_status`` is the status it really replaced. Whether ``by_agency`` may decide is
    the caller's rule.

    Parameters
    ----------
    method
        How the examiner reached the decision: ``"images"`` (on the screen) or
        ``"microscope"`` (with the exhibits under a comparison microscope).
    expected_status
        The status the examiner saw when deciding; None: decide whatever the status is now.

    Raises
    ------
    ConflictError
        ``expected_status`` is given and the link's status is another (someone decided
        meanwhile); nothing is changed.
    """
    status = _one_of(status, DECIDED_LINK_STATUSES, "link status")
    method = _one_of(method, DECISION_METHODS, "decision method")
    if expected_status is not None:
        expected_status = _one_of(expected_status, LINK_STATUSES, "expected_status")
    locked = select(Link).where(Link.id == link.id).with_for_update()
    link = session.scalars(locked.execution_options(populate_existing=True)).one()
    previous = link.status
    if expected_status is not None and previous != expected_status:
        raise ConflictError(
            f"link {link.public_id} is {previous}, not {expected_status}: it was decided since "
            "you saw it; read it again (GET /v1/links) and decide on what it is now."
        )
    link.status = status
    link.decided_by = by_agency
    link.decided_at = utc_now()
    link.comment = comment
    link.decision_method = method
    session.flush()
    audit(
        session,
        by_agency.name,
        f"link.{status}",
        object_type="link",
        object_id=link.public_id,
        details={"previous_status": previous, "comment": comment, "method": method},
    )
    return link


def list_links(
    session: Session,
    *,
    cross_border: bool | None = None,
    status: str | None = None,
    exhibit: Exhibit | None = None,
    agency: Agency | None = None,
    limit: int | None = None,
) -> list[Link]:
    """Return links, best score first, with both exhibits, cases and agencies loaded;
    ``agency``: only links one of whose exhibits that agency holds."""
    statement = _links_loaded().order_by(Link.score.desc(), Link.id).limit(limit)
    if agency is not None:
        held = select(Exhibit.id).where(Exhibit.agency_pk == agency.id)
        statement = statement.where(or_(Link.exhibit_a_pk.in_(held), Link.exhibit_b_pk.in_(held)))
    if cross_border is not None:
        statement = statement.where(Link.cross_border == cross_border)
    if status is not None:
        statement = statement.where(Link.status == _one_of(status, LINK_STATUSES, "status"))
    if exhibit is not None:
        statement = statement.where(
            or_(Link.exhibit_a_pk == exhibit.id, Link.exhibit_b_pk == exhibit.id)
        )
    return list(session.scalars(statement))


def link_summary(link: Link) -> dict[str, Any]:
    """Return a link as ``ballistics links`` and ``GET /v1/links`` show it (CONTRACT.md)."""
    exhibit_a, exhibit_b = link.exhibit_a, link.exhibit_b
    return {
        "id": link.public_id,
        "exhibit_a": exhibit_a.exhibit_id,
        "exhibit_b": exhibit_b.exhibit_id,
        "case_a": exhibit_a.case.case_id,
        "case_b": exhibit_b.case.case_id,
        "agency_a": exhibit_a.agency.name,
        "agency_b": exhibit_b.agency.name,
        "country_a": exhibit_a.agency.country,
        "country_b": exhibit_b.agency.country,
        "score": link.score,
        "cross_border": link.cross_border,
        "status": link.status,
    }


def _links_loaded() -> Select[tuple[Link]]:
    options = []
    for side in (Link.exhibit_a, Link.exhibit_b):
        options.append(selectinload(side).selectinload(Exhibit.case))
        options.append(selectinload(side).selectinload(Exhibit.agency))
    return select(Link).options(*options, selectinload(Link.decided_by))


def linked_cases(session: Session, case: Case) -> list[Case]:
    """Return the cases linked to ``case`` through confirmed links, directly or transitively.

    Leads and rejected links do not connect cases. The walk is one recursive query (UNION, so
    that cycles end), the same on SQLite and PostgreSQL; ``case`` itself is not in the answer.
    """
    side_a = aliased(Exhibit)
    side_b = aliased(Exhibit)
    confirmed = Link.status == "confirmed"
    forward = (
        select(side_a.case_pk.label("source"), side_b.case_pk.label("target"))
        .join_from(Link, side_a, Link.exhibit_a_pk == side_a.id)
        .join(side_b, Link.exhibit_b_pk == side_b.id)
        .where(confirmed)
    )
    backward = (
        select(side_b.case_pk.label("source"), side_a.case_pk.label("target"))
        .join_from(Link, side_a, Link.exhibit_a_pk == side_a.id)
        .join(side_b, Link.exhibit_b_pk == side_b.id)
        .where(confirmed)
    )
    edges = union_all(forward, backward).subquery("edges")
    reachable = (
        select(Case.id.label("case_pk")).where(Case.id == case.id).cte("reachable", recursive=True)
    )
    reachable = reachable.union(
        select(edges.c.target).join(reachable, edges.c.source == reachable.c.case_pk)
    )
    statement = (
        select(Case)
        .where(Case.id.in_(select(reachable.c.case_pk)), Case.id != case.id)
        .order_by(Case.agency_pk, Case.case_id)
        .options(selectinload(Case.agency))
    )
    return list(session.scalars(statement))


# --- jobs --------------------------------------------------------------------------------------


def enqueue_job(
    session: Session,
    kind: str,
    *,
    exhibit: Exhibit | None = None,
    payload: Mapping[str, Any] | None = None,
    max_attempts: int = 3,
) -> Job:
    """Add a pending job; a worker takes it with :func:`claim_next_job` once committed."""
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}.")
    job = Job(
        kind=_identifier(kind, "job kind"),
        exhibit=exhibit,
        payload=dict(payload) if payload is not None else None,
        max_attempts=max_attempts,
    )
    session.add(job)
    session.flush()
    return job


#: how many of the fairest candidates a claim tries before falling back to the oldest job
_CLAIM_WINDOW = 8
#: the queue of jobs that belong to no exhibit (and so to no agency)
_NO_AGENCY = -1


def claim_next_job(
    session: Session, *, worker: str, kinds: Sequence[str] | None = None
) -> Job | None:
    """Take the next pending job that is due, fairly across agencies, mark it running, and
    return it (None: none).

    Each agency's jobs (a job's agency is its exhibit's) form a queue, oldest first; the claim
    takes the head of a queue, of the agency served least recently, so that a burst of one
    lab's uploads cannot starve the others: jobs are ordered by their position in their
    agency's queue, then by when that agency's last job started (never first), then by age.

    The claim of a chosen job is one statement, ``UPDATE ... WHERE id = (SELECT ... FOR UPDATE
    SKIP LOCKED) RETURNING``: on PostgreSQL concurrent workers skip each other's rows (the
    choice itself, with its window function, is a plain read: PostgreSQL refuses ``FOR UPDATE``
    beside one), and a job taken meanwhile is passed over for the next; on SQLite the write
    transaction holds the database's lock from its start. Either way no two workers get the
    same job. Call it first in its own write transaction (``store.transaction(write=True)``)
    and commit before the work, so that the claim is visible and the lock short.
    """
    worker = _identifier(worker, "worker")
    now = utc_now()
    for job_id in _fair_job_ids(session, now=now, kinds=kinds, limit=_CLAIM_WINDOW):
        claimed = _claim_job(session, worker=worker, now=now, kinds=kinds, job_id=job_id)
        if claimed is not None:
            return claimed
    # every one of them was taken by concurrent workers meanwhile: the oldest left, if any
    return _claim_job(session, worker=worker, now=now, kinds=kinds, job_id=None)


def _fair_job_ids(
    session: Session, *, now: datetime.datetime, kinds: Sequence[str] | None, limit: int
) -> list[int]:
    """Return the ids of the ``limit`` pending jobs due first in the fair order (see
    :func:`claim_next_job`)."""
    waiting = aliased(Job)
    owner = aliased(Exhibit)
    queue = func.coalesce(owner.agency_pk, _NO_AGENCY)
    pending = (
        select(
            waiting.id.label("id"),
            waiting.available_at.label("available_at"),
            queue.label("queue"),
            func.row_number()
            .over(partition_by=queue, order_by=(waiting.available_at, waiting.id))
            .label("position"),
        )
        .outerjoin(owner, owner.id == waiting.exhibit_pk)
        .where(waiting.status == "pending", waiting.available_at <= now)
    )
    if kinds is not None:
        pending = pending.where(waiting.kind.in_(list(kinds)))
    pending_jobs = pending.subquery("pending_jobs")
    started = aliased(Job)
    started_owner = aliased(Exhibit)
    started_queue = func.coalesce(started_owner.agency_pk, _NO_AGENCY)
    served = (
        select(started_queue.label("queue"), func.max(started.started_at).label("last_started"))
        .outerjoin(started_owner, started_owner.id == started.exhibit_pk)
        .where(started.started_at.is_not(None))
        .group_by(started_queue)
        .subquery("served")
    )
    statement = (
        select(pending_jobs.c.id)
        .outerjoin(served, served.c.queue == pending_jobs.c.queue)
        .order_by(
            pending_jobs.c.position,
            # an agency never served comes first (NULLS FIRST, written for both databases)
            served.c.last_started.is_not(None),
            served.c.last_started,
            pending_jobs.c.available_at,
            pending_jobs.c.id,
        )
        .limit(limit)
    )
    return [int(job_id) for job_id in session.scalars(statement)]


def _claim_job(
    session: Session,
    *,
    worker: str,
    now: datetime.datetime,
    kinds: Sequence[str] | None,
    job_id: int | None,
) -> Job | None:
    """Claim job ``job_id`` if it is still pending (None: the oldest pending job due)."""
    waiting = aliased(Job)
    next_id = (
        select(waiting.id)
        .where(waiting.status == "pending", waiting.available_at <= now)
        .order_by(waiting.available_at, waiting.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if kinds is not None:
        next_id = next_id.where(waiting.kind.in_(list(kinds)))
    if job_id is not None:
        next_id = next_id.where(waiting.id == job_id)
    statement = (
        update(Job)
        .where(Job.id == next_id.scalar_subquery(), Job.status == "pending")
        .values(
            status="running",
            attempts=Job.attempts + 1,
            worker=worker,
            started_at=now,
            heartbeat_at=now,
            updated_at=now,
        )
        .returning(Job)
    )
    return session.scalars(
        statement, execution_options={"synchronize_session": False, "populate_existing": True}
    ).one_or_none()


def heartbeat_job(session: Session, job: Job) -> None:
    """Record that ``job``'s worker is still on it (see :func:`requeue_stale_jobs`)."""
    _update_claimed(session, job, heartbeat_at=utc_now())


def finish_job(session: Session, job: Job) -> Job:
    """Mark a claimed job done.

    Raises
    ------
    ConflictError
        The job is no longer this claim's (it was requeued as stale and claimed again).
    """
    now = utc_now()
    return _update_claimed(session, job, status="done", finished_at=now, heartbeat_at=now)


def fail_job(session: Session, job: Job, error: str, *, retry_after_s: float = 60.0) -> Job:
    """Record a claimed job's failure: pending again after ``retry_after_s`` while it has
    attempts left, else ``failed`` for good.

    Raises
    ------
    ConflictError
        As :func:`finish_job`.
    """
    now = utc_now()
    message = str(error)[:_MAX_ERROR_LENGTH]
    if job.attempts < job.max_attempts:
        return _update_claimed(
            session,
            job,
            status="pending",
            last_error=message,
            available_at=now + datetime.timedelta(seconds=retry_after_s),
        )
    return _update_claimed(session, job, status="failed", last_error=message, finished_at=now)


def requeue_stale_jobs(session: Session, *, stale_after_s: float) -> int:
    """Return running jobs whose worker fell silent ``stale_after_s`` ago to the queue.

    What a worker calls when it starts (a job left running by a stopped process resumes):
    those with attempts left become pending, the others failed. Returns how many were
    requeued.
    """
    cutoff = utc_now() - datetime.timedelta(seconds=stale_after_s)
    silent = (Job.status == "running") & (
        func.coalesce(Job.heartbeat_at, Job.started_at, Job.updated_at) <= cutoff
    )
    exhausted = _row_count(
        session.execute(
            update(Job)
            .where(silent, Job.attempts >= Job.max_attempts)
            .values(
                status="failed",
                last_error="the worker stopped during the last attempt",
                finished_at=utc_now(),
            ),
            execution_options={"synchronize_session": False},
        )
    )
    requeued = _row_count(
        session.execute(
            update(Job)
            .where(silent, Job.attempts < Job.max_attempts)
            .values(status="pending", worker=None, available_at=utc_now()),
            execution_options={"synchronize_session": False},
        )
    )
    if exhausted or requeued:
        logger.warning(
            "requeued %d stale jobs, failed %d that had no attempt left", requeued, exhausted
        )
    session.expire_all()
    return requeued


def _row_count(result: Result[Any]) -> int:
    # an UPDATE's result is a CursorResult, which has the count the generic Result lacks
    return int(getattr(result, "rowcount", 0))


def _update_claimed(session: Session, job: Job, **values: Any) -> Job:
    # the claim is (id, attempts, running): a job requeued and claimed again since no longer
    # matches, so a slow worker cannot overwrite the new claim's outcome
    statement = (
        update(Job)
        .where(Job.id == job.id, Job.attempts == job.attempts, Job.status == "running")
        .values(updated_at=utc_now(), **values)
        .returning(Job)
    )
    updated = session.scalars(
        statement, execution_options={"synchronize_session": False, "populate_existing": True}
    ).one_or_none()
    if updated is None:
        raise ConflictError(
            f"job {job.id} is no longer held by this claim (attempt {job.attempts}); it was "
            "requeued as stale or finished elsewhere: drop this attempt's result."
        )
    return updated

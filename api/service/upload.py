"""Store one uploaded exhibit at once and queue its correlation as a durable job.

What ``POST /v1/exhibits`` does, and why in this order:

1. The files are hashed and checked against what the agency already stored under the exhibit
   id: the same files with the same fields again is a repeat (nothing changes, the stored
   exhibit is answered); other files, or a field that differs, are a conflict naming it.
2. The item is read and prepared in the calling thread, so that an unreadable or unusable file
   is refused in the answer (and nothing is stored).
3. The originals are written (content-addressed, so a repeat costs nothing), then one
   transaction stores the case, the exhibit, its mark and descriptor, a ``correlate`` job and an
   audit line. Once it commits the upload can be answered: a crash after this point loses
   nothing, because the job is in the database and a worker takes it after a restart
   (:mod:`api.service.jobs`), and the vector index is reconciled with the database on open.
4. The descriptor is added to the in-memory index, so that searches see the exhibit at once.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.manifest import declared_orientation
from api.service.context import ServiceContext
from api.service.storing import ExhibitFields, PreparedItem, store_prepared_exhibit
from api.store import repository
from api.store.models import Exhibit
from api.store.originals import StoredOriginal
from ballistics.casing.photo_quality import PhotoWarning, PhotoWarningCode
from ballistics.errors import EvidenceError
from ballistics.io import AS_STORED
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.items import ItemKind, KindSpec, kind_spec

logger = logging.getLogger(__name__)

#: the job kind that correlates one stored exhibit against the store
CORRELATE_JOB = "correlate"


@dataclass(frozen=True)
class UploadedFile:
    """One uploaded file: its name as the client gave it and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Upload:
    """An exhibit submitted by an agency (the fields of ``POST /v1/exhibits``).

    Parameters
    ----------
    agency
        The submitting agency's name (it must exist: accounts are made by
        ``ballistics agency add``).
    exhibit_id, case_id
        Identifiers, unique within the agency.
    kind
        ``"cartridge_case"`` or ``"bullet"``.
    files
        One file for a cartridge case; one per land for a bullet, in land order.
    caliber, pixel_um, occurred_on
        As in the manifest (pixel_um only for 2D images without a resolution).
    shared
        Whether other agencies may see the exhibit's images (its identifiers and links are
        always shown to them, as the link needs).
    metadata
        Anything else worth keeping with the exhibit.
    """

    agency: str
    exhibit_id: str
    case_id: str
    kind: str
    files: Sequence[UploadedFile]
    caliber: str | None = None
    pixel_um: float | None = None
    occurred_on: datetime.date | None = None
    shared: bool = True
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadOutcome:
    """What storing an upload did.

    ``created`` is False for a repeat of an exhibit already stored with the same files;
    ``status`` is the exhibit's correlation status (``queued`` until its job has run);
    ``warnings`` what the lab should change in its photograph, as stored with the exhibit when
    it was prepared (none for a 3D scan).
    """

    key: int
    public_id: str
    exhibit_id: str
    status: str
    created: bool
    sha256: str
    warnings: tuple[PhotoWarning, ...] = ()

    @classmethod
    def of(cls, exhibit: Exhibit, *, created: bool, sha256: str) -> UploadOutcome:
        """The outcome naming a stored exhibit (its stored photograph warnings with it)."""
        return cls(
            key=exhibit.id,
            public_id=exhibit.public_id,
            exhibit_id=exhibit.exhibit_id,
            status=exhibit.status,
            created=created,
            sha256=sha256,
            warnings=tuple(
                PhotoWarning(PhotoWarningCode(stored["code"]), stored["message"])
                for stored in exhibit.photo_warnings or ()
            ),
        )


def store_upload(
    context: ServiceContext, upload: Upload, *, limits: ReadLimits = DEFAULT_LIMITS
) -> UploadOutcome:
    """Store ``upload`` and queue its correlation (see the module docstring for the steps).

    ``limits`` bound each file's size and grid (the API's upload settings).

    Raises
    ------
    NotFoundError
        The agency has no account.
    ConflictError
        Other files, or the same files with other fields (case, kind, calibre, sharing, date,
        rifling, pixel_um), are stored under this agency's exhibit id, or the case's date
        differs.
    EvidenceError
        A file cannot be read or prepared (the message names it), or a field is invalid (kind
        unknown, no file, identifier too long...): a message for the caller.
    """
    spec = _checked_spec(upload)
    names = [client_file_name(item.name) for item in upload.files]
    sha256 = repository.item_sha256(
        [hashlib.sha256(item.data).hexdigest() for item in upload.files]
    )
    repeat = _stored_repeat(context, upload, sha256)
    if repeat is not None:
        return repeat
    extracted = spec.extract(
        [(name, item.data) for name, item in zip(names, upload.files, strict=True)],
        pixel_um=upload.pixel_um,
        settings=context.config,
        limits=limits,
        orientation=_declared_orientation(upload),
        caliber=upload.caliber,
    )
    # the originals first: a stored exhibit always has them; a crash right after leaves at
    # worst an unreferenced blob that the next upload of the same bytes reuses
    originals = [
        context.store.originals.put_bytes(item.data, name=name)
        for name, item in zip(names, upload.files, strict=True)
    ]
    fields = ExhibitFields(
        exhibit_id=upload.exhibit_id,
        kind=upload.kind,
        files=[
            StoredOriginal(sha256=original.sha256, size_bytes=original.size_bytes, name=name)
            for original, name in zip(originals, names, strict=True)
        ],
        caliber=upload.caliber,
        metadata=upload.metadata,
        shared=upload.shared,
        actor=upload.agency,
    )
    prepared = PreparedItem(
        mark=extracted.encoded,
        descriptor=extracted.descriptor,
        modality=extracted.modality,
        pixel_um=extracted.pixel_um,
        warnings=tuple(warning.as_json() for warning in extracted.warnings),
    )
    with context.store.transaction(write=True) as session:
        agency = repository.get_agency(session, upload.agency)
        case = repository.get_or_create_case(
            session, agency, upload.case_id, occurred_on=upload.occurred_on
        )
        # not created: stored by a concurrent upload of the same item meanwhile
        stored = store_prepared_exhibit(
            session, case, fields, prepared, config=context.config, job=CORRELATE_JOB
        )
        outcome = UploadOutcome.of(stored.exhibit, created=stored.created, sha256=sha256)
    if stored.entry is not None:
        context.index.add(stored.entry)
    return outcome


def _declared_orientation(upload: Upload) -> str:
    """The orientation the upload's metadata declares (EvidenceError: a message for the caller)."""
    try:
        orientation = declared_orientation(upload.metadata)
    except ValueError as error:
        raise EvidenceError("", f"{error}.") from None
    if orientation != AS_STORED and upload.kind != ItemKind.CARTRIDGE_CASE:
        raise EvidenceError(
            "",
            f"orientation {orientation!r} is declared for cartridge cases only, not {upload.kind}.",
        )
    return orientation


def _checked_spec(upload: Upload) -> KindSpec:
    """The upload's kind, checked with its number of files (EvidenceError: a message for the
    caller)."""
    try:
        spec = kind_spec(upload.kind)
    except ValueError as error:
        raise EvidenceError("", f"{error}.") from None
    if not upload.files:
        raise EvidenceError(
            "", "no file was uploaded; send the item as the multipart field 'file'."
        )
    if spec.single_file and len(upload.files) != 1:
        raise EvidenceError(
            "",
            f"{spec.noun} is one file, got {len(upload.files)}; upload each case as its "
            "own exhibit (several files are for the lands of one bullet).",
        )
    return spec


def _stored_repeat(context: ServiceContext, upload: Upload, sha256: str) -> UploadOutcome | None:
    """The stored exhibit when ``upload`` repeats it with the same files and fields; None when
    the agency has no exhibit of that id.

    A repeat is idempotent only with the same fields: a changed one is refused
    (:class:`~api.store.errors.ConflictError`), never silently dropped (the stored exhibit is
    the caller's own: the values are shown).
    """
    with context.store.transaction() as session:
        agency = repository.get_agency(session, upload.agency)
        stored = repository.find_exhibit(session, agency, upload.exhibit_id)
        if stored is None:
            return None
        repository.check_same_item(
            stored,
            sha256=sha256,
            case_id=upload.case_id,
            kind=upload.kind,
            caliber=upload.caliber,
            shared=upload.shared,
            occurred_on=upload.occurred_on,
            metadata=upload.metadata,
            # the given spacing is what was stored only for photographs: an X3P's own wins
            pixel_um=upload.pixel_um if stored.modality == "photograph" else None,
        )
        return UploadOutcome.of(stored, created=False, sha256=sha256)


def client_file_name(name: str | None) -> str:
    """The last part of a client-given file name (never a path on this machine)."""
    base = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:500] or "upload"


__all__ = [
    "CORRELATE_JOB",
    "Upload",
    "UploadOutcome",
    "UploadedFile",
    "client_file_name",
    "store_upload",
]

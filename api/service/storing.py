"""Store a prepared exhibit: the one way an ingest row and an upload become stored evidence.

The caller prepares the item (read, prepare, describe, encode: a worker for an ingest, the
request's thread for an upload), stores its originals, opens a write transaction and finds the
case; :func:`store_prepared_exhibit` then writes the exhibit, its mark and descriptor (and, for
an upload, its correlation job) in that transaction and says what to index. Once the
transaction commits, the caller adds the entry to the vector index
(:meth:`~api.service.live_index.LiveIndex.add`): the database is the truth, and an index entry
never names an exhibit that is not committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from api.service.config import (
    ServiceConfig,
    caliber_class,
    descriptor_version_for,
    partition_of,
    preparation_version,
)
from api.service.live_index import IndexEntry
from api.store import repository
from api.store.models import Case, Exhibit
from api.store.originals import StoredOriginal


@dataclass(frozen=True)
class ExhibitFields:
    """What the submitter says of an exhibit (a manifest row, an upload's fields).

    Parameters
    ----------
    exhibit_id
        The agency's id of the exhibit.
    kind
        ``"cartridge_case"`` or ``"bullet"``.
    files
        Its stored originals, one per land of a bullet in land order.
    caliber
        Calibre (a class filter), or None.
    metadata
        Free fields kept with the exhibit.
    shared
        Whether other agencies may see its images.
    actor
        Who submits it, for the audit log.
    """

    exhibit_id: str
    kind: str
    files: Sequence[StoredOriginal]
    caliber: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    shared: bool = True
    actor: str | None = None


@dataclass(frozen=True, eq=False)
class PreparedItem:
    """What preparation made of an item: its encoded mark, descriptor, modality and spacing,
    and a photograph's quality warnings (``{"code", "message"}`` each)."""

    mark: bytes
    descriptor: np.ndarray
    modality: str
    pixel_um: float
    warnings: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True, eq=False)
class StoredExhibit:
    """What :func:`store_prepared_exhibit` wrote.

    ``exhibit`` is the stored row (read it inside the transaction); ``created`` is False when it
    was stored before; ``entry`` is what to add to the vector index once the transaction has
    committed, None when the mark and descriptor were left as they were.
    """

    exhibit: Exhibit
    created: bool
    entry: IndexEntry | None = None


def store_prepared_exhibit(
    session: Session,
    case: Case,
    fields: ExhibitFields,
    prepared: PreparedItem,
    *,
    config: ServiceConfig,
    job: str | None = None,
    replace_outdated: bool = False,
) -> StoredExhibit:
    """Write exhibit ``fields`` of ``case`` with its prepared mark and descriptor, in the
    caller's transaction ``session``.

    Parameters
    ----------
    config
        The settings the item was prepared with (their digest is the preparation version).
    job
        A job kind to queue for the new exhibit (an upload's ``correlate``), or None.
    replace_outdated
        An exhibit already stored whose mark or descriptor is of an older version gets the new
        ones (an ingest run again after a preparation change); False: a stored exhibit is left
        as it is.

    Raises
    ------
    ConflictError
        Other files, or another case or kind, are stored under this exhibit id.
    ValueError
        A field is empty or out of range.
    """
    added = add_exhibit(session, case, fields, prepared)
    exhibit = added.exhibit
    if not added.created and (not replace_outdated or _has_current_data(session, exhibit)):
        return StoredExhibit(exhibit, created=False)
    # new, or stored before with an older preparation or descriptor: (re)write both
    exhibit.photo_warnings = (
        [dict(warning) for warning in prepared.warnings]
        if prepared.modality == "photograph"
        else None
    )
    repository.set_mark(
        session,
        exhibit,
        prepared.mark,
        preparation_version=preparation_version(config, kind=exhibit.kind),
    )
    repository.set_descriptor(
        session, exhibit, prepared.descriptor, version=descriptor_version_for(exhibit.kind)
    )
    if job is not None and added.created:
        repository.enqueue_job(session, job, exhibit=exhibit)
    entry = IndexEntry(
        key=exhibit.id,
        partition=partition_of(exhibit.kind, exhibit.modality or prepared.modality),
        vector=prepared.descriptor,
        caliber_class=caliber_class(exhibit.caliber),
    )
    return StoredExhibit(exhibit, created=added.created, entry=entry)


def add_exhibit(
    session: Session, case: Case, fields: ExhibitFields, prepared: PreparedItem | None = None
) -> repository.ExhibitAdded:
    """Add exhibit ``fields`` of ``case``, or find it again when the same item is stored
    (:func:`api.store.repository.add_exhibit`, which refuses other files); its mark and
    descriptor are not written (``prepared`` gives its modality and spacing, when known)."""
    return repository.add_exhibit(
        session,
        case,
        fields.exhibit_id,
        kind=fields.kind,
        files=fields.files,
        caliber=fields.caliber,
        modality=None if prepared is None else prepared.modality,
        pixel_um=None if prepared is None else prepared.pixel_um,
        metadata=fields.metadata,
        shared=fields.shared,
        actor=fields.actor,
    )


def _has_current_data(session: Session, exhibit: Exhibit) -> bool:
    version = descriptor_version_for(exhibit.kind)
    return repository.has_prepared_data(session, exhibit, version=version)

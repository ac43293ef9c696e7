"""Which exhibits have their current descriptor (and mark): what the vector index is built and
caught up from, and what a resumed ingest need not prepare again.

The current descriptor versions are the service's to say (one per kind of mark); every function
here takes them as ``versions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.store.models import Agency, Exhibit, ExhibitDescriptor, ExhibitMark

#: exhibits read in one query
_LOOKUP_BATCH = 500


class IndexedExhibit(NamedTuple):
    """An exhibit with a current descriptor, as the vector index files it."""

    key: int
    kind: str
    modality: str
    caliber: str | None


class StoredItem(NamedTuple):
    """A stored exhibit as an ingest sees it: its digest, and whether its prepared mark and
    current descriptor are stored."""

    agency: str
    exhibit_id: str
    sha256: str
    has_mark: bool
    has_descriptor: bool


def indexed_exhibits(
    session: Session,
    *,
    versions: Sequence[str],
    after_generation: int | None = None,
    through_generation: int | None = None,
) -> list[IndexedExhibit]:
    """Return the exhibits with a descriptor of one of ``versions`` and a known modality, in
    key order; optionally only those whose descriptor was stored after generation
    ``after_generation`` and by ``through_generation``."""
    statement = (
        select(Exhibit.id, Exhibit.kind, Exhibit.modality, Exhibit.caliber)
        .join(ExhibitDescriptor, ExhibitDescriptor.exhibit_pk == Exhibit.id)
        .where(ExhibitDescriptor.version.in_(list(versions)), Exhibit.modality.is_not(None))
        .order_by(Exhibit.id)
    )
    if after_generation is not None:
        statement = statement.where(Exhibit.index_generation > after_generation)
    if through_generation is not None:
        statement = statement.where(Exhibit.index_generation <= through_generation)
    return [
        IndexedExhibit(int(key), str(kind), str(modality), caliber)
        for key, kind, modality, caliber in session.execute(statement)
    ]


def count_indexed_exhibits(
    session: Session, *, versions: Sequence[str], through_generation: int
) -> list[tuple[str, str, int]]:
    """Return (kind, modality, count) of the exhibits with a descriptor of one of ``versions``
    stored by generation ``through_generation`` (or before generations were counted)."""
    statement = (
        select(Exhibit.kind, Exhibit.modality, func.count())
        .join(ExhibitDescriptor, ExhibitDescriptor.exhibit_pk == Exhibit.id)
        .where(
            ExhibitDescriptor.version.in_(list(versions)),
            Exhibit.modality.is_not(None),
            or_(
                Exhibit.index_generation.is_(None),
                Exhibit.index_generation <= through_generation,
            ),
        )
        .group_by(Exhibit.kind, Exhibit.modality)
    )
    return [
        (str(kind), str(modality), int(count))
        for kind, modality, count in session.execute(statement)
    ]


def descriptors_by_key(
    session: Session, keys: Iterable[int], *, versions: Sequence[str]
) -> dict[int, bytes]:
    """Return the descriptors (float32 bytes) of one of ``versions`` of the exhibits ``keys``
    (those that have one). An exhibit only ever has descriptors of its kind's versions, so one
    filter on the set of current versions serves every kind."""
    keys = sorted({int(key) for key in keys})
    found: dict[int, bytes] = {}
    for start in range(0, len(keys), _LOOKUP_BATCH):
        rows = session.execute(
            select(ExhibitDescriptor.exhibit_pk, ExhibitDescriptor.vector).where(
                ExhibitDescriptor.version.in_(list(versions)),
                ExhibitDescriptor.exhibit_pk.in_(keys[start : start + _LOOKUP_BATCH]),
            )
        )
        found.update((int(key), bytes(vector)) for key, vector in rows)
    return found


def marked_without_descriptor(session: Session, *, versions: Sequence[str]) -> list[int]:
    """Return the exhibits that have a prepared mark but no descriptor of ``versions``, in key
    order."""
    current = select(ExhibitDescriptor.exhibit_pk).where(
        ExhibitDescriptor.version.in_(list(versions))
    )
    statement = (
        select(ExhibitMark.exhibit_pk)
        .where(ExhibitMark.exhibit_pk.not_in(current))
        .order_by(ExhibitMark.exhibit_pk)
    )
    return [int(key) for key in session.scalars(statement)]


def has_prepared_data(session: Session, exhibit: Exhibit, *, version: str) -> bool:
    """Return whether ``exhibit`` has its prepared mark and a descriptor of ``version``."""
    has_descriptor = session.get(ExhibitDescriptor, (exhibit.id, version)) is not None
    return has_descriptor and session.get(ExhibitMark, exhibit.id) is not None


def stored_items(
    session: Session, exhibit_ids: Iterable[str], *, versions: Sequence[str]
) -> list[StoredItem]:
    """Return the stored exhibits of the given exhibit ids, of every agency, each with whether
    its prepared mark and a descriptor of one of ``versions`` are stored."""
    exhibit_ids = sorted(set(exhibit_ids))
    found: list[StoredItem] = []
    for start in range(0, len(exhibit_ids), _LOOKUP_BATCH):
        statement = (
            select(
                Agency.name,
                Exhibit.exhibit_id,
                Exhibit.sha256,
                ExhibitMark.exhibit_pk.is_not(None),
                ExhibitDescriptor.exhibit_pk.is_not(None),
            )
            .join(Agency, Agency.id == Exhibit.agency_pk)
            .outerjoin(ExhibitMark, ExhibitMark.exhibit_pk == Exhibit.id)
            .outerjoin(
                ExhibitDescriptor,
                (ExhibitDescriptor.exhibit_pk == Exhibit.id)
                & ExhibitDescriptor.version.in_(list(versions)),
            )
            .where(Exhibit.exhibit_id.in_(exhibit_ids[start : start + _LOOKUP_BATCH]))
        )
        found.extend(
            StoredItem(agency, exhibit_id, sha256, bool(has_mark), bool(has_descriptor))
            for agency, exhibit_id, sha256, has_mark, has_descriptor in session.execute(statement)
        )
    return found

"""Prepared marks and retrieval descriptors of exhibits: what search re-ranks with and indexes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.errors import NotFoundError
from api.store.models import (
    Exhibit,
    ExhibitDescriptor,
    ExhibitMark,
    utc_now,
)
from api.store.repository._common import _identifier
from api.store.repository.counters import advance_generation
from ballistics.items.encoding import decode_mark


def set_mark(
    session: Session, exhibit: Exhibit, data: bytes, *, preparation_version: str
) -> ExhibitMark:
    """Store (or replace) the encoded prepared mark of ``exhibit`` (see
    :mod:`ballistics.items.encoding`).

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
    exhibit.index_generation = advance_generation(session)
    session.flush()
    return row


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

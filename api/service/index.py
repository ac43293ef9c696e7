"""The vector index as a cache of the database: opened, checked, reconciled and rebuilt.

The database holds every exhibit's descriptor (table ``exhibit_descriptors``, one row per
descriptor version); the FAISS index in ``<store>/index/`` (:class:`indexer.PartitionedIndex`)
is only a fast copy of the current version's vectors, one partition per (kind, modality), each
vector tagged with its exhibit's id and calibre class (:func:`api.service.config.caliber_class`).

On opening a store the saved index is loaded with its format, descriptor version and dimension
checked. A saved index that fails a check (another descriptor version, a damaged file) is
discarded with a warning and rebuilt from the database: the database is the truth, so nothing
is lost, and a user never has to run ``ballistics reindex`` to make a store usable again. Then
the index is reconciled with the database: descriptors of the current version missing from it
are added (exhibits committed by an ingest that was killed before it saved the index), and ids
the database no longer holds are removed. This is what makes every committed exhibit
searchable after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.service.config import (
    CURRENT_DESCRIPTOR_VERSIONS,
    INDEX_DESCRIPTOR_VERSION,
    caliber_class,
    index_vector,
    partition_of,
)
from api.store.database import Store
from api.store.models import Exhibit, ExhibitDescriptor, ExhibitMark
from ballistics.descriptors import DESCRIPTOR_DIMENSION
from indexer import IndexConfig, IndexStoreError, Partition, PartitionedIndex

logger = logging.getLogger(__name__)

#: the index's folder inside a store folder
INDEX_FOLDER_NAME = "index"
_BATCH_KEYS = 500


@dataclass(frozen=True)
class IndexState:
    """What opening or reconciling the index did.

    Parameters
    ----------
    added
        Vectors added from the database (missing from the saved index).
    removed
        Ids removed (no longer in the database, or of another calibre class).
    discarded
        Why the saved index was discarded and rebuilt, or None when it was usable.
    without_descriptor
        Exhibits with a prepared mark but no descriptor of the current version: they cannot
        be found until ``ballistics reindex`` computes their descriptors.
    """

    added: int = 0
    removed: int = 0
    discarded: str | None = None
    without_descriptor: int = 0

    @property
    def changed(self) -> bool:
        """True when the index differs from what was saved."""
        return bool(self.added or self.removed or self.discarded)


def index_folder(store: Store) -> Path:
    """Return the folder of ``store``'s vector index."""
    return store.folder / INDEX_FOLDER_NAME


def new_index(store: Store, *, config: IndexConfig) -> PartitionedIndex:
    """Return an empty index for ``store`` (saved only when :meth:`~PartitionedIndex.save` is)."""
    return PartitionedIndex(
        index_folder(store),
        dimension=DESCRIPTOR_DIMENSION,
        descriptor_version=INDEX_DESCRIPTOR_VERSION,
        config=config,
    )


def open_index(store: Store, *, config: IndexConfig) -> tuple[PartitionedIndex, IndexState]:
    """Load ``store``'s saved index (or start an empty one) and reconcile it with the database.

    Returns
    -------
    tuple of (PartitionedIndex, IndexState)
        The index, in step with the database, and what had to change (the caller saves it when
        ``state.changed``).
    """
    discarded = None
    try:
        index = PartitionedIndex.open(
            index_folder(store),
            dimension=DESCRIPTOR_DIMENSION,
            descriptor_version=INDEX_DESCRIPTOR_VERSION,
            config=config,
        )
    except IndexStoreError as error:
        discarded = str(error)
        logger.warning(
            "the saved vector index cannot be used (%s); rebuilding it from the database", error
        )
        index = new_index(store, config=config)
    state = reconcile_index(store, index)
    if discarded is not None:
        state = IndexState(
            added=state.added,
            removed=state.removed,
            discarded=discarded,
            without_descriptor=state.without_descriptor,
        )
    return index, state


def reconcile_index(store: Store, index: PartitionedIndex) -> IndexState:
    """Bring ``index`` in step with the database's descriptors of the current version.

    Adds what is missing (with its calibre class), removes ids the database does not hold and
    re-adds ids whose class differs. Does not save.
    """
    with store.transaction() as session:
        expected = _expected_classes(session)
        without_descriptor = len(keys_without_descriptor(session))
        added = removed = 0
        for partition in sorted(set(expected) | set(index.partitions())):
            wanted = expected.get(partition, {})
            present = _present_classes(index, partition)
            stale = [key for key, code in present.items() if wanted.get(key) != code]
            if stale:
                removed += index.remove(partition, np.asarray(stale, dtype=np.int64))
            missing = [key for key in wanted if present.get(key) != wanted[key]]
            for start in range(0, len(missing), _BATCH_KEYS):
                batch = missing[start : start + _BATCH_KEYS]
                vectors = descriptor_vectors(session, batch)
                keys = [key for key in batch if key in vectors]
                if keys:
                    index.add(
                        partition,
                        np.asarray(keys, dtype=np.int64),
                        np.stack([vectors[key] for key in keys]),
                        classes=np.asarray([wanted[key] for key in keys], dtype=np.int64),
                    )
                    added += len(keys)
    if added or removed:
        logger.info(
            "vector index reconciled with the database: %d added, %d removed", added, removed
        )
    if without_descriptor:
        logger.warning(
            "%d exhibits have no descriptor of the current version (%s) and cannot be searched; "
            "run `ballistics reindex` to compute them from their stored marks",
            without_descriptor,
            " / ".join(CURRENT_DESCRIPTOR_VERSIONS),
        )
    return IndexState(added=added, removed=removed, without_descriptor=without_descriptor)


def rebuild_index(store: Store, index: PartitionedIndex) -> dict[Partition, int]:
    """Rebuild every partition of ``index`` from the database; return the vectors per partition.

    Partitions the database has no descriptors for are dropped. Does not save.
    """
    counts: dict[Partition, int] = {}
    with store.transaction() as session:
        expected = _expected_classes(session)
        for partition, classes in sorted(expected.items()):
            counts[partition] = index.rebuild(
                partition,
                _triples(session, sorted(classes), classes),
                dimension=DESCRIPTOR_DIMENSION,
            )
    for partition in index.partitions():
        if partition not in expected:
            index.drop_partition(partition)
    return counts


def _triples(
    session: Session, keys: list[int], classes: dict[int, int]
) -> Iterator[tuple[int, np.ndarray, int]]:
    for start in range(0, len(keys), _BATCH_KEYS):
        batch = keys[start : start + _BATCH_KEYS]
        vectors = descriptor_vectors(session, batch)
        for key in batch:
            if key in vectors:
                yield key, vectors[key], classes[key]


def descriptor_vectors(session: Session, keys: list[int]) -> dict[int, np.ndarray]:
    """Return the current-version descriptors of the exhibits ``keys`` (those that have one),
    as the index holds them (:func:`~api.service.config.index_vector`).

    Each kind has its own current version, and an exhibit only ever has descriptors of its
    kind's versions, so one filter on the set of current versions serves both kinds.
    """
    if not keys:
        return {}
    rows = session.execute(
        select(ExhibitDescriptor.exhibit_pk, ExhibitDescriptor.vector).where(
            ExhibitDescriptor.version.in_(CURRENT_DESCRIPTOR_VERSIONS),
            ExhibitDescriptor.exhibit_pk.in_(keys),
        )
    )
    return {
        int(key): index_vector(np.frombuffer(bytes(vector), dtype="<f4")) for key, vector in rows
    }


def _expected_classes(session: Session) -> dict[Partition, dict[int, int]]:
    """Return, per partition, the calibre class of every exhibit with a current descriptor."""
    rows = session.execute(
        select(Exhibit.id, Exhibit.kind, Exhibit.modality, Exhibit.caliber)
        .join(ExhibitDescriptor, ExhibitDescriptor.exhibit_pk == Exhibit.id)
        .where(
            ExhibitDescriptor.version.in_(CURRENT_DESCRIPTOR_VERSIONS),
            Exhibit.modality.is_not(None),
        )
    )
    expected: dict[Partition, dict[int, int]] = {}
    for key, kind, modality, caliber in rows:
        expected.setdefault(partition_of(kind, modality), {})[int(key)] = caliber_class(caliber)
    return expected


def _present_classes(index: PartitionedIndex, partition: Partition) -> dict[int, int]:
    if partition not in index.partitions():
        return {}
    vectors = index.partition(partition)
    return dict(zip(vectors.ids().tolist(), vectors.classes().tolist(), strict=True))


def keys_without_descriptor(session: Session) -> list[int]:
    """Return the exhibits that have a mark but no descriptor of the current version."""
    current = select(ExhibitDescriptor.exhibit_pk).where(
        ExhibitDescriptor.version.in_(CURRENT_DESCRIPTOR_VERSIONS)
    )
    return [
        int(key)
        for key in session.scalars(
            select(ExhibitMark.exhibit_pk)
            .where(ExhibitMark.exhibit_pk.not_in(current))
            .order_by(ExhibitMark.exhibit_pk)
        )
    ]

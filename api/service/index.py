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

Several processes share a store (``ballistics serve`` while ``ballistics ingest`` runs), so each
keeps its index in step with the database's change counters (table ``store_state``,
:func:`api.store.repository.store_generation`): every transaction that stores a descriptor
raises ``generation`` and stamps the exhibit with it (``exhibits.index_generation``), and
``ballistics reindex`` raises ``index_epoch``. An index remembers the counters it has seen;
:func:`catch_up_index` (before each search and correlation) reads them in one small query and,
when the generation moved, adds only the descriptors of the exhibits stamped since. Exhibits are
never deleted, so catching up only adds. The counters an index was saved at are kept beside its
manifest (``store-generation.json``, bound to the manifest by its checksum), so that opening a
store catches up from there instead of reconciling every exhibit.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from api.service.config import (
    CURRENT_DESCRIPTOR_VERSIONS,
    INDEX_DESCRIPTOR_VERSION,
    caliber_class,
    index_vector,
    partition_of,
)
from api.store import repository
from api.store.database import Store
from api.store.repository import StoreGeneration
from ballistics.descriptors import DESCRIPTOR_DIMENSION
from indexer import MANIFEST_NAME, IndexConfig, IndexStoreError, Partition, PartitionedIndex
from indexer.files import folder_lock, write_text_atomically

logger = logging.getLogger(__name__)

#: the index's folder inside a store folder
INDEX_FOLDER_NAME = "index"
#: the store's change counters the saved index is in step with, beside its manifest
SEEN_FILE_NAME = "store-generation.json"
# held while the index is saved and its counters written, and while both are read back: not the
# indexer's own ".lock", which PartitionedIndex.save takes inside
_SEEN_LOCK_NAME = ".store-generation.lock"
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
    seen
        The store's change counters the index is now in step with (None: not known, the next
        catch-up reloads it).
    incremental
        Only exhibits stored since the counters the index had seen were read (False: every
        exhibit was compared, or the index reloaded).
    """

    added: int = 0
    removed: int = 0
    discarded: str | None = None
    without_descriptor: int = 0
    seen: StoreGeneration | None = None
    incremental: bool = False

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
    """Load ``store``'s saved index (or start an empty one) and bring it in step with the database.

    When the counters it was saved at are known and the store was not reindexed since, only the
    exhibits stored since are read; otherwise every exhibit is compared
    (:func:`reconcile_index`).

    Returns
    -------
    tuple of (PartitionedIndex, IndexState)
        The index, in step with the database, and what had to change (the caller saves it with
        :func:`save_index` when ``state.changed``).
    """
    discarded = None
    saved_seen = None
    folder = index_folder(store)
    try:
        with _seen_lock(folder, exclusive=False):
            before = _manifest_checksum(folder)
            index = PartitionedIndex.open(
                folder,
                dimension=DESCRIPTOR_DIMENSION,
                descriptor_version=INDEX_DESCRIPTOR_VERSION,
                config=config,
            )
            if before is not None and _manifest_checksum(folder) == before:
                saved_seen = _read_seen(folder, manifest_checksum=before)
    except IndexStoreError as error:
        discarded = str(error)
        logger.warning(
            "the saved vector index cannot be used (%s); rebuilding it from the database", error
        )
        index = new_index(store, config=config)
    state = catch_up_index(store, index, seen=saved_seen) if saved_seen is not None else None
    if state is not None and state.seen is not None and not _counts_agree(store, index, state.seen):
        # ids the database lacks (a database restored from an older backup, a hand edit): the
        # counters cannot tell, the counts can
        logger.info("the saved vector index differs from the database; comparing every exhibit")
        state = None
    if state is None:
        state = reconcile_index(store, index)
    if discarded is not None:
        state = IndexState(
            added=state.added,
            removed=state.removed,
            discarded=discarded,
            without_descriptor=state.without_descriptor,
            seen=state.seen,
        )
    return index, state


def catch_up_index(
    store: Store, index: PartitionedIndex, *, seen: StoreGeneration
) -> IndexState | None:
    """Add to ``index`` the descriptors stored since the change counters ``seen``.

    One small query when nothing changed. Safe beside searches on ``index`` (its vectors are
    only added or replaced); callers serialise catch-ups of one index. Does not save.

    Returns
    -------
    IndexState or None
        What was added, with the counters now seen; None when the index must be reloaded
        instead (:func:`open_index`): the store was reindexed since, or its counters went back
        (another database, or one restored from a backup).
    """
    with store.transaction() as session:
        # read first: every exhibit stamped at most this generation is committed and visible
        current = repository.store_generation(session)
        if current == seen:
            return IndexState(seen=seen, incremental=True)
        if current.epoch != seen.epoch or current.generation < seen.generation:
            return None
        rows = repository.indexed_exhibits(
            session,
            versions=CURRENT_DESCRIPTOR_VERSIONS,
            after_generation=seen.generation,
            through_generation=current.generation,
        )
        wanted: dict[Partition, dict[int, int]] = {}
        for key, kind, modality, caliber in rows:
            wanted.setdefault(partition_of(kind, modality), {})[int(key)] = caliber_class(caliber)
        added = sum(
            _add_from_database(session, index, partition, classes)
            for partition, classes in sorted(wanted.items())
        )
    if added:
        logger.info(
            "vector index caught up with the database (generation %d to %d): %d added",
            seen.generation,
            current.generation,
            added,
        )
    return IndexState(added=added, seen=current, incremental=True)


def _counts_agree(store: Store, index: PartitionedIndex, seen: StoreGeneration) -> bool:
    """Return whether each partition holds as many vectors as the database has exhibits with a
    current descriptor stored by generation ``seen`` (one grouped count, no vectors read)."""
    with store.transaction() as session:
        rows = repository.count_indexed_exhibits(
            session, versions=CURRENT_DESCRIPTOR_VERSIONS, through_generation=seen.generation
        )
        expected: dict[Partition, int] = {}
        for kind, modality, count in rows:
            partition = partition_of(kind, modality)
            expected[partition] = expected.get(partition, 0) + int(count)
    present = {partition: index.count(partition) for partition in index.partitions()}
    return {key: count for key, count in present.items() if count} == expected


def save_index(store: Store, index: PartitionedIndex, *, seen: StoreGeneration | None) -> Path:
    """Save ``index`` and the change counters it is in step with; return the manifest's path.

    The counters are written after the manifest and bound to it by its checksum, under a lock
    that every process saving through here takes, so that counters are never read beside an
    index that holds less than they claim. ``seen`` None removes them (the next open compares
    every exhibit).
    """
    folder = index_folder(store)
    folder.mkdir(parents=True, exist_ok=True)
    with _seen_lock(folder, exclusive=True):
        (folder / SEEN_FILE_NAME).unlink(missing_ok=True)
        path = index.save()
        checksum = _manifest_checksum(folder)
        if seen is not None and checksum is not None:
            body = {"epoch": seen.epoch, "generation": seen.generation, "manifest": checksum}
            write_text_atomically(folder / SEEN_FILE_NAME, json.dumps(body) + "\n")
    return path


def reconcile_index(store: Store, index: PartitionedIndex) -> IndexState:
    """Bring ``index`` in step with the database's descriptors of the current version.

    Adds what is missing (with its calibre class), removes ids the database does not hold and
    re-adds ids whose class differs. Does not save.
    """
    with store.transaction() as session:
        # read first: what is stored later is caught up from these counters
        seen = repository.store_generation(session)
        expected = _expected_classes(session)
        without_descriptor = len(keys_without_descriptor(session))
        added = removed = 0
        for partition in sorted(set(expected) | set(index.partitions())):
            wanted = expected.get(partition, {})
            present = _present_classes(index, partition)
            stale = [key for key, code in present.items() if wanted.get(key) != code]
            if stale:
                removed += index.remove(partition, np.asarray(stale, dtype=np.int64))
            missing = {key: code for key, code in wanted.items() if present.get(key) != code}
            added += _add_from_database(session, index, partition, missing)
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
    return IndexState(
        added=added, removed=removed, without_descriptor=without_descriptor, seen=seen
    )


def _add_from_database(
    session: Session, index: PartitionedIndex, partition: Partition, classes: dict[int, int]
) -> int:
    """Add (or replace) the current descriptors of the exhibits ``classes`` (id: calibre class)
    to ``partition``; return how many had one."""
    keys = list(classes)
    added = 0
    for start in range(0, len(keys), _BATCH_KEYS):
        batch = keys[start : start + _BATCH_KEYS]
        vectors = descriptor_vectors(session, batch)
        found = [key for key in batch if key in vectors]
        if found:
            index.add(
                partition,
                np.asarray(found, dtype=np.int64),
                np.stack([vectors[key] for key in found]),
                classes=np.asarray([classes[key] for key in found], dtype=np.int64),
            )
            added += len(found)
    return added


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
    rows = repository.descriptors_by_key(session, keys, versions=CURRENT_DESCRIPTOR_VERSIONS)
    return {key: index_vector(np.frombuffer(vector, dtype="<f4")) for key, vector in rows.items()}


def _expected_classes(session: Session) -> dict[Partition, dict[int, int]]:
    """Return, per partition, the calibre class of every exhibit with a current descriptor."""
    rows = repository.indexed_exhibits(session, versions=CURRENT_DESCRIPTOR_VERSIONS)
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
    return repository.marked_without_descriptor(session, versions=CURRENT_DESCRIPTOR_VERSIONS)


def _manifest_checksum(folder: Path) -> str | None:
    """Return the checksum of the saved manifest in ``folder`` (None: none readable)."""
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    checksum = manifest.get("checksum") if isinstance(manifest, dict) else None
    return checksum if isinstance(checksum, str) else None


def _read_seen(folder: Path, *, manifest_checksum: str) -> StoreGeneration | None:
    """Return the counters saved with the manifest of ``manifest_checksum`` (None: not known)."""
    try:
        body: Any = json.loads((folder / SEEN_FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("manifest") != manifest_checksum:
        return None  # written with another save: the index may hold less than they say
    epoch, generation = body.get("epoch"), body.get("generation")
    if not (isinstance(epoch, int) and isinstance(generation, int)) or min(epoch, generation) < 0:
        return None
    return StoreGeneration(epoch=epoch, generation=generation)


@contextlib.contextmanager
def _seen_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the lock between saving the index with its counters and reading both back."""
    if not folder.is_dir():  # nothing saved to read yet
        yield
        return
    with folder_lock(folder, exclusive=exclusive, lock_name=_SEEN_LOCK_NAME):
        yield

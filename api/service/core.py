"""The evidence service: one store, its vector index and a worker pool, behind five operations.

Layout of a store folder (``--store``)::

    ballistics.sqlite3      the database (api.store), unless $BALLISTICS_DATABASE_URL names one
    originals/ab/cd/<sha>   the original files, content-addressed (api.store.originals)
    index/                  the vector index, a cache of the database (indexer.PartitionedIndex)

The command line, the benchmarks and the HTTP API all go through :class:`EvidenceService`:

>>> with EvidenceService.open("ballistics-data") as service:          # doctest: +SKIP
...     report = service.ingest(read_manifest("manifest.csv"))
...     outcome = service.search("questioned.x3p", top=10)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.manifest import Manifest, read_manifest
from api.pairs import ProgressCallback
from api.service.config import (
    DEFAULT_SERVICE_CONFIG,
    ServiceConfig,
    algorithm_version,
    descriptor_version_for,
)
from api.service.correlate import CorrelationReport, correlate_exhibits
from api.service.index import (
    IndexState,
    catch_up_index,
    keys_without_descriptor,
    new_index,
    open_index,
    rebuild_index,
    save_index,
)
from api.service.ingest import IngestReport, ingest_manifest
from api.service.search import SearchOutcome, search_item
from api.service.workers import WorkerPool, describe_task
from api.store import repository
from api.store.database import SQLITE_FILE_NAME, Store, open_store
from api.store.repository import StoreGeneration
from ballistics.descriptors import DESCRIPTOR_VERSION
from ballistics.errors import EvidenceError
from ballistics.io.files import Source
from ballistics.items import ItemKind
from indexer import Partition, PartitionedIndex

logger = logging.getLogger(__name__)

#: stored marks whose descriptors ``reindex`` computes and commits together
_DESCRIBE_BATCH = 64


@dataclass(frozen=True)
class ReindexReport:
    """What ``ballistics reindex`` did.

    Parameters
    ----------
    partitions
        Vectors per (kind, modality) partition of the rebuilt index.
    descriptors_computed
        Descriptors of the current version computed from stored marks (after a descriptor
        change, or for exhibits stored without one).
    failed
        Exhibits whose descriptor could not be computed: ``exhibit_id`` and ``error``.
    elapsed_s
        Wall-clock seconds.
    """

    partitions: dict[Partition, int]
    descriptors_computed: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """Return the report as ``ballistics reindex --json`` prints it."""
        return {
            "vectors": sum(self.partitions.values()),
            "partitions": [
                {"kind": kind, "modality": modality, "vectors": count}
                for (kind, modality), count in sorted(self.partitions.items())
            ],
            "descriptor_version": DESCRIPTOR_VERSION,
            "descriptors_computed": self.descriptors_computed,
            "failed": list(self.failed),
            "elapsed_s": self.elapsed_s,
        }


class EvidenceService:
    """An open store with its vector index and worker pool (use :meth:`open`).

    Parameters
    ----------
    store
        The open evidence store.
    index
        Its vector index, in step with the database.
    config
        Search, linking and preparation settings.
    workers
        Worker processes for preparation and comparison; None for every core, 1 to work in
        this process.
    index_state
        What opening the index found (for messages and tests).

    Notes
    -----
    One process at a time should ingest into a store; searches may run alongside. Another
    process's new exhibits reach this one's index before its next search or correlation
    (:meth:`catch_up_index`, one small query when nothing changed).
    """

    def __init__(
        self,
        store: Store,
        index: PartitionedIndex,
        *,
        config: ServiceConfig = DEFAULT_SERVICE_CONFIG,
        workers: int | None = None,
        index_state: IndexState | None = None,
    ) -> None:
        self.store = store
        self.index = index
        self.config = config
        self.index_state = index_state or IndexState()
        # the store's change counters self.index is in step with (None: reload it when asked)
        self._seen = self.index_state.seen
        # one catch-up or reload at a time; searches on the index need no lock
        self._index_lock = threading.Lock()
        self.pool = WorkerPool(
            workers,
            prepare_config=config.prepare,
            compare_config=config.compare,
            cache_size=config.worker_cache_marks,
            bullet_config=config.bullet,
        )

    @classmethod
    def open(
        cls,
        store_dir: Path | str,
        *,
        database_url: str | None = None,
        config: ServiceConfig = DEFAULT_SERVICE_CONFIG,
        workers: int | None = None,
        create: bool = True,
        load_index: bool = True,
    ) -> EvidenceService:
        """Open the store in ``store_dir`` and bring its vector index in step with it.

        Parameters
        ----------
        store_dir
            The store folder.
        database_url
            A database URL replacing the folder's SQLite file (the command line passes
            ``$BALLISTICS_DATABASE_URL``).
        config, workers
            As for the class.
        create
            Create the store when there is none (False: refuse, for commands that only read).
        load_index
            Load and reconcile the saved index (False: start from an empty one, for
            :meth:`reindex`, which rebuilds it anyway).

        Raises
        ------
        EvidenceError
            ``create`` is False and ``store_dir`` holds no store.
        StoreVersionError
            The database was written by a newer release.
        """
        folder = Path(store_dir)
        if not create and database_url is None and not (folder / SQLITE_FILE_NAME).is_file():
            raise EvidenceError(
                str(folder),
                f"no evidence store here (no {SQLITE_FILE_NAME}); give --store DIR, or store "
                "exhibits first with `ballistics ingest MANIFEST.csv`",
            )
        store = open_store(folder, database_url=database_url)
        try:
            if load_index:
                index, state = open_index(store, config=config.index)
                if state.changed:
                    save_index(store, index, seen=state.seen)
                elif not state.incremental:
                    _save_counters(store, index, seen=state.seen)
            else:
                index, state = new_index(store, config=config.index), IndexState()
        except BaseException:
            store.close()
            raise
        return cls(store, index, config=config, workers=workers, index_state=state)

    def __enter__(self) -> EvidenceService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes and close the database connections."""
        self.pool.close()
        self.store.close()

    @property
    def algorithm_version(self) -> str:
        """The version recorded with cartridge-case correlation results and links."""
        return self.algorithm_version_for(ItemKind.CARTRIDGE_CASE)

    def algorithm_version_for(self, kind: str) -> str:
        """The version recorded with correlation results and links of exhibits of ``kind``."""
        return algorithm_version(self.config, descriptor_version_for(kind), kind=kind)

    # --- operations ----------------------------------------------------------------------------

    def ingest(
        self,
        manifest: Manifest | Path | str,
        *,
        correlate: bool = True,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Ingest a manifest (a path or a parsed one); see :mod:`api.service.ingest`."""
        if not isinstance(manifest, Manifest):
            manifest = read_manifest(manifest)
        return ingest_manifest(self, manifest, correlate=correlate, progress=progress)

    def correlate(
        self, keys: Iterable[int], *, progress: ProgressCallback | None = None
    ) -> CorrelationReport:
        """Correlate stored exhibits (integer ids); see :mod:`api.service.correlate`."""
        return correlate_exhibits(self, keys, progress=progress)

    def search(self, source: Source, **options: Any) -> SearchOutcome:
        """Search an item without storing it; options as :func:`api.service.search.search_item`."""
        return search_item(self, source, **options)

    def links(
        self,
        *,
        cross_border: bool | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return links between exhibits of different cases, best score first, as
        ``ballistics links`` prints them (:func:`api.store.repository.link_summary`)."""
        with self.store.transaction() as session:
            return [
                repository.link_summary(link)
                for link in repository.list_links(
                    session, cross_border=cross_border, status=status, limit=limit
                )
            ]

    def reindex(self, *, progress: ProgressCallback | None = None) -> ReindexReport:
        """Rebuild the vector index from the database and save it.

        Exhibits whose descriptor of the current version is missing get it first, computed
        from their stored marks (in the worker pool), so that a new descriptor version needs no
        original to be read again.
        """
        started = time.perf_counter()
        computed, failed = self._describe_stored_marks(progress)
        with self.store.transaction(write=True) as session:
            # committed before the rebuild reads: every other process reloads its index, and
            # what is stored from now on is caught up from these counters
            seen = repository.advance_index_epoch(session)
        index = new_index(self.store, config=self.config.index)
        partitions = rebuild_index(self.store, index)
        save_index(self.store, index, seen=seen)
        with self._index_lock:
            self.index, self._seen = index, seen
            self.index_state = IndexState(seen=seen)
        logger.info("rebuilt the vector index: %s", partitions)
        return ReindexReport(
            partitions=partitions,
            descriptors_computed=computed,
            failed=failed,
            elapsed_s=time.perf_counter() - started,
        )

    def reconcile_index(self) -> IndexState:
        """Reload the index from its saved copy and the database now (and save it if it changed)."""
        with self._index_lock:
            return self._reload_index()

    def catch_up_index(self) -> IndexState:
        """Bring the index in step with what other processes (and threads) stored since it was
        last; called before each search and correlation.

        One small query when nothing changed; otherwise the descriptors stored since are added,
        or, after a ``ballistics reindex`` anywhere, the index is reloaded. Does not save.
        """
        with self._index_lock:
            seen = self._seen
            state = None if seen is None else catch_up_index(self.store, self.index, seen=seen)
            if state is None:
                return self._reload_index()
            self._seen = state.seen
            return state

    def save_index(self) -> None:
        """Save the vector index (atomically), with the store's counters it is in step with."""
        with self._index_lock:  # the counters that go with this index, read before it is saved
            index, seen = self.index, self._seen
        save_index(self.store, index, seen=seen)

    def _reload_index(self) -> IndexState:
        index, state = open_index(self.store, config=self.config.index)
        if state.changed:
            save_index(self.store, index, seen=state.seen)
        self.index, self.index_state, self._seen = index, state, state.seen
        return state

    def _describe_stored_marks(
        self, progress: ProgressCallback | None
    ) -> tuple[int, list[dict[str, str]]]:
        with self.store.transaction() as session:
            keys = keys_without_descriptor(session)
        if not keys:
            return 0, []
        computed = 0
        failed: list[dict[str, str]] = []
        for start in range(0, len(keys), _DESCRIBE_BATCH):
            batch = keys[start : start + _DESCRIBE_BATCH]
            with self.store.transaction() as session:
                marks = repository.marks_by_key(session, batch)
            results = list(
                self.pool.map_unordered(describe_task, list(marks.items()), count=len(marks))
            )
            with self.store.transaction(write=True) as session:
                exhibits = repository.exhibits_by_key(session, [entry[0] for entry in results])
                for key, vector, error, version in results:
                    exhibit = exhibits.get(key)
                    if exhibit is None:
                        continue
                    if vector is None:
                        failed.append({"exhibit_id": exhibit.exhibit_id, "error": error or ""})
                        continue
                    repository.set_descriptor(session, exhibit, vector, version=version)
                    computed += 1
            if progress is not None:
                progress("describe", min(start + _DESCRIBE_BATCH, len(keys)), len(keys))
        return computed, failed


def _save_counters(store: Store, index: PartitionedIndex, *, seen: StoreGeneration | None) -> None:
    """Save an index that every exhibit was compared with, so that the next open only reads
    what is new; a store this process cannot write to is still searched, only opened slower."""
    try:
        save_index(store, index, seen=seen)
    except OSError as error:
        logger.debug("the vector index's counters were not saved: %s", error)

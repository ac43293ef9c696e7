"""The evidence service: one store, its vector index and an executor, behind every operation.

Layout of a store folder (``--store``)::

    ballistics.sqlite3      the database (api.store), unless $BALLISTICS_DATABASE_URL names one
    originals/ab/cd/<sha>   the original files, content-addressed (api.store.originals)
    index/                  the vector index, a cache of the database (indexer.PartitionedIndex)

:class:`EvidenceService` is the facade the command line, the benchmarks and the HTTP API go
through: it opens the store and covers every operation (ingest, upload, search, correlate,
links, reindex, the index's catch-up and save, job counts). Each operation is a step of its own
module that takes the service's :class:`~api.service.context.ServiceContext` (store, live
index, executor, settings), never the service itself:

=====================  ===============================================
operation              step
=====================  ===============================================
:meth:`ingest`         :func:`api.service.ingest.ingest_manifest`
:meth:`upload`         :func:`api.service.upload.store_upload`
:meth:`search`         :func:`api.service.search.search_item`
:meth:`correlate`      :func:`api.service.correlate.correlate_exhibits`
:meth:`reindex`        :func:`api.service.reindex.reindex`
:meth:`recorrelate`    :func:`api.service.recorrelate.recorrelate`
=====================  ===============================================

>>> with EvidenceService.open("ballistics-data") as service:          # doctest: +SKIP
...     report = service.ingest(read_manifest("manifest.csv"))
...     outcome = service.search("questioned.x3p", top=10)
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from api.manifest import Manifest, read_manifest
from api.pairs import ProgressCallback
from api.service.config import DEFAULT_SERVICE_CONFIG, ServiceConfig
from api.service.context import ServiceContext
from api.service.correlate import CorrelationReport, correlate_exhibits
from api.service.index import IndexState
from api.service.ingest import IngestReport, ingest_manifest
from api.service.live_index import LiveIndex
from api.service.recorrelate import RecorrelateReport, recorrelate
from api.service.reindex import ReindexReport, reindex
from api.service.search import SearchOutcome, search_item
from api.service.upload import Upload, UploadOutcome, store_upload
from api.service.workers import WorkerPool
from api.store import repository
from api.store.database import SQLITE_FILE_NAME, Store, open_store
from ballistics.errors import EvidenceError
from ballistics.io.files import Source
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.items import ItemKind
from ballistics.parallel import Executor
from indexer import PartitionedIndex

logger = logging.getLogger(__name__)

__all__ = ["EvidenceService", "ReindexReport"]


class EvidenceService:
    """An open store with its vector index and worker pool (use :meth:`open`).

    Parameters
    ----------
    store
        The open evidence store.
    index
        Its vector index, in step with the database (a :class:`~api.service.live_index.LiveIndex`,
        or the index alone, wrapped in one).
    config
        Search, linking and preparation settings.
    workers
        Worker processes for preparation and comparison; None for every core, 1 to work in
        this process.
    index_state
        What opening the index found (for messages and tests).
    cluster
        A Dask scheduler's address (:mod:`ballistics.cluster`) to run the heavy tasks on
        instead of ``workers`` local processes.

    Notes
    -----
    One process at a time should ingest into a store; searches may run alongside. Another
    process's new exhibits reach this one's index before its next search or correlation
    (:meth:`catch_up_index`, one small query when nothing changed).
    """

    def __init__(
        self,
        store: Store,
        index: PartitionedIndex | LiveIndex,
        *,
        config: ServiceConfig = DEFAULT_SERVICE_CONFIG,
        workers: int | None = None,
        index_state: IndexState | None = None,
        cluster: str | None = None,
    ) -> None:
        if not isinstance(index, LiveIndex):
            index = LiveIndex(store, index, config=config.index, state=index_state)
        local = WorkerPool(
            workers,
            prepare_config=config.prepare,
            compare_config=config.compare,
            cache_size=config.worker_cache_marks,
            bullet_config=config.bullet,
        )
        pool: Executor = local
        if cluster is not None:  # the same tasks and worker state, on a Dask cluster
            from ballistics.cluster import DaskExecutor

            pool = DaskExecutor(cluster, state=local.state)
        #: what every step takes (store, live index, executor, settings)
        self.context = ServiceContext(store=store, index=index, executor=pool, config=config)
        self.pool = pool

    @classmethod
    def open(
        cls,
        store_dir: Path | str,
        *,
        database_url: str | None = None,
        originals_url: str | None = None,
        config: ServiceConfig = DEFAULT_SERVICE_CONFIG,
        workers: int | None = None,
        create: bool = True,
        load_index: bool = True,
        cluster: str | None = None,
    ) -> EvidenceService:
        """Open the store in ``store_dir`` and bring its vector index in step with it.

        Parameters
        ----------
        store_dir
            The store folder.
        database_url
            A database URL replacing the folder's SQLite file (the command line passes
            ``$BALLISTICS_DATABASE_URL``).
        originals_url
            Where the original files are kept, a folder or an fsspec URL, instead of the
            folder's ``originals`` (the command line passes ``$BALLISTICS_ORIGINALS_URL``).
        config, workers, cluster
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
        store = open_store(folder, database_url=database_url, originals_url=originals_url)
        try:
            index = LiveIndex.open(store, config=config.index, load=load_index)
        except BaseException:
            store.close()
            raise
        try:
            return cls(store, index, config=config, workers=workers, cluster=cluster)
        except BaseException:  # the cluster could not be reached
            store.close()
            raise

    def __enter__(self) -> EvidenceService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes and close the database connections."""
        self.pool.close()
        self.store.close()

    # --- what it holds -------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The open evidence store (database and originals)."""
        return self.context.store

    @property
    def config(self) -> ServiceConfig:
        """Search, linking and preparation settings."""
        return self.context.config

    @property
    def index(self) -> PartitionedIndex:
        """The vector index as it is now (catch it up first: :meth:`catch_up_index`)."""
        return self.context.index.current

    @property
    def index_state(self) -> IndexState:
        """What opening, reloading or catching up the index last found."""
        return self.context.index.state

    @property
    def algorithm_version(self) -> str:
        """The version recorded with cartridge-case correlation results and links."""
        return self.algorithm_version_for(ItemKind.CARTRIDGE_CASE)

    def algorithm_version_for(self, kind: str) -> str:
        """The version recorded with correlation results and links of exhibits of ``kind``."""
        return self.context.algorithm_version_for(kind)

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
        return ingest_manifest(self.context, manifest, correlate=correlate, progress=progress)

    def upload(self, upload: Upload, *, limits: ReadLimits = DEFAULT_LIMITS) -> UploadOutcome:
        """Store an uploaded exhibit and queue its correlation; see :mod:`api.service.upload`."""
        return store_upload(self.context, upload, limits=limits)

    def correlate(
        self, keys: Iterable[int], *, progress: ProgressCallback | None = None
    ) -> CorrelationReport:
        """Correlate stored exhibits (integer ids); see :mod:`api.service.correlate`."""
        return correlate_exhibits(self.context, keys, progress=progress)

    def search(self, source: Source | Sequence[tuple[str, bytes]], **options: Any) -> SearchOutcome:
        """Search an item without storing it; options as :func:`api.service.search.search_item`."""
        return search_item(self.context, source, **options)

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
        """Rebuild the vector index from the database and save it; see
        :mod:`api.service.reindex`."""
        return reindex(self.context, progress=progress)

    def recorrelate(
        self,
        *,
        kind: str | None = None,
        since: datetime.date | None = None,
        progress: ProgressCallback | None = None,
    ) -> RecorrelateReport:
        """Correlate the stored exhibits (of ``kind``, stored since ``since``) again with today's
        algorithm and thresholds; see :mod:`api.service.recorrelate`."""
        return recorrelate(self.context, kind=kind, since=since, progress=progress)

    def job_counts(self) -> dict[str, int]:
        """Return the number of jobs per status (for ``GET /v1/health``)."""
        with self.store.transaction() as session:
            return repository.count_jobs_by_status(session)

    # --- the vector index ----------------------------------------------------------------------

    def reconcile_index(self) -> IndexState:
        """Reload the index from its saved copy and the database now (and save it if it changed)."""
        return self.context.index.reload()

    def catch_up_index(self) -> IndexState:
        """Bring the index in step with what other processes (and threads) stored since it was
        last (:meth:`LiveIndex.catch_up <api.service.live_index.LiveIndex.catch_up>`)."""
        return self.context.index.catch_up()

    def save_index(self) -> None:
        """Save the vector index (atomically), with the store's counters it is in step with."""
        self.context.index.save()

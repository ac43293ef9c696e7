"""What every step of the service works with: the store, its live index, the executor, settings.

The steps (:mod:`~api.service.ingest`, :mod:`~api.service.upload`, :mod:`~api.service.search`,
:mod:`~api.service.correlate`, :mod:`~api.service.reindex`) each take a :class:`ServiceContext`
and nothing else of the service; :class:`api.service.core.EvidenceService` builds one when it
opens a store and is the only way in for the command line and the HTTP API.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.service.config import ServiceConfig, algorithm_version, descriptor_version_for
from api.service.live_index import LiveIndex
from api.store.database import Store
from ballistics.parallel import Executor


@dataclass(frozen=True)
class ServiceContext:
    """One open store and what works on it.

    Parameters
    ----------
    store
        The open evidence store (database and originals).
    index
        Its vector index, kept in step with the database (catch up before reading it).
    executor
        Runs the heavy tasks of :mod:`api.service.workers` (preparation, comparison).
    config
        Search, linking and preparation settings.
    """

    store: Store
    index: LiveIndex
    executor: Executor
    config: ServiceConfig

    def algorithm_version_for(self, kind: str) -> str:
        """The version recorded with correlation results and links of exhibits of ``kind``."""
        return algorithm_version(self.config, descriptor_version_for(kind), kind=kind)

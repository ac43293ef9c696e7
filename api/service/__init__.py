"""The evidence service: ingest -> correlate -> link, and search, on one store.

:class:`EvidenceService` opens a store (database, originals, vector index) and runs the
operations the command line and the HTTP API expose: :meth:`~EvidenceService.ingest` a
manifest, :meth:`~EvidenceService.search` an item, list :meth:`~EvidenceService.links`,
:meth:`~EvidenceService.reindex`. Retrieval has two stages: the ``top_k`` nearest descriptors in
the vector index, re-ranked by the pairwise comparison of the prepared marks.

May import: ``ballistics``, ``indexer``, ``api.store`` and the application's shared modules
(``api.manifest``, ``api.pairs``, ``api.rifling``). Never ``api.web``: the HTTP layer calls
the service, not the other way round.
"""

from api.service.config import (
    DEFAULT_SERVICE_CONFIG,
    UNKNOWN_CALIBER_CLASS,
    ServiceConfig,
    algorithm_version,
    allowed_classes,
    caliber_class,
    database_url_from_environment,
    normalise_caliber,
    partition_of,
    preparation_version,
)
from api.service.core import EvidenceService, ReindexReport
from api.service.correlate import CorrelationReport
from api.service.index import INDEX_FOLDER_NAME, IndexState
from api.service.ingest import IngestReport
from api.service.search import Candidate, SearchOutcome

__all__ = [
    "DEFAULT_SERVICE_CONFIG",
    "INDEX_FOLDER_NAME",
    "UNKNOWN_CALIBER_CLASS",
    "Candidate",
    "CorrelationReport",
    "EvidenceService",
    "IndexState",
    "IngestReport",
    "ReindexReport",
    "SearchOutcome",
    "ServiceConfig",
    "algorithm_version",
    "allowed_classes",
    "caliber_class",
    "database_url_from_environment",
    "normalise_caliber",
    "partition_of",
    "preparation_version",
]

"""The evidence service: ingest -> correlate -> link, and search, on one store.

:class:`EvidenceService` opens a store (database, originals, vector index) and is the facade
for every operation the command line and the HTTP API expose: :meth:`~EvidenceService.ingest` a
manifest, :meth:`~EvidenceService.upload` an exhibit, :meth:`~EvidenceService.search` an item,
:meth:`~EvidenceService.correlate` stored exhibits, list :meth:`~EvidenceService.links`,
:meth:`~EvidenceService.reindex`. Each operation is a step in its own module taking a
:class:`ServiceContext` (store, live index, executor, settings), never the service: retrieval
has two stages, one module for search and correlation (:mod:`api.service.shortlist`): the
``top_k`` nearest descriptors in the vector index, re-ranked by the pairwise comparison of the
prepared marks. Storage is one :func:`~api.service.storing.store_prepared_exhibit` for ingest
and upload.

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
    originals_url_from_environment,
    partition_of,
    preparation_version,
)
from api.service.context import ServiceContext
from api.service.core import EvidenceService
from api.service.correlate import CorrelationReport
from api.service.index import INDEX_FOLDER_NAME, IndexState
from api.service.ingest import IngestReport
from api.service.reindex import ReindexReport
from api.service.search import Candidate, SearchOutcome
from api.service.upload import Upload, UploadedFile, UploadOutcome, client_file_name

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
    "ServiceContext",
    "Upload",
    "UploadOutcome",
    "UploadedFile",
    "algorithm_version",
    "allowed_classes",
    "caliber_class",
    "client_file_name",
    "database_url_from_environment",
    "normalise_caliber",
    "originals_url_from_environment",
    "partition_of",
    "preparation_version",
]

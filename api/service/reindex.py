"""Rebuild the vector index from the database (``ballistics reindex``).

Exhibits whose descriptor of the current version is missing get it first, computed from their
stored marks through the executor (:func:`api.service.workers.describe_task`), so that a new
descriptor version needs no original to be read again. Then the store's index epoch is raised
(every other process reloads its index), the index is rebuilt from the descriptors, saved, and
made the current one of this process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from api.pairs import ProgressCallback
from api.service.context import ServiceContext
from api.service.index import keys_without_descriptor, new_index, rebuild_index, save_index
from api.service.workers import describe_task
from api.store import repository
from ballistics.descriptors import DESCRIPTOR_VERSION
from indexer import Partition

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


def reindex(context: ServiceContext, *, progress: ProgressCallback | None = None) -> ReindexReport:
    """Compute the missing descriptors, rebuild the vector index, save it and make it current."""
    started = time.perf_counter()
    computed, failed = describe_stored_marks(context, progress=progress)
    with context.store.transaction(write=True) as session:
        # committed before the rebuild reads: every other process reloads its index, and
        # what is stored from now on is caught up from these counters
        seen = repository.advance_index_epoch(session)
    index = new_index(context.store, config=context.config.index)
    partitions = rebuild_index(context.store, index)
    save_index(context.store, index, seen=seen)
    context.index.replace(index, seen=seen)
    logger.info("rebuilt the vector index: %s", partitions)
    return ReindexReport(
        partitions=partitions,
        descriptors_computed=computed,
        failed=failed,
        elapsed_s=time.perf_counter() - started,
    )


def describe_stored_marks(
    context: ServiceContext, *, progress: ProgressCallback | None = None
) -> tuple[int, list[dict[str, str]]]:
    """Compute the current descriptor of every exhibit with a mark but without one; return how
    many were computed and the exhibits that failed (``exhibit_id``, ``error``)."""
    with context.store.transaction() as session:
        keys = keys_without_descriptor(session)
    if not keys:
        return 0, []
    computed = 0
    failed: list[dict[str, str]] = []
    for start in range(0, len(keys), _DESCRIBE_BATCH):
        batch = keys[start : start + _DESCRIBE_BATCH]
        with context.store.transaction() as session:
            marks = repository.marks_by_key(session, batch)
        results = list(
            context.executor.map_unordered(describe_task, list(marks.items()), count=len(marks))
        )
        with context.store.transaction(write=True) as session:
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

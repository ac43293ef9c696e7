"""Rebuild the vector index from the database (``ballistics reindex``).

First, exhibits whose prepared mark is of another preparation version than the current settings
give (``casing-prep-<digest>``: the preparation changed) are prepared again from their stored
originals (:mod:`api.store.originals`, verified by their SHA-256), through the executor; each
exhibit's new mark and descriptor are written in one transaction, so an exhibit has either its
old pair or its new one. An exhibit whose originals cannot be read or prepared keeps its old mark
and is reported in ``failed``. Then exhibits whose descriptor of the current version is missing
get it, computed from their stored marks through the executor
(:func:`api.service.workers.describe_task`), so that a new descriptor version needs no original
to be read again. Then the store's index epoch is raised
(every other process reloads its index), the index is rebuilt from the descriptors, saved, and
made the current one of this process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from api.manifest import ORIENTATION_COLUMN
from api.pairs import ProgressCallback
from api.service.config import descriptor_version_for, preparation_version
from api.service.context import ServiceContext
from api.service.index import keys_without_descriptor, new_index, rebuild_index, save_index
from api.service.workers import describe_task
from api.store import repository
from api.store.models import Exhibit, ExhibitMark
from api.store.originals import open_originals
from ballistics.descriptors import DESCRIPTOR_VERSION
from ballistics.io import AS_STORED
from ballistics.items import describe_error, kind_spec
from ballistics.parallel import worker_state
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
    marks_prepared_again
        Marks of an older preparation version prepared again from the stored originals.
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
    marks_prepared_again: int = 0

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
            "marks_prepared_again": self.marks_prepared_again,
            "failed": list(self.failed),
            "elapsed_s": self.elapsed_s,
        }


def reindex(context: ServiceContext, *, progress: ProgressCallback | None = None) -> ReindexReport:
    """Prepare outdated marks again, compute the missing descriptors, rebuild the vector index,
    save it and make it current."""
    started = time.perf_counter()
    prepared, failed_preparing = prepare_outdated_marks(context, progress=progress)
    computed, failed = describe_stored_marks(context, progress=progress)
    failed = failed_preparing + failed
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
        marks_prepared_again=prepared,
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


@dataclass(frozen=True)
class _PrepareAgain:
    """One exhibit whose mark is prepared again: its originals in land order and spacing."""

    key: int
    kind: str
    files: tuple[tuple[str, str], ...]  # (name, sha256)
    pixel_um: float | None
    originals_folder: str
    orientation: str = AS_STORED
    caliber: str | None = None


def prepare_outdated_marks(
    context: ServiceContext, *, progress: ProgressCallback | None = None
) -> tuple[int, list[dict[str, str]]]:
    """Prepare again, from the stored originals, every mark whose preparation version is not
    the current one; return how many were replaced and the exhibits that failed (which keep
    their old mark): ``exhibit_id`` and ``error``."""
    with context.store.transaction() as session:
        tasks = _outdated(session, context)
    if not tasks:
        return 0, []
    prepared = 0
    failed: list[dict[str, str]] = []
    for start in range(0, len(tasks), _DESCRIBE_BATCH):
        batch = tasks[start : start + _DESCRIBE_BATCH]
        results = list(context.executor.map_unordered(_prepare_again, batch, count=len(batch)))
        for key, mark, vector, error in results:
            # one transaction per exhibit: its new mark and descriptor, or nothing
            with context.store.transaction(write=True) as session:
                exhibit = session.get(Exhibit, key)
                if exhibit is None:
                    continue
                if mark is None or vector is None:
                    failed.append({"exhibit_id": exhibit.exhibit_id, "error": error or ""})
                    logger.warning("%s keeps its old mark: %s", exhibit.exhibit_id, error)
                    continue
                version = preparation_version(context.config, kind=exhibit.kind)
                repository.set_mark(session, exhibit, mark, preparation_version=version)
                repository.set_descriptor(
                    session, exhibit, vector, version=descriptor_version_for(exhibit.kind)
                )
                prepared += 1
        if progress is not None:
            progress("prepare", min(start + _DESCRIBE_BATCH, len(tasks)), len(tasks))
    return prepared, failed


def _outdated(session: Any, context: ServiceContext) -> list[_PrepareAgain]:
    rows = session.execute(
        select(Exhibit, ExhibitMark.preparation_version).join(
            ExhibitMark, ExhibitMark.exhibit_pk == Exhibit.id
        )
    ).all()
    folder = context.store.originals.location
    return [
        _PrepareAgain(
            key=exhibit.id,
            kind=exhibit.kind,
            files=tuple((file.name, file.sha256) for file in exhibit.files),
            pixel_um=exhibit.pixel_um,
            originals_folder=folder,
            orientation=str((exhibit.extra_metadata or {}).get(ORIENTATION_COLUMN) or AS_STORED),
            caliber=exhibit.caliber,
        )
        for exhibit, version in rows
        if version != preparation_version(context.config, kind=exhibit.kind)
    ]


def _prepare_again(task: _PrepareAgain) -> tuple[int, bytes | None, Any, str | None]:
    """Read an exhibit's originals (verified) and prepare them with the worker's settings:
    (key, encoded mark, descriptor, None) or (key, None, None, error)."""
    try:
        originals = open_originals(task.originals_folder)
        files = [(name, originals.read(sha256)) for name, sha256 in task.files]
        source = files[0][0] if files else f"exhibit {task.key}"
        extracted = kind_spec(task.kind).extract(
            files,
            pixel_um=task.pixel_um,
            settings=worker_state().settings,
            source=source,
            orientation=task.orientation,
            caliber=task.caliber,
        )
    except Exception as error:  # one unreadable original must not stop the others
        return task.key, None, None, describe_error(error, source=f"exhibit {task.key}")
    return task.key, extracted.encoded, extracted.descriptor, None

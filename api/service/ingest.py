"""Ingest a manifest: read, prepare and describe every item on all cores, store, index, correlate.

The pipeline (``ballistics ingest``):

1. The manifest is parsed (:mod:`api.manifest`); a bad row fails alone.
2. Worker processes read each item, hash it, store the original (content-addressed, so a
   repeat costs nothing), read the surface, prepare the casing (or every land of a bullet: the
   row's path is then a folder of land scans), compute its descriptor and encode its mark
   (:func:`api.service.workers.extract_task`). An item already stored
   under its exhibit id is only hashed: the same file is skipped, another file is refused.
3. The main process writes each item in its own transaction (agency, case, exhibit, mark,
   descriptor, audit line), commits, and then adds its descriptor to the vector index, which
   is saved every ``index_save_every`` exhibits and at the end.
4. Once every row is stored, every exhibit of the manifest not yet correlated is correlated
   against the store (:mod:`api.service.correlate`), so that exhibits of one manifest are
   compared with each other as well as with those stored before.

Idempotence and crashes: an exhibit is committed whole or not at all, and the index is a cache
reconciled with the database when the store is opened. A run killed at any point therefore
leaves a store that opens, in which every committed exhibit is searchable; running the same
manifest again skips what was committed (by digest), stores the rest, and correlates every
exhibit still ``queued``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from api.manifest import Manifest, ManifestRow, problem_record
from api.pairs import ProgressCallback
from api.service.config import CURRENT_DESCRIPTOR_VERSIONS
from api.service.context import ServiceContext
from api.service.correlate import CorrelationReport, correlate_exhibits
from api.service.live_index import IndexEntry
from api.service.storing import ExhibitFields, PreparedItem, add_exhibit, store_prepared_exhibit
from api.service.workers import (
    CONFLICT,
    FAILED,
    SKIPPED,
    Extraction,
    ExtractTask,
    extract_task,
    with_files,
)
from api.store import repository
from api.store.errors import ConflictError
from api.store.models import Case
from api.store.originals import StoredOriginal

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did (``ballistics ingest --json`` prints :meth:`as_json`).

    Parameters
    ----------
    ingested
        Exhibits stored by this run.
    skipped
        Rows whose item was already stored under its exhibit id (same file): nothing written.
    failed
        One entry per row that could not be ingested, in manifest order: ``path`` (as written),
        ``error`` (one line naming the file or field), ``line`` and ``exhibit_id``.
    warnings
        One entry per warning on a photograph ingested, in manifest order: ``path``, ``line``,
        ``exhibit_id``, ``code`` and ``message`` (what the lab should change next time).
    rows
        Data rows of the manifest.
    correlation
        The correlation of the manifest's exhibits, or None when it was not run.
    store_s
        Wall-clock seconds of reading, preparing and storing (correlation excluded).
    extract_cpu_s, extract_wall_s
        CPU and wall-clock seconds the workers spent on the items (reading, hashing, storing
        the originals, preparing, describing), summed over the items.
    main_cpu_s
        CPU seconds of the main process while storing (database writes, index, pool), the
        items' own work left out when it ran in this process (one worker).
    elapsed_s
        Wall-clock seconds of the whole run.
    workers
        Worker processes used.
    """

    ingested: int
    skipped: int
    failed: list[dict[str, Any]]
    rows: int
    correlation: CorrelationReport | None
    store_s: float
    elapsed_s: float
    workers: int
    extract_cpu_s: float = 0.0
    extract_wall_s: float = 0.0
    main_cpu_s: float = 0.0
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Return the report as the contract's JSON document, with the extra fields."""
        correlation = self.correlation
        return {
            "ingested": self.ingested,
            "skipped": self.skipped,
            "failed": list(self.failed),
            "warnings": list(self.warnings),
            "rows": self.rows,
            "correlated": 0 if correlation is None else correlation.correlated,
            "comparisons": 0 if correlation is None else correlation.comparisons,
            "links_created": 0 if correlation is None else correlation.links_created,
            "correlation_errors": [] if correlation is None else list(correlation.errors),
            "store_s": self.store_s,
            "extract_cpu_s": self.extract_cpu_s,
            "extract_wall_s": self.extract_wall_s,
            "main_cpu_s": self.main_cpu_s,
            "correlate_s": 0.0 if correlation is None else correlation.elapsed_s,
            "elapsed_s": self.elapsed_s,
            "workers": self.workers,
        }


@dataclass(frozen=True)
class _Known:
    """An exhibit already stored under a row's agency and exhibit id."""

    sha256: str
    complete: bool


@dataclass
class _Progress:
    ingested: int = 0
    skipped: int = 0
    keys: list[int] = field(default_factory=list)
    extract_cpu_s: float = 0.0
    extract_wall_s: float = 0.0
    failed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    warnings: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def ingest_manifest(
    context: ServiceContext,
    manifest: Manifest,
    *,
    correlate: bool = True,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Store every usable row of ``manifest`` and correlate the new exhibits; see the module
    docstring for the steps and what a crash leaves.

    Parameters
    ----------
    context
        The open store, its index and executor.
    manifest
        The parsed manifest (:func:`api.manifest.read_manifest`).
    correlate
        Correlate the manifest's exhibits against the store afterwards (False: leave them
        ``queued``; a later ingest of them, or :meth:`EvidenceService.correlate
        <api.service.core.EvidenceService.correlate>`, does it).
    progress
        Called as ``progress(stage, done, total)`` with stage ``"ingest"`` per row and
        ``"correlate"`` per comparison.

    Returns
    -------
    IngestReport
        Counts, failures in manifest order, the correlation and timings.
    """
    started = time.perf_counter()
    started_cpu = time.process_time()
    state = _Progress()
    for problem in manifest.problems:
        state.failed.append((problem.line, problem_record(problem)))
    _store_rows(context, manifest, state, progress)
    store_s = time.perf_counter() - started
    main_cpu_s = time.process_time() - started_cpu
    if context.executor.inline:  # the items were worked here: count their CPU once
        main_cpu_s = max(0.0, main_cpu_s - state.extract_cpu_s)
    _audit_run(context, manifest, state)
    correlation = None
    if correlate:
        correlation = correlate_exhibits(context, _queued(context, state.keys), progress=progress)
    failed = [entry for _, entry in sorted(state.failed, key=lambda item: item[0])]
    if failed:
        logger.warning(
            "%d of %d rows failed; the report names each", len(failed), manifest.row_count
        )
    return IngestReport(
        ingested=state.ingested,
        skipped=state.skipped,
        failed=failed,
        rows=manifest.row_count,
        correlation=correlation,
        store_s=store_s,
        elapsed_s=time.perf_counter() - started,
        workers=context.executor.workers,
        extract_cpu_s=state.extract_cpu_s,
        extract_wall_s=state.extract_wall_s,
        main_cpu_s=main_cpu_s,
        warnings=[entry for _, entry in sorted(state.warnings, key=lambda item: item[0])],
    )


def _store_rows(
    context: ServiceContext,
    manifest: Manifest,
    state: _Progress,
    progress: ProgressCallback | None,
) -> None:
    """Extract the rows in the executor and store each as it comes back; save the index every
    ``index_save_every`` new vectors and at the end."""
    rows: list[ManifestRow] = list(manifest.rows)
    known = _known_exhibits(context, rows)
    originals_folder = context.store.originals.location
    # workers on other machines (a cluster) see neither the manifest's files nor the originals
    send_files = not context.executor.local_files

    def task(position: int, row: ManifestRow) -> ExtractTask:
        found = known.get((row.agency, row.exhibit_id))
        made = ExtractTask(
            position=position,
            path=str(row.path),
            pixel_um=row.pixel_um,
            known_sha256=None if found is None else found.sha256,
            known_complete=found is not None and found.complete,
            originals_folder=originals_folder,
            kind=row.kind,
            orientation=row.orientation,
            caliber=row.caliber,
        )
        return with_files(made, context.store.originals) if send_files else made

    tasks = (task(position, row) for position, row in enumerate(rows))
    unsaved = 0
    try:
        extractions = context.executor.map_unordered(extract_task, tasks, count=len(rows))
        for done, extraction in enumerate(extractions, start=1):
            row = rows[extraction.position]
            if _store_extraction(context, manifest, row, extraction, state):
                unsaved += 1
                if unsaved >= context.config.index_save_every:
                    context.index.save()
                    unsaved = 0
            if progress is not None:
                progress("ingest", done, len(rows))
    finally:
        if unsaved:
            context.index.save()


def _store_extraction(
    context: ServiceContext,
    manifest: Manifest,
    row: ManifestRow,
    extraction: Extraction,
    state: _Progress,
) -> bool:
    """Store one worker result; return True when a vector was added to the index."""
    state.extract_cpu_s += extraction.cpu_s
    state.extract_wall_s += extraction.seconds
    if extraction.outcome == FAILED:
        state.failed.append((row.line, _failure(manifest, row, extraction.error or "failed")))
        return False
    try:
        key, created, entry = _store_row(context, row, extraction)
    except ValueError as error:  # ConflictError and refused fields are ValueErrors
        state.failed.append((row.line, _failure(manifest, row, " ".join(str(error).split()))))
        return False
    state.keys.append(key)
    for warning in extraction.warnings:
        where = {"path": row.path_text, "line": row.line, "exhibit_id": row.exhibit_id}
        state.warnings.append((row.line, where | warning.as_json()))
    if created:
        state.ingested += 1
    else:
        state.skipped += 1
    if entry is None:
        return False
    context.index.add(entry)
    return True


def _store_row(
    context: ServiceContext, row: ManifestRow, extraction: Extraction
) -> tuple[int, bool, IndexEntry | None]:
    """Write one row in one transaction; return its exhibit's key, whether it is new, and what
    to index."""
    fields = ExhibitFields(
        exhibit_id=row.exhibit_id,
        kind=row.kind,
        files=_originals(extraction),
        caliber=row.caliber,
        metadata=row.metadata,
        actor=row.agency,
    )
    with context.store.transaction(write=True) as session:
        agency = repository.get_or_create_agency(session, row.agency, country=row.country)
        case = repository.get_or_create_case(
            session, agency, row.case_id, occurred_on=row.occurred_on
        )
        if extraction.outcome in (SKIPPED, CONFLICT):
            return _confirm_stored(session, case, fields, row), False, None
        if (
            extraction.mark is None
            or extraction.descriptor is None
            or extraction.modality is None
            or extraction.pixel_um is None
        ):  # pragma: no cover
            raise RuntimeError(f"{row.path}: extracted without a mark; report this as a bug")
        prepared = PreparedItem(
            mark=extraction.mark,
            descriptor=extraction.descriptor,
            modality=extraction.modality,
            pixel_um=extraction.pixel_um,
            warnings=tuple(warning.as_json() for warning in extraction.warnings),
        )
        stored = store_prepared_exhibit(
            session, case, fields, prepared, config=context.config, replace_outdated=True
        )
        return stored.exhibit.id, stored.created, stored.entry


def _confirm_stored(session: Session, case: Case, fields: ExhibitFields, row: ManifestRow) -> int:
    """Check a row whose item the worker found stored already (the same file, or another one:
    :func:`~api.service.storing.add_exhibit` refuses it); return the exhibit's key."""
    added = add_exhibit(session, case, fields)
    if added.created:  # removed by someone else since the lookup: nothing prepared
        raise ConflictError(
            f"exhibit {row.exhibit_id!r} of {row.agency} changed while this ingest ran; "
            "run the ingest again"
        )
    return added.exhibit.id


def _originals(extraction: Extraction) -> list[StoredOriginal]:
    """The item's stored originals, as the worker stored them."""
    return [
        StoredOriginal(sha256=sha256, size_bytes=size, name=name)
        for sha256, size, name in extraction.files
    ] or [
        StoredOriginal(
            sha256=extraction.sha256, size_bytes=extraction.size_bytes, name=extraction.name
        )
    ]


def _known_exhibits(
    context: ServiceContext, rows: list[ManifestRow]
) -> dict[tuple[str, str], _Known]:
    """Return the stored exhibits of the rows' (agency, exhibit id), with their digests."""
    wanted = {(row.agency, row.exhibit_id) for row in rows}
    exhibit_ids = {exhibit_id for _, exhibit_id in wanted}
    known: dict[tuple[str, str], _Known] = {}
    with context.store.transaction() as session:
        stored = repository.stored_items(session, exhibit_ids, versions=CURRENT_DESCRIPTOR_VERSIONS)
        for agency, exhibit_id, sha256, has_mark, has_descriptor in stored:
            if (agency, exhibit_id) in wanted:
                known[(agency, exhibit_id)] = _Known(
                    sha256=sha256, complete=bool(has_mark and has_descriptor)
                )
    return known


def _queued(context: ServiceContext, keys: Iterable[int]) -> list[int]:
    """Return those of ``keys`` whose exhibit is not correlated yet, in key order."""
    with context.store.transaction() as session:
        return repository.uncorrelated_keys(session, keys)


def _audit_run(context: ServiceContext, manifest: Manifest, state: _Progress) -> None:
    """Append one audit line for the run: which manifest (by digest), and its counts."""
    try:
        digest = hashlib.sha256(manifest.path.read_bytes()).hexdigest()
    except OSError:
        digest = ""
    with context.store.transaction(write=True) as session:
        repository.audit(
            session,
            repository.SYSTEM_ACTOR,
            "ingest.run",
            object_type="manifest",
            object_id=manifest.path.name[:200],
            details={
                "sha256": digest,
                "rows": manifest.row_count,
                "ingested": state.ingested,
                "skipped": state.skipped,
                "failed": len(state.failed),
            },
        )


def _failure(manifest: Manifest, row: ManifestRow, error: str) -> dict[str, Any]:
    return {
        "path": row.path_text,
        "error": f"{manifest.path.name} line {row.line}: {error}",
        "line": row.line,
        "exhibit_id": row.exhibit_id,
    }

"""Search one item against the store without storing it (``ballistics search``).

The item goes through the path an ingested exhibit takes (read, prepare, describe, encode), then
the two stages of correlation: the ``max(top_k, top)`` nearest descriptors of its partition,
then every one of those compared with it by the pairwise comparison on the stored marks, on all
cores, best score first. The query's mark is compared in its stored encoding (float16 values),
so that a search scores a pair exactly as the correlation of an ingested exhibit does.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.rifling import RiflingClass
from api.service.config import partition_of
from api.service.context import ServiceContext
from api.service.shortlist import Outcome, Shortlisted, ShortlistQuery, compare_with, shortlist
from api.service.workers import MarkRef
from api.store import repository
from api.store.models import Exhibit
from ballistics.calibration.calibration import Strength
from ballistics.io.files import Source
from ballistics.io.intake_orientation import AS_STORED, check_declared_orientation
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.items import Extracted, ItemKind, KindSpec, kind_spec
from ballistics.items.records import ComparisonRecord, evidence_strength

logger = logging.getLogger(__name__)

#: what ``verbal`` says of a candidate that was not compared (a search without re-ranking): its
#: score is the descriptors' similarity, which no calibration turns into a likelihood ratio
NOT_COMPARED = "not compared: ranked by descriptor similarity alone, which gives no LR"


@dataclass(frozen=True)
class Candidate:
    """One stored exhibit found by a search.

    Parameters
    ----------
    key
        The exhibit's integer id (its id in the vector index).
    public_id
        Its public id (``"id"`` in JSON).
    exhibit_id, case_id, agency, country, kind, modality, caliber
        Who holds it and what it is.
    score
        The comparison score (congruent matching cells; higher is more similar), or the
        descriptor similarity when the search was not re-ranked.
    rank
        1 for the best candidate.
    descriptor_similarity, descriptor_rank
        The cosine similarity of the descriptors and the rank it gave (the first stage alone).
    lead, cmc_count
        Whether the comparison's score reached the lead threshold (worth an examiner's time; not
        an identification) and its cell count (None when not re-ranked, or when the comparison
        failed). JSON also carries ``same_source``, the deprecated alias of ``lead``.
    error
        Why the comparison failed, or None.
    same_file
        The candidate was stored from the very file searched (same SHA-256): a repeat, not a
        second firing. Told only of the viewer's own and shared exhibits (False otherwise).
    details
        The rest of the comparison record (registration, correlation) with the strength of the
        evidence (``log10_lr``, ``lr_interval``, ``verbal``, ``calibration``): null LR and
        ``verbal`` saying why when the candidate was not compared or its comparison failed.
    """

    key: int
    public_id: str
    exhibit_id: str
    case_id: str
    agency: str
    country: str
    kind: str
    modality: str | None
    caliber: str | None
    score: float
    rank: int
    descriptor_similarity: float
    descriptor_rank: int
    lead: bool | None = None
    cmc_count: int | None = None
    error: str | None = None
    same_file: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Return the candidate as ``ballistics search`` prints it (CONTRACT.md's fields first)."""
        record: dict[str, Any] = {
            "exhibit_id": self.exhibit_id,
            "case_id": self.case_id,
            "agency": self.agency,
            "country": self.country,
            "score": self.score,
            "rank": self.rank,
            "id": self.public_id,
            "lead": self.lead,
            "same_source": self.lead,  # deprecated alias of "lead", for one release
            "cmc_count": self.cmc_count,
            "kind": self.kind,
            "modality": self.modality,
            "caliber": self.caliber,
            "descriptor_similarity": self.descriptor_similarity,
            "descriptor_rank": self.descriptor_rank,
            "same_file": self.same_file,
        }
        if self.error is not None:
            record["error"] = self.error
        record.update(self.details)
        return record


@dataclass(frozen=True)
class SearchOutcome:
    """The answer to a search.

    Parameters
    ----------
    candidates
        Best first, at most ``top``.
    sha256, source, modality, pixel_um
        The query item: digest of its bytes, name, modality, micrometres per pixel.
    reranked
        Whether the candidates were compared (False: descriptor similarity only).
    considered
        Candidates taken from the vector index (and compared, when re-ranked).
    elapsed_s
        Wall-clock seconds from reading the item to the answer.
    """

    candidates: list[Candidate]
    sha256: str
    source: str
    modality: str
    pixel_um: float
    reranked: bool
    considered: int
    elapsed_s: float

    def as_json(self) -> dict[str, Any]:
        """Return ``{"candidates": [...], "query": {...}, ...}`` for ``--json``."""
        return {
            "candidates": [candidate.as_json() for candidate in self.candidates],
            "query": {
                "source": self.source,
                "sha256": self.sha256,
                "modality": self.modality,
                "pixel_um": self.pixel_um,
            },
            "reranked": self.reranked,
            "considered": self.considered,
            "elapsed_s": self.elapsed_s,
        }


def search_item(
    context: ServiceContext,
    source: Source | Sequence[tuple[str, bytes]],
    *,
    top: int = 10,
    kind: ItemKind | str = ItemKind.CARTRIDGE_CASE,
    pixel_um: float | None = None,
    caliber: str | None = None,
    name: str | None = None,
    exclude_keys: Iterable[int] = (),
    rerank: bool = True,
    actor: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    rifling: RiflingClass | None = None,
    viewer: str | None = None,
    orientation: str = AS_STORED,
) -> SearchOutcome:
    """Correlate one item against the store without storing it.

    Parameters
    ----------
    context
        The open store, its index and executor.
    source
        The item: a path, or its bytes (an upload).
    top
        Candidates returned (at least 1). ``max(top, config.top_k)`` are compared.
    kind
        ``"cartridge_case"`` (``source`` is one file) or ``"bullet"`` (``source`` is a folder
        of land scans, one land's file, or a list of ``(name, bytes)`` of the lands in order).
    pixel_um
        Micrometres per pixel for 2D images without it.
    caliber
        Search only exhibits of this calibre and of unknown calibre (None: all).
    name
        The item's name in messages (default: the path as given, or ``"upload"``).
    exclude_keys
        Exhibits (integer ids) never returned, e.g. the stored copy of the query itself.
    rerank
        Compare the candidates (True) or order them by descriptor similarity alone (evaluation).
    actor
        When given (an agency's name), the search is recorded in the audit log.
    limits
        Bounds on the item's size and grid (the HTTP API's upload settings).
    rifling
        Bullets: the questioned bullet's rifling characteristics, when known; stored bullets
        whose known characteristics differ are left out (:mod:`api.rifling`).
    viewer
        The agency that asks (the HTTP API's caller): ``same_file`` is told only of its own
        exhibits and of shared ones, so that searching with the very file of another agency's
        unshared exhibit does not tell that the agency holds it. None (the command line, run
        by the store's operator): told of every exhibit.
    orientation
        A cartridge case file's declared orientation, as at upload (``as_stored``, ``mirrored``).

    Raises
    ------
    EvidenceError
        The item cannot be read or prepared.
    ValueError
        ``top`` is below 1 or ``kind`` unknown.
    """
    started = time.perf_counter()
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive number of candidates, got {top!r}.")
    spec = kind_spec(kind)
    label, sha256, query = _read_item(
        context, spec, source, name, pixel_um, limits, caliber, orientation
    )
    shortlisted = ShortlistQuery(
        partition=partition_of(spec.kind, query.modality),
        descriptor=query.descriptor,
        depth=max(top, context.config.top_k),
        caliber=caliber,
        exclude_keys=frozenset(int(key) for key in exclude_keys),
        rifling=rifling if spec.rifled else None,
    )
    found = _candidates(context, shortlisted, query, sha256=sha256, rerank=rerank, viewer=viewer)
    if actor is not None:
        _audit_search(context, actor, sha256=sha256, source=label, count=len(found))
    return SearchOutcome(
        candidates=found[:top],
        sha256=sha256,
        source=label,
        modality=query.modality,
        pixel_um=query.pixel_um,
        reranked=rerank,
        considered=len(found),
        elapsed_s=time.perf_counter() - started,
    )


def _read_item(
    context: ServiceContext,
    spec: KindSpec,
    source: Source | Sequence[tuple[str, bytes]],
    name: str | None,
    pixel_um: float | None,
    limits: ReadLimits,
    caliber: str | None = None,
    orientation: str = AS_STORED,
) -> tuple[str, str, Extracted]:
    """Read and prepare the query item as an ingested one is; return its name, digest and
    extraction."""
    files, label = spec.load(source, name=name, limits=limits)
    sha256 = repository.item_sha256([hashlib.sha256(data).hexdigest() for _, data in files])
    query = spec.extract(
        files,
        pixel_um=pixel_um,
        settings=context.config,
        limits=limits,
        source=label,
        caliber=caliber,
        orientation=check_declared_orientation(orientation),
    )
    return label, sha256, query


def _candidates(
    context: ServiceContext,
    query: ShortlistQuery,
    item: Extracted,
    *,
    sha256: str,
    rerank: bool,
    viewer: str | None,
) -> list[Candidate]:
    """Shortlist ``query``, compare its stored candidates with the query ``item``'s mark when
    ``rerank``, and rank them, best first; ``sha256`` is the item's digest."""
    # exhibits stored by other processes since the last search (one small query otherwise)
    context.index.catch_up()
    hits, exhibits = _stored(context, shortlist(context, query))
    records = {}
    if rerank and hits:
        mark = MarkRef(f"query:{sha256}", item.encoded)
        records = compare_with(context, mark, [hit.key for hit in hits])
    return _ranked(
        hits,
        exhibits,
        records,
        rerank=rerank,
        query_sha256=sha256,
        viewer=viewer,
        query_modality=item.modality,
    )


def _stored(
    context: ServiceContext, hits: list[Shortlisted]
) -> tuple[list[Shortlisted], dict[int, Exhibit]]:
    """Return the hits whose exhibit the database holds, and those exhibits."""
    with context.store.transaction() as session:
        exhibits = repository.exhibits_by_key(session, [hit.key for hit in hits])
    stale = len(hits) - len(exhibits)
    if stale:  # in the index but no longer in the database: the index is reconciled on open
        logger.warning("%d index entries have no exhibit; they were left out", stale)
    return [hit for hit in hits if hit.key in exhibits], exhibits


def _ranked(
    hits: list[Shortlisted],
    exhibits: dict[int, Exhibit],
    records: dict[int, Outcome],
    *,
    rerank: bool,
    query_sha256: str = "",
    viewer: str | None = None,
    query_modality: str | None = None,
) -> list[Candidate]:
    """Order the candidates: by comparison score (failed comparisons last), ties by descriptor
    similarity; or by descriptor similarity alone when not re-ranked. Every candidate carries
    the strength of the evidence (:func:`_details`)."""
    similarities = {hit.key: hit.similarity for hit in hits}
    descriptor_ranks = {hit.key: rank for rank, hit in enumerate(hits, start=1)}

    def order(key: int) -> tuple[float, float, int]:
        record = records.get(key, (None, None))[0]
        score = record.checked_score() if (rerank and record is not None) else -math.inf
        return (-score if rerank else 0.0, -similarities[key], key)

    candidates = []
    for rank, key in enumerate(sorted(similarities, key=order), start=1):
        exhibit = exhibits[key]
        record, error = records.get(key, (None, None))
        candidates.append(
            Candidate(
                key=key,
                public_id=exhibit.public_id,
                exhibit_id=exhibit.exhibit_id,
                case_id=exhibit.case.case_id,
                agency=exhibit.agency.name,
                country=exhibit.agency.country,
                kind=exhibit.kind,
                modality=exhibit.modality,
                caliber=exhibit.caliber,
                score=_score(record, similarities[key], rerank=rerank),
                rank=rank,
                descriptor_similarity=similarities[key],
                descriptor_rank=descriptor_ranks[key],
                lead=None if record is None else record.lead,
                cmc_count=None if record is None else record.cmc_count,
                error=error,
                same_file=(
                    bool(query_sha256)
                    and exhibit.sha256 == query_sha256
                    and (viewer is None or exhibit.shared or exhibit.agency.name == viewer)
                ),
                details=_details(record, exhibit, query_modality, rerank=rerank),
            )
        )
    return candidates


def _details(
    record: ComparisonRecord | None,
    exhibit: Exhibit,
    query_modality: str | None,
    *,
    rerank: bool,
) -> dict[str, Any]:
    """Return what a candidate answers beside its score: the comparison's details, or, with no
    comparison, the strength fields with a null LR and the reason (CONTRACT.md "Words of a
    result": every result carries them)."""
    if record is not None:
        return record.search_details()
    strength = evidence_strength(exhibit.kind, (query_modality, exhibit.modality), None)
    if not rerank:
        strength = Strength(None, None, NOT_COMPARED, strength.calibration)
    return strength.as_json()


def _score(record: ComparisonRecord | None, similarity: float, *, rerank: bool) -> float:
    if not rerank:
        return similarity
    # a failed comparison ranks last with the lowest score a comparison can give
    return 0.0 if record is None else record.checked_score()


def _audit_search(
    context: ServiceContext, actor: str, *, sha256: str, source: str, count: int
) -> None:
    with context.store.transaction(write=True) as session:
        repository.audit(
            session,
            actor,
            "search",
            object_type="item",
            object_id=sha256,
            details={"source": source[:200], "candidates": count},
        )

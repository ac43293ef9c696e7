"""Correlate exhibits against the store: vector search, re-ranking by comparison, leads.

Each exhibit (the query) is correlated in two stages:

1. Its descriptor is searched in its partition of the vector index for the ``top_k`` most
   similar exhibits, among those of its calibre and of unknown calibre, excluding every exhibit
   of its own case (a case's exhibits are linked by the case already).
2. Those candidates are compared with it by the pairwise comparison (registration and
   Congruent Matching Cells, :func:`ballistics.casing.compare.compare_pyramids`; for bullets
   all lands against all lands at the best cyclic phase,
   :func:`ballistics.bullet.compare_bullets`) on the stored marks, on all cores. A bullet's
   candidates whose recorded rifling differs from its own are left out (:mod:`api.rifling`).

Each kind is correlated in its own run, with its own versions and lead threshold, in three
steps: :func:`plan_correlation` shortlists every query (:mod:`api.service.shortlist`) and
schedules each pair once; the pairs are compared through the executor; each query is recorded
as soon as its last pair is done, with the links :func:`~api.service.linking.decide_links`
decides.

Every score is recorded as a correlation result under the algorithm version (the descriptor
version and a digest of the comparison settings), for the query and, reversed, for the
candidate, so that each exhibit's candidate list also shows the later exhibits that found it.
A pair scoring at or above the lead threshold of its modality becomes a ``lead`` link between
the two cases (``cross_border`` when the agencies' countries differ); the store keeps one link
per pair and never demotes an examiner's decision. The query is then marked ``correlated``.

Each pair is compared once: two queries of the same run that find each other share the
comparison, and a pair already recorded under the algorithm version (by an earlier, perhaps
interrupted, run) is not compared again. Each query's results, links and status are written in
one transaction when its last comparison is done, so that a run killed half-way leaves only
whole queries correlated and the others ``queued`` for the next run.

References
----------
.. [1] J. Song, "Proposed NIST ballistics identification system (NBIS) based on 3D topography
   measurements on correlation cells", AFTE Journal 45(2), 184-194 (2013).
.. [2] J. Philbin, O. Chum, M. Isard, J. Sivic, A. Zisserman, "Object retrieval with large
   vocabularies and fast spatial matching", CVPR 2007 (a retrieval short-list re-ranked by
   geometric verification).
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from api.pairs import ProgressCallback
from api.rifling import rifling_class
from api.service.config import partition_of
from api.service.context import ServiceContext
from api.service.index import descriptor_vectors
from api.service.linking import LeadThresholds, LinkSide, ScoredPair, StoredLink, decide_links
from api.service.shortlist import Shortlisted, ShortlistQuery, compare_pairs, shortlist
from api.store import repository
from api.store.database import Store
from api.store.models import Exhibit, Link
from api.store.repository.results import candidate_scores
from ballistics.items import ItemKind, kind_spec
from ballistics.items.records import ComparisonRecord

logger = logging.getLogger(__name__)

_LOOKUP_BATCH = 500


@dataclass(frozen=True)
class CorrelationReport:
    """What a correlation run did.

    Parameters
    ----------
    correlated
        Exhibits marked ``correlated``.
    comparisons
        Pairs compared (each pair once).
    links_created
        New ``lead`` links.
    errors
        Pairs whose comparison failed: ``exhibit_a``, ``exhibit_b`` (exhibit ids) and ``error``.
    elapsed_s
        Wall-clock seconds.
    """

    correlated: int = 0
    comparisons: int = 0
    links_created: int = 0
    errors: tuple[dict[str, str], ...] = ()
    elapsed_s: float = 0.0


@dataclass
class PlannedPair:
    """A pair to compare: the query that scheduled it is the reference."""

    reference: int
    questioned: int
    similarity: float
    record: ComparisonRecord | None = None
    error: str | None = None

    def other(self, key: int) -> int:
        return self.questioned if key == self.reference else self.reference


@dataclass
class CorrelationPlan:
    """What one run of one kind compares: each pair once, and which queries wait on it.

    Parameters
    ----------
    version
        The algorithm version the run records under.
    links_before
        Links in the store when the run was planned (to count the new ones).
    pairs
        Every pair to compare, by (smaller key, larger key).
    scheduled
        Each query's pairs (empty: nothing left to compare, recorded at once).
    waiting
        Each pair's queries, recorded once all their pairs are compared.
    """

    version: str
    links_before: int = 0
    pairs: dict[tuple[int, int], PlannedPair] = field(default_factory=dict)
    scheduled: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    waiting: dict[tuple[int, int], list[int]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )

    def schedule(self, key: int, hits: list[Shortlisted]) -> None:
        """Schedule the pairs of query ``key`` with its shortlisted candidates."""
        mine = []
        for hit in hits:
            pair_key = (min(key, hit.key), max(key, hit.key))
            if pair_key not in self.pairs:
                self.pairs[pair_key] = PlannedPair(key, hit.key, hit.similarity)
            mine.append(pair_key)
            self.waiting[pair_key].append(key)
        self.scheduled[key] = mine


def correlate_exhibits(
    context: ServiceContext, keys: Iterable[int], *, progress: ProgressCallback | None = None
) -> CorrelationReport:
    """Correlate the exhibits ``keys`` against the store (see the module docstring).

    Exhibits without a descriptor of the current version are left ``queued`` with a warning
    (``ballistics reindex`` computes their descriptors).
    """
    started = time.perf_counter()
    keys = sorted({int(key) for key in keys})
    if not keys:
        return CorrelationReport()
    with context.store.transaction() as session:
        kinds = repository.exhibit_kinds(session, keys)
    by_kind: dict[str, list[int]] = collections.defaultdict(list)
    for key in keys:
        by_kind[kinds.get(key, ItemKind.CARTRIDGE_CASE)].append(key)
    if len(by_kind) > 1:  # each kind has its own versions and scores: one run per kind
        reports = [
            correlate_exhibits(context, group, progress=progress) for group in by_kind.values()
        ]
        return CorrelationReport(
            correlated=sum(report.correlated for report in reports),
            comparisons=sum(report.comparisons for report in reports),
            links_created=sum(report.links_created for report in reports),
            errors=tuple(error for report in reports for error in report.errors),
            elapsed_s=time.perf_counter() - started,
        )
    plan = plan_correlation(context, keys, kind=next(iter(by_kind)))
    correlated = _compare_and_record(context, plan, progress)
    with context.store.transaction() as session:
        links_created = repository.count_links(session) - plan.links_before
    errors = _errors(
        context.store, [pair for pair in plan.pairs.values() if pair.error is not None]
    )
    for entry in errors:
        logger.warning("comparison failed: %s", entry["error"])
    return CorrelationReport(
        correlated=correlated,
        comparisons=len(plan.pairs),
        links_created=links_created,
        errors=errors,
        elapsed_s=time.perf_counter() - started,
    )


def plan_correlation(context: ServiceContext, keys: list[int], *, kind: str) -> CorrelationPlan:
    """Shortlist each query of one kind and schedule every pair to compare once (the plan).

    Pairs already recorded under the algorithm version are left out; two queries that find
    each other share one pair.
    """
    version = context.algorithm_version_for(kind)
    # candidates stored by other processes (an ingest beside this server) since the last job
    context.index.catch_up()
    with context.store.transaction() as session:
        queries = repository.exhibits_by_key(session, keys)
        vectors = _vectors(session, keys)
        members = repository.case_members(session, {e.case_pk for e in queries.values()})
        recorded = repository.recorded_pairs(session, keys, algorithm_version=version)
        links_before = repository.count_links(session)
    plan = CorrelationPlan(version=version, links_before=links_before)
    for key in keys:
        exhibit, vector = queries.get(key), vectors.get(key)
        if exhibit is None or vector is None or exhibit.modality is None:
            logger.warning(
                "exhibit %s has no descriptor of the current version and cannot be correlated; "
                "run `ballistics reindex`",
                exhibit.exhibit_id if exhibit is not None else key,
            )
            continue
        hits = shortlist(
            context,
            ShortlistQuery(
                partition=partition_of(exhibit.kind, exhibit.modality),
                descriptor=vector,
                depth=context.config.top_k,
                caliber=exhibit.caliber,
                exclude_keys=members.get(exhibit.case_pk, [key]),
                rifling=(
                    rifling_class(exhibit.extra_metadata)
                    if kind_spec(exhibit.kind).rifled
                    else None
                ),
            ),
        )
        plan.schedule(key, [hit for hit in hits if (key, hit.key) not in recorded])
    return plan


def _compare_and_record(
    context: ServiceContext, plan: CorrelationPlan, progress: ProgressCallback | None
) -> int:
    """Compare the plan's pairs and record each query once its last pair is done; return the
    number of queries recorded."""
    outstanding = {key: set(mine) for key, mine in plan.scheduled.items()}
    correlated = 0
    for key, mine in plan.scheduled.items():
        if not mine:
            correlated += _record_query(context, plan, key)
    ordered = list(plan.pairs.items())
    results = compare_pairs(context, [(pair.reference, pair.questioned) for _, pair in ordered])
    for done, (position, record, error) in enumerate(results, start=1):
        pair_key, pair = ordered[position]
        pair.record, pair.error = record, error
        for key in plan.waiting[pair_key]:
            outstanding[key].discard(pair_key)
            if not outstanding[key]:
                correlated += _record_query(context, plan, key)
        if progress is not None:
            progress("correlate", done, len(ordered))
    return correlated


def _errors(store: Store, failed: list[PlannedPair]) -> tuple[dict[str, str], ...]:
    """Name the exhibits of the pairs whose comparison failed."""
    if not failed:
        return ()
    with store.transaction() as session:
        exhibits = repository.exhibits_by_key(
            session, {key for pair in failed for key in (pair.reference, pair.questioned)}
        )
    names = {key: exhibit.exhibit_id for key, exhibit in exhibits.items()}
    return tuple(
        {
            "exhibit_a": names.get(pair.reference, str(pair.reference)),
            "exhibit_b": names.get(pair.questioned, str(pair.questioned)),
            "error": pair.error or "",
        }
        for pair in failed
    )


def _record_query(context: ServiceContext, plan: CorrelationPlan, key: int) -> int:
    """Write one query's results, reversed results, leads and status in one transaction."""
    mine = plan.scheduled[key]
    compared = [
        (pair_key, plan.pairs[pair_key])
        for pair_key in mine
        if plan.pairs[pair_key].record is not None
    ]
    with context.store.transaction(write=True) as session:
        exhibits = repository.exhibits_by_key(
            session, [key, *(pair.other(key) for _, pair in compared)]
        )
        query = exhibits[key]
        scores = []
        linkable: list[tuple[Exhibit, float]] = []
        for pair_key, pair in compared:
            candidate = exhibits.get(pair.other(key))
            if candidate is None or pair.record is None:  # removed since the search
                continue
            details = _details(pair, pair.record, exhibits)
            score = pair.record.checked_score()
            scores.append(
                _candidate_score(
                    candidate.id, score, pair.record, _seen_from(details, query.public_id)
                )
            )
            if pair_key not in plan.scheduled.get(candidate.id, ()):
                # the candidate will not record this pair itself (it is no query of this run,
                # or its own search did not return this one): record it for it, reversed
                repository.record_correlation_results(
                    session,
                    candidate,
                    [
                        _candidate_score(
                            query.id, score, pair.record, _seen_from(details, candidate.public_id)
                        )
                    ],
                    algorithm_version=plan.version,
                )
            linkable.append((candidate, score))
        _record_links(session, query, linkable, context.config, plan.version)
        repository.record_correlation_results(
            session, query, scores, algorithm_version=plan.version
        )
        repository.set_exhibit_status(session, query, "correlated")
    return 1


def relink_exhibits(context: ServiceContext, keys: Iterable[int], *, version: str) -> None:
    """Decide again the links of the exhibits ``keys`` from every result recorded for them under
    ``version``, with today's lead thresholds (one transaction per exhibit).

    What :func:`correlate_exhibits` does not do for pairs it finds recorded already: after the
    threshold is lowered, their scores now above it become leads. The policy is the same
    (:func:`~api.service.linking.decide_links`): nothing is demoted, each pair linked once.
    """
    for key in sorted({int(key) for key in keys}):
        with context.store.transaction(write=True) as session:
            query = repository.exhibits_by_key(session, [key]).get(key)
            if query is None:  # removed meanwhile
                continue
            scores = candidate_scores(session, query, algorithm_version=version)
            candidates = repository.exhibits_by_key(session, [s.candidate_key for s in scores])
            scored = [
                (candidates[s.candidate_key], s.score)
                for s in scores
                if s.candidate_key in candidates
            ]
            _record_links(session, query, scored, context.config, version)


def _record_links(
    session: Session,
    query: Exhibit,
    scored: list[tuple[Exhibit, float]],
    thresholds: LeadThresholds,
    version: str,
) -> None:
    """Write the links :func:`~api.service.linking.decide_links` decides for one query's
    scores; a lead that a concurrent transaction added meanwhile is decided again on what it
    stored."""
    others = {candidate.id: candidate for candidate, _ in scored}
    pending = scored
    while pending:
        stored = repository.links_between(session, query, others, for_update=True)
        pairs = [
            ScoredPair(_link_side(candidate), score, _stored_link(stored.get(candidate.id)))
            for candidate, score in pending
        ]
        raced = []
        for decision in decide_links(_link_side(query), pairs, thresholds):
            other = others[decision.other(query.id)]
            if not decision.new:
                repository.set_link_score(
                    session, stored[other.id], score=decision.score, algorithm_version=version
                )
            elif (
                repository.add_lead(
                    session,
                    query,
                    other,
                    score=decision.score,
                    cross_border=decision.cross_border,
                    algorithm_version=version,
                )
                is None
            ):
                raced.append((other, decision.score))
        pending = raced


def _link_side(exhibit: Exhibit) -> LinkSide:
    return LinkSide(
        key=exhibit.id,
        case_key=exhibit.case_pk,
        country=exhibit.agency.country,
        kind=exhibit.kind,
        modality=exhibit.modality,
    )


def _stored_link(link: Link | None) -> StoredLink | None:
    return None if link is None else StoredLink(status=link.status, score=link.score)


def _candidate_score(
    key: int, score: float, record: ComparisonRecord, details: dict[str, Any]
) -> repository.CandidateScore:
    return repository.CandidateScore(
        candidate_key=key, score=score, cmc_count=record.cmc_count, details=details
    )


def _details(
    pair: PlannedPair, record: ComparisonRecord, exhibits: dict[int, Exhibit]
) -> dict[str, Any]:
    """The comparison record worth keeping with a result (JSON), and which side was the
    reference (the registration moves the other one onto it)."""
    reference = exhibits.get(pair.reference)
    return {
        **record.stored_details(),
        "descriptor_similarity": pair.similarity,
        "reference": reference.public_id if reference is not None else None,
    }


def _seen_from(details: dict[str, Any], side: str) -> dict[str, Any]:
    """The details as the exhibit ``side`` (public id) keeps them: a bullet pair's phase is told
    from that exhibit's side (its land k faces the other's land k + phase), whichever bullet
    the comparison took as its reference. Casings keep the registration of the ``reference``
    side, which the details name."""
    phase, land_count = details.get("phase"), details.get("land_count")
    if phase is None or not land_count or details.get("reference") in (None, side):
        return details
    return {**details, "phase": (-int(phase)) % int(land_count)}


def _vectors(session: Any, keys: list[int]) -> dict[int, np.ndarray]:
    vectors: dict[int, np.ndarray] = {}
    for start in range(0, len(keys), _LOOKUP_BATCH):
        vectors.update(descriptor_vectors(session, keys[start : start + _LOOKUP_BATCH]))
    return vectors

"""Correlation results: the scores of the candidates each exhibit was compared with."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, selectinload

from api.store.models import (
    CorrelationResult,
    Exhibit,
    utc_now,
)
from api.store.repository._common import _identifier

#: queries read in one query
_LOOKUP_BATCH = 500


@dataclass(frozen=True)
class CandidateScore:
    """One candidate's comparison with a query, as :func:`record_correlation_results` stores it.

    Parameters
    ----------
    candidate_key
        The candidate exhibit's integer id.
    score
        The comparison score (higher: more similar).
    cmc_count
        Congruent matching cells, for cartridge cases.
    details
        The rest of the comparison record (JSON-serialisable).
    """

    candidate_key: int
    score: float
    cmc_count: int | None = None
    details: Mapping[str, Any] | None = field(default=None)


def record_correlation_results(
    session: Session,
    query: Exhibit,
    scores: Iterable[CandidateScore],
    *,
    algorithm_version: str,
) -> int:
    """Store the scores of candidates against ``query``; return how many were stored.

    A candidate already scored against the query by the same algorithm version gets its new
    score (a re-run replaces, never duplicates).
    """
    algorithm_version = _identifier(algorithm_version, "algorithm_version")
    rows: list[dict[str, Any]] = []
    for item in scores:
        if int(item.candidate_key) == query.id:
            raise ValueError(f"exhibit {query.exhibit_id!r} cannot be its own candidate.")
        if not math.isfinite(item.score):
            raise ValueError(
                f"candidate {item.candidate_key} has a non-finite score {item.score!r}."
            )
        rows.append(
            {
                "query_pk": query.id,
                "candidate_pk": int(item.candidate_key),
                "score": float(item.score),
                "cmc_count": None if item.cmc_count is None else int(item.cmc_count),
                "algorithm_version": algorithm_version,
                "details": None if item.details is None else dict(item.details),
                "created_at": utc_now(),
            }
        )
    if not rows:
        return 0
    candidates = sorted({row["candidate_pk"] for row in rows})
    if len(candidates) != len(rows):
        raise ValueError("each candidate may be scored once per call; merge the duplicates.")
    session.execute(
        delete(CorrelationResult).where(
            CorrelationResult.query_pk == query.id,
            CorrelationResult.algorithm_version == algorithm_version,
            CorrelationResult.candidate_pk.in_(candidates),
        )
    )
    session.execute(insert(CorrelationResult), rows)
    return len(rows)


def list_candidates(
    session: Session,
    query: Exhibit,
    *,
    algorithm_version: str | None = None,
    limit: int | None = None,
) -> list[CorrelationResult]:
    """Return ``query``'s stored results, best score first (rank = position + 1).

    ``algorithm_version`` None: the version most recently recorded for this query.
    """
    if algorithm_version is None:
        algorithm_version = _latest_version(session, query)
        if algorithm_version is None:
            return []
    statement = (
        select(CorrelationResult)
        .where(
            CorrelationResult.query_pk == query.id,
            CorrelationResult.algorithm_version == algorithm_version,
        )
        .order_by(CorrelationResult.score.desc(), CorrelationResult.candidate_pk)
        .limit(limit)
        .options(
            selectinload(CorrelationResult.candidate).selectinload(Exhibit.case),
            selectinload(CorrelationResult.candidate).selectinload(Exhibit.agency),
        )
    )
    return list(session.scalars(statement))


def candidate_scores(
    session: Session, query: Exhibit, *, algorithm_version: str | None = None
) -> list[CandidateScore]:
    """Return every one of ``query``'s stored results as its :class:`CandidateScore`, best
    score first, without loading the candidates (a page ranks them all, then loads its own).

    ``algorithm_version`` None: the version most recently recorded for this query.
    """
    if algorithm_version is None:
        algorithm_version = _latest_version(session, query)
        if algorithm_version is None:
            return []
    rows = session.execute(
        select(
            CorrelationResult.candidate_pk,
            CorrelationResult.score,
            CorrelationResult.cmc_count,
            CorrelationResult.details,
        )
        .where(
            CorrelationResult.query_pk == query.id,
            CorrelationResult.algorithm_version == algorithm_version,
        )
        .order_by(CorrelationResult.score.desc(), CorrelationResult.candidate_pk)
    )
    return [
        CandidateScore(candidate_key=int(key), score=float(score), cmc_count=count, details=details)
        for key, score, count, details in rows
    ]


def _latest_version(session: Session, query: Exhibit) -> str | None:
    """The algorithm version most recently recorded for ``query``'s results (None: none)."""
    return session.scalar(
        select(CorrelationResult.algorithm_version)
        .where(CorrelationResult.query_pk == query.id)
        .order_by(CorrelationResult.created_at.desc(), CorrelationResult.id.desc())
        .limit(1)
    )


def recorded_pairs(
    session: Session, query_keys: Iterable[int], *, algorithm_version: str
) -> set[tuple[int, int]]:
    """Return the (query, candidate) pairs of the queries ``query_keys`` (integer ids) already
    scored under ``algorithm_version``."""
    keys = sorted({int(key) for key in query_keys})
    recorded: set[tuple[int, int]] = set()
    for start in range(0, len(keys), _LOOKUP_BATCH):
        rows = session.execute(
            select(CorrelationResult.query_pk, CorrelationResult.candidate_pk).where(
                CorrelationResult.algorithm_version == algorithm_version,
                CorrelationResult.query_pk.in_(keys[start : start + _LOOKUP_BATCH]),
            )
        )
        recorded.update((int(query), int(candidate)) for query, candidate in rows)
    return recorded

"""An exhibit's candidates as its page lists them: every stored result ranked on each mark and
combined (:mod:`api.service.candidate_ranks`), in the order the examiner chose, one page at a
time. The ranks are taken over all the exhibit's results, so that a rank on page 2 means the
same as on page 1; only the page's candidates and links are loaded."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from api.service.candidate_ranks import (
    MARKS_OF_KIND,
    RankedCandidate,
    order_candidates,
    rank_candidates,
)
from api.store import repository
from api.store.models import Exhibit, Link
from api.store.repository.results import candidate_scores
from ballistics.items.records import evidence_strength

#: candidates on one page (best first), as the API's default ``top``
CANDIDATES_PER_PAGE = 50


@dataclass(frozen=True)
class CandidatePage:
    """One page of an exhibit's ranked candidates.

    Parameters
    ----------
    rows
        The page's candidates, each a dict the template reads (``ranks`` by mark).
    marks
        The marks the exhibit's kind is ranked on, in the order the columns show them.
    order
        The order the list is read in: ``combined`` or one of ``marks``.
    page, pages
        This page's number (from 1) and how many there are (at least 1).
    total
        How many candidates the exhibit has.
    """

    rows: list[dict[str, Any]]
    marks: tuple[str, ...]
    order: str
    page: int
    pages: int
    total: int


def chosen_order(text: str | None, marks: tuple[str, ...]) -> str:
    """The order asked for if the exhibit's kind has it; else ``combined``."""
    return text if text in marks else "combined"


def chosen_page(text: str | None) -> int:
    """The page number asked for (from 1); 1 for anything that is not a positive number."""
    try:
        number = int(text or "1")
    except ValueError:
        return 1
    return max(number, 1)


def candidate_page(session: Session, exhibit: Exhibit, params: Mapping[str, str]) -> CandidatePage:
    """The page of ``exhibit``'s candidates the query string ``params`` asks for (``order``,
    ``page``; a page past the last is the last)."""
    marks = MARKS_OF_KIND.get(exhibit.kind, ())
    order = chosen_order(params.get("order"), marks)
    ranked = order_candidates(
        rank_candidates(candidate_scores(session, exhibit), marks=marks), order
    )
    pages = max(1, math.ceil(len(ranked) / CANDIDATES_PER_PAGE))
    page = min(chosen_page(params.get("page")), pages)
    shown = ranked[(page - 1) * CANDIDATES_PER_PAGE : page * CANDIDATES_PER_PAGE]
    keys = [candidate.result.candidate_key for candidate in shown]
    others = repository.exhibits_by_key(session, keys)
    links = repository.links_between(session, exhibit, keys)
    rows = [
        _row(candidate, exhibit, others[candidate.result.candidate_key], links)
        for candidate in shown
        if candidate.result.candidate_key in others
    ]
    return CandidatePage(
        rows=rows, marks=marks, order=order, page=page, pages=pages, total=len(ranked)
    )


def _row(
    candidate: RankedCandidate, exhibit: Exhibit, other: Exhibit, links: Mapping[int, Link]
) -> dict[str, Any]:
    details = candidate.result.details or {}
    link = links.get(other.id)
    return {
        "rank": candidate.combined,
        "ranks": dict(candidate.ranks),
        "score": candidate.result.score,
        # results stored before 2026-12 name the decision "same_source"
        "lead": details.get("lead", details.get("same_source")),
        # from the stored score, with the current calibration (stored results follow it)
        **evidence_strength(
            exhibit.kind, (exhibit.modality, other.modality), candidate.result.score
        ).as_json(),
        "exhibit_id": other.exhibit_id,
        "case_id": other.case.case_id,
        "agency": other.agency.name,
        "country": other.agency.country,
        "link": link.public_id if link is not None else None,
    }

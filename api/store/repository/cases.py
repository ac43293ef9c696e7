"""The list of cases: each with its agency, how many exhibits it holds, its confirmed links and
the incidents they connect; filtered and paged in the database, the same on SQLite and
PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Collection

from sqlalchemy import Subquery, distinct, func, select, union_all
from sqlalchemy.orm import Session, contains_eager

from api.store.models import Agency, Case, Exhibit, Link


@dataclasses.dataclass(frozen=True)
class CaseSummary:
    """One case of the list.

    ``confirmed_links``: the confirmed links one of whose exhibits is the case's;
    ``linked_cases``: the incidents those links connect it to, directly or transitively (as
    :func:`~api.store.repository.links.linked_cases` walks them for the case's page).
    """

    public_id: str
    case_id: str
    agency: str
    country: str
    occurred_on: datetime.date | None
    exhibits: int
    confirmed_links: int
    linked_cases: int


def _confirmed_sides() -> Subquery:
    """Each confirmed link once per side: the case (integer id) of that side's exhibit and
    the link (integer id)."""
    sides = [
        select(Exhibit.case_pk.label("case_pk"), Link.id.label("link_pk"))
        .join(Link, side == Exhibit.id)
        .where(Link.status == "confirmed")
        for side in (Link.exhibit_a_pk, Link.exhibit_b_pk)
    ]
    return union_all(*sides).subquery("confirmed_sides")


def cases_newest_first(
    session: Session,
    *,
    agency_key: int | None = None,
    case_id_contains: str | None = None,
    country: str | None = None,
    linked_only: bool = False,
    limit: int,
    offset: int = 0,
) -> list[CaseSummary]:
    """Return cases most recently filed first, filtered in the database, with their counts.

    ``agency_key``: one agency's cases (integer id), else every agency's; ``case_id_contains``:
    a part of the case id, without regard to letter case; ``country``: the filing agency's
    ISO 3166-1 alpha-2 code; ``linked_only``: only cases with at least one confirmed link.
    ``limit`` and ``offset`` page through the list.
    """
    statement = (
        select(Case)
        .join(Case.agency)
        .options(contains_eager(Case.agency))
        .order_by(Case.created_at.desc(), Case.id.desc())
        .offset(offset)
        .limit(limit)
    )
    if agency_key is not None:
        statement = statement.where(Case.agency_pk == agency_key)
    if case_id_contains:
        statement = statement.where(Case.case_id.icontains(case_id_contains, autoescape=True))
    if country:
        statement = statement.where(Agency.country == country.strip().upper())
    if linked_only:
        sides = _confirmed_sides()
        statement = statement.where(Case.id.in_(select(sides.c.case_pk)))
    cases = list(session.scalars(statement))
    keys = [case.id for case in cases]
    exhibits = _exhibit_counts(session, keys)
    links = _confirmed_link_counts(session, keys)
    linked = _linked_case_counts(session, keys)
    return [
        CaseSummary(
            public_id=case.public_id,
            case_id=case.case_id,
            agency=case.agency.name,
            country=case.agency.country,
            occurred_on=case.occurred_on,
            exhibits=exhibits.get(case.id, 0),
            confirmed_links=links.get(case.id, 0),
            linked_cases=linked.get(case.id, 0),
        )
        for case in cases
    ]


def _exhibit_counts(session: Session, keys: Collection[int]) -> dict[int, int]:
    if not keys:
        return {}
    rows = session.execute(
        select(Exhibit.case_pk, func.count())
        .where(Exhibit.case_pk.in_(keys))
        .group_by(Exhibit.case_pk)
    )
    return {int(key): int(count) for key, count in rows}


def _confirmed_link_counts(session: Session, keys: Collection[int]) -> dict[int, int]:
    if not keys:
        return {}
    sides = _confirmed_sides()
    rows = session.execute(
        select(sides.c.case_pk, func.count(distinct(sides.c.link_pk)))
        .where(sides.c.case_pk.in_(keys))
        .group_by(sides.c.case_pk)
    )
    return {int(key): int(count) for key, count in rows}


def _linked_case_counts(session: Session, keys: Collection[int]) -> dict[int, int]:
    """How many cases each of ``keys`` reaches through confirmed links (itself left out).

    One recursive query for the whole page: pairs (origin, reached case), joined by UNION so
    that cycles end.
    """
    if not keys:
        return {}
    sides = _confirmed_sides()
    other = sides.alias("other_sides")
    # the two cases of each confirmed link, in both directions
    edges = (
        select(sides.c.case_pk.label("source"), other.c.case_pk.label("target"))
        .join(other, other.c.link_pk == sides.c.link_pk)
        .where(other.c.case_pk != sides.c.case_pk)
        .subquery("edges")
    )
    reachable = (
        select(Case.id.label("origin"), Case.id.label("case_pk"))
        .where(Case.id.in_(keys))
        .cte("reachable", recursive=True)
    )
    reachable = reachable.union(
        select(reachable.c.origin, edges.c.target).join(
            reachable, edges.c.source == reachable.c.case_pk
        )
    )
    rows = session.execute(
        select(reachable.c.origin, func.count())
        .where(reachable.c.case_pk != reachable.c.origin)
        .group_by(reachable.c.origin)
    )
    return {int(key): int(count) for key, count in rows}

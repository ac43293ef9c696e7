"""Links between exhibits of different cases: leads the engine finds, an examiner's decisions."""

from __future__ import annotations

import datetime
import math
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from api.store.errors import ConflictError, NotFoundError
from api.store.models import (
    DECIDED_LINK_STATUSES,
    DECISION_METHODS,
    LINK_STATUSES,
    Agency,
    Case,
    Exhibit,
    Link,
    utc_now,
)
from api.store.repository._common import SYSTEM_ACTOR, _one_of
from api.store.repository.audit_log import audit
from api.store.repository.notifications import notify_link
from ballistics.items.records import evidence_strength

#: exhibits whose links are read in one query
_LOOKUP_BATCH = 500
#: what a link is read with: both exhibits with their cases and agencies, and who decided
_LINK_LOADING = (
    *(
        selectinload(side).selectinload(related)
        for side in (Link.exhibit_a, Link.exhibit_b)
        for related in (Exhibit.case, Exhibit.agency)
    ),
    selectinload(Link.decided_by),
)


def links_between(
    session: Session, query: Exhibit, others: Iterable[int], *, for_update: bool = False
) -> dict[int, Link]:
    """Return the links between ``query`` and the exhibits ``others`` (integer ids), by the
    other exhibit's id; exhibits without a link with ``query`` are left out.

    ``for_update``: lock the links' rows until the transaction ends and read them afresh, so
    that what is decided from their scores and statuses stays true until commit (two workers
    never both raise a link from the same old score).
    """
    keys = sorted({int(key) for key in others} - {query.id})
    found: dict[int, Link] = {}
    for start in range(0, len(keys), _LOOKUP_BATCH):
        batch = keys[start : start + _LOOKUP_BATCH]
        statement = select(Link).where(
            or_(
                and_(Link.exhibit_a_pk == query.id, Link.exhibit_b_pk.in_(batch)),
                and_(Link.exhibit_b_pk == query.id, Link.exhibit_a_pk.in_(batch)),
            )
        )
        if for_update:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        for link in session.scalars(statement):
            found[link.exhibit_b_pk if link.exhibit_a_pk == query.id else link.exhibit_a_pk] = link
    return found


def add_lead(
    session: Session,
    first: Exhibit,
    second: Exhibit,
    *,
    score: float,
    cross_border: bool,
    algorithm_version: str | None = None,
) -> Link | None:
    """Add a ``lead`` link between two exhibits of different cases, with its audit line; return
    it, or None when a concurrent transaction added the pair's link since it was read (that one
    stands: read it again, :func:`links_between`, and decide on it).

    Which pairs become leads is :func:`api.service.linking.decide_links`'s to say.

    Raises
    ------
    ValueError
        The exhibits are the same, or of the same case, or the score is not finite.
    """
    _check_pair(first, second, score)
    exhibit_a, exhibit_b = sorted((first, second), key=lambda exhibit: exhibit.id)
    link = Link(
        exhibit_a=exhibit_a,
        exhibit_b=exhibit_b,
        score=float(score),
        algorithm_version=algorithm_version,
        status="lead",
        cross_border=bool(cross_border),
    )
    try:
        with session.begin_nested():
            session.add(link)
    except IntegrityError:
        if exhibit_b.id not in links_between(session, exhibit_a, [exhibit_b.id]):
            raise
        return None
    audit(
        session,
        SYSTEM_ACTOR,
        "link.lead",
        object_type="link",
        object_id=link.public_id,
        details={"score": float(score), "algorithm_version": algorithm_version},
    )
    return link


def set_link_score(
    session: Session, link: Link, *, score: float, algorithm_version: str | None = None
) -> Link:
    """Give ``link`` the score of a new comparison (and its algorithm version); its status, an
    examiner's to change, stays."""
    if not math.isfinite(score):
        raise ValueError(f"link score {score!r} is not finite.")
    link.score = float(score)
    link.algorithm_version = algorithm_version
    session.flush()
    return link


def upsert_link(
    session: Session,
    first: Exhibit,
    second: Exhibit,
    *,
    score: float,
    algorithm_version: str | None = None,
) -> Link:
    """Record a possible link between two exhibits of different cases; return it.

    (a, b) and (b, a) are the same link. A new link is a ``lead``; an existing one keeps the
    higher of its scores and its status: an examiner's ``confirmed`` or ``rejected`` is never
    turned back into a lead by the engine. For a caller that has decided the pair is a lead
    (tests, scripts); correlation decides with :func:`api.service.linking.decide_links` and
    writes with :func:`add_lead` and :func:`set_link_score`.

    Raises
    ------
    ValueError
        The exhibits are the same, or of the same case, or the score is not finite.
    """
    _check_pair(first, second, score)
    link = links_between(session, first, [second.id], for_update=True).get(second.id)
    if link is None:
        cross_border = first.agency.country != second.agency.country
        link = add_lead(
            session,
            first,
            second,
            score=score,
            cross_border=cross_border,
            algorithm_version=algorithm_version,
        )
        if link is not None:
            return link
        link = links_between(session, first, [second.id], for_update=True)[second.id]
    if score > link.score:
        set_link_score(session, link, score=score, algorithm_version=algorithm_version)
    return link


def _check_pair(first: Exhibit, second: Exhibit, score: float) -> None:
    if first.id == second.id:
        raise ValueError(f"exhibit {first.exhibit_id!r} cannot be linked with itself.")
    if first.case_pk == second.case_pk:
        raise ValueError(
            f"exhibits {first.exhibit_id!r} and {second.exhibit_id!r} are of the same case; "
            "links join different cases."
        )
    if not math.isfinite(score):
        raise ValueError(f"link score {score!r} is not finite.")


def get_link(session: Session, public_id: str, *, for_update: bool = False) -> Link:
    """Return the link of public id ``public_id``; raise NotFoundError if there is none.

    ``for_update``: lock the link's row until the transaction ends (``SELECT ... FOR UPDATE``
    on PostgreSQL; a SQLite write transaction holds the database's lock from its start) and
    read its columns afresh, so that what is decided from its status stays true until commit.
    """
    statement = select(Link).options(*_LINK_LOADING).where(Link.public_id == public_id)
    if for_update:
        statement = statement.with_for_update(of=Link).execution_options(populate_existing=True)
    link = session.scalar(statement)
    if link is None:
        raise NotFoundError("link", public_id)
    return link


def set_link_status(
    session: Session,
    link: Link,
    status: str,
    *,
    by_agency: Agency,
    comment: str | None = None,
    method: str = "images",
    expected_status: str | None = None,
    actor: str | None = None,
) -> Link:
    """Record an examiner's decision on a link: ``confirmed`` or ``rejected``.

    A decision may be revised (confirmed to rejected and back); the audit log keeps each one
    with the status it replaced. The link's row is locked and read again first, so that of two
    concurrent decisions the second sees the first's status: each audit line's
    ``previous_status`` is the status it really replaced. Whether ``by_agency`` may decide is
    the caller's rule.

    Parameters
    ----------
    method
        How the examiner reached the decision: ``"images"`` (on the screen) or
        ``"microscope"`` (with the exhibits under a comparison microscope).
    expected_status
        The status the examiner saw when deciding; None: decide whatever the status is now.
    actor
        Who decided, as the audit log names them (a person and their agency, from the review
        station's pages); None: ``by_agency``'s name.

    Raises
    ------
    ConflictError
        ``expected_status`` is given and the link's status is another (someone decided
        meanwhile); nothing is changed.
    """
    status = _one_of(status, DECIDED_LINK_STATUSES, "link status")
    method = _one_of(method, DECISION_METHODS, "decision method")
    if expected_status is not None:
        expected_status = _one_of(expected_status, LINK_STATUSES, "expected_status")
    locked = select(Link).where(Link.id == link.id).with_for_update()
    link = session.scalars(locked.execution_options(populate_existing=True)).one()
    previous = link.status
    if expected_status is not None and previous != expected_status:
        raise ConflictError(
            f"link {link.public_id} is {previous}, not {expected_status}: it was decided since "
            "you saw it; read it again (GET /v1/links) and decide on what it is now."
        )
    link.status = status
    link.decided_by = by_agency
    link.decided_at = utc_now()
    link.comment = comment
    link.decision_method = method
    session.flush()
    audit(
        session,
        actor or by_agency.name,
        f"link.{status}",
        object_type="link",
        object_id=link.public_id,
        details={"previous_status": previous, "comment": comment, "method": method},
    )
    if status != previous and "confirmed" in (status, previous):
        # a confirmation joins two cases, a rejection of a confirmed link parts them again
        notify_link(session, link, f"link.{status}")
    return link


def list_links(
    session: Session,
    *,
    cross_border: bool | None = None,
    status: str | None = None,
    exhibit: Exhibit | None = None,
    agency: Agency | None = None,
    limit: int | None = None,
    **filters: Any,
) -> list[Link]:
    """Return links, best score first, with both exhibits, cases and agencies loaded;
    ``agency``: only links one of whose exhibits that agency holds.

    ``filters`` (None or absent: no filter), each on either side of the link: ``kind``,
    ``modality``, ``country``, ``caliber`` (either case); ``countries`` (a collection of
    country codes, e.g. a region's: one of them on either side; empty: no link);
    ``occurred_from`` / ``occurred_to`` (dates, inclusive: the incident's date),
    ``entered_from`` / ``entered_to`` (dates, inclusive: the exhibit's entry, UTC); and
    ``min_score``. All in the database's query.
    """
    statement = (
        select(Link).options(*_LINK_LOADING).order_by(Link.score.desc(), Link.id).limit(limit)
    )
    if agency is not None:
        statement = statement.where(_either_side(Exhibit.agency_pk == agency.id))
    if cross_border is not None:
        statement = statement.where(Link.cross_border == cross_border)
    if status is not None:
        statement = statement.where(Link.status == _one_of(status, LINK_STATUSES, "status"))
    if exhibit is not None:
        statement = statement.where(
            or_(Link.exhibit_a_pk == exhibit.id, Link.exhibit_b_pk == exhibit.id)
        )
    for condition in _filter_conditions(**filters):
        statement = statement.where(condition)
    return list(session.scalars(statement))


def _filter_conditions(
    *,
    kind: str | None = None,
    modality: str | None = None,
    country: str | None = None,
    countries: Collection[str] | None = None,
    caliber: str | None = None,
    occurred_from: datetime.date | None = None,
    occurred_to: datetime.date | None = None,
    entered_from: datetime.date | None = None,
    entered_to: datetime.date | None = None,
    min_score: float | None = None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if kind is not None:
        conditions.append(_either_side(Exhibit.kind == kind))
    if modality is not None:
        conditions.append(_either_side(Exhibit.modality == modality))
    if country is not None:
        held = select(Agency.id).where(func.upper(Agency.country) == country.upper())
        conditions.append(_either_side(Exhibit.agency_pk.in_(held)))
    if countries is not None:
        codes = sorted({code.upper() for code in countries})
        held = select(Agency.id).where(func.upper(Agency.country).in_(codes))
        conditions.append(_either_side(Exhibit.agency_pk.in_(held)))
    if caliber is not None:
        conditions.append(_either_side(func.lower(Exhibit.caliber) == caliber.lower()))
    if occurred_from is not None or occurred_to is not None:
        dated = select(Case.id)
        if occurred_from is not None:
            dated = dated.where(Case.occurred_on >= occurred_from)
        if occurred_to is not None:
            dated = dated.where(Case.occurred_on <= occurred_to)
        conditions.append(_either_side(Exhibit.case_pk.in_(dated)))
    if entered_from is not None:
        conditions.append(_either_side(Exhibit.created_at >= _day_start(entered_from)))
    if entered_to is not None:
        day_after = entered_to + datetime.timedelta(days=1)
        conditions.append(_either_side(Exhibit.created_at < _day_start(day_after)))
    if min_score is not None:
        conditions.append(Link.score >= float(min_score))
    return conditions


def _either_side(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Links one of whose exhibits meets ``condition`` (on :class:`Exhibit`)."""
    held = select(Exhibit.id).where(condition)
    return or_(Link.exhibit_a_pk.in_(held), Link.exhibit_b_pk.in_(held))


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def link_summary(link: Link) -> dict[str, Any]:
    """Return a link as ``ballistics links`` and ``GET /v1/links`` show it (CONTRACT.md), with the
    strength of the evidence of its score (:func:`~ballistics.items.records.evidence_strength`)."""
    exhibit_a, exhibit_b = link.exhibit_a, link.exhibit_b
    return {
        "id": link.public_id,
        "exhibit_a": exhibit_a.exhibit_id,
        "exhibit_b": exhibit_b.exhibit_id,
        "case_a": exhibit_a.case.case_id,
        "case_b": exhibit_b.case.case_id,
        "agency_a": exhibit_a.agency.name,
        "agency_b": exhibit_b.agency.name,
        "country_a": exhibit_a.agency.country,
        "country_b": exhibit_b.agency.country,
        "score": link.score,
        # the strength of the stored score, computed now with the current calibration: a stored
        # link follows a change of calibration without its comparison being run again
        **evidence_strength(
            exhibit_a.kind, (exhibit_a.modality, exhibit_b.modality), link.score
        ).as_json(),
        "cross_border": link.cross_border,
        "status": link.status,
    }


def linked_cases(session: Session, case: Case) -> list[Case]:
    """Return the cases linked to ``case`` through confirmed links, directly or transitively.

    Leads and rejected links do not connect cases. The walk is one recursive query (UNION, so
    that cycles end), the same on SQLite and PostgreSQL; ``case`` itself is not in the answer.
    """
    side_a = aliased(Exhibit)
    side_b = aliased(Exhibit)
    confirmed = Link.status == "confirmed"
    forward = (
        select(side_a.case_pk.label("source"), side_b.case_pk.label("target"))
        .join_from(Link, side_a, Link.exhibit_a_pk == side_a.id)
        .join(side_b, Link.exhibit_b_pk == side_b.id)
        .where(confirmed)
    )
    backward = (
        select(side_b.case_pk.label("source"), side_a.case_pk.label("target"))
        .join_from(Link, side_a, Link.exhibit_a_pk == side_a.id)
        .join(side_b, Link.exhibit_b_pk == side_b.id)
        .where(confirmed)
    )
    edges = union_all(forward, backward).subquery("edges")
    reachable = (
        select(Case.id.label("case_pk")).where(Case.id == case.id).cte("reachable", recursive=True)
    )
    reachable = reachable.union(
        select(edges.c.target).join(reachable, edges.c.source == reachable.c.case_pk)
    )
    statement = (
        select(Case)
        .where(Case.id.in_(select(reachable.c.case_pk)), Case.id != case.id)
        .order_by(Case.agency_pk, Case.case_id)
        .options(selectinload(Case.agency))
    )
    return list(session.scalars(statement))


def count_links(session: Session) -> int:
    """Return how many links the store holds, whatever their status."""
    return int(session.scalar(select(func.count()).select_from(Link)) or 0)

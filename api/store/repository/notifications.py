"""Notifications: the agencies told of a link's confirmation, and what each has read.

A confirmed link joins two cases: the two submitting agencies and the investigators of both
countries (agencies of role ``investigator`` whose country is either side's) are told, in the
transaction of the decision (:func:`~api.store.repository.links.set_link_status`). Every person
of an agency sees its notifications; reading is the agency's.
"""

from __future__ import annotations

import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from api.store.errors import NotFoundError
from api.store.models import (
    NOTIFICATION_KINDS,
    Agency,
    Exhibit,
    Link,
    Notification,
    utc_now,
)
from api.store.repository._common import _one_of


def agencies_to_tell(session: Session, link: Link) -> list[Agency]:
    """The agencies told of a decision on ``link``: both submitting agencies and every active
    investigator agency of either side's country, each once, by id."""
    sides = [link.exhibit_a.agency, link.exhibit_b.agency]
    countries = sorted({side.country for side in sides})
    investigators = session.scalars(
        select(Agency).where(
            Agency.role == "investigator",
            Agency.country.in_(countries),
            Agency.disabled_at.is_(None),
        )
    )
    told = {agency.id: agency for agency in (*sides, *investigators)}
    return [told[key] for key in sorted(told)]


def notify_link(
    session: Session, link: Link, kind: str, *, now: datetime.datetime | None = None
) -> list[Notification]:
    """Tell the agencies of :func:`agencies_to_tell` that ``link`` was ``kind``
    (``link.confirmed`` or ``link.rejected``); an agency told so before is told again (its
    line is unread again, dated now). Return the notifications, by agency id."""
    kind = _one_of(kind, NOTIFICATION_KINDS, "notification kind")
    now = now or utc_now()
    agencies = agencies_to_tell(session, link)
    existing = {
        notification.agency_pk: notification
        for notification in session.scalars(
            select(Notification).where(Notification.link_pk == link.id, Notification.kind == kind)
        )
    }
    told = []
    for agency in agencies:
        notification = existing.get(agency.id)
        if notification is None:
            notification = Notification(agency=agency, link=link, kind=kind, created_at=now)
            session.add(notification)
        else:
            notification.created_at = now
            notification.read_at = None
        told.append(notification)
    session.flush()
    return told


def list_notifications(
    session: Session, agency_pk: int, *, limit: int | None = None
) -> list[Notification]:
    """Return an agency's notifications, unread first, newest first, with their link's
    exhibits, cases, agencies and deciding agency loaded."""
    loading = (
        *(
            selectinload(Notification.link).selectinload(side).selectinload(related)
            for side in (Link.exhibit_a, Link.exhibit_b)
            for related in (Exhibit.case, Exhibit.agency)
        ),
        selectinload(Notification.link).selectinload(Link.decided_by),
    )
    statement = (
        select(Notification)
        .options(*loading)
        .where(Notification.agency_pk == agency_pk)
        .order_by(
            Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id
        )
        .limit(limit)
    )
    return list(session.scalars(statement))


def count_unread_notifications(session: Session, agency_pk: int) -> int:
    """Return how many of an agency's notifications it has not read."""
    statement = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.agency_pk == agency_pk, Notification.read_at.is_(None))
    )
    return int(session.scalar(statement) or 0)


def mark_notifications_read(
    session: Session,
    agency_pk: int,
    notification_id: int | None = None,
    *,
    now: datetime.datetime | None = None,
) -> int:
    """Mark an agency's notification ``notification_id`` read (None: all of them); return
    how many were unread. Raise NotFoundError when the agency has no such notification."""
    statement = select(Notification).where(Notification.agency_pk == agency_pk)
    if notification_id is not None:
        statement = statement.where(Notification.id == notification_id)
    found = list(session.scalars(statement))
    if notification_id is not None and not found:
        raise NotFoundError("notification", str(notification_id))
    unread = [notification for notification in found if notification.read_at is None]
    for notification in unread:
        notification.read_at = now or utc_now()
    session.flush()
    return len(unread)

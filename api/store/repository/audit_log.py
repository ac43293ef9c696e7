"""The audit log: append a line, read lines back; no function changes or removes one."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.models import (
    AuditEntry,
)
from api.store.repository._common import _identifier


def audit(
    session: Session,
    actor: str,
    action: str,
    *,
    object_type: str,
    object_id: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append a line to the audit log (there is no function to change or remove one).

    Parameters
    ----------
    actor
        Who acted: an agency's name, or :data:`SYSTEM_ACTOR`.
    action
        What was done, dotted, e.g. ``"exhibit.add"``, ``"link.confirmed"``.
    object_type, object_id
        What it was done to: ``"exhibit"`` and its public id, ``"link"`` and its public id...
    details
        JSON-serialisable facts worth keeping (previous status, digests, comment).
    """
    entry = AuditEntry(
        actor=_identifier(actor, "actor"),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=dict(details) if details is not None else None,
    )
    session.add(entry)
    session.flush()
    return entry


def list_audit(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    after_id: int = 0,
    limit: int | None = None,
    before_id: int | None = None,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    newest_first: bool = False,
) -> list[AuditEntry]:
    """Return audit lines, oldest first, optionally of one object, actor, action or time.

    Parameters
    ----------
    object_type, object_id
        Only lines about this kind of object, or this object (its public id).
    actor
        Only lines of this actor (an agency's name, or :data:`SYSTEM_ACTOR`).
    action
        Only lines of this action, e.g. ``"access.denied"``.
    after_id
        Only lines after this one (to page through the log).
    limit
        At most this many lines; None: all.
    before_id
        Only lines before this one (to page back through the log, newest first).
    since, until
        Only lines written at or after ``since``, and before ``until`` (timezone-aware).
    newest_first
        The newest lines first (with ``limit``: the latest ones).
    """
    order = AuditEntry.id.desc() if newest_first else AuditEntry.id
    statement = select(AuditEntry).where(AuditEntry.id > after_id).order_by(order)
    if before_id is not None:
        statement = statement.where(AuditEntry.id < before_id)
    if since is not None:
        statement = statement.where(AuditEntry.at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.at < until)
    if object_type is not None:
        statement = statement.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        statement = statement.where(AuditEntry.object_id == object_id)
    if actor is not None:
        statement = statement.where(AuditEntry.actor == actor)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))

"""The administrator's page of the audit log: newest first, filtered, paged back in time."""

from __future__ import annotations

import datetime
import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from api.store import repository
from api.web.access import Service
from api.web.ui.admin_agencies import Admin
from api.web.ui.rendering import render

router = APIRouter(prefix="/ui/admin", tags=["ui"], include_in_schema=False)

#: lines on one page unless the admin asks for another number
PAGE_LENGTH = 100


def _day(text: str) -> datetime.datetime | None:
    """The start (UTC) of the day ``text`` (``YYYY-MM-DD``); None when empty; ValueError."""
    if not text.strip():
        return None
    day = datetime.date.fromisoformat(text.strip())
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


@router.get("/audit")
def audit_page(
    request: Request,
    service: Service,
    person: Admin,
    action: Annotated[str, Query(max_length=64)] = "",
    actor: Annotated[str, Query(max_length=200)] = "",
    object_type: Annotated[str, Query(max_length=32)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = PAGE_LENGTH,
) -> Response:
    """Audit lines, newest first, by action, actor, object type and day (``until`` included);
    the "older" link pages back from the last line shown."""
    filters = {
        "action": action.strip(),
        "actor": actor.strip(),
        "object_type": object_type.strip(),
        "since": since.strip(),
        "until": until.strip(),
    }
    try:
        start = _day(since)
        end = _day(until)
    except ValueError:
        return render(
            request,
            "admin_audit.html",
            person=person,
            rows=[],
            filters=filters,
            bad_date=True,
            older="",
            status_code=422,
        )
    with service.store.transaction() as session:
        entries = repository.list_audit(
            session,
            action=filters["action"] or None,
            actor=filters["actor"] or None,
            object_type=filters["object_type"] or None,
            since=start,
            until=end + datetime.timedelta(days=1) if end is not None else None,
            before_id=before,
            limit=limit,
            newest_first=True,
        )
        rows = [
            {
                "id": entry.id,
                "at": entry.at,
                "actor": entry.actor,
                "action": entry.action,
                "object_type": entry.object_type,
                "object_id": entry.object_id,
                "details": json.dumps(entry.details, ensure_ascii=False, sort_keys=True)
                if entry.details
                else "",
            }
            for entry in entries
        ]
    older = ""
    if len(rows) == limit:
        kept = {name: value for name, value in filters.items() if value}
        older = "/ui/admin/audit?" + urlencode({**kept, "before": rows[-1]["id"], "limit": limit})
    return render(
        request,
        "admin_audit.html",
        person=person,
        rows=rows,
        filters=filters,
        bad_date=False,
        older=older,
    )

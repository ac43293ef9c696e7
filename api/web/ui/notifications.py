"""An agency's notifications: the links confirmed (or a confirmation withdrawn) between its
cases and others'. Every person of the agency sees them; reading them is the agency's.

A lab is told of its own exhibits' links, an investigator agency of the links of its
country's cases (:mod:`api.store.repository.notifications` decides who is told). Each
notification leads to the two cases' pages, where an investigator follows the series of
incidents (a lab to its own case's only: labs follow their own cases), and to the link's page
(read only but for examiners, who decide).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from api.store import repository
from api.store.models import Exhibit, Notification
from api.web.access import LAB, Caller, Service
from api.web.sessions import SignedIn, check_csrf, require_person
from api.web.ui.rendering import render

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)

Person = Annotated[SignedIn, Depends(require_person)]
#: the most notifications the page shows
LIST_LENGTH = 200


def _side(exhibit: Exhibit, caller: Caller) -> dict[str, Any]:
    # the case page's rule (access.case_owner): a lab reads its own cases, the others any
    case_readable = caller.role != LAB or caller.owns(exhibit)
    return {
        "exhibit_id": exhibit.exhibit_id,
        "case_id": exhibit.case.case_id,
        "agency": exhibit.agency.name,
        "country": exhibit.agency.country,
        "case_readable": case_readable,
    }


def _row(notification: Notification, caller: Caller) -> dict[str, Any]:
    link = notification.link
    sides = (link.exhibit_a, link.exhibit_b)
    return {
        "id": notification.id,
        "kind": notification.kind,
        "link_id": link.public_id,
        # the link page's rule (decisions._readable_sides)
        "link_readable": caller.sees_everything() or any(caller.owns(side) for side in sides),
        "sides": [_side(side, caller) for side in sides],
        "decided_by": link.decided_by.name if link.decided_by is not None else "",
        "method": link.decision_method or "images",
        "created_at": notification.created_at,
        "unread": notification.read_at is None,
    }


@router.get("/notifications")
def notifications_page(request: Request, service: Service, person: Person) -> Response:
    """The signed-in person's agency's notifications, unread first, newest first."""
    caller = person.caller()
    with service.store.transaction() as session:
        rows = [
            _row(notification, caller)
            for notification in repository.list_notifications(
                session, person.agency_pk, limit=LIST_LENGTH
            )
        ]
    return render(request, "notifications.html", person=person, rows=rows)


@router.post("/notifications/{notification_id}/read", dependencies=[Depends(check_csrf)])
def mark_read(service: Service, person: Person, notification_id: int) -> Response:
    """Mark one of the agency's notifications read (404: not the agency's)."""
    with service.store.transaction(write=True) as session:
        repository.mark_notifications_read(session, person.agency_pk, notification_id)
    return RedirectResponse("/ui/notifications", status_code=303)


@router.post("/notifications/read", dependencies=[Depends(check_csrf)])
def mark_all_read(service: Service, person: Person) -> Response:
    """Mark every notification of the agency read."""
    with service.store.transaction(write=True) as session:
        repository.mark_notifications_read(session, person.agency_pk)
    return RedirectResponse("/ui/notifications", status_code=303)

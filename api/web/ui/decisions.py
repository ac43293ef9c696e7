"""A lead side by side, the examiner's decision on it, and on to the next lead.

A confirmation made under a comparison microscope is a *hit*; one made on the images stays a
*confirmed lead* until the exhibits are examined (NIBIN/IBIN practice); the stored status is
``confirmed`` either way, with the method in ``links.decision_method``. After a decision the
examiner goes on to the next undecided lead of the queue they came from (its filters travel
in the ``queue`` field), or back to that queue when none is left. A mark another agency did
not share is never shown (its place says so).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.store import repository
from api.store.errors import ConflictError
from api.store.models import Exhibit, Link
from api.web.access import EXAMINER, Caller, Service, check_can_see_images, require_role
from api.web.images import exhibit_preview_png
from api.web.routes import compare
from api.web.routes._common import audit_read, load_exhibit
from api.web.sessions import SignedIn, check_csrf, require_person
from api.web.ui.leads import QueueFilters, decision_name, next_lead
from api.web.ui.rendering import render
from ballistics.casing.overlay import DEFAULT_PANEL_SIDE_PX
from ballistics.items.records import evidence_strength
from ballistics.render import MARGIN_PX

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)

Person = Annotated[SignedIn, Depends(require_person)]
#: the longest queue (its query string) a lead's page carries
QUEUE_TEXT = 2000


def _side(exhibit: Exhibit, person: SignedIn) -> dict[str, Any]:
    visible = person.caller().owns(exhibit) or exhibit.shared
    return {
        "id": exhibit.public_id,
        "exhibit_id": exhibit.exhibit_id,
        "agency": exhibit.agency.name,
        "country": exhibit.agency.country,
        "case_id": exhibit.case.case_id,
        "caliber": exhibit.caliber,
        "occurred_on": exhibit.case.occurred_on,
        "modality": exhibit.modality,
        "kind": exhibit.kind,
        "image": f"/ui/exhibits/{exhibit.public_id}/image.png" if visible else None,
        "visible": visible,
    }


def _readable_sides(caller: Caller, link: Link) -> list[Exhibit]:
    """The link's two exhibits, when the caller may read the link (one is theirs, or they
    are an examiner or see everything)."""
    sides = [link.exhibit_a, link.exhibit_b]
    if not (caller.sees_everything() or any(caller.owns(side) for side in sides)):
        require_role(caller, EXAMINER, action="reading another agency's link")
    return sides


def _link_view(
    request: Request,
    service: Service,
    person: SignedIn,
    link_id: str,
    *,
    queue: str,
    message: str = "",
    status_code: int = 200,
) -> Response:
    caller = person.caller()
    with service.store.transaction(write=True) as session:
        link = repository.get_link(session, link_id)
        sides = _readable_sides(caller, link)
        decisions = [
            entry
            for entry in repository.list_audit(session, object_type="link", object_id=link_id)
            if entry.action in ("link.confirmed", "link.rejected")
        ]
        threshold = service.config.lead_threshold_for(
            link.exhibit_a.modality or "topography", kind=link.exhibit_a.kind
        )
        view = {
            "id": link.public_id,
            "score": link.score,
            # from the stored score, with the current calibration (stored links follow it)
            "strength": evidence_strength(
                link.exhibit_a.kind,
                (link.exhibit_a.modality, link.exhibit_b.modality),
                link.score,
            ).as_json(),
            "threshold": threshold,
            "status": link.status,
            "decision": decision_name(link.status, link.decision_method),
            "cross_border": link.cross_border,
            "kind": link.exhibit_a.kind,
            "panel_pitch_px": DEFAULT_PANEL_SIDE_PX + MARGIN_PX,
            "sides": [_side(side, person) for side in sides],
            "decisions": [
                {
                    "at": entry.at,
                    "actor": entry.actor,
                    "status": entry.action.removeprefix("link."),
                    "comment": (entry.details or {}).get("comment") or "",
                    "method": (entry.details or {}).get("method") or "",
                }
                for entry in decisions
            ],
        }
        audit_read(
            session,
            caller,
            "link.view",
            object_type="link",
            object_id=link_id,
            details={"person": person.actor},
        )
    return render(
        request,
        "link.html",
        person=person,
        link=view,
        message=message,
        queue=queue,
        decided=request.query_params.get("decided", ""),
        status_code=status_code,
    )


def _queue(text: str) -> QueueFilters:
    return QueueFilters.from_params(dict(parse_qsl(text[:QUEUE_TEXT])))


@router.get("/links/{link_id}")
def link_page(
    request: Request,
    service: Service,
    person: Person,
    link_id: str,
    queue: Annotated[str, Query(max_length=QUEUE_TEXT)] = "",
) -> Response:
    """A lead side by side: both exhibits, the score and what it means, earlier decisions."""
    return _link_view(request, service, person, link_id, queue=_queue(queue).query_string())


@router.post("/links/{link_id}/decision", dependencies=[Depends(check_csrf)])
def decide(
    request: Request,
    service: Service,
    person: Person,
    link_id: str,
    decision: Annotated[Literal["confirm", "reject"], Form()],
    method: Annotated[Literal["images", "microscope"], Form()] = "images",
    comment: Annotated[str, Form(max_length=4000)] = "",
    expected_status: Annotated[Literal["lead", "confirmed", "rejected"] | None, Form()] = None,
    queue: Annotated[str, Form(max_length=QUEUE_TEXT)] = "",
) -> Response:
    """An examiner confirms or rejects the lead, as ``POST /v1/links/{id}/confirm|reject``
    does (the audit line names the person), and goes on to the next undecided lead of the
    queue (``queue``: its query string), or back to it when none is left. 409 on the page
    when the lead was decided meanwhile."""
    caller = person.caller()
    require_role(caller, EXAMINER, action="confirming or rejecting links")
    status = "confirmed" if decision == "confirm" else "rejected"
    filters = _queue(queue)
    try:
        with service.store.transaction(write=True) as session:
            link = repository.get_link(session, link_id, for_update=True)
            link = repository.set_link_status(
                session,
                link,
                status,
                by_agency=repository.get_agency(session, caller.name),
                comment=comment.strip() or None,
                method=method,
                expected_status=expected_status,
                actor=person.actor,
            )
            decided = decision_name(link.status, link.decision_method)
            following = next_lead(session, person, filters)
    except ConflictError:
        return _link_view(
            request,
            service,
            person,
            link_id,
            queue=filters.query_string(),
            message="conflict",
            status_code=409,
        )
    if following is None:
        return RedirectResponse(f"/ui/leads?{filters.query_string()}&done=1", status_code=303)
    return RedirectResponse(
        f"/ui/links/{following}?queue={quote(filters.query_string(), safe='')}&decided={decided}",
        status_code=303,
    )


@router.get("/exhibits/{exhibit_id}/image.png")
def exhibit_image(service: Service, person: Person, exhibit_id: str) -> Response:
    """A mark's preview for the pages (the session's person, the sharing rule as the API's)."""
    caller = person.caller()
    with service.store.transaction(write=True) as session:
        exhibit = load_exhibit(session, exhibit_id)
        check_can_see_images(caller, exhibit)
        mark = repository.get_mark(session, exhibit)
        label = f"{exhibit.exhibit_id} - {exhibit.agency.name} ({exhibit.agency.country})"
        kind = exhibit.kind
        audit_read(
            session,
            caller,
            "exhibit.image",
            object_type="exhibit",
            object_id=exhibit_id,
            details={"person": person.actor},
        )
    return Response(
        content=exhibit_preview_png(kind, mark, title=label),
        media_type="image/png",
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/links/{link_id}/overlay.png")
def link_overlay(service: Service, person: Person, link_id: str) -> Response:
    """The lead's two marks registered side by side (the congruent cells for casings, the
    aligned land signatures for bullets), drawn, cached and audited as
    ``GET /v1/compare/{a}/{b}/overlay.png`` does (the audit line also names the person);
    403 when either mark may not be shown."""
    caller = person.caller()
    with service.store.transaction(write=True) as session:
        sides = _readable_sides(caller, repository.get_link(session, link_id))
        for side in sides:
            check_can_see_images(caller, side)
        first, second = (side.public_id for side in sides)
    answer = compare.overlay_answer(
        first, second, service, caller, audit_details={"person": person.actor}
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer

"""``/v1/links``: possible links between cases, and the examiners' decisions on them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query

from api.store import repository
from api.store.models import Link
from api.web.access import EXAMINER, CurrentCaller, Service, require_role
from api.web.routes._common import AUTH_ERRORS, BAD_BODY, NOT_FOUND, audit_read
from api.web.schemas import Decision, LinkPublic, Links

router = APIRouter(prefix="/v1/links", tags=["links"])


def link_public(link: Link) -> LinkPublic:
    """A link as ``GET /v1/links`` shows it: ``ballistics links``'s fields, the exhibits' public
    ids, the decision and where to see the overlay."""
    summary = repository.link_summary(link)
    return LinkPublic(
        **summary,
        exhibit_a_id=link.exhibit_a.public_id,
        exhibit_b_id=link.exhibit_b.public_id,
        decided_by=link.decided_by.name if link.decided_by is not None else None,
        decided_at=link.decided_at,
        comment=link.comment,
        overlay_url=(
            f"/v1/compare/{link.exhibit_a.public_id}/{link.exhibit_b.public_id}/overlay.png"
        ),
    )


@router.get("", response_model=Links, responses=AUTH_ERRORS, summary="Leads and hits")
def list_links(
    service: Service,
    caller: CurrentCaller,
    cross_border: Annotated[bool | None, Query(description="only links across borders")] = None,
    status_: Annotated[
        Literal["lead", "confirmed", "rejected"] | None,
        Query(alias="status", description="only links of this status"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> Links:
    """Links between exhibits of different cases, best score first. A lab sees the links of
    its own exhibits; examiners, investigators and admins see all."""
    with service.store.transaction(write=True) as session:
        # a lab sees the links of its own exhibits (filtered in the query, not after it)
        own = None if caller.sees_everything() else repository.get_agency(session, caller.name)
        links = repository.list_links(
            session, cross_border=cross_border, status=status_, agency=own, limit=limit
        )
        visible = [link_public(link) for link in links]
        audit_read(
            session,
            caller,
            "links.list",
            object_type="links",
            object_id="*",
            details={"cross_border": cross_border, "status": status_, "count": len(visible)},
        )
    return Links(links=visible)


def _decide(
    service: Service, caller: CurrentCaller, link_id: str, decision: str, comment: str
) -> LinkPublic:
    require_role(caller, EXAMINER, action="confirming or rejecting links")
    with service.store.transaction(write=True) as session:
        link = repository.get_link(session, link_id)
        agency = repository.get_agency(session, caller.name)
        if (
            link.status == decision
            and link.decided_by_pk == agency.id
            and ((link.comment or "") == comment)
        ):
            return link_public(link)  # the same decision again changes nothing
        repository.set_link_status(
            session, link, decision, by_agency=agency, comment=comment or None
        )
        return link_public(repository.get_link(session, link_id))


DECISION_ERRORS = {**AUTH_ERRORS, **BAD_BODY, **NOT_FOUND, 422: {"description": "invalid body"}}


@router.post(
    "/{link_id}/confirm",
    response_model=LinkPublic,
    responses=DECISION_ERRORS,
    summary="Confirm a lead as a hit (examiners)",
)
def confirm_link(
    link_id: str,
    service: Service,
    caller: CurrentCaller,
    decision: Annotated[Decision | None, Body()] = None,
) -> LinkPublic:
    """An examiner confirms the two exhibits were fired by one firearm: their cases are linked
    (``GET /v1/cases/{case_id}/linked``). Recorded in the audit log with the comment."""
    return _decide(service, caller, link_id, "confirmed", (decision or Decision()).comment)


@router.post(
    "/{link_id}/reject",
    response_model=LinkPublic,
    responses=DECISION_ERRORS,
    summary="Reject a lead (examiners)",
)
def reject_link(
    link_id: str,
    service: Service,
    caller: CurrentCaller,
    decision: Annotated[Decision | None, Body()] = None,
) -> LinkPublic:
    """An examiner rejects the lead; the engine never turns it back into a lead."""
    return _decide(service, caller, link_id, "rejected", (decision or Decision()).comment)

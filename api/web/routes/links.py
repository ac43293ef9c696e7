"""``/v1/links``: possible links between cases, and the examiners' decisions on them."""

from __future__ import annotations

from typing import Annotated, Literal, cast

from fastapi import APIRouter, Body, Query

from api.store import repository
from api.store.models import Link
from api.web.access import EXAMINER, CurrentCaller, Service, require_role
from api.web.routes._common import AUTH_ERRORS, BAD_BODY, NOT_FOUND, audit_read
from api.web.schemas import Decision, DecisionMethod, LinkPublic, Links

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
        # the database's check constraint holds it to the methods; the schema checks it again
        decision_method=cast(DecisionMethod | None, link.decision_method),
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
    service: Service, caller: CurrentCaller, link_id: str, status: str, decision: Decision
) -> LinkPublic:
    require_role(caller, EXAMINER, action="confirming or rejecting links")
    with service.store.transaction(write=True) as session:
        # locked before its status is read: concurrent decisions on one link take turns, so
        # the "same decision again" test and the audit line's previous_status stay true
        link = repository.get_link(session, link_id, for_update=True)
        agency = repository.get_agency(session, caller.name)
        repeat = (
            link.status == status
            and link.decided_by_pk == agency.id
            and (link.comment or "") == decision.comment
            and link.decision_method == decision.method
        )
        if repeat and decision.expected_status in (None, status):
            # the same decision again (a retried request) changes nothing
            return link_public(link)
        repository.set_link_status(
            session,
            link,
            status,
            by_agency=agency,
            comment=decision.comment or None,
            method=decision.method,
            expected_status=decision.expected_status,
        )
        return link_public(repository.get_link(session, link_id))


DECISION_ERRORS = {
    **AUTH_ERRORS,
    **BAD_BODY,
    **NOT_FOUND,
    409: {"description": "expected_status was given and the link's status is another"},
    422: {"description": "invalid body"},
}


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
    """An examiner confirms the lead as a hit after examining the pair (``method``): their
    cases are linked (``GET /v1/cases/{case_id}/linked``). Recorded in the audit log with the
    comment, the method and the status it replaced; with ``expected_status``, 409 when the link
    was decided meanwhile."""
    return _decide(service, caller, link_id, "confirmed", decision or Decision())


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
    """An examiner rejects the lead; the engine never turns it back into a lead. Recorded as a
    confirmation is; with ``expected_status``, 409 when the link was decided meanwhile."""
    return _decide(service, caller, link_id, "rejected", decision or Decision())

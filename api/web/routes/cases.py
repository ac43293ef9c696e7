"""``/v1/cases/{case_id}/linked``: the incidents one firearm connects, across borders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.store import repository
from api.store.models import Case
from api.web.access import CurrentCaller, Service, case_owner
from api.web.routes._common import AUTH_ERRORS, NOT_FOUND, audit_read
from api.web.schemas import LinkedCase, LinkedCases

router = APIRouter(prefix="/v1/cases", tags=["cases"])


def _linked_case(case: Case) -> LinkedCase:
    return LinkedCase(
        case_id=case.case_id,
        agency=case.agency.name,
        country=case.agency.country,
        occurred_on=case.occurred_on,
    )


@router.get(
    # ``path``: a case id may hold slashes (``NL/2026/17``)
    "/{case_id:path}/linked",
    response_model=LinkedCases,
    responses={**AUTH_ERRORS, **NOT_FOUND},
    summary="Incidents linked to a case through confirmed hits, transitively",
)
def linked_cases(
    case_id: str,
    service: Service,
    caller: CurrentCaller,
    agency: Annotated[
        str | None,
        Query(
            max_length=200,
            description="the agency whose case it is (default: the caller's); a lab may only "
            "ask about its own cases",
        ),
    ] = None,
) -> LinkedCases:
    """Every case reachable from this one through links an examiner confirmed (leads and
    rejected links do not connect cases): the series of crimes committed with one firearm."""
    owner = case_owner(caller, case_id, agency)
    with service.store.transaction(write=True) as session:
        owning = repository.get_agency(session, owner)
        case = repository.get_case(session, owning, case_id)
        linked = repository.linked_cases(session, case)
        answer = LinkedCases(
            case=_linked_case(case), cases=[_linked_case(other) for other in linked]
        )
        audit_read(
            session,
            caller,
            "case.linked",
            object_type="case",
            object_id=case.public_id,
            details={"case_id": case_id, "agency": owner, "linked": len(linked)},
        )
    return answer

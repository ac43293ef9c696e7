"""The administrator's pages: the network's agencies, their API keys and revocation.

Admins only: anyone else is refused with 403, kept in the audit log as ``access.denied``. Every
form carries the session's CSRF token and every change is audited naming the person. A new API
key is shown once, on the answer to the form that made it; the list never shows keys. The
people's page is :mod:`api.web.ui.admin_people`, the audit log's :mod:`api.web.ui.admin_audit`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store import repository
from api.store.errors import ConflictError, NotFoundError
from api.store.models import ROLES, Agency
from api.web.access import ADMIN, Service, require_role
from api.web.sessions import SignedIn, check_csrf, require_person
from api.web.ui.rendering import render

router = APIRouter(prefix="/ui/admin", tags=["ui"], include_in_schema=False)


def require_admin(person: Annotated[SignedIn, Depends(require_person)]) -> SignedIn:
    """FastAPI dependency of the admin pages: the person, if an admin (403, audited, if not)."""
    require_role(person.caller(), ADMIN, action="administering the network")
    return person


Admin = Annotated[SignedIn, Depends(require_admin)]
#: the roles offered by the forms, in this order
ROLE_CHOICES = tuple(role for role in ("lab", "examiner", "investigator", "admin") if role in ROLES)


def refusal_text(error: Exception) -> str:
    """A store's refusal on one line (its messages name the field and say how to fix it)."""
    return " ".join(str(error).split())


def agency_by_public_id(session: Session, public_id: str) -> Agency:
    """The agency of public id ``public_id`` (NotFoundError: 404)."""
    agency = session.scalar(select(Agency).where(Agency.public_id == public_id))
    if agency is None:
        raise NotFoundError("agency", public_id)
    return agency


def _agency_row(agency: Agency) -> dict[str, Any]:
    # never the key, nor its hash
    return {
        "id": agency.public_id,
        "name": agency.name,
        "country": agency.country,
        "role": agency.role,
        "created_at": agency.created_at,
        "revoked_at": agency.disabled_at,
    }


def _agencies_page(
    request: Request,
    service: Service,
    person: SignedIn,
    *,
    refusal: str = "",
    done: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with service.store.transaction() as session:
        rows = [_agency_row(agency) for agency in repository.list_agencies(session)]
    return render(
        request,
        "admin_agencies.html",
        person=person,
        rows=rows,
        roles=ROLE_CHOICES,
        refusal=refusal,
        done=done,
        form=form or {"name": "", "country": "", "role": "lab"},
        status_code=status_code,
    )


@router.get("/agencies")
def agencies_page(request: Request, service: Service, person: Admin) -> Response:
    """The agencies (name, country, role, created, active or revoked; never their keys)."""
    return _agencies_page(request, service, person, done=request.query_params.get("done", ""))


def _key_page(
    request: Request, person: SignedIn, agency: Agency, key: str, *, new: bool
) -> Response:
    return render(
        request,
        "admin_key.html",
        person=person,
        agency=_agency_row(agency),
        api_key=key,
        new=new,
        status_code=201 if new else 200,
    )


@router.post("/agencies", dependencies=[Depends(check_csrf)])
def add_agency(
    request: Request,
    service: Service,
    person: Admin,
    name: Annotated[str, Form(max_length=200)],
    country: Annotated[str, Form(max_length=8)],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    """Register an agency and show its first API key, once."""
    form = {"name": name, "country": country, "role": role}
    try:
        with service.store.transaction(write=True) as session:
            if session.scalar(select(Agency).where(Agency.name == name.strip())) is not None:
                raise ConflictError(f"an agency called {name.strip()!r} exists already.")
            agency = repository.get_or_create_agency(
                session, name, country=country, role=role, actor=person.actor
            )
            key = repository.issue_api_key(session, agency, actor=person.actor)
            page = _key_page(request, person, agency, key, new=True)
    except (ValueError, ConflictError) as refusal:
        return _agencies_page(
            request,
            service,
            person,
            refusal=refusal_text(refusal),
            form=form,
            status_code=409 if isinstance(refusal, ConflictError) else 422,
        )
    return page


@router.post("/agencies/{agency_id}/key", dependencies=[Depends(check_csrf)])
def new_key(request: Request, service: Service, person: Admin, agency_id: str) -> Response:
    """Give an agency a new API key (its previous one stops working) and show it, once."""
    try:
        with service.store.transaction(write=True) as session:
            agency = agency_by_public_id(session, agency_id)
            key = repository.issue_api_key(session, agency, actor=person.actor)
            page = _key_page(request, person, agency, key, new=False)
    except ConflictError as refusal:
        return _agencies_page(
            request, service, person, refusal=refusal_text(refusal), status_code=409
        )
    return page


@router.post("/agencies/{agency_id}/revoke", dependencies=[Depends(check_csrf)])
def revoke(
    request: Request,
    service: Service,
    person: Admin,
    agency_id: str,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Revoke an agency for good (its key and its people's sessions stop working), once the
    admin ticked the confirmation; an admin does not revoke their own agency here."""
    with service.store.transaction(write=True) as session:
        agency = agency_by_public_id(session, agency_id)
        name = agency.name
        if confirm != "yes":
            refusal = "not-confirmed"
        elif agency.id == person.agency_pk:
            refusal = "own-agency"
        else:
            refusal = ""
            repository.revoke_agency(session, name, actor=person.actor)
    if refusal:
        status_code = 409 if refusal == "own-agency" else 422
        return _agencies_page(request, service, person, refusal=refusal, status_code=status_code)
    return _agencies_page(request, service, person, done="revoked")

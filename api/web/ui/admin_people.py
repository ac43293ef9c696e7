"""The administrator's page of people: who may sign in, under which agency, in which role.

An admin creates a person under an active agency with an initial password they type (at least
:data:`~api.store.repository.people.MIN_PASSWORD_LENGTH` characters), and disables a person:
their open sessions end at once. Both are audited naming the admin.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from api.store import repository
from api.store.errors import ConflictError
from api.store.models import User
from api.store.repository.people import MIN_PASSWORD_LENGTH, disable_user, get_user
from api.web.access import Service
from api.web.sessions import SignedIn, check_csrf
from api.web.ui.admin_agencies import ROLE_CHOICES, Admin, agency_by_public_id, refusal_text
from api.web.ui.rendering import render

router = APIRouter(prefix="/ui/admin", tags=["ui"], include_in_schema=False)


def _person_row(user: User) -> dict[str, Any]:
    return {
        "id": user.public_id,
        "email": user.email,
        "name": user.display_name,
        "agency": user.agency.name,
        "country": user.agency.country,
        "role": user.role,
        "created_at": user.created_at,
        "disabled_at": user.disabled_at,
        "language": user.language or "",
    }


def _people_page(
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
        rows = [_person_row(user) for user in repository.list_users(session)]
        agencies = [
            {"id": agency.public_id, "name": agency.name, "country": agency.country}
            for agency in repository.list_agencies(session)
            if agency.disabled_at is None
        ]
    return render(
        request,
        "admin_users.html",
        person=person,
        rows=rows,
        agencies=agencies,
        roles=ROLE_CHOICES,
        min_password=MIN_PASSWORD_LENGTH,
        refusal=refusal,
        done=done,
        form=form or {"agency": "", "email": "", "name": "", "role": "lab"},
        status_code=status_code,
    )


@router.get("/users")
def people_page(
    request: Request,
    service: Service,
    person: Admin,
    done: Literal["", "added", "disabled"] = "",
) -> Response:
    """The people (email, name, agency, role, created, active or disabled, language)."""
    return _people_page(request, service, person, done=done)


@router.post("/users", dependencies=[Depends(check_csrf)])
def add_person(
    request: Request,
    service: Service,
    person: Admin,
    agency: Annotated[str, Form(max_length=64)],
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1000)],
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create a person under an agency, with the initial password the admin typed."""
    form = {"agency": agency, "email": email, "name": display_name, "role": role}
    try:
        with service.store.transaction(write=True) as session:
            repository.create_user(
                session,
                agency_by_public_id(session, agency),
                email,
                role=role,
                password=password,
                display_name=display_name,
                actor=person.actor,
            )
    except (ValueError, ConflictError) as refusal:
        return _people_page(
            request,
            service,
            person,
            refusal=refusal_text(refusal),
            form=form,
            status_code=409 if isinstance(refusal, ConflictError) else 422,
        )
    return RedirectResponse("/ui/admin/users?done=added", status_code=303)


@router.post("/users/{person_id}/disable", dependencies=[Depends(check_csrf)])
def disable(request: Request, service: Service, person: Admin, person_id: str) -> Response:
    """Disable a person: they cannot sign in again and their open sessions end at once (an
    admin does not disable themselves)."""
    with service.store.transaction(write=True) as session:
        user = get_user(session, person_id)
        if user.id == person.person_id:
            refusal = "yourself"
        else:
            refusal = ""
            disable_user(session, user, actor=person.actor)
    if refusal:
        return _people_page(request, service, person, refusal=refusal, status_code=409)
    return RedirectResponse("/ui/admin/users?done=disabled", status_code=303)

"""The administrator's page of regions: groups of countries, each a scope of the examiner's queue.

Admins only (403, audited as ``access.denied``, for anyone else). An admin defines a region by a
name and its countries' ISO 3166-1 alpha-2 codes, changes its countries, and deletes it once
they ticked the confirmation. Every form carries the session's CSRF token and every change is
audited naming the person (:mod:`api.store.repository.regions`). Countries are shown with their
names in the reader's language (Babel's territory names).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from babel import Locale
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from api.store import repository
from api.store.errors import ConflictError, NotFoundError
from api.store.models import Region
from api.web.access import Service
from api.web.sessions import SignedIn, check_csrf
from api.web.ui.admin_agencies import Admin, refusal_text
from api.web.ui.i18n import choose_language
from api.web.ui.rendering import render

router = APIRouter(prefix="/ui/admin", tags=["ui"], include_in_schema=False)

_SEPARATORS = re.compile(r"[\s,;]+")


def parse_countries(text: str) -> list[str]:
    """The country codes of a form's text: separated by commas, semicolons or blanks."""
    return [code for code in _SEPARATORS.split(text) if code]


def country_names(language: str) -> dict[str, str]:
    """ISO 3166-1 alpha-2 codes and their names in ``language`` (Babel's territories)."""
    try:
        territories = Locale.parse(language).territories
    except ValueError:  # pragma: no cover - the station's languages are all known to Babel
        territories = Locale.parse("en").territories
    return {code: name for code, name in territories.items() if len(code) == 2}


def _region_row(region: Region, names: dict[str, str]) -> dict[str, Any]:
    return {
        "name": region.name,
        "countries": [(code, names.get(code, code)) for code in region.countries],
        "codes": ", ".join(region.countries),
        "created_at": region.created_at,
        "created_by": region.created_by,
    }


def _regions_page(
    request: Request,
    service: Service,
    person: SignedIn,
    *,
    refusal: str = "",
    done: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    names = country_names(choose_language(request, person))
    with service.store.transaction() as session:
        rows = [_region_row(region, names) for region in repository.list_regions(session)]
    return render(
        request,
        "admin_regions.html",
        person=person,
        rows=rows,
        refusal=refusal,
        done=done,
        form=form or {"name": "", "countries": ""},
        status_code=status_code,
    )


def _refused(
    request: Request,
    service: Service,
    person: SignedIn,
    refusal: Exception,
    form: dict[str, str] | None = None,
) -> Response:
    if isinstance(refusal, NotFoundError):
        status_code = 404
    elif isinstance(refusal, ConflictError):
        status_code = 409
    else:
        status_code = 422
    return _regions_page(
        request,
        service,
        person,
        refusal=refusal_text(refusal),
        form=form,
        status_code=status_code,
    )


@router.get("/regions")
def regions_page(
    request: Request,
    service: Service,
    person: Admin,
    done: Literal["", "added", "updated", "deleted"] = "",
) -> Response:
    """The regions: name, countries (with their names), created when and by whom."""
    return _regions_page(request, service, person, done=done)


@router.post("/regions", dependencies=[Depends(check_csrf)])
def add_region(
    request: Request,
    service: Service,
    person: Admin,
    name: Annotated[str, Form(max_length=200)],
    countries: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Define a region of countries."""
    try:
        with service.store.transaction(write=True) as session:
            repository.add_region(session, name, parse_countries(countries), actor=person.actor)
    except (ValueError, ConflictError) as refusal:
        form = {"name": name, "countries": countries}
        return _refused(request, service, person, refusal, form)
    return RedirectResponse("/ui/admin/regions?done=added", status_code=303)


@router.post("/regions/update", dependencies=[Depends(check_csrf)])
def update_region(
    request: Request,
    service: Service,
    person: Admin,
    region: Annotated[str, Form(max_length=200)],
    countries: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Replace a region's countries."""
    try:
        with service.store.transaction(write=True) as session:
            repository.set_region_countries(
                session, region, parse_countries(countries), actor=person.actor
            )
    except (ValueError, NotFoundError) as refusal:
        return _refused(request, service, person, refusal)
    return RedirectResponse("/ui/admin/regions?done=updated", status_code=303)


@router.post("/regions/delete", dependencies=[Depends(check_csrf)])
def delete_region(
    request: Request,
    service: Service,
    person: Admin,
    region: Annotated[str, Form(max_length=200)],
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Delete a region, once the admin ticked the confirmation (its queue scope goes with it)."""
    if confirm != "yes":
        return _regions_page(request, service, person, refusal="not-confirmed", status_code=422)
    try:
        with service.store.transaction(write=True) as session:
            repository.delete_region(session, region, actor=person.actor)
    except NotFoundError as refusal:
        return _refused(request, service, person, refusal)
    return RedirectResponse("/ui/admin/regions?done=deleted", status_code=303)

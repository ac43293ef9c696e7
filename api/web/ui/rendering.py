"""Pages rendered from the package's Jinja2 templates (autoescaped) in the reader's language."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError

from api.store import repository
from api.store.errors import StoreError
from api.web.access import ADMIN, EXAMINER, INVESTIGATOR, LAB
from api.web.sessions import SignedIn
from api.web.ui.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    choose_language,
    date_text,
    number_text,
    text_direction,
    translator,
)

#: the navigation of each role: (path, English label)
NAVIGATION: dict[str, tuple[tuple[str, str], ...]] = {
    LAB: (("/ui/", "Home"), ("/ui/exhibits/new", "Upload an exhibit"), ("/ui/leads", "Leads")),
    EXAMINER: (("/ui/", "Home"), ("/ui/leads", "Leads")),
    INVESTIGATOR: (("/ui/", "Home"), ("/ui/leads", "Leads")),
    ADMIN: (("/ui/", "Home"), ("/ui/leads", "Leads")),
}


def unread_notifications(request: Request, person: SignedIn | None) -> int:
    """How many of the person's agency's notifications are unread (0 signed out, or when the
    store cannot say: an error page still renders)."""
    app = request.scope.get("app")
    service = getattr(getattr(app, "state", None), "service", None)
    if person is None or service is None:
        return 0
    try:
        with service.store.transaction() as session:
            return repository.count_unread_notifications(session, person.agency_pk)
    except (SQLAlchemyError, StoreError):
        return 0


@functools.cache
def environment() -> Environment:
    """The templates' environment (built once, on first use)."""
    return Environment(
        loader=PackageLoader("api.web.ui", "templates"),
        autoescape=select_autoescape(["html", "svg"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    request: Request,
    template: str,
    *,
    person: SignedIn | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` for ``person`` (None: signed out), in their language."""
    language = choose_language(request, person)
    # the sign-in page's form carries the pre-session token; every other page the session's
    form_token = context.pop("csrf_token", "")
    if person is not None:
        form_token = person.csrf_token
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = (
        environment()
        .get_template(template)
        .render(
            _=translator(language),
            lang=language,
            dir=text_direction(language),
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            person=person,
            navigation=NAVIGATION.get(person.role, ()) if person is not None else (),
            unread_notifications=context.pop("unread_notifications", None)
            or unread_notifications(request, person),
            csrf_token=form_token,
            here=path,
            date=lambda value: date_text(value, language),
            number=lambda value, digits=1: number_text(value, language, digits=digits),
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)

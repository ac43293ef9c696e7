"""The sign-in page and the home page (the sign-in form posts to :mod:`api.web.ui.auth`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.web.sessions import SignedIn, login_csrf_token, require_person, signed_in
from api.web.ui.i18n import local_path
from api.web.ui.rendering import render

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)


@router.get("/login")
async def login_page(
    request: Request,
    error: Annotated[str | None, Query(max_length=8)] = None,
    next_: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> Response:
    """The sign-in form, with the refusal's line after a failed attempt."""
    person = await run_in_threadpool(signed_in, request)
    if person is not None:
        return RedirectResponse(local_path(next_), status_code=303)
    # the token goes in the form and in its cookie (double submit: there is no session yet)
    cookies = Response()
    token = login_csrf_token(request, cookies)
    page = render(
        request,
        "login.html",
        person=None,
        csrf_token=token,
        error=bool(error),
        next=local_path(next_),
    )
    page.raw_headers.extend(
        (name, value) for name, value in cookies.raw_headers if name == b"set-cookie"
    )
    return page


@router.get("/")
def home_page(request: Request, person: Annotated[SignedIn, Depends(require_person)]) -> Response:
    """What the signed-in person can do here, by role."""
    return render(request, "home.html", person=person)

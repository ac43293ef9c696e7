"""Signing in and out of the review station: ``POST /ui/login`` and ``POST /ui/logout``.

Neither renders a page: both answer 303, to where the person was going (a local ``/ui`` path
only, so that a link cannot send a person elsewhere after signing in) or back to the sign-in
page (``GET /ui/login``, :mod:`api.web.ui.pages`), which shows the refusal.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import RedirectResponse

from api.web.access import Service
from api.web.sessions import SignInRefused, check_csrf, check_login_csrf, sign_in, sign_out

router = APIRouter(prefix="/ui", include_in_schema=False)

HOME = "/ui/"


def local_path(target: str | None) -> str:
    """Return ``target`` if it is a path of the pages (``/ui`` or under it), else ``/ui/``."""
    if not target or any(character in target for character in "\\\r\n\t\x00"):
        return HOME
    if target != "/ui" and not target.startswith(("/ui/", "/ui?")):
        return HOME
    return target


@router.post("/login")
def login(
    request: Request,
    service: Service,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> RedirectResponse:
    """Sign in: 303 to ``next`` with the session cookie, or back to the sign-in page."""
    check_login_csrf(request, csrf_token)
    target = local_path(next)
    answer = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    try:
        sign_in(service, request, answer, email=email, password=password)
    except SignInRefused:
        query = urlencode({"error": "1", "next": target})
        return RedirectResponse(f"/ui/login?{query}", status.HTTP_303_SEE_OTHER)
    return answer


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, service: Service) -> RedirectResponse:
    """Sign out: the session is revoked and its cookie cleared; 303 to the sign-in page."""
    answer = RedirectResponse("/ui/login", status.HTTP_303_SEE_OTHER)
    sign_out(service, request, answer)
    return answer

"""Errors inside the review station's pages answered as pages, in the reader's language.

The API's handlers (:func:`api.web.errors.install_error_handlers`) stay the only ones: each
refusal goes through its handler first, so a 403 of :class:`api.web.access.AccessDenied` is
still kept as an ``access.denied`` audit line; for a request under ``/ui/`` its JSON answer is
then replaced by a short page with the status, what it means and a link home. ``/v1/`` and
every other path keep the JSON answer.

An unexpected error (500) is handled the same way: the API's handler logs its traceback under an
incident id, and a ``/ui/`` reader gets the page naming that id (its headers added here: the
sessions' middleware, inside the handler of unexpected errors, never sees that answer). Should
the page itself fail to render, the API's answer stands.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.store.errors import NotFoundError
from api.web.access import AccessDenied
from api.web.sessions import SECURITY_HEADERS, signed_in
from api.web.ui.rendering import render

logger = logging.getLogger(__name__)

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

#: the errors a page may raise that the API answers as JSON
PAGE_ERRORS: tuple[type[Exception], ...] = (
    NotFoundError,
    AccessDenied,
    StarletteHTTPException,
    RequestValidationError,
)
#: the answer's headers a page keeps (``Allow`` of a 405...); its type and length are the page's
_KEPT_HEADERS = frozenset({b"allow", b"retry-after"})


def is_page(request: Request) -> bool:
    """Whether ``request`` asked for a page of the review station (not ``/v1/``)."""
    return request.url.path == "/ui" or request.url.path.startswith("/ui/")


def cause(status_code: int, error: Exception) -> str:
    """What the error page says (error.html words it in the reader's language)."""
    if status_code == 404:
        return "not_found"
    if isinstance(error, AccessDenied):
        return "denied"
    if status_code == 403:
        return "refused"
    if status_code in (400, 422):
        return "not_understood"
    if status_code >= 500:
        return "internal"
    return "other"


def _as_page(api_handler: Handler) -> Handler:
    async def handler(request: Request, error: Exception) -> Response:
        answer = api_handler(request, error)
        if inspect.isawaitable(answer):
            answer = await answer
        assert isinstance(answer, Response)
        if not is_page(request) or answer.status_code < 400:
            return answer
        try:
            person = await run_in_threadpool(signed_in, request)
            page = render(
                request,
                "error.html",
                person=person,
                status_code=answer.status_code,
                cause=cause(answer.status_code, error),
                incident=getattr(request.state, "incident", None),
            )
        except Exception:  # the page is a courtesy: the API's answer still says what happened
            logger.exception("the error page of %s could not be drawn", request.url.path)
            return answer
        page.raw_headers.extend(
            (name, value) for name, value in answer.raw_headers if name in _KEPT_HEADERS
        )
        for name, value in SECURITY_HEADERS.items():
            page.headers[name] = value
        return page

    return handler


def install_error_pages(app: FastAPI) -> None:
    """Answer the page errors of ``/ui/``, unexpected ones included, as pages through the
    handlers already installed (call it after :func:`api.web.errors.install_error_handlers`)."""
    for kind in (*PAGE_ERRORS, Exception):
        api_handler = app.exception_handlers.get(kind)
        if api_handler is None:  # pragma: no cover - FastAPI and the API install them all
            continue
        app.add_exception_handler(kind, _as_page(api_handler))

"""Errors as JSON ``{"detail": ...}`` with the status the contract names, and the request guards.

Messages meant for the client (the engine's :class:`ballistics.errors.EvidenceError`, the
store's not-found and conflict errors, refusals) are answered as they are; any other exception
is an internal error: the client gets a generic 500 with an incident id, the server's log the
same id with the traceback, so that no internal text (paths, SQL, library messages) leaks.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request, params, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.store.errors import ConflictError, NotFoundError
from api.web.access import AccessDenied, record_denial
from ballistics.errors import EvidenceError, LimitExceededError, UnreadableFileError
from ballistics.items import KindNotAvailableError

logger = logging.getLogger(__name__)


def _too_large(limit_bytes: int) -> str:
    return (
        f"upload larger than the limit of {limit_bytes / 1048576:.0f} MiB "
        "(BALLISTICS_MAX_UPLOAD_MB); send a smaller file"
    )


class BodySizeLimit:
    """Refuse request bodies over ``limit_bytes`` with 413, before or while they are read.

    A declared ``Content-Length`` over the limit is refused before a byte is read; a body sent
    without one (chunked) is counted as it arrives and cut when it passes the limit (the
    application sees a disconnected client and stores nothing), so a client cannot fill the disk
    with a multipart upload.
    """

    def __init__(self, app: ASGIApp, *, limit_bytes: int) -> None:
        self.app = app
        self.limit_bytes = limit_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit_bytes:
                    await JSONResponse(
                        {"detail": _too_large(self.limit_bytes)},
                        status_code=413,
                        headers={"Connection": "close"},
                    )(scope, receive, send)
                    return
        received = 0
        exceeded = False
        answered = False

        async def counted() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit_bytes:
                    # stop reading: the application sees the client go away
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal answered
            if not exceeded:
                await send(message)
                return
            # whatever the application answers to the cut body, the client gets the 413
            if not answered:
                answered = True
                await JSONResponse(
                    {"detail": _too_large(self.limit_bytes)},
                    status_code=413,
                    headers={"Connection": "close"},
                )(scope, counted, send)

        await self.app(scope, counted, guarded)


def _nul_message(where: str) -> str:
    return (
        f"{where} holds a NUL character (\\x00, %00); ids, names and comments never contain "
        "one: remove it"
    )


_WHERE = {"path": "path parameter", "query": "query parameter", "body": "field"}


def _nul_error(location: tuple[str | int, ...]) -> dict[str, Any]:
    """One validation error in FastAPI's shape (``loc``, ``msg``, ``type``) for a NUL."""
    name = ".".join(str(part) for part in location[1:])
    where = f"{_WHERE.get(str(location[0]), location[0])} {name!r}"
    return {"type": "nul_character", "loc": list(location), "msg": _nul_message(where)}


def _nul_locations(value: Any, location: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if "\x00" in value:
            yield location
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                yield (*location, str(key).replace("\x00", ""))
            yield from _nul_locations(item, (*location, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_locations(item, (*location, index))


async def refuse_nul_characters(request: Request) -> None:
    """Answer 422 when a path or query parameter, a form field or a JSON string holds a NUL.

    No id, name or comment holds one, and PostgreSQL refuses NUL in text (a DataError, which
    would be a 500), so it is refused once here, naming the parameter, before any route or the
    database sees it. An application-wide dependency: it runs before the routes' own
    dependencies, and FastAPI has parsed the route's body before any dependency runs and keeps
    what it parsed on the request, so nothing is read or parsed twice; a route without a body
    is not looked at for one (its body is never read).
    """
    found = next(_nul_locations(dict(request.path_params), ("path",)), None)
    if found is None:
        query = {name: value for name, value in request.query_params.multi_items()}
        found = next(_nul_locations(query, ("query",)), None)
    if found is None:
        found = await _nul_in_body(request)
    if found is not None:
        raise RequestValidationError([_nul_error(found)])


async def _nul_in_body(request: Request) -> tuple[str | int, ...] | None:
    body_field = getattr(request.scope.get("route"), "body_field", None)
    if body_field is None:
        return None
    if isinstance(body_field.field_info, params.Form):
        form = await request.form()  # the form the route parsed (Starlette keeps it)
        fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
        return next(_nul_locations(fields, ("body",)), None)
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type or not await request.body():
        return None
    return next(_nul_locations(await request.json(), ("body",)), None)


def _json(status_code: int, detail: Any) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code)


def install_error_handlers(app: FastAPI) -> None:
    """Map the engine's and the store's errors to the contract's statuses; anything else 500."""

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, error: NotFoundError) -> JSONResponse:
        return _json(status.HTTP_404_NOT_FOUND, str(error))

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, error: ConflictError) -> JSONResponse:
        return _json(status.HTTP_409_CONFLICT, " ".join(str(error).split()))

    @app.exception_handler(LimitExceededError)
    async def limit_exceeded(request: Request, error: LimitExceededError) -> JSONResponse:
        return _json(413, str(error))

    @app.exception_handler(UnreadableFileError)
    async def unreadable(request: Request, error: UnreadableFileError) -> JSONResponse:
        return _json(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(error))

    @app.exception_handler(KindNotAvailableError)
    async def kind_not_available(request: Request, error: KindNotAvailableError) -> JSONResponse:
        return _json(422, str(error))

    @app.exception_handler(EvidenceError)
    async def unusable(request: Request, error: EvidenceError) -> JSONResponse:
        # the engine's own errors name the file or field and say how to fix it: for the client
        return _json(422, " ".join(str(error).split()))

    @app.exception_handler(AccessDenied)
    async def access_denied(request: Request, error: AccessDenied) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", request.url.path)
        try:
            await run_in_threadpool(
                record_denial,
                request.app.state.service,
                error.caller,
                object_type=error.object_type,
                object_id=error.object_id or request.url.path,
                route=f"{request.method} {route}",
                reason=str(error.detail),
                details=error.details,
            )
        except Exception:
            # the refusal stands even when it cannot be recorded; the log says so
            logger.exception(
                "could not record access.denied for %s on %s", error.caller.name, request.url.path
            )
        return _json(status.HTTP_403_FORBIDDEN, error.detail)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        # a plain ValueError, KeyError... from deep inside: its text is not for the client
        incident = secrets.token_hex(6)
        # for the review station's error page, which names the same id (api.web.ui.error_pages)
        request.state.incident = incident
        logger.error(
            "internal error %s on %s %s",
            incident,
            request.method,
            request.url.path,
            exc_info=error,
        )
        return _json(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            f"internal error (id {incident}); it was logged on the server with this id: give "
            "the id to your network's administrator. Nothing partial was stored.",
        )

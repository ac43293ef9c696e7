"""Errors as JSON ``{"detail": ...}`` with the status the contract names, and the body limit."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.pairs import KindNotAvailableError
from api.store.errors import ConflictError, NotFoundError
from ballistics.errors import EvidenceError, LimitExceededError, UnreadableFileError

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


def _json(status_code: int, detail: Any) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code)


def install_error_handlers(app: FastAPI) -> None:
    """Map the engine's and the store's errors to the contract's statuses."""

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
        return _json(422, str(error))

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, error: ValueError) -> JSONResponse:
        return _json(422, " ".join(str(error).split()))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return _json(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            "internal error; it was logged on the server. Nothing partial was stored.",
        )

"""Who may do what: API keys resolved to agencies, role rules and the sharing rule.

Every route but ``/v1/health`` needs ``X-API-Key``; the key is hashed and looked up
(:func:`api.store.repository.agency_for_api_key`), never stored or logged in clear, by
:class:`RequireApiKey` before the request's body is read. A revoked agency's key is refused.
Every 403 to a known key is kept in the audit log as an ``access.denied`` line.

Roles (``ballistics agency add --role``):

========================  =====  ========  ============  =====
action                    lab    examiner  investigator  admin
========================  =====  ========  ============  =====
upload an exhibit         yes    no        no            no
search without storing    yes    yes       no            yes
read an exhibit           all*   all*      all*          all*
see an exhibit's images   own+shared (every role)
candidates of an exhibit  own    all       all           all
list links                own    all       all           all
confirm / reject a link   no     yes       no            no
linked incidents of case  own    all       all           all
read the audit log        no     no        no            yes
========================  =====  ========  ============  =====

"own": the exhibits, links and cases of the caller's agency (a link is a lab's when one of its
exhibits is one side). "all*": every agency reads any exhibit's references (agency, country,
case, exhibit id, kind, calibre, status); only the uploading agency gets its digests, files,
metadata and job. The sharing rule, as IBIN shares with consent: an exhibit's images (the
preview and the comparison overlay) are shown to an agency other than the one that uploaded it
only when it was uploaded as ``shared``; otherwise others see what a link needs (agency, country,
case and exhibit references, scores) and nothing of the mark.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from api.service.core import EvidenceService
from api.store import repository
from api.store.errors import NotFoundError
from api.store.models import Exhibit

logger = logging.getLogger(__name__)

LAB, EXAMINER, INVESTIGATOR, ADMIN = "lab", "examiner", "investigator", "admin"

#: where :class:`RequireApiKey` leaves the resolved caller in ``scope["state"]``
CALLER_STATE_KEY = "caller"
#: the audit action of every refusal of a known key (403)
ACCESS_DENIED = "access.denied"

_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="The agency's key, printed once by `ballistics agency add`.",
)
_AUTHENTICATE = {"WWW-Authenticate": "API-Key"}


@dataclass(frozen=True)
class Caller:
    """The agency behind a request's API key."""

    agency_pk: int
    name: str
    country: str
    role: str

    def owns(self, exhibit: Exhibit) -> bool:
        """Whether ``exhibit`` was uploaded by this agency."""
        return exhibit.agency_pk == self.agency_pk

    def sees_everything(self) -> bool:
        """Examiners, investigators and admins read every exhibit's references and links."""
        return self.role in (EXAMINER, INVESTIGATOR, ADMIN)


class AccessDenied(HTTPException):
    """403 for a known caller; the application records it as an ``access.denied`` audit line.

    The line is written by the error handler (:func:`api.web.errors.install_error_handlers`) in
    a transaction of its own, after the route's transaction was rolled back, so that it is kept.

    Parameters
    ----------
    caller
        Who was refused.
    detail
        Why, phrased for the caller (the answer's ``detail`` and the line's ``reason``).
    object_type, object_id
        What was refused: ``"exhibit"`` and its public id...; ``"route"`` and None (the request's
        path) when the role alone forbids the action.
    details
        Further facts for the audit line.
    """

    def __init__(
        self,
        caller: Caller,
        detail: str,
        *,
        object_type: str = "route",
        object_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, detail)
        self.caller = caller
        self.object_type = object_type
        self.object_id = object_id
        self.details = dict(details or {})


def get_service(request: Request) -> EvidenceService:
    """The application's open service (set up in the lifespan)."""
    return request.app.state.service


Service = Annotated[EvidenceService, Depends(get_service)]


def caller_for_api_key(service: EvidenceService, api_key: str | None) -> Caller:
    """Resolve an ``X-API-Key`` value to the calling agency, or raise HTTPException 401.

    Blocking (one indexed query): call it from a thread in asynchronous code.
    """
    if not api_key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing X-API-Key header; ask your network's administrator for an agency key",
            headers=_AUTHENTICATE,
        )
    with service.store.transaction() as session:
        try:
            agency = repository.agency_for_api_key(session, api_key)
        except NotFoundError:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown or revoked API key; check the X-API-Key header, or ask your network's "
                "administrator for a new key",
                headers=_AUTHENTICATE,
            ) from None
        return Caller(
            agency_pk=agency.id, name=agency.name, country=agency.country, role=agency.role
        )


def get_caller(
    request: Request,
    service: Service,
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Caller:
    """The calling agency: the one :class:`RequireApiKey` resolved, or ``X-API-Key``'s (401)."""
    resolved = request.scope.get("state", {}).get(CALLER_STATE_KEY)
    if isinstance(resolved, Caller):
        return resolved
    # an application assembled without the middleware still checks the key, only later
    return caller_for_api_key(service, api_key)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


#: paths only an admin's key opens (``/metrics``, when the application serves it)
ADMIN_PATHS = frozenset({"/metrics"})


def needs_api_key(path: str) -> bool:
    """Whether a request to ``path`` must carry an agency's key (CONTRACT "Credentials")."""
    return (path.startswith("/v1/") and path != "/v1/health") or path in ADMIN_PATHS


class RequireApiKey:
    """Answer 401 to a request without a valid ``X-API-Key`` before a byte of its body is read.

    FastAPI reads and parses a route's body (JSON, multipart form) before it resolves the
    route's dependencies, so a key checked only there lets anyone make the server parse a large
    body. This middleware runs first: for every path that needs a key (:func:`needs_api_key`)
    it looks the key up (in a thread: the lookup blocks on the database) and leaves the caller
    in ``scope["state"]`` for :func:`get_caller`; paths that need no key (``/v1/health``, the
    documentation, ``/ui/`` with its own sessions) pass untouched. ``/metrics`` also needs the
    admin role (403, recorded as ``access.denied``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_api_key(scope["path"]):
            await self.app(scope, receive, send)
            return
        api_key = None
        for name, value in scope.get("headers", []):
            if name == b"x-api-key":
                api_key = value.decode("latin-1")
        service = scope["app"].state.service
        try:
            caller = await run_in_threadpool(caller_for_api_key, service, api_key)
        except HTTPException as refusal:
            headers = dict(refusal.headers or {})
            if _announces_body(scope):
                # the body stays unread: the connection cannot be reused for another request
                headers["Connection"] = "close"
            await JSONResponse(
                {"detail": refusal.detail}, status_code=refusal.status_code, headers=headers
            )(scope, receive, send)
            return
        if scope["path"] in ADMIN_PATHS and caller.role != ADMIN:
            reason = (
                f"{scope['path']} needs the admin role; {caller.name} is registered as "
                f"{caller.role}"
            )
            route = f"{scope['method']} {scope['path']}"
            await run_in_threadpool(
                record_denial,
                service,
                caller,
                object_type="route",
                object_id=scope["path"],
                route=route,
                reason=reason,
            )
            await JSONResponse({"detail": reason}, status_code=403)(scope, receive, send)
            return
        scope.setdefault("state", {})[CALLER_STATE_KEY] = caller
        await self.app(scope, receive, send)


def _announces_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def record_denial(
    service: EvidenceService,
    caller: Caller,
    *,
    object_type: str,
    object_id: str,
    route: str,
    reason: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append an ``access.denied`` line for ``caller`` in a short write transaction of its own.

    Its own transaction, so that the line is kept although the refused request's transaction
    is rolled back. Blocking: call it from a thread in asynchronous code.
    """
    with service.store.transaction(write=True) as session:
        repository.audit(
            session,
            caller.name,
            ACCESS_DENIED,
            object_type=object_type,
            object_id=object_id,
            details={"route": route, "reason": reason, "role": caller.role, **(details or {})},
        )


def require_role(caller: Caller, *roles: str, action: str) -> None:
    """Answer 403 (recorded as ``access.denied``) unless the caller has one of ``roles``."""
    if caller.role not in roles:
        allowed = " or ".join(roles)
        raise AccessDenied(
            caller,
            f"{action} needs the {allowed} role; {caller.name} is registered as {caller.role}",
        )


def case_owner(
    caller: Caller, case_id: str, agency: str | None, *, details: Mapping[str, Any] | None = None
) -> str:
    """The agency whose case ``case_id`` is asked about: ``agency``, else the caller's.

    Answers 403 (recorded as ``access.denied``) when a lab asks about another agency's case:
    labs follow their own cases; the other roles any agency's.
    """
    owner = agency or caller.name
    if owner != caller.name and caller.role == LAB:
        raise AccessDenied(
            caller,
            "a lab asks about its own cases; leave out the agency",
            object_type="case",
            object_id=case_id,
            details={"agency": owner, **(details or {})},
        )
    return owner


def check_can_read(caller: Caller, exhibit: Exhibit) -> None:
    """Answer 403 (recorded as ``access.denied``) when a lab asks about another agency's
    exhibit."""
    if not (caller.sees_everything() or caller.owns(exhibit)):
        raise AccessDenied(
            caller,
            f"exhibit {exhibit.public_id} belongs to another agency; a lab reads its own "
            "exhibits (links to others are listed under /v1/links)",
            object_type="exhibit",
            object_id=exhibit.public_id,
        )


def check_can_see_images(caller: Caller, exhibit: Exhibit) -> None:
    """Answer 403 (recorded as ``access.denied``) unless the exhibit is the caller's or was
    uploaded as shared."""
    if caller.owns(exhibit):
        return
    if not exhibit.shared:
        raise AccessDenied(
            caller,
            f"exhibit {exhibit.public_id} of {exhibit.agency.name} ({exhibit.agency.country}) "
            "was not shared: its images stay with that agency; ask it directly",
            object_type="exhibit",
            object_id=exhibit.public_id,
        )

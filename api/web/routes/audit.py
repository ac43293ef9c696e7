"""``GET /v1/audit``: who did what and when (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.store import repository
from api.web.access import ADMIN, CurrentCaller, Service, require_role
from api.web.routes._common import AUTH_ERRORS
from api.web.schemas import AuditLine, AuditLog

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=AuditLog, responses=AUTH_ERRORS, summary="The audit log")
def read_audit(
    service: Service,
    caller: CurrentCaller,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[
        str | None,
        Query(max_length=64, description="only lines of this action, e.g. access.denied"),
    ] = None,
    object_id: Annotated[str | None, Query(max_length=200)] = None,
    after_id: Annotated[int, Query(ge=0, description="only lines after this id")] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> AuditLog:
    """Audit lines, oldest first: uploads, searches, views, decisions and refusals
    (``access.denied``: who was refused what, on which route and why), with the actor."""
    require_role(caller, ADMIN, action="reading the audit log")
    with service.store.transaction() as session:
        found = repository.list_audit(
            session,
            actor=actor,
            action=action,
            object_id=object_id,
            after_id=after_id,
            limit=limit,
        )
        entries = [
            AuditLine(
                id=entry.id,
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                details=entry.details,
            )
            for entry in found
        ]
    return AuditLog(entries=entries)

"""What several routers share: the audit of reads, exhibit views and error documentation."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.store import repository
from api.store.models import Exhibit
from api.web.access import Caller

#: documented error answers (OpenAPI), the same for every authenticated route
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, unknown or revoked X-API-Key (checked before the body)"},
    403: {
        "description": "the caller's role or the sharing rule forbids it (kept in the audit log "
        "as access.denied)"
    },
}
#: for routes with a body
BAD_BODY: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body cannot be parsed (not JSON, or a broken multipart form)"}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown id"}}


def audit_read(
    session: Session,
    caller: Caller,
    action: str,
    *,
    object_type: str,
    object_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Record that ``caller`` read something (every view goes to the audit log)."""
    repository.audit(
        session, caller.name, action, object_type=object_type, object_id=object_id, details=details
    )


def load_exhibit(session: Session, public_id: str) -> Exhibit:
    """The exhibit of public id ``public_id`` with its case and agency (NotFoundError: 404)."""
    exhibit = repository.get_exhibit(session, public_id)
    _ = exhibit.case, exhibit.agency  # loaded inside the session, used after it
    return exhibit

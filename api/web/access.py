"""Who may do what: API keys resolved to agencies, role rules and the sharing rule.

Every route but ``/v1/health`` needs ``X-API-Key``; the key is hashed and looked up
(:func:`api.store.repository.agency_for_api_key`), never stored or logged in clear.

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

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from api.service.core import EvidenceService
from api.store import repository
from api.store.errors import NotFoundError
from api.store.models import Exhibit

LAB, EXAMINER, INVESTIGATOR, ADMIN = "lab", "examiner", "investigator", "admin"

_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="The agency's key, printed once by `ballistics agency add`.",
)


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


def get_service(request: Request) -> EvidenceService:
    """The application's open service (set up in the lifespan)."""
    return request.app.state.service


Service = Annotated[EvidenceService, Depends(get_service)]


def get_caller(
    service: Service, api_key: Annotated[str | None, Depends(_api_key_header)]
) -> Caller:
    """Resolve ``X-API-Key`` to the calling agency, or answer 401."""
    if not api_key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing X-API-Key header; ask your network's administrator for an agency key",
            headers={"WWW-Authenticate": "API-Key"},
        )
    with service.store.transaction() as session:
        try:
            agency = repository.agency_for_api_key(session, api_key)
        except NotFoundError:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown API key; check the X-API-Key header",
                headers={"WWW-Authenticate": "API-Key"},
            ) from None
        return Caller(
            agency_pk=agency.id, name=agency.name, country=agency.country, role=agency.role
        )


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def require_role(caller: Caller, *roles: str, action: str) -> None:
    """Answer 403 unless the caller has one of ``roles``."""
    if caller.role not in roles:
        allowed = " or ".join(roles)
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{action} needs the {allowed} role; {caller.name} is registered as {caller.role}",
        )


def check_can_read(caller: Caller, exhibit: Exhibit) -> None:
    """Answer 403 when a lab asks about another agency's exhibit."""
    if not (caller.sees_everything() or caller.owns(exhibit)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"exhibit {exhibit.public_id} belongs to another agency; a lab reads its own "
            "exhibits (links to others are listed under /v1/links)",
        )


def check_can_see_images(caller: Caller, exhibit: Exhibit) -> None:
    """Answer 403 unless the exhibit is the caller's or was uploaded as shared."""
    if caller.owns(exhibit):
        return
    if not exhibit.shared:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"exhibit {exhibit.public_id} of {exhibit.agency.name} ({exhibit.agency.country}) "
            "was not shared: its images stay with that agency; ask it directly",
        )

"""The exhibits' pages: the list (a lab its own, the other roles all, as the API reads them;
filtered in the database, a page at a time), one exhibit with its preview and its candidates
ranked on each mark and combined (``GET /v1/exhibits/{id}/candidates``'s data and rule; see
:mod:`api.web.ui.candidates`), and the lab's upload page, stored through the same service
step as ``POST /v1/exhibits`` and followed to the new exhibit's page."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from api.manifest import orientation_metadata
from api.rifling import RiflingClass
from api.service import Upload, UploadedFile, client_file_name
from api.store import repository
from api.store.errors import ConflictError
from api.store.models import EXHIBIT_STATUSES, MODALITIES, Exhibit
from api.store.repository.exhibits import exhibits_newest_first
from api.web.access import LAB, Caller, Service, check_can_read, require_role
from api.web.routes._common import audit_read, load_exhibit
from api.web.sessions import SignedIn, check_csrf, require_person
from api.web.ui.candidates import candidate_page, chosen_page
from api.web.ui.rendering import render
from ballistics.errors import EvidenceError
from ballistics.items import ItemKind, KindNotAvailableError

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)

Person = Annotated[SignedIn, Depends(require_person)]
#: the exhibits one page of the list shows (most recent first)
PAGE_LENGTH = 100
#: the longest filter value read from a query string
_LONGEST = 200


# before /exhibits/{exhibit_id}, which would take "new" for an id
@router.get("/exhibits/new")
def upload_page(request: Request, person: Person) -> Response:
    """The upload form (labs)."""
    require_role(person.caller(), LAB, action="uploading exhibits")
    return render(request, "upload.html", person=person, outcome=None, refusal="")


def _summary(session: Session, caller: Caller, exhibit: Exhibit) -> dict[str, Any]:
    """An exhibit's references and status; why it failed (the job's last error) only for the
    uploading agency, which alone gets the job from the API."""
    reason = ""
    if exhibit.status == "failed" and caller.owns(exhibit):
        job = repository.latest_job(session, exhibit)
        reason = (job.last_error or "") if job is not None else ""
    return {
        "id": exhibit.public_id,
        "exhibit_id": exhibit.exhibit_id,
        "case_id": exhibit.case.case_id,
        "agency": exhibit.agency.name,
        "country": exhibit.agency.country,
        "kind": exhibit.kind,
        "caliber": exhibit.caliber,
        "modality": exhibit.modality,
        "occurred_on": exhibit.case.occurred_on,
        "created_at": exhibit.created_at,
        "status": exhibit.status,
        "reason": " ".join(reason.split()),
    }


@dataclasses.dataclass(frozen=True)
class ExhibitFilters:
    """The list's filters as the form and the query string hold them ("" is no filter)."""

    kind: str = ""
    status: str = ""
    case_id: str = ""
    caliber: str = ""
    modality: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ExhibitFilters:
        """The filters of a query string; a value that is not one of a filter's is left out."""
        given = {
            field.name: str(params[field.name]).strip()[:_LONGEST]
            for field in dataclasses.fields(cls)
            if field.name in params
        }
        choices = {
            "kind": ("", *(kind.value for kind in ItemKind)),
            "status": ("", *EXHIBIT_STATUSES),
            "modality": ("", *MODALITIES),
        }
        for name, allowed in choices.items():
            if name in given and given[name] not in allowed:
                del given[name]
        return cls(**given)

    def query_string(self, **extra: str | int) -> str:
        """The filters set (and ``extra``, e.g. the page) as a query string."""
        pairs = {name: value for name, value in dataclasses.asdict(self).items() if value}
        return urlencode({**pairs, **extra})

    def repository_filters(self) -> dict[str, str | None]:
        """The keyword filters of :func:`~api.store.repository.exhibits.exhibits_newest_first`."""
        return {name: value or None for name, value in dataclasses.asdict(self).items()}


@router.get("/exhibits")
def exhibits_page(request: Request, service: Service, person: Person) -> Response:
    """The exhibits, most recent first, filtered in the database and a page at a time: a
    lab's own, every agency's for the other roles."""
    caller = person.caller()
    filters = ExhibitFilters.from_params(request.query_params)
    page = chosen_page(request.query_params.get("page"))
    with service.store.transaction(write=True) as session:
        # one more than a page says whether an older page exists
        found = exhibits_newest_first(
            session,
            agency_key=None if caller.sees_everything() else caller.agency_pk,
            limit=PAGE_LENGTH + 1,
            offset=(page - 1) * PAGE_LENGTH,
            **filters.repository_filters(),
        )
        rows = [_summary(session, caller, exhibit) for exhibit in found[:PAGE_LENGTH]]
        audit_read(
            session,
            caller,
            "exhibits.list",
            object_type="exhibits",
            object_id="*",
            details={"page": "ui", "person": person.actor, "count": len(rows)},
        )
    return render(
        request,
        "exhibits.html",
        person=person,
        rows=rows,
        filters=filters,
        page=page,
        newer=filters.query_string(page=page - 1) if page > 1 else None,
        older=filters.query_string(page=page + 1) if len(found) > PAGE_LENGTH else None,
    )


@router.get("/exhibits/{exhibit_id}")
def exhibit_page(
    request: Request,
    service: Service,
    person: Person,
    exhibit_id: str,
    stored: Annotated[Literal["", "new", "repeat"], Query()] = "",
) -> Response:
    """One exhibit: its references, preview (or the sharing rule's placeholder), status and
    candidates ranked on each mark and combined, in the order asked (``?order=breech_face``)
    and a page at a time (``?page=2``); the same rule as the API's candidates (a lab reads its
    own)."""
    caller = person.caller()
    with service.store.transaction(write=True) as session:
        exhibit = load_exhibit(session, exhibit_id)
        check_can_read(caller, exhibit)
        view = _summary(session, caller, exhibit)
        view["shared"] = exhibit.shared
        visible = caller.owns(exhibit) or exhibit.shared
        view["image"] = f"/ui/exhibits/{exhibit.public_id}/image.png" if visible else None
        candidates = candidate_page(session, exhibit, request.query_params)
        for action in ("exhibit.view", "exhibit.candidates"):
            audit_read(
                session,
                caller,
                action,
                object_type="exhibit",
                object_id=exhibit.public_id,
                details={"page": "ui", "person": person.actor},
            )
    return render(
        request,
        "exhibit.html",
        person=person,
        exhibit=view,
        candidates=candidates,
        stored=stored,
    )


@router.post("/exhibits", dependencies=[Depends(check_csrf)])
def upload(
    request: Request,
    service: Service,
    person: Person,
    file: Annotated[list[UploadFile], File()],
    exhibit_id: Annotated[str, Form(min_length=1, max_length=200)],
    case_id: Annotated[str, Form(min_length=1, max_length=200)],
    kind: Annotated[ItemKind, Form()],
    caliber: Annotated[str, Form(max_length=64)] = "",
    occurred_on: Annotated[datetime.date | None, Form()] = None,
    shared: Annotated[bool, Form()] = False,
    orientation: Annotated[Literal["as_stored", "mirrored"], Form()] = "as_stored",
) -> Response:
    """Store the exhibit, queue its correlation and go (303) to its page; or say why not; a
    photograph stored with quality warnings stays on this page to show them (201)."""
    caller = person.caller()
    require_role(caller, LAB, action="uploading exhibits")
    files = [
        UploadedFile(name=client_file_name(item.filename), data=item.file.read()) for item in file
    ]
    try:
        outcome = service.upload(
            Upload(
                agency=caller.name,
                exhibit_id=exhibit_id.strip(),
                case_id=case_id.strip(),
                kind=kind,
                files=files,
                caliber=caliber.strip() or None,
                occurred_on=occurred_on,
                shared=shared,
                metadata=orientation_metadata(RiflingClass().as_metadata(), orientation),
            ),
            limits=request.app.state.settings.read_limits,
        )
    except (EvidenceError, ConflictError, KindNotAvailableError) as refusal:
        # the engine's and the store's messages name the file or field and say how to fix it
        return render(
            request,
            "upload.html",
            person=person,
            outcome=None,
            refusal=" ".join(str(refusal).split()),
            status_code=409 if isinstance(refusal, ConflictError) else 422,
        )
    runner = getattr(request.app.state, "job_runner", None)
    if runner is not None:
        runner.wake()
    if outcome.warnings:
        # stored, but the lab should see what to change before it takes the next photograph
        return render(
            request,
            "upload.html",
            person=person,
            outcome=outcome,
            photo_warnings=outcome.warnings,
            refusal=None,
            status_code=201,
        )
    stored = "new" if outcome.created else "repeat"
    return RedirectResponse(f"/ui/exhibits/{outcome.public_id}?stored={stored}", status_code=303)

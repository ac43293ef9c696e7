"""The exhibits' pages: the list (a lab its own, the other roles all, as the API reads them), one
exhibit with its preview and ranked candidates (``GET /v1/exhibits/{id}/candidates``'s data and
rule), and the lab's upload page, stored through the same service step as ``POST /v1/exhibits``
and followed to the new exhibit's page."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.rifling import RiflingClass
from api.service import Upload, UploadedFile, client_file_name
from api.store import repository
from api.store.errors import ConflictError
from api.store.models import Exhibit
from api.web.access import LAB, Caller, Service, check_can_read, require_role
from api.web.routes._common import audit_read, load_exhibit
from api.web.sessions import SignedIn, check_csrf, require_person
from api.web.ui.rendering import render
from ballistics.errors import EvidenceError
from ballistics.items import ItemKind, KindNotAvailableError

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)

Person = Annotated[SignedIn, Depends(require_person)]
#: the exhibits the list shows (most recent first)
LIST_LENGTH = 500
#: the candidates an exhibit's page shows (best first), as the API's default ``top``
CANDIDATES_SHOWN = 50


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


@router.get("/exhibits")
def exhibits_page(request: Request, service: Service, person: Person) -> Response:
    """The exhibits, most recent first: a lab's own, every agency's for the other roles."""
    caller = person.caller()
    statement = (
        select(Exhibit)
        .order_by(Exhibit.created_at.desc(), Exhibit.id.desc())
        .limit(LIST_LENGTH)
        .options(selectinload(Exhibit.case), selectinload(Exhibit.agency))
    )
    if not caller.sees_everything():
        statement = statement.where(Exhibit.agency_pk == caller.agency_pk)
    with service.store.transaction(write=True) as session:
        rows = [_summary(session, caller, exhibit) for exhibit in session.scalars(statement)]
        audit_read(
            session,
            caller,
            "exhibits.list",
            object_type="exhibits",
            object_id="*",
            details={"page": "ui", "person": person.actor, "count": len(rows)},
        )
    return render(request, "exhibits.html", person=person, rows=rows, limit=LIST_LENGTH)


def _candidates(session: Session, exhibit: Exhibit) -> list[dict[str, Any]]:
    """The exhibit's stored results, best first, each with its link (None: no link)."""
    results = repository.list_candidates(session, exhibit, limit=CANDIDATES_SHOWN)
    links = repository.links_between(session, exhibit, [result.candidate_pk for result in results])
    rows = []
    for rank, result in enumerate(results, start=1):
        other = result.candidate
        details = result.details or {}
        # results stored before 2026-12 name the decision "same_source"
        lead = details.get("lead", details.get("same_source"))
        link = links.get(other.id)
        rows.append(
            {
                "rank": rank,
                "score": result.score,
                "lead": lead,
                "exhibit_id": other.exhibit_id,
                "case_id": other.case.case_id,
                "agency": other.agency.name,
                "country": other.agency.country,
                "link": link.public_id if link is not None else None,
            }
        )
    return rows


@router.get("/exhibits/{exhibit_id}")
def exhibit_page(
    request: Request,
    service: Service,
    person: Person,
    exhibit_id: str,
    stored: Annotated[Literal["", "new", "repeat"], Query()] = "",
) -> Response:
    """One exhibit: its references, preview (or the sharing rule's placeholder), status and
    ranked candidates; the same rule as the API's candidates (a lab reads its own)."""
    caller = person.caller()
    with service.store.transaction(write=True) as session:
        exhibit = load_exhibit(session, exhibit_id)
        check_can_read(caller, exhibit)
        view = _summary(session, caller, exhibit)
        view["shared"] = exhibit.shared
        visible = caller.owns(exhibit) or exhibit.shared
        view["image"] = f"/ui/exhibits/{exhibit.public_id}/image.png" if visible else None
        candidates = _candidates(session, exhibit)
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
) -> Response:
    """Store the exhibit, queue its correlation and go (303) to its page; or say why not."""
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
                metadata=RiflingClass().as_metadata(),
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
    stored = "new" if outcome.created else "repeat"
    return RedirectResponse(f"/ui/exhibits/{outcome.public_id}?stored={stored}", status_code=303)

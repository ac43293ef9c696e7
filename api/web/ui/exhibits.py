"""The lab's upload page: an exhibit's scan (or a bullet's land scans) with its case details,
stored through the same service step as ``POST /v1/exhibits``."""

from __future__ import annotations

import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile

from api.rifling import RiflingClass
from api.service import Upload, UploadedFile, client_file_name
from api.store.errors import ConflictError
from api.web.access import LAB, Service, require_role
from api.web.sessions import SignedIn, check_csrf, require_person
from api.web.ui.rendering import render
from ballistics.errors import EvidenceError
from ballistics.items import ItemKind, KindNotAvailableError

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)

Person = Annotated[SignedIn, Depends(require_person)]


@router.get("/exhibits/new")
def upload_page(request: Request, person: Person) -> Response:
    """The upload form (labs)."""
    require_role(person.caller(), LAB, action="uploading exhibits")
    return render(request, "upload.html", person=person, outcome=None, refusal="")


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
    """Store the exhibit and queue its correlation; the page shows the outcome or why not."""
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
    return render(request, "upload.html", person=person, outcome=outcome, refusal="")

"""``/v1/exhibits``: upload, read, candidates and the preview image."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status

from api.manifest import orientation_metadata
from api.rifling import MAX_LAND_COUNT, RiflingClass
from api.service import (
    Candidate,  # noqa: F401  (documents the candidates' shape)
    Upload,
    UploadedFile,
    client_file_name,
)
from api.store import repository
from api.web.access import (
    LAB,
    CurrentCaller,
    Service,
    check_can_read,
    check_can_see_images,
    require_role,
)
from api.web.images import exhibit_preview_png
from api.web.routes._common import AUTH_ERRORS, BAD_BODY, NOT_FOUND, audit_read, load_exhibit
from api.web.schemas import (
    CandidatePublic,
    Candidates,
    ExhibitCreated,
    ExhibitPublic,
    PhotoWarningPublic,
)
from ballistics.items import ItemKind
from ballistics.items.records import evidence_strength

router = APIRouter(prefix="/v1/exhibits", tags=["exhibits"])

#: the most candidates one request reads and answers (``top``)
MAX_CANDIDATES = 1000

UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    **BAD_BODY,
    201: {"model": ExhibitCreated, "description": "a repeat of an exhibit already correlated"},
    409: {
        "description": "other files, or the same files with other fields, are already stored "
        "under this exhibit_id (the message names the field)"
    },
    413: {"description": "upload or image larger than the server's limits"},
    415: {"description": "a file is not a readable X3P, PNG, TIFF or JPEG"},
    422: {
        "description": "a field is missing or invalid, or the scan holds no usable mark (a "
        "photograph blank or mostly clipped: the message says what to change)"
    },
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExhibitCreated,
    responses=UPLOAD_ERRORS,
    summary="Upload an exhibit; its correlation runs as a job",
)
def upload_exhibit(
    request: Request,
    response: Response,
    service: Service,
    caller: CurrentCaller,
    file: Annotated[
        list[UploadFile],
        File(description="the item: one file for a cartridge case, one per land of a bullet"),
    ],
    exhibit_id: Annotated[str, Form(min_length=1, max_length=200)],
    case_id: Annotated[str, Form(min_length=1, max_length=200)],
    kind: Annotated[ItemKind, Form(description="the kind of mark (the registry's kinds)")],
    caliber: Annotated[str | None, Form(max_length=64)] = None,
    pixel_um: Annotated[float | None, Form(gt=0, le=10000)] = None,
    occurred_on: Annotated[datetime.date | None, Form()] = None,
    shared: Annotated[bool, Form()] = True,
    land_count: Annotated[
        int | None, Form(ge=2, le=MAX_LAND_COUNT, description="bullets: lands of the rifling")
    ] = None,
    twist: Annotated[
        Literal["left", "right"] | None, Form(description="bullets: twist of the rifling")
    ] = None,
    orientation: Annotated[
        Literal["as_stored", "mirrored"],
        Form(
            description="cartridge cases: 'mirrored' when the file's rows are stored bottom-up "
            "relative to the casing seen from its base (read reversed, recorded in the exhibit's "
            "metadata); 'as_stored' (the default) otherwise"
        ),
    ] = "as_stored",
) -> ExhibitCreated:
    """Store an exhibit of the caller's agency at once and queue its correlation.

    202 with status ``queued`` for a new exhibit (follow it with ``GET /v1/exhibits/{id}``);
    a repeat of the same files with the same fields answers the stored exhibit (``created``
    false; 201 once it is correlated); a repeat whose fields differ (case, kind, calibre,
    sharing, date, rifling, pixel_um of a photograph) is 409 naming them. Nothing is stored
    when the answer is an error.
    """
    require_role(caller, LAB, action="uploading exhibits")
    settings = request.app.state.settings
    files = [
        UploadedFile(name=client_file_name(item.filename), data=item.file.read()) for item in file
    ]
    outcome = service.upload(
        Upload(
            agency=caller.name,
            exhibit_id=exhibit_id.strip(),
            case_id=case_id.strip(),
            kind=kind,
            files=files,
            caliber=(caliber or "").strip() or None,
            pixel_um=pixel_um,
            occurred_on=occurred_on,
            shared=shared,
            metadata=orientation_metadata(
                RiflingClass(land_count=land_count, twist=twist).as_metadata(), orientation
            ),
        ),
        limits=settings.read_limits,
    )
    if outcome.status == "correlated":
        response.status_code = status.HTTP_201_CREATED
    runner = getattr(request.app.state, "job_runner", None)
    if runner is not None:
        runner.wake()
    return ExhibitCreated(
        id=outcome.public_id,
        exhibit_id=outcome.exhibit_id,
        status=outcome.status,  # type: ignore[arg-type]
        created=outcome.created,
        sha256=outcome.sha256,
        warnings=[PhotoWarningPublic.model_validate(w.as_json()) for w in outcome.warnings],
    )


@router.get(
    "/{exhibit_id}",
    response_model=ExhibitPublic,
    responses={**AUTH_ERRORS, **NOT_FOUND},
    summary="One exhibit and its correlation status",
)
def read_exhibit(exhibit_id: str, service: Service, caller: CurrentCaller) -> ExhibitPublic:
    """The exhibit (``id`` is its public id). The uploading agency sees everything; others see
    the references a link needs, and the image only when it was shared."""
    with service.store.transaction(write=True) as session:
        exhibit = load_exhibit(session, exhibit_id)
        own = caller.owns(exhibit)
        job = repository.latest_job(session, exhibit)
        audit_read(session, caller, "exhibit.view", object_type="exhibit", object_id=exhibit_id)
        images = own or exhibit.shared
        return ExhibitPublic(
            id=exhibit.public_id,
            exhibit_id=exhibit.exhibit_id,
            case_id=exhibit.case.case_id,
            agency=exhibit.agency.name,
            country=exhibit.agency.country,
            kind=exhibit.kind,
            caliber=exhibit.caliber,
            status=exhibit.status,
            shared=exhibit.shared,
            restricted=not own,
            modality=exhibit.modality,
            pixel_um=exhibit.pixel_um if images else None,
            occurred_on=exhibit.case.occurred_on,
            created_at=exhibit.created_at,
            sha256=exhibit.sha256 if own else None,
            files=(
                [
                    {"name": item.name, "sha256": item.sha256, "size_bytes": item.size_bytes}
                    for item in exhibit.files
                ]
                if own
                else None
            ),
            metadata=dict(exhibit.extra_metadata or {}) if own else None,
            job=(
                {
                    "status": job.status,
                    "attempts": job.attempts,
                    "last_error": job.last_error,
                }
                if job is not None and own
                else None
            ),
            image_url=f"/v1/exhibits/{exhibit.public_id}/image" if images else None,
            warnings=(
                [PhotoWarningPublic.model_validate(w) for w in exhibit.photo_warnings or ()]
                if own
                else None
            ),
        )


@router.get(
    "/{exhibit_id}/candidates",
    response_model=Candidates,
    responses={**AUTH_ERRORS, **NOT_FOUND, 422: {"description": "top out of its bounds"}},
    summary="The exhibit's ranked correlation results",
)
def exhibit_candidates(
    exhibit_id: str,
    service: Service,
    caller: CurrentCaller,
    top: Annotated[
        int, Query(ge=1, le=MAX_CANDIDATES, description="candidates answered, best first")
    ] = 50,
) -> Candidates:
    """Stored exhibits compared with this one, best score first (empty while ``queued``)."""
    with service.store.transaction(write=True) as session:
        exhibit = load_exhibit(session, exhibit_id)
        check_can_read(caller, exhibit)
        results = repository.list_candidates(session, exhibit, limit=top)
        candidates = []
        for rank, result in enumerate(results, start=1):
            other = result.candidate
            details = dict(result.details or {})
            # results stored before 2026-12 name the decision "same_source"
            legacy = details.pop("same_source", None)
            lead = details.pop("lead", legacy)
            # computed from the stored score now, with the current calibration: stored results
            # follow a change of calibration without their comparisons being run again
            strength = evidence_strength(
                exhibit.kind, (exhibit.modality, other.modality), result.score
            ).as_json()
            for name in strength:
                details.pop(name, None)
            # fields the schema does not declare (it allows extra ones)
            beyond_schema: dict[str, Any] = {
                "kind": other.kind,
                "caliber": other.caliber,
                "shared": other.shared,
                "overlay_url": f"/v1/compare/{exhibit.public_id}/{other.public_id}/overlay.png",
            }
            candidates.append(
                CandidatePublic(
                    id=other.public_id,
                    exhibit_id=other.exhibit_id,
                    case_id=other.case.case_id,
                    agency=other.agency.name,
                    country=other.agency.country,
                    score=result.score,
                    rank=rank,
                    lead=lead,
                    **strength,
                    same_source=lead,
                    cmc_count=result.cmc_count,
                    **beyond_schema,
                    **{key: value for key, value in details.items() if key != "reference"},
                )
            )
        audit_read(
            session, caller, "exhibit.candidates", object_type="exhibit", object_id=exhibit_id
        )
        return Candidates(candidates=candidates, status=exhibit.status)


@router.get(
    "/{exhibit_id}/image",
    response_class=Response,
    responses={
        **AUTH_ERRORS,
        **NOT_FOUND,
        200: {"content": {"image/png": {}}, "description": "a preview of the prepared mark"},
    },
    summary="A preview PNG of the exhibit's prepared mark",
)
def exhibit_image(exhibit_id: str, service: Service, caller: CurrentCaller) -> Response:
    """The breech face as prepared for comparison (levelled, filtered), with a scale bar."""
    with service.store.transaction(write=True) as session:
        exhibit = load_exhibit(session, exhibit_id)
        check_can_see_images(caller, exhibit)
        mark = repository.get_mark(session, exhibit)
        label = f"{exhibit.exhibit_id} - {exhibit.agency.name} ({exhibit.agency.country})"
        kind = exhibit.kind
        audit_read(session, caller, "exhibit.image", object_type="exhibit", object_id=exhibit_id)
    return Response(
        content=exhibit_preview_png(kind, mark, title=label),
        media_type="image/png",
        headers={"Cache-Control": "private, no-store"},
    )

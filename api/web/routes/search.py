"""``POST /v1/search``: correlate an uploaded item against the store without storing it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile

from api.rifling import MAX_LAND_COUNT, RiflingClass
from api.service import client_file_name
from api.web.access import ADMIN, EXAMINER, LAB, CurrentCaller, Service, require_role
from api.web.routes._common import AUTH_ERRORS, BAD_BODY
from api.web.schemas import CandidatePublic, Candidates
from ballistics.items import ItemKind, kind_spec

router = APIRouter(prefix="/v1", tags=["search"])


@router.post(
    "/search",
    response_model=Candidates,
    responses={
        **AUTH_ERRORS,
        **BAD_BODY,
        413: {"description": "upload or image larger than the server's limits"},
        415: {"description": "the file is not a readable X3P, PNG, TIFF or JPEG"},
        422: {"description": "a field is missing or invalid, or the scan holds no usable mark"},
    },
    summary="Correlate an item against the store without storing it",
)
def search(
    request: Request,
    service: Service,
    caller: CurrentCaller,
    file: Annotated[
        list[UploadFile],
        File(description="the questioned item: one file for a casing, one per land for a bullet"),
    ],
    # the kinds of the registry: a new kind of mark is accepted here without an edit
    kind: Annotated[ItemKind, Form()] = ItemKind.CARTRIDGE_CASE,
    pixel_um: Annotated[float | None, Form(gt=0, le=10000)] = None,
    caliber: Annotated[str | None, Form(max_length=64)] = None,
    top: Annotated[int, Form(ge=1, le=200)] = 10,
    land_count: Annotated[
        int | None, Form(ge=2, le=MAX_LAND_COUNT, description="bullets: lands of the rifling")
    ] = None,
    twist: Annotated[
        Literal["left", "right"] | None, Form(description="bullets: twist of the rifling")
    ] = None,
    orientation: Annotated[
        Literal["as_stored", "mirrored"],
        Form(description="cartridge cases: the file's orientation, as at upload"),
    ] = "as_stored",
) -> Candidates:
    """Ranked candidates, best first, as ``ballistics search`` prints them. Recorded in the
    audit log (who searched, the item's digest), never stored as evidence."""
    require_role(caller, LAB, EXAMINER, ADMIN, action="searching")
    settings = request.app.state.settings
    files = [(client_file_name(item.filename), item.file.read()) for item in file]
    spec = kind_spec(kind)
    if spec.single_file and len(files) != 1:
        raise HTTPException(
            422,
            f"{spec.noun} is one file, got {len(files)}; several files are for the lands "
            "of one bullet (kind=bullet).",
        )
    name = ", ".join(file_name for file_name, _ in files)
    outcome = service.search(
        files,
        top=top,
        kind=kind,
        pixel_um=pixel_um,
        caliber=(caliber or "").strip() or None,
        name=name,
        actor=caller.name,
        # same_file only of the caller's own and shared exhibits (the sharing rule)
        viewer=caller.name,
        limits=settings.read_limits,
        rifling=RiflingClass(land_count=land_count, twist=twist),
        orientation=orientation,
    )
    document = outcome.as_json()
    return Candidates(
        candidates=[CandidatePublic(**candidate) for candidate in document["candidates"]],
        query=document["query"],
        reranked=document["reranked"],
        elapsed_s=document["elapsed_s"],
    )

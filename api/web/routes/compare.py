"""``/v1/compare/{a}/{b}/overlay.png``: two marks registered side by side, cells drawn."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from api.store import repository
from api.web.access import CurrentCaller, Service, check_can_see_images
from api.web.images import overlay_png
from api.web.routes._common import AUTH_ERRORS, NOT_FOUND, audit_read, load_exhibit

router = APIRouter(prefix="/v1/compare", tags=["compare"])


@router.get(
    "/{first}/{second}/overlay.png",
    response_class=Response,
    responses={
        **AUTH_ERRORS,
        **NOT_FOUND,
        200: {"content": {"image/png": {}}, "description": "the registered pair"},
        422: {"description": "the two exhibits cannot be compared (kind or modality differ)"},
    },
    summary="The pair as in a comparison microscope",
)
def overlay(first: str, second: str, service: Service, caller: CurrentCaller) -> Response:
    """The first exhibit (reference) beside the second moved onto it by the registration, the
    congruent matching cells outlined in green on both. Both must be the caller's or shared."""
    with service.store.transaction(write=True) as session:
        exhibits = [load_exhibit(session, public_id) for public_id in (first, second)]
        for exhibit in exhibits:
            check_can_see_images(caller, exhibit)
        if exhibits[0].kind != exhibits[1].kind:
            raise HTTPException(
                422,
                f"a {exhibits[0].kind} cannot be compared with a {exhibits[1].kind}; pick two "
                "exhibits of one kind.",
            )
        marks = [repository.get_mark(session, exhibit) for exhibit in exhibits]
        labels = [
            f"{exhibit.exhibit_id} ({exhibit.agency.country}, case {exhibit.case.case_id})"
            for exhibit in exhibits
        ]
        kind = exhibits[0].kind
        audit_read(
            session,
            caller,
            "compare.overlay",
            object_type="exhibit",
            object_id=first,
            details={"other": second},
        )
    picture = overlay_png(
        kind,
        marks[0],
        marks[1],
        reference_label=labels[0],
        questioned_label=labels[1],
        config=service.config.compare,
        bullet_config=service.config.bullet,
    )
    return Response(
        content=picture, media_type="image/png", headers={"Cache-Control": "private, no-store"}
    )

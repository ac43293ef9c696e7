"""``/v1/compare/{a}/{b}/overlay.png``: two marks registered side by side, cells drawn."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from fastapi import APIRouter, HTTPException, Response

from api.store import repository
from api.web.access import CurrentCaller, Service, check_can_see_images
from api.web.images import overlay_png
from api.web.routes._common import AUTH_ERRORS, NOT_FOUND, audit_read, load_exhibit

router = APIRouter(prefix="/v1/compare", tags=["compare"])


class PictureCache:
    """The most recently drawn pictures, bounded in count and bytes, shared by threads.

    An overlay is a pure function of the two stored marks (by digest), their labels and the
    comparison settings, and drawing one runs a whole comparison: an examiner paging back and
    forth between leads should not pay it again. The key holds the marks' digests, so a mark
    prepared again (another preparation version) is drawn again.
    """

    def __init__(self, *, max_entries: int = 64, max_bytes: int = 64 * 2**20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._pictures: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get_or_draw(self, key: Hashable, draw: Callable[[], bytes]) -> bytes:
        """Return the picture of ``key``, drawing it (outside the lock) when not kept."""
        with self._lock:
            picture = self._pictures.get(key)
            if picture is not None:
                self._pictures.move_to_end(key)
                return picture
        picture = draw()
        with self._lock:
            if key not in self._pictures and len(picture) <= self.max_bytes:
                self._pictures[key] = picture
                self._bytes += len(picture)
                while len(self._pictures) > self.max_entries or self._bytes > self.max_bytes:
                    _, dropped = self._pictures.popitem(last=False)
                    self._bytes -= len(dropped)
        return picture

    def clear(self) -> None:
        """Forget every picture."""
        with self._lock:
            self._pictures.clear()
            self._bytes = 0


#: the overlays of this process (the sharing rule is checked before a picture is looked up)
overlay_cache = PictureCache()


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
    return overlay_answer(first, second, service, caller)


def overlay_answer(
    first: str,
    second: str,
    service: Service,
    caller: CurrentCaller,
    *,
    audit_details: dict[str, Any] | None = None,
) -> Response:
    """:func:`overlay`'s answer; ``audit_details`` join its audit line (the pages name the
    person who looked)."""
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
            details={"other": second, **(audit_details or {})},
        )
    key = (
        kind,
        *(hashlib.sha256(mark).hexdigest() for mark in marks),
        *labels,
        service.config.compare,
        service.config.bullet,
    )
    picture = overlay_cache.get_or_draw(
        key,
        lambda: overlay_png(
            kind,
            marks[0],
            marks[1],
            reference_label=labels[0],
            questioned_label=labels[1],
            config=service.config.compare,
            bullet_config=service.config.bullet,
        ),
    )
    return Response(
        content=picture, media_type="image/png", headers={"Cache-Control": "private, no-store"}
    )

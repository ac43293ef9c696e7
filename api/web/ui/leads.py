"""The examiner's queue of leads: filters kept in the query string, best score first, and the
next undecided lead of a queue (:mod:`api.web.ui.decisions` goes on to it after a decision).

The API's rules hold here as on ``/v1/links``: a lab sees the links of its own exhibits; those
who read every link choose between the whole network (the default), their own agency's, and a
region's (a group of countries an admin defines: links either of whose exhibits' agencies is in
one of its countries). Every filter is applied by the database
(:func:`api.store.repository.list_links`).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from api.store import repository
from api.store.errors import NotFoundError
from api.store.models import LINK_STATUSES, MODALITIES, Link
from api.web.access import Service
from api.web.routes._common import audit_read
from api.web.sessions import SignedIn, require_person
from api.web.ui.rendering import render
from ballistics.items import ItemKind

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)

Person = Annotated[SignedIn, Depends(require_person)]
#: the queue's length on one page (best first)
QUEUE_LENGTH = 200
#: the longest filter value read from a query string (a region's name, up to 200 characters)
_LONGEST = 200
#: a queue's scopes: the whole network, the person's own agency, a region's countries
SCOPES = ("network", "own", "region")


@dataclasses.dataclass(frozen=True)
class QueueFilters:
    """A queue's filters as the form and the query string hold them ("" is no filter)."""

    status: str = "lead"
    cross_border: str = ""
    kind: str = ""
    modality: str = ""
    country: str = ""
    caliber: str = ""
    occurred_from: str = ""
    occurred_to: str = ""
    entered_from: str = ""
    entered_to: str = ""
    min_score: str = ""
    scope: str = "network"
    #: the region's name, when ``scope`` is ``region``
    region: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> QueueFilters:
        """The filters of a query string; a value that is not one of a filter's is left out."""
        given = {
            field.name: str(params[field.name]).strip()[:_LONGEST]
            for field in dataclasses.fields(cls)
            if field.name in params
        }
        choices = {
            "status": ("", *LINK_STATUSES),
            "cross_border": ("", "yes", "no"),
            "kind": ("", *(kind.value for kind in ItemKind)),
            "modality": ("", *MODALITIES),
            "scope": SCOPES,
        }
        for name, allowed in choices.items():
            if name in given and given[name] not in allowed:
                del given[name]
        for name in ("occurred_from", "occurred_to", "entered_from", "entered_to"):
            if name in given and _date(given[name]) is None:
                del given[name]
        if "min_score" in given and _number(given["min_score"]) is None:
            del given["min_score"]
        if "country" in given:
            given["country"] = given["country"].upper()
        # a region scope names its region, and a region is kept only with that scope
        if given.get("scope") != "region" or not given.get("region"):
            given.pop("region", None)
            if given.get("scope") == "region":
                del given["scope"]
        return cls(**given)

    def query_string(self) -> str:
        """The filters as a query string (the status always: absent, it is "lead")."""
        pairs = {
            name: value
            for name, value in dataclasses.asdict(self).items()
            if value or name == "status"
        }
        if pairs.get("scope") == "network":
            del pairs["scope"]
        return urlencode(pairs)

    def repository_filters(self) -> dict[str, Any]:
        """The keyword filters of :func:`api.store.repository.list_links` (scope aside)."""
        return {
            "status": self.status or None,
            "cross_border": {"yes": True, "no": False}.get(self.cross_border),
            "kind": self.kind or None,
            "modality": self.modality or None,
            "country": self.country or None,
            "caliber": self.caliber or None,
            "occurred_from": _date(self.occurred_from),
            "occurred_to": _date(self.occurred_to),
            "entered_from": _date(self.entered_from),
            "entered_to": _date(self.entered_to),
            "min_score": _number(self.min_score),
        }


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _number(text: str) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def queue_links(
    session: Session,
    person: SignedIn,
    filters: QueueFilters,
    *,
    limit: int = QUEUE_LENGTH,
    **overrides: Any,
) -> list[Link]:
    """The links of ``person``'s queue under ``filters``, best first: a lab's own always; for
    those who read every link, their own agency's when the scope is ``own``, and those touching
    the region's countries when it is ``region`` (a region that no longer exists: none)."""
    caller = person.caller()
    chooses = caller.sees_everything()
    own = not chooses or filters.scope == "own"
    scoped: dict[str, Any] = {}
    if chooses and filters.scope == "region":
        scoped["countries"] = region_countries(session, filters.region)
    return repository.list_links(
        session,
        agency=repository.get_agency(session, caller.name) if own else None,
        limit=limit,
        **{**filters.repository_filters(), **scoped, **overrides},
    )


def region_countries(session: Session, name: str) -> list[str]:
    """The country codes of the region called ``name``; none if there is no such region."""
    try:
        return repository.get_region(session, name).countries
    except NotFoundError:
        return []


def next_lead(session: Session, person: SignedIn, filters: QueueFilters) -> str | None:
    """The public id of the best undecided lead of the queue under ``filters``; None if none."""
    found = queue_links(session, person, filters, limit=1, status="lead")
    return found[0].public_id if found else None


def decision_name(status: str, method: str | None) -> str:
    """A link's status as NIBIN/IBIN practice words it: a confirmation under a comparison
    microscope is a ``hit``; one on the images a ``confirmed_lead`` until the exhibits are
    examined; else the status."""
    if status == "confirmed":
        return "hit" if method == "microscope" else "confirmed_lead"
    return status


@router.get("/leads")
def leads_page(
    request: Request,
    service: Service,
    person: Person,
) -> Response:
    """The queue: links best first, filtered in the database (a lab's own links only)."""
    filters = QueueFilters.from_params(request.query_params)
    with service.store.transaction(write=True) as session:
        links = queue_links(session, person, filters)
        rows = [_row(link) for link in links]
        countries = sorted({agency.country for agency in repository.list_agencies(session)})
        regions = [region.name for region in repository.list_regions(session)]
        audit_read(
            session,
            person.caller(),
            "links.list",
            object_type="links",
            object_id="*",
            details={
                "page": "ui",
                "person": person.actor,
                "count": len(rows),
                **({"region": filters.region} if filters.region else {}),
            },
        )
    return render(
        request,
        "leads.html",
        person=person,
        rows=rows,
        filters=filters,
        # the default queue goes without saying: its leads' addresses stay plain
        queue="" if filters == QueueFilters() else filters.query_string(),
        countries=countries,
        regions=regions,
        unknown_region=bool(filters.region) and filters.region not in regions,
        chooses_scope=person.caller().sees_everything(),
        done=request.query_params.get("done") == "1",
    )


def _row(link: Link) -> dict[str, Any]:
    return {
        **repository.link_summary(link),
        "kind": link.exhibit_a.kind,
        "caliber": link.exhibit_a.caliber or link.exhibit_b.caliber or "",
        "decision": decision_name(link.status, link.decision_method),
    }

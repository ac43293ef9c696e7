"""The cases' pages: the list of the cases a person may open (a lab its own, the other roles
every agency's; filtered in the database, a page at a time), and the investigator's page of one
case: the incidents one firearm connects, as a table and a graph drawn on the server (SVG:
cases as nodes grouped by country, confirmed hits as edges)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.store import repository
from api.store.models import Case
from api.web.access import Service, case_owner
from api.web.routes._common import audit_read
from api.web.sessions import SignedIn, require_person
from api.web.ui.candidates import chosen_page
from api.web.ui.i18n import choose_language, translator
from api.web.ui.rendering import render
from api.web.ui.report import confirmed_links, gather_report, render_report, report_filename

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)

Person = Annotated[SignedIn, Depends(require_person)]
#: the graph's drawing size (SVG user units)
WIDTH, HEIGHT = 640, 360
#: the cases one page of the list shows (most recently filed first)
PAGE_LENGTH = 100
#: the longest filter value read from a query string
_LONGEST = 200


def graph_layout(cases: list[Case], edges: list[tuple[int, int]]) -> dict[str, Any]:
    """Place the cases for the SVG: one column per country (sorted), the cases of a country
    down its column; edges between the case keys of ``edges``."""
    countries = sorted({case.agency.country for case in cases})
    column = WIDTH / max(len(countries), 1)
    nodes, where = [], {}
    for position, country in enumerate(countries):
        members = sorted(
            (case for case in cases if case.agency.country == country),
            key=lambda case: (case.occurred_on is None, case.occurred_on, case.case_id),
        )
        row = (HEIGHT - 60) / max(len(members), 1)
        for index, case in enumerate(members):
            x = column * (position + 0.5)
            y = 50 + row * (index + 0.5)
            where[case.id] = (x, y)
            nodes.append({"case": case, "x": round(x, 1), "y": round(y, 1)})
    lines = [
        {"x1": where[a][0], "y1": where[a][1], "x2": where[b][0], "y2": where[b][1]}
        for a, b in edges
        if a in where and b in where
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "countries": [
            {"name": name, "x": round(column * (i + 0.5), 1)} for i, name in enumerate(countries)
        ],
        "nodes": nodes,
        "edges": lines,
    }


@dataclasses.dataclass(frozen=True)
class CaseFilters:
    """The list's filters as the form and the query string hold them ("" is no filter)."""

    contains: str = ""
    country: str = ""
    #: "yes": only the cases with a confirmed link
    linked: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CaseFilters:
        """The filters of a query string; a value that is not one of a filter's is left out."""
        given = {
            field.name: str(params[field.name]).strip()[:_LONGEST]
            for field in dataclasses.fields(cls)
            if field.name in params
        }
        if given.get("linked") not in (None, "", "yes"):
            del given["linked"]
        if "country" in given:
            given["country"] = given["country"].upper()
        return cls(**given)

    def query_string(self, **extra: str | int) -> str:
        """The filters set (and ``extra``, e.g. the page) as a query string."""
        pairs = {name: value for name, value in dataclasses.asdict(self).items() if value}
        return urlencode({**pairs, **extra})

    def repository_filters(self) -> dict[str, Any]:
        """The keyword filters of :func:`~api.store.repository.cases.cases_newest_first`."""
        return {
            "case_id_contains": self.contains or None,
            "country": self.country or None,
            "linked_only": self.linked == "yes",
        }


@router.get("/cases")
def cases_page(
    request: Request,
    service: Service,
    person: Person,
    case_id: Annotated[str | None, Query(max_length=_LONGEST)] = None,
) -> Response:
    """The cases a person may open, most recently filed first, filtered in the database and a
    page at a time (a lab's own, every agency's for the other roles, as the case's page
    allows); with ``case_id`` (the home page's form), on to that case's page."""
    if case_id and case_id.strip():
        return RedirectResponse(f"/ui/cases/{quote(case_id.strip(), safe='')}", status_code=303)
    caller = person.caller()
    filters = CaseFilters.from_params(request.query_params)
    page = chosen_page(request.query_params.get("page"))
    with service.store.transaction(write=True) as session:
        # one more than a page says whether an older page exists
        found = repository.cases_newest_first(
            session,
            agency_key=None if caller.sees_everything() else caller.agency_pk,
            limit=PAGE_LENGTH + 1,
            offset=(page - 1) * PAGE_LENGTH,
            **filters.repository_filters(),
        )
        countries = sorted({agency.country for agency in repository.list_agencies(session)})
        audit_read(
            session,
            caller,
            "cases.list",
            object_type="cases",
            object_id="*",
            details={"page": "ui", "person": person.actor, "count": len(found[:PAGE_LENGTH])},
        )
    return render(
        request,
        "cases.html",
        person=person,
        rows=found[:PAGE_LENGTH],
        filters=filters,
        countries=countries,
        page=page,
        newer=filters.query_string(page=page - 1) if page > 1 else None,
        older=filters.query_string(page=page + 1) if len(found) > PAGE_LENGTH else None,
    )


@router.get("/cases/{case_id:path}/report.pdf")
def case_report(
    request: Request,
    service: Service,
    person: Person,
    case_id: str,
    agency: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The hit report of the case (PDF, a download): its linked incidents, each confirmed
    link's exhibits and decision; the same access rule as the case's page."""
    caller = person.caller()
    owner = case_owner(caller, case_id, agency, details={"report": True})
    language = choose_language(request, person)
    made_at = datetime.datetime.now(datetime.UTC)
    with service.store.transaction(write=True) as session:
        case = repository.get_case(session, repository.get_agency(session, owner), case_id)
        data = gather_report(session, case, asked_by=person.actor, made_at=made_at)
        audit_read(
            session,
            caller,
            "case.report",
            object_type="case",
            object_id=case.public_id,
            details={"case_id": case_id, "agency": owner, "person": person.actor},
        )
    content = render_report(data, language, translator(language))
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{report_filename(case_id, made_at)}"',
            "Cache-Control": "no-store",
        },
    )


# A case id may hold slashes (``NL/2026/17``): the ``path`` convertor keeps them, and the
# report's route comes first so that ``…/report.pdf`` is not read as part of a case id.
@router.get("/cases/{case_id:path}")
def case_page(
    request: Request,
    service: Service,
    person: Person,
    case_id: str,
    agency: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The case, the incidents linked to it through confirmed hits, and their graph; each
    confirmed link with the agency it is credited to, who confirmed it, when and how."""
    caller = person.caller()
    owner = case_owner(caller, case_id, agency)
    with service.store.transaction(write=True) as session:
        case = repository.get_case(session, repository.get_agency(session, owner), case_id)
        linked = repository.linked_cases(session, case)
        cases = [case, *linked]
        confirmations = confirmed_links(session, cases)
        pks = {(item.case_id, item.agency.name): item.id for item in cases}
        edges = [
            (
                pks[(link.exhibits[0].case_id, link.exhibits[0].agency)],
                pks[(link.exhibits[1].case_id, link.exhibits[1].agency)],
            )
            for link in confirmations
        ]
        graph = graph_layout(cases, edges)
        rows = [
            {
                "case_id": item.case_id,
                "agency": item.agency.name,
                "country": item.agency.country,
                "occurred_on": item.occurred_on,
            }
            for item in cases
        ]
        audit_read(
            session,
            caller,
            "case.linked",
            object_type="case",
            object_id=case.public_id,
            details={"case_id": case_id, "agency": owner, "person": person.actor},
        )
    return render(
        request,
        "case.html",
        person=person,
        case=rows[0],
        linked=rows[1:],
        confirmations=confirmations,
        graph=graph,
        owner=owner,
    )

"""The list of cases (api/store/repository/cases.py) on SQLite and PostgreSQL: counts of
exhibits, confirmed links and linked incidents; filters and paging done in the database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from api.store import repository
from api.store.database import Store
from api.store.models import Exhibit
from tests.api.store.conftest import MakeExhibit

PORT, GEORGETOWN, SAN_FERNANDO = "Port of Spain lab", "Georgetown lab", "San Fernando lab"
#: (agency, case id, exhibits), filed in this order
FILED = (
    (PORT, "A-1", 2),
    (PORT, "A-2", 1),
    (GEORGETOWN, "B-1", 1),
    (SAN_FERNANDO, "C-1", 1),
    (GEORGETOWN, "SH_7", 1),
    (PORT, "sh-7", 1),
)


def decide(session: Session, first: Exhibit, second: Exhibit, status: str) -> None:
    examiner = repository.get_or_create_agency(
        session, "Regional examiner", country="TT", role="examiner"
    )
    link = repository.upsert_link(session, first, second, score=30.0)
    if status != "lead":
        repository.set_link_status(session, link, status, by_agency=examiner)


@pytest.fixture
def filed(store: Store, make_exhibit: MakeExhibit) -> Store:
    """The cases of ``FILED``; confirmed A-1 — B-1 — C-1 (a chain), a lead A-2 — C-1 and a
    rejected A-2 — B-1, which link nothing."""
    with store.transaction(write=True) as session:
        first = {}
        for agency, case_id, count in FILED:
            exhibits = [
                make_exhibit(session, agency, case_id, f"{case_id}/{n}") for n in range(count)
            ]
            first[case_id] = exhibits[0]
        decide(session, first["A-1"], first["B-1"], "confirmed")
        decide(session, first["C-1"], first["B-1"], "confirmed")
        decide(session, first["A-2"], first["C-1"], "lead")
        decide(session, first["A-2"], first["B-1"], "rejected")
    return store


def listed(store: Store, **filters) -> list[tuple[str, str, int, int, int]]:
    with store.transaction() as session:
        found = repository.cases_newest_first(session, limit=filters.pop("limit", 50), **filters)
    return [
        (row.case_id, row.agency, row.exhibits, row.confirmed_links, row.linked_cases)
        for row in found
    ]


def test_cases_newest_first_with_their_counts(filed: Store) -> None:
    assert listed(filed) == [
        ("sh-7", PORT, 1, 0, 0),
        ("SH_7", GEORGETOWN, 1, 0, 0),
        ("C-1", SAN_FERNANDO, 1, 1, 2),
        ("B-1", GEORGETOWN, 1, 2, 2),
        ("A-2", PORT, 1, 0, 0),
        ("A-1", PORT, 2, 1, 2),
    ]
    with filed.transaction() as session:
        row = repository.cases_newest_first(session, limit=1)[0]
        assert (row.country, str(row.occurred_on)) == ("TT", "2025-03-01")


def test_linked_incidents_are_those_the_case_page_walks(filed: Store) -> None:
    with filed.transaction() as session:
        rows = repository.cases_newest_first(session, limit=50)
        for row in rows:
            agency = repository.get_agency(session, row.agency)
            case = repository.get_case(session, agency, row.case_id)
            assert row.linked_cases == len(repository.linked_cases(session, case)), row.case_id


def test_filters_are_applied_in_the_database(filed: Store) -> None:
    with filed.transaction() as session:
        port = repository.get_agency(session, PORT).id
    assert [row[0] for row in listed(filed, agency_key=port)] == ["sh-7", "A-2", "A-1"]
    assert [row[0] for row in listed(filed, country="gy")] == ["SH_7", "B-1"]
    assert [row[0] for row in listed(filed, linked_only=True)] == ["C-1", "B-1", "A-1"]
    # a part of the id, whatever its letter case; "_" and "%" are the letters themselves
    assert [row[0] for row in listed(filed, case_id_contains="Sh")] == ["sh-7", "SH_7"]
    assert [row[0] for row in listed(filed, case_id_contains="_")] == ["SH_7"]
    assert listed(filed, case_id_contains="%") == []
    assert [
        row[0] for row in listed(filed, agency_key=port, linked_only=True, case_id_contains="a")
    ] == ["A-1"]


def test_pages_cover_the_list_once(filed: Store) -> None:
    pages = [[row[0] for row in listed(filed, limit=4, offset=offset)] for offset in (0, 4, 8)]
    assert pages == [["sh-7", "SH_7", "C-1", "B-1"], ["A-2", "A-1"], []]


def test_a_case_without_exhibits_is_listed_with_none(store: Store) -> None:
    with store.transaction(write=True) as session:
        agency = repository.get_or_create_agency(session, PORT, country="TT")
        repository.get_or_create_case(session, agency, "EMPTY-1")
    assert listed(store) == [("EMPTY-1", PORT, 0, 0, 0)]

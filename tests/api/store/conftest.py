"""Fixtures of the store's tests: every database test runs on SQLite and on PostgreSQL.

The PostgreSQL runs use ``$BALLISTICS_TEST_POSTGRES_URL`` (default: the local server with
trust authentication) and give each test a schema of its own, created empty before it and
dropped after it, reached through the connection's ``search_path``: tests never share a mutable
database, and may run in parallel. They are marked ``postgres`` and skipped, with the reason,
when the server cannot be reached (failed instead when ``$BALLISTICS_REQUIRE_POSTGRES`` is 1).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from api.store import repository
from api.store.database import Store, open_store
from api.store.models import Exhibit

# the database backends (postgres_admin, postgres_schema_url, database_url) are shared by
# every API test: tests/api/conftest.py


@pytest.fixture
def store(tmp_path: Path, database_url: str | None) -> Iterator[Store]:
    """A new, empty, migrated store on each backend."""
    opened = open_store(tmp_path / "store", database_url=database_url)
    try:
        yield opened
    finally:
        opened.close()


#: (agency, country) of the exhibits made by ``make_exhibit``
AGENCIES = {"Port of Spain lab": "TT", "Georgetown lab": "GY", "San Fernando lab": "TT"}

MakeExhibit = Callable[..., Exhibit]


@pytest.fixture
def make_exhibit(store: Store) -> MakeExhibit:
    """Store an exhibit (its original bytes named after it) in a session and return it."""

    def make(
        session: Session,
        agency: str,
        case_id: str,
        exhibit_id: str,
        *,
        content: bytes | None = None,
        kind: str = "cartridge_case",
    ) -> Exhibit:
        agency_row = repository.get_or_create_agency(session, agency, country=AGENCIES[agency])
        case = repository.get_or_create_case(
            session, agency_row, case_id, occurred_on=datetime.date(2025, 3, 1)
        )
        original = store.originals.put_bytes(
            content if content is not None else f"{agency}/{exhibit_id}".encode(),
            name=f"{exhibit_id}.x3p",
        )
        added = repository.add_exhibit(
            session, case, exhibit_id, kind=kind, files=[original], modality="topography"
        )
        return added.exhibit

    return make

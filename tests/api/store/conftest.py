"""Fixtures of the store's tests: every database test runs on SQLite and on PostgreSQL.

The PostgreSQL runs use ``$BALLISTICS_TEST_POSTGRES_URL`` (default: the local server with
trust authentication) and give each test a schema of its own, created empty before it and
dropped after it, reached through the connection's ``search_path``: tests never share a mutable
database, and may run in parallel. They are marked ``postgres`` and skipped, with the reason,
when the server cannot be reached (failed instead when ``$BALLISTICS_REQUIRE_POSTGRES`` is 1).
"""

from __future__ import annotations

import datetime
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from api.store import repository
from api.store.database import Store, open_store
from api.store.models import Exhibit

POSTGRES_URL_VARIABLE = "BALLISTICS_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: set (e.g. in CI, where the server runs) to fail instead of skip when PostgreSQL is unreachable
REQUIRE_POSTGRES_VARIABLE = "BALLISTICS_REQUIRE_POSTGRES"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the test PostgreSQL server (skips the test when it is unreachable)."""
    url = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        engine.dispose()
        reason = (
            f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} is unreachable "
            f"(set {POSTGRES_URL_VARIABLE}): {str(error).splitlines()[0]}"
        )
        if os.environ.get(REQUIRE_POSTGRES_VARIABLE, "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"{reason}; {REQUIRE_POSTGRES_VARIABLE} is set, so this is an error")
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_schema_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL whose connections see only a new, empty schema, dropped after the test."""
    admin: Engine = request.getfixturevalue("postgres_admin")
    schema = f"test_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '20s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for the SQLite default, else a URL of an isolated PostgreSQL schema."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


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

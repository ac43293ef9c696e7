"""Fixtures shared by the application's tests: each database backend, synthetic exhibits.

Every database test runs on SQLite and on PostgreSQL. The PostgreSQL runs use
``$BALLISTICS_TEST_POSTGRES_URL`` (default: the local server with trust authentication) and give
each test a schema of its own, created empty before it and dropped after it, reached through the
connection's ``search_path``: tests never share a mutable database, and may run in parallel. They
are marked ``postgres`` and skipped, with the reason, when the server cannot be reached (failed
instead when ``$BALLISTICS_REQUIRE_POSTGRES`` is 1).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.api.network import write_network_exhibits
from tests.api.synthetic_exhibits import write_exhibits, write_synthetic_casings

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


@pytest.fixture(scope="module")
def exhibits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest of six synthetic exhibits, three pistols fired twice (files beside it)."""
    return write_exhibits(tmp_path_factory.mktemp("exhibits"))


@pytest.fixture(scope="session")
def casings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of three synthetic X3P casings: two firings of one pistol, one of another."""
    folder = tmp_path_factory.getbasetemp() / "synthetic-casings"
    if not folder.is_dir():  # test_pairs writes the same folder: write the files once a session
        folder.mkdir()
        write_synthetic_casings(folder)
    return folder


@pytest.fixture(scope="session")
def exhibit_files(tmp_path_factory) -> tuple[Path, list[dict[str, str]]]:
    """Six synthetic X3P files filed by the network's labs, and their manifest rows (mates:
    firings of one pistol)."""
    return write_network_exhibits(tmp_path_factory.mktemp("exhibits"))

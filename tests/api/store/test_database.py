"""Opening a store: migrations, upgrades of existing databases, refusals, connection settings."""

from __future__ import annotations

import datetime
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from api.store import repository
from api.store.database import (
    SQLITE_FILE_NAME,
    Store,
    alembic_config,
    current_revision,
    head_revision,
    open_store,
)
from api.store.errors import StoreVersionError
from api.store.models import Agency, Base

TABLES = {
    "agencies",
    "cases",
    "exhibits",
    "exhibit_files",
    "exhibit_marks",
    "exhibit_descriptors",
    "correlation_results",
    "links",
    "audit_log",
    "jobs",
    "store_state",
    "users",
    "sessions",
    "notifications",
}


def test_open_store_creates_every_table_at_the_head_revision(store: Store) -> None:
    assert set(inspect(store.engine).get_table_names()) >= TABLES
    assert current_revision(store.engine) == head_revision() == "0007"


def test_migrations_and_models_describe_the_same_schema(store: Store) -> None:
    # a model changed without a revision (or the reverse) would show up here as a difference
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_sqlite_default_lives_in_the_store_folder_in_wal_mode(tmp_path: Path) -> None:
    opened = open_store(tmp_path / "new-store")
    try:
        assert opened.backend == "sqlite"
        assert (tmp_path / "new-store" / SQLITE_FILE_NAME).is_file()
        with opened.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        opened.close()


def test_opening_an_existing_store_again_changes_nothing(
    tmp_path: Path, database_url: str | None
) -> None:
    first = open_store(tmp_path / "store", database_url=database_url)
    try:
        with first.transaction(write=True) as session:
            repository.get_or_create_agency(session, "Georgetown lab", country="GY")
    finally:
        first.close()
    second = open_store(tmp_path / "store", database_url=database_url)
    try:
        assert current_revision(second.engine) == head_revision()
        with second.transaction() as session:
            assert session.scalars(select(Agency.name)).all() == ["Georgetown lab"]
    finally:
        second.close()


def test_a_database_at_an_older_revision_is_upgraded_with_its_data(
    tmp_path: Path, database_url: str | None
) -> None:
    url = database_url or f"sqlite:///{tmp_path / 'store' / SQLITE_FILE_NAME}"
    (tmp_path / "store").mkdir()
    engine = create_engine(url)
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            # SQLite keeps UTC as naive text; PostgreSQL is told the offset
            offset = "+00" if connection.dialect.name == "postgresql" else ""
            connection.execute(
                text(
                    "INSERT INTO agencies (public_id, name, country, role, created_at) "
                    "VALUES ('01JAAAAAAAAAAAAAAAAAAAAAAA', 'Abidjan lab', 'CI', 'lab', "
                    f"'2025-01-01 00:00:00{offset}')"
                )
            )
        assert current_revision(engine) == "0001"
        assert "jobs" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()

    upgraded = open_store(tmp_path / "store", database_url=database_url)
    try:
        assert current_revision(upgraded.engine) == head_revision()
        assert set(inspect(upgraded.engine).get_table_names()) >= TABLES
        with upgraded.transaction() as session:
            agency = repository.get_agency(session, "Abidjan lab")
            assert agency.country == "CI"
            assert agency.created_at == datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    finally:
        upgraded.close()


def test_a_database_from_a_newer_release_is_refused(
    tmp_path: Path, database_url: str | None
) -> None:
    opened = open_store(tmp_path / "store", database_url=database_url)
    try:
        with opened.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        opened.close()
    with pytest.raises(StoreVersionError, match=r"9999_future.*upgrade ballistics"):
        open_store(tmp_path / "store", database_url=database_url)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://root@localhost/ballistics", "neither a PostgreSQL nor a SQLite URL"),
        ("not a url", "not a database URL"),
        ("sqlite://", "in-memory SQLite"),
    ],
)
def test_unsupported_database_urls_are_refused_with_the_variable_named(
    tmp_path: Path, url: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=f"BALLISTICS_DATABASE_URL.*{problem}"):
        open_store(tmp_path / "store", database_url=url)


def test_a_password_in_the_url_is_not_shown_in_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as refusal:
        open_store(tmp_path / "store", database_url="mysql://root:hunter2@localhost/db")
    assert "hunter2" not in str(refusal.value)


def test_timestamps_come_back_timezone_aware_in_utc(store: Store) -> None:
    with store.transaction(write=True) as session:
        agency = repository.get_or_create_agency(session, "Georgetown lab", country="GY")
        agency.created_at = datetime.datetime(
            2025, 6, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-4))
        )
    with store.transaction() as session:
        created_at = session.scalars(select(Agency.created_at)).one()
    assert created_at == datetime.datetime(2025, 6, 1, 16, 0, tzinfo=datetime.UTC)
    assert created_at.utcoffset() == datetime.timedelta(0)


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="no time zone"):  # noqa: SIM117 - clearer apart
        with store.transaction(write=True) as session:
            agency = repository.get_or_create_agency(session, "Georgetown lab", country="GY")
            agency.created_at = datetime.datetime(2025, 6, 1, 12, 0)
            session.flush()
    with store.transaction() as session:
        assert session.scalars(select(Agency)).all() == []


def test_processes_opening_a_new_store_at_once_migrate_it_once(
    tmp_path: Path, database_url: str | None
) -> None:
    opened: list[Store] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(open_store(tmp_path / "store", database_url=database_url))
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert len(opened) == 3
        assert current_revision(opened[0].engine) == head_revision()
    finally:
        for store in opened:
            store.close()


def test_foreign_keys_are_enforced_after_the_upgrade(store: Store) -> None:
    # the SQLite upgrade switches them off while it runs; every connection must have them back
    for _ in range(3):
        with pytest.raises(IntegrityError), store.transaction(write=True) as session:
            session.execute(
                text(
                    "INSERT INTO cases (public_id, agency_pk, case_id, created_at) "
                    "VALUES ('01JBBBBBBBBBBBBBBBBBBBBBBB', 999, 'C-1', CURRENT_TIMESTAMP)"
                )
            )

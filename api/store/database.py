"""Open the evidence store: the database (SQLite by default, PostgreSQL by URL) and its folders.

Nothing here runs at import: :func:`open_store` builds the engine, brings the schema to the
newest revision this code knows, and returns a :class:`Store`. The layout of a store folder::

    ballistics.sqlite3            the database, unless a PostgreSQL URL is given
    originals/ab/cd/<sha256>      the original files, content-addressed (api.store.originals),
                                  unless another location is given (a folder or fsspec URL)

Prepared marks and descriptors live in the database itself (tables ``exhibit_marks`` and
``exhibit_descriptors``), so that they are written in the same transaction as their exhibit.
"""

from __future__ import annotations

import contextlib
import logging

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from api.store.errors import StoreVersionError
from api.store.originals import Originals, open_originals

logger = logging.getLogger(__name__)

#: the environment variable the command line reads a database URL from (see CONTRACT.md)
DATABASE_URL_VARIABLE = "BALLISTICS_DATABASE_URL"
SQLITE_FILE_NAME = "ballistics.sqlite3"
ORIGINALS_FOLDER_NAME = "originals"
MIGRATIONS_FOLDER = Path(__file__).resolve().parent / "migrations"
#: seconds a SQLite connection waits for another writer before "database is locked"
SQLITE_BUSY_TIMEOUT_S = 30.0
# any constant: the key of the PostgreSQL advisory lock that serialises concurrent upgrades
_MIGRATION_LOCK_KEY = 0x62616C6C  # "ball"
# execution option read by the SQLite "begin" hook
_IMMEDIATE_OPTION = "ballistics_sqlite_immediate"


@dataclass(frozen=True, eq=False)
class Store:
    """An open evidence store.

    Parameters
    ----------
    folder
        The store folder (``--store``).
    engine
        The SQLAlchemy engine of its database.
    session_factory
        Makes ORM sessions on ``engine`` (``expire_on_commit=False``, so that objects stay
        readable after their transaction).
    originals
        The content-addressed original files: under ``folder / "originals"``, or where
        ``open_store`` was told (a folder, or an fsspec URL such as an S3 bucket).
    write_session_factory
        Like ``session_factory``, for transactions that write (see :meth:`transaction`).
    """

    folder: Path
    engine: Engine
    session_factory: sessionmaker[Session]
    originals: Originals
    write_session_factory: sessionmaker[Session]

    @property
    def backend(self) -> str:
        """The database's dialect name: ``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """Return a new session; the caller commits (or rolls back) and closes it."""
        return self.session_factory()

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """Yield a session in a transaction that commits on success and rolls back on error.

        Parameters
        ----------
        write
            The transaction will write. On SQLite it then takes the database's write lock
            when it begins (``BEGIN IMMEDIATE``), so that a transaction that reads before it
            writes waits for other writers instead of failing half-way with "database is
            locked". PostgreSQL needs no such hint.
        """
        session = self.write_session_factory() if write else self.session_factory()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def close(self) -> None:
        """Close every pooled database connection."""
        self.engine.dispose()


def open_store(
    store_dir: Path | str, *, database_url: str | None = None, originals_url: str | None = None
) -> Store:
    """Open (creating it when needed) the store in ``store_dir`` and upgrade its schema.

    Parameters
    ----------
    store_dir
        The store folder; created when missing. It always holds the original files, and the
        SQLite database ``ballistics.sqlite3`` unless ``database_url`` is given.
    database_url
        A SQLAlchemy URL of the database, e.g. ``postgresql+psycopg://user@host:5432/name``
        (``postgresql://`` is read as psycopg 3), or a ``sqlite:///`` file. None: the SQLite
        file in ``store_dir``. The command line passes ``$BALLISTICS_DATABASE_URL``.
    originals_url
        Where the original files are kept: a folder, or an fsspec URL (``s3://bucket/originals``,
        shared by processes on several machines). None: ``store_dir / "originals"``. The
        command line passes ``$BALLISTICS_ORIGINALS_URL``.

    Returns
    -------
    Store
        The open store; call :meth:`Store.close` when done.

    Raises
    ------
    StoreVersionError
        The database was written by a newer release (its schema revision is unknown here).
    ValueError
        ``database_url`` is not a SQLite or PostgreSQL URL, or ``originals_url`` names an
        unknown protocol or one whose package is not installed.
    """
    folder = Path(store_dir)
    # checked before anything is created or migrated: a misspelled URL changes nothing
    originals = open_originals(
        folder / ORIGINALS_FOLDER_NAME if originals_url is None else originals_url
    )
    folder.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        url = URL.create("sqlite", database=str(folder / SQLITE_FILE_NAME))
    else:
        url = _checked_url(database_url)
    engine = _create_engine(url)
    try:
        if url.drivername.startswith("sqlite") and url.database:
            # SQLite answers "database is locked" at once, without waiting, to a connection that
            # switches a brand-new file to WAL while another migrates it; processes opening one
            # new store together take turns here instead (PostgreSQL has its advisory lock)
            with _file_lock(Path(f"{url.database}.lock")):
                upgrade_database(engine)
        else:
            upgrade_database(engine)
    except BaseException:
        engine.dispose()
        raise
    logger.debug("opened store %s on %s", folder, url.render_as_string(hide_password=True))
    return Store(
        folder=folder,
        engine=engine,
        session_factory=sessionmaker(engine, expire_on_commit=False),
        originals=originals,
        write_session_factory=sessionmaker(
            engine.execution_options(**{_IMMEDIATE_OPTION: True}), expire_on_commit=False
        ),
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) across processes."""
    with path.open("a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def alembic_config() -> Config:
    """Return an Alembic configuration of the store's migrations, built in code (no .ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    return config


def head_revision() -> str:
    """Return the newest schema revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its revisions
        raise RuntimeError(f"no schema revision found in {MIGRATIONS_FOLDER}; reinstall ballistics")
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(engine: Engine, *, revision: str = "head") -> None:
    """Bring the database's schema to ``revision`` (default: the newest), refusing newer ones.

    The check and the upgrade run in one transaction that first takes a lock (the write lock
    on SQLite, an advisory lock on PostgreSQL), so that processes opening the same new store
    at once do not both create its tables; the second finds it upgraded and does nothing.

    Raises
    ------
    StoreVersionError
        The database is at a revision this code does not know.
    """
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    with engine.connect() as connection:
        connection.execution_options(**{_IMMEDIATE_OPTION: True})
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the old one; with foreign keys on,
            # that drop would cascade into the rows that refer to it. SQLite's own procedure:
            # switch them off outside the transaction, check them all before committing.
            _set_sqlite_foreign_keys(connection, enabled=False)
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                    )
                _check_known_revisions(connection, script, engine)
                before = MigrationContext.configure(connection).get_current_revision()
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                after = MigrationContext.configure(connection).get_current_revision()
                if sqlite:
                    _check_sqlite_foreign_keys(connection)
        finally:
            if sqlite:
                _set_sqlite_foreign_keys(connection, enabled=True)
    if before != after:
        logger.info("database schema upgraded from revision %s to %s", before, after)


def _set_sqlite_foreign_keys(connection: Connection, *, enabled: bool) -> None:
    # on the driver's connection, outside any transaction (inside one SQLite ignores the pragma)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if enabled else 'OFF'}")
    finally:
        cursor.close()


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if violations:
        raise RuntimeError(
            f"schema upgrade left {len(violations)} rows whose foreign keys point nowhere (first: "
            f"{tuple(violations[0])}); the upgrade was rolled back: report this as a bug"
        )


def _check_known_revisions(connection: Connection, script: ScriptDirectory, engine: Engine) -> None:
    heads = MigrationContext.configure(connection).get_current_heads()
    for revision in heads:
        try:
            known = script.get_revision(revision) is not None
        except CommandError:
            known = False
        if not known:
            raise StoreVersionError(
                f"database {engine.url.render_as_string(hide_password=True)} is at schema "
                f"revision {revision!r}, which this version of ballistics does not know (newest "
                f"known: {script.get_current_head()!r}); it was written by a newer release: "
                "upgrade ballistics to open it."
            )


def _checked_url(database_url: str) -> URL:
    try:
        url = make_url(database_url)
    except ArgumentError as error:
        raise ValueError(
            f"{DATABASE_URL_VARIABLE}: {database_url!r} is not a database URL; give e.g. "
            "postgresql+psycopg://user@127.0.0.1:5432/ballistics"
        ) from error
    if url.drivername in ("postgresql", "postgres"):
        # SQLAlchemy's default PostgreSQL driver is psycopg2; the store is tested on psycopg 3
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"{DATABASE_URL_VARIABLE}: {url.render_as_string(hide_password=True)!r} is neither "
            "a PostgreSQL nor a SQLite URL; give postgresql+psycopg://... or sqlite:///..."
        )
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise ValueError(
            f"{DATABASE_URL_VARIABLE}: an in-memory SQLite database is lost between connections; "
            "give a file, sqlite:///path/to/ballistics.sqlite3"
        )
    return url


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            # the pool hands a connection to one thread at a time; the API serves from several
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        )
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    # Python's sqlite3 module opens transactions itself, and not before DDL; handing that to
    # the "begin" hook makes migrations transactional and lets writers take the lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        # readers never block the writer, nor it them
        cursor.execute("PRAGMA journal_mode = WAL")
        # a committed decision (a confirmed link, an audit line) survives a power cut
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_IMMEDIATE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

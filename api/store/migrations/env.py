"""Alembic environment of the evidence store.

:func:`api.store.database.open_store` runs it through ``alembic.command.upgrade`` with an open
connection in ``config.attributes["connection"]``, inside the transaction that holds the
migration lock. Without one (a developer's own Alembic call) it connects to the configuration's
``sqlalchemy.url``. A new revision is made in code, e.g.::

    from alembic import command
    from api.store.database import alembic_config
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "sqlite:///ballistics-data/ballistics.sqlite3")
    command.revision(config, "what changes", autogenerate=True, rev_id="0003")

Later revisions that alter a table on SQLite must use ``op.batch_alter_table`` (SQLite copies
the table); the upgrade runs with SQLite's foreign keys off and checks them all before it
commits, so that dropping the old copy does not cascade into the rows that refer to it.
Logging is left as the caller set it up: a library does not configure handlers.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from api.store.models import Base

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters a table by copying it: later revisions must use batch operations
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_offline() -> None:
    """Write the migrations as SQL (``alembic upgrade --sql``) for a DBA to review and run."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the caller's connection, or on a new one to the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=NullPool)
    try:
        with engine.connect() as own_connection:
            _configure(own_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

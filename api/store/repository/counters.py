"""The store's change counters: how a process's vector index knows what it has not seen yet."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.store.models import (
    StoreState,
)
from api.store.notify import EXHIBITS, notify


@dataclass(frozen=True)
class StoreGeneration:
    """The store's change counters (table ``store_state``), as a process's index has seen them.

    Parameters
    ----------
    epoch
        Goes up when the whole vector index is rebuilt (``ballistics reindex``).
    generation
        Goes up in every transaction that stores an exhibit's descriptor; the exhibit's
        ``index_generation`` is the value it went up to.
    """

    epoch: int = 0
    generation: int = 0


def store_generation(session: Session) -> StoreGeneration:
    """Return the store's change counters (zeros when the ``store_state`` row is missing).

    Every exhibit whose ``index_generation`` is at most the returned generation is committed:
    the increment holds the row's lock until its transaction ends (SQLite has one writer).
    """
    row = session.execute(
        select(StoreState.index_epoch, StoreState.generation).where(StoreState.id == 1)
    ).first()
    if row is None:
        return StoreGeneration()
    return StoreGeneration(epoch=int(row[0]), generation=int(row[1]))


def advance_index_epoch(session: Session) -> StoreGeneration:
    """Count a rebuild of the vector index; return the counters as this transaction leaves them.

    Other processes seeing the new epoch reload their index instead of catching it up.
    """
    epoch = _advance_store_state(session, "index_epoch")
    return StoreGeneration(epoch=epoch, generation=store_generation(session).generation)


def advance_generation(session: Session) -> int:
    """Count a transaction that stores a descriptor; return the generation it went up to.

    The exhibit whose descriptor it is takes this value as its ``index_generation``.
    """
    return _advance_store_state(session, "generation")


def _advance_store_state(session: Session, column: str) -> int:
    """Add one to ``store_state.<column>`` (creating the row when missing); return the new value.

    One UPDATE that reads and writes the row: on PostgreSQL it takes the row's lock, which
    orders the transactions that count, so generations become visible in order.
    """
    counter = getattr(StoreState, column)
    statement = (
        update(StoreState)
        .where(StoreState.id == 1)
        .values({column: counter + 1})
        .returning(counter)
        .execution_options(synchronize_session=False)
    )
    value = session.execute(statement).scalar_one_or_none()
    if value is None:  # a store made without the migrations (metadata.create_all)
        try:
            with session.begin_nested():
                session.execute(insert(StoreState).values(id=1, generation=0, index_epoch=0))
        except IntegrityError:  # created by a concurrent transaction meanwhile
            pass
        value = session.execute(statement).scalar_one()
    # other processes' listeners catch their index up once this transaction commits
    notify(session, EXHIBITS)
    return int(value)

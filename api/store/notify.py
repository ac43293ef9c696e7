"""Tell the other processes on one PostgreSQL database what changed, within a second.

A transaction that stores a descriptor or queues a job also sends ``NOTIFY`` (:func:`notify`),
which PostgreSQL delivers to every listening connection when, and only if, the transaction
commits. Each process that wants to know runs one :class:`ChangeListener`: a thread holding
its own connection with ``LISTEN``, calling a handler per topic (catch up the vector index,
wake the job runners). A notification is only a hint to look now: the database stays the truth,
every process still catches up before each search and polls its queue, so a lost notification
(a listener reconnecting, a process starting) costs at most one poll. After a reconnect every
handler is called once, for what may have been missed meanwhile.

SQLite has no such thing: there :func:`notify` does nothing and the listener does not start;
processes learn of changes at their next catch-up or poll, as before.

The channel is named after the connection's schema (``ballistics_<schema>``), so that stores
kept in separate schemas of one database (the tests do) do not wake each other.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

#: a descriptor was stored or replaced, or the index was rebuilt: catch up the vector index
EXHIBITS = "exhibits"
#: a job was queued or returned to the queue: look at the queue
JOBS = "jobs"
TOPICS = (EXHIBITS, JOBS)

_CHANNEL_SQL = "'ballistics_' || current_schema()"


def notify(session: Session, topic: str) -> None:
    """Send ``topic`` to the store's listeners when ``session``'s transaction commits
    (PostgreSQL; nothing on SQLite)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown change topic {topic!r}; use one of {', '.join(TOPICS)}.")
    if session.get_bind().dialect.name != "postgresql":
        return
    # the same topic twice in one transaction is delivered once (PostgreSQL folds them)
    session.execute(text(f"SELECT pg_notify({_CHANNEL_SQL}, :topic)"), {"topic": topic})


Handler = Callable[[], object]


class ChangeListener:
    """A thread that listens for the store's changes and calls ``handlers[topic]`` for each.

    Parameters
    ----------
    engine
        The store's engine (its URL and driver settings are used for a connection of the
        listener's own, outside the pool).
    handlers
        What to do on each topic (:data:`EXHIBITS`, :data:`JOBS`); called in the listener's
        thread, once per burst of notifications of the topic. A handler that raises is logged
        and the listener goes on.
    reconnect_s
        Seconds between attempts to reconnect after the connection was lost.
    """

    def __init__(
        self, engine: Engine, handlers: Mapping[str, Handler], *, reconnect_s: float = 1.0
    ) -> None:
        unknown = set(handlers) - set(TOPICS)
        if unknown:
            raise ValueError(f"unknown change topics {sorted(unknown)}; use {TOPICS}.")
        self.engine = engine
        self.handlers = dict(handlers)
        self.reconnect_s = reconnect_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None  # the listener's own, without a pool
        #: set once the listener has its first connection and is listening
        self.listening = threading.Event()
        #: notifications received (for tests and metrics)
        self.received = 0

    @property
    def supported(self) -> bool:
        """Whether the database can notify (PostgreSQL)."""
        return self.engine.dialect.name == "postgresql"

    def start(self) -> bool:
        """Start listening in a background thread; return False (and do nothing) on SQLite."""
        if not self.supported or not self.handlers:
            return False
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="ballistics-listen", daemon=True)
            self._thread.start()
        return True

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stop listening and close the connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- internals -----------------------------------------------------------------------------

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                connection = self._connect()
            except Exception as error:
                logger.warning(
                    "cannot listen for the store's changes (%s); retrying in %.0f s",
                    error,
                    self.reconnect_s,
                )
                self._stop.wait(self.reconnect_s)
                continue
            try:
                if not first:  # whatever was sent while the connection was away
                    self._dispatch(set(self.handlers))
                first = False
                self.listening.set()
                self._listen(connection)
            except Exception as error:
                if not self._stop.is_set():
                    logger.warning("lost the connection listening for changes: %s", error)
                    self._stop.wait(self.reconnect_s)
            finally:
                _close_quietly(connection)

    def _connect(self) -> Any:
        """A connection of the listener's own, outside the pool, listening; the caller closes
        it. Returned as SQLAlchemy's wrapper, whose ``driver_connection`` is psycopg's."""
        if self._engine is None:
            self._engine = create_engine(self.engine.url, poolclass=NullPool)
        wrapper = self._engine.raw_connection()
        try:
            connection = wrapper.driver_connection
            assert connection is not None
            connection.rollback()  # out of the driver's transaction, if any
            connection.autocommit = True
            channel = connection.execute(f"SELECT {_CHANNEL_SQL}").fetchone()
            name = str(channel[0]).replace('"', '""')
            connection.execute(f'LISTEN "{name}"')
        except BaseException:
            wrapper.close()
            raise
        return wrapper

    def _listen(self, wrapper: Any) -> None:
        connection = wrapper.driver_connection
        topics: set[str] = set()
        connection.add_notify_handler(lambda notice: topics.add(notice.payload))
        while not self._stop.is_set():
            # wait for the socket to become readable, then let the driver read what came
            readable, _, _ = select.select([connection.fileno()], [], [], 0.5)
            if not readable:
                continue
            connection.execute("SELECT 1")
            if topics:
                received, topics_now = len(topics), set(topics)
                topics.clear()
                self.received += received
                self._dispatch(topics_now)

    def _dispatch(self, topics: set[str]) -> None:
        for topic in sorted(topics):
            handler = self.handlers.get(topic)
            if handler is None:
                continue
            try:
                handler()
            except Exception:
                logger.exception("the handler of the change %r failed", topic)


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:
        logger.debug("closing the listening connection failed", exc_info=True)

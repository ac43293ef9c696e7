"""PostgreSQL notifications: sent with the transaction that stores or queues, heard at once.

A listener hears a topic only once the transaction that sent it commits, never for one rolled
back; it reconnects after its connection is cut and then calls every handler once (for what it
may have missed); on SQLite nothing is sent and the listener does not start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from api.store import repository
from api.store.database import Store, open_store
from api.store.notify import EXHIBITS, JOBS, ChangeListener, notify
from api.store.repository.jobs import release_job


class Heard:
    """What a listener's handlers were called with, with an event per topic."""

    def __init__(self) -> None:
        self.events = {topic: threading.Event() for topic in (EXHIBITS, JOBS)}
        self.calls: list[str] = []

    def handler(self, topic: str):
        def called() -> None:
            self.calls.append(topic)
            self.events[topic].set()

        return called

    def wait(self, topic: str, timeout_s: float = 1.0) -> bool:
        heard = self.events[topic].wait(timeout_s)
        self.events[topic].clear()
        return heard


@pytest.fixture
def postgres_store(tmp_path, postgres_schema_url) -> Iterator[Store]:
    opened = open_store(tmp_path / "store", database_url=postgres_schema_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def listening(postgres_store) -> Iterator[tuple[ChangeListener, Heard]]:
    heard = Heard()
    listener = ChangeListener(
        postgres_store.engine,
        {topic: heard.handler(topic) for topic in (EXHIBITS, JOBS)},
        reconnect_s=0.2,
    )
    assert listener.start() is True
    assert listener.listening.wait(10)
    try:
        yield listener, heard
    finally:
        listener.stop()


@pytest.mark.postgres
def test_a_queued_job_is_heard_within_a_second_of_its_commit_and_never_before(
    postgres_store, listening
):
    _, heard = listening
    with postgres_store.transaction(write=True) as session:
        job = repository.enqueue_job(session, "correlate")
        session.flush()
        assert not heard.wait(JOBS, 0.5)  # not before the commit
    started = time.monotonic()
    assert heard.wait(JOBS)
    assert time.monotonic() - started < 1.0
    assert heard.calls == [JOBS]
    # a released job is queued again: heard too
    with postgres_store.transaction(write=True) as session:
        claimed = repository.claim_next_job(session, worker="w")
        assert claimed is not None and claimed.id == job.id
    with postgres_store.transaction(write=True) as session:
        release_job(session, claimed)
    assert heard.wait(JOBS)


@pytest.mark.postgres
def test_a_stored_descriptor_is_heard_and_a_rolled_back_one_is_not(postgres_store, listening):
    _, heard = listening
    with pytest.raises(RuntimeError), postgres_store.transaction(write=True) as session:
        repository.advance_generation(session)
        raise RuntimeError("rolled back")
    assert not heard.wait(EXHIBITS, 0.7)
    with postgres_store.transaction(write=True) as session:
        repository.advance_generation(session)
    assert heard.wait(EXHIBITS)
    assert heard.calls == [EXHIBITS]


@pytest.mark.postgres
def test_stores_in_other_schemas_are_not_heard(listening, postgres_admin):
    _, heard = listening
    with postgres_admin.begin() as connection:  # what a store in the public schema sends
        connection.execute(text("SELECT pg_notify('ballistics_' || current_schema(), 'jobs')"))
    assert not heard.wait(JOBS, 0.7)


@pytest.mark.postgres
def test_the_listener_reconnects_and_then_calls_every_handler(postgres_store, listening):
    listener, heard = listening
    with postgres_store.transaction() as session:  # cut the listener's connection
        cut = session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query = 'LISTEN \"ballistics_' || current_schema() || '\"'"
            )
        ).all()
    assert cut
    assert heard.wait(EXHIBITS, 5.0) and heard.wait(JOBS, 1.0)  # after the reconnect
    with postgres_store.transaction(write=True) as session:
        repository.enqueue_job(session, "correlate")
    assert heard.wait(JOBS)
    assert listener.received == 1  # the reconnect's calls were not notifications


def test_sqlite_sends_nothing_and_does_not_listen(tmp_path):
    store = open_store(tmp_path / "store")
    try:
        with store.transaction(write=True) as session:
            notify(session, JOBS)  # nothing to send: no error either
            with pytest.raises(ValueError, match="unknown change topic"):
                notify(session, "everything")
        listener = ChangeListener(store.engine, {JOBS: lambda: None})
        assert listener.start() is False
        listener.stop()
    finally:
        store.close()

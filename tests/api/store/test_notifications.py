"""Notifications of confirmed links: who is told, that rejections and repeats tell no more."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.store import repository
from api.store.database import Store
from api.store.errors import NotFoundError
from api.store.models import Notification
from tests.api.store.conftest import MakeExhibit


def linked_pair(store: Store, make_exhibit: MakeExhibit) -> str:
    """A lead between a Trinidad and a Guyana exhibit, with investigators and bystanders."""
    with store.transaction(write=True) as session:
        first = make_exhibit(session, "Port of Spain lab", "TT-1", "TT-1-A")
        second = make_exhibit(session, "Georgetown lab", "GY-1", "GY-1-A")
        for name, country, role in (
            ("TT police", "TT", "investigator"),
            ("GY police", "GY", "investigator"),
            ("BB police", "BB", "investigator"),
            ("TT examiners", "TT", "examiner"),
            ("Other TT lab", "TT", "lab"),
        ):
            repository.get_or_create_agency(session, name, country=country, role=role)
        return repository.upsert_link(session, first, second, score=0.9).public_id


def decide(store: Store, link_id: str, status: str, *, comment: str | None = None) -> None:
    with store.transaction(write=True) as session:
        link = repository.get_link(session, link_id, for_update=True)
        examiners = repository.get_agency(session, "TT examiners")
        repository.set_link_status(session, link, status, by_agency=examiners, comment=comment)


def told(store: Store, kind: str | None = None) -> list[tuple[str, str]]:
    with store.transaction() as session:
        statement = select(Notification)
        if kind is not None:
            statement = statement.where(Notification.kind == kind)
        return sorted((line.agency.name, line.kind) for line in session.scalars(statement))


def unread(store: Store, agency: str) -> int:
    with store.transaction() as session:
        agency_pk = repository.get_agency(session, agency).id
        return repository.count_unread_notifications(session, agency_pk)


def test_confirming_tells_both_labs_and_the_investigators_of_both_countries(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    link_id = linked_pair(store, make_exhibit)
    assert told(store) == []
    decide(store, link_id, "confirmed")
    assert told(store) == [
        ("GY police", "link.confirmed"),
        ("Georgetown lab", "link.confirmed"),
        ("Port of Spain lab", "link.confirmed"),
        ("TT police", "link.confirmed"),
    ]
    assert unread(store, "TT police") == 1 and unread(store, "BB police") == 0
    with store.transaction() as session:
        agency_pk = repository.get_agency(session, "Georgetown lab").id
        (line,) = repository.list_notifications(session, agency_pk)
        assert line.link.public_id == link_id and line.link.decided_by is not None
        assert line.link.decided_by.name == "TT examiners"
        assert line.link.exhibit_a.case.case_id in ("TT-1", "GY-1")


def test_rejecting_a_lead_tells_nobody_of_a_confirmation(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    link_id = linked_pair(store, make_exhibit)
    decide(store, link_id, "rejected")
    assert told(store) == []


def test_a_repeated_decision_tells_nobody_again(store: Store, make_exhibit: MakeExhibit) -> None:
    link_id = linked_pair(store, make_exhibit)
    decide(store, link_id, "confirmed")
    with store.transaction(write=True) as session:
        agency_pk = repository.get_agency(session, "TT police").id
        assert repository.mark_notifications_read(session, agency_pk) == 1
    decide(store, link_id, "confirmed", comment="the same, with a comment")
    assert len(told(store)) == 4 and unread(store, "TT police") == 0
    # rejecting the confirmed link parts the cases again: the same agencies are told so
    decide(store, link_id, "rejected")
    assert [name for name, _ in told(store, "link.rejected")] == [
        "GY police",
        "Georgetown lab",
        "Port of Spain lab",
        "TT police",
    ]
    assert unread(store, "TT police") == 1


def test_unread_first_then_newest_and_reading_is_the_agencys(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    link_id = linked_pair(store, make_exhibit)
    decide(store, link_id, "confirmed")
    decide(store, link_id, "rejected")
    with store.transaction(write=True) as session:
        lab = repository.get_agency(session, "Port of Spain lab").id
        other = repository.get_agency(session, "Georgetown lab").id
        lines = repository.list_notifications(session, lab)
        assert [line.kind for line in lines] == ["link.rejected", "link.confirmed"]
        repository.mark_notifications_read(session, lab, lines[0].id)
        lines = repository.list_notifications(session, lab)
        assert [(line.kind, line.read_at is None) for line in lines] == [
            ("link.confirmed", True),
            ("link.rejected", False),
        ]
        assert repository.count_unread_notifications(session, other) == 2
        with pytest.raises(NotFoundError):
            repository.mark_notifications_read(session, other, lines[0].id)

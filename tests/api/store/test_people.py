"""People's accounts and sessions in the store: hashes, the brake, validity of sessions."""

from __future__ import annotations

import datetime

import pytest
from sqlalchemy import select

from api.store import repository
from api.store.database import Store
from api.store.errors import ConflictError
from api.store.models import AuditEntry, SignInSession, User, utc_now

PASSWORD = "correct horse battery"


def add_person(store: Store, email: str = "Ana@Lab.tt", *, role: str = "examiner") -> int:
    with store.transaction(write=True) as session:
        agency = repository.get_or_create_agency(session, "Port of Spain lab", country="TT")
        return repository.create_user(
            session, agency, email, role=role, password=PASSWORD, display_name="Ana"
        ).id


def test_a_person_is_stored_with_a_hash_and_a_lower_cased_email(store: Store) -> None:
    add_person(store)
    with store.transaction() as session:
        user = repository.find_user(session, "ANA@lab.TT")
        assert user is not None and user.email == "ana@lab.tt"
        assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")
        assert repository.verify_password(user.password_hash, PASSWORD)
        assert not repository.verify_password(user.password_hash, PASSWORD + "!")
        assert not repository.verify_password(None, PASSWORD)
        lines = session.scalars(select(AuditEntry).where(AuditEntry.action == "person.add"))
        assert [line.details["email"] for line in lines] == ["ana@lab.tt"]


def test_refusals_of_a_new_person(store: Store) -> None:
    add_person(store)
    with store.transaction(write=True) as session:
        agency = repository.get_agency(session, "Port of Spain lab")
        with pytest.raises(ConflictError, match="exists already"):
            repository.create_user(session, agency, "ana@lab.tt", role="lab", password=PASSWORD)
        with pytest.raises(ValueError, match="at least 10"):
            repository.create_user(session, agency, "bo@lab.tt", role="lab", password="short")
        with pytest.raises(ValueError, match="not an address"):
            repository.create_user(session, agency, "bo", role="lab", password=PASSWORD)
        with pytest.raises(ValueError, match="role"):
            repository.create_user(session, agency, "bo@lab.tt", role="chief", password=PASSWORD)


def test_the_brake_locks_after_five_failures_and_grows(store: Store) -> None:
    add_person(store)
    now = utc_now()
    with store.transaction(write=True) as session:
        user = repository.find_user(session, "ana@lab.tt")
        assert user is not None
        locks = [repository.record_failed_sign_in(session, user, now=now) for _ in range(5)]
        assert locks[:4] == [None] * 4
        assert locks[4] == now + datetime.timedelta(seconds=60)
        assert repository.is_locked(user, now=now + datetime.timedelta(seconds=59))
        assert not repository.is_locked(user, now=now + datetime.timedelta(seconds=61))
        later = now + datetime.timedelta(seconds=61)
        for _ in range(5):
            lock = repository.record_failed_sign_in(session, user, now=later)
        assert lock == later + datetime.timedelta(seconds=120)
        repository.record_successful_sign_in(session, user)
        assert user.failed_sign_ins == 0 and user.locked_until is None


def test_sessions_are_found_by_token_until_revoked_expired_or_disabled(store: Store) -> None:
    user_pk = add_person(store)
    with store.transaction(write=True) as session:
        user = session.get(User, user_pk)
        assert user is not None
        opened = repository.create_session(session, user, lifetime=datetime.timedelta(hours=12))
        short = repository.create_session(session, user, lifetime=datetime.timedelta(seconds=1))
    assert opened.record.id != opened.token and len(opened.record.id) == 64
    with store.transaction() as session:
        assert session.scalars(select(SignInSession.id)).all()  # the hashes only
        assert opened.token not in session.scalars(select(SignInSession.id)).all()
        found = repository.find_session(session, opened.token)
        assert found is not None and found.user.email == "ana@lab.tt"
        assert repository.find_session(session, "not a token") is None
        later = utc_now() + datetime.timedelta(seconds=2)
        assert repository.find_session(session, short.token, now=later) is None
    with store.transaction(write=True) as session:
        repository.revoke_agency(session, "Port of Spain lab")
    with store.transaction() as session:
        assert repository.find_session(session, opened.token) is None


def test_a_revoked_session_or_a_disabled_person_opens_nothing(store: Store) -> None:
    user_pk = add_person(store)
    with store.transaction(write=True) as session:
        user = session.get(User, user_pk)
        assert user is not None
        first = repository.create_session(session, user, lifetime=datetime.timedelta(hours=1))
        second = repository.create_session(session, user, lifetime=datetime.timedelta(hours=1))
        assert repository.revoke_session(session, first.token) is not None
        assert repository.revoke_session(session, first.token) is None  # idempotent
        repository.set_user_language(session, user_pk, "ar")
    with store.transaction(write=True) as session:
        assert repository.find_session(session, first.token) is None
        found = repository.find_session(session, second.token)
        assert found is not None and found.user.language == "ar"
        found.user.disabled_at = utc_now()
    with store.transaction() as session:
        assert repository.find_session(session, second.token) is None

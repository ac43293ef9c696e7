"""`ballistics user add`: a person under an agency, the password from standard input only.

Each test runs on a SQLite store and on a PostgreSQL schema (through
``$BALLISTICS_DATABASE_URL``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from api.cli import EXIT_BAD_INPUT, main
from api.store import repository
from api.store.database import DATABASE_URL_VARIABLE, open_store
from api.store.models import AuditEntry, User

PASSWORD = "a long enough secret"


@pytest.fixture
def folder(tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store with the agency "Port of Spain lab" (TT)."""
    if database_url is None:
        monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(DATABASE_URL_VARIABLE, database_url)
    store = open_store(tmp_path / "store", database_url=database_url)
    try:
        with store.transaction(write=True) as session:
            repository.get_or_create_agency(session, "Port of Spain lab", country="TT")
    finally:
        store.close()
    return tmp_path / "store"


def run_user_add(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    folder: Path,
    *args: str,
    password: str = PASSWORD,
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\nignored second line\n"))
    status = main(["user", "add", *args, "--password-stdin", "--store", str(folder)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_user_add_stores_the_person_with_a_hash_and_prints_json(
    folder: Path, database_url: str | None, capsys, monkeypatch
) -> None:
    status, out, err = run_user_add(
        capsys, monkeypatch, folder, "Ana@Lab.TT", "--agency", "Port of Spain lab",
        "--role", "examiner", "--name", "Ana Ramdial", "--json",
    )  # fmt: skip
    assert status == 0, err
    assert json.loads(out) == {
        "email": "ana@lab.tt",
        "display_name": "Ana Ramdial",
        "agency": "Port of Spain lab",
        "country": "TT",
        "role": "examiner",
    }
    assert PASSWORD not in out
    store = open_store(folder, database_url=database_url)
    try:
        with store.transaction() as session:
            user = session.scalars(select(User)).one()
            assert user.password_hash != PASSWORD and PASSWORD not in user.password_hash
            assert repository.verify_password(user.password_hash, PASSWORD)
            actions = session.scalars(select(AuditEntry.action)).all()
            assert "person.add" in actions
            assert all(PASSWORD not in str(line.details) for line in session.scalars(
                select(AuditEntry)))  # fmt: skip
    finally:
        store.close()


@pytest.mark.parametrize(
    ("args", "password", "names"),
    [
        (["--agency", "Nowhere lab", "--role", "lab"], PASSWORD, "Nowhere lab"),
        (["--agency", "Port of Spain lab", "--role", "lab"], "short", "at least 10"),
        (["--agency", "Port of Spain lab", "--role", "chief"], PASSWORD, "--role"),
    ],
    ids=["unknown-agency", "short-password", "unknown-role"],
)
def test_user_add_refusals_are_one_line_and_exit_2(
    folder: Path, capsys, monkeypatch, args: list[str], password: str, names: str
) -> None:
    status, out, err = run_user_add(
        capsys, monkeypatch, folder, "bo@lab.tt", *args, password=password
    )
    assert status == EXIT_BAD_INPUT
    assert out == ""
    assert len(err.splitlines()) == 1 and names in err, err


def test_user_add_refuses_an_existing_email_whatever_its_case(
    folder: Path, capsys, monkeypatch
) -> None:
    args = ("--agency", "Port of Spain lab", "--role", "lab")
    assert run_user_add(capsys, monkeypatch, folder, "bo@lab.tt", *args)[0] == 0
    status, _, err = run_user_add(capsys, monkeypatch, folder, "BO@lab.tt", *args)
    assert status == EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and "exists already" in err


def test_user_add_needs_the_password_on_standard_input(folder: Path, capsys) -> None:
    status = main(["user", "add", "bo@lab.tt", "--agency", "Port of Spain lab", "--role", "lab",
                   "--store", str(folder)])  # fmt: skip
    assert status == EXIT_BAD_INPUT
    assert "--password-stdin" in capsys.readouterr().err

"""`ballistics agency add | list | revoke`: country codes, the listing, revocation for good.

Each test runs on a SQLite store and on a PostgreSQL schema (through
``$BALLISTICS_DATABASE_URL``, as an operator would point the command line at a server).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from api.cli import EXIT_BAD_INPUT, main
from api.store import repository
from api.store.database import DATABASE_URL_VARIABLE, Store, open_store
from api.store.errors import NotFoundError
from api.store.models import Agency, Exhibit

AGENCY_FIELDS = {"agency", "id", "country", "role", "created_at", "active", "disabled_at"}


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run the command line in-process; return (exit status, standard output, standard error)."""
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(error: str, *, names: str) -> None:
    lines = error.splitlines()
    assert len(lines) == 1, error
    assert names in lines[0]
    assert "Traceback" not in error


@pytest.fixture(autouse=True)
def sqlite_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stores are SQLite files unless ``folder`` sets the database URL itself."""
    monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)


@pytest.fixture
def folder(tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ``--store`` folder; its database is SQLite in it, or the PostgreSQL schema."""
    if database_url is None:
        monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(DATABASE_URL_VARIABLE, database_url)
    return tmp_path / "store"


@pytest.fixture
def opened(folder: Path, database_url: str | None) -> Iterator[Store]:
    """A handle on the store the commands write, to check what they stored."""
    store = open_store(folder, database_url=database_url)
    try:
        yield store
    finally:
        store.close()


def add(capsys: pytest.CaptureFixture[str], folder: Path, name: str, country: str) -> dict:
    status, out, err = run_cli(
        capsys, "agency", "add", name, "--country", country, "--store", folder, "--json"
    )
    assert status == 0, err
    return json.loads(out)


def test_add_normalises_the_country_code_to_upper_case(capsys, folder):
    document = add(capsys, folder, "Port of Spain lab", " tt ")
    assert (document["agency"], document["country"], document["role"]) == (
        "Port of Spain lab",
        "TT",
        "lab",
    )
    assert add(capsys, folder, "Pristina lab", "XK")["country"] == "XK"  # Kosovo


@pytest.mark.parametrize("country", ["UK", "XX", "EU", "ZZ", "T1", "GBR", "Trinidad", ""])
def test_add_refuses_a_code_assigned_to_no_country_in_one_line(capsys, tmp_path, country):
    folder = tmp_path / "store"  # SQLite: the folder shows whether the store was touched
    status, out, err = run_cli(
        capsys, "agency", "add", "Lab", "--country", country, "--store", folder, "--json"
    )
    assert status == EXIT_BAD_INPUT
    assert out == ""
    assert_one_line_error(err, names="--country")
    assert f"country {country!r} is not an ISO 3166-1 alpha-2 code" in err
    assert not folder.exists()


def test_add_says_the_united_kingdom_is_gb(capsys, tmp_path):
    status, _, err = run_cli(
        capsys, "agency", "add", "Met", "--country", "UK", "--store", tmp_path / "store"
    )
    assert status == EXIT_BAD_INPUT
    assert "'GB' for the United Kingdom" in err
    assert add(capsys, tmp_path / "store", "Met", "gb")["country"] == "GB"


def test_list_shows_every_agency_and_never_a_key(capsys, folder):
    keys = [
        add(capsys, folder, "Port of Spain lab", "TT")["api_key"],
        add(capsys, folder, "Georgetown lab", "GY")["api_key"],
    ]
    status, out, _ = run_cli(capsys, "agency", "list", "--store", folder, "--json")
    assert status == 0
    agencies = json.loads(out)["agencies"]
    assert [agency["agency"] for agency in agencies] == ["Georgetown lab", "Port of Spain lab"]
    for agency in agencies:
        assert set(agency) == AGENCY_FIELDS
        assert agency["active"] is True and agency["disabled_at"] is None
        assert datetime.datetime.fromisoformat(agency["created_at"]).tzinfo is not None
    assert [agency["country"] for agency in agencies] == ["GY", "TT"]
    status, table, _ = run_cli(capsys, "agency", "list", "--store", folder)
    assert status == 0
    assert "2 agencies" in table and "Georgetown lab" in table and "active" in table
    for key in keys:
        assert key not in out and key not in table


def test_revoke_disables_the_agency_and_its_key_and_keeps_its_rows(capsys, folder, opened):
    api_key = add(capsys, folder, "Port of Spain lab", "TT")["api_key"]
    add(capsys, folder, "Georgetown lab", "GY")
    with opened.transaction(write=True) as session:
        agency = repository.get_agency(session, "Port of Spain lab")
        case = repository.get_or_create_case(session, agency, "C-1")
        original = opened.originals.put_bytes(b"scan", name="E-1.x3p")
        repository.add_exhibit(
            session, case, "E-1", kind="cartridge_case", files=[original], modality="topography"
        )

    status, out, _ = run_cli(
        capsys, "agency", "revoke", "Port of Spain lab", "--store", folder, "--json"
    )
    assert status == 0
    document = json.loads(out)
    assert (document["agency"], document["active"], document["changed"]) == (
        "Port of Spain lab",
        False,
        True,
    )
    revoked_at = datetime.datetime.fromisoformat(document["disabled_at"])

    with opened.transaction() as session:
        stored = session.scalar(select(Agency).where(Agency.name == "Port of Spain lab"))
        assert stored.disabled_at == revoked_at
        assert stored.api_key_hash is None  # no key of it can authenticate any more
        with pytest.raises(NotFoundError):
            repository.agency_for_api_key(session, api_key)
        # its evidence stays, still in its name; the other agency is untouched
        exhibit = session.scalar(select(Exhibit).where(Exhibit.exhibit_id == "E-1"))
        assert exhibit.case.agency.name == "Port of Spain lab"
        other = repository.get_agency(session, "Georgetown lab")
        assert other.disabled_at is None and other.api_key_hash is not None
        lines = repository.list_audit(session, object_type="agency", object_id=stored.public_id)
        assert [line.action for line in lines].count("agency.revoke") == 1

    status, out, _ = run_cli(capsys, "agency", "list", "--store", folder, "--json")
    listed = {agency["agency"]: agency for agency in json.loads(out)["agencies"]}
    assert listed["Port of Spain lab"]["active"] is False
    assert listed["Port of Spain lab"]["disabled_at"] == document["disabled_at"]
    assert listed["Georgetown lab"]["active"] is True


def test_revoke_is_idempotent(capsys, folder, opened):
    add(capsys, folder, "Port of Spain lab", "TT")
    first = run_cli(capsys, "agency", "revoke", "Port of Spain lab", "--store", folder, "--json")
    again = run_cli(capsys, "agency", "revoke", "Port of Spain lab", "--store", folder, "--json")
    assert first[0] == again[0] == 0
    first_document, again_document = json.loads(first[1]), json.loads(again[1])
    assert (first_document["changed"], again_document["changed"]) == (True, False)
    assert again_document["disabled_at"] == first_document["disabled_at"]  # not moved
    status, out, _ = run_cli(capsys, "agency", "revoke", "Port of Spain lab", "--store", folder)
    assert status == 0 and "already revoked" in out
    with opened.transaction() as session:
        actions = [line.action for line in repository.list_audit(session, object_type="agency")]
    assert actions.count("agency.revoke") == 1


def test_revoke_of_an_unknown_agency_is_one_line_and_changes_nothing(capsys, folder, opened):
    add(capsys, folder, "Port of Spain lab", "TT")
    with opened.transaction() as session:
        before = len(repository.list_audit(session))
    status, out, err = run_cli(
        capsys, "agency", "revoke", "Port of Spainlab", "--store", folder, "--json"
    )
    assert status == EXIT_BAD_INPUT
    assert out == ""
    assert_one_line_error(err, names="agency 'Port of Spainlab' not found")
    assert "NAME" in err and "agency list" in err
    with opened.transaction() as session:
        assert len(repository.list_audit(session)) == before
        assert repository.get_agency(session, "Port of Spain lab").disabled_at is None


def test_add_of_a_revoked_agency_is_refused_saying_how_to_proceed(capsys, folder, opened):
    add(capsys, folder, "Port of Spain lab", "TT")
    run_cli(capsys, "agency", "revoke", "Port of Spain lab", "--store", folder)
    with opened.transaction() as session:
        before = len(repository.list_audit(session))
    for role in ("lab", "admin"):  # whatever role is asked, no key is issued
        status, out, err = run_cli(
            capsys,
            *("agency", "add", "Port of Spain lab", "--country", "TT", "--role", role),
            *("--store", folder, "--json"),
        )
        assert status == EXIT_BAD_INPUT
        assert out == ""
        assert_one_line_error(err, names="agency 'Port of Spain lab' was revoked on")
        assert "under a new name" in err
    with opened.transaction() as session:
        stored = repository.get_agency(session, "Port of Spain lab")
        assert stored.api_key_hash is None and stored.disabled_at is not None
        assert len(repository.list_audit(session)) == before
    assert add(capsys, folder, "Port of Spain lab 2", "TT")["country"] == "TT"


def test_list_and_revoke_refuse_a_folder_without_a_store(capsys, tmp_path):
    for args in (("list",), ("revoke", "Lab")):
        status, out, err = run_cli(capsys, "agency", *args, "--store", tmp_path / "none", "--json")
        assert status == EXIT_BAD_INPUT and out == ""
        assert_one_line_error(err, names="no evidence store")
    assert not (tmp_path / "none").exists()

"""Regions (groups of countries an admin defines) and the queue's filter by a region's countries,
on both SQLite and PostgreSQL."""

from __future__ import annotations

import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store import repository
from api.store.database import Store
from api.store.errors import ConflictError, NotFoundError
from api.store.models import Exhibit, RegionCountry
from tests.api.store.conftest import MakeExhibit

ADMIN = "Ada Admin (Port of Spain lab)"


def _actions(session: Session, name: str) -> list[tuple[str, str, dict | None]]:
    return [
        (entry.action, entry.actor, entry.details)
        for entry in repository.list_audit(session, object_type="region", object_id=name)
    ]


def test_a_region_is_added_listed_changed_and_deleted_with_audit_lines(store: Store) -> None:
    with store.transaction(write=True) as session:
        region = repository.add_region(
            session, " Caribbean ", ["tt", "GY ", "bb", "TT"], actor=ADMIN
        )
        assert (region.name, region.countries, region.created_by) == (
            "Caribbean",
            ["BB", "GY", "TT"],
            ADMIN,
        )
        repository.add_region(session, "Andes", ["PE", "BO"], actor=ADMIN)
    with store.transaction(write=True) as session:
        assert [(r.name, r.countries) for r in repository.list_regions(session)] == [
            ("Andes", ["BO", "PE"]),
            ("Caribbean", ["BB", "GY", "TT"]),
        ]
        assert repository.get_region(session, "Caribbean").created_at.tzinfo is not None
        changed = repository.set_region_countries(session, "Caribbean", ["TT", "JM"], actor=ADMIN)
        assert changed.countries == ["JM", "TT"]
    with store.transaction(write=True) as session:
        assert repository.get_region(session, "Caribbean").countries == ["JM", "TT"]
        repository.delete_region(session, "Caribbean", actor=ADMIN)
    with store.transaction() as session:
        assert [r.name for r in repository.list_regions(session)] == ["Andes"]
        with pytest.raises(NotFoundError, match="region 'Caribbean' not found"):
            repository.get_region(session, "Caribbean")
        # the region's countries went with it
        assert sorted(session.scalars(select(RegionCountry.country))) == ["BO", "PE"]
        assert _actions(session, "Caribbean") == [
            ("region.add", ADMIN, {"countries": ["BB", "GY", "TT"]}),
            ("region.update", ADMIN, {"before": ["BB", "GY", "TT"], "countries": ["JM", "TT"]}),
            ("region.delete", ADMIN, {"countries": ["JM", "TT"]}),
        ]


def test_setting_the_same_countries_writes_no_audit_line(store: Store) -> None:
    with store.transaction(write=True) as session:
        repository.add_region(session, "Guianas", ["GY", "SR"], actor=ADMIN)
        repository.set_region_countries(session, "Guianas", ["sr", "gy"], actor=ADMIN)
        assert [action for action, _, _ in _actions(session, "Guianas")] == ["region.add"]


@pytest.mark.parametrize(
    ("countries", "message"),
    [
        (["TT", "UK"], "country 'UK' is not an ISO 3166-1 alpha-2 code assigned to a country"),
        (["TT", "Trinidad"], "country 'Trinidad' is not an ISO 3166-1 alpha-2 code"),
        (["ZZ"], "country 'ZZ' is not an ISO 3166-1 alpha-2 code"),
        ([], "a region holds at least one country"),
    ],
)
def test_countries_are_checked_as_an_agencys_are(
    store: Store, countries: list[str], message: str
) -> None:
    with store.transaction(write=True) as session:
        with pytest.raises(ValueError, match=message):
            repository.add_region(session, "Bad", countries, actor=ADMIN)
        repository.add_region(session, "Good", ["XK"], actor=ADMIN)  # Kosovo, as for agencies
        with pytest.raises(ValueError, match=message):
            repository.set_region_countries(session, "Good", countries, actor=ADMIN)
        assert repository.get_region(session, "Good").countries == ["XK"]


def test_a_second_region_of_the_same_name_and_unknown_regions_are_refused(store: Store) -> None:
    with store.transaction(write=True) as session:
        repository.add_region(session, "Caribbean", ["TT"], actor=ADMIN)
        with pytest.raises(ConflictError, match="a region called 'Caribbean' exists already"):
            repository.add_region(session, "Caribbean", ["GY"], actor=ADMIN)
        with pytest.raises(ValueError, match="region '' must be a non-empty text"):
            repository.add_region(session, "", ["GY"], actor=ADMIN)
        with pytest.raises(NotFoundError):
            repository.set_region_countries(session, "Nowhere", ["GY"], actor=ADMIN)
        with pytest.raises(NotFoundError):
            repository.delete_region(session, "Nowhere", actor=ADMIN)
    with store.transaction() as session:
        assert repository.get_region(session, "Caribbean").countries == ["TT"]


def _barbados_exhibit(store: Store, session: Session, exhibit_id: str) -> Exhibit:
    agency = repository.get_or_create_agency(session, "Bridgetown lab", country="BB")
    case = repository.get_or_create_case(
        session, agency, "C-BB", occurred_on=datetime.date(2025, 3, 2)
    )
    original = store.originals.put_bytes(exhibit_id.encode(), name=f"{exhibit_id}.x3p")
    return repository.add_exhibit(
        session, case, exhibit_id, kind="cartridge_case", files=[original], modality="topography"
    ).exhibit


def test_links_are_filtered_by_a_set_of_countries_on_either_side(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        trinidad = make_exhibit(session, "Port of Spain lab", "C-1", "E-1")
        guyana = make_exhibit(session, "Georgetown lab", "C-2", "E-2")
        guyana_too = make_exhibit(session, "Georgetown lab", "C-3", "E-3")
        trinidad_too = make_exhibit(session, "San Fernando lab", "C-4", "E-4")
        barbados = _barbados_exhibit(store, session, "E-5")
        repository.upsert_link(session, trinidad, guyana, score=0.9)
        repository.upsert_link(session, guyana, guyana_too, score=0.8)
        repository.upsert_link(session, trinidad, trinidad_too, score=0.7)
        repository.upsert_link(session, barbados, guyana_too, score=0.6)

    def pairs(**filters: object) -> list[tuple[str, ...]]:
        with store.transaction() as session:
            return [
                tuple(sorted((link.exhibit_a.exhibit_id, link.exhibit_b.exhibit_id)))
                for link in repository.list_links(session, **filters)
            ]

    assert pairs(countries=["TT"]) == [("E-1", "E-2"), ("E-1", "E-4")]
    assert pairs(countries=["bb"]) == [("E-3", "E-5")]
    assert pairs(countries={"TT", "BB"}) == [("E-1", "E-2"), ("E-1", "E-4"), ("E-3", "E-5")]
    assert pairs(countries=["GY"], cross_border=True) == [("E-1", "E-2"), ("E-3", "E-5")]
    assert pairs(countries=["FR"]) == []
    assert pairs(countries=[]) == []  # a region of no country holds no link
    assert len(pairs(countries=None)) == 4

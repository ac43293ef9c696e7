"""Regions in the review station (api/web/ui/admin_regions.py, leads.py): admins define groups
of countries (audited, CSRF-checked, admins only), and an examiner's queue scoped to a region
keeps the leads touching its countries, in the database, through the next lead after a decision."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from api.store import repository
from tests.api.network import ADMIN, EXAMINER, LABS
from tests.api.web.pages import form_token, has_label, sign_in
from tests.api.web.queue import decide, queue_of, store_links

ACTOR = f"Admin ({ADMIN})"
CI_LAB = LABS[2][0]


def regions(network) -> dict[str, list[str]]:
    with network.service.store.transaction() as session:
        return {region.name: region.countries for region in repository.list_regions(session)}


def audit_lines(network, action: str) -> list[tuple[str, str, dict | None]]:
    with network.service.store.transaction() as session:
        return [
            (line.actor, line.object_id, line.details)
            for line in repository.list_audit(session, action=action)
        ]


def add_regions(network, **countries: list[str]) -> None:
    with network.service.store.transaction(write=True) as session:
        for name, codes in countries.items():
            repository.add_region(session, name.replace("_", " "), codes, actor=ACTOR)


def test_admin_adds_changes_and_deletes_a_region(network):
    sign_in(network, ADMIN, "admin")
    page = network.client.get("/ui/admin/regions")
    assert page.status_code == 200
    assert 'href="/ui/admin/regions" aria-current="page"' in page.text
    for label in ("Name", "Countries", "Add the region"):
        assert has_label(page.text, label), label
    token = form_token(page.text)
    added = network.client.post(
        "/ui/admin/regions",
        data={"name": "Caribbean", "countries": "tt, gy;BB", "csrf_token": token},
    )
    assert added.status_code == 200 and "The region was added." in added.text  # after the 303
    assert regions(network) == {"Caribbean": ["BB", "GY", "TT"]}
    assert "Trinidad" in added.text and "Barbados" in added.text  # names beside the codes
    assert has_label(added.text, "Countries of Caribbean")
    assert audit_lines(network, "region.add") == [
        (ACTOR, "Caribbean", {"countries": ["BB", "GY", "TT"]})
    ]
    # refused: a code of no country, and a second region of the same name
    bad = network.client.post(
        "/ui/admin/regions", data={"name": "Europe", "countries": "FR UK", "csrf_token": token}
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text and "GB" in bad.text
    assert 'value="FR UK"' in bad.text  # the form keeps what was typed
    again = network.client.post(
        "/ui/admin/regions", data={"name": "Caribbean", "countries": "JM", "csrf_token": token}
    )
    assert again.status_code == 409 and "exists already" in again.text
    assert regions(network) == {"Caribbean": ["BB", "GY", "TT"]}
    changed = network.client.post(
        "/ui/admin/regions/update",
        data={"region": "Caribbean", "countries": "TT JM", "csrf_token": token},
    )
    assert changed.status_code == 200 and "countries were changed" in changed.text
    assert regions(network) == {"Caribbean": ["JM", "TT"]}
    assert audit_lines(network, "region.update")[0][:2] == (ACTOR, "Caribbean")
    missing = network.client.post(
        "/ui/admin/regions/update",
        data={"region": "Nowhere", "countries": "TT", "csrf_token": token},
    )
    assert missing.status_code == 404
    # deleting asks for the confirmation first
    unconfirmed = network.client.post(
        "/ui/admin/regions/delete", data={"region": "Caribbean", "csrf_token": token}
    )
    assert unconfirmed.status_code == 422 and regions(network) == {"Caribbean": ["JM", "TT"]}
    deleted = network.client.post(
        "/ui/admin/regions/delete",
        data={"region": "Caribbean", "confirm": "yes", "csrf_token": token},
    )
    assert deleted.status_code == 200 and "The region was deleted." in deleted.text
    assert regions(network) == {}
    assert audit_lines(network, "region.delete") == [
        (ACTOR, "Caribbean", {"countries": ["JM", "TT"]})
    ]


def test_country_names_are_in_the_readers_language(network):
    add_regions(network, Caribbean=["TT"])
    sign_in(network, ADMIN, "admin")
    page = network.client.get("/ui/admin/regions", headers={"Accept-Language": "fr"}).text
    assert "Trinité-et-Tobago" in page


@pytest.mark.parametrize(("agency", "role"), [(LABS[0][0], "lab"), (EXAMINER, "examiner")])
def test_others_are_refused_and_audited(network, agency, role):
    add_regions(network, Caribbean=["TT"])
    sign_in(network, agency, role)
    assert network.client.get("/ui/admin/regions").status_code == 403
    token = form_token(network.client.get("/ui/").text)
    posts = [
        ("/ui/admin/regions", {"name": "Rogue", "countries": "TT"}),
        ("/ui/admin/regions/update", {"region": "Caribbean", "countries": "FR"}),
        ("/ui/admin/regions/delete", {"region": "Caribbean", "confirm": "yes"}),
    ]
    for path, data in posts:
        assert network.client.post(path, data={**data, "csrf_token": token}).status_code == 403
    denied = audit_lines(network, "access.denied")
    assert len(denied) == 4 and all(line[0] == agency for line in denied)
    assert regions(network) == {"Caribbean": ["TT"]}


def test_a_region_form_without_its_csrf_token_is_refused(network):
    add_regions(network, Caribbean=["TT"])
    sign_in(network, ADMIN, "admin")
    posts = [
        ("/ui/admin/regions", {"name": "Andes", "countries": "PE"}),
        ("/ui/admin/regions/update", {"region": "Caribbean", "countries": "FR"}),
        ("/ui/admin/regions/delete", {"region": "Caribbean", "confirm": "yes"}),
    ]
    for path, data in posts:
        assert network.client.post(path, data=data).status_code == 403, path
        wrong = network.client.post(path, data={**data, "csrf_token": "forged"})
        assert wrong.status_code == 403, path
    assert regions(network) == {"Caribbean": ["TT"]}


# the queue's links (tests/api/web/test_ui_queue.py): border TT-GY 40, own TT-CI 25 (the
# examiner's agency is in TT), photo TT-TT 20, bullet GY-CI 12
REGION_QUEUES = [
    ("scope=region&region=West+Africa", ["own", "bullet"]),
    ("scope=region&region=Guianas", ["border", "bullet"]),
    ("scope=region&region=Caribbean", ["border", "own", "photo"]),
    ("scope=region&region=Guianas&cross_border=yes&min_score=20", ["border"]),
    ("scope=region&region=Nowhere", []),
    ("scope=region", ["border", "own", "photo", "bullet"]),  # no region named: the network
    ("region=Guianas", ["border", "own", "photo", "bullet"]),  # a region without its scope
    ("scope=own&region=Guianas", ["own"]),
]


@pytest.mark.parametrize(
    ("query", "expected"), REGION_QUEUES, ids=[query for query, _ in REGION_QUEUES]
)
def test_a_queue_scoped_to_a_region_keeps_the_leads_touching_it(
    network_on_each_backend, query, expected
):
    network = network_on_each_backend
    add_regions(network, West_Africa=["CI", "SN"], Guianas=["GY", "SR"], Caribbean=["TT", "BB"])
    ids = store_links(network)
    sign_in(network, EXAMINER, "examiner")
    assert queue_of(network, ids, query) == expected


def test_the_region_is_chosen_in_the_form_and_an_unknown_one_said(network):
    add_regions(network, Guianas=["GY", "SR"])
    store_links(network)
    sign_in(network, EXAMINER, "examiner")
    page = network.client.get("/ui/leads?scope=region&region=Guianas").text
    assert has_label(page, "Scope") and has_label(page, "Region (with the scope Region)")
    assert '<option value="region" selected>' in page
    assert '<option value="Guianas" selected>' in page
    gone = network.client.get("/ui/leads?scope=region&region=Nowhere").text
    assert 'role="alert"' in gone and "No region is called Nowhere" in gone


def test_a_lab_keeps_its_own_links_whatever_the_region(network):
    add_regions(network, Guianas=["GY"])
    ids = store_links(network)
    sign_in(network, CI_LAB, "lab")
    assert queue_of(network, ids, "scope=region&region=Guianas") == ["own", "bullet"]
    assert 'name="region"' not in network.client.get("/ui/leads").text


def test_after_a_decision_the_next_lead_of_the_same_region(network_on_each_backend):
    network = network_on_each_backend
    add_regions(network, Guianas=["GY", "SR"])
    ids = store_links(network)
    sign_in(network, EXAMINER, "examiner")
    queue = "scope=region&region=Guianas"
    # the network's next lead after "border" would be "own"; the region's is "bullet"
    first = decide(network, ids["border"], "images", queue=queue)
    assert first.status_code == 303
    location = urlsplit(first.headers["location"])
    assert location.path == f"/ui/links/{ids['bullet']}"
    kept = parse_qs(parse_qs(location.query)["queue"][0])
    assert kept == {"status": ["lead"], "scope": ["region"], "region": ["Guianas"]}
    following = network.client.get(first.headers["location"]).text
    assert re.search(r'name="queue" value="[^"]*region=Guianas', following)
    last = decide(network, ids["bullet"], "images", queue=parse_qs(location.query)["queue"][0])
    location = urlsplit(last.headers["location"])
    assert location.path == "/ui/leads"
    assert parse_qs(location.query)["region"] == ["Guianas"]

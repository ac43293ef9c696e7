"""The examiner's queue (api/web/ui/leads.py, decisions.py): each filter keeps exactly its
links (in the database, on SQLite and PostgreSQL), own agency or network, a hit (microscope)
and a confirmed lead (images), and on to the next lead of the same queue after a decision."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from api.store import repository
from tests.api.network import EXAMINER
from tests.api.web.pages import has_label, sign_in
from tests.api.web.queue import CI_LAB, Day, decide, queue_of, store_links

FILTERS = [
    ("", ["border", "own", "photo", "bullet"]),  # the network, best first
    ("country=GY", ["border", "bullet"]),
    ("country=ci", ["own", "bullet"]),
    ("country=TT", ["border", "own", "photo"]),
    ("caliber=9mm", ["border", "bullet"]),
    ("kind=bullet", ["bullet"]),
    ("kind=cartridge_case", ["border", "own", "photo"]),
    ("modality=photograph", ["photo"]),
    ("occurred_from=2025-03-03&occurred_to=2025-06-05", ["border", "photo"]),
    ("occurred_to=2024-11-30", ["bullet"]),
    ("entered_from=2026-02-01", ["photo", "bullet"]),
    ("entered_to=2026-01-31", ["border", "own"]),
    ("entered_from=2026-01-15&entered_to=2026-02-15", ["own", "photo"]),
    ("min_score=22", ["border", "own"]),
    ("cross_border=no", ["photo"]),
    ("scope=own", ["own"]),
    ("scope=network", ["border", "own", "photo", "bullet"]),
    ("country=TT&min_score=22&kind=cartridge_case", ["border", "own"]),
    ("min_score=not-a-number&kind=nothing", ["border", "own", "photo", "bullet"]),
]


@pytest.mark.parametrize(
    ("query", "expected"), FILTERS, ids=[query or "none" for query, _ in FILTERS]
)
def test_each_filter_keeps_its_links(network_on_each_backend, query, expected):
    network = network_on_each_backend
    ids = store_links(network)
    sign_in(network, EXAMINER, "examiner")
    assert queue_of(network, ids, query) == expected


def test_repository_filters_in_the_database(network_on_each_backend):
    network = network_on_each_backend
    ids = store_links(network)
    with network.service.store.transaction() as session:
        found = repository.list_links(
            session, country="gy", caliber="9MM", occurred_from=Day(2025, 1, 1), min_score=30
        )
        assert [link.public_id for link in found] == [ids["border"]]
        own = repository.get_agency(session, EXAMINER)
        assert [link.public_id for link in repository.list_links(session, agency=own)] == [
            ids["own"]
        ]


def test_filters_stay_in_the_form_and_the_lead_addresses(network):
    ids = store_links(network)
    sign_in(network, EXAMINER, "examiner")
    query = "country=CI&caliber=7.62&min_score=5&occurred_from=2025-01-01&scope=own"
    page = network.client.get(f"/ui/leads?{query}").text
    for label in ("Country (either side)", "Calibre", "Minimum score", "Incident from", "Scope"):
        assert has_label(page, label), label
    assert '<option value="CI" selected>' in page and '<option value="own" selected>' in page
    assert 'value="7.62"' in page and 'value="2025-01-01"' in page
    href = re.search(rf'href="/ui/links/{ids["own"]}\?queue=([^"]+)"', page).group(1)
    link_page = network.client.get(f"/ui/links/{ids['own']}?queue={href}").text
    kept = re.search(r'name="queue" value="([^"]*)"', link_page).group(1).replace("&amp;", "&")
    assert parse_qs(kept) == {
        "status": ["lead"],
        "country": ["CI"],
        "caliber": ["7.62"],
        "min_score": ["5"],
        "occurred_from": ["2025-01-01"],
        "scope": ["own"],
    }


def test_a_lab_sees_its_own_links_only_and_chooses_no_scope(network):
    ids = store_links(network)
    sign_in(network, CI_LAB, "lab")
    assert queue_of(network, ids, "scope=network") == ["own", "bullet"]
    assert 'name="scope"' not in network.client.get("/ui/leads").text


@pytest.mark.parametrize(
    ("method", "shown", "not_shown"),
    [("microscope", "Hit", "Confirmed lead"), ("images", "Confirmed lead", "Hit")],
)
def test_a_confirmation_is_a_hit_under_the_microscope_else_a_confirmed_lead(
    network, method, shown, not_shown
):
    ids = store_links(network)
    sign_in(network, EXAMINER, "examiner")
    form = network.client.get(f"/ui/links/{ids['border']}").text
    assert "is a hit" in form and "is a confirmed lead" in form  # the choice says the difference
    assert decide(network, ids["border"], method).status_code == 303
    with network.service.store.transaction() as session:
        link = repository.get_link(session, ids["border"])
        assert (link.status, link.decision_method) == ("confirmed", method)
    page = network.client.get(f"/ui/links/{ids['border']}").text
    heading = re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)
    assert shown in heading and not_shown not in heading
    queue = network.client.get("/ui/leads?status=confirmed").text
    badge = re.search(r'<span class="decision[^"]*"[^>]*>([^<]+)</span>', queue).group(1)
    assert badge == shown


def test_after_a_decision_the_next_lead_of_the_same_queue(network_on_each_backend):
    network = network_on_each_backend
    ids = store_links(network)
    sign_in(network, EXAMINER, "examiner")
    queue = "country=CI&kind=cartridge_case&min_score=1"
    assert queue_of(network, ids, queue) == ["own"]
    # the queue of CI's leads (any kind): "own" first, then "bullet", then none left
    queue = "country=CI&min_score=1"
    first = decide(network, ids["own"], "microscope", queue=queue)
    assert first.status_code == 303
    location = urlsplit(first.headers["location"])
    assert location.path == f"/ui/links/{ids['bullet']}"
    asked = parse_qs(location.query)
    assert asked["decided"] == ["hit"]
    assert parse_qs(asked["queue"][0]) == {
        "status": ["lead"],
        "country": ["CI"],
        "min_score": ["1"],
    }
    following = network.client.get(first.headers["location"])
    assert following.status_code == 200 and 'role="status"' in following.text
    last = decide(network, ids["bullet"], "images", queue=asked["queue"][0], decision="reject")
    assert last.status_code == 303
    location = urlsplit(last.headers["location"])
    assert location.path == "/ui/leads"
    assert parse_qs(location.query) == {
        "status": ["lead"],
        "country": ["CI"],
        "min_score": ["1"],
        "done": ["1"],
    }
    back = network.client.get(last.headers["location"])
    assert "No undecided lead is left in this queue." in back.text
    # the other leads of the network were not this queue's
    assert queue_of(network, ids, "") == ["border", "photo"]

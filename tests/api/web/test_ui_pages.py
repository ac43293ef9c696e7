"""The review station's pages (api/web/ui): each role's pages with the CONTRACT's labels, the
sign-in redirect, Arabic right to left, an examiner's decision through the page, CSRF and the
sharing rule's placeholder."""

from __future__ import annotations

import re

import pytest

from api.store import repository
from tests.api.network import (
    EXAMINER,
    INVESTIGATOR,
    LABS,
    UNSHARED_LAB,
    store_exhibit,
    store_lead,
)
from tests.api.web.pages import form_token, has_label, sign_in

LAB = LABS[0][0]


@pytest.mark.parametrize(
    "path", ["/ui/", "/ui/leads", "/ui/exhibits/new", "/ui/links/x", "/ui/cases/C-1"]
)
def test_pages_ask_for_sign_in(network, path):
    answer = network.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login?next=")


def test_login_page_labels_and_error(network):
    page = network.client.get("/ui/login?error=1")
    assert page.status_code == 200
    for label in ("Email", "Password", "Language"):
        assert has_label(page.text, label), label
    assert has_label(page.text, "Sign in")
    assert 'role="alert"' in page.text
    assert form_token(page.text)
    for value in ("en", "fr", "es", "ar"):
        assert f'<option value="{value}"' in page.text


def test_lab_home_and_upload_form(network):
    sign_in(network, LAB, "lab")
    home = network.client.get("/ui/")
    assert home.status_code == 200 and 'href="/ui/exhibits/new"' in home.text
    page = network.client.get("/ui/exhibits/new")
    assert page.status_code == 200
    for label in ("Scan or photograph", "Exhibit ID", "Case ID", "Kind"):
        assert has_label(page.text, label), label
    assert has_label(page.text, "Upload")
    assert re.search(r'<input id="file" name="file" type="file" multiple', page.text)


def test_upload_through_the_page_and_its_refusal(network):
    sign_in(network, LAB, "lab")
    token = form_token(network.client.get("/ui/exhibits/new").text)
    row = network.rows[0]
    fields = {"exhibit_id": "P-1", "case_id": "PC-1", "kind": "cartridge_case"}
    stored = network.client.post(
        "/ui/exhibits",
        data={**fields, "csrf_token": token, "shared": "true"},
        files={"file": ("scan.x3p", network.file_of(row).read_bytes())},
    )
    assert stored.status_code == 200, stored.text
    assert "P-1" in stored.text and 'role="status"' in stored.text
    refused = network.client.post(
        "/ui/exhibits",
        data={**fields, "exhibit_id": "P-2", "csrf_token": token},
        files={"file": ("scan.png", b"not an image")},
    )
    assert refused.status_code in (415, 422) and 'role="alert"' in refused.text


def test_examiner_must_not_upload(network):
    sign_in(network, EXAMINER, "examiner")
    assert network.client.get("/ui/exhibits/new").status_code == 403


def test_examiner_confirms_through_the_page(network):
    link_id = store_lead(network)
    sign_in(network, EXAMINER, "examiner")
    queue = network.client.get("/ui/leads")
    assert queue.status_code == 200 and f'href="/ui/links/{link_id}"' in queue.text
    page = network.client.get(f"/ui/links/{link_id}")
    assert page.status_code == 200
    assert has_label(page.text, "Comment") and "<textarea" in page.text
    assert has_label(page.text, "Confirm") and has_label(page.text, "Reject")
    assert "an examiner decides" in page.text
    decided = network.client.post(
        f"/ui/links/{link_id}/decision",
        data={
            "decision": "confirm",
            "method": "microscope",
            "comment": "same firing pin drag",
            "expected_status": "lead",
            "csrf_token": form_token(page.text),
        },
        follow_redirects=False,
    )
    assert decided.status_code == 303, decided.text
    with network.service.store.transaction() as session:
        link = repository.get_link(session, link_id)
        assert link.status == "confirmed" and link.decision_method == "microscope"
        lines = repository.list_audit(session, object_type="link", action="link.confirmed")
        assert [line.actor for line in lines] == [f"Examiner ({EXAMINER})"]
    # the same page again, deciding on what it saw: the link was decided meanwhile
    late = network.client.post(
        f"/ui/links/{link_id}/decision",
        data={"decision": "reject", "expected_status": "lead", "csrf_token": form_token(page.text)},
    )
    assert late.status_code == 409 and 'role="alert"' in late.text
    assert "Examiner (Regional examiner)" in network.client.get(f"/ui/links/{link_id}").text


def test_a_post_without_its_csrf_token_is_refused(network):
    link_id = store_lead(network)
    sign_in(network, EXAMINER, "examiner")
    answer = network.client.post(
        f"/ui/links/{link_id}/decision", data={"decision": "confirm", "expected_status": "lead"}
    )
    assert answer.status_code == 403
    with network.service.store.transaction() as session:
        assert repository.get_link(session, link_id).status == "lead"


def test_investigator_cannot_decide(network):
    link_id = store_lead(network)
    sign_in(network, INVESTIGATOR, "investigator")
    page = network.client.get(f"/ui/links/{link_id}")
    assert page.status_code == 200 and "<textarea" not in page.text
    answer = network.client.post(
        f"/ui/links/{link_id}/decision",
        data={"decision": "confirm", "csrf_token": form_token(page.text)},
    )
    assert answer.status_code == 403


def test_an_unshared_mark_is_a_labelled_placeholder(network):
    shared = store_exhibit(network, LAB, "E-shared", case_id="C-1")
    hidden = store_exhibit(network, UNSHARED_LAB, "E-hidden", case_id="C-9", shared=False)
    with network.service.store.transaction(write=True) as session:
        first, second = (repository.get_exhibit(session, key) for key in (shared, hidden))
        link_id = repository.upsert_link(session, first, second, score=30.0).public_id
    sign_in(network, EXAMINER, "examiner")
    page = network.client.get(f"/ui/links/{link_id}").text
    assert f'src="/ui/exhibits/{shared}/image.png"' in page
    assert f"/ui/exhibits/{hidden}/image.png" not in page
    assert 'aria-label="Mark not shared"' in page and UNSHARED_LAB in page
    assert network.client.get(f"/ui/exhibits/{hidden}/image.png").status_code == 403


def test_case_page_shows_linked_incidents_and_graph(network):
    link_id = store_lead(network)
    with network.service.store.transaction(write=True) as session:
        link = repository.get_link(session, link_id)
        repository.set_link_status(
            session, link, "confirmed", by_agency=repository.get_agency(session, EXAMINER)
        )
    sign_in(network, INVESTIGATOR, "investigator")
    page = network.client.get("/ui/cases/C-1", params={"agency": LABS[0][0]})
    assert page.status_code == 200
    assert "C-2" in page.text and "<svg" in page.text and "<line" in page.text
    assert re.search(r"<a [^>]*>Download report</a>", page.text)
    report = network.client.get("/ui/cases/C-1/report.pdf", params={"agency": LABS[0][0]})
    assert report.status_code == 200 and report.content.startswith(b"%PDF")


def test_arabic_pages_are_right_to_left_and_translated(network):
    sign_in(network, LAB, "lab")
    page = network.client.get("/ui/exhibits/new", headers={"Accept-Language": "ar"})
    assert '<html lang="ar" dir="rtl">' in page.text
    assert has_label(page.text, "رقم الدليل") and not has_label(page.text, "Exhibit ID")
    # the choice is kept for the person and wins over the browser's
    chosen = network.client.post(
        "/ui/language",
        data={"language": "fr", "next": "/ui/", "csrf_token": form_token(page.text)},
        follow_redirects=False,
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/ui/"
    again = network.client.get("/ui/exhibits/new", headers={"Accept-Language": "ar"})
    assert '<html lang="fr" dir="ltr">' in again.text and has_label(again.text, "N° de pièce")


def test_pages_load_nothing_inline_or_from_elsewhere(network):
    sign_in(network, LAB, "lab")
    page = network.client.get("/ui/").text
    assert "<style" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert network.client.get("/ui/static/station.css").status_code == 200
    assert network.client.get("/ui/static/station.js").status_code == 200

"""Notifications in the pages: the labs and investigators told of a confirmed link see it,
with the count of unread ones in the navigation, and mark it read; other agencies see none."""

from __future__ import annotations

import re

from api.store import repository
from tests.api.network import EXAMINER, INVESTIGATOR, LABS, store_exhibit, store_lead
from tests.api.web.pages import PASSWORD, add_person, form_token, sign_in

LAB = LABS[0][0]
OTHER_LAB = LABS[1][0]
#: the navigation's count of unread notifications
COUNT = re.compile(r'href="/ui/notifications"[^>]*>[^<]*<span class="count"[^>]*>(\d+)</span>')


def sign_in_as(network, agency: str, role: str, email: str) -> None:
    """Sign in a new person of ``agency`` under ``email`` (several people of one role)."""
    add_person(network, agency, role, email)
    client = network.client
    client.cookies.clear()
    token = form_token(client.get("/ui/login").text)
    answer = client.post(
        "/ui/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/ui/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def unread_count(html: str) -> int:
    found = COUNT.search(html)
    return int(found.group(1)) if found else 0


def test_the_lab_is_told_of_an_api_confirmation_and_marks_it_read(network):
    link_id = store_lead(network)
    confirmed = network.client.post(
        f"/v1/links/{link_id}/confirm",
        headers=network.headers(EXAMINER),
        json={"comment": "same breech face", "method": "images"},
    )
    assert confirmed.status_code == 200, confirmed.text
    sign_in(network, LAB, "lab")
    home = network.client.get("/ui/")
    assert unread_count(home.text) == 1
    page = network.client.get("/ui/notifications")
    assert page.status_code == 200 and 'aria-current="page"' in page.text
    for text in ("E-C-1", "E-C-2", "C-1", "C-2", "(TT)", "(GY)", EXAMINER, "on the images"):
        assert text in page.text, text
    assert f'href="/ui/links/{link_id}"' in page.text
    (action,) = re.findall(r'action="(/ui/notifications/\d+/read)"', page.text)
    # without the session's token the form is refused, and nothing is read
    refused = network.client.post(action, data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert unread_count(network.client.get("/ui/").text) == 1
    read = network.client.post(
        action, data={"csrf_token": form_token(page.text)}, follow_redirects=False
    )
    assert read.status_code == 303 and read.headers["location"] == "/ui/notifications"
    page = network.client.get("/ui/notifications")
    assert unread_count(page.text) == 0 and "Mark as read" not in page.text
    assert "E-C-1" in page.text  # still listed, read


def test_a_page_confirmation_tells_the_other_lab_and_not_a_bystander(network):
    link_id = store_lead(network)
    store_exhibit(network, LABS[2][0], "E-CI", case_id="CI-1")
    sign_in(network, EXAMINER, "examiner")
    page = network.client.get(f"/ui/links/{link_id}")
    decided = network.client.post(
        f"/ui/links/{link_id}/decision",
        data={
            "decision": "confirm",
            "method": "microscope",
            "expected_status": "lead",
            "csrf_token": form_token(page.text),
        },
        follow_redirects=False,
    )
    assert decided.status_code == 303, decided.text
    # the examiners' agency submitted neither exhibit and investigates nothing: not told
    assert unread_count(network.client.get("/ui/").text) == 0
    sign_in_as(network, OTHER_LAB, "lab", "georgetown@example.org")
    page = network.client.get("/ui/notifications")
    assert unread_count(page.text) == 1 and "under the comparison microscope" in page.text
    with network.service.store.transaction() as session:
        (line,) = repository.list_notifications(
            session, repository.get_agency(session, OTHER_LAB).id
        )
    # other agencies (CI: neither lab's country) see nothing, and cannot read the line
    sign_in_as(network, INVESTIGATOR, "investigator", "detective@example.org")
    page = network.client.get("/ui/notifications")
    assert unread_count(page.text) == 0 and "No notifications yet." in page.text
    sign_in_as(network, LABS[2][0], "lab", "abidjan@example.org")
    page = network.client.get("/ui/notifications")
    assert unread_count(page.text) == 0 and "No notifications yet." in page.text
    assert "E-C-1" not in page.text
    foreign = network.client.post(
        f"/ui/notifications/{line.id}/read", data={"csrf_token": form_token(page.text)}
    )
    assert foreign.status_code == 404
    with network.service.store.transaction() as session:
        (line,) = repository.list_notifications(
            session, repository.get_agency(session, OTHER_LAB).id
        )
        assert line.read_at is None


def test_mark_all_as_read(network):
    link_id = store_lead(network)
    with network.service.store.transaction(write=True) as session:
        link = repository.get_link(session, link_id, for_update=True)
        examiners = repository.get_agency(session, EXAMINER)
        repository.set_link_status(session, link, "confirmed", by_agency=examiners)
        link = repository.get_link(session, link_id, for_update=True)
        repository.set_link_status(session, link, "rejected", by_agency=examiners)
    sign_in(network, LAB, "lab")
    page = network.client.get("/ui/notifications")
    assert unread_count(page.text) == 2 and "rejected a link it had confirmed" in page.text
    read = network.client.post("/ui/notifications/read", data={"csrf_token": form_token(page.text)})
    assert read.status_code == 200 and unread_count(read.text) == 0


def test_every_link_of_a_notification_opens_for_whoever_is_told(network):
    """An investigator told of a confirmed link reaches both cases' pages and reads the link's
    page without a decision form (examiners decide); a lab reaches its own case, the link, and
    is not offered the other lab's case (its page would refuse a lab)."""
    with network.service.store.transaction(write=True) as session:
        repository.get_or_create_agency(
            session, "Trinidad police", country="TT", role="investigator"
        )
    link_id = store_lead(network)
    confirmed = network.client.post(
        f"/v1/links/{link_id}/confirm",
        headers=network.headers(EXAMINER),
        json={"method": "microscope"},
    )
    assert confirmed.status_code == 200, confirmed.text
    sign_in_as(network, "Trinidad police", "investigator", "inspector@example.org")
    page = network.client.get("/ui/notifications")
    hrefs = re.findall(r'href="(/ui/(?:cases|links)/[^"]+)"', page.text)
    assert set(hrefs) == {
        "/ui/cases/C-1?agency=Port%20of%20Spain%20lab",
        "/ui/cases/C-2?agency=Georgetown%20lab",
        f"/ui/links/{link_id}",
    }
    for href in hrefs:
        answer = network.client.get(href)
        assert answer.status_code == 200, (href, answer.status_code)
        assert "/decision" not in answer.text and ">Confirm<" not in answer.text
    case = network.client.get("/ui/cases/C-2", params={"agency": LABS[1][0]})
    assert "C-1" in case.text and "Hit" in case.text

    sign_in(network, LAB, "lab")
    page = network.client.get("/ui/notifications")
    hrefs = re.findall(r'href="(/ui/(?:cases|links)/[^"]+)"', page.text)
    assert set(hrefs) == {"/ui/cases/C-1?agency=Port%20of%20Spain%20lab", f"/ui/links/{link_id}"}
    for href in hrefs:
        assert network.client.get(href).status_code == 200, href

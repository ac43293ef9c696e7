"""The administrator's pages (api/web/ui/admin*): agencies and their keys shown once,
revocation, people created and disabled, the audit log filtered; admins only, forms with
their CSRF token, every change audited naming the person."""

from __future__ import annotations

import datetime
import re

import pytest
from fastapi.testclient import TestClient

from api.store import repository
from tests.api.network import ADMIN, EXAMINER, LABS
from tests.api.web.pages import PASSWORD, form_token, sign_in

LAB = LABS[0][0]
ACTOR = f"Admin ({ADMIN})"
KEY = re.compile(r"data-api-key>([^<]+)<")


def agency_id(network, name: str) -> str:
    with network.service.store.transaction() as session:
        return repository.get_agency(session, name).public_id


def audit_lines(network, action: str) -> list:
    with network.service.store.transaction() as session:
        return [
            (line.actor, line.object_id, line.details)
            for line in repository.list_audit(session, action=action)
        ]


def links_with(network, key: str) -> int:
    return network.client.get("/v1/links", headers={"X-API-Key": key}).status_code


def test_admin_adds_an_agency_sees_its_key_once_and_revokes_it(network):
    sign_in(network, ADMIN, "admin")
    page = network.client.get("/ui/admin/agencies")
    assert page.status_code == 200 and "Port of Spain lab" in page.text
    token = form_token(page.text)
    refused = network.client.post(
        "/ui/admin/agencies",
        data={"name": "London lab", "country": "UK", "role": "lab", "csrf_token": token},
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text and "GB" in refused.text
    added = network.client.post(
        "/ui/admin/agencies",
        data={"name": "Bogotá lab", "country": "co", "role": "lab", "csrf_token": token},
    )
    assert added.status_code == 201, added.text
    key = KEY.search(added.text).group(1)
    assert links_with(network, key) == 200
    listed = network.client.get("/ui/admin/agencies").text
    assert "Bogotá lab" in listed and key not in listed
    assert audit_lines(network, "agency.api_key")[-1][:2] == (
        ACTOR,
        agency_id(network, "Bogotá lab"),
    )
    # its creation is one line, naming the person (not also the system)
    with network.service.store.transaction() as session:
        about = [
            (line.actor, line.action, line.details)
            for line in repository.list_audit(
                session, object_type="agency", object_id=agency_id(network, "Bogotá lab")
            )
        ]
    assert about == [
        (ACTOR, "agency.add", {"name": "Bogotá lab", "country": "CO", "role": "lab"}),
        (ACTOR, "agency.api_key", about[1][2]),
    ]
    again = network.client.post(
        "/ui/admin/agencies",
        data={"name": "Bogotá lab", "country": "CO", "role": "lab", "csrf_token": token},
    )
    assert again.status_code == 409 and key not in again.text
    # a new key replaces the old one, shown once too
    bogota = agency_id(network, "Bogotá lab")
    renewed = network.client.post(f"/ui/admin/agencies/{bogota}/key", data={"csrf_token": token})
    assert renewed.status_code == 200
    new_key = KEY.search(renewed.text).group(1)
    assert links_with(network, key) == 401 and links_with(network, new_key) == 200
    # revoking asks for the confirmation first
    unconfirmed = network.client.post(
        f"/ui/admin/agencies/{bogota}/revoke", data={"csrf_token": token}
    )
    assert unconfirmed.status_code == 422 and links_with(network, new_key) == 200
    revoked = network.client.post(
        f"/ui/admin/agencies/{bogota}/revoke", data={"csrf_token": token, "confirm": "yes"}
    )
    assert revoked.status_code == 200 and "Revoked on" in revoked.text
    assert links_with(network, new_key) == 401
    assert [line[0] for line in audit_lines(network, "agency.revoke")] == [ACTOR]
    assert new_key not in network.client.get("/ui/admin/agencies").text
    own = agency_id(network, ADMIN)
    kept = network.client.post(
        f"/ui/admin/agencies/{own}/revoke", data={"csrf_token": token, "confirm": "yes"}
    )
    assert kept.status_code == 409


def test_admin_creates_a_person_who_signs_in_then_disables_them(network):
    sign_in(network, ADMIN, "admin")
    page = network.client.get("/ui/admin/users")
    assert page.status_code == 200 and "admin@example.org" in page.text
    fields = {
        "agency": agency_id(network, LAB),
        "email": "New.Person@example.org",
        "display_name": "New Person",
        "role": "lab",
        "csrf_token": form_token(page.text),
    }
    short = network.client.post("/ui/admin/users", data={**fields, "password": "too short"})
    assert short.status_code == 422 and 'role="alert"' in short.text
    created = network.client.post(
        "/ui/admin/users", data={**fields, "password": PASSWORD}, follow_redirects=False
    )
    assert created.status_code == 303, created.text
    assert "new.person@example.org" in network.client.get("/ui/admin/users").text
    assert [line[0] for line in audit_lines(network, "person.add")][-1] == ACTOR

    # the new person signs in with another browser
    browser = TestClient(network.client.app)
    login = browser.get("/ui/login")
    signed = browser.post(
        "/ui/login",
        data={
            "email": "new.person@example.org",
            "password": PASSWORD,
            "csrf_token": form_token(login.text),
            "next": "/ui/",
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/"
    assert browser.get("/ui/", follow_redirects=False).status_code == 200

    with network.service.store.transaction() as session:
        person_id = repository.find_user(session, "new.person@example.org").public_id
    disabled = network.client.post(
        f"/ui/admin/users/{person_id}/disable",
        data={"csrf_token": fields["csrf_token"]},
        follow_redirects=False,
    )
    assert disabled.status_code == 303
    # their session stops working at once
    assert browser.get("/ui/", follow_redirects=False).status_code == 303
    assert [line[:2] for line in audit_lines(network, "person.disable")] == [(ACTOR, person_id)]
    assert "Disabled on" in network.client.get("/ui/admin/users").text


def test_admin_filters_and_pages_the_audit_log(network):
    sign_in(network, ADMIN, "admin")
    page = network.client.get("/ui/admin/audit", params={"action": "person.sign_in"})
    assert page.status_code == 200
    actions = re.findall(r"<td>([a-z_]+\.[a-z_.]+)</td>", page.text)
    assert actions == ["person.sign_in"]
    newest = network.client.get("/ui/admin/audit", params={"limit": 1}).text
    older = re.search(r'<a href="([^"]+)" rel="next">', newest).group(1).replace("&amp;", "&")
    assert "before=" in older
    before = network.client.get(older)
    assert before.status_code == 200 and "<td>person.add</td>" in before.text
    yesterday = (
        datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(days=1)
    ).isoformat()
    empty = network.client.get("/ui/admin/audit", params={"until": yesterday}).text
    assert "No audit lines match these filters." in empty
    today = network.client.get("/ui/admin/audit", params={"since": yesterday}).text
    assert "<td>person.sign_in</td>" in today
    assert network.client.get("/ui/admin/audit", params={"since": "3/5/26"}).status_code == 422


def test_only_admins_see_the_admin_entry(network):
    sign_in(network, ADMIN, "admin")
    assert 'href="/ui/admin/agencies"' in network.client.get("/ui/").text
    sign_in(network, LAB, "lab")
    assert 'href="/ui/admin/agencies"' not in network.client.get("/ui/").text


@pytest.mark.parametrize(("agency", "role"), [(LAB, "lab"), (EXAMINER, "examiner")])
def test_others_are_refused_and_audited(network, agency, role):
    sign_in(network, agency, role)
    for path in ("/ui/admin/agencies", "/ui/admin/users", "/ui/admin/audit"):
        assert network.client.get(path).status_code == 403, path
    token = form_token(network.client.get("/ui/").text)
    posted = network.client.post(
        "/ui/admin/agencies",
        data={"name": "Rogue lab", "country": "TT", "role": "admin", "csrf_token": token},
    )
    assert posted.status_code == 403
    denied = audit_lines(network, "access.denied")
    assert len(denied) == 4 and all(line[0] == agency for line in denied)
    assert all(line[2]["role"] == role for line in denied)
    with network.service.store.transaction() as session:
        assert "Rogue lab" not in [a.name for a in repository.list_agencies(session)]


def test_an_admin_form_without_its_csrf_token_is_refused(network):
    sign_in(network, ADMIN, "admin")
    answer = network.client.post(
        "/ui/admin/agencies", data={"name": "Quito lab", "country": "EC", "role": "lab"}
    )
    assert answer.status_code == 403
    with network.service.store.transaction() as session:
        assert "Quito lab" not in [a.name for a in repository.list_agencies(session)]
        user = repository.find_user(session, "admin@example.org")
    disabled = network.client.post(f"/ui/admin/users/{user.public_id}/disable", data={})
    assert disabled.status_code == 403

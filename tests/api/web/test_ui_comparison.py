"""A lead's comparison on its page (api/web/ui/decisions.py): the overlay under the session and
the sharing rule, and the split view's labelled controls."""

from __future__ import annotations

import itertools
import re

import pytest

from api.store import repository
from tests.api.network import EXAMINER, LABS, UNSHARED_LAB
from tests.api.web.pages import PASSWORD, add_person, form_token, has_label

_emails = itertools.count()


def _sign_in(network, agency: str, role: str) -> str:
    """Sign a new person of ``role`` in (the module's store is shared: a new email each time);
    the audit log's name for them."""
    email = f"{role}-{next(_emails)}@example.org"
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
    return f"{email.split('@')[0].title()} ({agency})"


def _link(network, first_agency: str, second_agency: str) -> str:
    """A lead between an exhibit of each agency (both with stored marks); its id."""
    by_agency = {row["agency"]: row["exhibit_id"] for row in network.rows}
    with network.service.store.transaction(write=True) as session:
        first, second = (
            repository.get_exhibit(session, network.ids[by_agency[agency]])
            for agency in (first_agency, second_agency)
        )
        return repository.upsert_link(session, first, second, score=30.0).public_id


@pytest.fixture(scope="module")
def shared_lead(populated) -> str:
    return _link(populated, LABS[0][0], LABS[2][0])


def test_the_overlay_is_a_png_for_an_examiner(populated, shared_lead):
    _sign_in(populated, EXAMINER, "examiner")
    answer = populated.client.get(f"/ui/links/{shared_lead}/overlay.png")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG")
    assert answer.headers["cache-control"] == "no-store"
    with populated.service.store.transaction() as session:
        actions = [entry.action for entry in repository.list_audit(session)]
    assert "compare.overlay" in actions


def test_the_pictures_audit_lines_name_the_person(populated, shared_lead):
    actor = _sign_in(populated, EXAMINER, "examiner")
    answer = populated.client.get(f"/ui/links/{shared_lead}/overlay.png")
    assert answer.status_code == 200, answer.text
    with populated.service.store.transaction() as session:
        link = repository.get_link(session, shared_lead)
        first, second = link.exhibit_a.public_id, link.exhibit_b.public_id
    image = populated.client.get(f"/ui/exhibits/{first}/image.png")
    assert image.status_code == 200
    with populated.service.store.transaction() as session:
        (overlay,) = repository.list_audit(
            session, action="compare.overlay", newest_first=True, limit=1
        )
        (preview,) = repository.list_audit(
            session, action="exhibit.image", newest_first=True, limit=1
        )
    assert overlay.actor == EXAMINER and preview.actor == EXAMINER
    assert overlay.object_id == first and overlay.details == {"other": second, "person": actor}
    assert preview.object_id == first and preview.details == {"person": actor}


def test_the_overlay_asks_for_sign_in(populated, shared_lead):
    populated.client.cookies.clear()
    answer = populated.client.get(f"/ui/links/{shared_lead}/overlay.png", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login?next=")


def test_an_unshared_mark_refuses_the_overlay_to_a_lab(populated):
    link_id = _link(populated, LABS[0][0], UNSHARED_LAB)
    _sign_in(populated, LABS[0][0], "lab")
    answer = populated.client.get(f"/ui/links/{link_id}/overlay.png")
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    page = populated.client.get(f"/ui/links/{link_id}")
    assert page.status_code == 200
    assert "overlay.png" not in page.text
    assert 'aria-label="Mark not shared"' in page.text


def test_the_page_has_the_comparison_and_its_labelled_controls(populated, shared_lead):
    _sign_in(populated, EXAMINER, "examiner")
    page = populated.client.get(f"/ui/links/{shared_lead}")
    assert page.status_code == 200
    html = page.text
    assert "Comparison" in html
    assert html.count(f'src="/ui/links/{shared_lead}/overlay.png"') == 3
    for label in ("Divide", "Zoom in", "Zoom out", "Reset"):
        assert has_label(html, label), label
    assert re.search(r'<input id="divide" type="range"', html)
    assert re.search(r'class="split"[^>]*tabindex="0"', html)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"<[^>]+\son[a-z]+=", html)

"""Signing people in to the review station in TestClient tests (a helper module, not tests)."""

from __future__ import annotations

import re

from api.store import repository

PASSWORD = "a long enough passphrase 42"


def add_person(network, agency: str, role: str, email: str) -> None:
    with network.service.store.transaction(write=True) as session:
        repository.create_user(
            session,
            repository.get_agency(session, agency),
            email,
            role=role,
            password=PASSWORD,
            display_name=email.split("@")[0].title(),
        )


def sign_in(network, agency: str, role: str) -> str:
    """Create a person of ``role`` under ``agency`` and sign the test client in; their email."""
    email = f"{role}@example.org"
    add_person(network, agency, role, email)
    client = network.client
    client.cookies.clear()
    page = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/ui/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/ui/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/", answer.text
    return email


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def has_label(html: str, text: str) -> bool:
    """Whether ``html`` holds a <label> (or a button) reading ``text``."""
    return re.search(rf"<(label|button)[^>]*>\s*{re.escape(text)}\s*</\1>", html) is not None

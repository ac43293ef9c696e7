"""Sign-in sessions of the review station: cookies, the brake, sign-out, expiry, CSRF, headers.

The application is the real one (``create_app``) with a small protected page and form of this
test's own, so that what is checked here is the sessions, not the pages.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.service.core import EvidenceService
from api.store import repository
from api.store.models import AuditEntry, SignInSession
from api.web.app import create_app
from api.web.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SignedIn,
    check_csrf,
    require_person,
)
from api.web.settings import ApiSettings
from api.web.ui import auth

EMAIL, PASSWORD = "ana@lab.tt", "correct horse battery"
PRE_TOKEN = "p" * 43

probe = APIRouter(prefix="/ui")


@probe.get("/probe")
def probe_page(person: Annotated[SignedIn, Depends(require_person)]) -> PlainTextResponse:
    return PlainTextResponse(f"{person.actor} {person.role} {person.caller().name}")


@probe.post("/probe", dependencies=[Depends(check_csrf)])
def probe_form(person: Annotated[SignedIn, Depends(require_person)]) -> PlainTextResponse:
    return PlainTextResponse("done")


@pytest.fixture
def service(tmp_path: Path, database_url: str | None) -> Iterator[EvidenceService]:
    opened = EvidenceService.open(tmp_path / "store", database_url=database_url, workers=1)
    with opened.store.transaction(write=True) as session:
        agency = repository.get_or_create_agency(session, "Port of Spain lab", country="TT")
        repository.create_user(
            session, agency, EMAIL, role="examiner", password=PASSWORD, display_name="Ana"
        )
    try:
        yield opened
    finally:
        opened.close()


def make_app(service: EvidenceService, tmp_path: Path) -> FastAPI:
    app = create_app(ApiSettings(store=tmp_path / "store", job_worker=False), service=service)
    app.include_router(probe)
    if not any(getattr(route, "path", None) == "/ui/login" for route in app.routes):
        app.include_router(auth.router)
    return app


@pytest.fixture
def client(service: EvidenceService, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(make_app(service, tmp_path), follow_redirects=False) as opened:
        yield opened


def post_login(client: TestClient, password: str = PASSWORD, **fields: str):
    client.cookies.set(LOGIN_CSRF_COOKIE, PRE_TOKEN)
    form = {"email": EMAIL, "password": password, "csrf_token": PRE_TOKEN, **fields}
    return client.post("/ui/login", data=form)


def set_cookie_header(answer) -> str:
    return "; ".join(value for name, value in answer.headers.multi_items() if name == "set-cookie")


def test_signing_in_sets_an_http_only_same_site_cookie(client: TestClient) -> None:
    answer = post_login(client, next="/ui/probe")
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/probe"
    cookie = set_cookie_header(answer).lower()
    assert f"{SESSION_COOKIE}=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "max-age=43200" in cookie and "secure" not in cookie
    page = client.get("/ui/probe")
    assert (
        page.status_code == 200
        and page.text == "Ana (Port of Spain lab) examiner Port of Spain lab"
    )


def test_the_cookie_is_secure_over_https(service: EvidenceService, tmp_path: Path) -> None:
    app = make_app(service, tmp_path)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        answer = post_login(client)
    assert answer.status_code == 303
    assert "secure" in set_cookie_header(answer).lower()


def test_next_is_only_a_local_page(client: TestClient) -> None:
    answer = post_login(client, next="https://elsewhere.example/ui/")
    assert answer.headers["location"] == "/ui/"


def test_a_wrong_password_sends_back_with_an_error_and_no_cookie(
    client: TestClient, service: EvidenceService
) -> None:
    answer = post_login(client, password="not the password", next="/ui/probe")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login?error=1")
    assert SESSION_COOKIE not in set_cookie_header(answer)
    unknown = client.post(
        "/ui/login",
        data={"email": "nobody@lab.tt", "password": PASSWORD, "csrf_token": PRE_TOKEN},
    )
    assert unknown.headers["location"] == answer.headers["location"].replace("%2Fprobe", "%2F")
    with service.store.transaction() as session:
        lines = session.scalars(select(AuditEntry.action)).all()
    assert "person.sign_in_refused" in lines and "person.sign_in" not in lines


def test_the_sign_in_form_needs_its_own_csrf_token(client: TestClient) -> None:
    answer = client.post("/ui/login", data={"email": EMAIL, "password": PASSWORD})
    assert answer.status_code == 403


def test_five_failures_lock_even_the_right_password_for_a_while(
    client: TestClient, service: EvidenceService
) -> None:
    for _ in range(5):
        assert "error=1" in post_login(client, password="guess guess guess").headers["location"]
    locked = post_login(client)
    assert "error=1" in locked.headers["location"]
    assert SESSION_COOKIE not in set_cookie_header(locked)
    with service.store.transaction(write=True) as session:
        user = repository.find_user(session, EMAIL)
        assert user is not None and user.locked_until is not None
        user.locked_until = user.locked_until - datetime.timedelta(seconds=61)  # time passes
    assert post_login(client).headers["location"] == "/ui/"


def test_signing_out_revokes_the_session(client: TestClient, service: EvidenceService) -> None:
    post_login(client)
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    csrf = signed_in_token(service)
    answer = client.post("/ui/logout", data={"csrf_token": csrf})
    assert answer.status_code == 303
    client.cookies.set(SESSION_COOKIE, cookie)  # a copy kept by someone opens nothing
    page = client.get("/ui/probe")
    assert page.status_code == 303 and page.headers["location"] == "/ui/login?next=/ui/probe"


def signed_in_token(service: EvidenceService) -> str:
    with service.store.transaction() as session:
        record = session.scalars(select(SignInSession).where(SignInSession.revoked_at.is_(None)))
        return record.one().csrf_token


def test_an_expired_session_is_sent_to_the_sign_in_page(
    client: TestClient, service: EvidenceService
) -> None:
    post_login(client)
    assert client.get("/ui/probe").status_code == 200
    with service.store.transaction(write=True) as session:
        past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
        session.execute(update(SignInSession).values(expires_at=past))
    page = client.get("/ui/probe?case=7")
    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login?next=/ui/probe%3Fcase%3D7"


def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient, service: EvidenceService
) -> None:
    post_login(client)
    assert client.post("/ui/probe", data={}).status_code == 403
    assert client.post("/ui/probe", data={"csrf_token": "stale"}).status_code == 403
    answer = client.post("/ui/probe", data={"csrf_token": signed_in_token(service)})
    assert answer.status_code == 200 and answer.text == "done"


def test_a_form_posted_without_a_session_is_not_read(client: TestClient) -> None:
    answer = client.post("/ui/probe", data={"csrf_token": "x"})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login")
    big = client.post("/ui/login", content=b"x" * 20_000,
                      headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert big.status_code == 413


def test_pages_carry_the_security_headers(client: TestClient) -> None:
    for answer in (client.get("/ui/probe"), post_login(client), client.get("/ui/probe")):
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    assert "content-security-policy" not in client.get("/v1/health").headers


def test_the_root_leads_to_the_pages(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/"

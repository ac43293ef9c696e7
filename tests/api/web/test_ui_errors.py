"""Unexpected errors (500) inside the review station: a page in the reader's language naming
the incident id that the server's log keeps with the traceback; the API keeps its JSON."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from api.store import repository
from api.web.sessions import SECURITY_HEADERS
from tests.api.network import INVESTIGATOR, LABS, store_lead
from tests.api.web.pages import sign_in


class BrokenQueryError(RuntimeError):
    pass


def _break(*args, **kwargs):
    raise BrokenQueryError("a bug deep inside")


@pytest.fixture
def broken(network, monkeypatch):
    """The network with the linked incidents' query broken (the case page and
    ``GET /v1/cases/.../linked`` both use it), and a client that gets 500s as answers."""
    store_lead(network)
    monkeypatch.setattr(repository, "linked_cases", _break)
    client = TestClient(network.client.app, raise_server_exceptions=False)
    return network, client


def _incident(record: logging.LogRecord) -> str:
    return str(record.args[0]) if record.args else ""


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "Something went wrong on the server"), ("fr", "Une erreur s'est produite")],
)
def test_a_page_error_is_a_page_naming_the_logged_incident(broken, caplog, language, words):
    network, client = broken
    sign_in(network, INVESTIGATOR, "investigator")
    client.cookies.update(network.client.cookies)
    with caplog.at_level(logging.ERROR, logger="api.web.errors"):
        answer = client.get(
            "/ui/cases/C-1",
            params={"agency": LABS[0][0]},
            headers={"Accept-Language": language},
        )
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/html")
    assert f'<html lang="{language}"' in answer.text and words in answer.text.replace("&#39;", "'")
    (record,) = [r for r in caplog.records if r.getMessage().startswith("internal error")]
    assert record.exc_info is not None and record.exc_info[0] is BrokenQueryError
    incident = _incident(record)
    assert re.fullmatch(r"[0-9a-f]{12}", incident) and incident in answer.text
    assert "a bug deep inside" not in answer.text
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value


def test_the_api_keeps_its_json_500(broken, caplog):
    network, client = broken
    with caplog.at_level(logging.ERROR, logger="api.web.errors"):
        answer = client.get("/v1/cases/C-1/linked", headers={"X-API-Key": network.keys[LABS[0][0]]})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    (record,) = [r for r in caplog.records if r.getMessage().startswith("internal error")]
    assert _incident(record) in answer.json()["detail"]

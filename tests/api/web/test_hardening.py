"""The HTTP layer's hardening: keys checked before the body, NUL refused, refusals audited,
internal errors hidden behind an incident id."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.store import repository
from api.store.models import Agency, utc_now
from tests.api.network import ADMIN, EXAMINER, UNSHARED_LAB, Network, store_exhibit, store_lead

pytestmark = pytest.mark.slow


def _asgi_request(
    network: Network, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, Any], int]:
    """Send a request announcing a 200 MB JSON body straight to the application; return its
    status, its JSON answer and how many times the application asked for the body."""
    asked = 0

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        # a chunk of an endless JSON document: reading it to the end would never finish
        return {"type": "http.request", "body": b"[" * 65536, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(200 * 1024 * 1024).encode()),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "state": {},
    }

    async def call() -> None:
        with anyio.fail_after(30):
            await network.client.app(scope, receive, send)

    anyio.run(call)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if "body" in message)
    return start["status"], json.loads(body), asked


# --- credentials before the body -------------------------------------------------------------


def test_a_missing_unknown_or_revoked_key_is_refused_before_the_body_is_read(
    network_on_each_backend,
):
    network = network_on_each_backend
    lab = network.rows[0]["agency"]
    assert network.client.get("/v1/links", headers=network.headers(lab)).status_code == 200
    with network.service.store.transaction(write=True) as session:
        session.execute(
            # revoked, its key's hash left in place: the revocation alone must refuse it
            update(Agency).where(Agency.name == lab).values(disabled_at=utc_now())
        )
    for headers, named in (
        ({}, "missing X-API-Key"),
        ({"X-API-Key": "not-a-key"}, "unknown or revoked"),
        (network.headers(lab), "unknown or revoked"),
    ):
        for method, path in (("POST", "/v1/links/X/confirm"), ("POST", "/v1/exhibits")):
            status, answer, asked = _asgi_request(network, method, path, headers)
            assert status == 401, (path, headers, answer)
            assert named in answer["detail"]
            assert asked == 0, f"{path}: the body was read {asked} times before the 401"
    revoked = network.client.get("/v1/links", headers=network.headers(lab))
    assert revoked.status_code == 401
    # pages that need no key are not gated
    assert network.client.get("/v1/health").status_code == 200
    assert network.client.get("/openapi.json").status_code == 200


def test_the_key_is_looked_up_once_per_request(network, monkeypatch):
    calls = []
    looked_up = repository.agency_for_api_key

    def counted(session, api_key):
        calls.append(api_key)
        return looked_up(session, api_key)

    monkeypatch.setattr(repository, "agency_for_api_key", counted)
    answer = network.client.get("/v1/links", headers=network.headers(EXAMINER))
    assert answer.status_code == 200
    assert len(calls) == 1


# --- NUL characters ---------------------------------------------------------------------------


def test_a_nul_in_any_parameter_is_422_naming_it_on_each_backend(network_on_each_backend):
    network = network_on_each_backend
    link_id = store_lead(network)
    some = network.client.get("/v1/links", headers=network.headers(EXAMINER)).json()["links"][0]
    exhibit = some["exhibit_a_id"]
    examiner, admin = network.headers(EXAMINER), network.headers(ADMIN)
    row = network.rows[0]
    lab = network.headers(row["agency"])
    scan = ("q.x3p", network.file_of(row).read_bytes(), "application/octet-stream")
    upload = {"exhibit_id": "E9", "case_id": "C9", "kind": "cartridge_case", "caliber": "9mm"}
    client = network.client
    tries = [
        (client.get, "/v1/exhibits/A%00B", {"headers": examiner}, ("path", "exhibit_id")),
        (
            client.get,
            "/v1/exhibits/A%00B/candidates",
            {"headers": examiner},
            ("path", "exhibit_id"),
        ),
        (client.get, "/v1/exhibits/A%00B/image", {"headers": examiner}, ("path", "exhibit_id")),
        (
            client.get,
            f"/v1/compare/{exhibit}/A%00B/overlay.png",
            {"headers": examiner},
            ("path", "second"),
        ),
        (client.get, "/v1/cases/C%00/linked", {"headers": examiner}, ("path", "case_id")),
        (
            client.get,
            "/v1/cases/C/linked",
            {"headers": examiner, "params": {"agency": "A\x00"}},
            ("query", "agency"),
        ),
        (client.post, "/v1/links/L%00/confirm", {"headers": examiner}, ("path", "link_id")),
        (
            client.post,
            f"/v1/links/{link_id}/confirm",
            {"headers": examiner, "json": {"comment": "same\x00firing pin"}},
            ("body", "comment"),
        ),
        (
            client.post,
            f"/v1/links/{link_id}/reject",
            {"headers": examiner, "json": {"comment": "\x00"}},
            ("body", "comment"),
        ),
        *(
            (
                client.get,
                "/v1/audit",
                {"headers": admin, "params": {name: "x\x00"}},
                ("query", name),
            )
            for name in ("actor", "action", "object_id")
        ),
        *(
            (
                client.post,
                "/v1/exhibits",
                {"headers": lab, "data": {**upload, name: "E\x00"}, "files": {"file": scan}},
                ("body", name),
            )
            for name in ("exhibit_id", "case_id", "caliber")
        ),
        (
            client.post,
            "/v1/search",
            {"headers": lab, "data": {"caliber": "9\x00"}, "files": {"file": scan}},
            ("body", "caliber"),
        ),
    ]
    for call, path, options, location in tries:
        answer = call(path, **options)
        assert answer.status_code == 422, (path, options.get("params"), answer.text)
        detail = answer.json()["detail"]
        assert detail[0]["loc"] == list(location), (path, detail)
        assert f"'{location[1]}' holds a NUL character" in detail[0]["msg"]
    # nothing was stored or decided
    stored = client.get("/v1/links", headers=examiner).json()["links"]
    assert [(link["id"], link["status"]) for link in stored] == [(link_id, "lead")]
    assert client.get("/v1/health").json()["exhibits"] == 2


# --- refusals in the audit log ---------------------------------------------------------------


def test_every_refusal_of_a_known_key_is_an_access_denied_line(network):
    unshared = next(row for row in network.rows if row["agency"] == UNSHARED_LAB)
    other_lab = next(row["agency"] for row in network.rows if row["agency"] != UNSHARED_LAB)
    exhibit = store_exhibit(network, UNSHARED_LAB, unshared["exhibit_id"], shared=False)

    image = network.client.get(f"/v1/exhibits/{exhibit}/image", headers=network.headers(other_lab))
    assert image.status_code == 403
    upload = network.client.post(
        "/v1/exhibits",
        headers=network.headers(EXAMINER),
        data={"exhibit_id": "E1", "case_id": "C1", "kind": "cartridge_case"},
        files={"file": ("a.x3p", network.file_of(unshared).read_bytes())},
    )
    assert upload.status_code == 403

    denied = network.client.get(
        "/v1/audit", params={"action": "access.denied"}, headers=network.headers(ADMIN)
    )
    assert denied.status_code == 200
    lines = denied.json()["entries"]
    assert [(line["actor"], line["object_type"], line["object_id"]) for line in lines] == [
        (other_lab, "exhibit", exhibit),
        (EXAMINER, "route", "/v1/exhibits"),
    ]
    assert lines[0]["details"]["route"] == "GET /v1/exhibits/{exhibit_id}/image"
    assert "was not shared" in lines[0]["details"]["reason"]
    assert lines[1]["details"]["route"] == "POST /v1/exhibits"
    assert "needs the lab role" in lines[1]["details"]["reason"]
    # the audit log also filters by actor
    by_examiner = network.client.get(
        "/v1/audit",
        params={"action": "access.denied", "actor": EXAMINER},
        headers=network.headers(ADMIN),
    ).json()["entries"]
    assert [line["id"] for line in by_examiner] == [lines[1]["id"]]
    # an unknown key is no agency: nothing to record
    network.client.get("/v1/audit", headers={"X-API-Key": "not-a-key"})
    again = network.client.get(
        "/v1/audit", params={"action": "access.denied"}, headers=network.headers(ADMIN)
    ).json()["entries"]
    assert len(again) == 2


# --- internal errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", [ValueError("cannot reshape array of size 0 into /srv/store"), KeyError("db_pk")]
)
def test_an_internal_error_is_a_500_with_an_id_and_no_internal_text(
    network, monkeypatch, caplog, error
):
    exhibit = store_exhibit(network, network.rows[0]["agency"], network.rows[0]["exhibit_id"])

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(repository, "list_candidates", broken)
    client = TestClient(network.client.app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="api.web.errors"):
        failed = client.get(f"/v1/exhibits/{exhibit}/candidates", headers=network.headers(EXAMINER))
    assert failed.status_code == 500
    detail = failed.json()["detail"]
    match = re.fullmatch(r"internal error \(id ([0-9a-f]{12})\); .*", detail)
    assert match, detail
    for secret in ("reshape", "/srv/store", "db_pk", type(error).__name__):
        assert secret not in detail
    logged = [record for record in caplog.records if match.group(1) in record.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_the_engines_own_errors_are_answered_with_their_message(network):
    row = network.rows[0]
    blank = network.client.post(
        "/v1/exhibits",
        headers=network.headers(row["agency"]),
        data={"exhibit_id": "   ", "case_id": "C1", "kind": "cartridge_case"},
        files={"file": ("a.x3p", network.file_of(row).read_bytes())},
    )
    assert blank.status_code == 422, blank.text
    assert "exhibit_id '' must be a non-empty text" in blank.json()["detail"]


def test_metrics_needs_an_admins_key_and_a_refusal_is_recorded(network):
    assert network.client.get("/metrics").status_code == 401
    refused = network.client.get("/metrics", headers=network.headers(EXAMINER))
    assert refused.status_code == 403
    assert "needs the admin role" in refused.json()["detail"]
    # an admin passes the gate (whatever the route answers: it may not be served)
    assert network.client.get("/metrics", headers=network.headers(ADMIN)).status_code not in (
        401,
        403,
    )
    lines = network.client.get(
        "/v1/audit", params={"action": "access.denied"}, headers=network.headers(ADMIN)
    ).json()["entries"]
    assert [(line["actor"], line["object_id"]) for line in lines] == [(EXAMINER, "/metrics")]

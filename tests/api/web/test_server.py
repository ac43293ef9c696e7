"""The real server over real HTTP: ``ballistics serve`` in a subprocess, driven with httpx.

Uploads from labs in two countries are correlated by the server's job worker and their known
mates found first and linked across the border; an acknowledged upload survives a SIGKILL of
the server while correlation jobs are still queued or running, and is correlated after a
restart. The agencies are made with ``ballistics agency add --json`` before the server starts.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from api.cli import main
from api.store.database import DATABASE_URL_VARIABLE, SQLITE_FILE_NAME
from benchmarks.api_load import (
    ApiServer,
    PoolFile,
    server_environment,
    unfinished_jobs,
    upload_exhibit,
    wait_until_jobs_finished,
    wait_until_settled,
    write_casing_pool,
)

#: the labs upload, the examiner reads everything; the two labs are in different countries
AGENCIES = (("Lab NL", "NL", "lab"), ("Lab BE", "BE", "lab"), ("Examiner", "NL", "examiner"))
#: a killed server's running job is taken over this soon after the restart
STALE_AFTER_S = 6.0
#: above the synthetic consecutively made pistols' non-match scores (up to ~8), below the
#: true mates' (~30): only mates become leads
LEAD_THRESHOLD = 15.0
SETTLE_TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> list[PoolFile]:
    """Two synthetic pistols, two casings each: scans 0 and 1 are mates, as are 2 and 3."""
    return write_casing_pool(tmp_path_factory.mktemp("casings"), firearms=2, seed=12)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The server's environment: the store's own SQLite file, quick takeover of stale jobs."""
    monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)
    base = {key: value for key, value in os.environ.items() if key != DATABASE_URL_VARIABLE}
    return server_environment(stale_after_s=STALE_AFTER_S, lead_threshold=LEAD_THRESHOLD, base=base)


@pytest.fixture
def keys(tmp_path: Path, environment: dict[str, str], capsys: pytest.CaptureFixture[str]):
    """The agencies' API keys by name, made with ``ballistics agency add --json``."""
    store = tmp_path / "store"
    made = {}
    for name, country, role in AGENCIES:
        arguments = ["agency", "add", name, "--country", country, "--role", role, "--json"]
        assert main([*arguments, "--store", str(store)]) == 0
        document = json.loads(capsys.readouterr().out)
        assert (document["agency"], document["country"], document["role"]) == (name, country, role)
        made[name] = document["api_key"]
    return made


@pytest.fixture
def server(
    tmp_path: Path, environment: dict[str, str], keys: dict[str, str]
) -> Iterator[ApiServer]:
    """``ballistics serve --workers 1`` on the test's store (stopped at the end)."""
    with ApiServer(
        tmp_path / "store", workers=1, log_path=tmp_path / "server.log", environment=environment
    ) as running:
        running.start()
        yield running


def unfinished_jobs_in(database: Path) -> int:
    """Pending or running jobs in the SQLite file of a stopped server."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        rows = connection.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
    finally:
        connection.close()
    return unfinished_jobs(dict(rows))


@pytest.mark.slow  # about 10 s: the server starts, four uploads are prepared and correlated
def test_uploads_from_two_countries_find_their_mates_and_a_cross_border_lead_over_http(
    server, keys, pool
):
    owners = ("Lab NL", "Lab BE", "Lab NL", "Lab BE")  # each pair of mates spans the border
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        public_ids = {}
        for index, (item, owner) in enumerate(zip(pool, owners, strict=True)):
            response = upload_exhibit(
                client, item, api_key=keys[owner], exhibit_id=item.exhibit_id, case_id=f"C{index}"
            )
            assert response.status_code == 202, response.text
            answer = response.json()
            assert (answer["status"], answer["created"]) == ("queued", True)
            public_ids[item.exhibit_id] = answer["id"]

        statuses = wait_until_settled(
            client, list(public_ids.values()), api_key=keys["Examiner"], timeout_s=SETTLE_TIMEOUT_S
        )
        assert set(statuses.values()) == {"correlated"}, f"{statuses}\n{server.log_tail()}"

        mate = {pool[0].exhibit_id: pool[1].exhibit_id, pool[1].exhibit_id: pool[0].exhibit_id}
        mate |= {pool[2].exhibit_id: pool[3].exhibit_id, pool[3].exhibit_id: pool[2].exhibit_id}
        for item, owner in zip(pool, owners, strict=True):
            response = client.get(
                f"/v1/exhibits/{public_ids[item.exhibit_id]}/candidates",
                headers={"X-API-Key": keys[owner]},
            )
            assert response.status_code == 200, response.text
            candidates = response.json()["candidates"]
            assert candidates, f"{item.exhibit_id} has no candidates"
            assert candidates[0]["exhibit_id"] == mate[item.exhibit_id]
            assert all(candidates[0]["score"] > other["score"] for other in candidates[1:])

        response = client.get(
            "/v1/links", params={"cross_border": "true"}, headers={"X-API-Key": keys["Examiner"]}
        )
        assert response.status_code == 200, response.text
        linked = {
            frozenset((link["exhibit_a"], link["exhibit_b"])): link
            for link in response.json()["links"]
        }
        mates = {frozenset(pair) for pair in mate.items()}
        assert set(linked) == mates  # both pairs of mates, and no pair of different pistols
        for link in linked.values():
            assert link["status"] == "lead"
            assert link["cross_border"] is True
            assert {link["country_a"], link["country_b"]} == {"NL", "BE"}

        assert wait_until_jobs_finished(client, timeout_s=30.0) == {"done": 4}

        # over the wire too: no key or an unknown one is 401, an unknown id 404
        some_id = public_ids[pool[0].exhibit_id]
        for headers in ({}, {"X-API-Key": "not-a-key"}):
            response = client.get(f"/v1/exhibits/{some_id}", headers=headers)
            assert response.status_code == 401
            assert "X-API-Key" in response.json()["detail"]
        response = client.post(
            "/v1/exhibits",
            files={"file": (pool[0].name, pool[0].data)},
            data={"exhibit_id": "NO-KEY", "case_id": "C9", "kind": "cartridge_case"},
        )
        assert response.status_code == 401
        assert client.get("/v1/health").json()["exhibits"] == 4  # nothing stored without a key
        response = client.get("/v1/exhibits/01NOSUCHEXHIBIT", headers={"X-API-Key": keys["Lab NL"]})
        assert response.status_code == 404
        assert response.json()["detail"]
        # another lab reads the references a link needs, not the exhibit's candidates
        response = client.get(f"/v1/exhibits/{some_id}", headers={"X-API-Key": keys["Lab BE"]})
        assert response.status_code == 200
        assert (response.json()["restricted"], response.json()["sha256"]) == (True, None)
        response = client.get(
            f"/v1/exhibits/{some_id}/candidates", headers={"X-API-Key": keys["Lab BE"]}
        )
        assert response.status_code == 403


#: uploads sent by 4 threads; the server is killed once KILL_AFTER of them are answered
UPLOADS = 8
KILL_AFTER = 5


@pytest.mark.slow  # about 20 s: two server starts, 8 uploads, the stale job's takeover, 28 pairs
def test_every_acknowledged_upload_survives_a_sigkill_and_is_correlated_after_a_restart(
    server, keys, pool, tmp_path
):
    labs = ("Lab NL", "Lab BE")
    plan = [(f"K{number}", pool[number % len(pool)], labs[number % 2]) for number in range(UPLOADS)]
    acknowledged: dict[str, str] = {}  # exhibit id -> public id, for every 2xx answer
    lock = threading.Lock()
    enough = threading.Event()

    def send(exhibit_id: str, item: PoolFile, owner: str) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=60.0) as client:
                response = upload_exhibit(
                    client, item, api_key=keys[owner], exhibit_id=exhibit_id, case_id=exhibit_id
                )
        except httpx.HTTPError:
            return  # no answer: the server was killed first; the client will send it again
        if response.is_success:
            with lock:
                acknowledged[exhibit_id] = response.json()["id"]
                if len(acknowledged) >= KILL_AFTER:
                    enough.set()

    with ThreadPoolExecutor(max_workers=4) as executor:
        futures = [executor.submit(send, *entry) for entry in plan]
        assert enough.wait(120), f"fewer than {KILL_AFTER} uploads answered\n{server.log_tail()}"
        server.kill()
        for future in futures:
            future.result()
    with lock:
        answered = dict(acknowledged)
    assert len(answered) >= KILL_AFTER
    # the kill interrupted work: some answered uploads were not correlated yet
    assert unfinished_jobs_in(tmp_path / "store" / SQLITE_FILE_NAME) > 0

    server.start()
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        for exhibit_id, public_id in answered.items():
            response = client.get(
                f"/v1/exhibits/{public_id}", headers={"X-API-Key": keys["Examiner"]}
            )
            assert response.status_code == 200, f"acknowledged {exhibit_id} lost: {response.text}"
            assert response.json()["exhibit_id"] == exhibit_id

        # the client sends again what got no answer: stored once whether or not it had committed
        every = dict(answered)
        for exhibit_id, item, owner in plan:
            if exhibit_id in answered:
                continue
            response = upload_exhibit(
                client, item, api_key=keys[owner], exhibit_id=exhibit_id, case_id=exhibit_id
            )
            assert response.status_code in (201, 202), response.text
            every[exhibit_id] = response.json()["id"]

        statuses = wait_until_settled(
            client, list(every.values()), api_key=keys["Examiner"], timeout_s=SETTLE_TIMEOUT_S
        )
        assert set(statuses.values()) == {"correlated"}, f"{statuses}\n{server.log_tail()}"
        jobs = wait_until_jobs_finished(client, timeout_s=30.0)
        assert set(jobs) == {"done"}, jobs  # none left pending or running, none failed
        assert client.get("/v1/health").json()["exhibits"] == UPLOADS

"""The application opened from its settings: where ``BALLISTICS_ORIGINALS_URL`` keeps uploads."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from fastapi.testclient import TestClient

from api.store import open_store, repository
from api.store.originals import ORIGINALS_URL_VARIABLE, open_originals
from api.web.app import create_app
from api.web.settings import ApiSettings


def test_an_upload_keeps_its_original_at_the_url_of_the_settings(
    tmp_path, exhibit_files, prepared_scans, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    url = f"memory://originals-{uuid.uuid4().hex}"  # fsspec's: this process, as the server's
    monkeypatch.setenv(ORIGINALS_URL_VARIABLE, f"  {url} ")
    opened = open_store(store)
    with opened.transaction(write=True) as session:
        key = repository.issue_api_key(
            session, repository.get_or_create_agency(session, "Lab TT", country="TT")
        )
    opened.close()
    settings = ApiSettings(store=store, compare_workers=1, job_worker=False)
    assert settings.originals_url == url
    folder, rows = exhibit_files
    data = (folder / rows[0]["path"]).read_bytes()

    with prepared_scans.installed(), TestClient(create_app(settings)) as client:
        answer = client.post(
            "/v1/exhibits",
            headers={"X-API-Key": key},
            data={"exhibit_id": "E1", "case_id": "C1", "kind": "cartridge_case"},
            files={"file": ("e1.x3p", data, "application/octet-stream")},
        )
    assert answer.status_code == 202, answer.text
    assert open_originals(url).read(hashlib.sha256(data).hexdigest()) == data
    assert not (store / "originals").exists()

"""An HTTP network of agencies for the API's tests: one application, its client, every key.

The exhibits are synthetic casings of known pistols (``ballistics.synthetic``) at a coarse
20 µm per pixel, so that they are small and quick: three pistols, two firings each, filed by
labs of three countries. Synthetic consecutively made pistols share subclass marks and score up
to about 8 against each other (true mates about 30), so the lead threshold is set between.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from api.service import EvidenceService, ServiceConfig
from api.store import repository
from api.web.app import create_app
from api.web.settings import ApiSettings
from ballistics.synthetic import make_casing_dataset, write_exhibit_files

PIXEL_UM = 20.0
LABS = (("Port of Spain lab", "TT"), ("Georgetown lab", "GY"), ("Abidjan lab", "CI"))
EXAMINER = "Regional examiner"
INVESTIGATOR = "Abidjan investigations"
ADMIN = "Network admin"
OTHER_ROLES = (
    (EXAMINER, "TT", "examiner"),
    (INVESTIGATOR, "CI", "investigator"),
    (ADMIN, "TT", "admin"),
)
#: this lab uploads unshared
UNSHARED_LAB = "Georgetown lab"
NETWORK_CONFIG = ServiceConfig(top_k=5, lead_threshold=15.0)


@dataclass
class Network:
    """An application on a store, its client and the agencies' keys."""

    client: TestClient
    service: EvidenceService
    keys: dict[str, str]
    rows: list[dict[str, str]] = field(default_factory=list)
    folder: Path = Path()
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self, agency: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[agency]}

    def file_of(self, row: dict[str, str]) -> Path:
        return self.folder / row["path"]

    def upload(self, row: dict[str, str], **form: str):
        path = self.file_of(row)
        data = {
            "exhibit_id": row["exhibit_id"],
            "case_id": row["case_id"],
            "kind": "cartridge_case",
            "caliber": row.get("caliber", ""),
            "shared": "false" if row["agency"] == UNSHARED_LAB else "true",
            **form,
        }
        return self.client.post(
            "/v1/exhibits",
            headers=self.headers(row["agency"]),
            data=data,
            files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
        )

    def wait_for_jobs(self, timeout_s: float = 120.0) -> dict[str, int]:
        deadline = time.monotonic() + timeout_s
        while True:
            jobs = self.client.get("/v1/health").json()["jobs"]
            if not jobs.get("pending") and not jobs.get("running"):
                return jobs
            if time.monotonic() > deadline:
                raise AssertionError(f"jobs still open after {timeout_s} s: {jobs}")
            time.sleep(0.1)


def write_network_exhibits(folder: Path) -> tuple[Path, list[dict[str, str]]]:
    """Write six synthetic X3P files filed by the labs; return their folder and manifest rows."""
    records = make_casing_dataset(
        firearm_count=3, firings_per_firearm=2, seed=12, modality="topography", pixel_um=PIXEL_UM
    )
    manifest = write_exhibit_files(records, folder, modality="topography", agencies=LABS)
    with manifest.open(newline="", encoding="utf-8") as handle:
        return manifest.parent, list(csv.DictReader(handle))


def open_network(
    store: Path,
    exhibit_files: tuple[Path, list[dict[str, str]]],
    *,
    database_url: str | None = None,
    **settings: object,
) -> Iterator[Network]:
    """A running application (lifespan entered) on a new store with every agency's key
    (SQLite in ``store``, or the database of ``database_url``)."""
    service = EvidenceService.open(
        store, database_url=database_url, config=NETWORK_CONFIG, workers=1
    )
    keys: dict[str, str] = {}
    with service.store.transaction(write=True) as session:
        for name, country in LABS:
            agency = repository.get_or_create_agency(session, name, country=country)
            keys[name] = repository.issue_api_key(session, agency)
        for name, country, role in OTHER_ROLES:
            agency = repository.get_or_create_agency(session, name, country=country, role=role)
            keys[name] = repository.issue_api_key(session, agency)
    app = create_app(ApiSettings(store=store, **settings), service=service)
    folder, rows = exhibit_files
    try:
        with TestClient(app) as client:
            yield Network(client=client, service=service, keys=keys, rows=rows, folder=folder)
    finally:
        service.close()

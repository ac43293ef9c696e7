"""An HTTP network of agencies for the API's tests: one application, its client, every key.

The exhibits are synthetic casings of known pistols (``ballistics.synthetic``) at a coarse
20 µm per pixel, so that they are small and quick: three pistols, two firings each, filed by
labs of three countries. Synthetic consecutively made pistols share subclass marks and score up
to about 8 against each other (true mates about 30), so the lead threshold is set between.

Tests of what the routes answer need no scan prepared for them: :class:`PreparedScans` prepares
each exhibit file once a session (real marks, real comparisons after), and :func:`store_exhibit`
and :func:`store_lead` store exhibits and a lead with no scan at all.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import time
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.service import EvidenceService, ServiceConfig
from api.store import repository
from api.web.app import create_app
from api.web.settings import ApiSettings
from ballistics.io import AS_STORED
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.items import ItemKind, kind_spec
from ballistics.items.spec import EngineSettings, Extracted
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


class PreparedScans:
    """Cartridge cases prepared once a session, standing in for the kind's preparation step.

    While :meth:`installed`, the registry's cartridge-case ``extract`` (what every upload,
    search and ingest calls) answers files it has prepared before, with the same names, bytes,
    ``pixel_um``, preparation settings and read limits, with the mark it prepared then; any
    other call, and every refusal, goes to the real step. The cached marks are read-only, so a
    caller that changed one would fail instead of spoiling the next test.
    """

    def __init__(self) -> None:
        self._prepared: dict[Hashable, Extracted] = {}
        self._installed = False
        #: preparations run for real (the cache's misses)
        self.prepared = 0

    @contextmanager
    def installed(self) -> Iterator[None]:
        if self._installed:  # a test's network inside a module's: installed once
            yield
            return
        spec = kind_spec(ItemKind.CARTRIDGE_CASE)
        real = spec.extract

        def extract(
            files: Sequence[tuple[str, bytes]],
            *,
            pixel_um: float | None,
            settings: EngineSettings,
            limits: ReadLimits = DEFAULT_LIMITS,
            source: str = "",
            orientation: str = AS_STORED,
            caliber: str | None = None,
        ) -> Extracted:
            key = (
                tuple((name, hashlib.sha256(data).digest()) for name, data in files),
                pixel_um,
                spec.preparation_settings(settings),
                limits,
                orientation,
                caliber,
            )
            extracted = self._prepared.get(key)
            if extracted is None:
                extracted = real(
                    files,
                    pixel_um=pixel_um,
                    settings=settings,
                    limits=limits,
                    source=source,
                    orientation=orientation,
                    caliber=caliber,
                )
                self.prepared += 1
                _read_only(extracted.mark)
                extracted.descriptor.setflags(write=False)
                self._prepared[key] = extracted
            return extracted

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(spec, "extract", extract)
            self._installed = True
            try:
                yield
            finally:
                self._installed = False


def _read_only(mark: Any) -> None:
    """Make the arrays of a prepared mark (and of the records it holds) read-only."""
    for item in fields(mark) if is_dataclass(mark) else ():
        value = getattr(mark, item.name)
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
        elif is_dataclass(value):
            _read_only(value)


def store_exhibit(
    network: Network, agency: str, exhibit_id: str, *, case_id: str = "C-1", shared: bool = True
) -> str:
    """Store an exhibit of ``agency`` without a scan (its file is a few bytes, never prepared);
    return its public id."""
    store = network.service.store
    with store.transaction(write=True) as session:
        case = repository.get_or_create_case(
            session,
            repository.get_agency(session, agency),
            case_id,
            occurred_on=datetime.date(2026, 1, 5),
        )
        original = store.originals.put_bytes(f"{agency}/{exhibit_id}".encode(), name="x.x3p")
        added = repository.add_exhibit(
            session, case, exhibit_id, kind="cartridge_case", files=[original], shared=shared
        )
        return added.exhibit.public_id


def store_lead(network: Network) -> str:
    """Store two exhibits of two labs' cases (no scan needed) and a lead between them; its id."""
    ids = [
        store_exhibit(network, agency, f"E-{case_id}", case_id=case_id)
        for (agency, _), case_id in zip(LABS[:2], ("C-1", "C-2"), strict=True)
    ]
    with network.service.store.transaction(write=True) as session:
        first, second = (repository.get_exhibit(session, public_id) for public_id in ids)
        return repository.upsert_link(session, first, second, score=30.0).public_id


def open_network(
    store: Path,
    exhibit_files: tuple[Path, list[dict[str, str]]],
    *,
    database_url: str | None = None,
    prepared: PreparedScans | None = None,
    **settings: object,
) -> Iterator[Network]:
    """A running application (lifespan entered) on a new store with every agency's key
    (SQLite in ``store``, or the database of ``database_url``); with ``prepared``, its scans
    are prepared once a session."""
    with prepared.installed() if prepared is not None else nullcontext():
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

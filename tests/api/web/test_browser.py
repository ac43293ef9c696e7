"""The review station in a real browser: Debian's Chromium, driven by Playwright, on a real
``ballistics serve`` whose agencies come from ``ballistics agency add`` and whose people from
``ballistics user add --password-stdin``.

The labs' casings are uploaded over the API before the pages are opened, so that the examiner's
queue holds a cross-border lead. The tests find the pages' controls by the labels and accessible
names of the contract (``../shared/CONTRACT.md``, "People and the review station").

Set ``BALLISTICS_SCREENSHOTS=1`` to refresh the README's pictures in ``docs/screenshots``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.store.database import DATABASE_URL_VARIABLE
from benchmarks.api_load import (
    ApiServer,
    PoolFile,
    server_environment,
    upload_exhibit,
    wait_until_settled,
    write_casing_pool,
)
from tests.api.web.browser import (
    Person,
    Screenshots,
    add_agency,
    contexts,
    launch_chromium,
)

pytestmark = pytest.mark.slow

#: two labs across a border and the region's examiner
AGENCIES = (("Lab NL", "NL", "lab"), ("Lab BE", "BE", "lab"), ("Examiner", "NL", "examiner"))
EXAMINER = Person("examiner@example.org", "correct horse battery", "Examiner", "examiner")
#: a second examiner who reads the pages in Arabic (a person's language sticks to them)
READER = Person("reader@example.org", "battery staple horse", "Examiner", "examiner")
LAB = Person("lab@nl.example.org", "staple lab battery 9", "Lab NL", "lab")
PEOPLE = (EXAMINER, READER, LAB)
#: only the synthetic pistols' true mates (~30) become leads, not consecutive slides (~8)
LEAD_THRESHOLD = 15.0
SETTLE_TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> list[PoolFile]:
    """Two synthetic pistols, two casings each: scans 0 and 1 are mates, as are 2 and 3."""
    return write_casing_pool(tmp_path_factory.mktemp("casings"), firearms=2, seed=12)


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory, pool: list[PoolFile]) -> Iterator[Station]:
    """``ballistics serve`` with its agencies and people, scans 0 and 1 uploaded and linked."""
    folder = tmp_path_factory.mktemp("station")
    store = folder / "store"
    base = {key: value for key, value in os.environ.items() if key != DATABASE_URL_VARIABLE}
    environment = server_environment(stale_after_s=30.0, lead_threshold=LEAD_THRESHOLD, base=base)
    keys = {
        name: add_agency(name, country=country, role=role, store=store, environment=environment)
        for name, country, role in AGENCIES
    }
    with ApiServer(
        store, workers=1, log_path=folder / "server.log", environment=environment
    ) as server:
        server.start()
        with httpx.Client(base_url=server.url, timeout=60.0) as client:
            public_ids = []
            for item, owner in zip(pool[:2], ("Lab NL", "Lab BE"), strict=True):
                response = upload_exhibit(
                    client, item, api_key=keys[owner], exhibit_id=item.exhibit_id, case_id="C1"
                )
                assert response.status_code == 202, response.text
                public_ids.append(response.json()["id"])
            statuses = wait_until_settled(
                client, public_ids, api_key=keys["Examiner"], timeout_s=SETTLE_TIMEOUT_S
            )
            assert set(statuses.values()) == {"correlated"}, f"{statuses}\n{server.log_tail()}"
        yield Station(server, store, environment, keys)


class Station:
    """The running server, its store, environment and the agencies' keys."""

    def __init__(self, server: ApiServer, store: Path, environment, keys: dict[str, str]):
        self.server = server
        self.url = server.url
        self.store = store
        self.environment = environment
        self.keys = keys

    def api(self, path: str, *, agency: str, **params) -> dict:
        """``GET path`` with ``agency``'s key; the JSON answer."""
        response = httpx.get(
            f"{self.url}{path}", params=params, headers={"X-API-Key": self.keys[agency]}
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium for the module's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        try:
            yield launched
        finally:
            launched.close()  # type: ignore[attr-defined]


@pytest.fixture
def context(browser) -> Iterator[object]:
    """A fresh context (no cookies), 1200x800."""
    yield from contexts(browser)


@pytest.fixture
def page(context) -> Iterator[object]:
    """A page of a fresh context."""
    yield context.new_page()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    """The main pages' screenshots (docs/screenshots when BALLISTICS_SCREENSHOTS is set)."""
    return Screenshots(tmp_path_factory.mktemp("screenshots"))


def test_chromium_loads_the_servers_health_over_http(station, page):
    response = page.goto(f"{station.url}/v1/health")
    assert response is not None and response.status == 200
    assert '"exhibits"' in page.content()

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
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from api.store.database import DATABASE_URL_VARIABLE
from benchmarks.api_load import (
    ApiServer,
    PoolFile,
    server_environment,
    upload_exhibit,
    wait_until_jobs_finished,
    wait_until_settled,
    write_casing_pool,
)
from tests.api.web.browser import (
    Person,
    Screenshots,
    add_agency,
    add_person,
    chromium_path,
    contexts,
    launch_chromium,
    sign_in,
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
#: the cases of the two mates, one in each country
CASES = ("NL-2026-17", "BE-2026-4")
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
    for person in PEOPLE:
        add_person(person, store=store, environment=environment)
    with ApiServer(
        store, workers=1, log_path=folder / "server.log", environment=environment
    ) as server:
        server.start()
        with httpx.Client(base_url=server.url, timeout=60.0) as client:
            public_ids = []
            for item, owner, case_id in zip(pool[:2], ("Lab NL", "Lab BE"), CASES, strict=True):
                response = upload_exhibit(
                    client, item, api_key=keys[owner], exhibit_id=item.exhibit_id, case_id=case_id
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


@pytest.fixture(scope="module", autouse=True)
def chromium() -> Path:
    """The browser, found before any server starts (skip or, under CI, fail without it)."""
    return chromium_path()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[object]:
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


def test_a_page_asked_without_signing_in_redirects_to_the_sign_in(station, page, screenshots):
    response = page.goto(f"{station.url}/ui/leads")
    assert response is not None and response.ok
    assert urlsplit(page.url).path == "/ui/login"
    assert parse_qs(urlsplit(page.url).query)["next"] == ["/ui/leads"]
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    screenshots.take(page, "login")

    # a wrong password leaves the person on the sign-in page, saying so
    page.get_by_label("Email").fill(EXAMINER.email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert urlsplit(page.url).path == "/ui/login"

    sign_in(page, station.url, EXAMINER, next_path="/ui/leads")
    assert urlsplit(page.url).path == "/ui/leads"


def test_an_examiner_confirms_the_first_lead_of_the_queue(station, page, screenshots):
    sign_in(page, station.url, EXAMINER)
    page.goto(f"{station.url}/ui/leads")
    expect(page.get_by_role("table")).to_be_visible()
    screenshots.take(page, "leads")

    page.locator("table a[href*='/ui/links/']").first.click()
    page.wait_for_url("**/ui/links/**")
    link_id = urlsplit(page.url).path.rsplit("/", 1)[-1]
    links = station.api("/v1/links", agency="Examiner")["links"]
    assert [link["status"] for link in links if link["id"] == link_id] == ["lead"]
    expect(page.get_by_role("img").first).to_be_visible()
    assert page.get_by_role("img").count() >= 2  # the two marks side by side
    screenshots.take(page, "lead")

    page.get_by_label("Comment").fill("Breech face agrees over most cells; seen on the images.")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()

    links = station.api("/v1/links", agency="Examiner")["links"]
    decided = [link for link in links if link["id"] == link_id]
    assert [link["status"] for link in decided] == ["confirmed"], decided

    # the confirmed link joins the two cases: the Dutch case shows the Belgian one, as a graph
    page.goto(f"{station.url}/ui/cases/{CASES[0]}?agency=Lab%20NL")
    expect(page.get_by_text(CASES[1]).first).to_be_visible()
    expect(page.locator("main svg")).to_be_visible()
    expect(page.get_by_role("link", name="Download report")).to_be_visible()
    screenshots.take(page, "case")


def choose_language(page, language: str) -> None:
    """Pick ``language`` in the "Language" select (sent on change; else with its button)."""
    html = page.locator("html")
    page.get_by_label("Language").select_option(language)
    try:
        expect(html).to_have_attribute("lang", language, timeout=5000)
    except AssertionError:
        page.locator("form:has(select[name='language']) [type='submit']").click()
        expect(html).to_have_attribute("lang", language)


def test_the_pages_in_arabic_run_right_to_left(station, page, screenshots):
    sign_in(page, station.url, READER)
    page.goto(f"{station.url}/ui/leads?status=")  # every link, decided or not
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("en", "ltr")
    values = (
        page.get_by_label("Language")
        .locator("option")
        .evaluate_all("options => options.map(option => option.value)")
    )
    assert set(values) == {"en", "fr", "es", "ar"}

    choose_language(page, "ar")
    expect(html).to_have_attribute("dir", "rtl")
    assert urlsplit(page.url).path == "/ui/leads"
    expect(page.locator("table a[href*='/ui/links/']").first).to_be_visible()
    screenshots.take(page, "leads-ar")

    # the person's choice follows them to the next page
    page.goto(f"{station.url}/ui/leads?status=confirmed")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")


def test_a_form_posted_without_its_csrf_token_is_refused(station, page):
    sign_in(page, station.url, READER)
    page.goto(f"{station.url}/ui/leads")
    form = {"language": "ar", "next": "/ui/leads"}
    refused = page.request.post(f"{station.url}/ui/language", form=form, max_redirects=0)
    assert refused.status == 403, refused.text()

    # the same form with the page's token is taken: the token, not the session, made the 403
    token = page.locator("form:has(select[name='language']) [name='csrf_token']").input_value()
    taken = page.request.post(
        f"{station.url}/ui/language", form={**form, "csrf_token": token}, max_redirects=0
    )
    assert taken.status == 303, taken.text()


def test_a_lab_uploads_a_casing_and_sees_it_queued_then_correlated(station, page, pool, tmp_path):
    scan = tmp_path / pool[2].name
    scan.write_bytes(pool[2].data)
    sign_in(page, station.url, LAB)
    page.goto(f"{station.url}/ui/exhibits/new")
    page.get_by_label("Scan or photograph").set_input_files(str(scan))
    page.get_by_label("Exhibit ID").fill("NL-UI-1")
    page.get_by_label("Case ID").fill("C-UI-1")
    page.get_by_label("Kind").select_option("cartridge_case")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()
    outcome = page.get_by_role("status")
    expect(outcome).to_contain_text("NL-UI-1")
    expect(outcome).to_contain_text(re.compile(r"\b(queued|done)\b"))

    # the server's worker correlates it against the network's two exhibits
    with httpx.Client(base_url=station.url, timeout=30.0) as client:
        assert wait_until_jobs_finished(client, timeout_s=SETTLE_TIMEOUT_S) == {"done": 3}
        assert client.get("/v1/health").json()["exhibits"] == 3

"""The issue's "Done when", walked as a new user would: ``ballistics demo --serve`` in a
subprocess (a free port in ``BALLISTICS_PORT``, a temporary data folder), then, in Debian's
Chromium, the demo people it printed sign in and walk the scenario: a lab uploads a casing, the
examiner opens the best cross-border lead of that lab's country and confirms it under the
comparison microscope (a hit), the investigator of that country sees the linked incidents across
countries on the case page and downloads the hit report; then Ctrl-C stops the demo.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from playwright.sync_api import expect

from benchmarks.api_load import write_casing_pool
from tests.api.web.browser import (
    DemoRun,
    chromium_browser,
    contexts,
    pdf_text,
    run_demo,
    sign_in,
)

pytestmark = pytest.mark.slow

#: the demo's lab and investigators of Côte d'Ivoire (api.demo)
LAB_AGENCY, COUNTRY = "Abidjan lab", "CI"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium, found before the demo starts (skip or, under CI, fail without)."""
    with chromium_browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def demo(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    with run_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running


def test_the_demo_prints_its_people_and_the_review_stations_address(demo):
    assert urlsplit(demo.url).hostname == "127.0.0.1"
    roles = {person.role for person in demo.people}
    assert roles == {"lab", "examiner", "investigator", "admin"}, demo.people
    assert all(len(person.password) >= 12 for person in demo.people)


def test_the_demos_scenario_walks_through_in_the_browser(demo, browser, tmp_path):
    lab = demo.person("lab", LAB_AGENCY)
    examiner = demo.person("examiner")
    investigator = demo.person("investigator")
    casing = write_casing_pool(tmp_path / "casings", firearms=1, seed=31)[0]
    scan = tmp_path / casing.name
    scan.write_bytes(casing.data)

    # a lab uploads a casing and sees its exhibit's page
    for context in contexts(browser):
        page = context.new_page()
        sign_in(page, demo.url, lab)
        page.goto(f"{demo.url}/ui/exhibits/new")
        page.get_by_label("Scan or photograph").set_input_files(str(scan))
        page.get_by_label("Exhibit ID").fill("CI-WALK-1")
        page.get_by_label("Case ID").fill("CI-WALK")
        page.get_by_label("Kind").select_option("cartridge_case")
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_role("status")).to_contain_text("CI-WALK-1")

    # the examiner takes the best lead involving that lab, and confirms it: a hit
    for context in contexts(browser):
        page = context.new_page()
        sign_in(page, demo.url, examiner)
        page.goto(f"{demo.url}/ui/leads")
        row = page.locator("table tbody tr", has_text=f"{LAB_AGENCY} ({COUNTRY})").first
        row.get_by_role("link").first.click()
        page.wait_for_url("**/ui/links/**")
        cases = case_links(page)
        assert LAB_AGENCY in cases and len(cases) == 2, cases
        page.get_by_label("Comment").fill("Agreement under the comparison microscope.")
        page.get_by_label(re.compile(r"comparison microscope")).check()
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("status")).to_contain_text("Hit")  # recorded; the next lead

    # the investigator of that country sees the linked incident abroad, and the report
    own_case = cases.pop(LAB_AGENCY)
    ((other_agency, other_case),) = cases.items()
    for context in contexts(browser):
        page = context.new_page()
        sign_in(page, demo.url, investigator)
        page.goto(f"{demo.url}/ui/cases/{quote(own_case)}?agency={quote(LAB_AGENCY)}")
        table = page.get_by_role("table", name="Linked incidents")
        expect(table.get_by_role("cell", name=other_case, exact=True).first).to_be_visible()
        expect(table).to_contain_text(other_agency)
        expect(page.locator("main svg")).to_contain_text(other_case)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download report").click()
        data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)
    if text is not None:
        for expected in (own_case, other_case, LAB_AGENCY, other_agency):
            assert expected in text, (expected, text[:2000])

    # Ctrl-C ends the demo's server
    assert demo.stop() in (0, -signal.SIGINT), demo.output.read_text()[-2000:]


def case_links(page) -> dict[str, str]:
    """The lead page's two cases: agency → case id (from the sides' case links)."""
    hrefs = page.locator("main a[href^='/ui/cases/']").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    cases = {}
    for href in hrefs:
        parts = urlsplit(href)
        agency = parse_qs(parts.query).get("agency", [""])[0]
        cases[agency] = unquote(parts.path.rsplit("/", 1)[-1])
    return cases

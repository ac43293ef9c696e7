"""The cases' list (GET /ui/cases, api/web/ui/cases.py): a lab sees its own cases, the other
roles every agency's, each linking to a case page they may open; filters and paging in the
database; the home page's case id form still goes on to the case's page."""

from __future__ import annotations

import re

import pytest

import api.web.ui.cases
from api.store import repository
from tests.api.network import EXAMINER, INVESTIGATOR, LABS, store_exhibit
from tests.api.web.pages import has_label, sign_in

LAB, OTHER_LAB, THIRD_LAB = (name for name, _ in LABS)


def confirm(network, first: str, second: str) -> None:
    """Store a confirmed link between the exhibits of public ids ``first`` and ``second``."""
    with network.service.store.transaction(write=True) as session:
        one, two = (repository.get_exhibit(session, key) for key in (first, second))
        link = repository.upsert_link(session, one, two, score=30.0)
        examiner = repository.get_agency(session, EXAMINER)
        repository.set_link_status(session, link, "confirmed", by_agency=examiner)


@pytest.fixture
def cases(network):
    """Cases of three labs, in filing order: Port of Spain C-1 (two exhibits) confirmed to
    Georgetown G-1, itself confirmed to Abidjan A-1; Port of Spain C-2 unlinked; and a case id
    Georgetown shares with Port of Spain (C-2)."""
    first = store_exhibit(network, LAB, "E-1", case_id="C-1")
    store_exhibit(network, LAB, "E-2", case_id="C-1")
    store_exhibit(network, LAB, "E-3", case_id="C-2")
    georgetown = store_exhibit(network, OTHER_LAB, "G-E-1", case_id="G-1")
    abidjan = store_exhibit(network, THIRD_LAB, "A-E-1", case_id="A-1")
    store_exhibit(network, OTHER_LAB, "G-E-2", case_id="C-2")
    confirm(network, first, georgetown)
    confirm(network, georgetown, abidjan)
    return network


def rows_of(html: str) -> list[list[str]]:
    """The list's rows as the texts of their cells."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def case_hrefs(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1]
    return re.findall(r'href="(/ui/cases/[^"]+)"', body)


def test_a_lab_lists_its_own_cases_with_their_counts(cases):
    sign_in(cases, LAB, "lab")
    page = cases.client.get("/ui/cases")
    assert page.status_code == 200, page.text
    assert re.search(r'<a href="/ui/cases" aria-current="page">Cases</a>', page.text)
    # newest first: case id, agency, country, date of the incident, exhibits, links, incidents
    assert rows_of(page.text) == [
        ["C-2", LAB, "TT", "Jan 5, 2026", "1", "0", "0"],
        ["C-1", LAB, "TT", "Jan 5, 2026", "2", "1", "2"],
    ]
    assert OTHER_LAB not in page.text and "G-1" not in page.text
    with cases.service.store.transaction() as session:
        lines = repository.list_audit(session, action="cases.list")
    assert [(line.actor, line.details["count"]) for line in lines] == [(LAB, 2)]


@pytest.mark.parametrize(
    ("agency", "role"), [(LAB, "lab"), (INVESTIGATOR, "investigator"), (EXAMINER, "examiner")]
)
def test_every_listed_case_opens_its_own_page(cases, agency, role):
    sign_in(cases, agency, role)
    page = cases.client.get("/ui/cases").text
    hrefs = case_hrefs(page)
    assert len(hrefs) == len(rows_of(page)) == (2 if role == "lab" else 5)
    for href, row in zip(hrefs, rows_of(page), strict=True):
        opened = cases.client.get(href)
        assert opened.status_code == 200, href
        # the page of this agency's case, although two agencies file a C-2
        assert f"{row[0]} · {row[1]} ({row[2]})" in opened.text


def test_an_investigator_lists_every_agencys_cases(cases):
    sign_in(cases, INVESTIGATOR, "investigator")
    page = cases.client.get("/ui/cases").text
    assert [row[:2] for row in rows_of(page)] == [
        ["C-2", OTHER_LAB],
        ["A-1", THIRD_LAB],
        ["G-1", OTHER_LAB],
        ["C-2", LAB],
        ["C-1", LAB],
    ]
    assert "/ui/cases/C-2?agency=Georgetown%20lab" in page
    assert "/ui/cases/C-2?agency=Port%20of%20Spain%20lab" in page
    # G-1 is confirmed to both others: two links, two incidents
    assert rows_of(page)[2][4:] == ["1", "2", "2"]


def test_filters_narrow_the_list(cases):
    sign_in(cases, INVESTIGATOR, "investigator")

    def listed(**params) -> list[tuple[str, str]]:
        page = cases.client.get("/ui/cases", params=params)
        assert page.status_code == 200
        if "<tbody>" not in page.text:
            assert "No case matches these filters." in page.text
            return []
        return [(row[0], row[1]) for row in rows_of(page.text)]

    assert listed(contains="c-") == [("C-2", OTHER_LAB), ("C-2", LAB), ("C-1", LAB)]
    assert listed(country="gy") == [("C-2", OTHER_LAB), ("G-1", OTHER_LAB)]
    assert listed(linked="yes") == [("A-1", THIRD_LAB), ("G-1", OTHER_LAB), ("C-1", LAB)]
    assert listed(linked="yes", country="TT") == [("C-1", LAB)]
    assert listed(contains="nothing like it") == []
    # a value that is not one of the filter's is no filter
    assert len(listed(linked="maybe")) == 5
    page = cases.client.get("/ui/cases", params={"linked": "yes", "country": "CI"}).text
    assert 'value="yes" checked' in page and '<option value="CI" selected>' in page


def test_the_list_pages_with_its_filters(cases, monkeypatch):
    monkeypatch.setattr(api.web.ui.cases, "PAGE_LENGTH", 2)
    sign_in(cases, INVESTIGATOR, "investigator")
    first = cases.client.get("/ui/cases", params={"contains": "-1"}).text
    assert [row[0] for row in rows_of(first)] == ["A-1", "G-1"]
    assert 'href="/ui/cases?contains=-1&amp;page=2" rel="next"' in first
    assert 'rel="prev"' not in first
    second = cases.client.get("/ui/cases", params={"contains": "-1", "page": "2"}).text
    assert [row[0] for row in rows_of(second)] == ["C-1"]
    assert 'href="/ui/cases?contains=-1&amp;page=1" rel="prev"' in second
    assert 'rel="next"' not in second
    past = cases.client.get("/ui/cases", params={"page": "9"}).text
    assert "<tbody>" not in past and "No case matches these filters." in past


def test_every_control_is_labelled(cases):
    sign_in(cases, INVESTIGATOR, "investigator")
    page = cases.client.get("/ui/cases").text
    form = page.split('class="filters"', 1)[1].split("</form>", 1)[0]
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', form)
    assert ids == ["f-contains", "f-country", "f-linked"]
    for control in ids:
        assert f'<label for="{control}">' in form, control
    for text in ("Case ID contains", "Country", "Only cases with a confirmed link", "Filter"):
        assert has_label(form, text), text
    # a lab's cases are of its own country: no country to choose
    sign_in(cases, LAB, "lab")
    assert 'id="f-country"' not in cases.client.get("/ui/cases").text


def test_an_empty_list_says_so_in_arabic(network):
    sign_in(network, LAB, "lab")
    page = network.client.get("/ui/cases", headers={"Accept-Language": "ar"})
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "لا توجد قضايا بعد." in page.text and "<h1>القضايا</h1>" in page.text


def test_the_case_id_form_still_goes_to_the_case(cases):
    sign_in(cases, LAB, "lab")
    home = cases.client.get("/ui/").text
    assert '<a href="/ui/cases">Cases</a>:' in home
    answer = cases.client.get("/ui/cases", params={"case_id": " C-1 "}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/cases/C-1"
    answer = cases.client.get("/ui/cases", params={"case_id": "A 1/b"}, follow_redirects=False)
    assert answer.headers["location"] == "/ui/cases/A%201%2Fb"
    # an empty case id is the list
    assert cases.client.get("/ui/cases", params={"case_id": ""}).status_code == 200
    assert cases.client.get("/ui/cases", params={"case_id": "x" * 201}).status_code == 422


def test_a_case_id_with_slashes_opens_its_page_report_and_linked_incidents(network):
    """Labs number cases ``NL/2026/17``: the page, its report and the API's linked incidents
    keep the slashes instead of answering 404."""
    first = store_exhibit(network, LAB, "S-1", case_id="POS/2026/17")
    other = store_exhibit(network, OTHER_LAB, "S-2", case_id="GT/2026/4")
    confirm(network, first, other)
    sign_in(network, INVESTIGATOR, "investigator")
    listed = network.client.get("/ui/cases").text
    href = next(h for h in case_hrefs(listed) if "POS" in h)
    page = network.client.get(href.replace("&amp;", "&"))
    assert page.status_code == 200, page.text
    assert "GT/2026/4" in page.text
    report = network.client.get(f"/ui/cases/POS/2026/17/report.pdf?agency={LAB}")
    assert report.status_code == 200 and report.content.startswith(b"%PDF-")
    linked = network.client.get(
        "/v1/cases/POS/2026/17/linked", params={"agency": LAB}, headers=network.headers(EXAMINER)
    )
    assert linked.status_code == 200, linked.text
    assert [case["case_id"] for case in linked.json()["cases"]] == ["GT/2026/4"]

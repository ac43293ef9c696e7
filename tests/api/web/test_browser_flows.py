"""Each role's main flow in a real browser (Debian's Chromium driven by Playwright) on a real
``ballistics serve``: an examiner rejects a lead and is offered the next, works the split view of
a lead, confirms a hit that an investigator across the border then follows to the PDF report; an
administrator manages agencies and people; a lab uploads a bullet as its land files; the queue
works from the keyboard and every control of the main pages has an accessible name.

Three synthetic pistols fired two casings each, one casing in the Netherlands and one in
Belgium: three cross-border leads (cases ``NL-A``/``BE-A``, ``NL-B``/``BE-B``, ``NL-C``/``BE-C``,
the last Belgian casing unshared). Each test decides a lead of its own, so they run in any order.
The pages are found by the contract's labels and accessible names (``../shared/CONTRACT.md``,
"People and the review station"). ``BALLISTICS_SCREENSHOTS=1`` refreshes ``docs/screenshots``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from benchmarks.api_load import PoolFile, write_casing_pool
from tests.api.web.browser import (
    BrowserStation,
    Person,
    Screenshots,
    Upload,
    chromium_browser,
    contexts,
    open_station,
    pdf_text,
    sign_in,
    unnamed_controls,
    write_bullet_lands,
)

pytestmark = pytest.mark.slow

AGENCIES = (
    ("Lab NL", "NL", "lab"),
    ("Lab BE", "BE", "lab"),
    ("Examiner", "NL", "examiner"),
    ("Investigations BE", "BE", "investigator"),
)
EXAMINER = Person("examiner@example.org", "correct horse battery", "Examiner", "examiner")
LAB = Person("lab@nl.example.org", "staple lab battery 9", "Lab NL", "lab")
INVESTIGATOR = Person(
    "police@be.example.org", "horse staple battery", "Investigations BE", "investigator"
)
ADMIN = Person("admin@example.org", "battery horse staple 7", "Examiner", "admin")
PEOPLE = (EXAMINER, LAB, INVESTIGATOR, ADMIN)
#: the three pistols' cases, Dutch and Belgian
REJECTED, CONFIRMED, UNSHARED = ("NL-A", "BE-A"), ("NL-B", "BE-B"), ("NL-C", "BE-C")
SETTLE_TIMEOUT_S = 180.0
TRANSFORM = re.compile(r"translate\((-?[\d.]+)px, (-?[\d.]+)px\) scale\(([\d.]+)\)")
CLIP = re.compile(r"inset\(\S+ ([\d.]+)% \S+ ([\d.]+)%\)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium, found before any server starts (skip or, under CI, fail without)."""
    with chromium_browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> list[PoolFile]:
    """Three synthetic pistols, two casings each (scans 2k and 2k+1 are mates)."""
    return write_casing_pool(tmp_path_factory.mktemp("casings"), firearms=3, seed=12)


@pytest.fixture(scope="module")
def station(browser, tmp_path_factory, pool: list[PoolFile]) -> Iterator[BrowserStation]:
    """The server with its agencies and people, the six casings uploaded and correlated."""
    cases = (*REJECTED, *CONFIRMED, *UNSHARED)
    uploads = [
        Upload(item, "Lab NL" if index % 2 == 0 else "Lab BE", case_id, shared=case_id != "BE-C")
        for index, (item, case_id) in enumerate(zip(pool, cases, strict=True))
    ]
    with open_station(
        tmp_path_factory.mktemp("station"),
        agencies=AGENCIES,
        people=PEOPLE,
        uploads=uploads,
        settle_timeout_s=SETTLE_TIMEOUT_S,
    ) as running:
        yield running


@pytest.fixture
def context(browser) -> Iterator[object]:
    yield from contexts(browser)


@pytest.fixture
def page(context) -> Iterator[object]:
    yield context.new_page()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    return Screenshots(tmp_path_factory.mktemp("screenshots"))


def link_id_of(page) -> str:
    """The id of the lead page open in ``page``."""
    path = urlsplit(page.url).path
    assert path.startswith("/ui/links/"), page.url
    return path.rsplit("/", 1)[-1]


def test_an_examiner_rejects_a_lead_with_a_comment_and_is_offered_the_next(station, page):
    link = station.link_between(REJECTED, agency="Examiner")
    sign_in(page, station.url, EXAMINER)
    page.goto(f"{station.url}/ui/leads")
    page.locator("table tbody tr", has_text=REJECTED[0]).get_by_role("link").first.click()
    page.wait_for_url(f"**/ui/links/{link['id']}**")

    comment = "Firing pin drag differs; rejected on the images."
    page.get_by_label("Comment").fill(comment)
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url(lambda url: link["id"] not in url)

    # on to the next undecided lead of the queue, saying the decision was recorded
    expect(page.get_by_role("status")).to_contain_text("Rejected")
    following = link_id_of(page)
    statuses = {item["id"]: item for item in station.api("/v1/links", agency="Examiner")["links"]}
    assert statuses[following]["status"] == "lead"
    assert statuses[link["id"]]["status"] == "rejected"
    assert statuses[link["id"]]["comment"] == comment
    expect(page.get_by_role("button", name="Reject")).to_be_visible()

    # the queue of rejected links shows it so
    page.goto(f"{station.url}/ui/leads?status=rejected")
    row = page.locator("table tbody tr", has_text=REJECTED[0])
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Rejected")


def transform_of(page) -> tuple[float, float, float]:
    """The split view's pan (x, y) and zoom, as station.js last set them."""
    style = page.locator("[data-split] .split-stage").evaluate("stage => stage.style.transform")
    if not style:
        return (0.0, 0.0, 1.0)
    found = TRANSFORM.fullmatch(style)
    assert found, style
    return (float(found.group(1)), float(found.group(2)), float(found.group(3)))


def clip_of(page) -> tuple[float, float]:
    """The questioned copy's clip: (right, left) insets in percent of its width."""
    style = page.locator("[data-split] .split-questioned").evaluate("img => img.style.clipPath")
    found = CLIP.fullmatch(style)
    assert found, style
    return (float(found.group(1)), float(found.group(2)))


def test_a_leads_split_view_moves_its_divide_zooms_and_pans(station, page, screenshots):
    link = station.link_between(CONFIRMED, agency="Examiner")
    sign_in(page, station.url, EXAMINER)
    page.goto(f"{station.url}/ui/links/{link['id']}")
    marks = page.get_by_role("img", name=re.compile(r"^Mark of exhibit"))
    expect(marks).to_have_count(2)
    alts = page.locator("main img").evaluate_all("images => images.map(image => image.alt)")
    assert alts and all(alt.strip() for alt in alts), alts

    divide = page.get_by_label("Divide")
    expect(divide).to_be_visible()  # the script shows the controls
    page.wait_for_function("document.querySelector('.split-questioned').naturalWidth > 0")
    _, left = clip_of(page)
    divide.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert divide.input_value() == "55"
    _, moved = clip_of(page)
    assert moved > left  # the questioned mark starts further right
    box = divide.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.1, box["y"] + box["height"] / 2)
    assert int(divide.input_value()) < 25
    assert clip_of(page)[1] < left

    view = page.locator("[data-split]")
    view.scroll_into_view_if_needed()
    assert transform_of(page) == (0.0, 0.0, 1.0)
    page.get_by_role("button", name="Zoom in").click()
    assert transform_of(page)[2] == pytest.approx(1.25)
    view.focus()
    page.keyboard.press("+")
    x, y, scale = transform_of(page)
    assert scale == pytest.approx(1.5625)
    page.keyboard.press("ArrowLeft")  # the picture moves right, as under a stage's knob
    assert transform_of(page)[:2] == pytest.approx((x + 40, y))
    area = view.bounding_box()
    start = (area["x"] + area["width"] / 2, area["y"] + area["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 60, start[1] - 30, steps=4)
    page.mouse.up()
    assert transform_of(page) == pytest.approx((x + 40 - 60, y - 30, scale))
    screenshots.take(page, "lead-split")
    page.get_by_role("button", name="Zoom out").click()
    assert transform_of(page)[2] == pytest.approx(1.25)
    view.focus()
    page.keyboard.press("0")
    assert transform_of(page) == (0.0, 0.0, 1.0)


def test_a_mark_the_sharing_rule_hides_is_a_labelled_placeholder(station, page):
    link = station.link_between(UNSHARED, agency="Examiner")
    sign_in(page, station.url, EXAMINER)
    page.goto(f"{station.url}/ui/links/{link['id']}")
    expect(page.get_by_role("img", name="Mark not shared").first).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Mark of exhibit"))).to_have_count(1)
    expect(page.locator("[data-split]")).to_have_count(0)  # no comparison of a hidden mark
    broken = page.locator("main img").evaluate_all(
        "images => images.filter(image => !image.complete || !image.naturalWidth)"
        ".map(image => image.src)"
    )
    assert broken == []


def test_an_investigator_follows_a_confirmed_hit_to_the_case_and_its_report(
    station, browser, tmp_path, screenshots
):
    link = station.link_between(CONFIRMED, agency="Examiner")
    for context in contexts(browser):
        page = context.new_page()
        sign_in(page, station.url, EXAMINER)
        page.goto(f"{station.url}/ui/links/{link['id']}")
        page.get_by_label("Comment").fill("Breech face and firing pin agree under the microscope.")
        page.get_by_label(re.compile(r"comparison microscope")).check()
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url(lambda url: link["id"] not in url)
    decided = station.link_between(CONFIRMED, agency="Examiner")
    assert (decided["status"], decided["decision_method"]) == ("confirmed", "microscope")

    for context in contexts(browser):
        page = context.new_page()
        sign_in(page, station.url, INVESTIGATOR)
        notifications = page.get_by_role("navigation").get_by_role(
            "link", name=re.compile("Notifications")
        )
        expect(notifications).to_contain_text(re.compile(r"[1-9]"))  # the unread count
        notifications.click()
        told = page.locator("main li", has_text=CONFIRMED[1]).filter(has_text=CONFIRMED[0])
        expect(told.first).to_be_visible()
        screenshots.take(page, "notifications")

        page.goto(f"{station.url}/ui/cases/{CONFIRMED[1]}?agency=Lab%20BE")
        linked = page.get_by_role("table", name="Linked incidents")
        expect(linked.get_by_role("cell", name=CONFIRMED[0], exact=True).first).to_be_visible()
        expect(linked).to_contain_text("Lab NL")
        graph = page.locator("main svg")
        expect(graph).to_be_visible()
        expect(graph).to_contain_text(CONFIRMED[0])
        expect(graph).to_contain_text(CONFIRMED[1])
        with page.expect_download() as download:
            page.get_by_role("link", name="Download report").click()
        data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF-"), data[:16]
    text = pdf_text(data, tmp_path)
    if text is not None:
        for expected in (*CONFIRMED, "Lab NL", "Lab BE"):
            assert expected in text, (expected, text[:2000])


def test_an_administrator_adds_and_revokes_an_agency_and_a_person(station, browser, screenshots):
    for context in contexts(browser):
        page = context.new_page()
        sign_in(page, station.url, ADMIN)
        page.goto(f"{station.url}/ui/admin/agencies")
        page.get_by_label("Name", exact=True).fill("Lab FR")
        page.get_by_label("Country").fill("FR")
        page.get_by_label("Role", exact=True).select_option("lab")
        page.get_by_role("button", name="Add the agency").click()
        expect(page.get_by_role("status")).to_contain_text("Lab FR")
        key = page.locator("[data-api-key]").inner_text().strip()
        assert len(key) >= 20
        health = httpx.get(f"{station.url}/v1/links", headers={"X-API-Key": key})
        assert health.status_code == 200, health.text
        page.goto(f"{station.url}/ui/admin/agencies")
        assert key not in page.content()  # shown once
        screenshots.take(page, "admin-agencies")

        person = Person("lab@fr.example.org", "une phrase de passe longue", "Lab FR", "lab")
        page.goto(f"{station.url}/ui/admin/users")
        page.get_by_label("Agency").select_option(label="Lab FR (FR)")
        page.get_by_label("Email").fill(person.email)
        page.get_by_label("Name", exact=True).fill("Camille")
        page.get_by_label("Role", exact=True).select_option("lab")
        page.get_by_label("Initial password").fill(person.password)
        page.get_by_role("button", name="Add the person").click()
        expect(page.get_by_role("status")).to_be_visible()
        row = page.locator("table tbody tr", has_text=person.email)
        expect(row).to_contain_text("Active")
        screenshots.take(page, "admin-users")
        for other in contexts(browser):
            sign_in(other.new_page(), station.url, person)  # the new person signs in

        row.get_by_role("button", name="Disable").click()
        expect(page.get_by_role("status")).to_be_visible()
        expect(page.locator("table tbody tr", has_text=person.email)).not_to_contain_text("Active")

        page.goto(f"{station.url}/ui/admin/agencies")
        row = page.locator("table tbody tr", has_text="Lab FR")
        row.get_by_role("checkbox").check()
        row.get_by_role("button", name="Revoke").click()
        expect(page.get_by_role("status")).to_be_visible()
        refused = httpx.get(f"{station.url}/v1/links", headers={"X-API-Key": key})
        assert refused.status_code in (401, 403), refused.text

        page.goto(f"{station.url}/ui/admin/audit")
        page.get_by_label("Action").fill("agency.revoke")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url("**action=agency.revoke**")
        rows = page.locator("table tbody tr")
        expect(rows.first).to_be_visible()
        actions = rows.evaluate_all("rows => rows.map(row => row.cells[2].textContent.trim())")
        assert set(actions) == {"agency.revoke"}, actions
        actors = rows.evaluate_all("rows => rows.map(row => row.cells[1].textContent)")
        assert ADMIN.email.split("@")[0] in actors[0], actors  # the person, not only the agency
        screenshots.take(page, "admin-audit")


def test_a_lab_uploads_a_bullet_as_land_files_and_sees_it_correlated(
    station, page, tmp_path, screenshots
):
    lands = write_bullet_lands(tmp_path / "lands", seed=21)
    sign_in(page, station.url, LAB)
    page.goto(f"{station.url}/ui/exhibits/new")
    page.get_by_label("Scan or photograph").set_input_files([str(path) for path in lands])
    page.get_by_label("Exhibit ID").fill("NL-BUL-1")
    page.get_by_label("Case ID").fill("NL-BUL")
    page.get_by_label("Kind").select_option("bullet")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/ui/exhibits/(?!new)[^/?]+"))
    expect(page.get_by_role("status")).to_contain_text("NL-BUL-1")
    status = page.locator("dt:text-is('Status') + dd")
    assert re.match(r"(queued|correlated)\b", status.inner_text()), status.inner_text()
    expect(page.locator("main")).to_contain_text("Bullet")

    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while not status.inner_text().startswith("correlated") and time.monotonic() < deadline:
        time.sleep(1.0)
        page.reload()
    assert status.inner_text() == "correlated"
    screenshots.take(page, "exhibit")


def test_the_queue_moves_with_j_and_k_and_opens_with_enter(station, page):
    sign_in(page, station.url, EXAMINER)
    page.goto(f"{station.url}/ui/leads?status=")
    rows = page.locator("table tbody tr")
    assert rows.count() >= 3
    hrefs = rows.locator("a[href*='/ui/links/']").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    focused = "() => document.activeElement.getAttribute('href')"

    page.keyboard.press("j")
    assert page.evaluate(focused) == hrefs[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate(focused) == hrefs[2]
    page.keyboard.press("k")
    assert page.evaluate(focused) == hrefs[1]
    expect(rows.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))

    # a letter typed into a filter is text, not a move
    calibre = page.get_by_label("Calibre")
    calibre.focus()
    page.keyboard.press("j")
    assert calibre.input_value() == "j"
    assert page.evaluate("() => document.activeElement.id") == calibre.get_attribute("id")

    # back out of the field, k goes up one, and Enter opens the lead it is on
    page.get_by_role("heading", level=1).click()
    page.keyboard.press("k")
    assert page.evaluate(focused) == hrefs[0]
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{hrefs[0]}")


#: the main pages of each role, checked for controls without an accessible name
PAGES = {
    EXAMINER: ("/ui/", "/ui/leads", "/ui/exhibits", "/ui/notifications"),
    LAB: ("/ui/exhibits/new", "/ui/exhibits", "/ui/leads"),
    INVESTIGATOR: ("/ui/", "/ui/notifications", f"/ui/cases/{CONFIRMED[1]}?agency=Lab%20BE"),
    ADMIN: ("/ui/admin/agencies", "/ui/admin/users", "/ui/admin/audit"),
}


def test_every_control_of_the_main_pages_has_an_accessible_name(station, browser):
    lead = station.link_between(UNSHARED, agency="Examiner")["id"]
    problems: dict[str, list[str]] = {}
    for person, paths in PAGES.items():
        for context in contexts(browser):
            page = context.new_page()
            page.goto(f"{station.url}/ui/login")
            problems["/ui/login"] = unnamed_controls(page)
            sign_in(page, station.url, person)
            extra = (f"/ui/links/{lead}",) if person is EXAMINER else ()
            for path in (*paths, *extra):
                response = page.goto(f"{station.url}{path}")
                assert response is not None and response.ok, (person.role, path)
                problems[f"{person.role} {path}"] = unnamed_controls(page)
    assert {where: found for where, found in problems.items() if found} == {}

    # the check finds a control without a name
    for context in contexts(browser):
        page = context.new_page()
        page.goto(f"{station.url}/ui/login")
        page.evaluate("document.querySelector('main').append(document.createElement('select'))")
        assert unnamed_controls(page) == ["<select></select>"]

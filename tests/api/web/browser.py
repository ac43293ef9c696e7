"""The browser tests' harness: Debian's Chromium driven by Playwright, a real ``ballistics serve``
with its agencies (``ballistics agency add``) and people (``ballistics user add``).

Chromium is ``$BALLISTICS_CHROMIUM`` or ``/usr/bin/chromium`` (Debian's package; Playwright's own
browser download is not reachable here). Without it the tests skip with the reason, unless ``CI``
is set: there a missing browser is a failure (``.ci/run`` installs it with apt-get).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.store.database import DATABASE_URL_VARIABLE
from benchmarks._common import REPOSITORY_ROOT
from benchmarks.api_load import ApiServer, PoolFile, server_environment, wait_until_settled

#: the synthetic land scans' pixel (coarser than a lab's 1.56 µm, to stay quick)
LAND_PIXEL_UM = 3.125

#: Debian's Chromium, unless BALLISTICS_CHROMIUM names another
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_VARIABLE = "BALLISTICS_CHROMIUM"
#: headless, as root, and quiet on a closed network (no background connections refused by it)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: how long a step waits for the page (Playwright's own default, 30 s, hides a missing control)
DEFAULT_TIMEOUT_MS = 10_000
#: small screenshots for the README
VIEWPORT = {"width": 1200, "height": 800}
#: where the tests save the main pages' screenshots when asked (the README shows them)
SCREENSHOTS_VARIABLE = "BALLISTICS_SCREENSHOTS"
SCREENSHOTS_DIR = REPOSITORY_ROOT / "docs" / "screenshots"


def chromium_path() -> Path:
    """The Chromium to drive; skips the test when there is none and CI is not set."""
    path = Path(os.environ.get(CHROMIUM_VARIABLE) or DEFAULT_CHROMIUM)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = (
        f"no Chromium at {path}: `apt-get install chromium` (Debian) or set {CHROMIUM_VARIABLE}"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests may not skip)")
    pytest.skip(reason)


def launch_chromium(playwright) -> object:
    """Launch the headless Chromium with the flags this machine needs."""
    return playwright.chromium.launch(
        executable_path=str(chromium_path()), headless=True, args=list(CHROMIUM_FLAGS)
    )


@dataclass(frozen=True)
class Person:
    """A person made with ``ballistics user add``: how they sign in."""

    email: str
    password: str
    agency: str
    role: str


def run_cli(
    arguments: list[str], *, store: Path, environment: Mapping[str, str], stdin: str = ""
) -> str:
    """Run ``ballistics ARGUMENTS --store STORE`` in a subprocess; return its standard output."""
    command = [sys.executable, "-m", "api.cli", *arguments, "--store", str(store)]
    finished = subprocess.run(
        command,
        cwd=REPOSITORY_ROOT,
        env=dict(environment),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if finished.returncode != 0:
        raise AssertionError(
            f"`ballistics {' '.join(arguments)}` exited {finished.returncode}:\n"
            f"{finished.stdout}\n{finished.stderr}"
        )
    return finished.stdout


def add_agency(
    name: str, *, country: str, role: str, store: Path, environment: Mapping[str, str]
) -> str:
    """Register an agency with ``ballistics agency add --json``; return its API key."""
    arguments = ["agency", "add", name, "--country", country, "--role", role, "--json"]
    return json.loads(run_cli(arguments, store=store, environment=environment))["api_key"]


def add_person(person: Person, *, store: Path, environment: Mapping[str, str]) -> None:
    """Make ``person``'s account with ``ballistics user add ... --password-stdin``."""
    arguments = ["user", "add", person.email, "--agency", person.agency, "--role", person.role]
    arguments += ["--password-stdin", "--name", person.email.split("@")[0]]
    run_cli(arguments, store=store, environment=environment, stdin=person.password + "\n")


def sign_in(page, base_url: str, person: Person, *, next_path: str = "") -> None:
    """Sign ``person`` in on ``/ui/login`` (by the form's labels) and wait to leave that page."""
    page.goto(f"{base_url}/ui/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/ui/login" not in url)


class Screenshots:
    """Saves pages as small PNGs: into docs/screenshots when BALLISTICS_SCREENSHOTS is set (to
    refresh the README's pictures), else into a scratch folder, so that a plain test run leaves
    the committed pictures alone."""

    def __init__(self, scratch: Path) -> None:
        self.folder = SCREENSHOTS_DIR if os.environ.get(SCREENSHOTS_VARIABLE) else scratch
        self.folder.mkdir(parents=True, exist_ok=True)
        self.saved: list[Path] = []

    def take(self, page, name: str) -> Path:
        """Save the page's viewport as ``NAME.png``; return the path."""
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=False, type="png")
        self.saved.append(path)
        return path


def contexts(browser, *, locale: str = "en-GB") -> Iterator[object]:
    """A fresh browser context (no cookies) with the screenshots' viewport, closed afterwards."""
    context = browser.new_context(viewport=VIEWPORT, locale=locale)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


# --- a station of the tests' own, for the modules that share one server ------------------------

#: every control of a page and whether it has an accessible name (a hand-written check: an
#: aria-label, an aria-labelledby naming text, a <label>, a button's or link's text, an image's
#: alt); answers the controls without one, as the start of their markup
UNNAMED_CONTROLS_JS = """() => {
  const text = (value) => (value || "").replace(/\\s+/g, " ").trim();
  const named = (element) => {
    if (text(element.getAttribute("aria-label"))) { return true; }
    const ids = text(element.getAttribute("aria-labelledby"));
    if (ids && ids.split(" ").some((id) => {
      const label = document.getElementById(id);
      return label && text(label.textContent);
    })) { return true; }
    if (element.labels && Array.prototype.some.call(element.labels, (l) => text(l.textContent))) {
      return true;
    }
    if (/^(BUTTON|A)$/.test(element.tagName) && text(element.textContent)) { return true; }
    if (element.tagName === "IMG" && element.hasAttribute("alt")) { return true; }
    return Boolean(text(element.getAttribute("title")));
  };
  const selector = "input:not([type=hidden]), select, textarea, button, a[href], img, " +
    "[role=img]:not(svg)";
  return Array.from(document.querySelectorAll(selector))
    .filter((element) => !named(element))
    .map((element) => element.outerHTML.slice(0, 160));
}"""


def unnamed_controls(page) -> list[str]:
    """The page's controls, links and images without an accessible name (see above)."""
    return list(page.evaluate(UNNAMED_CONTROLS_JS))


@contextmanager
def chromium_browser() -> Iterator[object]:
    """Headless Chromium (skips, or fails under CI, without it), closed afterwards."""
    from playwright.sync_api import sync_playwright

    chromium_path()
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        try:
            yield launched
        finally:
            launched.close()  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Upload:
    """A casing to upload over the API before the pages are opened."""

    item: PoolFile
    agency: str
    case_id: str
    shared: bool = True


class BrowserStation:
    """A running ``ballistics serve``: its URL, store, environment and the agencies' keys."""

    def __init__(self, server: ApiServer, store: Path, environment, keys: dict[str, str]):
        self.server = server
        self.url = server.url
        self.store = store
        self.environment = environment
        self.keys = keys

    def api(self, path: str, *, agency: str, **params) -> dict:
        """``GET path`` with ``agency``'s key; the JSON answer."""
        response = httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"X-API-Key": self.keys[agency]},
            timeout=30.0,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def link_between(self, cases: tuple[str, str], *, agency: str) -> dict:
        """The link (as ``GET /v1/links`` lists it) between the two cases' exhibits."""
        links = self.api("/v1/links", agency=agency)["links"]
        found = [link for link in links if {link["case_a"], link["case_b"]} == set(cases)]
        assert len(found) == 1, (cases, links)
        return found[0]


@contextmanager
def open_station(
    folder: Path,
    *,
    agencies: Iterable[tuple[str, str, str]],
    people: Iterable[Person],
    uploads: Iterable[Upload] = (),
    lead_threshold: float = 15.0,
    settle_timeout_s: float = 180.0,
) -> Iterator[BrowserStation]:
    """``ballistics serve`` on a new store in ``folder`` with ``agencies`` (name, country, role)
    and ``people`` made by the CLI, and ``uploads`` sent over the API and correlated."""
    store = folder / "store"
    base = {key: value for key, value in os.environ.items() if key != DATABASE_URL_VARIABLE}
    environment = server_environment(stale_after_s=30.0, lead_threshold=lead_threshold, base=base)
    keys = {
        name: add_agency(name, country=country, role=role, store=store, environment=environment)
        for name, country, role in agencies
    }
    for person in people:
        add_person(person, store=store, environment=environment)
    log = folder / "server.log"
    with ApiServer(store, workers=1, log_path=log, environment=environment) as server:
        server.start()
        with httpx.Client(base_url=server.url, timeout=60.0) as client:
            public_ids = [_upload(client, upload, keys[upload.agency]) for upload in uploads]
            if public_ids:
                any_key = next(iter(keys.values()))
                statuses = wait_until_settled(
                    client, public_ids, api_key=any_key, timeout_s=settle_timeout_s
                )
                assert set(statuses.values()) == {"correlated"}, (statuses, server.log_tail())
        yield BrowserStation(server, store, environment, keys)


def _upload(client: httpx.Client, upload: Upload, api_key: str) -> str:
    """``POST /v1/exhibits`` one casing; its public id."""
    item = upload.item
    response = client.post(
        "/v1/exhibits",
        headers={"X-API-Key": api_key},
        files={"file": (item.name, item.data, "application/octet-stream")},
        data={
            "exhibit_id": item.exhibit_id,
            "case_id": upload.case_id,
            "kind": "cartridge_case",
            "caliber": "9mm",
            "shared": "true" if upload.shared else "false",
        },
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def pdf_text(data: bytes, folder: Path) -> str | None:
    """The text of a PDF by ``pdftotext`` (poppler-utils), or None when it is not installed
    (with ``CI`` set a missing tool fails: ``.ci/run`` installs it)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        assert not os.environ.get("CI"), "pdftotext missing: apt-get install poppler-utils"
        return None
    path = folder / "report.pdf"
    path.write_bytes(data)
    finished = subprocess.run(
        [tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def write_bullet_lands(folder: Path, *, seed: int, lands: int = 6) -> list[Path]:
    """One synthetic bullet as ``lands`` X3P land scans (``B-Land_1.x3p`` …), as a lab's
    scanner writes them; coarse (3.125 µm) to stay quick."""
    from ballistics.bullet.synthetic import barrel_striae, render_land
    from ballistics.io import write_x3p

    folder.mkdir(parents=True, exist_ok=True)
    striae = barrel_striae(seed=seed, land_count=lands, pixel_um=LAND_PIXEL_UM)
    paths = []
    for land, profile in enumerate(striae, start=1):
        rendered = render_land(profile, seed=seed * 10 + land, pixel_um=LAND_PIXEL_UM)
        paths.append(write_x3p(rendered.surface, folder / f"B-Land_{land}.x3p"))
    return paths


# --- `ballistics demo`, run as a new user would ---------------------------------------------

#: a sign-in line of the demo: "  EMAIL  password PASSWORD  (ROLE, AGENCY)"
DEMO_SIGN_IN = re.compile(r"^\s*(\S+@\S+)\s+password\s+(\S+)\s+\((\w+), (.+)\)\s*$", re.MULTILINE)
DEMO_URL = re.compile(r"The review station:\s+(http://\S+?)/ui/")


@dataclass
class DemoRun:
    """``ballistics demo --serve`` running: the review station's URL and the printed sign-ins."""

    process: subprocess.Popen[bytes]
    url: str
    people: list[Person]
    output: Path

    def person(self, role: str, agency: str | None = None) -> Person:
        """The demo's person of ``role`` (at ``agency`` when given)."""
        found = [p for p in self.people if p.role == role and agency in (None, p.agency)]
        assert found, (role, agency, self.people)
        return found[0]

    def stop(self, *, timeout_s: float = 30.0) -> int:
        """Ctrl-C, as its message says; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=timeout_s)
        return int(self.process.returncode)


@contextmanager
def run_demo(folder: Path, *, timeout_s: float = 400.0) -> Iterator[DemoRun]:
    """``ballistics demo --serve --store FOLDER/data`` on a free port (``BALLISTICS_PORT``) until
    it prints the demo people's sign-ins and answers; killed afterwards if still running."""
    from benchmarks.api_load import free_port

    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key != DATABASE_URL_VARIABLE and not key.startswith("BALLISTICS_")
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPOSITORY_ROOT), environment.get("PYTHONPATH", "")) if part
    )
    environment["BALLISTICS_PORT"] = str(port)
    output = folder / "demo.log"
    command = [sys.executable, "-m", "api.cli", "demo", "--serve", "--store", str(folder / "data")]
    with output.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPOSITORY_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield _wait_for_demo(process, output, timeout_s=timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def _wait_for_demo(process: subprocess.Popen[bytes], output: Path, *, timeout_s: float) -> DemoRun:
    """Wait until the demo printed its sign-ins (the administrator's last) and its server
    answers; the run."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = output.read_text(encoding="utf-8", errors="replace")
        if process.poll() is not None:
            raise AssertionError(f"`ballistics demo` exited {process.returncode}:\n{text[-4000:]}")
        found = DEMO_URL.search(text)
        people = [
            Person(email, password, agency.strip(), role)
            for email, password, role, agency in DEMO_SIGN_IN.findall(text)
        ]
        if found and any(person.role == "admin" for person in people):
            url = found.group(1)
            try:
                if httpx.get(f"{url}/v1/health", timeout=5.0).status_code == 200:
                    return DemoRun(process, url, people, output)
            except httpx.TransportError:
                pass
        time.sleep(0.5)
    raise AssertionError(f"`ballistics demo` did not serve within {timeout_s} s:\n{text[-4000:]}")

"""The browser tests' harness: Debian's Chromium driven by Playwright, a real ``ballistics serve``
with its agencies (``ballistics agency add``) and people (``ballistics user add``).

Chromium is ``$BALLISTICS_CHROMIUM`` or ``/usr/bin/chromium`` (Debian's package; Playwright's own
browser download is not reachable here). Without it the tests skip with the reason, unless ``CI``
is set: there a missing browser is a failure (``.ci/run`` installs it with apt-get).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks._common import REPOSITORY_ROOT

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

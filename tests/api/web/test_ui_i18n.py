"""The review station's languages: every message the pages use is translated in French,
Spanish and Arabic; the language is chosen as the CONTRACT says; dates and numbers follow it."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from starlette.requests import Request

import api.web.ui
from api.web.ui.i18n import (
    LANGUAGES,
    catalogue,
    choose_language,
    date_text,
    local_path,
    number_text,
    text_direction,
    translator,
)
from api.web.ui.rendering import NAVIGATION

UI = Path(api.web.ui.__file__).parent
#: ``_("...")`` or ``_('...')`` in templates and modules
CALL = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def used_messages() -> set[str]:
    """Every literal message the templates and the page modules pass to ``_()``."""
    found: set[str] = set()
    for path in [*UI.glob("templates/*.html"), *UI.glob("*.py")]:
        for match in CALL.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    found.update(label for links in NAVIGATION.values() for _, label in links)
    return found


def test_the_extractor_finds_the_contract_labels():
    assert {"Email", "Password", "Sign in", "Language", "Comment", "Confirm", "Reject"} <= (
        used_messages()
    )


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_message_is_translated(language):
    table = catalogue(language)
    missing = sorted(message for message in used_messages() if not table.get(message))
    assert not missing, f"untranslated in {language}: {missing}"
    # a translation keeps the message's {fields}, or filling them in breaks the page
    for message in used_messages():
        fields = set(re.findall(r"\{(\w+)\}", message))
        assert set(re.findall(r"\{(\w+)\}", table[message])) == fields, message


def request_with(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/ui/", "headers": raw})


def test_language_choice_order():
    assert choose_language(request_with({}), None) == "en"
    assert choose_language(request_with({"Accept-Language": "de, es;q=0.8, fr;q=0.5"}), None) == (
        "es"
    )
    cookie = {"Accept-Language": "es", "Cookie": "ballistics_lang=ar"}
    assert choose_language(request_with(cookie), None) == "ar"
    assert choose_language(request_with({"Accept-Language": "xx"}), None) == "en"


def test_direction_dates_and_numbers_in_the_locale():
    assert text_direction("ar") == "rtl" and text_direction("fr") == "ltr"
    day = datetime.date(2026, 3, 5)
    assert "mars" in date_text(day, "fr") and "mar" in date_text(day, "es")
    assert number_text(1234.5, "fr") != number_text(1234.5, "en") == "1,234.5"
    assert translator("es")(
        "Exhibit {exhibit} stored; its correlation is {status}.", exhibit="E", status="x"
    ).startswith("Evidencia E")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/ui/leads?status=lead", "/ui/leads?status=lead"),
        ("https://evil.example/ui/", "/ui/"),
        ("//evil.example/ui/", "/ui/"),
        ("/v1/links", "/ui/"),
        (None, "/ui/"),
    ],
)
def test_forms_send_back_only_to_local_pages(target, expected):
    assert local_path(target) == expected

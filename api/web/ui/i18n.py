"""The review station's languages: message catalogues, the choice of language, dates and
numbers in the locale, and ``POST /ui/language``.

English is the source language; ``locale/{fr,es,ar}/LC_MESSAGES/messages.po`` hold the
translations, read at run time with Babel (no compile step). A page's language is the signed-in
person's, else the ``ballistics_lang`` cookie, else the browser's ``Accept-Language``, else
English.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.web.access import get_service
from api.web.sessions import (
    SignedIn,
    check_csrf,
    check_login_csrf,
    set_language,
    signed_in,
)

#: the network's languages (INTERPOL's four), English first: the source of every message
LANGUAGES = ("en", "fr", "es", "ar")
#: languages written right to left
RTL_LANGUAGES = frozenset({"ar"})
#: the cookie that keeps a browser's choice when nobody is signed in
LANGUAGE_COOKIE = "ballistics_lang"
#: each language's own name, as the language menu shows it
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "ar": "العربية"}
LOCALE_DIR = Path(__file__).parent / "locale"

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)


@functools.cache
def catalogue(language: str) -> Mapping[str, str]:
    """The translations of ``language`` (msgid -> msgstr; empty for English and missing ones)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not path.is_file():
        return {}
    with path.open("rb") as handle:
        read = read_po(handle, locale=language)
    return {
        str(message.id): str(message.string)
        for message in read
        if message.id and isinstance(message.id, str) and message.string
    }


def translator(language: str) -> Callable[..., str]:
    """``_(message, **values)``: the message in ``language`` (English when untranslated), with
    ``{name}`` fields filled from ``values``."""
    table = catalogue(language)

    def gettext(message: str, **values: object) -> str:
        text = table.get(message) or message
        return text.format(**values) if values else text

    return gettext


def _accepted(header: str) -> str | None:
    weighted = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        weighted.append((-quality, position, tag.strip().lower().split("-")[0]))
    for negative, _, language in sorted(weighted):
        if negative < 0 and language in LANGUAGES:
            return language
    return None


def choose_language(request: Request, person: SignedIn | None) -> str:
    """The page's language: the person's, the cookie's, the browser's, or English."""
    if person is not None and person.language in LANGUAGES:
        return str(person.language)
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return str(cookie)
    return _accepted(request.headers.get("accept-language", "")) or "en"


def text_direction(language: str) -> str:
    """``rtl`` for Arabic, ``ltr`` otherwise."""
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):  # pragma: no cover - LANGUAGES are all known
        return Locale.parse("en")


def date_text(value: datetime.date | datetime.datetime | None, language: str) -> str:
    """A date (or a moment, to the minute) as the locale writes it; empty for None."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return format_datetime(value, format="medium", locale=_locale(language))
    return format_date(value, format="medium", locale=_locale(language))


def number_text(value: float | int | None, language: str, *, digits: int = 1) -> str:
    """A number as the locale writes it, with ``digits`` decimals; empty for None."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale(language))


def local_path(target: str | None, default: str = "/ui/") -> str:
    """``target`` when it is a path of this site under /ui/ (never another host), else
    ``default``: where a form may send the browser back."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui/") or "\\" in target:
        return default
    return target


@router.post("/language")
async def choose(
    request: Request,
    language: Annotated[str, Form(max_length=8)],
    next_: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> RedirectResponse:
    """Keep the chosen language (cookie; and the person's, when signed in) and go back."""
    person = await run_in_threadpool(signed_in, request)
    if person is not None:
        await check_csrf(request)
    else:
        # the sign-in page's menu carries that page's double-submit token
        check_login_csrf(request, (await request.form()).get("csrf_token"))
    chosen = language if language in LANGUAGES else "en"
    if person is not None:
        await run_in_threadpool(set_language, get_service(request), person, chosen)
    answer = RedirectResponse(local_path(next_), status_code=303)
    answer.set_cookie(
        LANGUAGE_COOKIE,
        chosen,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return answer

"""People signed in to the review station: cookies, sessions, CSRF, the pages' security headers.

A person signs in with an email and a password (:func:`sign_in`); the answer sets the cookie
:data:`SESSION_COOKIE`, a random token whose SHA-256 names the session row (the token is never
stored). The cookie is ``HttpOnly``, ``SameSite=Lax``, and ``Secure`` whenever the request came
over HTTPS or the settings say a TLS proxy stands in front (``BALLISTICS_SECURE_COOKIES``); it
lasts ``BALLISTICS_SESSION_HOURS``. Every ``/ui/`` form carries the session's CSRF token
(:func:`check_csrf`); the sign-in form, which has no session yet, a double-submit token
(:func:`login_csrf_token`).

:class:`SessionGate` resolves the session of every ``/ui/`` request before its body is read
(CONTRACT "Credentials"): a POST without a session is sent to the sign-in page unread, and the
forms open to anyone (:data:`ANONYMOUS_POSTS`) are limited to a few kilobytes. It also adds the
headers a page of evidence needs (:data:`SECURITY_HEADERS`).
"""

from __future__ import annotations

import datetime
import hmac
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.service.core import EvidenceService
from api.store import repository
from api.store.models import SignInSession, utc_now
from api.web.access import Caller
from api.web.errors import BodySizeLimit
from api.web.settings import ApiSettings, get_settings

logger = logging.getLogger(__name__)

SESSION_COOKIE = "ballistics_session"
#: the sign-in form's double-submit CSRF cookie (there is no session to hold a token yet)
LOGIN_CSRF_COOKIE = "ballistics_csrf_pre"
#: where :class:`SessionGate` leaves the request's :class:`SignedIn` (or None) in ``scope["state"]``
PERSON_STATE_KEY = "person"
#: ``/ui/`` forms posted without a session; their bodies are limited to :data:`ANONYMOUS_BODY_BYTES`
ANONYMOUS_POSTS = frozenset({"/ui/login", "/ui/language"})
ANONYMOUS_BODY_BYTES = 8 * 1024
CSRF_MESSAGE = "the form's CSRF token is missing or stale: reload the page"
#: what a refused sign-in says, whatever the reason: it never tells whether the email exists
REFUSED_MESSAGE = (
    "Sign-in refused: the email or the password is wrong, or too many attempts were made; "
    "wait a minute and try again."
)
#: refreshing ``last_seen_at`` at most this often keeps page views read-only
_LAST_SEEN_EVERY = datetime.timedelta(minutes=5)
_MAX_EMAIL_LENGTH = 320

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # pages of evidence stay out of every cache, the browser's back-forward one included
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class SignedIn:
    """The person of a request's session."""

    person_id: int
    email: str
    display_name: str
    role: str
    agency_pk: int
    agency: str
    country: str
    language: str | None
    csrf_token: str

    def caller(self) -> Caller:
        """The API's caller for this person: their agency, with the person's own role."""
        return Caller(
            agency_pk=self.agency_pk, name=self.agency, country=self.country, role=self.role
        )

    @property
    def actor(self) -> str:
        """Who acted, as the audit log names a person: ``"Name (Agency)"``."""
        return f"{self.display_name or self.email} ({self.agency})"


class SignInRequired(Exception):  # noqa: N818 - the name the pages are built against
    """A page was asked without a valid session: answered with 303 to the sign-in page."""

    def __init__(self, next_path: str = "/ui/") -> None:
        super().__init__(next_path)
        self.next_path = next_path


class SignInRefused(Exception):  # noqa: N818 - the name the pages are built against
    """A sign-in was refused; ``message`` is safe to show (see :data:`REFUSED_MESSAGE`)."""

    def __init__(self, message: str = REFUSED_MESSAGE) -> None:
        super().__init__(message)
        self.message = message


def _settings(request: Request) -> ApiSettings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, ApiSettings) else get_settings()


def _service(request: Request) -> EvidenceService:
    service: EvidenceService = request.app.state.service
    return service


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or _settings(request).secure_cookies


def _person(record: SignInSession) -> SignedIn:
    user = record.user
    return SignedIn(
        person_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        agency_pk=user.agency.id,
        agency=user.agency.name,
        country=user.agency.country,
        language=user.language,
        csrf_token=record.csrf_token,
    )


def person_for_token(service: EvidenceService, token: str | None) -> SignedIn | None:
    """Return the person of a session cookie's ``token``, or None. Blocking (the database)."""
    if not token or len(token) > 200:
        return None
    now = utc_now()
    with service.store.transaction() as session:
        record = repository.find_session(session, token, now=now)
        if record is None:
            return None
        person = _person(record)
        stale = now - record.last_seen_at > _LAST_SEEN_EVERY
    if stale:
        with service.store.transaction(write=True) as session:
            record = repository.find_session(session, token, now=now)
            if record is not None:
                record.last_seen_at = now
    return person


def signed_in(request: Request) -> SignedIn | None:
    """The person of the request's session cookie, or None (expired, revoked, unknown).

    Resolved once a request (by :class:`SessionGate`, or here on first use). Blocking.
    """
    state = request.scope.setdefault("state", {})
    if PERSON_STATE_KEY not in state:
        token = request.cookies.get(SESSION_COOKIE)
        state[PERSON_STATE_KEY] = person_for_token(_service(request), token)
    person = state[PERSON_STATE_KEY]
    return person if isinstance(person, SignedIn) else None


def _path_with_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def require_person(request: Request) -> SignedIn:
    """FastAPI dependency of the ``/ui/`` pages: the person, or :class:`SignInRequired`."""
    person = signed_in(request)
    if person is None:
        raise SignInRequired(_path_with_query(request) if request.method == "GET" else "/ui/")
    return person


def _same_token(sent: object, expected: str | None) -> bool:
    if not isinstance(sent, str) or not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


async def check_csrf(request: Request) -> None:
    """FastAPI dependency of every ``/ui/`` form: its ``csrf_token`` must be the session's (403)."""
    person = await run_in_threadpool(signed_in, request)
    form = await request.form()
    if person is None or not _same_token(form.get("csrf_token"), person.csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, CSRF_MESSAGE)


def login_csrf_token(request: Request, response: Response) -> str:
    """Return the token to put in the sign-in form, and set it as the double-submit cookie."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not token or len(token) != 43:
        token = secrets.token_urlsafe(32)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/ui",
    )
    return token


def check_login_csrf(request: Request, sent: object) -> None:
    """Raise 403 unless ``sent`` (the sign-in form's token) matches the double-submit cookie."""
    if not _same_token(sent, request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, CSRF_MESSAGE)


@dataclass(frozen=True)
class _Attempt:
    """What a sign-in attempt came to, decided in its write transaction."""

    person: SignedIn | None
    token: str | None
    reason: str


def _attempt(service: EvidenceService, email: str, password: str, hours: float) -> _Attempt:
    """Check the password and the brake, open the session; audit what happened."""
    known = email if "\x00" not in email and len(email) <= _MAX_EMAIL_LENGTH else ""
    now = utc_now()
    with service.store.transaction(write=True) as session:
        user = repository.find_user(session, known) if known else None
        if user is None or repository.is_locked(user, now=now):
            repository.verify_password(None, password)  # costs what a real check does
            reason = "unknown email" if user is None else "locked"
        elif not repository.verify_password(user.password_hash, password):
            repository.record_failed_sign_in(session, user, now=now)
            reason = "wrong password"
        elif user.disabled_at is not None or user.agency.disabled_at is not None:
            reason = "disabled"
        else:
            repository.record_successful_sign_in(session, user)
            opened = repository.create_session(
                session, user, lifetime=datetime.timedelta(hours=hours)
            )
            person = _person(opened.record)
            repository.audit(
                session,
                person.actor,
                "person.sign_in",
                object_type="person",
                object_id=user.public_id,
                details={"person_email": user.email, "agency": person.agency},
            )
            return _Attempt(person, opened.token, "")
        if user is not None:
            # lines for known people only: an unknown "email" may be a password typed in it
            repository.audit(
                session,
                f"{user.display_name or user.email} ({user.agency.name})",
                "person.sign_in_refused",
                object_type="person",
                object_id=user.public_id,
                details={"person_email": user.email, "reason": reason},
            )
    return _Attempt(None, None, reason)


def sign_in(
    service: EvidenceService, request: Request, response: Response, *, email: str, password: str
) -> SignedIn:
    """Check ``email`` and ``password``, open a session and set its cookie on ``response``.

    Raises
    ------
    SignInRefused
        Wrong email or password, the brake after repeated failures, or a disabled person or
        agency: one message for all, which never says whether the email exists.
    """
    settings = _settings(request)
    previous = request.cookies.get(SESSION_COOKIE)
    attempt = _attempt(service, email.strip(), password, settings.session_hours)
    if attempt.person is None or attempt.token is None:
        logger.info("sign-in refused (%s)", attempt.reason)
        raise SignInRefused()
    if previous:
        # a new token at every sign-in: a session planted before it (fixation) is of no use
        with service.store.transaction(write=True) as session:
            repository.revoke_session(session, previous)
    response.set_cookie(
        SESSION_COOKIE,
        attempt.token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    return attempt.person


def sign_out(service: EvidenceService, request: Request, response: Response) -> None:
    """End the request's session (if any) and clear its cookie; audit ``person.sign_out``."""
    token = request.cookies.get(SESSION_COOKIE)
    person = signed_in(request)
    if token:
        with service.store.transaction(write=True) as session:
            revoked = repository.revoke_session(session, token)
            if revoked is not None and person is not None:
                repository.audit(
                    session,
                    person.actor,
                    "person.sign_out",
                    object_type="person",
                    object_id=revoked.user.public_id,
                    details={"person_email": person.email},
                )
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )


def set_language(service: EvidenceService, person: SignedIn, language: str | None) -> None:
    """Store the language ``person`` chose for the pages (None: follow the browser)."""
    if language is not None and (not language or len(language) > 8):
        raise ValueError(f"language {language!r} is not a language code, e.g. 'fr'.")
    with service.store.transaction(write=True) as session:
        repository.set_user_language(session, person.person_id, language)


def _is_page(path: str) -> bool:
    return path == "/ui" or path.startswith("/ui/")


class SessionGate:
    """Resolve the session of every ``/ui/`` request before its body is read; add the headers.

    A POST to a form other than :data:`ANONYMOUS_POSTS` without a valid session is answered
    with 303 to the sign-in page, its body unread; the anonymous ones may carry
    :data:`ANONYMOUS_BODY_BYTES` at most. Every ``/ui/`` answer (and ``/``'s) gets
    :data:`SECURITY_HEADERS`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.anonymous_app = BodySizeLimit(app, limit_bytes=ANONYMOUS_BODY_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (_is_page(path) or path == "/"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        if not _is_page(path):
            await self.app(scope, receive, with_headers)
            return
        request = Request(scope)
        token = request.cookies.get(SESSION_COOKIE)
        person = await run_in_threadpool(person_for_token, scope["app"].state.service, token)
        scope.setdefault("state", {})[PERSON_STATE_KEY] = person
        if scope["method"] == "POST" and path in ANONYMOUS_POSTS:
            await self.anonymous_app(scope, receive, with_headers)
        elif scope["method"] == "POST" and person is None:
            answer = RedirectResponse("/ui/login?next=/ui/", status.HTTP_303_SEE_OTHER)
            answer.headers["Connection"] = "close"
            await answer(scope, receive, with_headers)
        else:
            await self.app(scope, receive, with_headers)


def _sign_in_redirect(request: Request, exc: Exception) -> Response:
    next_path = exc.next_path if isinstance(exc, SignInRequired) else "/ui/"
    return RedirectResponse(
        f"/ui/login?next={quote(next_path, safe='/')}", status.HTTP_303_SEE_OTHER
    )


def install_sessions(app: FastAPI) -> None:
    """Answer :class:`SignInRequired` with the sign-in page and put :class:`SessionGate` first."""
    app.add_exception_handler(SignInRequired, _sign_in_redirect)
    app.add_middleware(SessionGate)

"""People: accounts under an agency, their passwords, the sign-in brake, and their sessions.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second recommended
parameter set); a session's cookie token is 256 random bits, stored as its SHA-256 only (as an
API key is: a random token cannot be guessed from a dictionary, and the lookup runs on every
page).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.store.errors import ConflictError, NotFoundError
from api.store.models import ROLES, Agency, SignInSession, User, utc_now
from api.store.repository._common import SYSTEM_ACTOR, _identifier, _one_of
from api.store.repository.audit_log import audit

#: shortest password ``ballistics user add`` and the pages accept
MIN_PASSWORD_LENGTH = 10
#: failed sign-ins in a row after which an account refuses attempts for a while
FAILURES_BEFORE_BRAKE = 5
#: the first wait of the brake; each further run of failures doubles it, up to the maximum
BRAKE_S = 60.0
MAX_BRAKE_S = 3600.0

_hasher = PasswordHasher()
# hashed for unknown emails, so that they cost what a known one does (no timing oracle)
_DUMMY_HASH = _hasher.hash("not a password of anyone: the sign-in of an unknown email")


def normalise_email(email: str) -> str:
    """Return ``email`` as stored: stripped and lower-cased; raise ValueError if not an address."""
    text = _identifier(email, "email").lower()
    local, _, domain = text.partition("@")
    if not local or "." not in domain or any(character.isspace() for character in text):
        raise ValueError(f"email {email!r} is not an address; give it as name@example.org.")
    return text


def check_password_strength(password: str) -> str:
    """Return ``password`` if long enough; raise ValueError saying what is needed otherwise."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"the password has {len(password)} characters; give at least {MIN_PASSWORD_LENGTH}."
        )
    return password


def hash_password(password: str) -> str:
    """Return the Argon2id hash stored for ``password`` (salted: two calls differ)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; None (an unknown email) costs the same."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    session: Session,
    agency: Agency,
    email: str,
    *,
    role: str,
    password: str,
    display_name: str = "",
    actor: str = SYSTEM_ACTOR,
) -> User:
    """Create a person's account under ``agency``; audit ``person.add``.

    Raises
    ------
    ConflictError
        An account has that email already (whatever its case), or the agency was revoked.
    ValueError
        The email is not an address, the role unknown or the password too short.
    """
    address = normalise_email(email)
    role = _one_of(role, ROLES, "role")
    check_password_strength(password)
    if agency.disabled_at is not None:
        raise ConflictError(f"agency {agency.name!r} was revoked; it takes no new people.")
    if find_user(session, address) is not None:
        raise ConflictError(f"a person with the email {address} exists already.")
    user = User(
        agency_pk=agency.id,
        email=address,
        display_name=display_name.strip(),
        role=role,
        password_hash=hash_password(password),
        failed_sign_ins=0,
    )
    session.add(user)
    session.flush()
    audit(
        session,
        actor,
        "person.add",
        object_type="person",
        object_id=user.public_id,
        details={"email": address, "agency": agency.name, "role": role},
    )
    return user


def find_user(session: Session, email: str) -> User | None:
    """Return the person with ``email`` (any case), or None."""
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def list_users(session: Session) -> list[User]:
    """Return every person, in order of email."""
    return list(session.scalars(select(User).order_by(User.email)))


def get_user(session: Session, public_id: str) -> User:
    """Return the person of public id ``public_id``; raise NotFoundError if there is none."""
    user = session.scalar(select(User).where(User.public_id == public_id))
    if user is None:
        raise NotFoundError("person", public_id)
    return user


def disable_user(session: Session, user: User, *, actor: str = SYSTEM_ACTOR) -> bool:
    """Disable ``user`` for good and end their open sessions; audit ``person.disable``.

    Idempotent: return whether this call disabled them (one audit line, by that call). Their
    audit lines and decisions stay, naming them.
    """
    now = utc_now()
    # conditional, so that of two concurrent calls one writes and one audit line is kept
    changed = session.scalar(
        update(User)
        .where(User.id == user.id, User.disabled_at.is_(None))
        .values(disabled_at=now)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user)
    if changed is None:
        return False
    session.execute(
        update(SignInSession)
        .where(SignInSession.user_pk == user.id, SignInSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    audit(
        session,
        actor,
        "person.disable",
        object_type="person",
        object_id=user.public_id,
        details={"email": user.email, "agency": user.agency.name},
    )
    return True


def is_locked(user: User, *, now: datetime.datetime | None = None) -> bool:
    """Whether the brake refuses ``user``'s sign-ins at ``now``."""
    return user.locked_until is not None and user.locked_until > (now or utc_now())


def record_failed_sign_in(
    session: Session, user: User, *, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """Count a failed sign-in of ``user``; return until when the brake now refuses it, if it does.

    Every :data:`FAILURES_BEFORE_BRAKE` failures in a row lock the account for :data:`BRAKE_S`
    seconds, doubled for each run of failures after the first (at most :data:`MAX_BRAKE_S`).
    """
    now = now or utc_now()
    # counted in the database, so that concurrent guesses all count
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_sign_ins=User.failed_sign_ins + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user)
    if user.failed_sign_ins % FAILURES_BEFORE_BRAKE == 0:
        runs = user.failed_sign_ins // FAILURES_BEFORE_BRAKE
        wait_s = min(BRAKE_S * 2 ** (runs - 1), MAX_BRAKE_S)
        user.locked_until = now + datetime.timedelta(seconds=wait_s)
        session.flush()
    return user.locked_until if is_locked(user, now=now) else None


def record_successful_sign_in(session: Session, user: User) -> None:
    """Reset ``user``'s count of failed sign-ins and the brake."""
    user.failed_sign_ins = 0
    user.locked_until = None
    session.flush()


def hash_session_token(token: str) -> str:
    """Return the SHA-256 (hex) that identifies the session of a cookie's ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewSession:
    """A session just opened: the cookie's token (shown to the browser once) and its row."""

    token: str
    record: SignInSession


def create_session(session: Session, user: User, *, lifetime: datetime.timedelta) -> NewSession:
    """Open a session for ``user`` lasting ``lifetime``; return its token (stored hashed)."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    record = SignInSession(
        id=hash_session_token(token),
        user_pk=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        csrf_token=secrets.token_urlsafe(32),
    )
    session.add(record)
    session.flush()
    return NewSession(token, record)


def find_session(
    session: Session, token: str, *, now: datetime.datetime | None = None
) -> SignInSession | None:
    """Return the valid session of a cookie's ``token``, or None.

    None when unknown, revoked, expired, or when its person or their agency is disabled.
    """
    now = now or utc_now()
    statement = (
        select(SignInSession)
        .join(User, SignInSession.user_pk == User.id)
        .join(Agency, User.agency_pk == Agency.id)
        .where(
            SignInSession.id == hash_session_token(token),
            SignInSession.revoked_at.is_(None),
            SignInSession.expires_at > now,
            User.disabled_at.is_(None),
            Agency.disabled_at.is_(None),
        )
    )
    return session.scalar(statement)


def revoke_session(session: Session, token: str) -> SignInSession | None:
    """End the session of ``token`` (idempotent); return it, or None if it was not open."""
    record = session.get(SignInSession, hash_session_token(token))
    if record is None or record.revoked_at is not None:
        return None
    record.revoked_at = utc_now()
    session.flush()
    return record


def set_user_language(session: Session, user_pk: int, language: str | None) -> None:
    """Store the language ``user_pk`` chose for the pages (None: follow the browser)."""
    user = session.get(User, user_pk)
    if user is None:
        raise ValueError(f"no person has the key {user_pk}.")
    user.language = language
    session.flush()

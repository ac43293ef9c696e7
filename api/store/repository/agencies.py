"""Agencies: accounts with a country and a role, and the hash of their API key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.store.errors import ConflictError, NotFoundError
from api.store.models import (
    ROLES,
    Agency,
    check_country_code,
    utc_now,
)
from api.store.repository._common import SYSTEM_ACTOR, _identifier, _one_of
from api.store.repository.audit_log import audit


def new_api_key() -> str:
    """Return a new random API key (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    """Return the SHA-256 (hex) stored for an API key.

    A plain hash suffices: keys are 256 random bits, so unlike passwords they cannot be guessed
    from a dictionary, and the lookup must stay fast on every request.
    """
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


#: user-assigned in ISO 3166-1, so absent from its list, but the code the EU, Interpol and most
#: agencies use for Kosovo (``check_country_code`` accepts it for the same reason)
_KOSOVO = "XK"


def check_assigned_country_code(country: str) -> str:
    """Return ``country`` as the ISO 3166-1 alpha-2 code of a country (upper case), or raise.

    Stricter than :func:`api.store.models.check_country_code`, which checks the form only: the
    code must be one that ISO 3166-1 assigns to a country (pycountry's list), or ``XK`` (Kosovo).
    Case and surrounding blanks are forgiven (``" tt "`` gives ``"TT"``); ``"UK"``, reserved at
    the United Kingdom's request but assigned to no country, is refused (``"GB"`` is its code).

    Raises
    ------
    ValueError
        The message names the field (``country``), the value, and gives an example.
    """
    import pycountry  # loads its JSON database on first use: only where a country is checked

    code = check_country_code(country)
    if code != _KOSOVO and pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(
            f"country {country!r} is not an ISO 3166-1 alpha-2 code assigned to a country; give "
            "the agency's two-letter country code, e.g. 'GB' for the United Kingdom (not 'UK')."
        )
    return code


def get_or_create_agency(
    session: Session, name: str, *, country: str, role: str = "lab", actor: str = SYSTEM_ACTOR
) -> Agency:
    """Return the agency called ``name``, creating it (with ``country`` and ``role``) if new;
    a creation is audited as ``agency.add`` by ``actor`` (a person from the admin page; the
    command line and ingest are the system).

    Raises
    ------
    ConflictError
        The agency exists with another country.
    ValueError
        The name is empty, the country is not the ISO 3166-1 alpha-2 code of a country (see
        :func:`check_assigned_country_code`), or the role unknown.
    """
    name = _identifier(name, "agency")
    country = check_assigned_country_code(country)
    role = _one_of(role, ROLES, "role")
    agency = session.scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        candidate = Agency(name=name, country=country, role=role)
        try:
            with session.begin_nested():
                session.add(candidate)
        except IntegrityError:  # created by a concurrent transaction since the select
            agency = session.scalar(select(Agency).where(Agency.name == name))
            if agency is None:
                raise
        else:
            audit(
                session,
                actor,
                "agency.add",
                object_type="agency",
                object_id=candidate.public_id,
                details={"name": name, "country": country, "role": role},
            )
            return candidate
    if agency.country != country:
        raise ConflictError(
            f"agency {name!r} is registered in {agency.country}, not {country}; check the "
            "country column, or give the other agency another name."
        )
    return agency


def get_agency(session: Session, name: str) -> Agency:
    """Return the agency called ``name``; raise NotFoundError if there is none."""
    agency = session.scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        raise NotFoundError("agency", name)
    return agency


def list_agencies(session: Session) -> list[Agency]:
    """Return every agency, revoked ones included, in order of name."""
    return list(session.scalars(select(Agency).order_by(Agency.name)))


@dataclass(frozen=True)
class AgencyRevoked:
    """What :func:`revoke_agency` did: the agency, and whether this call revoked it."""

    agency: Agency
    changed: bool


def revoke_agency(session: Session, name: str, *, actor: str = SYSTEM_ACTOR) -> AgencyRevoked:
    """Disable the agency called ``name`` and its API key, for good; idempotent.

    Sets ``disabled_at`` and clears ``api_key_hash``, so that no key of the agency authenticates
    even where ``disabled_at`` is not checked. Its rows stay: exhibits, cases, links and audit
    lines still name it. One ``agency.revoke`` audit line is written, by the call that revoked
    it; a call on an agency already revoked changes nothing.

    Raises
    ------
    NotFoundError
        No agency has that name.
    """
    agency = get_agency(session, name)
    # conditional, so that of two concurrent revocations one writes and one audit line is kept
    statement = (
        update(Agency)
        .where(Agency.id == agency.id, Agency.disabled_at.is_(None))
        .values(disabled_at=utc_now(), api_key_hash=None)
        .returning(Agency)
    )
    updated = session.scalars(
        statement, execution_options={"synchronize_session": False, "populate_existing": True}
    ).one_or_none()
    if updated is None:
        session.refresh(agency)
        return AgencyRevoked(agency, changed=False)
    audit(
        session,
        actor,
        "agency.revoke",
        object_type="agency",
        object_id=updated.public_id,
        details={"name": updated.name},
    )
    return AgencyRevoked(updated, changed=True)


def issue_api_key(session: Session, agency: Agency, *, actor: str = SYSTEM_ACTOR) -> str:
    """Give ``agency`` a new API key (replacing any previous one); return the key itself.

    Only its hash is stored: the returned key is shown once and cannot be recovered.

    Raises
    ------
    ConflictError
        The agency was revoked: a revoked agency is never given a key again.
    """
    if agency.disabled_at is not None:
        raise ConflictError(
            f"agency {agency.name!r} was revoked on {agency.disabled_at.date().isoformat()} and "
            "is not re-enabled; register the account under a new name (the revoked agency's "
            "exhibits, links and audit lines keep its name)."
        )
    api_key = new_api_key()
    agency.api_key_hash = hash_api_key(api_key)
    session.flush()
    audit(session, actor, "agency.api_key", object_type="agency", object_id=agency.public_id)
    return api_key


def agency_for_api_key(session: Session, api_key: str) -> Agency:
    """Return the agency holding ``api_key``; raise NotFoundError (key not echoed) if none, or
    if the agency was revoked (``disabled_at`` set)."""
    statement = select(Agency).where(
        Agency.api_key_hash == hash_api_key(api_key),
        # a revoked agency's key is refused even where its hash was left in place
        Agency.disabled_at.is_(None),
    )
    agency = session.scalar(statement)
    if agency is None:
        raise NotFoundError("API key", "(not shown)")
    return agency

"""Regions: groups of countries an admin defines, a scope of the examiner's queue.

Every change is audited naming the person (``region.add``, ``region.update``,
``region.delete``; the audit line's object is the region's name). A region's countries are
checked as an agency's country is
(:func:`~api.store.repository.agencies.check_assigned_country_code`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.store.errors import ConflictError, NotFoundError
from api.store.models import Region, RegionCountry
from api.store.repository._common import SYSTEM_ACTOR, _identifier
from api.store.repository.agencies import check_assigned_country_code
from api.store.repository.audit_log import audit


def check_region_countries(countries: Iterable[str]) -> list[str]:
    """Return ``countries`` as sorted, distinct ISO 3166-1 alpha-2 codes, or raise ValueError.

    Each code is checked as an agency's is (case and blanks forgiven, ``"UK"`` refused); a
    region holds at least one country.
    """
    codes = sorted({check_assigned_country_code(country) for country in countries})
    if not codes:
        raise ValueError(
            "a region holds at least one country; give its ISO 3166-1 alpha-2 codes, "
            "e.g. 'TT, GY, BB'."
        )
    return codes


def get_region(session: Session, name: str) -> Region:
    """Return the region called ``name`` with its countries; raise NotFoundError if none."""
    region = session.scalar(
        select(Region).options(selectinload(Region.members)).where(Region.name == name.strip())
    )
    if region is None:
        raise NotFoundError("region", name)
    return region


def list_regions(session: Session) -> list[Region]:
    """Return every region with its countries, in order of name."""
    statement = select(Region).options(selectinload(Region.members)).order_by(Region.name)
    return list(session.scalars(statement))


def add_region(
    session: Session, name: str, countries: Iterable[str], *, actor: str = SYSTEM_ACTOR
) -> Region:
    """Define the region ``name`` of ``countries``; audit ``region.add`` naming ``actor``.

    Raises
    ------
    ConflictError
        A region has that name already.
    ValueError
        The name is empty or too long, a country is not the code of a country, or none is given.
    """
    name = _identifier(name, "region")
    codes = check_region_countries(countries)
    if session.scalar(select(Region.id).where(Region.name == name)) is not None:
        raise ConflictError(f"a region called {name!r} exists already; give another name.")
    region = Region(
        name=name,
        created_by=_identifier(actor, "actor"),
        members=[RegionCountry(country=code) for code in codes],
    )
    try:
        with session.begin_nested():
            session.add(region)
    except IntegrityError as error:  # defined by a concurrent transaction since the select
        raise ConflictError(
            f"a region called {name!r} exists already; give another name."
        ) from error
    audit(
        session,
        actor,
        "region.add",
        object_type="region",
        object_id=name,
        details={"countries": codes},
    )
    return region


def set_region_countries(
    session: Session, name: str, countries: Iterable[str], *, actor: str = SYSTEM_ACTOR
) -> Region:
    """Replace the countries of the region ``name``; audit ``region.update`` (before and after).

    Raises
    ------
    NotFoundError
        No region has that name.
    ValueError
        A country is not the code of a country, or none is given.
    """
    codes = check_region_countries(countries)
    region = get_region(session, name)
    before = region.countries
    if before == codes:
        return region
    kept = [member for member in region.members if member.country in codes]
    region.members = kept + [
        RegionCountry(country=code) for code in codes if code not in set(before)
    ]
    session.flush()
    audit(
        session,
        actor,
        "region.update",
        object_type="region",
        object_id=region.name,
        details={"before": before, "countries": codes},
    )
    return region


def delete_region(session: Session, name: str, *, actor: str = SYSTEM_ACTOR) -> None:
    """Delete the region ``name`` and its countries; audit ``region.delete`` naming ``actor``.

    Raises
    ------
    NotFoundError
        No region has that name.
    """
    region = get_region(session, name)
    countries = region.countries
    session.delete(region)
    session.flush()
    audit(
        session,
        actor,
        "region.delete",
        object_type="region",
        object_id=region.name,
        details={"countries": countries},
    )

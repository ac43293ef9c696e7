"""General rifling characteristics of bullets: a class filter applied when they are known.

A barrel's rifling has a number of lands and grooves and a twist direction; bullets fired by
barrels of different rifling cannot share a source, which is how examiners and the FBI's GRC
file narrow a search before any comparison. Labs give them with an exhibit (manifest columns or
upload fields ``land_count`` and ``twist``, kept in its metadata); a scan of a few lands does not
tell them reliably (a damaged bullet shows fewer lands than its barrel has, and land scans aligned
with the striae do not show the twist), so they are never guessed.

The filter only excludes: two bullets are kept apart when both have a value for a
characteristic and the values differ. Anything unknown on either side matches, so a missing
value can never hide a true match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: metadata keys (manifest columns, upload fields) of the rifling characteristics
LAND_COUNT_KEY = "land_count"
TWIST_KEY = "twist"
TWISTS = ("left", "right")
#: rifling with more lands than this is not made for handguns or rifles
MAX_LAND_COUNT = 32


@dataclass(frozen=True)
class RiflingClass:
    """What is known of a bullet's rifling (None: unknown)."""

    land_count: int | None = None
    twist: str | None = None

    def conflicts_with(self, other: RiflingClass) -> bool:
        """True when a characteristic known on both sides differs: not the same barrel."""
        return any(
            mine is not None and theirs is not None and mine != theirs
            for mine, theirs in (
                (self.land_count, other.land_count),
                (self.twist, other.twist),
            )
        )

    def as_metadata(self) -> dict[str, str]:
        """The known characteristics as metadata entries (text, as manifest cells are)."""
        entries = {}
        if self.land_count is not None:
            entries[LAND_COUNT_KEY] = str(self.land_count)
        if self.twist is not None:
            entries[TWIST_KEY] = self.twist
        return entries


def parse_land_count(value: Any) -> int | None:
    """Return a land count from a cell or field (empty: None); ValueError says what is wrong."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        count = int(str(value).strip())
    except ValueError:
        raise ValueError(
            f"land_count {value!r} is not a whole number; give the number of lands of the "
            "barrel's rifling (e.g. 6), or leave it empty"
        ) from None
    if not 2 <= count <= MAX_LAND_COUNT:
        raise ValueError(
            f"land_count {count} is outside 2-{MAX_LAND_COUNT}; give the number of lands of the "
            "barrel's rifling, or leave it empty"
        )
    return count


def parse_twist(value: Any) -> str | None:
    """Return ``"left"`` or ``"right"`` from a cell or field (empty: None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().lower()
    if text not in TWISTS:
        raise ValueError(f"twist {value!r} is not 'left' or 'right'; give one, or leave it empty")
    return text


def rifling_class(metadata: Mapping[str, Any] | None) -> RiflingClass:
    """Return the rifling characteristics recorded in an exhibit's metadata (values already
    checked on the way in; anything unreadable counts as unknown)."""
    metadata = metadata or {}
    try:
        land_count = parse_land_count(metadata.get(LAND_COUNT_KEY))
    except ValueError:
        land_count = None
    try:
        twist = parse_twist(metadata.get(TWIST_KEY))
    except ValueError:
        twist = None
    return RiflingClass(land_count=land_count, twist=twist)

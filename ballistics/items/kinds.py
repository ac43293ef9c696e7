"""The kinds of mark the engine compares: :class:`ItemKind` (light: no image science imported).

Its value is the string stored in the database and written in JSON. What each kind does is its
:class:`~ballistics.items.spec.KindSpec` in the registry (:mod:`ballistics.items.registry`).
"""

from __future__ import annotations

import enum


class ItemKind(enum.StrEnum):
    """A kind of evidence item; the value is what the store and the JSON hold."""

    CARTRIDGE_CASE = "cartridge_case"
    BULLET = "bullet"

    @classmethod
    def parse(cls, value: str) -> ItemKind:
        """Return the kind named ``value``.

        Raises
        ------
        ValueError
            ``value`` names no kind; the message lists the kinds.
        """
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(kind.value for kind in cls)
            raise ValueError(f"kind must be one of {names}, got {value!r}") from None


class KindNotAvailableError(ValueError):
    """The kind of item asked for cannot be compared by this version of the engine."""

"""Errors raised by the evidence store.

Each message names the object (exhibit, link, blob, database) and says what to do, so that the
command line can print ``str(error)`` and the HTTP layer can answer it as ``{"detail": ...}``.
"""

from __future__ import annotations

from ballistics.items.encoding import MarkFormatError


class StoreError(Exception):
    """Base class of the evidence store's errors."""


class NotFoundError(StoreError, LookupError):
    """No object has the given id (the HTTP layer answers 404).

    Parameters
    ----------
    object_type
        What was looked up: ``"exhibit"``, ``"link"``, ``"case"``, ``"agency"``...
    identifier
        The id that was given.
    """

    def __init__(self, object_type: str, identifier: object) -> None:
        self.object_type = object_type
        self.identifier = identifier
        super().__init__(f"{object_type} {identifier!r} not found")

    def __str__(self) -> str:
        # LookupError would quote the message like a dictionary key
        return str(self.args[0])


class ConflictError(StoreError, ValueError):
    """The call contradicts what is stored (e.g. a known exhibit id with a different file)."""


class StoreVersionError(StoreError):
    """The database schema is at a revision this code does not know (written by a newer release)."""


class IntegrityCheckError(StoreError):
    """Stored bytes no longer match their recorded SHA-256: the store was altered or damaged."""


# the encoding of prepared marks is the engine's (ballistics.items.encoding), and so is its error
__all__ = [
    "ConflictError",
    "IntegrityCheckError",
    "MarkFormatError",
    "NotFoundError",
    "StoreError",
    "StoreVersionError",
]

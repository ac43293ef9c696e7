"""What the resources' modules share: the audit log's system actor, the checks of identifiers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ballistics.errors import EvidenceError

#: the audit log's actor for what the engine does by itself (leads, jobs)
SYSTEM_ACTOR = "system"
_MAX_IDENTIFIER_LENGTH = 200


def _identifier(value: Any, field_name: str) -> str:
    # EvidenceError (a ValueError): the message is meant for the caller, so the HTTP layer
    # answers it as 422 instead of hiding it behind a generic 500
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > _MAX_IDENTIFIER_LENGTH:
        raise EvidenceError(
            "",
            f"{field_name} {value!r} must be a non-empty text of at most "
            f"{_MAX_IDENTIFIER_LENGTH} characters.",
        )
    if "\x00" in text:
        # PostgreSQL refuses NUL in text (a DataError at commit); the last line behind the API's
        # own checks, for every other way in
        raise EvidenceError("", f"{field_name} {value!r} holds a NUL character (\\x00); remove it.")
    return text


def _one_of(value: Any, allowed: Sequence[str], field_name: str) -> str:
    if value not in allowed:
        raise EvidenceError("", f"{field_name} {value!r} is not one of {', '.join(allowed)}.")
    return str(value)

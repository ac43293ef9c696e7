"""The one check every refusal test makes: the right error, naming the file, on one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ballistics.errors import EvidenceError


def assert_refused(
    read: Callable[..., object],
    path: Path,
    error_type: type[EvidenceError],
    fragment: str,
    **options: object,
) -> str:
    """Call ``read(path, **options)`` and check that it raises exactly ``error_type``.

    The message must name the file, contain ``fragment`` (case-insensitive) and fit on one
    line. Returns the message.
    """
    with pytest.raises(error_type) as caught:
        read(path, **options)
    message = str(caught.value)
    assert type(caught.value) is error_type, type(caught.value)
    assert path.name in message, message
    assert fragment.lower() in message.lower(), message
    assert "\n" not in message, message
    return message

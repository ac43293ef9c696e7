"""The store's prepared marks are encoded by the engine: see :mod:`ballistics.items.encoding`.

Kept so that code written against ``api.store.marks`` still imports; new code imports
:mod:`ballistics.items.encoding` (or asks a kind's spec, :func:`ballistics.items.kind_spec`).
"""

from __future__ import annotations

from ballistics.items.encoding import (
    FORMAT_VERSION,
    MAGIC,
    DecodedMark,
    MarkFormatError,
    decode_bullet_mark,
    decode_casing_mark,
    decode_mark,
    encode_bullet_mark,
    encode_casing_mark,
    encode_mark,
)

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "DecodedMark",
    "MarkFormatError",
    "decode_bullet_mark",
    "decode_casing_mark",
    "decode_mark",
    "encode_bullet_mark",
    "encode_casing_mark",
    "encode_mark",
]

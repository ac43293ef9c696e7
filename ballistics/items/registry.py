"""The registry: one :class:`~ballistics.items.kinds.KindSpec` per kind of mark.

A new kind of mark is one new spec added to :data:`REGISTRY`; everything that reads, stores,
describes or compares an item asks :func:`kind_spec` (or :func:`decode_prepared`, for a stored
mark that carries its kind) and never which kind it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ballistics.items.bullet import BulletSpec
from ballistics.items.casing import CartridgeCaseSpec
from ballistics.items.encoding import MarkFormatError, decode_mark
from ballistics.items.kinds import ItemKind
from ballistics.items.spec import KindSpec

#: every kind of mark the engine knows, by kind
REGISTRY: Mapping[ItemKind, KindSpec[Any, Any]] = MappingProxyType(
    {spec.kind: spec for spec in (CartridgeCaseSpec(), BulletSpec())}
)

#: the kinds' names, as stored and written in JSON
KINDS: tuple[str, ...] = tuple(kind.value for kind in REGISTRY)


def kind_spec(kind: ItemKind | str) -> KindSpec[Any, Any]:
    """Return what the kind named ``kind`` does.

    Raises
    ------
    ValueError
        ``kind`` names no kind; the message lists the kinds.
    """
    return REGISTRY[ItemKind.parse(kind)]


def decode_prepared(data: bytes) -> tuple[KindSpec[Any, Any], Any]:
    """Return the spec of an encoded mark's kind and the prepared mark it holds.

    Raises
    ------
    MarkFormatError
        The bytes are not an encoded mark of a kind this engine knows, or are damaged.
    """
    decoded = decode_mark(data)
    try:
        spec = kind_spec(decoded.kind)
    except ValueError as error:
        raise MarkFormatError(f"encoded mark is of an unknown kind: {error}") from None
    return spec, spec.from_decoded(decoded)

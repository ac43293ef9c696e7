"""Evidence items of every kind, as the engine reads, stores, describes and compares them.

Here lives the one place that knows the kinds of mark: :class:`ItemKind` names them and the
registry (:func:`kind_spec`) holds what each does (:class:`KindSpec`): read an item into its
prepared mark, describe it, encode and decode it for storage, compare two into a
:class:`ComparisonRecord`, its versions and lead threshold. Above it, the application asks the
registry and never which kind it holds.

- :mod:`~ballistics.items.kinds`: ``ItemKind`` (light: the command line names kinds with it);
- :mod:`~ballistics.items.spec`: the ``KindSpec`` contract and the settings it reads;
- :mod:`~ballistics.items.registry`: one spec per kind (``casing``, ``bullet``);
- :mod:`~ballistics.items.encoding`: the compact, versioned storage encoding of marks;
- :mod:`~ballistics.items.read`: items read from their files' bytes, limits checked first;
- :mod:`~ballistics.items.records`: comparison records and their JSON;
- :mod:`~ballistics.items.item`: ``Item`` and ``Pair`` on disk, compared in this process.

May import the rest of :mod:`ballistics`; never :mod:`api` or :mod:`indexer`. The names below
are loaded on first use, so that naming a kind does not import the image science.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ballistics.items.kinds import ItemKind, KindNotAvailableError

if TYPE_CHECKING:
    from ballistics.items.encoding import MarkFormatError, decode_mark, encode_mark
    from ballistics.items.item import (
        DEFAULT_PREPARE_CONFIG,
        Item,
        Pair,
        check_same_kind,
        compare_items,
        describe_error,
        guess_kind,
        item_settings,
        parse_item_kind,
        prepare_item,
    )
    from ballistics.items.records import DEPRECATED_LEAD_ALIAS, ComparisonRecord
    from ballistics.items.registry import KINDS, REGISTRY, decode_prepared, kind_spec
    from ballistics.items.spec import (
        DEFAULT_ITEM_SETTINGS,
        EngineSettings,
        Extracted,
        ItemSettings,
        KindSpec,
    )

#: where each name loaded on first use lives
_LAZY = {
    **dict.fromkeys(("MarkFormatError", "decode_mark", "encode_mark"), "encoding"),
    **dict.fromkeys(
        (
            "DEFAULT_PREPARE_CONFIG",
            "Item",
            "Pair",
            "check_same_kind",
            "compare_items",
            "describe_error",
            "guess_kind",
            "item_settings",
            "parse_item_kind",
            "prepare_item",
        ),
        "item",
    ),
    **dict.fromkeys(("DEPRECATED_LEAD_ALIAS", "ComparisonRecord"), "records"),
    **dict.fromkeys(("KINDS", "REGISTRY", "decode_prepared", "kind_spec"), "registry"),
    **dict.fromkeys(
        ("DEFAULT_ITEM_SETTINGS", "EngineSettings", "Extracted", "ItemSettings", "KindSpec"),
        "spec",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DEFAULT_ITEM_SETTINGS",
    "DEFAULT_PREPARE_CONFIG",
    "DEPRECATED_LEAD_ALIAS",
    "KINDS",
    "REGISTRY",
    "ComparisonRecord",
    "EngineSettings",
    "Extracted",
    "Item",
    "ItemKind",
    "ItemSettings",
    "KindNotAvailableError",
    "KindSpec",
    "MarkFormatError",
    "Pair",
    "check_same_kind",
    "compare_items",
    "decode_mark",
    "decode_prepared",
    "describe_error",
    "encode_mark",
    "guess_kind",
    "item_settings",
    "kind_spec",
    "parse_item_kind",
    "prepare_item",
]

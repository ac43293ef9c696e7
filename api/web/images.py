"""The pictures an examiner judges a lead by: a mark's preview and a pair's overlay (PNG)."""

from __future__ import annotations

from api.pairs import CARTRIDGE_CASE
from api.store.marks import decode_casing_mark
from ballistics.casing.compare import DEFAULT_COMPARE_CONFIG, CompareConfig, compare_casings
from ballistics.casing.overlay import casing_overlay_png
from ballistics.render import casing_preview_png


def _check_kind(kind: str) -> None:
    if kind != CARTRIDGE_CASE:
        raise ValueError(f"pictures of {kind} exhibits are not available yet.")


def exhibit_preview_png(kind: str, mark: bytes, *, title: str = "") -> bytes:
    """A preview of a stored mark (``kind`` as stored, ``mark`` as encoded in the store)."""
    _check_kind(kind)
    return casing_preview_png(decode_casing_mark(mark), title=title or None)


def overlay_png(
    kind: str,
    reference: bytes,
    questioned: bytes,
    *,
    reference_label: str,
    questioned_label: str,
    config: CompareConfig = DEFAULT_COMPARE_CONFIG,
) -> bytes:
    """Compare two stored marks and draw them registered side by side with their cells."""
    _check_kind(kind)
    first, second = decode_casing_mark(reference), decode_casing_mark(questioned)
    comparison = compare_casings(first, second, config=config)
    return casing_overlay_png(
        first,
        second,
        comparison,
        config=config,
        reference_label=reference_label,
        questioned_label=questioned_label,
    )

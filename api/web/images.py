"""The pictures an examiner judges a lead by: a mark's preview and a pair's overlay (PNG), each
drawn by its kind's spec (:func:`ballistics.items.kind_spec`)."""

from __future__ import annotations

from ballistics.bullet import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.casing.compare import DEFAULT_COMPARE_CONFIG, CompareConfig
from ballistics.items import ItemSettings, decode_mark, kind_spec


def exhibit_preview_png(kind: str, mark: bytes, *, title: str = "") -> bytes:
    """A preview of a stored mark (``kind`` as stored, ``mark`` as encoded in the store): the
    prepared breech face of a casing; for a bullet, each land's signature drawn as the
    striations it stands for (the profile repeated along the striae), land by land."""
    spec = kind_spec(kind)
    return spec.preview_png(spec.from_decoded(decode_mark(mark)), title=title)


def overlay_png(
    kind: str,
    reference: bytes,
    questioned: bytes,
    *,
    reference_label: str,
    questioned_label: str,
    config: CompareConfig = DEFAULT_COMPARE_CONFIG,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> bytes:
    """Compare two stored marks and draw them: casings registered side by side with their
    cells; bullets as their lands' signatures aligned at the best phase."""
    spec = kind_spec(kind)
    return spec.overlay_png(
        spec.from_decoded(decode_mark(reference)),
        spec.from_decoded(decode_mark(questioned)),
        labels=(reference_label, questioned_label),
        settings=ItemSettings(compare=config, bullet=bullet_config),
    )

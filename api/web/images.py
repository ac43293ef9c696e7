"""The pictures an examiner judges a lead by: a mark's preview and a pair's overlay (PNG)."""

from __future__ import annotations

import cv2
import numpy as np

from api.pairs import BULLET
from api.store.marks import decode_bullet_mark, decode_casing_mark
from ballistics.bullet import (
    DEFAULT_BULLET_CONFIG,
    BulletConfig,
    PreparedBullet,
    compare_bullets,
    compare_lands,
)
from ballistics.bullet.overlay import signature_overlay_png
from ballistics.casing.compare import DEFAULT_COMPARE_CONFIG, CompareConfig, compare_casings
from ballistics.casing.overlay import casing_overlay_png
from ballistics.casing.preview import casing_preview_png
from ballistics.render import encode_png, render_surface_png, stack_blocks, text_block

#: rows of the striation picture drawn for each land of a bullet
_LAND_STRIPE_ROWS = 64


def _png_image(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)


def exhibit_preview_png(kind: str, mark: bytes, *, title: str = "") -> bytes:
    """A preview of a stored mark (``kind`` as stored, ``mark`` as encoded in the store): the
    prepared breech face of a casing; for a bullet, each land's signature drawn as the
    striations it stands for (the profile repeated along the striae), land by land."""
    if kind == BULLET:
        return bullet_preview_png(decode_bullet_mark(mark), title=title)
    return casing_preview_png(decode_casing_mark(mark), title=title or None)


def bullet_preview_png(bullet: PreparedBullet, *, title: str = "") -> bytes:
    """The lands of a bullet as striation pictures, one under another, with their numbers."""
    blocks = [text_block([title or bullet.source or "bullet"])] if title or bullet.source else []
    for number, land in zip(bullet.land_numbers, bullet.lands, strict=True):
        stripes = np.tile(land.signature_um, (_LAND_STRIPE_ROWS, 1))
        picture = render_surface_png(
            stripes,
            pixel_um=land.pixel_um,
            colour_map="grey",
            title=f"land {number}: signature, {land.width_um / 1000:.2f} mm between the grooves",
        )
        blocks.append(_png_image(picture))
    figure, _ = stack_blocks(blocks)
    return encode_png(figure)


def bullet_overlay_png(
    reference: PreparedBullet,
    questioned: PreparedBullet,
    *,
    reference_label: str,
    questioned_label: str,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> bytes:
    """The lands facing each other at the best phase, their signatures drawn aligned."""
    comparison = compare_bullets(reference, questioned, config=config)
    decision = "lead" if comparison.lead else "below the lead threshold"
    header = text_block(
        [
            f"{reference_label} vs {questioned_label}",
            f"bullet score {comparison.score:.3f} ({decision}: threshold "
            f"{config.lead_threshold:g}), phase {comparison.phase}",
        ]
    )
    blocks = [header]
    for first, second, score in comparison.aligned_pairs:
        land_a, land_b = reference.lands[first], questioned.lands[second]
        lands = compare_lands(land_a, land_b, config=config)
        number_a, number_b = reference.land_numbers[first], questioned.land_numbers[second]
        blocks.append(
            _png_image(
                signature_overlay_png(
                    land_a.signature_um,
                    land_b.signature_um,
                    pixel_um=land_a.pixel_um,
                    lag_um=lands.lag_um,
                    labels=(f"land {number_a}", f"land {number_b}"),
                    title=f"land {number_a} x land {number_b}: score {score:.3f}, "
                    f"{lands.consecutive_matching_striae} consecutive matching striae",
                    height_px=240,
                )
            )
        )
    figure, _ = stack_blocks(blocks)
    return encode_png(figure)


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
    if kind == BULLET:
        return bullet_overlay_png(
            decode_bullet_mark(reference),
            decode_bullet_mark(questioned),
            reference_label=reference_label,
            questioned_label=questioned_label,
            config=bullet_config,
        )
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

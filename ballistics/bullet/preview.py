"""A bullet's lands drawn as the striations their signatures stand for (PNG), land by land."""

from __future__ import annotations

import cv2
import numpy as np

from ballistics.bullet.compare import PreparedBullet
from ballistics.render import encode_png, render_surface_png, stack_blocks, text_block

#: rows of the striation picture drawn for each land of a bullet
_LAND_STRIPE_ROWS = 64


def png_image(data: bytes) -> np.ndarray:
    """Return a PNG file's pixels (BGR), to stack it with other blocks."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a PNG file: the picture to stack cannot be decoded.")
    return np.asarray(image)


def bullet_preview_png(bullet: PreparedBullet, *, title: str = "") -> bytes:
    """The lands of a bullet as striation pictures, one under another, with their numbers: each
    land's signature repeated along the striae."""
    blocks = [text_block([title or bullet.source or "bullet"])] if title or bullet.source else []
    for number, land in zip(bullet.land_numbers, bullet.lands, strict=True):
        stripes = np.tile(land.signature_um, (_LAND_STRIPE_ROWS, 1))
        picture = render_surface_png(
            stripes,
            pixel_um=land.pixel_um,
            colour_map="grey",
            title=f"land {number}: signature, {land.width_um / 1000:.2f} mm between the grooves",
        )
        blocks.append(png_image(picture))
    figure, _ = stack_blocks(blocks)
    return encode_png(figure)

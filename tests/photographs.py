"""Photographs of known quality for the tests of quality feedback: a synthetic casing photographed
by a well set-up lab (or with one thing changed), and blank files."""

from __future__ import annotations

import dataclasses
import io
from functools import cache

import numpy as np
from PIL import Image

from ballistics.synthetic import make_firearm
from ballistics.synthetic.ammunition import make_ammunition
from ballistics.synthetic.firing import FiredCasing, fire
from ballistics.synthetic.photographs import (
    Camera,
    Lighting,
    PhotoConditions,
    Photograph,
    take_photograph,
)

#: a well set-up lab: ring light, 6 µm per pixel, the camera's automatic exposure, mild noise
GOOD = PhotoConditions(
    lighting=Lighting("ring", segments=8, elevation_deg=40.0), camera=Camera(pixel_um=6.0)
)


@cache
def fired_casing() -> FiredCasing:
    """One synthetic case, always the same."""
    return fire(make_firearm("T01", seed=11), make_ammunition("WIN"), seed=3)


@cache
def photograph(**camera: float) -> Photograph:
    """The case photographed as :data:`GOOD`, with ``camera``'s fields changed (a PNG file
    carrying no resolution: give its ``recorded_pixel_um``)."""
    conditions = dataclasses.replace(GOOD, camera=dataclasses.replace(GOOD.camera, **camera))
    return take_photograph(fired_casing(), conditions)


def blank_png(level: int = 0, *, side: int = 400) -> bytes:
    """An 8-bit grey PNG of one level everywhere, without a resolution."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((side, side), level, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def with_resolution(data: bytes, pixel_um: float) -> bytes:
    """A photograph's file saved again as a PNG that states its resolution (``pixel_um``)."""
    buffer = io.BytesIO()
    dpi = 25_400.0 / pixel_um
    Image.open(io.BytesIO(data)).save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue()

"""Synthetic fired lands for the bullet tests: a barrel's striae rendered at a coarse pixel."""

from __future__ import annotations

from ballistics.bullet import PreparedLand, prepare_land
from ballistics.bullet.synthetic import barrel_striae, render_land

#: coarser than real scans (3.125 instead of 1.5625 µm) to keep the tests fast
PIXEL_UM = 3.125
LANDS = 6


def fire(barrel_seed: int, land: int, firing_seed: int, **options: object) -> PreparedLand:
    """Return the prepared land ``land`` of barrel ``barrel_seed`` fired once."""
    striae = barrel_striae(seed=barrel_seed, land_count=LANDS, pixel_um=PIXEL_UM)[land]
    rendered = render_land(striae, seed=firing_seed, pixel_um=PIXEL_UM, **options)
    return prepare_land(rendered.surface)

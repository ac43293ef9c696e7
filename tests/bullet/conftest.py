"""Synthetic barrels and fired lands shared by the bullet tests (rendered once per session)."""

from __future__ import annotations

import pytest

from ballistics.bullet import PreparedBullet, PreparedLand, prepare_land
from ballistics.bullet.synthetic import barrel_striae, render_land

#: coarser than real scans (3.125 instead of 1.5625 µm) to keep the tests fast
PIXEL_UM = 3.125
LANDS = 6


def fire(barrel_seed: int, land: int, firing_seed: int, **options: object) -> PreparedLand:
    """Return the prepared land ``land`` of barrel ``barrel_seed`` fired once."""
    striae = barrel_striae(seed=barrel_seed, land_count=LANDS, pixel_um=PIXEL_UM)[land]
    rendered = render_land(striae, seed=firing_seed, pixel_um=PIXEL_UM, **options)
    return prepare_land(rendered.surface)


@pytest.fixture(scope="session")
def synthetic_bullets() -> dict[str, PreparedBullet]:
    """Two bullets of barrel 1 and one of barrel 2, six lands each, scans shifted differently."""
    bullets = {}
    for name, barrel, seed in (("barrel1-a", 1, 100), ("barrel1-b", 1, 200), ("barrel2", 2, 300)):
        lands = tuple(
            fire(barrel, k, seed + k, shift_um=37.0 * k - 90.0, land_offset_um=15.0 * (k % 3))
            for k in range(LANDS)
        )
        bullets[name] = PreparedBullet(lands, tuple(range(1, LANDS + 1)), source=name)
    return bullets

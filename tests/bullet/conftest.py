"""Synthetic bullets shared by the bullet tests (rendered once per session)."""

from __future__ import annotations

import pytest

from ballistics.bullet import PreparedBullet
from tests.bullet.lands import LANDS, fire


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

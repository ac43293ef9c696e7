"""Retrieval vectors: fixed length, unit norm, shift tolerant, independent of land order."""

from __future__ import annotations

import numpy as np

from ballistics.bullet import (
    BULLET_DESCRIPTOR_VERSION,
    DESCRIPTOR_SIZE,
    bullet_descriptor,
    land_descriptor,
)
from tests.bullet.lands import LANDS, fire


def test_land_vector_is_fixed_length_and_normalised(synthetic_bullets) -> None:
    for land in synthetic_bullets["barrel2"].lands:
        vector = land_descriptor(land)
        assert vector.dtype == np.float32 and vector.shape == (DESCRIPTOR_SIZE,)
        assert abs(np.linalg.norm(vector) - 1) < 1e-5
    assert BULLET_DESCRIPTOR_VERSION


def test_land_vector_is_shift_tolerant() -> None:
    first = land_descriptor(fire(12, 1, 1))
    shifted = land_descriptor(fire(12, 1, 2, shift_um=180.0))
    other = land_descriptor(fire(12, 2, 3))
    assert float(first @ shifted) > float(first @ other)
    assert float(first @ shifted) > 0.8


def test_known_match_lands_are_nearest(synthetic_bullets) -> None:
    a, b = synthetic_bullets["barrel1-a"], synthetic_bullets["barrel1-b"]
    first = np.stack([land_descriptor(land) for land in a.lands])
    second = np.stack([land_descriptor(land) for land in b.lands])
    nearest = np.argmax(first @ second.T, axis=1)
    assert (nearest == np.arange(LANDS)).mean() >= 5 / 6


def test_bullet_vector_ignores_land_order(synthetic_bullets) -> None:
    lands = synthetic_bullets["barrel1-a"].lands
    turned = lands[2:] + lands[:2]
    np.testing.assert_allclose(bullet_descriptor(lands), bullet_descriptor(turned), atol=1e-6)
    vector = bullet_descriptor(lands)
    assert vector.shape == (DESCRIPTOR_SIZE,) and abs(np.linalg.norm(vector) - 1) < 1e-5
    same = bullet_descriptor(synthetic_bullets["barrel1-b"].lands)
    other = bullet_descriptor(synthetic_bullets["barrel2"].lands)
    assert float(vector @ same) > float(vector @ other)

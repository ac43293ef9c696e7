"""compare_lands and compare_bullets on synthetic barrels: shifts, KM above KNM, cyclic phase."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ballistics.bullet import (
    DEFAULT_BULLET_CONFIG,
    PreparedBullet,
    compare_bullets,
    compare_lands,
)
from ballistics.bullet.land import PreparedLand
from tests.bullet.lands import LANDS, fire


@pytest.mark.parametrize("shift_um", [-150.0, 0.0, 95.0])
def test_known_lateral_shift_recovered(shift_um: float) -> None:
    first = fire(8, 2, 11)
    second = fire(8, 2, 12, shift_um=shift_um, horizontal=True)
    comparison = compare_lands(first, second)
    # lag = where the second's signature starts relative to the first's + the striae's shift
    start_difference = second.groove_um[0] - first.groove_um[0]
    assert comparison.lag_um - start_difference == pytest.approx(shift_um, abs=2 * 3.125)
    assert comparison.score > 0.8
    assert comparison.consecutive_matching_striae >= 5


def test_known_matches_score_above_known_non_matches(synthetic_bullets) -> None:
    a, b, other = (synthetic_bullets[k] for k in ("barrel1-a", "barrel1-b", "barrel2"))
    matches = [compare_lands(a.lands[k], b.lands[k]).score for k in range(LANDS)]
    non_matches = [
        compare_lands(a.lands[i], b.lands[j]).score
        for i in range(LANDS)
        for j in range(LANDS)
        if i != j
    ] + [compare_lands(a.lands[i], other.lands[j]).score for i in range(3) for j in range(3)]
    assert min(matches) > max(non_matches)
    assert min(matches) > DEFAULT_BULLET_CONFIG.lead_threshold > max(non_matches)


def test_different_resolutions_are_compared_at_the_coarser() -> None:
    first = fire(9, 0, 1)
    # the same land's signature at half the pixel size: resampled back, it matches itself
    signature = first.signature_um
    fine = np.interp(np.arange(0, signature.size - 1, 0.5), np.arange(signature.size), signature)
    finer = dataclasses.replace(first, signature_um=fine, pixel_um=first.pixel_um / 2)
    comparison = compare_lands(finer, first)
    assert comparison.score > 0.99
    assert comparison.lag_um == pytest.approx(0.0, abs=first.pixel_um)


def _rotated(bullet: PreparedBullet, phase: int, drop: int | None = None) -> PreparedBullet:
    """Return the bullet with its land numbers turned by ``phase``, land ``drop`` missing."""
    lands: list[PreparedLand] = []
    numbers: list[int] = []
    for index, land in enumerate(bullet.lands):
        if index == drop:
            continue
        lands.append(land)
        numbers.append((index + phase) % LANDS + 1)
    order = np.argsort(numbers)
    return PreparedBullet(
        tuple(lands[k] for k in order), tuple(numbers[k] for k in order), source="turned"
    )


@pytest.mark.parametrize(("phase", "drop"), [(0, None), (2, None), (4, 3), (5, 0)])
def test_cyclic_phase_recovered_also_with_a_land_missing(synthetic_bullets, phase, drop) -> None:
    a, b = synthetic_bullets["barrel1-a"], synthetic_bullets["barrel1-b"]
    comparison = compare_bullets(a, _rotated(b, phase, drop))
    assert comparison.lead
    assert comparison.phase == phase
    assert comparison.kind == "bullet"
    assert len(comparison.aligned_pairs) == (LANDS if drop is None else LANDS - 1)
    assert comparison.land_scores.shape == (LANDS, LANDS if drop is None else LANDS - 1)
    # the best phase stands clear of every other
    others = np.delete(comparison.phase_scores, phase)
    assert comparison.score > np.nanmax(others) + 0.3


def test_different_barrels_are_not_a_lead(synthetic_bullets) -> None:
    comparison = compare_bullets(synthetic_bullets["barrel1-a"], synthetic_bullets["barrel2"])
    assert not comparison.lead
    assert comparison.score < 0.5


def test_prepared_bullet_refuses_inconsistent_land_numbers(synthetic_bullets) -> None:
    lands = synthetic_bullets["barrel2"].lands[:2]
    with pytest.raises(ValueError, match="distinct positive"):
        PreparedBullet(lands, (1, 1))
    with pytest.raises(ValueError, match="one number per land"):
        PreparedBullet(lands, (1,))

"""The striation features on known profiles: identical, shifted, different, other resolutions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ballistics.bullet.features import (
    FEATURE_NAMES,
    FEATURE_SPACING_UM,
    congruent_segments,
    fixed_spacing,
    land_features,
)

OPTIONS = {"max_lag_um": 500.0, "min_overlap_fraction": 0.6, "tolerance_um": 4.7}


def _profile(seed: int, size: int = 900) -> np.ndarray:
    """A striation-like signature at the features' spacing (smoothed noise, micrometres)."""
    random = np.random.default_rng(seed)
    return ndimage.gaussian_filter1d(random.normal(size=size), 2.0) * 3.0


def test_identical_profiles_agree_on_every_feature() -> None:
    profile = _profile(1)
    features = land_features(profile, profile.copy(), **OPTIONS)
    assert features is not None
    assert features.ccf == pytest.approx(1.0)
    assert features.rough_ccf == pytest.approx(1.0)
    assert features.lag_um == 0.0
    assert features.distance == pytest.approx(0.0, abs=1e-9)
    assert features.non_matching_striae == 0 and features.matching_striae > 20
    assert features.cms == features.matching_striae and features.cnms == 0
    assert features.cmps == pytest.approx(1.0)
    assert features.overlap == pytest.approx(1.0)
    assert features.vector.shape == (len(FEATURE_NAMES),)


@pytest.mark.parametrize("shift_px", [-60, 25, 140])
def test_known_shift_recovered(shift_px: int) -> None:
    long = _profile(2, size=1400)
    first, second = long[200:1100], long[200 - shift_px : 1100 - shift_px]
    features = land_features(first, second, **OPTIONS)
    assert features is not None
    # first[i] faces second[i - lag]: second starts shift_px earlier along the long profile
    assert features.lag_um == pytest.approx(-shift_px * FEATURE_SPACING_UM)
    assert features.ccf == pytest.approx(1.0)
    assert features.cmps > 0.9


def test_different_profiles_score_low_on_every_feature() -> None:
    same = land_features(_profile(3), _profile(3) + _profile(30) * 0.3, **OPTIONS)
    different = land_features(_profile(3), _profile(4), **OPTIONS)
    assert same is not None and different is not None
    assert different.ccf < 0.35 < 0.9 < same.ccf
    assert different.cmps < 0.3 < same.cmps
    assert different.cms < same.cms
    assert different.matches_per_mm < same.matches_per_mm
    assert different.non_matches_per_mm > same.non_matches_per_mm
    assert different.distance > same.distance
    assert different.sum_peaks < same.sum_peaks


def test_no_overlap_within_the_search_range_gives_no_features() -> None:
    first, second = np.full(900, np.nan), np.full(900, np.nan)
    first[:100] = _profile(5, size=100)
    second[700:] = _profile(5, size=200)
    # measured parts 600 points = 1200 µm apart, the search reaches 500 µm
    assert land_features(first, second, **OPTIONS) is None


def test_missing_points_are_left_out() -> None:
    profile = _profile(6)
    holed = profile.copy()
    holed[100:180] = np.nan
    features = land_features(profile, holed, **OPTIONS)
    assert features is not None
    assert features.ccf == pytest.approx(1.0)
    assert features.overlap_um == pytest.approx((profile.size - 80) * FEATURE_SPACING_UM)


@pytest.mark.parametrize("pixel_um", [0.6, 1.5625, 3.0])
def test_fixed_spacing_makes_resolutions_alike(pixel_um: float) -> None:
    # a band-limited profile (wavelengths >= 20 µm) sampled at each resolution
    random = np.random.default_rng(7)
    fine_um = 0.1
    fine = ndimage.gaussian_filter1d(random.normal(size=20000), 4.0 / fine_um)
    positions = np.arange(0, 1900, pixel_um)
    sampled = np.interp(positions / fine_um, np.arange(fine.size), fine)
    reference = np.interp(
        np.arange(0, 1900, FEATURE_SPACING_UM) / fine_um, np.arange(fine.size), fine
    )
    resampled = fixed_spacing(sampled, pixel_um=pixel_um)
    size = min(resampled.size, reference.size)
    assert abs(resampled.size - reference.size) <= 1
    assert np.corrcoef(resampled[:size], reference[:size])[0, 1] > 0.98


def test_congruent_segments_follow_the_given_lag() -> None:
    profile = _profile(8)
    assert congruent_segments(profile, profile, lag=0, max_lag_um=500.0) == pytest.approx(1.0)
    # a lag the segments do not agree with: none is congruent
    assert congruent_segments(profile, profile, lag=50, max_lag_um=500.0) == 0.0

"""NaN-aware filters: band-pass transmission, missing data, levelling, clipping, resampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ballistics.casing.filters import (
    cutoff_to_sigma_px,
    flatten_illumination,
    gaussian_bandpass,
    gaussian_smooth,
    gaussian_transmission,
    level,
    remove_outliers,
    resample,
    resample_centred,
    standardise,
)
from ballistics.errors import LimitExceededError


def _sinusoid(wavelength_um: float, *, pixel_um: float, shape: tuple[int, int]) -> np.ndarray:
    columns = np.arange(shape[1]) * pixel_um
    return np.tile(np.sin(2 * np.pi * columns / wavelength_um), (shape[0], 1))


def _amplitude_ratio(filtered: np.ndarray, original: np.ndarray, margin: int) -> float:
    centre = (slice(margin, -margin), slice(margin, -margin))
    return float(np.nanstd(filtered[centre]) / np.nanstd(original[centre]))


def test_cutoff_to_sigma_follows_iso_16610_61() -> None:
    assert cutoff_to_sigma_px(500.0, pixel_um=1.0) == pytest.approx(0.18738 * 500.0, rel=1e-4)
    assert cutoff_to_sigma_px(16.0, pixel_um=6.25) == pytest.approx(0.18738 * 16.0 / 6.25, rel=1e-4)
    assert gaussian_transmission(500.0, cutoff_um=500.0) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("wavelength_um", "pixel_um", "low", "high"),
    [
        (100.0, 2.0, 0.95, 1.01),  # inside the band: passes
        (5.0, 1.0, 0.0, 0.02),  # finer than the short cutoff: removed
        (3000.0, 10.0, 0.0, 0.05),  # longer than the long cutoff: removed
        (500.0, 5.0, 0.45, 0.55),  # at the long cutoff: half
        (16.0, 0.5, 0.45, 0.55),  # at the short cutoff: half
    ],
)
def test_bandpass_transmission(
    wavelength_um: float, pixel_um: float, low: float, high: float
) -> None:
    columns = int(max(6 * wavelength_um, 3000.0) / pixel_um)
    surface = _sinusoid(wavelength_um, pixel_um=pixel_um, shape=(24, columns))
    filtered = gaussian_bandpass(surface, pixel_um=pixel_um, cutoffs_um=(16.0, 500.0))
    margin = int(3 * cutoff_to_sigma_px(500.0, pixel_um=pixel_um)) + 2
    rows = filtered[:, margin:-margin]
    # Constant along y: judge the middle row only, away from the ends in x.
    ratio = float(np.std(rows[12]) / np.std(surface[12, margin:-margin]))
    assert low <= ratio <= high


def test_bandpass_keeps_nan_where_missing_and_nowhere_else() -> None:
    pixel_um = 6.25
    surface = _sinusoid(100.0, pixel_um=pixel_um, shape=(240, 240))
    expected = gaussian_bandpass(surface, pixel_um=pixel_um)
    holed = surface.copy()
    rows, columns = np.indices(holed.shape)
    hole = np.hypot(rows - 120, columns - 120) < 40
    holed[hole] = np.nan
    holed[:, :30] = np.nan
    filtered = gaussian_bandpass(holed, pixel_um=pixel_um)
    assert np.array_equal(np.isnan(filtered), np.isnan(holed))
    # Far from any missing point the result is that of the complete surface...
    distance_to_missing = np.minimum(np.hypot(rows - 120, columns - 120) - 40, columns - 30)
    long_sigma_px = cutoff_to_sigma_px(500.0, pixel_um=pixel_um)
    far = (distance_to_missing > 3 * long_sigma_px) & (rows > 60) & (rows < 180)
    assert far.sum() > 100
    assert np.max(np.abs(filtered[far] - expected[far])) < 0.02
    # ...and next to the holes it stays close: no ringing, no pull towards zero or NaN.
    near = (distance_to_missing > 0) & (distance_to_missing <= 3) & (rows > 20) & (rows < 220)
    assert np.max(np.abs(filtered[near] - expected[near])) < 0.25


@pytest.mark.parametrize("sigma_px", [1.5, 15.0, 60.0])
def test_smoothing_a_constant_with_holes_gives_the_constant(sigma_px: float) -> None:
    values = np.full((300, 260), 7.0)
    values[100:160, 50:200] = np.nan
    values[::7, ::5] = np.nan
    smooth = gaussian_smooth(values, sigma_px=sigma_px, min_weight=0.0)
    finite = np.isfinite(values)
    assert np.array_equal(np.isfinite(smooth), finite)
    np.testing.assert_allclose(smooth[finite], 7.0, rtol=1e-4)


def test_smoothing_drops_isolated_specks_and_can_fill_small_gaps() -> None:
    values = np.full((200, 200), np.nan)
    values[100, 100] = 3.0
    assert np.isnan(gaussian_smooth(values, sigma_px=20.0, min_weight=0.05)[100, 100])
    ramp = np.tile(np.arange(80, dtype=float), (80, 1))
    ramp[40, 40] = np.nan
    filled = gaussian_smooth(ramp, sigma_px=2.0, fill_missing=True)
    assert filled[40, 40] == pytest.approx(40.0, abs=1e-3)


def test_level_removes_a_known_tilt_despite_deep_marks() -> None:
    rng = np.random.default_rng(3)
    rows, columns = np.indices((150, 180), dtype=float)
    texture = rng.normal(scale=0.2, size=rows.shape)
    tilted = 5.0 + 0.3 * columns - 0.2 * rows + texture
    tilted[rng.random(rows.shape) < 0.1] -= 40.0  # deep pits on 10 % of the points
    tilted[:20, :20] = np.nan
    levelled = level(tilted, order=1)
    assert np.array_equal(np.isnan(levelled), np.isnan(tilted))
    clean = np.abs(levelled) < 5
    # The plane is gone: what is left is the texture (and the pits, untouched).
    assert np.nanstd(levelled[clean] - texture[clean]) < 0.02
    assert np.nanmean(levelled[~clean & np.isfinite(levelled)]) == pytest.approx(-40.0, abs=0.5)


def test_level_order_two_removes_a_dome() -> None:
    rows, columns = np.indices((120, 120), dtype=float)
    dome = 50.0 - 0.01 * ((rows - 60) ** 2 + (columns - 55) ** 2) + 0.02 * rows
    assert np.nanmax(np.abs(level(dome, order=2))) < 1e-3
    assert np.nanmax(np.abs(level(dome, order=1))) > 1.0


def test_level_refuses_too_few_points() -> None:
    values = np.full((10, 10), np.nan)
    values[0, :4] = 1.0
    with pytest.raises(ValueError, match="lower the order"):
        level(values, order=2)


def test_outliers_become_missing_and_the_rest_stays() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=(200, 200))
    spikes = (rng.integers(0, 200, 30), rng.integers(0, 200, 30))
    values[spikes] = 80.0
    cleaned = remove_outliers(values, sigmas=6.0)
    assert np.isnan(cleaned[spikes]).all()
    assert np.isfinite(cleaned).sum() >= values.size - 30 - 5


def test_outliers_are_judged_against_the_background() -> None:
    _rows, columns = np.indices((100, 100), dtype=float)
    form = 0.5 * columns  # a slope of 50 units: not an outlier
    values = form + np.random.default_rng(1).normal(scale=0.1, size=form.shape)
    cleaned = remove_outliers(values, sigmas=6.0, background=form)
    assert np.isfinite(cleaned).all()


def test_resample_area_average_keeps_values_and_rejects_mostly_missing_pixels() -> None:
    values = np.full((100, 100), 4.0)
    values[:, :50] = np.nan
    values[:, 50] = np.nan  # the pixel straddling the edge is 3/4 missing at factor 4
    values[60, 60] = np.nan
    coarse = resample(values, pixel_um=2.0, target_pixel_um=8.0)
    assert coarse.shape == (25, 25)
    assert np.isnan(coarse[:, :13]).all()
    assert np.isfinite(coarse[:, 13:]).all()
    np.testing.assert_allclose(coarse[:, 13:], 4.0)


def test_resample_geometry_maps_index_through_pixel_centres() -> None:
    rows, columns = np.indices((90, 90), dtype=float)
    values = np.exp(-((rows - 41.3) ** 2 + (columns - 62.7) ** 2) / (2 * 4.0**2))
    scale = 2.5
    coarse = resample(values, pixel_um=2.0, target_pixel_um=2.0 * scale)
    rows, columns = np.indices(coarse.shape)
    weight = coarse / coarse.sum()
    expected_row = (41.3 + 0.5) / scale - 0.5
    expected_column = (62.7 + 0.5) / scale - 0.5
    assert float((weight * rows).sum()) == pytest.approx(expected_row, abs=0.05)
    assert float((weight * columns).sum()) == pytest.approx(expected_column, abs=0.05)


def test_flatten_illumination_evens_out_a_lighting_gradient() -> None:
    rng = np.random.default_rng(2)
    texture = 1.0 + 0.2 * rng.normal(size=(200, 400))
    lighting = np.tile(np.linspace(0.1, 0.9, 400), (200, 1))
    flattened = flatten_illumination(texture * lighting, pixel_um=5.0, cutoff_um=200.0)
    left, right = flattened[:, 20:120], flattened[:, 280:380]
    assert np.std(left) / np.std(right) == pytest.approx(1.0, abs=0.15)
    assert abs(float(np.mean(left))) < 0.05 and abs(float(np.mean(right))) < 0.05


def test_standardise_gives_zero_mean_unit_variance() -> None:
    values = np.random.default_rng(0).normal(loc=3.0, scale=5.0, size=(50, 50))
    values[:10] = np.nan
    scaled = standardise(values)
    assert float(np.nanmean(scaled)) == pytest.approx(0.0, abs=1e-5)
    assert float(np.nanstd(scaled)) == pytest.approx(1.0, abs=1e-5)
    assert np.isnan(scaled[:10]).all()


def test_bad_arguments_say_how_to_fix_the_call() -> None:
    with pytest.raises(ValueError, match="short < long"):
        gaussian_bandpass(np.zeros((10, 10)), pixel_um=1.0, cutoffs_um=(500.0, 16.0))
    with pytest.raises(ValueError, match="2-D"):
        gaussian_smooth(np.zeros(10), sigma_px=1.0)
    with pytest.raises(ValueError, match="positive"):
        resample(np.zeros((10, 10)), pixel_um=0.0, target_pixel_um=1.0)
    assert math.isfinite(cutoff_to_sigma_px(1.0, pixel_um=1.0))


def test_resample_refuses_an_output_grid_past_its_point_cap_before_allocating_it():
    # 100 x 100 points at 1 mm upsampled to 1 µm would be 10^10 points: refused from the size
    coarse = np.zeros((100, 100), dtype=np.float32)
    with pytest.raises(LimitExceededError, match=r"coarse\.x3p"):
        resample(coarse, pixel_um=1000.0, target_pixel_um=1.0, name="coarse.x3p")
    with pytest.raises(LimitExceededError):
        resample_centred(
            coarse,
            pixel_um=1000.0,
            target_pixel_um=1.0,
            centre_px=(50.0, 50.0),
            half_size=60_000,
            name="coarse.x3p",
        )
    # within the cap it still resamples
    resampled = resample(coarse, pixel_um=10.0, target_pixel_um=5.0, max_points=40_000)
    assert resampled.shape == (200, 200)

"""Masked FFT correlation and rotation: known shifts recovered, masks respected."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from ballistics.casing.registration import (
    fixed_spectra,
    map_peaks,
    masked_ncc_maps,
    parabolic_offset,
    rotate_masked,
    subpixel_peak,
)


def _texture(shape, *, seed, sigma_px=2.0):
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.normal(size=shape), sigma_px)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shift", [(0, 0), (5, -7), (-11, 3)])
def test_masked_ncc_recovers_a_known_shift_despite_holes(dtype, shift):
    image = _texture((96, 96), seed=1).astype(dtype)
    mask = np.ones(image.shape, dtype=bool)
    mask[30:60, 20:50] = False  # a hole, as a firing-pin aperture
    moved = np.roll(image, shift, axis=(0, 1))
    moved_mask = np.roll(mask, shift, axis=(0, 1))
    # The moving image must be shifted back by -shift to land on the fixed one.
    spectra = fixed_spectra(image, mask, moving_shape=image.shape, max_shift_px=15)
    maps = masked_ncc_maps(spectra, (moved * moved_mask)[None], moved_mask[None].astype(np.float32))
    best, rows, columns = map_peaks(maps)
    assert (rows[0], columns[0]) == (-shift[0], -shift[1])
    assert best[0] > 0.95


def test_masked_ncc_ignores_values_outside_the_masks():
    image = _texture((64, 64), seed=2)
    mask = np.zeros(image.shape, dtype=bool)
    mask[8:56, 8:56] = True
    garbage = np.where(mask, image, 1e6)  # huge values where nothing was measured
    spectra_clean = fixed_spectra(
        np.where(mask, image, 0), mask, moving_shape=(64, 64), max_shift_px=4
    )
    spectra_garbage = fixed_spectra(garbage, mask, moving_shape=(64, 64), max_shift_px=4)
    moving = (np.where(mask, image, 0))[None].astype(np.float32)
    weights = mask[None].astype(np.float32)
    np.testing.assert_allclose(
        masked_ncc_maps(spectra_clean, moving, weights),
        masked_ncc_maps(spectra_garbage, moving, weights),
        atol=1e-4,
    )


def test_small_overlaps_cannot_win():
    image = _texture((64, 64), seed=3)
    mask = np.ones(image.shape, dtype=bool)
    spectra = fixed_spectra(image, mask, moving_shape=(64, 64), max_shift_px=60)
    other = _texture((64, 64), seed=4)[None].astype(np.float32)
    maps = masked_ncc_maps(
        spectra, other, np.ones_like(other), min_overlap_points=int(0.5 * 64 * 64)
    )
    best, rows, columns = map_peaks(maps)
    # Shifts larger than half the image leave less than half of it overlapping.
    assert abs(rows[0]) <= 32 and abs(columns[0]) <= 32
    assert best[0] < 0.3


def test_rotate_masked_is_undone_by_the_opposite_rotation():
    image = _texture((101, 101), seed=5, sigma_px=3.0)
    yy, xx = np.mgrid[:101, :101] - 50
    mask = np.hypot(xx, yy) < 45
    rotated, rotated_mask = rotate_masked(image, mask, 37.0)
    back, back_mask = rotate_masked(rotated, rotated_mask, -37.0)
    inner = back_mask & (np.hypot(xx, yy) < 40)
    assert np.corrcoef(back[inner], image[inner])[0, 1] > 0.98
    assert not rotated_mask[np.hypot(xx, yy) > 47].any()


def test_subpixel_peak_finds_the_centre_of_a_sampled_parabola():
    rows, columns = np.mgrid[:7, :7]
    true_row, true_column = 3.3, 2.8
    surface = -((rows - true_row) ** 2) - (columns - true_column) ** 2
    row, column = subpixel_peak(surface, 3, 3)
    assert row == pytest.approx(true_row, abs=1e-9)
    assert column == pytest.approx(true_column, abs=1e-9)
    assert parabolic_offset(1.0, 1.0, 1.0) == 0.0  # flat: no refinement


def test_the_engine_runs_opencv_on_one_thread():
    # warpAffine's result depends on OpenCV's thread count; a score must not depend on the
    # machine's cores, so importing the engine pins OpenCV to one thread
    import importlib

    import cv2

    import ballistics

    cv2.setNumThreads(4)
    importlib.reload(ballistics)
    assert cv2.getNumThreads() == 1

"""Masked normalised cross-correlation in the Fourier domain and full-circle rotation search.

Scans of cartridge cases have large unmeasured areas (firing-pin hole, outside the primer,
dropouts). Filling them with zeros and running a plain cross-correlation makes the overlap of
the two masks dominate the score, so the correlation is normalised over the overlapping valid
points only, for every translation at once, as in Padfield (2012).

References
----------
.. [1] D. Padfield, "Masked object registration in the Fourier domain", IEEE Transactions on
   Image Processing 21(5), 2706-2718 (2012). doi:10.1109/TIP.2011.2181402
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft

# Correlations computed over fewer than this many overlapping points are noise; they are set to
# zero so that a tiny overlap at the edge of the search can never win.
_MIN_OVERLAP_POINTS = 64


@dataclass(frozen=True, eq=False)
class FixedSpectra:
    """Fourier transforms of a fixed image, its square and its mask, padded for a search.

    Computed once per fixed image and reused for every rotation of the moving image.
    """

    shape: tuple[int, int]
    padded_shape: tuple[int, int]
    max_shift_px: int
    values: np.ndarray
    squares: np.ndarray
    mask: np.ndarray


def _padded_shape(
    fixed_shape: tuple[int, int], moving_shape: tuple[int, int], max_shift_px: int
) -> tuple[int, int]:
    # A circular correlation equals the linear one for every shift whose wrap-around falls
    # outside both images: max(H1, H2) + |centre offset| + max shift is enough, far less than
    # the full H1 + H2 - 1 when the search window is small. A fast length avoids prime sizes.
    return tuple(
        scipy.fft.next_fast_len(max(f, m) + abs(f - m) // 2 + max_shift_px + 1, real=True)
        for f, m in zip(fixed_shape, moving_shape, strict=True)
    )


def fixed_spectra(
    values: np.ndarray, mask: np.ndarray, *, moving_shape: tuple[int, int], max_shift_px: int
) -> FixedSpectra:
    """Precompute the spectra of a fixed image for :func:`masked_ncc_batch`.

    Parameters
    ----------
    values
        2-D float image; ignored where ``mask`` is False (NaN allowed there).
    mask
        Boolean validity mask of the same shape.
    moving_shape
        Shape of the moving images that will be correlated with it.
    max_shift_px
        Largest shift (rows or columns, pixels, from centre-on-centre) that will be searched.
    """
    padded = _padded_shape(values.shape, moving_shape, max_shift_px)
    weights = mask.astype(np.float32)
    filled = np.where(mask, values, 0.0).astype(np.float32)
    return FixedSpectra(
        shape=values.shape,
        padded_shape=padded,
        max_shift_px=max_shift_px,
        values=scipy.fft.rfft2(filled, s=padded),
        squares=scipy.fft.rfft2(filled * filled, s=padded),
        mask=scipy.fft.rfft2(weights, s=padded),
    )


def masked_ncc_maps(
    fixed: FixedSpectra,
    moving_values: np.ndarray,
    moving_masks: np.ndarray,
    *,
    min_overlap_points: int = _MIN_OVERLAP_POINTS,
    assume_zero_mean: bool = False,
) -> np.ndarray:
    """Masked NCC of each moving image against the fixed one, for every allowed shift.

    Parameters
    ----------
    fixed
        Output of :func:`fixed_spectra`.
    moving_values, moving_masks
        Arrays of shape (n, H, W): zero-filled moving images and their float masks in [0, 1].
    min_overlap_points
        Shifts where fewer valid points overlap score zero (a sliver of overlap correlates
        highly by chance).
    assume_zero_mean
        Skip the two local-mean terms: exact for images whose mean over any large overlap is
        zero, which band-pass filtered surfaces nearly are. Saves a third of the transforms;
        used for the coarse angle search, never for reported correlations.

    Returns
    -------
    maps : (n, 2 S + 1, 2 S + 1) array, S = ``fixed.max_shift_px``
        ``maps[k, S + dy, S + dx]`` is the correlation of moving image ``k`` shifted by
        (dy, dx) pixels from centre-on-centre alignment with the fixed image; shifting the
        moving image by the best (dy, dx) lands it on the fixed one.
    """
    padded = fixed.padded_shape
    max_shift_px = fixed.max_shift_px
    axes = (-2, -1)
    moving_values = np.asarray(moving_values, dtype=np.float32)
    moving_masks = np.asarray(moving_masks, dtype=np.float32)
    # Conjugated once here rather than in every product below.
    spectrum_values = np.conj(scipy.fft.rfft2(moving_values, s=padded, axes=axes))
    spectrum_squares = np.conj(scipy.fft.rfft2(moving_values * moving_values, s=padded, axes=axes))
    spectrum_mask = np.conj(scipy.fft.rfft2(moving_masks, s=padded, axes=axes))

    rows_centre_shift, columns_centre_shift = _centre_shift(fixed.shape, moving_values.shape[-2:])
    # Shift s in the padded correlation means moving(x - s) is compared with fixed(x); keep the
    # window of shifts around centre-on-centre alignment.
    row_index = np.mod(np.arange(-max_shift_px, max_shift_px + 1) + rows_centre_shift, padded[0])
    column_index = np.mod(
        np.arange(-max_shift_px, max_shift_px + 1) + columns_centre_shift, padded[1]
    )
    window = np.ix_(np.arange(moving_values.shape[0]), row_index, column_index)

    def correlate(first: np.ndarray, second_conjugate: np.ndarray) -> np.ndarray:
        return scipy.fft.irfft2(first * second_conjugate, s=padded, axes=axes)[window]

    overlap = np.maximum(correlate(fixed.mask, spectrum_mask), 1e-9)
    numerator = correlate(fixed.values, spectrum_values)
    variance_fixed = correlate(fixed.squares, spectrum_mask)
    variance_moving = correlate(fixed.mask, spectrum_squares)
    if not assume_zero_mean:
        sum_fixed = correlate(fixed.values, spectrum_mask)
        sum_moving = correlate(fixed.mask, spectrum_values)
        numerator -= sum_fixed * sum_moving / overlap
        variance_fixed -= sum_fixed**2 / overlap
        variance_moving -= sum_moving**2 / overlap
    denominator = np.sqrt(np.maximum(variance_fixed * variance_moving, 0.0))
    scale = np.maximum(np.abs(variance_fixed), np.abs(variance_moving))
    valid = (overlap >= min_overlap_points) & (denominator > 1e-6 * np.maximum(scale, 1e-12))
    return np.where(valid, numerator / np.where(valid, denominator, 1.0), 0.0)


def map_peaks(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best value of each map and its (rows, columns) shift from the map's centre.

    Returns
    -------
    best, shift_rows, shift_columns : (n,) arrays
        Integer shifts, as in :func:`masked_ncc_maps`.
    """
    flat = maps.reshape(maps.shape[0], -1)
    best = flat.argmax(axis=1)
    best_rows, best_columns = np.unravel_index(best, maps.shape[1:])
    half_rows, half_columns = maps.shape[1] // 2, maps.shape[2] // 2
    return flat[np.arange(flat.shape[0]), best], best_rows - half_rows, best_columns - half_columns


def parabolic_offset(before: float, peak: float, after: float) -> float:
    """Sub-sample position of a peak from three equally spaced samples, in (-0.5, 0.5)."""
    curvature = before - 2.0 * peak + after
    if curvature >= 0:
        return 0.0
    return float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5))


def subpixel_peak(correlation_map: np.ndarray, row: int, column: int) -> tuple[float, float]:
    """Refine an integer peak (as map indices) of a correlation map by parabola fits."""
    rows, columns = correlation_map.shape
    row_offset = column_offset = 0.0
    if 0 < row < rows - 1:
        row_offset = parabolic_offset(*correlation_map[row - 1 : row + 2, column])
    if 0 < column < columns - 1:
        column_offset = parabolic_offset(*correlation_map[row, column - 1 : column + 2])
    return row + row_offset, column + column_offset


def _centre_shift(fixed_shape: tuple[int, ...], moving_shape: tuple[int, ...]) -> tuple[int, int]:
    """Shift that puts the moving image's centre on the fixed image's centre."""
    return (
        round((fixed_shape[0] - 1) / 2 - (moving_shape[0] - 1) / 2),
        round((fixed_shape[1] - 1) / 2 - (moving_shape[1] - 1) / 2),
    )


def rotate_masked(
    values: np.ndarray,
    mask: np.ndarray,
    angle_deg: float,
    *,
    shift_px: tuple[float, float] = (0, 0),
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate a masked image about its centre (counter-clockwise, degrees), then shift it.

    Returns the zero-filled rotated values and a boolean mask. Values near the mask's edge are
    renormalised by the interpolated mask so that missing data does not darken them.
    """
    rows, columns = values.shape
    centre = ((columns - 1) / 2.0, (rows - 1) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, angle_deg, 1.0)
    matrix[0, 2] += shift_px[1]
    matrix[1, 2] += shift_px[0]
    weights = mask.astype(np.float32)
    filled = np.where(mask, values, 0.0).astype(np.float32)
    flags = cv2.INTER_LINEAR
    rotated = cv2.warpAffine(filled, matrix, (columns, rows), flags=flags, borderValue=0.0)
    rotated_weights = cv2.warpAffine(weights, matrix, (columns, rows), flags=flags, borderValue=0.0)
    valid = rotated_weights > 0.5
    rotated = np.where(valid, rotated / np.where(valid, rotated_weights, 1.0), 0.0)
    return rotated, valid


def rotate_batch(
    values: np.ndarray, mask: np.ndarray, angles_deg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate a masked image about its centre by each angle, for a correlation search.

    Returns (n, H, W) float32 arrays of weighted values and weights: the values are zero-filled
    before rotation and not renormalised, so that each output is a weighted image whose weights
    are the interpolated mask. The masked correlation accepts such fractional weights; skipping
    the renormalisation and warping values and weights together as two channels halves the cost
    of what is, in a full-circle search, the most repeated step.
    """
    rows, columns = values.shape
    centre = ((columns - 1) / 2.0, (rows - 1) / 2.0)
    stacked = np.dstack([np.where(mask, values, 0.0), mask]).astype(np.float32)
    rotated_values = np.empty((len(angles_deg), rows, columns), dtype=np.float32)
    rotated_weights = np.empty((len(angles_deg), rows, columns), dtype=np.float32)
    for index, angle in enumerate(angles_deg):
        matrix = cv2.getRotationMatrix2D(centre, float(angle), 1.0)
        warped = cv2.warpAffine(
            stacked, matrix, (columns, rows), flags=cv2.INTER_LINEAR, borderValue=(0.0, 0.0)
        )
        rotated_values[index] = warped[..., 0]
        rotated_weights[index] = warped[..., 1]
    return rotated_values, rotated_weights

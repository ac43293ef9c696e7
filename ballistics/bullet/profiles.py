"""One-dimensional, NaN-aware operations on land cross-sections: smoothing, fitting, grooves.

A profile is a 1-D float array of heights in micrometres across a land-engraved area, NaN where
the scanner measured nothing.

References
----------
.. [1] E. Hare, H. Hofmann and A. Carriquiry, "Automatic matching of bullet land impressions",
   Annals of Applied Statistics 11(4), 2017, pp. 2332-2356.
.. [2] ISO 16610-21:2011, Linear profile filters - Gaussian filters.
.. [3] A. E. Beaton and J. W. Tukey, "The fitting of power series, meaning polynomials,
   illustrated on band-spectroscopic data", Technometrics 16(2), 1974, pp. 147-185.
.. [4] K. Padfield, "Masked object registration in the Fourier domain", IEEE Transactions on
   Image Processing 21(5), 2012, pp. 2706-2718.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ballistics.casing.filters import cutoff_to_sigma_px

_TUKEY_C = 4.685
# a groove shoulder climbs at least this steeply (µm per µm of the smoothed cross-section)
_SHOULDER_SLOPE = 0.25


def gaussian_smooth_profile(
    profile: np.ndarray, *, cutoff_um: float, pixel_um: float
) -> np.ndarray:
    """Return the ISO 16610-21 Gaussian low-pass of a profile, normalised over measured points.

    Missing points get no weight (normalised convolution), so holes do not drag the smoothing
    towards zero; points that were missing stay missing.
    """
    sigma = cutoff_to_sigma_px(cutoff_um, pixel_um=pixel_um)
    valid = np.isfinite(profile)
    values = np.where(valid, profile, 0.0)
    numerator = ndimage.gaussian_filter1d(values, sigma, mode="constant")
    weight = ndimage.gaussian_filter1d(valid.astype(np.float64), sigma, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        smooth = numerator / weight
    smooth[~valid] = np.nan
    return smooth


def robust_quadratic(profile: np.ndarray, *, iterations: int = 6) -> np.ndarray:
    """Return the robust (Tukey biweight) quadratic fit of a profile, evaluated everywhere.

    The fit follows the land's curvature and ignores what stands far off it (groove shoulders,
    debris) [3]_.
    """
    positions = np.arange(profile.size, dtype=np.float64)
    valid = np.isfinite(profile)
    if valid.sum() < 3:
        return np.full(profile.shape, np.nan)
    # centred and scaled positions keep the normal equations well conditioned
    scale = max(profile.size / 2.0, 1.0)
    x = (positions - profile.size / 2.0) / scale
    design = np.stack([np.ones_like(x), x, x * x], axis=1)
    weights = valid.astype(np.float64)
    heights = np.where(valid, profile, 0.0)
    coefficients = np.zeros(3)
    for _ in range(iterations):
        root = np.sqrt(weights)
        coefficients, *_ = np.linalg.lstsq(design * root[:, None], heights * root, rcond=None)
        residual = heights - design @ coefficients
        spread = 1.4826 * np.median(np.abs(residual[valid])) + 1e-9
        scaled = residual / (_TUKEY_C * spread)
        weights = np.where(valid & (np.abs(scaled) < 1), (1 - scaled**2) ** 2, 0.0)
        if weights.sum() < 3:
            break
    return design @ coefficients


def find_grooves(
    profile: np.ndarray,
    *,
    pixel_um: float,
    rise_um: float,
    smooth_um: float = 20.0,
    back_um: float = 100.0,
) -> tuple[int, int]:
    """Return the indices (left, right) of the groove shoulders' feet in a land cross-section.

    The land is a curved arc; at each edge the surface climbs onto the groove-engraved area.
    The profile is smoothed, its robust quadratic (fitted twice, the second time on the land
    found by the first) removed, and from the centre outwards the shoulder is where the residual
    first rises ``rise_um`` above its lowest point of the last ``back_um``; its foot, the
    groove, is where that climb begins (walking back down it until it flattens, never past the
    lowest point). A side with no such
    rise (the scan stops before the shoulder) ends at its last measured point. This is the
    valley-of-the-shoulder idea of the rollapply groove finder of Hare et al. [1]_, made
    threshold-based so that it needs no smoothing window tuned per scanner.
    """
    valid = np.isfinite(profile)
    measured = np.flatnonzero(valid)
    if measured.size < 3:
        raise ValueError("the cross-section has fewer than 3 measured points.")
    smooth = gaussian_smooth_profile(profile, cutoff_um=smooth_um, pixel_um=pixel_um)
    left, right = int(measured[0]), int(measured[-1])
    for _ in range(2):
        segment = np.full(profile.shape, np.nan)
        segment[left : right + 1] = smooth[left : right + 1]
        fit = robust_quadratic(segment)
        residual = smooth - fit
        centre = _land_centre(residual, left, right)
        back_px = max(1, round(back_um / pixel_um))
        climb_px = _SHOULDER_SLOPE * pixel_um
        left, right = (
            _walk_to_groove(
                residual, centre, step=step, rise_um=rise_um, back_px=back_px, climb_px=climb_px
            )
            for step in (-1, 1)
        )
    return left, right


def _land_centre(residual: np.ndarray, left: int, right: int) -> int:
    """Return a measured index near the middle of ``[left, right]`` to walk outwards from."""
    middle = (left + right) // 2
    measured = np.flatnonzero(np.isfinite(residual))
    return int(measured[np.argmin(np.abs(measured - middle))])


def _walk_to_groove(
    residual: np.ndarray,
    centre: int,
    *,
    step: int,
    rise_um: float,
    back_px: int,
    climb_px: float = 0.0,
) -> int:
    """Walk from ``centre`` in direction ``step``; return the foot of the first shoulder.

    The shoulder starts where the residual stands ``rise_um`` above its lowest value within the
    last ``back_px`` points (a steep climb, not the slow misfit of a land that is not exactly a
    parabola); its foot is the outermost point of that window still within a fifth of
    ``rise_um`` of the lowest value, where the climb begins.
    """
    last_measured = centre
    index = centre
    while 0 <= index + step < residual.size:
        index += step
        value = residual[index]
        if not np.isfinite(value):
            continue
        last_measured = index
        first, last = sorted((index, index - step * back_px))
        first = max(first, 0)
        window = residual[first : last + 1]
        lowest = np.nanmin(window)
        if value - lowest >= rise_um:
            low = np.flatnonzero(window <= lowest + 0.2 * rise_um) + first
            foot = int(low.max() if step > 0 else low.min())
            return _shoulder_foot(residual, index, step=step, inner=foot, climb_px=climb_px)
    return last_measured


def _shoulder_foot(
    residual: np.ndarray, index: int, *, step: int, inner: int, climb_px: float
) -> int:
    """Return the foot of the shoulder climbing at ``index``: walking back inwards from it, the
    first point where the smoothed residual climbs less than ``climb_px`` per point (a quarter
    of a micrometre per micrometre), but never inside ``inner`` (the lowest point before the
    climb).

    A deep stria next to the groove is lower than the land's edge; the lowest point alone would
    put the groove on that stria, tens of micrometres inside the land.
    """
    position = index
    while position - step != inner and np.isfinite(residual[position - step]):
        if residual[position] - residual[position - step] < climb_px:
            break
        position -= step
    return position


def normalised_cross_correlation(
    first: np.ndarray, second: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (correlation, overlap, lags) of two NaN-masked 1-D signals at every shift.

    ``correlation[k]`` is Pearson's correlation of ``first[i]`` and ``second[i - lags[k]]`` over
    the points measured in both, ``overlap[k]`` their number; all shifts come from six FFT
    products (masked normalised cross-correlation, Padfield [4]_, in one dimension).
    """
    valid_a, valid_b = np.isfinite(first), np.isfinite(second)
    a = np.where(valid_a, first, 0.0)
    b = np.where(valid_b, second, 0.0)
    wa, wb = valid_a.astype(np.float64), valid_b.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(first.size + second.size)))

    def spectrum(values: np.ndarray) -> np.ndarray:
        return np.fft.rfft(values, size)

    def correlate(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.fft.irfft(x * np.conj(y), size)

    fa, fa2, fwa = spectrum(a), spectrum(a * a), spectrum(wa)
    fb, fb2, fwb = spectrum(b), spectrum(b * b), spectrum(wb)
    count = np.rint(correlate(fwa, fwb))
    sum_a, sum_b = correlate(fa, fwb), correlate(fwa, fb)
    sum_aa, sum_bb = correlate(fa2, fwb), correlate(fwa, fb2)
    sum_ab = correlate(fa, fb)
    lags = np.arange(-(second.size - 1), first.size)
    index = lags % size
    count, sum_a, sum_b = count[index], sum_a[index], sum_b[index]
    sum_aa, sum_bb, sum_ab = sum_aa[index], sum_bb[index], sum_ab[index]
    with np.errstate(invalid="ignore", divide="ignore"):
        covariance = sum_ab - sum_a * sum_b / count
        variance_a = sum_aa - sum_a**2 / count
        variance_b = sum_bb - sum_b**2 / count
        correlation = covariance / np.sqrt(variance_a * variance_b)
    correlation[(count < 3) | (variance_a <= 0) | (variance_b <= 0)] = np.nan
    return correlation, count, lags

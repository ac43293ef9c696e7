"""Prepare one land-engraved area (LEA): orientation, stable cross-section, grooves, signature.

``prepare_land`` turns the raw scan of one land (a :class:`~ballistics.surface.Surface`, curved,
with the groove shoulders at both edges and the heel at one end) into a
:class:`PreparedLand`: the cross-section between the grooves and its signature, the striation
profile with the land's curvature removed.

References
----------
.. [1] E. Hare, H. Hofmann and A. Carriquiry, "Automatic matching of bullet land impressions",
   Annals of Applied Statistics 11(4), 2017, pp. 2332-2356.
.. [2] W. Chu, J. Song, T. Vorburger, R. Thompson and R. Silver, "Automatic identification of
   bullet signatures based on consecutive matching striae (CMS) criteria", Forensic Science
   International 231, 2013, pp. 137-141.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage, signal

from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.bullet.profiles import (
    find_grooves,
    gaussian_smooth_profile,
    normalised_cross_correlation,
    robust_quadratic,
)
from ballistics.errors import EvidenceError, check_resolution
from ballistics.surface import Modality, Surface

logger = logging.getLogger(__name__)

# a column (position across the land) enters a cross-section when this share of the band's rows
# measured it; fewer and one stray row would stand for the whole band
_MIN_COLUMN_COVERAGE = 0.3
# the orientation test looks at wavelengths below this (the striae), not at the land's curvature
_ORIENTATION_HIGHPASS_PX = 8.0
# cross-sections that agree less than this at their best shift say nothing about the slope
_SLOPE_MIN_CORRELATION = 0.6


@dataclass(frozen=True, eq=False)
class PreparedLand:
    """One land-engraved area ready for comparison.

    Parameters
    ----------
    signature_um
        1-D float32 array at ``pixel_um``: the cross-section between the grooves with the land's
        curvature removed and Gaussian band-pass filtered, in micrometres; NaN where unmeasured.
        Index 0 is the left groove (looking at the land with the heel down).
    profile_um
        1-D float32 array: the raw cross-section (band average) between the grooves, micrometres.
    crosscut_um
        Height of the cross-section above the heel (the base end of the scan).
    groove_um
        (left, right): positions of the two groove shoulders' feet across the oriented scan, in
        micrometres from its left edge; ``signature_um`` starts ``groove_margin_um`` inside the
        left one.
    pixel_um
        Spacing of ``signature_um`` and ``profile_um``.
    peaks, valleys
        Indices of the striae (peaks and valleys of the signature, prominence at least
        ``striae_prominence_um``), used by the consecutive-matching-striae count [2]_.
    sha256
        SHA-256 of the scan's file, empty when made in memory.
    source
        The scan's file name, for messages.
    """

    signature_um: np.ndarray
    profile_um: np.ndarray
    crosscut_um: float
    groove_um: tuple[float, float]
    pixel_um: float
    peaks: np.ndarray
    valleys: np.ndarray
    sha256: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        signature = np.asarray(self.signature_um, dtype=np.float32)
        if signature.ndim != 1 or not np.isfinite(signature).any():
            raise ValueError("signature_um must be a 1-D array with at least one measured value.")
        object.__setattr__(self, "signature_um", signature)
        object.__setattr__(self, "profile_um", np.asarray(self.profile_um, dtype=np.float32))
        object.__setattr__(self, "peaks", np.asarray(self.peaks, dtype=np.int64))
        object.__setattr__(self, "valleys", np.asarray(self.valleys, dtype=np.int64))
        object.__setattr__(self, "pixel_um", float(self.pixel_um))
        object.__setattr__(self, "crosscut_um", float(self.crosscut_um))
        object.__setattr__(self, "groove_um", (float(self.groove_um[0]), float(self.groove_um[1])))

    @property
    def width_um(self) -> float:
        """Width of the land between the two grooves, in micrometres (a class feature)."""
        return self.groove_um[1] - self.groove_um[0]


def prepare_land(surface: Surface, *, config: BulletConfig = DEFAULT_BULLET_CONFIG) -> PreparedLand:
    """Return the prepared land of a raw land-engraved-area scan.

    Steps: orient the scan (striae vertical, heel at the bottom, by a proper rotation so that
    left and right keep their meaning); find the stable cross-section from the heel upwards
    (Hare et al. [1]_: the first height whose band-averaged cross-section agrees with the one
    ``crosscut_span_um`` above it, which skips damage near the base); find both groove shoulders
    on that cross-section and keep the land between them; remove the curvature (robust
    quadratic, then a long-wavelength Gaussian) and smooth (short-wavelength Gaussian) into the
    signature; mark its striae (peaks and valleys) for the CMS count [2]_.

    Parameters
    ----------
    surface
        A topography (heights in µm) of one land-engraved area.
    config
        Options; see :class:`~ballistics.bullet.config.BulletConfig`.

    Returns
    -------
    PreparedLand

    Raises
    ------
    ResolutionOutOfRangeError
        The scan's grid spacing is outside ``config.land_pixel_um_range``.
    EvidenceError
        The scan is a photograph, has no measured rows, or the land between the grooves is
        narrower than ``min_land_width_um``; the message names the file.
    """
    source = surface.source or "land scan"
    if surface.modality is not Modality.TOPOGRAPHY:
        raise EvidenceError(
            source,
            "bullet lands are compared on 3D topographies (X3P), not on photographs.",
        )
    check_land_resolution(surface.pixel_um, name=source, config=config)
    values = np.asarray(surface.values, dtype=np.float64)
    if not np.isfinite(values).any(axis=1).any():
        raise EvidenceError(source, "the scan has no measured (valid) rows; it holds no land.")
    pixel_um = surface.pixel_um
    oriented = orient_land(
        values, striae_direction=config.striae_direction, heel_end=config.heel_end
    )
    rows_measured = np.isfinite(oriented).mean(axis=1) >= _MIN_COLUMN_COVERAGE
    band_px = max(1, round(config.crosscut_band_um / pixel_um))
    if rows_measured.sum() < band_px:
        raise EvidenceError(
            source,
            f"only {int(rows_measured.sum())} rows of the scan are measured across at least "
            f"{_MIN_COLUMN_COVERAGE:.0%} of the land; need {band_px} for a cross-section.",
        )
    # twice: the first estimate is biased low when the striae are steep
    slope = estimate_striae_slope(oriented, pixel_um=pixel_um, band_px=band_px)
    slope += estimate_striae_slope(shear_rows(oriented, slope), pixel_um=pixel_um, band_px=band_px)
    oriented = shear_rows(oriented, slope)
    crosscut_row = find_crosscut(oriented, pixel_um=pixel_um, config=config)
    profile = band_profile(oriented, crosscut_row, band_px=band_px)
    try:
        left, right = land_grooves(oriented, crosscut_row, pixel_um=pixel_um, config=config)
    except ValueError as error:
        raise EvidenceError(source, f"no land cross-section found: {error}") from None
    margin_px = round(config.groove_margin_um / pixel_um)
    start, stop = left + margin_px, right - margin_px + 1
    if (stop - start) * pixel_um < config.min_land_width_um:
        raise EvidenceError(
            source,
            f"the land between the grooves is {(right - left) * pixel_um:.0f} µm wide, narrower "
            f"than min_land_width_um={config.min_land_width_um:g}; the scan does not hold a "
            "whole land (or the grooves were not found).",
        )
    kept = profile[start:stop]
    signature = land_signature(kept, pixel_um=pixel_um, config=config)
    peaks, valleys = find_striae(signature, prominence_um=config.striae_prominence_um)
    rows = oriented.shape[0]
    return PreparedLand(
        signature_um=signature,
        profile_um=kept,
        crosscut_um=(rows - 1 - crosscut_row) * pixel_um,
        groove_um=(left * pixel_um, right * pixel_um),
        pixel_um=pixel_um,
        peaks=peaks,
        valleys=valleys,
        sha256=surface.sha256,
        source=surface.source,
    )


def land_grooves(
    oriented: np.ndarray, crosscut_row: int, *, pixel_um: float, config: BulletConfig
) -> tuple[int, int]:
    """Return the columns (left, right) of the groove shoulders' feet of an upright land.

    The grooves run parallel to the striae, so once the striae stand upright every
    cross-section should find them in the same columns. They are found on the cross-section at
    ``crosscut_row`` and on those ``crosscut_span_um`` and twice that further from the heel
    (where the scan reaches), and the median of each side is taken: a dent or a deep scratch
    that fakes a shoulder on one cross-section is outvoted by the others.

    Raises
    ------
    ValueError
        When the cross-section at ``crosscut_row`` has fewer than 3 measured points.
    """
    band_px = max(1, round(config.crosscut_band_um / pixel_um))
    span_px = max(1, round(config.crosscut_span_um / pixel_um))
    found = [
        find_grooves(
            band_profile(oriented, crosscut_row, band_px=band_px),
            pixel_um=pixel_um,
            rise_um=config.groove_rise_um,
        )
    ]
    for step in (1, 2):
        row = crosscut_row - step * span_px
        if row - band_px // 2 < 0:
            break
        try:
            found.append(
                find_grooves(
                    band_profile(oriented, row, band_px=band_px),
                    pixel_um=pixel_um,
                    rise_um=config.groove_rise_um,
                )
            )
        except ValueError:
            continue
    lefts, rights = zip(*found, strict=True)
    return int(np.median(lefts)), int(np.median(rights))


def orient_land(
    values: np.ndarray, *, striae_direction: str = "auto", heel_end: str = "auto"
) -> np.ndarray:
    """Return the scan turned so that the striae run down the rows and the heel is at the bottom.

    Only rotations by multiples of 90 degrees are used (never a transpose), so the image stays
    the surface seen from outside and a land's left and right edges keep their meaning whatever
    the scanner's axes were.

    Parameters
    ----------
    values
        Heights (rows, columns), NaN where unmeasured.
    striae_direction
        ``"vertical"`` (the striae run down the columns), ``"horizontal"`` (along the rows), or
        ``"auto"``: the direction in which the short-wavelength height changes least.
    heel_end
        ``"first"`` / ``"last"``: the heel is at index 0 / at the end of the striae;
        ``"auto"``: the end whose edge band has the smaller measured fraction (a base edge is
        ragged and partly unmeasured).
    """
    direction = detect_striae_direction(values) if striae_direction == "auto" else striae_direction
    if direction == "horizontal":
        # horizontal striae: a quarter turn anticlockwise puts column 0 at the bottom row
        values = np.rot90(values, 1)
        heel_end = {"first": "last", "last": "first"}.get(heel_end, heel_end)
    if heel_end == "auto":
        heel_end = detect_heel_end(values)
    if heel_end == "first":
        values = np.rot90(values, 2)
    return np.ascontiguousarray(values)


def estimate_striae_slope(
    oriented: np.ndarray, *, pixel_um: float, band_px: int, max_slope: float = 0.3
) -> float:
    """Return the inclination of the striae in an oriented scan, in columns per row.

    The rifling's twist and the scanner's mounting tilt the striae a few degrees from the
    columns; averaging rows or comparing cross-sections at different heights needs them upright.
    Band-averaged cross-sections ``2 * band_px`` rows apart are aligned by cross-correlation of
    their striation residuals at several heights; the median of the well-correlated shifts per
    row is the slope.
    """
    rows = oriented.shape[0]
    span = 2 * band_px
    max_lag = int(np.ceil(max_slope * span))
    slopes = []
    for row in range(band_px, rows - span - band_px // 2, band_px):
        lower = band_profile(oriented, row + span, band_px=band_px)
        upper = band_profile(oriented, row, band_px=band_px)
        lower = _striation_residual(lower, pixel_um=pixel_um)
        upper = _striation_residual(upper, pixel_um=pixel_um)
        correlation, _, lags = normalised_cross_correlation(upper, lower)
        allowed = (np.abs(lags) <= max_lag) & np.isfinite(correlation)
        if not allowed.any():
            continue
        best = int(np.flatnonzero(allowed)[np.argmax(correlation[allowed])])
        if correlation[best] < _SLOPE_MIN_CORRELATION:
            continue
        # sub-pixel peak from the parabola through the best lag and its neighbours
        offset = 0.0
        if 0 < best < correlation.size - 1 and np.isfinite(correlation[best - 1 : best + 2]).all():
            left, centre, right = correlation[best - 1 : best + 2]
            curvature = left - 2 * centre + right
            offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        # upper[i] faces lower[i - lag]: going up by ``span`` rows moves the striae by +lag
        slopes.append((lags[best] + offset) / span)
    return float(np.median(slopes)) if slopes else 0.0


def check_land_resolution(
    pixel_um: float, *, name: str, config: BulletConfig = DEFAULT_BULLET_CONFIG
) -> None:
    """Refuse a land scan spacing outside ``config.land_pixel_um_range``.

    Called on the spacing a file's header declares, before it is decoded, and again by
    :func:`prepare_land` on the surface read.

    Raises
    ------
    ResolutionOutOfRangeError
        Naming the file and saying whether the scan is too coarse or too fine.
    """
    check_resolution(pixel_um, allowed_um=config.land_pixel_um_range, name=name, what="bullet land")


def shear_rows(oriented: np.ndarray, slope: float) -> np.ndarray:
    """Return the scan with each row shifted so that striae of ``slope`` columns/row stand upright.

    Row ``i`` moves by ``slope * (rows - 1 - i)`` columns (the heel row stays in place), with
    linear interpolation; a point next to a missing one stays missing.
    """
    if abs(slope) < 1e-3:
        return oriented
    rows, columns = oriented.shape
    valid = np.isfinite(oriented)
    filled = np.where(valid, oriented, 0.0).astype(np.float32)
    # the output at (row i, column x) samples the input at column x - slope * (rows - 1 - i)
    transform = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float64)
    transform[0, 1] = slope
    transform[0, 2] = -slope * (rows - 1)
    flags = cv2.INTER_LINEAR
    border = cv2.BORDER_CONSTANT
    sheared = cv2.warpAffine(filled, transform, (columns, rows), flags=flags, borderMode=border)
    weight = cv2.warpAffine(
        valid.astype(np.float32), transform, (columns, rows), flags=flags, borderMode=border
    )
    result = np.full(oriented.shape, np.nan)
    good = weight > 0.999
    result[good] = sheared[good] / weight[good]
    return result


def detect_striae_direction(values: np.ndarray) -> str:
    """Return ``"vertical"`` when the striae run down the image's columns, else ``"horizontal"``.

    Striae are ridges and furrows that stay the same along their length: after removing the
    land's curvature (a high-pass), heights change little along the striae and much across them.
    """
    valid = np.isfinite(values)
    filled = np.where(valid, values, 0.0)
    weight = ndimage.gaussian_filter(valid.astype(np.float64), _ORIENTATION_HIGHPASS_PX)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = ndimage.gaussian_filter(filled, _ORIENTATION_HIGHPASS_PX) / weight
    high = values - low
    down = np.abs(np.diff(high, axis=0))
    across = np.abs(np.diff(high, axis=1))
    change_down = np.nanmedian(down) if np.isfinite(down).any() else np.inf
    change_across = np.nanmedian(across) if np.isfinite(across).any() else np.inf
    return "vertical" if change_down <= change_across else "horizontal"


def detect_heel_end(values: np.ndarray, *, edge_fraction: float = 0.05) -> str:
    """Return ``"first"`` when the heel is at row 0 of a scan with vertical striae, else ``"last"``.

    The base of a bullet ends the land with a ragged, partly unmeasured edge, while the other
    end of a land scan is a straight cut of the scanned window.
    """
    rows = values.shape[0]
    band = max(1, int(rows * edge_fraction))
    valid = np.isfinite(values)
    top, bottom = valid[:band].mean(), valid[-band:].mean()
    return "first" if top < bottom else "last"


def band_profile(oriented: np.ndarray, row: int, *, band_px: int) -> np.ndarray:
    """Return the mean cross-section of the ``band_px`` rows centred on ``row``.

    A column enters only where at least 30 % of the band measured it.
    """
    start = max(0, row - band_px // 2)
    band = oriented[start : start + band_px]
    valid = np.isfinite(band)
    count = valid.sum(axis=0)
    total = np.where(valid, band, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = total / count
    profile[count < max(1, _MIN_COLUMN_COVERAGE * band.shape[0])] = np.nan
    return profile


def find_crosscut(oriented: np.ndarray, *, pixel_um: float, config: BulletConfig) -> int:
    """Return the row of the stable cross-section, searched from the heel (bottom) upwards.

    Following Hare et al. [1]_, cross-sections are taken every ``crosscut_step_um`` from
    ``crosscut_start_um`` above the heel; the first whose striation residual correlates at least
    ``crosscut_min_correlation`` with the cross-section ``crosscut_span_um`` higher up is
    stable. Near the base, damage and the base's bevel make neighbouring cross-sections
    disagree. When no height reaches the threshold, the best-agreeing one is taken.
    """
    rows = oriented.shape[0]
    band_px = max(1, round(config.crosscut_band_um / pixel_um))
    span_px = max(1, round(config.crosscut_span_um / pixel_um))
    step_px = max(1, round(config.crosscut_step_um / pixel_um))
    start_px = round(config.crosscut_start_um / pixel_um) + band_px // 2
    heights = list(range(start_px, rows - span_px - band_px // 2, step_px))
    if not heights:  # a short scan: its middle is all there is
        return rows // 2
    # a common column window, away from the shoulders, for every cross-section
    residuals: dict[int, np.ndarray] = {}

    def residual_at(height: int) -> np.ndarray:
        if height not in residuals:
            profile = band_profile(oriented, rows - 1 - height, band_px=band_px)
            residuals[height] = _striation_residual(profile, pixel_um=pixel_um)
        return residuals[height]

    best_height, best_correlation = heights[0], -np.inf
    for height in heights:
        correlation = _correlation(residual_at(height), residual_at(height + span_px))
        if correlation >= config.crosscut_min_correlation:
            return rows - 1 - height
        if correlation > best_correlation:
            best_height, best_correlation = height, correlation
    logger.debug("no cross-section reached the agreement threshold; best %.2f", best_correlation)
    return rows - 1 - best_height


def _striation_residual(profile: np.ndarray, *, pixel_um: float) -> np.ndarray:
    """Return the middle 60 % of a cross-section with its curvature removed (for agreement)."""
    size = profile.size
    middle = profile[int(size * 0.2) : int(size * 0.8)]
    residual = middle - robust_quadratic(middle)
    return residual - gaussian_smooth_profile(residual, cutoff_um=250.0, pixel_um=pixel_um)


def _correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Return Pearson's correlation over the points measured in both (NaN when too few)."""
    both = np.isfinite(first) & np.isfinite(second)
    if both.sum() < 10:
        return float("nan")
    a = first[both] - first[both].mean()
    b = second[both] - second[both].mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def land_signature(profile: np.ndarray, *, pixel_um: float, config: BulletConfig) -> np.ndarray:
    """Return the signature of a cross-section between the grooves, in micrometres.

    The robust quadratic takes the curvature of the bullet off; the Gaussian low-pass at the long
    cutoff, subtracted, takes the rest of the form (the land is not a perfect arc); the
    Gaussian low-pass at the short cutoff removes the instrument's noise (Hare et al. [1]_
    smooth the loess residual the same way).
    """
    short_um, long_um = config.signature_bandpass_um
    residual = profile - robust_quadratic(profile)
    residual = residual - gaussian_smooth_profile(residual, cutoff_um=long_um, pixel_um=pixel_um)
    signature = gaussian_smooth_profile(residual, cutoff_um=short_um, pixel_um=pixel_um)
    return signature.astype(np.float32)


def find_striae(signature: np.ndarray, *, prominence_um: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the indices of the peaks and of the valleys of a signature (Chu et al. [2]_)."""
    filled = np.where(np.isfinite(signature), signature, 0.0)
    peaks, _ = signal.find_peaks(filled, prominence=prominence_um)
    valleys, _ = signal.find_peaks(-filled, prominence=prominence_um)
    measured = np.isfinite(signature)
    return peaks[measured[peaks]], valleys[measured[valleys]]

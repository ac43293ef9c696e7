"""The published striation features of two aligned land signatures, side by side.

Both signatures are first resampled to one fixed spacing (:data:`FEATURE_SPACING_UM`), so that
the features of lands scanned at 0.6 or at 3 µm per pixel mean the same; the features are made
free of the signatures' height scale (divided by their standard deviation) and of the land's
width (per millimetre of overlap, or as fractions), so that other instruments, other jackets and
other calibres land on the same axes.

References
----------
.. [1] E. Hare, H. Hofmann and A. Carriquiry, "Automatic matching of bullet land impressions",
   Annals of Applied Statistics 11(4), 2017, pp. 2332-2356 (ccf, rough correlation, D and its
   spread, matches and non-matches, CMS and CNMS, sum of peaks; the random forest).
.. [2] W. Chu, J. Song, T. Vorburger, R. Thompson and R. Silver, "Automatic identification of
   bullet signatures based on consecutive matching striae (CMS) criteria", Forensic Science
   International 231, 2013, pp. 137-141.
.. [3] W. Chen, J. Chu, R. Thompson, J. Song and X. Zhao, "A statistical method for bullet
   signature matching with congruent matching profile segments (CMPS)", Forensic Science
   International 305, 2019, 110000 (CMPS).
.. [4] S. Vanderplas, M. Nally, T. Klep, C. Cadevall and H. Hofmann, "Comparison of three
   similarity scores for bullet LEA matching", Forensic Science International 308, 2020, 110167.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from ballistics.bullet.profiles import normalised_cross_correlation

#: every signature is compared at this spacing, whatever the scan's resolution
FEATURE_SPACING_UM = 2.0
#: the features, in the order of :attr:`LandFeatures.vector` and of the model's columns
FEATURE_NAMES = (
    "ccf",
    "ccf_excess",
    "rough_ccf",
    "distance",
    "distance_sd",
    "matches_per_mm",
    "non_matches_per_mm",
    "cms",
    "cnms",
    "sum_peaks",
    "cmps",
    "overlap",
)
# the rough correlation leaves out wavelengths above this (waviness of the bullet, not striae)
_ROUGH_CUTOFF_UM = 50.0
# a stria is a peak or valley standing this many signature standard deviations out
_STRIA_PROMINENCE_SD = 0.5
# congruent matching profile segments: segment length and congruence tolerance (Chen et al.'s
# 50 points at 1.5625 µm are 78 µm)
_SEGMENT_UM = 80.0
_CONGRUENT_UM = 8.0


@dataclass(frozen=True)
class LandFeatures:
    """The features of one land pair at its best alignment (see :data:`FEATURE_NAMES`).

    Parameters
    ----------
    ccf
        Pearson correlation of the two signatures over their overlap at the best lag.
    ccf_excess
        How far that best correlation stands above the correlations at the other shifts
        searched (median and scaled median absolute deviation): a chance peak of two short
        signatures is high but not far above the rest; a known match's stands out whatever
        the land's width.
    rough_ccf
        The same after removing wavelengths above 50 µm (Hare et al.'s rough correlation).
    distance, distance_sd
        Root mean square and standard deviation of the height difference of the aligned
        signatures, in units of their pooled standard deviation (D and its spread [1]_ [4]_).
    matches_per_mm, non_matches_per_mm
        Striae of the first with (without) a partner of the same kind on the second within
        ``tolerance_um``, per millimetre of overlap.
    cms, cnms
        Longest runs of consecutive matching and of consecutive non-matching striae [2]_.
    sum_peaks
        Sum over the matching striae of their mean height, in standard deviations, per
        millimetre of overlap (Hare et al.'s sum of peaks).
    cmps
        Fraction of the first signature's 80 µm segments whose own best shift on the second is
        within 8 µm of the pair's best shift: congruent matching profile segments [3]_.
    overlap
        Overlap at the best lag as a fraction of the shorter signature.
    lag_um, overlap_um, distance_um, matching_striae, non_matching_striae
        The alignment and raw counts, for people (not for the model).
    """

    ccf: float
    ccf_excess: float
    rough_ccf: float
    distance: float
    distance_sd: float
    matches_per_mm: float
    non_matches_per_mm: float
    cms: int
    cnms: int
    sum_peaks: float
    cmps: float
    overlap: float
    lag_um: float
    overlap_um: float
    distance_um: float
    matching_striae: int
    non_matching_striae: int

    @property
    def vector(self) -> np.ndarray:
        """The model's features, in the order of :data:`FEATURE_NAMES` (float64)."""
        return np.array([getattr(self, name) for name in FEATURE_NAMES], dtype=np.float64)


def fixed_spacing(signature: np.ndarray, *, pixel_um: float) -> np.ndarray:
    """Return a signature resampled to :data:`FEATURE_SPACING_UM` (NaN kept where missing).

    A finer signature is low-passed first (Gaussian, sigma half the new spacing) so that it
    does not alias; a coarser one is interpolated linearly.
    """
    values = np.asarray(signature, dtype=np.float64)
    if abs(pixel_um - FEATURE_SPACING_UM) <= 1e-6:
        return values
    valid = np.isfinite(values)
    if pixel_um < FEATURE_SPACING_UM:
        sigma = 0.5 * FEATURE_SPACING_UM / pixel_um
        weight = ndimage.gaussian_filter1d(valid.astype(np.float64), sigma)
        filled = ndimage.gaussian_filter1d(np.where(valid, values, 0.0), sigma)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(valid, filled / weight, np.nan)
    source = np.arange(values.size) * pixel_um
    positions = np.arange(0.0, source[-1] + 1e-9, FEATURE_SPACING_UM)
    if valid.sum() < 2:
        return np.full(positions.shape, np.nan)
    resampled = np.interp(positions, source[valid], values[valid])
    nearest = np.clip(np.rint(positions / pixel_um).astype(int), 0, values.size - 1)
    resampled[~valid[nearest]] = np.nan
    return resampled


def land_features(
    first: np.ndarray,
    second: np.ndarray,
    *,
    max_lag_um: float,
    min_overlap_fraction: float,
    tolerance_um: float,
) -> LandFeatures | None:
    """Return the features of two signatures at :data:`FEATURE_SPACING_UM`, or None when no
    shift up to ``max_lag_um`` overlaps ``min_overlap_fraction`` of the shorter one.

    The best lag maximises the normalised cross-correlation (every shift at once by FFT, the
    missing points left out); every other feature is measured at that lag.
    """
    spacing = FEATURE_SPACING_UM
    correlation, overlap, lags = normalised_cross_correlation(first, second)
    shorter = min(np.isfinite(first).sum(), np.isfinite(second).sum())
    allowed = (np.abs(lags) <= round(max_lag_um / spacing)) & np.isfinite(correlation)
    allowed &= overlap >= min_overlap_fraction * shorter
    if not allowed.any():
        return None
    best = int(np.flatnonzero(allowed)[np.argmax(correlation[allowed])])
    lag = int(lags[best])
    a, b = aligned(first, second, lag)
    both = np.isfinite(a) & np.isfinite(b)
    a, b = np.where(both, a, np.nan), np.where(both, b, np.nan)
    overlap_mm = both.sum() * spacing / 1000.0
    pooled = float(np.sqrt(0.5 * (np.nanvar(a) + np.nanvar(b)))) + 1e-9
    difference = (a - b)[both]
    matching, non_matching, cms, cnms, peak_sum = matching_striae(
        a, b, prominence_um=_STRIA_PROMINENCE_SD * pooled, tolerance_px=tolerance_um / spacing
    )
    searched = correlation[allowed]
    centre = float(np.median(searched))
    spread = 1.4826 * float(np.median(np.abs(searched - centre))) + 1e-6
    return LandFeatures(
        ccf=float(correlation[best]),
        ccf_excess=(float(correlation[best]) - centre) / spread,
        rough_ccf=_rough_correlation(a, b),
        distance=float(np.sqrt(np.mean(difference**2)) / pooled),
        distance_sd=float(np.std(np.abs(difference)) / pooled),
        matches_per_mm=matching / overlap_mm,
        non_matches_per_mm=non_matching / overlap_mm,
        cms=cms,
        cnms=cnms,
        sum_peaks=peak_sum / pooled / overlap_mm,
        cmps=congruent_segments(first, second, lag=lag, max_lag_um=max_lag_um),
        overlap=float(both.sum() / max(shorter, 1)),
        lag_um=lag * spacing,
        overlap_um=overlap_mm * 1000.0,
        distance_um=float(np.sqrt(np.mean(difference**2))),
        matching_striae=matching,
        non_matching_striae=non_matching,
    )


def aligned(first: np.ndarray, second: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Return both signals on a common axis where ``first[i]`` faces ``second[i - lag]``."""
    start = min(0, lag)
    stop = max(first.size, second.size + lag)
    aligned_a = np.full(stop - start, np.nan)
    aligned_b = np.full(stop - start, np.nan)
    aligned_a[-start : -start + first.size] = first
    aligned_b[lag - start : lag - start + second.size] = second
    return aligned_a, aligned_b


def _rough_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Return the correlation of the aligned signals' roughness (wavelengths below 50 µm)."""
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < 10:
        return 0.0
    sigma = _ROUGH_CUTOFF_UM / FEATURE_SPACING_UM * 0.1874  # ISO 16610-21 cutoff -> sigma
    weight = ndimage.gaussian_filter1d(both.astype(np.float64), sigma)
    rough = []
    for values in (a, b):
        filled = np.where(both, values, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rough.append((filled - ndimage.gaussian_filter1d(filled, sigma) / weight)[both])
    x, y = rough[0] - rough[0].mean(), rough[1] - rough[1].mean()
    denominator = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denominator) if denominator > 0 else 0.0


def matching_striae(
    first: np.ndarray, second: np.ndarray, *, prominence_um: float, tolerance_px: float
) -> tuple[int, int, int, int, float]:
    """Return (matching, non-matching, CMS, CNMS, sum of matched heights) of the first's striae.

    Both signals are already aligned and NaN outside their common overlap. A peak matches a
    peak, a valley a valley, within ``tolerance_px`` (Chu et al. [2]_); the sum of peaks adds,
    for each matching stria, the mean absolute height of the two (Hare et al. [1]_).
    """
    peaks_a, valleys_a = _striae(first, prominence_um)
    peaks_b, valleys_b = _striae(second, prominence_um)
    positions = np.concatenate([peaks_a, valleys_a])
    partners = np.concatenate(
        [_partners(peaks_a, peaks_b, tolerance_px), _partners(valleys_a, valleys_b, tolerance_px)]
    )
    order = np.argsort(positions, kind="stable")
    positions, partners = positions[order], partners[order]
    is_match = partners >= 0
    longest = {True: 0, False: 0}
    run, previous = 0, None
    for value in is_match.tolist():
        run = run + 1 if value == previous else 1
        previous = value
        longest[value] = max(longest[value], run)
    heights = 0.5 * (np.abs(first[positions[is_match]]) + np.abs(second[partners[is_match]]))
    matched = int(is_match.sum())
    non_matched = int(is_match.size) - matched
    return matched, non_matched, longest[True], longest[False], float(heights.sum())


def _striae(values: np.ndarray, prominence_um: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the indices of the peaks and of the valleys of a signal (NaN: not measured)."""
    measured = np.isfinite(values)
    filled = np.where(measured, values, 0.0)
    peaks, _ = signal.find_peaks(filled, prominence=prominence_um)
    valleys, _ = signal.find_peaks(-filled, prominence=prominence_um)
    return peaks[measured[peaks]], valleys[measured[valleys]]


def _partners(positions: np.ndarray, candidates: np.ndarray, tolerance_px: float) -> np.ndarray:
    """Return for each position the nearest candidate within ``tolerance_px``, or -1."""
    if not candidates.size or not positions.size:
        return np.full(positions.size, -1, dtype=np.int64)
    after = np.clip(np.searchsorted(candidates, positions), 0, candidates.size - 1)
    before = np.clip(after - 1, 0, candidates.size - 1)
    nearest = np.where(
        np.abs(candidates[before] - positions) <= np.abs(candidates[after] - positions),
        candidates[before],
        candidates[after],
    )
    return np.where(np.abs(nearest - positions) <= tolerance_px, nearest, -1).astype(np.int64)


def congruent_segments(
    first: np.ndarray, second: np.ndarray, *, lag: int, max_lag_um: float
) -> float:
    """Return the fraction of the first signature's segments congruent with the pair's lag.

    The first signature's overlap with the second (at ``lag``) is cut into 80 µm segments;
    each is slid along the second over every shift up to ``max_lag_um`` and its
    best-correlating shift found. A segment is congruent when
    that shift is within 8 µm of ``lag`` (the whole signatures' best): a known match aligns
    most of its segments in one place, a non-match scatters them (Chen et al. [3]_, with one
    segment length and the consensus taken from the whole-signature alignment).
    """
    spacing = FEATURE_SPACING_UM
    length = round(_SEGMENT_UM / spacing)
    reach = round(max_lag_um / spacing)
    # segments measured on the first and, at the pair's lag, facing the second's measured part
    facing = np.zeros(first.size, dtype=bool)
    index = np.arange(first.size) - lag
    inside = (index >= 0) & (index < second.size)
    facing[inside] = np.isfinite(second[index[inside]])
    measured = np.isfinite(first) & facing
    segments = [
        start
        for start in range(0, first.size - length + 1, length)
        if measured[start : start + length].mean() >= 0.8
    ]
    if not segments:
        return 0.0
    # the second, padded so that every shift up to ``reach`` has a full window; window q of it
    # starts at second[q - reach], so a segment at ``start`` facing window q has lag
    # start - (q - reach), and its shifts -reach..reach are the windows start..start + 2 reach
    padded = np.concatenate([np.full(reach, np.nan), second, np.full(reach + length, np.nan)])
    valid = np.isfinite(padded)
    centred = np.where(valid, padded - np.nanmean(second), 0.0)
    counts = _window_sums(valid.astype(np.float64), length)
    sums = _window_sums(centred, length)
    squares = _window_sums(centred * centred, length)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(np.maximum(squares - sums**2 / counts, 0.0))
    usable = (counts >= 0.8 * length) & (spread > 1e-12)
    tolerance = _CONGRUENT_UM / spacing
    congruent = 0
    for start in segments:
        piece = first[start : start + length]
        piece = np.where(np.isfinite(piece), piece, np.nanmean(piece))
        piece = piece - piece.mean()
        norm = float(np.linalg.norm(piece))
        if norm == 0:
            continue
        stop = min(start + 2 * reach + 1, spread.size)
        raw = np.correlate(centred[start : stop + length - 1], piece, mode="valid")
        with np.errstate(invalid="ignore", divide="ignore"):
            scores = np.where(usable[start:stop], raw / (norm * spread[start:stop]), -np.inf)
        if not np.isfinite(scores).any():
            continue
        window = start + int(np.argmax(scores))
        congruent += abs(start - (window - reach) - lag) <= tolerance
    return congruent / len(segments)


def _window_sums(values: np.ndarray, length: int) -> np.ndarray:
    """Return the sums of every ``length`` consecutive values (cumulative sums)."""
    total = np.concatenate([[0.0], np.cumsum(values)])
    return total[length:] - total[:-length]

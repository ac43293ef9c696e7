"""Compare lands (aligned signatures, matching striae) and bullets (all lands, best cyclic phase).

References
----------
.. [1] E. Hare, H. Hofmann and A. Carriquiry, "Automatic matching of bullet land impressions",
   Annals of Applied Statistics 11(4), 2017, pp. 2332-2356.
.. [2] W. Chu, J. Song, T. Vorburger, R. Thompson and R. Silver, "Automatic identification of
   bullet signatures based on consecutive matching striae (CMS) criteria", Forensic Science
   International 231, 2013, pp. 137-141.
.. [3] S. Vanderplas, M. Nally, T. Klep, C. Cadevall and H. Hofmann, "Comparison of three
   similarity scores for bullet LEA matching", Forensic Science International 308, 2020, 110167.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.bullet.land import PreparedLand, find_striae
from ballistics.bullet.profiles import normalised_cross_correlation


@dataclass(frozen=True)
class LandComparison:
    """How alike two lands are, at their best alignment.

    Parameters
    ----------
    score
        The land score: ``ccf`` (see :func:`compare_lands` for why and its calibration).
    ccf
        Pearson correlation of the two signatures over their overlap at the best lag.
    lag_um
        Shift of the second signature that best aligns it with the first: point ``x`` of the
        first lies on point ``x - lag_um`` of the second.
    overlap_um
        Length over which both signatures are measured at that lag.
    matching_striae
        Striae (peaks and valleys) of the first signature with a stria of the same kind of the
        second within ``striae_tolerance_um``, in the overlap.
    non_matching_striae
        Striae of the first signature in the overlap without such a partner.
    consecutive_matching_striae
        The longest run of consecutive matching striae (CMS, Chu et al. [2]_).
    distance_um
        Root mean square difference of the aligned signatures, micrometres (Vanderplas et al.'s
        D [3]_).
    """

    score: float
    ccf: float
    lag_um: float
    overlap_um: float
    matching_striae: int
    non_matching_striae: int
    consecutive_matching_striae: int
    distance_um: float


@dataclass(frozen=True)
class PreparedBullet:
    """The prepared lands of one bullet, in their order around it.

    Parameters
    ----------
    lands
        The lands, in the order they lie around the bullet.
    land_numbers
        Each land's position around the bullet, 1-based (from the file names; a damaged land that
        was not scanned leaves a gap, e.g. ``(1, 2, 4, 5, 6)``).
    source
        The folder or file the bullet was read from.
    """

    lands: tuple[PreparedLand, ...]
    land_numbers: tuple[int, ...]
    source: str = ""

    def __post_init__(self) -> None:
        lands, numbers = tuple(self.lands), tuple(int(n) for n in self.land_numbers)
        if not lands:
            raise ValueError("a bullet needs at least one land.")
        if len(numbers) != len(lands):
            raise ValueError(
                f"land_numbers has {len(numbers)} entries for {len(lands)} lands; give one "
                "number per land."
            )
        if len(set(numbers)) != len(numbers) or min(numbers) < 1:
            raise ValueError(
                f"land_numbers must be distinct positive positions, got {numbers}; number the "
                "lands 1, 2, ... in their order around the bullet."
            )
        object.__setattr__(self, "lands", lands)
        object.__setattr__(self, "land_numbers", numbers)

    @property
    def land_count(self) -> int:
        """Number of land positions around the bullet seen: the largest land number."""
        return max(max(self.land_numbers), len(self.lands))

    @property
    def land_width_um(self) -> float:
        """Median width of the lands between their grooves (a class feature), micrometres."""
        return float(np.median([land.width_um for land in self.lands]))

    @property
    def twist(self) -> str | None:
        """Direction of the rifling twist; None: not measurable on land scans aligned with the
        striae (it needs the bullet's axis in the scan)."""
        return None


@dataclass(frozen=True)
class BulletComparison:
    """How alike two bullets are: all lands against all lands, at the best cyclic phase.

    Parameters
    ----------
    score
        The bullet score: mean land score over the land pairs of the best phase.
    lead
        ``score >= lead_threshold``.
    phase
        Offset of land positions at the best phase: land number ``k`` of the first bullet faces
        land number ``(k - 1 + phase) % land_count + 1`` of the second.
    land_count
        Number of land positions the phase runs over.
    land_scores
        Matrix (lands of the first bullet, lands of the second) of land scores, in the order of
        ``PreparedBullet.lands``.
    phase_scores
        Bullet score of every phase ``0 .. land_count - 1`` (NaN where no pair of lands exists).
    aligned_pairs
        (index in the first bullet, index in the second, land score) of the best phase's pairs.
    kind
        ``"bullet"``.
    """

    score: float
    lead: bool
    phase: int
    land_count: int
    land_scores: np.ndarray
    phase_scores: np.ndarray
    aligned_pairs: tuple[tuple[int, int, float], ...]
    kind: str = "bullet"


def compare_lands(
    first: PreparedLand, second: PreparedLand, *, config: BulletConfig = DEFAULT_BULLET_CONFIG
) -> LandComparison:
    """Return the comparison of two prepared lands at their best lateral alignment.

    The signatures are aligned by the maximum of their normalised cross-correlation over every
    shift up to ``max_lag_um`` that overlaps at least ``min_overlap_fraction`` of the shorter
    one (all shifts at once, with the missing points' weights, by FFT). At that shift the
    matching and consecutive matching striae (Chu et al. [2]_) and the distance D are counted;
    these are the features of Hare et al. [1]_ and Vanderplas et al. [3]_.

    The score is the cross-correlation ``ccf``: of the three scores Vanderplas et al. [3]_
    compared, it is the one whose known-match and known-non-match distributions overlap least
    across scanners, and its scale (-1..1) needs no per-scanner calibration. How it separates
    known matches from known non-matches on the Hamby lands (``benchmarks/bullet_accuracy.py``)
    is in the README's "Bullet results".

    Lands scanned at different resolutions are compared at the coarser one (the finer signature
    is resampled by linear interpolation).

    Parameters
    ----------
    first, second
        Prepared lands (:func:`~ballistics.bullet.land.prepare_land`).
    config
        Options (``max_lag_um``, ``min_overlap_fraction``, ``striae_tolerance_um``,
        ``striae_prominence_um``).

    Returns
    -------
    LandComparison
    """
    pixel_um = max(first.pixel_um, second.pixel_um)
    a = _at_pixel(first, pixel_um)
    b = _at_pixel(second, pixel_um)
    max_lag_px = round(config.max_lag_um / pixel_um)
    correlation, overlap, lags = normalised_cross_correlation(a, b)
    shorter = min(np.isfinite(a).sum(), np.isfinite(b).sum())
    allowed = (np.abs(lags) <= max_lag_px) & (overlap >= config.min_overlap_fraction * shorter)
    allowed &= np.isfinite(correlation)
    if not allowed.any():
        return LandComparison(0.0, 0.0, 0.0, 0.0, 0, 0, 0, float("nan"))
    best = int(np.flatnonzero(allowed)[np.argmax(correlation[allowed])])
    lag = int(lags[best])
    ccf = float(correlation[best])
    aligned_a, aligned_b = _aligned(a, b, lag)
    both = np.isfinite(aligned_a) & np.isfinite(aligned_b)
    distance = float(np.sqrt(np.mean((aligned_a[both] - aligned_b[both]) ** 2)))
    matching, non_matching, consecutive = _matching_striae(
        aligned_a,
        aligned_b,
        prominence_um=config.striae_prominence_um,
        tolerance_px=config.striae_tolerance_um / pixel_um,
    )
    return LandComparison(
        score=ccf,
        ccf=ccf,
        lag_um=lag * pixel_um,
        overlap_um=float(overlap[best]) * pixel_um,
        matching_striae=matching,
        non_matching_striae=non_matching,
        consecutive_matching_striae=consecutive,
        distance_um=distance,
    )


def compare_bullets(
    first: PreparedBullet,
    second: PreparedBullet,
    *,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> BulletComparison:
    """Return the comparison of two bullets: every land pair, then the best cyclic phase.

    Lands keep their order around a bullet, so a match of bullets is a rotation: land ``k`` of
    one faces land ``k + phase`` (modulo the number of lands) of the other. Every phase's score
    is the mean land score over the land pairs that exist at that phase (missing or damaged
    lands leave their pairs out, so fewer lands is normal, not an error); the bullet score is
    the best phase's, in the spirit of the sequence-average-maximum of Vanderplas et al. [3]_.

    ``lead_threshold`` (default 0.6) is calibrated with ``benchmarks/bullet_accuracy.py`` at the
    default configuration: it lies between the highest known-non-match land score and the
    lowest known-match one on the Hamby 252 and Hamby 44 sets, with a margin on both sides, so
    that a bullet of a single land is decided by the same threshold (the scores, land by land
    and bullet by bullet, are in the README's "Bullet results"). These are two sets from one
    make of barrel (consecutively rifled Ruger P85 barrels) and a few hundred known
    non-matches: treat the threshold as a screening value, not as a measured error rate.

    Parameters
    ----------
    first, second
        Prepared bullets (:func:`~ballistics.bullet.bullets.read_bullet`, or
        :class:`PreparedBullet` built from prepared lands).
    config
        Options; ``land_count`` fixes the number of lands when known.

    Returns
    -------
    BulletComparison
    """
    land_scores = land_score_matrix(first.lands, second.lands, config=config)
    land_count = config.land_count or max(first.land_count, second.land_count)
    phase_scores = np.full(land_count, np.nan)
    pairs_by_phase: list[list[tuple[int, int, float]]] = []
    for phase in range(land_count):
        pairs = [
            (i, j, float(land_scores[i, j]))
            for i, number_a in enumerate(first.land_numbers)
            for j, number_b in enumerate(second.land_numbers)
            if (number_a - 1 + phase) % land_count == (number_b - 1) % land_count
        ]
        pairs_by_phase.append(pairs)
        if pairs:
            phase_scores[phase] = float(np.mean([score for *_, score in pairs]))
    phase = int(np.nanargmax(phase_scores))
    score = float(phase_scores[phase])
    return BulletComparison(
        score=score,
        lead=score >= config.lead_threshold,
        phase=phase,
        land_count=land_count,
        land_scores=land_scores,
        phase_scores=phase_scores,
        aligned_pairs=tuple(pairs_by_phase[phase]),
    )


def _at_pixel(land: PreparedLand, pixel_um: float) -> np.ndarray:
    """Return the land's signature at ``pixel_um`` (linear interpolation when coarser)."""
    signature = land.signature_um.astype(np.float64)
    if abs(land.pixel_um - pixel_um) <= 1e-6 * pixel_um:
        return signature
    positions = np.arange(0.0, (signature.size - 1) * land.pixel_um + 1e-9, pixel_um)
    source = np.arange(signature.size) * land.pixel_um
    valid = np.isfinite(signature)
    resampled = np.interp(positions, source[valid], signature[valid])
    # a resampled point is missing when the nearest original one was
    nearest = np.clip(np.rint(positions / land.pixel_um).astype(int), 0, signature.size - 1)
    resampled[~valid[nearest]] = np.nan
    return resampled


def _aligned(first: np.ndarray, second: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Return both signals on a common axis where ``first[i]`` faces ``second[i - lag]``."""
    start = min(0, lag)
    stop = max(first.size, second.size + lag)
    aligned_a = np.full(stop - start, np.nan)
    aligned_b = np.full(stop - start, np.nan)
    aligned_a[-start : -start + first.size] = first
    aligned_b[lag - start : lag - start + second.size] = second
    return aligned_a, aligned_b


def _matching_striae(
    first: np.ndarray, second: np.ndarray, *, prominence_um: float, tolerance_px: float
) -> tuple[int, int, int]:
    """Return (matching, non-matching, longest consecutive run) of the first's striae.

    Only the overlap (both measured) counts. A peak matches a peak, a valley a valley, within
    ``tolerance_px`` (Chu et al. [2]_).
    """
    both = np.isfinite(first) & np.isfinite(second)
    a = np.where(both, first, np.nan)
    b = np.where(both, second, np.nan)
    peaks_a, valleys_a = find_striae(a, prominence_um=prominence_um)
    peaks_b, valleys_b = find_striae(b, prominence_um=prominence_um)
    striae = sorted(
        [(int(p), _has_partner(p, peaks_b, tolerance_px)) for p in peaks_a]
        + [(int(v), _has_partner(v, valleys_b, tolerance_px)) for v in valleys_a]
    )
    matched = [is_match for _, is_match in striae]
    longest = run = 0
    for is_match in matched:
        run = run + 1 if is_match else 0
        longest = max(longest, run)
    return sum(matched), len(matched) - sum(matched), longest


def _has_partner(position: int, candidates: np.ndarray, tolerance_px: float) -> bool:
    """Return whether some candidate lies within ``tolerance_px`` of ``position``."""
    return bool(candidates.size) and bool(np.min(np.abs(candidates - position)) <= tolerance_px)


def land_score_matrix(
    first: Sequence[PreparedLand],
    second: Sequence[PreparedLand],
    *,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> np.ndarray:
    """Return the matrix of land scores of every land of ``first`` against every of ``second``."""
    return np.array(
        [[compare_lands(a, b, config=config).score for b in second] for a in first],
        dtype=np.float64,
    )

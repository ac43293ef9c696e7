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
from ballistics.bullet.features import LandFeatures, fixed_spacing, land_features
from ballistics.bullet.land import PreparedLand
from ballistics.bullet.model import default_land_model


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
    ccf_excess, rough_ccf, distance, distance_sd, consecutive_non_matching_striae, sum_peaks, cmps
        The other features the land model weighs
        (:class:`~ballistics.bullet.features.LandFeatures`).
    """

    score: float
    ccf: float
    lag_um: float
    overlap_um: float
    matching_striae: int
    non_matching_striae: int
    consecutive_matching_striae: int
    distance_um: float
    rough_ccf: float = 0.0
    distance: float = float("nan")
    distance_sd: float = float("nan")
    consecutive_non_matching_striae: int = 0
    sum_peaks: float = 0.0
    cmps: float = 0.0
    ccf_excess: float = 0.0


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
    margin
        How far the best phase stands above the others: its score minus the mean of the other
        phases' (NaN with a single phase); a known match stands out, a non-match's phases are
        all alike (the idea of the sequence average maximum, Vanderplas et al. [3]_).
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
    margin: float = float("nan")
    kind: str = "bullet"


def compare_lands(
    first: PreparedLand, second: PreparedLand, *, config: BulletConfig = DEFAULT_BULLET_CONFIG
) -> LandComparison:
    """Return the comparison of two prepared lands at their best lateral alignment.

    Both signatures are resampled to one spacing
    (:data:`~ballistics.bullet.features.FEATURE_SPACING_UM`, whatever the scans' resolutions)
    and aligned by the maximum of their normalised cross-correlation over every shift up to
    ``max_lag_um`` that overlaps at least ``min_overlap_fraction`` of the shorter one. At that
    shift the published striation features are measured side by side
    (:func:`~ballistics.bullet.features.land_features`: cross-correlation and rough
    correlation, matching and non-matching striae and their longest runs, Chu et al. [2]_, the
    distance D and its spread, Vanderplas et al. [3]_, the sum of peaks, congruent matching
    profile segments), and the land score is the probability the land model
    (:mod:`ballistics.bullet.model`: a random forest after Hare et al. [1]_, fitted on synthetic
    bullets only) gives them of coming from the same land of one barrel.

    Parameters
    ----------
    first, second
        Prepared lands (:func:`~ballistics.bullet.land.prepare_land`).
    config
        Options (``max_lag_um``, ``min_overlap_fraction``, ``striae_tolerance_um``).

    Returns
    -------
    LandComparison
        ``score`` 0 and no features when no shift overlaps enough.
    """
    features = _features(_signature(first), _signature(second), config)
    scores = _scores([features])
    return _land_comparison(features, float(scores[0]))


def land_score_matrix(
    first: Sequence[PreparedLand],
    second: Sequence[PreparedLand],
    *,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> np.ndarray:
    """Return the matrix of land scores of every land of ``first`` against every of ``second``.

    The same scores as :func:`compare_lands` one pair at a time, with the model asked once.
    """
    signatures_b = [_signature(land) for land in second]
    features = [_features(_signature(a), b, config) for a in first for b in signatures_b]
    return _scores(features).reshape(len(first), len(second))


def compare_bullets(
    first: PreparedBullet,
    second: PreparedBullet,
    *,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> BulletComparison:
    """Return the comparison of two bullets: every land pair, then the best cyclic phase.

    Lands keep their order around a bullet, so a match of bullets is a rotation: land ``k`` of
    one faces land ``k + phase`` (modulo the number of lands) of the other. A phase's score is
    the mean land score over the land pairs that exist at that phase, after the lowest
    ``damaged_land_fraction`` of them (rounded down) drop out: a land missing from either bullet
    has no pair, and a damaged land (striae flattened, part of it lost, tank rash) scores low
    even against its mate, so it drops out instead of pulling a known match down. The bullet
    score is the best phase's; ``margin`` says how far it stands above the other phases.

    ``lead_threshold`` is fitted on synthetic bullets only (``benchmarks/bullet_accuracy.py
    --write-training-table``); its results on the real Hamby sets, which it never saw, are in
    the README's "Bullet results". A lead is worth an examiner's time, never an
    identification.

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
            phase_scores[phase] = phase_score(
                [score for *_, score in pairs], drop_fraction=config.damaged_land_fraction
            )
    phase = int(np.nanargmax(phase_scores))
    score = float(phase_scores[phase])
    others = np.delete(phase_scores, phase)
    margin = score - float(np.nanmean(others)) if np.isfinite(others).any() else float("nan")
    return BulletComparison(
        score=score,
        lead=score >= config.lead_threshold,
        phase=phase,
        land_count=land_count,
        land_scores=land_scores,
        phase_scores=phase_scores,
        aligned_pairs=tuple(pairs_by_phase[phase]),
        margin=margin,
    )


def phase_score(scores: Sequence[float], *, drop_fraction: float) -> float:
    """Return the mean of ``scores`` after the lowest ``drop_fraction`` of them (rounded down)
    drop out."""
    ordered = sorted(scores)
    return float(np.mean(ordered[int(len(ordered) * drop_fraction) :]))


def _signature(land: PreparedLand) -> np.ndarray:
    """Return the land's signature at the features' fixed spacing."""
    return fixed_spacing(land.signature_um, pixel_um=land.pixel_um)


def _features(a: np.ndarray, b: np.ndarray, config: BulletConfig) -> LandFeatures | None:
    return land_features(
        a,
        b,
        max_lag_um=config.max_lag_um,
        min_overlap_fraction=config.min_overlap_fraction,
        tolerance_um=config.striae_tolerance_um,
    )


def _scores(features: Sequence[LandFeatures | None]) -> np.ndarray:
    """Return the land model's score of each pair's features (0 where there are none)."""
    scores = np.zeros(len(features))
    present = [index for index, item in enumerate(features) if item is not None]
    if present:
        rows = np.stack([features[index].vector for index in present])  # type: ignore[union-attr]
        scores[present] = default_land_model().probability(rows)
    return scores


def _land_comparison(features: LandFeatures | None, score: float) -> LandComparison:
    """Return the public record of one land pair's features and score."""
    if features is None:
        return LandComparison(0.0, 0.0, 0.0, 0.0, 0, 0, 0, float("nan"))
    return LandComparison(
        score=score,
        ccf=features.ccf,
        lag_um=features.lag_um,
        overlap_um=features.overlap_um,
        matching_striae=features.matching_striae,
        non_matching_striae=features.non_matching_striae,
        consecutive_matching_striae=features.cms,
        distance_um=features.distance_um,
        rough_ccf=features.rough_ccf,
        distance=features.distance,
        distance_sd=features.distance_sd,
        consecutive_non_matching_striae=features.cnms,
        sum_peaks=features.sum_peaks,
        cmps=features.cmps,
        ccf_excess=features.ccf_excess,
    )

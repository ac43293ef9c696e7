"""Compare two prepared cartridge cases: full-circle registration, then Congruent Matching Cells.

A cartridge case lies in the scanner at any angle, so the comparison first searches the whole
circle, coarse to fine:

1. At ``coarse_pixel_um`` every rotation in ``coarse_angle_step_deg`` steps is tried, each with
   every translation at once through a masked normalised cross-correlation in the Fourier
   domain (Padfield 2012); the best few angles are kept.
2. Around each kept angle, the search is repeated at ``refine_pixel_um`` in
   ``refine_angle_step_deg`` steps; the best (rotation, translation) is the global registration
   and its correlation the overall correlation.
3. At ``cell_pixel_um`` the Congruent Matching Cells method (Song 2013; Tong et al. 2015) is run
   from each scan into the other around the global registration (see :mod:`.cmc`).

The score is the mean of the two directions' congruent-cell counts, a number that is
comparable across pairs of cartridge cases because cells have a fixed physical size
(``cell_um``). ``lead`` compares it with a per-modality threshold calibrated on known
non-matches for a false-positive rate of at most 1 in 1,000 (``benchmarks/calibrate_casing.py``):
the stricter of a negative-binomial tail fitted to the real 3D known non-matches (Fadul and
DFSC; photographs: the synthetic non-matches from different production runs, as no real 2D
known non-matches are at hand), the largest observed known non-match plus half a cell, and
NIST's published criterion of 6 congruent cells. Which of the three binds, and the measured
counts, are in the README's "How the `lead` threshold is calibrated".

References
----------
.. [1] J. Song, "Proposed NIST ballistics identification system (NBIS) based on 3D topography
   measurements on correlation cells", AFTE Journal 45(2), 184-194 (2013).
.. [2] M. Tong, J. Song, W. Chu, "An improved algorithm of congruent matching cells (CMC) method
   for firearm evidence identifications", J. Res. NIST 120, 102-112 (2015).
.. [3] D. Padfield, "Masked object registration in the Fourier domain", IEEE Trans. Image
   Processing 21(5), 2706-2718 (2012).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ballistics.casing.cmc import (
    CellRegistration,
    CellSettings,
    pairwise_correlation,
    register_cells,
)
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.registration import (
    fixed_spectra,
    map_peaks,
    masked_ncc_maps,
    parabolic_offset,
    rotate_batch,
    rotate_masked,
    subpixel_peak,
)
from ballistics.surface import Modality


@dataclass(frozen=True)
class CompareConfig:
    """Settings of the casing comparison; lengths in micrometres, angles in degrees.

    The cell settings start from the published CMC work on the Fadul set (Song 2013; cmcR):
    cells of about 400 µm, correlation threshold 0.5, rotation tolerance 6°. Two changes, both
    measured on Fadul known non-matches: each cell is searched over a wide window (±400 µm)
    around the global registration, so that agreeing by chance is unlikely; and a cell is judged
    by where its own registration lands its centre (within ``translation_tolerance_um`` of the
    consensus landing place) rather than by its raw translation, because a 32-pixel cell's own
    angle is poorly determined and a wrong angle moves it sideways (see :mod:`.cmc`).

    Photographs get their own cell correlation threshold: under ring light, the cells of the
    NBIDE known-match pair correlate well below what 3D cells reach (README, "How the `lead`
    threshold is calibrated"), so 0.5 would throw most true cells away. Each modality has its
    own ``lead`` threshold, set from known non-matches of that modality
    (``benchmarks/calibrate_casing.py``).

    When either casing's pixel size was estimated (``PreparedCasing.scale_uncertainty``, e.g.
    from the primer of a photograph's calibre), the questioned casing is also searched over
    scale: every ``scale_step`` within the two uncertainties together (at most
    ``max_scale_range``) by the coarse full-circle registration, the ``scale_candidates`` best
    refined, the best of those compared by cells. A scale error of 8 % moves a cell 2 mm from
    the axis by 160 µm, twice the congruence tolerance, so without the search such a pair
    loses its congruent cells.
    """

    coarse_pixel_um: float = 50.0
    coarse_angle_step_deg: float = 3.0
    coarse_candidates: int = 2
    refine_pixel_um: float = 25.0
    refine_angle_step_deg: float = 1.0
    refine_angle_range_deg: float = 2.0
    max_translation_um: float = 800.0
    min_overlap_fraction: float = 0.4
    cell_pixel_um: float = 12.5
    cell_um: float = 400.0
    cell_search_margin_um: float = 400.0
    cell_min_valid_fraction: float = 0.15
    cell_angle_range_deg: float = 3.0
    cell_angle_step_deg: float = 3.0
    correlation_threshold: float = 0.5
    photograph_correlation_threshold: float = 0.35
    rotation_tolerance_deg: float = 6.0
    cell_peak_margin: float = 0.1
    firing_pin_angle_range_deg: float = 6.0
    firing_pin_max_translation_um: float = 150.0
    translation_tolerance_um: float = 75.0
    lead_threshold: float = 6.0
    photograph_lead_threshold: float = 6.0
    scale_step: float = 0.02
    max_scale_range: float = 0.2
    scale_candidates: int = 3

    def __post_init__(self) -> None:
        for name in ("coarse_pixel_um", "refine_pixel_um", "cell_pixel_um", "cell_um"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive length in micrometres.")
        if not self.coarse_pixel_um >= self.refine_pixel_um >= self.cell_pixel_um:
            raise ValueError(
                "Resolutions must go coarse to fine: coarse_pixel_um >= refine_pixel_um >= "
                "cell_pixel_um."
            )
        if not 0 < self.coarse_angle_step_deg <= 30:
            raise ValueError("coarse_angle_step_deg must be in (0, 30].")
        if not 0 < self.scale_step <= 0.1 or not 0 <= self.max_scale_range < 0.5:
            raise ValueError(
                "scale_step must be in (0, 0.1] and max_scale_range in [0, 0.5) (relative "
                "scales; the defaults are 0.02 and 0.2)."
            )
        if self.scale_candidates < 1:
            raise ValueError("scale_candidates must be at least 1.")

    def threshold_for(self, modality: Modality) -> float:
        """The ``lead`` score threshold for marks of this modality."""
        if modality is Modality.PHOTOGRAPH:
            return self.photograph_lead_threshold
        return self.lead_threshold


DEFAULT_COMPARE_CONFIG = CompareConfig()


@dataclass(frozen=True)
class CellResult:
    """One reference cell: where it is and where it registered in the other scan."""

    row_um: float
    column_um: float
    size_um: float
    correlation: float
    rotation_deg: float
    translation_um: tuple[float, float]
    congruent: bool


@dataclass(frozen=True)
class CasingComparison:
    """The result of comparing two cartridge cases.

    ``rotation_deg`` and ``translation_um`` (rows, columns) move the questioned scan onto the
    reference: rotate it counter-clockwise (as displayed, rows down) about its centre, then
    shift it. ``cells`` are the reference's cells (reference -> questioned direction).
    ``scale`` is the factor the questioned casing's pixel size was multiplied by before (1.0
    unless a pixel size was estimated and searched, see :class:`CompareConfig`).
    """

    score: float
    lead: bool
    cmc_count: int
    cmc_fraction: float
    valid_cells: int
    rotation_deg: float
    translation_um: tuple[float, float]
    correlation: float
    firing_pin_correlation: float | None
    cells: tuple[CellResult, ...]
    cmc_count_reverse: int = 0
    valid_cells_reverse: int = 0
    kind: str = "cartridge_case"
    scale: float = 1.0


def resample_masked(values: np.ndarray, from_pixel_um: float, to_pixel_um: float) -> np.ndarray:
    """NaN-aware area resampling; a point stays valid when most of its area was measured.

    Unlike :func:`ballistics.casing.filters.resample` (which scales by the exact factor), this
    asks OpenCV for a whole output size, so that the output's centre pixel is exactly the
    input's: comparisons rotate about the array centre, and a half-pixel drift between levels
    would show in the registration.
    """
    if math.isclose(from_pixel_um, to_pixel_um, rel_tol=1e-6):
        return values.astype(np.float32)
    mask = np.isfinite(values).astype(np.float32)
    filled = np.where(mask > 0, values, 0.0).astype(np.float32)
    factor = from_pixel_um / to_pixel_um
    size = (max(1, round(values.shape[1] * factor)), max(1, round(values.shape[0] * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(filled, size, interpolation=interpolation)
    weights = cv2.resize(mask, size, interpolation=interpolation)
    valid = weights > 0.5
    return np.where(valid, resized / np.where(valid, weights, 1.0), np.nan).astype(np.float32)


def pad_to_square(values: np.ndarray, size: int) -> np.ndarray:
    """Pad a square array with NaN to ``size`` x ``size``, keeping its centre at the centre."""
    rows, columns = values.shape
    if rows == size and columns == size:
        return values
    out = np.full((size, size), np.nan, dtype=np.float32)
    top, left = (size - rows) // 2, (size - columns) // 2
    out[top : top + rows, left : left + columns] = values
    return out


def _standardise(values: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance over the valid points (NaN elsewhere)."""
    valid = np.isfinite(values)
    if valid.sum() < 2:
        return values
    centred = values - np.nanmean(values)
    spread = float(np.nanstd(centred))
    return centred / spread if spread > 0 else centred


@dataclass(frozen=True, eq=False)
class CasingPyramid:
    """One prepared casing at the three comparison resolutions, standardised.

    Built once per casing by :func:`comparison_pyramid` and reused for every comparison it takes
    part in (a casing searched against many others is resampled once, not once per pair).
    """

    coarse: np.ndarray
    refine: np.ndarray
    cells: np.ndarray
    modality: Modality
    mark: PreparedCasing


def comparison_pyramid(
    mark: PreparedCasing, *, config: CompareConfig = DEFAULT_COMPARE_CONFIG
) -> CasingPyramid:
    """Resample a prepared casing to the comparison resolutions, finest first.

    Each level is computed from the one finer than it, so the full-resolution scan is read once.
    """
    cells = resample_masked(mark.breech_face, mark.pixel_um, config.cell_pixel_um)
    refine = resample_masked(cells, config.cell_pixel_um, config.refine_pixel_um)
    coarse = resample_masked(refine, config.refine_pixel_um, config.coarse_pixel_um)
    return CasingPyramid(
        coarse=_standardise(coarse),
        refine=_standardise(refine),
        cells=_standardise(cells),
        modality=mark.modality,
        mark=mark,
    )


def _common_size(first: np.ndarray, second: np.ndarray) -> int:
    return max(*first.shape, *second.shape)


def _search_angles(
    fixed: np.ndarray,
    moving: np.ndarray,
    angles_deg: np.ndarray,
    *,
    max_shift_px: int,
    min_overlap_fraction: float,
    assume_zero_mean: bool = False,
) -> np.ndarray:
    """Masked NCC maps of ``moving`` rotated by each angle against ``fixed`` (see
    :func:`masked_ncc_maps`)."""
    fixed_mask = np.isfinite(fixed)
    moving_mask = np.isfinite(moving)
    spectra = fixed_spectra(fixed, fixed_mask, moving_shape=moving.shape, max_shift_px=max_shift_px)
    rotated_values, rotated_masks = rotate_batch(moving, moving_mask, angles_deg)
    min_overlap = int(min_overlap_fraction * min(fixed_mask.sum(), moving_mask.sum()))
    return masked_ncc_maps(
        spectra,
        rotated_values,
        rotated_masks,
        min_overlap_points=max(min_overlap, 64),
        assume_zero_mean=assume_zero_mean,
    )


def _peak_angles(angles_deg: np.ndarray, correlation: np.ndarray, count: int) -> list[float]:
    """The ``count`` best local maxima of a circular correlation-versus-angle curve."""
    left = np.roll(correlation, 1)
    right = np.roll(correlation, -1)
    peaks = np.flatnonzero((correlation >= left) & (correlation >= right))
    order = peaks[np.argsort(correlation[peaks])[::-1]]
    return [float(angles_deg[i]) for i in order[:count]]


def _register_globally(
    reference: tuple[np.ndarray, np.ndarray],
    questioned: tuple[np.ndarray, np.ndarray],
    config: CompareConfig,
) -> tuple[float, tuple[float, float], float]:
    """Full-circle coarse-to-fine registration: (angle_deg, shift_um, correlation).

    The final angle and shift are refined below the search steps by parabola fits through the
    correlation peak (angle from the neighbouring angles, shift from the neighbouring shifts).
    """
    coarse_angles = np.arange(-180.0, 180.0, config.coarse_angle_step_deg)
    coarse_maps = _search_angles(
        reference[0],
        questioned[0],
        coarse_angles,
        max_shift_px=math.ceil(config.max_translation_um / config.coarse_pixel_um),
        min_overlap_fraction=config.min_overlap_fraction,
        assume_zero_mean=True,
    )
    coarse_correlation, _, _ = map_peaks(coarse_maps)
    candidates = _peak_angles(coarse_angles, coarse_correlation, config.coarse_candidates)
    half = config.refine_angle_range_deg
    offsets = np.arange(-half, half + 1e-9, config.refine_angle_step_deg)
    refine_angles = np.concatenate([candidate + offsets for candidate in candidates])
    maps = _search_angles(
        reference[1],
        questioned[1],
        refine_angles,
        max_shift_px=math.ceil(config.max_translation_um / config.refine_pixel_um),
        min_overlap_fraction=config.min_overlap_fraction,
        assume_zero_mean=True,
    )
    correlation, shift_rows, shift_columns = map_peaks(maps)
    best = int(np.argmax(correlation))
    angle = float(refine_angles[best])
    within_group = best % len(offsets)
    if 0 < within_group < len(offsets) - 1:
        angle += config.refine_angle_step_deg * parabolic_offset(
            correlation[best - 1], correlation[best], correlation[best + 1]
        )
    half_window = maps.shape[1] // 2
    row, column = subpixel_peak(
        maps[best], int(shift_rows[best]) + half_window, int(shift_columns[best]) + half_window
    )
    shift_px = (row - half_window, column - half_window)
    shift_um = (shift_px[0] * config.refine_pixel_um, shift_px[1] * config.refine_pixel_um)
    # The searches assumed zero local means to save transforms; the reported correlation is the
    # exact one, over the points both scans measured, at the registration found.
    moved, moved_mask = rotate_masked(
        questioned[1], np.isfinite(questioned[1]), angle, shift_px=shift_px
    )
    exact = pairwise_correlation(reference[1], np.isfinite(reference[1]), moved, moved_mask)
    return (angle + 180.0) % 360.0 - 180.0, shift_um, exact


def _cell_settings(config: CompareConfig, modality: Modality) -> CellSettings:
    pixel = config.cell_pixel_um
    half = config.cell_angle_range_deg
    offsets = np.arange(-half, half + 1e-9, config.cell_angle_step_deg)
    return CellSettings(
        cell_px=max(4, round(config.cell_um / pixel)),
        search_margin_px=max(1, round(config.cell_search_margin_um / pixel)),
        min_valid_fraction=config.cell_min_valid_fraction,
        angles_deg=tuple(float(offset) for offset in offsets),
        correlation_threshold=(
            config.photograph_correlation_threshold
            if modality is Modality.PHOTOGRAPH
            else config.correlation_threshold
        ),
        rotation_tolerance_deg=config.rotation_tolerance_deg,
        translation_tolerance_px=config.translation_tolerance_um / pixel,
        min_peak_margin=config.cell_peak_margin,
    )


def _inverse_registration(
    angle_deg: float, shift_um: tuple[float, float]
) -> tuple[float, tuple[float, float]]:
    """The transform taking the reference onto the questioned scan, given the converse.

    Forward: q -> R(angle) q + t about the common centre. Inverse: r -> R(-angle) (r - t).
    """
    radians = math.radians(angle_deg)
    cosine, sine = math.cos(radians), math.sin(radians)
    rows, columns = shift_um
    # cv2's counter-clockwise rotation in (x = column, y = row) image coordinates is
    # [[cos, sin], [-sin, cos]] applied to (x, y); its inverse is the transpose.
    inverse_x = -(cosine * columns - sine * rows)
    inverse_y = -(sine * columns + cosine * rows)
    return -angle_deg, (inverse_y, inverse_x)


def _firing_pin_correlation(
    reference: PreparedCasing,
    questioned: PreparedCasing,
    config: CompareConfig,
    *,
    breech_face_angle_deg: float,
) -> float | None:
    """Masked correlation of the two firing-pin impressions, when both have one.

    The firing pin sits in the breech face, so its impression turns with the breech-face
    impression: only angles near the breech-face registration are searched.
    """
    if reference.firing_pin is None or questioned.firing_pin is None:
        return None
    pixel = config.cell_pixel_um
    first = resample_masked(reference.firing_pin, reference.pixel_um, pixel)
    second = resample_masked(questioned.firing_pin, questioned.pixel_um, pixel)
    size = max(*first.shape, *second.shape)
    first = _standardise(pad_to_square(first, size))
    second = _standardise(pad_to_square(second, size))
    if np.isfinite(first).sum() < 64 or np.isfinite(second).sum() < 64:
        return None
    half = config.firing_pin_angle_range_deg
    angles = breech_face_angle_deg + np.arange(-half, half + 1e-9, config.refine_angle_step_deg)
    maps = _search_angles(
        first,
        second,
        angles,
        max_shift_px=max(1, round(config.firing_pin_max_translation_um / pixel)),
        min_overlap_fraction=config.min_overlap_fraction,
    )
    return float(maps.max())


def compare_casings(
    reference: PreparedCasing,
    questioned: PreparedCasing,
    *,
    config: CompareConfig = DEFAULT_COMPARE_CONFIG,
) -> CasingComparison:
    """Compare two prepared cartridge cases by registration and Congruent Matching Cells.

    Parameters
    ----------
    reference, questioned
        Prepared breech faces (:func:`ballistics.casing.prepare.prepare_casing`), of the same
        modality.
    config
        Resolutions, search ranges and CMC thresholds.

    Returns
    -------
    CasingComparison
        Score (mean congruent-cell count of both directions), decision, CMC counts, global
        registration and overall correlation.

    Raises
    ------
    ValueError
        If the two marks are of different modalities (a photograph is never compared with a
        topography: their values mean different things).

    See Also
    --------
    compare_pyramids : the same on casings already resampled, for one casing against many.
    """
    _check_modalities(reference.modality, questioned.modality)
    return compare_pyramids(
        comparison_pyramid(reference, config=config),
        comparison_pyramid(questioned, config=config),
        config=config,
    )


def _check_modalities(first: Modality, second: Modality) -> None:
    if first != second:
        raise ValueError(
            f"cannot compare a {first.value} with a {second.value}; compare scans of the same "
            "modality."
        )


def compare_pyramids(
    reference: CasingPyramid,
    questioned: CasingPyramid,
    *,
    config: CompareConfig = DEFAULT_COMPARE_CONFIG,
) -> CasingComparison:
    """:func:`compare_casings` on casings already resampled by :func:`comparison_pyramid`.

    The pyramids must have been built with the same ``config`` resolutions.
    """
    _check_modalities(reference.modality, questioned.modality)
    scale_range = min(
        reference.mark.scale_uncertainty + questioned.mark.scale_uncertainty,
        config.max_scale_range,
    )
    scale = 1.0
    if scale_range > 0:
        registered = []
        for candidate in _scale_candidates(reference, questioned, scale_range, config):
            scaled = _scaled_pyramid(questioned, candidate, config)
            registered.append((_register_levels(reference, scaled, config), candidate, scaled))
        registration, scale, questioned = max(registered, key=lambda entry: entry[0][2][2])
    else:
        registration = _register_levels(reference, questioned, config)
    reference_cells, questioned_cells, (angle, shift_um, correlation) = registration

    settings = _cell_settings(config, reference.modality)
    pixel = config.cell_pixel_um
    forward = _run_cells(reference_cells, questioned_cells, angle, shift_um, pixel, settings)
    reverse_angle, reverse_shift = _inverse_registration(angle, shift_um)
    reverse = _run_cells(
        questioned_cells, reference_cells, reverse_angle, reverse_shift, pixel, settings
    )
    forward_count = sum(cell.congruent for cell in forward)
    reverse_count = sum(cell.congruent for cell in reverse)
    score = (forward_count + reverse_count) / 2.0
    valid_cells = len(forward)
    cells = tuple(
        CellResult(
            row_um=cell.row_px * pixel,
            column_um=cell.column_px * pixel,
            size_um=settings.cell_px * pixel,
            correlation=cell.correlation,
            rotation_deg=cell.angle_deg,
            translation_um=(
                shift_um[0] + cell.shift_rows_px * pixel,
                shift_um[1] + cell.shift_columns_px * pixel,
            ),
            congruent=cell.congruent,
        )
        for cell in forward
    )
    return CasingComparison(
        score=score,
        lead=score >= config.threshold_for(reference.modality),
        cmc_count=min(forward_count, reverse_count),
        cmc_fraction=(forward_count / valid_cells) if valid_cells else 0.0,
        valid_cells=valid_cells,
        rotation_deg=angle,
        translation_um=shift_um,
        correlation=correlation,
        firing_pin_correlation=_firing_pin_correlation(
            reference.mark, questioned.mark, config, breech_face_angle_deg=angle
        ),
        cells=cells,
        cmc_count_reverse=reverse_count,
        valid_cells_reverse=len(reverse),
        scale=scale,
    )


_Registration = tuple[np.ndarray, np.ndarray, tuple[float, tuple[float, float], float]]


def _register_levels(
    reference: CasingPyramid, questioned: CasingPyramid, config: CompareConfig
) -> _Registration:
    """Pad each level of both pyramids to a common square and register them globally:
    (reference cells, questioned cells, (angle, shift, correlation))."""
    levels = []
    for first, second in (
        (reference.coarse, questioned.coarse),
        (reference.refine, questioned.refine),
        (reference.cells, questioned.cells),
    ):
        size = _common_size(first, second)
        levels.append((pad_to_square(first, size), pad_to_square(second, size)))
    (reference_coarse, questioned_coarse), (reference_refine, questioned_refine), cells = levels
    registration = _register_globally(
        (reference_coarse, reference_refine), (questioned_coarse, questioned_refine), config
    )
    return cells[0], cells[1], registration


def _scaled_pyramid(pyramid: CasingPyramid, scale: float, config: CompareConfig) -> CasingPyramid:
    """The pyramid of the same mark with its pixel size multiplied by ``scale``."""
    if scale == 1.0:
        return pyramid
    mark = pyramid.mark
    return comparison_pyramid(replace(mark, pixel_um=mark.pixel_um * scale), config=config)


def _scale_candidates(
    reference: CasingPyramid, questioned: CasingPyramid, scale_range: float, config: CompareConfig
) -> list[float]:
    """The scales of the questioned casing whose full-circle registration correlates best.

    Every ``config.scale_step`` within ``scale_range`` is tried on a grid twice as coarse as the
    coarse level, every second coarse angle (a fifth of the coarse search's work each: the
    finer levels would cost many times more); the ``config.scale_candidates`` best go on to the
    full registration.
    """
    steps = math.ceil(scale_range / config.scale_step - 1e-9)
    scales = 1.0 + config.scale_step * np.arange(-steps, steps + 1)
    pixel_um = 2.0 * config.coarse_pixel_um
    angles = np.arange(-180.0, 180.0, 2.0 * config.coarse_angle_step_deg)
    fixed = _standardise(resample_masked(reference.coarse, config.coarse_pixel_um, pixel_um))
    mark = questioned.mark
    peaks = []
    for scale in scales:
        moving = _standardise(
            resample_masked(mark.breech_face, mark.pixel_um * float(scale), pixel_um)
        )
        size = _common_size(fixed, moving)
        maps = _search_angles(
            pad_to_square(fixed, size),
            pad_to_square(moving, size),
            angles,
            max_shift_px=math.ceil(config.max_translation_um / pixel_um),
            min_overlap_fraction=config.min_overlap_fraction,
            assume_zero_mean=True,
        )
        peaks.append(float(map_peaks(maps)[0].max()))
    order = np.argsort(peaks)[::-1][: config.scale_candidates]
    return [float(scales[index]) for index in order]


def _run_cells(
    fixed: np.ndarray,
    moving: np.ndarray,
    angle_deg: float,
    shift_um: tuple[float, float],
    pixel_um: float,
    settings: CellSettings,
) -> list[CellRegistration]:
    fixed_mask = np.isfinite(fixed)
    moving_mask = np.isfinite(moving)
    return register_cells(
        fixed,
        fixed_mask,
        moving,
        moving_mask,
        base_angle_deg=angle_deg,
        base_shift_px=(shift_um[0] / pixel_um, shift_um[1] / pixel_um),
        settings=settings,
    )

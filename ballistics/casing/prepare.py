"""Prepare a cartridge case for comparison: region of interest, levelling, band-pass, resampling.

``prepare_casing`` turns any :class:`~ballistics.surface.Surface` of a cartridge case (a raw
topography of the primer area, an already processed breech-face scan, or a ring-light photograph)
into a :class:`~ballistics.casing.marks.PreparedCasing`: the breech-face impression alone, on a
square grid at the working resolution with the cartridge axis at its centre, and the firing-pin
impression as a mark of its own when the scan holds one.

References
----------
.. [1] J. Song, W. Chu, M. Tong and J. Soons, "3D topography measurements on correlation cells - a
   new approach to forensic ballistics identifications", Meas. Sci. Technol. 25, 064005, 2014.
.. [2] J. Zemmels, H. Hofmann and S. VanderPlas, "Zeroing in on automatic cartridge case
   comparisons: the cmcR package", The R Journal 14(4), 2023.
.. [3] ISO 16610-61:2015, Linear areal filters - Gaussian filters.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import skew as skewness

from ballistics.casing.filters import (
    cutoff_to_sigma_px,
    flatten_illumination,
    gaussian_bandpass,
    gaussian_smooth,
    level,
    remove_concentric_profile,
    remove_outliers,
    resample_centred,
    standardise,
)
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.roi import BreechFaceRegion, RegionConfig, find_breech_face
from ballistics.errors import EvidenceError, check_resolution
from ballistics.io.limits import DEFAULT_LIMITS, check_points
from ballistics.surface import Modality, Surface

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrepareConfig:
    """Options of :func:`prepare_casing`; change one with :func:`dataclasses.replace`.

    Parameters
    ----------
    working_pixel_um
        Grid spacing of the prepared marks.
    scan_pixel_um_range
        (finest, coarsest) grid spacing of a scan accepted, in micrometres per pixel. Coarser
        than 25 µm the breech-face marks (band-pass from 16 µm) are not in the scan: such a
        file is a preview, an export in the wrong unit or not a casing; finer than 0.5 µm no
        casing scanner works, and the resampling to ``working_pixel_um`` would cost more than
        any real scan.
    max_grid_points
        Most points of any grid a scan is resampled to, computed before it is allocated.
    bandpass_um
        (short, long) cutoff wavelengths of the Gaussian band-pass (ISO 16610-61, 50 %
        transmission at the cutoff); 16-500 µm is NIST's band for breech faces [1]_.
    level_order
        Degree of the robust polynomial form removed from the breech face before filtering
        (1: plane; 2: also the dome of a primer).
    firing_pin_level_order
        Same for the firing-pin impression (2 takes most of a crater's bowl off).
    outlier_sigmas
        Points of the levelled surface further than this many robust sigmas (1.4826 MAD) from
        its long-cutoff smoothing are spikes or drop-outs and become missing.
    illumination_cutoff_um
        Photographs: scale of the large-scale lighting divided out before the band-pass.
    min_region_area_mm2
        Smallest breech-face area (measured, after preparation) worth comparing.
    min_valid_fraction
        Smallest share of the region of interest still measured after outlier removal and
        filtering; below it the scan is mostly noise.
    remove_concentric
        Subtract from the breech face whatever is the same all round the cartridge axis
        (:func:`~ballistics.casing.filters.remove_concentric_profile`): the lip around the
        firing-pin crater and concentric ammunition features would otherwise make unrelated
        casings alike.
    keep_firing_pin
        Extract the firing-pin impression as its own mark when one is found.
    firing_pin_margin_um
        Kept distance outside the firing-pin impression's rim in its own mark.
    photograph_negate_below_skewness
        Photographs whose prepared breech face is skewed below this are negated, and so is their
        firing-pin mark. A ring light's elevation decides whether the marks show bright on a
        darker primer (low lights: the slopes of the marks catch the light) or dark on a
        bright one (high lights: the flat primer mirrors them); the two are near negatives of
        each other and would not correlate. Marks are sparse steep features on a flat primer,
        so their band-passed photograph is skewed towards the side the marks show on; turning
        every photograph to positive skew puts both kinds of light on one scale, decided from
        each photograph alone (never by trying both signs on a pair, which lines up the marks
        consecutively made pistols share). Set below, not at, zero: a photograph with little
        skew (an oblique light, whose shading is mostly the marks' slope along the light)
        keeps its sign. ``None`` keeps every photograph as it is.
    region
        Options of the region-of-interest search (:class:`~ballistics.casing.roi.RegionConfig`).
    """

    working_pixel_um: float = 6.25
    scan_pixel_um_range: tuple[float, float] = (0.5, 25.0)
    max_grid_points: int = DEFAULT_LIMITS.max_points
    bandpass_um: tuple[float, float] = (16.0, 500.0)
    level_order: int = 2
    firing_pin_level_order: int = 2
    outlier_sigmas: float = 6.0
    illumination_cutoff_um: float = 500.0
    min_region_area_mm2: float = 0.5
    min_valid_fraction: float = 0.5
    remove_concentric: bool = True
    keep_firing_pin: bool = True
    firing_pin_margin_um: float = 50.0
    photograph_negate_below_skewness: float | None = -0.5
    region: RegionConfig = field(default_factory=RegionConfig)

    def __post_init__(self) -> None:
        if not self.working_pixel_um > 0:
            raise ValueError(
                f"working_pixel_um must be a positive number of micrometres, got "
                f"{self.working_pixel_um!r}."
            )
        finest_um, coarsest_um = self.scan_pixel_um_range
        if not 0 < finest_um <= coarsest_um:
            raise ValueError(
                f"scan_pixel_um_range must be (finest, coarsest) micrometres per pixel with "
                f"0 < finest <= coarsest, got {self.scan_pixel_um_range!r}; the default is "
                "(0.5, 25.0)."
            )
        if not self.max_grid_points > 0:
            raise ValueError(f"max_grid_points must be positive, got {self.max_grid_points!r}.")
        short_um, long_um = self.bandpass_um
        if not 0 < short_um < long_um:
            raise ValueError(
                f"bandpass_um must be (short, long) cutoffs with 0 < short < long, got "
                f"{self.bandpass_um!r}; NIST uses (16.0, 500.0)."
            )
        for name in ("level_order", "firing_pin_level_order"):
            if getattr(self, name) not in range(5):
                raise ValueError(f"{name} must be an integer from 0 to 4.")
        if not self.outlier_sigmas > 0:
            raise ValueError("outlier_sigmas must be a positive number of robust sigmas.")
        if not 0 <= self.min_valid_fraction < 1:
            raise ValueError("min_valid_fraction must be a fraction in [0, 1).")


def prepare_casing(surface: Surface, *, config: PrepareConfig = PrepareConfig()) -> PreparedCasing:
    """Return the breech-face (and firing-pin) marks of a cartridge case, ready for comparison.

    Steps: find the region of interest (:func:`~ballistics.casing.roi.find_breech_face`), set
    everything outside it missing, resample it to ``working_pixel_um`` onto a square grid whose
    centre pixel is exactly the cartridge axis (NaN-aware anti-aliasing and bilinear sampling,
    :func:`~ballistics.casing.filters.resample_centred`; a scan already at the working
    resolution is only moved by whole pixels, its axis within half a pixel of the centre),
    remove a robust polynomial form, make spikes missing, and band-pass between the two cutoffs
    with NaN-aware Gaussian filters [3]_ (photographs: divide the lighting out first, and scale
    to zero mean and unit variance last). The firing-pin impression, when found, goes through
    the same steps on its own square centred on it.

    Parameters
    ----------
    surface
        A topography (heights in µm) or a photograph (intensities in [0, 1]) of a cartridge
        case's head: raw, already processed (Fadul-like) or with a lab-annotated region.
    config
        Preparation options.

    Returns
    -------
    PreparedCasing
        float32 marks at ``config.working_pixel_um``, NaN outside the region of interest.

    Raises
    ------
    ResolutionOutOfRangeError
        The scan's grid spacing is outside ``config.scan_pixel_um_range``.
    LimitExceededError
        A resampled mark would hold more than ``config.max_grid_points`` points.
    EvidenceError
        The surface has no measured point, no primer is found on a raw scan, or the breech-face
        region left is empty or too small; the message names the file.

    References
    ----------
    .. [1] J. Song et al., Meas. Sci. Technol. 25, 064005, 2014.
    .. [2] J. Zemmels et al., The R Journal 14(4), 2023.
    .. [3] ISO 16610-61:2015.
    """
    check_casing_resolution(surface.pixel_um, name=surface.source, config=config)
    if not surface.mask.any():
        raise EvidenceError(surface.source, "the surface holds no measured point.")
    region = find_breech_face(surface, config=config.region)
    breech_face = _prepare_mark(
        surface,
        region.mask,
        centre_x_um=region.centre_x_um,
        centre_y_um=region.centre_y_um,
        level_order=config.level_order,
        config=config,
        what="breech-face region of interest",
    )
    if config.remove_concentric:
        breech_face = remove_concentric_profile(breech_face)
        if surface.modality is Modality.PHOTOGRAPH:
            breech_face = standardise(breech_face)
    firing_pin = _prepare_firing_pin(surface, region, config)
    if surface.modality is Modality.PHOTOGRAPH and _negated_contrast(breech_face, config):
        breech_face = -breech_face
        firing_pin = None if firing_pin is None else -firing_pin
    return PreparedCasing(
        breech_face=breech_face,
        pixel_um=config.working_pixel_um,
        modality=surface.modality,
        firing_pin=firing_pin,
        sha256=surface.sha256,
        source=surface.source,
        scale_uncertainty=scale_uncertainty(surface),
    )


#: ``Surface.metadata`` key of the largest relative error of an estimated pixel size.
PIXEL_UM_UNCERTAINTY_KEY = "pixel_um_relative_uncertainty"


def scale_uncertainty(surface: Surface) -> float:
    """The largest relative error of the surface's pixel size: 0 unless it was estimated."""
    value = surface.metadata.get(PIXEL_UM_UNCERTAINTY_KEY)
    return float(value) if value else 0.0


def _negated_contrast(breech_face: np.ndarray, config: PrepareConfig) -> bool:
    """Whether a photograph's marks show dark on bright (``photograph_negate_below_skewness``)."""
    if config.photograph_negate_below_skewness is None:
        return False
    values = breech_face[np.isfinite(breech_face)].astype(np.float64)
    if values.size < 3:
        return False
    return bool(skewness(values) < config.photograph_negate_below_skewness)


def check_casing_resolution(
    pixel_um: float, *, name: str, config: PrepareConfig = PrepareConfig()
) -> None:
    """Refuse a cartridge-case scan spacing outside ``config.scan_pixel_um_range``.

    Called on the spacing a file's header declares, before it is decoded, and again by
    :func:`prepare_casing` on the surface read.

    Raises
    ------
    ResolutionOutOfRangeError
        Naming the file and saying whether the scan is too coarse or too fine.
    """
    check_resolution(
        pixel_um, allowed_um=config.scan_pixel_um_range, name=name, what="cartridge case"
    )


def _prepare_firing_pin(
    surface: Surface, region: BreechFaceRegion, config: PrepareConfig
) -> np.ndarray | None:
    circle = region.firing_pin
    if not config.keep_firing_pin or circle is None:
        return None
    rows, columns = np.ogrid[: surface.shape[0], : surface.shape[1]]
    radius_px = (circle.radius_um + config.firing_pin_margin_um) / surface.pixel_um
    inside = (rows - circle.y_um / surface.pixel_um) ** 2 + (
        columns - circle.x_um / surface.pixel_um
    ) ** 2 <= radius_px**2
    try:
        return _prepare_mark(
            surface,
            inside & surface.mask,
            centre_x_um=circle.x_um,
            centre_y_um=circle.y_um,
            level_order=config.firing_pin_level_order,
            config=config,
            what="firing-pin impression",
            min_area_mm2=0.0,
        )
    except EvidenceError as error:
        # The breech face is the evidence asked for; a firing pin too small to use is left out.
        logger.info("%s: firing-pin mark left out: %s", surface.source, error.problem)
        return None


def _prepare_mark(
    surface: Surface,
    keep: np.ndarray,
    *,
    centre_x_um: float,
    centre_y_um: float,
    level_order: int,
    config: PrepareConfig,
    what: str,
    min_area_mm2: float | None = None,
) -> np.ndarray:
    """Crop, resample, level, clean and band-pass one mark onto a square centred on its axis."""
    pixel_um = surface.pixel_um
    working_um = config.working_pixel_um
    rows, columns = np.nonzero(keep)
    if rows.size == 0:
        raise EvidenceError(surface.source, f"the {what} is empty.")
    centre_row, centre_column = centre_y_um / pixel_um, centre_x_um / pixel_um
    reach_px = float(np.sqrt(((rows - centre_row) ** 2 + (columns - centre_column) ** 2).max()))
    step = working_um / pixel_um
    half = math.ceil(reach_px / step) + 1
    check_points(
        (2 * half + 1) ** 2,
        max_points=config.max_grid_points,
        name=surface.source,
        what=f"the {what} resampled to {working_um:g} µm per pixel",
    )
    # Work on the kept area's bounding box only (plus a margin for the anti-aliasing filter).
    pad = math.ceil(2 * step) + 2
    top, bottom = max(rows.min() - pad, 0), min(rows.max() + pad + 1, surface.shape[0])
    left, right = max(columns.min() - pad, 0), min(columns.max() + pad + 1, surface.shape[1])
    crop = np.where(keep, surface.values, np.nan)[top:bottom, left:right].astype(np.float32)
    if abs(step - 1.0) < 1e-6:
        # Already at the working resolution: taken as it is, placed to the nearest pixel (the
        # axis within half a pixel of the centre) rather than interpolated.
        square = np.full((2 * half + 1, 2 * half + 1), np.nan, dtype=np.float32)
        _paste(square, crop, half - round(centre_row) + top, half - round(centre_column) + left)
    else:
        square = resample_centred(
            crop,
            pixel_um=pixel_um,
            target_pixel_um=working_um,
            centre_px=(centre_row - top, centre_column - left),
            half_size=half,
            name=surface.source,
            max_points=config.max_grid_points,
        )
    region_count = rows.size / step**2
    square = _condition(square, surface.modality, level_order=level_order, config=config)

    valid_count = int(np.isfinite(square).sum())
    area_mm2 = valid_count * working_um**2 / 1e6
    needed_mm2 = config.min_region_area_mm2 if min_area_mm2 is None else min_area_mm2
    if valid_count == 0 or area_mm2 < needed_mm2:
        raise EvidenceError(
            surface.source,
            f"the {what} is too small: {area_mm2:.2f} mm² measured after preparation, at least "
            f"{needed_mm2:.2f} mm² needed; check that the scan shows the breech-face impression.",
        )
    if region_count and valid_count < config.min_valid_fraction * region_count:
        raise EvidenceError(
            surface.source,
            f"only {valid_count / region_count:.0%} of the {what} survives outlier removal and "
            "filtering; the scan is mostly noise or drop-outs.",
        )
    return square


def _condition(
    values: np.ndarray, modality: Modality, *, level_order: int, config: PrepareConfig
) -> np.ndarray:
    """Level (or flatten the lighting), make outliers missing, band-pass (and standardise)."""
    working_um = config.working_pixel_um
    long_sigma_px = cutoff_to_sigma_px(config.bandpass_um[1], pixel_um=working_um)
    if modality is Modality.PHOTOGRAPH:
        values = flatten_illumination(
            values, pixel_um=working_um, cutoff_um=config.illumination_cutoff_um
        )
    else:
        terms = (level_order + 1) * (level_order + 2) // 2
        if np.isfinite(values).sum() >= 3 * terms:
            values = level(values, order=level_order)
    background = gaussian_smooth(values, sigma_px=long_sigma_px, min_weight=0.05)
    cleaned = remove_outliers(values, sigmas=config.outlier_sigmas, background=background)
    # Without outliers the long-cutoff smoothing is the one just computed.
    unchanged = np.isfinite(cleaned).sum() == np.isfinite(values).sum()
    values = gaussian_bandpass(
        cleaned,
        pixel_um=working_um,
        cutoffs_um=config.bandpass_um,
        long_smooth=background if unchanged else None,
    )
    if modality is Modality.PHOTOGRAPH:
        values = standardise(values)
    return values


def _paste(target: np.ndarray, source: np.ndarray, offset_row: int, offset_column: int) -> None:
    """Copy ``source`` into ``target`` with its (0, 0) at (offset_row, offset_column), clipped."""
    top, left = max(offset_row, 0), max(offset_column, 0)
    bottom = min(offset_row + source.shape[0], target.shape[0])
    right = min(offset_column + source.shape[1], target.shape[1])
    if bottom <= top or right <= left:
        return
    target[top:bottom, left:right] = source[
        top - offset_row : bottom - offset_row, left - offset_column : right - offset_column
    ]

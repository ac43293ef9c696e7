"""Region of interest of a cartridge case: the breech-face impression, and where its axis is.

Three kinds of input are told apart:

- **processed** scans (cropped to the breech face, NaN outside and in the firing-pin hole, as the
  Fadul and DFSC "processed" sets): their measured area is the region, and the axis is the centre
  of the interior hole (else of the measured disc);
- **annotated** scans, whose file carries a lab-drawn region (:attr:`Surface.region_of_interest`):
  that region, less any firing-pin crater inside it, handled like a processed scan;
- **raw** scans and photographs of a whole primer (with the primer gap, the case head and its
  headstamp, the firing-pin impression): the primer circle is found as the strongest circular
  groove (dark ring), the firing-pin impression as the deepest compact depression near its centre
  (topography) or the innermost dark ring (photograph), and the region is the annulus between
  them, with margins, so that neither the primer edge, nor the crater wall, nor the headstamp
  (same for every case of a brand) can make two firearms look alike.

Positions are in micrometres on the surface's own grid: ``x_um = column * pixel_um``,
``y_um = row * pixel_um``. (The private helpers below also use :class:`Circle` for circles in
pixels of the grid they work on, and say so; ``_Grid`` converts.)

References
----------
.. [1] J. Song, W. Chu, M. Tong and J. Soons, "3D topography measurements on correlation cells - a
   new approach to forensic ballistics identifications", Meas. Sci. Technol. 25, 064005, 2014.
.. [2] J. Zemmels, H. Hofmann and S. VanderPlas, "Zeroing in on automatic cartridge case
   comparisons: the cmcR package", The R Journal 14(4), 2023 (breech-face region: remove the
   primer edge and the firing-pin impression before comparison).
.. [3] I. Kåsa, "A circle fitting procedure and its error analysis", IEEE Trans. Instrum. Meas.
   IM-25(1), 1976, pp. 8-14.
.. [4] D. H. Ballard, "Generalizing the Hough transform to detect arbitrary shapes", Pattern
   Recognition 13(2), 1981 (accumulating evidence along circles).
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from scipy import ndimage

from ballistics.casing.filters import gaussian_smooth, level, resample, robust_spread
from ballistics.errors import EvidenceError
from ballistics.surface import Modality, Surface

logger = logging.getLogger(__name__)

_RAY_COUNT = 256
# The groove map is clipped to this many robust sigmas so that one deep scratch or a saturated
# highlight cannot outweigh a whole circle.
_GROOVE_CLIP = 3.0
# Fraction of a candidate circle that must lie on the grid for its score to count.
_MIN_RING_COVERAGE = 0.6


class RegionKind(enum.StrEnum):
    """How the region of interest was obtained."""

    PROCESSED = "processed"
    ANNOTATED = "annotated"
    RAW = "raw"


@dataclass(frozen=True)
class Circle:
    """A circle on a surface's grid, in micrometres (``x_um = column * pixel_um``)."""

    x_um: float
    y_um: float
    radius_um: float

    def distance_um(self, other: Circle) -> float:
        """Return the distance between the two centres in micrometres."""
        return math.hypot(self.x_um - other.x_um, self.y_um - other.y_um)


@dataclass(frozen=True)
class RegionConfig:
    """Options of :func:`find_breech_face`; change one with :func:`dataclasses.replace`.

    Parameters
    ----------
    primer_radius_um
        Range of primer radii searched (small pistol primers are 2.2 mm, large ones 2.7 mm).
    firing_pin_radius_um
        Range of firing-pin impression radii searched.
    primer_margin_um
        Kept distance inside the primer circle (the centre line of the primer gap): the rounded
        primer edge is not breech face.
    firing_pin_margin_um
        Kept distance outside the firing-pin impression's rim (the crater wall and its lip).
    aperture_margin_um
        Kept distance outside the firing-pin aperture ring (primer metal that flowed back into
        the aperture around the pin never touched the breech face).
    detection_pixel_um
        Grid spacing of the coarse circle search.
    refine_pixel_um
        Finest grid spacing used to refine circles (the scan's own when coarser).
    groove_sigma_um
        Scale of the groove map (Gaussian sigma of the local reference level) for the primer gap.
    inner_groove_sigma_um
        Same for the narrower rings near the firing pin.
    min_primer_contrast
        Smallest mean groove strength along the primer circle, in robust sigmas of the groove
        map; below it the scan is refused with "no primer found".
    min_ring_contrast
        Smallest mean groove strength of a dark ring around the firing pin on a photograph (the
        impression itself, or the aperture's edge) for it to count.
    aperture_min_step_um
        Smallest height step, over 60 µm, taken as the edge of a flow-back plateau around the
        firing pin (topographies).
    firing_pin_min_depth_um
        Smallest depth of a crater, below the primer face, taken as a firing-pin impression.
    processed_min_missing_fraction
        A scan with at least this fraction of NaN, all inside a compact disc clear of the grid's
        edges, is taken as already processed.
    centre_on
        Axis of a raw scan: the primer's centre (the cartridge axis) or the firing-pin impression's.
    """

    primer_radius_um: tuple[float, float] = (1500.0, 3200.0)
    firing_pin_radius_um: tuple[float, float] = (200.0, 1300.0)
    primer_margin_um: float = 500.0
    firing_pin_margin_um: float = 100.0
    aperture_margin_um: float = 50.0
    detection_pixel_um: float = 40.0
    refine_pixel_um: float = 10.0
    groove_sigma_um: float = 400.0
    inner_groove_sigma_um: float = 150.0
    min_primer_contrast: float = 0.5
    min_ring_contrast: float = 0.75
    aperture_min_step_um: float = 5.0
    firing_pin_min_depth_um: float = 10.0
    processed_min_missing_fraction: float = 0.3
    centre_on: Literal["primer", "firing_pin"] = "primer"

    def __post_init__(self) -> None:
        for name in ("primer_radius_um", "firing_pin_radius_um"):
            low, high = getattr(self, name)
            if not 0 < low < high:
                raise ValueError(f"{name} must be (smallest, largest) with 0 < smallest < largest.")
        if self.firing_pin_radius_um[1] >= self.primer_radius_um[1]:
            raise ValueError("firing_pin_radius_um must end below primer_radius_um's end.")
        if self.centre_on not in ("primer", "firing_pin"):
            raise ValueError(f"centre_on is 'primer' or 'firing_pin', got {self.centre_on!r}.")
        if not 0 < self.processed_min_missing_fraction < 1:
            raise ValueError("processed_min_missing_fraction must be a fraction in (0, 1).")


@dataclass(frozen=True, eq=False)
class BreechFaceRegion:
    """Where the breech-face impression is on a surface.

    Parameters
    ----------
    mask
        Boolean array on the surface's grid, True on the breech face to keep (and measured).
    centre_x_um, centre_y_um
        The cartridge axis on the surface's grid, in micrometres.
    kind
        Processed, annotated or raw.
    primer
        The primer circle (centre line of the primer gap), when found.
    firing_pin
        The firing-pin impression (rim of the crater, or its dark ring on a photograph), when
        present.
    excluded
        The inner disc left out of the region: the firing-pin aperture ring or, on processed and
        annotated scans, the interior hole; None when there is none.
    """

    mask: np.ndarray
    centre_x_um: float
    centre_y_um: float
    kind: RegionKind
    primer: Circle | None = None
    firing_pin: Circle | None = None
    excluded: Circle | None = None


def fit_circle(x: np.ndarray, y: np.ndarray, *, robust: bool = True) -> Circle:
    """Return the least-squares circle through points ``(x, y)`` (algebraic fit [3]_).

    With ``robust`` the fit is repeated without points further than three robust sigmas (and at
    least 1 % of the radius) from the circle, so that a few wrong edge points do not move it.

    References
    ----------
    .. [3] I. Kåsa, IEEE Trans. Instrum. Meas. IM-25(1), 1976.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.size < 3 or x.size != y.size:
        raise ValueError(f"fitting a circle needs at least 3 points with x and y, got {x.size}.")
    keep = np.ones(x.size, dtype=bool)
    circle = Circle(float(x.mean()), float(y.mean()), 0.0)
    for _ in range(4 if robust else 1):
        # Shift to the mean first: the algebraic system is then well conditioned.
        x0, y0 = x[keep].mean(), y[keep].mean()
        dx, dy = x[keep] - x0, y[keep] - y0
        design = np.column_stack([dx, dy, np.ones(dx.size)])
        (a, b, c), *_ = np.linalg.lstsq(design, dx**2 + dy**2, rcond=None)
        centre_x, centre_y = a / 2, b / 2
        radius = math.sqrt(max(c + centre_x**2 + centre_y**2, 0.0))
        circle = Circle(float(x0 + centre_x), float(y0 + centre_y), float(radius))
        if not robust:
            break
        distance = np.hypot(x - circle.x_um, y - circle.y_um) - radius
        _, spread = robust_spread(distance[keep])
        updated = np.abs(distance) <= max(3.0 * spread, 0.01 * radius)
        if updated.sum() < max(3, 0.3 * x.size) or np.array_equal(updated, keep):
            break
        keep = updated
    return circle


def find_breech_face(
    surface: Surface, *, config: RegionConfig = RegionConfig()
) -> BreechFaceRegion:
    """Return the breech-face region of interest of a cartridge-case scan or photograph.

    Parameters
    ----------
    surface
        A topography or a photograph of a cartridge case's head.
    config
        Search ranges and margins.

    Returns
    -------
    BreechFaceRegion
        The mask to keep, the cartridge axis, and the circles found.

    Raises
    ------
    EvidenceError
        When the surface holds no measured point, or no primer is found on a raw scan, or the
        region left is empty; the message names the file.

    References
    ----------
    .. [1] J. Song et al., Meas. Sci. Technol. 25, 064005, 2014.
    .. [2] J. Zemmels, H. Hofmann and S. VanderPlas, The R Journal 14(4), 2023.
    """
    valid = surface.mask
    if not valid.any():
        raise EvidenceError(surface.source, "the surface holds no measured point.")
    if surface.region_of_interest is not None:
        region = _annotated_region(surface, config)
    elif looks_processed(surface, min_missing_fraction=config.processed_min_missing_fraction):
        region = _processed_region(
            surface, valid & _largest_components(valid), RegionKind.PROCESSED
        )
    else:
        region = _raw_region(surface, config)
    if not region.mask.any():
        raise EvidenceError(surface.source, "the breech-face region of interest is empty.")
    logger.debug(
        "%s: %s breech face, axis at (%.0f, %.0f) um, primer %s, firing pin %s",
        surface.source,
        region.kind,
        region.centre_x_um,
        region.centre_y_um,
        region.primer,
        region.firing_pin,
    )
    return region


def looks_processed(surface: Surface, *, min_missing_fraction: float = 0.3) -> bool:
    """Return True when a scan looks already cropped to a breech face (Fadul-like).

    Such a scan misses at least ``min_missing_fraction`` of its grid, its measured points lie
    within one disc (the circle fitted to their convex hull holds 97 % of them) and the edges
    of its grid are mostly unmeasured (a raw scan of a case head is measured up to its edges).
    """
    valid = surface.mask
    if 1.0 - valid.mean() < min_missing_fraction:
        return False
    border = np.concatenate([valid[0], valid[-1], valid[1:-1, 0], valid[1:-1, -1]])
    if border.mean() > 0.3:
        return False
    outer = _outer_circle(valid)
    if outer is None:
        return False
    rows, columns = np.nonzero(valid)
    inside = np.hypot(rows - outer.y_um, columns - outer.x_um) <= 1.03 * outer.radius_um + 2
    return bool(inside.mean() >= 0.97)


# --- processed and annotated scans -------------------------------------------------------------


def _largest_components(valid: np.ndarray, *, min_share: float = 0.01) -> np.ndarray:
    """Return the connected parts of ``valid`` holding at least ``min_share`` of its points."""
    count, labels = cv2.connectedComponents(valid.astype(np.uint8), connectivity=8)
    if count <= 2:
        return valid
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    keep = sizes >= min_share * sizes.sum()
    return keep[labels]


def _outer_circle(valid: np.ndarray) -> Circle | None:
    """Circle, in pixels, through the convex hull of the measured points (the crop's outline)."""
    main = _largest_components(valid, min_share=0.05).astype(np.uint8)
    # The hull of the outline is the hull of the area, from far fewer points.
    outline = main - cv2.erode(main, np.ones((3, 3), np.uint8))
    points = cv2.findNonZero(outline)
    if points is None or len(points) < 10:
        return None
    # Fit the hull's vertices, not its sides: a straight side bridging a gap in a crescent is
    # not on the outline, its two ends are.
    hull = cv2.convexHull(points)[:, 0, :].astype(np.float64)
    if len(hull) < 5:
        return None
    return fit_circle(hull[:, 0], hull[:, 1])


def _interior_hole(valid: np.ndarray, outer: Circle) -> Circle | None:
    """Circle, in pixels, of the largest unmeasured area inside the measured disc, if any.

    The hole is looked for inside the outer circle rather than as a region enclosed by
    measured points, so that a hole that breaks through a thin crescent is still found; its
    circle is fitted to the measured points that border it, away from the outer edge.
    """
    rows, columns = np.ogrid[: valid.shape[0], : valid.shape[1]]
    distance = np.sqrt((rows - outer.y_um) ** 2 + (columns - outer.x_um) ** 2)
    inside = distance <= 0.97 * outer.radius_um
    holes = inside & ~valid
    count, labels = cv2.connectedComponents(holes.astype(np.uint8), connectivity=4)
    if count <= 1:
        return None
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    largest = int(np.argmax(sizes))
    if sizes[largest] < 0.03 * math.pi * outer.radius_um**2:
        return None
    hole = labels == largest
    grown = cv2.dilate(hole.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    rim = grown & valid & (distance <= 0.95 * outer.radius_um)
    rim_rows, rim_columns = np.nonzero(rim)
    if rim_rows.size < 20:
        return None
    circle = fit_circle(rim_columns, rim_rows)
    if circle.radius_um >= outer.radius_um:
        return None
    return circle


def _processed_region(surface: Surface, keep: np.ndarray, kind: RegionKind) -> BreechFaceRegion:
    pixel_um = surface.pixel_um
    outer = _outer_circle(keep)
    if outer is None:
        raise EvidenceError(surface.source, "the measured breech-face area is too small to use.")
    hole = _interior_hole(keep, outer)
    axis = hole if hole is not None else outer
    return BreechFaceRegion(
        mask=keep,
        centre_x_um=axis.x_um * pixel_um,
        centre_y_um=axis.y_um * pixel_um,
        kind=kind,
        excluded=None if hole is None else _Grid(pixel_um).to_um(hole),
    )


def _annotated_region(surface: Surface, config: RegionConfig) -> BreechFaceRegion:
    annotated = np.asarray(surface.region_of_interest, dtype=bool) & surface.mask
    if not annotated.any():
        raise EvidenceError(
            surface.source, "the annotated region of interest holds no measured point."
        )
    region = _processed_region(surface, annotated, RegionKind.ANNOTATED)
    if surface.modality is not Modality.TOPOGRAPHY:
        return region
    # A lab region drawn round the whole primer face still holds the crater: look for it in the
    # annotated area and, if the annotation left a hole, in the measured part of the hole too.
    source = _Grid(surface.pixel_um)
    search = annotated.copy()
    if region.excluded is not None:
        search |= _disc(surface.shape, source.to_pixels(region.excluded))
    # Close single drop-outs: they are not edges of the search area.
    search = cv2.morphologyEx(
        search.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)
    ).astype(bool)
    fine, grid = _fine_grid(surface.values, surface.pixel_um, config)
    fine_search = _resample_mask(search, fine.shape)
    if np.isfinite(fine[fine_search]).sum() < 100:
        return region
    heights = level(np.where(fine_search, fine, np.nan), order=1)
    crater = _find_crater(heights, grid.pixel_um, fine_search, config)
    if crater is None:
        return region
    outline = crater.outline(grid, source, config.firing_pin_margin_um)
    return BreechFaceRegion(
        mask=region.mask & ~_outline_mask(surface.shape, outline),
        centre_x_um=region.centre_x_um,
        centre_y_um=region.centre_y_um,
        kind=RegionKind.ANNOTATED,
        firing_pin=grid.to_um(crater.centre),
        excluded=region.excluded,
    )


# --- raw scans and photographs ------------------------------------------------------------------


def _raw_region(surface: Surface, config: RegionConfig) -> BreechFaceRegion:
    primer = _find_primer(surface, config)
    if primer is None:
        raise EvidenceError(
            surface.source,
            "no primer found: no circular primer gap of radius "
            f"{config.primer_radius_um[0]:.0f}-{config.primer_radius_um[1]:.0f} µm is visible; "
            "give a scan of the whole primer or an already cropped breech face.",
        )
    fine, grid = _fine_grid(surface.values, surface.pixel_um, config)
    primer_fine = grid.to_pixels(primer)
    source = _Grid(surface.pixel_um)
    shape = surface.shape
    mask = surface.mask & _disc(shape, source.to_pixels(_grown(primer, -config.primer_margin_um)))
    firing_pin = excluded = aperture = None
    if surface.modality is Modality.TOPOGRAPHY:
        # Depths are measured from the primer face: take its tilt off first (robustly, so that
        # the crater and the flow-back plateau do not count).
        face = _disc(fine.shape, _shrunk(primer_fine, 0.8))
        heights = level(np.where(face, fine, np.nan), order=1)
        search = _disc(fine.shape, _shrunk(primer_fine, 0.6))
        crater = _find_crater(heights, grid.pixel_um, search, config)
        if crater is not None:
            firing_pin = grid.to_um(crater.centre)
            excluded = _grown(firing_pin, config.firing_pin_margin_um)
            outline = crater.outline(grid, source, config.firing_pin_margin_um)
            mask &= ~_outline_mask(shape, outline)
            aperture = _raised_aperture(heights, grid.pixel_um, primer_fine, crater.centre, config)
    else:
        groove = _groove_map(fine, config.inner_groove_sigma_um / grid.pixel_um)
        ring = _innermost_ring(groove, grid.pixel_um, primer_fine, config)
        if ring is not None:
            crater = _dark_crater(fine, grid.pixel_um, primer_fine, ring, config)
            if crater is None:
                crater = _Crater(ring, np.full(_RAY_COUNT, ring.radius_um))
            firing_pin = grid.to_um(crater.centre)
            excluded = _grown(firing_pin, config.firing_pin_margin_um)
            mask &= ~_outline_mask(shape, crater.outline(grid, source, config.firing_pin_margin_um))
            aperture = _aperture_ring(groove, grid.pixel_um, primer_fine, crater.centre, config)
    if aperture is not None:
        excluded = _grown(grid.to_um(aperture), config.aperture_margin_um)
        mask &= ~_disc(shape, source.to_pixels(excluded))
    axis = firing_pin if config.centre_on == "firing_pin" and firing_pin is not None else primer
    return BreechFaceRegion(
        mask=mask,
        centre_x_um=axis.x_um,
        centre_y_um=axis.y_um,
        kind=RegionKind.RAW,
        primer=primer,
        firing_pin=firing_pin,
        excluded=excluded,
    )


def _fine_grid(
    values: np.ndarray, pixel_um: float, config: RegionConfig
) -> tuple[np.ndarray, _Grid]:
    """The surface on the refinement grid (never finer than the scan), and that grid."""
    if pixel_um >= config.refine_pixel_um:
        return np.asarray(values, dtype=np.float32), _Grid(pixel_um)
    fine = resample(values, pixel_um=pixel_um, target_pixel_um=config.refine_pixel_um)
    return fine, _Grid.resampled(pixel_um, config.refine_pixel_um)


def _resample_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if mask.shape == shape:
        return mask.copy()
    scale = shape[1] / mask.shape[1]
    resized = cv2.resize(
        mask.astype(np.float32), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
    )
    out = np.zeros(shape, dtype=bool)
    rows, columns = min(shape[0], resized.shape[0]), min(shape[1], resized.shape[1])
    out[:rows, :columns] = resized[:rows, :columns] >= 0.5
    return out


def _groove_map(values: np.ndarray, sigma_px: float) -> np.ndarray:
    """Local reference level minus value, in robust sigmas, clipped: high in grooves and dark rings.

    Unmeasured points inside the grid (a primer gap too steep for the scanner) count as deep.
    """
    reference = gaussian_smooth(values, sigma_px=sigma_px, min_weight=0.0)
    groove = reference - values
    median, spread = robust_spread(groove)
    groove = (groove - median) / (spread if spread > 0 else 1.0)
    groove = np.clip(groove, -_GROOVE_CLIP, _GROOVE_CLIP)
    groove[~np.isfinite(values)] = _GROOVE_CLIP
    return groove.astype(np.float32)


def _ring_kernel(radius_px: float, width_px: float = 1.0) -> np.ndarray:
    half = math.ceil(radius_px + 3 * width_px)
    rows, columns = np.mgrid[-half : half + 1, -half : half + 1]
    kernel = np.exp(-0.5 * ((np.hypot(rows, columns) - radius_px) / width_px) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


def _best_ring(
    groove: np.ndarray,
    radii_px: np.ndarray,
    *,
    allowed_centres: np.ndarray | None = None,
) -> tuple[float, Circle]:
    """Return the score and the circle (pixels) with the highest mean groove along it [4]_.

    The mean of the groove map along every circle of one radius is one correlation with a ring
    kernel; beyond the grid counts as no groove, so circles mostly off the grid score low, and
    the best one must lie at least 60 % on the grid.
    """
    best_score, best = -np.inf, Circle(0.0, 0.0, 0.0)
    for radius in radii_px:
        score = cv2.filter2D(
            groove, -1, _ring_kernel(float(radius)), borderType=cv2.BORDER_CONSTANT
        )
        if allowed_centres is not None:
            score[~allowed_centres] = -np.inf
        row, column = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[row, column] > best_score:
            best_score = float(score[row, column])
            best = Circle(float(column), float(row), float(radius))
    angles = np.linspace(0, 2 * math.pi, 360, endpoint=False)
    x = best.x_um + best.radius_um * np.cos(angles)
    y = best.y_um + best.radius_um * np.sin(angles)
    on_grid = (x >= 0) & (x <= groove.shape[1] - 1) & (y >= 0) & (y <= groove.shape[0] - 1)
    if on_grid.mean() < _MIN_RING_COVERAGE:
        return -np.inf, best
    return best_score, best


def _polar_samples(
    image: np.ndarray, centre: Circle, radii_px: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample ``image`` on rays from ``centre`` (pixels): (values [rays, radii], cos, sin).

    Samples off the grid are NaN.
    """
    angles = np.linspace(0, 2 * math.pi, _RAY_COUNT, endpoint=False)
    cosines, sines = np.cos(angles), np.sin(angles)
    map_columns = (centre.x_um + cosines[:, None] * radii_px[None, :]).astype(np.float32)
    map_rows = (centre.y_um + sines[:, None] * radii_px[None, :]).astype(np.float32)
    samples = cv2.remap(
        np.ascontiguousarray(image, dtype=np.float32),
        map_columns,
        map_rows,
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=float("nan"),
    )
    return samples, cosines, sines


def _refine_ring(groove: np.ndarray, start: Circle, half_width_px: float) -> Circle | None:
    """Refine a ring (pixels) by the centre of mass of the groove along rays and a circle fit."""
    circle = start
    for window in (half_width_px, 0.75 * half_width_px, 0.6 * half_width_px):
        offsets = np.arange(-window, window + 0.25, 0.5)
        radii = np.maximum(circle.radius_um + offsets, 0.5)
        samples, cosines, sines = _polar_samples(groove, circle, radii)
        usable = np.isfinite(samples).all(axis=1)
        weights = np.clip(np.nan_to_num(samples, nan=0.0), 0, None)
        totals = weights.sum(axis=1)
        usable &= totals > 1e-6
        if usable.sum() < _RAY_COUNT // 4:
            return None
        ray_radii = (weights[usable] * radii[None, :]).sum(axis=1) / totals[usable]
        circle = fit_circle(
            circle.x_um + cosines[usable] * ray_radii, circle.y_um + sines[usable] * ray_radii
        )
    return circle


def _find_primer(surface: Surface, config: RegionConfig) -> Circle | None:
    """Primer circle in micrometres: strongest circular groove, refined along rays."""
    coarse_um = max(config.detection_pixel_um, surface.pixel_um)
    coarse = resample(surface.values, pixel_um=surface.pixel_um, target_pixel_um=coarse_um)
    coarse_grid = _Grid.resampled(surface.pixel_um, coarse_um)
    groove = _groove_map(coarse, config.groove_sigma_um / coarse_um)
    low, high = (radius / coarse_um for radius in config.primer_radius_um)
    # Steps of 1.5 coarse pixels: the ring kernel is 2 pixels wide and the rays refine it.
    score, found = _best_ring(groove, np.arange(low, high + 1e-9, 1.5))
    logger.debug("%s: primer search score %.2f", surface.source, score)
    if not score >= config.min_primer_contrast:
        return None
    fine, grid = _fine_grid(surface.values, surface.pixel_um, config)
    fine_groove = _groove_map(fine, config.groove_sigma_um / grid.pixel_um)
    refined = _refine_ring(
        fine_groove,
        grid.to_pixels(coarse_grid.to_um(found)),
        half_width_px=config.groove_sigma_um / grid.pixel_um,
    )
    if refined is None:
        return None
    circle = grid.to_um(refined)
    low_um, high_um = config.primer_radius_um
    if not 0.8 * low_um <= circle.radius_um <= 1.2 * high_um:
        return None
    return circle


@dataclass(frozen=True, eq=False)
class _Crater:
    """A firing-pin crater on a grid (pixels): rim distances along rays from its centre."""

    centre: Circle  # radius: the largest rim distance (the circumscribed circle)
    rim_px: np.ndarray  # one distance per ray of _polar_samples

    def outline(self, grid: _Grid, target: _Grid, margin_um: float) -> np.ndarray:
        """(points, 2) int32 polygon on ``target`` pixels, grown outward by ``margin_um``."""
        angles = np.linspace(0, 2 * math.pi, _RAY_COUNT, endpoint=False)
        reach = self.rim_px + margin_um / grid.pixel_um
        x = (self.centre.x_um + np.cos(angles) * reach + grid.origin_px[0]) * grid.pixel_um
        y = (self.centre.y_um + np.sin(angles) * reach + grid.origin_px[1]) * grid.pixel_um
        columns = x / target.pixel_um - target.origin_px[0]
        rows = y / target.pixel_um - target.origin_px[1]
        return np.round(np.column_stack([columns, rows])).astype(np.int32)


def _outline_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    image = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(image, [polygon.reshape(-1, 1, 2)], 1)
    return image.astype(bool)


def _find_crater(
    values: np.ndarray, pixel_um: float, search: np.ndarray, config: RegionConfig
) -> _Crater | None:
    """Firing-pin impression of a topography: the deepest compact depression in ``search``.

    The reference level is the upper quartile of the lightly smoothed heights in the search
    area (the primer face around the crater); the depression must be deeper than
    ``firing_pin_min_depth_um`` and enclosed by the search area (a rolled-off edge is not a
    crater). Its rim is where the depth, along rays from its centre, first falls below a tenth
    of the deepest: a star-shaped outline that follows round, flat and rectangular pins alike.
    ``search`` is a geometric area; unmeasured points inside it are filled for the search.
    """
    if search.sum() < 100:
        return None
    smooth = gaussian_smooth(
        np.where(search, values, np.nan),
        sigma_px=max(30.0 / pixel_um, 0.5),
        min_weight=0.0,
        fill_missing=True,
    )
    smooth[~search] = np.nan
    finite = smooth[np.isfinite(smooth)]
    if finite.size < 100:
        return None
    depth = float(np.percentile(finite, 75)) - smooth
    # Keep the deepest point away from the edge of the search area.
    interior = cv2.erode(search.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    candidates = np.where(interior & np.isfinite(depth), depth, -np.inf)
    deepest = np.unravel_index(int(np.argmax(candidates)), depth.shape)
    deepest_depth = float(candidates[deepest])
    if not deepest_depth >= config.firing_pin_min_depth_um:
        return None
    low, high = (radius / pixel_um for radius in config.firing_pin_radius_um)
    _count, labels = cv2.connectedComponents(
        (np.nan_to_num(depth, nan=-np.inf) >= 0.5 * deepest_depth).astype(np.uint8)
    )
    blob = labels == labels[deepest]
    if (blob & ~interior).any() or math.sqrt(blob.sum() / math.pi) > high:
        return None
    rows, columns = np.nonzero(blob)
    centre = Circle(float(columns.mean()), float(rows.mean()), 0.0)
    radii = np.arange(0.0, 1.3 * high, 0.5)
    rim = np.zeros(_RAY_COUNT)
    for _ in range(2):
        samples, cosines, sines = _polar_samples(depth, centre, radii)
        with np.errstate(invalid="ignore"):
            shallow = ~(samples > 0.1 * deepest_depth)  # NaN (outside the search) is rim too
        shallow[:, 0] = False
        reached = shallow.any(axis=1)
        if reached.sum() < 0.75 * _RAY_COUNT:
            return None
        rim = np.where(reached, radii[np.argmax(shallow, axis=1)], np.nan)
        rim = np.where(reached, rim, np.nanmedian(rim))
        # A median over neighbouring rays removes single-ray spikes (a scratch through the rim).
        rim = ndimage.median_filter(rim, size=5, mode="wrap")
        fitted = fit_circle(centre.x_um + cosines * rim, centre.y_um + sines * rim)
        # Rays are re-cast from the fitted centre: rim distances from it.
        rim_x, rim_y = centre.x_um + cosines * rim, centre.y_um + sines * rim
        centre = Circle(fitted.x_um, fitted.y_um, 0.0)
        rim = np.hypot(rim_x - centre.x_um, rim_y - centre.y_um)
    reach = float(rim.max())
    if not (0.8 * low <= float(np.median(rim)) and reach <= high):
        return None
    return _Crater(Circle(centre.x_um, centre.y_um, reach), rim)


def _dark_crater(
    intensities: np.ndarray, pixel_um: float, primer: Circle, ring: Circle, config: RegionConfig
) -> _Crater | None:
    """Photographs: the outline of the firing-pin impression found as ``ring`` (pixels).

    Under a ring light the crater's walls and floor are darker than the primer face, whatever
    the pin's shape: along rays from inside the ring, the rim is where the lightly smoothed
    intensity first climbs back to the face's median (rays start at half the ring's radius,
    past the bright reflection at the bottom of a hemispherical crater). Returns None when the
    outline is not clear, and the ring's circle then stands for the impression.
    """
    smooth = gaussian_smooth(
        intensities, sigma_px=max(30.0 / pixel_um, 0.5), min_weight=0.0, fill_missing=True
    )
    rows, columns = np.ogrid[: smooth.shape[0], : smooth.shape[1]]
    distance = np.sqrt((rows - primer.y_um) ** 2 + (columns - primer.x_um) ** 2)
    face = (distance >= 0.55 * primer.radius_um) & (distance <= 0.75 * primer.radius_um)
    face_values = smooth[face & np.isfinite(smooth)]
    if face_values.size < 100:
        return None
    face_level = float(np.median(face_values))
    high = config.firing_pin_radius_um[1] / pixel_um
    radii = np.arange(0.5 * ring.radius_um, 1.3 * high, 0.5)
    centre = Circle(ring.x_um, ring.y_um, 0.0)
    rim = np.zeros(_RAY_COUNT)
    for _ in range(2):
        samples, cosines, sines = _polar_samples(smooth, centre, radii)
        with np.errstate(invalid="ignore"):
            lit = samples >= face_level
        reached = lit.any(axis=1)
        if reached.sum() < 0.75 * _RAY_COUNT:
            return None
        rim = np.where(reached, radii[np.argmax(lit, axis=1)], np.nan)
        rim = ndimage.median_filter(np.where(reached, rim, np.nanmedian(rim)), size=5, mode="wrap")
        rim_x, rim_y = centre.x_um + cosines * rim, centre.y_um + sines * rim
        centre = Circle(float(rim_x.mean()), float(rim_y.mean()), 0.0)
        rim = np.hypot(rim_x - centre.x_um, rim_y - centre.y_um)
    if not (0.7 * ring.radius_um <= float(np.median(rim)) and rim.max() <= high):
        return None
    return _Crater(Circle(centre.x_um, centre.y_um, float(rim.max())), rim)


def _ring_profile(groove: np.ndarray, centre: Circle, radii: np.ndarray) -> np.ndarray:
    """Mean groove strength along circles about ``centre`` (pixels), one value per radius."""
    samples, _, _ = _polar_samples(groove, centre, radii)
    counts = np.isfinite(samples).sum(axis=0)
    sums = np.nansum(samples, axis=0)
    return np.where(counts > _RAY_COUNT // 2, sums / np.maximum(counts, 1), -np.inf)


def _innermost_ring(
    groove: np.ndarray, pixel_um: float, primer: Circle, config: RegionConfig
) -> Circle | None:
    """Firing-pin impression of a photograph (pixels): the innermost strong dark ring near the
    primer centre (``primer`` in pixels of ``groove``)."""
    low, high = (radius / pixel_um for radius in config.firing_pin_radius_um)
    # Search on a coarser grid around the primer centre, then refine along rays.
    step = max(1, round(20.0 / pixel_um))
    window = math.ceil(0.35 * primer.radius_um + high + 4)
    top = max(int(primer.y_um) - window, 0)
    left = max(int(primer.x_um) - window, 0)
    patch = groove[top : int(primer.y_um) + window + 1, left : int(primer.x_um) + window + 1]
    patch_grid = _Grid(float(step), (((step - 1) / 2 + left) / step, ((step - 1) / 2 + top) / step))
    if step > 1:
        patch = cv2.resize(patch, None, fx=1 / step, fy=1 / step, interpolation=cv2.INTER_AREA)
    centre = patch_grid.to_pixels(primer)
    rows, columns = np.indices(patch.shape)
    allowed = np.hypot(rows - centre.y_um, columns - centre.x_um) <= 0.35 * centre.radius_um
    score, found = _best_ring(
        patch, np.arange(low / step, high / step + 1e-9, 1.0), allowed_centres=allowed
    )
    if not score >= config.min_ring_contrast:
        return None
    best = _refine_ring(groove, patch_grid.to_um(found), half_width_px=4 * step)
    if best is None:
        return None
    # A firing-pin impression often sits inside a second ring (the aperture): take the inner one.
    radii = np.arange(low, 0.8 * best.radius_um, 1.0)
    if radii.size > 4:
        profile = _ring_profile(groove, best, radii)
        peaks = [
            index
            for index in range(1, profile.size - 1)
            if profile[index] >= config.min_ring_contrast
            and profile[index] >= profile[index - 1]
            and profile[index] >= profile[index + 1]
        ]
        if peaks:
            start = Circle(best.x_um, best.y_um, float(radii[peaks[0]]))
            inner = _refine_ring(groove, start, half_width_px=4 * step)
            if inner is not None and low <= inner.radius_um < best.radius_um:
                best = inner
    if not 0.8 * low <= best.radius_um <= high:
        return None
    return best


def _aperture_ring(
    groove: np.ndarray, pixel_um: float, primer: Circle, firing_pin: Circle, config: RegionConfig
) -> Circle | None:
    """Photographs: the outermost dark ring around the firing pin inside the breech face (pixels).

    Primer metal flows back into the firing-pin aperture; the edge of the aperture shows as a
    dark ring under a ring light, and nothing inside it touched the breech face. The circle
    returned reaches the outer side of that ring.
    """
    start = firing_pin.radius_um + config.firing_pin_margin_um / pixel_um
    stop = min(
        0.75 * primer.radius_um, primer.radius_um - (config.primer_margin_um + 200.0) / pixel_um
    )
    radii = np.arange(start, stop, 1.0)
    if radii.size < 5:
        return None
    profile = _ring_profile(groove, firing_pin, radii)
    strong = np.nonzero(profile >= config.min_ring_contrast)[0]
    if strong.size == 0:
        return None
    last = int(strong[-1])
    first = last
    while first > 0 and profile[first - 1] >= config.min_ring_contrast:
        first -= 1
    # The ring ends where it has faded to half the threshold.
    end = last
    while end + 1 < radii.size and profile[end + 1] >= 0.5 * config.min_ring_contrast:
        end += 1
    peak = first + int(np.argmax(profile[first : last + 1]))
    ring = _refine_ring(
        groove,
        Circle(firing_pin.x_um, firing_pin.y_um, float(radii[peak])),
        half_width_px=max((last - first) / 2 + 2, 3.0),
    )
    if ring is None or ring.distance_um(firing_pin) > 0.5 * ring.radius_um:
        ring = Circle(firing_pin.x_um, firing_pin.y_um, float(radii[peak]))
    return Circle(ring.x_um, ring.y_um, ring.radius_um + float(radii[end] - radii[peak]))


def _raised_aperture(
    heights: np.ndarray, pixel_um: float, primer: Circle, crater: Circle, config: RegionConfig
) -> Circle | None:
    """Topographies: the edge of the flow-back plateau around the crater (pixels), if any.

    Primer metal pushed back into the firing-pin aperture stands above the breech-face contact
    area, and ends in a step down. Along rays from the crater, the first drop steeper than
    ``aperture_min_step_um`` over 60 µm is taken as that edge; when most rays find one and the
    points lie on a circle, the circle (reaching the outer foot of the step) is returned.
    """
    half_base = max(1, round(30.0 / pixel_um))
    start = crater.radius_um + config.firing_pin_margin_um / pixel_um
    stop = 0.65 * primer.radius_um + crater.distance_um(primer)
    radii = np.arange(start, stop, 1.0)
    if radii.size < 4 * half_base:
        return None
    smooth = gaussian_smooth(heights, sigma_px=max(15.0 / pixel_um, 0.5), min_weight=0.0)
    samples, cosines, sines = _polar_samples(smooth, crater, radii)
    drops = samples[:, 2 * half_base :] - samples[:, : -2 * half_base]
    drop_radii = radii[half_base:-half_base]
    # Each ray may only look inside 0.65 primer radii of the primer centre.
    points_x = crater.x_um + cosines[:, None] * drop_radii[None, :]
    points_y = crater.y_um + sines[:, None] * drop_radii[None, :]
    inside = np.hypot(points_x - primer.x_um, points_y - primer.y_um) <= 0.65 * primer.radius_um
    with np.errstate(invalid="ignore"):
        steep = (drops <= -config.aperture_min_step_um) & inside
    found = steep.any(axis=1)
    if found.sum() < _RAY_COUNT // 2:
        return None
    index = np.argmax(steep, axis=1)[found]
    edge_x, edge_y = points_x[found, index], points_y[found, index]
    circle = fit_circle(edge_x, edge_y)
    distances = np.hypot(edge_x - circle.x_um, edge_y - circle.y_um)
    on_circle = np.abs(distances - circle.radius_um) <= max(0.15 * circle.radius_um, 3 * half_base)
    if on_circle.mean() < 0.6 or circle.distance_um(crater) > 0.5 * circle.radius_um:
        return None
    reach = float(np.percentile(distances[on_circle], 90)) + half_base
    return Circle(circle.x_um, circle.y_um, reach)


# --- small helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """Pixel <-> micrometre conversion of a grid: ``um = (index + origin_px) * pixel_um``.

    ``origin_px`` is (x, y) of pixel (0, 0)'s centre on the source surface's frame, in this
    grid's pixels. Area resampling from ``source_pixel_um`` makes pixel ``j`` cover source pixels
    ``[j*s, (j+1)*s)``, so its centre lies half a new pixel less half an old one from the origin.
    (Also used for pixel <-> pixel conversions, with "um" standing for the finer grid's pixels.)
    """

    pixel_um: float
    origin_px: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def resampled(cls, source_pixel_um: float, pixel_um: float) -> _Grid:
        offset_um = 0.5 * (pixel_um - source_pixel_um)
        return cls(pixel_um, (offset_um / pixel_um, offset_um / pixel_um))

    def to_um(self, circle: Circle) -> Circle:
        return Circle(
            (circle.x_um + self.origin_px[0]) * self.pixel_um,
            (circle.y_um + self.origin_px[1]) * self.pixel_um,
            circle.radius_um * self.pixel_um,
        )

    def to_pixels(self, circle: Circle) -> Circle:
        return Circle(
            circle.x_um / self.pixel_um - self.origin_px[0],
            circle.y_um / self.pixel_um - self.origin_px[1],
            circle.radius_um / self.pixel_um,
        )


def _grown(circle: Circle, margin_um: float) -> Circle:
    return Circle(circle.x_um, circle.y_um, max(circle.radius_um + margin_um, 0.0))


def _shrunk(circle: Circle, factor: float) -> Circle:
    return Circle(circle.x_um, circle.y_um, circle.radius_um * factor)


def _disc(shape: tuple[int, int], circle: Circle) -> np.ndarray:
    """Boolean disc on a grid, circle in that grid's pixels."""
    rows, columns = np.ogrid[: shape[0], : shape[1]]
    return (rows - circle.y_um) ** 2 + (columns - circle.x_um) ** 2 <= circle.radius_um**2

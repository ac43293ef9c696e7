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
``y_um = row * pixel_um``. The search itself lives beside this module: circles and grids in
:mod:`~ballistics.casing.roi_geometry`, the dark rings (primer gap, rings around the firing pin)
in :mod:`~ballistics.casing.roi_rings`, the firing-pin crater in
:mod:`~ballistics.casing.roi_craters`, the options in :mod:`~ballistics.casing.roi_config`. Those
helpers also use :class:`Circle` for circles in pixels of the grid they work on, and say so;
``roi_geometry.Grid`` converts.

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

import dataclasses
import enum
import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from ballistics.casing.filters import level
from ballistics.casing.roi_config import DEFAULT_REGION_CONFIG, RegionConfig
from ballistics.casing.roi_craters import Crater, dark_crater, find_crater, raised_aperture
from ballistics.casing.roi_geometry import (
    RAY_COUNT,
    Circle,
    Grid,
    disc,
    eroded,
    fine_grid,
    fit_circle,
    grown,
    outline_mask,
    resample_mask,
    shrunk,
)
from ballistics.casing.roi_rings import aperture_ring, find_primer, groove_map, innermost_ring
from ballistics.errors import EvidenceError
from ballistics.surface import Modality, Surface

logger = logging.getLogger(__name__)


class RegionKind(enum.StrEnum):
    """How the region of interest was obtained."""

    PROCESSED = "processed"
    ANNOTATED = "annotated"
    RAW = "raw"


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


def find_breech_face(
    surface: Surface, *, config: RegionConfig = DEFAULT_REGION_CONFIG
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
        excluded=None if hole is None else Grid(pixel_um).to_um(hole),
    )


def _annotated_region(surface: Surface, config: RegionConfig) -> BreechFaceRegion:
    """The lab's region, less any crater in it; on a raw scan, less a band along its edges.

    A region drawn on a raw scan (the scanner's selection of the breech face, measured data all
    round it) runs up to the firing-pin hole's wall and the primer's rounded edge; the band of
    ``config.annotated_edge_um`` along its edges is shaved off, as the published preprocessing
    of such scans does (cmcR's ``preProcess_erode`` [2]_), so that a raw scan keeps the area its
    processed counterpart keeps.
    """
    annotated = np.asarray(surface.region_of_interest, dtype=bool) & surface.mask
    if not annotated.any():
        raise EvidenceError(
            surface.source, "the annotated region of interest holds no measured point."
        )
    region = _annotated_crater_removed(surface, annotated, config)
    if not looks_processed(surface, min_missing_fraction=config.processed_min_missing_fraction):
        shaved = eroded(region.mask, round(config.annotated_edge_um / surface.pixel_um))
        if shaved.any():
            region = dataclasses.replace(region, mask=shaved)
    return region


def _annotated_crater_removed(
    surface: Surface, annotated: np.ndarray, config: RegionConfig
) -> BreechFaceRegion:
    region = _processed_region(surface, annotated, RegionKind.ANNOTATED)
    if surface.modality is not Modality.TOPOGRAPHY:
        return region
    # A lab region drawn round the whole primer face still holds the crater: look for it in the
    # annotated area and, if the annotation left a hole, in the measured part of the hole too.
    source = Grid(surface.pixel_um)
    search = annotated.copy()
    if region.excluded is not None:
        search |= disc(surface.shape, source.to_pixels(region.excluded))
    # Close single drop-outs: they are not edges of the search area.
    search = cv2.morphologyEx(
        search.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)
    ).astype(bool)
    fine, grid = fine_grid(surface.values, surface.pixel_um, refine_pixel_um=config.refine_pixel_um)
    fine_search = resample_mask(search, fine.shape)
    if np.isfinite(fine[fine_search]).sum() < 100:
        return region
    heights = level(np.where(fine_search, fine, np.nan), order=1)
    crater = find_crater(heights, grid.pixel_um, fine_search, config)
    if crater is None:
        return region
    outline = crater.outline(grid, source, config.firing_pin_margin_um)
    return BreechFaceRegion(
        mask=region.mask & ~outline_mask(surface.shape, outline),
        centre_x_um=region.centre_x_um,
        centre_y_um=region.centre_y_um,
        kind=RegionKind.ANNOTATED,
        firing_pin=grid.to_um(crater.centre),
        excluded=region.excluded,
    )


# --- raw scans and photographs ------------------------------------------------------------------


def _raw_region(surface: Surface, config: RegionConfig) -> BreechFaceRegion:
    primer = find_primer(surface, config)
    if primer is None:
        raise EvidenceError(
            surface.source,
            "no primer found: no circular primer gap of radius "
            f"{config.primer_radius_um[0]:.0f}-{config.primer_radius_um[1]:.0f} µm is visible; "
            "give a scan of the whole primer or an already cropped breech face.",
        )
    fine, grid = fine_grid(surface.values, surface.pixel_um, refine_pixel_um=config.refine_pixel_um)
    primer_fine = grid.to_pixels(primer)
    source = Grid(surface.pixel_um)
    shape = surface.shape
    mask = surface.mask & disc(shape, source.to_pixels(grown(primer, -config.primer_margin_um)))
    firing_pin = excluded = aperture = None
    if surface.modality is Modality.TOPOGRAPHY:
        # Depths are measured from the primer face: take its tilt off first (robustly, so that
        # the crater and the flow-back plateau do not count).
        face = disc(fine.shape, shrunk(primer_fine, 0.8))
        heights = level(np.where(face, fine, np.nan), order=1)
        search = disc(fine.shape, shrunk(primer_fine, 0.6))
        crater = find_crater(heights, grid.pixel_um, search, config)
        if crater is not None:
            firing_pin = grid.to_um(crater.centre)
            excluded = grown(firing_pin, config.firing_pin_margin_um)
            outline = crater.outline(grid, source, config.firing_pin_margin_um)
            mask &= ~outline_mask(shape, outline)
            aperture = raised_aperture(heights, grid.pixel_um, primer_fine, crater.centre, config)
    else:
        groove = groove_map(fine, config.inner_groove_sigma_um / grid.pixel_um)
        ring = innermost_ring(groove, grid.pixel_um, primer_fine, config)
        if ring is not None:
            crater = dark_crater(fine, grid.pixel_um, primer_fine, ring, config)
            if crater is None:
                crater = Crater(ring, np.full(RAY_COUNT, ring.radius_um))
            firing_pin = grid.to_um(crater.centre)
            excluded = grown(firing_pin, config.firing_pin_margin_um)
            mask &= ~outline_mask(shape, crater.outline(grid, source, config.firing_pin_margin_um))
            aperture = aperture_ring(groove, grid.pixel_um, primer_fine, crater.centre, config)
    if aperture is not None:
        excluded = grown(grid.to_um(aperture), config.aperture_margin_um)
        mask &= ~disc(shape, source.to_pixels(excluded))
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


__all__ = [
    "DEFAULT_REGION_CONFIG",
    "BreechFaceRegion",
    "Circle",
    "RegionConfig",
    "RegionKind",
    "find_breech_face",
    "fit_circle",
    "looks_processed",
]

"""The firing-pin impression of a cartridge-case scan: the crater of a topography, its dark
outline on a photograph, and the flow-back plateau around it (helpers of
:mod:`ballistics.casing.roi`; circles in pixels of the grid searched).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from ballistics.casing.filters import gaussian_smooth
from ballistics.casing.roi_config import RegionConfig
from ballistics.casing.roi_geometry import RAY_COUNT, Circle, Grid, fit_circle, polar_samples


@dataclass(frozen=True, eq=False)
class Crater:
    """A firing-pin crater on a grid (pixels): rim distances along rays from its centre."""

    centre: Circle  # radius: the largest rim distance (the circumscribed circle)
    rim_px: np.ndarray  # one distance per ray of polar_samples

    def outline(self, grid: Grid, target: Grid, margin_um: float) -> np.ndarray:
        """(points, 2) int32 polygon on ``target`` pixels, grown outward by ``margin_um``."""
        angles = np.linspace(0, 2 * math.pi, RAY_COUNT, endpoint=False)
        reach = self.rim_px + margin_um / grid.pixel_um
        x = (self.centre.x_um + np.cos(angles) * reach + grid.origin_px[0]) * grid.pixel_um
        y = (self.centre.y_um + np.sin(angles) * reach + grid.origin_px[1]) * grid.pixel_um
        columns = x / target.pixel_um - target.origin_px[0]
        rows = y / target.pixel_um - target.origin_px[1]
        return np.round(np.column_stack([columns, rows])).astype(np.int32)


def find_crater(
    values: np.ndarray, pixel_um: float, search: np.ndarray, config: RegionConfig
) -> Crater | None:
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
    rim = np.zeros(RAY_COUNT)
    for _ in range(2):
        samples, cosines, sines = polar_samples(depth, centre, radii)
        with np.errstate(invalid="ignore"):
            shallow = ~(samples > 0.1 * deepest_depth)  # NaN (outside the search) is rim too
        shallow[:, 0] = False
        reached = shallow.any(axis=1)
        if reached.sum() < 0.75 * RAY_COUNT:
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
    return Crater(Circle(centre.x_um, centre.y_um, reach), rim)


def dark_crater(
    intensities: np.ndarray, pixel_um: float, primer: Circle, ring: Circle, config: RegionConfig
) -> Crater | None:
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
    rim = np.zeros(RAY_COUNT)
    for _ in range(2):
        samples, cosines, sines = polar_samples(smooth, centre, radii)
        with np.errstate(invalid="ignore"):
            lit = samples >= face_level
        reached = lit.any(axis=1)
        if reached.sum() < 0.75 * RAY_COUNT:
            return None
        rim = np.where(reached, radii[np.argmax(lit, axis=1)], np.nan)
        rim = ndimage.median_filter(np.where(reached, rim, np.nanmedian(rim)), size=5, mode="wrap")
        rim_x, rim_y = centre.x_um + cosines * rim, centre.y_um + sines * rim
        centre = Circle(float(rim_x.mean()), float(rim_y.mean()), 0.0)
        rim = np.hypot(rim_x - centre.x_um, rim_y - centre.y_um)
    if not (0.7 * ring.radius_um <= float(np.median(rim)) and rim.max() <= high):
        return None
    return Crater(Circle(centre.x_um, centre.y_um, float(rim.max())), rim)


def raised_aperture(
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
    samples, cosines, sines = polar_samples(smooth, crater, radii)
    drops = samples[:, 2 * half_base :] - samples[:, : -2 * half_base]
    drop_radii = radii[half_base:-half_base]
    # Each ray may only look inside 0.65 primer radii of the primer centre.
    points_x = crater.x_um + cosines[:, None] * drop_radii[None, :]
    points_y = crater.y_um + sines[:, None] * drop_radii[None, :]
    inside = np.hypot(points_x - primer.x_um, points_y - primer.y_um) <= 0.65 * primer.radius_um
    with np.errstate(invalid="ignore"):
        steep = (drops <= -config.aperture_min_step_um) & inside
    found = steep.any(axis=1)
    if found.sum() < RAY_COUNT // 2:
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

"""Dark rings of a cartridge-case scan: the primer gap, and on photographs the firing-pin
impression and the aperture's edge (helpers of :mod:`ballistics.casing.roi`; circles in pixels of
the grid searched unless said otherwise).

References
----------
.. [4] D. H. Ballard, "Generalizing the Hough transform to detect arbitrary shapes", Pattern
   Recognition 13(2), 1981 (accumulating evidence along circles).
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from ballistics.casing.filters import gaussian_smooth, resample, robust_spread
from ballistics.casing.roi_config import RegionConfig
from ballistics.casing.roi_geometry import (
    RAY_COUNT,
    Circle,
    Grid,
    fine_grid,
    fit_circle,
    polar_samples,
)
from ballistics.surface import Surface

logger = logging.getLogger(__name__)

# The groove map is clipped to this many robust sigmas so that one deep scratch or a saturated
# highlight cannot outweigh a whole circle.
_GROOVE_CLIP = 3.0
# Fraction of a candidate circle that must lie on the grid for its score to count.
_MIN_RING_COVERAGE = 0.6


def groove_map(values: np.ndarray, sigma_px: float) -> np.ndarray:
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


def best_ring(
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


def refine_ring(groove: np.ndarray, start: Circle, half_width_px: float) -> Circle | None:
    """Refine a ring (pixels) by the centre of mass of the groove along rays and a circle fit."""
    circle = start
    for window in (half_width_px, 0.75 * half_width_px, 0.6 * half_width_px):
        offsets = np.arange(-window, window + 0.25, 0.5)
        radii = np.maximum(circle.radius_um + offsets, 0.5)
        samples, cosines, sines = polar_samples(groove, circle, radii)
        usable = np.isfinite(samples).all(axis=1)
        weights = np.clip(np.nan_to_num(samples, nan=0.0), 0, None)
        totals = weights.sum(axis=1)
        usable &= totals > 1e-6
        if usable.sum() < RAY_COUNT // 4:
            return None
        ray_radii = (weights[usable] * radii[None, :]).sum(axis=1) / totals[usable]
        circle = fit_circle(
            circle.x_um + cosines[usable] * ray_radii, circle.y_um + sines[usable] * ray_radii
        )
    return circle


def ring_profile(groove: np.ndarray, centre: Circle, radii: np.ndarray) -> np.ndarray:
    """Mean groove strength along circles about ``centre`` (pixels), one value per radius."""
    samples, _, _ = polar_samples(groove, centre, radii)
    counts = np.isfinite(samples).sum(axis=0)
    sums = np.nansum(samples, axis=0)
    return np.where(counts > RAY_COUNT // 2, sums / np.maximum(counts, 1), -np.inf)


def find_primer(surface: Surface, config: RegionConfig) -> Circle | None:
    """Primer circle in micrometres: strongest circular groove, refined along rays."""
    return primer_search(surface, config)[1]


def primer_search(surface: Surface, config: RegionConfig) -> tuple[float, Circle | None]:
    """The primer ring's contrast (mean groove strength, robust sigmas) and circle (µm; None
    when no ring within ``config.primer_radius_um`` stands out)."""
    coarse_um = max(config.detection_pixel_um, surface.pixel_um)
    coarse = resample(surface.values, pixel_um=surface.pixel_um, target_pixel_um=coarse_um)
    coarse_grid = Grid.resampled(surface.pixel_um, coarse_um)
    groove = groove_map(coarse, config.groove_sigma_um / coarse_um)
    low, high = (radius / coarse_um for radius in config.primer_radius_um)
    # Steps of 1.5 coarse pixels: the ring kernel is 2 pixels wide and the rays refine it.
    score, found = best_ring(groove, np.arange(low, high + 1e-9, 1.5))
    logger.debug("%s: primer search score %.2f", surface.source, score)
    if not score >= config.min_primer_contrast:
        return score, None
    fine, grid = fine_grid(surface.values, surface.pixel_um, refine_pixel_um=config.refine_pixel_um)
    fine_groove = groove_map(fine, config.groove_sigma_um / grid.pixel_um)
    refined = refine_ring(
        fine_groove,
        grid.to_pixels(coarse_grid.to_um(found)),
        half_width_px=config.groove_sigma_um / grid.pixel_um,
    )
    if refined is None:
        return score, None
    circle = grid.to_um(refined)
    low_um, high_um = config.primer_radius_um
    if not 0.8 * low_um <= circle.radius_um <= 1.2 * high_um:
        return score, None
    return score, circle


def innermost_ring(
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
    patch_grid = Grid(float(step), (((step - 1) / 2 + left) / step, ((step - 1) / 2 + top) / step))
    if step > 1:
        patch = cv2.resize(patch, None, fx=1 / step, fy=1 / step, interpolation=cv2.INTER_AREA)
    centre = patch_grid.to_pixels(primer)
    rows, columns = np.indices(patch.shape)
    allowed = np.hypot(rows - centre.y_um, columns - centre.x_um) <= 0.35 * centre.radius_um
    score, found = best_ring(
        patch, np.arange(low / step, high / step + 1e-9, 1.0), allowed_centres=allowed
    )
    if not score >= config.min_ring_contrast:
        return None
    best = refine_ring(groove, patch_grid.to_um(found), half_width_px=4 * step)
    if best is None:
        return None
    # A firing-pin impression often sits inside a second ring (the aperture): take the inner one.
    radii = np.arange(low, 0.8 * best.radius_um, 1.0)
    if radii.size > 4:
        profile = ring_profile(groove, best, radii)
        peaks = [
            index
            for index in range(1, profile.size - 1)
            if profile[index] >= config.min_ring_contrast
            and profile[index] >= profile[index - 1]
            and profile[index] >= profile[index + 1]
        ]
        if peaks:
            start = Circle(best.x_um, best.y_um, float(radii[peaks[0]]))
            inner = refine_ring(groove, start, half_width_px=4 * step)
            if inner is not None and low <= inner.radius_um < best.radius_um:
                best = inner
    if not 0.8 * low <= best.radius_um <= high:
        return None
    return best


def aperture_ring(
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
    profile = ring_profile(groove, firing_pin, radii)
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
    ring = refine_ring(
        groove,
        Circle(firing_pin.x_um, firing_pin.y_um, float(radii[peak])),
        half_width_px=max((last - first) / 2 + 2, 3.0),
    )
    if ring is None or ring.distance_um(firing_pin) > 0.5 * ring.radius_um:
        ring = Circle(firing_pin.x_um, firing_pin.y_um, float(radii[peak]))
    return Circle(ring.x_um, ring.y_um, ring.radius_um + float(radii[end] - radii[peak]))

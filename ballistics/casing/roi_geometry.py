"""Circles and grids of the region-of-interest search: circle fit, pixel <-> micrometre
conversions, discs, outlines and samples along rays (helpers of :mod:`ballistics.casing.roi`).

References
----------
.. [3] I. Kåsa, "A circle fitting procedure and its error analysis", IEEE Trans. Instrum. Meas.
   IM-25(1), 1976, pp. 8-14.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ballistics.casing.filters import resample, robust_spread

#: Rays cast from a centre when a ring or a crater's rim is followed around it.
RAY_COUNT = 256


@dataclass(frozen=True)
class Circle:
    """A circle on a surface's grid, in micrometres (``x_um = column * pixel_um``)."""

    x_um: float
    y_um: float
    radius_um: float

    def distance_um(self, other: Circle) -> float:
        """Return the distance between the two centres in micrometres."""
        return math.hypot(self.x_um - other.x_um, self.y_um - other.y_um)


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


@dataclass(frozen=True)
class Grid:
    """Pixel <-> micrometre conversion of a grid: ``um = (index + origin_px) * pixel_um``.

    ``origin_px`` is (x, y) of pixel (0, 0)'s centre on the source surface's frame, in this
    grid's pixels. Area resampling from ``source_pixel_um`` makes pixel ``j`` cover source pixels
    ``[j*s, (j+1)*s)``, so its centre lies half a new pixel less half an old one from the origin.
    (Also used for pixel <-> pixel conversions, with "um" standing for the finer grid's pixels.)
    """

    pixel_um: float
    origin_px: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def resampled(cls, source_pixel_um: float, pixel_um: float) -> Grid:
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


def grown(circle: Circle, margin_um: float) -> Circle:
    return Circle(circle.x_um, circle.y_um, max(circle.radius_um + margin_um, 0.0))


def shrunk(circle: Circle, factor: float) -> Circle:
    return Circle(circle.x_um, circle.y_um, circle.radius_um * factor)


def disc(shape: tuple[int, int], circle: Circle) -> np.ndarray:
    """Boolean disc on a grid, circle in that grid's pixels."""
    rows, columns = np.ogrid[: shape[0], : shape[1]]
    return (rows - circle.y_um) ** 2 + (columns - circle.x_um) ** 2 <= circle.radius_um**2


def outline_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    image = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(image, [polygon.reshape(-1, 1, 2)], 1)
    return image.astype(bool)


def polar_samples(
    image: np.ndarray, centre: Circle, radii_px: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample ``image`` on rays from ``centre`` (pixels): (values [rays, radii], cos, sin).

    Samples off the grid are NaN.
    """
    angles = np.linspace(0, 2 * math.pi, RAY_COUNT, endpoint=False)
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


def fine_grid(
    values: np.ndarray, pixel_um: float, *, refine_pixel_um: float
) -> tuple[np.ndarray, Grid]:
    """The surface on the refinement grid (never finer than the scan), and that grid."""
    if pixel_um >= refine_pixel_um:
        return np.asarray(values, dtype=np.float32), Grid(pixel_um)
    fine = resample(values, pixel_um=pixel_um, target_pixel_um=refine_pixel_um)
    return fine, Grid.resampled(pixel_um, refine_pixel_um)


def resample_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
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


def eroded(mask: np.ndarray, radius_px: int, *, close_px: int = 2) -> np.ndarray:
    """Return ``mask`` with a band of ``radius_px`` pixels shaved off its edges.

    Single drop-outs inside the region are closed first (a morphological closing of
    ``close_px``), so that only the region's own edges (the firing-pin hole and the outer rim)
    recede, not every missing point; the result stays within ``mask``. This is cmcR's
    ``preProcess_erode`` of the interior and exterior of a breech face [5]_.

    References
    ----------
    .. [5] J. Zemmels, H. Hofmann and S. VanderPlas, "Zeroing in on automatic cartridge case
       comparisons: the cmcR package", The R Journal 14(4), 2023.
    """
    mask = np.asarray(mask, dtype=bool)
    if radius_px <= 0 or not mask.any():
        return mask.copy()
    closing = np.ones((2 * close_px + 1, 2 * close_px + 1), np.uint8)
    filled = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, closing)
    disc_element = cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * radius_px + 1, 2 * radius_px + 1)
    )
    shaved = cv2.erode(filled, disc_element, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return mask & shaved.astype(bool)

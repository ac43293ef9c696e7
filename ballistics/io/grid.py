"""Bring a grid whose x and y spacings differ onto a square grid at the x spacing."""

from __future__ import annotations

import cv2
import numpy as np

from ballistics.errors import LimitExceededError, UnreadableFileError
from ballistics.io.limits import ReadLimits

#: Spacings closer than this (relative) count as equal: scanners round their increments.
SQUARE_TOLERANCE = 0.01
#: Spacings further apart than this factor are a broken header (or mixed units), not a scanner.
MAX_SPACING_RATIO = 10.0

# Where less than this share of an output point's interpolation weight comes from measured
# points, the point stays unmeasured (NaN) rather than being extrapolated from its neighbours.
_MIN_VALID_WEIGHT = 0.5


def is_square(x_um: float, y_um: float) -> bool:
    """Return True when two grid spacings differ by at most :data:`SQUARE_TOLERANCE`."""
    return abs(y_um / x_um - 1.0) <= SQUARE_TOLERANCE


def check_resampling(
    shape: tuple[int, int], *, x_um: float, y_um: float, name: str, limits: ReadLimits
) -> None:
    """Refuse spacings too far apart to be real, or a resampled grid past ``limits.max_points``.

    Raises
    ------
    UnreadableFileError
        x and y spacings differ more than :data:`MAX_SPACING_RATIO`-fold.
    LimitExceededError
        The square grid would hold more than ``limits.max_points`` points.
    """
    ratio = y_um / x_um
    if not 1 / MAX_SPACING_RATIO <= ratio <= MAX_SPACING_RATIO:
        raise UnreadableFileError(
            name,
            f"x and y spacings ({x_um:g} and {y_um:g} µm) differ {max(ratio, 1 / ratio):.0f}-fold; "
            "the header is inconsistent",
        )
    rows, columns = shape
    points = max(1, round(rows * ratio)) * columns
    if points > limits.max_points:
        raise LimitExceededError(
            name,
            f"resampled to square pixels the grid holds {points} points, past the limit of "
            f"{limits.max_points}",
        )


def resample_to_square(
    values: np.ndarray,
    *,
    x_um: float,
    y_um: float,
    region: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``values`` (rows along y) resampled along y to the x spacing, ignoring NaN.

    Unmeasured points (NaN) do not leak into their neighbours: values and a validity weight are
    interpolated separately and divided (normalised convolution), and an output point whose
    weight comes less than half from measured points stays NaN. Rows are interpolated linearly
    when the grid gets finer and area-averaged when it gets coarser.

    Parameters
    ----------
    values
        2-D float array, row ``i`` at ``y = i * y_um``, column ``j`` at ``x = j * x_um``.
    x_um, y_um
        Spacings along x (columns) and y (rows) in micrometres.
    region
        Optional boolean array of the same shape, resampled by nearest neighbour.

    Returns
    -------
    tuple of (numpy.ndarray, numpy.ndarray or None)
        The values on a grid of ``round(rows * y_um / x_um)`` rows spaced ``x_um``, and the
        resampled region (None when none was given).

    References
    ----------
    .. [1] H. Knutsson and C.-F. Westin, "Normalized and differential convolution", Proc. IEEE
       CVPR, 1993, pp. 515-523.
    """
    if not (np.isfinite(x_um) and np.isfinite(y_um) and x_um > 0 and y_um > 0):
        raise ValueError(
            f"grid spacings must be positive micrometres, got x_um={x_um!r}, y_um={y_um!r}."
        )
    rows, columns = values.shape
    new_rows = max(1, round(rows * y_um / x_um))
    if new_rows == rows:
        return values, region
    interpolation = cv2.INTER_LINEAR if new_rows > rows else cv2.INTER_AREA
    valid = np.isfinite(values)
    filled = np.where(valid, values, 0.0).astype(np.float64)
    size = (columns, new_rows)  # OpenCV sizes are (width, height)
    summed = cv2.resize(filled, size, interpolation=interpolation)
    weight = cv2.resize(valid.astype(np.float64), size, interpolation=interpolation)
    with np.errstate(invalid="ignore", divide="ignore"):
        resampled = np.where(weight >= _MIN_VALID_WEIGHT, summed / weight, np.nan)
    resampled_region = None
    if region is not None:
        resampled_region = (
            cv2.resize(region.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        )
    return resampled, resampled_region

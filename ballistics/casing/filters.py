"""NaN-aware filters for measured surfaces: levelling, Gaussian band-pass, resampling, clipping.

Every function takes a 2-D float array with NaN at unmeasured points and returns a new array with
NaN at the same places (or more, never fewer): missing data never leaks into measured areas and
measured data never invents values in holes.

References
----------
.. [1] ISO 16610-61:2015, Geometrical product specifications (GPS) - Filtration - Part 61:
   Linear areal filters - Gaussian filters.
.. [2] H. Knutsson and C.-F. Westin, "Normalized and differential convolution", Proc. IEEE CVPR,
   1993, pp. 515-523.
.. [3] J. Song, "Proposed 'Congruent Matching Cells (CMC)' method for ballistic identification
   and error rate estimation", AFTE Journal 47(3), 2015 (16-500 um band-pass of breech faces).
.. [4] A. E. Beaton and J. W. Tukey, "The fitting of power series, meaning polynomials,
   illustrated on band-spectroscopic data", Technometrics 16(2), 1974, pp. 147-185.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from ballistics.io.limits import DEFAULT_LIMITS, check_points

logger = logging.getLogger(__name__)

#: sigma / cutoff wavelength of the ISO 16610-61 Gaussian (50 % transmission at the cutoff)
GAUSSIAN_SIGMA_PER_CUTOFF = math.sqrt(math.log(2.0) / 2.0) / math.pi

# Gaussians wider than this many pixels are computed on a decimated grid (the result is smooth
# on that scale, so bilinear upsampling loses nothing measurable and saves most of the time).
_DECIMATE_ABOVE_SIGMA_PX = 8.0
_SIGMA_PX_AFTER_DECIMATION = 6.0
# Levelling fits use at most this many points (a random but seeded subset beyond it).
_LEVEL_MAX_POINTS = 20_000
_TUKEY_C = 4.685


def cutoff_to_sigma_px(cutoff_um: float, *, pixel_um: float) -> float:
    """Return the Gaussian sigma, in pixels, of an ISO 16610-61 filter with cutoff ``cutoff_um``.

    The ISO Gaussian weighting ``exp(-pi (x / (alpha * cutoff))**2)`` with
    ``alpha = sqrt(ln 2 / pi)`` transmits 50 % of a sinusoid whose wavelength equals the cutoff;
    as a normal density its standard deviation is ``cutoff * sqrt(ln 2 / 2) / pi`` (about
    ``0.1874 * cutoff``) [1]_.

    References
    ----------
    .. [1] ISO 16610-61:2015, Linear areal filters - Gaussian filters.
    """
    if not (cutoff_um > 0 and pixel_um > 0):
        raise ValueError(
            f"cutoff_um and pixel_um must be positive, got {cutoff_um!r} and {pixel_um!r}."
        )
    return GAUSSIAN_SIGMA_PER_CUTOFF * cutoff_um / pixel_um


def gaussian_transmission(wavelength_um: float, *, cutoff_um: float) -> float:
    """Return the amplitude transmission of the ISO Gaussian low-pass at ``wavelength_um``."""
    alpha_squared = math.log(2.0) / math.pi
    return math.exp(-math.pi * alpha_squared * (cutoff_um / wavelength_um) ** 2)


def _weights_and_products(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    valid = np.isfinite(values)
    weights = valid.astype(np.float32)
    products = np.where(valid, values, 0.0).astype(np.float32)
    return products, weights


def _blur_pair(
    products: np.ndarray, weights: np.ndarray, sigma_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-blur values*mask and mask alike; beyond the array counts as missing."""
    rows, columns = products.shape
    if sigma_px <= _DECIMATE_ABOVE_SIGMA_PX:
        blurred = [
            cv2.GaussianBlur(image, (0, 0), sigma_px, borderType=cv2.BORDER_CONSTANT)
            for image in (products, weights)
        ]
        return blurred[0], blurred[1]
    # Block-average by an integer factor, blur on the coarse grid, interpolate back. The block
    # average is itself a box filter of variance factor**2 / 12 (in fine pixels): take it off.
    factor = max(2, int(sigma_px // _SIGMA_PX_AFTER_DECIMATION))
    coarse_sigma = math.sqrt(max(sigma_px**2 - factor**2 / 12.0, 0.25)) / factor
    padded_rows = -(-rows // factor) * factor
    padded_columns = -(-columns // factor) * factor
    result = []
    for image in (products, weights):
        padded = np.zeros((padded_rows, padded_columns), dtype=np.float32)
        padded[:rows, :columns] = image
        coarse = cv2.resize(
            padded,
            (padded_columns // factor, padded_rows // factor),
            interpolation=cv2.INTER_AREA,
        )
        coarse = cv2.GaussianBlur(coarse, (0, 0), coarse_sigma, borderType=cv2.BORDER_CONSTANT)
        fine = cv2.resize(coarse, (padded_columns, padded_rows), interpolation=cv2.INTER_LINEAR)
        result.append(fine[:rows, :columns])
    return result[0], result[1]


def gaussian_smooth(
    values: np.ndarray, *, sigma_px: float, min_weight: float = 0.05, fill_missing: bool = False
) -> np.ndarray:
    """Return the NaN-aware Gaussian smoothing of ``values`` (normalised convolution).

    The filter is applied to ``values * mask`` and to ``mask`` separately and the first is
    divided by the second [2]_, so that a missing point neither pulls its neighbours towards zero
    nor spreads NaN; beyond the array edge counts as missing. The result is NaN where the input
    was NaN and where the measured weight under the kernel is below ``min_weight`` (a fraction of
    the full kernel weight: isolated specks whose smoothed level is not defined).

    Parameters
    ----------
    values
        2-D array, NaN where unmeasured.
    sigma_px
        Standard deviation of the Gaussian in pixels (see :func:`cutoff_to_sigma_px`).
    min_weight
        Smallest accepted fraction of the kernel's weight on measured points, in [0, 1).
    fill_missing
        Also estimate unmeasured points from their measured neighbours (where the weight
        suffices): for detection maps, never for the evidence itself.

    References
    ----------
    .. [2] H. Knutsson and C.-F. Westin, "Normalized and differential convolution", CVPR 1993.
    """
    values = _as_image(values)
    if not sigma_px > 0:
        raise ValueError(f"sigma_px must be positive, got {sigma_px!r}.")
    if not 0.0 <= min_weight < 1.0:
        raise ValueError(
            f"min_weight is a fraction of the kernel weight in [0, 1), got {min_weight!r}."
        )
    products, weights = _weights_and_products(values)
    smoothed_products, smoothed_weights = _blur_pair(products, weights, sigma_px)
    keep = smoothed_weights >= max(min_weight, 1e-6)
    if not fill_missing:
        keep &= weights > 0
    result = np.full(values.shape, np.nan, dtype=np.float32)
    result[keep] = smoothed_products[keep] / smoothed_weights[keep]
    return result


def gaussian_bandpass(
    values: np.ndarray,
    *,
    pixel_um: float,
    cutoffs_um: tuple[float, float] = (16.0, 500.0),
    min_weight: float = 0.05,
    long_smooth: np.ndarray | None = None,
) -> np.ndarray:
    """Return the NaN-aware Gaussian band-pass: short-cutoff minus long-cutoff smoothing.

    The short cutoff removes detail finer than ``cutoffs_um[0]`` (noise), the long one removes
    form and waviness longer than ``cutoffs_um[1]``; a sinusoid at either cutoff keeps half its
    amplitude [1]_. The 16-500 µm band is the one NIST uses for breech faces [3]_. A short cutoff
    below two pixels only removes what the grid can carry and is skipped.

    Parameters
    ----------
    values
        2-D array (micrometres of height, or intensity), NaN where unmeasured.
    pixel_um
        Grid spacing in micrometres.
    cutoffs_um
        (short, long) cutoff wavelengths in micrometres, short < long.
    min_weight
        Passed to :func:`gaussian_smooth` for the long cutoff.
    long_smooth
        The long-cutoff smoothing of these very values when the caller has it already.

    References
    ----------
    .. [1] ISO 16610-61:2015.
    .. [3] J. Song, AFTE Journal 47(3), 2015.
    """
    short_um, long_um = (float(cutoff) for cutoff in cutoffs_um)
    if not 0 < short_um < long_um:
        raise ValueError(
            f"cutoffs_um must be (short, long) with 0 < short < long, got {cutoffs_um!r}; "
            "for example (16.0, 500.0)."
        )
    values = _as_image(values)
    if long_smooth is None:
        long_smooth = gaussian_smooth(
            values, sigma_px=cutoff_to_sigma_px(long_um, pixel_um=pixel_um), min_weight=min_weight
        )
    elif long_smooth.shape != values.shape:
        raise ValueError(
            f"long_smooth has shape {long_smooth.shape} but values {values.shape}; pass the "
            "smoothing of the same array or None."
        )
    short_sigma_px = cutoff_to_sigma_px(short_um, pixel_um=pixel_um)
    if short_sigma_px < 0.2:
        # The kernel would be a single pixel: nothing the grid holds is above the cutoff.
        short_smooth = np.where(np.isfinite(values), values, np.nan).astype(np.float32)
    else:
        short_smooth = gaussian_smooth(values, sigma_px=short_sigma_px, min_weight=0.0)
    return (short_smooth - long_smooth).astype(np.float32)


def polynomial_terms(rows: np.ndarray, columns: np.ndarray, *, order: int) -> np.ndarray:
    """Return the design matrix of a 2-D polynomial of total degree ``order``, a column a term."""
    terms = [
        columns**column_power * rows ** (degree - column_power)
        for degree in range(order + 1)
        for column_power in range(degree + 1)
    ]
    return np.stack(terms, axis=-1)


def level(
    values: np.ndarray,
    *,
    order: int = 1,
    robust: bool = True,
    iterations: int = 6,
    seed: int = 0,
) -> np.ndarray:
    """Return ``values`` minus a fitted polynomial surface of total degree ``order``.

    The fit is robust by default: iteratively reweighted least squares with Tukey's bisquare
    weights [4]_ on residuals scaled by their median absolute deviation, so that deep marks,
    spikes and the odd remaining edge do not tilt the reference. ``order=1`` removes a plane,
    ``order=2`` also the curvature of a domed primer or a crater's bowl.

    Parameters
    ----------
    values
        2-D array, NaN where unmeasured (NaN stays NaN).
    order
        Total degree of the polynomial, 0 to 4.
    robust
        False gives the ordinary least-squares fit.
    iterations
        Reweighting passes of the robust fit.
    seed
        Seed of the random subset of points used when the surface holds more than 20,000.

    References
    ----------
    .. [4] A. E. Beaton and J. W. Tukey, Technometrics 16(2), 1974.
    """
    values = _as_image(values)
    if order not in range(5):
        raise ValueError(f"order must be an integer from 0 to 4, got {order!r}.")
    valid = np.isfinite(values)
    count = int(valid.sum())
    terms_count = (order + 1) * (order + 2) // 2
    if count < 3 * terms_count:
        raise ValueError(
            f"levelling a degree-{order} surface needs at least {3 * terms_count} measured points, "
            f"got {count}; lower the order or give a larger region."
        )
    # Normalised coordinates keep the least-squares system well conditioned at any size.
    centre_row, centre_column = (values.shape[0] - 1) / 2, (values.shape[1] - 1) / 2
    scale = max(values.shape) / 2
    indices = np.flatnonzero(valid)
    if count > _LEVEL_MAX_POINTS:
        indices = np.sort(
            np.random.default_rng(seed).choice(indices, _LEVEL_MAX_POINTS, replace=False)
        )
    rows, columns = np.divmod(indices, values.shape[1])
    design = polynomial_terms(
        (rows - centre_row) / scale, (columns - centre_column) / scale, order=order
    )
    heights = values.ravel()[indices].astype(np.float64)
    weights = np.ones(heights.size)
    coefficients = np.zeros(terms_count)
    for _ in range(iterations if robust else 1):
        # Normal equations: the coordinates are normalised to [-1, 1], so they are well posed
        # up to degree 4, and far cheaper than an SVD of the tall design matrix.
        weighted = design * weights[:, None]
        normal = weighted.T @ design
        try:
            coefficients = np.linalg.solve(normal, weighted.T @ heights)
        except np.linalg.LinAlgError:
            coefficients, *_ = np.linalg.lstsq(normal, weighted.T @ heights, rcond=None)
        if not robust:
            break
        residuals = heights - design @ coefficients
        spread = 1.4826 * np.median(np.abs(residuals - np.median(residuals)))
        if spread <= 0:
            break
        scaled = residuals / (_TUKEY_C * spread)
        weights = np.where(np.abs(scaled) < 1, (1 - scaled**2) ** 2, 0.0)
    # Evaluate the surface on the grid term by term: outer products, no gathered coordinates.
    row_axis = ((np.arange(values.shape[0]) - centre_row) / scale).astype(np.float32)
    column_axis = ((np.arange(values.shape[1]) - centre_column) / scale).astype(np.float32)
    form = np.zeros(values.shape, dtype=np.float32)
    term = 0
    for degree in range(order + 1):
        for column_power in range(degree + 1):
            form += np.float32(coefficients[term]) * np.outer(
                row_axis ** (degree - column_power), column_axis**column_power
            )
            term += 1
    result = (values - form).astype(np.float32)
    result[~valid] = np.nan
    return result


def robust_spread(values: np.ndarray) -> tuple[float, float]:
    """Return (median, 1.4826 * median absolute deviation) of the finite values: a robust sigma."""
    finite = np.asarray(values)[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 0.0
    median = float(np.median(finite))
    return median, float(1.4826 * np.median(np.abs(finite - median)))


def remove_outliers(
    values: np.ndarray,
    *,
    sigmas: float = 6.0,
    background: np.ndarray | None = None,
) -> np.ndarray:
    """Return ``values`` with points further than ``sigmas`` robust sigmas from the rest set to NaN.

    Spikes and drop-outs of optical scanners are measurement failures, not surface: they are made
    missing rather than clipped, so that the normalised-convolution filters fill them from their
    neighbours instead of spreading a clipped but still wrong value. Deviations are measured from
    ``background`` (for example a long-cutoff smoothing, so that form does not count as outlier)
    when given, else from the median; the scale is 1.4826 times the median absolute deviation.

    Parameters
    ----------
    values
        2-D array, NaN where unmeasured.
    sigmas
        Threshold in robust standard deviations (> 0).
    background
        Optional reference surface of the same shape.
    """
    values = _as_image(values)
    if not sigmas > 0:
        raise ValueError(f"sigmas must be a positive number of robust sigmas, got {sigmas!r}.")
    residuals = values if background is None else values - background
    median, spread = robust_spread(residuals)
    result = values.astype(np.float32, copy=True)
    if spread <= 0:
        return result
    with np.errstate(invalid="ignore"):
        outliers = np.abs(residuals - median) > sigmas * spread
    result[outliers] = np.nan
    return result


def resample(
    values: np.ndarray,
    *,
    pixel_um: float,
    target_pixel_um: float,
    min_valid_fraction: float = 0.5,
    name: str = "",
    max_points: int = DEFAULT_LIMITS.max_points,
) -> np.ndarray:
    """Return ``values`` resampled to ``target_pixel_um`` by NaN-aware area averaging.

    Downsampling averages the measured points under each new pixel (OpenCV's area interpolation of
    ``values * mask`` divided by that of ``mask``); a new pixel is valid when at least
    ``min_valid_fraction`` of its area was measured. Upsampling interpolates bilinearly in the same
    masked way. Output pixel ``j`` covers input pixels ``[j * s, (j + 1) * s)`` with
    ``s = target_pixel_um / pixel_um``, so input index ``i`` maps to ``(i + 0.5) / s - 0.5``.

    The output's size is computed first: a grid past ``max_points`` is refused with
    :class:`~ballistics.errors.LimitExceededError` naming ``name`` (the file), not allocated.
    """
    values = _as_image(values)
    if not (pixel_um > 0 and target_pixel_um > 0):
        raise ValueError(
            f"pixel_um and target_pixel_um must be positive, got {pixel_um!r}, {target_pixel_um!r}."
        )
    scale = pixel_um / target_pixel_um
    if abs(scale - 1.0) < 1e-9:
        return values.astype(np.float32, copy=True)
    # OpenCV's own rounding of a size given by a scale factor
    rows, columns = round(values.shape[0] * scale), round(values.shape[1] * scale)
    check_points(
        rows * columns,
        max_points=max_points,
        name=name,
        what=f"the grid resampled from {pixel_um:g} to {target_pixel_um:g} µm per pixel",
    )
    products, weights = _weights_and_products(values)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = [
        cv2.resize(image, None, fx=scale, fy=scale, interpolation=interpolation)
        for image in (products, weights)
    ]
    if resized[0].size == 0:
        raise ValueError(
            f"resampling a {values.shape} grid from {pixel_um} to {target_pixel_um} µm/px leaves "
            "no pixel; choose a finer target_pixel_um."
        )
    keep = resized[1] >= max(min_valid_fraction, 1e-6)
    result = np.full(resized[0].shape, np.nan, dtype=np.float32)
    result[keep] = resized[0][keep] / resized[1][keep]
    return result


def resample_centred(
    values: np.ndarray,
    *,
    pixel_um: float,
    target_pixel_um: float,
    centre_px: tuple[float, float],
    half_size: int,
    min_valid_fraction: float = 0.5,
    name: str = "",
    max_points: int = DEFAULT_LIMITS.max_points,
) -> np.ndarray:
    """Return a ``(2 * half_size + 1)``-square resampling whose centre pixel lies on ``centre_px``.

    ``centre_px`` is a (row, column) position on ``values``, fractional; output pixel
    ``(half_size + i, half_size + j)`` samples ``values`` at
    ``centre_px + (i, j) * target_pixel_um / pixel_um``. Two scans of the same surface lying
    differently on the grid thus sample it at the same points relative to the centre, which
    integer placement (half a pixel off at worst) does not. Downsampling first smooths with a
    NaN-aware Gaussian matched to the area of a new pixel (anti-aliasing); sampling is bilinear,
    on ``values * mask`` and on ``mask``, and a new pixel is valid when its interpolated mask
    reaches ``min_valid_fraction``. A square past ``max_points`` is refused with
    :class:`~ballistics.errors.LimitExceededError` naming ``name`` (the file), not allocated.
    """
    values = _as_image(values)
    if not (pixel_um > 0 and target_pixel_um > 0):
        raise ValueError(
            f"pixel_um and target_pixel_um must be positive, got {pixel_um!r}, {target_pixel_um!r}."
        )
    if half_size < 0:
        raise ValueError(f"half_size must be >= 0, got {half_size!r}.")
    check_points(
        (2 * half_size + 1) ** 2,
        max_points=max_points,
        name=name,
        what=f"the square resampled from {pixel_um:g} to {target_pixel_um:g} µm per pixel",
    )
    step = target_pixel_um / pixel_um
    products, weights = _weights_and_products(values)
    if step > 1.0:
        # A box of one new pixel has the variance of a Gaussian with sigma = width / sqrt(12).
        sigma_px = math.sqrt(step**2 - 1.0) / math.sqrt(12.0)
        if sigma_px > 0.2:
            products, weights = _blur_pair(products, weights, sigma_px)
    size = 2 * half_size + 1
    centre_row, centre_column = centre_px
    # Output (x, y) -> input (x, y): scale by step about the centre.
    inverse = np.array(
        [
            [step, 0.0, centre_column - half_size * step],
            [0.0, step, centre_row - half_size * step],
        ]
    )
    warped = [
        cv2.warpAffine(
            image,
            inverse,
            (size, size),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )
        for image in (products, weights)
    ]
    keep = warped[1] >= max(min_valid_fraction, 1e-6)
    result = np.full((size, size), np.nan, dtype=np.float32)
    result[keep] = warped[0][keep] / warped[1][keep]
    return result


def flatten_illumination(
    intensities: np.ndarray, *, pixel_um: float, cutoff_um: float = 500.0
) -> np.ndarray:
    """Return a photograph's relative contrast: intensity over its large-scale mean, minus one.

    A ring light lights a primer unevenly, and the unevenness multiplies the reflectance pattern;
    dividing by the NaN-aware Gaussian smoothing at ``cutoff_um`` takes it off, leaving the local
    contrast of the marks.
    """
    intensities = _as_image(intensities)
    smooth = gaussian_smooth(
        intensities, sigma_px=cutoff_to_sigma_px(cutoff_um, pixel_um=pixel_um), min_weight=0.05
    )
    finite = smooth[np.isfinite(smooth)]
    # A floor keeps pitch-black areas (shadows, the primer gap) from blowing up.
    floor = max(float(np.percentile(finite, 5)) * 0.5, 1e-3) if finite.size else 1e-3
    with np.errstate(invalid="ignore"):
        return (intensities / np.maximum(smooth, floor) - 1.0).astype(np.float32)


def standardise(values: np.ndarray) -> np.ndarray:
    """Return ``values`` scaled to zero mean and unit variance over its finite points."""
    values = _as_image(values)
    finite = values[np.isfinite(values)]
    if finite.size < 2:
        return values.astype(np.float32, copy=True)
    spread = float(finite.std())
    centred = values - float(finite.mean())
    return (centred / spread if spread > 0 else centred).astype(np.float32)


def _as_image(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {array.shape}.")
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
    return array


def remove_concentric_profile(values: np.ndarray, *, ring_px: float = 1.0) -> np.ndarray:
    """Subtract the mean of every thin ring about the array's centre (NaN-aware).

    Whatever is the same all the way round the cartridge axis (the lip thrown up around a
    firing-pin crater, the dome of a primer, concentric die rings of an ammunition brand) is
    shared by unrelated casings, carries no information about rotation, and makes two casings
    that were never in the same gun look alike once their centres are aligned. The individual
    marks of a breech face vary around the circle, so a ring's mean removes almost none of them.

    Parameters
    ----------
    values
        2-D array with the cartridge axis at its centre ``((rows - 1) / 2, (columns - 1) / 2)``;
        NaN where nothing was measured (left NaN).
    ring_px
        Width of each ring in pixels.

    Returns
    -------
    numpy.ndarray
        The values less their ring means, float32.
    """
    if not ring_px > 0:
        raise ValueError(f"ring_px must be a positive width in pixels, got {ring_px!r}.")
    rows, columns = values.shape
    row_index, column_index = np.ogrid[:rows, :columns]
    radius = np.hypot(row_index - (rows - 1) / 2.0, column_index - (columns - 1) / 2.0)
    ring = (radius / ring_px).astype(np.int64)
    valid = np.isfinite(values)
    sums = np.bincount(ring[valid], weights=values[valid], minlength=int(ring.max()) + 1)
    counts = np.bincount(ring[valid], minlength=int(ring.max()) + 1)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return (values - means[ring]).astype(np.float32)

"""Seeded random fields on square grids: band-limited roughness and tool-mark striations.

Every field here is a function of a seed only, sampled on a grid whose centre is the origin of
the frame it lives in (a firearm's breech face, a casing's head). Fields are synthesised in the
Fourier domain (filtered white noise), so they are periodic on their grid and smooth at any
resampling; amplitudes are normalised to unit standard deviation and scaled by the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft

# ISO 16610-61 Gaussian filter constant: a Gaussian with cut-off wavelength λc transmits 50 % of
# the amplitude at λc when its transfer function is exp(-π (α λc k)²).
GAUSSIAN_ALPHA = float(np.sqrt(np.log(2.0) / np.pi))


def stable_seed(*parts: object) -> int:
    """Return a 64-bit seed derived from ``parts``, identical in every Python process.

    Python's ``hash`` of strings is salted per process, so seeds are derived from SHA-256 of the
    parts' ``repr`` instead.
    """
    # numpy scalars print differently across numpy versions ("np.int64(5)" or "5").
    plain = tuple(part.item() if isinstance(part, np.generic) else part for part in parts)
    digest = hashlib.sha256(repr(plain).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def require_positive(record: object, names: tuple[str, ...]) -> None:
    """Raise ValueError naming the first field of ``record`` in ``names`` that is not a positive
    finite number."""
    for name in names:
        value = getattr(record, name)
        if not (np.isfinite(value) and value > 0):
            raise ValueError(
                f"{type(record).__name__}.{name} must be a positive number, got {value!r}."
            )


def generator(*parts: object) -> np.random.Generator:
    """Return a numpy Generator seeded from ``parts`` (see :func:`stable_seed`)."""
    return np.random.default_rng(stable_seed(*parts))


@dataclass(frozen=True, eq=False)
class GridField:
    """A field sampled on a regular grid whose centre pixel ``((n - 1) / 2, (m - 1) / 2)`` is the
    origin of its frame.

    Parameters
    ----------
    values
        2-D float32 array, row index along y (down), column index along x.
    spacing_um
        Grid spacing in micrometres.
    """

    values: np.ndarray
    spacing_um: float

    @property
    def centre_px(self) -> tuple[float, float]:
        """(row, column) of the frame origin."""
        rows, columns = self.values.shape
        return (rows - 1) / 2.0, (columns - 1) / 2.0

    def coordinates_um(self) -> tuple[np.ndarray, np.ndarray]:
        """Return float32 arrays (x, y) in micrometres of every grid point."""
        rows, columns = self.values.shape
        centre_row, centre_column = self.centre_px
        x = (np.arange(columns, dtype=np.float32) - centre_column) * self.spacing_um
        y = (np.arange(rows, dtype=np.float32) - centre_row) * self.spacing_um
        return np.meshgrid(x, y)


def grid_coordinates_um(size: int, spacing_um: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (x, y) float32 coordinate arrays of a ``size`` x ``size`` grid centred on 0."""
    axis = (np.arange(size, dtype=np.float32) - (size - 1) / 2.0) * np.float32(spacing_um)
    return np.meshgrid(axis, axis)


def spectral_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    transfer: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    spacing_um: tuple[float, float],
    periodic: bool = False,
) -> np.ndarray:
    """Return zero-mean, unit-variance float32 noise whose amplitude spectrum is ``transfer``.

    Parameters
    ----------
    rng
        Source of the white noise.
    shape
        (rows, columns) of the output.
    transfer
        Function of (ky, kx) spatial frequencies in cycles per micrometre (broadcastable arrays)
        returning the amplitude transfer.
    spacing_um
        (row, column) grid spacing in micrometres.
    periodic
        Keep the field periodic on ``shape`` (for wrap-around sampling). Otherwise it is
        synthesised on a slightly larger grid of fast transform sizes and cropped.
    """
    full_shape = (
        shape
        if periodic
        else (
            scipy.fft.next_fast_len(shape[0], real=True),
            scipy.fft.next_fast_len(shape[1], real=True),
        )
    )
    white = rng.standard_normal(full_shape, dtype=np.float32)
    spectrum = scipy.fft.rfft2(white)
    ky = scipy.fft.fftfreq(full_shape[0], d=spacing_um[0]).astype(np.float32)[:, None]
    kx = scipy.fft.rfftfreq(full_shape[1], d=spacing_um[1]).astype(np.float32)[None, :]
    spectrum *= transfer(ky, kx).astype(np.float32)
    field = scipy.fft.irfft2(spectrum, s=full_shape).astype(np.float32)[: shape[0], : shape[1]]
    field -= field.mean()
    deviation = float(field.std())
    if deviation > 0:
        field /= deviation
    return field


def band_limited_noise(
    rng: np.random.Generator,
    size: int,
    *,
    spacing_um: float,
    shortest_um: float,
    longest_um: float,
) -> np.ndarray:
    """Return isotropic roughness with equal energy per octave between two wavelengths.

    The amplitude spectrum falls as 1/k (a fractal surface with power ∝ k⁻²) between Gaussian
    high-pass and low-pass edges at ``longest_um`` and ``shortest_um``, the band that the
    comparison's band-pass keeps (Song et al. 2014 use 16–250 µm; NIST's processing 16–500 µm).
    """
    long_scale = GAUSSIAN_ALPHA * longest_um
    short_scale = GAUSSIAN_ALPHA * shortest_um

    def transfer(ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
        k2 = ky * ky + kx * kx
        k = np.sqrt(k2) + np.float32(1e-12)
        high_pass = 1.0 - np.exp(-np.pi * long_scale**2 * k2)
        low_pass = np.exp(-np.pi * short_scale**2 * k2)
        return high_pass * low_pass / k

    return spectral_noise(rng, (size, size), transfer, spacing_um=(spacing_um, spacing_um))


def granular_noise(
    rng: np.random.Generator, size: int, *, spacing_um: float, grain_um: float
) -> np.ndarray:
    """Return isotropic blob-like texture whose spectrum peaks at wavelength ``grain_um``.

    A log-normal band (about one octave either side of the peak) gives the cratered, granular
    look of cast or blasted breech faces.
    """

    def transfer(ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
        k = np.sqrt(ky * ky + kx * kx) + np.float32(1e-12)
        return np.exp(-(np.log(k * grain_um) ** 2) / (2.0 * 0.55**2))

    return spectral_noise(rng, (size, size), transfer, spacing_um=(spacing_um, spacing_um))


def striation_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    *,
    spacing_um: tuple[float, float],
    mark_spacing_um: float,
    mark_length_um: float,
) -> np.ndarray:
    """Return striations: marks running along columns (axis 1), spaced along rows (axis 0).

    ``shape`` should have fast transform sizes (see ``scipy.fft.next_fast_len``): the field is
    synthesised on exactly that grid to stay periodic.

    Across the marks the spectrum is a log-normal band around ``1 / mark_spacing_um``; along them
    a Gaussian low-pass makes each mark persist over about ``mark_length_um``. The result is
    periodic on its grid, so it can be sampled with wrap-around (polar or rotated coordinates).
    """
    length_scale = np.float32(mark_length_um / np.sqrt(2.0))

    def transfer(ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
        across = np.abs(ky) * mark_spacing_um + np.float32(1e-12)
        across_band = np.exp(-(np.log(across) ** 2) / (2.0 * 0.5**2))
        along_band = np.exp(-2.0 * np.pi**2 * (length_scale * kx) ** 2)
        return across_band * along_band

    return spectral_noise(rng, shape, transfer, spacing_um=spacing_um, periodic=True)


def sample_wrapped(
    field: np.ndarray,
    *,
    rows: np.ndarray,
    columns: np.ndarray,
) -> np.ndarray:
    """Sample ``field`` bilinearly at fractional (row, column) positions, wrapping around."""
    return cv2.remap(
        field,
        columns.astype(np.float32),
        rows.astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_WRAP,
    )


def smoothstep(values: np.ndarray) -> np.ndarray:
    """Return the cubic smooth step of ``values`` clipped to [0, 1] (0 below 0, 1 above 1)."""
    clipped = np.clip(values, 0.0, 1.0)
    return clipped * clipped * (3.0 - 2.0 * clipped)


def resample_to_pixel(field: GridField, pixel_um: float) -> GridField:
    """Return ``field`` area-averaged to about ``pixel_um`` when that is coarser than its grid.

    Sampling a fine field at a coarse pixel without averaging would alias the shortest marks;
    a scanner's pixel integrates over its footprint, which area resampling imitates.
    """
    if pixel_um <= field.spacing_um * 1.25:
        return field
    rows, columns = field.values.shape
    new_rows = max(2, round(rows * field.spacing_um / pixel_um))
    new_columns = max(2, round(columns * field.spacing_um / pixel_um))
    resized = cv2.resize(field.values, (new_columns, new_rows), interpolation=cv2.INTER_AREA)
    # The frame origin stays at the centre; the spacing is the extent over the new count.
    return GridField(resized, field.spacing_um * rows / new_rows)


def warp_into_view(
    field: GridField,
    *,
    view_shape: tuple[int, int],
    pixel_um: float,
    rotation_deg: float,
    origin_um: tuple[float, float],
    border_value: float = 0.0,
) -> np.ndarray:
    """Sample a frame field into a view: the frame rotated by ``rotation_deg`` and its origin at
    ``origin_um`` (x, y) from the view centre.

    Rotation is counter-clockwise as seen on screen (row 0 at the top), the sense of
    ``cv2.getRotationMatrix2D``: a view point ``s`` shows the frame point
    ``q = R(-rotation) (s - origin)``.
    """
    source = resample_to_pixel(field, pixel_um)
    angle = np.deg2rad(rotation_deg)
    cosine, sine = np.cos(angle), np.sin(angle)
    rows, columns = view_shape
    view_centre_row, view_centre_column = (rows - 1) / 2.0, (columns - 1) / 2.0
    source_centre_row, source_centre_column = source.centre_px
    scale = pixel_um / source.spacing_um
    # s (view µm) = (column - centre) * pixel, q = R(-θ)(s - o); R(θ) = [[c, s], [-s, c]] on
    # screen coordinates, so R(-θ) = [[c, -s], [s, c]].
    matrix = np.array(
        [
            [cosine * scale, -sine * scale, 0.0],
            [sine * scale, cosine * scale, 0.0],
        ],
        dtype=np.float64,
    )
    offset_x = -view_centre_column * pixel_um - origin_um[0]
    offset_y = -view_centre_row * pixel_um - origin_um[1]
    matrix[0, 2] = (cosine * offset_x - sine * offset_y) / source.spacing_um + source_centre_column
    matrix[1, 2] = (sine * offset_x + cosine * offset_y) / source.spacing_um + source_centre_row
    interpolation = cv2.INTER_LINEAR if scale >= 0.8 else cv2.INTER_CUBIC
    return cv2.warpAffine(
        source.values,
        matrix,
        (columns, rows),
        flags=interpolation | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border_value,
    )

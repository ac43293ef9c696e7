"""Rendering fired cases as the instruments see them: 3D topographies and ring-light photographs.

Geometry of every rendered array: pixel ``(row, column)`` lies at
``x = (column - (columns - 1) / 2) * pixel_um``, ``y = (row - (rows - 1) / 2) * pixel_um`` from the
centre of the field of view; the primer centre lies at ``FiredCasing.primer_centre_um`` from it
(:func:`scan_geometry` gives it in pixels).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from ballistics.surface import Modality, Surface
from ballistics.synthetic.fields import GAUSSIAN_ALPHA, generator, smoothstep, warp_into_view
from ballistics.synthetic.firing import FiredCasing, head_heights, primer_heights

#: Default pixel size of rendered topographies and photographs (µm).
DEFAULT_PIXEL_UM = 10.0
#: Default side of the (square) field of view (µm): the primer, the pocket and the inner part of
#: the headstamp.
DEFAULT_FIELD_OF_VIEW_UM = 7000.0
#: Pixel size of processed topographies, as in the Fadul set (µm).
PROCESSED_PIXEL_UM = 6.25
#: Band-pass of processed topographies, as in the Fadul set (µm).
PROCESSED_BANDPASS_UM = (16.0, 500.0)


@dataclass(frozen=True)
class ScanGeometry:
    """Where the parts of a fired case lie in a rendered array (ground truth for tests).

    Parameters
    ----------
    shape
        (rows, columns) of the array.
    pixel_um
        Micrometres per pixel.
    primer_centre_px
        (row, column) of the primer centre (fractional).
    primer_radius_um
        Outer radius of the primer cup.
    primer_face_radius_um
        Radius of the flat primer face that carries the breech-face impression.
    pocket_radius_um
        Radius where the primer pocket's chamfer meets the case head.
    headstamp_inner_radius_um
        Smallest radius reached by the headstamp glyphs (from the primer centre).
    firing_pin_centre_px
        (row, column) of the firing-pin crater's centre.
    firing_pin_radius_um
        Half the firing pin's diameter (its long side for rectangular pins).
    rotation_deg
        Rotation of the firearm frame in the view (counter-clockwise on screen).
    shift_um
        (x, y) of the firearm frame's origin from the view centre.
    """

    shape: tuple[int, int]
    pixel_um: float
    primer_centre_px: tuple[float, float]
    primer_radius_um: float
    primer_face_radius_um: float
    pocket_radius_um: float
    headstamp_inner_radius_um: float
    firing_pin_centre_px: tuple[float, float]
    firing_pin_radius_um: float
    rotation_deg: float
    shift_um: tuple[float, float]

    def radius_um(self) -> np.ndarray:
        """Return each pixel's distance from the primer centre, in micrometres."""
        rows, columns = np.indices(self.shape, dtype=np.float32)
        return np.hypot(
            rows - np.float32(self.primer_centre_px[0]),
            columns - np.float32(self.primer_centre_px[1]),
        ) * np.float32(self.pixel_um)


def _view_shape(field_of_view_um: float | tuple[float, float], pixel_um: float) -> tuple[int, int]:
    if not (np.isfinite(pixel_um) and pixel_um > 0):
        raise ValueError(f"pixel_um must be a positive number of micrometres, got {pixel_um!r}.")
    if isinstance(field_of_view_um, tuple | list | np.ndarray):
        height, width = field_of_view_um  # (rows, columns)
    else:
        height = width = field_of_view_um
    rows, columns = round(float(height) / pixel_um), round(float(width) / pixel_um)
    if rows < 16 or columns < 16:
        raise ValueError(
            f"field_of_view_um {field_of_view_um!r} at pixel_um {pixel_um!r} gives a "
            f"{rows} x {columns} grid; use a larger field of view or smaller pixels."
        )
    if rows * columns > 16_000_000:
        raise ValueError(
            f"a {rows} x {columns} grid is too large for synthetic rendering; use larger pixels."
        )
    return rows, columns


def scan_geometry(
    fired: FiredCasing,
    *,
    pixel_um: float = DEFAULT_PIXEL_UM,
    field_of_view_um: float | tuple[float, float] = DEFAULT_FIELD_OF_VIEW_UM,
) -> ScanGeometry:
    """Return where primer, pocket, headstamp and firing pin lie in a render of ``fired``.

    For a processed topography pass ``fired.placed(primer_centre_um=(0, 0))`` and that render's
    pixel size and field of view (see :func:`render_processed_topography`).
    """
    rows, columns = _view_shape(field_of_view_um, pixel_um)
    centre_row, centre_column = (rows - 1) / 2.0, (columns - 1) / 2.0
    pin_x, pin_y = fired.firing_pin_centre_um
    ammunition = fired.ammunition
    return ScanGeometry(
        shape=(rows, columns),
        pixel_um=float(pixel_um),
        primer_centre_px=(
            centre_row + fired.primer_centre_um[1] / pixel_um,
            centre_column + fired.primer_centre_um[0] / pixel_um,
        ),
        primer_radius_um=ammunition.primer_radius_um,
        primer_face_radius_um=ammunition.primer_face_radius_um,
        pocket_radius_um=ammunition.pocket_radius_um,
        headstamp_inner_radius_um=ammunition.headstamp_inner_radius_um,
        firing_pin_centre_px=(centre_row + pin_y / pixel_um, centre_column + pin_x / pixel_um),
        firing_pin_radius_um=fired.firearm.firing_pin_diameter_um / 2.0,
        rotation_deg=fired.rotation_deg,
        shift_um=fired.shift_um,
    )


def clean_heights(
    fired: FiredCasing,
    *,
    pixel_um: float = DEFAULT_PIXEL_UM,
    field_of_view_um: float | tuple[float, float] = DEFAULT_FIELD_OF_VIEW_UM,
) -> np.ndarray:
    """Return the true heights (µm, case head = 0) of ``fired`` in the view: no instrument
    noise, dropout or tilt."""
    shape = _view_shape(field_of_view_um, pixel_um)
    primer = warp_into_view(
        primer_heights(fired),
        view_shape=shape,
        pixel_um=pixel_um,
        rotation_deg=fired.rotation_deg,
        origin_um=fired.shift_um,
    )
    head = warp_into_view(
        head_heights(fired),
        view_shape=shape,
        pixel_um=pixel_um,
        rotation_deg=fired.rotation_deg + fired.headstamp_rotation_deg,
        origin_um=fired.primer_centre_um,
    )
    return primer + head


def _metadata(fired: FiredCasing, geometry: ScanGeometry, kind: str) -> dict[str, str]:
    return {
        "synthetic": kind,
        "synthetic_firearm": fired.firearm.identifier,
        "synthetic_production_run": fired.firearm.production_run,
        "synthetic_brand": fired.ammunition.brand,
        "synthetic_seed": str(fired.seed),
        "synthetic_rotation_deg": repr(fired.rotation_deg),
        "synthetic_primer_centre_row": repr(geometry.primer_centre_px[0]),
        "synthetic_primer_centre_column": repr(geometry.primer_centre_px[1]),
        "synthetic_primer_radius_um": repr(geometry.primer_radius_um),
        "synthetic_primer_face_radius_um": repr(geometry.primer_face_radius_um),
    }


def _render_rng(fired: FiredCasing, kind: str, shape: tuple[int, int]) -> np.random.Generator:
    return generator(kind, fired.seed, fired.firearm.identifier, fired.ammunition.brand, shape)


def _slope_deg(heights: np.ndarray, pixel_um: float) -> np.ndarray:
    gradient_y, gradient_x = np.gradient(heights, pixel_um)
    return np.degrees(np.arctan(np.hypot(gradient_x, gradient_y)))


def render_topography(
    fired: FiredCasing,
    *,
    pixel_um: float = DEFAULT_PIXEL_UM,
    field_of_view_um: float | tuple[float, float] = DEFAULT_FIELD_OF_VIEW_UM,
    noise_um: float = 0.1,
    dropout_fraction: float = 0.02,
    tilt_deg: float | None = None,
) -> Surface:
    """Return a 3D scan of ``fired``: heights in µm, as a confocal or focus-variation scanner
    would record the whole primer and the inner case head.

    Parameters
    ----------
    fired
        The fired case and how it lies under the scanner.
    pixel_um
        Grid spacing (default 10 µm).
    field_of_view_um
        Side of the square view, or (height, width) (default 7000 µm: 700 x 700 pixels).
    noise_um
        Standard deviation of the measurement noise.
    dropout_fraction
        Fraction of points lost at random (in small clusters) besides those lost on steep walls
        (gap, crater walls, glyph walls), which are missed as specular scanners miss them.
    tilt_deg
        Tilt of the scanned plane (form to be levelled); drawn in [0.05°, 0.3°] when None.

    Returns
    -------
    Surface
        ``Modality.TOPOGRAPHY``, float32 heights, NaN where not measured; ground truth in
        ``metadata`` (keys starting with ``synthetic``) and from :func:`scan_geometry`.
    """
    if noise_um < 0 or not 0.0 <= dropout_fraction < 0.5:
        raise ValueError(
            f"noise_um must be >= 0 and dropout_fraction in [0, 0.5); got {noise_um!r}, "
            f"{dropout_fraction!r}."
        )
    geometry = scan_geometry(fired, pixel_um=pixel_um, field_of_view_um=field_of_view_um)
    heights = clean_heights(fired, pixel_um=pixel_um, field_of_view_um=field_of_view_um)
    rng = _render_rng(fired, "topography", geometry.shape)
    rows, columns = geometry.shape
    y, x = np.indices(geometry.shape, dtype=np.float32)
    x = (x - (columns - 1) / 2.0) * np.float32(pixel_um)
    y = (y - (rows - 1) / 2.0) * np.float32(pixel_um)
    tilt = float(rng.uniform(0.05, 0.3)) if tilt_deg is None else float(tilt_deg)
    tilt_direction = rng.uniform(0.0, 2.0 * np.pi)
    offset = rng.uniform(-20.0, 20.0)
    form = np.tan(np.deg2rad(tilt)) * (x * np.cos(tilt_direction) + y * np.sin(tilt_direction))
    noise = rng.standard_normal(geometry.shape, dtype=np.float32) * np.float32(noise_um)
    values = heights + form.astype(np.float32) + np.float32(offset) + noise

    # Steep walls send the light away from the objective: most of them are not measured.
    slope = _slope_deg(heights, pixel_um)
    missed = rng.uniform(size=geometry.shape) < 0.9 * smoothstep((slope - 55.0) / 20.0)
    if dropout_fraction > 0:
        clusters = cv2.GaussianBlur(
            rng.standard_normal(geometry.shape, dtype=np.float32), (0, 0), 1.5
        )
        missed |= clusters > np.quantile(clusters, 1.0 - 0.7 * dropout_fraction)
        missed |= rng.uniform(size=geometry.shape) < 0.3 * dropout_fraction
    values[missed] = np.nan
    return Surface(
        values=values.astype(np.float32),
        pixel_um=pixel_um,
        modality=Modality.TOPOGRAPHY,
        source=f"synthetic:{fired.firearm.identifier}:{fired.ammunition.brand}:{fired.seed}",
        metadata=_metadata(fired, geometry, "topography"),
    )


def render_photograph(
    fired: FiredCasing,
    *,
    pixel_um: float = DEFAULT_PIXEL_UM,
    field_of_view_um: float | tuple[float, float] = DEFAULT_FIELD_OF_VIEW_UM,
    lighting: str = "ring",
    light_angle_deg: float = 30.0,
    light_azimuth_deg: float | None = None,
    noise_level: float = 0.02,
    facet_noise_deg: float = 1.0,
) -> Surface:
    """Return a reflected-light photograph of ``fired``: intensities in [0, 1], 8-bit levels.

    Shading follows the surface slopes: a ring light (or one oblique light) at
    ``light_angle_deg`` from the optical axis reflects into the objective from facets tilted by
    about half that angle (glints on the marks), flat areas look grey, steep walls (the pocket
    gap, crater wall, glyph edges) dark, as in NIST NBIDE ring-light images. Illumination is
    uneven across the view, each photograph has its own micro-facet sparkle and sensor noise,
    and highlights clip.

    Parameters
    ----------
    fired
        The fired case and how it lies under the camera.
    pixel_um, field_of_view_um
        As for :func:`render_topography`.
    lighting
        ``"ring"`` or ``"oblique"``.
    light_angle_deg
        Angle of the light from the optical axis.
    light_azimuth_deg
        Direction of an oblique light in the view (counter-clockwise from +x on screen); drawn at
        random when None.
    noise_level
        Standard deviation of the sensor noise at full scale.

    Returns
    -------
    Surface
        ``Modality.PHOTOGRAPH``, float32 in [0, 1], no NaN.

    References
    ----------
    Vorburger, T. V., et al. (2007). Surface topography analysis for a feasibility assessment of a
        National Ballistics Imaging Database. NISTIR 7362.
    """
    if lighting not in ("ring", "oblique"):
        raise ValueError(f"lighting {lighting!r} is unknown; use 'ring' or 'oblique'.")
    if not 5.0 <= light_angle_deg <= 85.0:
        raise ValueError(f"light_angle_deg must lie in [5, 85], got {light_angle_deg!r}.")
    geometry = scan_geometry(fired, pixel_um=pixel_um, field_of_view_um=field_of_view_um)
    heights = clean_heights(fired, pixel_um=pixel_um, field_of_view_um=field_of_view_um)
    rng = _render_rng(fired, f"photograph-{lighting}", geometry.shape)
    normal = _facet_normals(heights, pixel_um, rng, facet_noise_deg=facet_noise_deg)
    light_angle = np.deg2rad(light_angle_deg)
    if lighting == "ring":
        specular, diffuse = _ring_light(normal[2], light_angle)
    else:
        azimuth = np.deg2rad(
            rng.uniform(0.0, 360.0) if light_azimuth_deg is None else light_azimuth_deg
        )
        specular, diffuse = _oblique_light(normal, light_angle, azimuth)

    radius = geometry.radius_um()
    ammunition = fired.ammunition
    albedo = np.where(
        radius < ammunition.primer_radius_um, ammunition.primer_albedo, ammunition.case_albedo
    ).astype(np.float32)
    # Light reaches the bottom of a deep crater less: it is darker than the primer face.
    depth_shade = np.clip(1.0 + heights / 400.0, 0.35, 1.0)
    intensity = albedo * depth_shade * (0.08 + 0.35 * diffuse + 0.85 * specular)
    lit = intensity * _illumination(geometry.shape, rng)
    values = _expose(lit, rng, noise_level=noise_level)
    return Surface(
        values=values.astype(np.float32),
        pixel_um=pixel_um,
        modality=Modality.PHOTOGRAPH,
        source=f"synthetic:{fired.firearm.identifier}:{fired.ammunition.brand}:{fired.seed}",
        metadata=_metadata(fired, geometry, f"photograph-{lighting}"),
    )


#: Angular width of the specular lobe of the primer's metal (radians).
_SPECULAR_LOBE = np.deg2rad(7.0)


def _facet_normals(
    heights: np.ndarray, pixel_um: float, rng: np.random.Generator, *, facet_noise_deg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the (x, y, z) components of the unit surface normals, with sub-pixel facet noise."""
    gradient_y, gradient_x = np.gradient(heights, pixel_um)
    # Sub-pixel roughness: each pixel integrates facets the topography does not resolve.
    facet = np.float32(np.tan(np.deg2rad(facet_noise_deg)))
    gradient_x = gradient_x + facet * rng.standard_normal(heights.shape, dtype=np.float32)
    gradient_y = gradient_y + facet * rng.standard_normal(heights.shape, dtype=np.float32)
    norm = np.sqrt(1.0 + gradient_x**2 + gradient_y**2)
    return -gradient_x / norm, -gradient_y / norm, 1.0 / norm


def _ring_light(normal_z: np.ndarray, light_angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (specular, diffuse) reflection of a ring light at ``light_angle`` (radians)."""
    tilt = np.arccos(np.clip(normal_z, -1.0, 1.0))
    specular = np.exp(-0.5 * ((tilt - light_angle / 2.0) / _SPECULAR_LOBE) ** 2)
    diffuse = np.cos(light_angle) * normal_z + 0.5 * np.sin(light_angle) * np.sqrt(
        np.maximum(1.0 - normal_z**2, 0.0)
    )
    return specular, diffuse


def _oblique_light(
    normal: tuple[np.ndarray, np.ndarray, np.ndarray], light_angle: float, azimuth: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return (specular, diffuse) reflection of one light at ``light_angle`` and ``azimuth``."""
    normal_x, normal_y, normal_z = normal
    # Screen y points down: counter-clockwise on screen is -y.
    light = np.array(
        [
            np.sin(light_angle) * np.cos(azimuth),
            -np.sin(light_angle) * np.sin(azimuth),
            np.cos(light_angle),
        ]
    )
    half = light + np.array([0.0, 0.0, 1.0])
    half /= np.linalg.norm(half)
    cosine_half = normal_x * half[0] + normal_y * half[1] + normal_z * half[2]
    specular = np.exp(-0.5 * (np.arccos(np.clip(cosine_half, -1.0, 1.0)) / _SPECULAR_LOBE) ** 2)
    diffuse = np.maximum(normal_x * light[0] + normal_y * light[1] + normal_z * light[2], 0.0)
    return specular, diffuse


def _illumination(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Return the uneven illumination of a view: a random gradient and a darker rim."""
    rows, columns = shape
    row_index, column_index = np.indices(shape, dtype=np.float32)
    # positions from the centre of the view, in view widths (float32, as the indices)
    x = (column_index - np.float32((columns - 1) / 2.0)) / np.float32(max(rows, columns))
    y = (row_index - np.float32((rows - 1) / 2.0)) / np.float32(max(rows, columns))
    direction = rng.uniform(0.0, 2.0 * np.pi)
    strength = rng.uniform(0.05, 0.25)
    return (1.0 + strength * (x * np.cos(direction) + y * np.sin(direction))) * (
        1.0 - 0.35 * (x * x + y * y)
    )


def _expose(values: np.ndarray, rng: np.random.Generator, *, noise_level: float) -> np.ndarray:
    """Return the radiance as an 8-bit camera records it: exposed, noisy, clipped, quantised."""
    # Auto-exposure: the brightest percent of the view saturates, as highlights do.
    values *= np.float32(rng.uniform(0.85, 1.0) / max(float(np.quantile(values, 0.99)), 1e-6))
    values += (
        noise_level
        * np.sqrt(np.clip(values, 0.0, None) + 0.05)
        * rng.standard_normal(values.shape, dtype=np.float32)
    )
    return np.round(np.clip(values, 0.0, 1.0) * 255.0) / 255.0


def _masked_gaussian(values: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian filter that ignores NaN (normalised convolution)."""
    valid = np.isfinite(values)
    filled = np.where(valid, values, 0.0).astype(np.float64)
    numerator = ndimage.gaussian_filter(filled, sigma_px, mode="constant")
    denominator = ndimage.gaussian_filter(valid.astype(np.float64), sigma_px, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        return numerator / denominator


def render_processed_topography(
    fired: FiredCasing,
    *,
    pixel_um: float = PROCESSED_PIXEL_UM,
    bandpass_um: tuple[float, float] | None = PROCESSED_BANDPASS_UM,
    edge_trim_um: float = 60.0,
    noise_um: float = 0.1,
    dropout_fraction: float = 0.02,
) -> Surface:
    """Return a scan processed as in the Fadul set: cropped to the breech face, NaN outside it
    and in the firing-pin hole, levelled and (by default) Gaussian band-pass filtered.

    The array is square with side ``2 * primer_face_radius_um`` and the primer centre at its
    centre ``((n - 1) / 2, (n - 1) / 2)``; the marks keep ``fired.rotation_deg`` (the firearm
    frame's origin lies at ``R(rotation_deg) (-seat_offset_um)`` from the centre).
    :func:`scan_geometry` of ``fired.placed(primer_centre_um=(0, 0))`` with the same pixel size
    and ``field_of_view_um = surface.size_um`` describes it.

    Parameters
    ----------
    fired
        The fired case.
    pixel_um
        Grid spacing (default 6.25 µm, as Fadul).
    bandpass_um
        (shortest, longest) wavelengths kept by ISO 16610-61 Gaussian filters, or None.
    edge_trim_um
        Margin removed inside the primer face's edge and outside the crater's lip.
    noise_um, dropout_fraction
        As for :func:`render_topography`.

    References
    ----------
    Zemmels, J., Hofmann, H., & VanderPlas, S. (2023). Automatic cartridge case comparison using
        the Congruent Matching Cells method (cmcR). Journal of Data Science, 21(2).
    """
    centred = fired.placed(primer_centre_um=(0.0, 0.0))
    face_radius = fired.ammunition.primer_face_radius_um
    side = 2.0 * face_radius
    surface = render_topography(
        centred,
        pixel_um=pixel_um,
        field_of_view_um=side,
        noise_um=noise_um,
        dropout_fraction=dropout_fraction,
    )
    geometry = scan_geometry(centred, pixel_um=pixel_um, field_of_view_um=side)
    values = np.array(surface.values, dtype=np.float64)
    radius = geometry.radius_um()
    rows, columns = np.indices(geometry.shape, dtype=np.float32)
    pin_distance = (
        np.hypot(
            rows - geometry.firing_pin_centre_px[0], columns - geometry.firing_pin_centre_px[1]
        )
        * pixel_um
    )
    keep = (radius < face_radius - edge_trim_um) & (
        pin_distance > 1.1 * geometry.firing_pin_radius_um + edge_trim_um
    )
    values[~keep] = np.nan
    valid = np.isfinite(values)
    if valid.sum() < 3:
        raise ValueError("the processed region is empty; lower edge_trim_um.")
    # Level: remove the least-squares plane.
    design = np.column_stack([columns[valid], rows[valid], np.ones(int(valid.sum()))])
    coefficients, *_ = np.linalg.lstsq(design, values[valid], rcond=None)
    values -= coefficients[0] * columns + coefficients[1] * rows + coefficients[2]
    if bandpass_um is not None:
        shortest, longest = bandpass_um
        if not 0 < shortest < longest:
            raise ValueError(
                f"bandpass_um must be (shortest, longest) with 0 < shortest < longest, got "
                f"{bandpass_um!r}."
            )
        # ISO 16610-61: σ = α λc / sqrt(2π).
        to_sigma = GAUSSIAN_ALPHA / np.sqrt(2.0 * np.pi) / pixel_um
        smooth = _masked_gaussian(values, shortest * to_sigma)
        values = smooth - _masked_gaussian(smooth, longest * to_sigma)
        values[~valid] = np.nan
    metadata = dict(surface.metadata)
    metadata["synthetic"] = "processed-topography"
    return Surface(
        values=values.astype(np.float32),
        pixel_um=pixel_um,
        modality=Modality.TOPOGRAPHY,
        source=surface.source,
        metadata=metadata,
    )

"""Photographs of fired cases as other labs take them: other lights, cameras, files and scales.

:func:`render_photograph` in :mod:`.render` draws every photograph under one kind of ring light and
one camera. Real labs differ, so a method tuned on it says little about a lab it has not met.
This module draws photographs whose lighting and camera vary as they do between labs, with the
ground truth kept, for a benchmark that can hold conditions out
(``benchmarks/photo_conditions.py``).

Its shading is its own, not :mod:`.render`'s: a Cook-Torrance microfacet model [1]_ (Beckmann
distribution of facet slopes, Schlick's Fresnel term [2]_, Cook-Torrance masking and shadowing)
plus a Lambertian term, summed over the segments of a ring light or one oblique light, with cast
shadows marched along the light for low lights. Then the camera: vignetting, white balance of a
colour camera, defocus and motion blur before sampling, area sampling at the pixel size, exposure,
shot and read noise [3]_, clipping, gamma, 8-bit quantisation and the file's encoding (PNG, or
JPEG at a quality from 60 to 95) decoded back.

Only the geometry of the case (its heights, from :func:`~.render.clean_heights`) is shared with the
rest of the generator: the breech-face marks, partial transfer, headstamp, firing-pin shapes and
production runs are the firing's own.

Settings are frozen dataclasses; :data:`GENERATOR_VERSION` names this generator's settings and is
recorded in every photograph's metadata, so that a result can say which generator it was measured
on. Change it whenever a change here changes the photographs.

References
----------
.. [1] R. L. Cook and K. E. Torrance, "A reflectance model for computer graphics", ACM Transactions
   on Graphics 1(1), 7-24, 1982.
.. [2] C. Schlick, "An inexpensive BRDF model for physically-based rendering", Computer Graphics
   Forum 13(3), 233-246, 1994.
.. [3] G. E. Healey and R. Kondepudy, "Radiometric CCD camera calibration and noise estimation",
   IEEE Trans. Pattern Analysis and Machine Intelligence 16(3), 267-276, 1994.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from ballistics.surface import Modality, Surface
from ballistics.synthetic.fields import generator
from ballistics.synthetic.firing import FiredCasing
from ballistics.synthetic.render import clean_heights, scan_geometry

#: Version of the photograph generator's settings, recorded in every photograph and result.
GENERATOR_VERSION = "photographs-1"
#: Side of the square field of view of the photographs (µm): the primer and the inner headstamp.
FIELD_OF_VIEW_UM = 6500.0
#: Coarsest internal grid used to shade before the camera samples it (µm): coarser pixels are
#: shaded on a finer grid and averaged, as a sensor's pixel integrates the light on its area.
_SHADING_PIXEL_UM = 5.0
#: Light samples used to approximate a ring's segments (extended sources) in all.
_RING_SAMPLES = 8
#: Luma weights (ITU-R BT.601), as the engine reads colour files.
_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class Lighting:
    """How the case is lit.

    Parameters
    ----------
    kind
        ``"ring"`` (a ring of ``segments`` lamps round the objective) or ``"oblique"`` (one lamp).
    segments
        Lamps of a ring light (4 to 12); each is an extended source covering its share of the
        circle.
    elevation_deg
        Elevation of the lamps above the plane of the case head (10° to 80°).
    azimuth_deg
        Oblique light: direction of the lamp in the view (counter-clockwise from +x on screen).
        Ring light: where its first segment is centred.
    shadows
        Cast shadows of an oblique light (marched along the light).
    segment_powers
        Relative power of each segment of a ring light (real rings are uneven: LEDs age, a
        segment is dimmed); empty for an even ring.
    """

    kind: str = "ring"
    segments: int = 8
    elevation_deg: float = 40.0
    azimuth_deg: float = 0.0
    shadows: bool = True
    segment_powers: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("ring", "oblique"):
            raise ValueError(f"Lighting.kind {self.kind!r} is unknown; use 'ring' or 'oblique'.")
        if self.kind == "ring" and not 4 <= self.segments <= 12:
            raise ValueError(f"a ring light has 4 to 12 segments, got {self.segments!r}.")
        if not 10.0 <= self.elevation_deg <= 80.0:
            raise ValueError(f"elevation_deg must lie in [10, 80], got {self.elevation_deg!r}.")
        if self.segment_powers and (
            len(self.segment_powers) != self.segments or min(self.segment_powers) < 0
        ):
            raise ValueError("segment_powers needs one non-negative power per segment.")


@dataclass(frozen=True)
class Camera:
    """The camera, its settings and the file it writes.

    Parameters
    ----------
    pixel_um
        True micrometres per pixel on the case.
    pixel_um_error
        Relative error of the pixel size recorded with the photograph: the recorded size is
        ``pixel_um * (1 + pixel_um_error)``; 0 when the scale was measured, up to ±0.08 when it
        was estimated.
    exposure
        Exposure relative to the camera's automatic one (0.5: one stop under, 2: one stop over).
    gamma
        Exponent of the tone curve written to the file (1: linear, 1/2.2: sRGB-like).
    white_balance
        Gains on (red, green, blue) of a colour camera's white balance, or None for a monochrome
        camera (the file is grey).
    vignetting
        Relative loss of light at the corners of the view (0: none).
    full_well
        Electrons at full scale: shot noise has a standard deviation of ``sqrt(signal /
        full_well)`` at signal ``signal`` (fraction of full scale).
    read_noise
        Standard deviation of the read noise, as a fraction of full scale.
    defocus_um
        Radius of the defocus disc on the case (µm).
    motion_um, motion_angle_deg
        Length and direction of a linear motion blur on the case (µm, degrees on screen).
    jpeg_quality
        JPEG quality 1-100 of the file, or None for a lossless PNG.
    field_of_view_um
        Side of the square view.
    """

    pixel_um: float = 6.0
    pixel_um_error: float = 0.0
    exposure: float = 1.0
    gamma: float = 1.0 / 2.2
    white_balance: tuple[float, float, float] | None = None
    vignetting: float = 0.0
    full_well: float = 20000.0
    read_noise: float = 0.002
    defocus_um: float = 0.0
    motion_um: float = 0.0
    motion_angle_deg: float = 0.0
    jpeg_quality: int | None = None
    field_of_view_um: float = FIELD_OF_VIEW_UM

    def __post_init__(self) -> None:
        if not 1.0 <= self.pixel_um <= 25.0:
            raise ValueError(f"pixel_um must lie in [1, 25] µm, got {self.pixel_um!r}.")
        if not abs(self.pixel_um_error) < 0.5:
            raise ValueError(
                f"pixel_um_error must lie in (-0.5, 0.5), got {self.pixel_um_error!r}."
            )
        for name in ("exposure", "gamma", "full_well"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Camera.{name} must be positive.")
        for name in ("vignetting", "read_noise", "defocus_um", "motion_um"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"Camera.{name} must not be negative.")
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must lie in [1, 100], got {self.jpeg_quality!r}.")

    @property
    def recorded_pixel_um(self) -> float:
        """The pixel size written with the photograph (estimated sizes carry their error)."""
        return self.pixel_um * (1.0 + self.pixel_um_error)

    @property
    def suffix(self) -> str:
        """The file's suffix: ``".jpg"`` or ``".png"``."""
        return ".png" if self.jpeg_quality is None else ".jpg"


@dataclass(frozen=True)
class PhotoConditions:
    """Everything about one photograph that is not the case: light, camera, surface finish.

    Parameters
    ----------
    condition
        Name of the condition it was drawn from (see :data:`CONDITIONS`), or ``"custom"``.
    lighting, camera
        The light and the camera.
    roughness
        RMS slope of the primer's microfacets (Beckmann *m*); the case head is rougher.
    glints
        Specular sparkles on the primer per mm² (bright single facets that clip).
    """

    condition: str = "custom"
    lighting: Lighting = field(default_factory=Lighting)
    camera: Camera = field(default_factory=Camera)
    roughness: float = 0.3
    glints: float = 20.0

    def __post_init__(self) -> None:
        if not 0.05 <= self.roughness <= 1.0:
            raise ValueError(f"roughness must lie in [0.05, 1], got {self.roughness!r}.")
        if self.glints < 0:
            raise ValueError("glints must not be negative.")


@dataclass(frozen=True, eq=False)
class Photograph:
    """A synthetic photograph as a lab would file it, and its ground truth.

    Parameters
    ----------
    surface
        The file's pixels as intensities in [0, 1] (colour files as luma), at the *recorded*
        pixel size, ``Modality.PHOTOGRAPH``.
    data
        The file's bytes (PNG or JPEG).
    suffix
        ``".png"`` or ``".jpg"``.
    conditions
        The light and camera it was taken with.
    true_pixel_um
        The pixel size on the case (the recorded one may differ when it was estimated).
    generator_version
        :data:`GENERATOR_VERSION` of the generator that made it.
    """

    surface: Surface
    data: bytes
    suffix: str
    conditions: PhotoConditions
    true_pixel_um: float
    generator_version: str = GENERATOR_VERSION

    @property
    def recorded_pixel_um(self) -> float:
        """The pixel size filed with the photograph."""
        return self.surface.pixel_um


def take_photograph(
    fired: FiredCasing, conditions: PhotoConditions, *, seed: int = 0
) -> Photograph:
    """Return a photograph of ``fired`` taken under ``conditions``.

    The same firing, conditions and seed give the same bytes. To turn the case under a fixed
    light, pass ``fired.placed(rotation_deg=...)`` with the same conditions.

    Parameters
    ----------
    fired
        The fired case and how it lies under the camera.
    conditions
        Light, camera, finish (:func:`draw_conditions` draws them for a named condition).
    seed
        Seed of what differs between two exposures under the same conditions (noise, glints).

    Returns
    -------
    Photograph
        The file's bytes, its decoded pixels and the ground truth.
    """
    camera = conditions.camera
    factor = max(1, math.floor(camera.pixel_um / _SHADING_PIXEL_UM))
    fine_um = camera.pixel_um / factor
    rows = round(camera.field_of_view_um / camera.pixel_um)
    fine_view = rows * factor * fine_um
    heights = clean_heights(fired, pixel_um=fine_um, field_of_view_um=fine_view)
    geometry = scan_geometry(fired, pixel_um=fine_um, field_of_view_um=fine_view)
    rng = generator("synthetic-photograph", GENERATOR_VERSION, fired.seed, repr(conditions), seed)
    on_primer = geometry.radius_um() < fired.ammunition.primer_radius_um
    radiance = shade(heights, fine_um, conditions, on_primer=on_primer)
    radiance = _add_glints(radiance, on_primer, fine_um, conditions.glints, rng)
    colour = _colour(radiance, on_primer, camera)
    colour = _optics(colour, fine_um, camera)
    sampled = cv2.resize(colour, (rows, rows), interpolation=cv2.INTER_AREA)
    if sampled.ndim == 2:
        sampled = sampled[:, :, None]
    pixels = _sensor(sampled, camera, rng)
    data, decoded = _encode(pixels, camera)
    metadata = {
        "synthetic": f"photograph-{conditions.condition}",
        "synthetic_generator_version": GENERATOR_VERSION,
        "synthetic_condition": conditions.condition,
        "synthetic_conditions": repr(asdict(conditions)),
        "synthetic_firearm": fired.firearm.identifier,
        "synthetic_production_run": fired.firearm.production_run,
        "synthetic_brand": fired.ammunition.brand,
        "synthetic_seed": str(fired.seed),
        "synthetic_rotation_deg": repr(fired.rotation_deg),
        "synthetic_true_pixel_um": repr(camera.pixel_um),
    }
    surface = Surface(
        values=decoded,
        pixel_um=camera.recorded_pixel_um,
        modality=Modality.PHOTOGRAPH,
        source=f"synthetic:{fired.firearm.identifier}:{fired.ammunition.brand}:{fired.seed}",
        metadata=metadata,
    )
    return Photograph(surface, data, camera.suffix, conditions, camera.pixel_um)


def light_directions(lighting: Lighting) -> list[tuple[np.ndarray, float]]:
    """Return the light as (unit direction towards the lamp, share of the power) samples.

    Directions are in screen coordinates (x right, y down, z towards the camera); a ring's
    segments are each sampled at several azimuths across their width (extended sources).
    """
    elevation = math.radians(lighting.elevation_deg)
    if lighting.kind == "oblique":
        azimuths, powers = [math.radians(lighting.azimuth_deg)], [1.0]
    else:
        per_segment = max(1, math.ceil(_RING_SAMPLES / lighting.segments))
        width = 2.0 * math.pi / lighting.segments
        # a segment covers about 60 % of its share of the circle: gaps between the lamps
        offsets = (np.arange(per_segment) + 0.5) / per_segment - 0.5
        segment_powers = lighting.segment_powers or (1.0,) * lighting.segments
        azimuths = [
            math.radians(lighting.azimuth_deg) + segment * width + 0.6 * width * offset
            for segment in range(lighting.segments)
            for offset in offsets
        ]
        powers = [power for power in segment_powers for _ in offsets]
    total = sum(powers) or 1.0
    return [
        (
            np.array(
                [
                    math.cos(elevation) * math.cos(azimuth),
                    -math.cos(elevation) * math.sin(azimuth),
                    math.sin(elevation),
                ]
            ),
            power / total,
        )
        for azimuth, power in zip(azimuths, powers, strict=True)
    ]


def shade(
    heights: np.ndarray, pixel_um: float, conditions: PhotoConditions, *, on_primer: np.ndarray
) -> np.ndarray:
    """Return the radiance towards the camera (relative units) of a surface of ``heights``.

    Cook-Torrance specular reflection (Beckmann facet slopes of RMS ``conditions.roughness`` on
    the primer, twice that on the case head; Schlick Fresnel with a metal's normal reflectance)
    plus Lambertian diffuse reflection, summed over the light's samples; an oblique light casts
    shadows. The camera looks straight down (telecentric).
    """
    gradient_y, gradient_x = np.gradient(heights.astype(np.float32), np.float32(pixel_um))
    norm = np.sqrt(1.0 + gradient_x**2 + gradient_y**2)
    normal = (-gradient_x / norm, -gradient_y / norm, 1.0 / norm)
    roughness = np.where(on_primer, conditions.roughness, 2.0 * conditions.roughness)
    roughness = roughness.astype(np.float32)
    albedo = np.where(on_primer, 0.25, 0.35).astype(np.float32)
    reflectance = np.where(on_primer, 0.6, 0.5).astype(np.float32)
    radiance = np.full(heights.shape, 0.02, dtype=np.float32)  # light scattered in the room
    lighting = conditions.lighting
    for direction, share in light_directions(lighting):
        lit = _cook_torrance(normal, direction, roughness, reflectance, albedo)
        if lighting.kind == "oblique" and lighting.shadows:
            lit *= _lit_fraction(heights, pixel_um, direction)
        radiance += np.float32(share) * lit
    return radiance


def _cook_torrance(
    normal: tuple[np.ndarray, np.ndarray, np.ndarray],
    light: np.ndarray,
    roughness: np.ndarray,
    reflectance: np.ndarray,
    albedo: np.ndarray,
) -> np.ndarray:
    """Return the radiance towards +z of unit irradiance from ``light``: Cook-Torrance + Lambert."""
    normal_x, normal_y, normal_z = normal
    # plain floats, so that float32 arrays stay float32
    half_vector = light + np.array([0.0, 0.0, 1.0])
    half = [float(value) for value in half_vector / np.linalg.norm(half_vector)]
    lx, ly, lz = (float(value) for value in light)
    n_dot_l = np.maximum(normal_x * lx + normal_y * ly + normal_z * lz, np.float32(0.0))
    n_dot_h = np.clip(normal_x * half[0] + normal_y * half[1] + normal_z * half[2], 1e-4, 1.0)
    n_dot_v = np.maximum(normal_z, np.float32(1e-4))
    v_dot_h = half[2]
    cos2 = n_dot_h * n_dot_h
    tan2 = (1.0 - cos2) / cos2
    beckmann = np.exp(-tan2 / (roughness * roughness)) / (
        np.float32(math.pi) * roughness * roughness * cos2 * cos2
    )
    fresnel = reflectance + (1.0 - reflectance) * np.float32((1.0 - v_dot_h) ** 5)
    masking = np.minimum(
        1.0, np.minimum(2.0 * n_dot_h * n_dot_v / v_dot_h, 2.0 * n_dot_h * n_dot_l / v_dot_h)
    )
    specular = beckmann * fresnel * masking / (4.0 * n_dot_v)
    diffuse = albedo * n_dot_l / np.float32(math.pi)
    return (specular * (n_dot_l > 0) + diffuse).astype(np.float32)


def _lit_fraction(heights: np.ndarray, pixel_um: float, light: np.ndarray) -> np.ndarray:
    """Return 1 where the lamp is seen from the surface, towards 0 in cast shadows (soft edge)."""
    horizontal = math.hypot(light[0], light[1])
    if horizontal < 1e-6:
        return np.ones_like(heights, dtype=np.float32)
    slope = light[2] / horizontal  # rise of the ray per µm along the surface
    step_x, step_y = light[0] / horizontal, light[1] / horizontal
    clearance = np.full(heights.shape, np.inf, dtype=np.float32)
    for distance_um in np.geomspace(2.0 * pixel_um, 800.0, 14):
        dx, dy = round(step_x * distance_um / pixel_um), round(step_y * distance_um / pixel_um)
        if dx == 0 and dy == 0:
            continue
        ahead = _shifted(heights, dy, dx)
        ray = heights + np.float32(slope * math.hypot(dx, dy) * pixel_um)
        clearance = np.minimum(clearance, ray - ahead)
    # fully lit 2 µm above the horizon, in shadow 2 µm below it
    return np.clip(0.5 + clearance / 4.0, 0.0, 1.0).astype(np.float32)


def _shifted(values: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Return ``values`` at (row + rows, column + columns), edge values past the border."""
    padded = np.pad(values, ((abs(rows),) * 2, (abs(columns),) * 2), mode="edge")
    top, left = abs(rows) + rows, abs(columns) + columns
    return padded[top : top + values.shape[0], left : left + values.shape[1]]


def _add_glints(
    radiance: np.ndarray,
    on_primer: np.ndarray,
    pixel_um: float,
    per_mm2: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Add specular sparkles on the primer: single facets turned to the light, far too bright."""
    area_mm2 = float(on_primer.sum()) * pixel_um**2 / 1e6
    count = int(rng.poisson(per_mm2 * area_mm2))
    if count == 0:
        return radiance
    rows, columns = np.nonzero(on_primer)
    chosen = rng.integers(0, rows.size, count)
    sparkle = np.zeros_like(radiance)
    bright = np.float32(np.quantile(radiance[on_primer], 0.99))
    sparkle[rows[chosen], columns[chosen]] = bright * rng.uniform(3.0, 12.0, count)
    spread = max(0.6, 4.0 / pixel_um)  # a few micrometres across
    return radiance + cv2.GaussianBlur(sparkle, (0, 0), spread) * np.float32(2 * np.pi * spread**2)


def _colour(radiance: np.ndarray, on_primer: np.ndarray, camera: Camera) -> np.ndarray:
    """Return the image the lens forms: grey, or colour (brass case, nickel primer) balanced."""
    if camera.white_balance is None:
        return radiance
    primer_rgb = np.array([0.92, 0.90, 0.86], dtype=np.float32)
    brass_rgb = np.array([0.95, 0.78, 0.48], dtype=np.float32)
    tint = np.where(on_primer[:, :, None], primer_rgb, brass_rgb)
    gains = np.asarray(camera.white_balance, dtype=np.float32)
    return (radiance[:, :, None] * tint * gains).astype(np.float32)


def _optics(image: np.ndarray, pixel_um: float, camera: Camera) -> np.ndarray:
    """Vignetting, defocus (a disc) and motion blur (a line), on the image the lens forms."""
    rows, columns = image.shape[:2]
    if camera.vignetting > 0:
        row, column = np.ogrid[:rows, :columns]
        radius2 = ((row - (rows - 1) / 2) ** 2 + (column - (columns - 1) / 2) ** 2) / (
            ((rows - 1) / 2) ** 2 + ((columns - 1) / 2) ** 2
        )
        fall = (1.0 - camera.vignetting * radius2).astype(np.float32)
        image = image * (fall[:, :, None] if image.ndim == 3 else fall)
    kernels = []
    if camera.defocus_um > 0:
        radius = camera.defocus_um / pixel_um
        size = 2 * math.ceil(radius) + 1
        centre = size // 2
        row, column = np.ogrid[:size, :size]
        kernels.append(
            ((row - centre) ** 2 + (column - centre) ** 2 <= radius**2 + 0.5).astype(np.float32)
        )
    if camera.motion_um > 0:
        length = max(camera.motion_um / pixel_um, 1.0)
        size = 2 * math.ceil(length / 2) + 1
        line = np.zeros((size, size), dtype=np.float32)
        angle = math.radians(camera.motion_angle_deg)
        centre = size // 2
        for t in np.linspace(-length / 2, length / 2, 4 * size):
            line[round(centre - t * math.sin(angle)), round(centre + t * math.cos(angle))] = 1.0
        kernels.append(line)
    for kernel in kernels:
        image = cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)
    return image


def _sensor(image: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """Return 8-bit pixels: exposed, with shot and read noise, clipped, gamma-encoded."""
    # automatic exposure puts the 99th percentile of the green (or grey) channel at 90 %
    reference = image[:, :, min(1, image.shape[2] - 1)]
    gain = 0.9 * camera.exposure / max(float(np.quantile(reference, 0.99)), 1e-6)
    signal = np.clip(image * np.float32(gain), 0.0, 4.0)
    electrons = rng.poisson(signal * camera.full_well).astype(np.float32)
    signal = electrons / np.float32(camera.full_well)
    signal += rng.normal(0.0, camera.read_noise, signal.shape).astype(np.float32)
    encoded = np.clip(signal, 0.0, 1.0) ** np.float32(camera.gamma)
    return np.round(encoded * 255.0).astype(np.uint8)


def _encode(pixels: np.ndarray, camera: Camera) -> tuple[bytes, np.ndarray]:
    """Return the file's bytes and its pixels decoded back as intensities (luma) in [0, 1]."""
    image = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels[:, :, ::-1]  # RGB -> BGR
    if camera.jpeg_quality is None:
        ok, buffer = cv2.imencode(".png", image)
    else:
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, camera.jpeg_quality])
    if not ok:  # pragma: no cover - OpenCV encodes any 8-bit array
        raise RuntimeError("OpenCV could not encode the photograph.")
    data = buffer.tobytes()
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:  # pragma: no cover - what OpenCV encoded it decodes
        raise RuntimeError("OpenCV could not decode the photograph it encoded.")
    values = decoded.astype(np.float32) / 255.0
    if values.ndim == 3:
        red, green, blue = _LUMA
        values = values[:, :, 2] * red + values[:, :, 1] * green + values[:, :, 0] * blue
    return data, values.astype(np.float32)

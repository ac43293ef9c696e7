"""Named photograph conditions: what varies between labs, one kind of variation at a time.

Each condition draws the light and camera of one photograph (:class:`~.photographs.PhotoConditions`)
from its own ranges; everything else stays at a well-set-up lab's baseline (a ring light of 4 to
12 segments at 25-60° elevation, 5-8 µm per pixel measured, PNG files, mild noise). A benchmark
compares photographs taken under one condition and can hold conditions out, so that its figures
say how a method does under a condition it was never tuned on.

``oblique`` lights every photograph from the same side of the breech face (as an examiner who
turns each case to the same orientation before lighting it: the light direction relative to the
firearm's marks is the same within ±20°); ``oblique_fixed_light`` keeps the lamp fixed in the
view while the case lies at any rotation, so two photographs are lit from different sides of the
marks and the shading itself differs, which the engine is not asked to overcome (reported without
a target).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ballistics.synthetic.photographs import Camera, Lighting, PhotoConditions

#: Conditions under which two photographs of one condition are lit alike (targets apply).
LIT_ALIKE = (
    "ring",
    "oblique",
    "exposure",
    "noise",
    "jpeg",
    "blur",
    "resolution",
    "estimated_resolution",
    "mixed",
)
#: Conditions under which two photographs are lit from different sides (reported, no target).
LIT_DIFFERENTLY = ("oblique_fixed_light",)
#: Every named condition.
CONDITIONS = LIT_ALIKE + LIT_DIFFERENTLY
#: Direction of the ``oblique`` light from the firearm's frame (degrees, counter-clockwise).
OBLIQUE_SIDE_DEG = 0.0
#: Direction of the ``oblique_fixed_light`` lamp in the view.
FIXED_LIGHT_AZIMUTH_DEG = 45.0
#: Largest relative error of an estimated pixel size.
ESTIMATED_PIXEL_ERROR = 0.08


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _ring(rng: np.random.Generator) -> Lighting:
    segments = int(rng.integers(4, 13))
    return Lighting(
        kind="ring",
        segments=segments,
        elevation_deg=float(rng.uniform(25.0, 60.0)),
        azimuth_deg=float(rng.uniform(0.0, 360.0)),
        segment_powers=tuple(float(power) for power in rng.uniform(0.8, 1.2, segments)),
    )


def _baseline(rng: np.random.Generator) -> PhotoConditions:
    camera = Camera(
        pixel_um=float(rng.uniform(5.0, 8.0)),
        exposure=float(rng.uniform(0.85, 1.15)),
        gamma=1.0 / 2.2,
        vignetting=float(rng.uniform(0.0, 0.1)),
        full_well=float(rng.uniform(8000.0, 30000.0)),
        read_noise=float(rng.uniform(0.001, 0.003)),
    )
    return PhotoConditions(
        lighting=_ring(rng),
        camera=camera,
        roughness=float(rng.uniform(0.25, 0.4)),
        glints=float(rng.uniform(5.0, 40.0)),
    )


def _oblique(rng: np.random.Generator, azimuth_deg: float) -> Lighting:
    return Lighting(
        kind="oblique", elevation_deg=float(rng.uniform(20.0, 60.0)), azimuth_deg=azimuth_deg
    )


def _exposure_camera(rng: np.random.Generator, camera: Camera) -> Camera:
    return replace(
        camera,
        exposure=_log_uniform(rng, 0.5, 2.0),
        gamma=float(rng.uniform(0.4, 1.0)),
        white_balance=(
            float(rng.uniform(0.7, 1.3)),
            1.0,
            float(rng.uniform(0.7, 1.3)),
        ),
        vignetting=float(rng.uniform(0.1, 0.5)),
    )


def _noise_camera(rng: np.random.Generator, camera: Camera) -> Camera:
    return replace(
        camera,
        full_well=_log_uniform(rng, 300.0, 3000.0),
        read_noise=float(rng.uniform(0.005, 0.02)),
    )


def _blur_camera(rng: np.random.Generator, camera: Camera) -> Camera:
    defocus = float(rng.uniform(4.0, 16.0)) if rng.uniform() < 0.7 else 0.0
    motion = float(rng.uniform(5.0, 30.0)) if defocus == 0.0 or rng.uniform() < 0.3 else 0.0
    return replace(
        camera,
        defocus_um=defocus,
        motion_um=motion,
        motion_angle_deg=float(rng.uniform(0.0, 180.0)),
    )


def _estimated(rng: np.random.Generator, camera: Camera) -> Camera:
    error = float(rng.uniform(-ESTIMATED_PIXEL_ERROR, ESTIMATED_PIXEL_ERROR))
    return replace(camera, pixel_um_error=error)


def _mixed(rng: np.random.Generator, base: PhotoConditions, rotation_deg: float) -> PhotoConditions:
    """Everything varies at once, as between two labs."""
    camera = replace(base.camera, pixel_um=_log_uniform(rng, 3.0, 12.0))
    for change, chance in (
        (_exposure_camera, 0.5),
        (_noise_camera, 0.3),
        (_blur_camera, 0.3),
        (_estimated, 0.5),
    ):
        if rng.uniform() < chance:
            camera = change(rng, camera)
    if rng.uniform() < 0.6:
        camera = replace(camera, jpeg_quality=int(rng.integers(60, 96)))
    lighting = base.lighting
    if rng.uniform() < 0.4:
        lighting = _oblique(rng, rotation_deg + OBLIQUE_SIDE_DEG + float(rng.uniform(-20, 20)))
    return replace(base, lighting=lighting, camera=camera)


def _camera_change(
    change: Callable[[np.random.Generator, Camera], Camera],
) -> Callable[[np.random.Generator, PhotoConditions, float], PhotoConditions]:
    def draw(rng: np.random.Generator, base: PhotoConditions, _: float) -> PhotoConditions:
        return replace(base, camera=change(rng, base.camera))

    return draw


_DRAWS: dict[str, Callable[[np.random.Generator, PhotoConditions, float], PhotoConditions]] = {
    "ring": lambda rng, base, _: base,
    "oblique": lambda rng, base, rotation: replace(
        base,
        lighting=_oblique(rng, rotation + OBLIQUE_SIDE_DEG + float(rng.uniform(-20.0, 20.0))),
    ),
    "oblique_fixed_light": lambda rng, base, _: replace(
        base, lighting=_oblique(rng, FIXED_LIGHT_AZIMUTH_DEG + float(rng.uniform(-5.0, 5.0)))
    ),
    "exposure": _camera_change(_exposure_camera),
    "noise": _camera_change(_noise_camera),
    "jpeg": _camera_change(
        lambda rng, camera: replace(camera, jpeg_quality=int(rng.integers(60, 96)))
    ),
    "blur": _camera_change(_blur_camera),
    "resolution": _camera_change(
        lambda rng, camera: replace(camera, pixel_um=_log_uniform(rng, 2.0, 15.0))
    ),
    "estimated_resolution": _camera_change(_estimated),
    "mixed": _mixed,
}


def draw_conditions(name: str, rng: np.random.Generator, *, rotation_deg: float) -> PhotoConditions:
    """Return the light and camera of one photograph taken under the named condition.

    Parameters
    ----------
    name
        One of :data:`CONDITIONS`.
    rng
        Source of the draws (seed it per photograph for reproducible sets).
    rotation_deg
        The case's rotation in the view (``FiredCasing.rotation_deg``): an ``oblique`` light is
        placed relative to it, so that every photograph is lit from the same side of the marks.

    Examples
    --------
    >>> conditions = draw_conditions("jpeg", np.random.default_rng(1), rotation_deg=0.0)
    >>> 60 <= conditions.camera.jpeg_quality <= 95
    True
    """
    if name not in _DRAWS:
        raise ValueError(f"condition {name!r} is unknown; use one of {', '.join(CONDITIONS)}.")
    drawn = _DRAWS[name](rng, _baseline(rng), float(rotation_deg))
    return replace(drawn, condition=name)

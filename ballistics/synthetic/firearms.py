"""Synthetic pistols: class, subclass and individual characteristics of breech face and firing pin.

A firearm's marks are defined once, in the firearm's own frame (origin on the bore axis at the
breech face, x to the right, y down, micrometres), as the impression they leave on a primer. The
impression is the sum of three parts, following the way examiners describe tool marks
(AFTE Glossary; Nichols 1997):

- class characteristics: the kind of tooling pattern (parallel filing marks, arched milling
  marks, circular turning marks, granular casting texture), its direction and its spacing,
  shared by every pistol of a model;
- subclass characteristics: one realisation of that pattern plus roughness shared by all slides
  of one production run (consecutively made with the same tool), over a patchy part of the face;
- individual characteristics: a realisation unique to the pistol.

References
----------
Nichols, R. G. (1997). Firearm and toolmark identification criteria: a review of the literature.
    Journal of Forensic Sciences, 42(3), 466–474.
Fadul, T. G., Hernandez, G. A., Stoiloff, S., & Gulati, S. (2011). An empirical study to improve
    the scientific foundation of forensic firearm and tool mark identification utilizing 10
    consecutively manufactured slides. NIJ report 237960.
Song, J. (2013). Proposed NIST ballistics identification system (NBIS) based on 3D topography
    measurements on correlation cells. AFTE Journal, 45(2), 184–194.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft

from ballistics.synthetic.fields import (
    GridField,
    band_limited_noise,
    generator,
    granular_noise,
    grid_coordinates_um,
    require_positive,
    sample_wrapped,
    stable_seed,
    striation_noise,
)

BREECH_FACE_PATTERNS = ("parallel", "arched", "granular", "circular")
FIRING_PIN_SHAPES = ("hemispherical", "flat", "rectangular")

#: Shortest and longest wavelengths (µm) of the modelled marks; the comparison band.
MARK_BAND_UM = (20.0, 500.0)
#: Grid spacing of breech-face fields (µm): three samples per shortest wavelength.
BREECH_FACE_GRID_UM = 6.0
#: Grid spacing of firing-pin fields (µm).
FIRING_PIN_GRID_UM = 4.0

_MODELS = (
    ("Ruger", "P95"),
    ("Glock", "17"),
    ("Smith & Wesson", "SD9VE"),
    ("Hi-Point", "C9"),
    ("SIG Sauer", "P320"),
    ("Beretta", "92FS"),
)


@dataclass(frozen=True)
class Firearm:
    """A synthetic pistol: the marks it leaves on every cartridge case it fires.

    Parameters
    ----------
    identifier
        Unique name; firings of the same identifier are known matches.
    seed
        Seed of the individual characteristics.
    caliber
        Calibre, e.g. ``"9mm"``; only ammunition of the same calibre can be fired.
    manufacturer, model
        Make and model (class characteristics are those of the model).
    production_run
        Pistols with the same production run share subclass marks; defaults to ``identifier``
        (no other pistol shares its marks).
    breech_face_pattern
        Class pattern of the breech face: ``"parallel"`` filing marks, ``"arched"`` milling marks,
        ``"circular"`` turning marks about the bore axis, or ``"granular"`` texture.
    breech_face_angle_deg
        Direction of parallel marks (or the direction towards the centre of arched marks, minus
        90°) in the firearm frame, counter-clockwise from +x as seen on screen.
    breech_face_spacing_um
        Typical spacing of the pattern's marks (grain size for granular faces).
    breech_face_arc_radius_um
        Radius of curvature of arched marks.
    breech_face_roughness_um
        Root-mean-square height of the breech-face impression.
    class_pattern_fraction
        Fraction of the impression's energy in the structured class pattern (the rest is
        isotropic roughness).
    subclass_fraction
        Mean fraction of the impression's energy shared with the production run.
    firing_pin_shape
        ``"hemispherical"``, ``"flat"`` (flat-faced with rounded edge) or ``"rectangular"``
        (rounded rectangle, as in striker-fired Glocks).
    firing_pin_diameter_um
        Diameter of the firing-pin impression (its long side for rectangular pins).
    firing_pin_depth_um
        Nominal depth of the firing-pin crater in a primer of hardness 1.
    firing_pin_offset_um
        (x, y) of the firing-pin axis from the bore axis in the firearm frame.
    firing_pin_angle_deg
        Orientation of a rectangular firing pin's long side.
    firing_pin_roughness_um
        Root-mean-square height of the firing-pin surface marks.
    breech_face_radius_um
        Radius about the bore axis over which the marks are modelled.
    """

    identifier: str
    seed: int
    caliber: str = "9mm"
    manufacturer: str = "Ruger"
    model: str = "P95"
    production_run: str = ""
    breech_face_pattern: str = "parallel"
    breech_face_angle_deg: float = 30.0
    breech_face_spacing_um: float = 120.0
    breech_face_arc_radius_um: float = 9000.0
    breech_face_roughness_um: float = 1.5
    class_pattern_fraction: float = 0.4
    subclass_fraction: float = 0.4
    firing_pin_shape: str = "hemispherical"
    firing_pin_diameter_um: float = 1600.0
    firing_pin_depth_um: float = 180.0
    firing_pin_offset_um: tuple[float, float] = (0.0, 0.0)
    firing_pin_angle_deg: float = 0.0
    firing_pin_roughness_um: float = 0.6
    breech_face_radius_um: float = 3000.0

    def __post_init__(self) -> None:
        if not self.identifier:
            raise ValueError("Firearm identifier must be a non-empty string, e.g. 'P01'.")
        object.__setattr__(self, "seed", int(self.seed))
        if not self.production_run:
            object.__setattr__(self, "production_run", self.identifier)
        if self.breech_face_pattern not in BREECH_FACE_PATTERNS:
            raise ValueError(
                f"breech_face_pattern {self.breech_face_pattern!r} is unknown; use one of "
                f"{', '.join(BREECH_FACE_PATTERNS)}."
            )
        if self.firing_pin_shape not in FIRING_PIN_SHAPES:
            raise ValueError(
                f"firing_pin_shape {self.firing_pin_shape!r} is unknown; use one of "
                f"{', '.join(FIRING_PIN_SHAPES)}."
            )
        for name in ("class_pattern_fraction", "subclass_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 0.9:
                raise ValueError(f"{name} must lie in [0, 0.9], got {value!r}.")
        require_positive(
            self,
            (
                "breech_face_spacing_um",
                "breech_face_arc_radius_um",
                "breech_face_roughness_um",
                "firing_pin_diameter_um",
                "firing_pin_depth_um",
                "firing_pin_roughness_um",
                "breech_face_radius_um",
            ),
        )
        if not MARK_BAND_UM[0] <= self.breech_face_spacing_um <= MARK_BAND_UM[1]:
            raise ValueError(
                f"breech_face_spacing_um {self.breech_face_spacing_um!r} is outside the modelled "
                f"band {MARK_BAND_UM[0]:g}–{MARK_BAND_UM[1]:g} µm; choose a spacing inside it."
            )
        offset = tuple(float(value) for value in self.firing_pin_offset_um)
        if len(offset) != 2:
            raise ValueError("firing_pin_offset_um must be an (x, y) pair in micrometres.")
        object.__setattr__(self, "firing_pin_offset_um", offset)
        reach = np.hypot(*offset) + self.firing_pin_diameter_um * 0.6
        if reach >= self.breech_face_radius_um:
            raise ValueError(
                f"the firing pin (diameter {self.firing_pin_diameter_um:g} µm, offset "
                f"{offset}) does not fit inside breech_face_radius_um "
                f"{self.breech_face_radius_um:g}; make it smaller or nearer the axis."
            )


def _class_characteristics(rng: np.random.Generator) -> dict[str, Any]:
    """Draw the class and subclass-level design of a model and production run."""
    manufacturer, model = _MODELS[int(rng.integers(len(_MODELS)))]
    pattern = BREECH_FACE_PATTERNS[int(rng.integers(len(BREECH_FACE_PATTERNS)))]
    spacing = float(rng.uniform(50.0, 90.0) if pattern == "granular" else rng.uniform(70.0, 200.0))
    shape = "rectangular" if manufacturer == "Glock" else FIRING_PIN_SHAPES[int(rng.integers(2))]
    offset_radius = float(rng.uniform(0.0, 120.0))
    offset_angle = float(rng.uniform(0.0, 2.0 * np.pi))
    return {
        "manufacturer": manufacturer,
        "model": model,
        "breech_face_pattern": pattern,
        "breech_face_angle_deg": float(rng.uniform(0.0, 180.0)),
        "breech_face_spacing_um": spacing,
        "breech_face_arc_radius_um": float(rng.uniform(6000.0, 14000.0)),
        "firing_pin_shape": shape,
        "firing_pin_diameter_um": float(rng.uniform(1400.0, 1800.0)),
        "firing_pin_depth_um": float(rng.uniform(120.0, 230.0)),
        "firing_pin_offset_um": (
            offset_radius * float(np.cos(offset_angle)),
            offset_radius * float(np.sin(offset_angle)),
        ),
        "firing_pin_angle_deg": float(rng.uniform(0.0, 180.0)),
    }


def make_firearm(
    identifier: str,
    *,
    seed: int,
    production_run: str | None = None,
    caliber: str = "9mm",
    **characteristics: Any,
) -> Firearm:
    """Return a pistol whose unspecified class characteristics are drawn at random.

    The class characteristics (model, breech-face pattern, direction and spacing, firing-pin
    shape, size and offset) are drawn from the production run when one is given, so pistols of
    the same run share them; otherwise from ``identifier`` and ``seed``.

    Parameters
    ----------
    identifier
        Unique name of the pistol.
    seed
        Seed of its individual marks (and of its class when no production run is given).
    production_run
        Name shared by consecutively made pistols (same tooling, same subclass marks).
    caliber
        Calibre of the pistol.
    **characteristics
        Any :class:`Firearm` field to set explicitly (e.g. ``breech_face_pattern="granular"``).

    Examples
    --------
    >>> pistol = make_firearm("P01", seed=7, breech_face_pattern="arched")
    >>> pistol.breech_face_pattern
    'arched'
    """
    unknown = set(characteristics) - set(Firearm.__dataclass_fields__)
    if unknown:
        raise ValueError(
            f"unknown firearm characteristics {sorted(unknown)}; use fields of Firearm such as "
            "breech_face_pattern or firing_pin_diameter_um."
        )
    class_source = ("class", production_run) if production_run else ("class", identifier, seed)
    drawn = _class_characteristics(generator(*class_source))
    drawn.update(characteristics)
    return Firearm(
        identifier=identifier,
        seed=int(seed),
        caliber=caliber,
        production_run=production_run or identifier,
        **drawn,
    )


def make_consecutive_firearms(
    count: int,
    *,
    seed: int,
    prefix: str = "C",
    production_run: str | None = None,
    caliber: str = "9mm",
    **characteristics: Any,
) -> list[Firearm]:
    """Return ``count`` consecutively made pistols: same class and subclass, own individual marks.

    Parameters
    ----------
    count
        Number of pistols (at least 1).
    seed
        Seed of the run; each pistol's individual seed is derived from it.
    prefix
        Identifiers are ``f"{prefix}{i:02d}"`` for i = 1..count.
    production_run
        Name of the run; defaults to ``f"{prefix}-run-{seed}"``.
    caliber, **characteristics
        As for :func:`make_firearm`, applied to every pistol of the run.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count!r}.")
    run = production_run or f"{prefix}-run-{seed}"
    return [
        make_firearm(
            f"{prefix}{index:02d}",
            seed=stable_seed("consecutive", seed, index) % 2**31,
            production_run=run,
            caliber=caliber,
            **characteristics,
        )
        for index in range(1, count + 1)
    ]


def _class_pattern(
    firearm: Firearm, rng: np.random.Generator, size: int, spacing_um: float
) -> np.ndarray:
    """Return one unit-variance realisation of the firearm's class pattern on a centred grid."""
    x, y = grid_coordinates_um(size, spacing_um)
    radius = firearm.breech_face_radius_um
    mark_spacing = firearm.breech_face_spacing_um
    if firearm.breech_face_pattern == "granular":
        return granular_noise(rng, size, spacing_um=spacing_um, grain_um=mark_spacing)
    angle = np.deg2rad(firearm.breech_face_angle_deg)
    # Along-mark sampling can be coarser than across-mark sampling: marks are long.
    along_spacing = spacing_um * 3.0
    mark_length = max(6.0 * mark_spacing, 600.0)
    if firearm.breech_face_pattern == "parallel":
        direction_x, direction_y = np.cos(angle), -np.sin(angle)
        along = x * direction_x + y * direction_y
        across = -x * direction_y + y * direction_x
        shape = (
            int(np.ceil(2.9 * radius / spacing_um)),
            int(np.ceil(2.9 * radius / along_spacing)),
        )
    elif firearm.breech_face_pattern == "circular":
        across = np.hypot(x, y)
        columns = int(np.ceil(2.0 * np.pi * radius / along_spacing))
        # Arc length at the outer radius; exact period so the pattern closes on itself.
        along = np.arctan2(y, x) * (columns * along_spacing / (2.0 * np.pi))
        shape = (int(np.ceil(1.5 * radius / spacing_um)), columns)
    else:  # arched: arcs about a centre far outside the breech face
        arc_radius = firearm.breech_face_arc_radius_um
        centre_x = arc_radius * np.cos(angle + np.pi / 2)
        centre_y = -arc_radius * np.sin(angle + np.pi / 2)
        across = np.hypot(x - centre_x, y - centre_y) - arc_radius
        # Angle about the arc centre measured from the direction of the bore axis, so that the
        # branch cut of atan2 lies far outside the face.
        reference_x, reference_y = -centre_x / arc_radius, -centre_y / arc_radius
        offset_x, offset_y = x - centre_x, y - centre_y
        along = (
            np.arctan2(
                reference_x * offset_y - reference_y * offset_x,
                reference_x * offset_x + reference_y * offset_y,
            )
            * arc_radius
        )
        span = 2.0 * arc_radius * np.arcsin(min(1.0, 1.5 * radius / arc_radius))
        shape = (int(np.ceil(2.9 * radius / spacing_um)), int(np.ceil(span / along_spacing)) + 4)
    shape = (
        scipy.fft.next_fast_len(shape[0], real=True),
        scipy.fft.next_fast_len(shape[1], real=True),
    )
    if firearm.breech_face_pattern == "circular":
        # The angular period must be the whole grid: rescale the arc length to the new width.
        along = np.arctan2(y, x) * (shape[1] * along_spacing / (2.0 * np.pi))
    striations = striation_noise(
        rng,
        shape,
        spacing_um=(spacing_um, along_spacing),
        mark_spacing_um=mark_spacing,
        mark_length_um=mark_length,
    )
    sampled = sample_wrapped(striations, rows=across / spacing_um, columns=along / along_spacing)
    return (sampled - sampled.mean()) / max(float(sampled.std()), 1e-6)


def _mark_component(
    firearm: Firearm, rng: np.random.Generator, size: int, spacing_um: float
) -> np.ndarray:
    """Return a unit-variance mix of the class pattern and isotropic roughness."""
    pattern = _class_pattern(firearm, rng, size, spacing_um)
    roughness = band_limited_noise(
        rng, size, spacing_um=spacing_um, shortest_um=MARK_BAND_UM[0], longest_um=MARK_BAND_UM[1]
    )
    weight = firearm.class_pattern_fraction
    return np.sqrt(weight) * pattern + np.sqrt(1.0 - weight) * roughness


def _shared_weight(firearm: Firearm, size: int, spacing_um: float) -> np.ndarray:
    """Return the local fraction of energy shared with the production run (patchy, mean =
    ``subclass_fraction``): a tool carries its marks over only part of each face."""
    rng = generator("subclass-patches", firearm.production_run)
    patches = band_limited_noise(
        rng, size, spacing_um=spacing_um, shortest_um=400.0, longest_um=3000.0
    )
    weight = np.exp(0.9 * patches)
    fraction = firearm.subclass_fraction * weight / float(np.mean(weight))
    return np.clip(fraction, 0.0, 0.95).astype(np.float32)


def _mixed_marks(
    firearm: Firearm,
    *,
    size: int,
    spacing_um: float,
    shared: np.ndarray,
    subclass_source: str,
    individual_source: str,
) -> np.ndarray:
    """Return unit-variance marks: the run's realisation where ``shared`` is high, the pistol's
    own realisation elsewhere, with the same local variance everywhere."""
    run_marks = _mark_component(
        firearm, generator(subclass_source, firearm.production_run), size, spacing_um
    )
    own_marks = _mark_component(
        firearm, generator(individual_source, firearm.identifier, firearm.seed), size, spacing_um
    )
    return np.sqrt(shared) * run_marks + np.sqrt(1.0 - shared) * own_marks


@dataclass(frozen=True, eq=False)
class FirearmMarks:
    """The marks of one firearm in its own frame.

    Parameters
    ----------
    breech_face
        Breech-face impression heights (µm), centred on the bore axis.
    firing_pin
        Firing-pin surface marks (µm), centred on the firing-pin axis.
    """

    breech_face: GridField
    firing_pin: GridField = field(repr=False)


@functools.lru_cache(maxsize=16)
def firearm_marks(firearm: Firearm) -> FirearmMarks:
    """Return (and cache) the breech-face and firing-pin marks of ``firearm`` in its own frame."""
    spacing = BREECH_FACE_GRID_UM
    size = int(np.ceil(2.0 * firearm.breech_face_radius_um / spacing)) | 1
    shared = _shared_weight(firearm, size, spacing)
    breech_face = _mixed_marks(
        firearm,
        size=size,
        spacing_um=spacing,
        shared=shared,
        subclass_source="breech-face-run",
        individual_source="breech-face-own",
    )
    breech_face *= np.float32(firearm.breech_face_roughness_um)

    pin_spacing = FIRING_PIN_GRID_UM
    pin_size = int(np.ceil(1.4 * firearm.firing_pin_diameter_um / pin_spacing)) | 1
    # Firing pins are turned on a lathe: circular marks about their own axis.
    pin_model = Firearm(
        identifier=firearm.identifier,
        seed=firearm.seed,
        production_run=firearm.production_run,
        breech_face_pattern="circular",
        breech_face_spacing_um=40.0,
        breech_face_radius_um=0.7 * firearm.firing_pin_diameter_um + 1.0,
        class_pattern_fraction=0.5,
        firing_pin_diameter_um=firearm.firing_pin_diameter_um / 4.0,
    )
    pin_shared = np.full((pin_size, pin_size), 0.3, dtype=np.float32)
    firing_pin = _mixed_marks(
        pin_model,
        size=pin_size,
        spacing_um=pin_spacing,
        shared=pin_shared,
        subclass_source="firing-pin-run",
        individual_source="firing-pin-own",
    )
    firing_pin *= np.float32(firearm.firing_pin_roughness_um)
    return FirearmMarks(
        breech_face=GridField(breech_face.astype(np.float32), spacing),
        firing_pin=GridField(firing_pin.astype(np.float32), pin_spacing),
    )

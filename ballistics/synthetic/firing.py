"""Firing a cartridge: the marks a firearm transfers to one primer, and where the case then lies
under the scanner.

Frames (micrometres, x to the right, y down, rotations counter-clockwise as seen on screen):

- firearm frame: origin on the bore axis at the breech face (see ``firearms``);
- casing frame: origin at the primer centre, headstamp upright;
- view (scanner) frame: origin at the centre of the rendered field of view.

The primer centre lies at ``seat_offset_um`` in the firearm frame (the case sits with a little
play in the chamber). Under the scanner a firearm-frame point ``q`` appears at
``s = R(rotation_deg) (q - seat_offset_um) + primer_centre_um``, i.e. at
``R(rotation_deg) q + shift_um``, and the headstamp is turned by
``rotation_deg + headstamp_rotation_deg``.

Rendering a firing is :mod:`ballistics.synthetic.render`'s work: it imports this module, never the
reverse.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from ballistics.synthetic.ammunition import Ammunition, primer_die_rings
from ballistics.synthetic.fields import (
    GridField,
    band_limited_noise,
    generator,
    smoothstep,
    spectral_noise,
)
from ballistics.synthetic.firearms import MARK_BAND_UM, Firearm, firearm_marks


def rotation_matrix(rotation_deg: float) -> np.ndarray:
    """Return the 2 x 2 matrix that turns (x, y) screen vectors counter-clockwise on screen."""
    angle = math.radians(rotation_deg)
    cosine, sine = math.cos(angle), math.sin(angle)
    return np.array([[cosine, sine], [-sine, cosine]])


@dataclass(frozen=True)
class FiredCasing:
    """One fired cartridge case with its ground truth.

    Parameters
    ----------
    firearm, ammunition
        What fired it and what it was.
    seed
        Seed of everything that differs from firing to firing.
    rotation_deg
        Rotation of the firearm frame in the view (counter-clockwise on screen), in [0, 360).
    primer_centre_um
        (x, y) of the primer centre from the centre of the field of view.
    seat_offset_um
        (x, y) of the primer centre from the bore axis, in the firearm frame.
    headstamp_rotation_deg
        Orientation of the casing (headstamp) relative to the firearm frame.
    contrast
        Fraction of the breech-face relief transferred (0.5–1.0).
    contact_loss_fraction
        Fraction of the primer face that carries weak or no breech-face impression.
    variation_fraction
        Fraction of the transferred marks' energy that is new at this firing.
    firing_pin_depth_um
        Depth of this firing-pin crater.
    firing_pin_jitter_um
        (x, y) displacement of this crater from the firearm's firing-pin axis (firearm frame).
    primer_setback_um
        Extra height (+) or depth (-) of this primer face against the nominal recess.
    """

    firearm: Firearm
    ammunition: Ammunition
    seed: int
    rotation_deg: float
    primer_centre_um: tuple[float, float]
    seat_offset_um: tuple[float, float]
    headstamp_rotation_deg: float
    contrast: float
    contact_loss_fraction: float
    variation_fraction: float
    firing_pin_depth_um: float
    firing_pin_jitter_um: tuple[float, float]
    primer_setback_um: float

    @property
    def shift_um(self) -> tuple[float, float]:
        """(x, y) of the firearm frame's origin (bore axis) in the view."""
        moved = rotation_matrix(self.rotation_deg) @ np.asarray(self.seat_offset_um)
        return (
            float(self.primer_centre_um[0] - moved[0]),
            float(self.primer_centre_um[1] - moved[1]),
        )

    @property
    def firing_pin_centre_um(self) -> tuple[float, float]:
        """(x, y) of this firing-pin crater's centre in the view."""
        centre = np.add(self.firearm.firing_pin_offset_um, self.firing_pin_jitter_um)
        placed = rotation_matrix(self.rotation_deg) @ centre + np.asarray(self.shift_um)
        return float(placed[0]), float(placed[1])

    def placed(
        self,
        *,
        rotation_deg: float | None = None,
        primer_centre_um: tuple[float, float] | None = None,
    ) -> FiredCasing:
        """Return the same firing lying differently under the scanner (same marks)."""
        return dataclasses.replace(
            self,
            rotation_deg=self.rotation_deg if rotation_deg is None else float(rotation_deg),
            primer_centre_um=(
                self.primer_centre_um
                if primer_centre_um is None
                else (float(primer_centre_um[0]), float(primer_centre_um[1]))
            ),
        )

    def in_firearm_frame(self) -> FiredCasing:
        """Return the firing placed so that the view frame is the firearm frame (rotation 0,
        bore axis at the centre of the view)."""
        return self.placed(rotation_deg=0.0, primer_centre_um=self.seat_offset_um)


def fire(
    firearm: Firearm,
    ammunition: Ammunition,
    *,
    seed: int,
    rotation_deg: float | None = None,
    primer_centre_um: tuple[float, float] | None = None,
    max_shift_um: float = 300.0,
    contrast: float | None = None,
    contact_loss_fraction: float | None = None,
    variation_fraction: float | None = None,
) -> FiredCasing:
    """Fire ``ammunition`` in ``firearm`` and lay the case under the scanner.

    Every option left as None is drawn at random from ``seed`` (and the firearm and brand, so
    that equal seeds in different pistols give unrelated firings).

    Parameters
    ----------
    firearm, ammunition
        Pistol and cartridge; their calibres must match.
    seed
        Seed of this firing.
    rotation_deg
        Rotation of the firearm's marks in the view; uniform over the full circle when None.
    primer_centre_um
        (x, y) of the primer centre from the view centre; uniform in a disc of radius
        ``max_shift_um`` when None.
    max_shift_um
        Largest random displacement of the primer centre.
    contrast
        Transferred fraction of the breech-face relief; uniform in [0.5, 1.0] when None.
    contact_loss_fraction
        Fraction of primer face with weak or no impression; uniform in [0.1, 0.4] when None.
    variation_fraction
        Energy fraction of marks new at this firing; uniform in [0.05, 0.15] when None.

    Returns
    -------
    FiredCasing
        The firing with its ground truth; render it with :func:`render_topography` or
        :func:`render_photograph`.
    """
    _check_fits(firearm, ammunition)
    if not (np.isfinite(max_shift_um) and max_shift_um >= 0):
        raise ValueError(f"max_shift_um must be a non-negative number, got {max_shift_um!r}.")
    drawn = _draw_firing(firearm, ammunition, seed=seed, max_shift_um=max_shift_um)
    for name, value, low, high in (
        ("contrast", contrast, 0.0, 1.0),
        ("contact_loss_fraction", contact_loss_fraction, 0.0, 0.95),
        ("variation_fraction", variation_fraction, 0.0, 1.0),
    ):
        if value is not None and not low <= value <= high:
            raise ValueError(f"{name} must lie in [{low:g}, {high:g}], got {value!r}.")
    if primer_centre_um is None:
        primer_centre_um = drawn.primer_centre_um
    return FiredCasing(
        firearm=firearm,
        ammunition=ammunition,
        seed=int(seed),
        rotation_deg=(drawn.rotation_deg if rotation_deg is None else float(rotation_deg)) % 360.0,
        primer_centre_um=(float(primer_centre_um[0]), float(primer_centre_um[1])),
        seat_offset_um=drawn.seat_offset_um,
        headstamp_rotation_deg=drawn.headstamp_rotation_deg,
        contrast=drawn.contrast if contrast is None else float(contrast),
        contact_loss_fraction=drawn.contact_loss_fraction
        if contact_loss_fraction is None
        else float(contact_loss_fraction),
        variation_fraction=drawn.variation_fraction
        if variation_fraction is None
        else float(variation_fraction),
        firing_pin_depth_um=drawn.firing_pin_depth_um,
        firing_pin_jitter_um=drawn.firing_pin_jitter_um,
        primer_setback_um=drawn.primer_setback_um,
    )


def _check_fits(firearm: Firearm, ammunition: Ammunition) -> None:
    """Refuse a cartridge that this pistol cannot fire, or whose primer its marks cannot cover."""
    if firearm.caliber != ammunition.caliber:
        raise ValueError(
            f"{ammunition.brand} {ammunition.caliber} cartridges cannot be fired in "
            f"{firearm.identifier}, a {firearm.caliber} pistol; use ammunition of its calibre."
        )
    pin_reach = np.hypot(*firearm.firing_pin_offset_um) + 0.6 * firearm.firing_pin_diameter_um
    if pin_reach + 100.0 >= ammunition.primer_face_radius_um:
        raise ValueError(
            f"the firing pin of {firearm.identifier} reaches {pin_reach:.0f} µm from the axis, "
            f"past the primer face of {ammunition.brand} ({ammunition.primer_face_radius_um:.0f} "
            "µm); use a smaller firing pin or a larger primer."
        )
    if ammunition.primer_face_radius_um + 25.0 > firearm.breech_face_radius_um:
        raise ValueError(
            f"the primer face of {ammunition.brand} (radius "
            f"{ammunition.primer_face_radius_um:.0f} µm) is larger than the modelled breech face "
            f"of {firearm.identifier} ({firearm.breech_face_radius_um:.0f} µm); raise "
            "breech_face_radius_um."
        )


@dataclass(frozen=True)
class _Draws:
    """The random quantities of one firing, in the order :func:`fire` draws them."""

    rotation_deg: float
    primer_centre_um: tuple[float, float]
    seat_offset_um: tuple[float, float]
    headstamp_rotation_deg: float
    contrast: float
    contact_loss_fraction: float
    variation_fraction: float
    firing_pin_depth_um: float
    firing_pin_jitter_um: tuple[float, float]
    primer_setback_um: float


def _draw_firing(
    firearm: Firearm, ammunition: Ammunition, *, seed: int, max_shift_um: float
) -> _Draws:
    """Return every random quantity of a firing, drawn from ``seed``, the firearm and the brand."""
    rng = generator("firing", seed, firearm.identifier, firearm.seed, ammunition.brand)
    # Draw every random quantity in a fixed order, whether or not it is overridden, so that
    # overriding one leaves the others unchanged.
    drawn_rotation = float(rng.uniform(0.0, 360.0))
    shift_radius = max_shift_um * math.sqrt(float(rng.uniform()))
    shift_angle = float(rng.uniform(0.0, 2.0 * math.pi))
    seat_radius = 25.0 * math.sqrt(float(rng.uniform()))
    seat_angle = float(rng.uniform(0.0, 2.0 * math.pi))
    headstamp_rotation = float(rng.uniform(0.0, 360.0))
    drawn_contrast = float(rng.uniform(0.5, 1.0))
    drawn_loss = float(rng.uniform(0.1, 0.4))
    drawn_variation = float(rng.uniform(0.05, 0.15))
    depth = (
        firearm.firing_pin_depth_um / ammunition.primer_hardness * float(rng.uniform(0.92, 1.08))
    )
    jitter = rng.normal(0.0, 8.0, size=2)
    setback = float(rng.uniform(-10.0, 10.0))
    return _Draws(
        rotation_deg=drawn_rotation,
        primer_centre_um=(
            shift_radius * math.cos(shift_angle),
            shift_radius * math.sin(shift_angle),
        ),
        seat_offset_um=(seat_radius * math.cos(seat_angle), seat_radius * math.sin(seat_angle)),
        headstamp_rotation_deg=headstamp_rotation,
        contrast=drawn_contrast,
        contact_loss_fraction=drawn_loss,
        variation_fraction=drawn_variation,
        firing_pin_depth_um=depth,
        firing_pin_jitter_um=(float(jitter[0]), float(jitter[1])),
        primer_setback_um=setback,
    )


def relative_pose(first: FiredCasing, second: FiredCasing) -> tuple[float, tuple[float, float]]:
    """Return how to lay a view of ``first`` onto a view of ``second`` (same marks on same place).

    Returns
    -------
    rotation_deg, shift_um
        A point at ``s`` (µm from the view centre) in the view of ``first`` shows the same
        firearm mark as the point ``R(rotation_deg) s + shift_um`` in the view of ``second``
        (rotation counter-clockwise on screen, about the view centre). Only meaningful when both
        were fired by the same firearm, or share its production run's marks.
    """
    rotation = (second.rotation_deg - first.rotation_deg) % 360.0
    turned = rotation_matrix(rotation) @ np.asarray(first.shift_um)
    shift = np.asarray(second.shift_um) - turned
    return rotation, (float(shift[0]), float(shift[1]))


def _contact_map(
    fired: FiredCasing, rng: np.random.Generator, size: int, spacing: float
) -> np.ndarray:
    """Return the per-firing contact between breech face and primer (1 full, 0 none)."""
    coarse_spacing = 24.0
    coarse_size = int(np.ceil(size * spacing / coarse_spacing)) | 1
    smooth = band_limited_noise(
        rng, coarse_size, spacing_um=coarse_spacing, shortest_um=500.0, longest_um=4000.0
    )
    # Cases sit slightly tilted against the breech face: contact is lost more on one side.
    axis = (np.arange(coarse_size, dtype=np.float32) - (coarse_size - 1) / 2.0) * coarse_spacing
    x, y = np.meshgrid(axis, axis)
    tilt_angle = rng.uniform(0.0, 2.0 * np.pi)
    radius = fired.ammunition.primer_face_radius_um
    level = smooth + 1.2 * (x * np.cos(tilt_angle) + y * np.sin(tilt_angle)) / radius
    inside = np.hypot(x - fired.seat_offset_um[0], y - fired.seat_offset_um[1]) < radius
    threshold = float(np.quantile(level[inside], fired.contact_loss_fraction))
    contact = np.clip(0.5 + (level - threshold) / 0.5, 0.0, 1.0).astype(np.float32)
    return cv2.resize(contact, (size, size), interpolation=cv2.INTER_LINEAR)


def _crater(fired: FiredCasing, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (height, inside weight) of the firing-pin crater and its lip, firearm frame."""
    firearm = fired.firearm
    centre_x = firearm.firing_pin_offset_um[0] + fired.firing_pin_jitter_um[0]
    centre_y = firearm.firing_pin_offset_um[1] + fired.firing_pin_jitter_um[1]
    dx, dy = x - np.float32(centre_x), y - np.float32(centre_y)
    radius = firearm.firing_pin_diameter_um / 2.0
    depth = fired.firing_pin_depth_um
    if firearm.firing_pin_shape == "rectangular":
        angle = np.deg2rad(firearm.firing_pin_angle_deg)
        along = dx * np.cos(angle) - dy * np.sin(angle)
        across = dx * np.sin(angle) + dy * np.cos(angle)
        # Rounded rectangle (superellipse, exponent 4), sides in ratio 1 : 0.6.
        normalised = (np.abs(along / radius) ** 4 + np.abs(across / (0.6 * radius)) ** 4) ** 0.25
        profile = -depth * smoothstep((1.0 - normalised) / 0.3)
    else:
        normalised = np.hypot(dx, dy) / radius
        if firearm.firing_pin_shape == "hemispherical":
            sphere = (radius**2 + depth**2) / (2.0 * depth)
            rho = np.minimum(normalised, 1.0) * radius
            profile = -(np.sqrt(np.maximum(sphere**2 - rho**2, 0.0)) - (sphere - depth))
        else:  # flat face with a rounded edge
            profile = -depth * smoothstep((1.0 - normalised) / 0.35)
    # Primer metal displaced by the pin rises as a lip around the crater.
    lip = 8.0 * np.exp(-(((normalised - 1.08) / 0.08) ** 2))
    inside = smoothstep((1.02 - normalised) / 0.06)
    return (profile + lip).astype(np.float32), inside.astype(np.float32)


def primer_profile(
    ammunition: Ammunition, radius_um: np.ndarray, *, setback_um: float = 0.0
) -> np.ndarray:
    """Return the height (µm, case head = 0) of the primer and pocket as a function of the radius
    from the primer centre: flat recessed face, rounded cup edge, gap, chamfer, head."""
    face = ammunition.primer_face_radius_um
    edge = ammunition.primer_edge_radius_um
    outer = ammunition.primer_radius_um
    gap_outer = outer + ammunition.primer_gap_um
    pocket = ammunition.pocket_radius_um
    face_height = -ammunition.primer_recess_um + setback_um
    gap_depth = face_height - edge - 150.0
    table_radius = np.arange(0.0, pocket + 60.0, 2.0)
    table = np.zeros_like(table_radius)
    on_face = table_radius <= face
    table[on_face] = face_height
    on_edge = (table_radius > face) & (table_radius <= outer)
    fall = table_radius[on_edge] - face
    table[on_edge] = face_height - (edge - np.sqrt(np.maximum(edge**2 - fall**2, 0.0)))
    table[(table_radius > outer) & (table_radius <= gap_outer)] = gap_depth
    on_chamfer = (table_radius > gap_outer) & (table_radius <= pocket)
    table[on_chamfer] = gap_depth * (pocket - table_radius[on_chamfer]) / (pocket - gap_outer)
    # Round the corners a little (about 10 µm) as machined edges are.
    kernel = np.exp(-0.5 * (np.arange(-15, 16) * 2.0 / 10.0) ** 2)
    padded = np.pad(table, 15, mode="edge")
    table = np.convolve(padded, kernel / kernel.sum(), mode="valid")
    return np.interp(radius_um, table_radius, table, right=0.0).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _primer_heights_cached(fired: FiredCasing) -> GridField:
    breech_face = firearm_marks(fired.firearm).breech_face
    spacing = breech_face.spacing_um
    # The pocket of a large primer may reach past the modelled breech face: pad with no marks.
    reach = fired.ammunition.pocket_radius_um + 60.0
    half_extent = (breech_face.values.shape[0] - 1) / 2.0 * spacing
    if reach > half_extent:
        padding = int(np.ceil((reach - half_extent) / spacing))
        breech_face = GridField(np.pad(breech_face.values, padding), spacing)
    size = breech_face.values.shape[0]
    x, y = breech_face.coordinates_um()
    firearm, ammunition = fired.firearm, fired.ammunition
    rng = generator("firing-fields", fired.seed, firearm.identifier, firearm.seed, ammunition.brand)

    contact = _contact_map(fired, rng, size, spacing)
    new_marks = band_limited_noise(
        rng, size, spacing_um=spacing, shortest_um=MARK_BAND_UM[0], longest_um=MARK_BAND_UM[1]
    ) * np.float32(firearm.breech_face_roughness_um)
    variation = fired.variation_fraction
    impression = (
        fired.contrast
        * contact
        * (np.sqrt(1.0 - variation) * breech_face.values + np.sqrt(variation) * new_marks)
    )

    # Each primer's own cup texture: rolled sheet, directional, its direction at random.
    rolling = rng.uniform(0.0, np.pi)
    ratio = 4.0

    def cup_transfer(ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
        along = kx * np.cos(rolling) + ky * np.sin(rolling)
        across = -kx * np.sin(rolling) + ky * np.cos(rolling)
        k2 = (ratio * along) ** 2 + across**2
        k = np.sqrt(k2) + np.float32(1e-12)
        return (1.0 - np.exp(-k2 * 300.0**2)) * np.exp(-k2 * 12.0**2) / k

    cup = spectral_noise(rng, (size, size), cup_transfer, spacing_um=(spacing, spacing))
    cup *= np.float32(ammunition.primer_cup_roughness_um)

    # Radius from the primer centre (at the seat offset in the firearm frame).
    primer_radius = np.hypot(x - fired.seat_offset_um[0], y - fired.seat_offset_um[1])
    face = smoothstep((ammunition.primer_face_radius_um - primer_radius) / 120.0)
    # The breech face flattens the cup texture where it presses the primer.
    flattened = 1.0 - 0.8 * contact
    surface = face * (impression + flattened * (cup + primer_die_rings(ammunition, primer_radius)))
    # The crater replaces the breech-face marks inside the firing pin's reach; work in a box
    # around it only (the rest of the grid is untouched).
    pin_box = _firing_pin_box(fired, breech_face)
    box_x, box_y = x[pin_box], y[pin_box]
    crater, inside_crater = _crater(fired, box_x, box_y)
    pin_marks = _firing_pin_marks(fired, box_x, box_y)
    surface[pin_box] = (
        (1.0 - inside_crater) * surface[pin_box]
        + crater
        + inside_crater * np.float32(fired.contrast) * pin_marks
    )
    # Nothing of the primer shows beyond the pocket: the case head is added in the casing frame.
    surface *= primer_radius < ammunition.primer_radius_um
    surface += primer_profile(ammunition, primer_radius, setback_um=fired.primer_setback_um)
    return GridField(surface.astype(np.float32), spacing)


def _firing_pin_box(fired: FiredCasing, grid: GridField) -> tuple[slice, slice]:
    """Return the slices of ``grid`` that hold the firing-pin crater and its lip."""
    firearm = fired.firearm
    reach = 0.75 * firearm.firing_pin_diameter_um + 60.0
    centre_row, centre_column = grid.centre_px
    rows, columns = grid.values.shape
    centre_x = firearm.firing_pin_offset_um[0] + fired.firing_pin_jitter_um[0]
    centre_y = firearm.firing_pin_offset_um[1] + fired.firing_pin_jitter_um[1]

    def span(centre_um: float, centre_px: float, length: int) -> slice:
        low = int(np.floor(centre_px + (centre_um - reach) / grid.spacing_um))
        high = int(np.ceil(centre_px + (centre_um + reach) / grid.spacing_um)) + 1
        return slice(max(low, 0), min(high, length))

    return span(centre_y, centre_row, rows), span(centre_x, centre_column, columns)


def _firing_pin_marks(fired: FiredCasing, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample the firearm's firing-pin surface marks at firearm-frame points."""
    pin = firearm_marks(fired.firearm).firing_pin
    centre_row, centre_column = pin.centre_px
    centre_x = fired.firearm.firing_pin_offset_um[0] + fired.firing_pin_jitter_um[0]
    centre_y = fired.firearm.firing_pin_offset_um[1] + fired.firing_pin_jitter_um[1]
    columns = ((x - centre_x) / pin.spacing_um + centre_column).astype(np.float32)
    rows = ((y - centre_y) / pin.spacing_um + centre_row).astype(np.float32)
    return cv2.remap(
        pin.values, columns, rows, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def primer_heights(fired: FiredCasing) -> GridField:
    """Return (and cache) the heights of the primer and pocket of ``fired`` in the firearm frame
    (µm, case head = 0): pocket profile, breech-face impression, cup texture, firing-pin crater.

    The result does not depend on where the case lies under the scanner.
    """
    return _primer_heights_cached(fired.placed(rotation_deg=0.0, primer_centre_um=(0.0, 0.0)))


@functools.lru_cache(maxsize=8)
def _head_heights_cached(fired: FiredCasing) -> GridField:
    from ballistics.synthetic.ammunition import brand_relief

    shared = brand_relief(fired.ammunition)
    size = shared.values.shape[0]
    rng = generator("head-texture", fired.seed, fired.firearm.identifier, fired.ammunition.brand)
    own = band_limited_noise(
        rng, size, spacing_um=shared.spacing_um, shortest_um=30.0, longest_um=500.0
    )
    values = shared.values + np.where(shared.values != 0.0, 0.3 * own, 0.0)
    return GridField(values.astype(np.float32), shared.spacing_um)


def head_heights(fired: FiredCasing) -> GridField:
    """Return (and cache) the case-head relief of ``fired`` in the casing frame (µm): headstamp,
    the brand's bunter finish and this case's own wear; zero inside the primer pocket."""
    return _head_heights_cached(fired.placed(rotation_deg=0.0, primer_centre_um=(0.0, 0.0)))

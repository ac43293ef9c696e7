"""Synthetic bullets with known ground truth: makes, barrels, ammunition, fired lands, scans.

The bullet counterpart of the casing generator. A *make* (:class:`BarrelMake`) holds the class
characteristics of a production run: the number of lands (4-8), their width, the twist's
direction and angle, the bullet's radius, and class striae left by the rifling tool that every
barrel of the run shares land by land. A *barrel* (:func:`make_barrel`) adds its own individual
striae of varying strength to every land. *Ammunition* (:class:`BulletAmmunition`) has a jacket
hardness: how much of the barrel's striae each shot takes (a hard jacket takes less, and less of
the fine detail). :func:`fire_bullet` fires one bullet, and renders each land as a raw scan looks
(:class:`ScanSettings`): the curved land with groove shoulders at both edges, the striae inclined
by the twist, a ragged heel, instrument noise, tilt, missing rows and points, a damaged or partly
missing land, tank rash. :func:`write_bullet` writes a bullet as one X3P per land with its truth.

Everything is seeded: the same arguments give the same surfaces, bit for bit. The ranges the
makes and scans are drawn from are the frozen :class:`BulletGeneratorSettings`, versioned by
:data:`SYNTHETIC_BULLETS_VERSION`, which benchmarks record with their results.

May import: the standard library, numpy, scipy, and of this package ``surface`` and ``io``;
never ``bullet`` (test data must not be made by the method it tests).

References
----------
.. [1] E. Hare, H. Hofmann and A. Carriquiry, "Automatic matching of bullet land impressions",
   Annals of Applied Statistics 11(4), 2017 (what a land-engraved area scan holds).
.. [2] J. Hamby, D. Brundage and J. Thorpe, "The identification of bullets fired from 10
   consecutively rifled 9mm Ruger pistol barrels: a research project involving 507
   participants from 20 countries", AFTE Journal 41(2), 2009 (consecutively rifled barrels).
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from ballistics.surface import Modality, Surface

#: version of the generator's model and of :data:`DEFAULT_GENERATOR_SETTINGS`; change it with
#: any change that alters the surfaces a seed gives
SYNTHETIC_BULLETS_VERSION = "synthetic-bullets-1"

# the striae are built on this fine grid and sampled down to the scan's pixel
_FINE_UM = 0.25
# room on either side of a land for the sideways shift of its striae between firings
_SHIFT_ROOM_UM = 300.0


@dataclass(frozen=True)
class BulletGeneratorSettings:
    """Ranges the makes, ammunition and scans are drawn from (frozen; versioned).

    Parameters
    ----------
    land_counts
        Numbers of lands a make may have.
    land_width_um
        (narrowest, widest) land between its grooves.
    twist_deg
        (least, most) angle of the striae to the bullet's axis (the rifling's twist).
    radius_um
        (smallest, largest) bullet radius: the curvature across a land.
    class_striae_um, individual_striae_um
        (least, most) root-mean-square height of the class striae of a make's production run
        and of a barrel's own striae.
    hardness
        (softest, hardest) jacket hardness, 0..1.
    pixel_um
        (finest, coarsest) scan resolution.
    noise_um
        (least, most) instrument noise, standard deviation.
    scan_length_um
        (shortest, longest) scanned length along the striae.
    """

    land_counts: tuple[int, ...] = (4, 5, 6, 7, 8)
    land_width_um: tuple[float, float] = (900.0, 2600.0)
    twist_deg: tuple[float, float] = (2.0, 8.0)
    radius_um: tuple[float, float] = (2800.0, 5700.0)
    class_striae_um: tuple[float, float] = (0.15, 0.45)
    individual_striae_um: tuple[float, float] = (0.6, 1.4)
    hardness: tuple[float, float] = (0.0, 0.8)
    pixel_um: tuple[float, float] = (0.6, 3.0)
    noise_um: tuple[float, float] = (0.05, 0.35)
    scan_length_um: tuple[float, float] = (380.0, 520.0)


#: the generator's frozen operating point (:data:`SYNTHETIC_BULLETS_VERSION`)
DEFAULT_GENERATOR_SETTINGS = BulletGeneratorSettings()


@dataclass(frozen=True)
class BarrelMake:
    """Class characteristics of one make (a production run of barrels).

    Parameters
    ----------
    name
        The make's name (seeds nothing by itself; ``seed`` does).
    land_count
        Lands (and grooves) of the rifling.
    land_width_um
        Width of each land between its grooves, in land order (they differ a little).
    twist
        ``"right"`` or ``"left"``.
    twist_deg
        Angle of the striae to the bullet's axis.
    radius_um
        Bullet radius.
    class_striae_um, individual_striae_um
        RMS height of the run's shared striae and of a barrel's own.
    seed
        Seed of the class striae.
    """

    name: str
    land_count: int
    land_width_um: tuple[float, ...]
    twist: str
    twist_deg: float
    radius_um: float
    class_striae_um: float
    individual_striae_um: float
    seed: int


@dataclass(frozen=True, eq=False)
class Barrel:
    """One barrel: its make and each land's striation profile (µm on a 0.25 µm grid).

    ``striae[k]`` covers land ``k`` plus 300 µm on either side (room for the shift between
    firings); position 0 of the land is at index ``300 / 0.25``.
    """

    make: BarrelMake
    name: str
    striae: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class BulletAmmunition:
    """Ammunition: its jacket's hardness, 0 (soft copper, takes every stria) to 1 (hard steel)."""

    name: str
    hardness: float


@dataclass(frozen=True)
class ScanSettings:
    """How one land is scanned and what happened to it.

    Parameters
    ----------
    pixel_um
        Resolution.
    noise_um
        Instrument noise (standard deviation).
    length_um
        Scanned length along the striae.
    tilt
        (across, along) plane tilt of the scan, µm per µm.
    missing_rows
        Fraction of rows the instrument lost (whole rows NaN).
    missing_fraction
        Fraction of points dropped at random.
    damaged_fraction
        Fraction of the land's width, on one side, where the striae are gone (flattened,
        dented or unmeasured): a damaged or partly missing land.
    tank_rash
        Number of scratches across the striae (bullets knocking together, hitting a tank).
    horizontal
        Stored with the striae horizontal (heel on the left), as some instruments do.
    """

    pixel_um: float = 1.5625
    noise_um: float = 0.15
    length_um: float = 450.0
    tilt: tuple[float, float] = (0.0, 0.0)
    missing_rows: float = 0.0
    missing_fraction: float = 0.005
    damaged_fraction: float = 0.0
    tank_rash: int = 0
    horizontal: bool = False


@dataclass(frozen=True, eq=False)
class SyntheticLandScan:
    """One rendered land scan and its truth.

    ``truth`` holds: ``make``, ``barrel``, ``bullet``, ``land`` (its number on the bullet,
    1-based), ``barrel_land`` (the barrel's land that engraved it, 1-based), ``land_key``
    (equal for lands engraved by the same land of the same barrel), ``land_width_um``,
    ``groove_um`` (feet of the groove shoulders across the oriented scan), ``twist``,
    ``twist_deg``, ``shift_um``, ``hardness`` and the :class:`ScanSettings` used.
    """

    surface: Surface
    truth: dict[str, object]


@dataclass(frozen=True, eq=False)
class SyntheticBullet:
    """A fired bullet's land scans, in land order, with the bullet's truth.

    ``phase``: land 1 of the bullet was engraved by land ``phase + 1`` of the barrel (bullets
    are loaded at any rotation). ``lands`` leaves out any land scans dropped as missing.
    """

    name: str
    barrel: str
    make: str
    land_count: int
    phase: int
    lands: tuple[SyntheticLandScan, ...]
    truth: dict[str, object] = field(default_factory=dict)


def make_barrel_make(
    name: str, *, seed: int, settings: BulletGeneratorSettings = DEFAULT_GENERATOR_SETTINGS, **fixed
) -> BarrelMake:
    """Return a make with class characteristics drawn from ``settings`` (``fixed`` overrides
    any field of :class:`BarrelMake`, e.g. ``land_count=5``)."""
    random = np.random.default_rng([seed, 11])
    land_count = int(fixed.pop("land_count", random.choice(settings.land_counts)))
    width = float(random.uniform(*settings.land_width_um))
    widths = tuple(float(w) for w in width * (1 + random.normal(0, 0.015, land_count)))
    values: dict[str, object] = {
        "name": name,
        "land_count": land_count,
        "land_width_um": widths,
        "twist": "right" if random.random() < 0.7 else "left",
        "twist_deg": float(random.uniform(*settings.twist_deg)),
        "radius_um": float(random.uniform(*settings.radius_um)),
        "class_striae_um": float(random.uniform(*settings.class_striae_um)),
        "individual_striae_um": float(random.uniform(*settings.individual_striae_um)),
        "seed": seed,
    }
    width_given = fixed.get("land_width_um")
    if isinstance(width_given, int | float):
        fixed["land_width_um"] = (float(width_given),) * land_count
    values.update(fixed)
    return BarrelMake(**values)  # type: ignore[arg-type]


def striation_profile(length_um: float, *, rms_um: float, seed: int) -> np.ndarray:
    """Return a striation profile on the 0.25 µm grid: striae of varying strength and width.

    Sharp striae (1-3 µm wide), broader ones (4-10 µm) and a fine roughness, with log-normal
    strengths so that a few deep striae stand among many faint ones, scaled to ``rms_um``.
    """
    random = np.random.default_rng(seed)
    size = round(length_um / _FINE_UM)
    profile = np.zeros(size)
    for count_per_mm, (narrow_um, wide_um) in ((45, (1.0, 3.0)), (15, (4.0, 10.0))):
        count = max(1, round(count_per_mm * length_um / 1000))
        positions = random.integers(0, size, count)
        strengths = random.lognormal(0.0, 0.7, count) * random.choice([-1.0, 1.0], count)
        widths = random.uniform(narrow_um, wide_um, count)
        # striae of similar width share one filter: four width classes per band
        edges = np.linspace(narrow_um, wide_um, 5)
        for start, stop in itertools.pairwise(edges):
            chosen = (widths >= start) & (widths <= stop)
            impulses = np.zeros(size)
            np.add.at(impulses, positions[chosen], strengths[chosen])
            sigma = (start + stop) / 4 / _FINE_UM
            profile += ndimage.gaussian_filter1d(impulses, sigma) * sigma * 2.5
    roughness = ndimage.gaussian_filter1d(random.normal(size=size), 1.0 / _FINE_UM)
    profile += 0.25 * roughness / (roughness.std() + 1e-12) * profile.std()
    profile -= ndimage.gaussian_filter1d(profile, 150.0 / _FINE_UM)
    return profile * rms_um / (profile.std() + 1e-12)


def make_barrel(make: BarrelMake, name: str, *, seed: int) -> Barrel:
    """Return a barrel of ``make``: the run's class striae plus its own, land by land."""
    profiles = []
    for land, width in enumerate(make.land_width_um):
        length = width + 2 * _SHIFT_ROOM_UM
        shared = striation_profile(length, rms_um=make.class_striae_um, seed=make.seed * 97 + land)
        own = striation_profile(
            length, rms_um=make.individual_striae_um, seed=seed * 1009 + land + 7
        )
        profiles.append(shared + own)
    return Barrel(make=make, name=name, striae=tuple(profiles))


def fired_striae(striae: np.ndarray, *, hardness: float, seed: int) -> np.ndarray:
    """Return what one shot takes of a land's striae: a hard jacket takes less, and less fine.

    The fine detail is smoothed away in proportion to the hardness, the striae are engraved
    less deep, and each shot adds striae of its own (debris, the bullet's own surface).
    """
    random = np.random.default_rng(seed)
    transfer = 1.0 - 0.5 * hardness * random.uniform(0.7, 1.0)
    smoothed = ndimage.gaussian_filter1d(striae, (0.5 + 2.5 * hardness) / _FINE_UM)
    taken = transfer * smoothed
    own = striation_profile(striae.size * _FINE_UM, rms_um=0.25 + 0.5 * hardness, seed=seed + 1)
    # the bullet's own waviness (deformation on firing, 40-150 µm), not the barrel's
    waviness = ndimage.gaussian_filter1d(random.normal(size=striae.size), 15.0 / _FINE_UM)
    waviness *= random.uniform(0.2, 0.6) / (waviness.std() + 1e-12)
    return taken + own + waviness


def fire_bullet(
    barrel: Barrel,
    ammunition: BulletAmmunition,
    name: str,
    *,
    seed: int,
    scan: ScanSettings | None = None,
    settings: BulletGeneratorSettings = DEFAULT_GENERATOR_SETTINGS,
    missing_lands: tuple[int, ...] = (),
    damaged_lands: tuple[int, ...] = (),
    phase: int | None = None,
) -> SyntheticBullet:
    """Fire one bullet and scan every land.

    Parameters
    ----------
    barrel, ammunition
        What fires and what is fired.
    name
        The bullet's name (the scans' sources are ``{name}-Land_{k}``).
    seed
        Seed of the shot and the scans.
    scan
        The scanning session; None draws one from ``settings`` (resolution, noise, tilt, a few
        missing rows).
    missing_lands
        Land numbers (1-based, on the bullet) not scanned at all.
    damaged_lands
        Land numbers damaged (part of the land's width lost) and rashed.
    phase
        Which barrel land engraved land 1 (0-based); None draws it.
    """
    random = np.random.default_rng([seed, 23])
    make = barrel.make
    if phase is None:
        phase = int(random.integers(make.land_count))
    if scan is None:
        scan = draw_scan(random, settings)
    lands = []
    for number in range(1, make.land_count + 1):
        barrel_land = (number - 1 + phase) % make.land_count
        if number in missing_lands:
            continue
        land_scan = scan
        if number in damaged_lands:
            land_scan = _damaged(scan, random)
        shot = fired_striae(
            barrel.striae[barrel_land],
            hardness=ammunition.hardness,
            seed=seed * 131 + number,
        )
        surface, truth = render_land_scan(
            shot,
            width_um=make.land_width_um[barrel_land],
            make=make,
            scan=land_scan,
            seed=seed * 137 + number,
            source=f"{name}-Land_{number}",
        )
        truth |= {
            "make": make.name,
            "barrel": barrel.name,
            "bullet": name,
            "land": number,
            "barrel_land": barrel_land + 1,
            "land_key": f"{barrel.name}-L{barrel_land + 1}",
            "hardness": ammunition.hardness,
            "ammunition": ammunition.name,
            "damaged": number in damaged_lands,
        }
        lands.append(SyntheticLandScan(surface=surface, truth=truth))
    truth = {
        "version": SYNTHETIC_BULLETS_VERSION,
        "make": asdict(make),
        "barrel": barrel.name,
        "phase": phase,
        "missing_lands": list(missing_lands),
        "damaged_lands": list(damaged_lands),
        "ammunition": asdict(ammunition),
        "scan": asdict(scan),
    }
    return SyntheticBullet(
        name=name,
        barrel=barrel.name,
        make=make.name,
        land_count=make.land_count,
        phase=phase,
        lands=tuple(lands),
        truth=truth,
    )


def draw_scan(random: np.random.Generator, settings: BulletGeneratorSettings) -> ScanSettings:
    """Return a scanning session drawn from ``settings``."""
    return ScanSettings(
        pixel_um=float(np.round(random.uniform(*settings.pixel_um), 4)),
        noise_um=float(random.uniform(*settings.noise_um)),
        length_um=float(random.uniform(*settings.scan_length_um)),
        tilt=(float(random.normal(0, 0.01)), float(random.normal(0, 0.01))),
        missing_rows=float(random.uniform(0.0, 0.03)),
        missing_fraction=float(random.uniform(0.0, 0.02)),
    )


def _damaged(scan: ScanSettings, random: np.random.Generator) -> ScanSettings:
    """Return ``scan`` for a damaged land: a third to a half of its width lost, and rashed."""
    return ScanSettings(
        **(asdict(scan) | {"damaged_fraction": float(random.uniform(0.35, 0.5)), "tank_rash": 3})
    )


def render_land_scan(
    striae: np.ndarray,
    *,
    width_um: float,
    make: BarrelMake,
    scan: ScanSettings,
    seed: int,
    source: str = "",
) -> tuple[Surface, dict[str, object]]:
    """Return the raw scan of one fired land and its truth (see :class:`SyntheticLandScan`)."""
    random = np.random.default_rng(seed)
    pixel = scan.pixel_um
    shoulder_room = random.uniform(180.0, 320.0, 2)
    scan_width = width_um + shoulder_room.sum()
    columns, rows = round(scan_width / pixel), round(scan.length_um / pixel)
    x = np.arange(columns) * pixel - shoulder_room[0]  # 0 at the left groove
    y = (rows - 1 - np.arange(rows)) * pixel  # height above the heel (heel = last row)
    shift = float(random.uniform(-150.0, 150.0))
    slope = np.tan(np.radians(make.twist_deg)) * (1 if make.twist == "right" else -1)
    slope += float(random.normal(0, 0.01))  # mounting
    # the instrument integrates over a pixel: smooth the fine striae to the pixel first
    sampled = ndimage.gaussian_filter1d(striae, max(pixel / 2.5, _FINE_UM) / _FINE_UM)
    position = x[None, :] + y[:, None] * slope + shift + _SHIFT_ROOM_UM
    heights = np.interp(position / _FINE_UM, np.arange(striae.size), sampled)
    centre = width_um / 2
    radius = make.radius_um
    arc = np.sqrt(np.maximum(radius**2 - (x - centre) ** 2, 0.0)) - radius
    outside = np.maximum(-x, x - width_um)
    rise = random.uniform(20.0, 45.0)
    heights = np.where(outside[None, :] > 0, 0.0, heights) + arc[None, :]
    heights += (np.clip(outside / rise, 0.0, 1.0) * random.uniform(25.0, 60.0))[None, :]
    heights += scan.tilt[0] * x[None, :] + scan.tilt[1] * y[:, None]
    heights += random.normal(0.0, scan.noise_um, heights.shape)
    _damage(heights, x, y, width_um=width_um, scan=scan, random=random)
    _heel(heights, pixel=pixel, random=random)
    heights[random.random(rows) < scan.missing_rows] = np.nan
    heights[random.random(heights.shape) < scan.missing_fraction] = np.nan
    if scan.horizontal:
        heights = np.rot90(heights, -1)  # heel (bottom) to the left
    surface = Surface(heights, pixel_um=pixel, modality=Modality.TOPOGRAPHY, source=source)
    truth: dict[str, object] = {
        "land_width_um": width_um,
        "groove_um": (float(shoulder_room[0]), float(shoulder_room[0] + width_um)),
        "twist": make.twist,
        "twist_deg": make.twist_deg,
        "striae_slope": float(slope),
        "shift_um": shift,
        "scan": asdict(scan),
    }
    return surface, truth


def _damage(
    heights: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    width_um: float,
    scan: ScanSettings,
    random: np.random.Generator,
) -> None:
    """Damage part of a land's width and scratch it (tank rash), in place."""
    rows = heights.shape[0]
    if scan.damaged_fraction > 0:
        lost = scan.damaged_fraction * width_um
        side = x > width_um - lost if random.random() < 0.5 else x < lost
        if random.random() < 0.5:
            heights[:, side] = np.nan  # the scan lost it (fragment, deformation)
        else:  # flattened and dented: the striae are gone
            dents = ndimage.gaussian_filter(random.normal(size=(rows, int(side.sum()))), 8.0)
            heights[:, side] = np.nanmean(heights[:, side]) + 40.0 * dents
    for _ in range(scan.tank_rash):
        angle = random.uniform(np.radians(40), np.radians(140))
        x0, y0 = random.uniform(0, width_um), random.uniform(0, y.max() + 1)
        distance = np.abs(np.cos(angle) * (y[:, None] - y0) - np.sin(angle) * (x[None, :] - x0))
        width = random.uniform(5.0, 25.0)
        depth = random.uniform(2.0, 8.0)
        heights -= depth * np.exp(-0.5 * (distance / width) ** 2)


def _heel(heights: np.ndarray, *, pixel: float, random: np.random.Generator) -> None:
    """Make the heel (last rows) ragged and partly unmeasured, with dents, in place."""
    rows, columns = heights.shape
    damaged = max(1, round(random.uniform(40.0, 90.0) / pixel))
    damaged = min(damaged, rows // 4)
    dents = ndimage.gaussian_filter(random.normal(size=(damaged, columns)), 6.0 / pixel * 1.5)
    heights[-damaged:] += dents * 60.0
    ragged = np.abs(ndimage.gaussian_filter1d(random.normal(size=columns), 30.0 / pixel))
    ragged = ragged / (ragged.max() + 1e-12) * damaged
    below = np.arange(rows)[:, None] >= (rows - ragged)[None, :]
    heights[below] = np.nan


def write_bullet(bullet: SyntheticBullet, folder: str | os.PathLike[str]) -> Path:
    """Write a bullet as one X3P per land (``{name}-Land_{k}.x3p``) and ``truth.json``.

    Returns the folder, which :func:`ballistics.bullet.read_bullet` reads as a bullet (land
    numbers from the names, missing lands leaving gaps).
    """
    from ballistics.io.x3p import write_x3p

    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for land in bullet.lands:
        write_x3p(land.surface, path / f"{land.surface.source}.x3p", comment="synthetic land")
    truth = bullet.truth | {"lands": [land.truth for land in bullet.lands], "name": bullet.name}
    (path / "truth.json").write_text(json.dumps(truth, indent=1, default=_plain), "utf-8")
    return path


def _plain(value: object) -> object:
    """JSON form of numpy values in the truth."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@dataclass(frozen=True, eq=False)
class PlannedBullet:
    """A bullet to fire (:func:`fire_planned`): light to keep or send to another process."""

    barrel: Barrel
    ammunition: BulletAmmunition
    name: str
    seed: int
    settings: BulletGeneratorSettings
    damaged_lands: tuple[int, ...] = ()


def fire_planned(plan: PlannedBullet, *, missing_lands: tuple[int, ...] = ()) -> SyntheticBullet:
    """Return the bullet ``plan`` describes, fired and scanned."""
    return fire_bullet(
        plan.barrel,
        plan.ammunition,
        plan.name,
        seed=plan.seed,
        settings=plan.settings,
        damaged_lands=plan.damaged_lands,
        missing_lands=missing_lands,
    )


def make_bullet_set(
    name: str,
    *,
    seed: int,
    makes: int = 2,
    barrels_per_make: int = 3,
    bullets_per_barrel: int = 3,
    settings: BulletGeneratorSettings = DEFAULT_GENERATOR_SETTINGS,
    damaged_share: float = 0.2,
) -> list[PlannedBullet]:
    """Return a set of bullets to fire: makes x barrels x bullets, each with its own ammunition
    (hardness drawn from ``settings``) and scanning session; about ``damaged_share`` of the
    bullets have one damaged land.

    Barrels of one make share the make's class striae (consecutively made barrels), so the
    known non-matches include the hard ones: same make, other barrel. Names:
    ``{name}-M{m}``, ``{name}-M{m}-B{b}``, ``{name}-M{m}-B{b}-{k}``. Fire them with
    :func:`fire_planned` (one at a time: a land scanned at 0.6 µm is tens of megabytes).
    """
    random = np.random.default_rng([seed, 31])
    plans = []
    for m in range(makes):
        make = make_barrel_make(f"{name}-M{m}", seed=seed * 100 + m, settings=settings)
        for b in range(barrels_per_make):
            barrel = make_barrel(make, f"{make.name}-B{b}", seed=seed * 1000 + m * 10 + b)
            for k in range(bullets_per_barrel):
                ammunition = BulletAmmunition(
                    f"jacket-{k}", hardness=float(random.uniform(*settings.hardness))
                )
                damaged: tuple[int, ...] = ()
                if random.random() < damaged_share:
                    damaged = (int(random.integers(1, make.land_count + 1)),)
                plans.append(
                    PlannedBullet(
                        barrel,
                        ammunition,
                        f"{barrel.name}-{k}",
                        seed=int(random.integers(1 << 30)),
                        settings=settings,
                        damaged_lands=damaged,
                    )
                )
    return plans


def render_circumference(
    barrel: Barrel,
    ammunition: BulletAmmunition,
    *,
    seed: int,
    scan: ScanSettings,
    groove_um: float = 700.0,
    depth_um: float = 30.0,
) -> tuple[Surface, list[tuple[int, int]]]:
    """Return a whole-circumference scan of one bullet, unrolled, and each land's columns.

    Heights are relative to the unfired radius (the cylinder unrolled): land engraved areas
    lie ``depth_um`` deep with their striae, groove engraved areas stay at the surface, steep
    shoulders join them. The windows ``(first, stop column)`` hold each land with both its
    shoulders, cut in the middle of the grooves: the lands "written separately".
    """
    random = np.random.default_rng([seed, 41])
    make = barrel.make
    pixel = scan.pixel_um
    rows = round(scan.length_um / pixel)
    y = (rows - 1 - np.arange(rows)) * pixel
    slope = np.tan(np.radians(make.twist_deg)) * (1 if make.twist == "right" else -1)
    pieces, windows, column = [], [], 0
    for land, width in enumerate(make.land_width_um):
        shot = fired_striae(barrel.striae[land], hardness=ammunition.hardness, seed=seed + land)
        sampled = ndimage.gaussian_filter1d(shot, max(pixel / 2.5, _FINE_UM) / _FINE_UM)
        columns = round((width + groove_um) / pixel)
        x = np.arange(columns) * pixel - groove_um / 2  # 0 at the land's left edge
        position = x[None, :] + y[:, None] * slope + _SHIFT_ROOM_UM
        striae = np.interp(position / _FINE_UM, np.arange(shot.size), sampled)
        outside = np.maximum(-x, x - width)
        rise = np.clip(outside / 30.0, 0.0, 1.0)[None, :]
        heights = (1 - rise) * (striae - depth_um)
        heights += random.normal(0.0, scan.noise_um, heights.shape)
        _heel(heights, pixel=pixel, random=random)
        pieces.append(heights)
        windows.append((column, column + columns))
        column += columns
    surface = Surface(
        np.concatenate(pieces, axis=1),
        pixel_um=pixel,
        modality=Modality.TOPOGRAPHY,
        source="circumference",
    )
    return surface, windows

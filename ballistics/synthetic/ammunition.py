"""Synthetic ammunition: primer and case-head geometry, headstamp and the brand's own textures.

Cartridges of one brand share their headstamp, their case-head finish (from the bunter that
stamps the headstamp) and the class of their primer cup texture. None of these is a firearm
mark: the headstamp and case head lie outside the primer, and the cup texture differs from
primer to primer, so a region-of-interest step that keeps the primer face only (and a
comparison that relies on shared marks) is not fooled by shared ammunition.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ballistics.synthetic.fields import (
    GridField,
    band_limited_noise,
    generator,
    require_positive,
    stable_seed,
)

#: Primer and case-head diameters (µm) by calibre (SAAMI nominal values, rounded).
CALIBERS: dict[str, tuple[float, float]] = {
    "9mm": (4450.0, 9960.0),
    ".380 ACP": (4450.0, 9500.0),
    ".40 S&W": (4450.0, 10770.0),
    ".45 ACP": (5330.0, 12010.0),
}

#: Headstamp grid spacing (µm).
HEADSTAMP_GRID_UM = 10.0

_CARTRIDGE_NAMES = {
    "9mm": "9mm LUGER",
    ".380 ACP": "380 AUTO",
    ".40 S&W": "40 S&W",
    ".45 ACP": "45 AUTO",
}

# Brand presets: (headstamp maker mark, relief µm (negative: stamped in), primer albedo,
# case albedo, primer hardness). Values are plausible, not measured.
_BRANDS: dict[str, tuple[str, float, float, float, float]] = {
    "WIN": ("WIN", -35.0, 0.80, 0.62, 1.00),
    "FC": ("FC", -30.0, 0.86, 0.66, 0.95),
    "R-P": ("R-P", -40.0, 0.78, 0.60, 1.05),
    "CBC": ("CBC", 25.0, 0.83, 0.64, 1.10),
    "S&B": ("S&B", -30.0, 0.88, 0.58, 0.90),
}

#: Brands used by default in data sets.
STANDARD_BRANDS = ("WIN", "FC", "R-P")


@dataclass(frozen=True)
class Ammunition:
    """A brand of cartridge: what every case of it has in common.

    Parameters
    ----------
    brand
        Brand name, e.g. ``"WIN"``.
    headstamp
        Text stamped around the primer; words are spread evenly around the head, the first at
        the top, letters' feet towards the primer.
    caliber
        Calibre; it must match the firearm's.
    primer_diameter_um
        Outer diameter of the primer cup (small pistol ≈ 4450 µm).
    case_head_diameter_um
        Diameter of the case head (9 mm Luger ≈ 9960 µm).
    primer_texture_seed
        Seed of the brand's primer cup class texture (cup-forming die rings) and bunter finish.
    primer_cup_roughness_um
        RMS of each primer's own cup texture (rolled sheet: directional, differs per primer).
    primer_recess_um
        How far the primer face sits below the case head.
    primer_edge_radius_um
        Radius of the rounded edge of the primer cup: the flat primer face ends this far inside
        the cup's outer radius.
    primer_gap_um
        Width of the gap between the primer cup and the primer pocket wall.
    pocket_chamfer_um
        Radial width of the chamfer from the gap up to the case head.
    primer_hardness
        Relative hardness; firing-pin craters are ``1 / hardness`` times the firearm's depth.
    headstamp_relief_um
        Height of the headstamp glyphs relative to the head (negative: stamped in).
    headstamp_letter_height_um
        Height of the glyphs.
    headstamp_radius_um
        Radius of the glyphs' centres from the primer centre.
    primer_albedo, case_albedo
        Reflectance of the primer and of the case head in photographs, in (0, 1].
    """

    brand: str
    headstamp: str
    primer_texture_seed: int
    caliber: str = "9mm"
    primer_diameter_um: float = 4450.0
    case_head_diameter_um: float = 9960.0
    primer_cup_roughness_um: float = 0.5
    primer_recess_um: float = 40.0
    primer_edge_radius_um: float = 300.0
    primer_gap_um: float = 60.0
    pocket_chamfer_um: float = 350.0
    primer_hardness: float = 1.0
    headstamp_relief_um: float = -35.0
    headstamp_letter_height_um: float = 1100.0
    headstamp_radius_um: float = 3650.0
    primer_albedo: float = 0.82
    case_albedo: float = 0.62

    def __post_init__(self) -> None:
        if not self.brand:
            raise ValueError("Ammunition brand must be a non-empty string, e.g. 'WIN'.")
        require_positive(
            self,
            (
                "primer_diameter_um",
                "case_head_diameter_um",
                "primer_cup_roughness_um",
                "primer_edge_radius_um",
                "primer_gap_um",
                "pocket_chamfer_um",
                "primer_hardness",
                "headstamp_letter_height_um",
                "headstamp_radius_um",
            ),
        )
        if self.primer_edge_radius_um >= self.primer_diameter_um / 4:
            raise ValueError(
                f"primer_edge_radius_um {self.primer_edge_radius_um:g} leaves too little flat "
                f"primer face in a {self.primer_diameter_um:g} µm primer; make it smaller."
            )
        inner_glyph = self.headstamp_radius_um - self.headstamp_letter_height_um / 2
        if inner_glyph <= self.pocket_radius_um:
            raise ValueError(
                f"headstamp glyphs reach radius {inner_glyph:g} µm, inside the primer pocket "
                f"(radius {self.pocket_radius_um:g} µm); raise headstamp_radius_um."
            )
        if self.headstamp_radius_um + self.headstamp_letter_height_um / 2 > (
            self.case_head_diameter_um / 2
        ):
            raise ValueError(
                "headstamp glyphs reach beyond the case head; lower headstamp_radius_um or "
                "headstamp_letter_height_um."
            )
        for name in ("primer_albedo", "case_albedo"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must lie in (0, 1], got {value!r}.")

    @property
    def primer_radius_um(self) -> float:
        """Outer radius of the primer cup."""
        return self.primer_diameter_um / 2.0

    @property
    def primer_face_radius_um(self) -> float:
        """Radius of the flat primer face, where the breech face leaves its marks."""
        return self.primer_radius_um - self.primer_edge_radius_um

    @property
    def pocket_radius_um(self) -> float:
        """Radius at which the pocket chamfer meets the case head."""
        return self.primer_radius_um + self.primer_gap_um + self.pocket_chamfer_um

    @property
    def headstamp_inner_radius_um(self) -> float:
        """Smallest radius reached by a headstamp glyph."""
        return self.headstamp_radius_um - self.headstamp_letter_height_um / 2


def make_ammunition(brand: str = "WIN", *, caliber: str = "9mm", **overrides: Any) -> Ammunition:
    """Return a brand of ammunition: a preset for WIN, FC, R-P, CBC and S&B, or a plausible new
    brand for any other name.

    Parameters
    ----------
    brand
        Brand name; its headstamp reads ``f"{brand} {cartridge}"`` (e.g. ``"WIN 9mm LUGER"``).
    caliber
        One of ``CALIBERS``.
    **overrides
        Any :class:`Ammunition` field to set explicitly.
    """
    if caliber not in CALIBERS:
        raise ValueError(f"caliber {caliber!r} is unknown; use one of {', '.join(CALIBERS)}.")
    unknown = set(overrides) - set(Ammunition.__dataclass_fields__)
    if unknown:
        raise ValueError(
            f"unknown ammunition fields {sorted(unknown)}; use fields of Ammunition such as "
            "headstamp or primer_recess_um."
        )
    primer_diameter, case_head_diameter = CALIBERS[caliber]
    if brand in _BRANDS:
        mark, relief, primer_albedo, case_albedo, hardness = _BRANDS[brand]
    else:
        rng = generator("brand", brand)
        mark = brand.upper()
        relief = float(rng.choice([-1.0, 1.0]) * rng.uniform(20.0, 45.0))
        primer_albedo = float(rng.uniform(0.75, 0.9))
        case_albedo = float(rng.uniform(0.55, 0.7))
        hardness = float(rng.uniform(0.9, 1.1))
    settings: dict[str, Any] = {
        "brand": brand,
        "headstamp": f"{mark} {_CARTRIDGE_NAMES[caliber]}",
        "primer_texture_seed": stable_seed("primer-texture", brand) % 2**31,
        "caliber": caliber,
        "primer_diameter_um": primer_diameter,
        "case_head_diameter_um": case_head_diameter,
        "headstamp_relief_um": relief,
        "primer_albedo": primer_albedo,
        "case_albedo": case_albedo,
        "primer_hardness": hardness,
        # Keep the glyphs on the head between pocket and rim whatever the calibre.
        "headstamp_radius_um": 0.5 * (primer_diameter / 2 + 410.0 + 0.9 * case_head_diameter / 2),
    }
    settings.update(overrides)
    return Ammunition(**settings)


def _glyph_mask(ammunition: Ammunition, size: int, spacing_um: float) -> np.ndarray:
    """Return a float32 mask (1 on glyph strokes) of the headstamp on a centred grid."""
    canvas = np.zeros((size, size), dtype=np.float32)
    centre = (size - 1) / 2.0
    height_px = ammunition.headstamp_letter_height_um / spacing_um
    font = cv2.FONT_HERSHEY_SIMPLEX
    (_, reference_height), _ = cv2.getTextSize("H", font, 1.0, 1)
    scale = height_px / reference_height
    thickness = max(1, round(0.13 * height_px))
    radius_px = ammunition.headstamp_radius_um / spacing_um
    words = ammunition.headstamp.split()
    for word_index, word in enumerate(words):
        widths = [cv2.getTextSize(letter, font, scale, thickness)[0][0] for letter in word]
        gap = 0.18 * height_px
        total = sum(widths) + gap * (len(word) - 1)
        # Angles in screen coordinates (y down): -90° is the top; letters advance clockwise.
        word_angle = -np.pi / 2 + 2.0 * np.pi * word_index / len(words)
        position = -total / 2.0
        for letter, width in zip(word, widths, strict=True):
            angle = word_angle + (position + width / 2.0) / radius_px
            position += width + gap
            patch_size = int(np.ceil(max(width, height_px) * 1.6)) + 2 * thickness
            patch = np.zeros((patch_size, patch_size), dtype=np.uint8)
            origin = (
                round((patch_size - width) / 2),
                round((patch_size + height_px) / 2),
            )
            cv2.putText(patch, letter, origin, font, scale, 255, thickness, cv2.LINE_AA)
            # Letter 'up' points away from the primer: rotate by angle + 90° about the patch
            # centre and move it to the glyph's place on the circle.
            turn = angle + np.pi / 2
            cosine, sine = np.cos(turn), np.sin(turn)
            patch_centre = (patch_size - 1) / 2.0
            target_x = centre + radius_px * np.cos(angle)
            target_y = centre + radius_px * np.sin(angle)
            matrix = np.array(
                [
                    [cosine, -sine, target_x - cosine * patch_centre + sine * patch_centre],
                    [sine, cosine, target_y - sine * patch_centre - cosine * patch_centre],
                ]
            )
            placed = cv2.warpAffine(
                patch.astype(np.float32) / 255.0, matrix, (size, size), flags=cv2.INTER_LINEAR
            )
            np.maximum(canvas, placed, out=canvas)
    return canvas


@functools.lru_cache(maxsize=16)
def brand_relief(ammunition: Ammunition) -> GridField:
    """Return (and cache) the case-head relief a brand shares, in the casing frame (µm).

    Headstamp glyphs with sloped walls plus the bunter's finish, outside the primer pocket; zero
    inside it. The casing frame has its origin at the primer centre, headstamp upright.
    """
    spacing = HEADSTAMP_GRID_UM
    size = int(np.ceil(ammunition.case_head_diameter_um * 1.05 / spacing)) | 1
    glyphs = _glyph_mask(ammunition, size, spacing)
    # Stamped walls are not vertical: about 30 µm wide slopes.
    glyphs = cv2.GaussianBlur(glyphs, (0, 0), 1.5)
    rng = generator("bunter", ammunition.primer_texture_seed)
    finish = band_limited_noise(rng, size, spacing_um=spacing, shortest_um=30.0, longest_um=500.0)
    axis = (np.arange(size, dtype=np.float32) - (size - 1) / 2.0) * spacing
    radius = np.hypot(axis[None, :], axis[:, None])
    on_head = (radius > ammunition.pocket_radius_um) & (
        radius < ammunition.case_head_diameter_um / 2.0
    )
    relief = ammunition.headstamp_relief_um * glyphs + 0.6 * finish
    return GridField(np.where(on_head, relief, 0.0).astype(np.float32), spacing)


def primer_die_rings(ammunition: Ammunition, radius_um: np.ndarray) -> np.ndarray:
    """Return the shallow concentric rings the brand's cup-forming die leaves near the primer
    edge (µm), as a function of the radius from the primer centre."""
    rng = generator("die-rings", ammunition.primer_texture_seed)
    count = 3
    centres = ammunition.primer_face_radius_um - rng.uniform(80.0, 450.0, size=count)
    widths = rng.uniform(25.0, 60.0, size=count)
    depths = rng.uniform(0.4, 1.2, size=count) * rng.choice([-1.0, 1.0], size=count)
    # Tabulate the radial profile once and interpolate: cheaper than evaluating it per point.
    table_radius = np.arange(0.0, ammunition.primer_radius_um + 4.0, 2.0)
    table = np.zeros_like(table_radius)
    for centre, width, depth in zip(centres, widths, depths, strict=True):
        table += depth * np.exp(-(((table_radius - centre) / width) ** 2))
    return np.interp(radius_um, table_radius, table, right=0.0).astype(np.float32)

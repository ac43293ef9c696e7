"""Synthetic land-engraved areas with known ground truth, for tests and benchmarks.

A *barrel* is a set of seeded striation profiles, one per land: what each land of the barrel
engraves on every bullet it fires. A *firing* renders one land as a raw scan looks: the
curved surface of the bullet, the land's striae shifted sideways by a known amount with fresh
noise, the groove shoulders climbing at both edges, a ragged and damaged base at the heel and
missing points.

This is the small, fast renderer of the unit tests and ``ballistics demo`` (one land profile,
one make). The full generator, with makes of 4-8 lands, class and individual striae, jacket
hardness, resolutions, tilt, missing rows, damage and tank rash, and the X3P files with their
truth, is :mod:`ballistics.synthetic.bullets`; the land model is fitted and measured on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ballistics.surface import Modality, Surface


@dataclass(frozen=True)
class SyntheticLand:
    """A rendered land scan with its truth.

    Parameters
    ----------
    surface
        The raw scan.
    groove_um
        (left, right) feet of the groove shoulders across the scan, micrometres from its left
        edge, in the scan's own orientation when the striae are vertical and the heel at the
        bottom.
    shift_um
        Lateral shift of the land's striae in this firing.
    """

    surface: Surface
    groove_um: tuple[float, float]
    shift_um: float


def barrel_striae(
    *, seed: int, land_count: int = 6, length_um: float = 3000.0, pixel_um: float = 1.5625
) -> list[np.ndarray]:
    """Return one striation profile (µm, at ``pixel_um``) per land of a synthetic barrel.

    Each profile is seeded noise smoothed at a few micrometres plus a few dozen sharp striae of
    random depth, about 1 µm in amplitude, the scale of real land striations.
    """
    random = np.random.default_rng(seed)
    size = round(length_um / pixel_um)
    profiles = []
    for _ in range(land_count):
        fine = ndimage.gaussian_filter1d(random.normal(size=size), 4.0 / pixel_um)
        fine *= 0.6 / (fine.std() + 1e-12)
        striae = np.zeros(size)
        positions = random.integers(0, size, size=max(1, int(length_um / 40)))
        striae[positions] = random.normal(0.0, 1.0, positions.size)
        striae = ndimage.gaussian_filter1d(striae, 2.5 / pixel_um) * (2.5 / pixel_um) * 2.0
        profiles.append(fine + striae)
    return profiles


def render_land(
    striae: np.ndarray,
    *,
    seed: int,
    pixel_um: float = 1.5625,
    land_width_um: float = 1900.0,
    scan_width_um: float = 2400.0,
    scan_length_um: float = 500.0,
    shift_um: float = 0.0,
    land_offset_um: float = 0.0,
    noise_um: float = 0.15,
    radius_um: float = 4500.0,
    shoulder_um: float = 30.0,
    damaged_heel_um: float = 80.0,
    missing_fraction: float = 0.01,
    horizontal: bool = False,
) -> SyntheticLand:
    """Return the raw scan of one land of a barrel, fired once.

    Parameters
    ----------
    striae
        The land's profile from :func:`barrel_striae`, at ``pixel_um``.
    seed
        Seed of this firing's noise, damage and missing points.
    land_width_um, scan_width_um, scan_length_um
        Width of the land between its grooves, and the scanned window across and along it.
    shift_um
        Lateral shift of the striae (where along the barrel's land this firing's scan window
        starts).
    land_offset_um
        Offset of the land's centre from the scan's centre.
    noise_um
        Standard deviation of the instrument's noise.
    radius_um
        Radius of the bullet (curvature across the land).
    shoulder_um
        Height of the groove shoulders above the land's arc.
    damaged_heel_um
        Length above the heel over which the land is damaged (random dents, ragged base edge).
    missing_fraction
        Fraction of points dropped at random (NaN).
    horizontal
        Render the striae horizontal (heel on the left), as some instruments store lands.
    """
    random = np.random.default_rng(seed)
    columns = round(scan_width_um / pixel_um)
    rows = round(scan_length_um / pixel_um)
    x_um = (np.arange(columns) - (columns - 1) / 2) * pixel_um
    centre = land_offset_um
    left, right = centre - land_width_um / 2, centre + land_width_um / 2
    arc = np.sqrt(radius_um**2 - (x_um - centre) ** 2) - radius_um
    # the striae at this firing: the barrel's profile read from ``shift_um`` on
    offset_px = round((shift_um + striae.size * pixel_um / 2 - scan_width_um / 2) / pixel_um)
    index = np.clip(np.arange(columns) + offset_px, 0, striae.size - 1)
    land = arc + striae[index]
    # shoulders: the surface climbs steeply onto the groove-engraved area beyond each edge
    outside = np.maximum(left - x_um, x_um - right)
    climb = np.clip(outside / 40.0, 0.0, 1.0) * shoulder_um
    profile = np.where(outside > 0, arc + climb, land)
    heights = np.repeat(profile[None, :], rows, axis=0)
    heights += random.normal(0.0, noise_um, heights.shape)
    # damage near the heel (bottom rows): dents and a ragged, partly unmeasured base edge
    damaged = round(damaged_heel_um / pixel_um)
    if damaged > 0:
        dents = ndimage.gaussian_filter(random.normal(size=(damaged, columns)), 6.0) * 60.0
        heights[-damaged:] += dents
        ragged = np.abs(ndimage.gaussian_filter1d(random.normal(size=columns), 20.0)) * 200
        edge = rows - np.clip(ragged, 0, damaged)
        below = np.arange(rows)[:, None] >= edge[None, :]
        heights[below] = np.nan
    heights[random.random(heights.shape) < missing_fraction] = np.nan
    groove_um = (left + scan_width_um / 2, right + scan_width_um / 2)
    if horizontal:
        # a quarter turn clockwise: the heel (bottom) goes to the left
        heights = np.rot90(heights, -1)
    surface = Surface(
        heights, pixel_um=pixel_um, modality=Modality.TOPOGRAPHY, source=f"synthetic-{seed}"
    )
    return SyntheticLand(surface=surface, groove_um=groove_um, shift_um=shift_um)

"""Raw 3D scans as lab scanners write them, and their processed counterparts.

A lab's scanner writes the whole primer and more, untouched: the primer domed or dished by the
firing pressure, the case tilted under the objective, spikes where the optics saw a glint,
drop-outs on steep or dark places, the firing pin's drag mark running out of the crater and the
aperture shear (primer metal sheared by the firing-pin hole's edge) beside it, at any grid spacing
from 1.5 to 10 µm. The research sets publish the same scans processed (breech-face annulus only,
levelled, band-passed, cropped; :func:`~ballistics.synthetic.render.render_processed_topography`).
:func:`render_raw_topography` renders the first, :func:`write_raw_and_processed` writes both of
every firing, with the ground truth, for ``benchmarks/raw_scans.py``.

Every artefact is drawn from the firing's own seed: the same :class:`FiredCasing` always gives
the same raw scan.

References
----------
.. [1] J. Zemmels, H. Hofmann and S. VanderPlas, "Zeroing in on automatic cartridge case
   comparisons: the cmcR package", The R Journal 14(4), 2023 (the processed research sets).
.. [2] T. V. Vorburger et al., "Surface topography analysis for a feasibility assessment of a
   National Ballistics Imaging Database", NISTIR 7362, 2007 (drop-outs and spikes of optical
   scanners on cartridge cases; firing-pin drag and aperture shear).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ballistics.surface import Surface
from ballistics.synthetic.dataset import make_casing_dataset
from ballistics.synthetic.fields import generator
from ballistics.synthetic.firing import FiredCasing
from ballistics.synthetic.render import (
    render_processed_topography,
    render_topography,
    scan_geometry,
)

#: Grid spacings of raw scans (µm per pixel): from high-magnification confocal to coarse
#: focus-variation scans.
RAW_PIXEL_UM_RANGE = (1.5, 10.0)
#: Largest grid a raw scan is rendered on (points); finer scans see a smaller field.
_MAX_RAW_POINTS = 12_000_000


@dataclass(frozen=True)
class RawArtefacts:
    """What a raw scan adds to the surface (the ground truth of :func:`render_raw_topography`).

    Parameters
    ----------
    pixel_um
        Grid spacing.
    field_of_view_um
        Side of the square view.
    tilt_deg
        Tilt of the case under the objective.
    dome_um
        Height of the primer's dome at its centre over its face's edge (negative: dished).
    spike_fraction
        Share of points replaced by spikes (tens to hundreds of µm off).
    dropout_fraction
        Share of points lost in clusters (besides steep walls).
    drag_length_um, drag_angle_deg
        Firing-pin drag: a trough running out of the crater this far, in this direction.
    shear_height_um, shear_angle_deg
        Aperture shear: a raised crescent beside the crater, this high, centred on this angle.
    """

    pixel_um: float
    field_of_view_um: float
    tilt_deg: float
    dome_um: float
    spike_fraction: float
    dropout_fraction: float
    drag_length_um: float
    drag_angle_deg: float
    shear_height_um: float
    shear_angle_deg: float


def draw_artefacts(fired: FiredCasing, *, pixel_um: float | None = None) -> RawArtefacts:
    """Draw a raw scan's artefacts from the firing's seed (pixel size log-uniform 1.5-10 µm)."""
    rng = generator("raw-scan", fired.seed, fired.firearm.identifier, fired.ammunition.brand)
    low, high = RAW_PIXEL_UM_RANGE
    drawn_pixel = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    pixel = drawn_pixel if pixel_um is None else float(pixel_um)
    # The whole primer and some of the case head, as much as the grid allows.
    wanted = float(rng.uniform(6500.0, 9000.0))
    field = min(wanted, pixel * np.sqrt(_MAX_RAW_POINTS))
    return RawArtefacts(
        pixel_um=pixel,
        field_of_view_um=field,
        tilt_deg=float(rng.uniform(0.2, 2.0)),
        dome_um=float(rng.choice([-1.0, 1.0]) * rng.uniform(2.0, 15.0)),
        spike_fraction=float(rng.uniform(1e-4, 1e-3)),
        dropout_fraction=float(rng.uniform(0.01, 0.08)),
        drag_length_um=float(rng.uniform(100.0, 400.0)),
        drag_angle_deg=float(rng.uniform(0.0, 360.0)),
        shear_height_um=float(rng.uniform(3.0, 12.0)),
        shear_angle_deg=float(rng.uniform(0.0, 360.0)),
    )


def render_raw_topography(fired: FiredCasing, *, artefacts: RawArtefacts | None = None) -> Surface:
    """Return a raw scan of ``fired``: the whole primer with the artefacts of a lab's scanner.

    Parameters
    ----------
    fired
        The fired case and how it lies under the scanner.
    artefacts
        What to add; :func:`draw_artefacts` of the firing when None.

    Returns
    -------
    Surface
        Heights in µm, NaN where not measured; ``metadata["synthetic"] == "raw-topography"``
        and the artefacts drawn under keys starting with ``synthetic_raw_``.
    """
    artefacts = draw_artefacts(fired) if artefacts is None else artefacts
    surface = render_topography(
        fired,
        pixel_um=artefacts.pixel_um,
        field_of_view_um=artefacts.field_of_view_um,
        dropout_fraction=artefacts.dropout_fraction,
        tilt_deg=artefacts.tilt_deg,
    )
    geometry = scan_geometry(
        fired, pixel_um=artefacts.pixel_um, field_of_view_um=artefacts.field_of_view_um
    )
    values = np.array(surface.values, dtype=np.float32)
    rows, columns = np.indices(values.shape, dtype=np.float32)
    pixel = np.float32(artefacts.pixel_um)
    # The primer's dome (or dish): a paraboloid over the primer cup.
    radius = geometry.radius_um()
    face = np.float32(geometry.primer_radius_um)
    inside = radius < face
    values[inside] += np.float32(artefacts.dome_um) * (1.0 - (radius[inside] / face) ** 2)
    # Firing-pin drag and aperture shear, about the crater.
    pin_y = np.asarray((rows - np.float32(geometry.firing_pin_centre_px[0])) * pixel)
    pin_x = np.asarray((columns - np.float32(geometry.firing_pin_centre_px[1])) * pixel)
    pin_radius = float(geometry.firing_pin_radius_um)
    values += _drag(pin_x, pin_y, pin_radius, artefacts)
    values += _shear(pin_x, pin_y, pin_radius, artefacts)
    # Spikes: isolated points far off the surface, both ways.
    rng = generator("raw-spikes", fired.seed, fired.firearm.identifier)
    spikes = rng.uniform(size=values.shape) < artefacts.spike_fraction
    values[spikes] += rng.choice(
        np.array([-1.0, 1.0], np.float32), int(spikes.sum())
    ) * rng.uniform(50.0, 300.0, int(spikes.sum())).astype(np.float32)
    metadata = dict(surface.metadata)
    metadata["synthetic"] = "raw-topography"
    for name, value in vars(artefacts).items():
        metadata[f"synthetic_raw_{name}"] = f"{value:.6g}"
    return Surface(
        values=values,
        pixel_um=artefacts.pixel_um,
        modality=surface.modality,
        source=surface.source,
        metadata=metadata,
    )


def _drag(x: np.ndarray, y: np.ndarray, pin_radius: float, artefacts: RawArtefacts) -> np.ndarray:
    """A trough as wide as the pin, running out of the crater along one direction."""
    angle = np.deg2rad(artefacts.drag_angle_deg)
    along = x * np.float32(np.cos(angle)) + y * np.float32(np.sin(angle))
    across = -x * np.float32(np.sin(angle)) + y * np.float32(np.cos(angle))
    reach = np.clip(along / np.float32(pin_radius + artefacts.drag_length_um), 0.0, 1.0)
    width = np.exp(-((across / np.float32(0.6 * pin_radius)) ** 2))
    depth = np.float32(8.0) * (1.0 - reach) * (along > 0)
    return (-depth * width).astype(np.float32)


def _shear(x: np.ndarray, y: np.ndarray, pin_radius: float, artefacts: RawArtefacts) -> np.ndarray:
    """A raised crescent just outside the crater, over about a third of its circumference."""
    distance = np.hypot(x, y)
    angle = np.arctan2(y, x) - np.deg2rad(artefacts.shear_angle_deg)
    around = np.cos(angle)
    ring = np.exp(-(((distance - np.float32(1.25 * pin_radius)) / np.float32(60.0)) ** 2))
    return (np.float32(artefacts.shear_height_um) * ring * np.clip(around, 0, 1) ** 3).astype(
        np.float32
    )


def write_raw_and_processed(
    folder: str | Path, *, pistols: int, firings: int, seed: int
) -> Iterator[dict[str, str]]:
    """Write every firing of a synthetic set as a raw X3P and a processed X3P; yield their rows.

    The pistols come in production runs of consecutively made slides and share brands (the hard
    known non-matches, as in :func:`~ballistics.synthetic.dataset.make_casing_dataset`). Each row:
    ``path`` (relative to ``folder``), ``firearm`` (same = known match), ``specimen`` (the
    firing: its raw and processed files share it), ``processing`` (``raw`` or ``processed``),
    ``pixel_um``. A ``manifest.csv`` with the rows is written beside the files.
    """
    from ballistics.io.x3p import write_x3p

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    records = make_casing_dataset(
        firearm_count=pistols,
        firings_per_firearm=firings,
        seed=seed,
        consecutive=True,
        modality=None,
    )
    rows: list[dict[str, str]] = []
    for record in records:
        for processing, surface in (
            ("raw", render_raw_topography(record.fired)),
            ("processed", render_processed_topography(record.fired)),
        ):
            path = f"{record.exhibit_id}-{processing}.x3p"
            write_x3p(surface, folder / path)
            rows.append(
                {
                    "path": path,
                    "firearm": record.firearm_id,
                    "specimen": record.exhibit_id,
                    "processing": processing,
                    "pixel_um": f"{surface.pixel_um:.4g}",
                }
            )
    with (folder / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["path"])
        writer.writeheader()
        writer.writerows(rows)
    yield from rows

"""Sets of synthetic exhibits with known ground truth, for tests, benchmarks and the demo."""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ballistics.surface import Modality, Surface
from ballistics.synthetic.ammunition import STANDARD_BRANDS, Ammunition, make_ammunition
from ballistics.synthetic.fields import stable_seed
from ballistics.synthetic.firearms import Firearm, make_consecutive_firearms, make_firearm
from ballistics.synthetic.firing import FiredCasing, fire
from ballistics.synthetic.render import (
    render_photograph,
    render_processed_topography,
    render_topography,
)

logger = logging.getLogger(__name__)

#: Relations between two exhibits, from the most to the least related.
PAIR_RELATIONS = ("same_firearm", "same_production_run", "same_brand", "unrelated")


@dataclass(frozen=True, eq=False)
class CasingExhibit:
    """One synthetic cartridge-case exhibit and its ground truth.

    Parameters
    ----------
    exhibit_id
        Unique name, ``f"{firearm_id}-{firing:02d}"``.
    fired
        The firing: firearm, ammunition, placement under the scanner (the ground truth).
    surface
        Its rendering, or None when the data set was built without one.
    """

    exhibit_id: str
    fired: FiredCasing
    surface: Surface | None = None

    @property
    def firearm(self) -> Firearm:
        """The pistol that fired it."""
        return self.fired.firearm

    @property
    def firearm_id(self) -> str:
        """Identifier of the pistol; equal identifiers are known matches."""
        return self.fired.firearm.identifier

    @property
    def production_run(self) -> str:
        """Production run of the pistol (consecutively made pistols share it)."""
        return self.fired.firearm.production_run

    @property
    def ammunition(self) -> Ammunition:
        """The cartridge brand."""
        return self.fired.ammunition

    @property
    def brand(self) -> str:
        """Brand of the cartridge."""
        return self.fired.ammunition.brand

    def render(
        self,
        modality: Modality | str = Modality.TOPOGRAPHY,
        *,
        processed: bool = False,
        **options: Any,
    ) -> Surface:
        """Return a rendering of this exhibit (see :func:`render_surface`)."""
        return render_surface(self.fired, modality, processed=processed, **options)


def render_surface(
    fired: FiredCasing,
    modality: Modality | str = Modality.TOPOGRAPHY,
    *,
    processed: bool = False,
    **options: Any,
) -> Surface:
    """Return a topography, processed topography or photograph of ``fired``."""
    modality = Modality(modality)
    if modality is Modality.PHOTOGRAPH:
        if processed:
            raise ValueError(
                "processed=True applies to topographies only; drop it for photographs."
            )
        return render_photograph(fired, **options)
    if processed:
        return render_processed_topography(fired, **options)
    return render_topography(fired, **options)


def make_casing_dataset(
    *,
    firearm_count: int,
    firings_per_firearm: int,
    seed: int,
    consecutive: bool = True,
    run_size: int = 3,
    brands: Sequence[str | Ammunition] = STANDARD_BRANDS,
    modality: Modality | str | None = Modality.TOPOGRAPHY,
    processed: bool = False,
    pixel_um: float | None = None,
    field_of_view_um: float | None = None,
) -> list[CasingExhibit]:
    """Return exhibits of ``firearm_count`` pistols fired ``firings_per_firearm`` times each.

    The known non-matches include the hard kinds: with ``consecutive`` the pistols come in
    production runs of ``run_size`` consecutively made slides (shared subclass marks), and every
    brand is fired by several pistols (shared headstamp and primer class), so that pairs of
    different pistols firing the same brand exist; known matches mix brands.

    Parameters
    ----------
    firearm_count
        Number of pistols (at least 1).
    firings_per_firearm
        Cases fired by each pistol (at least 1; 2 or more gives known matches).
    seed
        Seed of the whole set.
    consecutive
        Group pistols in production runs (True) or make every pistol its own run (False).
    run_size
        Pistols per production run when ``consecutive``.
    brands
        Brand names (see :func:`make_ammunition`) or :class:`Ammunition`; firing ``k`` of pistol
        ``i`` uses brand ``(i + k) % len(brands)``.
    modality
        Render every exhibit as this modality, or None to leave ``surface`` empty (render later
        with :meth:`CasingExhibit.render`).
    processed
        Render topographies as processed (Fadul-like) scans.
    pixel_um, field_of_view_um
        Rendering options (defaults of the render functions when None).

    Returns
    -------
    list of CasingExhibit
        Ordered by pistol, then firing.
    """
    if firearm_count < 1 or firings_per_firearm < 1:
        raise ValueError(
            f"firearm_count and firings_per_firearm must be at least 1, got {firearm_count!r} "
            f"and {firings_per_firearm!r}."
        )
    if run_size < 1:
        raise ValueError(f"run_size must be at least 1, got {run_size!r}.")
    if not brands:
        raise ValueError("brands must name at least one brand, e.g. ('WIN', 'FC').")
    ammunition = [
        brand if isinstance(brand, Ammunition) else make_ammunition(brand) for brand in brands
    ]
    firearms = _dataset_firearms(
        firearm_count, seed=seed, consecutive=consecutive, run_size=run_size
    )
    options = _render_options(
        pixel_um=pixel_um, field_of_view_um=field_of_view_um, processed=processed
    )
    records = []
    for firearm_index, firearm in enumerate(firearms):
        for firing in range(firings_per_firearm):
            fired = fire(
                firearm,
                ammunition[(firearm_index + firing) % len(ammunition)],
                seed=stable_seed("dataset-firing", seed, firearm.identifier, firing) % 2**31,
            )
            surface = (
                None
                if modality is None
                else render_surface(fired, modality, processed=processed, **options)
            )
            records.append(CasingExhibit(f"{firearm.identifier}-{firing + 1:02d}", fired, surface))
    logger.debug("made %d synthetic exhibits from %d pistols", len(records), len(firearms))
    return records


def _dataset_firearms(
    firearm_count: int, *, seed: int, consecutive: bool, run_size: int
) -> list[Firearm]:
    """Return the pistols of a data set: production runs of ``run_size``, or one run each."""
    if not consecutive:
        return [
            make_firearm(f"P{index:02d}", seed=stable_seed("dataset-firearm", seed, index) % 2**31)
            for index in range(1, firearm_count + 1)
        ]
    firearms: list[Firearm] = []
    run_index = 0
    while len(firearms) < firearm_count:
        count = min(run_size, firearm_count - len(firearms))
        run_index += 1
        firearms += make_consecutive_firearms(
            count,
            seed=stable_seed("dataset-run", seed, run_index) % 2**31,
            prefix=f"R{run_index}P",
            production_run=f"run-{seed}-{run_index}",
        )
    return firearms


def _render_options(
    *, pixel_um: float | None, field_of_view_um: float | None, processed: bool
) -> dict[str, object]:
    """Return the rendering options a data set passes on (the render functions' defaults if
    None)."""
    options: dict[str, object] = {}
    if pixel_um is not None:
        options["pixel_um"] = pixel_um
    if field_of_view_um is not None:
        if processed:
            raise ValueError(
                "processed scans are cropped to the primer face; drop field_of_view_um."
            )
        options["field_of_view_um"] = field_of_view_um
    return options


def pair_relation(first: CasingExhibit, second: CasingExhibit) -> str:
    """Return the closest relation of two exhibits, one of ``PAIR_RELATIONS``."""
    if first.firearm_id == second.firearm_id:
        return "same_firearm"
    if first.production_run == second.production_run:
        return "same_production_run"
    if first.brand == second.brand:
        return "same_brand"
    return "unrelated"


def known_pairs(
    records: Sequence[CasingExhibit],
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Return (matches, non_matches): index pairs ``(i, j)``, ``i < j``, of every pair of
    exhibits fired by the same pistol, and of every other pair."""
    matches: list[tuple[int, int]] = []
    non_matches: list[tuple[int, int]] = []
    for first in range(len(records)):
        for second in range(first + 1, len(records)):
            same = records[first].firearm_id == records[second].firearm_id
            (matches if same else non_matches).append((first, second))
    return matches, non_matches


def write_exhibit_files(
    records: Sequence[CasingExhibit],
    folder: str | Path,
    *,
    modality: Modality | str = Modality.TOPOGRAPHY,
    processed: bool = False,
    case_prefix: str = "SYN",
    agencies: Sequence[tuple[str, str]] = (("Synthetic Lab A", "NL"), ("Synthetic Lab B", "BE")),
) -> Path:
    """Write each exhibit as a file (X3P for topographies, PNG for photographs) and a manifest.

    Exhibits that already hold a surface of ``modality`` are written as they are; the others are
    rendered. Each exhibit gets its own case ``f"{case_prefix}-{i:04d}"``; agencies alternate.

    Returns
    -------
    Path
        ``folder / "manifest.csv"``: the ingest manifest (``path, exhibit_id, case_id, agency,
        country, kind, caliber, pixel_um``) plus the ground truth (``firearm``,
        ``production_run``, ``brand``, ``rotation_deg``, ``primer_centre_x_um``,
        ``primer_centre_y_um``).
    """
    modality = Modality(modality)
    # ballistics.io is optional at import time of this module: load writers when needed.
    write: Callable[[Surface, Path], Path]
    if modality is Modality.TOPOGRAPHY:
        from ballistics.io.x3p import write_x3p

        write = write_x3p
    else:
        from ballistics.io.images import write_png

        write = write_png
    if not agencies:
        raise ValueError("agencies must hold at least one (name, country) pair.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".x3p" if modality is Modality.TOPOGRAPHY else ".png"
    manifest = folder / "manifest.csv"
    columns = [
        "path",
        "exhibit_id",
        "case_id",
        "agency",
        "country",
        "kind",
        "caliber",
        "pixel_um",
        "firearm",
        "production_run",
        "brand",
        "rotation_deg",
        "primer_centre_x_um",
        "primer_centre_y_um",
    ]
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for index, record in enumerate(records):
            surface = record.surface
            if surface is None or surface.modality is not modality:
                surface = record.render(modality, processed=processed)
            path = folder / f"{record.exhibit_id}{suffix}"
            write(surface, path)
            agency, country = agencies[index % len(agencies)]
            writer.writerow(
                {
                    "path": path.name,
                    "exhibit_id": record.exhibit_id,
                    "case_id": f"{case_prefix}-{index + 1:04d}",
                    "agency": agency,
                    "country": country,
                    "kind": "cartridge_case",
                    "caliber": record.firearm.caliber,
                    "pixel_um": repr(surface.pixel_um),
                    "firearm": record.firearm_id,
                    "production_run": record.production_run,
                    "brand": record.brand,
                    "rotation_deg": repr(record.fired.rotation_deg),
                    "primer_centre_x_um": repr(record.fired.primer_centre_um[0]),
                    "primer_centre_y_um": repr(record.fired.primer_centre_um[1]),
                }
            )
    logger.info("wrote %d synthetic exhibits and %s", len(records), manifest)
    return manifest


__all__ = [
    "PAIR_RELATIONS",
    "CasingExhibit",
    "known_pairs",
    "make_casing_dataset",
    "pair_relation",
    "render_surface",
    "write_exhibit_files",
]

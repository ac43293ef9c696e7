"""Pixel size from the primer: how far the estimate lands from the truth.

The engine estimates a photograph's pixel size from the primer of its calibre when the file
carries none (:mod:`ballistics.casing.primer_scale`). This script hides the resolution of files
whose resolution is known and estimates it again: the real NBIDE photographs (their files say
2.53 µm per pixel), the real raw DFSC scans (3D, but the primer gap is the same ring; their
scanner's spacing is the truth), and synthetic photographs of every named condition
(``ballistics.synthetic.photo_conditions``: the generator knows the true pixel size). The
relative error reported is estimate / truth - 1; the engine searches scale within
``PrimerScaleConfig.relative_uncertainty`` of the estimate.

    python benchmarks/primer_scale.py
    python benchmarks/primer_scale.py --pistols 3 --no-real
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballistics.casing.primer_scale import PrimerScaleConfig, estimate_pixel_um
from ballistics.errors import EvidenceError
from ballistics.io import read_surface
from ballistics.synthetic import make_casing_dataset
from ballistics.synthetic.fields import generator
from ballistics.synthetic.photo_conditions import CONDITIONS, draw_conditions
from ballistics.synthetic.photographs import GENERATOR_VERSION, take_photograph
from benchmarks._common import DEFAULT_DATA_DIR, RESULTS_DIR, finish_run, format_table

TABLE_COLUMNS = (
    ("set", "set", "s"),
    ("files", "files", "d"),
    ("failed", "failed", "d"),
    ("median_error", "median error", "+.3f"),
    ("lowest_error", "lowest", "+.3f"),
    ("highest_error", "highest", "+.3f"),
    ("within_uncertainty", "within ±u", "d"),
)


def _estimate(surface: Any, *, truth_um: float, calibre: str) -> float | None:
    """Relative error of the estimate, or None when no primer ring is found."""
    try:
        estimate = estimate_pixel_um(surface, calibre=calibre)
    except EvidenceError as error:
        print(f"  {surface.source}: {error.problem}", file=sys.stderr)
        return None
    return estimate.pixel_um / truth_um - 1.0


def real_errors(data: Path) -> dict[str, list[float | None]]:
    """Errors on the real files whose resolution is known (9 mm Luger: small pistol primers)."""
    errors: dict[str, list[float | None]] = {}
    for path in sorted((data / "images_2d" / "nbide").glob("*.png")):
        surface = read_surface(path)
        errors.setdefault("real NBIDE photographs", []).append(
            _estimate(surface, truth_um=surface.pixel_um, calibre="9mm")
        )
    with (data / "labels.csv").open(encoding="utf-8") as handle:
        raw = [row for row in csv.DictReader(handle) if row["processing"] == "raw"]
    for row in raw:
        surface = read_surface(data / row["path"])
        errors.setdefault("real DFSC raw scans (3D)", []).append(
            _estimate(surface, truth_um=surface.pixel_um, calibre="9mm")
        )
    return errors


def synthetic_errors(pistols: int, *, seed: int) -> dict[str, list[float | None]]:
    """Errors on synthetic photographs, one row per named condition."""
    exhibits = make_casing_dataset(
        firearm_count=pistols, firings_per_firearm=1, seed=seed, consecutive=True, modality=None
    )
    errors: dict[str, list[float | None]] = {}
    with tempfile.TemporaryDirectory(prefix="primer-scale-") as scratch:
        for condition in CONDITIONS:
            for exhibit in exhibits:
                rng = generator("primer-scale", seed, condition, exhibit.exhibit_id)
                conditions = draw_conditions(
                    condition, rng, rotation_deg=exhibit.fired.rotation_deg
                )
                photograph = take_photograph(
                    exhibit.fired, conditions, seed=int(rng.integers(2**31))
                )
                path = Path(scratch) / f"{exhibit.exhibit_id}{photograph.suffix}"
                path.write_bytes(photograph.data)
                surface = read_surface(path, pixel_um=1.0)  # the estimate replaces it
                errors.setdefault(f"synthetic {condition}", []).append(
                    _estimate(
                        surface,
                        truth_um=photograph.true_pixel_um,
                        calibre=exhibit.fired.ammunition.caliber,
                    )
                )
    return errors


def summarise(name: str, errors: Sequence[float | None], uncertainty: float) -> dict[str, Any]:
    found = np.array([error for error in errors if error is not None])
    row: dict[str, Any] = {
        "set": name,
        "files": len(errors),
        "failed": len(errors) - found.size,
        "errors": [None if error is None else round(error, 4) for error in errors],
    }
    if found.size:
        row |= {
            "median_error": float(np.median(found)),
            "lowest_error": float(found.min()),
            "highest_error": float(found.max()),
            "within_uncertainty": int((np.abs(found) <= uncertainty).sum()),
        }
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pistols", type=int, default=6, help="synthetic pistols (1 firing)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--no-real", action="store_true", help="synthetic photographs only")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "primer_scale.json")
    arguments = parser.parse_args(argv)
    uncertainty = PrimerScaleConfig().relative_uncertainty
    errors: dict[str, list[float | None]] = {}
    notes = [f"generator {GENERATOR_VERSION}; reported uncertainty ±{uncertainty:g}"]
    if arguments.no_real:
        notes.append("real files left out (--no-real)")
    elif not arguments.data.is_dir():
        notes.append(f"real files skipped: {arguments.data} is absent")
    else:
        errors |= real_errors(arguments.data)
    errors |= synthetic_errors(arguments.pistols, seed=arguments.seed)
    rows = [summarise(name, values, uncertainty) for name, values in errors.items()]
    print(format_table(rows, TABLE_COLUMNS))
    finish_run(
        arguments.out,
        benchmark="primer_scale",
        arguments=vars(arguments) | {"generator_version": GENERATOR_VERSION},
        results=rows,
        notes=notes,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Quality feedback at upload: which photographs get which warning, per photograph condition.

Every pistol of a synthetic set fires a few cases; each case is photographed under each named
condition of ``ballistics.synthetic.photo_conditions`` (the baseline ``ring``; ``blur``: defocus
4-16 µm or motion 5-30 µm; ``exposure``: 0.5-2x, gamma, colour, vignetting; ``noise``; ``jpeg``;
``resolution``: 2-15 µm per pixel; ``oblique``; ``mixed``), its own draw of light and camera per
photograph. Each file is read back as intake reads it (bytes -> ``read_surface``) and assessed
with ``assess_photograph`` at its defaults. The real NBIDE pair (``../shared/data``) is assessed
too when present. A row gives, per condition, the share of photographs warned per code and the
share refused (nothing usable), and the median of each measure.

    python benchmarks/photo_quality.py                 # 8 pistols x 2 firings, a few minutes
    python benchmarks/photo_quality.py --pistols 4     # a quicker look
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballistics.casing.photo_quality import (
    DEFAULT_PHOTO_QUALITY_CONFIG,
    PhotoWarningCode,
    assess_photograph,
)
from ballistics.io import read_surface
from ballistics.parallel import available_cores
from ballistics.synthetic import CasingExhibit, make_casing_dataset
from ballistics.synthetic.fields import generator
from ballistics.synthetic.photo_conditions import CONDITIONS, draw_conditions
from ballistics.synthetic.photographs import GENERATOR_VERSION, take_photograph
from benchmarks._common import DEFAULT_DATA_DIR, RESULTS_DIR, finish_run, format_table

#: the conditions measured by default (the lit-differently one adds nothing on quality)
DEFAULT_CONDITIONS = (
    "ring",
    "blur",
    "exposure",
    "noise",
    "resolution",
    "jpeg",
    "oblique",
    "mixed",
)
NBIDE_FILES = ("NBIDE R BF 118.png", "NBIDE R BF 129.png")
CODES = tuple(str(code) for code in PhotoWarningCode)
TABLE_COLUMNS = (
    ("condition", "condition", "s"),
    ("photographs", "n", "d"),
    *((code, code, ".2f") for code in CODES),
    ("refused", "refused", ".2f"),
    ("any", "any", ".2f"),
    ("median_sharpness", "sharp", ".2f"),
    ("median_clipped_high", "clip hi", ".3f"),
    ("median_noise_share", "noise", ".2f"),
)


def _assess_task(task: tuple[CasingExhibit, str, int]) -> dict[str, Any]:
    """Photograph one exhibit under one condition, read the file back, assess it."""
    exhibit, condition, seed = task
    fired = exhibit.fired
    rng = generator("photo-quality", seed, condition, exhibit.exhibit_id)
    conditions = draw_conditions(condition, rng, rotation_deg=fired.rotation_deg)
    photograph = take_photograph(fired, conditions, seed=int(rng.integers(2**31)))
    name = f"{condition}/{exhibit.exhibit_id}{photograph.suffix}"
    surface = read_surface(photograph.data, pixel_um=photograph.recorded_pixel_um, name=name)
    camera = conditions.camera
    return {
        "condition": condition,
        "photograph": name,
        "camera": {
            "pixel_um": camera.pixel_um,
            "exposure": camera.exposure,
            "gamma": camera.gamma,
            "defocus_um": camera.defocus_um,
            "motion_um": camera.motion_um,
            "full_well": camera.full_well,
            "read_noise": camera.read_noise,
            "jpeg_quality": camera.jpeg_quality,
        },
        "lighting": conditions.lighting.kind,
        "elevation_deg": conditions.lighting.elevation_deg,
        "quality": assess_photograph(surface).as_json(),
    }


def _real_records(data_dir: Path) -> list[dict[str, Any]]:
    """The NBIDE photographs' records, or none when the data is absent."""
    records = []
    for file_name in NBIDE_FILES:
        path = data_dir / "images_2d" / "nbide" / file_name
        if not path.exists():
            print(f"  {path} not found: NBIDE left out", file=sys.stderr)
            continue
        quality = assess_photograph(read_surface(path))
        records.append(
            {"condition": "NBIDE (real)", "photograph": file_name} | {"quality": quality.as_json()}
        )
    return records


def summary_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per condition, in the records' order: share warned per code, share refused."""
    rows = []
    for condition in dict.fromkeys(record["condition"] for record in records):
        chosen = [record["quality"] for record in records if record["condition"] == condition]
        codes = [{warning["code"] for warning in quality["warnings"]} for quality in chosen]
        refused = [bool(quality["problem"]) for quality in chosen]
        row: dict[str, Any] = {"condition": condition, "photographs": len(chosen)}
        for code in CODES:
            row[code] = float(np.mean([code in found for found in codes]))
        row["refused"] = float(np.mean(refused))
        row["any"] = float(
            np.mean([bool(found) or gone for found, gone in zip(codes, refused, strict=True)])
        )
        for key, measure in (
            ("median_sharpness", "sharpness"),
            ("median_clipped_high", "clipped_high_share"),
            ("median_noise_share", "noise_share"),
        ):
            values = [quality[measure] for quality in chosen if quality[measure] is not None]
            row[key] = float(np.median(values)) if values else None
        rows.append(row)
    return rows


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--conditions",
        nargs="+",
        choices=CONDITIONS,
        default=list(DEFAULT_CONDITIONS),
        help="photograph conditions to measure",
    )
    parser.add_argument("--pistols", type=int, default=8, help="pistols, in runs of 3")
    parser.add_argument("--firings", type=int, default=2, help="cases fired per pistol")
    parser.add_argument(
        "--workers", type=int, default=available_cores(), help="processes (default: all cores)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="seed of pistols and photographs")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="real data folder")
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR / "photo_quality.json", help="JSON record"
    )
    arguments = parser.parse_args(argv)
    if arguments.workers < 1 or arguments.pistols < 1 or arguments.firings < 1:
        parser.error("need --workers, --pistols and --firings >= 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Photograph, assess, print the table and write the JSON record."""
    arguments = parse_arguments(argv)
    started = time.perf_counter()
    exhibits = make_casing_dataset(
        firearm_count=arguments.pistols,
        firings_per_firearm=arguments.firings,
        seed=arguments.seed,
        consecutive=True,
        modality=None,
    )
    tasks = [
        (exhibit, condition, arguments.seed)
        for condition in arguments.conditions
        for exhibit in exhibits
    ]
    if arguments.workers == 1:
        records = [_assess_task(task) for task in tasks]
    else:
        with ProcessPoolExecutor(arguments.workers) as pool:
            records = list(pool.map(_assess_task, tasks, chunksize=2))
    records += _real_records(arguments.data)
    rows = summary_rows(records)
    print(format_table(rows, TABLE_COLUMNS))
    config = DEFAULT_PHOTO_QUALITY_CONFIG
    finish_run(
        arguments.out,
        benchmark="photo_quality",
        arguments=vars(arguments)
        | {
            "generator_version": GENERATOR_VERSION,
            "config": {name: getattr(config, name) for name in config.__dataclass_fields__}
            | {"coarsest_pixel_um": config.coarsest_pixel_um},
            "elapsed_s": time.perf_counter() - started,
        },
        results=[*rows, {"photographs": records}],
        notes=[
            f"generator {GENERATOR_VERSION}; thresholds are PhotoQualityConfig's defaults",
            "a share is of the condition's photographs; 'any' counts a warning or a refusal",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

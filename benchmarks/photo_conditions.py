"""Photographs under other labs' lights and cameras: accuracy per condition, on held-out ones.

Every pistol of a synthetic set (production runs of consecutively made pistols, several pistols
per ammunition brand) fires a few cases; each case is photographed under each named condition of
``ballistics.synthetic.photo_conditions`` (ring lights of 4-12 segments, one oblique light, exposure
and colour, sensor noise, JPEG, blur, resolution from 2 to 15 µm, a pixel size estimated to ±8 %,
everything at once, and an oblique light fixed while the case turns). Each photograph gets its own
draw of the condition's light and camera, so two photographs of a pair differ as two labs' would.
Pairs are formed within a condition and go through the path a lab's file takes (file bytes ->
``read_surface`` -> ``prepare_casing`` -> ``compare_casings``) with the engine's defaults.

The decision threshold is the engine's ``photograph_lead_threshold``, read before the run and
recorded. A photograph of the ``estimated_resolution`` condition (and of ``mixed`` when it
draws one) is compared as a lab without a measured pixel size would send it: no resolution,
only the calibre, from whose primer the engine estimates it and then searches scale
(:mod:`ballistics.casing.primer_scale`). With ``--held-out`` only the named conditions are
photographed and reported: the conditions a method was tuned on are left out of the figures.
The pooled row sums the lit-alike conditions reported (the targets apply to them);
``oblique_fixed_light`` (pairs lit from different sides) is reported without a target.

    python benchmarks/photo_conditions.py --quick                 # a look in a few minutes
    python benchmarks/photo_conditions.py                         # >= 3,000 known non-matches
    python benchmarks/photo_conditions.py --held-out jpeg blur oblique
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.pairs import compare_pairs
from ballistics.casing.compare import DEFAULT_COMPARE_CONFIG
from ballistics.items import Item, Pair
from ballistics.parallel import available_cores
from ballistics.synthetic import CasingExhibit, make_casing_dataset, pair_relation
from ballistics.synthetic.fields import generator
from ballistics.synthetic.photo_conditions import CONDITIONS, LIT_ALIKE, draw_conditions
from ballistics.synthetic.photographs import GENERATOR_VERSION, take_photograph
from benchmarks._common import (
    RESULTS_DIR,
    decision_rates,
    equal_error_rate,
    finish_run,
    format_table,
    roc_auc,
)

POOLED = "pooled lit alike"
#: Known non-matches the lit-alike conditions of a full run hold together (a false-positive
#: rate of 1 in 1,000 needs them).
MIN_NON_MATCHES = 3000
TABLE_COLUMNS = (
    ("condition", "condition", "s"),
    ("known_matches", "KM", "d"),
    ("known_non_matches", "KNM", "d"),
    ("failed", "failed", "d"),
    ("auc", "AUC", ".3f"),
    ("true_positive_rate", "TPR", ".3f"),
    ("false_positive_rate", "FPR", ".4f"),
    ("equal_error_rate", "EER", ".3f"),
    ("lowest_match_score", "low KM", ".1f"),
    ("highest_non_match_score", "high KNM", ".1f"),
)


def _photograph_task(task: tuple[CasingExhibit, str, int, Path]) -> dict[str, Any]:
    """Photograph one exhibit under one condition, write the file, return its record."""
    exhibit, condition, seed, folder = task
    fired = exhibit.fired
    rng = generator("photo-conditions", seed, condition, exhibit.exhibit_id)
    conditions = draw_conditions(condition, rng, rotation_deg=fired.rotation_deg)
    photograph = take_photograph(fired, conditions, seed=int(rng.integers(2**31)))
    path = folder / condition / f"{exhibit.exhibit_id}{photograph.suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(photograph.data)
    camera = conditions.camera
    return {
        "path": path,
        "recorded_pixel_um": photograph.recorded_pixel_um,
        "true_pixel_um": photograph.true_pixel_um,
        # a pixel size the lab would have had to estimate: the engine estimates it instead,
        # from the primer of the calibre (the file carries none)
        "estimated": camera.pixel_um_error != 0.0,
        "caliber": fired.ammunition.caliber,
        "lighting": conditions.lighting.kind,
        "segments": conditions.lighting.segments,
        "elevation_deg": conditions.lighting.elevation_deg,
        "jpeg_quality": camera.jpeg_quality,
        "bytes": len(photograph.data),
    }


def photograph_all(
    exhibits: Sequence[CasingExhibit],
    conditions: Sequence[str],
    *,
    seed: int,
    folder: Path,
    workers: int,
) -> dict[str, list[dict[str, Any]]]:
    """Return, per condition, one record per exhibit (in order), its file written."""
    tasks = [(exhibit, name, seed, folder) for name in conditions for exhibit in exhibits]
    if workers == 1:
        records = [_photograph_task(task) for task in tasks]
    else:
        with ProcessPoolExecutor(workers) as pool:
            records = list(pool.map(_photograph_task, tasks, chunksize=4))
    by_condition: dict[str, list[dict[str, Any]]] = {name: [] for name in conditions}
    for (_, name, _, _), record in zip(tasks, records, strict=True):
        by_condition[name].append(record)
    return by_condition


def metrics(name: str, scores: np.ndarray, labels: np.ndarray, leads: np.ndarray) -> dict[str, Any]:
    """Return a row: pair counts, AUC, rates at the engine's decision, extremes."""
    row: dict[str, Any] = {
        "condition": name,
        "known_matches": int(labels.sum()),
        "known_non_matches": int((~labels).sum()),
    }
    if labels.any() and not labels.all():
        true_positive, false_positive = decision_rates(leads, labels)
        row |= {
            "auc": roc_auc(scores, labels),
            "equal_error_rate": equal_error_rate(scores, labels),
            "true_positive_rate": true_positive,
            "false_positive_rate": false_positive,
            "lowest_match_score": float(scores[labels].min()),
            "highest_non_match_score": float(scores[~labels].max()),
        }
    return row


def measure(
    exhibits: Sequence[CasingExhibit],
    photographs: dict[str, list[dict[str, Any]]],
    *,
    workers: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Compare every pair within each condition; return (rows, every pair's record)."""
    pairs: list[Pair] = []
    keys: list[tuple[str, int, int]] = []
    for name, records in photographs.items():
        items = [
            Item(
                record["path"],
                pixel_um=None if record["estimated"] else record["recorded_pixel_um"],
                caliber=record["caliber"],
            )
            for record in records
        ]
        for first, second in itertools.combinations(range(len(items)), 2):
            pairs.append(
                Pair(
                    f"{name}/{exhibits[first].exhibit_id}",
                    f"{name}/{exhibits[second].exhibit_id}",
                    items[first],
                    items[second],
                )
            )
            keys.append((name, first, second))
    run = compare_pairs(pairs, workers=workers, progress=_progress)
    pair_records = []
    failed: dict[str, int] = dict.fromkeys(photographs, 0)
    for (name, first, second), result in zip(keys, run.results, strict=True):
        if "error" in result:
            failed[name] += 1
            print(f"  {name}: {result['error']}", file=sys.stderr)
            continue
        pair_records.append(
            {
                "condition": name,
                "a": exhibits[first].exhibit_id,
                "b": exhibits[second].exhibit_id,
                "relation": pair_relation(exhibits[first], exhibits[second]),
                "score": result["score"],
                "lead": bool(result["lead"]),
                "cmc_count": result.get("cmc_count"),
                "correlation": result.get("correlation"),
            }
        )
    rows = []
    groups = [(name, [name]) for name in photographs]
    alike = [name for name in photographs if name in LIT_ALIKE]
    if len(alike) > 1:
        groups.append((POOLED, alike))
    for label, names in groups:
        chosen = [record for record in pair_records if record["condition"] in names]
        labels = np.array([record["relation"] == "same_firearm" for record in chosen])
        scores = np.array([record["score"] for record in chosen], dtype=np.float64)
        leads = np.array([record["lead"] for record in chosen], dtype=bool)
        row = metrics(label, scores, labels, leads)
        row["failed"] = sum(failed[name] for name in names)
        row["non_matches_by_relation"] = _by_relation(chosen)
        rows.append(row)
    return rows, pair_records


def _progress(stage: str, done: int, total: int) -> None:
    """Say how far the run is, every 250 tasks."""
    if done % 250 == 0 or done == total:
        print(f"  {stage}: {done} / {total}", file=sys.stderr, flush=True)


def _by_relation(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """How the hard known non-matches fare: consecutively made pistols, shared ammunition."""
    by_relation: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["relation"] == "same_firearm":
            continue
        entry = by_relation.setdefault(
            record["relation"], {"pairs": 0, "false_positives": 0, "highest_score": 0.0}
        )
        entry["pairs"] += 1
        entry["false_positives"] += int(record["lead"])
        entry["highest_score"] = max(entry["highest_score"], record["score"])
    return by_relation


def pistols_needed(conditions: Sequence[str], firings: int, *, least: int = 9) -> int:
    """Return the fewest pistols (at least ``least``) whose photographs give the lit-alike
    conditions among ``conditions`` :data:`MIN_NON_MATCHES` known non-matches in all."""
    counted = sum(name in LIT_ALIKE for name in conditions) or len(conditions)
    pistols = least
    while True:
        photographs = pistols * firings
        matches = pistols * firings * (firings - 1) // 2
        if counted * (photographs * (photographs - 1) // 2 - matches) >= MIN_NON_MATCHES:
            return pistols
        pistols += 1


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--held-out",
        nargs="+",
        choices=CONDITIONS,
        default=None,
        help="photograph and report only these conditions (default: every condition)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="6 pistols x 2 firings (development; few pairs)"
    )
    parser.add_argument(
        "--pistols",
        type=int,
        default=None,
        help="pistols, in runs of 3 (default: the fewest, at least 9, that give the lit-alike "
        f"conditions reported {MIN_NON_MATCHES} known non-matches together)",
    )
    parser.add_argument("--firings", type=int, default=3, help="cases fired per pistol")
    parser.add_argument(
        "--workers", type=int, default=available_cores(), help="processes (default: all cores)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="seed of pistols and photographs")
    parser.add_argument("--out", type=Path, default=None, help="JSON record")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.pistols, arguments.firings = 6, 2
    elif arguments.pistols is None:
        arguments.pistols = pistols_needed(arguments.held_out or CONDITIONS, arguments.firings)
    if arguments.workers < 1 or arguments.pistols < 2 or arguments.firings < 2:
        parser.error("need --workers >= 1, --pistols >= 2 and --firings >= 2")
    if arguments.out is None:
        suffix = "_quick" if arguments.quick else ""
        arguments.out = RESULTS_DIR / f"photo_conditions{suffix}.json"
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Photograph, compare, print the table and write the JSON record."""
    arguments = parse_arguments(argv)
    # fixed before any photograph is taken
    threshold = DEFAULT_COMPARE_CONFIG.photograph_lead_threshold
    conditions = list(arguments.held_out or CONDITIONS)
    started = time.perf_counter()
    exhibits = make_casing_dataset(
        firearm_count=arguments.pistols,
        firings_per_firearm=arguments.firings,
        seed=arguments.seed,
        consecutive=True,
        modality=None,
    )
    with tempfile.TemporaryDirectory(prefix="photo-conditions-") as scratch:
        photographs = photograph_all(
            exhibits,
            conditions,
            seed=arguments.seed,
            folder=Path(scratch),
            workers=arguments.workers,
        )
        photographed = time.perf_counter()
        print(f"photographed in {photographed - started:.0f} s", file=sys.stderr, flush=True)
        rows, pair_records = measure(exhibits, photographs, workers=arguments.workers)
    finished = time.perf_counter()
    print(format_table(rows, TABLE_COLUMNS))
    photo_summary = {
        name: [{k: v for k, v in record.items() if k != "path"} for record in records]
        for name, records in photographs.items()
    }
    finish_run(
        arguments.out,
        benchmark="photo_conditions",
        arguments=vars(arguments)
        | {
            "generator_version": GENERATOR_VERSION,
            "photograph_lead_threshold": threshold,
            "conditions": conditions,
            "photograph_s": photographed - started,
            "compare_s": finished - photographed,
        },
        results=[*rows, {"photographs": photo_summary, "pair_scores": pair_records}],
        notes=[
            f"generator {GENERATOR_VERSION}; threshold {threshold:g} (photograph_lead_threshold)",
            "targets apply to lit-alike conditions; oblique_fixed_light has none",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

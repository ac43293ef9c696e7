"""Accuracy and speed of bullet comparison on the Hamby scans: lands, bullets, retrieval, speed.

Every land scan goes through the path a lab's file takes (file -> ``read_surface`` ->
``prepare_land``), once, kept in memory; then every pair is compared with the engine's default
settings. Prints one table per level and writes the arguments, hardware and results as JSON.

    python benchmarks/bullet_accuracy.py [--workers N] [--output PATH]

(default output: ``benchmarks/results/bullet_accuracy.json``)

Sets (truth from ``labels.csv``: same ``land_key`` = engraved by the same land of a barrel)
-----------------------------------------------------------------------------------------------
hamby252
    The 11 lands of Hamby 252 (barrel 1 bullets 1 and 2, one barrel-2 land), every pair:
    official key, 4 known-match land pairs; one known-match bullet pair (phase 2).
hamby44-barrel1
    Hamby 44 barrel 1, bullets 1 and 2, six lands each, every land of one bullet against every
    land of the other: official key, 6 known-match land pairs; bullet pair at phase 4.
hamby44-questioned
    Land 1 of 15 questioned Hamby 44 bullets against the barrel-1 lands and against each other.
    Their barrel and land were inferred by another algorithm: weak labels, reported apart.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballistics.bullet import (
    DEFAULT_BULLET_CONFIG,
    PreparedBullet,
    PreparedLand,
    bullet_descriptor,
    compare_bullets,
    compare_lands,
    land_descriptor,
    prepare_land,
)
from benchmarks._common import DEFAULT_DATA_DIR, RESULTS_DIR, finish_run, format_table, roc_auc

LAND_COLUMNS = (
    ("set", "set", "s"),
    ("labels", "labels", "s"),
    ("pairs", "pairs", "d"),
    ("known_matches", "KM", "d"),
    ("known_non_matches", "KNM", "d"),
    ("auc", "AUC", ".3f"),
    ("lowest_match_score", "lowest KM", ".3f"),
    ("highest_non_match_score", "highest KNM", ".3f"),
    ("true_positive_rate", "TPR@thr", ".3f"),
    ("false_positive_rate", "FPR@thr", ".3f"),
)
BULLET_COLUMNS = (
    ("pair", "bullet pair", "s"),
    ("truth", "truth", "s"),
    ("lands", "lands", "s"),
    ("score", "score", ".3f"),
    ("best_other_phase", "next phase", ".3f"),
    ("lead", "lead", "s"),
    ("phase", "phase", "d"),
    ("expected_phase", "expected", "s"),
)
RETRIEVAL_COLUMNS = (
    ("set", "set", "s"),
    ("queries", "queries", "d"),
    ("candidates", "candidates", "d"),
    ("recall_at_1", "R@1", ".3f"),
    ("recall_at_5", "R@5", ".3f"),
    ("worst_rank", "worst rank", "d"),
)
SPEED_COLUMNS = (
    ("lands", "lands", "d"),
    ("prepare_median_s", "prep s/land", ".3f"),
    ("prepare_p95_s", "prep p95 s", ".3f"),
    ("comparisons", "comparisons", "d"),
    ("comparisons_per_core_s", "land cmp/s/core", ".0f"),
    ("comparisons_per_cpu_s", "land cmp/cpu-s", ".0f"),
)


def load_rows(data_dir: Path) -> list[dict[str, str]]:
    """Return the ``labels.csv`` rows of bullet lands whose file exists."""
    with (data_dir / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["kind"] == "bullet_land"]
    return [row for row in rows if (data_dir / row["path"]).is_file()]


def _prepare_one(path: str) -> tuple[PreparedLand, float]:
    """Read and prepare one land; return it with the seconds it took (run in a worker)."""
    from ballistics.io import read_surface

    started = time.perf_counter()
    land = prepare_land(read_surface(path))
    return land, time.perf_counter() - started


def prepare_all(
    data_dir: Path, rows: Sequence[dict[str, str]], *, workers: int
) -> tuple[dict[str, PreparedLand], list[float]]:
    """Prepare every land once (in memory only); return them by path and the seconds per land."""
    paths = [str(data_dir / row["path"]) for row in rows]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_prepare_one, paths))
    else:
        results = [_prepare_one(path) for path in paths]
    lands = {row["path"]: land for row, (land, _) in zip(rows, results, strict=True)}
    return lands, [seconds for _, seconds in results]


def land_row(
    name: str, labels: str, pairs: list[tuple[str, str]], lands, keys
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Compare the pairs and return the set's metrics row and every pair's numbers."""
    threshold = DEFAULT_BULLET_CONFIG.lead_threshold
    scored = []
    for a, b in pairs:
        comparison = compare_lands(lands[a], lands[b])
        scored.append(
            {
                "a": a,
                "b": b,
                "known_match": keys[a] == keys[b],
                "score": comparison.score,
                "lag_um": comparison.lag_um,
                "consecutive_matching_striae": comparison.consecutive_matching_striae,
                "matching_striae": comparison.matching_striae,
                "distance_um": comparison.distance_um,
            }
        )
    scores = np.array([pair["score"] for pair in scored])
    truth = np.array([pair["known_match"] for pair in scored])
    row: dict[str, Any] = {
        "set": name,
        "labels": labels,
        "pairs": len(scored),
        "known_matches": int(truth.sum()),
        "known_non_matches": int((~truth).sum()),
    }
    if truth.any() and not truth.all():
        row |= {
            "auc": roc_auc(scores, truth),
            "lowest_match_score": float(scores[truth].min()),
            "highest_non_match_score": float(scores[~truth].max()),
            "non_match_p95_score": float(np.percentile(scores[~truth], 95)),
            "true_positive_rate": float((scores[truth] >= threshold).mean()),
            "false_positive_rate": float((scores[~truth] >= threshold).mean()),
        }
    return row, scored


def bullet_of(rows, lands, specimen: str, *, drop_land: int | None = None) -> PreparedBullet:
    """Return the prepared bullet ``specimen`` (lands by their number), without ``drop_land``."""
    chosen = sorted(
        (int(row["land"]), lands[row["path"]])
        for row in rows
        if row["specimen"] == specimen and int(row["land"]) != drop_land
    )
    return PreparedBullet(tuple(land for _, land in chosen), tuple(n for n, _ in chosen), specimen)


def bullet_row(
    name: str, first: PreparedBullet, second: PreparedBullet, *, truth: str, expected: int | None
) -> dict[str, Any]:
    """Compare two bullets and return their row."""
    comparison = compare_bullets(first, second)
    others = np.delete(comparison.phase_scores, comparison.phase)
    return {
        "pair": name,
        "truth": truth,
        "lands": f"{len(first.lands)}x{len(second.lands)}",
        "score": comparison.score,
        "best_other_phase": float(np.nanmax(others)) if np.isfinite(others).any() else None,
        "lead": str(comparison.lead),
        "phase": comparison.phase,
        "expected_phase": "-" if expected is None else str(expected),
        "phase_right": None if expected is None else comparison.phase == expected,
        "phase_scores": comparison.phase_scores.tolist(),
    }


def retrieval_row(name: str, paths: list[str], lands, keys) -> dict[str, Any]:
    """Rank every land's known mates by descriptor similarity; return recall at 1 and 5."""
    vectors = np.stack([land_descriptor(lands[path]) for path in paths])
    similarity = vectors @ vectors.T
    ranks = []
    for i, path in enumerate(paths):
        order = [j for j in np.argsort(-similarity[i], kind="stable") if j != i]
        mates = [rank for rank, j in enumerate(order, 1) if keys[paths[j]] == keys[path]]
        if mates:
            ranks.append(mates[0])
    values = np.array(ranks)
    return {
        "set": name,
        "queries": len(ranks),
        "candidates": len(paths) - 1,
        "recall_at_1": float((values <= 1).mean()) if ranks else None,
        "recall_at_5": float((values <= 5).mean()) if ranks else None,
        "worst_rank": int(values.max()) if ranks else None,
    }


def speed_row(lands: dict[str, PreparedLand], prepare_s: list[float]) -> dict[str, Any]:
    """Time land comparisons on one core for at least two seconds; return the speed row."""
    items = list(lands.values())
    pairs = list(itertools.combinations(range(len(items)), 2))
    count, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < 2.0:
        for i, j in pairs:
            compare_lands(items[i], items[j])
        count += len(pairs)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "lands": len(items),
        "prepare_median_s": float(np.median(prepare_s)),
        "prepare_p95_s": float(np.percentile(prepare_s, 95)),
        "comparisons": count,
        "comparisons_per_core_s": count / wall,
        "comparisons_per_cpu_s": count / cpu if cpu > 0 else None,
    }


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser.add_argument(
        "--workers", type=int, default=cores or 1, help="processes preparing lands (default: all)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared real scans"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS_DIR / "bullet_accuracy.json",
        help="JSON record",
    )
    arguments = parser.parse_args(argv)
    if arguments.workers < 1:
        parser.error("--workers must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the Hamby sets, print the tables and write the JSON record."""
    arguments = parse_arguments(argv)
    data_dir: Path = arguments.data_dir
    if not (data_dir / "labels.csv").is_file():
        print(f"no labels.csv in {data_dir}: nothing to measure", file=sys.stderr)
        return 2
    rows = load_rows(data_dir)
    started = time.perf_counter()
    lands, prepare_s = prepare_all(data_dir, rows, workers=arguments.workers)
    print(f"prepared {len(lands)} lands in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    keys = {row["path"]: row["land_key"] for row in rows}
    specimen = {row["path"]: row["specimen"] for row in rows}

    h252 = [row["path"] for row in rows if row["set"] == "hamby252"]
    barrel1 = [row["path"] for row in rows if "/Barrel 1/" in row["path"]]
    questioned = [row["path"] for row in rows if "/One-of-all/" in row["path"]]
    land_sets = [
        ("hamby252", "official", list(itertools.combinations(h252, 2))),
        (
            "hamby44-barrel1",
            "official",
            [(a, b) for a, b in itertools.combinations(barrel1, 2) if specimen[a] != specimen[b]],
        ),
        (
            "hamby44-questioned",
            "weak",
            [(q, b) for q in questioned for b in barrel1]
            + list(itertools.combinations(questioned, 2)),
        ),
    ]
    land_rows, pair_scores = [], {}
    for name, labels, pairs in land_sets:
        if not pairs:
            continue
        row, scored = land_row(name, labels, pairs, lands, keys)
        land_rows.append(row)
        pair_scores[name] = scored

    bullet_rows = [
        bullet_row(
            "h252 B1-1 x B1-2",
            bullet_of(rows, lands, "h252-B1-1"),
            bullet_of(rows, lands, "h252-B1-2"),
            truth="KM",
            expected=2,
        ),
        bullet_row(
            "h252 B1-1 x B2-1",
            bullet_of(rows, lands, "h252-B1-1"),
            bullet_of(rows, lands, "h252-B2-1"),
            truth="KNM",
            expected=None,
        ),
        bullet_row(
            "h252 B1-2 x B2-1",
            bullet_of(rows, lands, "h252-B1-2"),
            bullet_of(rows, lands, "h252-B2-1"),
            truth="KNM",
            expected=None,
        ),
        bullet_row(
            "h44 B1-1 x B1-2",
            bullet_of(rows, lands, "h44-B1-1"),
            bullet_of(rows, lands, "h44-B1-2"),
            truth="KM",
            expected=4,
        ),
    ]
    for removed in range(1, 7):
        bullet_rows.append(
            bullet_row(
                f"h44 B1-1 x B1-2 without B1-2 land {removed}",
                bullet_of(rows, lands, "h44-B1-1"),
                bullet_of(rows, lands, "h44-B1-2", drop_land=removed),
                truth="KM",
                expected=4,
            )
        )
    firearm = {row["specimen"]: row["firearm"] for row in rows}
    for path in questioned:
        for known in ("h44-B1-1", "h44-B1-2"):
            question = bullet_of(rows, lands, specimen[path])
            truth = "KM (weak)" if firearm[specimen[path]] == firearm[known] else "KNM (weak)"
            bullet_rows.append(
                bullet_row(
                    f"h44 {specimen[path]} x {known}",
                    question,
                    bullet_of(rows, lands, known),
                    truth=truth,
                    expected=None,
                )
            )
    bullet_level_vectors = {
        name: bullet_descriptor(bullet_of(rows, lands, name).lands)
        for name in ("h44-B1-1", "h44-B1-2", "h252-B1-1", "h252-B1-2")
    }
    retrieval_rows = [
        retrieval_row("hamby252", h252, lands, keys),
        retrieval_row("hamby44 (barrel 1 + questioned)", barrel1 + questioned, lands, keys),
    ]
    speed = speed_row(lands, prepare_s)

    official = [row for row in bullet_rows if "weak" not in row["truth"]]
    weak = [row for row in bullet_rows if "weak" in row["truth"]]
    weak_summary = {
        "pair": f"{len(weak)} questioned x barrel-1 bullets",
        "truth": "weak",
        "known_matches": sum(row["truth"].startswith("KM") for row in weak),
        "called_lead": sum(row["lead"] == "True" for row in weak),
        "false_lead": sum(row["lead"] == "True" and row["truth"].startswith("KNM") for row in weak),
        "missed_matches": sum(
            row["lead"] == "False" and row["truth"].startswith("KM") for row in weak
        ),
        "highest_non_match_score": max(
            (row["score"] for row in weak if row["truth"].startswith("KNM")), default=None
        ),
    }
    print(
        "\nLand level (score = aligned cross-correlation; threshold "
        f"{DEFAULT_BULLET_CONFIG.lead_threshold})"
    )
    print(format_table(land_rows, LAND_COLUMNS))
    print("\nBullet level (official keys)")
    print(format_table(official, BULLET_COLUMNS))
    print("\nBullet level, Hamby 44 questioned single lands (weak labels)")
    print(
        format_table(
            [weak_summary],
            (
                ("pair", "pairs", "s"),
                ("known_matches", "KM", "d"),
                ("called_lead", "lead", "d"),
                ("false_lead", "false lead", "d"),
                ("missed_matches", "missed KM", "d"),
                ("highest_non_match_score", "highest KNM", ".3f"),
            ),
        )
    )
    print("\nRetrieval (land descriptor, cosine; first known mate's rank)")
    print(format_table(retrieval_rows, RETRIEVAL_COLUMNS))
    print("\nSpeed (one core)")
    print(format_table([speed], SPEED_COLUMNS))
    similarity = {
        "h44 B1-1 x B1-2": float(
            bullet_level_vectors["h44-B1-1"] @ bullet_level_vectors["h44-B1-2"]
        ),
        "h252 B1-1 x B1-2": float(
            bullet_level_vectors["h252-B1-1"] @ bullet_level_vectors["h252-B1-2"]
        ),
        "h44 B1-1 x h252 B1-1": float(
            bullet_level_vectors["h44-B1-1"] @ bullet_level_vectors["h252-B1-1"]
        ),
    }
    results = [
        {"level": "land", "rows": land_rows, "pair_scores": pair_scores},
        {"level": "bullet", "rows": official, "weak_rows": weak, "weak_summary": weak_summary},
        {"level": "retrieval", "rows": retrieval_rows, "bullet_vector_similarity": similarity},
        {"level": "speed", "rows": [speed]},
    ]
    finish_run(
        arguments.output,
        benchmark="bullet_accuracy",
        arguments=vars(arguments),
        results=results,
        notes=[
            "hamby44-questioned: barrel and land of the questioned bullets were inferred by "
            "another algorithm (weak labels); labels.csv flags E, H, I and L",
            "land comparisons are timed on one core over every pair of the prepared lands, "
            "repeated for at least 2 s",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy and speed of bullet comparison: real Hamby sets and synthetic makes never fitted on.

The land model (a random forest over the striation features) and the bullet threshold are
fitted on synthetic bullets only (``ballistics/bullet/land_training.csv``); every figure below is
measured on data they never saw: the real Hamby 252 and Hamby 44 scans, and synthetic makes
with other land counts, widths and resolutions than the training makes. Every land goes through
the path a lab's scan takes (``prepare_land``), once, kept in memory.

    python benchmarks/bullet_accuracy.py [--workers N] [--output PATH] [--quick]
    python benchmarks/bullet_accuracy.py --write-training-table   # refit the shipped model

(default output: ``benchmarks/results/bullet_accuracy.json``)

Real sets (truth from ``labels.csv``: same ``land_key`` = engraved by the same land)
------------------------------------------------------------------------------------
hamby252
    11 lands (barrel 1 bullets 1 and 2, one barrel-2 land), every pair: 4 known-match land
    pairs; bullets: 1 known-match pair (phase 2), 2 known non-matches.
hamby44-barrel1
    Barrel 1 bullets 1 and 2, every land of one against every land of the other: 6 known-match
    land pairs; 1 known-match bullet pair (phase 4), also with each land of bullet 2 removed.
hamby44-questioned
    Land 1 of 15 questioned bullets against the barrel-1 lands and each other: weak labels
    (inferred by another algorithm), reported apart.

Synthetic sets (``ballistics.synthetic.bullets``, version recorded)
-------------------------------------------------------------------
training
    5 or 6 lands, 1.5-2.2 mm wide, scanned at 1.0-2.0 µm: the model's training table.
unseen-narrow-fine, unseen-wide-coarse
    4 or 8 lands 0.9-1.4 mm wide scanned at 0.6-1.0 µm; 7 lands 2.25-2.6 mm wide at 2.0-3.0 µm.
    Every bullet pair; then again with one land of each bullet missing.
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
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballistics.bullet import (
    DEFAULT_BULLET_CONFIG,
    PreparedBullet,
    PreparedLand,
    compare_bullets,
    compare_lands,
    land_descriptor,
    prepare_land,
)
from ballistics.bullet.compare import land_score_matrix
from ballistics.bullet.features import FEATURE_NAMES, fixed_spacing, land_features
from ballistics.bullet.model import (
    LAND_MODEL_VERSION,
    TRAINING_TABLE,
    fit_land_model,
    write_training_table,
)
from ballistics.errors import EvidenceError
from ballistics.synthetic.bullets import (
    DEFAULT_GENERATOR_SETTINGS,
    SYNTHETIC_BULLETS_VERSION,
    PlannedBullet,
    fire_planned,
    make_bullet_set,
)
from benchmarks._common import DEFAULT_DATA_DIR, RESULTS_DIR, finish_run, format_table, roc_auc

TRAINING_SETTINGS = replace(
    DEFAULT_GENERATOR_SETTINGS,
    land_counts=(5, 6),
    land_width_um=(1500.0, 2200.0),
    pixel_um=(1.0, 2.0),
)
UNSEEN_SETTINGS = {
    "unseen-narrow-fine": replace(
        DEFAULT_GENERATOR_SETTINGS,
        land_counts=(4, 8),
        land_width_um=(900.0, 1400.0),
        pixel_um=(0.6, 1.0),
    ),
    "unseen-wide-coarse": replace(
        DEFAULT_GENERATOR_SETTINGS,
        land_counts=(7,),
        land_width_um=(2250.0, 2600.0),
        pixel_um=(2.0, 3.0),
    ),
}
#: (makes, barrels per make, bullets per barrel) of the training and of each unseen set
TRAINING_SIZE = (6, 3, 3)
UNSEEN_SIZE = (3, 3, 3)
#: seeds of the unseen sets reported; 1000 and 1001 served while developing (choosing
#: ``damaged_land_fraction``) and are not reported
UNSEEN_SEED = 2000
QUICK_SIZE = (2, 2, 2)
#: known non-match land pairs kept in the training table per known match
NON_MATCHES_PER_MATCH = 5
BOOTSTRAP_ROUNDS = 1000

AUC_COLUMNS = (
    ("set", "set", "s"),
    ("level", "level", "s"),
    ("labels", "labels", "s"),
    ("known_matches", "KM", "d"),
    ("known_non_matches", "KNM", "d"),
    ("auc", "AUC", ".3f"),
    ("auc_low", "95% low", ".3f"),
    ("auc_high", "95% high", ".3f"),
    ("lowest_match_score", "lowest KM", ".3f"),
    ("highest_non_match_score", "highest KNM", ".3f"),
    ("decisions_right", "right", "s"),
)
BULLET_COLUMNS = (
    ("pair", "bullet pair", "s"),
    ("truth", "truth", "s"),
    ("lands", "lands", "s"),
    ("score", "score", ".3f"),
    ("best_other_phase", "next phase", ".3f"),
    ("margin", "margin", ".3f"),
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
    ("single_per_core_s", "one at a time/s", ".0f"),
)


# ---------------------------------------------------------------- metrics


def auc_row(
    name: str, level: str, scores: Sequence[float], truth: Sequence[bool], *, labels: str
) -> dict[str, Any]:
    """Return AUC with its pair counts, a bootstrap interval and the decisions at the threshold.

    The interval resamples known matches and known non-matches separately (percentile, 95 %,
    1000 rounds, seeded); with one known match it only reflects the non-matches' spread.
    """
    values, known = np.asarray(scores, dtype=float), np.asarray(truth, dtype=bool)
    row: dict[str, Any] = {
        "set": name,
        "level": level,
        "labels": labels,
        "known_matches": int(known.sum()),
        "known_non_matches": int((~known).sum()),
    }
    if level == "bullet":
        threshold = DEFAULT_BULLET_CONFIG.lead_threshold
        right = int(((values >= threshold) == known).sum())
        row["decisions_right"] = f"{right}/{values.size}"
        row["decisions_right_fraction"] = right / values.size
    if not known.any() or known.all():
        return row
    matches, non_matches = values[known], values[~known]
    random = np.random.default_rng(0)
    rounds = [
        roc_auc(
            np.r_[
                random.choice(matches, matches.size), random.choice(non_matches, non_matches.size)
            ],
            np.r_[np.ones(matches.size, bool), np.zeros(non_matches.size, bool)],
        )
        for _ in range(BOOTSTRAP_ROUNDS)
    ]
    row |= {
        "auc": roc_auc(values, known),
        "auc_low": float(np.percentile(rounds, 2.5)),
        "auc_high": float(np.percentile(rounds, 97.5)),
        "lowest_match_score": float(matches.min()),
        "highest_non_match_score": float(non_matches.max()),
    }
    return row


def best_threshold(scores: Sequence[float], truth: Sequence[bool]) -> float:
    """Return the threshold with the most right decisions (midpoint between neighbours)."""
    values, known = np.asarray(scores, dtype=float), np.asarray(truth, dtype=bool)
    ordered = np.unique(values)
    candidates = (ordered[:-1] + ordered[1:]) / 2
    right = [((values >= t) == known).mean() for t in candidates]
    best = np.flatnonzero(np.isclose(right, max(right)))
    # among equally good thresholds, the middle one
    return float(candidates[best[len(best) // 2]])


# ---------------------------------------------------------------- synthetic bullets


def _fire_and_prepare(plan: PlannedBullet) -> tuple[PreparedBullet | None, list[dict], list[float]]:
    """Fire one planned bullet, prepare every land; return the bullet, its lands' truth and the
    seconds per land (a land whose preparation fails is left out, as a lab would)."""
    bullet = fire_planned(plan)
    lands, numbers, truths, seconds = [], [], [], []
    for scan in bullet.lands:
        started = time.perf_counter()
        try:
            land = prepare_land(scan.surface)
        except EvidenceError:
            continue
        seconds.append(time.perf_counter() - started)
        lands.append(land)
        numbers.append(int(scan.truth["land"]))
        truths.append({k: scan.truth[k] for k in ("land", "land_key", "land_width_um")})
    if not lands:
        return None, [], seconds
    prepared = PreparedBullet(tuple(lands), tuple(numbers), source=bullet.name)
    truths = [t | {"barrel": bullet.barrel, "phase": bullet.phase} for t in truths]
    return prepared, truths, seconds


def prepare_set(
    plans: Sequence[PlannedBullet], *, workers: int, cache: Path | None = None
) -> list[tuple[PreparedBullet, list[dict]]]:
    """Fire and prepare every planned bullet (in ``workers`` processes); with ``cache``, keep
    the prepared set in that folder (our own pickles, for development reruns) and reuse it."""
    if cache is not None:
        import hashlib
        import pickle

        described = [
            (p.name, p.seed, p.settings, p.damaged_lands, SYNTHETIC_BULLETS_VERSION) for p in plans
        ]
        key = hashlib.sha256(repr(described).encode()).hexdigest()[:16]
        path = cache / f"bullets-{key}.pickle"
        if path.is_file():
            return pickle.loads(path.read_bytes())
        prepared = prepare_set(plans, workers=workers)
        cache.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(prepared))
        return prepared
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_fire_and_prepare, plans))
    else:
        results = [_fire_and_prepare(plan) for plan in plans]
    return [(bullet, truths) for bullet, truths, _ in results if bullet is not None]


def training_rows(bullets, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return (features, labels, make of each row) of land pairs between the training bullets:
    every known match, and ``NON_MATCHES_PER_MATCH`` known non-matches per match (seeded)."""
    random = np.random.default_rng(seed)
    signatures = [
        [fixed_spacing(land.signature_um, pixel_um=land.pixel_um) for land in bullet.lands]
        for bullet, _ in bullets
    ]
    matches, non_matches = [], []
    for (i, (_, ta)), (j, (_, tb)) in itertools.combinations(enumerate(bullets), 2):
        for (p, a), (q, b) in itertools.product(enumerate(ta), enumerate(tb)):
            (matches if a["land_key"] == b["land_key"] else non_matches).append((i, p, j, q))
    chosen = random.choice(
        len(non_matches), min(len(non_matches), NON_MATCHES_PER_MATCH * len(matches)), replace=False
    )
    pairs = [(pair, 1) for pair in matches] + [(non_matches[k], 0) for k in sorted(chosen)]
    features, labels, makes = [], [], []
    config = DEFAULT_BULLET_CONFIG
    for (i, p, j, q), label in pairs:
        found = land_features(
            signatures[i][p],
            signatures[j][q],
            max_lag_um=config.max_lag_um,
            min_overlap_fraction=config.min_overlap_fraction,
            tolerance_um=config.striae_tolerance_um,
        )
        if found is None:
            continue
        features.append(found.vector)
        labels.append(label)
        makes.append(bullets[i][1][0]["barrel"].rsplit("-B", 1)[0])
    return np.array(features), np.array(labels), makes


def write_training(arguments: argparse.Namespace) -> int:
    """Fire the training makes, write the training table, and fit the bullet threshold out of
    fold (two halves of the makes, each scored by a forest fitted on the other)."""
    makes, barrels, per_barrel = QUICK_SIZE if arguments.quick else TRAINING_SIZE
    plans = make_bullet_set(
        "train",
        seed=1,
        makes=makes,
        barrels_per_make=barrels,
        bullets_per_barrel=per_barrel,
        settings=TRAINING_SETTINGS,
    )
    bullets = prepare_set(plans, workers=arguments.workers, cache=arguments.cache)
    features, labels, row_makes = training_rows(bullets)
    print(f"training table: {int(labels.sum())} KM, {int((labels == 0).sum())} KNM land pairs")
    make_names = sorted(set(row_makes))
    folds = [set(make_names[0::2]), set(make_names[1::2])]
    candidates: list[tuple[float, float, float]] = []
    truth: list[bool] = []
    for held in folds:
        fitted = np.array([make not in held for make in row_makes])
        model = fit_land_model(features[fitted], labels[fitted])
        chosen = [(b, t) for b, t in bullets if t[0]["barrel"].rsplit("-B", 1)[0] in held]
        for (a, ta), (b, tb) in itertools.combinations(chosen, 2):
            land_scores = model.probability(_pair_features(a, b)).reshape(
                len(a.lands), len(b.lands)
            )
            candidates.append(_bullet_score(a, b, land_scores))
            truth.append(ta[0]["barrel"] == tb[0]["barrel"])
    for name, column in (("best phase", 0), ("margin", 1), ("best - 0.5 mean others", 2)):
        values = [candidate[column] for candidate in candidates]
        cut = best_threshold(values, truth)
        right = np.mean((np.array(values) >= cut) == np.array(truth))
        auc = roc_auc(values, truth)
        print(f"out of fold, {name}: AUC {auc:.4f}, {right:.4f} right at {cut:.3f}")
    scores = [candidate[0] for candidate in candidates]
    threshold = best_threshold(scores, truth)
    print(f"bullet threshold fitted out of fold on {len(scores)} pairs: {threshold:.3f}")
    write_training_table(
        TRAINING_TABLE,
        features,
        labels,
        comments=[
            f"land model {LAND_MODEL_VERSION}: training table of the land random forest",
            f"generator {SYNTHETIC_BULLETS_VERSION}, settings {asdict(TRAINING_SETTINGS)}",
            f"makes x barrels x bullets {makes} x {barrels} x {per_barrel}, seed 1",
            f"bullet lead threshold fitted out of fold: {threshold:.3f}",
            "written by: python benchmarks/bullet_accuracy.py --write-training-table",
        ],
    )
    print(f"wrote {TRAINING_TABLE}")
    return 0


def _pair_features(a: PreparedBullet, b: PreparedBullet) -> np.ndarray:
    """Return the feature rows of every land pair of two bullets (zeros where none)."""
    config = DEFAULT_BULLET_CONFIG
    rows = []
    for x, y in itertools.product(a.lands, b.lands):
        found = land_features(
            fixed_spacing(x.signature_um, pixel_um=x.pixel_um),
            fixed_spacing(y.signature_um, pixel_um=y.pixel_um),
            max_lag_um=config.max_lag_um,
            min_overlap_fraction=config.min_overlap_fraction,
            tolerance_um=config.striae_tolerance_um,
        )
        rows.append(found.vector if found is not None else np.zeros(len(FEATURE_NAMES)))
    return np.array(rows)


def _bullet_score(
    a: PreparedBullet, b: PreparedBullet, land_scores: np.ndarray
) -> tuple[float, float, float]:
    """Return the bullet score of given land scores as compare_bullets computes it, and two
    candidates: the margin over the other phases, and best minus half their mean."""
    from ballistics.bullet.compare import phase_score

    count = max(a.land_count, b.land_count)
    phases = []
    for phase in range(count):
        pairs = [
            land_scores[i, j]
            for i, na in enumerate(a.land_numbers)
            for j, nb in enumerate(b.land_numbers)
            if (na - 1 + phase) % count == (nb - 1) % count
        ]
        if pairs:
            phases.append(
                phase_score(pairs, drop_fraction=DEFAULT_BULLET_CONFIG.damaged_land_fraction)
            )
    best = max(phases)
    others = sorted(phases)[:-1]
    rest = float(np.mean(others)) if others else 0.0
    return float(best), best - rest, best - 0.5 * rest


def synthetic_rows(name: str, bullets, *, seed: int) -> tuple[list[dict], dict[str, Any]]:
    """Return the AUC rows of one unseen synthetic set: land level, bullet level, and bullet
    level with one land of each bullet missing (chosen at random, seeded)."""
    land_scores, land_truth, bullet_scores, bullet_truth, dropped_scores = [], [], [], [], []
    random = np.random.default_rng(seed)
    dropped = [_without_one_land(bullet, random) for bullet, _ in bullets]
    phases_right = 0
    for (i, (a, ta)), (j, (b, tb)) in itertools.combinations(enumerate(bullets), 2):
        comparison = compare_bullets(a, b)
        same = ta[0]["barrel"] == tb[0]["barrel"]
        bullet_scores.append(comparison.score)
        bullet_truth.append(same)
        if same:
            expected = (ta[0]["phase"] - tb[0]["phase"]) % comparison.land_count
            phases_right += comparison.phase == expected
        for (p, x), (q, y) in itertools.product(enumerate(ta), enumerate(tb)):
            land_scores.append(comparison.land_scores[p, q])
            land_truth.append(x["land_key"] == y["land_key"])
        dropped_scores.append(compare_bullets(dropped[i], dropped[j]).score)
    rows = [
        auc_row(name, "land", land_scores, land_truth, labels="synthetic"),
        auc_row(name, "bullet", bullet_scores, bullet_truth, labels="synthetic"),
        auc_row(name, "bullet", dropped_scores, bullet_truth, labels="one land missing"),
    ]
    detail = {"set": name, "bullets": len(bullets), "known_match_phase_right": int(phases_right)}
    return rows, detail


def _without_one_land(bullet: PreparedBullet, random: np.random.Generator) -> PreparedBullet:
    """Return the bullet with one of its lands (chosen at random) missing."""
    if len(bullet.lands) < 2:
        return bullet
    drop = int(random.integers(len(bullet.lands)))
    keep = [k for k in range(len(bullet.lands)) if k != drop]
    return PreparedBullet(
        tuple(bullet.lands[k] for k in keep),
        tuple(bullet.land_numbers[k] for k in keep),
        source=bullet.source,
    )


# ---------------------------------------------------------------- real bullets


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


def prepare_real(
    data_dir: Path, rows, *, workers: int
) -> tuple[dict[str, PreparedLand], list[float]]:
    """Prepare every real land once (in memory only); return them by path and the seconds."""
    paths = [str(data_dir / row["path"]) for row in rows]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_prepare_one, paths))
    else:
        results = [_prepare_one(path) for path in paths]
    lands = {row["path"]: land for row, (land, _) in zip(rows, results, strict=True)}
    return lands, [seconds for _, seconds in results]


def bullet_of(rows, lands, specimen: str, *, drop_land: int | None = None) -> PreparedBullet:
    """Return the prepared bullet ``specimen`` (lands by their number), without ``drop_land``."""
    chosen = sorted(
        (int(row["land"]), lands[row["path"]])
        for row in rows
        if row["specimen"] == specimen and int(row["land"]) != drop_land
    )
    return PreparedBullet(tuple(land for _, land in chosen), tuple(n for n, _ in chosen), specimen)


def bullet_row(name: str, first, second, *, truth: str, expected: int | None) -> dict[str, Any]:
    """Compare two bullets and return their row."""
    comparison = compare_bullets(first, second)
    others = np.delete(comparison.phase_scores, comparison.phase)
    return {
        "pair": name,
        "truth": truth,
        "lands": f"{len(first.lands)}x{len(second.lands)}",
        "score": comparison.score,
        "best_other_phase": float(np.nanmax(others)) if np.isfinite(others).any() else None,
        "margin": comparison.margin if np.isfinite(comparison.margin) else None,
        "lead": str(comparison.lead),
        "phase": comparison.phase,
        "expected_phase": "-" if expected is None else str(expected),
        "phase_right": None if expected is None else comparison.phase == expected,
        "phase_scores": comparison.phase_scores.tolist(),
    }


def real_land_rows(rows, lands) -> tuple[list[dict], dict[str, list]]:
    """Return the land-level AUC rows of the real sets and every pair's scores."""
    keys = {row["path"]: row["land_key"] for row in rows}
    specimen = {row["path"]: row["specimen"] for row in rows}
    h252 = [row["path"] for row in rows if row["set"] == "hamby252"]
    barrel1 = [row["path"] for row in rows if "/Barrel 1/" in row["path"]]
    questioned = [row["path"] for row in rows if "/One-of-all/" in row["path"]]
    sets = [
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
    out, pair_scores = [], {}
    for name, labels, pairs in sets:
        if not pairs:
            continue
        scored = []
        for a, b in pairs:
            comparison = compare_lands(lands[a], lands[b])
            scored.append(
                {"a": a, "b": b, "known_match": keys[a] == keys[b]}
                | {k: v for k, v in asdict(comparison).items()}
            )
        out.append(
            auc_row(
                name,
                "land",
                [s["score"] for s in scored],
                [s["known_match"] for s in scored],
                labels=labels,
            )
        )
        pair_scores[name] = scored
    return out, pair_scores


def real_bullet_rows(rows, lands) -> list[dict[str, Any]]:
    """Return one row per real bullet pair (official keys, then the weak questioned pairs)."""
    spec = [
        ("h252 B1-1 x B1-2", "h252-B1-1", "h252-B1-2", "KM", 2),
        ("h252 B1-1 x B2-1", "h252-B1-1", "h252-B2-1", "KNM", None),
        ("h252 B1-2 x B2-1", "h252-B1-2", "h252-B2-1", "KNM", None),
        ("h44 B1-1 x B1-2", "h44-B1-1", "h44-B1-2", "KM", 4),
    ]
    out = [
        bullet_row(name, bullet_of(rows, lands, a), bullet_of(rows, lands, b), truth=t, expected=e)
        for name, a, b, t, e in spec
    ]
    for removed in range(1, 7):
        out.append(
            bullet_row(
                f"h44 B1-1 x B1-2 without B1-2 land {removed}",
                bullet_of(rows, lands, "h44-B1-1"),
                bullet_of(rows, lands, "h44-B1-2", drop_land=removed),
                truth="KM",
                expected=4,
            )
        )
    firearm = {row["specimen"]: row["firearm"] for row in rows}
    questioned = sorted({row["specimen"] for row in rows if "/One-of-all/" in row["path"]})
    for name in questioned:
        for known in ("h44-B1-1", "h44-B1-2"):
            truth = "KM (weak)" if firearm[name] == firearm[known] else "KNM (weak)"
            out.append(
                bullet_row(
                    f"h44 {name} x {known}",
                    bullet_of(rows, lands, name),
                    bullet_of(rows, lands, known),
                    truth=truth,
                    expected=None,
                )
            )
    return out


def cross_fitted_rows(rows, lands) -> list[dict[str, Any]]:
    """Return land- and bullet-level rows of each Hamby set scored by a forest fitted on the
    synthetic training table plus the other Hamby set's land pairs (Hamby 44 <-> Hamby 252)."""
    from ballistics.bullet.model import read_training_table

    base_features, base_labels = read_training_table(TRAINING_TABLE)
    keys = {row["path"]: row["land_key"] for row in rows}
    specimen = {row["path"]: row["specimen"] for row in rows}
    official = {
        "hamby252": [row["path"] for row in rows if row["set"] == "hamby252"],
        "hamby44": [row["path"] for row in rows if "/Barrel 1/" in row["path"]],
    }
    pairs = {
        name: [(a, b) for a, b in itertools.combinations(paths, 2) if specimen[a] != specimen[b]]
        for name, paths in official.items()
    }
    pairs["hamby252"] = list(itertools.combinations(official["hamby252"], 2))
    features = {
        name: np.array([_pair_vector(lands[a], lands[b]) for a, b in chosen])
        for name, chosen in pairs.items()
    }
    out = []
    bullets = {"hamby252": [("h252-B1-1", "h252-B1-2", True), ("h252-B1-1", "h252-B2-1", False),
                            ("h252-B1-2", "h252-B2-1", False)],
               "hamby44": [("h44-B1-1", "h44-B1-2", True)]}  # fmt: skip
    for held, other in (("hamby252", "hamby44"), ("hamby44", "hamby252")):
        truth = np.array([keys[a] == keys[b] for a, b in pairs[other]])
        model = fit_land_model(
            np.vstack([base_features, features[other]]), np.r_[base_labels, truth.astype(int)]
        )
        scores = model.probability(features[held])
        known = [keys[a] == keys[b] for a, b in pairs[held]]
        name = f"{held} (fitted with {other})"
        out.append(auc_row(name, "land", scores, known, labels="official"))
        bullet_scores, bullet_truth = [], []
        for first, second, same in bullets[held]:
            a, b = bullet_of(rows, lands, first), bullet_of(rows, lands, second)
            land_scores = model.probability(_pair_features(a, b)).reshape(len(a.lands), -1)
            bullet_scores.append(_bullet_score(a, b, land_scores)[0])
            bullet_truth.append(same)
        out.append(auc_row(name, "bullet", bullet_scores, bullet_truth, labels="official"))
    return out


def _pair_vector(first: PreparedLand, second: PreparedLand) -> np.ndarray:
    """Return the feature vector of one land pair (zeros when no shift overlaps)."""
    return _pair_features(PreparedBullet((first,), (1,)), PreparedBullet((second,), (1,)))[0]


def real_bullet_auc(bullet_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return bullet-level AUC rows per real set (whole bullets, official keys; and weak)."""
    out = []
    for name, prefix in (("hamby252", "h252 "), ("hamby44", "h44 B1-1 x B1-2")):
        chosen = [
            r for r in bullet_rows if r["pair"].startswith(prefix) and "without" not in r["pair"]
        ]
        if name == "hamby44":  # the official pair against the weak questioned non-matches
            chosen += [r for r in bullet_rows if r["truth"] == "KNM (weak)"]
        out.append(
            auc_row(
                name,
                "bullet",
                [r["score"] for r in chosen],
                [r["truth"].startswith("KM") for r in chosen],
                labels="official" if name == "hamby252" else "official KM, weak KNM",
            )
        )
    weak = [r for r in bullet_rows if "weak" in r["truth"]]
    out.append(
        auc_row(
            "hamby44-questioned",
            "bullet",
            [r["score"] for r in weak],
            [r["truth"].startswith("KM") for r in weak],
            labels="weak",
        )
    )
    return out


def retrieval_rows(rows, lands) -> list[dict[str, Any]]:
    """Rank every real land's known mates by descriptor similarity (cosine); recall at 1, 5."""
    keys = {row["path"]: row["land_key"] for row in rows}
    sets = (
        ("hamby252", [row["path"] for row in rows if row["set"] == "hamby252"]),
        (
            "hamby44 (barrel 1 + questioned)",
            [row["path"] for row in rows if row["set"] == "hamby44"],
        ),
    )
    out = []
    for name, paths in sets:
        vectors = np.stack([land_descriptor(lands[path]) for path in paths])
        similarity = vectors @ vectors.T
        ranks = []
        for i, path in enumerate(paths):
            order = [j for j in np.argsort(-similarity[i], kind="stable") if j != i]
            mates = [rank for rank, j in enumerate(order, 1) if keys[paths[j]] == keys[path]]
            if mates:
                ranks.append(mates[0])
        values = np.array(ranks)
        out.append(
            {
                "set": name,
                "queries": len(ranks),
                "candidates": len(paths) - 1,
                "recall_at_1": float((values <= 1).mean()) if ranks else None,
                "recall_at_5": float((values <= 5).mean()) if ranks else None,
                "worst_rank": int(values.max()) if ranks else None,
            }
        )
    return out


# ---------------------------------------------------------------- speed


def speed_row(bullets: Sequence[PreparedBullet], prepare_s: Sequence[float]) -> dict[str, Any]:
    """Time land comparisons on one core for at least two seconds, the way compare_bullets
    runs them (every land pair of two bullets, the model asked once), and one at a time."""
    pairs = list(itertools.combinations(bullets, 2))
    land_score_matrix(pairs[0][0].lands, pairs[0][1].lands)  # the model is fitted once
    count, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < 2.0:
        for a, b in pairs:
            land_score_matrix(a.lands, b.lands)
            count += len(a.lands) * len(b.lands)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    single, single_started = 0, time.perf_counter()
    lands = [land for bullet in bullets for land in bullet.lands]
    while time.perf_counter() - single_started < 1.0:
        compare_lands(lands[single % len(lands)], lands[(single + 1) % len(lands)])
        single += 1
    return {
        "lands": len(lands),
        "prepare_median_s": float(np.median(prepare_s)) if len(prepare_s) else None,
        "prepare_p95_s": float(np.percentile(prepare_s, 95)) if len(prepare_s) else None,
        "comparisons": count,
        "comparisons_per_core_s": count / wall,
        "comparisons_per_cpu_s": count / cpu if cpu > 0 else None,
        "single_per_core_s": single / (time.perf_counter() - single_started),
    }


SPEED_BULLETS = ("h44-B1-1", "h44-B1-2", "h252-B1-1", "h252-B1-2")


def speed_only(arguments: argparse.Namespace) -> int:
    """Measure the speed row alone on the real bullets and write it (``--speed-only``)."""
    data_dir: Path = arguments.data_dir
    if not (data_dir / "labels.csv").is_file():
        print(f"no labels.csv in {data_dir}: the speed is measured on the real bullets")
        return 2
    rows = [row for row in load_rows(data_dir) if row["specimen"] in SPEED_BULLETS]
    lands, prepare_s = prepare_real(data_dir, rows, workers=arguments.workers)
    bullets = [bullet_of(rows, lands, specimen) for specimen in SPEED_BULLETS]
    speed = speed_row(bullets, prepare_s)
    print(format_table([speed], SPEED_COLUMNS))
    output = arguments.output
    if output == RESULTS_DIR / "bullet_accuracy.json":  # the full run's record stays whole
        output = RESULTS_DIR / "bullet_speed.json"
    finish_run(
        output,
        benchmark="bullet_speed",
        arguments=vars(arguments) | {"land_model": LAND_MODEL_VERSION},
        results=[{"level": "speed", "rows": [speed]}],
        notes=["speed of land comparisons on one core, wall clock and CPU time"],
    )
    return 0


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser.add_argument("--workers", type=int, default=cores or 1, help="processes (default: all)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the real scans")
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "bullet_accuracy.json", help="JSON record"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small synthetic sets (development only)"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="keep prepared synthetic sets here (development)"
    )
    parser.add_argument(
        "--speed-only",
        action="store_true",
        help="only the speed row, on the real Hamby bullets of barrel 1 (run it on an idle "
        "machine: the rate per core on the wall clock is the figure)",
    )
    parser.add_argument(
        "--write-training-table",
        action="store_true",
        help=f"fire the training makes and rewrite {TRAINING_TABLE.name} (the shipped model)",
    )
    arguments = parser.parse_args(argv)
    if arguments.workers < 1:
        parser.error("--workers must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the real and the unseen synthetic sets, print the tables and write the JSON."""
    arguments = parse_arguments(argv)
    if arguments.write_training_table:
        return write_training(arguments)
    if arguments.speed_only:
        return speed_only(arguments)
    started = time.perf_counter()
    auc_rows: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    notes = [
        f"land model {LAND_MODEL_VERSION} fitted on synthetic makes only ({TRAINING_TABLE.name}); "
        f"lead threshold {DEFAULT_BULLET_CONFIG.lead_threshold}",
        f"synthetic generator {SYNTHETIC_BULLETS_VERSION}",
    ]
    real_bullets: list[PreparedBullet] = []
    prepare_s: list[float] = []
    data_dir: Path = arguments.data_dir
    if (data_dir / "labels.csv").is_file():
        rows = load_rows(data_dir)
        lands, prepare_s = prepare_real(data_dir, rows, workers=arguments.workers)
        print(f"prepared {len(lands)} real lands", file=sys.stderr)
        land_rows, pair_scores = real_land_rows(rows, lands)
        bullet_rows = real_bullet_rows(rows, lands)
        auc_rows += land_rows + real_bullet_auc(bullet_rows) + cross_fitted_rows(rows, lands)
        official = [r for r in bullet_rows if "weak" not in r["truth"]]
        print("\nReal bullets (official keys)")
        print(format_table(official, BULLET_COLUMNS))
        results.append({"level": "real bullets", "rows": bullet_rows, "pair_scores": pair_scores})
        results.append({"level": "retrieval", "rows": retrieval_rows(rows, lands)})
        print("\nRetrieval (land descriptor, cosine; first known mate's rank)")
        print(format_table(results[-1]["rows"], RETRIEVAL_COLUMNS))
        real_bullets = [bullet_of(rows, lands, specimen) for specimen in SPEED_BULLETS]
        notes.append(
            "hamby44-questioned: barrel and land inferred by another algorithm (weak labels)"
        )
    else:
        notes.append(f"no labels.csv in {data_dir}: real sets not measured")
    size = QUICK_SIZE if arguments.quick else UNSEEN_SIZE
    details = []
    synthetic_bullets: list[PreparedBullet] = []
    for offset, (name, settings) in enumerate(UNSEEN_SETTINGS.items()):
        plans = make_bullet_set(
            name,
            seed=UNSEEN_SEED + offset,
            makes=size[0],
            barrels_per_make=size[1],
            bullets_per_barrel=size[2],
            settings=settings,
        )
        bullets = prepare_set(plans, workers=arguments.workers, cache=arguments.cache)
        rows_, detail = synthetic_rows(name, bullets, seed=offset)
        auc_rows += rows_
        details.append(detail | {"settings": asdict(settings)})
        synthetic_bullets += [bullet for bullet, _ in bullets]
        print(f"{name}: {len(bullets)} bullets", file=sys.stderr)
    print("\nAUC (land and bullet level; decisions at the lead threshold)")
    print(format_table(auc_rows, AUC_COLUMNS))
    speed = speed_row(real_bullets or synthetic_bullets, prepare_s)
    print("\nSpeed (one core)")
    print(format_table([speed], SPEED_COLUMNS))
    results += [
        {"level": "auc", "rows": auc_rows},
        {"level": "synthetic sets", "rows": details},
        {"level": "speed", "rows": [speed]},
    ]
    print(f"total {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finish_run(
        arguments.output,
        benchmark="bullet_accuracy",
        arguments=vars(arguments)
        | {
            "land_model": LAND_MODEL_VERSION,
            "synthetic_generator": SYNTHETIC_BULLETS_VERSION,
            "lead_threshold": DEFAULT_BULLET_CONFIG.lead_threshold,
        },
        results=results,
        notes=notes,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

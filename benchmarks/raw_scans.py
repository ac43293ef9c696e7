"""Raw 3D scans as lab scanners write them, against scans processed as the research sets are.

Every pair of the real DFSC scans (``dfsc/raw``, ``dfsc/aces_processed``, ``dfsc/older_pipeline``)
goes through the path a lab's file takes (file -> ``read_surface`` -> ``prepare_casing`` ->
``compare_casings``) with the engine's defaults; the pairs are scored by kind (raw x raw,
raw x processed, processed x processed) and by truth (known match: two cases fired by one firearm;
known non-match: two firearms). The same case in two processing states is a pair of its own
("same case"): a check that preparation of the raw scan gives what the processed file holds, not
a known match. With ``--synthetic`` the same table is made for synthetic raw scans
(:mod:`ballistics.synthetic.raw`) and their processed counterparts.

    python benchmarks/raw_scans.py                     # the real DFSC pairs, on all cores
    python benchmarks/raw_scans.py --synthetic         # and the synthetic raw scans
    python benchmarks/raw_scans.py --only-raw          # only pairs with a raw side (quick)

The real sets are small: every AUC comes with a stratified bootstrap interval (known matches and
known non-matches resampled separately), and every row gives its pair counts.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.pairs import compare_pairs
from ballistics.casing.compare import DEFAULT_COMPARE_CONFIG
from ballistics.io import AS_STORED
from ballistics.items import Item, Pair
from ballistics.parallel import available_cores
from benchmarks._common import (
    DEFAULT_DATA_DIR,
    RESULTS_DIR,
    decision_rates,
    finish_run,
    format_table,
    roc_auc,
)
from benchmarks.orientation_table import declared_orientations

DFSC_FOLDERS = ("raw", "aces_processed", "older_pipeline")
PAIR_KINDS = ("raw×raw", "raw×processed", "processed×processed")
TABLE_COLUMNS = (
    ("set", "set", "s"),
    ("pair_kind", "pairs", "s"),
    ("known_matches", "KM", "d"),
    ("known_non_matches", "KNM", "d"),
    ("failed", "failed", "d"),
    ("auc", "AUC", ".3f"),
    ("auc_low", "AUC 2.5%", ".3f"),
    ("auc_high", "AUC 97.5%", ".3f"),
    ("true_positive_rate", "TPR", ".3f"),
    ("false_positives", "FP", "d"),
    ("lowest_match_score", "lowest KM", ".1f"),
    ("highest_non_match_score", "highest KNM", ".1f"),
    ("same_case_scores", "same case", "s"),
)


@dataclass(frozen=True)
class Scan:
    """One file with its truth: firearm (same = known match), case, raw or processed."""

    item: Item
    name: str
    firearm: str
    specimen: str
    raw: bool


def dfsc_scans(
    data_dir: Path, *, folders: Sequence[str] = DFSC_FOLDERS
) -> tuple[list[Scan], list[str]]:
    """Return the DFSC scans of ``folders`` labelled from ``labels.csv``, and notes.

    A file is matched to the row with its path *and* its SHA-256 (``labels.csv`` lists some
    paths twice, other processing states of the same case with other bytes). The ``processing``
    column says raw or not; ``aces_processed`` and ``older_pipeline`` are both processed. A file
    is read in the orientation ``benchmarks/orientations.csv`` declares for it, as a lab would
    declare it at intake (the ``older_pipeline`` files: mirrored).
    """
    declared = declared_orientations(data_dir)
    with (data_dir / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_key = {(row["path"], row["sha256"]): row for row in rows}
    scans: list[Scan] = []
    notes: list[str] = []
    for folder in folders:
        for path in sorted((data_dir / "cartridge_cases" / "dfsc" / folder).glob("*.x3p")):
            relative = path.relative_to(data_dir).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            row = by_key.get((relative, digest))
            if row is None:
                notes.append(f"{relative} has no labels.csv row with its sha256; left out")
                continue
            orientation = declared.get(relative, AS_STORED)
            if orientation != AS_STORED:
                notes.append(f"{relative}: read {orientation}, as orientations.csv declares")
            scans.append(
                Scan(
                    item=Item(path, orientation=orientation),
                    name=f"{folder}/{path.stem}",
                    firearm=row["firearm"],
                    specimen=row["specimen"],
                    raw=row["processing"] == "raw",
                )
            )
    return scans, notes


def pair_kind(first: Scan, second: Scan) -> str:
    """Return "raw×raw", "raw×processed" or "processed×processed"."""
    raw_sides = int(first.raw) + int(second.raw)
    return PAIR_KINDS[2 - raw_sides]


def relation(first: Scan, second: Scan) -> str:
    """Return "same_case", "same_firearm" (known match) or "different_firearms"."""
    if first.specimen == second.specimen:
        return "same_case"
    return "same_firearm" if first.firearm == second.firearm else "different_firearms"


def bootstrap_auc(
    scores: np.ndarray, labels: np.ndarray, *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Return the 2.5 % and 97.5 % percentiles of the AUC over stratified bootstrap resamples.

    Known matches and known non-matches are resampled separately with replacement (so that every
    resample holds both classes, as many of each as measured), and the AUC recomputed.

    References
    ----------
    B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall, 1993
    (percentile intervals, ch. 13).
    """
    positives, negatives = scores[labels], scores[~labels]
    random = np.random.default_rng(seed)
    values = np.empty(resamples)
    for k in range(resamples):
        drawn_positives = random.choice(positives, positives.size)
        drawn_negatives = random.choice(negatives, negatives.size)
        greater = (drawn_positives[:, None] > drawn_negatives[None, :]).mean()
        ties = (drawn_positives[:, None] == drawn_negatives[None, :]).mean()
        values[k] = greater + 0.5 * ties
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def score_rows(
    set_name: str, scans: Sequence[Scan], *, workers: int, only_raw: bool, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Compare every pair of ``scans``; return one row per kind of pair, and every pair."""
    indices = [
        (i, j)
        for i, j in itertools.combinations(range(len(scans)), 2)
        if not only_raw or scans[i].raw or scans[j].raw
    ]
    pairs = [Pair(scans[i].name, scans[j].name, scans[i].item, scans[j].item) for i, j in indices]
    run = compare_pairs(pairs, workers=workers)
    records: list[dict[str, Any]] = []
    for (i, j), result in zip(indices, run.results, strict=True):
        record: dict[str, Any] = {
            "a": scans[i].name,
            "b": scans[j].name,
            "pair_kind": pair_kind(scans[i], scans[j]),
            "relation": relation(scans[i], scans[j]),
        }
        if "error" in result:
            record["error"] = result["error"]
            print(f"  {scans[i].name} × {scans[j].name}: {result['error']}", file=sys.stderr)
        else:
            record |= {
                "score": result["score"],
                "lead": result["lead"],
                "correlation": result.get("correlation"),
            }
        records.append(record)
    rows = [
        _kind_row(set_name, kind, [r for r in records if r["pair_kind"] == kind], seed=seed)
        for kind in PAIR_KINDS
        if any(r["pair_kind"] == kind for r in records)
    ]
    for row in rows:
        row["prepare_median_s"] = float(np.median(run.prepare_s)) if run.prepare_s else None
    return rows, records


def _kind_row(set_name: str, kind: str, records: list[dict[str, Any]], *, seed: int) -> dict:
    scored = [r for r in records if "score" in r and r["relation"] != "same_case"]
    labels = np.array([r["relation"] == "same_firearm" for r in scored], dtype=bool)
    scores = np.array([r["score"] for r in scored], dtype=np.float64)
    leads = np.array([r["lead"] for r in scored], dtype=bool)
    same_case = [r["score"] for r in records if r["relation"] == "same_case" and "score" in r]
    row: dict[str, Any] = {
        "set": set_name,
        "pair_kind": kind,
        "known_matches": int(labels.sum()),
        "known_non_matches": int((~labels).sum()),
        "same_case_pairs": len(same_case),
        "same_case_scores": " ".join(f"{score:.1f}" for score in sorted(same_case)) or None,
        "failed": sum("error" in r for r in records),
        "lead_threshold": DEFAULT_COMPARE_CONFIG.lead_threshold,
    }
    if labels.any():
        row["lowest_match_score"] = float(scores[labels].min())
        row["true_positive_rate"] = float(leads[labels].mean())
        row["match_scores"] = sorted(float(s) for s in scores[labels])
    if (~labels).any():
        row["highest_non_match_score"] = float(scores[~labels].max())
        row["false_positives"] = int(leads[~labels].sum())
    if labels.any() and (~labels).any():
        row["auc"] = roc_auc(scores.tolist(), labels.tolist())
        row["auc_low"], row["auc_high"] = bootstrap_auc(scores, labels, seed=seed)
        row["true_positive_rate"], row["false_positive_rate"] = decision_rates(
            leads.tolist(), labels.tolist()
        )
    return row


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, default=available_cores(), help="processes (default: all cores)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared real scans"
    )
    parser.add_argument(
        "--only-raw", action="store_true", help="real set: only pairs with a raw side (quick)"
    )
    parser.add_argument(
        "--synthetic", action="store_true", help="also synthetic raw and processed scans"
    )
    parser.add_argument("--no-real", action="store_true", help="leave the real DFSC scans out")
    parser.add_argument(
        "--synthetic-pistols", type=int, default=6, help="pistols of the synthetic set"
    )
    parser.add_argument(
        "--synthetic-firings", type=int, default=2, help="firings per pistol (each raw + processed)"
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of synthetics and bootstrap")
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR / "raw_scans.json", help="JSON record"
    )
    arguments = parser.parse_args(argv)
    if arguments.workers < 1:
        parser.error("--workers must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table and write the JSON record."""
    arguments = parse_arguments(argv)
    rows: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    notes: list[str] = []
    if not arguments.no_real:
        if (arguments.data_dir / "labels.csv").is_file():
            started = time.perf_counter()
            scans, found_notes = dfsc_scans(arguments.data_dir)
            notes.extend(found_notes)
            kind_rows, records = score_rows(
                "dfsc",
                scans,
                workers=arguments.workers,
                only_raw=arguments.only_raw,
                seed=arguments.seed,
            )
            rows.extend(kind_rows)
            pairs.extend(records)
            print(f"dfsc: measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        else:
            notes.append(f"dfsc: skipped, no labels.csv in {arguments.data_dir}")
    if arguments.synthetic:
        with tempfile.TemporaryDirectory(prefix="raw-scans-") as scratch:
            started = time.perf_counter()
            scans = synthetic_scans(
                Path(scratch),
                pistols=arguments.synthetic_pistols,
                firings=arguments.synthetic_firings,
                seed=arguments.seed,
            )
            kind_rows, records = score_rows(
                "synthetic", scans, workers=arguments.workers, only_raw=False, seed=arguments.seed
            )
            rows.extend(kind_rows)
            pairs.extend(records)
            print(f"synthetic: measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(format_table(rows, TABLE_COLUMNS))
    for record in pairs:
        if record["relation"] != "different_firearms" and record["pair_kind"] != PAIR_KINDS[2]:
            score = record.get("score")
            shown = "error" if score is None else f"{score:.1f}{' lead' if record['lead'] else ''}"
            print(f"  {record['relation']:<13} {record['a']} × {record['b']}: {shown}")
    finish_run(
        arguments.out,
        benchmark="raw_scans",
        arguments=vars(arguments),
        results=[*rows, {"pair_scores": pairs}],
        notes=notes,
    )
    return 0


def synthetic_scans(folder: Path, *, pistols: int, firings: int, seed: int) -> list[Scan]:
    """Synthetic fired casings, each written as a raw scan and as a processed one (X3P)."""
    from ballistics.synthetic.raw import write_raw_and_processed

    scans = []
    for row in write_raw_and_processed(folder, pistols=pistols, firings=firings, seed=seed):
        scans.append(
            Scan(
                item=Item(folder / row["path"]),
                name=row["path"],
                firearm=row["firearm"],
                specimen=row["specimen"],
                raw=row["processing"] == "raw",
            )
        )
    return scans


if __name__ == "__main__":
    sys.exit(main())

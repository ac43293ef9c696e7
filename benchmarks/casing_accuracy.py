"""Accuracy and speed of cartridge-case comparison, on real scans and synthetic twins.

Every pair of every dataset goes through the path a lab's file takes (file -> ``read_surface`` ->
``prepare_casing`` -> ``compare_casings``) with the engine's default settings, in a process pool.
Prints one header and one row per dataset and writes the arguments, hardware and results as JSON.

    python benchmarks/casing_accuracy.py                      # everything, on all cores
    python benchmarks/casing_accuracy.py --datasets fadul --limit-pairs 60   # a quick look

Datasets
--------
fadul
    The 40 processed Fadul scans (10 consecutively manufactured Ruger slides), all 780 pairs;
    truth from the ``firearm`` column of ``labels.csv``.
dfsc
    ``dfsc/aces_processed``: every file matched to its ``labels.csv`` row by SHA-256.
synthetic-topography, synthetic-photograph
    Fired casings from ``ballistics.synthetic`` written as X3P or PNG files, with consecutively
    made pistols and one ammunition brand fired in several pistols among the non-matches.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.pairs import compare_pairs
from ballistics.items import Item, Pair
from ballistics.parallel import available_cores
from benchmarks._common import (
    DEFAULT_DATA_DIR,
    RESULTS_DIR,
    decision_rates,
    equal_error_rate,
    finish_run,
    format_table,
    roc_auc,
    timing_summary,
)
from benchmarks.orientation_table import declared_orientations

DATASETS = ("fadul", "dfsc", "synthetic-topography", "synthetic-photograph")
TABLE_COLUMNS = (
    ("dataset", "dataset", "s"),
    ("known_matches", "KM", "d"),
    ("known_non_matches", "KNM", "d"),
    ("failed", "failed", "d"),
    ("auc", "AUC", ".3f"),
    ("true_positive_rate", "TPR", ".3f"),
    ("false_positive_rate", "FPR", ".4f"),
    ("equal_error_rate", "EER", ".3f"),
    ("compare_median_s", "s/cmp", ".3f"),
    ("compare_p95_s", "p95 s", ".3f"),
    ("comparisons_per_core_s", "cmp/s/core", ".2f"),
    ("comparisons_per_cpu_s", "cmp/cpu-s", ".2f"),
    ("prepare_median_s", "prep s/scan", ".2f"),
)


@dataclass
class LabelledSet:
    """Files with their source (same source = known match) and what to say about them.

    ``production_runs`` and ``brands`` (synthetic sets only) name the hard known non-matches:
    pistols made consecutively, and pistols firing the same ammunition brand.
    """

    name: str
    items: list[Item]
    sources: list[str]
    notes: list[str] = field(default_factory=list)
    production_runs: list[str] | None = None
    brands: list[str] | None = None

    def relation(self, first: int, second: int) -> str:
        """Return how two files are related, the closest relation first."""
        if self.sources[first] == self.sources[second]:
            return "same_firearm"
        if self.production_runs and self.production_runs[first] == self.production_runs[second]:
            return "same_production_run"
        if self.brands and self.brands[first] == self.brands[second]:
            return "same_brand"
        return "unrelated"


def sha256_of(path: Path) -> str:
    """Return the SHA-256 (hex) of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def labelled_folder(data_dir: Path, folder: str, *, name: str) -> LabelledSet:
    """Label every X3P file of ``data_dir / folder`` from ``labels.csv``.

    A file is matched to the row with its path *and* its SHA-256, because ``labels.csv`` lists
    some paths twice (other processing states of the same case, with other bytes). A file is read
    in the orientation ``benchmarks/orientations.csv`` declares for it (as stored when none).
    """
    declared = declared_orientations(data_dir)
    with (data_dir / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_path: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_path.setdefault(row["path"], []).append(row)
    dataset = LabelledSet(name, [], [])
    for path in sorted((data_dir / folder).glob("*.x3p")):
        relative = path.relative_to(data_dir).as_posix()
        candidates = by_path.get(relative, [])
        digest = sha256_of(path)
        matching = [row for row in candidates if row["sha256"] == digest]
        if len(candidates) > 1:
            dataset.notes.append(
                f"{name}: labels.csv lists {relative} {len(candidates)} times; used the row whose "
                "sha256 equals the file's"
            )
        if len(matching) != 1:
            dataset.notes.append(
                f"{name}: {relative} has no labels.csv row with its sha256; left out"
            )
            continue
        dataset.items.append(Item(path, orientation=declared.get(relative, "as_stored")))
        dataset.sources.append(matching[0]["firearm"])
    return dataset


def fadul_set(data_dir: Path) -> LabelledSet:
    """The 40 processed Fadul scans."""
    return labelled_folder(data_dir, "cartridge_cases/fadul", name="fadul")


def dfsc_set(data_dir: Path) -> LabelledSet:
    """The DFSC scans in ``aces_processed``, with the pair counts compared to the data README's."""
    dataset = labelled_folder(data_dir, "cartridge_cases/dfsc/aces_processed", name="dfsc")
    matches = sum(a == b for a, b in itertools.combinations(dataset.sources, 2))
    total = len(dataset.sources) * (len(dataset.sources) - 1) // 2
    dataset.notes.append(
        f"dfsc: {len(dataset.items)} files in aces_processed give {matches} KM / "
        f"{total - matches} KNM pairs; ../shared/data/README.md says 16 files, 17 KM / 101 KNM"
    )
    return dataset


def synthetic_set(
    modality: str, *, seed: int, folder: Path, pistols: int, firings: int
) -> LabelledSet:
    """Synthetic casings written as X3P or PNG files (``ballistics.synthetic``).

    The pistols come in production runs of consecutively made slides, and every brand is fired
    by several pistols, so that both hard kinds of known non-match are in the set.
    """
    from ballistics.synthetic import make_casing_dataset, write_exhibit_files

    records = make_casing_dataset(
        firearm_count=pistols,
        firings_per_firearm=firings,
        seed=seed,
        consecutive=True,
        modality=None,
    )
    manifest = write_exhibit_files(records, folder, modality=modality)
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return LabelledSet(
        name=f"synthetic-{modality}",
        items=[Item(folder / row["path"]) for row in rows],
        sources=[row["firearm"] for row in rows],
        production_runs=[row["production_run"] for row in rows],
        brands=[row["brand"] for row in rows],
    )


def sample_pairs(dataset: LabelledSet, *, limit: int | None, seed: int) -> list[tuple[int, int]]:
    """Return the indices of every pair of distinct files, or a seeded sample of ``limit``.

    A sample keeps up to half of its pairs known matches, so that a quick run still measures
    both classes.
    """
    indices = list(itertools.combinations(range(len(dataset.items)), 2))
    if limit is None or limit >= len(indices):
        return indices
    random = np.random.default_rng(seed)
    same = [dataset.sources[i] == dataset.sources[j] for i, j in indices]
    matches = [k for k, known in enumerate(same) if known]
    non_matches = [k for k, known in enumerate(same) if not known]
    keep_matches = min(len(matches), limit // 2)
    chosen = np.concatenate(
        [
            random.choice(matches, keep_matches, replace=False),
            random.choice(non_matches, limit - keep_matches, replace=False),
        ]
    )
    return [indices[k] for k in sorted(chosen.astype(int))]


def measure(dataset: LabelledSet, *, workers: int, limit: int | None, seed: int) -> dict[str, Any]:
    """Compare the dataset's pairs and return its row of metrics."""
    indices = sample_pairs(dataset, limit=limit, seed=seed)
    pairs = [
        Pair(
            dataset.items[i].path.name,
            dataset.items[j].path.name,
            dataset.items[i],
            dataset.items[j],
        )
        for i, j in indices
    ]
    relations = [dataset.relation(i, j) for i, j in indices]
    run = compare_pairs(pairs, workers=workers)
    compared = [k for k, result in enumerate(run.results) if "error" not in result]
    failed = [result for result in run.results if "error" in result]
    for result in failed[:5]:
        print(f"  {dataset.name}: {result['error']}", file=sys.stderr)
    labels = np.array([relations[k] == "same_firearm" for k in compared], dtype=bool)
    scores = np.array([run.results[k]["score"] for k in compared], dtype=np.float64)
    decisions = np.array([run.results[k]["lead"] for k in compared], dtype=bool)
    row: dict[str, Any] = {
        "dataset": dataset.name,
        "files": len(dataset.items),
        "known_matches": int(labels.sum()),
        "known_non_matches": int((~labels).sum()),
        "failed": len(failed),
        "workers": run.workers,
    }
    if labels.any() and not labels.all():
        true_positive, false_positive = decision_rates(decisions, labels)
        row |= {
            "auc": roc_auc(scores, labels),
            "equal_error_rate": equal_error_rate(scores, labels),
            "true_positive_rate": true_positive,
            "false_positive_rate": false_positive,
            "lowest_match_score": float(scores[labels].min()),
            "highest_non_match_score": float(scores[~labels].max()),
        }
    if dataset.production_runs:
        # how the hard known non-matches fare: consecutively made pistols, shared ammunition
        by_relation: dict[str, dict[str, Any]] = {}
        for k in compared:
            if relations[k] == "same_firearm":
                continue
            entry = by_relation.setdefault(
                relations[k], {"pairs": 0, "false_positives": 0, "highest_score": None}
            )
            entry["pairs"] += 1
            entry["false_positives"] += int(run.results[k]["lead"])
            entry["highest_score"] = max(entry["highest_score"] or 0.0, run.results[k]["score"])
        row["non_matches_by_relation"] = by_relation
    compare_seconds = timing_summary([run.results[k]["compare_s"] for k in compared])
    prepare_seconds = timing_summary(run.prepare_s)
    core_seconds = run.compare_wall_s * run.workers
    cpu_times = [
        run.results[k]["compare_cpu_s"] for k in compared if "compare_cpu_s" in run.results[k]
    ]
    cpu_seconds = float(sum(cpu_times))
    row |= {
        "compare_median_s": compare_seconds["median_s"],
        "compare_p95_s": compare_seconds["p95_s"],
        "comparisons_per_core_s": len(compared) / core_seconds if core_seconds > 0 else None,
        # per second of one core's own work (CPU time of the comparisons): unaffected by other
        # processes sharing the machine, which the wall-clock figure above is not
        "comparisons_per_cpu_s": len(compared) / cpu_seconds if cpu_seconds > 0 else None,
        "compare_cpu_median_s": float(np.median(cpu_times)) if cpu_times else None,
        "prepare_median_s": prepare_seconds["median_s"],
        "prepare_p95_s": prepare_seconds["p95_s"],
        "prepare_wall_s": run.prepare_wall_s,
        "compare_wall_s": run.compare_wall_s,
        # every pair's numbers, so that calibrate_casing.py can set thresholds without
        # comparing again
        "pair_scores": [
            {
                "a": run.results[k]["a"],
                "b": run.results[k]["b"],
                "relation": relations[k],
                "score": run.results[k]["score"],
                "cmc_count": run.results[k].get("cmc_count"),
                "correlation": run.results[k].get("correlation"),
                "lead": run.results[k]["lead"],
            }
            for k in compared
        ],
    }
    return row


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", choices=DATASETS, default=list(DATASETS), help="what to measure"
    )
    parser.add_argument(
        "--workers", type=int, default=available_cores(), help="processes (default: all cores)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared real scans"
    )
    parser.add_argument(
        "--limit-pairs", type=int, default=None, help="a seeded sample of at most N pairs per set"
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of samples and synthetics")
    parser.add_argument(
        "--synthetic-pistols", type=int, default=6, help="pistols per synthetic set"
    )
    parser.add_argument(
        "--synthetic-firings", type=int, default=3, help="firings per pistol in synthetic sets"
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR / "casing_accuracy.json", help="JSON record"
    )
    arguments = parser.parse_args(argv)
    if arguments.workers < 1:
        parser.error("--workers must be at least 1")
    if arguments.limit_pairs is not None and arguments.limit_pairs < 2:
        parser.error("--limit-pairs must be at least 2 (one known match, one known non-match)")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the chosen datasets, print the table and write the JSON record."""
    arguments = parse_arguments(argv)
    real: dict[str, Callable[[Path], LabelledSet]] = {"fadul": fadul_set, "dfsc": dfsc_set}
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="casing-accuracy-") as scratch:
        for name in arguments.datasets:
            started = time.perf_counter()
            if name in real:
                if not (arguments.data_dir / "labels.csv").is_file():
                    notes.append(f"{name}: skipped, no labels.csv in {arguments.data_dir}")
                    print(f"{name}: skipped, {arguments.data_dir} not found", file=sys.stderr)
                    continue
                dataset = real[name](arguments.data_dir)
            else:
                modality = name.removeprefix("synthetic-")
                dataset = synthetic_set(
                    modality,
                    seed=arguments.seed,
                    folder=Path(scratch) / modality,
                    pistols=arguments.synthetic_pistols,
                    firings=arguments.synthetic_firings,
                )
            notes.extend(dataset.notes)
            row = measure(
                dataset, workers=arguments.workers, limit=arguments.limit_pairs, seed=arguments.seed
            )
            row["total_s"] = time.perf_counter() - started
            rows.append(row)
            print(f"{name}: measured in {row['total_s']:.0f} s", file=sys.stderr, flush=True)
    print(format_table(rows, TABLE_COLUMNS))
    finish_run(
        arguments.out,
        benchmark="casing_accuracy",
        arguments=vars(arguments),
        results=rows,
        notes=notes,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

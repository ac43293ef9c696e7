"""Retrieval quality of the casing descriptor: does the true mate land in the index's top K?

Every casing of a dataset is searched (exact cosine, as ``IndexFlatIP`` does) against all the
others of its dataset and modality. Prints one header and one row per dataset, writes the
arguments, hardware and results as JSON (``benchmarks/results/descriptor_recall.json``).

    python benchmarks/descriptor_recall.py                         # all four datasets
    python benchmarks/descriptor_recall.py --datasets fadul dfsc    # real scans only (~15 s)

Columns
-------
``R@k``: share of queries whose first true mate ranks k or better among the others (a set of
N casings has N - 1 others: ``K10 %`` says what share of them the top 10 is, and ``R@50`` is 1
by construction while N <= 51). ``mAP``: mean average precision over all mates. ``rank``:
mean rank of the first mate. ``cos KM`` / ``cos KNM``: mean cosine of known matches and
non-matches; ``cos run`` (synthetic): of different pistols of the same production run
(consecutively made slides sharing 40 % of their marks), and ``top run``: share of queries
whose nearest casing is such a pistol. Robustness, on ``--robustness-count`` casings per set,
each against itself turned by a random angle (``rot``) and also shifted by 50 / 100 / 400 µm
in a random direction (``@50`` ...); ``@400+grid``: the 400 µm case when the query is
described at ``offset_grid_um(reach_um=400, step_um=100)`` and the best cosine kept, with
``knm grid``, the same best-of-grid cosine against a casing of another firearm (what the
grid costs). ``ms``: median time of one descriptor.

Datasets
--------
fadul
    The 40 processed Fadul scans (10 consecutively manufactured Ruger slides).
dfsc
    ``dfsc/aces_processed``, each file labelled by the ``labels.csv`` row with its SHA-256
    (the table lists some paths twice, for other processing states).
synthetic-topography, synthetic-photograph
    ``ballistics.synthetic.make_casing_dataset`` (production runs of 3 consecutive pistols),
    rendered raw and prepared as a lab's scan would be.
dfsc-raw, synthetic-raw (raw × processed)
    Raw scans searched against processed ones only, as a hub holding both would: the real
    ``dfsc/raw`` scans against ``dfsc/aces_processed`` and ``dfsc/older_pipeline`` (their
    orientation from ``benchmarks/orientations.csv``), and synthetic raw scans against the
    processed scans of the same firings and of others (:mod:`ballistics.synthetic.raw`).
    ``own@1``: share of raw scans whose own processed scan (the same case, processed) ranks
    first, ``own rank`` its mean rank, ``cos own`` their mean cosine; ``R@k``, ``cos KM`` and
    ``cos KNM`` count the processed scans of *other* cases only (own processed scans left out).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballistics.casing.marks import PreparedCasing
from ballistics.casing.prepare import prepare_casing
from ballistics.casing.registration import rotate_masked
from ballistics.descriptors import (
    DEFAULT_SHORTLIST_SIZE,
    DESCRIPTOR_DIMENSION,
    DESCRIPTOR_VERSION,
    casing_descriptor,
    offset_descriptors,
    offset_grid_um,
)
from benchmarks._common import (
    DEFAULT_DATA_DIR,
    RESULTS_DIR,
    format_table,
    timing_summary,
    write_record,
)

DATASETS = (
    "fadul",
    "dfsc",
    "synthetic-topography",
    "synthetic-photograph",
    "dfsc-raw",
    "synthetic-raw",
)
CROSS_SETS = ("dfsc-raw", "synthetic-raw")
TABLE_COLUMNS = (
    ("dataset", "dataset", "s"),
    ("casings", "N", "d"),
    ("top10_share_of_set", "K10 %", ".0%"),
    ("recall_at_1", "R@1", ".2f"),
    ("recall_at_5", "R@5", ".2f"),
    ("recall_at_10", "R@10", ".2f"),
    ("recall_at_50", "R@50", ".2f"),
    ("mean_average_precision", "mAP", ".2f"),
    ("mean_first_mate_rank", "rank", ".1f"),
    ("cosine_known_match", "cos KM", ".2f"),
    ("cosine_known_non_match", "cos KNM", ".2f"),
    ("cosine_same_production_run", "cos run", ".2f"),
    ("top_hit_same_production_run", "top run", ".2f"),
    ("rotation_cosine", "rot", ".2f"),
    ("shift_50_um_cosine", "@50", ".2f"),
    ("shift_100_um_cosine", "@100", ".2f"),
    ("shift_400_um_cosine", "@400", ".2f"),
    ("shift_400_um_grid_cosine", "@400+grid", ".2f"),
    ("non_match_grid_cosine", "knm grid", ".2f"),
    ("descriptor_median_ms", "ms", ".1f"),
)
CROSS_COLUMNS = (
    ("dataset", "raw × processed", "s"),
    ("queries", "raw", "d"),
    ("gallery", "processed", "d"),
    ("own_at_1", "own@1", ".2f"),
    ("own_mean_rank", "own rank", ".1f"),
    ("cosine_own", "cos own", ".2f"),
    ("mate_queries", "with mate", "d"),
    ("recall_at_1", "R@1", ".2f"),
    ("recall_at_5", "R@5", ".2f"),
    ("recall_at_10", "R@10", ".2f"),
    ("cosine_known_match", "cos KM", ".2f"),
    ("cosine_known_non_match", "cos KNM", ".2f"),
)


@dataclass
class MarkSet:
    """Prepared casings with their firearm (equal = known match) and, for synthetic sets, their
    production run."""

    name: str
    marks: list[PreparedCasing] = field(default_factory=list)
    firearms: list[str] = field(default_factory=list)
    production_runs: list[str] | None = None
    notes: list[str] = field(default_factory=list)


def real_set(data_dir: Path, folder: str, *, name: str) -> MarkSet:
    """Read and prepare every X3P of ``data_dir / folder``, labelled by SHA-256 from labels.csv."""
    from ballistics.io import read_surface

    with (data_dir / "labels.csv").open(newline="", encoding="utf-8") as handle:
        firearm_by_sha = {row["sha256"]: row["firearm"] for row in csv.DictReader(handle)}
    dataset = MarkSet(name)
    for path in sorted((data_dir / folder).glob("*.x3p")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in firearm_by_sha:
            dataset.notes.append(f"{name}: {path.name} has no labels.csv row with its sha256")
            continue
        dataset.marks.append(prepare_casing(read_surface(path)))
        dataset.firearms.append(firearm_by_sha[digest])
    return dataset


def synthetic_set(modality: str, *, firearms: int, firings: int, seed: int) -> MarkSet:
    """Synthetic casings of consecutively made pistols, rendered raw and prepared."""
    from ballistics.synthetic import make_casing_dataset

    records = make_casing_dataset(
        firearm_count=firearms, firings_per_firearm=firings, seed=seed, modality=modality
    )
    dataset = MarkSet(f"synthetic-{modality}", production_runs=[])
    for record in records:
        assert record.surface is not None
        dataset.marks.append(prepare_casing(record.surface))
        dataset.firearms.append(record.firearm_id)
        dataset.production_runs.append(record.production_run)  # type: ignore[union-attr]
    return dataset


@dataclass
class CrossSet:
    """Raw scans (the queries) and processed scans (the gallery), each with firearm and case."""

    name: str
    queries: list[PreparedCasing] = field(default_factory=list)
    query_labels: list[tuple[str, str]] = field(default_factory=list)
    gallery: list[PreparedCasing] = field(default_factory=list)
    gallery_labels: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, mark: PreparedCasing, *, raw: bool, firearm: str, specimen: str) -> None:
        """Add one prepared scan, raw (a query) or processed (the gallery)."""
        (self.queries if raw else self.gallery).append(mark)
        (self.query_labels if raw else self.gallery_labels).append((firearm, specimen))


def dfsc_cross_set(data_dir: Path) -> CrossSet:
    """``dfsc/raw`` against ``dfsc/aces_processed`` and ``dfsc/older_pipeline``."""
    from ballistics.io import read_surface
    from benchmarks.orientation_table import declared_orientations

    with (data_dir / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = {(row["path"], row["sha256"]): row for row in csv.DictReader(handle)}
    declared = declared_orientations(data_dir)
    dataset = CrossSet("dfsc-raw")
    for folder in ("raw", "aces_processed", "older_pipeline"):
        for path in sorted((data_dir / "cartridge_cases/dfsc" / folder).glob("*.x3p")):
            relative = path.relative_to(data_dir).as_posix()
            row = rows.get((relative, hashlib.sha256(path.read_bytes()).hexdigest()))
            if row is None:
                dataset.notes.append(f"dfsc-raw: {relative} has no labels.csv row with its sha256")
                continue
            surface = read_surface(path, orientation=declared.get(relative, "as_stored"))
            dataset.add(
                prepare_casing(surface),
                raw=row["processing"] == "raw",
                firearm=row["firearm"],
                specimen=row["specimen"],
            )
    return dataset


def synthetic_cross_set(*, pistols: int, firings: int, seed: int) -> CrossSet:
    """Synthetic raw scans against the processed scans of the same set's firings."""
    import tempfile

    from ballistics.io import read_surface
    from ballistics.synthetic.raw import write_raw_and_processed

    dataset = CrossSet("synthetic-raw")
    with tempfile.TemporaryDirectory(prefix="descriptor-raw-") as scratch:
        for row in write_raw_and_processed(scratch, pistols=pistols, firings=firings, seed=seed):
            dataset.add(
                prepare_casing(read_surface(Path(scratch) / row["path"])),
                raw=row["processing"] == "raw",
                firearm=row["firearm"],
                specimen=row["specimen"],
            )
    return dataset


def cross_metrics(dataset: CrossSet) -> dict[str, Any]:
    """Search every raw scan among the processed ones: its own processed scan, and its mates."""
    queries = np.stack([casing_descriptor(mark) for mark in dataset.queries])
    gallery = np.stack([casing_descriptor(mark) for mark in dataset.gallery])
    similarity = queries @ gallery.T
    firearms = np.array([firearm for firearm, _ in dataset.gallery_labels])
    specimens = np.array([specimen for _, specimen in dataset.gallery_labels])
    own_ranks, mate_ranks, own_cosines, mate_cosines, stranger_cosines = [], [], [], [], []
    for index, (firearm, specimen) in enumerate(dataset.query_labels):
        order = np.argsort(-similarity[index], kind="stable")
        own = specimens[order] == specimen
        if own.any():
            own_ranks.append(int(np.flatnonzero(own)[0]) + 1)
            own_cosines.extend(similarity[index, specimens == specimen])
        others = order[~own]
        mates = np.flatnonzero(firearms[others] == firearm)
        if mates.size:
            mate_ranks.append(int(mates[0]) + 1)
        mate_cosines.extend(similarity[index, (firearms == firearm) & (specimens != specimen)])
        stranger_cosines.extend(similarity[index, firearms != firearm])
    ranks = np.asarray(mate_ranks)

    def mean(values: Sequence[float]) -> float | None:
        return float(np.mean(values)) if len(values) else None

    return {
        "dataset": dataset.name,
        "queries": len(dataset.queries),
        "gallery": len(dataset.gallery),
        "own_queries": len(own_ranks),
        "own_at_1": mean([rank == 1 for rank in own_ranks]),
        "own_mean_rank": mean(own_ranks),
        "own_ranks": own_ranks,
        "cosine_own": mean(own_cosines),
        "mate_queries": int(ranks.size),
        **{f"recall_at_{k}": mean(ranks <= k) if ranks.size else None for k in (1, 5, 10)},
        "mate_ranks": mate_ranks,
        "cosine_known_match": mean(mate_cosines),
        "cosine_known_non_match": mean(stranger_cosines),
    }


def retrieval_metrics(vectors: np.ndarray, firearms: Sequence[str]) -> dict[str, Any]:
    """Search every casing against the others; return recall@k, mAP and first-mate ranks."""
    labels = np.asarray(firearms)
    similarity = vectors @ vectors.T
    count = len(labels)
    first_ranks, average_precisions = [], []
    for query in range(count):
        others = np.delete(np.arange(count), query)
        order = others[np.argsort(-similarity[query, others], kind="stable")]
        relevant = np.flatnonzero(labels[order] == labels[query])
        if relevant.size == 0:
            continue  # a casing without a mate in the set cannot be scored
        first_ranks.append(relevant[0] + 1)
        average_precisions.append(np.mean(np.arange(1, relevant.size + 1) / (relevant + 1)))
    ranks = np.asarray(first_ranks)
    same = np.equal.outer(labels, labels)
    off_diagonal = ~np.eye(count, dtype=bool)
    return {
        "casings": count,
        "firearms": len(set(firearms)),
        "queries": int(ranks.size),
        "top10_share_of_set": 10 / (count - 1),
        **{f"recall_at_{k}": float(np.mean(ranks <= k)) for k in (1, 5, 10, 50)},
        "mean_average_precision": float(np.mean(average_precisions)),
        "mean_first_mate_rank": float(ranks.mean()),
        "worst_first_mate_rank": int(ranks.max()),
        "cosine_known_match": float(similarity[same & off_diagonal].mean()),
        "cosine_known_non_match": float(similarity[~same].mean()),
    }


def production_run_metrics(vectors: np.ndarray, dataset: MarkSet) -> dict[str, Any]:
    """Similarity of different pistols of one production run, and how often one ranks first."""
    if not dataset.production_runs:
        return {}
    firearms = np.asarray(dataset.firearms)
    runs = np.asarray(dataset.production_runs)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    same_run = np.equal.outer(runs, runs) & ~np.equal.outer(firearms, firearms)
    top = similarity.argmax(axis=1)
    return {
        "cosine_same_production_run": float(similarity[same_run].mean()),
        "top_hit_same_production_run": float(np.mean(same_run[np.arange(len(top)), top])),
    }


def _moved(mark: PreparedCasing, *, angle_deg: float, shift_um: float, direction: float):
    values = mark.breech_face
    mask = np.isfinite(values)
    shift_px = (
        shift_um * math.sin(direction) / mark.pixel_um,
        shift_um * math.cos(direction) / mark.pixel_um,
    )
    moved, moved_mask = rotate_masked(values, mask, angle_deg, shift_px=shift_px)
    return PreparedCasing(
        np.where(moved_mask, moved, np.nan), mark.pixel_um, mark.modality, source=mark.source
    )


def robustness_metrics(dataset: MarkSet, *, count: int, seed: int) -> dict[str, Any]:
    """Cosine of casings with themselves turned and shifted, with and without an offset grid."""
    random = np.random.default_rng(seed)
    picks = random.choice(len(dataset.marks), size=min(count, len(dataset.marks)), replace=False)
    grid = offset_grid_um(reach_um=400.0, step_um=100.0)
    results: dict[str, list[float]] = {}
    for index in picks:
        mark = dataset.marks[index]
        stored = casing_descriptor(mark)
        angle = float(random.uniform(0.0, 360.0))
        results.setdefault("rotation_cosine", []).append(
            float(
                stored
                @ casing_descriptor(_moved(mark, angle_deg=angle, shift_um=0.0, direction=0.0))
            )
        )
        for shift in (50, 100, 400):
            moved = _moved(
                mark, angle_deg=angle, shift_um=float(shift), direction=random.uniform(0, 2 * np.pi)
            )
            results.setdefault(f"shift_{shift}_um_cosine", []).append(
                float(stored @ casing_descriptor(moved))
            )
        queries = offset_descriptors(moved, offsets_um=grid)  # the 400 µm one
        results.setdefault("shift_400_um_grid_cosine", []).append(float((queries @ stored).max()))
        others = [
            other
            for other, firearm in enumerate(dataset.firearms)
            if firearm != dataset.firearms[index]
        ]
        stranger = casing_descriptor(dataset.marks[int(random.choice(others))])
        results.setdefault("non_match_grid_cosine", []).append(float((queries @ stranger).max()))
    summary: dict[str, Any] = {"robustness_casings": len(picks), "offset_grid_size": len(grid)}
    for key, values in results.items():
        summary[key] = float(np.mean(values))
        summary[key.replace("cosine", "cosine_min")] = float(np.min(values))
    return summary


def measure(dataset: MarkSet, *, robustness_count: int, seed: int) -> dict[str, Any]:
    """Describe every casing (timed) and compute the row of the table."""
    vectors, seconds = [], []
    for mark in dataset.marks:
        start = time.perf_counter()
        vectors.append(casing_descriptor(mark))
        seconds.append(time.perf_counter() - start)
    matrix = np.stack(vectors)
    timing = timing_summary(seconds)
    return {
        "dataset": dataset.name,
        **retrieval_metrics(matrix, dataset.firearms),
        **production_run_metrics(matrix, dataset),
        **robustness_metrics(dataset, count=robustness_count, seed=seed),
        "descriptor_median_ms": 1000 * timing["median_s"],
        "descriptor_p95_ms": 1000 * timing["p95_s"],
        "pixel_um": dataset.marks[0].pixel_um,
        "modality": str(dataset.marks[0].modality),
    }


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", choices=DATASETS, default=list(DATASETS), help="what to measure"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared real scans"
    )
    parser.add_argument("--synthetic-firearms", type=int, default=20, help="pistols per set")
    parser.add_argument("--synthetic-firings", type=int, default=3, help="casings per pistol")
    parser.add_argument(
        "--raw-pistols", type=int, default=10, help="pistols of the synthetic raw × processed set"
    )
    parser.add_argument(
        "--raw-firings", type=int, default=2, help="firings per pistol, each raw and processed"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of synthetics and robustness")
    parser.add_argument(
        "--robustness-count", type=int, default=8, help="casings turned and shifted per set"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "descriptor_recall.json", help="JSON record"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the chosen datasets, print the table and write the JSON record."""
    arguments = parse_arguments(argv)
    rows, cross_rows, notes = [], [], []
    for name in arguments.datasets:
        started = time.perf_counter()
        if name in CROSS_SETS:
            if name == "dfsc-raw" and not (arguments.data_dir / "labels.csv").is_file():
                print(f"{name}: skipped, {arguments.data_dir} not found", file=sys.stderr)
                continue
            cross = (
                dfsc_cross_set(arguments.data_dir)
                if name == "dfsc-raw"
                else synthetic_cross_set(
                    pistols=arguments.raw_pistols,
                    firings=arguments.raw_firings,
                    seed=arguments.seed,
                )
            )
            notes += cross.notes
            cross_rows.append(cross_metrics(cross))
            print(f"{name}: measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            continue
        if name in ("fadul", "dfsc"):
            if not (arguments.data_dir / "labels.csv").is_file():
                print(f"{name}: skipped, {arguments.data_dir} not found", file=sys.stderr)
                continue
            folder = (
                "cartridge_cases/fadul"
                if name == "fadul"
                else "cartridge_cases/dfsc/aces_processed"
            )
            dataset = real_set(arguments.data_dir, folder, name=name)
        else:
            dataset = synthetic_set(
                name.removeprefix("synthetic-"),
                firearms=arguments.synthetic_firearms,
                firings=arguments.synthetic_firings,
                seed=arguments.seed,
            )
        notes += dataset.notes
        row = measure(dataset, robustness_count=arguments.robustness_count, seed=arguments.seed)
        rows.append(row)
        print(
            f"{name}: measured in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    if rows:
        print(format_table(rows, TABLE_COLUMNS))
    if cross_rows:
        print(format_table(cross_rows, CROSS_COLUMNS))
    notes.append(
        f"descriptor {DESCRIPTOR_VERSION}, {DESCRIPTOR_DIMENSION} dimensions; the index's "
        f"shortlist is {DEFAULT_SHORTLIST_SIZE}, so R@50 is 1 for any set of 51 casings or fewer"
    )
    for note in notes:
        print(f"note: {note}")
    path = write_record(
        arguments.output,
        benchmark="descriptor_recall",
        arguments=vars(arguments),
        results=rows + cross_rows,
        notes=notes,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

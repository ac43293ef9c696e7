"""Retrieval on real scans: each scan searched against all the others, through the real commands.

Every file of a dataset is stored with ``ballistics ingest`` (each scan its own case, as one lab
would file one casing per incident) into a temporary store; then each scan is searched against
that store, its own stored copy excluded, through the service ``ballistics search`` runs
(:meth:`api.service.EvidenceService.search`). For each query the rank of its first true mate
(same firearm) is read twice: in the order of the descriptors alone (the vector index, the first
stage) and after re-ranking the first ``--top-k`` of them by the pairwise comparison (the second
stage, what ``search`` returns). Prints one header and one row per dataset and ordering, and
writes the arguments, hardware and results as JSON.

    python benchmarks/retrieval.py                          # Fadul and DFSC, on all cores
    python benchmarks/retrieval.py --datasets fadul --no-correlate   # searches only

The ingest also correlates every scan against the store (as a lab's ingest would) unless
``--no-correlate``; the leads it creates are counted against the truth.

Datasets: ``fadul`` (40 scans, 10 slides) and ``dfsc`` (``aces_processed``), labelled as in
``benchmarks/casing_accuracy.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballistics.parallel import available_cores
from benchmarks._common import DEFAULT_DATA_DIR, RESULTS_DIR, finish_run, format_table
from benchmarks.casing_accuracy import LabelledSet, dfsc_set, fadul_set

DATASETS: dict[str, Callable[[Path], LabelledSet]] = {"fadul": fadul_set, "dfsc": dfsc_set}
TABLE_COLUMNS = (
    ("dataset", "dataset", "s"),
    ("ranking", "ranking", "s"),
    ("queries", "queries", "d"),
    ("top1", "top-1", ".3f"),
    ("top10", "top-10", ".3f"),
    ("mean_rank", "mean rank", ".2f"),
    ("worst_rank", "worst rank", "d"),
    ("search_median_s", "s/search", ".2f"),
)
AGENCY = ("Benchmark lab", "NL")


def write_manifest(dataset: LabelledSet, folder: Path) -> Path:
    """Write an ingest manifest of ``dataset``: one case per scan, the firearm as metadata, the
    orientation each item declares (``benchmarks/orientations.csv``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dataset.name}.csv"
    columns = [
        "path",
        "exhibit_id",
        "case_id",
        "agency",
        "country",
        "kind",
        "orientation",
        "firearm",
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for position, (item, source) in enumerate(zip(dataset.items, dataset.sources, strict=True)):
            writer.writerow(
                {
                    "path": str(item.path.resolve()),
                    "exhibit_id": item.path.stem,
                    "case_id": f"{dataset.name}-case-{position + 1:03d}",
                    "agency": AGENCY[0],
                    "country": AGENCY[1],
                    "kind": "cartridge_case",
                    "orientation": item.orientation,
                    "firearm": source,
                }
            )
    return path


def run_ingest(manifest: Path, store: Path, *, workers: int, options: Sequence[str] = ()) -> dict:
    """Run ``ballistics ingest MANIFEST --json`` in this process; return its JSON document."""
    from api.cli import main

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = main(
            [
                "ingest",
                str(manifest),
                "--store",
                str(store),
                "--workers",
                str(workers),
                "--json",
                *options,
            ]
        )
    if status != 0:
        raise RuntimeError(f"ballistics ingest {manifest} failed with exit status {status}")
    report: dict[str, Any] = json.loads(output.getvalue())
    return report


def first_mate_rank(ranked: Sequence[str], mates: set[str]) -> int | None:
    """Return the 1-based rank of the first of ``mates`` in ``ranked`` (None: not there)."""
    for rank, exhibit_id in enumerate(ranked, start=1):
        if exhibit_id in mates:
            return rank
    return None


def ranking_row(dataset: str, ranking: str, ranks: list[int | None]) -> dict[str, Any]:
    """Summarise first-mate ranks (None: the mate was not among the candidates)."""
    found = np.array([rank if rank is not None else np.inf for rank in ranks], dtype=np.float64)
    finite = found[np.isfinite(found)]
    return {
        "dataset": dataset,
        "ranking": ranking,
        "queries": len(ranks),
        "top1": float(np.mean(found <= 1)) if ranks else None,
        "top10": float(np.mean(found <= 10)) if ranks else None,
        "mean_rank": float(finite.mean()) if finite.size else None,
        "worst_rank": int(finite.max()) if finite.size == len(ranks) and ranks else None,
        "not_found": int(np.sum(~np.isfinite(found))),
        "ranks": [None if rank is None else int(rank) for rank in ranks],
    }


def measure(
    dataset: LabelledSet,
    *,
    scratch: Path,
    workers: int,
    top_k: int,
    correlate: bool,
) -> list[dict[str, Any]]:
    """Ingest ``dataset``, search every scan, and return its two rows (descriptor, re-ranked)."""
    import dataclasses

    from api.service import DEFAULT_SERVICE_CONFIG, EvidenceService

    manifest = write_manifest(dataset, scratch / dataset.name)
    store = scratch / f"{dataset.name}-store"
    options = ["--top-k", str(top_k)] + ([] if correlate else ["--no-correlate"])
    started = time.perf_counter()
    report = run_ingest(manifest, store, workers=workers, options=options)
    ingest_s = time.perf_counter() - started
    if report["failed"]:
        raise RuntimeError(f"{dataset.name}: ingest failed rows: {report['failed'][:3]}")
    firearm = {
        item.path.stem: source for item, source in zip(dataset.items, dataset.sources, strict=True)
    }
    descriptor_ranks: list[int | None] = []
    reranked_ranks: list[int | None] = []
    search_seconds: list[float] = []
    queries = []
    config = dataclasses.replace(DEFAULT_SERVICE_CONFIG, top_k=top_k)
    with EvidenceService.open(store, config=config, workers=workers, create=False) as service:
        keys = _keys_by_exhibit_id(service)
        leads = service.links()
        for item in dataset.items:
            exhibit_id = item.path.stem
            mates = {other for other, source in firearm.items() if source == firearm[exhibit_id]}
            mates.discard(exhibit_id)
            if not mates:
                continue  # a scan whose firearm has no other scan in the set
            outcome = service.search(
                item.path, top=len(dataset.items), exclude_keys=[keys[exhibit_id]]
            )
            search_seconds.append(outcome.elapsed_s)
            candidates = outcome.candidates
            by_descriptor = sorted(candidates, key=lambda candidate: candidate.descriptor_rank)
            descriptor_ranks.append(first_mate_rank([c.exhibit_id for c in by_descriptor], mates))
            reranked = first_mate_rank([c.exhibit_id for c in candidates], mates)
            reranked_ranks.append(reranked)
            queries.append(exhibit_id)
    true_leads = sum(firearm[link["exhibit_a"]] == firearm[link["exhibit_b"]] for link in leads)
    mate_pairs = sum(firearm[a] == firearm[b] for a in firearm for b in firearm if a < b)
    shared = {
        "files": len(dataset.items),
        "workers": workers,
        "top_k": top_k,
        "ingest_s": ingest_s,
        "ingested": report["ingested"],
        "comparisons_at_ingest": report.get("comparisons"),
        "leads": len(leads),
        "true_leads": true_leads,
        "known_match_pairs": mate_pairs,
        "search_median_s": float(np.median(search_seconds)) if search_seconds else None,
        "query_ids": queries,
    }
    return [
        {**ranking_row(dataset.name, "descriptor", descriptor_ranks), **shared},
        {**ranking_row(dataset.name, "reranked", reranked_ranks), **shared},
    ]


def _keys_by_exhibit_id(service: Any) -> dict[str, int]:
    from sqlalchemy import select

    from api.store.models import Exhibit

    with service.store.transaction() as session:
        return {
            exhibit_id: key
            for key, exhibit_id in session.execute(select(Exhibit.id, Exhibit.exhibit_id))
        }


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS), help="what to run"
    )
    parser.add_argument(
        "--workers", type=int, default=available_cores(), help="processes (default: all cores)"
    )
    parser.add_argument(
        "--top-k", type=int, default=50, help="candidates re-ranked per search (default 50)"
    )
    parser.add_argument(
        "--no-correlate",
        dest="correlate",
        action="store_false",
        help="ingest without correlating (searches only)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared real scans"
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR / "retrieval.json", help="JSON record"
    )
    arguments = parser.parse_args(argv)
    if arguments.workers < 1:
        parser.error("--workers must be at least 1")
    if arguments.top_k < 1:
        parser.error("--top-k must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the chosen datasets, print the table and write the JSON record."""
    arguments = parse_arguments(argv)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    if not (arguments.data_dir / "labels.csv").is_file():
        print(f"no labels.csv in {arguments.data_dir}: nothing to measure", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="retrieval-") as scratch:
        for name in arguments.datasets:
            started = time.perf_counter()
            dataset = DATASETS[name](arguments.data_dir)
            notes.extend(dataset.notes)
            rows += measure(
                dataset,
                scratch=Path(scratch),
                workers=arguments.workers,
                top_k=arguments.top_k,
                correlate=arguments.correlate,
            )
            print(f"{name}: measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(format_table(rows, TABLE_COLUMNS))
    for row in rows[1::2]:
        print(
            f"{row['dataset']}: ingest {row['ingest_s']:.0f} s; {row['leads']} leads, "
            f"{row['true_leads']} of them true ({row['known_match_pairs']} known-match pairs)"
        )
    finish_run(
        arguments.out, benchmark="retrieval", arguments=vars(arguments), results=rows, notes=notes
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

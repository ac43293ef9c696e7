"""Ingest throughput: exhibits per second per core, correlation excluded, on the Fadul scans.

The 40 Fadul scans are ingested with ``ballistics ingest --no-correlate`` (read, hash, store the
original, prepare, describe, encode, one transaction per exhibit, index) into a fresh temporary
store, again and again until ``--min-duration-s`` has passed, for each ``--workers`` setting.
Prints one header and one row per setting, and writes the arguments, hardware and results as
JSON.

    python benchmarks/ingest.py                             # 1 worker and all cores, 30 s each
    python benchmarks/ingest.py --workers 2 --min-duration-s 10

Two throughputs per core are given. ``per_core`` divides the exhibits stored per wall-clock
second of the storing stage (pool start included) by the workers: what a lab sees, lowered by
whatever else runs on the machine. ``per_cpu_s`` divides the exhibits by the CPU seconds spent
on them (workers' extraction plus the main process's storing): what one core's work costs,
unaffected by other processes sharing the machine.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballistics.parallel import available_cores
from benchmarks._common import DEFAULT_DATA_DIR, RESULTS_DIR, format_table, write_record
from benchmarks.casing_accuracy import fadul_set
from benchmarks.retrieval import run_ingest, write_manifest

TABLE_COLUMNS = (
    ("workers", "workers", "d"),
    ("runs", "runs", "d"),
    ("exhibits", "exhibits/run", "d"),
    ("exhibits_per_s", "exhibits/s", ".2f"),
    ("exhibits_per_s_per_core", "per core", ".2f"),
    ("exhibits_per_cpu_s", "per CPU s", ".2f"),
    ("cpu_ms_per_exhibit", "CPU ms/exhibit", ".0f"),
    ("overhead_s", "open+close s", ".2f"),
)


def measure(
    manifest: Path, *, scratch: Path, workers: int, min_duration_s: float, min_runs: int
) -> dict[str, Any]:
    """Ingest ``manifest`` into fresh stores until the minimum duration; return its row."""
    rates: list[float] = []
    cpu_rates: list[float] = []
    overheads: list[float] = []
    exhibits = 0
    started = time.perf_counter()
    run = 0
    while run < min_runs or time.perf_counter() - started < min_duration_s:
        store = scratch / f"store-{workers}-{run}"
        run_started = time.perf_counter()
        report = run_ingest(manifest, store, workers=workers, options=["--no-correlate"])
        wall_s = time.perf_counter() - run_started
        shutil.rmtree(store)
        if report["failed"]:
            raise RuntimeError(f"ingest failed rows: {report['failed'][:3]}")
        exhibits = report["ingested"]
        rates.append(exhibits / report["store_s"])
        cpu_s = report["extract_cpu_s"] + report["main_cpu_s"]
        cpu_rates.append(exhibits / cpu_s)
        overheads.append(wall_s - report["store_s"])
        run += 1
        print(
            f"workers {workers} run {run}: {exhibits} exhibits in {report['store_s']:.2f} s, "
            f"{cpu_s:.2f} CPU s",
            file=sys.stderr,
            flush=True,
        )
    per_second = float(np.median(rates))
    per_cpu_second = float(np.median(cpu_rates))
    return {
        "dataset": "fadul",
        "workers": workers,
        "runs": run,
        "exhibits": exhibits,
        "exhibits_per_s": per_second,
        "exhibits_per_s_per_core": per_second / workers,
        "exhibits_per_cpu_s": per_cpu_second,
        "cpu_ms_per_exhibit": 1000.0 / per_cpu_second,
        "overhead_s": float(np.median(overheads)),
        "exhibits_per_s_runs": rates,
        "exhibits_per_cpu_s_runs": cpu_rates,
    }


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cores = available_cores()
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=sorted({1, cores}),
        help="worker counts to measure (default: 1 and all cores)",
    )
    parser.add_argument(
        "--min-duration-s", type=float, default=30.0, help="repeat each setting this long"
    )
    parser.add_argument("--min-runs", type=int, default=2, help="and at least this many times")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared real scans"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "ingest.json", help="JSON record")
    arguments = parser.parse_args(argv)
    if min(arguments.workers) < 1:
        parser.error("--workers must be at least 1")
    if arguments.min_runs < 1:
        parser.error("--min-runs must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Measure each worker setting, print the table and write the JSON record."""
    arguments = parse_arguments(argv)
    if not (arguments.data_dir / "labels.csv").is_file():
        print(f"no labels.csv in {arguments.data_dir}: nothing to measure", file=sys.stderr)
        return 1
    dataset = fadul_set(arguments.data_dir)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ingest-") as scratch:
        manifest = write_manifest(dataset, Path(scratch) / "manifest")
        for workers in arguments.workers:
            rows.append(
                measure(
                    manifest,
                    scratch=Path(scratch),
                    workers=workers,
                    min_duration_s=arguments.min_duration_s,
                    min_runs=arguments.min_runs,
                )
            )
    print(format_table(rows, TABLE_COLUMNS))
    path = write_record(
        arguments.out,
        benchmark="ingest",
        arguments=vars(arguments),
        results=rows,
        notes=list(dict.fromkeys(dataset.notes)),
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

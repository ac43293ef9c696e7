"""The ``ivf_disk`` index at millions of vectors: memory projected to 10M, latency, recall.

For each size the script builds an :class:`indexer.VectorIndex` with the ``ivf_disk`` backend
(4-bit fast-scan PQ codes in memory, full vectors in a file on disk for the exact re-rank), fed in
chunks as a growing store would be, and reports per size: build seconds, the resident memory the
index added (anonymous memory only: the vector file's pages in the page cache belong to the
operating system and are reported apart), that memory projected to 10M vectors (bytes per vector
x 10M + the fixed part: coarse centroids and codebooks), the bytes on disk, and per search setting
(lists probed, shortlist) the single-query latency with **one FAISS thread** (every one of the
``--queries`` queries timed alone) and recall@10 / recall@50 against exact search, unfiltered and
filtered to the query's calibre (class).

    python benchmarks/index_10m.py --sizes 1000000,5000000               # the README's figures
    python benchmarks/index_10m.py --sizes 100000 --probes 64 --out /tmp/x.json   # quick check

Data: :func:`indexer.synthetic.clustered_vectors` (classes of sources of members, noise 0.2 per
dimension), the generator ``benchmarks/index_scale.py`` uses, so the two compare. The vectors are
generated once into a file under ``--scratch`` (never in the repository) and reused; the exact
ground truth (top ``--k`` over every vector, and within the query's class) is computed by blocks
from that file and cached beside it. Builds and the ground truth use ``--build-threads``.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import dataclasses
import gc
import json
import math
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS_DIR, format_table, write_record
from indexer import IVF_DISK, IndexConfig, VectorIndex
from indexer.synthetic import ClusteredVectorsConfig, clustered_vectors

TABLE_COLUMNS = (
    ("count", "N", "d"),
    ("lists", "lists", "d"),
    ("probes", "probes", "d"),
    ("shortlist", "shortlist", "d"),
    ("build_s", "build s", ".0f"),
    ("resident_mb", "resident MB", ".0f"),
    ("projected_10m_mb", "MB at 10M", ".0f"),
    ("disk_mb", "disk MB", ".0f"),
    ("single_ms", "ms/q", ".2f"),
    ("single_p95_ms", "p95 ms", ".2f"),
    ("single_cpu_ms", "CPU ms/q", ".2f"),
    ("recall_at_10", "R@10", ".4f"),
    ("recall_at_50", "R@50", ".4f"),
    ("filtered_recall_at_50", "R@50 calibre", ".4f"),
    ("filtered_single_ms", "ms/q calibre", ".2f"),
)
TEN_MILLION = 10_000_000
BLOCK_ROWS = 100_000


def memory_mb() -> dict[str, float]:
    """Return this process's anonymous and file-backed resident memory in MB (Linux).

    Freed memory is first handed back to the system (``malloc_trim``), so that what a finished
    build freed (its staging copies) is not counted as the index's.
    """
    gc.collect()
    library = ctypes.util.find_library("c")
    if library:
        ctypes.CDLL(library).malloc_trim(0)
    values = {"anonymous": float("nan"), "file": float("nan")}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            values["anonymous"] = int(line.split()[1]) / 1024.0
        elif line.startswith("RssFile:"):
            values["file"] = int(line.split()[1]) / 1024.0
    return values


def dataset(
    scratch: Path, count: int, queries: int, *, dimension: int, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return (memory-mapped vectors of count + queries rows, their classes), made once."""
    stem = scratch / f"clustered-{count}-{queries}-{dimension}-{noise}-{seed}"
    vectors_path, classes_path = stem.with_suffix(".f32"), stem.with_suffix(".classes.npy")
    shape = (count + queries, dimension)
    if not classes_path.exists():
        started = time.perf_counter()
        out = np.memmap(vectors_path, dtype=np.float32, mode="w+", shape=shape)
        generated = clustered_vectors(
            shape[0],
            dimension=dimension,
            seed=seed,
            config=ClusteredVectorsConfig(noise=noise),
            out=out,
        )
        out.flush()
        np.save(classes_path, generated.classes)  # written last: marks the vectors complete
        del out, generated
        print(f"{count}: generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    vectors = np.memmap(vectors_path, dtype=np.float32, mode="r", shape=shape)
    return vectors, np.load(classes_path)


def ground_truth(
    path: Path, vectors: np.ndarray, classes: np.ndarray, count: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return exact top-k positions per query, over all vectors and within the query's class."""
    if path.exists():
        with np.load(path) as cached:
            return cached["truth"], cached["filtered"]
    started = time.perf_counter()
    queries = np.ascontiguousarray(vectors[count:])
    query_classes = classes[count:]
    best = [np.full((len(queries), k), -np.inf, np.float32), np.zeros((len(queries), k), np.int64)]
    filtered = [np.full_like(best[0], -np.inf), np.zeros_like(best[1])]
    for start in range(0, count, BLOCK_ROWS):
        stop = min(count, start + BLOCK_ROWS)
        block = np.ascontiguousarray(vectors[start:stop])
        scores, positions = faiss.knn(queries, block, k, metric=faiss.METRIC_INNER_PRODUCT)
        best = _merge(best, scores, positions + start, k)
        block_classes = classes[start:stop]
        for value in np.unique(query_classes):
            rows, members = query_classes == value, np.flatnonzero(block_classes == value)
            if members.size == 0:
                continue
            scores = queries[rows] @ block[members].T
            positions = np.broadcast_to(members + start, scores.shape)
            merged = _merge([filtered[0][rows], filtered[1][rows]], scores, positions, k)
            filtered[0][rows], filtered[1][rows] = merged
    # best first, as the index answers
    best[1] = np.take_along_axis(best[1], np.argsort(-best[0], axis=1), 1)
    filtered[1] = np.take_along_axis(filtered[1], np.argsort(-filtered[0], axis=1), 1)
    np.savez(path, truth=best[1], filtered=filtered[1])
    print(f"{count}: ground truth in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return best[1], filtered[1]


def _merge(
    best: list[np.ndarray], scores: np.ndarray, positions: np.ndarray, k: int
) -> list[np.ndarray]:
    """Return the top ``k`` of ``best`` and a new block of (scores, positions)."""
    all_scores = np.hstack([best[0], scores])
    all_positions = np.hstack([best[1], positions])
    keep = np.argpartition(-all_scores, k - 1, axis=1)[:, :k]
    return [np.take_along_axis(all_scores, keep, 1), np.take_along_axis(all_positions, keep, 1)]


def recall_at(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Return the mean over queries of |found top k ∩ exact top k| / k (both best first)."""
    pairs = zip(found, truth, strict=True)
    return float(np.mean([np.intersect1d(row[:k], exact[:k]).size / k for row, exact in pairs]))


def build(
    vectors: np.ndarray,
    classes: np.ndarray,
    count: int,
    *,
    config: IndexConfig,
    folder: Path,
    chunk: int,
) -> tuple[VectorIndex, dict[str, Any]]:
    """Return the index of the first ``count`` vectors, added ``chunk`` at a time, and figures."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    gc.collect()
    before = memory_mb()
    started = time.perf_counter()
    index = VectorIndex(vectors.shape[1], config=config, vectors_prefix=folder / "part")
    for start in range(0, count, chunk):
        stop = min(count, start + chunk)
        index.add(np.arange(start, stop), np.asarray(vectors[start:stop]), classes[start:stop])
        print(f"  added {stop} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    build_s = time.perf_counter() - started
    gc.collect()
    after = memory_mb()
    index.write_files(folder / "codes.faiss", folder / "arrays.npz")
    disk_bytes = sum(path.stat().st_size for path in folder.iterdir())
    return index, {
        "build_s": build_s,
        "resident_mb": after["anonymous"] - before["anonymous"],
        "file_resident_mb": after["file"],
        "disk_mb": disk_bytes / 1e6,
        "codes_file_mb": (folder / "codes.faiss").stat().st_size / 1e6,
    }


def time_queries(
    index: VectorIndex, queries: np.ndarray, k: int, classes: np.ndarray | None = None
) -> tuple[np.ndarray, list[float], list[float]]:
    """Return (result ids, wall seconds, CPU seconds per query), every query searched alone.

    CPU time is the calling thread's (FAISS on one thread runs there): on a machine shared with
    other work it is what a query costs, where wall time also counts the waits for a core.
    """
    found = np.empty((len(queries), k), dtype=np.int64)
    seconds, cpu_seconds = [], []
    for row, query in enumerate(queries):
        allowed = None if classes is None else [int(classes[row])]
        started, cpu_started = time.perf_counter(), time.thread_time()
        found[row] = index.search(query, k, allowed_classes=allowed).ids[0]
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.thread_time() - cpu_started)
    return found, seconds, cpu_seconds


def measure_size(arguments: argparse.Namespace, count: int) -> list[dict[str, Any]]:
    """Build one size and return one row per (probes, shortlist) setting."""
    vectors, classes = dataset(
        arguments.scratch,
        count,
        arguments.queries,
        dimension=arguments.dimension,
        noise=arguments.noise,
        seed=arguments.seed,
    )
    truth_path = arguments.scratch / f"truth-{count}-{arguments.queries}-{arguments.k}.npz"
    faiss.omp_set_num_threads(arguments.build_threads)
    truth, filtered_truth = ground_truth(truth_path, vectors, classes, count, arguments.k)
    lists = arguments.lists or round(4 * math.sqrt(count))
    config = IndexConfig(
        backend=IVF_DISK,
        disk_lists=lists,
        ivf_training_vectors_max=arguments.training_vectors,
        ivf_regrow_factor=1e9,  # lists are set for the final size: no retraining while filling
        disk_sub_vector_dimensions=arguments.sub_vector_dimensions,
        disk_residual=arguments.residual,
    )
    lists = config.disk_list_count(count, min(count, arguments.training_vectors))
    # named by what decides the codes, so that --reuse finds the index of this configuration
    residual = "-residual" if arguments.residual else ""
    folder = arguments.scratch / f"index-{count}-sub{arguments.sub_vector_dimensions}{residual}"
    if arguments.reuse and (folder / "build.json").exists():
        # the index a previous run built (and its figures): only the searches are measured
        index = VectorIndex.read_files(
            folder / "codes.faiss",
            folder / "arrays.npz",
            config=config,
            vectors_path=next(folder.glob("part.*.f32")),
        )
        figures = json.loads((folder / "build.json").read_text())
    else:
        index, figures = build(
            vectors, classes, count, config=config, folder=folder, chunk=arguments.chunk
        )
        (folder / "build.json").write_text(json.dumps(figures))
    # fixed part: coarse centroids (float32) and PQ codebooks (16 centroids per sub-quantiser)
    fixed_mb = (lists * arguments.dimension * 4 + 16 * arguments.dimension * 4) / 1e6
    per_vector_bytes = (figures["resident_mb"] - fixed_mb) * 1e6 / count
    figures.update(
        count=count,
        dimension=arguments.dimension,
        lists=lists,
        fixed_mb=fixed_mb,
        bytes_per_vector=per_vector_bytes,
        projected_10m_mb=(per_vector_bytes * TEN_MILLION) / 1e6 + fixed_mb,
    )
    print(f"{count}: {figures}", file=sys.stderr, flush=True)
    faiss.omp_set_num_threads(1)
    queries = np.ascontiguousarray(vectors[count:])
    query_classes = classes[count:]
    rows = []
    for probes in arguments.probes:
        for factor in arguments.shortlist_factors:
            # search settings only: the benchmark swaps the config of the built index
            index._config = dataclasses.replace(
                config, disk_probes=probes, disk_shortlist_factor=factor
            )
            index.search(queries[:20], arguments.k)  # warm the caches
            found, seconds, cpu_seconds = time_queries(index, queries, arguments.k)
            row = {
                **figures,
                "probes": probes,
                "shortlist": factor * arguments.k,
                "single_ms": 1000 * float(np.median(seconds)),
                "single_p95_ms": 1000 * float(np.percentile(seconds, 95)),
                "single_cpu_ms": 1000 * float(np.median(cpu_seconds)),
                "recall_at_10": recall_at(found, truth, 10),
                "recall_at_50": recall_at(found, truth, 50),
            }
            if not arguments.no_filter:
                found, seconds, _ = time_queries(index, queries, arguments.k, query_classes)
                row["filtered_recall_at_50"] = recall_at(found, filtered_truth, 50)
                row["filtered_single_ms"] = 1000 * float(np.median(seconds))
            print(
                f"  probes {probes} shortlist {factor * arguments.k}: "
                f"R@50 {row['recall_at_50']:.4f}, {row['single_ms']:.2f} ms/query",
                file=sys.stderr,
                flush=True,
            )
            rows.append(row)
    del index
    gc.collect()
    return rows


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000", help="comma-separated counts")
    parser.add_argument("--dimension", type=int, default=512, help="vector length")
    parser.add_argument("--queries", type=int, default=1000, help="held-out queries")
    parser.add_argument("--k", type=int, default=50, help="results per query (>= 50)")
    parser.add_argument("--probes", default="128,192,256", help="lists probed, comma-separated")
    parser.add_argument(
        "--shortlist-factors", default="4,10", help="shortlist = factor x k, comma-separated"
    )
    parser.add_argument("--lists", type=int, default=0, help="inverted lists (0: 4 sqrt(N))")
    parser.add_argument("--training-vectors", type=int, default=200_000, help="training sample")
    parser.add_argument("--chunk", type=int, default=500_000, help="vectors per add")
    defaults = IndexConfig()
    parser.add_argument(
        "--sub-vector-dimensions",
        type=int,
        default=defaults.disk_sub_vector_dimensions,
        help="values per 4-bit sub-quantiser",
    )
    parser.add_argument(
        "--residual",
        action=argparse.BooleanOptionalAction,
        default=defaults.disk_residual,
        help="encode differences from the list centroids",
    )
    parser.add_argument("--build-threads", type=int, default=2, help="FAISS threads to build")
    parser.add_argument("--noise", type=float, default=0.2, help="synthetic noise per dimension")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the synthetic vectors")
    parser.add_argument("--no-filter", action="store_true", help="skip the calibre filter")
    parser.add_argument(
        "--reuse", action="store_true", help="search the index a previous run left in --scratch"
    )
    parser.add_argument(
        "--scratch", type=Path, default=Path("/tmp/indexer-10m"), help="vectors, truth, index"
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR / "index_10m.json", help="JSON record"
    )
    arguments = parser.parse_args(argv)
    try:
        arguments.sizes = [int(size) for size in arguments.sizes.split(",")]
        arguments.probes = [int(value) for value in arguments.probes.split(",")]
        arguments.shortlist_factors = [
            int(value) for value in arguments.shortlist_factors.split(",")
        ]
    except ValueError:
        parser.error("--sizes, --probes and --shortlist-factors take comma-separated integers")
    if arguments.k < 50 or min(arguments.sizes) < 1 or arguments.queries < 1:
        parser.error("--k must be at least 50, --sizes and --queries positive")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every size, print the table and write the JSON record."""
    arguments = parse_arguments(argv)
    arguments.scratch.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for size in arguments.sizes:
        rows.extend(measure_size(arguments, size))
    notes = [
        f"faiss {faiss.__version__}; queries timed one at a time on 1 FAISS thread; builds and "
        f"ground truth on {arguments.build_threads}",
        "resident MB: anonymous resident memory the build added (codes, lists, ids); the vector "
        "file is read through the page cache (file_resident_mb), warm after the first queries",
        "MB at 10M: (resident MB - fixed) / N x 10M + fixed; fixed = coarse centroids + codebooks",
        "disk MB: vector file (float32 rows) + codes file + id arrays",
    ]
    print(format_table(rows, TABLE_COLUMNS))
    for note in notes:
        print(f"note: {note}")
    recorded = {**vars(arguments), "faiss_version": faiss.__version__}
    path = write_record(
        arguments.out, benchmark="index_10m", arguments=recorded, results=rows, notes=notes
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

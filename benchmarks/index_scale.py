"""Scale of the vector index: build time, memory, query speed and recall against exact search.

For each size and backend the script builds an :class:`indexer.VectorIndex` of unit vectors and
measures the build (seconds, resident memory it added), single-query latency (one query per call,
repeated for at least ``--min-seconds``), batched throughput (all queries in one call, repeated
likewise), and recall@10 and recall@50 against FAISS's own exact search (``IndexFlatIP``), which
is the ground truth. Recall@K is ``|found top K ∩ exact top K| / K`` averaged over the queries.
With synthetic data it also measures the calibre filter: each query filtered to its own class.

    python benchmarks/index_scale.py                                   # 10k, 100k, 1M
    python benchmarks/index_scale.py --sizes 10000,100000 --backends hnsw --threads 2
    python benchmarks/index_scale.py --vectors descriptors.npy         # real descriptors

Data
----
Until real descriptors exist the vectors come from :func:`indexer.synthetic.clustered_vectors`:
classes (calibres) of sources (firearms) of members (fired exhibits) in a 32-dimensional latent
space, mapped to ``--dimension`` dimensions with isotropic noise (``--noise``) and normalised; see
that module for the model. Isotropic random vectors are not used: every approximate index fails
on them, and descriptors are not like them. ``--vectors FILE.npy`` runs on a (count, dimension)
array instead; the last ``--queries`` rows are the queries and never in the index.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS_DIR, format_table, write_record
from indexer import AUTO, BACKENDS, IndexConfig, VectorIndex
from indexer.synthetic import ClusteredVectorsConfig, clustered_vectors

TABLE_COLUMNS = (
    ("count", "N", "d"),
    ("backend", "backend", "s"),
    ("build_s", "build s", ".1f"),
    ("memory_mb", "memory MB", ".0f"),
    ("single_ms", "ms/q", ".2f"),
    ("single_p95_ms", "p95 ms", ".2f"),
    ("batch_queries_per_s", "q/s batch", ".0f"),
    ("recall_at_10", "R@10", ".4f"),
    ("recall_at_50", "R@50", ".4f"),
    ("filtered_recall_at_50", "R@50 calibre", ".4f"),
    ("filtered_single_ms", "ms/q calibre", ".2f"),
)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Unit vectors to index, held-out queries, and classes where known."""

    vectors: np.ndarray
    queries: np.ndarray
    classes: np.ndarray | None
    query_classes: np.ndarray | None


def resident_mb() -> float:
    """Return this process's resident memory in MB (Linux; NaN elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def peak_resident_mb() -> float:
    """Return the peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def unit_rows(array: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit length (as the index stores them)."""
    rows = np.array(array, dtype=np.float32, order="C")
    faiss.normalize_L2(rows)
    return rows


def synthetic_dataset(
    count: int, queries: int, *, dimension: int, noise: float, seed: int
) -> Dataset:
    """Return ``count`` clustered vectors plus ``queries`` more from the same sources."""
    generated = clustered_vectors(
        count + queries,
        dimension=dimension,
        seed=seed,
        config=ClusteredVectorsConfig(noise=noise),
    )
    # rows come in random order, so the last ones are random exhibits of the same population
    return Dataset(
        vectors=generated.vectors[:count],
        queries=generated.vectors[count:],
        classes=generated.classes[:count],
        query_classes=generated.classes[count:],
    )


def file_dataset(path: Path, count: int, queries: int) -> Dataset:
    """Return the first ``count`` rows of a .npy file and its last ``queries`` rows as queries."""
    array = np.load(path, mmap_mode="r")
    if array.ndim != 2:
        raise SystemExit(f"{path}: expected a (count, dimension) array, got shape {array.shape}")
    return Dataset(
        vectors=unit_rows(array[:count]),
        queries=unit_rows(array[len(array) - queries :]),
        classes=None,
        query_classes=None,
    )


def exact_neighbours(
    dataset: Dataset, k: int, *, by_class: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return FAISS's exact top-k positions per query, unfiltered and filtered to its class."""
    flat = faiss.IndexFlatIP(dataset.vectors.shape[1])
    flat.add(dataset.vectors)
    _, truth = flat.search(dataset.queries, k)
    filtered = None
    if by_class and dataset.classes is not None and dataset.query_classes is not None:
        filtered = np.full((len(dataset.queries), k), -1, dtype=np.int64)
        for value in np.unique(dataset.query_classes):
            rows = np.flatnonzero(dataset.query_classes == value)
            bitmap = np.packbits(dataset.classes == value, bitorder="little")
            selector = faiss.IDSelectorBitmap(bitmap.size, faiss.swig_ptr(bitmap))
            parameters = faiss.SearchParameters(sel=selector)
            _, found = flat.search(dataset.queries[rows], k, params=parameters)
            filtered[rows] = found
    return truth, filtered


def recall_at(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Return the mean over queries of |found top k ∩ exact top k| / |exact top k|.

    ``-1`` marks an empty slot in either (a filter admitting fewer than k vectors); a query with
    no exact neighbour at all is left out.
    """
    fractions = []
    for row, expected in zip(found, truth, strict=True):
        expected = expected[:k][expected[:k] >= 0]
        if expected.size:
            fractions.append(np.intersect1d(row[:k], expected).size / expected.size)
    return float(np.mean(fractions)) if fractions else float("nan")


def repeat_for(seconds: float, call: Callable[[int], None], rounds_at_least: int) -> list[float]:
    """Run ``call(i)`` for i = 0, 1, ... until ``seconds`` passed and ``rounds_at_least`` ran;
    return each call's duration in seconds."""
    durations: list[float] = []
    started = time.perf_counter()
    index = 0
    while time.perf_counter() - started < seconds or index < rounds_at_least:
        before = time.perf_counter()
        call(index)
        durations.append(time.perf_counter() - before)
        index += 1
    return durations


def measure(
    dataset: Dataset,
    backend: str,
    *,
    config: IndexConfig,
    k: int,
    truth: np.ndarray,
    filtered_truth: np.ndarray | None,
    min_seconds: float,
) -> dict[str, Any]:
    """Build one index and return its row of the table."""
    count, dimension = dataset.vectors.shape
    positions = np.arange(count, dtype=np.int64)  # ids are positions: compare with the truth
    gc.collect()
    memory_before = resident_mb()
    started = time.perf_counter()
    index = VectorIndex(dimension, config=dataclasses.replace(config, backend=backend))
    index.add(positions, dataset.vectors, dataset.classes)
    build_s = time.perf_counter() - started
    gc.collect()
    memory_mb = resident_mb() - memory_before
    queries = dataset.queries
    batch = index.search(queries, k)
    single = repeat_for(
        min_seconds, lambda i: index.search(queries[i % len(queries)], k), rounds_at_least=20
    )
    batched = repeat_for(min_seconds, lambda i: index.search(queries, k), rounds_at_least=1)
    row: dict[str, Any] = {
        "count": count,
        "dimension": dimension,
        "requested_backend": backend,
        "backend": index.backend,
        "build_s": build_s,
        "memory_mb": memory_mb,
        "peak_memory_mb": peak_resident_mb(),
        "single_ms": 1000 * float(np.median(single)),
        "single_p95_ms": 1000 * float(np.percentile(single, 95)),
        "single_queries_timed": len(single),
        "batch_queries_per_s": len(queries) / float(np.median(batched)),
        "recall_at_10": recall_at(batch.ids, truth, 10) if k >= 10 else None,
        "recall_at_50": recall_at(batch.ids, truth, 50) if k >= 50 else None,
    }
    if filtered_truth is not None and dataset.query_classes is not None:
        classes = dataset.query_classes
        found = np.vstack(
            [
                index.search(queries[row], k, allowed_classes=[int(classes[row])]).ids
                for row in range(len(queries))
            ]
        )
        filtered = repeat_for(
            min_seconds,
            lambda i: index.search(
                queries[i % len(queries)], k, allowed_classes=[int(classes[i % len(queries)])]
            ),
            rounds_at_least=20,
        )
        row["filtered_recall_at_50"] = recall_at(found, filtered_truth, min(k, 50))
        row["filtered_single_ms"] = 1000 * float(np.median(filtered))
    return row  # the index is freed here, before the next one is built


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    defaults = IndexConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="comma-separated vector counts"
    )
    parser.add_argument(
        "--backends",
        default="flat,hnsw,ivf",
        help=f"comma-separated, of {(AUTO, *BACKENDS)} (auto: what the default config picks)",
    )
    parser.add_argument("--dimension", type=int, default=256, help="vector length (synthetic)")
    parser.add_argument("--queries", type=int, default=1000, help="held-out queries")
    parser.add_argument("--k", type=int, default=50, help="results per query (>= 50 for R@50)")
    parser.add_argument(
        "--min-seconds", type=float, default=2.0, help="repeat each timing at least this long"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="FAISS OpenMP threads (default: FAISS's own)"
    )
    parser.add_argument("--noise", type=float, default=0.2, help="synthetic noise per dimension")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the synthetic vectors")
    parser.add_argument("--vectors", type=Path, default=None, help="real vectors, a .npy file")
    parser.add_argument("--no-filter", action="store_true", help="skip the calibre filter")
    parser.add_argument("--hnsw-neighbors", type=int, default=defaults.hnsw_neighbors)
    parser.add_argument("--hnsw-build-breadth", type=int, default=defaults.hnsw_build_breadth)
    parser.add_argument("--hnsw-search-breadth", type=int, default=defaults.hnsw_search_breadth)
    parser.add_argument(
        "--hnsw-breadth-per-result", type=int, default=defaults.hnsw_breadth_per_result
    )
    parser.add_argument("--ivf-probes", type=int, default=defaults.ivf_probes)
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR / "index_scale.json", help="JSON record"
    )
    arguments = parser.parse_args(argv)
    try:
        arguments.sizes = [int(size) for size in arguments.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {arguments.sizes!r}")
    arguments.backends = [name.strip() for name in arguments.backends.split(",")]
    unknown = [name for name in arguments.backends if name not in (AUTO, *BACKENDS)]
    if unknown:
        parser.error(f"unknown backend {unknown[0]!r}; choose from {(AUTO, *BACKENDS)}")
    if min(arguments.sizes) < 1 or arguments.queries < 1 or arguments.k < 1:
        parser.error("--sizes, --queries and --k must be positive")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every (size, backend), print the table and write the JSON record."""
    arguments = parse_arguments(argv)
    if arguments.threads is not None:
        faiss.omp_set_num_threads(arguments.threads)
    config = IndexConfig(
        hnsw_neighbors=arguments.hnsw_neighbors,
        hnsw_build_breadth=arguments.hnsw_build_breadth,
        hnsw_search_breadth=arguments.hnsw_search_breadth,
        hnsw_breadth_per_result=arguments.hnsw_breadth_per_result,
        ivf_probes=arguments.ivf_probes,
    )
    notes = [
        f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} OpenMP threads",
        "memory MB: resident memory added by building the index (vectors, graph or lists, ids)",
        f"config: {dataclasses.asdict(config)}",
    ]
    rows: list[dict[str, Any]] = []
    for size in arguments.sizes:
        if arguments.vectors is not None:
            available = len(np.load(arguments.vectors, mmap_mode="r")) - arguments.queries
            if size > available:
                notes.append(f"{size}: skipped, {arguments.vectors} holds only {available} rows")
                continue
            dataset = file_dataset(arguments.vectors, size, arguments.queries)
        else:
            dataset = synthetic_dataset(
                size,
                arguments.queries,
                dimension=arguments.dimension,
                noise=arguments.noise,
                seed=arguments.seed,
            )
        started = time.perf_counter()
        truth, filtered_truth = exact_neighbours(
            dataset, arguments.k, by_class=not arguments.no_filter
        )
        print(
            f"{size}: exact ground truth in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        for backend in arguments.backends:
            row = measure(
                dataset,
                backend,
                config=config,
                k=arguments.k,
                truth=truth,
                filtered_truth=filtered_truth,
                min_seconds=arguments.min_seconds,
            )
            row["noise"] = None if arguments.vectors is not None else arguments.noise
            rows.append(row)
            print(
                f"{size} {row['backend']}: built in {row['build_s']:.1f} s, "
                f"R@10 {row['recall_at_10']}, {row['single_ms']:.2f} ms/query",
                file=sys.stderr,
                flush=True,
            )
        del dataset, truth, filtered_truth
        gc.collect()
    print(format_table(rows, TABLE_COLUMNS))
    for note in notes:
        print(f"note: {note}")
    recorded = {
        **vars(arguments),
        "faiss_version": faiss.__version__,
        "omp_threads": faiss.omp_get_max_threads(),
    }
    path = write_record(
        arguments.out, benchmark="index_scale", arguments=recorded, results=rows, notes=notes
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

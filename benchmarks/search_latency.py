"""End-to-end ``search`` latency against a large store: descriptor, vector index, re-ranking.

What is measured is what ``ballistics search FILE`` costs a user once the store is open: read the
X3P file, prepare the casing, compute its descriptor, query the vector index for the re-rank
depth (``ServiceConfig.top_k``), fetch those candidates' encoded marks from the database, decode
and compare each with the query on the service's worker pool, and rank them
(:meth:`api.service.EvidenceService.search`). Prints one header and one row per worker setting
(p50, p95 and mean seconds per search, hit rate at 1) and writes arguments, hardware and results
as JSON.

    python benchmarks/search_latency.py --exhibits 2000 --queries 5     # quick check
    python benchmarks/search_latency.py                                 # 100k exhibits
    python benchmarks/search_latency.py --store /tmp/latency-100k --keep --workers 2 1

Design (what is real and what is synthetic)
-------------------------------------------
- A pool of ``--pool-pistols`` x ``--pool-firings`` synthetic casings
  (:func:`ballistics.synthetic.make_casing_dataset`, topographies at the renderer's default
  10 µm pixel) is written as X3P files and read back through the service's own extraction
  (:func:`ballistics.items.read.extract_casing`: read, prepare, describe, encode): real marks and
  real descriptors.
- The store holds ``--exhibits`` exhibits: exhibit ``i`` takes pool casing ``i mod P``. Its
  encoded mark is stored in its own row (so the database really holds N marks, ~0.37 MB each:
  ~37 GB at 100k), and its descriptor is the pool descriptor plus Gaussian noise
  (``--descriptor-noise`` per dimension), renormalised: the index holds N distinct vectors
  clustered around P centres, like many firings of few guns. Exhibits are spread over agencies
  of several countries and many cases. The rows are written in bulk through SQLAlchemy Core
  with the journal off and no fsync (a throw-away store; rebuild it if a build is killed),
  not through ``ingest``: building is not what is measured, and is timed apart. No original
  files and no audit lines are stored for these rows; ``search`` reads neither.
- The service is then opened on the store with ``top_k = --rerank``; opening builds the vector
  index from the stored descriptors (the reconcile of :mod:`api.service.index`), timed apart.
- Each query is a new firing of a pool pistol (a seed the pool never used), rendered and
  written as an X3P file before the clock starts; the clock covers ``service.search(path,
  top=10)`` only. One unmeasured search first starts the worker pool. A query is a hit at 1
  when the best candidate was fired by the query's pistol (exhibit ids start with the
  pistol's id) -- a sanity check that the search did its work, not an accuracy figure.

Caveats: the re-ranked candidates of a query are near-duplicate copies of a few pool casings
(their descriptors sit around the same centres), so the comparisons are of realistic marks but
not of N distinct ones; each stored copy has its own id, so the workers' mark cache does not
serve one copy for another. SQLite only (``--store`` folder); the page cache of the machine
decides how much of the 20 marks' reading comes from disk.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
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
from benchmarks._common import RESULTS_DIR, finish_run, format_table

TABLE_COLUMNS = (
    ("exhibits", "exhibits", "d"),
    ("rerank", "rerank", "d"),
    ("workers", "workers", "d"),
    ("queries", "queries", "d"),
    ("p50_s", "p50 s", ".2f"),
    ("p95_s", "p95 s", ".2f"),
    ("mean_s", "mean s", ".2f"),
    ("hit_at_1", "hit@1", ".2f"),
)
#: (agency, country): exhibits are spread over these, cases over each agency
AGENCIES = tuple(
    (f"Latency Lab {index + 1:02d}", country)
    for index, country in enumerate(("NL", "BE", "DE", "FR", "TT", "JM", "GB", "ES") * 3)
)
EXHIBITS_PER_CASE = 4
COMMIT_EVERY = 2000
CALIBER = "9mm"
# database bytes per exhibit besides its mark: descriptor (2 KiB), rows, indexes
_ROW_OVERHEAD_BYTES = 4096
_DISK_SPARE = 1.2


@dataclasses.dataclass(frozen=True, eq=False)
class PoolCasing:
    """One real synthetic casing of the pool: its pistol, encoded mark and descriptor."""

    firearm_id: str
    firing: int
    encoded: bytes
    descriptor: np.ndarray


def make_pool(
    *, pistols: int, firings: int, seed: int, folder: Path
) -> tuple[list[PoolCasing], list[Any]]:
    """Render, write, read back and prepare the pool; return it and its pistols' records."""
    from ballistics.casing.prepare import PrepareConfig
    from ballistics.items.read import extract_casing
    from ballistics.synthetic import make_casing_dataset, write_exhibit_files

    records = make_casing_dataset(
        firearm_count=pistols, firings_per_firearm=firings, seed=seed, modality=None
    )
    write_exhibit_files(records, folder)
    pool = []
    for record in records:
        path = folder / f"{record.exhibit_id}.x3p"
        extracted = extract_casing(
            path.read_bytes(), name=str(path), pixel_um=None, prepare_config=PrepareConfig()
        )
        pool.append(
            PoolCasing(
                firearm_id=record.firearm_id,
                firing=int(record.exhibit_id.rsplit("-", 1)[1]),
                encoded=extracted.encoded,
                descriptor=extracted.descriptor,
            )
        )
    return pool, records


def stored_count(store_dir: Path) -> int:
    """Return the exhibits with a mark in the SQLite store in ``store_dir`` (0 when none)."""
    import sqlite3

    from api.store.database import SQLITE_FILE_NAME

    path = store_dir / SQLITE_FILE_NAME
    if not path.is_file():
        return 0
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM exhibit_marks").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        connection.close()


def check_disk(store_dir: Path, *, exhibits: int, mark_bytes: float) -> int:
    """Return the bytes the store will take; raise SystemExit when the disk cannot hold them."""
    needed = int(exhibits * (mark_bytes + _ROW_OVERHEAD_BYTES))
    existing = store_dir
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if needed * _DISK_SPARE > free:
        raise SystemExit(
            f"a store of {exhibits} exhibits needs about {needed / 1e9:.1f} GB (+20 % spare) but "
            f"{existing} has {free / 1e9:.1f} GB free; give fewer --exhibits or a --store on a "
            "larger disk."
        )
    return needed


def build_store(
    store_dir: Path,
    pool: Sequence[PoolCasing],
    *,
    exhibits: int,
    descriptor_noise: float,
    seed: int,
) -> None:
    """Write ``exhibits`` exhibits (marks and noisy descriptors from ``pool``) into a new store."""
    from sqlalchemy import create_engine, event, insert

    from api.service.config import DEFAULT_SERVICE_CONFIG, preparation_version
    from api.store.database import SQLITE_FILE_NAME, open_store
    from api.store.models import Agency, Case, Exhibit, ExhibitDescriptor, ExhibitMark
    from ballistics.descriptors import DESCRIPTOR_DIMENSION, DESCRIPTOR_VERSION

    open_store(store_dir).close()  # creates the schema through the migrations
    engine = create_engine(f"sqlite:///{store_dir / SQLITE_FILE_NAME}")

    @event.listens_for(engine, "connect")
    def _fast_writes(dbapi_connection: Any, _record: Any) -> None:
        # a throw-away store: no rollback journal and no fsync, or 37 GB are written twice
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = OFF")
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.close()

    rng = np.random.default_rng(seed)
    version = preparation_version(DEFAULT_SERVICE_CONFIG)
    now = datetime.datetime.now(datetime.UTC)
    case_count = -(-exhibits // EXHIBITS_PER_CASE)
    with engine.begin() as connection:
        connection.execute(
            insert(Agency.__table__),
            [
                {"id": index + 1, "name": name, "country": country, "role": "lab"}
                for index, (name, country) in enumerate(AGENCIES)
            ],
        )
        connection.execute(
            insert(Case.__table__),
            [
                {
                    "id": case + 1,
                    "agency_pk": case % len(AGENCIES) + 1,
                    "case_id": f"LAT-{case + 1:06d}",
                }
                for case in range(case_count)
            ],
        )
    started = time.perf_counter()
    for start in range(0, exhibits, COMMIT_EVERY):
        positions = range(start, min(start + COMMIT_EVERY, exhibits))
        sources = [pool[position % len(pool)] for position in positions]
        vectors = np.stack([source.descriptor for source in sources]).astype(np.float32)
        vectors += rng.normal(0.0, descriptor_noise, vectors.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        exhibit_rows, mark_rows, descriptor_rows = [], [], []
        for position, source, vector in zip(positions, sources, vectors, strict=True):
            key = position + 1
            case = position // EXHIBITS_PER_CASE
            exhibit_rows.append(
                {
                    "id": key,
                    "agency_pk": case % len(AGENCIES) + 1,
                    "case_pk": case + 1,
                    # the pistol's id first: a candidate's pistol is read from its exhibit id
                    "exhibit_id": f"{source.firearm_id}-{source.firing:02d}-{key:07d}",
                    "kind": "cartridge_case",
                    "caliber": CALIBER,
                    "modality": "topography",
                    "sha256": hashlib.sha256(f"latency-{key}".encode()).hexdigest(),
                    "pixel_um": 10.0,
                    "status": "correlated",
                }
            )
            mark_rows.append(
                {
                    "exhibit_pk": key,
                    "kind": "cartridge_case",
                    "preparation_version": version,
                    "data": source.encoded,
                    "created_at": now,
                }
            )
            descriptor_rows.append(
                {
                    "exhibit_pk": key,
                    "version": DESCRIPTOR_VERSION,
                    "dimension": DESCRIPTOR_DIMENSION,
                    "vector": vector.astype("<f4").tobytes(),
                    "created_at": now,
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(Exhibit.__table__), exhibit_rows)
            connection.execute(insert(ExhibitMark.__table__), mark_rows)
            connection.execute(insert(ExhibitDescriptor.__table__), descriptor_rows)
        done = positions[-1] + 1
        elapsed = time.perf_counter() - started
        print(
            f"built {done}/{exhibits} exhibits in {elapsed:.0f} s "
            f"(~{elapsed / done * (exhibits - done):.0f} s left)",
            file=sys.stderr,
            flush=True,
        )
    engine.dispose()


def write_queries(
    records: Sequence[Any], *, count: int, seed: int, folder: Path
) -> list[tuple[Path, str]]:
    """Write ``count`` new firings of the pool's pistols as X3P files; return (path, pistol)."""
    from ballistics.io.x3p import write_x3p
    from ballistics.synthetic import STANDARD_BRANDS, fire, make_ammunition, render_topography
    from ballistics.synthetic.fields import stable_seed

    firearms = list({record.firearm_id: record.firearm for record in records}.values())
    folder.mkdir(parents=True, exist_ok=True)
    queries = []
    for index in range(count):
        firearm = firearms[index % len(firearms)]
        fired = fire(
            firearm,
            make_ammunition(STANDARD_BRANDS[index % len(STANDARD_BRANDS)]),
            seed=stable_seed("latency-query", seed, index) % 2**31,
        )
        path = folder / f"query-{index:03d}-{firearm.identifier}.x3p"
        write_x3p(render_topography(fired), path)
        queries.append((path, firearm.identifier))
    return queries


def measure_searches(
    store_dir: Path,
    queries: Sequence[tuple[Path, str]],
    *,
    exhibits: int,
    rerank: int,
    workers: int,
    top: int,
) -> dict[str, Any]:
    """Open the service on the store, run every query once, and return one result row."""
    from api.service import DEFAULT_SERVICE_CONFIG, EvidenceService

    config = dataclasses.replace(DEFAULT_SERVICE_CONFIG, top_k=rerank)
    started = time.perf_counter()
    with EvidenceService.open(store_dir, config=config, workers=workers, create=False) as service:
        open_s = time.perf_counter() - started
        state = service.index_state
        warm_started = time.perf_counter()
        service.search(queries[0][0], top=top)  # starts the worker pool; not counted
        first_search_s = time.perf_counter() - warm_started
        seconds, service_seconds, hits, considered = [], [], [], []
        for path, pistol in queries:
            started = time.perf_counter()
            outcome = service.search(path, top=top)
            seconds.append(time.perf_counter() - started)
            service_seconds.append(outcome.elapsed_s)
            considered.append(outcome.considered)
            best = outcome.candidates[0].exhibit_id if outcome.candidates else ""
            hits.append(best.split("-", 1)[0] == pistol)
    values = np.asarray(seconds)
    return {
        "exhibits": exhibits,
        "rerank": rerank,
        "workers": workers,
        "queries": len(queries),
        "p50_s": float(np.median(values)),
        "p95_s": float(np.percentile(values, 95)),
        "mean_s": float(values.mean()),
        "max_s": float(values.max()),
        "hit_at_1": float(np.mean(hits)),
        "considered_min": int(min(considered)),
        "open_s": open_s,
        "index_added_on_open": state.added,
        "first_search_s": first_search_s,
        "seconds": [float(value) for value in seconds],
        "service_elapsed_s": [float(value) for value in service_seconds],
    }


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exhibits", type=int, default=100_000, help="stored exhibits")
    parser.add_argument("--pool-pistols", type=int, default=16, help="pistols of the pool")
    parser.add_argument("--pool-firings", type=int, default=3, help="firings per pool pistol")
    parser.add_argument("--queries", type=int, default=30, help="searches measured per setting")
    parser.add_argument(
        "--rerank", type=int, default=20, help="candidates re-ranked per search (top_k)"
    )
    parser.add_argument("--top", type=int, default=10, help="candidates returned per search")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[available_cores()],
        help="worker processes, one row each (default: all cores)",
    )
    parser.add_argument(
        "--descriptor-noise",
        type=float,
        default=0.015,
        help="per-dimension noise added to each stored copy's descriptor before renormalising",
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of pool, noise and queries")
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        help="store folder (reused when it holds --exhibits exhibits; default a temporary one)",
    )
    parser.add_argument("--keep", action="store_true", help="do not delete the store at the end")
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR / "search_latency.json", help="JSON record"
    )
    arguments = parser.parse_args(argv)
    for name in ("exhibits", "pool_pistols", "pool_firings", "queries", "rerank", "top"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(arguments.workers) < 1:
        parser.error("--workers must be at least 1")
    if arguments.descriptor_noise < 0:
        parser.error("--descriptor-noise must be >= 0")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or reuse) the store, measure every worker setting, print and record the rows."""
    arguments = parse_arguments(argv)
    scratch = Path(tempfile.mkdtemp(prefix="search-latency-", dir="/tmp"))
    store_dir = arguments.store or scratch / "store"
    notes: list[str] = []
    built_here = False  # a store this run did not build is never deleted
    try:
        started = time.perf_counter()
        pool, records = make_pool(
            pistols=arguments.pool_pistols,
            firings=arguments.pool_firings,
            seed=arguments.seed,
            folder=scratch / "pool",
        )
        pool_s = time.perf_counter() - started
        mark_bytes = float(np.mean([len(casing.encoded) for casing in pool]))
        print(f"pool of {len(pool)} casings prepared in {pool_s:.0f} s", file=sys.stderr)
        found = stored_count(store_dir)
        build_s = None
        if found == arguments.exhibits:
            notes.append(f"reused the store in {store_dir} ({found} exhibits)")
        else:
            if found:
                raise SystemExit(
                    f"{store_dir} holds a store of {found} exhibits, not {arguments.exhibits}; "
                    "give another --store or delete that one."
                )
            check_disk(store_dir, exhibits=arguments.exhibits, mark_bytes=mark_bytes)
            built_here = True
            started = time.perf_counter()
            build_store(
                store_dir,
                pool,
                exhibits=arguments.exhibits,
                descriptor_noise=arguments.descriptor_noise,
                seed=arguments.seed,
            )
            build_s = time.perf_counter() - started
        store_bytes = sum(path.stat().st_size for path in store_dir.rglob("*") if path.is_file())
        queries = write_queries(
            records, count=arguments.queries, seed=arguments.seed, folder=scratch / "queries"
        )
        rows = []
        for workers in arguments.workers:
            row = measure_searches(
                store_dir,
                queries,
                exhibits=arguments.exhibits,
                rerank=arguments.rerank,
                workers=workers,
                top=arguments.top,
            )
            row.update(
                {
                    "pool_casings": len(pool),
                    "pool_s": pool_s,
                    "build_s": build_s,
                    "store_bytes": store_bytes,
                    "mark_bytes_mean": mark_bytes,
                }
            )
            rows.append(row)
            print(
                f"workers {workers}: opened (index built) in {row['open_s']:.1f} s, first "
                f"search {row['first_search_s']:.1f} s",
                file=sys.stderr,
            )
        print(format_table(rows, TABLE_COLUMNS))
        built = "reused" if build_s is None else f"{build_s:.0f} s"
        print(f"store: {arguments.exhibits} exhibits, {store_bytes / 1e9:.2f} GB, build {built}")
        finish_run(
            arguments.out,
            benchmark="search_latency",
            arguments=vars(arguments),
            results=rows,
            notes=notes,
        )
    finally:
        shutil.rmtree(scratch / "pool", ignore_errors=True)
        shutil.rmtree(scratch / "queries", ignore_errors=True)
        if arguments.keep or not built_here:
            print(f"kept the store in {store_dir}", file=sys.stderr)
        else:
            shutil.rmtree(store_dir, ignore_errors=True)
        if not any(scratch.iterdir()):
            scratch.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())

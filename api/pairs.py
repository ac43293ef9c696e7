"""Compare evidence items pair by pair: each item read and prepared once, pairs on all cores.

The command line (``ballistics compare``) and the accuracy benchmarks drive the engine through
these functions, so that both measure the same path a lab's file takes: bytes -> ``Surface`` ->
prepared mark -> comparison. Two kinds of item, dispatched on :attr:`Item.kind`:

- a cartridge case: one file (X3P, PNG, TIFF, JPEG) -> ``PreparedCasing`` ->
  ``CasingComparison`` -> :func:`comparison_record`;
- a bullet: a folder of one X3P per land -> ``PreparedBullet`` -> ``BulletComparison`` ->
  :func:`bullet_comparison_record`.

Items of different kinds are never compared with each other; a pair of them is refused (one
line naming both) before anything is read.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ballistics.bullet import (
    DEFAULT_BULLET_CONFIG,
    BulletComparison,
    BulletConfig,
    PreparedBullet,
    compare_bullets,
    compare_lands,
    read_bullet,
)
from ballistics.casing.compare import (
    CasingComparison,
    CasingPyramid,
    CompareConfig,
    compare_casings,
    compare_pyramids,
    comparison_pyramid,
)
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.prepare import PrepareConfig, prepare_casing
from ballistics.errors import EvidenceError
from ballistics.io import read_surface

logger = logging.getLogger(__name__)

# frozen, so one shared default instance is safe
DEFAULT_PREPARE_CONFIG = PrepareConfig()
DEFAULT_COMPARE_CONFIG = CompareConfig()

CARTRIDGE_CASE = "cartridge_case"
BULLET = "bullet"
KINDS = (CARTRIDGE_CASE, BULLET)

#: called as ``progress(stage, done, total)`` with stage "prepare" or "compare"
ProgressCallback = Callable[[str, int, int], None]

#: what :func:`prepare_item` returns: a cartridge case's marks, or a bullet's prepared lands
PreparedItem = PreparedCasing | PreparedBullet


class KindNotAvailableError(ValueError):
    """The kind of item asked for cannot be compared by this version of the engine."""


@dataclass(frozen=True)
class Item:
    """One evidence item to read: where it is, its resolution when the file lacks it, its kind.

    Parameters
    ----------
    path
        The file (a cartridge case) or folder (a bullet's lands, one X3P per land).
    pixel_um
        Micrometres per pixel for 2D images that carry no resolution; None to take it from the
        file. Not used for bullets, whose land scans are X3P files that carry their resolution.
    kind
        ``"cartridge_case"`` or ``"bullet"``.
    """

    path: Path
    pixel_um: float | None = None
    kind: str = CARTRIDGE_CASE

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}; fix the kind column "
                "or the --kind option."
            )
        if self.pixel_um is not None and not (math.isfinite(self.pixel_um) and self.pixel_um > 0):
            raise ValueError(
                f"pixel_um must be a positive number of micrometres per pixel, got "
                f"{self.pixel_um!r}."
            )


@dataclass(frozen=True)
class Pair:
    """One row of a pairs list: the two items, named as the user wrote them.

    Parameters
    ----------
    a, b
        The paths exactly as written (in the CSV or on the command line), echoed in the results.
    item_a, item_b
        What to read; None when the row itself is wrong (then ``error`` says why).
    error
        A problem found in the row before any file is read (an unknown kind, a bad pixel size).
    """

    a: str
    b: str
    item_a: Item | None = None
    item_b: Item | None = None
    error: str | None = None


@dataclass(frozen=True)
class PairsRun:
    """What :func:`compare_pairs` produced, with its timing.

    Parameters
    ----------
    results
        One JSON-ready record per pair, in the order of the pairs: ``a``, ``b``, ``kind`` and
        either the comparison fields (:func:`comparison_record` for cartridge cases,
        :func:`bullet_comparison_record` for bullets, plus ``compare_s`` and ``compare_cpu_s``)
        or ``error``.
    elapsed_s
        Wall-clock seconds of the whole run.
    prepare_wall_s, compare_wall_s
        Wall-clock seconds of the two stages (reading and preparing the distinct files; comparing).
    prepare_s
        Seconds spent reading and preparing each distinct item that succeeded (one per item: a
        cartridge case's file, or all the lands of a bullet).
    workers
        Number of processes used.
    """

    results: list[dict[str, Any]]
    elapsed_s: float
    prepare_wall_s: float
    compare_wall_s: float
    prepare_s: list[float] = field(default_factory=list)
    workers: int = 1


def available_cores() -> int:
    """Return the number of CPU cores this process may run on (the container's share)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def guess_kind(path: Path) -> str:
    """Return the kind of the item at ``path``: a folder holds a bullet's lands, a file a casing."""
    return BULLET if Path(path).is_dir() else CARTRIDGE_CASE


def read_pairs_csv(
    path: Path, *, default_kind: str | None = None, default_pixel_um: float | None = None
) -> list[Pair]:
    """Read a pairs list: a CSV with columns ``a``, ``b`` and optionally ``pixel_um_a``,
    ``pixel_um_b`` and ``kind``.

    Parameters
    ----------
    path
        The CSV file. Relative item paths are taken relative to its folder.
    default_kind
        Kind for rows whose ``kind`` cell is absent or empty; None to guess it from each item.
    default_pixel_um
        Micrometres per pixel for rows whose ``pixel_um_a`` / ``pixel_um_b`` cell is absent or
        empty.

    Returns
    -------
    list of Pair
        One per data row, in file order. A row with a bad cell gets ``error`` set instead of
        items, so that the other rows still run.

    Raises
    ------
    EvidenceError
        When the file cannot be read as a CSV with columns ``a`` and ``b``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvidenceError(str(path), "no such pairs file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise EvidenceError(str(path), f"cannot read the pairs file ({error})") from None
    reader = csv.DictReader(text.splitlines())
    columns = [name.strip() for name in reader.fieldnames or []]
    if "a" not in columns or "b" not in columns:
        raise EvidenceError(
            str(path),
            f"the header must name columns 'a' and 'b' (found: {', '.join(columns) or 'nothing'})",
        )
    folder = path.parent
    pairs = []
    for line_number, raw_row in enumerate(reader, start=2):
        row = {(key or "").strip(): (value or "").strip() for key, value in raw_row.items()}
        pairs.append(
            _pair_from_row(
                row,
                folder=folder,
                where=f"{path.name} line {line_number}",
                default_kind=default_kind,
                default_pixel_um=default_pixel_um,
            )
        )
    return pairs


def _pair_from_row(
    row: Mapping[str, str],
    *,
    folder: Path,
    where: str,
    default_kind: str | None,
    default_pixel_um: float | None,
) -> Pair:
    """Turn one CSV row into a :class:`Pair`, or a Pair carrying the row's problem."""
    a, b = row.get("a", ""), row.get("b", "")
    try:
        if not a or not b:
            raise ValueError("columns a and b must both name a file")
        pixel_a = _parse_pixel_um(row.get("pixel_um_a", ""), "pixel_um_a", default_pixel_um)
        pixel_b = _parse_pixel_um(row.get("pixel_um_b", ""), "pixel_um_b", default_pixel_um)
        path_a, path_b = folder / a, folder / b
        kind = row.get("kind") or default_kind
        item_a = Item(path_a, pixel_a, kind or guess_kind(path_a))
        item_b = Item(path_b, pixel_b, kind or guess_kind(path_b))
    except ValueError as error:
        return Pair(a, b, error=f"{where}: {error}")
    return Pair(a, b, item_a, item_b)


def _parse_pixel_um(text: str, column: str, default: float | None) -> float | None:
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{column} must be a number of micrometres per pixel, got {text!r}"
        ) from None


def prepare_item(
    item: Item,
    *,
    config: PrepareConfig = DEFAULT_PREPARE_CONFIG,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> PreparedItem:
    """Read one item from disk and prepare its marks for comparison.

    Parameters
    ----------
    item
        What to read.
    config
        Preparation of cartridge cases (:func:`~ballistics.casing.prepare.prepare_casing`).
    bullet_config
        Preparation of bullets' lands (:func:`~ballistics.bullet.read_bullet`).

    Returns
    -------
    PreparedCasing or PreparedBullet
        A cartridge case's breech face (and firing pin), or a bullet's lands in their order.

    Raises
    ------
    EvidenceError
        When the file or folder is missing, unreadable, or lacks what preparation needs (a
        folder without X3P scans, a land without usable striae, a whole-circumference scan).
    """
    if item.kind == BULLET:
        return read_bullet(item.path, config=bullet_config)
    surface = read_surface(item.path, pixel_um=item.pixel_um)
    return prepare_casing(surface, config=config)


#: the name ``lead`` had before 2026-12 (CONTRACT.md "Words of a result"), kept in JSON for one
#: release so that lab scripts reading it keep working; remove after 0.2
DEPRECATED_LEAD_ALIAS = "same_source"


def with_deprecated_alias(record: dict[str, Any]) -> dict[str, Any]:
    """Return ``record`` with ``same_source`` beside ``lead`` (the deprecated alias)."""
    if "lead" in record:
        record[DEPRECATED_LEAD_ALIAS] = record["lead"]
    return record


def comparison_record(comparison: CasingComparison) -> dict[str, Any]:
    """Return the JSON-ready fields of a cartridge case comparison (all but the per-cell
    details), with ``lead`` and its deprecated alias ``same_source``."""
    return with_deprecated_alias(
        {
            spec.name: _json_ready(getattr(comparison, spec.name))
            for spec in fields(comparison)
            if spec.name != "cells"
        }
    )


def bullet_comparison_record(
    comparison: BulletComparison,
    first: PreparedBullet,
    second: PreparedBullet,
    *,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> dict[str, Any]:
    """Return the JSON-ready fields of a bullet comparison, with the details of its land pairs.

    Parameters
    ----------
    comparison
        ``compare_bullets(first, second, config=config)``.
    first, second
        The two bullets compared, for their land numbers and the land pairs' details.
    config
        The options the comparison ran with.

    Returns
    -------
    dict
        ``score``, ``lead`` (and its deprecated alias ``same_source``), ``kind``
        (``"bullet"``), ``phase`` (land number ``k`` of the first bullet faces land
        ``(k - 1 + phase) % land_count + 1`` of the second),
        ``land_count``, ``land_numbers_a`` and ``land_numbers_b`` (the lands each bullet has),
        ``land_scores`` (``land_count`` x ``land_count`` lists indexed by land number - 1,
        first bullet's lands as rows; null where either land is missing), ``phase_scores``
        (bullet score of every phase, null where no land pair exists) and ``aligned_pairs``:
        the best phase's land pairs, each ``{"land_a", "land_b"}`` (land numbers) with every
        field of :class:`~ballistics.bullet.LandComparison` (``score``, ``ccf``, ``lag_um``,
        ``overlap_um``, ``matching_striae``, ``non_matching_striae``,
        ``consecutive_matching_striae``, ``distance_um``).
    """
    # land numbers can run past land_count only when config.land_count is set below them
    size = max(comparison.land_count, *first.land_numbers, *second.land_numbers)
    land_scores: list[list[float | None]] = [[None] * size for _ in range(size)]
    for i, number_a in enumerate(first.land_numbers):
        for j, number_b in enumerate(second.land_numbers):
            land_scores[number_a - 1][number_b - 1] = _json_ready(
                float(comparison.land_scores[i, j])
            )
    aligned_pairs = []
    for i, j, _ in comparison.aligned_pairs:
        # only the best phase's pairs are described: a few land comparisons, not the matrix
        lands = compare_lands(first.lands[i], second.lands[j], config=config)
        aligned_pairs.append(
            {
                "land_a": first.land_numbers[i],
                "land_b": second.land_numbers[j],
                **{spec.name: _json_ready(getattr(lands, spec.name)) for spec in fields(lands)},
            }
        )
    return {
        "score": _json_ready(comparison.score),
        "lead": bool(comparison.lead),
        DEPRECATED_LEAD_ALIAS: bool(comparison.lead),
        "kind": comparison.kind,
        "phase": int(comparison.phase),
        "land_count": int(comparison.land_count),
        "land_numbers_a": list(first.land_numbers),
        "land_numbers_b": list(second.land_numbers),
        "land_scores": land_scores,
        "phase_scores": [_json_ready(float(score)) for score in comparison.phase_scores],
        "aligned_pairs": aligned_pairs,
    }


def compare_prepared(
    first: PreparedItem,
    second: PreparedItem,
    *,
    compare_config: CompareConfig = DEFAULT_COMPARE_CONFIG,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> dict[str, Any]:
    """Compare two prepared items of one kind and return the comparison's JSON-ready record.

    Raises
    ------
    ValueError
        When one is a bullet and the other a cartridge case.
    """
    if isinstance(first, PreparedBullet) and isinstance(second, PreparedBullet):
        comparison = compare_bullets(first, second, config=bullet_config)
        return bullet_comparison_record(comparison, first, second, config=bullet_config)
    if isinstance(first, PreparedCasing) and isinstance(second, PreparedCasing):
        return comparison_record(compare_casings(first, second, config=compare_config))
    raise ValueError(
        f"cannot compare {first.source or 'the first item'} with "
        f"{second.source or 'the second'}: one is a bullet, the other a cartridge case."
    )


def check_same_kind(item_a: Item, item_b: Item) -> None:
    """Refuse a pair of a bullet and a cartridge case, naming both, before anything is read.

    Raises
    ------
    ValueError
        When the kinds differ.
    """
    if item_a.kind != item_b.kind:
        raise ValueError(
            f"cannot compare {item_a.path} ({_KIND_NAMES[item_a.kind]}) with {item_b.path} "
            f"({_KIND_NAMES[item_b.kind]}): give two items of one kind (a bullet is a folder "
            "of land X3P scans, a cartridge case one file; --kind or the kind column sets it)"
        )


_KIND_NAMES = {CARTRIDGE_CASE: "a cartridge case", BULLET: "a bullet"}


def compare_items(
    item_a: Item,
    item_b: Item,
    *,
    prepare_config: PrepareConfig = DEFAULT_PREPARE_CONFIG,
    compare_config: CompareConfig = DEFAULT_COMPARE_CONFIG,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> dict[str, Any]:
    """Read, prepare and compare two items of one kind in this process.

    Parameters
    ----------
    item_a, item_b
        Two cartridge cases, or two bullets.
    prepare_config, compare_config
        Settings of cartridge case preparation and comparison.
    bullet_config
        Settings of bullet preparation and comparison.

    Returns
    -------
    dict
        :func:`comparison_record` (cartridge cases) or :func:`bullet_comparison_record`
        (bullets) plus ``compare_s`` (seconds of the comparison alone) and ``elapsed_s``
        (seconds including reading and preparing both items).

    Raises
    ------
    EvidenceError, ValueError
        When the two are of different kinds (before anything is read), either item cannot be
        read or prepared, or the two cannot be compared (for example a topography against a
        photograph).
    """
    check_same_kind(item_a, item_b)
    started = time.perf_counter()
    reference = prepare_item(item_a, config=prepare_config, bullet_config=bullet_config)
    questioned = prepare_item(item_b, config=prepare_config, bullet_config=bullet_config)
    compare_started = time.perf_counter()
    record = compare_prepared(
        reference, questioned, compare_config=compare_config, bullet_config=bullet_config
    )
    finished = time.perf_counter()
    record["compare_s"] = finished - compare_started
    record["elapsed_s"] = finished - started
    return record


def compare_pairs(
    pairs: Sequence[Pair],
    *,
    workers: int | None = None,
    prepare_config: PrepareConfig = DEFAULT_PREPARE_CONFIG,
    compare_config: CompareConfig = DEFAULT_COMPARE_CONFIG,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
    progress: ProgressCallback | None = None,
) -> PairsRun:
    """Compare many pairs: each distinct item read and prepared once, pairs compared in parallel.

    Parameters
    ----------
    pairs
        The pairs, typically from :func:`read_pairs_csv`. Many pairs may share an item; it is
        read and prepared once. Pairs of cartridge cases and pairs of bullets may be mixed; a
        pair of a bullet and a cartridge case gets ``"error"`` and neither is read for it.
    workers
        Number of processes; None for every available core. With 1 everything runs in this
        process (no pool), which is also the way to debug.
    prepare_config, compare_config
        Settings of cartridge case preparation and comparison.
    bullet_config
        Settings of bullet preparation and comparison.
    progress
        Called as ``progress(stage, done, total)`` after each finished task of the "prepare" and
        "compare" stages.

    Returns
    -------
    PairsRun
        One record per pair in the order given; a pair whose items could not be read, prepared
        or compared gets ``"error"`` instead of a score, and the others go on.
    """
    workers = available_cores() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}; use 1 to run in-process.")
    started = time.perf_counter()

    pair_errors = [_pair_problem(pair) for pair in pairs]
    items: dict[Item, int] = {}
    for pair, problem in zip(pairs, pair_errors, strict=True):
        if problem is None and pair.item_a is not None and pair.item_b is not None:
            items.setdefault(pair.item_a, len(items))
            items.setdefault(pair.item_b, len(items))
    item_list = list(items)

    prepared: dict[int, PreparedItem] = {}
    item_errors: dict[int, str] = {}
    prepare_s: list[float] = []
    prepare_tasks = [
        (index, item, prepare_config, bullet_config) for index, item in enumerate(item_list)
    ]
    initargs = ({}, compare_config, bullet_config)
    with _worker_pool(min(workers, len(prepare_tasks)), initargs=initargs) as run:
        for done, (index, result, error, seconds) in enumerate(
            run(_prepare_task, prepare_tasks), start=1
        ):
            if error is None:
                prepared[index] = result
                prepare_s.append(seconds)
            else:
                item_errors[index] = error
            if progress is not None:
                progress("prepare", done, len(prepare_tasks))
    prepare_finished = time.perf_counter()

    results: list[dict[str, Any]] = []
    compare_tasks = []
    for row, (pair, problem) in enumerate(zip(pairs, pair_errors, strict=True)):
        record: dict[str, Any] = {"a": pair.a, "b": pair.b}
        results.append(record)
        if problem is not None or pair.item_a is None or pair.item_b is None:
            record["error"] = problem or "the row names no items"
            continue
        record["kind"] = pair.item_a.kind
        index_a, index_b = items[pair.item_a], items[pair.item_b]
        problems = [item_errors[index] for index in (index_a, index_b) if index in item_errors]
        if problems:
            # one message per distinct problem: a pair of the same bad file reports it once
            record["error"] = "; ".join(dict.fromkeys(problems))
        else:
            compare_tasks.append((row, index_a, index_b))

    needed = {index for _, index_a, index_b in compare_tasks for index in (index_a, index_b)}
    shared = {index: prepared[index] for index in needed}
    initargs = (shared, compare_config, bullet_config)
    with _worker_pool(min(workers, len(compare_tasks)), initargs=initargs) as run:
        for done, (row, outcome, error) in enumerate(run(_compare_task, compare_tasks), start=1):
            if error is None:
                results[row].update(outcome)
            else:
                results[row]["error"] = error
            if progress is not None:
                progress("compare", done, len(compare_tasks))
    finished = time.perf_counter()
    return PairsRun(
        results=results,
        elapsed_s=finished - started,
        prepare_wall_s=prepare_finished - started,
        compare_wall_s=finished - prepare_finished,
        prepare_s=prepare_s,
        workers=workers,
    )


def _pair_problem(pair: Pair) -> str | None:
    """Return what is wrong with a pair before anything is read: its row, or mixed kinds."""
    if pair.error is not None or pair.item_a is None or pair.item_b is None:
        return pair.error or "the row names no items"
    try:
        check_same_kind(pair.item_a, pair.item_b)
    except ValueError as error:
        return str(error)
    return None


# ----------------------------------------------------------------------------------------------
# Worker side. The prepared marks reach each worker once, through the pool initializer, instead
# of being pickled again with every pair that uses them.

_worker_prepared: dict[int, PreparedItem] = {}
# each casing resampled for comparison once per worker, on first use
_worker_pyramids: dict[int, CasingPyramid] = {}
_worker_compare_config = DEFAULT_COMPARE_CONFIG
_worker_bullet_config = DEFAULT_BULLET_CONFIG

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


#: what each worker is started with: the prepared items it may need and the two configurations
WorkerState = tuple[dict[int, PreparedItem], CompareConfig, BulletConfig]


def _set_worker_state(
    prepared: dict[int, PreparedItem], compare_config: CompareConfig, bullet_config: BulletConfig
) -> None:
    global _worker_compare_config, _worker_bullet_config
    _worker_prepared.clear()
    _worker_prepared.update(prepared)
    _worker_pyramids.clear()
    _worker_compare_config = compare_config
    _worker_bullet_config = bullet_config


def _initialize_worker(
    prepared: dict[int, PreparedItem], compare_config: CompareConfig, bullet_config: BulletConfig
) -> None:
    _set_worker_state(prepared, compare_config, bullet_config)
    # one process per core already: library threads on top would only compete for the cores
    import cv2

    cv2.setNumThreads(1)


def _prepare_task(
    task: tuple[int, Item, PrepareConfig, BulletConfig],
) -> tuple[int, PreparedItem | None, str | None, float]:
    index, item, config, bullet_config = task
    started = time.perf_counter()
    try:
        result = prepare_item(item, config=config, bullet_config=bullet_config)
    except Exception as error:  # one bad file must not stop the others
        return index, None, describe_error(error, source=str(item.path)), 0.0
    return index, result, None, time.perf_counter() - started


def _compare_task(
    task: tuple[int, int, int],
) -> tuple[int, dict[str, Any] | None, str | None]:
    row, index_a, index_b = task
    reference, questioned = _worker_prepared[index_a], _worker_prepared[index_b]
    started = time.perf_counter()
    started_cpu = time.process_time()
    try:
        if isinstance(reference, PreparedBullet) and isinstance(questioned, PreparedBullet):
            comparison = compare_bullets(reference, questioned, config=_worker_bullet_config)
            record = bullet_comparison_record(
                comparison, reference, questioned, config=_worker_bullet_config
            )
        else:
            record = comparison_record(
                compare_pyramids(
                    _worker_pyramid(index_a),
                    _worker_pyramid(index_b),
                    config=_worker_compare_config,
                )
            )
    except Exception as error:  # one failing pair must not stop the others
        return row, None, describe_error(error, source=f"{reference.source} vs {questioned.source}")
    record["compare_s"] = time.perf_counter() - started
    # CPU seconds of this process: what the comparison costs a core, whatever else the
    # machine is running at the same time
    record["compare_cpu_s"] = time.process_time() - started_cpu
    return row, record, None


def _worker_pyramid(index: int) -> CasingPyramid:
    pyramid = _worker_pyramids.get(index)
    if pyramid is None:
        mark = _worker_prepared[index]
        if not isinstance(mark, PreparedCasing):
            raise TypeError(f"{mark.source}: a bullet has no casing pyramid")
        pyramid = comparison_pyramid(mark, config=_worker_compare_config)
        _worker_pyramids[index] = pyramid
    return pyramid


def describe_error(error: BaseException, *, source: str = "") -> str:
    """Return one line naming the file and the problem, for a result row or standard error.

    Evidence and value errors already say what is wrong; anything else is named by its type so
    that an unexpected failure is not mistaken for a problem with the file.
    """
    if isinstance(error, OSError) and error.filename:
        message = f"{error.filename}: {error.strerror or error}"
    elif isinstance(error, ValueError):  # EvidenceError is a ValueError
        message = str(error)
    else:
        message = f"unexpected {type(error).__name__}: {error}"
        logger.debug("%s failed", source, exc_info=error)
    if source and source not in message and not isinstance(error, EvidenceError):
        message = f"{source}: {message}"
    return " ".join(message.split())


@contextlib.contextmanager
def _worker_pool(
    workers: int, *, initargs: WorkerState
) -> Iterator[Callable[[Callable[[Any], Any], list[Any]], Iterator[Any]]]:
    """Yield a ``run(function, tasks)`` that maps over the tasks, in a pool when it pays.

    Results come back as they finish (unordered); each carries its own index.
    """
    if workers <= 1:
        _set_worker_state(*initargs)

        def run_inline(function: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
            return map(function, tasks)

        try:
            yield run_inline
        finally:  # let the prepared marks go with the run
            _set_worker_state({}, DEFAULT_COMPARE_CONFIG, DEFAULT_BULLET_CONFIG)
        return

    # forkserver: workers fork from a clean server that has imported the engine once, without
    # the threads of this process (a progress bar, BLAS); spawn where fork is unavailable.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload([__name__])
    with single_threaded_libraries():
        pool = context.Pool(workers, initializer=_initialize_worker, initargs=initargs)
    with pool:

        def run_in_pool(function: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
            # small chunks keep the cores busy to the end and the progress bar moving
            chunk = max(1, min(16, len(tasks) // (workers * 8)))
            return pool.imap_unordered(function, tasks, chunksize=chunk)

        yield run_in_pool


@contextlib.contextmanager
def single_threaded_libraries() -> Iterator[None]:
    """Start worker processes with BLAS / OpenMP limited to one thread each."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _json_ready(value: Any) -> Any:
    """Convert numpy scalars and tuples to plain JSON values; NaN becomes None (null)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, tuple | list):
        return [_json_ready(element) for element in value]
    return value

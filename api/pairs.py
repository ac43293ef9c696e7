"""Compare items from the command line: the pairs CSV, and many pairs on all cores.

``ballistics compare --pairs PAIRS.csv`` and the accuracy benchmarks drive the engine through
:func:`compare_pairs`, so that both measure the same path a lab's file takes: bytes ->
``Surface`` -> prepared mark -> comparison record (:mod:`ballistics.items`, whatever the kind).
The CSV stays here because it is the command line's input format (CONTRACT.md); the items, their
kinds and their comparison are the engine's, in :mod:`ballistics.items`.

Items of different kinds are never compared with each other; a pair of them is refused (one
line naming both) before anything is read.
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.casing.compare import DEFAULT_COMPARE_CONFIG, CompareConfig
from ballistics.casing.prepare import PrepareConfig
from ballistics.errors import EvidenceError
from ballistics.io.intake_orientation import AS_STORED
from ballistics.io.limits import DEFAULT_LIMITS
from ballistics.items import (
    DEFAULT_PREPARE_CONFIG,
    EngineSettings,
    Item,
    ItemKind,
    Pair,
    check_same_kind,
    compare_items,
    describe_error,
    guess_kind,
    item_settings,
    kind_spec,
    parse_item_kind,
)
from ballistics.items.records import ComparisonRecord
from ballistics.parallel import Executor, LocalExecutor, available_cores, worker_state

#: called as ``progress(stage, done, total)`` with stage "prepare" or "compare"
ProgressCallback = Callable[[str, int, int], None]

__all__ = [
    "PairResult",
    "PairsRun",
    "ProgressCallback",
    "compare_items",
    "compare_pairs",
    "read_pairs_csv",
]


@dataclass(frozen=True, eq=False)
class PairResult:
    """What became of one pair: its comparison record, or why there is none.

    Parameters
    ----------
    a, b
        The paths exactly as written, echoed in the results.
    kind
        The kind of both items; None when the row itself is wrong (it names no items, or items
        of different kinds).
    record
        The comparison (with ``compare_s`` and ``compare_cpu_s``); None when ``error`` is set.
    error
        Why the pair was not compared.
    """

    a: str
    b: str
    kind: ItemKind | None = None
    record: ComparisonRecord | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Return ``a``, ``b``, ``kind`` and either the comparison's fields or ``error``."""
        document: dict[str, Any] = {"a": self.a, "b": self.b}
        if self.kind is not None:
            document["kind"] = str(self.kind)
        if self.record is not None:
            document.update(self.record.as_json())
        else:
            document["error"] = self.error
        return document


@dataclass(frozen=True, eq=False)
class PairsRun:
    """What :func:`compare_pairs` produced, with its timing.

    Parameters
    ----------
    pairs
        One result per pair, in the order of the pairs.
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

    pairs: tuple[PairResult, ...]
    elapsed_s: float
    prepare_wall_s: float
    compare_wall_s: float
    prepare_s: list[float] = field(default_factory=list)
    workers: int = 1

    @cached_property
    def results(self) -> list[dict[str, Any]]:
        """Each pair's JSON (:meth:`PairResult.as_json`), in the order of the pairs."""
        return [result.as_json() for result in self.pairs]

    @property
    def failed(self) -> int:
        """Pairs that were not compared."""
        return sum(result.record is None for result in self.pairs)

    def as_json(self) -> dict[str, Any]:
        """Return ``compare --pairs``' document: the results, the seconds and the workers."""
        return {"results": self.results, "elapsed_s": self.elapsed_s, "workers": self.workers}


def read_pairs_csv(
    path: Path, *, default_kind: str | None = None, default_pixel_um: float | None = None
) -> list[Pair]:
    """Read a pairs list: a CSV with columns ``a``, ``b`` and optionally ``pixel_um_a``,
    ``pixel_um_b``, ``kind``, ``caliber`` (of both items: a photograph without a resolution
    gets one from its primer, :mod:`ballistics.casing.primer_scale`) and ``orientation_a``,
    ``orientation_b`` (``as_stored`` or ``mirrored``, :mod:`ballistics.io.intake_orientation`).

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
        named = row.get("kind") or default_kind
        kind = parse_item_kind(named) if named else None
        caliber = row.get("caliber") or None
        item_a = Item(
            path_a,
            pixel_a,
            kind or guess_kind(path_a),
            orientation=row.get("orientation_a") or AS_STORED,
            caliber=caliber,
        )
        item_b = Item(
            path_b,
            pixel_b,
            kind or guess_kind(path_b),
            orientation=row.get("orientation_b") or AS_STORED,
            caliber=caliber,
        )
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


def compare_pairs(
    pairs: Sequence[Pair],
    *,
    workers: int | None = None,
    prepare_config: PrepareConfig = DEFAULT_PREPARE_CONFIG,
    compare_config: CompareConfig = DEFAULT_COMPARE_CONFIG,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
    progress: ProgressCallback | None = None,
    cluster: str | None = None,
) -> PairsRun:
    """Compare many pairs: each distinct item read and prepared once, pairs compared in parallel.

    Parameters
    ----------
    pairs
        The pairs, typically from :func:`read_pairs_csv`. Many pairs may share an item; it is
        read and prepared once. Pairs of different kinds may be mixed; a pair of two items of
        different kinds gets ``"error"`` and neither is read for it.
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
    cluster
        A Dask scheduler's address (:mod:`ballistics.cluster`): the work goes to its workers
        instead of ``workers`` local processes, each item's files sent as their bytes.

    Returns
    -------
    PairsRun
        One record per pair in the order given; a pair whose items could not be read, prepared
        or compared gets ``"error"`` instead of a score, and the others go on.
    """
    workers = available_cores() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}; use 1 to run in-process.")
    settings = item_settings(prepare_config, compare_config, bullet_config)
    started = time.perf_counter()
    problems = [_pair_problem(pair) for pair in pairs]
    items = _distinct_items(pairs, problems)
    prepared = _prepare_items(
        items, workers=workers, settings=settings, progress=progress, cluster=cluster
    )
    prepare_finished = time.perf_counter()
    results, tasks = _plan_comparisons(pairs, problems, items, prepared)
    compared = _compare_prepared(
        results,
        tasks,
        prepared,
        workers=workers,
        settings=settings,
        progress=progress,
        cluster=cluster,
    )
    finished = time.perf_counter()
    return PairsRun(
        pairs=tuple(compared),
        elapsed_s=finished - started,
        prepare_wall_s=prepare_finished - started,
        compare_wall_s=finished - prepare_finished,
        prepare_s=prepared.seconds,
        workers=prepared.workers or workers,
    )


@dataclass
class _Prepared:
    """The prepare stage's outcome: each distinct item's mark or error, by its index."""

    marks: dict[int, Any] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    #: tasks run at once (a cluster's worker threads; 0: the local processes asked for)
    workers: int = 0


#: a pair to compare: (row, kind, index of item a, index of item b)
_CompareTaskArgs = tuple[int, ItemKind, int, int]


def _distinct_items(pairs: Sequence[Pair], problems: Sequence[str | None]) -> dict[Item, int]:
    """Number the distinct items of the pairs that can be compared, in order of appearance."""
    items: dict[Item, int] = {}
    for pair, problem in zip(pairs, problems, strict=True):
        if problem is None and pair.item_a is not None and pair.item_b is not None:
            items.setdefault(pair.item_a, len(items))
            items.setdefault(pair.item_b, len(items))
    return items


def _prepare_items(
    items: dict[Item, int],
    *,
    workers: int,
    settings: EngineSettings,
    progress: ProgressCallback | None,
    cluster: str | None,
) -> _Prepared:
    """Read and prepare each distinct item once (the "prepare" stage)."""
    prepared = _Prepared()
    tasks = list(enumerate(items))
    with _executor(workers, len(tasks), state=settings, cluster=cluster) as executor:
        if executor.local_files:
            outcomes = executor.map_unordered(_prepare_task, tasks, count=len(tasks))
        else:  # the workers may not see these files: their bytes go with the tasks
            sent = (_with_files(index, item) for index, item in tasks)
            outcomes = executor.map_unordered(_prepare_sent_task, sent, count=len(tasks))
            prepared.workers = executor.workers
        for done, (index, result, error, seconds) in enumerate(outcomes, start=1):
            if error is None:
                prepared.marks[index] = result
                prepared.seconds.append(seconds)
            else:
                prepared.errors[index] = error
            if progress is not None:
                progress("prepare", done, len(tasks))
    return prepared


def _plan_comparisons(
    pairs: Sequence[Pair],
    problems: Sequence[str | None],
    items: dict[Item, int],
    prepared: _Prepared,
) -> tuple[list[PairResult], list[_CompareTaskArgs]]:
    """Return each pair's result so far (its error, or its kind) and the comparisons to run."""
    results = []
    tasks = []
    for row, (pair, problem) in enumerate(zip(pairs, problems, strict=True)):
        if problem is not None or pair.item_a is None or pair.item_b is None:
            results.append(PairResult(pair.a, pair.b, error=problem or "the row names no items"))
            continue
        index_a, index_b = items[pair.item_a], items[pair.item_b]
        failures = [
            prepared.errors[index] for index in (index_a, index_b) if index in prepared.errors
        ]
        # one message per distinct problem: a pair of the same bad file reports it once
        error = "; ".join(dict.fromkeys(failures)) if failures else None
        results.append(PairResult(pair.a, pair.b, kind=pair.item_a.kind, error=error))
        if error is None:
            tasks.append((row, pair.item_a.kind, index_a, index_b))
    return results, tasks


def _compare_prepared(
    results: list[PairResult],
    tasks: list[_CompareTaskArgs],
    prepared: _Prepared,
    *,
    workers: int,
    settings: EngineSettings,
    progress: ProgressCallback | None,
    cluster: str | None,
) -> list[PairResult]:
    """Compare the planned pairs in parallel (the "compare" stage); return every result."""
    needed = {index for _, _, index_a, index_b in tasks for index in (index_a, index_b)}
    # the prepared marks reach each worker once, with its state, instead of being pickled
    # again with every pair that uses them
    state = _CompareState({index: prepared.marks[index] for index in needed}, settings)
    results = list(results)
    with _executor(workers, len(tasks), state=state, cluster=cluster) as executor:
        compared = executor.map_unordered(_compare_task, tasks, count=len(tasks))
        for done, (row, record, error) in enumerate(compared, start=1):
            results[row] = replace(results[row], record=record, error=error)
            if progress is not None:
                progress("compare", done, len(tasks))
    return results


def _pair_problem(pair: Pair) -> str | None:
    """Return what is wrong with a pair before anything is read: its row, or mixed kinds."""
    if pair.error is not None or pair.item_a is None or pair.item_b is None:
        return pair.error or "the row names no items"
    try:
        check_same_kind(pair.item_a, pair.item_b)
    except ValueError as error:
        return str(error)
    return None


# --- worker side ---------------------------------------------------------------------------------


def _executor(workers: int, tasks: int, *, state: Any, cluster: str | None) -> Executor:
    """A pool of at most one process per task (inline for one task or none), or the cluster."""
    if cluster is not None:
        from ballistics.cluster import DaskExecutor

        return DaskExecutor(cluster, state=state)
    return LocalExecutor(
        max(1, min(workers, tasks)), state=state, preload=(__name__,), max_chunk=16
    )


class _CompareState:
    """What each worker of the compare stage holds: the prepared marks of the run, and each
    made ready for comparison (resampled) once per worker, on first use."""

    def __init__(self, prepared: dict[int, Any], settings: EngineSettings) -> None:
        self.prepared = prepared
        self.settings = settings
        self.comparables: dict[int, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"prepared": self.prepared, "settings": self.settings, "comparables": {}}

    def comparable(self, kind: ItemKind, index: int) -> Any:
        comparable = self.comparables.get(index)
        if comparable is None:
            spec = kind_spec(kind)
            comparable = spec.comparable(self.prepared[index], settings=self.settings)
            self.comparables[index] = comparable
        return comparable


def _prepare_task(task: tuple[int, Item]) -> tuple[int, Any, str | None, float]:
    index, item = task
    settings: EngineSettings = worker_state()
    started = time.perf_counter()
    try:
        result = kind_spec(item.kind).read(
            item.path,
            pixel_um=item.pixel_um,
            settings=settings,
            orientation=item.orientation,
            caliber=item.caliber,
        )
    except Exception as error:  # one bad file must not stop the others
        return index, None, describe_error(error, source=str(item.path)), 0.0
    return index, result, None, time.perf_counter() - started


#: an item whose files travel to the worker: (index, item, [(name, bytes)] or None, read error)
_SentItem = tuple[int, Item, list[tuple[str, bytes]] | None, str | None]


def _with_files(index: int, item: Item) -> _SentItem:
    """Read an item's files here (a file, or a bullet's land files) for a distant worker."""
    try:
        files, _ = kind_spec(item.kind).load(item.path, name=None, limits=DEFAULT_LIMITS)
    except Exception as error:  # the same message as the worker's own read would give
        return index, item, None, describe_error(error, source=str(item.path))
    return index, item, [(Path(name).name, data) for name, data in files], None


def _prepare_sent_task(task: _SentItem) -> tuple[int, Any, str | None, float]:
    """:func:`_prepare_task` on files sent as bytes: written to a temporary folder under their
    names and read from there by the same code."""
    index, item, files, error = task
    if files is None:
        return index, None, error, 0.0
    with tempfile.TemporaryDirectory(prefix="ballistics-item-") as folder:
        copy = Path(folder) / Path(item.path).name
        if [name for name, _ in files] == [copy.name]:  # the item is this one file
            copy.write_bytes(files[0][1])
        else:  # a folder of files
            copy.mkdir()
            for name, data in files:
                (copy / name).write_bytes(data)
        index, result, error, seconds = _prepare_task((index, replace(item, path=copy)))
    if error is not None:  # name the caller's file, not the copy
        error = error.replace(str(copy), str(item.path))
    return index, result, error, seconds


def _compare_task(task: _CompareTaskArgs) -> tuple[int, ComparisonRecord | None, str | None]:
    row, kind, index_a, index_b = task
    state: _CompareState = worker_state()
    started = time.perf_counter()
    started_cpu = time.process_time()
    try:
        record = kind_spec(kind).compare(
            state.comparable(kind, index_a),
            state.comparable(kind, index_b),
            settings=state.settings,
        )
    except Exception as error:  # one failing pair must not stop the others
        reference, questioned = state.prepared[index_a], state.prepared[index_b]
        return row, None, describe_error(error, source=f"{reference.source} vs {questioned.source}")
    # CPU seconds of this process: what the comparison costs a core, whatever else the
    # machine is running at the same time
    timed = record.timed(
        compare_s=time.perf_counter() - started, compare_cpu_s=time.process_time() - started_cpu
    )
    return row, timed, None

"""The service's heavy work and the process pool that runs it on every core.

Three kinds of task run in worker processes, each a plain function of picklable values so that
the same code runs in a pool or, with one worker, in the calling process:

- :func:`extract_task`: read an item's bytes, hash them, store the original, read the surface,
  prepare the casing, compute its descriptor and encode its mark (ingest);
- :func:`compare_task`: compare two encoded marks (re-ranking, correlation);
- :func:`describe_task`: compute a descriptor from a stored mark (``reindex`` after a
  descriptor change).

The main process keeps the database: workers never open it. Marks travel to the workers as
their compact encoding (:mod:`api.store.marks`), and each worker
keeps the last few it resampled for comparison, so that a casing compared with many others is
decoded and resampled once per worker.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from api.pairs import (
    available_cores,
    bullet_comparison_record,
    comparison_record,
    describe_error,
    single_threaded_libraries,
)
from api.store.marks import (
    BULLET,
    decode_bullet_mark,
    decode_casing_mark,
    encode_bullet_mark,
    encode_casing_mark,
    mark_kind,
)
from api.store.originals import OriginalStore
from api.store.repository import item_sha256
from ballistics.bullet import (
    BULLET_DESCRIPTOR_VERSION,
    DEFAULT_BULLET_CONFIG,
    BulletConfig,
    PreparedBullet,
    bullet_descriptor,
    compare_bullets,
    prepare_bullet,
)
from ballistics.bullet.bullets import land_paths
from ballistics.bullet.land import check_land_resolution
from ballistics.casing.compare import (
    DEFAULT_COMPARE_CONFIG,
    CasingPyramid,
    CompareConfig,
    compare_pyramids,
    comparison_pyramid,
)
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.prepare import PrepareConfig, check_casing_resolution, prepare_casing
from ballistics.descriptors import DESCRIPTOR_VERSION, casing_descriptor
from ballistics.io import read_surface
from ballistics.io.declared import declared_file, declared_files
from ballistics.io.files import load_source
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.surface import Surface

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractTask:
    """One manifest item for :func:`extract_task`.

    Parameters
    ----------
    position
        The caller's index of the item (results come back unordered).
    path
        The file.
    pixel_um
        Micrometres per pixel for 2D images without it.
    known_sha256
        The digest of the exhibit already stored under this item's agency and exhibit id, or
        None. A file with another digest is not prepared (it is refused as a conflict); a file
        with this digest is not prepared either when ``known_complete``.
    known_complete
        The stored exhibit already has a mark and a descriptor of the current versions.
    originals_folder
        Where the original is stored (content-addressed) before the item is prepared.
    kind
        ``"cartridge_case"`` (``path`` is a file) or ``"bullet"`` (``path`` is a folder of land
        scans, or one land's file).
    """

    position: int
    path: str
    pixel_um: float | None = None
    known_sha256: str | None = None
    known_complete: bool = False
    originals_folder: str | None = None
    kind: str = "cartridge_case"


#: outcomes of an extraction
EXTRACTED, SKIPPED, CONFLICT, FAILED = "extracted", "skipped", "conflict", "failed"


@dataclass(frozen=True, eq=False)
class Extraction:
    """What :func:`extract_task` made of one item.

    ``outcome`` is ``"extracted"`` (everything below is set), ``"skipped"`` (the same file is
    stored and complete: only the digest was computed), ``"conflict"`` (another file is stored
    under this exhibit id: only the digest was computed) or ``"failed"`` (``error`` says why).
    """

    position: int
    outcome: str
    sha256: str = ""
    size_bytes: int = 0
    name: str = ""
    modality: str | None = None
    pixel_um: float | None = None
    mark: bytes | None = None
    descriptor: np.ndarray | None = None
    error: str | None = None
    seconds: float = 0.0
    cpu_s: float = 0.0
    files: tuple[tuple[str, int, str], ...] = ()


@dataclass(frozen=True, eq=False)
class ExtractedBullet:
    """A bullet read and prepared in this process: its lands, encoding and descriptor."""

    mark: PreparedBullet
    encoded: bytes
    descriptor: np.ndarray
    pixel_um: float


def extract_bullet(
    files: list[tuple[str, bytes]],
    *,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
    limits: ReadLimits = DEFAULT_LIMITS,
    source: str = "",
) -> ExtractedBullet:
    """Read a bullet from its land files' (name, bytes), in land order, prepare it, describe it
    and encode its mark.

    Every file's header is checked first (type, size, declared grid and spacing, and the
    totals of ``limits`` over all the files): a bad last file is refused before the first is
    decoded.

    Raises
    ------
    LimitExceededError
        Too many files, too many bytes or points together, or one file past ``limits``.
    ResolutionOutOfRangeError
        An X3P file declares a spacing outside ``bullet_config.land_pixel_um_range``.
    EvidenceError
        A file is not a readable land scan, the lands' resolutions differ, or one holds no
        usable land (the message names the file).
    """
    for declared in declared_files(files, limits=limits, source=source):
        if declared.pixel_um is not None:
            check_land_resolution(declared.pixel_um, name=declared.name, config=bullet_config)
    surfaces = [read_surface(data, name=name, limits=limits) for name, data in files]
    mark = prepare_bullet(
        surfaces,
        names=[name for name, _ in files],
        source=source or ", ".join(name for name, _ in files),
        config=bullet_config,
    )
    return ExtractedBullet(
        mark=mark,
        encoded=encode_bullet_mark(mark),
        descriptor=np.asarray(bullet_descriptor(mark.lands), dtype=np.float32),
        pixel_um=float(mark.lands[0].pixel_um),
    )


@dataclass(frozen=True, eq=False)
class ExtractedCasing:
    """A casing read and prepared in this process: its surface, mark, encoding and descriptor."""

    surface: Surface
    mark: PreparedCasing
    encoded: bytes
    descriptor: np.ndarray


def extract_casing(
    data: bytes,
    *,
    name: str,
    pixel_um: float | None,
    prepare_config: PrepareConfig,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> ExtractedCasing:
    """Read a cartridge case from its bytes, prepare it, describe it and encode its mark.

    The file's header is checked first (type, size, declared grid) and so is its spacing (the
    X3P file's own, else ``pixel_um``) against ``prepare_config.scan_pixel_um_range``, before
    anything is decoded.

    Raises
    ------
    LimitExceededError
        The file, its declared grid or a resampled mark is past ``limits``.
    ResolutionOutOfRangeError
        The scan's spacing is outside ``prepare_config.scan_pixel_um_range``.
    EvidenceError
        The bytes are not a readable X3P or image, or preparation finds no usable mark.
    """
    declared = declared_file(data, name=name, limits=limits)
    spacing_um = declared.pixel_um if declared.pixel_um is not None else pixel_um
    if spacing_um is not None:
        check_casing_resolution(spacing_um, name=name, config=prepare_config)
    surface = read_surface(data, pixel_um=pixel_um, name=name, limits=limits)
    mark = prepare_casing(surface, config=prepare_config)
    descriptor = np.asarray(casing_descriptor(mark), dtype=np.float32)
    return ExtractedCasing(
        surface=surface, mark=mark, encoded=encode_casing_mark(mark), descriptor=descriptor
    )


def extract_task(task: ExtractTask) -> Extraction:
    """Run one :class:`ExtractTask`; a failure comes back as an ``Extraction`` with ``error``."""
    started = time.perf_counter()
    # CPU seconds of this process: what the item costs a core, whatever else the machine runs
    started_cpu = time.process_time()
    if task.kind == BULLET:
        return _extract_bullet_task(task, started, started_cpu)
    try:
        data, name = load_source(task.path)
        sha256 = hashlib.sha256(data).hexdigest()
        base = {"position": task.position, "sha256": sha256, "size_bytes": len(data)}
        file_name = _file_name(task.path)
        if task.known_sha256 is not None and task.known_sha256 != sha256:
            return Extraction(outcome=CONFLICT, name=file_name, **base)
        if task.known_sha256 == sha256 and task.known_complete:
            return Extraction(outcome=SKIPPED, name=file_name, **base)
        if task.originals_folder is not None:
            # first, so that a stored exhibit always has its original: a kill after this
            # leaves at worst an unreferenced blob, stored once and reused by the next run
            OriginalStore(task.originals_folder).put_bytes(data, name=file_name)
        extracted = extract_casing(
            data, name=name, pixel_um=task.pixel_um, prepare_config=_state.prepare_config
        )
    except Exception as error:  # one bad item must not stop the others
        return _failed_extraction(task, error, started, started_cpu)
    return Extraction(
        outcome=EXTRACTED,
        name=file_name,
        modality=str(extracted.mark.modality),
        pixel_um=extracted.surface.pixel_um,
        mark=extracted.encoded,
        descriptor=extracted.descriptor,
        seconds=time.perf_counter() - started,
        cpu_s=time.process_time() - started_cpu,
        **base,
    )


def _failed_extraction(
    task: ExtractTask, error: Exception, started: float, started_cpu: float
) -> Extraction:
    return Extraction(
        position=task.position,
        outcome=FAILED,
        error=describe_error(error, source=task.path),
        seconds=time.perf_counter() - started,
        cpu_s=time.process_time() - started_cpu,
    )


def _extract_bullet_task(task: ExtractTask, started: float, started_cpu: float) -> Extraction:
    """:func:`extract_task` for a bullet: every land file hashed, stored and prepared."""
    try:
        paths, source = land_paths(task.path)
        files = [(str(path), load_source(path)[0]) for path in paths]
        digests = [hashlib.sha256(data).hexdigest() for _, data in files]
        sha256 = item_sha256(digests)
        listing = tuple(
            (digest, len(data), _file_name(name))
            for digest, (name, data) in zip(digests, files, strict=True)
        )
        base = {
            "position": task.position,
            "sha256": sha256,
            "size_bytes": sum(len(data) for _, data in files),
            "files": listing,
            "name": _file_name(source),
        }
        if task.known_sha256 is not None and task.known_sha256 != sha256:
            return Extraction(outcome=CONFLICT, **base)
        if task.known_sha256 == sha256 and task.known_complete:
            return Extraction(outcome=SKIPPED, **base)
        if task.originals_folder is not None:
            originals = OriginalStore(task.originals_folder)
            for name, data in files:
                originals.put_bytes(data, name=_file_name(name))
        extracted = extract_bullet(files, bullet_config=_state.bullet_config, source=source)
    except Exception as error:  # one bad item must not stop the others
        return _failed_extraction(task, error, started, started_cpu)
    return Extraction(
        outcome=EXTRACTED,
        modality="topography",
        pixel_um=extracted.pixel_um,
        mark=extracted.encoded,
        descriptor=extracted.descriptor,
        seconds=time.perf_counter() - started,
        cpu_s=time.process_time() - started_cpu,
        **base,
    )


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class MarkRef:
    """An encoded mark and a key naming it (``"exhibit:<id>"``, ``"query:<sha256>"``)."""

    key: str
    data: bytes


@dataclass(frozen=True)
class CompareTask:
    """Compare ``reference`` with ``questioned``; ``pair`` is the caller's index of the pair."""

    pair: int
    reference: MarkRef
    questioned: MarkRef


def compare_task(task: CompareTask) -> tuple[int, dict[str, Any] | None, str | None]:
    """Compare two encoded marks; return (pair, comparison record, None) or (pair, None, error).

    The record is :func:`api.pairs.comparison_record` plus ``compare_s``.
    """
    started = time.perf_counter()
    try:
        reference = _prepared(task.reference)
        questioned = _prepared(task.questioned)
        if isinstance(reference, PreparedBullet) and isinstance(questioned, PreparedBullet):
            record = bullet_comparison_record(
                compare_bullets(reference, questioned, config=_state.bullet_config),
                reference,
                questioned,
                config=_state.bullet_config,
            )
        elif isinstance(reference, CasingPyramid) and isinstance(questioned, CasingPyramid):
            record = comparison_record(
                compare_pyramids(reference, questioned, config=_state.compare_config)
            )
        else:
            raise ValueError("a bullet cannot be compared with a cartridge case.")
    except Exception as error:  # one failing pair must not stop the others
        source = f"{task.reference.key} vs {task.questioned.key}"
        return task.pair, None, describe_error(error, source=source)
    record["compare_s"] = time.perf_counter() - started
    return task.pair, record, None


def describe_task(
    task: tuple[int, bytes],
) -> tuple[int, np.ndarray | None, str | None, str]:
    """Compute the descriptor of a stored mark: (key, vector, None, version) or
    (key, None, error, version), the version being the mark's kind's current one."""
    key, data = task
    version = DESCRIPTOR_VERSION
    try:
        if mark_kind(data) == BULLET:
            version = BULLET_DESCRIPTOR_VERSION
            vector = np.asarray(bullet_descriptor(decode_bullet_mark(data).lands), np.float32)
        else:
            vector = np.asarray(casing_descriptor(decode_casing_mark(data)), dtype=np.float32)
    except Exception as error:
        return key, None, describe_error(error, source=f"exhibit {key}"), version
    return key, vector, None, version


# --- worker state ------------------------------------------------------------------------------


class _WorkerState:
    """Settings and the mark cache of one worker process (or of the caller, inline)."""

    def __init__(self) -> None:
        self.prepare_config = PrepareConfig()
        self.compare_config = DEFAULT_COMPARE_CONFIG
        self.cache_size = 64
        self.bullet_config = DEFAULT_BULLET_CONFIG
        self.lock = threading.Lock()
        self.pyramids: collections.OrderedDict[
            tuple[str, bytes], CasingPyramid | PreparedBullet
        ] = collections.OrderedDict()

    def configure(
        self,
        prepare_config: PrepareConfig,
        compare_config: CompareConfig,
        cache_size: int,
        bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
    ) -> None:
        self.prepare_config = prepare_config
        self.compare_config = compare_config
        self.cache_size = cache_size
        self.bullet_config = bullet_config
        self.pyramids.clear()

    @property
    def settings(self) -> tuple[PrepareConfig, CompareConfig, int, BulletConfig]:
        return self.prepare_config, self.compare_config, self.cache_size, self.bullet_config


_state = _WorkerState()


def _prepared(reference: MarkRef) -> CasingPyramid | PreparedBullet:
    # keyed by the bytes' digest too: a key whose mark was replaced is never served stale
    cache_key = (reference.key, hashlib.blake2b(reference.data, digest_size=16).digest())
    with _state.lock:  # inline (one worker), several API threads share this cache
        pyramid = _state.pyramids.get(cache_key)
        if pyramid is not None:
            _state.pyramids.move_to_end(cache_key)
            return pyramid
    if mark_kind(reference.data) == BULLET:
        pyramid: CasingPyramid | PreparedBullet = decode_bullet_mark(reference.data)
    else:
        pyramid = comparison_pyramid(
            decode_casing_mark(reference.data), config=_state.compare_config
        )
    with _state.lock:
        _state.pyramids[cache_key] = pyramid
        while len(_state.pyramids) > _state.cache_size:
            _state.pyramids.popitem(last=False)
    return pyramid


def _initialize_worker(
    prepare_config: PrepareConfig,
    compare_config: CompareConfig,
    cache_size: int,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> None:
    _state.configure(prepare_config, compare_config, cache_size, bullet_config)
    # one process per core already: library threads on top would only compete for the cores
    import cv2

    cv2.setNumThreads(1)


class WorkerPool:
    """A process pool started on first use and kept until :meth:`close` (one per service).

    Parameters
    ----------
    workers
        Number of processes; None for every available core; 1 runs every task in the calling
        process (no pool), which is also the way to debug.
    prepare_config, compare_config, cache_size, bullet_config
        The workers' settings and how many resampled marks each keeps.
    """

    def __init__(
        self,
        workers: int | None,
        *,
        prepare_config: PrepareConfig,
        compare_config: CompareConfig,
        cache_size: int,
        bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
    ) -> None:
        workers = available_cores() if workers is None else workers
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}; use 1 to run in-process.")
        self.workers = workers
        self._settings = (prepare_config, compare_config, cache_size, bullet_config)
        self._pool: Any = None
        # the HTTP API submits from several threads: start the pool once
        self._start_lock = threading.Lock()

    @property
    def inline(self) -> bool:
        """True when tasks run in the calling process (one worker)."""
        return self.workers == 1

    def map_unordered(
        self, function: Callable[[Any], Any], tasks: Iterable[Any], *, count: int | None = None
    ) -> Iterator[Any]:
        """Yield ``function(task)`` for every task, in the order they finish.

        ``tasks`` may be a generator; it is consumed as the workers take tasks, so that the
        caller can build each task (fetch its marks) when it is needed. ``count`` (the number
        of tasks, when known) sets the chunk size; small chunks keep every core busy to the end.
        """
        if self.workers == 1 or (count is not None and count <= 1):
            if _state.settings != self._settings:  # another service ran inline before
                _state.configure(*self._settings)
            return map(function, tasks)
        chunk = 1 if count is None else max(1, min(8, count // (self.workers * 8)))
        return self._started().imap_unordered(function, tasks, chunksize=chunk)

    def _started(self) -> Any:
        with self._start_lock:
            return self._start()

    def _start(self) -> Any:
        if self._pool is None:
            # forkserver: workers fork from a clean server that imported the engine once, not
            # from this process with its threads (a progress bar, BLAS) and open database
            # connections; spawn where fork is unavailable
            methods = multiprocessing.get_all_start_methods()
            method = "forkserver" if "forkserver" in methods else "spawn"
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                context.set_forkserver_preload([__name__])
            with single_threaded_libraries():
                self._pool = context.Pool(
                    self.workers, initializer=_initialize_worker, initargs=self._settings
                )
        return self._pool

    def close(self) -> None:
        """Stop the worker processes (tasks still running are abandoned)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

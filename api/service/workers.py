"""The service's heavy work, as tasks for its worker pool (:class:`WorkerPool`).

Three kinds of task run in worker processes, each a plain function of picklable values so that
the same code runs in a pool or, with one worker, in the calling process:

- :func:`extract_task`: read an item's files, hash them, store the originals, prepare the item,
  compute its descriptor and encode its mark (ingest);
- :func:`compare_task`: compare two encoded marks (re-ranking, correlation);
- :func:`describe_task`: compute a descriptor from a stored mark (``reindex`` after a
  descriptor change).

Every kind of mark is read, compared and described by its spec in the registry
(:mod:`ballistics.items`). The main process keeps the database: workers never open it. Marks
travel to the workers as their compact encoding (:mod:`ballistics.items.encoding`), and each
worker keeps the last few it made ready for comparison, so that a casing compared with many
others is decoded and resampled once per worker.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from api.store.originals import Originals, open_originals
from api.store.repository import item_sha256
from ballistics.bullet import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.casing.compare import CompareConfig
from ballistics.casing.prepare import PrepareConfig
from ballistics.io import AS_STORED
from ballistics.io.limits import DEFAULT_LIMITS
from ballistics.items import ItemKind, ItemSettings, decode_prepared, describe_error, kind_spec
from ballistics.items.records import ComparisonRecord
from ballistics.parallel import LocalExecutor, worker_state

logger = logging.getLogger(__name__)

__all__ = [
    "CONFLICT",
    "EXTRACTED",
    "FAILED",
    "SKIPPED",
    "CompareTask",
    "ExtractTask",
    "Extraction",
    "MarkRef",
    "WorkerPool",
    "compare_task",
    "describe_task",
    "extract_task",
    "with_files",
]


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
        Where the original is stored (content-addressed) before the item is prepared: the
        ``location`` of the store's originals, a folder or an fsspec URL.
    kind
        The item's kind (:class:`~ballistics.items.ItemKind`): ``path`` is what its spec loads
        (a cartridge case's file; a bullet's folder of land scans, or one land's file).
    orientation
        What the lab declared of the file's orientation (``as_stored`` or ``mirrored``).
    caliber
        The manifest's calibre (a photograph without a resolution is scaled by its primer).
    files, source
        The item's files as (name, bytes) and its name, when the caller read them
        (:func:`with_files`: for workers that cannot see its folders); empty: the worker reads
        ``path``.
    load_error
        Why the caller could not read the item (the worker only reports it).
    """

    position: int
    path: str
    pixel_um: float | None = None
    known_sha256: str | None = None
    known_complete: bool = False
    originals_folder: str | None = None
    kind: str = ItemKind.CARTRIDGE_CASE
    orientation: str = AS_STORED
    caliber: str | None = None
    files: tuple[tuple[str, bytes], ...] = ()
    source: str = ""
    load_error: str | None = None


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
    #: what the lab should change in its photograph (PhotoWarning); none for a 3D scan
    warnings: tuple[Any, ...] = ()


def extract_task(task: ExtractTask) -> Extraction:
    """Run one :class:`ExtractTask`; a failure comes back as an ``Extraction`` with ``error``."""
    started = time.perf_counter()
    # CPU seconds of this process: what the item costs a core, whatever else the machine runs
    started_cpu = time.process_time()
    state: ServiceWorkerState = worker_state()
    try:
        if task.load_error is not None:
            raise ValueError(task.load_error)
        spec = kind_spec(task.kind)
        if task.files:
            files, source = list(task.files), task.source
        else:
            files, source = spec.load(task.path, name=None, limits=state.limits)
        digests = [hashlib.sha256(data).hexdigest() for _, data in files]
        sha256 = item_sha256(digests)
        # what every outcome carries: the item's digests and names
        digested = Extraction(
            position=task.position,
            outcome=EXTRACTED,
            sha256=sha256,
            size_bytes=sum(len(data) for _, data in files),
            files=tuple(
                (digest, len(data), _file_name(name))
                for digest, (name, data) in zip(digests, files, strict=True)
            ),
            name=_file_name(source),
        )
        if task.known_sha256 is not None and task.known_sha256 != sha256:
            return replace(digested, outcome=CONFLICT)
        if task.known_sha256 == sha256 and task.known_complete:
            return replace(digested, outcome=SKIPPED)
        if task.originals_folder is not None:
            # first, so that a stored exhibit always has its originals: a kill after this
            # leaves at worst unreferenced blobs, stored once and reused by the next run
            originals = open_originals(task.originals_folder)
            for name, data in files:
                originals.put_bytes(data, name=_file_name(name))
        extracted = spec.extract(
            files,
            pixel_um=task.pixel_um,
            settings=state.settings,
            source=source,
            orientation=task.orientation,
            caliber=task.caliber,
        )
    except Exception as error:  # one bad item must not stop the others
        return Extraction(
            position=task.position,
            outcome=FAILED,
            error=describe_error(error, source=task.path),
            seconds=time.perf_counter() - started,
            cpu_s=time.process_time() - started_cpu,
        )
    return replace(
        digested,
        modality=extracted.modality,
        pixel_um=extracted.pixel_um,
        mark=extracted.encoded,
        descriptor=extracted.descriptor,
        seconds=time.perf_counter() - started,
        cpu_s=time.process_time() - started_cpu,
        warnings=extracted.warnings,
    )


def with_files(task: ExtractTask, originals: Originals) -> ExtractTask:
    """Return ``task`` carrying its item's files, read here, for a worker on another machine;
    store the originals here first, as :func:`extract_task` would (not those of a conflict)."""
    try:
        files, source = kind_spec(task.kind).load(task.path, name=None, limits=DEFAULT_LIMITS)
    except Exception as error:  # reported by the worker, in the row's place
        return replace(task, load_error=describe_error(error, source=task.path))
    sha256 = item_sha256([hashlib.sha256(data).hexdigest() for _, data in files])
    if task.known_sha256 in (None, sha256):
        for name, data in files:
            originals.put_bytes(data, name=_file_name(name))
    return replace(task, files=tuple(files), source=source, originals_folder=None)


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


def compare_task(task: CompareTask) -> tuple[int, ComparisonRecord | None, str | None]:
    """Compare two encoded marks; return (pair, comparison record, None) or (pair, None, error).

    The record carries ``compare_s``, the seconds of the comparison.
    """
    started = time.perf_counter()
    state: ServiceWorkerState = worker_state()
    try:
        reference_kind, reference = state.comparable(task.reference)
        questioned_kind, questioned = state.comparable(task.questioned)
        if reference_kind != questioned_kind:
            raise ValueError(
                f"{kind_spec(reference_kind).noun} cannot be compared with "
                f"{kind_spec(questioned_kind).noun}."
            )
        record = kind_spec(reference_kind).compare(reference, questioned, settings=state.settings)
    except Exception as error:  # one failing pair must not stop the others
        source = f"{task.reference.key} vs {task.questioned.key}"
        return task.pair, None, describe_error(error, source=source)
    return task.pair, record.timed(compare_s=time.perf_counter() - started), None


def describe_task(
    task: tuple[int, bytes],
) -> tuple[int, np.ndarray | None, str | None, str]:
    """Compute the descriptor of a stored mark: (key, vector, None, version) or
    (key, None, error, version), the version being the mark's kind's current one."""
    key, data = task
    version = kind_spec(ItemKind.CARTRIDGE_CASE).descriptor_version
    try:
        spec, mark = decode_prepared(data)
        version = spec.descriptor_version
        vector = spec.describe(mark)
    except Exception as error:
        return key, None, describe_error(error, source=f"exhibit {key}"), version
    return key, vector, None, version


class ServiceWorkerState:
    """The settings of every kind and the mark cache of one worker process (or of the caller,
    inline, where the API's threads share it).

    Parameters
    ----------
    settings
        How items are prepared and compared.
    cache_size
        Marks made ready for comparison that the worker keeps (the least recently used go).
    """

    def __init__(self, settings: ItemSettings, cache_size: int) -> None:
        self.settings = settings
        self.cache_size = cache_size
        self.limits = DEFAULT_LIMITS
        self._lock = threading.Lock()
        self._cache: collections.OrderedDict[tuple[str, bytes], tuple[ItemKind, Any]] = (
            collections.OrderedDict()
        )

    def __getstate__(self) -> dict[str, Any]:  # the lock and the cache stay in this process
        return {"settings": self.settings, "cache_size": self.cache_size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"], state["cache_size"])  # type: ignore[misc]

    def comparable(self, reference: MarkRef) -> tuple[ItemKind, Any]:
        """Return the kind of an encoded mark and the mark made ready for comparison."""
        # keyed by the bytes' digest too: a key whose mark was replaced is never served stale
        cache_key = (reference.key, hashlib.blake2b(reference.data, digest_size=16).digest())
        with self._lock:
            cached = self._cache.get(cache_key)
            if cached is not None:
                self._cache.move_to_end(cache_key)
                return cached
        spec, mark = decode_prepared(reference.data)
        entry = (spec.kind, spec.comparable(mark, settings=self.settings))
        with self._lock:
            self._cache[cache_key] = entry
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return entry


class WorkerPool(LocalExecutor):
    """The service's process pool, started on first use and kept until :meth:`close`.

    Parameters
    ----------
    workers
        Number of processes; None for every available core; 1 runs every task in the calling
        process (no pool), which is also the way to debug.
    prepare_config, compare_config, cache_size, bullet_config
        The workers' settings and how many marks made ready for comparison each keeps.
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
        settings = ItemSettings(
            prepare=prepare_config, compare=compare_config, bullet=bullet_config
        )
        super().__init__(
            workers, state=ServiceWorkerState(settings, cache_size), preload=(__name__,)
        )

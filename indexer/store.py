"""Vector indexes partitioned by evidence kind and modality, saved atomically in one folder.

The database is the truth and this index a cache of it: everything here can be rebuilt from the
stored descriptors (:meth:`PartitionedIndex.rebuild`, which ``ballistics reindex`` drives), and
every problem with the saved files is reported as an :class:`~indexer.errors.IndexStoreError`
whose message says so, never as a crash or a silently wrong answer.

Layout of the folder::

    manifest.json                                  what is saved, with sizes and SHA-256 sums
    cartridge_case.topography.<sha256[:16]>.faiss  the FAISS index of one partition
    cartridge_case.topography.<sha256[:16]>.npz    its ids, classes and live flags
    cartridge_case.topography.<random 16>.f32      its full vectors, "ivf_disk" backend only
    .lock                                          advisory lock between processes

Files are named by their content and never rewritten in place. A save writes each changed
partition to temporary names, flushes and renames them, then replaces ``manifest.json`` the same
way, and only then deletes files the new manifest no longer names. A crash at any point leaves the
previous manifest with all the files it names, or the new one with all of its own.

The vector file of an ``"ivf_disk"`` partition (:mod:`indexer.disk`) is the exception: it is
written where it lies, before any save, since it may not fit in memory. It only grows (rows are
appended, never rewritten) and the manifest names how many of its rows are saved, with their
SHA-256; a rebuild starts a new file. So the old manifest still describes a prefix of the file.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer import files
from indexer.checks import as_result_count, as_unit_vectors
from indexer.config import BACKENDS, DEFAULT_INDEX_CONFIG, IndexConfig
from indexer.errors import IndexCorruptError, IndexVersionError
from indexer.vector_index import PADDING_SCORE, SearchResult, VectorIndex

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "indexer.partitioned-index"
#: raise when the saved layout changes; a saved index of another version is refused on load
FORMAT_VERSION = 1

#: (evidence kind, modality), e.g. ("cartridge_case", "topography")
Partition = tuple[str, str]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_DATA_FILE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*\.[A-Za-z0-9][A-Za-z0-9_-]*\.[0-9a-f]{16}\.(faiss|npz|f32)$"
)
_TEMPORARY_FILE = re.compile(r"^\..+\.[0-9a-f]{32}" + re.escape(files.TEMPORARY_SUFFIX) + "$")


def check_partition(partition: Any) -> Partition:
    """Return ``partition`` as a (kind, modality) tuple of file-name-safe names."""
    if (
        not isinstance(partition, tuple | list)
        or len(partition) != 2
        or not all(isinstance(name, str) and _NAME.match(name) for name in partition)
    ):
        raise ValueError(
            f"partition must be a (kind, modality) pair of names of letters, digits, '_' and '-' "
            f"(e.g. ('cartridge_case', 'topography')), got {partition!r}."
        )
    return (partition[0], partition[1])


@dataclass(frozen=True)
class _SavedPartition:
    """What the current manifest says about a partition, and which state it describes."""

    entry: dict[str, Any]
    index: VectorIndex
    generation: int


class PartitionedIndex:
    """One :class:`~indexer.vector_index.VectorIndex` per (kind, modality), saved in ``folder``.

    Parameters
    ----------
    folder
        Where :meth:`save` writes; nothing is read or written until then.
    dimension
        Vector length of partitions created without an explicit dimension.
    descriptor_version
        An opaque label of what produced the vectors (e.g. ``"casing-descriptor-2"``), saved in
        the manifest; :meth:`load` refuses an index saved under another label, so that vectors
        from an older descriptor are never compared with new ones.
    config
        Backend choice and parameters for every partition.

    Notes
    -----
    Thread-safe: searches run concurrently; a mutation blocks its own partition only.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        dimension: int = 256,
        descriptor_version: str = "",
        config: IndexConfig = DEFAULT_INDEX_CONFIG,
    ) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
            raise ValueError(f"dimension must be a positive integer, got {dimension!r}.")
        self._folder = Path(folder)
        self._dimension = dimension
        self._descriptor_version = str(descriptor_version)
        self._config = config
        self._partitions: dict[Partition, VectorIndex] = {}
        self._saved: dict[Partition, _SavedPartition] = {}
        self._lock = threading.Lock()  # guards the partition dictionary only
        self._save_lock = threading.Lock()

    # ------------------------------------------------------------------ properties

    @property
    def folder(self) -> Path:
        """The folder the index is saved in."""
        return self._folder

    @property
    def dimension(self) -> int:
        """Vector length of partitions created without an explicit dimension."""
        return self._dimension

    @property
    def descriptor_version(self) -> str:
        """The label of what produced the vectors."""
        return self._descriptor_version

    @property
    def config(self) -> IndexConfig:
        """Backend choice and parameters."""
        return self._config

    def partitions(self) -> list[Partition]:
        """Return the partitions, sorted."""
        with self._lock:
            return sorted(self._partitions)

    def partition(self, partition: Partition) -> VectorIndex:
        """Return the index of ``partition``; KeyError if it does not exist."""
        key = check_partition(partition)
        with self._lock:
            return self._partitions[key]

    def count(self, partition: Partition) -> int:
        """Return the number of live vectors in ``partition`` (0 if it does not exist)."""
        key = check_partition(partition)
        with self._lock:
            index = self._partitions.get(key)
        return 0 if index is None else index.count

    def ids(self, partition: Partition) -> np.ndarray:
        """Return the live ids of ``partition`` (empty if it does not exist)."""
        key = check_partition(partition)
        with self._lock:
            index = self._partitions.get(key)
        return np.empty(0, dtype=np.int64) if index is None else index.ids()

    # ------------------------------------------------------------------ mutation

    def create_partition(
        self, partition: Partition, *, dimension: int | None = None
    ) -> VectorIndex:
        """Return the index of ``partition``, creating it empty if needed.

        Raises
        ------
        ValueError
            If it exists with another dimension.
        """
        key = check_partition(partition)
        wanted = self._dimension if dimension is None else dimension
        with self._lock:
            index = self._partitions.get(key)
            if index is None:
                index = VectorIndex(
                    wanted, config=self._config, vectors_prefix=self._vectors_prefix(key)
                )
                self._partitions[key] = index
        if dimension is not None and index.dimension != dimension:
            raise ValueError(
                f"partition {key} holds {index.dimension}-d vectors, not {dimension}-d; drop it or "
                f"rebuild it with the new dimension."
            )
        return index

    def drop_partition(self, partition: Partition) -> bool:
        """Remove ``partition`` and its vectors; return whether it existed (saved on save)."""
        key = check_partition(partition)
        with self._lock:
            return self._partitions.pop(key, None) is not None

    def add(
        self,
        partition: Partition,
        ids: Iterable[int] | np.ndarray,
        vectors: np.ndarray,
        classes: Iterable[int] | np.ndarray | int | None = None,
    ) -> None:
        """Add (or replace) vectors of ``partition``; see :meth:`VectorIndex.add`."""
        key = check_partition(partition)
        with self._lock:
            existed = key in self._partitions
        index = self.create_partition(key)
        try:
            index.add(ids, vectors, classes)
        except BaseException:
            # refused input must not leave an empty partition behind to be saved
            with self._lock:
                if not existed and index.count == 0 and self._partitions.get(key) is index:
                    del self._partitions[key]
            raise

    def remove(self, partition: Partition, ids: Iterable[int] | np.ndarray) -> int:
        """Remove ids from ``partition``; return how many were there."""
        key = check_partition(partition)
        with self._lock:
            index = self._partitions.get(key)
        return 0 if index is None else index.remove(ids)

    def rebuild(
        self,
        partition: Partition,
        items: Iterable[tuple[int, Any, int]],
        *,
        dimension: int | None = None,
        batch_rows: int = 8192,
    ) -> int:
        """Replace ``partition`` with the ``(id, vector, class)`` triples; return its count.

        The new index is built beside the old one, which keeps answering searches until it is
        swapped in. Call :meth:`save` afterwards to persist it.
        """
        key = check_partition(partition)
        with self._lock:
            current = self._partitions.get(key)
        if dimension is None:
            dimension = current.dimension if current is not None else self._dimension
        index = VectorIndex.from_items(
            items,
            dimension=dimension,
            config=self._config,
            batch_rows=batch_rows,
            vectors_prefix=self._vectors_prefix(key),
        )
        with self._lock:
            self._partitions[key] = index
        logger.info("rebuilt partition %s: %d vectors (%s)", key, index.count, index.backend)
        return index.count

    # ------------------------------------------------------------------ search

    def search(
        self,
        partition: Partition,
        queries: np.ndarray,
        k: int,
        *,
        allowed_classes: Iterable[int] | int | None = None,
        exclude_ids: Iterable[int] | np.ndarray | None = None,
    ) -> SearchResult:
        """Return the ``k`` most similar vectors of ``partition``; see :meth:`VectorIndex.search`.

        A partition that does not exist yet answers with padding only (ids -1).
        """
        key = check_partition(partition)
        with self._lock:
            index = self._partitions.get(key)
        if index is not None:
            return index.search(
                queries, k, allowed_classes=allowed_classes, exclude_ids=exclude_ids
            )
        queries = np.asarray(queries)
        queries = as_unit_vectors(
            queries[None, :] if queries.ndim == 1 else queries, self._dimension, name="queries"
        )
        k = as_result_count(k)
        return SearchResult(
            np.full((len(queries), k), -1, dtype=np.int64),
            np.full((len(queries), k), PADDING_SCORE, dtype=np.float32),
        )

    # ------------------------------------------------------------------ files

    def _vectors_prefix(self, key: Partition) -> Path:
        """Return the path prefix of the vector files of ``key`` (``"ivf_disk"`` backend)."""
        return self._folder / f"{key[0]}.{key[1]}"

    def save(self) -> Path:
        """Write changed partitions and the manifest atomically; return the manifest's path."""
        with self._save_lock:
            self._folder.mkdir(parents=True, exist_ok=True)
            with files.folder_lock(self._folder, exclusive=True):
                with self._lock:
                    current = dict(self._partitions)
                saved: dict[Partition, _SavedPartition] = {}
                for key in sorted(current):
                    index = current[key]
                    previous = self._saved.get(key)
                    if (
                        previous is not None
                        and previous.index is index
                        and previous.generation == index.generation
                        and all(
                            (self._folder / previous.entry[name]).exists()
                            for name in _file_keys(previous.entry)
                        )
                    ):
                        saved[key] = previous  # unchanged since it was written
                    else:
                        saved[key] = self._write_partition(key, index)
                manifest = self._manifest([saved[key].entry for key in sorted(saved)])
                path = self._folder / MANIFEST_NAME
                files.write_text_atomically(path, json.dumps(manifest, indent=2) + "\n")
                self._saved = saved
                in_use = {
                    file.path.name
                    for index in current.values()
                    if (file := index.vector_file) is not None
                }
                self._delete_unreferenced(manifest, in_use)
        logger.info("saved %d partitions to %s", len(saved), self._folder)
        return path

    def _write_partition(self, key: Partition, index: VectorIndex) -> _SavedPartition:
        stem = f"{key[0]}.{key[1]}"
        temporary_index = files.temporary_path(self._folder, stem + ".faiss")
        temporary_arrays = files.temporary_path(self._folder, stem + ".npz")
        try:
            generation, entry = index.write_files(temporary_index, temporary_arrays)
            vector_file = index.vector_file
            if vector_file is not None and not (self._folder / vector_file.path.name).exists():
                raise ValueError(f"partition {key}'s vector file is not in {self._folder}")
            index_sum, index_bytes = files.sha256_of(temporary_index)
            arrays_sum, arrays_bytes = files.sha256_of(temporary_arrays)
            index_name = f"{stem}.{index_sum[:16]}.faiss"
            arrays_name = f"{stem}.{arrays_sum[:16]}.npz"
            files.commit(temporary_index, self._folder / index_name)
            files.commit(temporary_arrays, self._folder / arrays_name)
        finally:
            temporary_index.unlink(missing_ok=True)
            temporary_arrays.unlink(missing_ok=True)
        entry.update(
            kind=key[0],
            modality=key[1],
            index_file=index_name,
            index_sha256=index_sum,
            index_bytes=index_bytes,
            arrays_file=arrays_name,
            arrays_sha256=arrays_sum,
            arrays_bytes=arrays_bytes,
        )
        return _SavedPartition(entry=entry, index=index, generation=generation)

    def _manifest(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        body = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "descriptor_version": self._descriptor_version,
            "dimension": self._dimension,
            "faiss_version": faiss.__version__,
            "saved_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "partitions": entries,
        }
        return {**body, "checksum": _manifest_checksum(body)}

    def _delete_unreferenced(self, manifest: Mapping[str, Any], in_use: set[str]) -> None:
        """Delete data files neither the manifest names nor a partition uses (a vector file
        started after the save), and temporaries of failed saves."""
        referenced = {
            entry[name] for entry in manifest["partitions"] for name in _file_keys(entry)
        } | in_use
        for path in self._folder.iterdir():
            stale = (_DATA_FILE.match(path.name) and path.name not in referenced) or (
                _TEMPORARY_FILE.match(path.name)
            )
            if stale and path.is_file():
                path.unlink(missing_ok=True)
        files.fsync_folder(self._folder)

    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        dimension: int | Mapping[Partition, int] | None = None,
        descriptor_version: str | None = None,
        config: IndexConfig = DEFAULT_INDEX_CONFIG,
        verify_checksums: bool = True,
        mmap: bool = False,
    ) -> PartitionedIndex:
        """Return the index saved in ``folder``.

        Parameters
        ----------
        folder
            Where :meth:`save` wrote.
        dimension
            The vector length every partition must have, or one per partition (those not listed
            are not checked); None checks nothing.
        descriptor_version
            The label the index must have been saved under; None accepts any.
        config
            Search parameters and later backend choices (a partition keeps the backend it was
            saved with until it is next rebuilt).
        verify_checksums
            Compare every file's SHA-256 with the manifest before parsing it (reads every byte);
            sizes are always compared.
        mmap
            Map the FAISS files instead of reading them (loads in milliseconds; pages are read
            on first use).

        Raises
        ------
        FileNotFoundError
            If the folder holds no manifest.
        IndexCorruptError
            If the manifest or a file it names is missing, truncated, altered or unreadable.
        IndexVersionError
            If the format version, a dimension or the descriptor version differs.
        """
        folder = Path(folder)
        path = folder / MANIFEST_NAME
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no saved vector index; build it with `ballistics reindex`."
            )
        with files.folder_lock(folder, exclusive=False):
            manifest = _read_manifest(path)
            if descriptor_version is not None and manifest["descriptor_version"] != str(
                descriptor_version
            ):
                raise IndexVersionError(
                    path,
                    f"saved for descriptor version {manifest['descriptor_version']!r}, not "
                    f"{descriptor_version!r}",
                )
            default_dimension = dimension if isinstance(dimension, int) else manifest["dimension"]
            store = cls(
                folder,
                dimension=default_dimension,
                descriptor_version=manifest["descriptor_version"],
                config=config,
            )
            for entry in manifest["partitions"]:
                key, index = _load_partition(
                    folder,
                    entry,
                    dimension=dimension,
                    config=config,
                    verify_checksums=verify_checksums,
                    mmap=mmap,
                )
                store._partitions[key] = index
                store._saved[key] = _SavedPartition(entry=entry, index=index, generation=0)
        return store

    @classmethod
    def open(
        cls,
        folder: str | Path,
        *,
        dimension: int = 256,
        descriptor_version: str = "",
        config: IndexConfig = DEFAULT_INDEX_CONFIG,
        verify_checksums: bool = True,
        mmap: bool = False,
    ) -> PartitionedIndex:
        """Return the index saved in ``folder`` (checked as by :meth:`load`), or a new empty one
        if nothing was saved there yet."""
        if not (Path(folder) / MANIFEST_NAME).is_file():
            return cls(
                folder, dimension=dimension, descriptor_version=descriptor_version, config=config
            )
        return cls.load(
            folder,
            dimension=dimension,
            descriptor_version=descriptor_version,
            config=config,
            verify_checksums=verify_checksums,
            mmap=mmap,
        )


def _file_keys(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the manifest keys of the files a partition entry names."""
    if "vectors_file" in entry:
        return ("index_file", "arrays_file", "vectors_file")
    return ("index_file", "arrays_file")


def _manifest_checksum(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _read_manifest(path: Path) -> dict[str, Any]:
    """Return the parsed, checked manifest."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexCorruptError(path, f"the manifest is not readable JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise IndexCorruptError(path, f"not a manifest of a {FORMAT_NAME}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexVersionError(
            path,
            f"saved in format version {version!r}; this program reads version {FORMAT_VERSION}",
        )
    body = {key: value for key, value in manifest.items() if key != "checksum"}
    try:
        checksum = _manifest_checksum(body)
    except (TypeError, ValueError):
        checksum = None
    if checksum is None or manifest.get("checksum") != checksum:
        raise IndexCorruptError(path, "the manifest's checksum does not match its content")
    if not isinstance(manifest.get("partitions"), list) or not isinstance(
        manifest.get("dimension"), int
    ):
        raise IndexCorruptError(path, "the manifest lacks its partitions or dimension")
    return manifest


def _load_partition(
    folder: Path,
    entry: Any,
    *,
    dimension: int | Mapping[Partition, int] | None,
    config: IndexConfig,
    verify_checksums: bool,
    mmap: bool,
) -> tuple[Partition, VectorIndex]:
    manifest_path = folder / MANIFEST_NAME
    try:
        key = check_partition((entry["kind"], entry["modality"]))
        saved_dimension = int(entry["dimension"])
        backend = str(entry["backend"])
        count = int(entry["count"])
        names = [key.removesuffix("_file") for key in _file_keys(entry)]
        paths = {name: folder / str(entry[f"{name}_file"]) for name in names}
        expected = {
            name: (str(entry[f"{name}_sha256"]), int(entry[f"{name}_bytes"])) for name in names
        }
    except (KeyError, TypeError, ValueError) as error:
        raise IndexCorruptError(
            manifest_path, f"a partition entry is malformed ({error})"
        ) from None
    if backend not in BACKENDS:
        raise IndexCorruptError(manifest_path, f"partition {key} has unknown backend {backend!r}")
    wanted = dimension.get(key) if isinstance(dimension, Mapping) else dimension
    if wanted is not None and wanted != saved_dimension:
        raise IndexVersionError(
            manifest_path,
            f"partition {key} holds {saved_dimension}-d vectors; the descriptor now has {wanted}",
        )
    for name, path in paths.items():
        if path.parent != folder or not path.is_file():
            raise IndexCorruptError(path, f"the {name} file of partition {key} is missing")
        checksum, size = expected[name]
        # a vector file may hold rows appended after the save: only its start must match
        if path.stat().st_size != size and not (name == "vectors" and path.stat().st_size > size):
            raise IndexCorruptError(
                path,
                f"holds {path.stat().st_size} bytes, the manifest says {size} "
                "(truncated or altered)",
            )
        if verify_checksums and name != "vectors" and files.sha256_of(path)[0] != checksum:
            raise IndexCorruptError(path, "its SHA-256 does not match the manifest (altered)")
    index = VectorIndex.read_files(
        paths["index"], paths["arrays"], config=config, mmap=mmap, vectors_path=paths.get("vectors")
    )
    vector_file = index.vector_file
    if vector_file is not None:
        if vector_file.ntotal * vector_file.row_bytes != expected["vectors"][1]:
            raise IndexCorruptError(paths["vectors"], "holds another row count than the manifest")
        if verify_checksums and vector_file.sha256() != expected["vectors"][0]:
            raise IndexCorruptError(
                paths["vectors"], "its SHA-256 does not match the manifest (altered)"
            )
    if (index.dimension, index.backend, index.count) != (saved_dimension, backend, count):
        raise IndexCorruptError(
            paths["index"],
            f"holds {index.count} {index.dimension}-d vectors ({index.backend}); the manifest says "
            f"{count} {saved_dimension}-d ({backend})",
        )
    return key, index

"""The ``ivf_disk`` backend: compressed codes in memory, the full vectors in a file on disk.

At ten million 512-value vectors the full float32 vectors take 20 GB, and an HNSW graph over
them more: too much to hold in one process. This backend keeps in memory only an inverted-file
index of 4-bit product-quantised codes (FAISS "fast scan", searched with SIMD lookups), which
proposes a shortlist of ``shortlist_factor * k`` candidates per query; the shortlist is then
re-ranked exactly against the full vectors, read by position from a :class:`VectorFile` (a raw
file of float32 rows, memory-mapped, so that the operating system's page cache, not the
process, holds whichever parts are read often).

The vector file is append-only: rows are added at its end and never rewritten, and a save
records how many rows it holds with a SHA-256 of those rows. Removal marks positions dead (as
for HNSW); a rebuild writes a new file. So a saved manifest stays valid while the same process
appends after it: a reader uses only the rows the manifest names.

One process at a time may append to a vector file: the first append takes an exclusive lock on
the file (held while the object lives), and a second process's append is refused with an
:class:`~indexer.errors.IndexStoreError` rather than overwriting the first one's rows. Several
processes that each add to one saved ``ivf_disk`` partition are not supported yet.

References
----------
Jégou, H., Douze, M. and Schmid, C. (2011). Product quantization for nearest neighbor search.
IEEE TPAMI 33(1), 117-128.

André, F., Kermarrec, A.-M. and Le Scouarnec, N. (2019). Quicker ADC: unlocking the hidden
potential of product quantization with SIMD. IEEE TPAMI 43(5), 1666-1677.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer.checks import as_classes, as_ids, as_unit_vectors
from indexer.errors import IndexStoreError

try:  # POSIX advisory locks; elsewhere a second writer is not detected
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: file name suffix of a vector file
VECTOR_FILE_SUFFIX = ".f32"
#: rows read at a time when hashing or scanning a vector file
_BLOCK_ROWS = 65_536


class VectorFile:
    """An append-only file of float32 rows of one dimension, read by position.

    Parameters
    ----------
    path
        The file; it must exist and hold at least ``rows`` rows (bytes past them are ignored,
        and overwritten by the next :meth:`append`).
    dimension
        Values per row.
    rows
        Rows the file holds.
    """

    def __init__(self, path: str | Path, dimension: int, rows: int) -> None:
        self._path = Path(path)
        self._dimension = dimension
        self._count = 0
        self._digest: Any = None  # SHA-256 of the first _count rows, None until computed
        size = self._path.stat().st_size
        if size < rows * self.row_bytes:
            raise ValueError(f"{self._path}: holds {size} bytes, fewer than {rows} rows need.")
        self._count = rows
        self._map: np.ndarray | None = None
        self._lock: Any = None  # the open file that holds the writer's lock, once taken

    @classmethod
    def create(cls, path: str | Path, dimension: int) -> VectorFile:
        """Return a new empty vector file at ``path`` (which must not exist)."""
        with open(path, "xb"):
            pass
        created = cls(path, dimension, 0)
        created._digest = hashlib.sha256()
        created._take_lock()
        return created

    def _take_lock(self) -> None:
        """Become the file's only writer, or raise IndexStoreError if another process is."""
        if self._lock is not None or fcntl is None:
            return
        handle = open(self._path, "rb")  # noqa: SIM115 - kept open: it holds the lock
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise IndexStoreError(
                self._path, "another process is adding to this ivf_disk vector file"
            ) from None
        self._lock = handle
        weakref.finalize(self, handle.close)  # the lock goes with the object

    @property
    def path(self) -> Path:
        """The file."""
        return self._path

    @property
    def ntotal(self) -> int:
        """Number of rows (named as FAISS names an index's size)."""
        return self._count

    @property
    def row_bytes(self) -> int:
        """Bytes per row."""
        return 4 * self._dimension

    def append(self, rows: np.ndarray) -> None:
        """Write ``rows`` ((n, dimension) float32) after the last row."""
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self._dimension:
            raise ValueError(f"rows must be (n, {self._dimension}), got {rows.shape}.")
        if rows.shape[0] == 0:
            return
        self._take_lock()
        with open(self._path, "r+b") as handle:
            handle.seek(self._count * self.row_bytes)
            handle.write(rows.tobytes())
            handle.truncate()
        if self._digest is not None:
            self._digest.update(rows.tobytes())
        self._count += rows.shape[0]
        self._map = None

    def view(self) -> np.ndarray:
        """Return a read-only (ntotal, dimension) memory map of the rows."""
        if self._map is None:
            if self._count == 0:
                self._map = np.empty((0, self._dimension), dtype=np.float32)
            else:
                self._map = np.memmap(
                    self._path, dtype=np.float32, mode="r", shape=(self._count, self._dimension)
                )
        return self._map

    def flush(self) -> None:
        """Flush the written rows to disk."""
        descriptor = os.open(self._path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def sha256(self) -> str:
        """Return the hex SHA-256 of the rows (of the first :attr:`ntotal` rows of the file)."""
        if self._digest is None:
            digest = hashlib.sha256()
            rows = self.view()
            for start in range(0, self._count, _BLOCK_ROWS):
                digest.update(np.ascontiguousarray(rows[start : start + _BLOCK_ROWS]).tobytes())
            self._digest = digest
        return str(self._digest.hexdigest())

    def search(
        self, queries: np.ndarray, k: int, admitted: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return exact (scores, positions) of the top ``k`` rows among ``admitted`` positions."""
        rows = self.view()
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        labels = np.full((len(queries), k), -1, dtype=np.int64)
        for start in range(0, admitted.size, _BLOCK_ROWS):
            block = admitted[start : start + _BLOCK_ROWS]
            block_scores = queries @ np.asarray(rows[block]).T
            merged_scores = np.hstack([scores, block_scores])
            merged_labels = np.hstack([labels, np.broadcast_to(block, block_scores.shape)])
            scores, labels = _top(merged_scores, merged_labels, k)
        return scores, labels


@dataclass(frozen=True)
class DiskSearchParameters:
    """One search of an :class:`IVFDiskIndex`: the code search's parameters and the shortlist."""

    codes: faiss.SearchParametersIVF
    shortlist: int


class IVFDiskIndex:
    """Compressed IVF codes for the shortlist, a :class:`VectorFile` for the exact re-rank.

    Presents what :class:`~indexer.vector_index.VectorIndex` uses of a FAISS index: ``d``,
    ``ntotal``, ``add`` and ``search``; vectors are labelled by position.
    """

    def __init__(self, codes: faiss.Index, vectors: VectorFile) -> None:
        if codes.ntotal != vectors.ntotal:
            raise ValueError(
                f"the codes hold {codes.ntotal} vectors, the vector file {vectors.ntotal}."
            )
        self.codes = codes
        self.vectors = vectors
        self.d = codes.d

    @property
    def ntotal(self) -> int:
        """Number of stored vectors."""
        return int(self.codes.ntotal)

    def add(self, rows: np.ndarray) -> None:
        """Append unit vectors: to the file first, then their codes."""
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        self.vectors.append(rows)
        self.codes.add(rows)

    def search(
        self, queries: np.ndarray, k: int, *, params: DiskSearchParameters
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, positions), each (len(queries), k): the exactly re-ranked shortlist."""
        shortlist = max(k, params.shortlist)
        _, candidates = self.codes.search(queries, shortlist, params=params.codes)
        rows = self.vectors.view()
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        labels = np.full((len(queries), k), -1, dtype=np.int64)
        for row, (query, found) in enumerate(zip(queries, candidates, strict=True)):
            # sorted positions read the file in order, which the page cache rewards
            positions = np.unique(found[found >= 0])
            if positions.size == 0:
                continue
            exact = np.asarray(rows[positions]) @ query
            best, order = _top(exact[None, :], positions[None, :], k)
            scores[row], labels[row] = best[0], order[0]
        return scores, labels


def _top(scores: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``k`` best (scores, labels) of each row, best first, padded with -inf / -1."""
    count = scores.shape[1]
    if count > k:
        keep = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        scores = np.take_along_axis(scores, keep, axis=1)
        labels = np.take_along_axis(labels, keep, axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")
    scores = np.take_along_axis(scores, order, axis=1).astype(np.float32, copy=False)
    labels = np.take_along_axis(labels, order, axis=1).astype(np.int64, copy=False)
    if count < k:
        pad = k - count
        scores = np.hstack([scores, np.full((len(scores), pad), -np.inf, dtype=np.float32)])
        labels = np.hstack([labels, np.full((len(labels), pad), -1, dtype=np.int64)])
    labels = np.where(np.isfinite(scores), labels, -1)
    return scores, labels


def new_codes(
    dimension: int,
    training_vectors: np.ndarray,
    *,
    lists: int,
    sub_vector_dimensions: int,
    seed: int,
    residual: bool = False,
) -> faiss.Index:
    """Return a trained, empty IVF index of 4-bit fast-scan PQ codes for unit vectors.

    ``dimension / sub_vector_dimensions`` sub-quantisers of 16 centroids each: half a byte per
    ``sub_vector_dimensions`` values; with ``residual`` the codes encode each vector's difference
    from its list's centroid, else the vector itself.
    """
    if dimension % sub_vector_dimensions:
        raise ValueError(
            f"sub_vector_dimensions ({sub_vector_dimensions}) must divide the dimension "
            f"({dimension})."
        )
    sub_quantisers = dimension // sub_vector_dimensions
    if sub_quantisers % 2:
        raise ValueError(
            f"dimension / sub_vector_dimensions must be even for 4-bit codes, got {sub_quantisers}."
        )
    # the factory's index owns its coarse quantiser (and is already of the concrete class: a
    # faiss.downcast_index proxy would not own it)
    codes: Any = faiss.index_factory(
        dimension, f"IVF{lists},PQ{sub_quantisers}x4fs", faiss.METRIC_INNER_PRODUCT
    )
    codes.by_residual = residual
    codes.cp.seed = seed
    # k-means of the coarse quantiser: 10 iterations instead of FAISS's 25 (training and adding
    # each cost lists x vectors x dimension; the lists barely move after 10)
    codes.cp.niter = 10
    codes.pq.cp.seed = seed
    codes.pq.cp.min_points_per_centroid = 1
    codes.train(np.ascontiguousarray(training_vectors, dtype=np.float32))
    return codes


def new_vector_file(prefix: str | Path | None, dimension: int) -> VectorFile:
    """Return a new empty vector file named ``<prefix>.<16 hex>.f32``.

    Without a prefix the file lives in a new temporary folder, deleted with the returned object
    (an index that is never saved, e.g. a :class:`~indexer.vector_index.VectorIndex` on its own).
    """
    name = f"{uuid.uuid4().hex[:16]}{VECTOR_FILE_SUFFIX}"
    if prefix is None:
        folder = tempfile.mkdtemp(prefix="indexer-vectors-")
        created = VectorFile.create(Path(folder) / name, dimension)
        weakref.finalize(created, shutil.rmtree, folder, ignore_errors=True)
        return created
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    return VectorFile.create(prefix.parent / f"{prefix.name}.{name}", dimension)


@dataclass(frozen=True)
class StagedItems:
    """Vectors streamed to a file: ``ids[i]``, ``classes[i]``, ``alive[i]`` of row ``i``."""

    vectors: VectorFile
    ids: np.ndarray
    classes: np.ndarray
    alive: np.ndarray


def stage_items(
    items: Iterable[tuple[int, Any, int]],
    *,
    dimension: int,
    prefix: str | Path | None,
    batch_rows: int,
) -> StagedItems:
    """Return ``(id, vector, class)`` triples written to a new vector file, in order.

    Memory holds one batch of vectors at a time, so that a partition larger than memory can be
    rebuilt from a database cursor. Of triples with the same id the last one is alive.
    """
    vectors = new_vector_file(prefix, dimension)
    ids: list[np.ndarray] = []
    classes: list[np.ndarray] = []
    batch: list[tuple[int, Any, int]] = []

    def flush() -> None:
        if batch:
            ids.append(as_ids([item[0] for item in batch]))
            vectors.append(
                as_unit_vectors(np.stack([np.asarray(item[1]) for item in batch]), dimension)
            )
            classes.append(as_classes([item[2] for item in batch], len(batch)))
            batch.clear()

    for item in items:
        if len(item) != 3:
            raise ValueError(f"items must be (id, vector, class) triples, got {item!r:.80}.")
        batch.append(item)
        if len(batch) == batch_rows:
            flush()
    flush()
    all_ids = np.concatenate(ids) if ids else np.empty(0, dtype=np.int64)
    alive = np.zeros(all_ids.size, dtype=bool)
    # the last row of each id: first occurrence in the reversed order
    _, first_from_end = np.unique(all_ids[::-1], return_index=True)
    alive[all_ids.size - 1 - first_from_end] = True
    all_classes = np.concatenate(classes) if classes else np.empty(0, dtype=np.int64)
    return StagedItems(vectors, all_ids, all_classes, alive)


def is_codes_index(index: faiss.Index) -> bool:
    """Return whether ``index`` (as read from a file) is this backend's code index."""
    return isinstance(index, faiss.IndexIVFPQFastScan)

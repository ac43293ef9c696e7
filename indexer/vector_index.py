"""One partition's vector index: add, replace, remove and search unit vectors by int64 id.

Vectors are compared by cosine similarity (inner product of L2-normalised vectors). Each vector
carries an int64 id chosen by the application and a small integer class (e.g. a calibre code)
that a search can filter on. The backend (exact, HNSW, IVF-PQ, or IVF-PQ with the full vectors
on disk) follows the partition's size under :class:`~indexer.config.IndexConfig`; see
:mod:`indexer.backends`.

Bookkeeping
-----------
FAISS labels vectors by position; this class keeps, per position, the id, the class and whether
the vector is still live. Removing or replacing an id marks its position dead: the exact backend
compacts at once (a memory move), the graph and list backends skip dead positions through an
``IDSelectorBitmap`` at search time and are rebuilt without them once dead positions exceed
``compact_dead_fraction`` (HNSW cannot delete nodes).

Threads
-------
FAISS parallelises one exact query over its OpenMP threads. On a busy 2-core machine that
hand-off costs more than it gains (README, "Evidence database results"). A server answering
many single queries at once should call ``faiss.omp_set_num_threads(1)`` and let its requests
run in parallel instead; this package leaves the setting alone.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import faiss
import numpy as np

from indexer import backends, disk
from indexer.checks import (
    as_class_set,
    as_classes,
    as_distinct_ids,
    as_ids,
    as_result_count,
    as_unit_vectors,
)
from indexer.config import BACKENDS, DEFAULT_INDEX_CONFIG, FLAT, IVF, IVF_DISK, IndexConfig
from indexer.errors import IndexCorruptError
from indexer.locking import ReadWriteLock

logger = logging.getLogger(__name__)

#: score given to the padding slots of a result (id -1) when fewer than k vectors qualify
PADDING_SCORE = -np.inf
_SELECTION_CACHE_SIZE = 32


class SearchResult(NamedTuple):
    """Results of a search, one row per query, best first.

    ``ids`` is (queries, k) int64, ``-1`` where fewer than k vectors qualify; ``scores`` is
    (queries, k) float32 cosine similarity in [-1, 1], ``-inf`` in the padding slots.
    """

    ids: np.ndarray
    scores: np.ndarray


class VectorIndex:
    """A searchable set of unit vectors with int64 ids and integer classes.

    Parameters
    ----------
    dimension
        Length of every vector.
    config
        Backend choice and parameters.
    vectors_prefix
        Where the ``"ivf_disk"`` backend writes its vector files: ``<prefix>.<16 hex>.f32``
        (None: a temporary folder, deleted with the index).

    Notes
    -----
    Thread-safe: searches run concurrently, a mutation waits for running searches and blocks new
    ones until it is done. The ``add`` that takes a partition past
    ``config.flat_max_vectors`` builds the large backend inside the call (tens of seconds per
    100k vectors for HNSW; build times in the README's "Evidence database results").
    """

    def __init__(
        self,
        dimension: int = 256,
        *,
        config: IndexConfig = DEFAULT_INDEX_CONFIG,
        vectors_prefix: str | Path | None = None,
    ) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
            raise ValueError(f"dimension must be a positive integer, got {dimension!r}.")
        self._dimension = dimension
        self._config = config
        self._vectors_prefix = None if vectors_prefix is None else str(vectors_prefix)
        self._lock = ReadWriteLock()
        self._install(backends.new_index(FLAT, dimension, config=config), FLAT)
        self._set_rows(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool))
        self._trained_count = 0

    # ------------------------------------------------------------------ properties

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return self._dimension

    @property
    def config(self) -> IndexConfig:
        """Backend choice and parameters."""
        return self._config

    @property
    def backend(self) -> str:
        """The backend in use: ``"flat"``, ``"hnsw"``, ``"ivf"`` or ``"ivf_disk"``."""
        return self._backend

    @property
    def vector_file(self) -> disk.VectorFile | None:
        """The file of full vectors of the ``"ivf_disk"`` backend, else None."""
        return self._storage if isinstance(self._storage, disk.VectorFile) else None

    @property
    def count(self) -> int:
        """Number of live vectors."""
        return self._live

    @property
    def dead_count(self) -> int:
        """Number of removed or replaced vectors still occupying a position."""
        return self._size - self._live

    @property
    def generation(self) -> int:
        """A counter that changes with every mutation (to tell whether a save is needed)."""
        return self._generation

    def __len__(self) -> int:
        return self._live

    def __contains__(self, item: object) -> bool:
        if isinstance(item, bool) or not isinstance(item, int | np.integer):
            return False
        with self._lock.read():
            return bool(np.any(self._ids[: self._size][self._alive[: self._size]] == item))

    def ids(self) -> np.ndarray:
        """Return the ids of the live vectors, in insertion order."""
        with self._lock.read():
            return self._ids[: self._size][self._alive[: self._size]].copy()

    def classes(self) -> np.ndarray:
        """Return the classes of the live vectors, aligned with :meth:`ids`."""
        with self._lock.read():
            return self._classes[: self._size][self._alive[: self._size]].copy()

    def vectors(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Return the stored (unit) vectors of ``ids``, (len(ids), dimension) float32.

        Raises
        ------
        KeyError
            If an id is not in the index.
        """
        wanted = as_ids(ids)
        with self._lock.read():
            positions = self._positions_of(wanted)
            missing = positions < 0
            if missing.any():
                raise KeyError(f"id {int(wanted[np.argmax(missing)])} is not in the index")
            rows = backends.stored_rows(self._storage, self._dimension)
            return np.array(rows[positions], dtype=np.float32)

    # ------------------------------------------------------------------ mutation

    def add(
        self,
        ids: Iterable[int] | np.ndarray,
        vectors: np.ndarray,
        classes: Iterable[int] | np.ndarray | int | None = None,
    ) -> None:
        """Add vectors under ``ids``; an id already present is replaced.

        Parameters
        ----------
        ids
            Distinct non-negative int64 ids, one per row.
        vectors
            (len(ids), dimension) real values; stored L2-normalised as float32.
        classes
            One integer class per row (e.g. a calibre code), or one for all rows; default 0.
        """
        ids = as_distinct_ids(ids)
        vectors = as_unit_vectors(vectors, self._dimension)
        if len(vectors) != len(ids):
            raise ValueError(
                f"ids and vectors must have one entry per vector, got {len(ids)} ids and "
                f"{len(vectors)} vectors."
            )
        classes = as_classes(classes, len(ids))
        if ids.size == 0:
            return
        with self._lock.write():
            replaced = self._mark_dead(ids)
            if replaced and self._backend == FLAT:
                self._compact_flat()
            backends.copy_rows(self._index, vectors)
            self._append_rows(ids, classes)
            self._after_change()
            target = self._config.backend_for(self._live)
            grown_ivf = (
                self._backend in (IVF, IVF_DISK)
                and self._live >= self._config.ivf_regrow_factor * self._trained_count
            )
            if (self._backend == FLAT and target != FLAT) or grown_ivf:
                self._rebuild(target)
            elif self._needs_compaction():
                self._rebuild(self._config.backend_for(self._live))

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove ``ids`` (absent ones are ignored); return how many were removed."""
        ids = as_ids(ids)
        if ids.size == 0:
            return 0
        with self._lock.write():
            removed = self._mark_dead(ids)
            if removed:
                self._after_change()
                if self._backend == FLAT:
                    self._compact_flat()
                elif self._needs_compaction():
                    self._rebuild(self._config.backend_for(self._live))
            return removed

    def rebuild(self, *, backend: str | None = None) -> None:
        """Rebuild without dead vectors, on ``backend`` (default: what the config picks)."""
        if backend is not None and backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}.")
        with self._lock.write():
            self._rebuild(backend or self._config.backend_for(self._live))
            self._after_change()

    @classmethod
    def from_items(
        cls,
        items: Iterable[tuple[int, Any, int]],
        *,
        dimension: int = 256,
        config: IndexConfig = DEFAULT_INDEX_CONFIG,
        batch_rows: int = 8192,
        vectors_prefix: str | Path | None = None,
    ) -> VectorIndex:
        """Return an index built from ``(id, vector, class)`` triples, read in batches.

        The triples are streamed (e.g. from a database cursor) into an exact index, and the large
        backend is built once at the end if the count calls for it, instead of growing a graph
        one batch at a time. A later triple with the same id replaces an earlier one.
        """
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1, got {batch_rows}.")
        if IVF_DISK in (config.backend, config.large_backend) or config.disk_min_vectors:
            # the vectors may not fit in memory: staged in a file, the index built from there
            staged = disk.stage_items(
                items, dimension=dimension, prefix=vectors_prefix, batch_rows=batch_rows
            )
            index = cls(dimension, config=config, vectors_prefix=vectors_prefix)
            index._storage = staged.vectors  # not shared yet: no lock needed
            index._set_rows(staged.ids, staged.classes, staged.alive)
            index._rebuild(config.backend_for(index._live))
            index._generation = 0
            staged.vectors.path.unlink(missing_ok=True)
            return index
        # an exact index that never switches while it is filled
        index = cls(dimension, config=_never_switch(config), vectors_prefix=vectors_prefix)
        batch: list[tuple[int, Any, int]] = []
        for item in items:
            if len(item) != 3:
                raise ValueError(f"items must be (id, vector, class) triples, got {item!r:.80}.")
            batch.append(item)
            if len(batch) == batch_rows:
                index._add_triples(batch)
                batch = []
        index._add_triples(batch)
        index._config = config
        target = config.backend_for(index._live)
        with index._lock.write():
            if target != FLAT:
                index._rebuild(target)
            index._generation = 0
        return index

    def _add_triples(self, batch: list[tuple[int, Any, int]]) -> None:
        if not batch:
            return
        ids = np.array([item[0] for item in batch])
        last = {int(identifier): row for row, identifier in enumerate(ids.tolist())}
        rows = np.fromiter(last.values(), dtype=np.int64, count=len(last))  # last one wins
        vectors = np.stack([np.asarray(batch[row][1]) for row in rows])
        self.add(ids[rows], vectors, np.array([batch[row][2] for row in rows]))

    # ------------------------------------------------------------------ search

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed_classes: Iterable[int] | int | None = None,
        exclude_ids: Iterable[int] | np.ndarray | None = None,
    ) -> SearchResult:
        """Return the ``k`` most similar live vectors to each query.

        Parameters
        ----------
        queries
            (count, dimension) real values (normalised here), or one vector of length dimension.
        k
            Results per query.
        allowed_classes
            Only vectors of these classes qualify (None: all).
        exclude_ids
            These ids never qualify (e.g. the query's own exhibit).

        Returns
        -------
        SearchResult
            ``ids`` and cosine ``scores``, (count, k), best first, padded with -1 / -inf.
        """
        queries = np.asarray(queries)
        if queries.ndim == 1:
            queries = queries[None, :]
        queries = as_unit_vectors(queries, self._dimension, name="queries")
        k = as_result_count(k)
        allowed = as_class_set(allowed_classes)
        excluded = None if exclude_ids is None else as_ids(exclude_ids, name="exclude_ids")
        if excluded is not None and excluded.size == 0:
            excluded = None
        with self._lock.read():
            return self._search(queries, k, allowed, excluded)

    def _search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        excluded: np.ndarray | None,
    ) -> SearchResult:
        count = len(queries)
        empty = SearchResult(
            np.full((count, k), -1, dtype=np.int64),
            np.full((count, k), PADDING_SCORE, dtype=np.float32),
        )
        if self._live == 0 or count == 0:
            return empty
        selection = self._selection(allowed, excluded)
        if selection is None:
            parameters, keep = backends.search_parameters(
                self._index, self._backend, config=self._config, k=k
            )
            scores, labels = self._index.search(queries, k, params=parameters)
        else:
            bitmap, admitted = selection
            if admitted == 0:
                return empty
            selector = faiss.IDSelectorBitmap(bitmap.size, faiss.swig_ptr(bitmap))
            exact = self._backend == FLAT or admitted <= self._config.exact_filter_max_vectors
            if exact and isinstance(self._storage, disk.VectorFile):
                positions = np.flatnonzero(np.unpackbits(bitmap, bitorder="little")[: self._size])
                scores, labels = self._storage.search(queries, k, positions)
                keep = []
            elif exact:
                # exact over the admitted vectors only: the filter makes the scan cheap
                parameters, keep = backends.search_parameters(
                    self._storage, FLAT, config=self._config, k=k, selector=selector
                )
                scores, labels = self._storage.search(queries, k, params=parameters)
            else:
                parameters, keep = backends.search_parameters(
                    self._index,
                    self._backend,
                    config=self._config,
                    k=k,
                    selector=selector,
                    admitted_fraction=admitted / self._size,
                )
                scores, labels = self._index.search(queries, k, params=parameters)
            del keep, selector, bitmap  # alive until here, past the search
        found = labels >= 0
        ids = np.where(found, self._ids[np.where(found, labels, 0)], -1)
        scores = np.where(found, scores, PADDING_SCORE).astype(np.float32, copy=False)
        return SearchResult(ids.astype(np.int64, copy=False), scores)

    def _selection(
        self, allowed: np.ndarray | None, excluded: np.ndarray | None
    ) -> tuple[np.ndarray, int] | None:
        """Return (bitmap of admitted positions, admitted count), or None when all live qualify."""
        if allowed is None and excluded is None and self._live == self._size:
            return None
        # the filter of a calibre recurs from query to query; excluded ids (the query's own
        # exhibit) rarely do, so only selections without them are cached
        cacheable = excluded is None
        key = None if allowed is None else allowed.tobytes()
        if cacheable:
            cached = self._selection_cache.get(key)
            if cached is not None:
                return cached
        size = self._size
        mask = self._alive[:size].copy()
        if allowed is not None:
            mask &= np.isin(self._classes[:size], allowed)
        if excluded is not None and excluded.size:
            mask &= ~np.isin(self._ids[:size], excluded)
        selection = (np.packbits(mask, bitorder="little"), int(np.count_nonzero(mask)))
        if cacheable:
            if len(self._selection_cache) >= _SELECTION_CACHE_SIZE:
                self._selection_cache.clear()
            self._selection_cache[key] = selection
        return selection

    # ------------------------------------------------------------------ files

    def write_files(
        self, index_path: str | Path, arrays_path: str | Path
    ) -> tuple[int, dict[str, Any]]:
        """Write the FAISS index and the per-position arrays (ids, classes, live) to two files.

        Not atomic by itself: :class:`~indexer.store.PartitionedIndex` writes to temporary names
        and renames.

        Returns
        -------
        generation, description
            The :attr:`generation` written, and its dimension, backend, live and stored counts.
            The ``"ivf_disk"`` backend writes its codes to ``index_path`` and flushes its vector
            file, which the description names (``vectors_file``, ``vectors_rows``,
            ``vectors_bytes``, ``vectors_sha256`` of those bytes).
        """
        with self._lock.read():
            description = {
                "dimension": self._dimension,
                "backend": self._backend,
                "count": self._live,
                "stored": self._size,
            }
            if isinstance(self._index, disk.IVFDiskIndex):
                vectors = self._index.vectors
                vectors.flush()
                description.update(
                    vectors_file=vectors.path.name,
                    vectors_rows=vectors.ntotal,
                    vectors_bytes=vectors.ntotal * vectors.row_bytes,
                    vectors_sha256=vectors.sha256(),
                )
                faiss.write_index(self._index.codes, str(index_path))
            else:
                faiss.write_index(self._index, str(index_path))
            with open(arrays_path, "wb") as handle:
                np.savez(
                    handle,
                    ids=self._ids[: self._size],
                    classes=self._classes[: self._size],
                    alive=self._alive[: self._size],
                    trained_count=np.int64(self._trained_count),
                )
            return self._generation, description

    @classmethod
    def read_files(
        cls,
        index_path: str | Path,
        arrays_path: str | Path,
        *,
        config: IndexConfig = DEFAULT_INDEX_CONFIG,
        mmap: bool = False,
        vectors_path: str | Path | None = None,
    ) -> VectorIndex:
        """Return the index written by :meth:`write_files`.

        An ``"ivf_disk"`` index also needs its vector file, ``vectors_path``; it keeps using
        that file (appending to it), and writes new ones (after a rebuild) beside it.

        Raises
        ------
        IndexCorruptError
            If either file is unreadable or they disagree with each other.
        """
        try:
            flags = faiss.IO_FLAG_MMAP if mmap else 0
            index: Any = faiss.read_index(str(index_path), flags)
            if disk.is_codes_index(index):
                if vectors_path is None:
                    raise TypeError("an ivf_disk index read without its vector file")
                try:
                    vectors = disk.VectorFile(vectors_path, index.d, index.ntotal)
                except (OSError, ValueError) as error:
                    raise IndexCorruptError(vectors_path, str(error)) from None
                index = disk.IVFDiskIndex(index, vectors)
            backend = backends.backend_of(index)
        except (RuntimeError, TypeError) as error:
            raise IndexCorruptError(index_path, f"not a readable FAISS index ({error})") from None
        try:
            with np.load(arrays_path, allow_pickle=False) as arrays:
                ids = np.asarray(arrays["ids"], dtype=np.int64)
                classes = np.asarray(arrays["classes"], dtype=np.int64)
                alive = np.asarray(arrays["alive"], dtype=bool)
                trained_count = int(arrays["trained_count"])
        except (OSError, ValueError, KeyError, EOFError) as error:
            raise IndexCorruptError(arrays_path, f"unreadable id arrays ({error})") from None
        if not (index.ntotal == ids.size == classes.size == alive.size):
            raise IndexCorruptError(
                arrays_path,
                f"holds {ids.size} ids for {index.ntotal} vectors in {Path(index_path).name}",
            )
        if np.unique(ids[alive]).size != int(alive.sum()):
            raise IndexCorruptError(arrays_path, "a live id appears twice")
        # new vector files go beside this one, under its partition's stem
        prefix = None if vectors_path is None else str(vectors_path).rsplit(".", 2)[0]
        result = cls(index.d, config=config, vectors_prefix=prefix)
        result._install(index, backend)
        result._set_rows(ids, classes, alive)
        result._trained_count = trained_count
        result._generation = 0
        return result

    # ------------------------------------------------------------------ internals

    def _install(self, index: Any, backend: str) -> None:
        # no faiss.downcast_index here: its proxy does not own the index, which would be freed
        # with the caller's object (read_index already returns the concrete class)
        self._index = index
        self._storage = backends.exact_storage(self._index)
        self._backend = backend

    def _set_rows(self, ids: np.ndarray, classes: np.ndarray, alive: np.ndarray) -> None:
        capacity = max(1024, ids.size)
        self._ids = np.empty(capacity, dtype=np.int64)
        self._classes = np.empty(capacity, dtype=np.int64)
        self._alive = np.zeros(capacity, dtype=bool)
        self._size = ids.size
        self._ids[: ids.size] = ids
        self._classes[: ids.size] = classes
        self._alive[: ids.size] = alive
        self._live = int(alive.sum())
        self._after_change()

    def _after_change(self) -> None:
        self._selection_cache: dict[Any, tuple[np.ndarray, int]] = {}
        self._generation = getattr(self, "_generation", 0) + 1

    def _append_rows(self, ids: np.ndarray, classes: np.ndarray) -> None:
        needed = self._size + ids.size
        if needed > self._ids.size:
            # grow geometrically so that one-at-a-time ingest stays linear overall
            capacity = max(needed, 2 * self._ids.size)
            for name in ("_ids", "_classes", "_alive"):
                old = getattr(self, name)
                grown = np.zeros(capacity, dtype=old.dtype)
                grown[: self._size] = old[: self._size]
                setattr(self, name, grown)
        self._ids[self._size : needed] = ids
        self._classes[self._size : needed] = classes
        self._alive[self._size : needed] = True
        self._size = needed
        self._live += ids.size

    def _positions_of(self, ids: np.ndarray) -> np.ndarray:
        """Return the live position of each id, -1 where absent."""
        size = self._size
        live_positions = np.flatnonzero(self._alive[:size])
        live_ids = self._ids[live_positions]
        order = np.argsort(live_ids, kind="stable")
        sorted_ids = live_ids[order]
        slots = np.searchsorted(sorted_ids, ids)
        slots = np.minimum(slots, max(sorted_ids.size - 1, 0))
        hit = sorted_ids.size > 0
        found = (sorted_ids[slots] == ids) if hit else np.zeros(ids.size, dtype=bool)
        return np.where(found, live_positions[order[slots]] if hit else -1, -1)

    def _mark_dead(self, ids: np.ndarray) -> int:
        size = self._size
        hits = self._alive[:size] & np.isin(self._ids[:size], ids)
        removed = int(np.count_nonzero(hits))
        if removed:
            self._alive[:size][hits] = False
            self._live -= removed
        return removed

    def _compact_flat(self) -> None:
        """Drop dead positions from an exact index in place (order kept, positions renumbered)."""
        size = self._size
        keep = self._alive[:size].copy()
        if keep.all():
            return
        dead = np.packbits(~keep, bitorder="little")
        self._index.remove_ids(faiss.IDSelectorBitmap(dead.size, faiss.swig_ptr(dead)))
        self._set_rows(self._ids[:size][keep], self._classes[:size][keep], keep[keep])

    def _needs_compaction(self) -> bool:
        dead = self._size - self._live
        return self._backend != FLAT and dead > self._config.compact_dead_fraction * self._size

    def _rebuild(self, backend: str) -> None:
        """Build ``backend`` afresh from the live stored vectors (caller holds the write lock)."""
        started = time.perf_counter()
        size = self._size
        keep = self._alive[:size].copy()
        positions = np.flatnonzero(keep)
        rows = backends.stored_rows(self._storage, self._dimension)
        training = None
        if backend in (IVF, IVF_DISK):
            # a seeded sample of the live vectors, so that a rebuild is reproducible
            sample_size = min(positions.size, self._config.ivf_training_vectors_max)
            sample = np.random.default_rng(positions.size).choice(
                positions, sample_size, replace=False
            )
            training = rows[np.sort(sample)]
        index = backends.new_index(
            backend,
            self._dimension,
            config=self._config,
            training_vectors=training,
            count=positions.size,
            vectors_prefix=self._vectors_prefix,
        )
        for start in range(0, positions.size, backends.COPY_ROWS):
            block = positions[start : start + backends.COPY_ROWS]
            index.add(np.ascontiguousarray(rows[block]))
        previous = self._backend
        ids, classes = self._ids[:size][keep], self._classes[:size][keep]
        self._install(index, backend)
        self._set_rows(ids, classes, np.ones(ids.size, dtype=bool))
        self._trained_count = ids.size if backend in (IVF, IVF_DISK) else 0
        logger.info(
            "rebuilt a %d-d partition of %d vectors: %s -> %s in %.1f s",
            self._dimension,
            ids.size,
            previous,
            backend,
            time.perf_counter() - started,
        )


def _never_switch(config: IndexConfig) -> IndexConfig:
    """Return ``config`` with an exact backend that neither switches nor compacts."""
    return dataclasses.replace(config, backend=FLAT)

"""The vector index one process searches, kept in step with the store's database.

:class:`LiveIndex` holds the process's :class:`indexer.PartitionedIndex` and the store's change
counters it is in step with (:mod:`api.service.index`). Searches read :attr:`LiveIndex.current`
without a lock; catching up, reloading and replacing the index take one lock, so that one thread
at a time changes which index is current and which counters go with it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from api.service.config import index_vector
from api.service.index import IndexState, catch_up_index, new_index, open_index, save_index
from api.store.database import Store
from api.store.repository import StoreGeneration
from indexer import IndexConfig, Partition, PartitionedIndex, SearchResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class IndexEntry:
    """One exhibit's place in the vector index: its key, partition, descriptor and calibre class."""

    key: int
    partition: Partition
    vector: np.ndarray
    caliber_class: int = 0


class LiveIndex:
    """The index of one open store, in step with its database (use :meth:`open`).

    Parameters
    ----------
    store
        The open store.
    index
        Its vector index.
    config
        The index's settings (for a reload).
    state
        What opening the index found; its ``seen`` counters are those ``index`` is in step with.
    """

    def __init__(
        self,
        store: Store,
        index: PartitionedIndex,
        *,
        config: IndexConfig,
        state: IndexState | None = None,
    ) -> None:
        self._store = store
        self._config = config
        self.current = index
        self.state = state or IndexState()
        # the store's change counters self.current is in step with (None: reload it when asked)
        self._seen = self.state.seen
        # one catch-up, reload or replacement at a time; searches need no lock
        self._lock = threading.Lock()

    @classmethod
    def open(cls, store: Store, *, config: IndexConfig, load: bool = True) -> LiveIndex:
        """Load ``store``'s saved index and bring it in step with the database (``load`` False:
        start from an empty one, for a rebuild)."""
        if not load:
            return cls(store, new_index(store, config=config), config=config)
        index, state = open_index(store, config=config)
        if state.changed:
            save_index(store, index, seen=state.seen)
        elif not state.incremental:
            _save_counters(store, index, seen=state.seen)
        return cls(store, index, config=config, state=state)

    def search(
        self,
        partition: Partition,
        vectors: np.ndarray,
        depth: int,
        *,
        allowed_classes: Iterable[int] | None = None,
        exclude_ids: np.ndarray | None = None,
    ) -> SearchResult:
        """Search the current index (:meth:`indexer.PartitionedIndex.search`)."""
        return self.current.search(
            partition,
            vectors,
            depth,
            allowed_classes=allowed_classes,
            exclude_ids=exclude_ids,
        )

    def add(self, entry: IndexEntry) -> None:
        """Add one stored exhibit's descriptor (after its transaction committed)."""
        self.current.add(
            entry.partition,
            np.asarray([entry.key], dtype=np.int64),
            index_vector(entry.vector)[None, :],
            classes=np.asarray([entry.caliber_class], dtype=np.int64),
        )

    def catch_up(self) -> IndexState:
        """Bring the index in step with what other processes (and threads) stored since it was
        last; called before each search and correlation.

        One small query when nothing changed; otherwise the descriptors stored since are added,
        or, after a ``ballistics reindex`` anywhere, the index is reloaded. Does not save.
        """
        with self._lock:
            seen = self._seen
            state = None if seen is None else catch_up_index(self._store, self.current, seen=seen)
            if state is None:
                return self._reload()
            self._seen = state.seen
            return state

    def reload(self) -> IndexState:
        """Reload the index from its saved copy and the database now (and save it if it changed)."""
        with self._lock:
            return self._reload()

    def replace(self, index: PartitionedIndex, *, seen: StoreGeneration) -> None:
        """Make ``index`` (rebuilt in step with the counters ``seen``) the current one."""
        with self._lock:
            self.current, self._seen = index, seen
            self.state = IndexState(seen=seen)

    def save(self) -> None:
        """Save the index (atomically), with the store's counters it is in step with."""
        with self._lock:  # the counters that go with this index, read before it is saved
            index, seen = self.current, self._seen
        save_index(self._store, index, seen=seen)

    def _reload(self) -> IndexState:
        index, state = open_index(self._store, config=self._config)
        if state.changed:
            save_index(self._store, index, seen=state.seen)
        self.current, self.state, self._seen = index, state, state.seen
        return state


def _save_counters(store: Store, index: PartitionedIndex, *, seen: StoreGeneration | None) -> None:
    """Save an index that every exhibit was compared with, so that the next open only reads
    what is new; a store this process cannot write to is still searched, only opened slower."""
    try:
        save_index(store, index, seen=seen)
    except OSError as error:
        logger.debug("the vector index's counters were not saved: %s", error)

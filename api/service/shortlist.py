"""Retrieval's two stages, shared by search and correlation: shortlist, then compare.

1. :func:`shortlist`: the nearest descriptors of the query's partition in the vector index,
   among exhibits of its calibre and of unknown calibre, less the excluded ones (the query's own
   case, the stored copy of the item) and, for rifled kinds, less those whose known rifling
   differs from the query's (:mod:`api.rifling`: a known difference rules a barrel out).
2. :func:`compare_pairs`: the pairwise comparison of the shortlisted pairs on their marks,
   fetched from the database a few pairs at a time and compared through the executor
   (:func:`api.service.workers.compare_task`), each result as it finishes.

A search compares one query, whose mark is in memory, with its shortlist
(:func:`compare_with`); a correlation run shortlists each of its queries, compares every pair
once and records each query as soon as its pairs are done (:mod:`api.service.correlate`).

References
----------
.. [1] J. Philbin, O. Chum, M. Isard, J. Sivic, A. Zisserman, "Object retrieval with large
   vocabularies and fast spatial matching", CVPR 2007 (a retrieval short-list re-ranked by
   geometric verification).
"""

from __future__ import annotations

import collections
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from api.rifling import RiflingClass, rifling_class
from api.service.config import allowed_classes, index_vector
from api.service.context import ServiceContext
from api.service.workers import CompareTask, MarkRef, compare_task
from api.store import repository
from api.store.database import Store
from ballistics.items.records import ComparisonRecord
from indexer import Partition

#: pairs whose marks are fetched from the database together
_FETCH_PAIRS = 32
#: encoded marks kept in the main process while tasks are built (~0.15 MB each for Fadul)
_MARK_CACHE = 256

#: one side of a pair to compare: a stored exhibit's integer id, or a mark in memory
Side = int | MarkRef
#: what the comparison of pair ``position`` gave: its record, or why it failed
Compared = tuple[int, ComparisonRecord | None, str | None]
#: a stored exhibit's comparison with a query: its record, or why it failed
Outcome = tuple[ComparisonRecord | None, str | None]


@dataclass(frozen=True, eq=False)
class ShortlistQuery:
    """A descriptor to look for, and which stored exhibits may answer it.

    Parameters
    ----------
    partition
        The (kind, modality) partition of the index to search.
    descriptor
        The query's descriptor.
    depth
        Nearest neighbours taken from the index.
    caliber
        Only exhibits of this calibre and of unknown calibre (None: all).
    exclude_keys
        Exhibits (integer ids) never shortlisted.
    rifling
        The query's rifling characteristics (rifled kinds only; None: no filter).
    """

    partition: Partition
    descriptor: np.ndarray
    depth: int
    caliber: str | None = None
    exclude_keys: Collection[int] = ()
    rifling: RiflingClass | None = None


@dataclass(frozen=True)
class Shortlisted:
    """A stored exhibit the index returned: its integer id and descriptor similarity."""

    key: int
    similarity: float


def shortlist(context: ServiceContext, query: ShortlistQuery) -> list[Shortlisted]:
    """Return the stored exhibits nearest ``query``, most similar first (the first stage).

    The index is searched as it is: callers catch it up first (:meth:`LiveIndex.catch_up
    <api.service.live_index.LiveIndex.catch_up>`).
    """
    excluded = np.asarray(sorted({int(key) for key in query.exclude_keys}), dtype=np.int64)
    found = context.index.search(
        query.partition,
        index_vector(query.descriptor)[None, :],
        query.depth,
        allowed_classes=allowed_classes(query.caliber),
        exclude_ids=excluded if excluded.size else None,
    )
    hits = [
        Shortlisted(int(key), float(similarity))
        for key, similarity in zip(found.ids[0].tolist(), found.scores[0].tolist(), strict=True)
        if key >= 0
    ]
    wanted = query.rifling
    if wanted is None or wanted == RiflingClass() or not hits:
        return hits
    with context.store.transaction() as session:
        metadata = repository.exhibit_metadata(session, [hit.key for hit in hits])
    apart = {key for key, known in metadata.items() if wanted.conflicts_with(rifling_class(known))}
    return [hit for hit in hits if hit.key not in apart]


def compare_pairs(
    context: ServiceContext, pairs: Sequence[tuple[Side, Side]]
) -> Iterator[Compared]:
    """Compare each ``(reference, questioned)`` pair through the executor (the second stage).

    Yields ``(position, record, error)`` in the order the comparisons finish; ``position`` is
    the pair's place in ``pairs``. A stored side's mark is fetched from the database when its
    pair's task is built (by the executor's feeder, in sessions of its own).
    """
    return context.executor.map_unordered(
        compare_task, _compare_tasks(context.store, pairs), count=len(pairs)
    )


def compare_with(
    context: ServiceContext, query: MarkRef, keys: Sequence[int]
) -> dict[int, Outcome]:
    """Compare the mark ``query`` with each stored exhibit ``keys`` (as its reference); return
    each key's comparison record, or why it failed."""
    compared: dict[int, Outcome] = {}
    for position, record, error in compare_pairs(context, [(key, query) for key in keys]):
        compared[keys[position]] = (record, error)
    return compared


def _compare_tasks(store: Store, pairs: Sequence[tuple[Side, Side]]) -> Iterator[CompareTask]:
    """Yield the comparison tasks, fetching stored marks from the database a few pairs at a time.

    Run by the executor's feeder thread while the main thread may write results: it uses its
    own sessions, and keeps the most recently used marks so that a candidate shared by many
    queries is read once.
    """
    cache: collections.OrderedDict[int, bytes] = collections.OrderedDict()
    for start in range(0, len(pairs), _FETCH_PAIRS):
        batch = pairs[start : start + _FETCH_PAIRS]
        needed = {side for pair in batch for side in pair if not isinstance(side, MarkRef)}
        for key in needed & cache.keys():
            cache.move_to_end(key)
        missing = needed - cache.keys()
        if missing:
            with store.transaction() as session:
                cache.update(repository.marks_by_key(session, sorted(missing)))
        while len(cache) > max(_MARK_CACHE, len(needed)):
            cache.popitem(last=False)
        for offset, (reference, questioned) in enumerate(batch):
            yield CompareTask(
                pair=start + offset,
                reference=_mark(reference, cache),
                questioned=_mark(questioned, cache),
            )


def _mark(side: Side, cache: collections.OrderedDict[int, bytes]) -> MarkRef:
    if isinstance(side, MarkRef):
        return side
    return MarkRef(f"exhibit:{side}", cache.get(side, b""))

"""FAISS vector index over float32 vectors and int64 ids, partitioned and saved atomically.

A generic layer: it knows nothing of ballistics (and never imports it). The application maps its
exhibits to int64 ids and calibres to integer classes, stores the descriptors in its database,
and treats this index as a cache it can rebuild from there at any time.

May import: the standard library, numpy and FAISS. Never ``ballistics``, never ``api``
(``tests/test_structure.py`` checks it).

>>> import numpy as np
>>> from indexer import PartitionedIndex
>>> store = PartitionedIndex("index-folder", dimension=4)
>>> store.add(("cartridge_case", "topography"), [10, 11], np.eye(4)[:2], classes=[9, 9])
>>> store.search(("cartridge_case", "topography"), np.eye(4)[:1], 1).ids
array([[10]])
"""

from indexer.config import AUTO, BACKENDS, FLAT, HNSW, IVF, IVF_DISK, IndexConfig
from indexer.errors import IndexCorruptError, IndexStoreError, IndexVersionError
from indexer.store import FORMAT_VERSION, MANIFEST_NAME, Partition, PartitionedIndex
from indexer.vector_index import PADDING_SCORE, SearchResult, VectorIndex

__all__ = [
    "AUTO",
    "BACKENDS",
    "FLAT",
    "FORMAT_VERSION",
    "HNSW",
    "IVF",
    "IVF_DISK",
    "MANIFEST_NAME",
    "PADDING_SCORE",
    "IndexConfig",
    "IndexCorruptError",
    "IndexStoreError",
    "IndexVersionError",
    "Partition",
    "PartitionedIndex",
    "SearchResult",
    "VectorIndex",
]

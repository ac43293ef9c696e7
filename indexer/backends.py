"""FAISS indexes behind a partition: construction, exact storage access and search parameters.

Every backend labels vectors by their position (0, 1, 2, ... in insertion order) and keeps the
full normalised vectors in an exact ``IndexFlatIP`` reachable through :func:`exact_storage`:

``flat``
    ``IndexFlatIP`` itself: exact inner product, the ground truth.
``hnsw``
    ``IndexHNSWFlat``: a navigable small-world graph over the full vectors, so the distances it
    returns are exact and only the candidate set is approximate; its ``storage`` is the flat
    index.
``ivf``
    ``IndexRefineFlat(IndexIVFPQ)``: inverted lists of product-quantised codes propose
    ``refine_factor * k`` candidates that are re-ranked exactly against the flat
    ``refine_index`` (PQ distances alone lose recall).
``ivf_disk``
    :class:`~indexer.disk.IVFDiskIndex`: the same idea with only 4-bit fast-scan codes in memory
    and the full vectors in a :class:`~indexer.disk.VectorFile` on disk, which takes the flat
    index's place in what follows.

Keeping the flat vectors serves three purposes: a filtered search that admits few vectors is
answered exactly from them, a partition can be rebuilt (compacted, or moved to another backend)
without the database, and all three backends search by the same cosine similarity.

References
----------
Malkov, Y. A. and Yashunin, D. A. (2020). Efficient and robust approximate nearest neighbor search
using hierarchical navigable small world graphs. IEEE TPAMI 42(4), 824-836.

Jégou, H., Douze, M. and Schmid, C. (2011). Product quantization for nearest neighbor search.
IEEE TPAMI 33(1), 117-128.

Douze, M. et al. (2024). The Faiss library. arXiv:2401.08281.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import faiss
import numpy as np

from indexer import disk
from indexer.config import FLAT, HNSW, IVF, IVF_DISK, IndexConfig

logger = logging.getLogger(__name__)

#: rows added to FAISS at a time when copying between indexes, bounding temporary memory
COPY_ROWS = 65_536


def new_index(
    backend: str,
    dimension: int,
    *,
    config: IndexConfig,
    training_vectors: np.ndarray | None = None,
    seed: int = 1234,
    count: int = 0,
    vectors_prefix: str | None = None,
) -> Any:
    """Return an empty FAISS index of ``backend`` for unit vectors of ``dimension``.

    Parameters
    ----------
    backend
        ``"flat"``, ``"hnsw"``, ``"ivf"`` or ``"ivf_disk"``.
    dimension
        Vector length.
    config
        Graph and list parameters.
    training_vectors
        Unit vectors to train the IVF coarse quantiser and product quantiser on (required for
        ``"ivf"``, ignored otherwise); at most ``config.ivf_training_vectors_max`` rows are used.
    seed
        Seed of the training sample and of k-means, so that a rebuild is reproducible.
    count
        Vectors the index is built for (sets the list count of ``"ivf_disk"``).
    vectors_prefix
        Path prefix of the vector file of ``"ivf_disk"`` (None: a temporary folder).
    """
    if backend == FLAT:
        return faiss.IndexFlatIP(dimension)
    if backend == HNSW:
        index = faiss.IndexHNSWFlat(dimension, config.hnsw_neighbors, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.hnsw_build_breadth
        return index
    if backend == IVF:
        if training_vectors is None or len(training_vectors) == 0:
            raise ValueError("an IVF index needs training vectors; pass training_vectors.")
        return _trained_ivf(dimension, training_vectors, config=config, seed=seed)
    if backend == IVF_DISK:
        if training_vectors is None or len(training_vectors) == 0:
            raise ValueError("an ivf_disk index needs training vectors; pass training_vectors.")
        codes = disk.new_codes(
            dimension,
            training_vectors,
            lists=config.disk_list_count(max(count, len(training_vectors)), len(training_vectors)),
            sub_vector_dimensions=config.disk_sub_vector_dimensions,
            seed=seed,
            residual=config.disk_residual,
        )
        return disk.IVFDiskIndex(codes, disk.new_vector_file(vectors_prefix, dimension))
    raise ValueError(f"backend must be one of 'flat', 'hnsw', 'ivf', 'ivf_disk', got {backend!r}.")


def _trained_ivf(
    dimension: int, training_vectors: np.ndarray, *, config: IndexConfig, seed: int
) -> faiss.Index:
    """Return an IVF-PQ index wrapped for exact re-ranking, trained on a sample of the vectors."""
    count = len(training_vectors)
    rng = np.random.default_rng(seed)
    if count > config.ivf_training_vectors_max:
        rows = np.sort(rng.choice(count, config.ivf_training_vectors_max, replace=False))
        training_vectors = training_vectors[rows]
    sample = np.ascontiguousarray(training_vectors, dtype=np.float32)
    lists = config.ivf_list_count(len(sample))
    code_bytes = config.ivf_code_bytes_for(dimension)
    # 8-bit codes (256 centroids per sub-quantiser) even for small training sets: 5-bit codes
    # cost 6 points of recall@10 at 2k vectors; k-means needs at least one point per centroid
    bits = int(min(8, max(1, math.floor(math.log2(len(sample))))))
    quantizer = faiss.IndexFlatIP(dimension)
    base = faiss.IndexIVFPQ(
        quantizer, dimension, lists, code_bytes, bits, faiss.METRIC_INNER_PRODUCT
    )
    base.cp.seed = seed
    base.pq.cp.seed = seed
    # FAISS warns below 39 points per centroid; few points per PQ centroid are fine here since
    # every candidate is re-ranked exactly
    base.pq.cp.min_points_per_centroid = 1
    index = faiss.IndexRefineFlat(base)
    index.k_factor = float(config.ivf_refine_factor)
    index.train(sample)
    logger.info(
        "trained IVF-PQ on %d vectors: %d lists, %d-byte codes of %d bits",
        len(sample),
        lists,
        code_bytes,
        bits,
    )
    return index


def exact_storage(index: Any) -> Any:
    """Return the flat index (or vector file) holding every vector of ``index`` in position order.

    The returned proxy does not own its memory: keep ``index`` alive as long as it is used.
    """
    if isinstance(index, disk.IVFDiskIndex):
        return index.vectors
    if isinstance(index, faiss.IndexFlat):
        return index
    if isinstance(index, faiss.IndexHNSWFlat):
        storage = faiss.downcast_index(index.storage)
    elif isinstance(index, faiss.IndexRefine):
        storage = faiss.downcast_index(index.refine_index)
    else:
        raise TypeError(f"not an index this package builds: {type(index).__name__}")
    if not isinstance(storage, faiss.IndexFlat):
        raise TypeError(f"not an index this package builds: {type(storage).__name__} storage")
    return storage


def backend_of(index: Any) -> str:
    """Return the backend name of a FAISS index this package built (or read back)."""
    if isinstance(index, disk.IVFDiskIndex):
        return IVF_DISK
    if isinstance(index, faiss.IndexHNSWFlat):
        return HNSW
    if isinstance(index, faiss.IndexRefine):
        return IVF
    if isinstance(index, faiss.IndexFlat):
        return FLAT
    raise TypeError(f"not an index this package builds: {type(index).__name__}")


def stored_rows(storage: Any, dimension: int) -> np.ndarray:
    """Return a read-only view of the flat storage's vectors, (ntotal, dimension) float32.

    The view aliases FAISS's buffer (or maps the vector file): it is valid only until the index
    next changes, so callers hold the partition's lock while they use it and copy what they keep.
    """
    if isinstance(storage, disk.VectorFile):
        return storage.view()
    count = storage.ntotal
    if count == 0:
        return np.empty((0, dimension), dtype=np.float32)
    view = faiss.rev_swig_ptr(storage.get_xb(), count * dimension).reshape(count, dimension)
    view.flags.writeable = False
    return view


def search_parameters(
    index: Any,
    backend: str,
    *,
    config: IndexConfig,
    k: int,
    selector: faiss.IDSelector | None = None,
    admitted_fraction: float = 1.0,
) -> tuple[Any, list[Any]]:
    """Return (parameters, objects to keep alive) for one search of ``k`` results.

    SWIG does not keep Python objects referenced from a parameter struct alive, so the second
    element must outlive the search. With a selector that admits only a fraction ``f`` of the
    vectors, the HNSW candidate list is widened by ``1 / sqrt(f)`` (at most 4x), because rejected
    nodes still occupy it while the graph is walked; widening by ``1 / f`` bought little recall
    for its time (README, "Evidence database results"). A query far from every admitted vector
    is the hard case for a filtered graph walk; small admitted sets are searched exactly instead
    (``IndexConfig.exact_filter_max_vectors``).
    """
    if backend == FLAT:
        if selector is None:
            return None, []
        # attributes set one by one: faiss's stubs declare no keyword arguments
        flat_parameters = faiss.SearchParameters()
        flat_parameters.sel = selector
        return flat_parameters, [selector]
    if backend == HNSW:
        breadth = config.hnsw_search_breadth_for(k)
        if selector is not None:
            breadth = int(breadth * min(4.0, 1.0 / math.sqrt(max(admitted_fraction, 1e-9))))
        # faiss's stubs (1.15) omit SearchParametersHNSW, which the library has
        parameters = faiss.SearchParametersHNSW(efSearch=breadth)  # type: ignore[attr-defined]
        if selector is not None:
            parameters.sel = selector
        return parameters, [selector]
    if backend == IVF:
        base_parameters = faiss.SearchParametersIVF()
        base_parameters.nprobe = config.ivf_probes
        if selector is not None:
            base_parameters.sel = selector  # the refine stage re-ranks only what the base admits
        refine_parameters = faiss.IndexRefineSearchParameters()
        refine_parameters.k_factor = float(config.ivf_refine_factor)
        refine_parameters.base_index_params = base_parameters
        return refine_parameters, [selector, base_parameters]
    if backend == IVF_DISK:
        code_parameters = faiss.SearchParametersIVF()
        # never more than the lists: FAISS's fast-scan search of residual codes goes wrong when
        # asked to probe more lists than there are
        code_parameters.nprobe = min(config.disk_probes, index.codes.nlist)
        if selector is not None:
            code_parameters.sel = selector
        shortlist = config.disk_shortlist_factor * k
        return disk.DiskSearchParameters(code_parameters, shortlist), [selector]
    raise ValueError(f"unknown backend {backend!r}.")


def copy_rows(target: faiss.Index, rows: np.ndarray) -> None:
    """Add ``rows`` (unit float32 vectors) to ``target`` in blocks of :data:`COPY_ROWS`."""
    for start in range(0, len(rows), COPY_ROWS):
        target.add(np.ascontiguousarray(rows[start : start + COPY_ROWS], dtype=np.float32))

"""Configuration of one vector index: which backend at which size, and its search parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: exact inner-product search over every stored vector
FLAT = "flat"
#: hierarchical navigable small-world graph over the full vectors (Malkov & Yashunin 2020)
HNSW = "hnsw"
#: inverted lists of product-quantised codes, re-ranked exactly on the full vectors (Jégou 2011)
IVF = "ivf"
#: inverted lists of 4-bit fast-scan PQ codes in memory, re-ranked exactly on full vectors read
#: from a file on disk (:mod:`indexer.disk`): for partitions too large to hold in memory
IVF_DISK = "ivf_disk"
BACKENDS = (FLAT, HNSW, IVF, IVF_DISK)
LARGE_BACKENDS = (HNSW, IVF, IVF_DISK)
AUTO = "auto"


@dataclass(frozen=True)
class IndexConfig:
    """How a partition is indexed; change one field with :func:`dataclasses.replace`.

    Attributes
    ----------
    backend
        ``"auto"`` (exact below ``flat_max_vectors`` live vectors, ``large_backend`` from there
        on, ``"ivf_disk"`` from ``disk_min_vectors`` on), or one of ``"flat"``, ``"hnsw"``,
        ``"ivf"``, ``"ivf_disk"`` to force it.
    large_backend
        What ``"auto"`` uses for large partitions: ``"hnsw"`` (default; on clustered
        descriptor-like data its recall is higher than IVF-PQ's, see ``benchmarks/index_scale.py``),
        ``"ivf"`` or ``"ivf_disk"``.
    disk_min_vectors
        ``"auto"`` partitions of at least this many live vectors use ``"ivf_disk"``, which keeps
        only compressed codes in memory (0: never). Sizes, memory and recall in the README's
        "Evidence database results" (``benchmarks/index_10m.py``).
    disk_lists
        ``"ivf_disk"``: inverted lists; 0 (default) takes ``disk_lists_per_sqrt`` times the
        square root of the count at the build, at most one per ``disk_training_points_per_list``
        training vectors. Set it for a partition that will grow far past its first build.
    disk_lists_per_sqrt
        ``"ivf_disk"``: see ``disk_lists``.
    disk_training_points_per_list
        ``"ivf_disk"``: fewest training vectors per list (k-means of the coarse quantiser).
    disk_probes
        ``"ivf_disk"``: lists visited per query.
    disk_sub_vector_dimensions
        ``"ivf_disk"``: values per 4-bit PQ sub-quantiser (1: half a byte per value).
    disk_residual
        ``"ivf_disk"``: encode each vector's difference from its list's centroid (finer codes for
        the same bytes) instead of the vector itself.
    disk_shortlist_factor
        ``"ivf_disk"``: the code search proposes ``disk_shortlist_factor * k`` candidates, which
        are re-ranked exactly against the full vectors on disk.
    flat_max_vectors
        Partitions with fewer live vectors are searched exactly. A single exact query reads every
        vector (1 KiB each at 256 dimensions), many times what an HNSW query reads (timings in
        the README's "Evidence database results"). The candidate comparisons that follow a
        search cost far more, so exactness is kept up to here; the ``add`` that crosses it
        builds the graph.
    hnsw_neighbors
        Graph degree ``M`` of HNSW (links per node; memory ``2 * M * 4`` bytes per vector).
    hnsw_build_breadth
        ``efConstruction``: candidate list length while linking a new vector. At a million
        512-value vectors recall is bounded by the graph, not by the search, so the default is
        wide (``benchmarks/index_scale.py``; recall, query time and build time in the README's
        "Evidence database results").
    hnsw_search_breadth, hnsw_breadth_per_result
        ``efSearch`` is ``max(hnsw_search_breadth, hnsw_breadth_per_result * k)``, so that asking
        for more results searches more widely (k = 50: efSearch 1,000).
    ivf_lists_per_sqrt
        Number of inverted lists per square root of the vector count (4-16 is usual).
    ivf_probes
        Lists visited per query.
    ivf_code_bytes
        Bytes of the product-quantised code per vector; 0 picks ``dimension // 4`` rounded down
        to a divisor of the dimension.
    ivf_refine_factor
        The IVF-PQ stage returns ``ivf_refine_factor * k`` candidates, re-ranked exactly.
    ivf_min_vectors
        An IVF index is trained on the vectors present; with fewer live vectors than this the
        partition stays exact (``"ivf"`` and ``"ivf_disk"``).
    ivf_training_vectors_max
        Training sample size cap (training cost grows with it; ``"ivf"`` and ``"ivf_disk"``).
    ivf_regrow_factor
        Retrain an IVF partition once it holds this many times the vectors it was trained on
        (``"ivf"`` and ``"ivf_disk"``).
    exact_filter_max_vectors
        A filtered search (class filter, excluded ids) that admits at most this many vectors is
        answered exactly, by scanning only the admitted vectors; graph search with a filter that
        admits few vectors would visit mostly rejected ones.
    compact_dead_fraction
        Removal marks vectors dead (HNSW cannot delete); once dead vectors exceed this fraction of
        the stored ones the partition is rebuilt without them.
    """

    backend: str = AUTO
    large_backend: str = HNSW
    flat_max_vectors: int = 100_000
    hnsw_neighbors: int = 32
    hnsw_build_breadth: int = 200
    hnsw_search_breadth: int = 128
    hnsw_breadth_per_result: int = 20
    ivf_lists_per_sqrt: float = 4.0
    ivf_probes: int = 64
    ivf_code_bytes: int = 0
    ivf_refine_factor: int = 8
    ivf_min_vectors: int = 10_000
    ivf_training_vectors_max: int = 200_000
    ivf_regrow_factor: float = 4.0
    exact_filter_max_vectors: int = 50_000
    compact_dead_fraction: float = 0.2
    disk_min_vectors: int = 0
    disk_lists: int = 0
    disk_lists_per_sqrt: float = 4.0
    disk_training_points_per_list: int = 20
    disk_probes: int = 256
    disk_sub_vector_dimensions: int = 2
    disk_residual: bool = True
    disk_shortlist_factor: int = 20

    def __post_init__(self) -> None:
        if self.backend not in (AUTO, *BACKENDS):
            raise ValueError(f"backend must be one of {(AUTO, *BACKENDS)}, got {self.backend!r}.")
        if self.large_backend not in LARGE_BACKENDS:
            raise ValueError(
                f"large_backend must be one of {LARGE_BACKENDS}, got {self.large_backend!r}."
            )
        positive = {
            "hnsw_neighbors": self.hnsw_neighbors,
            "hnsw_build_breadth": self.hnsw_build_breadth,
            "hnsw_search_breadth": self.hnsw_search_breadth,
            "ivf_probes": self.ivf_probes,
            "ivf_refine_factor": self.ivf_refine_factor,
            "ivf_min_vectors": self.ivf_min_vectors,
            "ivf_training_vectors_max": self.ivf_training_vectors_max,
            "disk_training_points_per_list": self.disk_training_points_per_list,
            "disk_probes": self.disk_probes,
            "disk_sub_vector_dimensions": self.disk_sub_vector_dimensions,
            "disk_shortlist_factor": self.disk_shortlist_factor,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}.")
        non_negative = {
            "flat_max_vectors": self.flat_max_vectors,
            "hnsw_breadth_per_result": self.hnsw_breadth_per_result,
            "ivf_code_bytes": self.ivf_code_bytes,
            "exact_filter_max_vectors": self.exact_filter_max_vectors,
            "disk_min_vectors": self.disk_min_vectors,
            "disk_lists": self.disk_lists,
        }
        for name, value in non_negative.items():
            if value < 0:
                raise ValueError(f"{name} must be non-negative, got {value}.")
        for name in ("ivf_lists_per_sqrt", "disk_lists_per_sqrt"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}.")
        if not self.ivf_regrow_factor > 1:
            raise ValueError(f"ivf_regrow_factor must exceed 1, got {self.ivf_regrow_factor}.")
        if not 0 < self.compact_dead_fraction < 1:
            raise ValueError(
                f"compact_dead_fraction must lie in (0, 1), got {self.compact_dead_fraction}."
            )

    def backend_for(self, count: int) -> str:
        """Return the backend a partition of ``count`` live vectors should use."""
        backend = self.backend
        if backend == AUTO:
            backend = FLAT if count < self.flat_max_vectors else self.large_backend
            if 0 < self.disk_min_vectors <= count:
                backend = IVF_DISK
        if backend in (IVF, IVF_DISK) and count < self.ivf_min_vectors:
            return FLAT  # too few vectors to train the coarse quantiser and the codebooks
        return backend

    def hnsw_search_breadth_for(self, k: int) -> int:
        """Return ``efSearch`` for ``k`` results."""
        return max(self.hnsw_search_breadth, self.hnsw_breadth_per_result * k, k)

    def ivf_list_count(self, count: int) -> int:
        """Return the number of inverted lists for ``count`` training vectors.

        ``ivf_lists_per_sqrt * sqrt(count)``, but no more than one list per 39 vectors, the
        fewest points per centroid FAISS's k-means accepts without warning.
        """
        lists = round(self.ivf_lists_per_sqrt * math.sqrt(max(count, 1)))
        return max(1, min(lists, count // 39))

    def disk_list_count(self, count: int, training_count: int) -> int:
        """Return the inverted lists of an ``"ivf_disk"`` partition of ``count`` vectors."""
        lists = self.disk_lists or round(self.disk_lists_per_sqrt * math.sqrt(max(count, 1)))
        return max(1, min(lists, training_count // self.disk_training_points_per_list))

    def ivf_code_bytes_for(self, dimension: int) -> int:
        """Return the product-quantiser's sub-vector count (bytes per code) for ``dimension``."""
        wanted = self.ivf_code_bytes or max(1, dimension // 4)
        wanted = min(wanted, dimension)
        # the sub-quantisers split the vector evenly: take the largest divisor not above wanted
        return max(divisor for divisor in range(1, wanted + 1) if dimension % divisor == 0)


#: the defaults, for use as a default argument (a frozen dataclass, so sharing it is safe)
DEFAULT_INDEX_CONFIG = IndexConfig()

"""Fixtures of the indexer's tests."""

from __future__ import annotations

from collections.abc import Iterator

import faiss
import pytest


@pytest.fixture(autouse=True, scope="module")
def single_faiss_thread() -> Iterator[None]:
    """Run FAISS on one thread: on a busy 2-core machine OpenMP's hand-offs make small builds
    and single queries 10x slower (IVF on 2k vectors: 3.3 s with 2 threads, 0.3 s with 1)."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)

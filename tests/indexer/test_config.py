"""Backend choice by size and the derived FAISS parameters."""

from __future__ import annotations

import dataclasses

import pytest

from indexer import FLAT, HNSW, IVF, IVF_DISK, IndexConfig


def test_auto_is_exact_below_the_threshold_and_large_backend_from_it():
    config = IndexConfig(flat_max_vectors=1000)
    assert config.backend_for(0) == FLAT
    assert config.backend_for(999) == FLAT
    assert config.backend_for(1000) == HNSW
    ivf = dataclasses.replace(config, large_backend=IVF, ivf_min_vectors=5000)
    assert ivf.backend_for(1000) == FLAT  # too few vectors to train on
    assert ivf.backend_for(5000) == IVF


def test_forced_backends_ignore_size_except_ivf_training():
    assert IndexConfig(backend=HNSW).backend_for(3) == HNSW
    assert IndexConfig(backend=FLAT).backend_for(10**7) == FLAT
    assert IndexConfig(backend=IVF).backend_for(9_999) == FLAT
    assert IndexConfig(backend=IVF).backend_for(10_000) == IVF


def test_search_breadth_grows_with_k():
    config = IndexConfig(hnsw_search_breadth=128, hnsw_breadth_per_result=10)
    assert config.hnsw_search_breadth_for(5) == 128
    assert config.hnsw_search_breadth_for(50) == 500


def test_auto_goes_to_disk_from_disk_min_vectors_and_never_by_default():
    config = IndexConfig(flat_max_vectors=1000, disk_min_vectors=50_000)
    assert config.backend_for(999) == FLAT
    assert config.backend_for(49_999) == HNSW
    assert config.backend_for(50_000) == IVF_DISK
    assert IndexConfig().backend_for(10**8) == HNSW  # the default never chooses it
    assert IndexConfig(large_backend=IVF_DISK).backend_for(100_000) == IVF_DISK
    assert IndexConfig(backend=IVF_DISK).backend_for(9_999) == FLAT  # too few to train on


def test_disk_lists():
    config = IndexConfig(disk_lists_per_sqrt=4.0, disk_training_points_per_list=20)
    assert config.disk_list_count(1_000_000, 200_000) == 4000
    assert config.disk_list_count(10_000_000, 200_000) == 200_000 // 20  # 20 points per list
    assert IndexConfig(disk_lists=300).disk_list_count(10**7, 200_000) == 300


def test_ivf_lists_and_code_size():
    config = IndexConfig(ivf_lists_per_sqrt=4.0)
    assert config.ivf_list_count(1_000_000) == 4000
    assert config.ivf_list_count(2000) == 2000 // 39  # at least 39 training points per list
    assert config.ivf_code_bytes_for(256) == 64
    assert config.ivf_code_bytes_for(100) == 25
    assert IndexConfig(ivf_code_bytes=30).ivf_code_bytes_for(256) == 16  # largest divisor <= 30


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"backend": "annoy"}, "backend must be one of"),
        ({"large_backend": "flat"}, "large_backend"),
        ({"hnsw_neighbors": 0}, "hnsw_neighbors must be at least 1"),
        ({"flat_max_vectors": -1}, "flat_max_vectors must be non-negative"),
        ({"compact_dead_fraction": 1.0}, r"compact_dead_fraction must lie in \(0, 1\)"),
        ({"ivf_regrow_factor": 1.0}, "ivf_regrow_factor must exceed 1"),
        ({"disk_probes": 0}, "disk_probes must be at least 1"),
        ({"disk_min_vectors": -1}, "disk_min_vectors must be non-negative"),
        ({"disk_lists_per_sqrt": 0.0}, "disk_lists_per_sqrt must be positive"),
    ],
)
def test_bad_configuration_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        IndexConfig(**changes)

"""The ivf_disk backend's parts: the append-only vector file and the code index with re-rank."""

from __future__ import annotations

import gc
import hashlib

import faiss
import numpy as np
import pytest

from indexer.disk import (
    DiskSearchParameters,
    IVFDiskIndex,
    VectorFile,
    is_codes_index,
    new_codes,
    new_vector_file,
)
from indexer.errors import IndexStoreError
from indexer.synthetic import ClusteredVectorsConfig, clustered_vectors

DIMENSION = 32


@pytest.fixture(scope="module")
def vectors():
    generated = clustered_vectors(
        3050,
        dimension=DIMENSION,
        seed=5,
        config=ClusteredVectorsConfig(latent_dimension=8, class_count=4),
    )
    return generated.vectors


def test_vector_file_appends_reads_by_position_and_hashes_its_rows(tmp_path, vectors):
    file = new_vector_file(tmp_path / "kind.modality", DIMENSION)
    assert file.path.parent == tmp_path and file.path.name.startswith("kind.modality.")
    assert file.path.name.endswith(".f32") and file.ntotal == 0
    file.append(vectors[:100])
    file.append(vectors[100:250])
    assert file.ntotal == 250
    np.testing.assert_array_equal(file.view()[[0, 120, 249]], vectors[[0, 120, 249]])
    expected = hashlib.sha256(vectors[:250].tobytes()).hexdigest()
    assert file.sha256() == expected
    # reopened (no running digest): the same hash, read from the file
    assert VectorFile(file.path, DIMENSION, 250).sha256() == expected
    # a second writer is refused while the first one lives (flock is per open file, so this
    # holds between processes as within one)
    with pytest.raises(IndexStoreError, match="another process is adding"):
        VectorFile(file.path, DIMENSION, 250).append(vectors[:1])
    path = file.path
    del file
    gc.collect()
    # opened on fewer rows, it ignores the rest and overwrites them on the next append
    shorter = VectorFile(path, DIMENSION, 100)
    shorter.append(vectors[300:310])
    assert shorter.ntotal == 110 and path.stat().st_size == 110 * 4 * DIMENSION
    np.testing.assert_array_equal(shorter.view()[100:], vectors[300:310])
    with pytest.raises(ValueError, match="fewer than 111 rows"):
        VectorFile(path, DIMENSION, 111)
    with pytest.raises(ValueError, match="rows must be"):
        shorter.append(vectors[:2, :8])


def test_vector_file_exact_search_over_admitted_positions(tmp_path, vectors):
    file = new_vector_file(tmp_path / "a.b", DIMENSION)
    file.append(vectors[:3000])
    admitted = np.arange(0, 3000, 3)
    queries = vectors[3000:3010]
    scores, labels = file.search(queries, 7, admitted)
    exact = queries @ vectors[admitted].T
    order = np.argsort(-exact, axis=1)[:, :7]
    np.testing.assert_array_equal(labels, admitted[order])
    np.testing.assert_allclose(scores, np.take_along_axis(exact, order, axis=1), atol=1e-6)
    few_scores, few_labels = file.search(queries[:1], 5, np.array([4, 8]))
    assert sorted(few_labels[0, :2]) == [4, 8] and (few_labels[0, 2:] == -1).all()
    assert np.isneginf(few_scores[0, 2:]).all()


def test_a_vector_file_without_a_prefix_is_deleted_with_its_object():
    file = new_vector_file(None, DIMENSION)
    folder = file.path.parent
    assert folder.is_dir()
    del file
    gc.collect()
    assert not folder.exists()


@pytest.mark.parametrize("residual", [False, True])
def test_the_re_rank_returns_exact_scores_of_the_shortlist(tmp_path, vectors, residual):
    codes = new_codes(
        DIMENSION, vectors[:3000], lists=20, sub_vector_dimensions=2, seed=3, residual=residual
    )
    assert codes.by_residual == residual
    assert is_codes_index(codes) and not is_codes_index(faiss.IndexFlatIP(DIMENSION))
    index = IVFDiskIndex(codes, new_vector_file(tmp_path / "a.b", DIMENSION))
    index.add(vectors[:3000])
    assert index.ntotal == 3000 == index.vectors.ntotal
    queries = vectors[3000:3050]
    parameters = faiss.SearchParametersIVF()
    parameters.nprobe = 20  # every list: the shortlist holds the true neighbours
    scores, labels = index.search(queries, 10, params=DiskSearchParameters(parameters, 200))
    exact = queries @ vectors[:3000].T
    truth = np.argsort(-exact, axis=1)[:, :10]
    assert np.mean([np.isin(truth[row], labels[row]).mean() for row in range(50)]) >= 0.99
    # the scores are exact cosines of the returned positions, best first
    np.testing.assert_allclose(scores, np.take_along_axis(exact, labels, axis=1), atol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_codes_and_vector_file_must_agree(tmp_path, vectors):
    codes = new_codes(DIMENSION, vectors[:1000], lists=4, sub_vector_dimensions=1, seed=3)
    codes.add(vectors[:10])
    with pytest.raises(ValueError, match="the codes hold 10 vectors, the vector file 0"):
        IVFDiskIndex(codes, new_vector_file(tmp_path / "a.b", DIMENSION))
    with pytest.raises(ValueError, match="must divide the dimension"):
        new_codes(DIMENSION, vectors[:100], lists=2, sub_vector_dimensions=5, seed=0)

"""The clustered generator: reproducible unit vectors whose structure is what it claims."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.synthetic import ClusteredVectorsConfig, clustered_vectors


def test_vectors_are_unit_float32_and_reproducible():
    first = clustered_vectors(500, dimension=64, seed=3)
    again = clustered_vectors(500, dimension=64, seed=3)
    other = clustered_vectors(500, dimension=64, seed=4)
    assert first.vectors.shape == (500, 64) and first.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first.vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first.vectors, again.vectors)
    assert not np.allclose(first.vectors, other.vectors)


def test_members_of_a_source_are_nearest_and_share_its_class():
    data = clustered_vectors(3000, dimension=128, seed=1)
    # a source has one class
    for source in np.unique(data.sources)[:50]:
        assert np.unique(data.classes[data.sources == source]).size == 1
    similarity = data.vectors @ data.vectors.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.argmax(axis=1)
    has_sibling = np.bincount(data.sources)[data.sources] > 1
    same_source = data.sources[nearest] == data.sources
    same_class = data.classes[nearest] == data.classes
    assert same_source[has_sibling].mean() > 0.9
    assert same_class.mean() > 0.95
    assert 3.0 < 3000 / np.unique(data.sources).size < 5.0  # about members_mean per source


def test_isotropic_noise_destroys_the_structure():
    data = clustered_vectors(1000, dimension=128, seed=1, config=ClusteredVectorsConfig(noise=10.0))
    similarity = data.vectors @ data.vectors.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.argmax(axis=1)
    assert (data.sources[nearest] == data.sources).mean() < 0.2


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="latent_dimension"):
        clustered_vectors(10, dimension=8)
    with pytest.raises(ValueError, match="members_mean"):
        ClusteredVectorsConfig(members_mean=0.5)


def test_out_receives_the_same_vectors_and_must_fit():
    expected = clustered_vectors(300, dimension=40, seed=4).vectors
    out = np.zeros((300, 40), dtype=np.float32)
    written = clustered_vectors(300, dimension=40, seed=4, out=out)
    assert written.vectors is out
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match="out must be a"):
        clustered_vectors(300, dimension=40, out=np.zeros((300, 40)))

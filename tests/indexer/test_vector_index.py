"""One partition's index: exact answers, approximate recall, removal, filters, replacement."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from indexer import FLAT, HNSW, IVF, IVF_DISK, IndexConfig, VectorIndex
from indexer.synthetic import ClusteredVectorsConfig, clustered_vectors

DIMENSION = 32
COUNT = 2000
# small data: IVF may be trained on 2k vectors, and probes 12 of its 51 lists so that it is
# really approximate
CONFIGS = {
    FLAT: IndexConfig(backend=FLAT),
    HNSW: IndexConfig(backend=HNSW),
    IVF: IndexConfig(backend=IVF, ivf_min_vectors=1000, ivf_probes=12),
    IVF_DISK: IndexConfig(backend=IVF_DISK, ivf_min_vectors=1000, disk_probes=12),
}


@pytest.fixture(scope="module")
def data():
    generated = clustered_vectors(
        COUNT + 50,
        dimension=DIMENSION,
        seed=7,
        config=ClusteredVectorsConfig(latent_dimension=8, class_count=6),
    )
    ids = np.arange(COUNT, dtype=np.int64) * 3 + 1000  # ids unlike positions
    return {
        "ids": ids,
        "vectors": generated.vectors[:COUNT],
        "classes": generated.classes[:COUNT],
        "queries": generated.vectors[COUNT:],
    }


def brute_force(vectors, ids, queries, k, admitted=None):
    """Return (ids, scores) of the exact top k by cosine, in float64."""
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = queries.astype(np.float64) @ vectors.T.astype(np.float64)
    if admitted is not None:
        scores[:, ~admitted] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return ids[order], np.take_along_axis(scores, order, axis=1)


def recall(found, truth):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, truth, strict=True)])


def build(backend, data, **changes):
    index = VectorIndex(DIMENSION, config=IndexConfig(**{**CONFIGS[backend].__dict__, **changes}))
    index.add(data["ids"], data["vectors"], data["classes"])
    assert index.backend == backend
    return index


def test_exact_search_equals_brute_force(data):
    index = build(FLAT, data)
    result = index.search(data["queries"], 10)
    truth_ids, truth_scores = brute_force(data["vectors"], data["ids"], data["queries"], 10)
    np.testing.assert_allclose(result.scores, truth_scores, atol=1e-5)
    # every returned id really has the returned score (ties aside, the same ids)
    lookup = {identifier: row for row, identifier in enumerate(data["ids"])}
    for query, row_ids, row_scores in zip(data["queries"], result.ids, result.scores, strict=True):
        rows = data["vectors"][[lookup[i] for i in row_ids]]
        np.testing.assert_allclose(rows @ (query / np.linalg.norm(query)), row_scores, atol=1e-5)
    assert (result.ids == truth_ids).mean() > 0.99
    assert result.ids.dtype == np.int64 and result.scores.dtype == np.float32


@pytest.mark.parametrize("backend", [HNSW, IVF, IVF_DISK])
def test_approximate_backends_recall_on_clustered_data(data, backend):
    index = build(backend, data)
    truth, _ = brute_force(data["vectors"], data["ids"], data["queries"], 10)
    assert recall(index.search(data["queries"], 10).ids, truth) >= 0.95


def test_one_vector_query_and_scores_are_cosine(data):
    index = build(FLAT, data)
    scaled = 5.0 * data["vectors"][3]  # length does not matter: cosine
    result = index.search(scaled, 1)
    assert result.ids.shape == (1, 1)
    assert result.ids[0, 0] == data["ids"][3]
    assert result.scores[0, 0] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("backend", [FLAT, HNSW, IVF, IVF_DISK])
def test_removed_ids_are_never_returned(data, backend):
    index = build(backend, data)
    removed = data["ids"][::4]
    assert index.remove(np.concatenate([removed, [999_999_999]])) == removed.size
    assert index.count == COUNT - removed.size
    assert index.remove(removed) == 0  # already gone
    # query with the removed vectors themselves: their own id would otherwise come first
    result = index.search(data["vectors"][::4][:40], 20)
    assert not np.isin(result.ids, removed).any()
    assert (result.ids >= 0).all()
    assert removed[0] not in index and data["ids"][1] in index


@pytest.mark.parametrize("backend", [HNSW, IVF, IVF_DISK])
def test_many_removals_compact_the_partition(data, backend):
    index = build(backend, data, compact_dead_fraction=0.2)
    index.remove(data["ids"][:300])
    assert index.dead_count == 300  # under the fraction: marked, not rebuilt
    index.remove(data["ids"][300:700])
    assert index.dead_count == 0 and index.count == COUNT - 700
    result = index.search(data["vectors"][:50], 10)
    assert not np.isin(result.ids, data["ids"][:700]).any()


@pytest.mark.parametrize("backend", [FLAT, HNSW, IVF, IVF_DISK])
def test_class_filter_equals_exact_filtered_search(data, backend):
    index = build(backend, data)
    allowed = [1, 4]
    admitted = np.isin(data["classes"], allowed)
    result = index.search(data["queries"], 10, allowed_classes=allowed)
    class_of = dict(zip(data["ids"], data["classes"], strict=True))
    assert all(class_of[i] in allowed for i in result.ids.ravel())
    _, truth_scores = brute_force(
        data["vectors"], data["ids"], data["queries"], 10, admitted=admitted
    )
    # a filter admitting fewer than exact_filter_max_vectors is answered exactly on every backend
    np.testing.assert_allclose(result.scores, truth_scores, atol=1e-5)


def test_graph_search_with_a_wide_filter_keeps_the_filter_and_recall(data):
    # exact_filter_max_vectors=0 forces the HNSW walk with a selector. The walk finds admitted
    # neighbours reliably when the query lies among them (filtering on the query's own calibre);
    # a query far from every admitted vector is what the exact path is for.
    index = build(HNSW, data, exact_filter_max_vectors=0)
    allowed = [0, 2, 3, 5]
    admitted = np.isin(data["classes"], allowed)
    queries = data["vectors"][admitted][:50] + 0.05  # near admitted vectors, not identical
    result = index.search(queries, 10, allowed_classes=allowed)
    class_of = dict(zip(data["ids"], data["classes"], strict=True))
    assert all(class_of[i] in allowed for i in result.ids.ravel())
    truth, _ = brute_force(data["vectors"], data["ids"], queries, 10, admitted=admitted)
    assert recall(result.ids, truth) >= 0.95


def test_filter_matching_nothing_and_k_beyond_count_pad_with_minus_one(data):
    index = build(FLAT, data)
    nothing = index.search(data["queries"][:2], 5, allowed_classes=[99])
    assert (nothing.ids == -1).all() and np.isneginf(nothing.scores).all()
    small = VectorIndex(DIMENSION)
    small.add([5, 6], data["vectors"][:2], [0, 0])
    result = small.search(data["queries"][:1], 4)
    assert sorted(result.ids[0, :2]) == [5, 6]
    assert (result.ids[0, 2:] == -1).all() and np.isneginf(result.scores[0, 2:]).all()
    assert (VectorIndex(DIMENSION).search(data["queries"][:3], 2).ids == -1).all()


@pytest.mark.parametrize("backend", [FLAT, HNSW, IVF_DISK])
def test_excluded_ids_are_skipped(data, backend):
    index = build(backend, data)
    first = index.search(data["vectors"][:5], 3)
    again = index.search(data["vectors"][:5], 3, exclude_ids=first.ids[:, 0])
    assert not np.isin(again.ids, first.ids[:, 0]).any()
    np.testing.assert_array_equal(again.ids[:, :2], first.ids[:, 1:])


@pytest.mark.parametrize("backend", [FLAT, HNSW, IVF, IVF_DISK])
def test_adding_an_id_again_replaces_its_vector_and_class(data, backend):
    index = build(backend, data)
    target = data["ids"][10]
    new_vector = data["vectors"][500]
    index.add([target], new_vector[None, :], [5])
    assert index.count == COUNT
    np.testing.assert_allclose(index.vectors([target])[0], new_vector, atol=1e-6)
    result = index.search(new_vector, 2, allowed_classes=[5])
    assert target in result.ids[0]
    old = index.search(data["vectors"][10], 1, exclude_ids=[target])
    assert old.ids[0, 0] != target
    assert (index.ids() == target).sum() == 1


def test_backend_switches_with_size_and_back_after_removal(data):
    config = IndexConfig(flat_max_vectors=1000, compact_dead_fraction=0.3)
    index = VectorIndex(DIMENSION, config=config)
    index.add(data["ids"][:900], data["vectors"][:900], data["classes"][:900])
    assert index.backend == FLAT
    index.add(data["ids"][900:1200], data["vectors"][900:1200], data["classes"][900:1200])
    assert index.backend == HNSW and index.count == 1200
    truth, _ = brute_force(data["vectors"][:1200], data["ids"][:1200], data["queries"], 10)
    assert recall(index.search(data["queries"], 10).ids, truth) >= 0.95
    index.remove(data["ids"][:500])  # 500 of 1200 dead: rebuilt, and 700 < 1000 is exact again
    assert index.backend == FLAT and index.count == 700 and index.dead_count == 0


@pytest.mark.parametrize(
    "config",
    [
        IndexConfig(flat_max_vectors=1500),
        IndexConfig(flat_max_vectors=1500, large_backend=IVF_DISK, ivf_min_vectors=1000),
    ],
)
def test_from_items_streams_triples_and_keeps_the_last_of_an_id(data, config):
    triples = [
        (int(i), vector, int(c))
        for i, vector, c in zip(data["ids"], data["vectors"], data["classes"], strict=True)
    ]
    triples.append((int(data["ids"][0]), data["vectors"][1], 3))  # a later version of id 0
    index = VectorIndex.from_items(
        iter(triples),
        dimension=DIMENSION,
        config=config,
        batch_rows=300,
    )
    assert index.backend == config.large_backend
    assert index.count == COUNT and index.dead_count == 0
    np.testing.assert_allclose(index.vectors([data["ids"][0]])[0], data["vectors"][1], atol=1e-6)
    assert index.classes()[index.ids() == data["ids"][0]].tolist() == [3]


def test_from_items_on_disk_stages_in_a_file_and_leaves_only_the_index_file(tmp_path, data):
    triples = zip(data["ids"].tolist(), data["vectors"], data["classes"].tolist(), strict=True)
    config = IndexConfig(backend=IVF_DISK, ivf_min_vectors=1000, disk_probes=51)
    index = VectorIndex.from_items(
        triples, dimension=DIMENSION, config=config, batch_rows=500, vectors_prefix=tmp_path / "p"
    )
    assert index.backend == IVF_DISK and index.count == COUNT
    assert [path.name for path in tmp_path.iterdir()] == [index.vector_file.path.name]
    truth, _ = brute_force(data["vectors"], data["ids"], data["queries"], 10)
    assert recall(index.search(data["queries"], 10).ids, truth) >= 0.99


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda i, v: i.add([1, 2], v[:2, :16]), r"shape \(count, 32\)"),
        (lambda i, v: i.add([1.5, 2.0], v[:2]), "integers"),
        (lambda i, v: i.add([1, -2], v[:2]), "non-negative"),
        (lambda i, v: i.add([1, 1], v[:2]), "distinct"),
        (lambda i, v: i.add([1, 2, 3], v[:2]), "one entry per vector"),
        (lambda i, v: i.add([1, 2], np.where(np.eye(2, 32) > 0, np.nan, v[:2])), "row 0 holds NaN"),
        (lambda i, v: i.add([1, 2], np.vstack([v[0], np.zeros(32)])), "row 1 has zero length"),
        (lambda i, v: i.add([1, 2], v[:2], classes=[0.5, 1.0]), "classes must be integers"),
        (lambda i, v: i.search(v[:1], 0), "k must be at least 1"),
        (lambda i, v: i.search(v[:1], 2.0), "k must be a positive integer"),
        (lambda i, v: i.search(v[:1, :8], 2), "queries must have shape"),
    ],
)
def test_bad_input_is_refused_with_a_fix(data, call, message):
    index = VectorIndex(DIMENSION)
    with pytest.raises(ValueError, match=message):
        call(index, data["vectors"])
    assert index.count == 0


def test_vectors_of_an_unknown_id_raise_key_error(data):
    index = build(FLAT, data)
    with pytest.raises(KeyError, match="12"):
        index.vectors([data["ids"][0], 12])


def test_concurrent_searches_during_adds_stay_correct(data):
    index = VectorIndex(DIMENSION, config=IndexConfig(flat_max_vectors=1500))
    index.add(data["ids"][:500], data["vectors"][:500], data["classes"][:500])
    errors: list[BaseException] = []
    stop = threading.Event()

    def searcher():
        try:
            while not stop.is_set():
                result = index.search(data["vectors"][:20], 1)
                # the first 500 are never removed: each finds itself whatever is being added
                assert (result.ids[:, 0] == data["ids"][:20]).all()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for start in range(500, COUNT, 100):  # crosses 1500: switches to HNSW under the searchers
        index.add(data["ids"][start : start + 100], data["vectors"][start : start + 100])
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    assert index.count == COUNT and index.backend == HNSW

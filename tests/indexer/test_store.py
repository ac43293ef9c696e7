"""Partitioned index: round trips, atomic saves, and clear errors for damaged or stale files."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import indexer.store
from indexer import (
    FLAT,
    HNSW,
    IVF,
    IVF_DISK,
    MANIFEST_NAME,
    IndexConfig,
    IndexCorruptError,
    IndexStoreError,
    IndexVersionError,
    PartitionedIndex,
    VectorIndex,
)
from indexer.synthetic import ClusteredVectorsConfig, clustered_vectors

DIMENSION = 16
TOPOGRAPHY = ("cartridge_case", "topography")
PHOTOGRAPH = ("cartridge_case", "photograph")


@pytest.fixture(scope="module")
def data():
    generated = clustered_vectors(
        1230, dimension=DIMENSION, seed=11, config=ClusteredVectorsConfig(latent_dimension=6)
    )
    return {
        "ids": np.arange(1200, dtype=np.int64) + 10_000,
        "vectors": generated.vectors[:1200],
        "classes": generated.classes[:1200],
        "queries": generated.vectors[1200:],
    }


def filled_store(folder, data, *, config=None, descriptor_version="test-descriptor-1"):
    store = PartitionedIndex(
        folder,
        dimension=DIMENSION,
        descriptor_version=descriptor_version,
        config=config or IndexConfig(),
    )
    store.add(TOPOGRAPHY, data["ids"], data["vectors"], data["classes"])
    store.add(PHOTOGRAPH, data["ids"][:300], data["vectors"][::-1][:300], data["classes"][:300])
    return store


def data_files(folder, suffix):
    return sorted(path for path in folder.iterdir() if path.name.endswith(suffix))


def rewrite_manifest(folder, change):
    """Apply ``change`` to the manifest and re-sign it, as a consistent but stale writer would."""
    path = folder / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    change(manifest)
    body = {key: value for key, value in manifest.items() if key != "checksum"}
    manifest["checksum"] = indexer.store._manifest_checksum(body)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("backend", [FLAT, HNSW, IVF, IVF_DISK])
def test_save_and_load_give_identical_search_results(tmp_path, data, backend):
    config = IndexConfig(backend=backend, ivf_min_vectors=500)
    store = filled_store(tmp_path, data, config=config)
    store.remove(TOPOGRAPHY, data["ids"][:20])  # dead positions travel too
    manifest_path = store.save()
    assert manifest_path == tmp_path / MANIFEST_NAME
    loaded = PartitionedIndex.load(
        tmp_path, dimension=DIMENSION, descriptor_version="test-descriptor-1", config=config
    )
    assert loaded.partitions() == sorted([TOPOGRAPHY, PHOTOGRAPH])
    assert loaded.partition(TOPOGRAPHY).backend == backend
    for partition in (TOPOGRAPHY, PHOTOGRAPH):
        for allowed in (None, [1, 2]):
            before = store.search(partition, data["queries"], 8, allowed_classes=allowed)
            after = loaded.search(partition, data["queries"], 8, allowed_classes=allowed)
            np.testing.assert_array_equal(after.ids, before.ids)
            np.testing.assert_array_equal(after.scores, before.scores)
    assert loaded.count(TOPOGRAPHY) == 1180
    np.testing.assert_array_equal(np.sort(loaded.ids(TOPOGRAPHY)), data["ids"][20:])


def test_mmap_load_searches_and_still_accepts_additions(tmp_path, data):
    filled_store(tmp_path, data).save()
    loaded = PartitionedIndex.load(tmp_path, mmap=True, verify_checksums=False)
    loaded.add(TOPOGRAPHY, [1], data["queries"][:1])
    assert loaded.search(TOPOGRAPHY, data["queries"][:1], 1).ids[0, 0] == 1


def test_save_writes_only_changed_partitions_and_deletes_replaced_files(tmp_path, data):
    store = filled_store(tmp_path, data)
    store.save()
    first = {path.name for path in data_files(tmp_path, ".faiss")}
    assert len(first) == 2
    photograph_file = next(name for name in first if name.startswith("cartridge_case.photograph"))
    mtime = (tmp_path / photograph_file).stat().st_mtime_ns
    store.add(TOPOGRAPHY, [1], data["queries"][:1])
    store.save()
    second = {path.name for path in data_files(tmp_path, ".faiss")}
    assert photograph_file in second
    assert (tmp_path / photograph_file).stat().st_mtime_ns == mtime  # not rewritten
    assert len(second) == 2 and second != first  # the old topography file is gone
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".tmp")]
    store.drop_partition(PHOTOGRAPH)
    store.save()
    assert PartitionedIndex.load(tmp_path).partitions() == [TOPOGRAPHY]
    assert len(data_files(tmp_path, ".faiss")) == len(data_files(tmp_path, ".npz")) == 1


def test_failed_save_leaves_the_previous_index_intact(tmp_path, data, monkeypatch):
    store = filled_store(tmp_path, data)
    store.save()
    expected = store.search(TOPOGRAPHY, data["queries"], 5)
    saved_files = sorted(path.name for path in tmp_path.iterdir())
    store.add(TOPOGRAPHY, data["ids"][:50], data["vectors"][600:650])
    store.add(PHOTOGRAPH, [5], data["queries"][:1])

    calls = {"count": 0}
    original = VectorIndex.write_files

    def failing_write(self, index_path, arrays_path):
        calls["count"] += 1
        if calls["count"] == 2:  # the second partition: the disk fills up half-way
            with open(index_path, "wb") as handle:
                handle.write(b"half a file")
            raise OSError(28, "No space left on device")
        return original(self, index_path, arrays_path)

    monkeypatch.setattr(VectorIndex, "write_files", failing_write)
    with pytest.raises(OSError, match="No space"):
        store.save()
    monkeypatch.undo()
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".tmp")]
    loaded = PartitionedIndex.load(tmp_path)
    after = loaded.search(TOPOGRAPHY, data["queries"], 5)
    np.testing.assert_array_equal(after.ids, expected.ids)
    assert 5 not in loaded.ids(PHOTOGRAPH)
    store.save()  # the next save succeeds and cleans up what the failed one left
    assert 5 in PartitionedIndex.load(tmp_path).ids(PHOTOGRAPH)
    assert len(data_files(tmp_path, ".faiss")) == 2
    assert saved_files  # (the listing before the failure was not empty)


DISK_CONFIG = IndexConfig(backend=IVF_DISK, ivf_min_vectors=500)


def test_ivf_disk_appends_after_a_save_and_the_saved_manifest_still_loads(tmp_path, data):
    store = filled_store(tmp_path, data, config=DISK_CONFIG)
    store.save()
    (vector_file,) = data_files(tmp_path, ".f32")
    saved_bytes = vector_file.stat().st_size
    expected = store.search(TOPOGRAPHY, data["queries"], 5)
    store.add(TOPOGRAPHY, [1], data["queries"][:1])  # appended to the file, not yet saved
    assert data_files(tmp_path, ".f32") == [vector_file]
    assert vector_file.stat().st_size == saved_bytes + 4 * DIMENSION
    loaded = PartitionedIndex.load(tmp_path, config=DISK_CONFIG)  # the saved prefix only
    assert loaded.partition(TOPOGRAPHY).backend == IVF_DISK and 1 not in loaded.ids(TOPOGRAPHY)
    np.testing.assert_array_equal(loaded.search(TOPOGRAPHY, data["queries"], 5).ids, expected.ids)
    store.save()
    del store  # the writer of the vector file: one at a time
    gc.collect()
    again = PartitionedIndex.load(tmp_path, config=DISK_CONFIG)
    assert again.search(TOPOGRAPHY, data["queries"][:1], 1).ids[0, 0] == 1
    # the loaded copy appends to the file where the manifest ends, and saves
    again.add(TOPOGRAPHY, [2], data["queries"][1:2])
    again.save()
    assert PartitionedIndex.load(tmp_path).search(TOPOGRAPHY, data["queries"][1], 1).ids[0, 0] == 2


def test_ivf_disk_rebuild_writes_a_new_vector_file_and_the_save_deletes_the_old(tmp_path, data):
    store = filled_store(tmp_path, data, config=DISK_CONFIG)
    store.save()
    (first,) = data_files(tmp_path, ".f32")
    store.remove(TOPOGRAPHY, data["ids"][:400])  # a third dead: compacted into a new file
    (_, second) = sorted(data_files(tmp_path, ".f32"), key=lambda path: path != first)
    assert first.exists()  # the saved manifest still names it
    store.save()
    assert data_files(tmp_path, ".f32") == [second]
    loaded = PartitionedIndex.load(tmp_path, config=DISK_CONFIG)
    assert loaded.count(TOPOGRAPHY) == 800
    result = loaded.search(TOPOGRAPHY, data["vectors"][:400], 5)
    assert not np.isin(result.ids, data["ids"][:400]).any()


@pytest.mark.parametrize("damage", ["truncate", "alter"])
def test_a_damaged_vector_file_is_corrupt(tmp_path, data, damage):
    filled_store(tmp_path, data, config=DISK_CONFIG).save()
    (victim,) = data_files(tmp_path, ".f32")
    content = bytearray(victim.read_bytes())
    if damage == "truncate":
        victim.write_bytes(bytes(content[: len(content) // 2]))
        match = "truncated"
    else:
        content[len(content) // 2] ^= 0xFF
        victim.write_bytes(bytes(content))
        match = "SHA-256"
    with pytest.raises(IndexCorruptError, match=match):
        PartitionedIndex.load(tmp_path)


def test_truncated_index_file_is_reported_not_crashed(tmp_path, data):
    filled_store(tmp_path, data).save()
    victim = data_files(tmp_path, ".faiss")[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    with pytest.raises(IndexCorruptError, match="truncated") as caught:
        PartitionedIndex.load(tmp_path)
    assert victim.name in str(caught.value) and "ballistics reindex" in str(caught.value)


def test_altered_file_fails_its_checksum(tmp_path, data):
    filled_store(tmp_path, data).save()
    victim = data_files(tmp_path, ".npz")[0]
    content = bytearray(victim.read_bytes())
    content[len(content) // 2] ^= 0xFF
    victim.write_bytes(bytes(content))
    with pytest.raises(IndexCorruptError, match="SHA-256"):
        PartitionedIndex.load(tmp_path)


def test_unreadable_faiss_file_is_corrupt_even_without_checksums(tmp_path, data):
    filled_store(tmp_path, data).save()
    victim = data_files(tmp_path, ".faiss")[0]
    garbage = b"IxFI" + bytes(range(256)) * 4

    def forge(manifest):
        for entry in manifest["partitions"]:
            if entry["index_file"] == victim.name:
                entry["index_bytes"] = len(garbage)

    victim.write_bytes(garbage)
    rewrite_manifest(tmp_path, forge)
    with pytest.raises(IndexCorruptError, match="not a readable FAISS index"):
        PartitionedIndex.load(tmp_path, verify_checksums=False)


def test_missing_data_file_and_damaged_manifest_are_corrupt(tmp_path, data):
    filled_store(tmp_path, data).save()
    data_files(tmp_path, ".npz")[0].unlink()
    with pytest.raises(IndexCorruptError, match="missing"):
        PartitionedIndex.load(tmp_path)
    manifest = tmp_path / MANIFEST_NAME
    manifest.write_text(manifest.read_text()[:40])
    with pytest.raises(IndexCorruptError, match="not readable JSON"):
        PartitionedIndex.load(tmp_path)
    manifest.write_text(json.dumps({"format": "indexer.partitioned-index", "format_version": 1}))
    with pytest.raises(IndexCorruptError, match="checksum"):
        PartitionedIndex.load(tmp_path)


def test_other_format_version_dimension_or_descriptor_is_refused(tmp_path, data):
    filled_store(tmp_path, data).save()
    with pytest.raises(IndexVersionError, match="descriptor version 'test-descriptor-1'"):
        PartitionedIndex.load(tmp_path, descriptor_version="test-descriptor-2")
    with pytest.raises(IndexVersionError, match="16-d vectors; the descriptor now has 32"):
        PartitionedIndex.load(tmp_path, dimension=32)
    with pytest.raises(IndexVersionError, match="photograph"):
        PartitionedIndex.load(tmp_path, dimension={PHOTOGRAPH: 8})
    assert PartitionedIndex.load(tmp_path, dimension={PHOTOGRAPH: 16}).count(TOPOGRAPHY) == 1200
    rewrite_manifest(tmp_path, lambda manifest: manifest.update(format_version=99))
    with pytest.raises(IndexVersionError, match="format version 99") as caught:
        PartitionedIndex.load(tmp_path)
    assert isinstance(caught.value, IndexStoreError)
    assert "ballistics reindex" in str(caught.value)


def test_open_starts_empty_and_load_needs_a_manifest(tmp_path, data):
    store = PartitionedIndex.open(tmp_path / "new", dimension=DIMENSION)
    assert store.partitions() == [] and store.count(TOPOGRAPHY) == 0
    result = store.search(TOPOGRAPHY, data["queries"][:2], 3)
    assert (result.ids == -1).all() and result.ids.shape == (2, 3)
    with pytest.raises(FileNotFoundError, match="ballistics reindex"):
        PartitionedIndex.load(tmp_path / "new")
    store.add(TOPOGRAPHY, [1, 2], data["vectors"][:2])
    store.save()
    assert PartitionedIndex.open(tmp_path / "new", dimension=DIMENSION).count(TOPOGRAPHY) == 2


def test_rebuild_replaces_a_partition_from_triples(tmp_path, data):
    store = filled_store(tmp_path, data, config=IndexConfig(flat_max_vectors=1000))
    assert store.partition(TOPOGRAPHY).backend == HNSW
    triples = (
        (int(i), vector, int(c))
        for i, vector, c in zip(
            data["ids"][:400], data["vectors"][:400], data["classes"][:400], strict=True
        )
    )
    assert store.rebuild(TOPOGRAPHY, triples) == 400
    assert store.partition(TOPOGRAPHY).backend == FLAT
    np.testing.assert_array_equal(store.ids(TOPOGRAPHY), data["ids"][:400])
    store.save()
    assert PartitionedIndex.load(tmp_path).count(TOPOGRAPHY) == 400


def test_partition_names_and_dimensions_are_checked(tmp_path, data):
    store = PartitionedIndex(tmp_path, dimension=DIMENSION)
    for bad in ["cartridge_case", ("cartridge case", "topography"), ("a", "../b"), ("a", "b", "c")]:
        with pytest.raises(ValueError, match=r"\(kind, modality\)"):
            store.add(bad, [1], data["vectors"][:1])
    with pytest.raises(ValueError, match=r"shape \(count, 16\)"):
        store.add(("bullet", "land"), [1], np.ones((1, 3)))
    assert store.partitions() == []  # the refused call left no empty partition behind
    store.create_partition(("bullet", "signature"), dimension=8)
    store.add(("bullet", "signature"), [1], np.ones((1, 8)))
    with pytest.raises(ValueError, match="holds 8-d vectors"):
        store.create_partition(("bullet", "signature"), dimension=16)
    with pytest.raises(ValueError, match=r"shape \(count, 8\)"):
        store.search(("bullet", "signature"), data["queries"][:1], 1)
    store.save()
    assert PartitionedIndex.load(tmp_path).partition(("bullet", "signature")).dimension == 8


def test_indexer_never_imports_ballistics():
    code = (
        "import sys, indexer, indexer.synthetic, indexer.store; "
        "print(any(name.split('.')[0] == 'ballistics' for name in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    ).stdout
    assert output.strip() == "False"

"""The index benchmark's script, run end to end at toy size, and its recall measure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.index_scale import main, recall_at


def test_recall_counts_the_overlap_of_top_k():
    found = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    truth = np.array([[1, 2, 9, 4], [8, 7, 6, 5]])
    assert recall_at(found, truth, 2) == pytest.approx((2 / 2 + 0 / 2) / 2)
    assert recall_at(found, truth, 4) == pytest.approx((3 / 4 + 4 / 4) / 2)
    # a filter that admits fewer than k: only the existing exact neighbours count
    padded = np.array([[1, 2, -1, -1], [-1, -1, -1, -1]])
    assert recall_at(np.array([[2, 1, -1, -1], [3, -1, -1, -1]]), padded, 4) == 1.0


def test_script_writes_one_row_per_size_and_backend(tmp_path, capsys):
    out = tmp_path / "index_scale.json"
    arguments = ["--sizes", "600,900", "--backends", "flat,hnsw", "--dimension", "32"]
    arguments += ["--queries", "20", "--min-seconds", "0.01", "--out", str(out)]
    assert main(arguments) == 0
    record = json.loads(out.read_text())
    rows = record["results"]
    assert [(row["count"], row["backend"]) for row in rows] == [
        (600, "flat"),
        (600, "hnsw"),
        (900, "flat"),
        (900, "hnsw"),
    ]
    for row in rows:
        if row["backend"] == "flat":  # exact search agrees with FAISS's exact ground truth
            assert row["recall_at_10"] == row["recall_at_50"] == 1.0
            assert row["filtered_recall_at_50"] == 1.0
        assert row["recall_at_50"] >= 0.95 and row["single_ms"] > 0
    assert record["arguments"]["sizes"] == [600, 900]
    assert record["hardware"]["cpu_count"] >= 1
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:2] == ["N", "backend"]


def test_vectors_file_is_used_and_short_files_skip_sizes(tmp_path):
    vectors = np.random.default_rng(0).standard_normal((300, 8)).astype(np.float32)
    np.save(tmp_path / "real.npy", vectors)
    out = tmp_path / "record.json"
    arguments = ["--vectors", str(tmp_path / "real.npy"), "--sizes", "200,5000", "--k", "10"]
    arguments += ["--backends", "flat", "--queries", "50", "--min-seconds", "0", "--out", str(out)]
    assert main(arguments) == 0
    record = json.loads(out.read_text())
    assert [row["count"] for row in record["results"]] == [200]
    assert record["results"][0]["dimension"] == 8
    assert record["results"][0]["recall_at_10"] == 1.0
    assert any("5000: skipped" in note for note in record["notes"])

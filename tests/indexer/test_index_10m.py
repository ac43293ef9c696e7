"""The ivf_disk benchmark's script, run end to end at toy size, and its exact ground truth."""

from __future__ import annotations

import json

import numpy as np

from benchmarks.index_10m import dataset, ground_truth, main


def test_ground_truth_is_the_exact_top_k_overall_and_within_the_class(tmp_path):
    vectors, classes = dataset(tmp_path, 3000, 10, dimension=40, noise=0.2, seed=1)
    truth, filtered = ground_truth(tmp_path / "truth.npz", vectors, classes, 3000, 5)
    scores = np.asarray(vectors[3000:]) @ np.asarray(vectors[:3000]).T
    np.testing.assert_array_equal(truth, np.argsort(-scores, axis=1)[:, :5])
    same_class = classes[3000:, None] == classes[None, :3000]
    expected = np.argsort(-np.where(same_class, scores, -np.inf), axis=1)[:, :5]
    np.testing.assert_array_equal(filtered, expected)
    # cached: the second call reads the file
    again, _ = ground_truth(tmp_path / "truth.npz", vectors, classes, 3000, 5)
    np.testing.assert_array_equal(again, truth)


def test_script_writes_one_row_per_setting_with_memory_and_recall(tmp_path):
    out = tmp_path / "index_10m.json"
    arguments = ["--sizes", "12000", "--dimension", "32", "--queries", "20", "--chunk", "5000"]
    arguments += ["--probes", "4,1000", "--shortlist-factors", "4", "--build-threads", "1"]
    arguments += ["--scratch", str(tmp_path / "scratch"), "--out", str(out)]
    assert main(arguments) == 0
    rows = json.loads(out.read_text())["results"]
    assert [(row["count"], row["probes"], row["shortlist"]) for row in rows] == [
        (12000, 4, 200),
        (12000, 1000, 200),
    ]
    every_list = rows[1]
    assert every_list["recall_at_50"] >= 0.95  # all lists probed: only the codes approximate
    assert rows[0]["recall_at_50"] < every_list["recall_at_50"]
    assert every_list["disk_mb"] > 12000 * 32 * 4 / 1e6  # the full vectors are on disk
    assert every_list["projected_10m_mb"] > every_list["resident_mb"] > 0
    # --reuse searches the index the first run left, with that run's build figures
    assert main([*arguments, "--reuse"]) == 0
    again = json.loads(out.read_text())["results"]
    assert [row["build_s"] for row in again] == [row["build_s"] for row in rows]
    assert [row["recall_at_50"] for row in again] == [row["recall_at_50"] for row in rows]
    assert all(row["single_cpu_ms"] > 0 for row in again)

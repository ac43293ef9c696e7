"""The benchmark's metrics against values worked out by hand."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks._common import (
    decision_rates,
    equal_error_rate,
    format_table,
    roc_auc,
    timing_summary,
    write_record,
)

# matches 0.9, 0.6, 0.4 against non-matches 0.7, 0.3, 0.2, 0.1: 10 of the 12 (match, non-match)
# pairs are ordered correctly (0.6 and 0.4 lose to 0.7).
SCORES = [0.9, 0.6, 0.4, 0.7, 0.3, 0.2, 0.1]
LABELS = [True, True, True, False, False, False, False]


def test_auc_counts_correctly_ordered_pairs():
    assert roc_auc(SCORES, LABELS) == pytest.approx(10 / 12)


def test_auc_counts_ties_as_half():
    # 1.0 beats both non-matches; 0.5 ties one (1/2) and beats the other: (2 + 1.5) / 4
    assert roc_auc([1.0, 0.5, 0.5, 0.2], [True, True, False, False]) == pytest.approx(3.5 / 4)


def test_auc_of_separated_and_inverted_scores():
    assert roc_auc([3, 4, 1, 2], [True, True, False, False]) == 1.0
    assert roc_auc([1, 2, 3, 4], [True, True, False, False]) == 0.0


def test_equal_error_rate_interpolates_between_thresholds():
    # at threshold 0.4: false positives 1/4, false negatives 0; at 0.6: 1/4 and 1/3.
    # The difference crosses zero between them, where both rates are 1/4.
    assert equal_error_rate(SCORES, LABELS) == pytest.approx(0.25)


def test_equal_error_rate_of_separated_and_inverted_scores():
    assert equal_error_rate([3, 4, 1, 2], [True, True, False, False]) == 0.0
    assert equal_error_rate([1, 2, 3, 4], [True, True, False, False]) == 1.0


def test_equal_error_rate_exact_crossing():
    # threshold 2: one false positive of two (the 2.0 non-match scores >= 2), one false negative
    # of two (the 1.0 match): both 1/2.
    assert equal_error_rate([1.0, 3.0, 2.0, 0.0], [True, True, False, False]) == pytest.approx(0.5)


def test_decision_rates():
    decisions = [True, True, False, True, False, False, False]
    true_positive, false_positive = decision_rates(decisions, LABELS)
    assert true_positive == pytest.approx(2 / 3)
    assert false_positive == pytest.approx(1 / 4)


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        ([0.1, 0.2], [True, True], "known non-matches"),
        ([0.1, float("nan")], [True, False], "NaN"),
        ([0.1, 0.2, 0.3], [True, False], "same length"),
    ],
)
def test_metrics_refuse_unusable_input(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        roc_auc(scores, labels)


def test_timing_summary():
    summary = timing_summary([float(value) for value in range(1, 101)])
    assert summary["median_s"] == pytest.approx(50.5)
    assert summary["p95_s"] == pytest.approx(95.05)
    assert math.isnan(timing_summary([])["median_s"])


def test_record_holds_arguments_hardware_and_results(tmp_path):
    path = write_record(
        tmp_path / "results" / "bench.json",
        benchmark="bench",
        arguments={"workers": 2, "data_dir": tmp_path},
        results=[{"dataset": "x", "auc": float("nan")}],
        notes=["a note"],
    )
    record = json.loads(path.read_text())
    assert record["arguments"] == {"workers": 2, "data_dir": str(tmp_path)}
    assert record["hardware"]["cpu_count"] >= 1
    assert record["hardware"]["versions"]["numpy"]
    assert record["results"] == [{"dataset": "x", "auc": None}]
    assert record["notes"] == ["a note"]
    assert not list(path.parent.glob("*.tmp"))


def test_table_has_one_header_and_one_row_per_dataset():
    table = format_table(
        [{"dataset": "fadul", "auc": 1.0}, {"dataset": "dfsc", "auc": None}],
        [("dataset", "dataset", "s"), ("auc", "AUC", ".3f")],
    )
    lines = table.splitlines()
    assert lines[0].split() == ["dataset", "AUC"]
    assert lines[1].split() == ["fadul", "1.000"]
    assert lines[2].split() == ["dfsc", "-"]


def test_calibration_threshold_bounds_the_false_positive_rate():
    from scipy import stats

    from benchmarks.calibrate_casing import calibrate, negative_binomial_threshold

    counts = stats.poisson(1.0).rvs(size=5000, random_state=1).astype(float)
    threshold = negative_binomial_threshold(counts, false_positive_rate=1e-3)
    # Poisson(1): P(X >= 6) = 0.0006 <= 1e-3 < P(X >= 5) = 0.0037
    assert threshold == 6.0
    result = calibrate(counts / 2.0, false_positive_rate=1e-3, floor=0.0)
    assert result["threshold"] == max(result["parametric_threshold"], counts.max() / 2 + 0.5)
    # the published floor wins when the data would allow a lower threshold
    low = calibrate([0.0, 0.5, 0.0, 1.0], false_positive_rate=1e-3)
    assert low["threshold"] == 6.0

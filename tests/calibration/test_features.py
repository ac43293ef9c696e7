"""Calibration features: numbers computed from a comparison's fields, what a calibration maps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ballistics.calibration.calibration import Calibration
from ballistics.calibration.features import (
    DEFAULT_FEATURE,
    FEATURES,
    feature_named,
    missing_fields_reason,
)
from ballistics.calibration.fit import fit_calibration
from ballistics.calibration.groups import PairScores


def cell_fields(congruent: int, valid: int, *, reverse_valid: int | None = None) -> dict:
    """The fields of a comparison with ``congruent`` cells each way out of ``valid``."""
    return {
        "score": float(congruent),
        "cmc_count_reverse": congruent,
        "valid_cells": valid,
        "valid_cells_reverse": valid if reverse_valid is None else reverse_valid,
        "correlation": 0.1 + 0.8 * congruent / max(valid, 1),
    }


def cell_pairs(
    *, firearms: int, marks: int, seed: int, match_fraction: float = 0.4
) -> tuple[list[dict], PairScores]:
    """Every pair of ``firearms x marks`` marks, with their fields: known matches have
    ``match_fraction`` of their cells congruent on average, known non-matches 2 %, and the
    valid cells vary (a few dozen to a hundred), so that counts and fractions disagree."""
    random = np.random.default_rng(seed)
    owners = [f"firearm-{f:02d}" for f in range(firearms) for _ in range(marks)]
    first, second = np.triu_indices(len(owners), k=1)
    rows = []
    for i, j in zip(first, second, strict=True):
        valid = int(random.integers(30, 100))
        rate = match_fraction if owners[i] == owners[j] else 0.02
        rows.append(cell_fields(int(random.binomial(valid, rate)), valid))
    firearm_a = [owners[i] for i in first]
    firearm_b = [owners[j] for j in second]
    values = [FEATURES["cmc_fraction"].value(row) for row in rows]
    return rows, PairScores.from_lists(values, firearm_a, firearm_b)


def test_cell_features_count_both_directions_over_both_directions_valid_cells():
    fields = {**cell_fields(10, 40, reverse_valid=60), "score": 11.0, "cmc_count_reverse": 12}
    # forward 2 x 11 - 12 = 10 of 40, reverse 12 of 60: 22 of 100
    assert FEATURES["cmc_fraction"].value(fields) == pytest.approx(0.22)
    assert FEATURES["cmc_logit"].value(fields) == pytest.approx(math.log(22.5 / 78.5))
    assert FEATURES["score"].value(fields) == 11.0
    assert FEATURES[DEFAULT_FEATURE].name == "score"


def test_a_feature_says_which_fields_it_lacks_and_gives_no_value_without_them():
    fraction = feature_named("cmc_fraction")
    stored = {"score": 8.0, "valid_cells": 40, "valid_cells_reverse": None}
    assert fraction.missing(stored) == ("valid_cells_reverse",)
    assert fraction.value(stored) is None
    assert fraction.missing(None) == fraction.needs
    assert "valid_cells_reverse" in missing_fields_reason(fraction, ("valid_cells_reverse",))
    assert fraction.value(cell_fields(0, 0)) is None  # no valid cell: not a number
    with pytest.raises(ValueError, match="unknown calibration feature"):
        feature_named("cmc_ratio")


@pytest.fixture(scope="module")
def fraction_calibration() -> Calibration:
    _, pairs = cell_pairs(firearms=10, marks=4, seed=3)
    return fit_calibration(
        pairs,
        kind="cartridge_case",
        modality="topography",
        dataset="binomial cells",
        replicates=20,
        feature="cmc_fraction",
    )


def test_known_match_features_above_known_non_match_ones_map_to_higher_lrs(fraction_calibration):
    assert fraction_calibration.calibrated and fraction_calibration.feature == "cmc_fraction"
    rows, pairs = cell_pairs(firearms=6, marks=4, seed=11)
    values = np.array(
        [fraction_calibration.log10_lr(FEATURES["cmc_fraction"].value(row)).value for row in rows]
    )
    truth = pairs.same_firearm
    assert np.median(values[truth]) > 0.5 and np.median(values[~truth]) < -0.5
    # monotone in the feature, whatever the valid-cell count: 12 of 30 beats 12 of 90
    strong = fraction_calibration.log10_lr(FEATURES["cmc_fraction"].value(cell_fields(12, 30)))
    weak = fraction_calibration.log10_lr(FEATURES["cmc_fraction"].value(cell_fields(12, 90)))
    assert strong.value is not None and weak.value is not None and strong.value > weak.value
    for value in values:
        assert fraction_calibration.lower <= value <= fraction_calibration.upper


def test_the_refusal_rules_apply_to_a_feature_and_the_refusal_records_it():
    _, pairs = cell_pairs(firearms=3, marks=3, seed=5)  # 9 known matches from 3 firearms
    refused = fit_calibration(
        pairs, kind="cartridge_case", modality="topography", dataset="few", feature="cmc_logit"
    )
    assert not refused.calibrated and "too few real known pairs" in refused.reason
    assert refused.feature == "cmc_logit" and refused.log10_lr(0.5).value is None
    _, many = cell_pairs(firearms=10, marks=4, seed=3)
    synthetic = fit_calibration(
        many,
        kind="cartridge_case",
        modality="topography",
        dataset="synthetic",
        synthetic=True,
        feature="cmc_fraction",
    )
    assert not synthetic.calibrated and synthetic.reason.startswith("synthetic data only")
    with pytest.raises(ValueError, match="unknown calibration feature"):
        fit_calibration(
            many, kind="cartridge_case", modality="topography", dataset="x", feature="y"
        )


def test_the_feature_is_saved_versioned_and_a_file_without_one_maps_the_score(
    fraction_calibration, tmp_path
):
    loaded = Calibration.load(fraction_calibration.save(tmp_path / "fraction.json"))
    assert loaded == fraction_calibration and loaded.feature == "cmc_fraction"
    as_score = Calibration(**{**fraction_calibration.__dict__, "feature": "score"})
    assert as_score.version != fraction_calibration.version
    # a file written before features names none: it maps the score and keeps its version
    legacy = {key: value for key, value in as_score.as_json().items() if key != "feature"}
    read = Calibration.from_json(legacy)
    assert read.feature == DEFAULT_FEATURE and read.version == legacy["version"]
    with pytest.raises(ValueError, match="unknown calibration feature"):
        Calibration.from_json({**as_score.as_json(), "feature": "cmc_ratio"})

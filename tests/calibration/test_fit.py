"""Calibration recovers a known LR, stays within its bounds, and refuses too little data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ballistics.calibration.fit import (
    Minimum,
    cross_validated_log10_lrs,
    fit_bounded,
    fit_calibration,
)
from ballistics.calibration.metrics import cllr
from ballistics.calibration.verbal import NOT_CALIBRATED
from tests.calibration.scores import gaussian_pairs, true_log10_lr


@pytest.mark.parametrize(
    ("method", "lowest", "highest", "tolerance"),
    [("logistic", -1.0, 3.0, 0.12), ("isotonic", 0.0, 2.0, 0.3)],
)
def test_the_calibrated_lr_is_close_to_the_known_lr_of_two_gaussians(
    gaussian, method, lowest, highest, tolerance
):
    # the step function of PAV is only trusted where both classes have many scores
    bounded = fit_bounded(gaussian, method=method)
    scores = np.linspace(lowest, highest, 17)
    truth = np.clip(true_log10_lr(scores), bounded.lower, bounded.upper)
    assert bounded.lower < -1.0 and bounded.upper > 1.5  # the bounds leave a range to test
    error = np.abs(bounded.log10_lr(scores) - truth)
    assert error.max() < tolerance


def test_a_logistic_fit_recovers_the_slope_and_intercept_of_the_log_lr(gaussian):
    curve = fit_bounded(gaussian, method="logistic").curve
    assert curve.slope == pytest.approx(2.0, abs=0.15)
    assert curve.intercept == pytest.approx(-2.0, abs=0.15)


@pytest.mark.parametrize("method", ["logistic", "isotonic"])
def test_with_few_pairs_no_lr_passes_what_their_number_supports(method):
    pairs = gaussian_pairs(firearms=6, marks_per_firearm=3, seed=2, separation=8.0)
    calibration = fit_calibration(
        pairs,
        kind="cartridge_case",
        modality="topography",
        dataset="few",
        method=method,
        replicates=30,
        minimum=Minimum(known_matches=10, known_non_matches=50),
    )
    assert calibration.calibrated
    ceiling = math.log10(pairs.known_non_matches + 1)
    floor = -math.log10(pairs.known_matches + 1)
    for score in (-50.0, -3.0, 0.0, 4.0, 8.0, 12.0, 500.0):
        value, low, high = calibration.log10_lr(score)
        assert floor <= low <= value <= high <= ceiling


def test_the_interval_is_narrower_with_more_firearms():
    def width(firearms):
        pairs = gaussian_pairs(firearms=firearms, marks_per_firearm=4, seed=11)
        calibration = fit_calibration(
            pairs, kind="k", modality="m", dataset="d", replicates=25, seed=1
        )
        _, low, high = calibration.log10_lr(1.5)
        return high - low

    assert width(20) < width(5)


def test_too_few_real_pairs_or_synthetic_data_give_no_number(gaussian):
    few = gaussian_pairs(firearms=3, marks_per_firearm=3, seed=2)  # 9 KM from 3 firearms
    refused = fit_calibration(few, kind="cartridge_case", modality="photograph", dataset="few")
    assert not refused.calibrated and refused.method == "none"
    assert refused.log10_lr(5.0) == (None, None, None)
    assert refused.strength(5.0).verbal == NOT_CALIBRATED
    assert "too few real known pairs" in refused.reason
    assert refused.known_matches == few.known_matches
    synthetic = fit_calibration(
        gaussian, kind="cartridge_case", modality="photograph", dataset="s", synthetic=True
    )
    assert synthetic.log10_lr(5.0).value is None and "synthetic" in synthetic.reason


def test_cross_validated_lrs_of_a_good_system_have_a_low_cllr(gaussian):
    separated = gaussian_pairs(firearms=12, marks_per_firearm=4, seed=3, separation=6.0)
    values = cross_validated_log10_lrs(separated, method="logistic", folds=4)
    assert not np.isnan(values).any()
    assert cllr(values, separated.same_firearm) < 0.1
    weak = cross_validated_log10_lrs(gaussian, method="logistic", folds=5)
    assert 0.3 < cllr(weak, gaussian.same_firearm) < 0.9

"""The ENFSI verbal scale: bands, their boundaries, direction, and the refusal sentence."""

from __future__ import annotations

import math

import pytest

from ballistics.calibration.verbal import (
    DIFFERENT_FIREARMS,
    NEITHER,
    NOT_CALIBRATED,
    SAME_FIREARM,
    enfsi_band,
    verbal_equivalent,
)


@pytest.mark.parametrize(
    ("lr", "words"),
    [
        (1.5, "weak or limited support"),
        (9.99, "weak or limited support"),
        (10.0, "moderate support"),
        (99.0, "moderate support"),
        (100.0, "moderately strong support"),
        (1_000.0, "strong support"),
        (9_999.0, "strong support"),
        (10_000.0, "very strong support"),
        (999_999.0, "very strong support"),
        (1_000_000.0, "extremely strong support"),
        (1e12, "extremely strong support"),
    ],
)
def test_bands_follow_the_enfsi_table_with_each_boundary_in_the_band_above(lr, words):
    assert enfsi_band(math.log10(lr)) == words
    assert verbal_equivalent(math.log10(lr)) == f"{words} for {SAME_FIREARM}"


@pytest.mark.parametrize("lr", [1 / 1.5, 1 / 10.0, 1 / 150.0, 1 / 20_000.0, 1e-7])
def test_an_lr_below_one_supports_the_alternative_with_the_words_of_one_over_lr(lr):
    words = verbal_equivalent(math.log10(lr))
    assert words == f"{enfsi_band(-math.log10(lr))} for {DIFFERENT_FIREARMS}"
    assert SAME_FIREARM not in words


def test_an_lr_of_one_supports_neither_and_no_lr_says_not_calibrated():
    assert verbal_equivalent(0.0) == NEITHER
    assert verbal_equivalent(None) == NOT_CALIBRATED == "not calibrated on casework-like data"


def test_a_nan_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        verbal_equivalent(float("nan"))


def test_the_words_never_claim_an_identification():
    for log10_lr in (-7.0, -2.5, 0.0, 0.5, 3.2, 8.0, None):
        words = verbal_equivalent(log10_lr).lower()
        assert "identif" not in words and "same source" not in words

"""The strength of the evidence a comparison record carries beside ``lead`` (CONTRACT.md "Words of
a result"): computed in one place from the calibration of the pair's kind and modalities, null
with the reason where there is no calibration on casework-like data, and written in one line."""

from __future__ import annotations

import math

import pytest

from ballistics.calibration import NOT_CALIBRATED, calibration_for
from ballistics.casing.compare import CasingComparison
from ballistics.items.records import (
    NO_SCORE,
    STRENGTH_FIELDS,
    casing_record,
    evidence_strength,
    strength_line,
    strength_text,
)

CASING = "cartridge_case"
SCAN = ("topography", "topography")


def comparison(score: float) -> CasingComparison:
    return CasingComparison(
        score=score,
        lead=score >= 6.0,
        cmc_count=int(score),
        cmc_fraction=0.5,
        valid_cells=40,
        rotation_deg=3.0,
        translation_um=(10.0, -5.0),
        correlation=0.6,
        firing_pin_correlation=None,
        cells=(),
    )


def test_a_high_score_of_two_scans_gives_a_positive_lr_within_its_interval():
    strength = evidence_strength(CASING, SCAN, 20.0)
    calibration = calibration_for(CASING, "topography")
    assert strength.log10_lr is not None and strength.lr_interval is not None
    low, high = strength.lr_interval
    assert 0 < low <= strength.log10_lr <= high <= calibration.upper
    assert strength.verbal.endswith("support for the proposition that one firearm fired both")
    assert strength.calibration == calibration.version
    assert strength.calibration.startswith("cartridge_case/topography/")


def test_a_low_score_supports_different_firearms_and_stays_within_the_bounds():
    strength = evidence_strength(CASING, SCAN, 0.0)
    calibration = calibration_for(CASING, "topography")
    assert strength.log10_lr is not None and strength.lr_interval is not None
    assert calibration.lower <= strength.lr_interval[0] <= strength.log10_lr < 0
    assert strength.verbal.endswith("for the proposition that different firearms fired them")


def test_the_lr_rises_with_the_score():
    values = [evidence_strength(CASING, SCAN, score).log10_lr for score in (1.0, 2.5, 3.5, 4.0)]
    assert values == sorted(values) and values[0] < values[-1]


@pytest.mark.parametrize(
    ("kind", "modalities"),
    [
        (CASING, ("photograph", "photograph")),
        (CASING, ("photograph", "topography")),
        (CASING, ("topography", "photograph")),
        (CASING, (None, "topography")),
        ("bullet", SCAN),
    ],
)
def test_no_number_where_there_is_no_calibration_on_casework_like_data(kind, modalities):
    strength = evidence_strength(kind, modalities, 30.0)
    assert strength.log10_lr is None and strength.lr_interval is None
    assert strength.verbal == NOT_CALIBRATED
    assert "/none/" in strength.calibration  # the refusal has a version of its own


def test_a_comparison_without_a_score_gives_no_lr():
    strength = evidence_strength(CASING, SCAN, None)
    assert (strength.log10_lr, strength.lr_interval, strength.verbal) == (None, None, NO_SCORE)
    assert evidence_strength(CASING, SCAN, math.nan).verbal == NO_SCORE


def test_a_casing_record_carries_the_fields_right_after_lead():
    record = casing_record(comparison(20.0), modalities=SCAN)
    document = record.as_json()
    names = list(document)
    position = names.index("lead")
    assert names[position + 1 : position + 5] == list(STRENGTH_FIELDS)
    assert isinstance(document["log10_lr"], float) and document["log10_lr"] > 0
    assert isinstance(document["lr_interval"], list) and len(document["lr_interval"]) == 2
    assert document["same_source"] is document["lead"] is True
    assert record.strength == evidence_strength(CASING, SCAN, 20.0)
    # a search answers them beside the score
    assert set(STRENGTH_FIELDS) <= set(record.search_details())


def test_a_photograph_record_carries_null_and_the_reason():
    document = casing_record(comparison(20.0), modalities=("photograph", "photograph")).as_json()
    assert document["log10_lr"] is None and document["lr_interval"] is None
    assert document["verbal"] == NOT_CALIBRATED
    assert document["lead"] is True  # the lead stands; only the number is refused


def test_one_line_says_the_lr_its_interval_and_the_words():
    line = strength_text({"log10_lr": 2.14, "lr_interval": [1.66, 2.88], "verbal": "x y"})
    assert line == "log10 LR 2.1 [1.7, 2.9] — x y"
    assert strength_text({"log10_lr": None, "verbal": NOT_CALIBRATED}) == (
        f"no LR — {NOT_CALIBRATED}"
    )
    assert strength_line(CASING, SCAN)(20.0) == strength_text(
        evidence_strength(CASING, SCAN, 20.0).as_json()
    )
    assert "identification" not in strength_line(CASING, SCAN)(20.0)


@pytest.fixture(scope="module")
def logit_calibration():
    """A calibration that maps the log odds of congruent cells (made-up pairs)."""
    from ballistics.calibration.fit import fit_calibration
    from tests.calibration.scores import gaussian_pairs

    # the Gaussian scores stand for log odds: known matches around 2, non-matches around 0
    return fit_calibration(
        gaussian_pairs(firearms=10, marks_per_firearm=4, seed=2),
        kind=CASING,
        modality="topography",
        dataset="made up",
        replicates=20,
        feature="cmc_logit",
    )


def cells(score: float, valid: int | None) -> dict:
    return {
        "score": score,
        "cmc_count_reverse": int(score),
        "valid_cells": 40,
        "valid_cells_reverse": valid,
    }


def test_a_feature_calibration_maps_the_comparisons_fields_not_the_score(
    logit_calibration, monkeypatch
):
    monkeypatch.setattr("ballistics.items.records.calibration_for", lambda *_: logit_calibration)
    # 30 of 40 cells each way (log odds about 1.1) against 6 of 200 (about -3.4)
    many = evidence_strength(CASING, SCAN, 30.0, cells(30.0, 40))
    few = evidence_strength(CASING, SCAN, 6.0, cells(6.0, 200))
    assert many.log10_lr is not None and few.log10_lr is not None
    assert many.log10_lr > 0 > few.log10_lr
    assert many.calibration == logit_calibration.version
    # the score alone is not enough: the fields the feature needs are named
    alone = evidence_strength(CASING, SCAN, 30.0)
    assert alone.log10_lr is None and alone.lr_interval is None
    assert "valid_cells" in alone.verbal and "cmc_logit" in alone.verbal
    # a result stored before valid_cells_reverse was kept gets no number, and says why
    stored = evidence_strength(CASING, SCAN, 30.0, cells(30.0, None))
    assert stored.log10_lr is None and "valid_cells_reverse" in stored.verbal
    assert evidence_strength(CASING, SCAN, None, cells(30.0, 40)).verbal == NO_SCORE


def test_a_casing_record_gives_its_own_fields_to_a_feature_calibration(
    logit_calibration, monkeypatch
):
    monkeypatch.setattr("ballistics.items.records.calibration_for", lambda *_: logit_calibration)
    document = casing_record(
        CasingComparison(**{**comparison(20.0).__dict__, "valid_cells_reverse": 40}),
        modalities=SCAN,
    ).as_json()
    assert document["log10_lr"] is not None and document["calibration"] == logit_calibration.version
    assert document["valid_cells_reverse"] == 40

"""Cllr, Cllr-min, misleading evidence, ECE and Tippett curves on sets with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ballistics.calibration.metrics import (
    cllr,
    cllr_min,
    empirical_cross_entropy,
    misleading_evidence,
    pav_log10_lrs,
    tippett_curves,
)

TRUTH = np.array([True, True, True, False, False, False, False])


def test_a_perfect_system_costs_nothing_and_a_useless_one_costs_one_bit():
    perfect = np.where(TRUTH, np.inf, -np.inf)
    assert cllr(perfect, TRUTH) == 0.0
    assert cllr(np.zeros(TRUTH.size), TRUTH) == pytest.approx(1.0)
    assert cllr_min(np.zeros(TRUTH.size), TRUTH) == pytest.approx(1.0)


def test_cllr_matches_its_formula_and_a_confident_error_is_expensive():
    values = np.array([2.0, 1.0, -1.0, -2.0, -1.0, 0.0, 1.0])
    expected = 0.5 * (
        np.mean(np.log2(1 + 10.0 ** -values[TRUTH])) + np.mean(np.log2(1 + 10.0 ** values[~TRUTH]))
    )
    assert cllr(values, TRUTH) == pytest.approx(expected)
    wrong = np.where(TRUTH, -6.0, 6.0)
    assert cllr(wrong, TRUTH) > 10


def test_cllr_min_is_never_above_cllr_and_ignores_a_monotone_miscalibration():
    rng = np.random.default_rng(3)
    truth = rng.random(400) < 0.3
    values = rng.normal(np.where(truth, 1.0, -1.0), 1.0)
    assert cllr_min(values, truth) <= cllr(values, truth)
    # scaling and shifting the LRs changes Cllr but not the discrimination Cllr-min measures
    assert cllr_min(3 * values + 2, truth) == pytest.approx(cllr_min(values, truth))
    assert cllr(3 * values + 2, truth) > cllr(values, truth)


def test_pav_gives_infinite_lrs_where_the_classes_do_not_overlap():
    values = np.array([5.0, 4.0, 3.0, 0.0, -1.0, -2.0, -3.0])
    calibrated = pav_log10_lrs(values, TRUTH)
    assert np.all(np.isposinf(calibrated[TRUTH])) and np.all(np.isneginf(calibrated[~TRUTH]))
    assert cllr_min(values, TRUTH) == 0.0


def test_misleading_evidence_counts_each_side():
    values = np.array([2.5, 0.5, -0.5, -3.0, -1.0, 0.2, 2.4])
    rates = misleading_evidence(values, TRUTH)
    assert rates.matches_below_one == pytest.approx(1 / 3)
    assert rates.non_matches_above_one == pytest.approx(2 / 4)
    assert rates.non_matches_above_hundred == pytest.approx(1 / 4)
    assert rates.matches_below_hundredth == 0.0
    assert rates.highest_non_match_log10_lr == 2.4 and rates.lowest_match_log10_lr == -0.5


def test_ece_at_even_prior_odds_is_cllr_and_the_neutral_ece_is_the_prior_entropy():
    values = np.array([2.0, 1.0, -1.0, -2.0, -1.0, 0.0, 1.0])
    odds = np.array([-1.0, 0.0, 1.5])
    ece = empirical_cross_entropy(values, TRUTH, odds)
    assert ece[1] == pytest.approx(cllr(values, TRUTH))
    neutral = empirical_cross_entropy(np.zeros(TRUTH.size), TRUTH, odds)
    prior = 1 / (1 + 10.0**-odds)
    entropy = -(prior * np.log2(prior) + (1 - prior) * np.log2(1 - prior))
    assert neutral == pytest.approx(entropy)


def test_tippett_curves_are_the_proportions_above_each_threshold():
    values = np.array([2.0, 1.0, -1.0, -2.0, -1.0, 0.0, 1.0])
    matches, non_matches = tippett_curves(values, TRUTH, [-math.inf, 0.0, 1.0])
    assert matches.tolist() == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert non_matches.tolist() == pytest.approx([1.0, 1 / 4, 0.0])


def test_one_class_or_nan_is_refused():
    with pytest.raises(ValueError, match="known matches and known non-matches"):
        cllr([1.0, 2.0], [True, True])
    with pytest.raises(ValueError, match="NaN"):
        cllr([1.0, float("nan")], [True, False])

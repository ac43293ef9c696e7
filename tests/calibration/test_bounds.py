"""ELUB bounds: never past what the number of pairs supports, tighter with fewer pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ballistics.calibration.bounds import elub_bounds


@pytest.mark.parametrize(("matches", "non_matches"), [(3, 10), (12, 60), (40, 700)])
def test_perfectly_separated_lrs_are_bounded_by_the_counts_of_pairs(matches, non_matches):
    truth = np.array([True] * matches + [False] * non_matches)
    values = np.where(truth, 50.0, -50.0)  # absurdly confident, and right
    lower, upper = elub_bounds(values, truth)
    assert 0 < upper <= math.log10(non_matches + 1)
    assert -math.log10(matches + 1) <= lower < 0
    # a perfect set earns (almost) all the counts allow
    assert upper >= math.log10(non_matches + 1) - 0.35


def test_fewer_pairs_give_tighter_bounds():
    def bounds(matches, non_matches):
        truth = np.array([True] * matches + [False] * non_matches)
        return elub_bounds(np.where(truth, 9.0, -9.0), truth)

    few, many = bounds(5, 20), bounds(50, 2000)
    assert many[1] > few[1] and many[0] < few[0]


def test_misleading_lrs_pull_the_bounds_towards_zero():
    truth = np.array([True] * 20 + [False] * 200)
    honest = np.where(truth, 3.0, -3.0)
    misled = honest.copy()
    misled[20:24] = 3.0  # four known non-matches with LR 1000
    assert elub_bounds(misled, truth)[1] < elub_bounds(honest, truth)[1]


def test_bounds_always_include_zero_even_for_a_system_that_is_always_wrong():
    truth = np.array([True] * 10 + [False] * 10)
    lower, upper = elub_bounds(np.where(truth, -2.0, 2.0), truth)
    assert lower <= 0.0 <= upper

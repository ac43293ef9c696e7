"""Fixtures of the calibration tests."""

from __future__ import annotations

import pytest

from ballistics.calibration.groups import PairScores
from tests.calibration.scores import gaussian_pairs


@pytest.fixture(scope="session")
def gaussian() -> PairScores:
    """40 firearms x 8 marks: 1,120 known matches, 49,920 known non-matches."""
    return gaussian_pairs(firearms=40, marks_per_firearm=8, seed=7)

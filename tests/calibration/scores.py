"""Synthetic pair scores with a known likelihood ratio (two Gaussians) for the calibration tests."""

from __future__ import annotations

import math

import numpy as np

from ballistics.calibration.groups import PairScores

#: known matches score N(MATCH_MEAN, 1), known non-matches N(0, 1)
MATCH_MEAN = 2.0


def true_log10_lr(score: float | np.ndarray) -> float | np.ndarray:
    """log10 of N(score; 2, 1) / N(score; 0, 1) = (2 score - 2) / ln 10."""
    return (MATCH_MEAN * score - MATCH_MEAN**2 / 2) / math.log(10.0)


def gaussian_pairs(
    *, firearms: int, marks_per_firearm: int, seed: int, separation: float = MATCH_MEAN
) -> PairScores:
    """Every pair of ``firearms x marks_per_firearm`` marks, scored from two Gaussians."""
    random = np.random.default_rng(seed)
    owners = [f"firearm-{f:02d}" for f in range(firearms) for _ in range(marks_per_firearm)]
    first, second = np.triu_indices(len(owners), k=1)
    firearm_a = np.array(owners)[first]
    firearm_b = np.array(owners)[second]
    means = np.where(firearm_a == firearm_b, separation, 0.0)
    return PairScores.from_lists(random.normal(means, 1.0), firearm_a, firearm_b)

"""Empirical lower and upper bounds on log10 LRs: how far the calibration data can support them.

A calibration fitted on n known-match and m known-non-match pairs cannot honestly claim an LR
beyond what those pairs could have shown wrong: with m known non-matches, an LR of 10,000 is an
extrapolation when m is 100. The ELUB method of Vergeer et al. (2016) bounds the LRs where the
system, with one misleading pair of each kind added, stops doing better than an LR of 1 for a
decision at that threshold (its expected utility against the neutral system's). The bounds never
pass log10(m + 1) above or -log10(n + 1) below, and always include 0.

References
----------
.. [1] P. Vergeer, A. van Es, A. de Jongh, I. Alberink, R. Stoel, "Numerical likelihood ratios
   outputted by LR systems are often based on extrapolation: When to stop extrapolating?",
   Science & Justice 56(6), 482-491 (2016).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ballistics.calibration.metrics import split_by_truth

#: log10 LRs beyond this are treated as this while bounding (as in the authors' code)
EXTREME_LOG10_LR = 9.0


def _expected_utility(
    log10_lrs: np.ndarray,
    same_firearm: np.ndarray,
    thresholds: np.ndarray,
    *,
    add_misleading: int,
) -> np.ndarray:
    """Expected utility of "accept Hp when LR > threshold", for each threshold (Vergeer 2016).

    ``add_misleading`` known matches that are never accepted and known non-matches that
    always are are added, the pessimistic pairs that the next case could bring.
    """
    accept = log10_lrs[:, None] > thresholds[None, :]
    match_accepted = accept[same_firearm].sum(axis=0)
    non_match_accepted = accept[~same_firearm].sum(axis=0) + add_misleading
    matches = int(same_firearm.sum()) + add_misleading
    non_matches = int((~same_firearm).sum()) + add_misleading
    return np.asarray(
        1.0 - match_accepted / matches + 10.0**thresholds * non_match_accepted / non_matches
    )


def elub_bounds(
    log10_lrs: Sequence[float] | np.ndarray,
    same_firearm: Sequence[bool] | np.ndarray,
    *,
    step: float = 0.01,
    add_misleading: int = 1,
) -> tuple[float, float]:
    """Return the empirical (lower, upper) bounds on log10 LR of a calibrated system (ELUB).

    Parameters
    ----------
    log10_lrs
        The calibrated log10 LRs of the calibration pairs themselves.
    same_firearm
        The truth of each pair.
    step
        Resolution of the bounds on the log10 scale.
    add_misleading
        Misleading pairs of each kind added before judging (1 in the paper).

    Returns
    -------
    tuple of float
        ``(lower, upper)`` with ``-log10(known matches + 1) <= lower <= 0 <= upper <=
        log10(known non-matches + 1)``.
    """
    matches, non_matches = split_by_truth(log10_lrs, same_firearm)
    values = np.clip(np.asarray(log10_lrs, dtype=np.float64), -EXTREME_LOG10_LR, EXTREME_LOG10_LR)
    truth = np.asarray(same_firearm, dtype=bool)
    lowest = max(float(values.min()), -math.log10(matches.size + 1))
    highest = min(float(values.max()), math.log10(non_matches.size + 1))
    first = min(0, math.floor(lowest / step))
    last = max(0, math.floor(highest / step) + 1)
    thresholds = np.arange(first, last + 1) * step
    neutral = _expected_utility(np.zeros_like(values), truth, thresholds, add_misleading=0)
    system = _expected_utility(values, truth, thresholds, add_misleading=add_misleading)
    worse = neutral / system < 1.0
    left = thresholds[(thresholds <= 0) & worse]
    right = thresholds[(thresholds >= 0) & worse]
    lower = float(left.max() + step) if left.size else float(thresholds.min())
    upper = float(right.min() - step) if right.size else float(thresholds.max())
    # the cap by the number of pairs: a bound may sit one step past it on the grid
    lower = max(lower, -math.log10(matches.size + 1))
    upper = min(upper, math.log10(non_matches.size + 1))
    return min(lower, 0.0), max(upper, 0.0)

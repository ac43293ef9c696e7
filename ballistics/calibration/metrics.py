"""How good a set of likelihood ratios is: Cllr, Cllr-min, misleading evidence, ECE and Tippett.

All functions take log10 likelihood ratios (``+inf`` and ``-inf`` allowed) and the truth of each
pair (True: known match, one firearm fired both; False: known non-match).

References
----------
.. [1] N. Brümmer, J. du Preez, "Application-independent evaluation of speaker detection",
   Computer Speech and Language 20(2-3), 230-275 (2006). (Cllr, and Cllr-min through PAV.)
.. [2] D. A. van Leeuwen, N. Brümmer, "An introduction to application-independent evaluation
   of speaker recognition systems", in Speaker Classification I, LNCS 4343, 330-353 (2007).
.. [3] D. Ramos, J. Gonzalez-Rodriguez, "Reliable support: measuring calibration of likelihood
   ratios", Forensic Science International 230, 156-169 (2013). (Empirical cross-entropy.)
.. [4] D. Meuwly, D. Ramos, R. Haraksim, "A guideline for the validation of likelihood ratio
   methods used for forensic evidence evaluation", Forensic Science International 276,
   142-153 (2017). (Rates of misleading evidence, Tippett plots.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LN10 = math.log(10.0)
LN2 = math.log(2.0)
#: stand-in for an infinite log10 LR where an algorithm needs finite numbers (order is kept)
FINITE_STAND_IN = 1e6


def split_by_truth(
    log10_lrs: Sequence[float] | np.ndarray, same_firearm: Sequence[bool] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (log10 LRs of known matches, of known non-matches), refusing empty classes."""
    values = np.asarray(log10_lrs, dtype=np.float64)
    truth = np.asarray(same_firearm, dtype=bool)
    if values.shape != truth.shape or values.ndim != 1:
        raise ValueError(
            f"log10_lrs and same_firearm must be 1-D and of one length, got {values.shape} and "
            f"{truth.shape}."
        )
    if np.isnan(values).any():
        raise ValueError("log10_lrs contain NaN; drop the pairs that could not be compared.")
    if truth.all() or not truth.any():
        raise ValueError("need known matches and known non-matches, got only one of them.")
    return values[truth], values[~truth]


def _log2_one_plus_ten_to(values: np.ndarray) -> np.ndarray:
    """log2(1 + 10**values), exact for large and infinite values."""
    with np.errstate(over="ignore"):
        return np.logaddexp(0.0, values * LN10) / LN2


def cllr(
    log10_lrs: Sequence[float] | np.ndarray, same_firearm: Sequence[bool] | np.ndarray
) -> float:
    """Return the log-likelihood-ratio cost Cllr (0: perfect, 1: an LR of 1 for everything).

    Cllr = ½ [mean over known matches of log2(1 + 1/LR) + mean over known non-matches of
    log2(1 + LR)] (Brümmer and du Preez 2006). It grows without limit for confident errors.
    """
    matches, non_matches = split_by_truth(log10_lrs, same_firearm)
    return float(
        0.5 * (_log2_one_plus_ten_to(-matches).mean() + _log2_one_plus_ten_to(non_matches).mean())
    )


def pav_log10_lrs(
    log10_lrs: Sequence[float] | np.ndarray, same_firearm: Sequence[bool] | np.ndarray
) -> np.ndarray:
    """Return the optimally calibrated log10 LRs of the same pairs (pool-adjacent-violators).

    PAV keeps the order of the LRs and finds the monotone posterior that best fits the truth;
    dividing out the proportion of known matches gives the LRs an ideal calibration of this
    system would give (±inf at the ends where the classes do not overlap).
    """
    from sklearn.isotonic import IsotonicRegression  # type: ignore[import-untyped]

    matches, non_matches = split_by_truth(log10_lrs, same_firearm)
    values = np.clip(np.asarray(log10_lrs, dtype=np.float64), -FINITE_STAND_IN, FINITE_STAND_IN)
    truth = np.asarray(same_firearm, dtype=bool)
    posterior = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit_transform(
        values, truth.astype(np.float64)
    )
    prior_log10_odds = math.log10(matches.size / non_matches.size)
    with np.errstate(divide="ignore"):
        return np.log10(posterior) - np.log10(1.0 - posterior) - prior_log10_odds


def cllr_min(
    log10_lrs: Sequence[float] | np.ndarray, same_firearm: Sequence[bool] | np.ndarray
) -> float:
    """Return Cllr-min: the Cllr after ideal (PAV) calibration, i.e. discrimination alone.

    Cllr - Cllr-min is the calibration loss (van Leeuwen and Brümmer 2007).
    """
    return cllr(pav_log10_lrs(log10_lrs, same_firearm), same_firearm)


@dataclass(frozen=True)
class MisleadingEvidence:
    """Rates of misleading evidence: a known match with LR < 1, a known non-match with LR > 1.

    ``strong_*``: beyond a factor of 100 the wrong way (log10 LR below -2, or above 2).
    """

    known_matches: int
    known_non_matches: int
    matches_below_one: float
    non_matches_above_one: float
    matches_below_hundredth: float
    non_matches_above_hundred: float
    highest_non_match_log10_lr: float
    lowest_match_log10_lr: float

    def as_json(self) -> dict[str, float | int]:
        """Return the rates as a JSON-ready dict (field names as keys)."""
        return dict(self.__dict__)


def misleading_evidence(
    log10_lrs: Sequence[float] | np.ndarray, same_firearm: Sequence[bool] | np.ndarray
) -> MisleadingEvidence:
    """Return the rates of misleading evidence of a set of LRs (Meuwly et al. 2017)."""
    matches, non_matches = split_by_truth(log10_lrs, same_firearm)
    return MisleadingEvidence(
        known_matches=int(matches.size),
        known_non_matches=int(non_matches.size),
        matches_below_one=float((matches < 0).mean()),
        non_matches_above_one=float((non_matches > 0).mean()),
        matches_below_hundredth=float((matches < -2).mean()),
        non_matches_above_hundred=float((non_matches > 2).mean()),
        highest_non_match_log10_lr=float(non_matches.max()),
        lowest_match_log10_lr=float(matches.min()),
    )


def empirical_cross_entropy(
    log10_lrs: Sequence[float] | np.ndarray,
    same_firearm: Sequence[bool] | np.ndarray,
    prior_log10_odds: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """Return the empirical cross-entropy (bits) at each prior log10 odds (Ramos 2013).

    ECE(O) = P(Hp) mean_Hp log2(1 + 1/(LR O)) + P(Hd) mean_Hd log2(1 + LR O), with
    O = P(Hp)/P(Hd). At prior odds 1 it equals Cllr. The ECE of LR = 1 everywhere (the neutral
    reference) is the entropy of the prior alone.
    """
    matches, non_matches = split_by_truth(log10_lrs, same_firearm)
    odds = np.asarray(prior_log10_odds, dtype=np.float64)[:, None]
    prior_match = 1.0 / (1.0 + 10.0 ** (-odds[:, 0]))
    match_cost = _log2_one_plus_ten_to(-(matches[None, :] + odds)).mean(axis=1)
    non_match_cost = _log2_one_plus_ten_to(non_matches[None, :] + odds).mean(axis=1)
    return np.asarray(prior_match * match_cost + (1.0 - prior_match) * non_match_cost)


def tippett_curves(
    log10_lrs: Sequence[float] | np.ndarray,
    same_firearm: Sequence[bool] | np.ndarray,
    thresholds: Sequence[float] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the proportions of known matches and of known non-matches with log10 LR > each
    threshold (the two curves of a Tippett plot)."""
    matches, non_matches = split_by_truth(log10_lrs, same_firearm)
    levels = np.asarray(thresholds, dtype=np.float64)
    above_match = (matches[None, :] > levels[:, None]).mean(axis=1)
    above_non_match = (non_matches[None, :] > levels[:, None]).mean(axis=1)
    return above_match, above_non_match

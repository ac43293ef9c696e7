"""The ENFSI verbal equivalent of a likelihood ratio, and the sentence used when there is none.

The scale is the one of the ENFSI Guideline for Evaluative Reporting in Forensic Science (2015,
table on p. 17): a likelihood ratio of 1 to 10 gives *weak or limited* support, 10 to 100
*moderate*, 100 to 1,000 *moderately strong*, 1,000 to 10,000 *strong*, 10,000 to 1,000,000
*very strong* and above 1,000,000 *extremely strong* support to the first proposition; the same
words below 1 (1/LR) give support to the alternative. A boundary belongs to the band above it
(an LR of exactly 10 is *moderate*), as the guideline's "10-100" band starts at 10.

The two propositions are worded for the engine's question about two marks: one firearm fired
both, or different firearms fired them. The words report the strength of the findings; they are
not a conclusion about the propositions (that needs prior odds, which are the court's).

References
----------
.. [1] ENFSI, "ENFSI Guideline for Evaluative Reporting in Forensic Science", European Network
   of Forensic Science Institutes, Strengthening the Evaluation of Forensic Results across
   Europe (STEOFRAE), 2015.
"""

from __future__ import annotations

import math

#: what ``verbal`` says when a kind or modality has no calibration on casework-like data
NOT_CALIBRATED = "not calibrated on casework-like data"

#: (upper bound of |log10 LR|, exclusive; words), in increasing order
ENFSI_BANDS: tuple[tuple[float, str], ...] = (
    (1.0, "weak or limited support"),
    (2.0, "moderate support"),
    (3.0, "moderately strong support"),
    (4.0, "strong support"),
    (6.0, "very strong support"),
    (math.inf, "extremely strong support"),
)

SAME_FIREARM = "the proposition that one firearm fired both"
DIFFERENT_FIREARMS = "the proposition that different firearms fired them"
NEITHER = "the findings support neither proposition more than the other"


def enfsi_band(log10_lr: float) -> str:
    """Return the strength words of ``|log10_lr|`` on the ENFSI scale (``"moderate support"``)."""
    if math.isnan(log10_lr):
        raise ValueError("log10_lr is NaN; a likelihood ratio must be a number to be put in words.")
    magnitude = abs(log10_lr)
    for upper, words in ENFSI_BANDS:
        if magnitude < upper:
            return words
    return ENFSI_BANDS[-1][1]


def verbal_equivalent(log10_lr: float | None) -> str:
    """Return the ENFSI verbal equivalent of a log10 likelihood ratio, or why there is none.

    Parameters
    ----------
    log10_lr
        log10 of the likelihood ratio of "one firearm fired both" against "different firearms
        fired them"; None when the kind or modality is not calibrated on casework-like data.

    Returns
    -------
    str
        For example ``"moderate support for the proposition that one firearm fired both"``,
        ``"weak or limited support for the proposition that different firearms fired them"``,
        or :data:`NOT_CALIBRATED`.
    """
    if log10_lr is None:
        return NOT_CALIBRATED
    if log10_lr == 0.0:
        return NEITHER
    proposition = SAME_FIREARM if log10_lr > 0 else DIFFERENT_FIREARMS
    return f"{enfsi_band(log10_lr)} for {proposition}"

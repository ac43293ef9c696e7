"""Likelihood ratios for comparison scores: calibration, its validation, and the ENFSI words.

The engine's score says how similar two marks are; a likelihood ratio says how much more
probable that score is if one firearm fired both than if different firearms fired them, as
learnt from real known-match and known-non-match pairs. This package fits that calibration
(:mod:`.fit`: logistic regression or bounded PAV, ELUB bounds, an interval by bootstrap over
firearms), keeps it as a frozen, versioned JSON file (:mod:`.calibration`, :mod:`.registry`),
measures it as the field does (:mod:`.metrics`: Cllr, Cllr-min, misleading evidence, ECE;
:mod:`.plots`: Tippett and ECE plots) and puts it in words (:mod:`.verbal`: ENFSI 2015).
Kinds and modalities without enough real known pairs get no number, and say so.
"""

from ballistics.calibration.calibration import (
    Calibration,
    LogLikelihoodRatio,
    Strength,
    not_calibrated,
)
from ballistics.calibration.fit import (
    MINIMUM,
    Minimum,
    cross_validated_log10_lrs,
    fit_bounded,
    fit_calibration,
)
from ballistics.calibration.groups import PairScores, firearm_bootstrap, firearm_folds
from ballistics.calibration.metrics import (
    cllr,
    cllr_min,
    empirical_cross_entropy,
    misleading_evidence,
)
from ballistics.calibration.registry import calibration_for, pair_modality
from ballistics.calibration.verbal import NOT_CALIBRATED, verbal_equivalent

__all__ = [
    "MINIMUM",
    "NOT_CALIBRATED",
    "Calibration",
    "LogLikelihoodRatio",
    "Minimum",
    "PairScores",
    "Strength",
    "calibration_for",
    "cllr",
    "cllr_min",
    "cross_validated_log10_lrs",
    "empirical_cross_entropy",
    "firearm_bootstrap",
    "firearm_folds",
    "fit_bounded",
    "fit_calibration",
    "misleading_evidence",
    "not_calibrated",
    "pair_modality",
    "verbal_equivalent",
]

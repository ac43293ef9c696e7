"""Score-to-likelihood-ratio curves fitted on known-match and known-non-match scores.

Two well-known methods, both from scikit-learn, both fitted with the two classes weighted
equally so that the fitted posterior odds *are* the likelihood ratio (the proportion of known
matches in the calibration data is not a prior anyone should inherit):

* ``logistic``: logistic-regression calibration, ln LR = intercept + slope x score (Brümmer
  2004; Morrison 2013). Smooth and monotone; it extrapolates, so it is always bounded.
* ``isotonic``: pool-adjacent-violators (isotonic regression) of the truth on the score, the
  monotone step function that best fits the data (Zadrozny and Elkan 2002; van Leeuwen and
  Brümmer 2013). It gives LRs of 0 and infinity where the classes do not overlap, so it is
  only usable bounded.

Bounds come from :mod:`ballistics.calibration.bounds` (ELUB); this module fits the raw curve.

References
----------
.. [1] N. Brümmer, "Measuring, refining and calibrating speaker and language information
   extracted from speech", PhD thesis, Stellenbosch University (2010), ch. 7 (logistic
   regression calibration).
.. [2] G. S. Morrison, "Tutorial on logistic-regression calibration and fusion: converting a
   score to a likelihood ratio", Australian Journal of Forensic Sciences 45(2), 173-197 (2013).
.. [3] B. Zadrozny, C. Elkan, "Transforming classifier scores into accurate multiclass
   probability estimates", KDD 2002 (isotonic calibration).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

LN10 = math.log(10.0)
METHODS = ("logistic", "isotonic")
#: inverse L2 strength of the logistic fit (scikit-learn's C), with the classes' weights summing
#: to the number of pairs: weak enough that a few hundred pairs decide the slope, strong enough
#: that perfectly separated classes still give a finite one (the ELUB bounds then decide).
LOGISTIC_C = 1.0


@dataclass(frozen=True)
class LogisticCurve:
    """ln LR = intercept + slope x score."""

    intercept: float
    slope: float
    method: str = "logistic"

    def log10_lr(self, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        """Return the unbounded log10 LR at each score."""
        values = np.asarray(scores, dtype=np.float64)
        return np.asarray((self.intercept + self.slope * values) / LN10)

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "intercept": self.intercept, "slope": self.slope}


@dataclass(frozen=True)
class IsotonicCurve:
    """A monotone posterior (equal class weights) given at knots, linear between, flat beyond."""

    scores: tuple[float, ...]
    probabilities: tuple[float, ...]
    method: str = "isotonic"

    def log10_lr(self, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        """Return the unbounded log10 LR at each score (±inf where the posterior is 0 or 1)."""
        posterior = np.interp(np.asarray(scores, dtype=np.float64), self.scores, self.probabilities)
        with np.errstate(divide="ignore"):
            return np.asarray(np.log10(posterior) - np.log10(1.0 - posterior))

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "scores": list(self.scores),
            "probabilities": list(self.probabilities),
        }


Curve = LogisticCurve | IsotonicCurve


def curve_from_json(data: Mapping[str, Any]) -> Curve:
    """Rebuild a curve from :meth:`as_json`'s dict."""
    method = data.get("method")
    if method == "logistic":
        return LogisticCurve(float(data["intercept"]), float(data["slope"]))
    if method == "isotonic":
        scores = tuple(float(value) for value in data["scores"])
        probabilities = tuple(float(value) for value in data["probabilities"])
        if len(scores) != len(probabilities) or not scores:
            raise ValueError("an isotonic curve needs as many probabilities as scores, at least 1.")
        return IsotonicCurve(scores, probabilities)
    raise ValueError(f"unknown calibration method {method!r}; expected one of {METHODS}.")


def balanced_weights(same_firearm: np.ndarray) -> np.ndarray:
    """Return weights giving each class half of the total (the number of pairs)."""
    matches = int(same_firearm.sum())
    non_matches = same_firearm.size - matches
    if matches == 0 or non_matches == 0:
        raise ValueError("need known matches and known non-matches to fit a calibration.")
    return np.where(
        same_firearm, same_firearm.size / (2.0 * matches), same_firearm.size / (2.0 * non_matches)
    )


def fit_curve(
    scores: Sequence[float] | np.ndarray,
    same_firearm: Sequence[bool] | np.ndarray,
    *,
    method: str = "logistic",
) -> Curve:
    """Fit a score-to-LR curve by ``method`` (``"logistic"`` or ``"isotonic"``).

    Parameters
    ----------
    scores
        One score per pair, higher meaning more similar.
    same_firearm
        The truth of each pair.
    method
        ``"logistic"``: logistic regression (scikit-learn, L2 with C = :data:`LOGISTIC_C`);
        ``"isotonic"``: pool-adjacent-violators (scikit-learn's IsotonicRegression).

    Returns
    -------
    LogisticCurve or IsotonicCurve
        Unbounded; bound it with :func:`ballistics.calibration.bounds.elub_bounds`.
    """
    values = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(same_firearm, dtype=bool)
    if values.shape != truth.shape or values.ndim != 1:
        raise ValueError(
            f"scores and same_firearm must be 1-D and of one length, got {values.shape} and "
            f"{truth.shape}."
        )
    weights = balanced_weights(truth)
    if method == "logistic":
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

        model = LogisticRegression(C=LOGISTIC_C).fit(values[:, None], truth, sample_weight=weights)
        return LogisticCurve(float(model.intercept_[0]), float(model.coef_[0, 0]))
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression  # type: ignore[import-untyped]

        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            values, truth.astype(np.float64), sample_weight=weights
        )
        return IsotonicCurve(
            tuple(float(value) for value in model.X_thresholds_),
            tuple(float(value) for value in model.y_thresholds_),
        )
    raise ValueError(f"unknown calibration method {method!r}; use one of {METHODS}.")

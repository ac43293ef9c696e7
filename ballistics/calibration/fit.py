"""Fit a bounded calibration, its bootstrap-over-firearms interval, and validate it by firearm.

:func:`fit_calibration` is what a calibration file is made with: a curve
(:mod:`~ballistics.calibration.curves`), ELUB bounds (:mod:`~ballistics.calibration.bounds`)
and a percentile interval from refitting both on bootstrap samples drawn over firearms
(:func:`~ballistics.calibration.groups.firearm_bootstrap`). It refuses (method ``"none"``)
when the data are too few or synthetic: see :data:`MINIMUM`.

:func:`cross_validated_log10_lrs` gives every pair a log10 LR from a calibration that never saw
a pair of its firearms, for Cllr and the plots on data not used to fit.

References
----------
.. [1] B. Efron, R. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall (1993),
   ch. 13 (percentile intervals); resampling whole clusters (here firearms), not pairs, as
   pairs sharing a firearm are dependent: A. C. Davison, D. V. Hinkley, *Bootstrap Methods and
   their Application*, Cambridge (1997), sec. 3.8.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ballistics.calibration.bounds import elub_bounds
from ballistics.calibration.calibration import Calibration, IntervalGrid, not_calibrated
from ballistics.calibration.curves import Curve, fit_curve
from ballistics.calibration.features import DEFAULT_FEATURE, feature_named
from ballistics.calibration.groups import PairScores, firearm_bootstrap, firearm_folds


@dataclass(frozen=True)
class Minimum:
    """The least real calibration data a calibration gives a number on.

    Below 10 known matches or 4 firearms with known matches, a bootstrap over firearms has too
    few clusters to say how uncertain the curve is, and one firearm's breech face decides the
    curve. Below 50 known non-matches, ELUB could never let an LR pass log10(51) = 1.7 (moderate
    support), whatever the scores: the data cannot say anything strong, and the interval of the
    non-match side rests on a handful of pairs.
    """

    known_matches: int = 10
    known_non_matches: int = 50
    firearms_with_known_matches: int = 4


MINIMUM = Minimum()


@dataclass(frozen=True)
class BoundedCurve:
    """A fitted curve with its ELUB bounds."""

    curve: Curve
    lower: float
    upper: float

    def log10_lr(self, scores: np.ndarray) -> np.ndarray:
        return np.clip(self.curve.log10_lr(scores), self.lower, self.upper)


def fit_bounded(pairs: PairScores, *, method: str = "logistic") -> BoundedCurve:
    """Fit a curve on ``pairs`` and bound it by ELUB on its own calibration pairs."""
    curve = fit_curve(pairs.scores, pairs.same_firearm, method=method)
    lower, upper = elub_bounds(curve.log10_lr(pairs.scores), pairs.same_firearm)
    return BoundedCurve(curve, lower, upper)


def data_sha256(pairs: PairScores) -> str:
    """SHA-256 of the calibration pairs (score, firearm a, firearm b), in a canonical order."""
    rows = sorted(
        zip(
            pairs.scores.tolist(),
            pairs.firearm_a.tolist(),
            pairs.firearm_b.tolist(),
            strict=True,
        )
    )
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode("utf-8")).hexdigest()


def interval_scores(pairs: PairScores, *, points: int = 241) -> np.ndarray:
    """Scores at which the interval is stored: the data's range widened by half on each side."""
    lowest, highest = float(pairs.scores.min()), float(pairs.scores.max())
    margin = 0.5 * max(highest - lowest, 1.0)
    return np.linspace(lowest - margin, highest + margin, points)


def bootstrap_interval(
    pairs: PairScores,
    *,
    method: str,
    replicates: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> IntervalGrid:
    """Percentile interval of the bounded log10 LR from refits on firearm bootstrap samples.

    A sample without both known matches and known non-matches cannot be fitted and is drawn
    again (at most ``10 x replicates`` draws in all).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    random = np.random.default_rng(seed)
    grid = interval_scores(pairs)
    curves = []
    for _ in range(10 * replicates):
        sample = pairs.subset(firearm_bootstrap(pairs, random))
        if sample.known_matches == 0 or sample.known_non_matches == 0:
            continue
        curves.append(fit_bounded(sample, method=method).log10_lr(grid))
        if len(curves) == replicates:
            break
    if len(curves) < replicates:
        raise ValueError(
            f"only {len(curves)} of {replicates} bootstrap samples had both known matches and "
            "known non-matches; the data need known matches from more firearms."
        )
    stacked = np.vstack(curves)
    tail = 100.0 * (1.0 - level) / 2.0
    return IntervalGrid(
        scores=tuple(grid.tolist()),
        low=tuple(np.percentile(stacked, tail, axis=0).tolist()),
        high=tuple(np.percentile(stacked, 100.0 - tail, axis=0).tolist()),
        level=level,
        replicates=replicates,
    )


def refusal_reason(pairs: PairScores, *, synthetic: bool, minimum: Minimum = MINIMUM) -> str:
    """Return why these pairs may not calibrate casework (empty when they may)."""
    if synthetic:
        return "synthetic data only: no number is given from synthetic data as evidence"
    if (
        pairs.known_matches < minimum.known_matches
        or pairs.known_non_matches < minimum.known_non_matches
        or pairs.firearms_with_known_matches < minimum.firearms_with_known_matches
    ):
        return (
            f"too few real known pairs: {pairs.known_matches} known matches from "
            f"{pairs.firearms_with_known_matches} firearms and {pairs.known_non_matches} known "
            f"non-matches, the minimum being {minimum.known_matches} from "
            f"{minimum.firearms_with_known_matches} firearms and {minimum.known_non_matches}"
        )
    return ""


def fit_calibration(
    pairs: PairScores,
    *,
    kind: str,
    modality: str,
    dataset: str,
    method: str = "logistic",
    synthetic: bool = False,
    replicates: int = 200,
    seed: int = 0,
    sources: Mapping[str, Any] | None = None,
    minimum: Minimum = MINIMUM,
    feature: str = DEFAULT_FEATURE,
) -> Calibration:
    """Fit the calibration of one kind and modality, or the refusal when the data cannot.

    Parameters
    ----------
    pairs
        Real known-match and known-non-match pairs, with their firearms; their ``scores`` are
        the values of ``feature``.
    kind, modality
        What the calibration is for (``"cartridge_case"``, ``"topography"``).
    dataset
        The calibration data in words, recorded in the file.
    method
        ``"logistic"`` or ``"isotonic"`` (:func:`ballistics.calibration.curves.fit_curve`).
    synthetic
        True when the pairs come from synthetic data: the calibration then refuses a number.
    replicates, seed
        Bootstrap samples over firearms for the interval, and their seed.
    sources
        Provenance recorded as is (file hashes, engine settings).
    minimum
        The least data that gives a number (:data:`MINIMUM`).
    feature
        What the pairs' values are and what the calibration will map
        (:mod:`ballistics.calibration.features`); recorded in the file.
    """
    feature_named(feature)
    reason = refusal_reason(pairs, synthetic=synthetic, minimum=minimum)
    if reason:
        refused = not_calibrated(kind, modality, reason=reason, dataset=dataset)
        return Calibration(
            **{
                **refused.__dict__,
                "data_sha256": data_sha256(pairs) if len(pairs) else "",
                "known_matches": pairs.known_matches,
                "known_non_matches": pairs.known_non_matches,
                "firearms": len(pairs.firearms),
                "sources": dict(sources or {}),
                "feature": feature,
            }
        )
    bounded = fit_bounded(pairs, method=method)
    return Calibration(
        kind=kind,
        modality=modality,
        method=method,
        dataset=dataset,
        data_sha256=data_sha256(pairs),
        known_matches=pairs.known_matches,
        known_non_matches=pairs.known_non_matches,
        firearms=len(pairs.firearms),
        curve=bounded.curve,
        lower=bounded.lower,
        upper=bounded.upper,
        interval=bootstrap_interval(pairs, method=method, replicates=replicates, seed=seed),
        sources=dict(sources or {}),
        feature=feature,
    )


def cross_validated_log10_lrs(
    pairs: PairScores, *, method: str = "logistic", folds: int | None = None, seed: int = 0
) -> np.ndarray:
    """Return each pair's bounded log10 LR from a calibration fitted without its firearms.

    Folds are by firearm (:func:`~ballistics.calibration.groups.firearm_folds`; None:
    leave one firearm out). A fold whose training pairs lack a class is an error: the data
    need more firearms with known matches.
    """
    result = np.full(len(pairs), np.nan)
    for training, test in firearm_folds(pairs, folds=folds, seed=seed):
        if test.size == 0:
            continue
        bounded = fit_bounded(pairs.subset(training), method=method)
        result[test] = bounded.log10_lr(pairs.scores[test])
    return result

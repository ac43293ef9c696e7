"""A fitted, frozen, versioned calibration of one kind and modality, saved as JSON (never pickle).

A :class:`Calibration` turns a comparison's feature (its score, unless it names another:
:mod:`ballistics.calibration.features`) into log10 LR with an interval and the ENFSI words. It
records the feature it maps, the method, the data set it was fitted on (name and SHA-256 of its
pairs), its bounds and its parameters, and a version that changes whenever any of them does, so
that a stored result can say which calibration gave its number and be recomputed when that
changes.

A calibration with ``method == "none"`` gives no number: its kind or modality has too few real
known pairs (see :mod:`ballistics.calibration.fit` for the minimum), and ``verbal`` says so.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ballistics.calibration.curves import Curve, curve_from_json
from ballistics.calibration.features import DEFAULT_FEATURE, feature_named
from ballistics.calibration.verbal import NOT_CALIBRATED, verbal_equivalent

#: the layout of the JSON file; a reader refuses files of another format
FORMAT = 1


class LogLikelihoodRatio(NamedTuple):
    """log10 LR and its interval (all None when not calibrated)."""

    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Strength:
    """What a comparison result carries beside ``lead``: the strength of the evidence."""

    log10_lr: float | None
    lr_interval: tuple[float, float] | None
    verbal: str
    calibration: str

    def as_json(self) -> dict[str, Any]:
        """The result's JSON fields (``log10_lr``, ``lr_interval``, ``verbal``, ``calibration``)."""
        return {
            "log10_lr": self.log10_lr,
            "lr_interval": list(self.lr_interval) if self.lr_interval is not None else None,
            "verbal": self.verbal,
            "calibration": self.calibration,
        }


@dataclass(frozen=True)
class IntervalGrid:
    """Bootstrap percentiles of log10 LR at a grid of scores, linear between, flat beyond."""

    scores: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    level: float
    replicates: int

    def at(self, score: float) -> tuple[float, float]:
        return (
            float(np.interp(score, self.scores, self.low)),
            float(np.interp(score, self.scores, self.high)),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "scores": list(self.scores),
            "low": list(self.low),
            "high": list(self.high),
            "level": self.level,
            "replicates": self.replicates,
        }


@dataclass(frozen=True)
class Calibration:
    """A score-to-LR calibration of one kind and modality (or the refusal to give one).

    Attributes
    ----------
    kind, modality
        What it calibrates, e.g. ``"cartridge_case"`` and ``"topography"``.
    method
        ``"logistic"``, ``"isotonic"`` or ``"none"`` (not calibrated: no number is given).
    dataset
        The calibration data, in words (``"fadul + dfsc/aces_processed"``).
    data_sha256
        SHA-256 of the calibration pairs (scores, truth, firearms), canonical JSON.
    known_matches, known_non_matches, firearms
        How much data it rests on.
    curve
        The fitted curve (None when not calibrated).
    lower, upper
        ELUB bounds on log10 LR; every value and interval end is kept within them.
    interval
        Bootstrap-over-firearms percentiles (None when not calibrated).
    reason
        Why there is no number (only when ``method == "none"``).
    sources
        Free provenance (file hashes, engine settings) recorded with the calibration.
    feature
        What the curve maps (:mod:`ballistics.calibration.features`): ``"score"``, or a number
        computed from other fields of the comparison (``"cmc_fraction"``, ...). The ``lead``
        decision never depends on it.
    """

    kind: str
    modality: str
    method: str
    dataset: str
    data_sha256: str
    known_matches: int
    known_non_matches: int
    firearms: int
    curve: Curve | None = None
    lower: float = 0.0
    upper: float = 0.0
    interval: IntervalGrid | None = None
    reason: str = ""
    sources: Mapping[str, Any] = field(default_factory=dict)
    feature: str = DEFAULT_FEATURE

    def __post_init__(self) -> None:
        feature_named(self.feature)  # an unknown feature is refused when made or read

    @property
    def calibrated(self) -> bool:
        return self.method != "none" and self.curve is not None

    @property
    def version(self) -> str:
        """``"<kind>/<modality>/<method>/<12 hex digits>"``: changes when anything fitted does."""
        content = json.dumps(self._content(), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]
        return f"{self.kind}/{self.modality}/{self.method}/{digest}"

    def log10_lr(self, score: float) -> LogLikelihoodRatio:
        """Return (log10 LR, low, high) at ``score`` (the value of :attr:`feature`), all within
        the bounds; Nones if refused."""
        if not self.calibrated or self.curve is None:
            return LogLikelihoodRatio(None, None, None)
        if not math.isfinite(score):
            raise ValueError(f"score must be a finite number, got {score!r}.")
        raw = float(self.curve.log10_lr(np.array([score]))[0])
        value = min(max(raw, self.lower), self.upper)
        low, high = self.interval.at(score) if self.interval is not None else (value, value)
        # percentiles of a bootstrap need not contain the full-data fit: widen to contain it
        low = min(max(low, self.lower), value)
        high = max(min(high, self.upper), value)
        return LogLikelihoodRatio(value, low, high)

    def strength(self, score: float) -> Strength:
        """Return what a result carries: log10 LR, its interval, the ENFSI words, the version."""
        value, low, high = self.log10_lr(score)
        if value is None or low is None or high is None:
            return Strength(None, None, NOT_CALIBRATED, self.version)
        return Strength(
            round(value, 3), (round(low, 3), round(high, 3)), verbal_equivalent(value), self.version
        )

    def _content(self) -> dict[str, Any]:
        # the score is what files written before features map: leaving it out of the content
        # keeps their versions (and the versions stored results name) as they were
        feature = {} if self.feature == DEFAULT_FEATURE else {"feature": self.feature}
        return {
            "format": FORMAT,
            "kind": self.kind,
            "modality": self.modality,
            "method": self.method,
            "dataset": self.dataset,
            "data_sha256": self.data_sha256,
            "known_matches": self.known_matches,
            "known_non_matches": self.known_non_matches,
            "firearms": self.firearms,
            "curve": self.curve.as_json() if self.curve is not None else None,
            "lower": self.lower,
            "upper": self.upper,
            "interval": self.interval.as_json() if self.interval is not None else None,
            "reason": self.reason,
            "sources": dict(self.sources),
            **feature,
        }

    def as_json(self) -> dict[str, Any]:
        """Everything, with the version and the feature, as a JSON-ready dict."""
        return {"version": self.version, **self._content(), "feature": self.feature}

    def save(self, path: Path) -> Path:
        """Write the calibration as JSON to ``path`` and return it."""
        path.write_text(json.dumps(self.as_json(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        """Rebuild a calibration from :meth:`as_json`'s dict, checking format and version."""
        if data.get("format") != FORMAT:
            raise ValueError(
                f"calibration format {data.get('format')!r} is not {FORMAT}; refit it with "
                "benchmarks/lr_validation.py."
            )
        interval = data.get("interval")
        calibration = cls(
            kind=str(data["kind"]),
            modality=str(data["modality"]),
            method=str(data["method"]),
            dataset=str(data["dataset"]),
            data_sha256=str(data["data_sha256"]),
            known_matches=int(data["known_matches"]),
            known_non_matches=int(data["known_non_matches"]),
            firearms=int(data["firearms"]),
            curve=curve_from_json(data["curve"]) if data.get("curve") else None,
            lower=float(data["lower"]),
            upper=float(data["upper"]),
            interval=IntervalGrid(
                scores=tuple(float(v) for v in interval["scores"]),
                low=tuple(float(v) for v in interval["low"]),
                high=tuple(float(v) for v in interval["high"]),
                level=float(interval["level"]),
                replicates=int(interval["replicates"]),
            )
            if interval
            else None,
            reason=str(data.get("reason", "")),
            sources=dict(data.get("sources", {})),
            feature=str(data.get("feature", DEFAULT_FEATURE)),
        )
        if "version" in data and data["version"] != calibration.version:
            raise ValueError(
                f"calibration file says version {data['version']!r} but its content is "
                f"{calibration.version!r}: it was edited by hand; refit it instead."
            )
        return calibration

    @classmethod
    def load(cls, path: Path) -> Calibration:
        """Read a calibration written by :meth:`save`."""
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def not_calibrated(kind: str, modality: str, *, reason: str, dataset: str = "") -> Calibration:
    """Return the calibration that refuses a number, with the reason recorded."""
    return Calibration(
        kind=kind,
        modality=modality,
        method="none",
        dataset=dataset,
        data_sha256="",
        known_matches=0,
        known_non_matches=0,
        firearms=0,
        reason=reason,
    )

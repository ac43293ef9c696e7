"""The result of comparing two items, as a frozen record that writes the JSON of the contract.

One record type per kind (:class:`CasingRecord`, :class:`BulletRecord`) says what its comparison
shows a reader (:meth:`~ComparisonRecord.summary_rows`, :meth:`~ComparisonRecord.table_cells`),
what a search answers with it and what a stored result keeps of it, so that the application
passes records along and never asks which kind it holds.

Every record carries, beside ``lead``, the strength of the evidence (CONTRACT.md "Words of a
result"): ``log10_lr``, ``lr_interval``, ``verbal`` and the ``calibration`` version, computed here
and only here (:func:`evidence_strength`) from the calibration of the pair's kind and modalities.
Stored results keep their score, not their LR: :func:`evidence_strength` is applied to the stored
score when they are read, so that they follow a change of calibration without a comparison being
run again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Self

import numpy as np

from ballistics.bullet.compare import BulletComparison, PreparedBullet, compare_lands
from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.calibration.calibration import Strength
from ballistics.calibration.features import (
    DEFAULT_FEATURE,
    feature_named,
    missing_fields_reason,
)
from ballistics.calibration.registry import calibration_for, pair_modality
from ballistics.casing.compare import CasingComparison
from ballistics.items.kinds import ItemKind

#: the name ``lead`` had before 2026-12 (CONTRACT.md "Words of a result"), kept in JSON for one
#: release so that lab scripts reading it keep working; remove after 0.2
DEPRECATED_LEAD_ALIAS = "same_source"


#: the strength of the evidence a result carries beside ``lead`` (CONTRACT.md "Words of a result")
STRENGTH_FIELDS = ("log10_lr", "lr_interval", "verbal", "calibration")
#: what ``verbal`` says of a calibrated pair whose comparison gave no score (not a number)
NO_SCORE = "the comparison gave no score"
#: the modality of every bullet land scan
TOPOGRAPHY = "topography"

#: fields of a comparison that a search answers beside the score (where the kind has them)
SEARCH_DETAILS = (
    *STRENGTH_FIELDS,
    "cmc_fraction",
    "valid_cells",
    "rotation_deg",
    "correlation",
    "phase",
    "land_count",
)
#: fields of a comparison kept with a stored result (null where the kind has none)
STORED_DETAILS = (
    "lead",
    "cmc_fraction",
    "valid_cells",
    "rotation_deg",
    "translation_um",
    "correlation",
    "firing_pin_correlation",
    "cmc_count_reverse",
    "valid_cells_reverse",
    "phase",
    "land_count",
    "compare_s",
)


@dataclass(frozen=True, eq=False)
class ComparisonRecord:
    """One comparison of two items of one kind.

    Parameters
    ----------
    kind
        The kind of both items.
    score
        Higher is more similar; comparable across pairs of one kind (None: not a number).
    lead
        The score reached the comparison's lead threshold.
    fields
        Every JSON field of the comparison, JSON-ready, in the order written (``score``,
        ``lead`` and the kind's own details: CMC counts and rotation, land scores and phase).
    compare_s, compare_cpu_s, elapsed_s
        Seconds of the comparison alone (wall clock, and CPU of the process that ran it) and
        of reading, preparing and comparing both items; None where not measured.
    """

    kind: ItemKind
    score: float | None
    lead: bool
    fields: Mapping[str, Any]
    compare_s: float | None = None
    compare_cpu_s: float | None = None
    elapsed_s: float | None = None

    #: headings of the columns this kind adds to a table of pairs (:meth:`table_cells`)
    table_headings: ClassVar[tuple[str, ...]] = ()

    def as_json(self) -> dict[str, Any]:
        """Return the record's JSON fields, with ``same_source`` (deprecated) beside ``lead``,
        then the seconds measured."""
        document = with_deprecated_alias(dict(self.fields))
        for name in ("compare_s", "compare_cpu_s", "elapsed_s"):
            seconds = getattr(self, name)
            if seconds is not None:
                document[name] = seconds
        return document

    def timed(
        self,
        *,
        compare_s: float | None = None,
        compare_cpu_s: float | None = None,
        elapsed_s: float | None = None,
    ) -> Self:
        """Return the record with the seconds given (those not given stay as they are)."""
        return replace(
            self,
            compare_s=self.compare_s if compare_s is None else compare_s,
            compare_cpu_s=self.compare_cpu_s if compare_cpu_s is None else compare_cpu_s,
            elapsed_s=self.elapsed_s if elapsed_s is None else elapsed_s,
        )

    def checked_score(self) -> float:
        """Return the score, refusing a comparison that gave none (NaN) with a ValueError."""
        if self.score is None:
            raise ValueError(f"the {self.kind} comparison gave no score (not a number)")
        return float(self.score)

    @property
    def strength(self) -> Strength:
        """The strength of the evidence the record carries (:func:`evidence_strength`)."""
        values = self.fields
        interval = values.get("lr_interval")
        return Strength(
            log10_lr=values.get("log10_lr"),
            lr_interval=None if interval is None else (interval[0], interval[1]),
            verbal=str(values.get("verbal", "")),
            calibration=str(values.get("calibration", "")),
        )

    @property
    def cmc_count(self) -> int | None:
        """Congruent matching cells (cartridge cases); None for kinds that count none."""
        count = self.fields.get("cmc_count")
        return None if count is None else int(count)

    def search_details(self) -> dict[str, Any]:
        """Return what a search answers of the comparison beside its score (JSON)."""
        document = self.as_json()
        return {name: document[name] for name in SEARCH_DETAILS if name in document}

    def stored_details(self) -> dict[str, Any]:
        """Return what a stored result keeps of the comparison (JSON; null where absent)."""
        document = self.as_json()
        return {name: document.get(name) for name in STORED_DETAILS}

    def summary_rows(self) -> list[tuple[str, str]]:
        """Return (label, text) lines telling a reader what the kind measured."""
        return []

    def table_cells(self) -> list[str]:
        """Return this record's cells under :attr:`table_headings`."""
        return []


@dataclass(frozen=True, eq=False)
class CasingRecord(ComparisonRecord):
    """A cartridge case comparison: congruent cells, registration, correlations."""

    table_headings: ClassVar[tuple[str, ...]] = ("CMC", "rotation °")

    def summary_rows(self) -> list[tuple[str, str]]:
        """Return the congruent cells, the registration and the correlations."""
        values = self.fields
        translation = values["translation_um"] or ["-", "-"]
        return [
            (
                "congruent cells",
                f"{values['cmc_count']} of {values['valid_cells']} valid cells "
                f"({format_number(values['cmc_fraction'], '.0%')})",
            ),
            (
                "registration",
                f"rotation {format_number(values['rotation_deg'], '.1f')}°, translation "
                f"(rows, columns) ({format_number(translation[0], '.0f')}, "
                f"{format_number(translation[1], '.0f')}) µm",
            ),
            (
                "correlation",
                f"breech face {format_number(values['correlation'], '.3f')}, firing pin "
                f"{format_number(values['firing_pin_correlation'], '.3f')}",
            ),
        ]

    def table_cells(self) -> list[str]:
        """Return the CMC count and the rotation."""
        return [str(self.fields["cmc_count"]), format_number(self.fields["rotation_deg"], ".1f")]


@dataclass(frozen=True, eq=False)
class BulletRecord(ComparisonRecord):
    """A bullet comparison: the phase and the aligned land pairs."""

    table_headings: ClassVar[tuple[str, ...]] = ("phase", "land pairs")

    def summary_rows(self) -> list[tuple[str, str]]:
        """Return the phase and each aligned land pair."""
        phase, land_count = self.fields["phase"], self.fields["land_count"]
        rows = [
            (
                "phase",
                f"{phase} of {land_count}: land 1 of A faces land {phase % land_count + 1} of B",
            )
        ]
        for position, pair in enumerate(self.fields["aligned_pairs"]):
            rows.append(
                (
                    "land pairs" if position == 0 else "",
                    f"A{pair['land_a']} - B{pair['land_b']}: score "
                    f"{format_number(pair['score'], '.2f')}, lag "
                    f"{format_number(pair['lag_um'], '.0f')} µm, "
                    f"{pair['consecutive_matching_striae']} consecutive matching striae",
                )
            )
        return rows

    def table_cells(self) -> list[str]:
        """Return the phase and the number of aligned land pairs."""
        return [
            f"{self.fields['phase']} of {self.fields['land_count']}",
            str(len(self.fields["aligned_pairs"])),
        ]


#: every record type, in the order their columns appear in a table of pairs
RECORD_TYPES: tuple[type[ComparisonRecord], ...] = (CasingRecord, BulletRecord)


def table_record_types(records: Iterable[ComparisonRecord]) -> list[type[ComparisonRecord]]:
    """Return the record types whose columns a table of ``records`` shows, in a fixed order;
    a table without records shows a cartridge case's columns, as it always did."""
    present = {type(record) for record in records}
    return [record_type for record_type in RECORD_TYPES if record_type in present] or [CasingRecord]


def format_number(value: Any, spec: str) -> str:
    """Return ``value`` formatted by ``spec``, or "-" when there is none."""
    return "-" if value is None else format(value, spec)


def with_deprecated_alias(record: dict[str, Any]) -> dict[str, Any]:
    """Return ``record`` with ``same_source`` beside ``lead`` (the deprecated alias)."""
    if "lead" in record:
        record[DEPRECATED_LEAD_ALIAS] = record["lead"]
    return record


def evidence_strength(
    kind: str,
    modalities: tuple[str | None, str | None],
    score: float | None,
    fields: Mapping[str, Any] | None = None,
) -> Strength:
    """Return the strength of the evidence of a comparison: log10 LR, its interval, the words.

    The one place a result's ``log10_lr``, ``lr_interval``, ``verbal`` and ``calibration`` are
    computed, for a comparison just run and for a stored result read back (cheap: a logistic
    curve), always with the calibration this installation ships. The calibration maps its
    feature (:mod:`ballistics.calibration.features`): the score, or a number computed from the
    comparison's other ``fields``.

    Parameters
    ----------
    kind
        The kind of both items (``"cartridge_case"``, ``"bullet"``).
    modalities
        The modality of each side (``"topography"``, ``"photograph"``); a photograph against a
        scan is calibrated, or refused, as a modality of its own; None (not recorded) refuses.
    score
        The comparison's score; None (not a number) gives no LR.
    fields
        The comparison's recorded fields, for a calibration whose feature is not the score
        (``valid_cells``, ``valid_cells_reverse``, ...). Missing there, or lacking a field the
        feature needs (a result stored before it was recorded), the LR is null and ``verbal``
        says which fields are missing.

    Returns
    -------
    Strength
        ``log10_lr`` None and ``verbal`` saying why when the kind or modality is not
        calibrated on casework-like data (:func:`ballistics.calibration.calibration_for`).
    """
    # a stored exhibit whose modality was never recorded is refused, not guessed
    first, second = (str(modality or "unknown") for modality in modalities)
    calibration = calibration_for(str(kind), pair_modality(first, second))
    if calibration.calibrated and (score is None or not math.isfinite(score)):
        return Strength(None, None, NO_SCORE, calibration.version)
    if not calibration.calibrated or calibration.feature == DEFAULT_FEATURE:
        return calibration.strength(0.0 if score is None else float(score))
    feature = feature_named(calibration.feature)
    values = {**(fields or {}), "score": score}
    missing = feature.missing(values)
    if missing:
        return Strength(None, None, missing_fields_reason(feature, missing), calibration.version)
    value = feature.value(values)
    if value is None:
        return Strength(None, None, NO_SCORE, calibration.version)
    return calibration.strength(value)


def strength_text(document: Mapping[str, Any]) -> str:
    """Return a result's strength in one line, e.g. ``"log10 LR 2.1 [1.7, 2.9] — moderately
    strong support for the proposition that one firearm fired both"`` (``document`` holds
    :data:`STRENGTH_FIELDS`); without an LR, ``"no LR — "`` and why."""
    value, interval = document.get("log10_lr"), document.get("lr_interval")
    verbal = document.get("verbal") or ""
    if value is None:
        return f"no LR — {verbal}"
    bounds = "" if not interval else f" [{interval[0]:.1f}, {interval[1]:.1f}]"
    return f"log10 LR {value:.1f}{bounds} — {verbal}"


def strength_line(kind: str, modalities: tuple[str | None, str | None]) -> Callable[[float], str]:
    """Return the function that writes a score's strength of evidence in one line
    (:func:`strength_text`), for the pictures that show the score."""

    def line(score: float) -> str:
        return strength_text(evidence_strength(kind, modalities, score).as_json())

    return line


def with_strength(
    values: Mapping[str, Any], kind: str, modalities: tuple[str, str]
) -> dict[str, Any]:
    """Return ``values`` (a record's fields) with the strength fields right after ``lead``."""
    strength = evidence_strength(kind, modalities, values.get("score"), values).as_json()
    document: dict[str, Any] = {}
    for name, value in values.items():
        if name in strength:
            continue
        document[name] = value
        if name == "lead":
            document.update(strength)
    if "lead" not in values:
        document.update(strength)
    return document


def casing_record(comparison: CasingComparison, *, modalities: tuple[str, str]) -> CasingRecord:
    """Return the record of a cartridge case comparison: every field but the per-cell details,
    with the strength of the evidence for the two sides' ``modalities``."""
    values = {
        spec.name: json_ready(getattr(comparison, spec.name))
        for spec in fields(comparison)
        if spec.name != "cells"
    }
    return CasingRecord(
        kind=ItemKind.CARTRIDGE_CASE,
        score=values["score"],
        lead=bool(comparison.lead),
        fields=with_strength(values, ItemKind.CARTRIDGE_CASE, modalities),
    )


def bullet_record(
    comparison: BulletComparison,
    first: PreparedBullet,
    second: PreparedBullet,
    *,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> BulletRecord:
    """Return the record of a bullet comparison, with the details of its land pairs.

    Parameters
    ----------
    comparison
        ``compare_bullets(first, second, config=config)``.
    first, second
        The two bullets compared, for their land numbers and the land pairs' details.
    config
        The options the comparison ran with.

    Returns
    -------
    BulletRecord
        Its fields: ``score``, ``lead``, the strength of the evidence (``log10_lr``,
        ``lr_interval``, ``verbal``, ``calibration``), ``kind`` (``"bullet"``), ``phase`` (land
        number ``k`` of the first bullet faces land ``(k - 1 + phase) % land_count + 1`` of the
        second), ``land_count``, ``land_numbers_a`` and ``land_numbers_b`` (the lands each bullet
        has), ``land_scores`` (``land_count`` x ``land_count`` lists indexed by land number - 1,
        first bullet's lands as rows; null where either land is missing), ``phase_scores`` (bullet
        score of every phase, null where no land pair exists) and ``aligned_pairs``: the best
        phase's land pairs, each ``{"land_a", "land_b"}`` (land numbers) with every field of
        :class:`~ballistics.bullet.LandComparison` (``score``, ``ccf``, ``lag_um``, ``overlap_um``,
        ``matching_striae``, ``non_matching_striae``, ``consecutive_matching_striae``,
        ``distance_um``).
    """
    # land numbers can run past land_count only when config.land_count is set below them
    size = max(comparison.land_count, *first.land_numbers, *second.land_numbers)
    land_scores: list[list[float | None]] = [[None] * size for _ in range(size)]
    for i, number_a in enumerate(first.land_numbers):
        for j, number_b in enumerate(second.land_numbers):
            land_scores[number_a - 1][number_b - 1] = json_ready(
                float(comparison.land_scores[i, j])
            )
    aligned_pairs = []
    for i, j, _ in comparison.aligned_pairs:
        # only the best phase's pairs are described: a few land comparisons, not the matrix
        lands = compare_lands(first.lands[i], second.lands[j], config=config)
        aligned_pairs.append(
            {
                "land_a": first.land_numbers[i],
                "land_b": second.land_numbers[j],
                **{spec.name: json_ready(getattr(lands, spec.name)) for spec in fields(lands)},
            }
        )
    score = json_ready(comparison.score)
    return BulletRecord(
        kind=ItemKind.BULLET,
        score=score,
        lead=bool(comparison.lead),
        fields={
            "score": score,
            "lead": bool(comparison.lead),
            # land scans are X3P topographies: a bullet pair has one modality
            **evidence_strength(ItemKind.BULLET, (TOPOGRAPHY, TOPOGRAPHY), score).as_json(),
            "kind": comparison.kind,
            "phase": int(comparison.phase),
            "land_count": int(comparison.land_count),
            "land_numbers_a": list(first.land_numbers),
            "land_numbers_b": list(second.land_numbers),
            "land_scores": land_scores,
            "phase_scores": [json_ready(float(score)) for score in comparison.phase_scores],
            "aligned_pairs": aligned_pairs,
        },
    )


def json_ready(value: Any) -> Any:
    """Convert numpy scalars and tuples to plain JSON values; NaN becomes None (null)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, tuple | list):
        return [json_ready(element) for element in value]
    return value

"""The result of comparing two items, as a frozen record that writes the JSON of the contract."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ballistics.bullet.compare import BulletComparison, PreparedBullet, compare_lands
from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.casing.compare import CasingComparison
from ballistics.items.kinds import ItemKind

#: the name ``lead`` had before 2026-12 (CONTRACT.md "Words of a result"), kept in JSON for one
#: release so that lab scripts reading it keep working; remove after 0.2
DEPRECATED_LEAD_ALIAS = "same_source"


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
    """

    kind: ItemKind
    score: float | None
    lead: bool
    fields: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        """Return the record's JSON fields, with ``same_source`` (deprecated) beside ``lead``."""
        return with_deprecated_alias(dict(self.fields))


def with_deprecated_alias(record: dict[str, Any]) -> dict[str, Any]:
    """Return ``record`` with ``same_source`` beside ``lead`` (the deprecated alias)."""
    if "lead" in record:
        record[DEPRECATED_LEAD_ALIAS] = record["lead"]
    return record


def casing_record(comparison: CasingComparison) -> ComparisonRecord:
    """Return the record of a cartridge case comparison: every field but the per-cell details."""
    values = {
        spec.name: json_ready(getattr(comparison, spec.name))
        for spec in fields(comparison)
        if spec.name != "cells"
    }
    return ComparisonRecord(
        kind=ItemKind.CARTRIDGE_CASE,
        score=values["score"],
        lead=bool(comparison.lead),
        fields=values,
    )


def bullet_record(
    comparison: BulletComparison,
    first: PreparedBullet,
    second: PreparedBullet,
    *,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> ComparisonRecord:
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
    ComparisonRecord
        Its fields: ``score``, ``lead``, ``kind`` (``"bullet"``), ``phase`` (land number ``k``
        of the first bullet faces land ``(k - 1 + phase) % land_count + 1`` of the second),
        ``land_count``, ``land_numbers_a`` and ``land_numbers_b`` (the lands each bullet has),
        ``land_scores`` (``land_count`` x ``land_count`` lists indexed by land number - 1,
        first bullet's lands as rows; null where either land is missing), ``phase_scores``
        (bullet score of every phase, null where no land pair exists) and ``aligned_pairs``:
        the best phase's land pairs, each ``{"land_a", "land_b"}`` (land numbers) with every
        field of :class:`~ballistics.bullet.LandComparison` (``score``, ``ccf``, ``lag_um``,
        ``overlap_um``, ``matching_striae``, ``non_matching_striae``,
        ``consecutive_matching_striae``, ``distance_um``).
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
    return ComparisonRecord(
        kind=ItemKind.BULLET,
        score=score,
        lead=bool(comparison.lead),
        fields={
            "score": score,
            "lead": bool(comparison.lead),
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

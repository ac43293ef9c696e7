"""What a calibration maps to a likelihood ratio: a feature computed from a comparison's fields.

The ``lead`` decision is the score against its threshold, always; a calibration may map another
number of the same comparison to log10 LR, if that number transfers better between scanners
and firearm populations. Each feature here is computed from the fields a cartridge case
comparison records (:class:`ballistics.casing.compare.CasingComparison`), names the fields it
needs, and is higher for more similar marks, so that a calibration stays monotone in it:

* ``score``: the comparison's score (the mean of the two directions' congruent-cell counts);
  every kind has it, and it is what a calibration without a ``feature`` maps;
* ``cmc_fraction``: congruent cells of both directions over valid cells of both directions, the
  count normalised by how much the two scans share;
* ``cmc_logit``: the log odds of that fraction, with half a cell added to both counts so that
  0 and all cells stay finite;
* ``correlation``: the correlation of the global registration.

Which one the shipped cartridge case calibration uses, and how it was chosen (by firearm
cross-validation within a set, never on the set it is reported on), is in the README's
"Strength of evidence" and ``benchmarks/lr_validation.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: the feature a calibration maps when it names none (every calibration file before features)
DEFAULT_FEATURE = "score"


@dataclass(frozen=True)
class Feature:
    """A number computed from a comparison's fields, higher for more similar marks."""

    name: str
    needs: tuple[str, ...]
    compute: Callable[[Mapping[str, Any]], float]
    description: str

    def missing(self, fields: Mapping[str, Any] | None) -> tuple[str, ...]:
        """The fields this feature needs that ``fields`` lacks (or holds as null)."""
        if fields is None:
            return self.needs
        return tuple(name for name in self.needs if fields.get(name) is None)

    def value(self, fields: Mapping[str, Any]) -> float | None:
        """The feature of one comparison, or None when a field it needs is missing or the
        result is not a finite number."""
        if self.missing(fields):
            return None
        result = float(self.compute(fields))
        return result if math.isfinite(result) else None


def _congruent_and_valid(fields: Mapping[str, Any]) -> tuple[float, float]:
    """Congruent cells and valid cells, both directions summed.

    The score is the mean of the two directions' counts, so the forward count is twice the score
    less the reverse count.
    """
    congruent = 2.0 * float(fields["score"])
    valid = float(fields["valid_cells"]) + float(fields["valid_cells_reverse"])
    return congruent, valid


def _cmc_fraction(fields: Mapping[str, Any]) -> float:
    congruent, valid = _congruent_and_valid(fields)
    return congruent / valid if valid > 0 else math.nan


def _cmc_logit(fields: Mapping[str, Any]) -> float:
    congruent, valid = _congruent_and_valid(fields)
    if valid <= 0:
        return math.nan
    return math.log((congruent + 0.5) / (max(valid - congruent, 0.0) + 0.5))


CELL_FIELDS = ("score", "valid_cells", "valid_cells_reverse")

FEATURES: dict[str, Feature] = {
    feature.name: feature
    for feature in (
        Feature("score", ("score",), lambda fields: float(fields["score"]), "the score"),
        Feature(
            "cmc_fraction",
            CELL_FIELDS,
            _cmc_fraction,
            "congruent over valid cells, both directions",
        ),
        Feature(
            "cmc_logit",
            CELL_FIELDS,
            _cmc_logit,
            "log odds of congruent over valid cells, both directions",
        ),
        Feature(
            "correlation",
            ("correlation",),
            lambda fields: float(fields["correlation"]),
            "correlation of the global registration",
        ),
    )
}


def feature_named(name: str) -> Feature:
    """Return the feature called ``name``; a ValueError names the known ones."""
    try:
        return FEATURES[name]
    except KeyError:
        raise ValueError(
            f"unknown calibration feature {name!r}; known: {sorted(FEATURES)}."
        ) from None


def missing_fields_reason(feature: Feature, missing: tuple[str, ...]) -> str:
    """What ``verbal`` says when a result lacks the fields its calibration's feature needs."""
    return (
        f"not computed: the calibration maps {feature.description} ({feature.name}), and this "
        f"result does not record {', '.join(missing)}; compare the pair again (recorrelate)"
    )

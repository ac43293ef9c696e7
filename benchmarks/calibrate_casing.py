"""Calibrate the casing ``lead`` thresholds on known non-matches.

Reads the per-pair scores that ``casing_accuracy.py`` recorded and, for each modality, finds
the lowest score threshold whose false-positive rate on known non-matches is at most the target
(1 in 1,000 by default), by two rules, and takes the stricter:

* parametric: the score is the mean of two congruent-cell counts, so twice the score is a count.
  Known non-match counts are over-dispersed (pairs differ in how much data they share), so a
  negative binomial is fitted to them by the method of moments, and the threshold is the lowest
  half-integer score whose upper tail probability is at most the target. This reaches past the
  largest observed value, which an empirical quantile cannot do with fewer than 1,000 pairs.
* empirical: above every observed known non-match (the largest plus half a cell).

The engine's threshold is the stricter of these and a floor of 6 congruent cells, the
identification criterion NIST published with the CMC method [2]_: with a few hundred real
known non-matches, all from two sets, a fitted tail is an estimate, and a lower threshold than
the published one would have to be justified by more data than there is here.

Which pairs calibrate what (the only known non-matches at hand):

* topography: every known non-match of the real 3D sets (Fadul: 10 consecutively made slides;
  DFSC aces_processed);
* photograph: there is no real 2D known non-match (NBIDE holds one known-match pair), so the
  synthetic photographs' non-matches from *different production runs* are used. Consecutively
  made synthetic pistols share 40 % of their breech-face marks by construction, far more than
  the real consecutively made Fadul slides show in 3D, and are reported apart, not used.

    python benchmarks/calibrate_casing.py [--record benchmarks/results/casing_accuracy.json]

References
----------
.. [1] J. Song, T. V. Vorburger, W. Chu et al., "Estimating error rates for firearm evidence
   identifications in forensic science", Forensic Science International 284, 15-32 (2018).
   (CMC counts of known non-matches modelled as counts with a fitted distribution.)
.. [2] J. Song, "Proposed NIST ballistics identification system (NBIS) based on 3D topography
   measurements on correlation cells", AFTE Journal 45(2), 184-194 (2013).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS_DIR, format_table, write_record

#: dataset -> (modality, relations of its pairs that count as calibration non-matches)
CALIBRATION_SETS = {
    "fadul": ("topography", {"unrelated"}),
    "dfsc": ("topography", {"unrelated"}),
    "synthetic-photograph": ("photograph", {"same_brand", "unrelated"}),
}


def negative_binomial_threshold(counts: np.ndarray, *, false_positive_rate: float) -> float:
    """Lowest count ``t`` with P(count >= t) <= rate under a moment-fitted negative binomial.

    Falls back to a Poisson fit when the counts are not over-dispersed.
    """
    mean = float(np.mean(counts))
    variance = float(np.var(counts, ddof=1)) if counts.size > 1 else mean
    if mean <= 0:
        return 1.0
    if variance > mean:
        # scipy's nbinom(n, p): mean n (1 - p) / p, variance n (1 - p) / p^2
        success = mean / variance
        size = mean * success / (1.0 - success)
        distribution = stats.nbinom(size, success)
    else:
        distribution = stats.poisson(mean)
    threshold = math.ceil(mean)
    while distribution.sf(threshold - 1) > false_positive_rate:
        threshold += 1
    return float(threshold)


#: NIST's published CMC identification criterion (Song 2013): the threshold never goes below it.
PUBLISHED_FLOOR = 6.0


def calibrate(
    scores: Sequence[float], *, false_positive_rate: float, floor: float = PUBLISHED_FLOOR
) -> dict[str, float | int]:
    """Thresholds on a score that is a mean of two counts (so 2 x score is a count)."""
    values = np.asarray(scores, dtype=np.float64)
    counts = np.rint(2.0 * values)
    parametric = negative_binomial_threshold(counts, false_positive_rate=false_positive_rate) / 2
    empirical = float(values.max()) + 0.5
    return {
        "non_matches": int(values.size),
        "mean_score": float(values.mean()),
        "highest_score": float(values.max()),
        "parametric_threshold": parametric,
        "empirical_threshold": empirical,
        "floor": floor,
        "threshold": max(parametric, empirical, floor),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print the calibrated thresholds per modality and write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--record",
        type=Path,
        default=RESULTS_DIR / "casing_accuracy.json",
        help="casing_accuracy.py's JSON record with per-pair scores",
    )
    parser.add_argument("--false-positive-rate", type=float, default=1e-3)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "casing_calibration.json")
    arguments = parser.parse_args(argv)
    if not arguments.record.is_file():
        parser.error(f"{arguments.record} not found: run benchmarks/casing_accuracy.py first")
    record = json.loads(arguments.record.read_text())
    pooled: dict[str, list[float]] = {}
    sources: dict[str, list[str]] = {}
    for row in record["results"]:
        if row["dataset"] not in CALIBRATION_SETS:
            continue
        modality, relations = CALIBRATION_SETS[row["dataset"]]
        chosen = [
            pair["score"] for pair in row.get("pair_scores", []) if pair["relation"] in relations
        ]
        pooled.setdefault(modality, []).extend(chosen)
        sources.setdefault(modality, []).append(f"{row['dataset']} ({len(chosen)})")
    rows: list[dict[str, Any]] = []
    for modality, scores in sorted(pooled.items()):
        if not scores:
            continue
        rows.append(
            {"modality": modality, "sources": ", ".join(sources[modality])}
            | calibrate(scores, false_positive_rate=arguments.false_positive_rate)
        )
    columns = (
        ("modality", "modality", "s"),
        ("sources", "known non-matches from", "s"),
        ("non_matches", "KNM", "d"),
        ("mean_score", "mean", ".2f"),
        ("highest_score", "max", ".1f"),
        ("parametric_threshold", "NB tail", ".1f"),
        ("empirical_threshold", "max+0.5", ".1f"),
        ("floor", "floor", ".1f"),
        ("threshold", "threshold", ".1f"),
    )
    print(format_table(rows, columns))
    path = write_record(
        arguments.out,
        benchmark="casing_calibration",
        arguments={k: str(v) for k, v in vars(arguments).items()},
        results=rows,
        notes=[f"source record: {arguments.record}"],
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

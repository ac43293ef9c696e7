"""Validate score-based likelihood ratios of real 3D casings, and write the casing 3D calibration.

Every pair of the real Fadul and DFSC ``aces_processed`` scans is scored with the engine's
defaults (``casing_accuracy.py``'s path: file -> ``read_surface`` -> ``prepare_casing`` ->
``compare_casings``), or the scores are read back from an earlier record (``--scores-from``).
Then, per calibration method (``ballistics.calibration``: logistic regression or PAV, both with
ELUB bounds), on data not used to fit:

* within a set, cross-validated by firearm: a pair's LR comes from a calibration fitted on the
  pairs of the other firearms only (leave one firearm out);
* across sets: fitted on Fadul, reported on DFSC, and the reverse;
* pooled: both sets together, cross-validated by firearm (what the shipped calibration does).

What the calibration maps (its *feature*: the score, or the congruent-cell fraction, its log
odds or the registration's correlation, :mod:`ballistics.calibration.features`) is chosen
first, on one set only and never on a set it is then reported on: the candidate whose Cllr,
cross-validated by firearm within the selection set (``--select-on``, DFSC by default: every
candidate separates Fadul's classes completely, so Fadul cannot rank them) with the shipped
method, is lowest; a candidate within 0.005 of a simpler one (earlier in
:data:`CANDIDATE_FEATURES`) loses to it. The cross-set figures of every candidate are written
afterwards, for the record, and did not take part in the choice. ``--feature NAME`` skips the
choice.

It prints Cllr (with a 95 % bootstrap-over-firearms interval of the reported set), Cllr-min
and the rates of misleading evidence per protocol, and log10 LR with its bootstrap-over-firearms
interval at a few values of the feature; writes the JSON record, Tippett and ECE
plots (``docs/plots/``) and the calibration fitted on all real casing 3D pairs
(``ballistics/calibration/data/casing_3d.json``) with the hashes of its data.

    python benchmarks/lr_validation.py --workers 2
    python benchmarks/lr_validation.py --scores-from benchmarks/results/lr_validation.json

(``--scores-from`` needs a record whose pairs keep the cell counts, :data:`PAIR_FIELDS`, for a
feature other than the score.)

References
----------
.. [1] D. Meuwly, D. Ramos, R. Haraksim, "A guideline for the validation of likelihood ratio
   methods used for forensic evidence evaluation", Forensic Science International 276,
   142-153 (2017).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballistics.calibration import (
    Calibration,
    PairScores,
    cllr,
    cllr_min,
    cross_validated_log10_lrs,
    fit_calibration,
    misleading_evidence,
)
from ballistics.calibration.curves import METHODS
from ballistics.calibration.features import DEFAULT_FEATURE, FEATURES, feature_named
from ballistics.calibration.fit import fit_bounded
from ballistics.calibration.plots import ece_png, tippett_png
from ballistics.calibration.registry import DATA_DIR, calibration_file
from benchmarks._common import (
    DEFAULT_DATA_DIR,
    REPOSITORY_ROOT,
    RESULTS_DIR,
    finish_run,
    format_table,
    source_commit,
)

SETS = ("fadul", "dfsc")
#: the features the choice is made among, simplest first (ties go to the earlier one)
CANDIDATE_FEATURES = ("score", "cmc_fraction", "cmc_logit", "correlation")
#: a candidate must beat an earlier one by more than this Cllr to be chosen over it
SELECTION_MARGIN = 0.005
#: scores at which the table gives log10 LR and its interval
TABLE_SCORES = (0.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0)
#: what each scored pair keeps beside its score: the counts the calibration features use
PAIR_FIELDS = (
    "cmc_count",
    "cmc_count_reverse",
    "cmc_fraction",
    "valid_cells",
    "valid_cells_reverse",
    "correlation",
)
METRIC_COLUMNS = (
    ("protocol", "protocol", "s"),
    ("method", "method", "s"),
    ("known_matches", "KM", "d"),
    ("known_non_matches", "KNM", "d"),
    ("cllr", "Cllr", ".3f"),
    ("cllr_interval", "Cllr 95 %", "s"),
    ("cllr_min", "Cllr-min", ".3f"),
    ("matches_below_one", "KM LR<1", ".3f"),
    ("non_matches_above_one", "KNM LR>1", ".3f"),
    ("non_matches_above_hundred", "KNM LR>100", ".3f"),
    ("lowest_match_log10_lr", "min KM", ".2f"),
    ("highest_non_match_log10_lr", "max KNM", ".2f"),
)


SELECTION_COLUMNS = (
    ("feature", "feature", "s"),
    *((f"{name}_cv_cllr", f"{name} CV Cllr", ".3f") for name in SETS),
)
AFTER_COLUMNS = (
    ("feature", "feature", "s"),
    ("fadul_to_dfsc_cllr", "fit fadul, report dfsc", ".3f"),
    ("dfsc_to_fadul_cllr", "fit dfsc, report fadul", ".3f"),
)


def score_real_sets(data_dir: Path, *, workers: int) -> dict[str, dict[str, Any]]:
    """Compare every pair of the real sets; return per set its pairs and its files' SHA-256.

    Each pair keeps, beside the score, the counts every calibration feature is computed from
    (:data:`PAIR_FIELDS`), so that a record can be calibrated again without comparing again.
    """
    import itertools

    from api.pairs import compare_pairs
    from ballistics.items import Pair
    from benchmarks.casing_accuracy import dfsc_set, fadul_set, sha256_of

    scored: dict[str, dict[str, Any]] = {}
    for name, make in (("fadul", fadul_set), ("dfsc", dfsc_set)):
        dataset = make(data_dir)
        indices = list(itertools.combinations(range(len(dataset.items)), 2))
        run = compare_pairs(
            [
                Pair(
                    dataset.items[i].path.name,
                    dataset.items[j].path.name,
                    dataset.items[i],
                    dataset.items[j],
                )
                for i, j in indices
            ],
            workers=workers,
        )
        results = run.results
        failed = [result for result in results if "error" in result]
        scored[name] = {
            "files": {item.path.name: sha256_of(item.path) for item in dataset.items},
            "failed": len(failed),
            "notes": dataset.notes,
            "pairs": [
                {
                    "a": result["a"],
                    "b": result["b"],
                    "firearm_a": dataset.sources[i],
                    "firearm_b": dataset.sources[j],
                    "score": result["score"],
                    **{field: result.get(field) for field in PAIR_FIELDS},
                }
                for (i, j), result in zip(indices, results, strict=True)
                if "error" not in result
            ],
        }
        print(f"{name}: {len(scored[name]['pairs'])} pairs scored", file=sys.stderr, flush=True)
    return scored


def relative(path: Path) -> str:
    """The path relative to the repository when it is inside it (as the README names it)."""
    resolved = path.resolve()
    return (
        str(resolved.relative_to(REPOSITORY_ROOT))
        if resolved.is_relative_to(REPOSITORY_ROOT)
        else str(path)
    )


def as_pair_scores(pairs: Sequence[dict[str, Any]], feature: str = DEFAULT_FEATURE) -> PairScores:
    """The pairs with the value of ``feature`` as their score (a record without the fields the
    feature needs is refused: score the pairs again)."""
    chosen = feature_named(feature)
    values = [chosen.value(pair) for pair in pairs]
    if any(value is None for value in values):
        missing = sorted({name for pair in pairs for name in chosen.missing(pair)})
        raise SystemExit(
            f"the scored pairs lack {', '.join(missing) or 'finite values'} for the feature "
            f"{feature!r}: compare them again (without --scores-from)"
        )
    return PairScores.from_lists(
        [float(value) for value in values if value is not None],
        [pair["firearm_a"] for pair in pairs],
        [pair["firearm_b"] for pair in pairs],
    )


def with_cllr_interval(
    row: dict[str, Any], groups: PairScores, *, replicates: int, seed: int
) -> dict[str, Any]:
    """The row with a 95 % interval of its Cllr over bootstrap samples of the reported pairs'
    firearms (the LRs as they are)."""
    from benchmarks.bullet_lr_validation import cllr_interval

    found = cllr_interval(
        np.asarray(row["log10_lrs"], dtype=np.float64), groups, replicates=replicates, seed=seed
    )
    words = "none" if found["low"] is None else f"{found['low']:.3f}-{found['high']:.3f}"
    return row | {"cllr_by_firearm": found, "cllr_interval": words}


def select_feature(
    scored: dict[str, dict[str, Any]], *, select_on: str, method: str, seed: int
) -> dict[str, Any]:
    """Choose the feature on one set: lowest Cllr cross-validated by firearm within
    ``select_on`` (earlier candidates win ties within :data:`SELECTION_MARGIN`); the other set's
    within-set figure is recorded beside it but takes no part."""
    rows = []
    for feature in CANDIDATE_FEATURES:
        row: dict[str, Any] = {"feature": feature}
        for name in SETS:
            pairs = as_pair_scores(scored[name]["pairs"], feature)
            values = cross_validated_log10_lrs(pairs, method=method, seed=seed)
            row[f"{name}_cv_cllr"] = cllr(values, pairs.same_firearm)
        rows.append(row)
    key = f"{select_on}_cv_cllr"
    chosen = rows[0]
    for row in rows[1:]:
        if row[key] < chosen[key] - SELECTION_MARGIN:
            chosen = row
    return {
        "selected_on": select_on,
        "criterion": f"Cllr, {select_on} cross-validated by firearm, {method}",
        "margin": SELECTION_MARGIN,
        "candidates": rows,
        "feature": chosen["feature"],
    }


def cross_set_after_choice(
    scored: dict[str, dict[str, Any]], *, method: str
) -> list[dict[str, Any]]:
    """Every candidate's cross-set Cllr (fitted on one set, reported on the other), written after
    the choice for the record: it did not take part in it."""
    rows = []
    for feature in CANDIDATE_FEATURES:
        sets = {name: as_pair_scores(scored[name]["pairs"], feature) for name in SETS}
        row: dict[str, Any] = {"feature": feature}
        for fitted, reported in (("fadul", "dfsc"), ("dfsc", "fadul")):
            bounded = fit_bounded(sets[fitted], method=method)
            values = bounded.log10_lr(sets[reported].scores)
            row[f"{fitted}_to_{reported}_cllr"] = cllr(values, sets[reported].same_firearm)
        rows.append(row)
    return rows


def metrics_row(
    protocol: str, method: str, log10_lrs: np.ndarray, truth: np.ndarray
) -> dict[str, Any]:
    """One row of the validation table, with each pair's LR kept for the record."""
    return {
        "protocol": protocol,
        "method": method,
        "cllr": cllr(log10_lrs, truth),
        "cllr_min": cllr_min(log10_lrs, truth),
        **misleading_evidence(log10_lrs, truth).as_json(),
        "log10_lrs": [round(float(value), 4) for value in log10_lrs],
    }


def interval_table(
    calibrations: dict[str, Calibration], points: Sequence[float] = TABLE_SCORES
) -> list[dict[str, Any]]:
    """log10 LR (low, high) at ``points`` (values of the feature) for each calibration."""
    rows = []
    for score in points:
        row: dict[str, Any] = {"score": score}
        for name, calibration in calibrations.items():
            value, low, high = calibration.log10_lr(score)
            row[name] = f"{value:.2f} [{low:.2f}, {high:.2f}]"
        rows.append(row)
    return rows


def validate(
    sets: dict[str, PairScores],
    *,
    method: str,
    replicates: int,
    seed: int,
    feature: str = DEFAULT_FEATURE,
) -> tuple[list[dict[str, Any]], dict[str, Calibration]]:
    """Run every protocol for one method; return its rows and the calibrations fitted per set."""
    rows = []
    for name, pairs in sets.items():
        values = cross_validated_log10_lrs(pairs, method=method, seed=seed)
        row = metrics_row(f"{name}, by firearm", method, values, pairs.same_firearm)
        rows.append(with_cllr_interval(row, pairs, replicates=replicates, seed=seed))
    calibrations = {
        name: fit_calibration(
            pairs,
            kind="cartridge_case",
            modality="topography",
            dataset=name,
            method=method,
            replicates=replicates,
            seed=seed,
            feature=feature,
        )
        for name, pairs in sets.items()
    }
    for fitted, reported in (("fadul", "dfsc"), ("dfsc", "fadul")):
        calibration = calibrations[fitted]
        if not calibration.calibrated:
            print(f"{fitted}: {calibration.reason}", file=sys.stderr)
            continue
        target = sets[reported]
        values = np.array([calibration.log10_lr(score).value for score in target.scores])
        row = metrics_row(f"fit {fitted}, report {reported}", method, values, target.same_firearm)
        rows.append(with_cllr_interval(row, target, replicates=replicates, seed=seed))
    return rows, calibrations


def protocol_slug(protocol: str) -> str:
    """The protocol in a file name: ``"fadul, by firearm"`` -> ``"fadul-cv"``, ``"hamby44, by
    land"`` -> ``"hamby44-cv-land"``, ``"fit fadul, report dfsc"`` -> ``"fadul-to-dfsc"``."""
    return (
        protocol.replace(", by firearm", "-cv")
        .replace(", by land", "-cv-land")
        .replace("fit ", "")
        .replace(", report ", "-to-")
    )


def write_plots(
    rows: Sequence[dict[str, Any]],
    truths: dict[str, np.ndarray],
    folder: Path,
    *,
    stem: str = "lr-casing-3d",
    subject: str = "",
) -> list[Path]:
    """Tippett and ECE PNGs of each protocol's LRs (``{stem}-{protocol}-{plot}.png``, titled
    with ``subject`` before the protocol); return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for row in rows:
        truth = truths[row["protocol"]]
        values = np.asarray(row["log10_lrs"])
        for plot, draw in (("tippett", tippett_png), ("ece", ece_png)):
            path = folder / f"{stem}-{protocol_slug(row['protocol'])}-{plot}.png"
            title = f"{'ECE' if plot == 'ece' else 'Tippett'}: {subject}{row['protocol']}"
            path.write_bytes(draw(values, truth, title=f"{title} ({row['method']})"))
            written.append(path)
    return written


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="processes for the comparisons")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument(
        "--scores-from", type=Path, default=None, help="reuse the pair scores of an earlier record"
    )
    parser.add_argument("--method", choices=METHODS, default="logistic", help="shipped method")
    parser.add_argument(
        "--feature",
        choices=("auto", *FEATURES),
        default="auto",
        help="what the calibration maps (auto: chosen on --select-on, see the module's doc)",
    )
    parser.add_argument(
        "--select-on", choices=SETS, default="dfsc", help="the one set the feature is chosen on"
    )
    parser.add_argument("--replicates", type=int, default=200, help="bootstrap samples")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--plots", type=Path, default=REPOSITORY_ROOT / "docs" / "plots")
    parser.add_argument(
        "--calibration-out",
        type=Path,
        default=calibration_file("cartridge_case", "topography") or DATA_DIR / "casing_3d.json",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "lr_validation.json")
    return parser.parse_args(argv)


def load_scores(arguments: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The scored pairs: from ``--scores-from``, or compared now."""
    if arguments.scores_from is not None:
        record = json.loads(arguments.scores_from.read_text(encoding="utf-8"))
        return {row["set"]: row for row in record["results"] if row.get("set") in SETS}
    if not (arguments.data_dir / "labels.csv").is_file():
        raise SystemExit(f"{arguments.data_dir}/labels.csv not found: the real scans are needed")
    return score_real_sets(arguments.data_dir, workers=arguments.workers)


def pooled_calibration(
    pooled: PairScores,
    scored: dict[str, dict[str, Any]],
    *,
    method: str,
    replicates: int,
    seed: int,
    feature: str = DEFAULT_FEATURE,
) -> Calibration:
    """The calibration fitted on every real casing 3D pair, with the provenance of its data."""
    from api.service.config import (
        DEFAULT_SERVICE_CONFIG,
        algorithm_version,
        descriptor_version_for,
        preparation_version,
    )

    files = {
        f"{name}/{file}": digest for name in SETS for file, digest in scored[name]["files"].items()
    }
    files_digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()
    return fit_calibration(
        pooled,
        kind="cartridge_case",
        modality="topography",
        dataset="fadul + dfsc/aces_processed (real 3D scans)",
        method=method,
        replicates=replicates,
        seed=seed,
        feature=feature,
        sources={
            "files_sha256": files_digest,
            "files": len(files),
            "preparation_version": preparation_version(DEFAULT_SERVICE_CONFIG),
            "algorithm_version": algorithm_version(
                DEFAULT_SERVICE_CONFIG, descriptor_version_for("cartridge_case")
            ),
            "commit": source_commit(),
            "command": "python benchmarks/lr_validation.py",
        },
    )


def run_protocols(
    sets: dict[str, PairScores],
    pooled: PairScores,
    scored: dict[str, dict[str, Any]],
    arguments: argparse.Namespace,
    feature: str = DEFAULT_FEATURE,
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], dict[str, Calibration]]:
    """Every protocol for every method: metric rows, interval tables, pooled calibrations."""
    rows: list[dict[str, Any]] = []
    tables: dict[str, list[dict[str, Any]]] = {}
    shipped: dict[str, Calibration] = {}
    replicates, seed = arguments.replicates, arguments.seed
    points = (
        TABLE_SCORES
        if feature == DEFAULT_FEATURE
        else tuple(np.round(np.percentile(pooled.scores, np.linspace(0, 100, 11)), 4).tolist())
    )
    for method in METHODS:
        method_rows, calibrations = validate(
            sets, method=method, replicates=replicates, seed=seed, feature=feature
        )
        pooled_values = cross_validated_log10_lrs(pooled, method=method, seed=seed)
        row = metrics_row("pooled, by firearm", method, pooled_values, pooled.same_firearm)
        method_rows.append(with_cllr_interval(row, pooled, replicates=replicates, seed=seed))
        rows.extend(method_rows)
        shipped[method] = pooled_calibration(
            pooled, scored, method=method, replicates=replicates, seed=seed, feature=feature
        )
        tables[method] = interval_table({**calibrations, "pooled": shipped[method]}, points)
    return rows, tables, shipped


def main(argv: Sequence[str] | None = None) -> int:
    """Score, validate, print the tables and write the record, plots and calibration file."""
    arguments = parse_arguments(argv)
    scored = load_scores(arguments)
    selection: dict[str, Any] = {"feature": arguments.feature, "selected_on": None}
    if arguments.feature == "auto":
        selection = select_feature(
            scored, select_on=arguments.select_on, method=arguments.method, seed=arguments.seed
        )
        print(f"feature chosen on {arguments.select_on} ({selection['criterion']}):")
        print(format_table(selection["candidates"], SELECTION_COLUMNS))
    feature = str(selection["feature"])
    print(f"feature: {feature}")
    sets = {name: as_pair_scores(scored[name]["pairs"], feature) for name in SETS}
    pooled = as_pair_scores([pair for name in SETS for pair in scored[name]["pairs"]], feature)
    rows, tables, shipped = run_protocols(sets, pooled, scored, arguments, feature)
    print(format_table(rows, METRIC_COLUMNS))
    after = (
        cross_set_after_choice(scored, method=arguments.method) if selection["selected_on"] else []
    )
    if after:
        print("\nevery candidate across sets (after the choice, not used for it):")
        print(format_table(after, AFTER_COLUMNS))
    interval_columns = (
        ("score", feature, ".3g"),
        *((name, f"fit on {name}", "s") for name in (*SETS, "pooled")),
    )
    for method, table in tables.items():
        print(f"\nlog10 LR [95 % interval, bootstrap over firearms], {method}:")
        print(format_table(table, interval_columns))
    calibration = shipped[arguments.method]
    arguments.calibration_out.parent.mkdir(parents=True, exist_ok=True)
    calibration.save(arguments.calibration_out)
    print(f"wrote {arguments.calibration_out} ({calibration.version})")
    truths = {
        **{f"{name}, by firearm": pairs.same_firearm for name, pairs in sets.items()},
        "fit fadul, report dfsc": sets["dfsc"].same_firearm,
        "fit dfsc, report fadul": sets["fadul"].same_firearm,
        "pooled, by firearm": pooled.same_firearm,
    }
    plots = write_plots(
        [row for row in rows if row["method"] == arguments.method], truths, arguments.plots
    )
    results: list[dict[str, Any]] = [{"set": name, **scored[name]} for name in SETS]
    results.append({"feature_selection": selection, "cross_set_after_choice": after})
    results += rows
    results += [{"table": method, "rows": table} for method, table in tables.items()]
    results.append({"calibration_file": str(arguments.calibration_out), **calibration.as_json()})
    finish_run(
        arguments.out,
        benchmark="lr_validation",
        arguments=vars(arguments),
        results=results,
        notes=[note for name in SETS for note in scored[name].get("notes", [])]
        + [f"plot: {relative(path)}" for path in plots],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

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

It prints Cllr, Cllr-min and the rates of misleading evidence per protocol, and log10 LR with
its bootstrap-over-firearms interval at a few scores; writes the JSON record, Tippett and ECE
plots (``docs/plots/``) and the calibration fitted on all real casing 3D pairs
(``ballistics/calibration/data/casing_3d.json``) with the hashes of its data.

    python benchmarks/lr_validation.py --workers 2
    python benchmarks/lr_validation.py --scores-from benchmarks/results/lr_validation.json

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
#: scores at which the table gives log10 LR and its interval
TABLE_SCORES = (0.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0)
METRIC_COLUMNS = (
    ("protocol", "protocol", "s"),
    ("method", "method", "s"),
    ("known_matches", "KM", "d"),
    ("known_non_matches", "KNM", "d"),
    ("cllr", "Cllr", ".3f"),
    ("cllr_min", "Cllr-min", ".3f"),
    ("matches_below_one", "KM LR<1", ".3f"),
    ("non_matches_above_one", "KNM LR>1", ".3f"),
    ("non_matches_above_hundred", "KNM LR>100", ".3f"),
    ("lowest_match_log10_lr", "min KM", ".2f"),
    ("highest_non_match_log10_lr", "max KNM", ".2f"),
)


def score_real_sets(data_dir: Path, *, workers: int) -> dict[str, dict[str, Any]]:
    """Compare every pair of the real sets; return per set its pairs and its files' SHA-256."""
    from benchmarks.casing_accuracy import dfsc_set, fadul_set, measure, sha256_of

    scored: dict[str, dict[str, Any]] = {}
    for name, make in (("fadul", fadul_set), ("dfsc", dfsc_set)):
        dataset = make(data_dir)
        firearm = {
            item.path.name: source
            for item, source in zip(dataset.items, dataset.sources, strict=True)
        }
        row = measure(dataset, workers=workers, limit=None, seed=0)
        scored[name] = {
            "files": {item.path.name: sha256_of(item.path) for item in dataset.items},
            "failed": row["failed"],
            "notes": dataset.notes,
            "pairs": [
                {
                    "a": pair["a"],
                    "b": pair["b"],
                    "firearm_a": firearm[pair["a"]],
                    "firearm_b": firearm[pair["b"]],
                    "score": pair["score"],
                }
                for pair in row["pair_scores"]
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


def as_pair_scores(pairs: Sequence[dict[str, Any]]) -> PairScores:
    return PairScores.from_lists(
        [pair["score"] for pair in pairs],
        [pair["firearm_a"] for pair in pairs],
        [pair["firearm_b"] for pair in pairs],
    )


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


def interval_table(calibrations: dict[str, Calibration]) -> list[dict[str, Any]]:
    """log10 LR (low, high) at :data:`TABLE_SCORES` for each calibration."""
    rows = []
    for score in TABLE_SCORES:
        row: dict[str, Any] = {"score": score}
        for name, calibration in calibrations.items():
            value, low, high = calibration.log10_lr(score)
            row[name] = f"{value:.2f} [{low:.2f}, {high:.2f}]"
        rows.append(row)
    return rows


def validate(
    sets: dict[str, PairScores], *, method: str, replicates: int, seed: int
) -> tuple[list[dict[str, Any]], dict[str, Calibration]]:
    """Run every protocol for one method; return its rows and the calibrations fitted per set."""
    rows = []
    for name, pairs in sets.items():
        values = cross_validated_log10_lrs(pairs, method=method, seed=seed)
        rows.append(metrics_row(f"{name}, by firearm", method, values, pairs.same_firearm))
    calibrations = {
        name: fit_calibration(
            pairs,
            kind="cartridge_case",
            modality="topography",
            dataset=name,
            method=method,
            replicates=replicates,
            seed=seed,
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
        rows.append(
            metrics_row(f"fit {fitted}, report {reported}", method, values, target.same_firearm)
        )
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
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], dict[str, Calibration]]:
    """Every protocol for every method: metric rows, interval tables, pooled calibrations."""
    rows: list[dict[str, Any]] = []
    tables: dict[str, list[dict[str, Any]]] = {}
    shipped: dict[str, Calibration] = {}
    for method in METHODS:
        method_rows, calibrations = validate(
            sets, method=method, replicates=arguments.replicates, seed=arguments.seed
        )
        pooled_values = cross_validated_log10_lrs(pooled, method=method, seed=arguments.seed)
        method_rows.append(
            metrics_row("pooled, by firearm", method, pooled_values, pooled.same_firearm)
        )
        rows.extend(method_rows)
        shipped[method] = pooled_calibration(
            pooled, scored, method=method, replicates=arguments.replicates, seed=arguments.seed
        )
        tables[method] = interval_table({**calibrations, "pooled": shipped[method]})
    return rows, tables, shipped


def main(argv: Sequence[str] | None = None) -> int:
    """Score, validate, print the tables and write the record, plots and calibration file."""
    arguments = parse_arguments(argv)
    scored = load_scores(arguments)
    sets = {name: as_pair_scores(scored[name]["pairs"]) for name in SETS}
    pooled = as_pair_scores([pair for name in SETS for pair in scored[name]["pairs"]])
    rows, tables, shipped = run_protocols(sets, pooled, scored, arguments)
    print(format_table(rows, METRIC_COLUMNS))
    interval_columns = (
        ("score", "score", ".1f"),
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

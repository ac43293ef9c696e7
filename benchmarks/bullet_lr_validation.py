"""Validate likelihood ratios of real bullet land pairs (Hamby 44 and Hamby 252), and say whether
a bullet calibration may be shipped.

A bullet result's score is the mean land score of the best phase (``compare_bullets``), so a
bullet calibration would be learnt from known-match and known-non-match *bullet* pairs. The real
sets hold one known-match bullet pair each (Hamby 252 barrel 1, Hamby 44 barrel 1): nothing to
calibrate on. What they do hold is land pairs, so this benchmark validates the LR of a *land
score* (``compare_lands``, the land model's probability), with the truth of the land key
(``labels.csv``: same ``land_key`` = engraved by the same land of the same barrel):

* the propositions are "the same land of one barrel engraved both lands" against "different
  lands engraved them" (of the same barrel or of another): not the bullet result's propositions;
* pairs are every land of one bullet against every land of another bullet (as casework compares
  them), within a set. Pairs across the two sets are left out: every Hamby set was fired through
  the same ten consecutively rifled Ruger P85 barrels (Hamby, Brundage and Thorpe 2009) and the
  land key does not say which land of one set faces which of the other;
* the Hamby 44 questioned lands (barrel and land inferred by another algorithm) are weak labels,
  reported apart and never fitted on.

Protocols, per method (logistic regression and PAV, both with ELUB bounds):

* within a set, by land: a pair's LR comes from a calibration fitted without any pair of its
  lands' keys (leave one land out). By barrel is not possible: each set's known matches come
  from one barrel, so holding it out leaves no known match to fit on;
* across sets: fitted on Hamby 44, reported on Hamby 252, and the reverse (other bullets scanned
  by another lab; the same barrel 1);
* pooled official pairs, by land; and pooled official pairs fitted, reported on the weak pairs.

Every row has a bootstrap interval of Cllr over barrels (the brief's unit) and over lands. The
refusal rules of :data:`ballistics.calibration.MINIMUM` are applied to the pooled official pairs
with the barrel as the firearm; a calibration file is written only if they are met.

    python benchmarks/bullet_lr_validation.py --workers 2

(default output: ``benchmarks/results/lr_validation_bullet.json``; plots in ``docs/plots/``)

References
----------
.. [1] D. Meuwly, D. Ramos, R. Haraksim, "A guideline for the validation of likelihood ratio
   methods used for forensic evidence evaluation", Forensic Science International 276,
   142-153 (2017).
.. [2] D. Hamby, D. Brundage, J. Thorpe, "The identification of bullets fired from 10
   consecutively rifled 9mm Ruger pistol barrels: a research project involving 507 participants
   from 20 countries", AFTE Journal 41(2), 99-110 (2009).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballistics.bullet import compare_bullets, compare_lands
from ballistics.bullet.model import LAND_MODEL_VERSION
from ballistics.calibration import (
    PairScores,
    cllr,
    cross_validated_log10_lrs,
    firearm_bootstrap,
    fit_bounded,
    fit_calibration,
)
from ballistics.calibration.curves import METHODS
from ballistics.calibration.registry import DATA_DIR
from benchmarks._common import (
    DEFAULT_DATA_DIR,
    REPOSITORY_ROOT,
    RESULTS_DIR,
    finish_run,
    format_table,
    source_commit,
)
from benchmarks.lr_validation import METRIC_COLUMNS, metrics_row, relative
from benchmarks.lr_validation import write_plots as write_lr_plots

OFFICIAL = ("hamby44", "hamby252")
WEAK = "hamby44-questioned"
#: the bullet pairs with official labels (first, second, known match)
BULLET_PAIRS = (
    ("h252-B1-1", "h252-B1-2", True),
    ("h252-B1-1", "h252-B2-1", False),
    ("h252-B1-2", "h252-B2-1", False),
    ("h44-B1-1", "h44-B1-2", True),
)
INTERVAL_COLUMNS = (
    ("protocol", "protocol", "s"),
    ("method", "method", "s"),
    ("cllr", "Cllr", ".3f"),
    ("cllr_barrel", "95% by barrel", "s"),
    ("cllr_land", "95% by land", "s"),
)


# ---------------------------------------------------------------- scoring


def land_set_of(row: dict[str, str]) -> str:
    """The set a land belongs to here: hamby252, hamby44 (barrel 1, official) or the weak one."""
    if row["set"] == "hamby44" and "/One-of-all/" in row["path"]:
        return WEAK
    return row["set"]


def score_land_pairs(data_dir: Path, *, workers: int) -> dict[str, Any]:
    """Prepare every real land once and score every land pair of different bullets within a set;
    return the pairs per set, the bullet pairs' scores and every file's SHA-256."""
    from benchmarks.bullet_accuracy import bullet_of, load_rows, prepare_real
    from benchmarks.casing_accuracy import sha256_of

    rows = load_rows(data_dir)
    lands, _ = prepare_real(data_dir, rows, workers=workers)
    pairs: dict[str, list[dict[str, Any]]] = {name: [] for name in (*OFFICIAL, WEAK)}
    for first, second in itertools.combinations(rows, 2):
        if first["set"] != second["set"] or first["specimen"] == second["specimen"]:
            continue
        sets = {land_set_of(first), land_set_of(second)}
        name = WEAK if WEAK in sets else first["set"]
        pairs[name].append(
            {
                "a": first["path"],
                "b": second["path"],
                "land_key_a": first["land_key"],
                "land_key_b": second["land_key"],
                "barrel_a": first["firearm"],
                "barrel_b": second["firearm"],
                "score": compare_lands(lands[first["path"]], lands[second["path"]]).score,
            }
        )
    bullets = []
    for a, b, known in BULLET_PAIRS:
        comparison = compare_bullets(bullet_of(rows, lands, a), bullet_of(rows, lands, b))
        bullets.append({"a": a, "b": b, "known_match": known, "score": comparison.score})
    files = {row["path"]: sha256_of(data_dir / row["path"]) for row in rows}
    return {"pairs": pairs, "bullet_pairs": bullets, "files": files}


# ---------------------------------------------------------------- pairs and protocols


def by_barrel(pairs: Sequence[dict[str, Any]]) -> PairScores:
    """Land pairs with the land key's truth, grouped by barrel (the firearm of the rules)."""
    return PairScores(
        np.array([pair["score"] for pair in pairs], dtype=np.float64),
        np.array([pair["land_key_a"] == pair["land_key_b"] for pair in pairs], dtype=bool),
        np.array([pair["barrel_a"] for pair in pairs], dtype=str),
        np.array([pair["barrel_b"] for pair in pairs], dtype=str),
    )


def by_land(pairs: Sequence[dict[str, Any]]) -> PairScores:
    """Land pairs grouped by land key: folds and bootstrap samples by land."""
    return PairScores.from_lists(
        [pair["score"] for pair in pairs],
        [pair["land_key_a"] for pair in pairs],
        [pair["land_key_b"] for pair in pairs],
    )


def cllr_interval(
    log10_lrs: np.ndarray, groups: PairScores, *, replicates: int, seed: int
) -> dict[str, Any]:
    """95 % percentile interval of Cllr over bootstrap samples of ``groups``' clusters (the LRs
    stay as they are); with one cluster there is no interval, and the record says so."""
    clusters = groups.firearms
    if len(clusters) < 2:
        return {"clusters": len(clusters), "low": None, "high": None, "samples": 0}
    random = np.random.default_rng(seed)
    values = []
    for _ in range(10 * replicates):
        chosen = firearm_bootstrap(groups, random)
        truth = groups.same_firearm[chosen]
        if truth.all() or not truth.any():
            continue
        values.append(cllr(log10_lrs[chosen], truth))
        if len(values) == replicates:
            break
    return {
        "clusters": len(clusters),
        "low": float(np.percentile(values, 2.5)) if values else None,
        "high": float(np.percentile(values, 97.5)) if values else None,
        "samples": len(values),
    }


def with_intervals(
    row: dict[str, Any], pairs: Sequence[dict[str, Any]], *, replicates: int, seed: int
) -> dict[str, Any]:
    """The row with Cllr's bootstrap intervals over barrels and over lands, and the truth."""
    values = np.asarray(row["log10_lrs"], dtype=np.float64)
    barrel = cllr_interval(values, by_barrel(pairs), replicates=replicates, seed=seed)
    land = cllr_interval(values, by_land(pairs), replicates=replicates, seed=seed)

    def words(found: dict[str, Any]) -> str:
        if found["low"] is None:
            return f"none ({found['clusters']} cluster)"
        return f"{found['low']:.3f}-{found['high']:.3f} ({found['clusters']})"

    return row | {
        "same_land": [bool(pair["land_key_a"] == pair["land_key_b"]) for pair in pairs],
        "cllr_by_barrel": barrel,
        "cllr_by_land": land,
        "cllr_barrel": words(barrel),
        "cllr_land": words(land),
    }


def validate(
    pairs: dict[str, list[dict[str, Any]]], *, method: str, replicates: int, seed: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every protocol for one method; return its rows and why any protocol could not run."""
    rows, skipped = [], []
    pooled = pairs["hamby44"] + pairs["hamby252"]
    protocols: list[tuple[str, list[dict[str, Any]], np.ndarray]] = []
    for name in OFFICIAL:
        values = cross_validated_log10_lrs(by_land(pairs[name]), method=method, seed=seed)
        protocols.append((f"{name}, by land", pairs[name], values))
    for fitted, reported in (("hamby44", "hamby252"), ("hamby252", "hamby44")):
        curve = fit_bounded(by_barrel(pairs[fitted]), method=method)
        values = curve.log10_lr(by_barrel(pairs[reported]).scores)
        protocols.append((f"fit {fitted}, report {reported}", pairs[reported], values))
    values = cross_validated_log10_lrs(by_land(pooled), method=method, seed=seed)
    protocols.append(("pooled, by land", pooled, values))
    curve = fit_bounded(by_barrel(pooled), method=method)
    values = curve.log10_lr(by_barrel(pairs[WEAK]).scores)
    protocols.append((f"fit pooled, report {WEAK} (weak labels)", pairs[WEAK], values))
    for protocol, chosen, values in protocols:
        row = metrics_row(protocol, method, values, by_barrel(chosen).same_firearm)
        rows.append(with_intervals(row, chosen, replicates=replicates, seed=seed))
    for name in OFFICIAL:
        barrels = by_barrel(pairs[name]).firearms_with_known_matches
        skipped.append(
            f"{name}, by barrel: not measurable; its known matches come from {barrels} barrel, "
            "so a fold that holds that barrel out has no known match to fit on"
        )
    return rows, skipped


def pooled_refusal(
    scored: dict[str, Any], *, method: str, replicates: int, seed: int
) -> dict[str, Any]:
    """The calibration of the pooled official land pairs (barrel = firearm), or its refusal."""
    pooled = by_barrel(scored["pairs"]["hamby44"] + scored["pairs"]["hamby252"])
    files = {path: digest for path, digest in scored["files"].items()}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()
    calibration = fit_calibration(
        pooled,
        kind="bullet",
        modality="topography",
        dataset="hamby44 barrel 1 + hamby252 (real land scans): land pairs",
        method=method,
        replicates=replicates,
        seed=seed,
        sources={
            "files_sha256": digest,
            "files": len(files),
            "land_model": LAND_MODEL_VERSION,
            "commit": source_commit(),
            "command": "python benchmarks/bullet_lr_validation.py",
            "what": "land score (compare_lands), truth by land_key; not the bullet score",
        },
    )
    return calibration.as_json()


def write_plots(rows: Sequence[dict[str, Any]], folder: Path) -> list[Path]:
    """Tippett and ECE PNGs of each official protocol's LRs; return the paths written."""
    official = [row for row in rows if WEAK not in row["protocol"]]
    truths = {row["protocol"]: np.asarray(row["same_land"]) for row in official}
    return write_lr_plots(official, truths, folder, stem="lr-bullet-land", subject="bullet lands, ")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="processes for land preparation")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    # L2-regularised logistic regression (C = 1) on a 0-1 land score from 40-70 pairs keeps its
    # slope small (LRs near 1); PAV with ELUB bounds shows what the scores support
    parser.add_argument("--method", choices=METHODS, default="isotonic", help="plotted method")
    parser.add_argument("--replicates", type=int, default=200, help="bootstrap samples")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--plots", type=Path, default=REPOSITORY_ROOT / "docs" / "plots")
    parser.add_argument(
        "--calibration-out",
        type=Path,
        default=DATA_DIR / "bullet_3d.json",
        help="written only when the refusal rules are met",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "lr_validation_bullet.json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Score, validate, print the tables and write the record and plots (and the calibration
    file, if the data meet the rules)."""
    arguments = parse_arguments(argv)
    if not (arguments.data_dir / "labels.csv").is_file():
        raise SystemExit(f"{arguments.data_dir}/labels.csv not found: the real scans are needed")
    scored = score_land_pairs(arguments.data_dir, workers=arguments.workers)
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for method in METHODS:
        method_rows, skipped = validate(
            scored["pairs"], method=method, replicates=arguments.replicates, seed=arguments.seed
        )
        rows += method_rows
    print(format_table(rows, METRIC_COLUMNS))
    print()
    print(format_table(rows, INTERVAL_COLUMNS))
    for line in skipped:
        print(line)
    calibration = pooled_refusal(
        scored, method=arguments.method, replicates=arguments.replicates, seed=arguments.seed
    )
    if calibration["method"] == "none":
        print(f"no bullet calibration shipped: {calibration['reason']}")
    else:
        arguments.calibration_out.write_text(json.dumps(calibration, indent=1) + "\n")
        print(f"wrote {arguments.calibration_out}: register it in ballistics/calibration/registry")
    for bullet in scored["bullet_pairs"]:
        truth = "KM" if bullet["known_match"] else "KNM"
        print(f"bullet pair {bullet['a']} x {bullet['b']} ({truth}): score {bullet['score']:.3f}")
    plots = write_plots([r for r in rows if r["method"] == arguments.method], arguments.plots)
    results: list[dict[str, Any]] = [
        {"set": name, "pairs": pairs} for name, pairs in scored["pairs"].items()
    ]
    results += [{"bullet_pairs": scored["bullet_pairs"]}, {"files": scored["files"]}]
    results += rows
    results.append({"calibration": calibration})
    finish_run(
        arguments.out,
        benchmark="lr_validation_bullet",
        arguments=vars(arguments) | {"land_model": LAND_MODEL_VERSION},
        results=results,
        notes=skipped + [f"plot: {relative(path)}" for path in plots],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

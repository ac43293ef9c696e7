"""Shared benchmark helpers: score metrics, timing summaries, the JSON record and the table.

Every benchmark prints one header and one row per dataset or operating point, and writes a JSON
record of its arguments, the hardware and the results, so that a number in the README can be
traced to the run that produced it.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
#: the shared real scans, next to the repository (see ../shared/data/README.md)
DEFAULT_DATA_DIR = REPOSITORY_ROOT.parent / "shared" / "data"
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _split_scores(scores: Sequence[float], labels: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Return (known-match scores, known-non-match scores), refusing empty classes."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(
            f"scores and labels must be 1-D and of the same length, got {scores.shape} and "
            f"{labels.shape}."
        )
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN; drop the failed comparisons before scoring.")
    positives, negatives = scores[labels], scores[~labels]
    if positives.size == 0 or negatives.size == 0:
        raise ValueError(
            f"need known matches and known non-matches, got {positives.size} and {negatives.size}."
        )
    return positives, negatives


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Return the area under the ROC curve: P(match score > non-match score), ties counting 1/2.

    Computed from ranks as the Mann-Whitney U statistic divided by the number of
    (match, non-match) pairs.

    References
    ----------
    Hanley, J. A. and McNeil, B. J. (1982). The meaning and use of the area under a receiver
    operating characteristic (ROC) curve. Radiology 143(1), 29-36.
    """
    positives, negatives = _split_scores(scores, labels)
    ranks = stats.rankdata(np.concatenate([positives, negatives]))  # ties get their mean rank
    rank_sum = ranks[: positives.size].sum()
    u_statistic = rank_sum - positives.size * (positives.size + 1) / 2
    return float(u_statistic / (positives.size * negatives.size))


def decision_rates(decisions: Sequence[bool], labels: Sequence[bool]) -> tuple[float, float]:
    """Return (true-positive rate, false-positive rate) of yes/no decisions against the truth."""
    decisions = np.asarray(decisions, dtype=bool)
    labels = np.asarray(labels, dtype=bool)
    if decisions.shape != labels.shape:
        raise ValueError(
            f"decisions and labels must have the same length, got {decisions.shape} and "
            f"{labels.shape}."
        )
    if labels.all() or not labels.any():
        raise ValueError("need known matches and known non-matches to compute both rates.")
    return float(decisions[labels].mean()), float(decisions[~labels].mean())


def equal_error_rate(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Return the rate at which false positives and false negatives are equal.

    The decision "same source" is ``score >= threshold``. Both error rates are evaluated at every
    distinct score; the equal error rate is read where they cross, interpolating linearly
    between the two neighbouring thresholds.
    """
    positives, negatives = _split_scores(scores, labels)
    thresholds = np.append(np.unique(np.concatenate([positives, negatives])), np.inf)
    # fraction of non-matches at or above each threshold, and of matches below it
    false_positive = 1.0 - np.searchsorted(np.sort(negatives), thresholds, "left") / negatives.size
    false_negative = np.searchsorted(np.sort(positives), thresholds, "left") / positives.size
    difference = false_positive - false_negative  # decreases from >= 0 to -1 along thresholds
    crossing = int(np.argmax(difference <= 0))
    if crossing == 0 or difference[crossing] == 0:
        return float(false_positive[crossing])
    before, after = difference[crossing - 1], difference[crossing]
    fraction = before / (before - after)
    return float(
        false_positive[crossing - 1]
        + fraction * (false_positive[crossing] - false_positive[crossing - 1])
    )


def timing_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Return the median and 95th percentile of per-item seconds (NaN when there are none)."""
    values = np.asarray(seconds, dtype=np.float64)
    if values.size == 0:
        return {"median_s": float("nan"), "p95_s": float("nan")}
    return {
        "median_s": float(np.median(values)),
        "p95_s": float(np.percentile(values, 95)),
    }


def hardware_record() -> dict[str, Any]:
    """Return what the numbers depend on: cores, platform, Python and library versions."""
    versions = {}
    for package in ("numpy", "scipy", "opencv-python-headless", "scikit-image", "ballistics"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        import cv2

        versions["cv2"] = cv2.__version__
    except ImportError:
        versions["cv2"] = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "available_cores": cores,
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": versions,
    }


def source_commit() -> str | None:
    """Return the git commit of the code measured, with ``+changes`` when the tree is dirty."""

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments],
            cwd=REPOSITORY_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+changes" if dirty else commit


def write_record(
    path: Path,
    *,
    benchmark: str,
    arguments: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
    notes: Sequence[str] = (),
) -> Path:
    """Write one run's arguments, hardware, results and notes as JSON; return the path.

    The file is written beside its final name first and then renamed, so that an interrupted run
    never leaves a half-written record.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": benchmark,
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": source_commit(),
        "arguments": {key: _plain(value) for key, value in arguments.items()},
        "hardware": hardware_record(),
        "results": [_plain(dict(result)) for result in results],
        "notes": list(notes),
    }
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def finish_run(
    path: Path,
    *,
    benchmark: str,
    arguments: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
    notes: Sequence[str] = (),
) -> Path:
    """Print the run's notes once each, write its JSON record and say where; return the path."""
    unique_notes = list(dict.fromkeys(notes))
    for note in unique_notes:
        print(f"note: {note}")
    written = write_record(
        path, benchmark=benchmark, arguments=arguments, results=results, notes=unique_notes
    )
    print(f"wrote {written}")
    return written


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    """Return a plain-text table: one header, one row per mapping.

    Parameters
    ----------
    rows
        The rows; a missing or None value prints as ``-``.
    columns
        ``(key, heading, format)`` per column, the format as for :func:`format` (``".3f"``).
    """
    cells = [[heading for _, heading, _ in columns]]
    for row in rows:
        line = []
        for key, _, spec in columns:
            value = row.get(key)
            valid = value is not None and not (isinstance(value, float) and np.isnan(value))
            line.append(format(value, spec) if valid else "-")
        cells.append(line)
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    )


def _plain(value: Any) -> Any:
    """Convert paths, numpy values and NaN to plain JSON (NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(element) for key, element in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(element) for element in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

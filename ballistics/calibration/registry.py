"""The calibration of each kind and modality the engine compares, read from the package's files.

Only real data with enough known pairs gives a calibration file (``data/*.json``, written by
``benchmarks/lr_validation.py``). Every other kind and modality gets a calibration that refuses
a number, with the reason, so that a result never carries an LR that synthetic data alone made.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ballistics.calibration.calibration import Calibration, not_calibrated

DATA_DIR = Path(__file__).resolve().parent / "data"

#: (kind, modality) -> calibration file in DATA_DIR
CALIBRATION_FILES: dict[tuple[str, str], str] = {
    ("cartridge_case", "topography"): "casing_3d.json",
}

#: why there is no file yet, for the pairs the engine compares without one
MISSING_REASONS: dict[tuple[str, str], str] = {
    ("cartridge_case", "photograph"): (
        "too few real known pairs: no real known non-match of breech-face photographs is at "
        "hand (NBIDE holds one known-match pair)"
    ),
    ("cartridge_case", "photograph+topography"): (
        "too few real known pairs: no real pair of a photograph and a 3D scan of one casing set "
        "is at hand"
    ),
    ("bullet", "topography"): (
        "too few real known pairs: Hamby 44 and Hamby 252 hold one known-match bullet pair each, "
        "and their known-match land pairs (10) all come from barrel 1, below the minimum of 4 "
        "barrels (benchmarks/bullet_lr_validation.py)"
    ),
}


def pair_modality(first: str, second: str) -> str:
    """Return the modality of a pair: ``"topography"``, or ``"photograph+topography"`` across."""
    return first if first == second else "+".join(sorted((first, second)))


def calibration_file(kind: str, modality: str) -> Path | None:
    """Return the calibration file of a kind and modality, or None when it has none."""
    name = CALIBRATION_FILES.get((kind, modality))
    return DATA_DIR / name if name is not None else None


@functools.cache
def calibration_for(kind: str, modality: str) -> Calibration:
    """Return the calibration of ``kind`` and ``modality`` (a refusal when there is none).

    Read once per process. A file that was listed but is missing (a checkout without the
    package data) also refuses, saying so, rather than failing every comparison.
    """
    path = calibration_file(kind, modality)
    if path is not None and path.is_file():
        return Calibration.load(path)
    if path is not None:
        reason = f"the calibration file {path.name} is missing from this installation"
    else:
        reason = MISSING_REASONS.get(
            (kind, modality), f"no calibration for {kind} {modality} on real data"
        )
    return not_calibrated(kind, modality, reason=reason)

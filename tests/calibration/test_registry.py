"""Which kinds and modalities have a calibration, and the casing 3D file that ships."""

from __future__ import annotations

import pytest

from ballistics.calibration.registry import (
    CALIBRATION_FILES,
    calibration_file,
    calibration_for,
    pair_modality,
)
from ballistics.calibration.verbal import NOT_CALIBRATED


def test_a_pair_across_modalities_has_its_own_modality():
    assert pair_modality("topography", "topography") == "topography"
    assert pair_modality("topography", "photograph") == "photograph+topography"
    assert pair_modality("photograph", "topography") == "photograph+topography"


@pytest.mark.parametrize(
    ("kind", "modality"),
    [
        ("cartridge_case", "photograph"),
        ("cartridge_case", "photograph+topography"),
        ("bullet", "topography"),
    ],
)
def test_kinds_without_real_calibration_data_give_no_number(kind, modality):
    calibration = calibration_for(kind, modality)
    assert not calibration.calibrated
    assert calibration.reason
    assert calibration.strength(20.0).verbal == NOT_CALIBRATED
    assert calibration.log10_lr(20.0).value is None


def test_the_casing_3d_calibration_ships_and_orders_scores():
    path = calibration_file("cartridge_case", "topography")
    assert path is not None and path.name == CALIBRATION_FILES[("cartridge_case", "topography")]
    if not path.is_file():
        pytest.skip("casing_3d.json not written yet: run benchmarks/lr_validation.py")
    calibration = calibration_for("cartridge_case", "topography")
    assert calibration.calibrated and calibration.known_matches >= 10
    assert calibration.lower < 0 < calibration.upper
    values = [calibration.log10_lr(score).value for score in (0.0, 2.0, 6.0, 15.0, 30.0)]
    assert values == sorted(values)
    assert values[0] < 0 < values[-1]

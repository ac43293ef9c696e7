"""The Calibration object: JSON round trip, versions, the Strength a result carries."""

from __future__ import annotations

import json

import pytest

from ballistics.calibration.calibration import Calibration, not_calibrated
from ballistics.calibration.fit import fit_calibration
from ballistics.calibration.verbal import NOT_CALIBRATED
from tests.calibration.scores import gaussian_pairs


@pytest.fixture(scope="module", params=["logistic", "isotonic"])
def fitted(request):
    return fit_calibration(
        gaussian_pairs(firearms=12, marks_per_firearm=4, seed=4),
        kind="cartridge_case",
        modality="topography",
        dataset="two gaussians",
        method=request.param,
        replicates=20,
        sources={"files_sha256": "abc"},
    )


def test_a_calibration_survives_a_json_round_trip_exactly(fitted, tmp_path):
    path = fitted.save(tmp_path / "calibration.json")
    loaded = Calibration.load(path)
    assert loaded == fitted and loaded.version == fitted.version
    for score in (-2.0, 0.3, 1.0, 2.7, 9.0):
        assert loaded.log10_lr(score) == fitted.log10_lr(score)
    text = path.read_text()
    assert json.loads(text)["sources"] == {"files_sha256": "abc"}


def test_the_version_changes_with_the_data_and_an_edited_file_is_refused(fitted, tmp_path):
    data = fitted.as_json()
    data["upper"] = data["upper"] + 1.0
    with pytest.raises(ValueError, match="edited"):
        Calibration.from_json(data)
    other = Calibration(**{**fitted.__dict__, "data_sha256": "0" * 64})
    assert other.version != fitted.version
    assert fitted.version.startswith(f"cartridge_case/topography/{fitted.method}/")


def test_a_file_of_another_format_is_refused(fitted):
    with pytest.raises(ValueError, match="format"):
        Calibration.from_json({**fitted.as_json(), "format": 99})


def test_strength_carries_the_result_fields(fitted):
    strength = fitted.strength(3.0).as_json()
    assert set(strength) == {"log10_lr", "lr_interval", "verbal", "calibration"}
    low, high = strength["lr_interval"]
    assert low <= strength["log10_lr"] <= high
    assert strength["verbal"].endswith("the proposition that one firearm fired both")
    assert strength["calibration"] == fitted.version


def test_a_refusal_carries_nulls_and_the_sentence(tmp_path):
    refusal = not_calibrated("bullet", "topography", reason="none yet")
    assert refusal.strength(12.0).as_json() == {
        "log10_lr": None,
        "lr_interval": None,
        "verbal": NOT_CALIBRATED,
        "calibration": refusal.version,
    }
    assert Calibration.load(refusal.save(tmp_path / "r.json")) == refusal


def test_a_non_finite_score_is_refused(fitted):
    with pytest.raises(ValueError, match="finite"):
        fitted.log10_lr(float("nan"))

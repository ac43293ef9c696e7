"""The synthetic bullet generator's ground truth: land count, widths and twist recovered."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ballistics.bullet import compare_bullets, prepare_bullet, prepare_land, read_bullet
from ballistics.bullet.features import fixed_spacing, land_features
from ballistics.bullet.land import estimate_striae_slope, orient_land
from ballistics.io import write_x3p
from ballistics.surface import Surface
from ballistics.synthetic.bullets import (
    SYNTHETIC_BULLETS_VERSION,
    BulletAmmunition,
    ScanSettings,
    fire_bullet,
    make_barrel,
    make_barrel_make,
    make_bullet_set,
    render_circumference,
    write_bullet,
)

#: coarse scans keep the tests quick
SCAN = ScanSettings(pixel_um=2.5, noise_um=0.1, length_um=420.0)


@pytest.fixture(scope="module")
def make():
    return make_barrel_make("T", seed=4, land_count=5, land_width_um=1300.0, twist="left")


def test_make_holds_its_class_characteristics(make) -> None:
    assert make.land_count == 5 and len(make.land_width_um) == 5
    assert make.twist == "left"
    drawn = make_barrel_make("U", seed=5)
    assert 4 <= drawn.land_count <= 8
    assert all(900 <= width <= 2700 for width in drawn.land_width_um)
    assert make_barrel_make("U", seed=5) == drawn  # seeded


def test_bullet_has_one_scan_per_land_with_its_truth(make) -> None:
    barrel = make_barrel(make, "T-B1", seed=1)
    bullet = fire_bullet(
        barrel, BulletAmmunition("soft", 0.1), "x", seed=3, scan=SCAN, missing_lands=(2,), phase=1
    )
    assert [land.truth["land"] for land in bullet.lands] == [1, 3, 4, 5]
    # land k of the bullet was engraved by barrel land k + phase
    assert [land.truth["barrel_land"] for land in bullet.lands] == [2, 4, 5, 1]
    assert bullet.lands[0].truth["land_key"] == "T-B1-L2"
    assert bullet.truth["version"] == SYNTHETIC_BULLETS_VERSION
    assert bullet.lands[0].surface.pixel_um == 2.5
    again = fire_bullet(
        barrel, BulletAmmunition("soft", 0.1), "x", seed=3, scan=SCAN, missing_lands=(2,), phase=1
    )
    np.testing.assert_array_equal(again.lands[2].surface.values, bullet.lands[2].surface.values)


def test_land_widths_and_grooves_recovered(make) -> None:
    bullet = fire_bullet(
        make_barrel(make, "T-B1", seed=1), BulletAmmunition("a", 0.3), "w", seed=4, scan=SCAN
    )
    for scan in bullet.lands:
        land = prepare_land(scan.surface)
        left, right = scan.truth["groove_um"]
        assert land.groove_um[0] == pytest.approx(left, abs=50.0)
        assert land.groove_um[1] == pytest.approx(right, abs=50.0)
        assert land.width_um == pytest.approx(scan.truth["land_width_um"], abs=60.0)


@pytest.mark.parametrize("twist", ["right", "left"])
def test_twist_recovered_from_the_striae(twist: str) -> None:
    make = make_barrel_make("S", seed=6, land_count=4, twist=twist, twist_deg=5.0)
    bullet = fire_bullet(
        make_barrel(make, "S-B", seed=2), BulletAmmunition("a", 0.0), "t", seed=5, scan=SCAN
    )
    scan = bullet.lands[0]
    oriented = orient_land(scan.surface.values)
    slope = estimate_striae_slope(oriented, pixel_um=SCAN.pixel_um, band_px=20)
    # going up the land (away from the heel) the striae move against the twist
    assert -slope == pytest.approx(scan.truth["striae_slope"], abs=0.02)
    assert (slope < 0) == (twist == "right")


def _ccf(first, second) -> float:
    features = land_features(
        fixed_spacing(first.signature_um, pixel_um=first.pixel_um),
        fixed_spacing(second.signature_um, pixel_um=second.pixel_um),
        max_lag_um=500.0,
        min_overlap_fraction=0.6,
        tolerance_um=4.7,
    )
    assert features is not None
    return features.ccf


def test_harder_jackets_take_less_of_the_barrel(make) -> None:
    barrel = make_barrel(make, "T-B1", seed=1)

    def first_land(hardness: float, seed: int):
        ammunition = BulletAmmunition("jacket", hardness)
        bullet = fire_bullet(barrel, ammunition, "b", seed=seed, scan=SCAN, phase=0)
        return prepare_land(bullet.lands[0].surface)

    reference = first_land(0.0, 7)
    assert _ccf(reference, first_land(0.0, 8)) > _ccf(reference, first_land(0.8, 8)) + 0.1


def test_written_bullet_reads_back_with_its_land_numbers_and_truth(make, tmp_path) -> None:
    bullet = fire_bullet(
        make_barrel(make, "T-B1", seed=1),
        BulletAmmunition("a", 0.2),
        "rd",
        seed=9,
        scan=SCAN,
        missing_lands=(4,),
        damaged_lands=(2,),
    )
    folder = write_bullet(bullet, tmp_path / "rd")
    prepared = read_bullet(folder)
    assert prepared.land_numbers == (1, 2, 3, 5)
    truth = json.loads((folder / "truth.json").read_text("utf-8"))
    assert truth["missing_lands"] == [4] and truth["damaged_lands"] == [2]
    assert [land["land"] for land in truth["lands"]] == [1, 2, 3, 5]
    assert truth["lands"][1]["damaged"] is True


def test_bullet_sets_share_class_marks_within_a_make() -> None:
    plans = make_bullet_set("set", seed=2, makes=2, barrels_per_make=2, bullets_per_barrel=2)
    assert len(plans) == 8
    barrels = {plan.barrel.name for plan in plans}
    assert len(barrels) == 4
    first, second = plans[0].barrel, plans[2].barrel  # one make, two barrels
    assert first.make == second.make and first.name != second.name
    correlation = np.corrcoef(first.striae[0], second.striae[0])[0, 1]
    assert 0.0 < correlation < 0.5  # class striae shared, individual ones not


def test_whole_circumference_scores_as_its_lands_written_separately(tmp_path) -> None:
    make = make_barrel_make("C", seed=3, land_count=6, land_width_um=1600.0)
    scan = ScanSettings(pixel_um=2.5, noise_um=0.1, length_um=420.0)
    barrel, other_barrel = make_barrel(make, "C-B1", seed=1), make_barrel(make, "C-B2", seed=2)
    whole, windows = render_circumference(barrel, BulletAmmunition("a", 0.4), seed=5, scan=scan)
    write_x3p(whole, tmp_path / "whole.x3p")
    lands = tmp_path / "lands"
    lands.mkdir()
    for number, (first, stop) in enumerate(windows, start=1):
        piece = Surface(whole.values[:, first:stop], pixel_um=2.5, modality="topography")
        write_x3p(piece, lands / f"C-Land_{number}.x3p")
    from_whole, from_lands = read_bullet(tmp_path / "whole.x3p"), read_bullet(lands)
    assert from_whole.land_numbers == from_lands.land_numbers == (1, 2, 3, 4, 5, 6)
    for other, same in ((barrel, True), (other_barrel, False)):
        fired, _ = render_circumference(other, BulletAmmunition("b", 0.4), seed=6, scan=scan)
        questioned = prepare_bullet([fired], names=["q.x3p"])
        split = compare_bullets(from_whole, questioned)
        separate = compare_bullets(from_lands, questioned)
        assert split.score == pytest.approx(separate.score, abs=0.02)
        assert split.lead == separate.lead == same

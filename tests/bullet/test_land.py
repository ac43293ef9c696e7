"""prepare_land: orientation, grooves and refusals, on synthetic scans with known truth."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from ballistics.bullet import DEFAULT_BULLET_CONFIG, BulletConfig, prepare_land, read_bullet
from ballistics.bullet.land import detect_striae_direction, orient_land
from ballistics.bullet.synthetic import barrel_striae, render_land
from ballistics.errors import EvidenceError, ResolutionOutOfRangeError
from ballistics.io import read_surface, write_x3p
from ballistics.surface import Modality, Surface
from tests.bullet.lands import PIXEL_UM
from tests.io.hostile import casing_disc


@pytest.mark.parametrize("horizontal", [False, True])
@pytest.mark.parametrize("land_offset_um", [-60.0, 0.0, 45.0])
def test_grooves_found_within_tolerance(horizontal: bool, land_offset_um: float) -> None:
    striae = barrel_striae(seed=3, pixel_um=PIXEL_UM)[0]
    rendered = render_land(
        striae, seed=7, pixel_um=PIXEL_UM, land_offset_um=land_offset_um, horizontal=horizontal
    )
    land = prepare_land(rendered.surface)
    # the shoulders' feet within 20 µm of the truth on both sides, whatever the orientation
    np.testing.assert_allclose(land.groove_um, rendered.groove_um, atol=20.0)
    margin = DEFAULT_BULLET_CONFIG.groove_margin_um
    assert land.signature_um.size * PIXEL_UM == pytest.approx(land.width_um - 2 * margin, abs=10)
    # the stable cross-section lies above the damaged heel (80 µm)
    assert land.crosscut_um > 80.0


def test_orientation_is_a_rotation_not_a_mirror() -> None:
    values = np.arange(12.0).reshape(3, 4)
    turned = orient_land(values, striae_direction="horizontal", heel_end="first")
    # a quarter turn anticlockwise: column 0 (the heel) becomes the bottom row, the image's top
    # going to the left; a transpose (a mirror) would put the top on the right
    np.testing.assert_array_equal(turned[-1], values[:, 0])
    np.testing.assert_array_equal(turned[0], values[:, -1])
    upside_down = orient_land(values, striae_direction="vertical", heel_end="first")
    np.testing.assert_array_equal(upside_down, values[::-1, ::-1])


def test_striae_direction_detected() -> None:
    striae = barrel_striae(seed=4, pixel_um=PIXEL_UM)[1]
    vertical = render_land(striae, seed=1, pixel_um=PIXEL_UM).surface
    horizontal = render_land(striae, seed=1, pixel_um=PIXEL_UM, horizontal=True).surface
    assert detect_striae_direction(vertical.values) == "vertical"
    assert detect_striae_direction(horizontal.values) == "horizontal"


def test_scan_without_valid_rows_is_refused_naming_the_file() -> None:
    surface = Surface(
        np.full((50, 400), np.nan), pixel_um=1.5625, modality="topography", source="empty.x3p"
    )
    with pytest.raises(EvidenceError, match=r"empty\.x3p: .*no measured"):
        prepare_land(surface)


def test_photograph_is_refused() -> None:
    surface = Surface(np.zeros((50, 400)), pixel_um=1.0, modality=Modality.PHOTOGRAPH)
    with pytest.raises(EvidenceError, match="topograph"):
        prepare_land(surface)


def test_too_narrow_land_is_refused() -> None:
    striae = barrel_striae(seed=5, pixel_um=PIXEL_UM)[0]
    rendered = render_land(
        striae, seed=2, pixel_um=PIXEL_UM, land_width_um=300.0, scan_width_um=900.0
    )
    with pytest.raises(EvidenceError, match="narrower than min_land_width_um"):
        prepare_land(rendered.surface)


def test_config_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="signature_bandpass_um"):
        BulletConfig(signature_bandpass_um=(300.0, 250.0))
    with pytest.raises(ValueError, match="striae_direction"):
        dataclasses.replace(DEFAULT_BULLET_CONFIG, striae_direction="diagonal")  # type: ignore[arg-type]


@pytest.mark.parametrize(("pixel_um", "fragment"), [(990.0, "coarser"), (0.1, "finer")])
def test_land_outside_the_resolution_range_is_refused(
    tmp_path, pixel_um: float, fragment: str
) -> None:  # type: ignore[no-untyped-def]
    surface = casing_disc(pixel_um=pixel_um)
    path = write_x3p(surface, tmp_path / "Land_1.x3p")
    started = time.perf_counter()
    with pytest.raises(ResolutionOutOfRangeError, match=rf"Land_1\.x3p: .* is {fragment}"):
        prepare_land(read_surface(path))
    with pytest.raises(ResolutionOutOfRangeError, match=rf"Land_1\.x3p: .* is {fragment}"):
        read_bullet(path)
    assert time.perf_counter() - started < 0.5
    with pytest.raises(ValueError, match="land_pixel_um_range"):
        BulletConfig(land_pixel_um_range=(0.0, 5.0))


def test_land_resolution_range_is_configuration() -> None:
    striae = barrel_striae(seed=3, pixel_um=PIXEL_UM)[0]
    surface = render_land(striae, seed=7, pixel_um=PIXEL_UM).surface
    prepare_land(surface)  # 3.125 µm: inside the default 0.3-5 µm
    narrow = BulletConfig(land_pixel_um_range=(0.3, 2.0))
    with pytest.raises(ResolutionOutOfRangeError, match="coarser than the 2 µm"):
        prepare_land(surface, config=narrow)

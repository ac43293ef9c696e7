"""Quality feedback on a photograph: each fault gets its warning, a good photograph none, and a
photograph with nothing usable left is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ballistics.casing.photo_quality import (
    PhotoQualityConfig,
    PhotoWarningCode,
    assess_photograph,
    photograph_warnings,
)
from ballistics.casing.roi import find_breech_face
from ballistics.errors import EvidenceError, UnusablePhotographError
from ballistics.surface import Modality, Surface
from tests.photographs import photograph
from tests.real_data import real_surface


@pytest.fixture(scope="module")
def good() -> Surface:
    return photograph().surface


def _photograph(**camera: float) -> Surface:
    return photograph(**camera).surface


def _with_values(surface: Surface, values: np.ndarray, *, bits: int = 8) -> Surface:
    """``surface`` with other levels, quantised to ``bits`` as a file of that depth holds them."""
    codes = 2**bits - 1
    return dataclasses.replace(
        surface,
        values=np.round(np.clip(values, 0.0, 1.0) * codes) / codes,
        metadata={"bit_depth": str(bits)},
    )


def _region_levels(surface: Surface) -> np.ndarray:
    return surface.values[find_breech_face(surface).mask]


def test_a_sharp_well_exposed_photograph_gets_no_warning(good):
    quality = assess_photograph(good)
    assert quality.warnings == ()
    assert quality.usable and quality.region_found
    assert quality.sharpness is not None and quality.sharpness > 0.6


def test_a_defocused_photograph_is_warned_blurred_and_told_to_focus(good):
    blurred = _photograph(defocus_um=25.0)
    quality = assess_photograph(blurred)
    assert PhotoWarningCode.BLURRED in quality.codes
    assert quality.usable
    assert quality.sharpness < assess_photograph(good).sharpness
    message = next(w.message for w in quality.warnings if w.code is PhotoWarningCode.BLURRED)
    assert "focus" in message


def test_a_photograph_with_a_part_of_its_primer_clipped_white_is_over_exposed(good):
    # brightened so that at most 45 % of the breech face is within a code of white
    levels = _region_levels(good)
    code = 1 / 255
    white = min(level for level in np.unique(levels) if np.mean(levels >= level - code) <= 0.45)
    brighter = _with_values(good, good.values + 1.0 - white)
    quality = assess_photograph(brighter, region=find_breech_face(good))
    assert quality.codes == (PhotoWarningCode.OVER_EXPOSED,)
    assert quality.usable
    assert 0.1 < quality.clipped_high_share <= 0.45
    assert "shorten the exposure" in quality.warnings[0].message


def test_a_dark_photograph_is_under_exposed(good):
    # the same marks at 6 % of full scale: nothing clipped, but too dark
    levels = _region_levels(good)
    quality = assess_photograph(_with_values(good, good.values - levels.mean() + 0.06))
    assert PhotoWarningCode.UNDER_EXPOSED in quality.codes
    assert quality.mean_level < 0.1 and quality.clipped_low_share < 0.1
    assert quality.usable
    assert "lengthen the exposure" in quality.warnings[0].message


def test_a_photograph_with_its_darkest_fifth_clipped_black_is_under_exposed(good):
    floor = np.quantile(_region_levels(good), 0.2)
    quality = assess_photograph(_with_values(good, good.values - floor))
    assert PhotoWarningCode.UNDER_EXPOSED in quality.codes
    assert quality.clipped_low_share > 0.15


def test_a_coarse_photograph_is_warned_with_its_pixel_size_and_the_size_needed():
    quality = assess_photograph(_photograph(pixel_um=12.0))
    assert quality.codes == (PhotoWarningCode.TOO_COARSE,)
    message = quality.warnings[0].message
    assert "12 µm per pixel" in message and "8 µm" in message and "16 µm" in message
    assert quality.sharpness is None  # a band the grid cannot hold is not measured


def test_a_photograph_at_the_coarsest_pixel_that_holds_the_short_cutoff_is_not_too_coarse():
    quality = assess_photograph(_photograph(pixel_um=8.0))
    assert PhotoWarningCode.TOO_COARSE not in quality.codes


def test_a_very_noisy_photograph_is_warned_noisy():
    quality = assess_photograph(_photograph(full_well=100.0, read_noise=0.03))
    assert PhotoWarningCode.NOISY in quality.codes
    assert quality.noise_share > 0.8


def test_a_photograph_clipped_white_almost_everywhere_is_refused_saying_why():
    white = _photograph(exposure=3.0)
    quality = assess_photograph(white)
    assert not quality.usable
    assert "clipped white" in quality.problem and "shorten the exposure" in quality.problem
    with pytest.raises(UnusablePhotographError, match="clipped white") as raised:
        quality.check_usable("case.png")
    assert isinstance(raised.value, EvidenceError)
    assert str(raised.value).startswith("case.png: ")
    with pytest.raises(UnusablePhotographError):
        photograph_warnings(white)


@pytest.mark.parametrize("level", [0.0, 0.5, 1.0])
def test_a_blank_photograph_is_refused(level):
    blank = Surface(np.full((400, 400), level), pixel_um=6.0, modality=Modality.PHOTOGRAPH)
    quality = assess_photograph(blank)
    assert not quality.usable
    assert not quality.region_found  # no primer: the whole image was measured
    with pytest.raises(UnusablePhotographError, match=r"blank|clipped"):
        photograph_warnings(blank)


def test_clipping_is_counted_at_the_files_bit_depth(good):
    # 0.999 of full scale is the top code of an 8-bit file, not of a 16-bit one
    region = find_breech_face(good)
    values = np.where(region.mask, 0.999, good.values)
    eight = assess_photograph(_with_values(good, values, bits=8), region=region)
    sixteen = assess_photograph(_with_values(good, values, bits=16), region=region)
    assert eight.clipped_high_share == pytest.approx(1.0)
    assert sixteen.clipped_high_share == pytest.approx(0.0)


def test_a_region_given_is_the_one_measured(good):
    region = find_breech_face(good)
    half = dataclasses.replace(region, mask=region.mask & (np.arange(good.shape[1]) < 540))
    assert assess_photograph(good, region=half).region_pixels == int((half.mask & good.mask).sum())


def test_a_3d_scan_gets_no_photograph_warnings():
    heights = Surface(np.zeros((50, 50)), pixel_um=6.25, modality=Modality.TOPOGRAPHY)
    assert photograph_warnings(heights) == ()
    with pytest.raises(ValueError, match="photograph"):
        assess_photograph(heights)


def test_warnings_read_as_json_with_code_and_message():
    quality = assess_photograph(_photograph(pixel_um=12.0))
    (warning,) = quality.as_json()["warnings"]
    assert warning == {"code": "too_coarse", "message": quality.warnings[0].message}


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match="short < long"):
        PhotoQualityConfig(short_band_um=(32.0, 16.0))
    with pytest.raises(ValueError, match="fraction"):
        PhotoQualityConfig(max_clipped_high_share=2.0)
    assert PhotoQualityConfig().coarsest_pixel_um == 8.0
    assert PhotoQualityConfig(max_pixel_um=5.0).coarsest_pixel_um == 5.0


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["NBIDE R BF 118.png", "NBIDE R BF 129.png"])
def test_the_real_nbide_photographs_get_no_warning(name):
    quality = assess_photograph(real_surface(f"images_2d/nbide/{name}"))
    assert quality.warnings == ()
    assert quality.usable and quality.region_found

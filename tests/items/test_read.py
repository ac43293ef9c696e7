"""Reading an item from its bytes: a photograph's quality warnings come with the casing, a
photograph with nothing usable left is refused, a 3D scan gets no photograph warning."""

from __future__ import annotations

import pytest

from ballistics.casing.prepare import PrepareConfig
from ballistics.errors import UnusablePhotographError
from ballistics.items.read import extract_casing
from ballistics.surface import Modality
from ballistics.synthetic import make_casing_dataset, write_exhibit_files
from tests.photographs import blank_png, photograph


def test_a_coarse_photographs_warning_comes_with_the_extracted_casing():
    coarse = photograph(pixel_um=12.0)
    casing = extract_casing(
        coarse.data,
        name="coarse.png",
        pixel_um=coarse.recorded_pixel_um,
        prepare_config=PrepareConfig(),
    )
    assert [warning.code for warning in casing.warnings] == ["too_coarse"]
    assert casing.mark.modality is Modality.PHOTOGRAPH


def test_a_good_photograph_is_extracted_without_warnings():
    good = photograph()
    casing = extract_casing(
        good.data, name="good.png", pixel_um=good.recorded_pixel_um, prepare_config=PrepareConfig()
    )
    assert casing.warnings == ()


@pytest.mark.parametrize("level", [0, 255])
def test_a_blank_photograph_is_refused_naming_the_file(level):
    with pytest.raises(UnusablePhotographError, match=r"^blank\.png: "):
        extract_casing(
            blank_png(level), name="blank.png", pixel_um=6.0, prepare_config=PrepareConfig()
        )


def test_a_3d_scan_gets_no_photograph_warnings(tmp_path):
    # a coarse scan (20 µm per pixel) that a photograph of would be warned too coarse
    records = make_casing_dataset(
        firearm_count=1, firings_per_firearm=1, seed=12, modality="topography", pixel_um=20.0
    )
    write_exhibit_files(records, tmp_path, modality="topography")
    (path,) = tmp_path.glob("*.x3p")
    casing = extract_casing(
        path.read_bytes(), name=path.name, pixel_um=None, prepare_config=PrepareConfig()
    )
    assert casing.mark.modality is Modality.TOPOGRAPHY
    assert casing.warnings == ()

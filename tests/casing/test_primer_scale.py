"""A photograph's pixel size from its calibre's primer: recovered within what is reported."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from ballistics.casing.prepare import PIXEL_UM_UNCERTAINTY_KEY, prepare_casing
from ballistics.casing.primer_scale import (
    PrimerScaleConfig,
    estimate_pixel_um,
    primer_type,
    read_casing_surface,
)
from ballistics.errors import EvidenceError, MissingMetadataError
from ballistics.io import read_surface
from ballistics.synthetic import make_casing_dataset
from ballistics.synthetic.photographs import Camera, Lighting, PhotoConditions, take_photograph

NBIDE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "images_2d" / "nbide"
UNCERTAINTY = PrimerScaleConfig().relative_uncertainty


@pytest.fixture(scope="module")
def fired():
    return make_casing_dataset(
        firearm_count=1, firings_per_firearm=1, seed=5, consecutive=False, modality=None
    )[0].fired


@pytest.mark.parametrize(
    ("calibre", "expected"),
    [
        ("9mm", "small pistol"),
        ("9 mm Luger", "small pistol"),
        ("9x19", "small pistol"),
        (".380 ACP", "small pistol"),
        (".40 S&W", "small pistol"),
        ("10mm Auto", "large pistol"),
        ("5.56x45", "small rifle"),
        ("7.62×39", "large rifle"),
        ("12 gauge", "shotshell 209"),
    ],
)
def test_calibres_name_their_primer(calibre, expected):
    assert primer_type(calibre) == expected


def test_a_calibre_loaded_with_two_primer_sizes_is_refused():
    with pytest.raises(ValueError, match="pixel_um"):
        primer_type(".45 ACP")


@pytest.mark.parametrize(("pixel_um", "elevation_deg"), [(3.0, 30.0), (6.0, 45.0), (11.0, 55.0)])
def test_the_pixel_size_of_a_photograph_is_recovered(fired, tmp_path, pixel_um, elevation_deg):
    conditions = PhotoConditions(
        lighting=Lighting(kind="ring", elevation_deg=elevation_deg),
        camera=Camera(pixel_um=pixel_um),
    )
    photograph = take_photograph(fired, conditions, seed=3)
    path = tmp_path / f"photo{photograph.suffix}"
    path.write_bytes(photograph.data)
    surface = read_surface(path, pixel_um=1.0)  # whatever the reader is told
    estimate = estimate_pixel_um(surface, calibre="9mm")
    assert estimate.pixel_um == pytest.approx(pixel_um, rel=UNCERTAINTY)
    assert estimate.primer_type == "small pistol"
    assert "estimated" in estimate.describe()


def test_a_photograph_without_resolution_is_read_at_its_primer_scale(fired, tmp_path):
    photograph = take_photograph(fired, PhotoConditions(camera=Camera(pixel_um=5.0)), seed=4)
    path = tmp_path / f"photo{photograph.suffix}"
    path.write_bytes(photograph.data)
    with pytest.raises(MissingMetadataError, match="calibre"):
        read_casing_surface(path)
    with pytest.raises(MissingMetadataError, match="45 ACP"):
        read_casing_surface(path, caliber=".45 ACP")
    surface = read_casing_surface(path, caliber="9mm")
    assert surface.pixel_um == pytest.approx(5.0, rel=UNCERTAINTY)
    assert surface.metadata["pixel_um_source"] == "primer"
    mark = prepare_casing(surface)
    assert mark.scale_uncertainty == pytest.approx(UNCERTAINTY)
    # a resolution given wins, and is not searched
    given = read_casing_surface(path, pixel_um=5.0, caliber="9mm")
    assert given.pixel_um == 5.0
    assert PIXEL_UM_UNCERTAINTY_KEY not in given.metadata


def test_an_image_without_a_primer_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.png"
    cv2.imwrite(str(path), (rng.uniform(size=(400, 400)) * 255).astype(np.uint8))
    with pytest.raises(EvidenceError, match="primer"):
        read_casing_surface(path, caliber="9mm")


@pytest.mark.skipif(not NBIDE.is_dir(), reason="real NBIDE photographs not in ../shared/data")
def test_real_photographs_are_scaled_within_the_reported_uncertainty():
    for path in sorted(NBIDE.glob("*.png")):
        surface = read_surface(path)  # the file's own 2.53 µm per pixel is the truth
        estimate = estimate_pixel_um(surface, calibre="9mm")
        assert estimate.pixel_um == pytest.approx(surface.pixel_um, rel=UNCERTAINTY)

"""read_surface: dispatch on content, sources as paths or bytes, and the real published scans."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest

from ballistics.errors import EvidenceError, UnreadableFileError
from ballistics.io import (
    FileFormat,
    ReadLimits,
    detect_format,
    read_surface,
    write_png,
    write_x3p,
)
from ballistics.surface import Modality, Surface

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def topography() -> Surface:
    y, x = np.mgrid[0:20, 0:24]
    return Surface(values=(x + 10.0 * y) / 7.0, pixel_um=6.25, modality=Modality.TOPOGRAPHY)


def photograph() -> Surface:
    y, x = np.mgrid[0:20, 0:24]
    return Surface(values=(x + y) / 42.0, pixel_um=2.53, modality=Modality.PHOTOGRAPH)


def test_format_is_recognised_by_content() -> None:
    assert detect_format(b"PK\x03\x04rest") is FileFormat.X3P
    assert detect_format(b"\x89PNG\r\n\x1a\nrest") is FileFormat.PNG
    assert detect_format(b"II*\x00rest") is FileFormat.TIFF
    assert detect_format(b"MM\x00*rest") is FileFormat.TIFF
    assert detect_format(b"\xff\xd8\xff\xe0rest") is FileFormat.JPEG
    assert detect_format(b"GIF89a") is None
    assert detect_format(b"") is None


def test_dispatch_ignores_the_file_extension(tmp_path: Path) -> None:
    x3p_as_png = write_x3p(topography(), tmp_path / "scan.png")
    png_as_x3p = write_png(photograph(), tmp_path / "photo.x3p")

    assert read_surface(x3p_as_png).modality is Modality.TOPOGRAPHY
    assert read_surface(png_as_x3p).modality is Modality.PHOTOGRAPH


def test_bytes_source_takes_its_name_and_hash(tmp_path: Path) -> None:
    content = write_x3p(topography(), tmp_path / "scan.x3p").read_bytes()

    surface = read_surface(content, name="upload-17.x3p")

    assert surface.source == "upload-17.x3p"
    assert surface.sha256 == hashlib.sha256(content).hexdigest()
    np.testing.assert_allclose(surface.values, topography().values, rtol=1e-12)
    assert read_surface(content).source == "upload"


def test_path_source_is_named_by_the_path_given(tmp_path: Path) -> None:
    path = write_png(photograph(), tmp_path / "photo.png")
    assert read_surface(str(path)).source == str(path)
    assert read_surface(path, name="exhibit 3").source == "exhibit 3"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"GIF89a" + bytes(100), "not an X3P, PNG, TIFF or JPEG file"),
        (b"%PDF-1.7\n", "not an X3P, PNG, TIFF or JPEG file"),
        (b"", "empty"),
    ],
)
def test_unknown_or_empty_content_is_refused(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "evidence.png"
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError, match=fragment) as caught:
        read_surface(path)
    assert "evidence.png" in str(caught.value)
    with pytest.raises(UnreadableFileError, match=r"upload\.bin"):
        read_surface(content, name="upload.bin")


def test_missing_path_and_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match=r"missing\.x3p"):
        read_surface(tmp_path / "missing.x3p")
    with pytest.raises(UnreadableFileError, match="folder"):
        read_surface(tmp_path)


def test_bytes_past_the_file_limit_are_refused() -> None:
    with pytest.raises(EvidenceError, match=r"big\.png.*past the limit"):
        read_surface(bytes(2000), name="big.png", limits=ReadLimits(max_file_bytes=1000))


def test_pixel_um_does_not_override_an_x3p_spacing(tmp_path: Path) -> None:
    path = write_x3p(topography(), tmp_path / "scan.x3p")

    surface = read_surface(path, pixel_um=3.0)

    assert surface.pixel_um == pytest.approx(6.25)
    assert surface.metadata["pixel_um_argument_ignored"] == "3"
    assert "pixel_um_argument_ignored" not in read_surface(path, pixel_um=6.25).metadata


def test_pixel_um_sets_the_scale_of_a_photograph(tmp_path: Path) -> None:
    path = write_png(photograph(), tmp_path / "photo.png")
    assert read_surface(path, pixel_um=1.5).pixel_um == 1.5
    with pytest.raises(EvidenceError, match=r"photo\.png.*pixel_um"):
        read_surface(path, pixel_um=-2.0)


def test_read_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="max_points"):
        ReadLimits(max_points=0)
    with pytest.raises(ValueError, match="max_compression_ratio"):
        ReadLimits(max_compression_ratio=float("nan"))


# --- real published scans --------------------------------------------------------------------


def real(relative: str) -> Path:
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.mark.real_data
def test_fadul_scans_are_at_6_25_um_with_most_of_the_grid_missing() -> None:
    folder = real("cartridge_cases/fadul")
    paths = sorted(folder.glob("*.x3p"))
    assert len(paths) == 40
    for path in paths:
        surface = read_surface(path)
        assert surface.pixel_um == pytest.approx(6.25), path.name
        # The data README's "64-77 %", rounded to whole percent (Fadul I: 63.9 %).
        assert 0.635 <= 1 - surface.valid_fraction < 0.775, path.name
        heights = surface.values[surface.mask]
        assert 1.0 < np.ptp(heights) < 100.0, path.name  # band-passed: micrometres
        assert surface.metadata["units_detected"] == "m"
        assert surface.metadata["checksum_data"] == "verified"


@pytest.mark.real_data
def test_dfsc_micrometre_file_is_detected_and_matches_a_metre_file() -> None:
    in_micrometres = read_surface(real("cartridge_cases/dfsc/aces_processed/K002fJ1.x3p"))
    in_metres = read_surface(real("cartridge_cases/dfsc/aces_processed/K066jN1.x3p"))

    assert in_micrometres.metadata["units_detected"] == "um"
    assert in_metres.metadata["units_detected"] == "m"
    for surface in (in_micrometres, in_metres):
        assert surface.pixel_um == pytest.approx(7.3845, abs=1e-3)
        spread = np.nanpercentile(surface.values, [1, 99])
        # The same processing (band-pass), so the same few-micrometre relief either way.
        assert -20.0 < spread[0] < -0.5 and 0.5 < spread[1] < 20.0


@pytest.mark.real_data
def test_dfsc_units_agree_with_the_labels() -> None:
    labels = real("labels.csv")
    with labels.open(newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row["set"] == "dfsc"]
    by_path: dict[str, set[str]] = {}
    for row in rows:
        by_path.setdefault(row["path"], set()).add(row["z_unit_in_file"])
    for relative, units in by_path.items():
        surface = read_surface(DATA / relative)
        # labels.csv lists one file twice with different units; the file itself decides.
        assert surface.metadata["units_detected"] in units, relative


@pytest.mark.real_data
def test_dfsc_raw_scan_mask_becomes_the_breech_face_region() -> None:
    surface = read_surface(real("cartridge_cases/dfsc/raw/K013sA1.x3p"))

    assert surface.region_of_interest is not None
    assert surface.region_of_interest.shape == surface.shape
    # The white annulus: a ring around the firing pin, about a seventh of the scan.
    assert 0.08 < surface.region_of_interest.mean() < 0.25
    rows, columns = surface.shape
    assert not surface.region_of_interest[rows // 2, columns // 2]  # firing-pin hole
    assert not surface.region_of_interest[0, 0]  # outside the primer
    assert surface.metadata["mask"] == "binary mask: white kept"


@pytest.mark.real_data
def test_dfsc_annotated_defects_are_left_out_of_the_region() -> None:
    surface = read_surface(real("cartridge_cases/dfsc/raw/K002eG2.x3p"))

    assert surface.region_of_interest is not None
    excluded = ~surface.region_of_interest
    assert 0.05 < excluded.mean() < 0.25
    # The annotated aperture shear lies on measured points: it is a defect, not a hole.
    assert surface.mask[excluded].mean() > 0.5


@pytest.mark.real_data
def test_hamby252_land_is_at_1_5625_um() -> None:
    surface = read_surface(real("bullets/hamby252/Hamby252_Barrel1_Bullet1_Land1.x3p"))
    assert surface.pixel_um == pytest.approx(1.5625)
    assert surface.shape == (1588, 501)
    assert surface.valid_fraction > 0.9
    assert 50.0 < np.ptp(surface.values[surface.mask]) < 1000.0  # a curved land, in µm


@pytest.mark.real_data
def test_nbide_png_is_at_2_53_um() -> None:
    surface = read_surface(real("images_2d/nbide/NBIDE R BF 129.png"))
    assert surface.modality is Modality.PHOTOGRAPH
    assert surface.pixel_um == pytest.approx(2.53, abs=0.005)

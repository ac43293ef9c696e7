"""Headers read before decoding: what each file declares, and the limits of an item of files."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

from ballistics.errors import LimitExceededError, UnreadableFileError
from ballistics.io import FileFormat, ReadLimits, read_surface, write_png, write_x3p
from ballistics.io.declared import declared_file, declared_files
from ballistics.surface import Modality, Surface
from tests.io.hostile import coarse_x3p, many_samples_tiff


def x3p_bytes(tmp_path: Path, *, pixel_um: float = 2.0, shape: tuple[int, int] = (30, 40)) -> bytes:
    heights = np.arange(shape[0] * shape[1], dtype=float).reshape(shape) * 0.01
    surface = Surface(values=heights, pixel_um=pixel_um, modality=Modality.TOPOGRAPHY)
    return write_x3p(surface, tmp_path / f"scan-{pixel_um:g}.x3p").read_bytes()


@pytest.mark.parametrize("pixel_um", [0.645, 2.0, 990.0])
def test_x3p_header_gives_the_grid_and_the_spacing_the_reader_keeps(
    tmp_path: Path, pixel_um: float
) -> None:
    data = x3p_bytes(tmp_path, pixel_um=pixel_um)
    declared = declared_file(data, name="land.x3p")
    surface = read_surface(data, name="land.x3p")
    assert declared.file_format is FileFormat.X3P
    assert declared.points == 30 * 40 == surface.values.size
    assert declared.pixel_um == pytest.approx(surface.pixel_um)
    assert declared.size_bytes == len(data)


def test_image_headers_give_their_points(tmp_path: Path) -> None:
    photo = Surface(values=np.zeros((20, 30)), pixel_um=2.0, modality=Modality.PHOTOGRAPH)
    png = write_png(photo, tmp_path / "photo.png").read_bytes()
    assert declared_file(png, name="photo.png").points == 600
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((20, 30, 3), np.uint8), photometric="rgb")
    declared = declared_file(buffer.getvalue(), name="photo.tif")
    assert declared.file_format is FileFormat.TIFF and declared.points == 1800
    assert declared.pixel_um is None


def test_header_past_a_limit_or_of_an_unknown_type_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match=r"^notes\.x3p: not an X3P, PNG, TIFF or JPEG"):
        declared_file(b"plain text, not a scan", name="notes.x3p")
    with pytest.raises(LimitExceededError, match=r"^big\.x3p: 40×30 = 1200 points"):
        declared_file(x3p_bytes(tmp_path), name="big.x3p", limits=ReadLimits(max_points=1000))
    started = time.perf_counter()
    with pytest.raises(LimitExceededError, match=r"^bomb\.tif: .*67108864 points"):
        declared_file(many_samples_tiff(), name="bomb.tif")
    assert time.perf_counter() - started < 2.0


def test_item_of_too_many_files_is_refused_before_any_header(tmp_path: Path) -> None:
    files = [(f"land_{k}.x3p", b"never parsed") for k in range(13)]
    with pytest.raises(LimitExceededError, match="13 files in one item, past the limit of 12"):
        declared_files(files, source="bullet A")


def test_item_past_its_total_bytes_or_points_is_refused(tmp_path: Path) -> None:
    land = x3p_bytes(tmp_path)
    files = [("land_1.x3p", land), ("land_2.x3p", land), ("land_3.x3p", land)]
    assert [item.points for item in declared_files(files)] == [1200, 1200, 1200]
    with pytest.raises(LimitExceededError, match=r"^bullet A: the 3 files hold \d+ bytes"):
        declared_files(
            files, source="bullet A", limits=ReadLimits(max_total_bytes=3 * len(land) - 1)
        )
    with pytest.raises(LimitExceededError, match="the 3 files declare 3600 points together"):
        declared_files(files, limits=ReadLimits(max_total_points=3599))


def test_coarse_x3p_declares_its_spacing(tmp_path: Path) -> None:
    path = coarse_x3p(tmp_path / "coarse.x3p")
    assert declared_file(path.read_bytes(), name="coarse.x3p").pixel_um == pytest.approx(990.0)

"""Photographs: intensities, resolution and refusal of bad images."""

from __future__ import annotations

import dataclasses
import io
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from ballistics.errors import (
    EvidenceError,
    LimitExceededError,
    MissingMetadataError,
    UnreadableFileError,
)
from ballistics.io import ReadLimits, read_image, write_png
from ballistics.surface import Modality, Surface
from tests.io.hostile import deep_tiff, many_samples_tiff, strip_bomb_tiff
from tests.io.refusals import assert_refused

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
NBIDE = DATA / "images_2d" / "nbide" / "NBIDE R BF 118.png"


def gradient(rows: int = 40, columns: int = 60) -> np.ndarray:
    """Intensities in [0, 1], different in every row and column."""
    y, x = np.mgrid[0:rows, 0:columns]
    return (x + y * columns) / (rows * columns - 1)


def photograph(values: np.ndarray | None = None, pixel_um: float = 2.53) -> Surface:
    return Surface(
        values=gradient() if values is None else values,
        pixel_um=pixel_um,
        modality=Modality.PHOTOGRAPH,
    )


def png_bytes(pixels: np.ndarray, **save_options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", **save_options)
    return buffer.getvalue()


def write(tmp_path: Path, content: bytes, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


# --- round trips and known values ------------------------------------------------------------


@pytest.mark.parametrize(("bit_depth", "step"), [(8, 1 / 255), (16, 1 / 65535)])
def test_png_round_trip_keeps_intensities_and_resolution(
    tmp_path: Path, bit_depth: int, step: float
) -> None:
    original = photograph(pixel_um=2.53)
    path = write_png(original, tmp_path / "photo.png", bit_depth=bit_depth)

    surface = read_image(path)

    assert surface.modality is Modality.PHOTOGRAPH
    assert surface.shape == original.shape
    assert surface.pixel_um == pytest.approx(2.53, rel=1e-5)
    np.testing.assert_allclose(surface.values, original.values, atol=step / 2 + 1e-12)
    assert surface.metadata["bit_depth"] == str(bit_depth)
    assert surface.metadata["pixel_um_source"] == "file"


def test_write_png_is_atomic_and_refuses_what_a_png_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(b"previous")
    write_png(photograph(), path)
    assert [entry.name for entry in tmp_path.iterdir()] == ["photo.png"]

    with_nan = gradient()
    with_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_png(photograph(with_nan), tmp_path / "nan.png")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        write_png(photograph(gradient() * 2), tmp_path / "bright.png")
    with pytest.raises(ValueError, match="bit_depth"):
        write_png(photograph(), tmp_path / "deep.png", bit_depth=12)
    topography = dataclasses.replace(photograph(), modality=Modality.TOPOGRAPHY)
    with pytest.raises(ValueError, match="write_x3p"):
        write_png(topography, tmp_path / "heights.png")


def test_colour_is_converted_to_luma(tmp_path: Path) -> None:
    pixels = np.zeros((20, 30, 3), dtype=np.uint8)
    pixels[:, :10] = (255, 0, 0)
    pixels[:, 10:20] = (0, 255, 0)
    pixels[:, 20:] = (0, 0, 255)
    path = write(tmp_path, png_bytes(pixels), "colour.png")

    surface = read_image(path, pixel_um=1.0)

    np.testing.assert_allclose(surface.values[0, [0, 15, 25]], [0.299, 0.587, 0.114], atol=1e-9)


def test_sixteen_bit_colour_png_keeps_its_precision(tmp_path: Path) -> None:
    pixels = np.zeros((20, 20, 3), dtype=np.uint16)
    pixels[...] = (1000, 2000, 3000)  # RGB; OpenCV writes BGR, so reverse the channels
    ok, encoded = cv2.imencode(".png", pixels[..., ::-1])
    assert ok
    path = write(tmp_path, encoded.tobytes(), "deep colour.png")

    surface = read_image(path, pixel_um=1.0)

    expected = (0.299 * 1000 + 0.587 * 2000 + 0.114 * 3000) / 65535
    np.testing.assert_allclose(surface.values, expected, rtol=1e-12)
    assert surface.metadata["bit_depth"] == "16"


def test_explicit_pixel_um_overrides_the_file(tmp_path: Path) -> None:
    path = write_png(photograph(pixel_um=2.53), tmp_path / "photo.png")
    surface = read_image(path, pixel_um=4.0)
    assert surface.pixel_um == 4.0
    assert surface.metadata["pixel_um_source"] == "argument"
    assert surface.metadata["pixel_um_in_file"].startswith("2.53")


@pytest.mark.parametrize(
    ("unit", "resolution", "expected_um"),
    [("CENTIMETER", 4000.0, 2.5), ("INCH", 10160.0, 2.5)],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_tiff_intensities_and_resolution(
    tmp_path: Path, unit: str, resolution: float, expected_um: float, dtype: type
) -> None:
    top = np.iinfo(dtype).max
    pixels = np.rint(gradient() * top).astype(dtype)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels, resolution=(resolution, resolution), resolutionunit=unit)
    path = write(tmp_path, buffer.getvalue(), "photo.tif")

    surface = read_image(path)

    assert surface.pixel_um == pytest.approx(expected_um)
    np.testing.assert_allclose(surface.values, pixels / top, rtol=1e-12)
    assert surface.metadata["bit_depth"] == str(np.dtype(dtype).itemsize * 8)


def test_rgb_tiff_and_lzw_tiff_are_read(tmp_path: Path) -> None:
    rgb = np.zeros((20, 20, 3), dtype=np.uint16)
    rgb[...] = (65535, 0, 0)
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer, rgb, photometric="rgb", resolution=(4000, 4000), resolutionunit="CENTIMETER"
    )
    assert read_image(write(tmp_path, buffer.getvalue(), "rgb.tif")).values[0, 0] == (
        pytest.approx(0.299)
    )

    grey = np.rint(gradient() * 65535).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="TIFF", compression="tiff_lzw", dpi=(10160, 10160))
    surface = read_image(write(tmp_path, buffer.getvalue(), "lzw.tif"))
    np.testing.assert_allclose(surface.values, grey / 65535, rtol=1e-12)
    assert surface.pixel_um == pytest.approx(2.5)


def test_jpeg_is_read_with_its_density(tmp_path: Path) -> None:
    grey = np.full((32, 32), 128, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="JPEG", quality=95, dpi=(5080, 5080))
    surface = read_image(write(tmp_path, buffer.getvalue(), "photo.jpg"))
    assert surface.pixel_um == pytest.approx(5.0)
    np.testing.assert_allclose(surface.values, 128 / 255, atol=2 / 255)


def test_non_square_pixels_are_resampled_to_the_x_spacing(tmp_path: Path) -> None:
    path = write(
        tmp_path, png_bytes(np.full((20, 30), 200, np.uint8), dpi=(10160, 5080)), "stretched.png"
    )
    surface = read_image(path)
    assert surface.pixel_um == pytest.approx(2.5, rel=1e-4)
    assert surface.shape == (40, 30)
    np.testing.assert_allclose(surface.values, 200 / 255)


@pytest.mark.real_data
def test_real_nbide_photograph_has_its_resolution() -> None:
    if not NBIDE.exists():
        pytest.skip(f"real data not found at {NBIDE}")
    surface = read_image(NBIDE)
    assert surface.pixel_um == pytest.approx(2.53, abs=0.005)
    assert surface.shape == (1944, 2592)
    assert np.nanmin(surface.values) >= 0.0 and np.nanmax(surface.values) <= 1.0
    assert surface.values.std() > 0.05


# --- resolution missing ----------------------------------------------------------------------


def test_png_without_resolution_needs_pixel_um(tmp_path: Path) -> None:
    path = write(tmp_path, png_bytes(np.zeros((20, 20), np.uint8)), "no resolution.png")
    assert_refused(read_image, path, MissingMetadataError, "pass pixel_um")
    assert read_image(path, pixel_um=3.0).pixel_um == 3.0


def test_software_default_dpi_is_not_a_resolution(tmp_path: Path) -> None:
    path = write(tmp_path, png_bytes(np.zeros((20, 20), np.uint8), dpi=(72, 72)), "screen.png")
    assert_refused(read_image, path, MissingMetadataError, "software default")


@pytest.mark.parametrize("pixel_um", [0.0, -1.0, float("nan")])
def test_invalid_pixel_um_is_refused(tmp_path: Path, pixel_um: float) -> None:
    path = write(tmp_path, png_bytes(np.zeros((20, 20), np.uint8)), "plain.png")
    with pytest.raises(EvidenceError, match="pixel_um") as caught:
        read_image(path, pixel_um=pixel_um)
    assert "plain.png" in str(caught.value)


# --- bad images ------------------------------------------------------------------------------


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert_refused(read_image, write(tmp_path, b"", "empty.png"), UnreadableFileError, "empty")


@pytest.mark.parametrize("side", [1, 15])
def test_tiny_image_is_refused(tmp_path: Path, side: int) -> None:
    path = write(tmp_path, png_bytes(np.zeros((side, side), np.uint8)), "dot.png")
    assert_refused(read_image, path, UnreadableFileError, "too small", pixel_um=1.0)


def test_text_named_png_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, b"this is not an image\n" * 10, "notes.png")
    assert_refused(read_image, path, UnreadableFileError, "not a PNG, TIFF or JPEG")


def test_image_past_the_pixel_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, png_bytes(np.zeros((40, 40), np.uint8)), "large.png")
    assert_refused(
        read_image,
        path,
        LimitExceededError,
        "1600 points",
        pixel_um=1.0,
        limits=ReadLimits(max_points=1000),
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` with a few bytes of pixel data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(100)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [9_000, 12_000, 100_000])
def test_decompression_bomb_is_refused_from_its_header(tmp_path: Path, side: int) -> None:
    # 81 M pixels (past our limit), 144 M (past Pillow's warning), 10 G (past Pillow's error).
    path = write(tmp_path, png_header_only(side, side), "bomb.png")
    assert_refused(read_image, path, LimitExceededError, "", pixel_um=1.0)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_png_is_refused(tmp_path: Path, keep: float) -> None:
    content = png_bytes(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    path = write(tmp_path, content[: int(len(content) * keep)], "cut.png")
    assert_refused(read_image, path, UnreadableFileError, "", pixel_um=1.0)


def test_png_missing_only_its_end_is_refused(tmp_path: Path) -> None:
    content = png_bytes(np.zeros((20, 20), np.uint8))
    path = write(tmp_path, content[:-12], "no end.png")  # the IEND chunk is 12 bytes
    assert_refused(read_image, path, UnreadableFileError, "", pixel_um=1.0)


def test_png_with_a_bad_checksum_is_refused(tmp_path: Path) -> None:
    content = bytearray(png_bytes(np.full((20, 20), 7, np.uint8)))
    idat = content.find(b"IDAT")
    content[idat + 6] ^= 0xFF
    path = write(tmp_path, bytes(content), "bitflip.png")
    assert_refused(read_image, path, UnreadableFileError, "", pixel_um=1.0)


def test_truncated_jpeg_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    noise = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, format="JPEG")
    content = buffer.getvalue()
    path = write(tmp_path, content[: len(content) // 2], "cut.jpg")
    assert_refused(read_image, path, UnreadableFileError, "truncated", pixel_um=1.0)


def test_truncated_tiff_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((64, 64), np.uint16))
    content = buffer.getvalue()
    path = write(tmp_path, content[: len(content) // 2], "cut.tif")
    assert_refused(read_image, path, UnreadableFileError, "truncated", pixel_um=1.0)


def test_floating_point_tiff_is_refused_with_a_reason(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((20, 20), np.float32))
    path = write(tmp_path, buffer.getvalue(), "float.tif")
    assert_refused(read_image, path, UnreadableFileError, "8- or 16-bit", pixel_um=1.0)


def test_tiff_past_the_pixel_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((40, 40), np.uint8))
    path = write(tmp_path, buffer.getvalue(), "large.tif")
    assert_refused(
        read_image,
        path,
        LimitExceededError,
        "1600 points",
        pixel_um=1.0,
        limits=ReadLimits(max_points=1000),
    )


def test_min_is_white_tiff_is_inverted(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((20, 20), np.uint8), photometric="miniswhite")
    surface = read_image(write(tmp_path, buffer.getvalue(), "negative.tif"), pixel_um=1.0)
    np.testing.assert_array_equal(surface.values, 1.0)


# --- what a TIFF declares, refused before it is decoded --------------------------------------


def _refused_cheaply(path: Path, fragment: str) -> str:
    """Refused with LimitExceededError naming the file, in under a second and 32 MB."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        message = assert_refused(read_image, path, LimitExceededError, fragment, pixel_um=1.0)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0, elapsed
    assert peak < 32 * 1024 * 1024, peak
    return message


def test_tiff_samples_per_pixel_count_against_the_point_limit(tmp_path: Path) -> None:
    # 1024 × 1024 × 64 samples = 67 M values in 70 KB; decoding it took 4 GB
    path = write(tmp_path, many_samples_tiff(), "samples.tif")
    _refused_cheaply(path, "1024×1024×64 samples = 67108864 points")


def test_tiff_image_depth_counts_against_the_point_limit(tmp_path: Path) -> None:
    path = write(tmp_path, deep_tiff(), "volume.tif")
    _refused_cheaply(path, "64 deep = 67108864 points")


def test_tiff_strip_inflating_past_its_declared_size_is_refused(tmp_path: Path) -> None:
    # 64 × 64 pixels declared, one strip of 0.1 MB that inflates to 100 MB
    path = write(tmp_path, strip_bomb_tiff(), "bomb.tif")
    _refused_cheaply(path, "decompression bomb")


def test_tiff_of_many_samples_within_the_limit_is_read(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pixels = np.zeros((20, 30, 5), np.uint8)
    pixels[..., 0] = 255  # red, then four extra samples
    tifffile.imwrite(buffer, pixels, photometric="rgb", compression="zlib")
    path = write(tmp_path, buffer.getvalue(), "five.tif")
    surface = read_image(path, pixel_um=1.0, limits=ReadLimits(max_points=20 * 30 * 5))
    np.testing.assert_allclose(surface.values, 0.299)
    with pytest.raises(LimitExceededError, match="30×20×5 samples"):
        read_image(path, pixel_um=1.0, limits=ReadLimits(max_points=20 * 30 * 5 - 1))

"""The compact encoding of prepared marks: float16 precision, exact NaN pattern, refusals."""

from __future__ import annotations

import dataclasses
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from ballistics.casing.marks import PreparedCasing
from ballistics.items.encoding import (
    FORMAT_VERSION,
    MAGIC,
    MarkFormatError,
    decode_casing_mark,
    decode_mark,
    encode_casing_mark,
    encode_mark,
)
from ballistics.surface import Modality

#: float16 keeps 11 significant bits: a relative rounding error of at most 2**-11
FLOAT16_RELATIVE_ERROR = 2.0**-11


def _casing(seed: int = 0, *, size: int = 256, height_um: float = 2.0) -> PreparedCasing:
    """A breech face like a prepared one: smooth heights, NaN outside the primer and in the
    firing-pin crater, and a firing-pin mark of its own."""
    rng = np.random.default_rng(seed)
    heights = gaussian_filter(rng.normal(0.0, 1.0, (size, size)), 2.0)
    heights *= height_um / heights.std()
    rows, columns = np.mgrid[:size, :size] - (size - 1) / 2
    radius = np.hypot(rows, columns)
    heights[(radius > size * 0.48) | (radius < size * 0.08)] = np.nan
    firing_pin = gaussian_filter(rng.normal(0.0, 1.0, (48, 48)), 1.5)
    firing_pin[:4] = np.nan
    return PreparedCasing(
        breech_face=heights,
        pixel_um=3.125,
        modality=Modality.TOPOGRAPHY,
        firing_pin=firing_pin,
        sha256="ab" * 32,
        source="fadul-1-1.x3p",
    )


def _assert_float16_close(decoded: np.ndarray, original: np.ndarray) -> None:
    assert decoded.dtype == np.float32
    assert decoded.shape == original.shape
    np.testing.assert_array_equal(np.isnan(decoded), np.isnan(original))
    valid = ~np.isnan(original)
    largest = np.abs(original[valid]).max()
    # relative to each value, plus float16's smallest normal step at the array's scale
    tolerance = np.abs(original[valid]) * FLOAT16_RELATIVE_ERROR + largest * 2.0**-24
    assert (np.abs(decoded[valid] - original[valid]) <= tolerance).all()


@pytest.mark.parametrize("height_um", [1e-3, 2.0, 5e4])
def test_casing_marks_round_trip_within_float16_precision(height_um: float) -> None:
    mark = _casing(height_um=height_um)
    decoded = decode_casing_mark(encode_casing_mark(mark))
    _assert_float16_close(decoded.breech_face, mark.breech_face)
    assert decoded.firing_pin is not None and mark.firing_pin is not None
    _assert_float16_close(decoded.firing_pin, mark.firing_pin)
    assert (decoded.pixel_um, decoded.modality, decoded.sha256, decoded.source) == (
        3.125,
        Modality.TOPOGRAPHY,
        "ab" * 32,
        "fadul-1-1.x3p",
    )


def test_values_beyond_float16_range_survive_through_the_power_of_two_scale() -> None:
    breech_face = np.array([[1e6, -3e5], [np.nan, 7.0]], dtype=np.float32)
    decoded = decode_casing_mark(
        encode_casing_mark(PreparedCasing(breech_face, pixel_um=1.0, modality="photograph"))
    )
    _assert_float16_close(decoded.breech_face, breech_face)
    assert np.isfinite(decoded.breech_face[0]).all()


def test_a_mark_without_firing_pin_decodes_without_one() -> None:
    mark = _casing()
    without = PreparedCasing(mark.breech_face, pixel_um=mark.pixel_um, modality=mark.modality)
    decoded = decode_casing_mark(encode_casing_mark(without))
    assert decoded.firing_pin is None
    assert (decoded.sha256, decoded.source) == ("", "")


def test_an_estimated_scale_travels_with_the_mark() -> None:
    mark = _casing()
    estimated = dataclasses.replace(mark, scale_uncertainty=0.12)
    assert decode_casing_mark(encode_casing_mark(estimated)).scale_uncertainty == 0.12
    assert decode_casing_mark(encode_casing_mark(mark)).scale_uncertainty == 0.0
    assert encode_casing_mark(mark) != encode_casing_mark(estimated)


def test_the_encoding_is_less_than_a_third_of_the_float32_mark() -> None:
    mark = _casing(size=512)
    assert len(encode_casing_mark(mark)) < mark.breech_face.nbytes / 3


def test_generic_marks_carry_their_kind_and_one_dimensional_arrays() -> None:
    lands = {
        "land_0": np.array([0.5, np.nan, -1.25, 3.0]),
        "land_1": np.linspace(-2.0, 2.0, 101),
        "empty": np.zeros(0),
    }
    data = encode_mark("bullet", lands, attributes={"pixel_um": 1.5625, "lands": 2})
    decoded = decode_mark(data)
    assert decoded.kind == "bullet"
    assert dict(decoded.attributes) == {"pixel_um": 1.5625, "lands": 2}
    assert list(decoded.arrays) == ["land_0", "land_1", "empty"]
    for name in ("land_0", "land_1"):
        _assert_float16_close(decoded.arrays[name], lands[name])
    assert decoded.arrays["empty"].shape == (0,)
    with pytest.raises(MarkFormatError, match="'bullet', not a 'cartridge_case'"):
        decode_casing_mark(data)


def test_infinite_values_are_refused_with_the_array_named() -> None:
    with pytest.raises(ValueError, match="'breech_face' holds infinite values"):
        encode_mark("cartridge_case", {"breech_face": np.array([1.0, np.inf])}, attributes={})


def test_encoding_is_deterministic_and_holds_no_pickle() -> None:
    mark = _casing()
    data = encode_casing_mark(mark)
    assert data == encode_casing_mark(mark)
    assert data.startswith(MAGIC + struct.pack("<H", FORMAT_VERSION))
    assert b"numpy" not in data and b"\x80\x04" not in data[:32]  # no pickle protocol header


def _flip(data: bytes, index: int) -> bytes:
    damaged = bytearray(data)
    damaged[index] ^= 0x10
    return bytes(damaged)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[:10], "shorter than its prefix|truncated"),
        (lambda data: b"PK\x03\x04" + data[4:], "not an encoded mark"),
        (lambda data: data[:4] + struct.pack("<H", 99) + data[6:], "format version 99"),
        (lambda data: _flip(data, 40), "damaged"),
        (lambda data: _flip(data, len(data) - 5), "damaged"),
        (lambda data: data[:-20], "damaged"),
    ],
    ids=["truncated", "magic", "future-version", "header-bit", "payload-bit", "cut-payload"],
)
def test_damaged_or_foreign_bytes_are_refused(
    damage: Callable[[bytes], bytes], message: str
) -> None:
    data = encode_casing_mark(_casing(size=64))
    with pytest.raises(MarkFormatError, match=message):
        decode_casing_mark(damage(data))


def test_a_header_that_promises_more_than_the_payload_holds_is_refused() -> None:
    # a well-formed blob (valid checksum) whose header lies about the array's size
    data = encode_mark("cartridge_case", {"breech_face": np.ones((4, 4))}, attributes={})
    header_length = struct.unpack_from("<I", data, 6)[0]
    header = data[14 : 14 + header_length].replace(b"[4, 4]", b"[4, 8]")
    payload = data[14 + header_length :]
    checksum = zlib.crc32(payload, zlib.crc32(header))
    forged = struct.pack("<4sHII", MAGIC, FORMAT_VERSION, len(header), checksum) + header + payload
    with pytest.raises(MarkFormatError, match="payload holds"):
        decode_mark(forged)

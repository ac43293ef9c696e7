"""A compact, versioned, pickle-free encoding of prepared marks, for storing them.

Re-ranking a search compares the query with the prepared marks of its candidates; storing those
marks (rather than re-reading and re-preparing the originals) keeps a search to milliseconds
per candidate. A 512 x 512 float32 mark takes 1 MiB; this encoding keeps half-precision values
of the valid points only, plus a one-bit validity mask, compressed with zlib.

Layout (all integers little-endian)::

    4 bytes   magic b"BMRK"
    2 bytes   format version (uint16), FORMAT_VERSION
    4 bytes   header length H (uint32)
    4 bytes   CRC-32 of everything after this field (header and payload)
    H bytes   header, UTF-8 JSON: {"kind", "attributes", "arrays": [{"name", "shape",
              "scale_exponent", "valid_count"}]}
    the rest  zlib stream of, per array in header order: the validity mask (numpy.packbits,
              little bit order, one bit per element in C order) then the float16 values of the
              valid elements divided by 2**scale_exponent, byte-shuffled (all low bytes, then
              all high bytes: sign and exponent bytes repeat and compress, ~20 % smaller)

The scale is a power of two chosen so that every scaled value is at most 1 in magnitude:
scaling by it is exact, float16 never overflows whatever the units, and each value keeps
float16's relative precision (2**-11) unless it is below 2**-14 of the array's largest. The
``kind`` tag says what the arrays are (:class:`~ballistics.items.kinds.ItemKind`):
``"cartridge_case"`` (2-D ``breech_face`` and optional ``firing_pin``) or ``"bullet"`` (each
land's 1-D signature and profile); another kind needs no new format version. Marks stored by
earlier releases (``api/store/marks.py``) decode unchanged: the bytes are the same.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ballistics.bullet.compare import PreparedBullet
from ballistics.bullet.land import PreparedLand
from ballistics.casing.marks import PreparedCasing
from ballistics.items.kinds import ItemKind

MAGIC = b"BMRK"
FORMAT_VERSION = 1
CARTRIDGE_CASE = ItemKind.CARTRIDGE_CASE.value
BULLET = ItemKind.BULLET.value
_PREFIX = struct.Struct("<4sHII")
#: bounds that keep a damaged or hostile blob from allocating without limit when decoded
_MAX_HEADER_BYTES = 1 << 16
_MAX_ELEMENTS = 1 << 28
_FLOAT16_BYTES = 2
_ZLIB_LEVEL = 6


class MarkFormatError(ValueError):
    """Bytes handed to the mark decoder are not an encoded mark of a version this code reads."""


@dataclass(frozen=True, eq=False)
class DecodedMark:
    """What an encoded mark holds.

    Parameters
    ----------
    kind
        What the arrays are, e.g. ``"cartridge_case"``.
    attributes
        The scalar fields stored with them (``pixel_um``, ``modality``, ``sha256``, ``source``).
    arrays
        float32 arrays by name, NaN where invalid.
    """

    kind: str
    attributes: Mapping[str, Any]
    arrays: Mapping[str, np.ndarray]


def encode_mark(
    kind: str, arrays: Mapping[str, np.ndarray | None], *, attributes: Mapping[str, Any]
) -> bytes:
    """Return the compact encoding of named float arrays (NaN = invalid) and scalar attributes.

    Parameters
    ----------
    kind
        What the arrays are, stored as a tag that the decoder returns.
    arrays
        Arrays of any shape; values must be finite or NaN. None entries are left out (the
        decoder then has no array of that name).
    attributes
        JSON-serialisable scalar fields (numbers, strings, booleans, None).

    Raises
    ------
    ValueError
        An array holds an infinite value, or an attribute cannot be written as JSON.
    """
    header_arrays = []
    chunks = []
    for name, array in arrays.items():
        if array is None:
            continue
        values = np.asarray(array, dtype=np.float32)
        valid = ~np.isnan(values)
        if np.isinf(values).any():
            raise ValueError(
                f"mark array {name!r} holds infinite values; set invalid points to NaN before "
                "storing it."
            )
        valid_values = values[valid]
        largest = float(np.abs(valid_values).max()) if valid_values.size else 0.0
        # frexp: largest = m * 2**e with 0.5 <= m < 1, so largest / 2**e < 1
        exponent = math.frexp(largest)[1] if largest > 0 else 0
        scaled = np.ldexp(valid_values, -exponent).astype("<f2")
        chunks.append(np.packbits(valid.ravel(), bitorder="little").tobytes())
        chunks.append(scaled.view(np.uint8).reshape(-1, _FLOAT16_BYTES).T.tobytes())
        header_arrays.append(
            {
                "name": str(name),
                "shape": list(values.shape),
                "scale_exponent": exponent,
                "valid_count": int(valid_values.size),
            }
        )
    try:
        header = json.dumps(
            {"kind": kind, "attributes": dict(attributes), "arrays": header_arrays},
            sort_keys=True,
            allow_nan=False,
        ).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"mark attributes must be JSON numbers, strings, booleans or None: {error}"
        ) from error
    payload = zlib.compress(b"".join(chunks), _ZLIB_LEVEL)
    checksum = zlib.crc32(payload, zlib.crc32(header))
    return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(header), checksum) + header + payload


def decode_mark(data: bytes) -> DecodedMark:
    """Return the arrays and attributes of an encoded mark (see :func:`encode_mark`).

    Raises
    ------
    MarkFormatError
        The bytes are not an encoded mark, are of an unknown format version, or are damaged.
    """
    data = bytes(data)
    if len(data) < _PREFIX.size:
        raise MarkFormatError(f"encoded mark is {len(data)} bytes, shorter than its prefix")
    magic, version, header_length, checksum = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise MarkFormatError(f"not an encoded mark (starts with {magic!r}, not {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise MarkFormatError(
            f"encoded mark is of format version {version}; this ballistics reads version "
            f"{FORMAT_VERSION}: upgrade it, or prepare the mark again from the original"
        )
    body = data[_PREFIX.size :]
    if header_length > min(len(body), _MAX_HEADER_BYTES):
        raise MarkFormatError(f"encoded mark header of {header_length} bytes is truncated")
    if zlib.crc32(body) != checksum:
        raise MarkFormatError("encoded mark is damaged (CRC-32 mismatch)")
    try:
        header = json.loads(body[:header_length].decode("utf-8"))
        kind = str(header["kind"])
        attributes = dict(header["attributes"])
        layout = [_array_layout(entry) for entry in header["arrays"]]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise MarkFormatError(f"encoded mark header is malformed: {error}") from error
    expected_bytes = sum(mask_bytes + value_bytes for _, _, _, mask_bytes, value_bytes in layout)
    decompressor = zlib.decompressobj()
    try:
        payload = decompressor.decompress(body[header_length:], expected_bytes + 1)
    except zlib.error as error:
        raise MarkFormatError(f"encoded mark payload is damaged: {error}") from error
    if len(payload) != expected_bytes or not decompressor.eof:
        raise MarkFormatError(
            f"encoded mark payload holds {len(payload)} bytes or more, its header describes "
            f"{expected_bytes}"
        )
    arrays = {}
    offset = 0
    for name, shape, exponent, mask_bytes, value_bytes in layout:
        size = math.prod(shape)
        valid = np.unpackbits(
            np.frombuffer(payload, np.uint8, mask_bytes, offset), count=size, bitorder="little"
        ).astype(bool)
        offset += mask_bytes
        shuffled = np.frombuffer(payload, np.uint8, value_bytes, offset)
        values = shuffled.reshape(_FLOAT16_BYTES, -1).T.copy().view("<f2").ravel()
        offset += value_bytes
        if int(valid.sum()) != values.size:
            raise MarkFormatError(f"encoded mark array {name!r}: mask and values disagree")
        array = np.full(size, np.nan, dtype=np.float32)
        array[valid] = np.ldexp(values.astype(np.float32), exponent)
        arrays[name] = array.reshape(shape)
    return DecodedMark(kind=kind, attributes=MappingProxyType(attributes), arrays=arrays)


def encode_casing_mark(mark: PreparedCasing) -> bytes:
    """Return the compact encoding of a prepared cartridge case (see the module docstring)."""
    return encode_mark(
        CARTRIDGE_CASE,
        {"breech_face": mark.breech_face, "firing_pin": mark.firing_pin},
        attributes={
            "pixel_um": mark.pixel_um,
            "modality": str(mark.modality),
            "sha256": mark.sha256,
            "source": mark.source,
            # only when estimated: marks of measured pixel sizes encode as they always did
            **({"scale_uncertainty": mark.scale_uncertainty} if mark.scale_uncertainty else {}),
        },
    )


def decode_casing_mark(data: bytes) -> PreparedCasing:
    """Return the prepared cartridge case encoded by :func:`encode_casing_mark`.

    Raises
    ------
    MarkFormatError
        The bytes are not an encoded mark, or encode another kind of item.
    """
    return decoded_casing(decode_mark(data))


def decoded_casing(decoded: DecodedMark) -> PreparedCasing:
    """Return the prepared cartridge case held by a decoded mark.

    Raises
    ------
    MarkFormatError
        The mark is of another kind, or lacks a field of a cartridge case.
    """
    if decoded.kind != CARTRIDGE_CASE:
        raise MarkFormatError(f"encoded mark is of a {decoded.kind!r}, not a {CARTRIDGE_CASE!r}")
    attributes = decoded.attributes
    try:
        return PreparedCasing(
            breech_face=decoded.arrays["breech_face"],
            pixel_um=attributes["pixel_um"],
            modality=attributes["modality"],
            firing_pin=decoded.arrays.get("firing_pin"),
            sha256=attributes.get("sha256", ""),
            source=attributes.get("source", ""),
            scale_uncertainty=attributes.get("scale_uncertainty", 0.0),
        )
    except (KeyError, ValueError) as error:
        raise MarkFormatError(f"encoded cartridge-case mark is incomplete: {error}") from error


def encode_bullet_mark(bullet: PreparedBullet) -> bytes:
    """Return the compact encoding of a prepared bullet: each land's signature and profile as
    arrays, its scalars and striae positions (integers, exact) as attributes."""
    arrays: dict[str, np.ndarray | None] = {}
    lands = []
    for position, land in enumerate(bullet.lands):
        arrays[f"land{position}_signature_um"] = land.signature_um
        arrays[f"land{position}_profile_um"] = land.profile_um
        lands.append(
            {
                "crosscut_um": land.crosscut_um,
                "groove_um": list(land.groove_um),
                "pixel_um": land.pixel_um,
                "peaks": [int(index) for index in land.peaks],
                "valleys": [int(index) for index in land.valleys],
                "sha256": land.sha256,
                "source": land.source,
            }
        )
    return encode_mark(
        BULLET,
        arrays,
        attributes={
            "modality": "topography",
            "source": bullet.source,
            "land_numbers": list(bullet.land_numbers),
            "lands": lands,
        },
    )


def decode_bullet_mark(data: bytes) -> PreparedBullet:
    """Return the prepared bullet encoded by :func:`encode_bullet_mark`.

    Raises
    ------
    MarkFormatError
        The bytes are not an encoded mark, or encode another kind of item.
    """
    return decoded_bullet(decode_mark(data))


def decoded_bullet(decoded: DecodedMark) -> PreparedBullet:
    """Return the prepared bullet held by a decoded mark.

    Raises
    ------
    MarkFormatError
        The mark is of another kind, or lacks a field of a bullet.
    """
    if decoded.kind != BULLET:
        raise MarkFormatError(f"encoded mark is of a {decoded.kind!r}, not a {BULLET!r}")
    attributes = decoded.attributes
    try:
        lands = tuple(
            PreparedLand(
                signature_um=decoded.arrays[f"land{position}_signature_um"],
                profile_um=decoded.arrays[f"land{position}_profile_um"],
                crosscut_um=entry["crosscut_um"],
                groove_um=tuple(entry["groove_um"]),
                pixel_um=entry["pixel_um"],
                peaks=np.asarray(entry["peaks"], dtype=np.int64),
                valleys=np.asarray(entry["valleys"], dtype=np.int64),
                sha256=entry.get("sha256", ""),
                source=entry.get("source", ""),
            )
            for position, entry in enumerate(attributes["lands"])
        )
        return PreparedBullet(
            lands, tuple(attributes["land_numbers"]), source=attributes.get("source", "")
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MarkFormatError(f"encoded bullet mark is incomplete: {error}") from error


def _array_layout(entry: Mapping[str, Any]) -> tuple[str, tuple[int, ...], int, int, int]:
    """Return (name, shape, scale exponent, mask bytes, value bytes) of a header entry."""
    name = str(entry["name"])
    shape = tuple(int(length) for length in entry["shape"])
    exponent = int(entry["scale_exponent"])
    valid_count = int(entry["valid_count"])
    size = math.prod(shape)
    if any(length < 0 for length in shape) or size > _MAX_ELEMENTS:
        raise ValueError(f"array {name!r} has an impossible shape {shape}")
    if not 0 <= valid_count <= size or abs(exponent) > 1100:
        raise ValueError(f"array {name!r} has an impossible valid count or scale")
    return name, shape, exponent, (size + 7) // 8, valid_count * _FLOAT16_BYTES

"""Read and write X3P surface topography files (ISO 25178-72, formerly ISO 5436-2).

An X3P file is a zip archive holding ``main.xml`` (axes, grid size, instrument, checksums), the
height values (``bindata/data.bin``, little-endian, x fastest: row ``i`` of the grid is
``y = i * increment``), optionally a validity bit file for integer data and, in NIST and CSAFE
files, an annotation image ``bindata/mask.png`` (see :mod:`ballistics.io.x3p_mask`).

Reading decisions:

* ``main.xml`` is parsed with defusedxml; a DTD or an entity declaration is refused.
* Heights are ``value * CZ.Increment + CZ.Offset`` for every data type (floating-point files
  carry 1 and 0). Invalid points are NaN: floating-point NaN, and for any type the points whose
  bit is 0 in the ``ValidPointsLink`` file (bit ``k % 8`` of byte ``k // 8`` for point ``k``,
  least significant first, as openGPS writes it).
* Units: the standard says metres, but some real files (DFSC, Cadre exports) hold micrometres.
  A grid spacing of 1 mm or more cannot be metres for a toolmark scan, so it is read as
  micrometres; heights follow the lateral unit unless their span contradicts it (a height span
  over 5 cm cannot be metres, one under 10 nm cannot be a real scan in micrometres). What was
  found is recorded in ``metadata["units_detected"]`` (``"m"``, ``"um"`` or ``"mixed: ..."``).
  Everything is returned in micrometres.
* x and y spacings differing by more than 1 % are resampled to the x spacing (NaN-aware).
* Checksums: a data (or validity) checksum in ``main.xml`` that does not match is refused; so is
  an ``md5checksum.hex`` that does not match ``main.xml`` (changed metadata means a changed
  scale). A missing checksum, or an unreadable checksum file, is accepted, logged and recorded
  in ``metadata`` as ``"absent"``, because many real files omit them.
* Only gridded surfaces (``FeatureType`` ``SUR``, incremental x and y axes, one layer) with the
  point data in a binary file are read; profiles, point clouds and data lists inside
  ``main.xml`` are refused with a message saying so.

References
----------
.. [1] ISO 25178-72:2017, Geometrical product specifications (GPS) - Surface texture: Areal -
   Part 72: XML file format x3p.
.. [2] openGPS consortium, ISO5436_2.xsd and reference implementation, https://www.opengps.eu.
.. [3] H. Hofmann, S. Vanderplas et al., x3ptools: tools for working with 3D surface
   measurements (R package; source of the ``bindata/mask.png`` convention).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import defusedxml
import defusedxml.ElementTree
import numpy as np
from PIL import Image

from ballistics.errors import EvidenceError, LimitExceededError, UnreadableFileError
from ballistics.io.detect import FileFormat, detect_format
from ballistics.io.files import PARSE_ERRORS, Source, load_source, one_line, write_atomic
from ballistics.io.grid import check_resampling, is_square, resample_to_square
from ballistics.io.images import check_image_size, open_pil_image
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.io.x3p_mask import (
    DEFAULT_BACKGROUND,
    EXCLUDED_COLOUR,
    parse_colour,
    region_from_mask,
)
from ballistics.surface import Modality, Surface

logger = logging.getLogger(__name__)

NAMESPACE = "http://www.opengps.eu/2008/ISO5436_2"
MASK_MEMBER = "bindata/mask.png"

#: CZ data types of ISO 25178-72: int16, int32, float32, float64, all little-endian.
DATA_TYPES: dict[str, np.dtype[Any]] = {
    "I": np.dtype("<i2"),
    "L": np.dtype("<i4"),
    "F": np.dtype("<f4"),
    "D": np.dtype("<f8"),
}

_MICROMETRES_PER_METRE = 1e6
# A grid spacing this large or larger cannot be in metres (1 mm per point).
_SMALLEST_SPACING_NOT_METRES = 1e-3
# A height span larger than this cannot be in metres (5 cm)...
_LARGEST_SPAN_IN_METRES = 0.05
# ...and one smaller than this cannot be a real scan in micrometres (10 nm).
_SMALLEST_SPAN_IN_MICROMETRES = 0.01
_CHUNK_BYTES = 1024 * 1024
_CHECKSUM_FILE_MAX_BYTES = 4096
_MD5_PATTERN = re.compile(r"[0-9a-f]{32}")
# Characters XML 1.0 cannot hold; stripped from metadata before writing.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def read_x3p(
    source: Source, *, name: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> Surface:
    """Return the height map in an X3P file, in micrometres.

    Parameters
    ----------
    source
        Path of the file, or its bytes.
    name
        Name for messages and ``Surface.source``; defaults to the path, or ``"upload"``.
    limits
        Size, point-count and decompression limits.

    Returns
    -------
    Surface
        Modality ``TOPOGRAPHY``: heights in micrometres, NaN where unmeasured, square grid of
        ``pixel_um``; ``region_of_interest`` from ``bindata/mask.png`` when the file has one;
        ``metadata`` with the instrument, comment, units detected and checksum status.

    Raises
    ------
    UnreadableFileError
        Not a zip archive, corrupt or truncated, unsafe or malformed ``main.xml``, a missing
        element, an unknown data type, a data block whose length does not match the grid, a
        checksum that does not match, or no measured point.
    LimitExceededError
        File, point count, archive entries or decompressed size past ``limits``.
    """
    data, label = load_source(source, name=name, limits=limits)
    return x3p_from_bytes(data, name=label, limits=limits)


def x3p_from_bytes(data: bytes, *, name: str, limits: ReadLimits = DEFAULT_LIMITS) -> Surface:
    """Return the height map held in the bytes of an X3P file; see :func:`read_x3p`."""
    if detect_format(data) is not FileFormat.X3P:
        raise UnreadableFileError(name, "not an X3P file (an X3P file is a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _read_archive(_Archive(archive, name, limits), data)
    except EvidenceError:
        raise
    except PARSE_ERRORS as error:
        raise UnreadableFileError(
            name, f"truncated or corrupt X3P archive ({one_line(error)})"
        ) from error


@dataclass(frozen=True)
class X3pGrid:
    """What an X3P file's ``main.xml`` declares about its grid, read without its data."""

    size_x: int
    size_y: int
    #: spacing along x in micrometres (the file's unit told from the spacing alone, as
    #: :func:`read_x3p` does); the grid read is square at this spacing
    x_um: float

    @property
    def points(self) -> int:
        """Points of the grid (``SizeX * SizeY``)."""
        return self.size_x * self.size_y


def x3p_grid(data: bytes, *, name: str, limits: ReadLimits = DEFAULT_LIMITS) -> X3pGrid:
    """Return the grid an X3P file declares, checking it against ``limits``, without decoding.

    Only the archive's directory and ``main.xml`` are read: the entries' count and declared
    sizes, the grid's size and spacing, and whether the data entry's declared size fits the
    grid. The point data are neither inflated nor read.

    Raises
    ------
    UnreadableFileError
        Not an X3P file, a damaged archive, or a malformed or unsupported ``main.xml``.
    LimitExceededError
        File, archive entries, decompressed size or grid past ``limits``.
    """
    if detect_format(data) is not FileFormat.X3P:
        raise UnreadableFileError(name, "not an X3P file (an X3P file is a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zipped:
            archive = _Archive(zipped, name, limits)
            header = _parse_header(archive.read("main.xml", max_bytes=limits.max_xml_bytes), name)
            check_image_size(header.size_x, header.size_y, name, limits)
            _check_data_size(archive, header)
    except EvidenceError:
        raise
    except PARSE_ERRORS as error:
        raise UnreadableFileError(
            name, f"truncated or corrupt X3P archive ({one_line(error)})"
        ) from error
    metres = header.x_increment < _SMALLEST_SPACING_NOT_METRES
    lateral_factor = _MICROMETRES_PER_METRE if metres else 1.0
    x_um, y_um = header.x_increment * lateral_factor, header.y_increment * lateral_factor
    if not is_square(x_um, y_um):
        shape = (header.size_y, header.size_x)
        check_resampling(shape, x_um=x_um, y_um=y_um, name=name, limits=limits)
    return X3pGrid(header.size_x, header.size_y, x_um)


class _Archive:
    """A zip archive whose entries are read within the limits, however they declare themselves."""

    def __init__(self, archive: zipfile.ZipFile, name: str, limits: ReadLimits) -> None:
        self.name = name
        self.limits = limits
        self._archive = archive
        entries = archive.infolist()
        if len(entries) > limits.max_zip_entries:
            raise LimitExceededError(
                name,
                f"archive lists {len(entries)} entries, past the limit of {limits.max_zip_entries}",
            )
        names = [entry.filename for entry in entries]
        if len(set(names)) != len(names):
            twice = sorted({member for member in names if names.count(member) > 1})
            # Different readers would pick different copies: the content would be ambiguous.
            raise UnreadableFileError(name, f"archive lists {', '.join(twice)} more than once")
        declared = sum(entry.file_size for entry in entries)
        if declared > limits.max_decompressed_bytes:
            raise LimitExceededError(
                name,
                f"archive declares {declared} bytes once decompressed, past the limit of "
                f"{limits.max_decompressed_bytes}",
            )
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if (
                entry.file_size >= limits.ratio_checked_from_bytes
                and ratio > limits.max_compression_ratio
            ):
                raise LimitExceededError(
                    name,
                    f"archive entry {entry.filename} expands {ratio:.0f}-fold, past the limit "
                    f"of {limits.max_compression_ratio:g} (a zip bomb?)",
                )
        self._budget = limits.max_decompressed_bytes

    def has(self, member: str) -> bool:
        try:
            self._archive.getinfo(member)
        except KeyError:
            return False
        return True

    def size(self, member: str) -> int:
        """Return the decompressed size an entry declares."""
        try:
            return self._archive.getinfo(member).file_size
        except KeyError:
            raise UnreadableFileError(self.name, f"the archive has no {member}") from None

    def read(self, member: str, *, max_bytes: int, exact: bool = False) -> bytes:
        """Return an entry's bytes, refusing as soon as more than ``max_bytes`` come out.

        With ``exact``, an entry whose declared or actual size is not ``max_bytes`` is refused
        as malformed (the grid in ``main.xml`` and the data block disagree).
        """
        try:
            entry = self._archive.getinfo(member)
        except KeyError:
            raise UnreadableFileError(self.name, f"the archive has no {member}") from None
        if exact and entry.file_size != max_bytes:
            raise UnreadableFileError(
                self.name, f"{member} holds {entry.file_size} bytes where {max_bytes} are needed"
            )
        cap = min(max_bytes, self._budget)
        chunks: list[bytes] = []
        produced = 0
        # Declared sizes can lie: count what the decompressor actually produces.
        with self._archive.open(entry) as stream:
            while chunk := stream.read(min(_CHUNK_BYTES, cap + 1 - produced)):
                produced += len(chunk)
                if produced > cap:
                    raise LimitExceededError(
                        self.name,
                        f"{member} decompresses past {cap} bytes, the most allowed here",
                    )
                chunks.append(chunk)
        self._budget -= produced
        if exact and produced != max_bytes:
            raise UnreadableFileError(
                self.name, f"{member} holds {produced} bytes where {max_bytes} are needed"
            )
        return b"".join(chunks)


@dataclass(frozen=True)
class _Header:
    """What ``main.xml`` says about the grid and where its data are."""

    size_x: int
    size_y: int
    data_type: str
    x_increment: float
    y_increment: float
    z_increment: float
    z_offset: float
    data_link: str
    data_md5: str | None
    valid_link: str | None
    valid_md5: str | None
    checksum_file: str
    mask_background: str | None
    metadata: dict[str, str]


def _read_archive(archive: _Archive, data: bytes) -> Surface:
    name, limits = archive.name, archive.limits
    xml_bytes = archive.read("main.xml", max_bytes=limits.max_xml_bytes)
    header = _parse_header(xml_bytes, name)
    check_image_size(header.size_x, header.size_y, name, limits)
    metadata = dict(header.metadata)
    metadata["checksum_main_xml"] = _verify_checksum_file(archive, header.checksum_file, xml_bytes)

    points = header.size_x * header.size_y
    dtype = DATA_TYPES[header.data_type]
    expected = _check_data_size(archive, header)
    raw = archive.read(header.data_link, max_bytes=expected, exact=True)
    metadata["checksum_data"] = _verify_md5(raw, header.data_md5, header.data_link, name)
    # R writes its NA as a signalling NaN (0x7ff00000000007a2), which makes numpy warn on
    # every operation; replace all NaNs by the quiet one before any arithmetic.
    with np.errstate(invalid="ignore"):
        heights = np.frombuffer(raw, dtype=dtype).astype(np.float64)
        heights[np.isnan(heights)] = np.nan
    if header.z_increment != 1.0:
        heights *= header.z_increment
    if header.z_offset != 0.0:
        heights += header.z_offset
    if header.valid_link is not None:
        valid, metadata["checksum_valid_points"] = _read_valid_points(
            archive, header.valid_link, header.valid_md5, points
        )
        heights[~valid] = np.nan
    heights = heights.reshape(header.size_y, header.size_x)
    if not np.isfinite(heights).any():
        raise UnreadableFileError(name, "holds no measured point (every point is invalid)")

    x_um, y_um, height_factor = _detect_units(header, heights, metadata, name)
    if height_factor != 1.0:
        heights *= height_factor
    region, metadata["mask"] = _read_region(archive, header)
    if not is_square(x_um, y_um):
        check_resampling(heights.shape, x_um=x_um, y_um=y_um, name=name, limits=limits)
        heights, region = resample_to_square(heights, x_um=x_um, y_um=y_um, region=region)
        metadata["resampled"] = f"y spacing {y_um:.6g} µm to the x spacing {x_um:.6g} µm"
        logger.info("%s: %s", name, metadata["resampled"])
    return Surface(
        values=heights,
        pixel_um=x_um,
        modality=Modality.TOPOGRAPHY,
        sha256=hashlib.sha256(data).hexdigest(),
        source=name,
        metadata=metadata,
        region_of_interest=region,
    )


def _check_data_size(archive: _Archive, header: _Header) -> int:
    """Refuse a data entry whose declared size does not fit the grid; return the size needed."""
    dtype = DATA_TYPES[header.data_type]
    expected = header.size_x * header.size_y * dtype.itemsize
    declared = archive.size(header.data_link)
    if declared != expected:
        raise UnreadableFileError(
            archive.name,
            f"{header.data_link} holds {declared} bytes but SizeX × SizeY × {dtype.itemsize} "
            f"({header.data_type}) = {header.size_x} × {header.size_y} × {dtype.itemsize} = "
            f"{expected}",
        )
    return expected


def _parse_header(xml_bytes: bytes, name: str) -> _Header:
    try:
        root = defusedxml.ElementTree.fromstring(
            xml_bytes, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as error:
        raise UnreadableFileError(
            name,
            f"main.xml declares a DTD or entities ({type(error).__name__}), which X3P never "
            "needs; refused as unsafe",
        ) from error
    except ElementTree.ParseError as error:
        raise UnreadableFileError(
            name, f"main.xml is not well-formed XML ({one_line(error)})"
        ) from error
    xml = _Xml(root, name)
    # The root is ISO5436_2 in the standard but plain ISO5436 in some real files: judge the
    # document by its records instead.
    if xml.find("Record1") is None or xml.find("Record3") is None:
        raise UnreadableFileError(
            name, "main.xml is not an ISO 5436-2 (X3P) document (no Record1 or Record3)"
        )

    feature = xml.required("Record1/FeatureType").upper()
    if feature != "SUR":
        raise UnreadableFileError(
            name, f"FeatureType {feature!r} is not supported; only surfaces (SUR) are read"
        )
    for axis in ("CX", "CY"):
        axis_type = xml.required(f"Record1/Axes/{axis}/AxisType").upper()
        if axis_type != "I":
            raise UnreadableFileError(
                name,
                f"axis {axis} has AxisType {axis_type!r}; only gridded surfaces (incremental "
                "axes, I) are supported",
            )
    data_type = xml.required("Record1/Axes/CZ/DataType").upper()
    if data_type not in DATA_TYPES:
        raise UnreadableFileError(
            name, f"unknown data type {data_type!r} for CZ (expected I, L, F or D)"
        )
    size_z = xml.integer("Record3/MatrixDimension/SizeZ", default=1)
    if size_z != 1:
        raise UnreadableFileError(
            name, f"SizeZ is {size_z}; only single-layer height maps are supported"
        )
    if xml.find("Record3/DataLink") is None and xml.find("Record3/DataList") is not None:
        raise UnreadableFileError(
            name, "point data inside main.xml (DataList) are not supported; save them binary"
        )
    return _Header(
        size_x=xml.integer("Record3/MatrixDimension/SizeX"),
        size_y=xml.integer("Record3/MatrixDimension/SizeY"),
        data_type=data_type,
        x_increment=xml.positive("Record1/Axes/CX/Increment"),
        y_increment=xml.positive("Record1/Axes/CY/Increment"),
        z_increment=xml.number("Record1/Axes/CZ/Increment", default=1.0),
        z_offset=xml.number("Record1/Axes/CZ/Offset", default=0.0),
        data_link=xml.required("Record3/DataLink/PointDataLink"),
        data_md5=xml.text("Record3/DataLink/MD5ChecksumPointData"),
        valid_link=xml.text("Record3/DataLink/ValidPointsLink"),
        valid_md5=xml.text("Record3/DataLink/MD5ChecksumValidPoints"),
        checksum_file=xml.text("Record4/ChecksumFile") or "md5checksum.hex",
        mask_background=xml.text("Record3/Mask/Background"),
        metadata=_header_metadata(xml, data_type),
    )


def _header_metadata(xml: _Xml, data_type: str) -> dict[str, str]:
    fields = {
        "revision": "Record1/Revision",
        "date": "Record2/Date",
        "creator": "Record2/Creator",
        "comment": "Record2/Comment",
        "calibration_date": "Record2/CalibrationDate",
        "instrument_manufacturer": "Record2/Instrument/Manufacturer",
        "instrument_model": "Record2/Instrument/Model",
        "instrument_serial": "Record2/Instrument/Serial",
        "instrument_version": "Record2/Instrument/Version",
        "probing_type": "Record2/ProbingSystem/Type",
        "probing_identification": "Record2/ProbingSystem/Identification",
        "x_increment_in_file": "Record1/Axes/CX/Increment",
        "y_increment_in_file": "Record1/Axes/CY/Increment",
    }
    metadata = {"format": "x3p", "data_type": data_type}
    for key, path in fields.items():
        value = xml.text(path)
        if value:
            metadata[key] = value
    instrument = " ".join(
        metadata[key] for key in ("instrument_manufacturer", "instrument_model") if key in metadata
    )
    if instrument:
        metadata["instrument"] = instrument
    return metadata


class _Xml:
    """Namespace-blind lookups in ``main.xml`` (writers differ in how they qualify names)."""

    def __init__(self, root: ElementTree.Element, name: str) -> None:
        self.root = root
        self.name = name

    def find(self, path: str) -> ElementTree.Element | None:
        element = self.root
        for part in path.split("/"):
            child = next((child for child in element if _local(child.tag) == part), None)
            if child is None:
                return None
            element = child
        return element

    def text(self, path: str) -> str | None:
        element = self.find(path)
        if element is None or element.text is None:
            return None
        return element.text.strip() or None

    def required(self, path: str) -> str:
        value = self.text(path)
        if value is None:
            raise UnreadableFileError(self.name, f"main.xml lacks {path}")
        return value

    def number(self, path: str, *, default: float | None = None) -> float:
        if default is not None and self.text(path) is None:
            return default
        text = self.required(path)
        try:
            value = float(text)
        except ValueError:
            raise UnreadableFileError(
                self.name, f"{path} in main.xml is not a number: {text[:40]!r}"
            ) from None
        if not math.isfinite(value):
            raise UnreadableFileError(self.name, f"{path} in main.xml is not finite: {text!r}")
        return value

    def positive(self, path: str) -> float:
        value = self.number(path)
        if value <= 0:
            raise UnreadableFileError(
                self.name, f"{path} in main.xml must be positive, got {value}"
            )
        return value

    def integer(self, path: str, *, default: int | None = None) -> int:
        if default is not None and self.text(path) is None:
            return default
        text = self.required(path)
        if not text.isdigit() or int(text) < 1:
            raise UnreadableFileError(
                self.name, f"{path} in main.xml must be a positive whole number, got {text[:40]!r}"
            )
        return int(text)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _verify_md5(content: bytes, expected: str | None, what: str, name: str) -> str:
    if expected is None:
        logger.info("%s: no MD5 checksum for %s in main.xml; not verified", name, what)
        return "absent"
    digest = expected.strip().lower()
    if not _MD5_PATTERN.fullmatch(digest):
        raise UnreadableFileError(
            name, f"the checksum of {what} in main.xml is not an MD5 digest: {expected[:40]!r}"
        )
    if hashlib.md5(content, usedforsecurity=False).hexdigest() != digest:
        raise UnreadableFileError(
            name, f"{what} does not match its MD5 checksum in main.xml (damaged or altered)"
        )
    return "verified"


def _verify_checksum_file(archive: _Archive, member: str, xml_bytes: bytes) -> str:
    name = archive.name
    if not archive.has(member):
        logger.info("%s: no %s; main.xml not verified", name, member)
        return "absent"
    content = archive.read(member, max_bytes=_CHECKSUM_FILE_MAX_BYTES)
    # "<hash> *main.xml" or the bare hash, with any line ending.
    words = content.decode("ascii", errors="replace").split()
    digest = words[0].lower() if words else ""
    if not _MD5_PATTERN.fullmatch(digest):
        logger.warning("%s: %s holds no MD5 digest; main.xml not verified", name, member)
        return "absent"
    if hashlib.md5(xml_bytes, usedforsecurity=False).hexdigest() != digest:
        raise UnreadableFileError(
            name, f"main.xml does not match its checksum in {member} (damaged or altered)"
        )
    return "verified"


def _read_valid_points(
    archive: _Archive, member: str, md5: str | None, points: int
) -> tuple[np.ndarray, str]:
    # One bit per point, the last byte padded.
    content = archive.read(member, max_bytes=(points + 7) // 8, exact=True)
    status = _verify_md5(content, md5, member, archive.name)
    bits = np.unpackbits(np.frombuffer(content, dtype=np.uint8), bitorder="little")
    return bits[:points].astype(bool), status


def _detect_units(
    header: _Header, heights: np.ndarray, metadata: dict[str, str], name: str
) -> tuple[float, float, float]:
    """Return x and y spacings in µm and the factor taking heights to µm; record the units."""
    lateral = "um" if header.x_increment >= _SMALLEST_SPACING_NOT_METRES else "m"
    finite = heights[np.isfinite(heights)]
    span = float(finite.max() - finite.min()) if finite.size else 0.0
    height = lateral
    if lateral == "m" and span > _LARGEST_SPAN_IN_METRES:
        height = "um"
    elif lateral == "um" and 0.0 < span < _SMALLEST_SPAN_IN_MICROMETRES:
        height = "m"
    metadata["lateral_unit_in_file"] = lateral
    metadata["height_unit_in_file"] = height
    metadata["units_detected"] = (
        lateral if lateral == height else f"mixed: lateral {lateral}, heights {height}"
    )
    if lateral != height:
        logger.warning(
            "%s: units %s; both converted to micrometres", name, metadata["units_detected"]
        )
    elif lateral != "m":
        logger.info("%s: stored in micrometres, not metres as ISO 25178-72 says", name)
    lateral_factor = _MICROMETRES_PER_METRE if lateral == "m" else 1.0
    height_factor = _MICROMETRES_PER_METRE if height == "m" else 1.0
    return (
        header.x_increment * lateral_factor,
        header.y_increment * lateral_factor,
        height_factor,
    )


def _read_region(archive: _Archive, header: _Header) -> tuple[np.ndarray | None, str]:
    if not archive.has(MASK_MEMBER):
        return None, "none"
    name = archive.name
    content = archive.read(MASK_MEMBER, max_bytes=archive.limits.max_decompressed_bytes)
    try:
        image = open_pil_image(content, name=name, limits=archive.limits)
        if image.size != (header.size_x, header.size_y):
            width, height = image.size
            logger.warning(
                "%s: %s is %d×%d, not the grid's size; ignored", name, MASK_MEMBER, width, height
            )
            return None, f"ignored: {width}×{height} does not match the grid"
        rgb = np.asarray(image.convert("RGB"))
    except EvidenceError as error:
        raise UnreadableFileError(
            name, f"{MASK_MEMBER} cannot be read ({error.problem})"
        ) from error
    except PARSE_ERRORS as error:
        raise UnreadableFileError(
            name, f"{MASK_MEMBER} is truncated or corrupt ({one_line(error)})"
        ) from error
    return region_from_mask(rgb, background=header.mask_background, name=name)


def write_x3p(
    surface: Surface,
    path: str | os.PathLike[str],
    *,
    creator: str | None = None,
    comment: str | None = None,
) -> Path:
    """Write a topography as a standard X3P file, atomically.

    The file holds heights in metres as float64 (``D``), NaN for unmeasured points, the data's
    MD5 in ``main.xml`` and ``main.xml``'s MD5 in ``md5checksum.hex``. Instrument, dates and
    comment come from ``surface.metadata`` (the keys :func:`read_x3p` fills) unless given here.
    A ``region_of_interest`` is written as ``bindata/mask.png`` in x3ptools' colours (copper
    ``#cd7f32`` kept, blue ``#1f376c`` excluded); ``main.xml`` stays schema-valid, so x3ptools'
    own ``Record3/Mask`` element is left out and readers fall back to its default background.

    Parameters
    ----------
    surface
        A ``TOPOGRAPHY`` surface (heights in micrometres).
    path
        Where to write; an existing file is replaced in one step (temporary file in the same
        folder, ``fsync``, rename).
    creator, comment
        ``Record2/Creator`` and ``Record2/Comment``; default to the metadata's.

    Returns
    -------
    Path
        The path written.
    """
    if surface.modality is not Modality.TOPOGRAPHY:
        raise ValueError(
            "write_x3p writes topographies (heights in micrometres); write a photograph with "
            "write_png."
        )
    # divided in float64: float16 or float32 heights divided in their own type lose precision
    # (float16 underflows to 0)
    heights_m = np.ascontiguousarray(
        np.asarray(surface.values, dtype=np.float64) / _MICROMETRES_PER_METRE, dtype="<f8"
    )
    data_bin = heights_m.tobytes()
    metadata = dict(surface.metadata)
    if creator is not None:
        metadata["creator"] = creator
    if comment is not None:
        metadata["comment"] = comment
    rows, columns = surface.shape
    main_xml = _main_xml(
        metadata,
        spacing_m=surface.pixel_um / _MICROMETRES_PER_METRE,
        size_x=columns,
        size_y=rows,
        data_md5=hashlib.md5(data_bin, usedforsecurity=False).hexdigest(),
    )
    members = [
        ("main.xml", main_xml),
        ("bindata/data.bin", data_bin),
        (
            "md5checksum.hex",
            f"{hashlib.md5(main_xml, usedforsecurity=False).hexdigest()} *main.xml\n".encode(
                "ascii"
            ),
        ),
    ]
    if surface.region_of_interest is not None:
        members.append((MASK_MEMBER, _mask_png(surface.region_of_interest)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, content in members:
            # A fixed timestamp: the same surface always gives the same bytes (same sha256).
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return write_atomic(path, buffer.getvalue())


def _main_xml(
    metadata: dict[str, str], *, spacing_m: float, size_x: int, size_y: int, data_md5: str
) -> bytes:
    def field(key: str, default: str) -> str:
        return _XML_ILLEGAL.sub("", metadata.get(key) or default)

    root = ElementTree.Element(
        "p:ISO5436_2",
        {
            "xmlns:p": NAMESPACE,
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:schemaLocation": f"{NAMESPACE} {NAMESPACE}/ISO5436_2.xsd",
        },
    )
    record1 = _element(root, "Record1")
    _element(record1, "Revision", "ISO5436 - 2000")
    _element(record1, "FeatureType", "SUR")
    axes = _element(record1, "Axes")
    for axis, axis_type, increment in (
        ("CX", "I", spacing_m),
        ("CY", "I", spacing_m),
        ("CZ", "A", 1.0),
    ):
        description = _element(axes, axis)
        _element(description, "AxisType", axis_type)
        _element(description, "DataType", "D")
        # the shortest text that reads back as the same float: exact, without binary noise
        _element(description, "Increment", repr(float(increment)))
        _element(description, "Offset", "0")
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    record2 = _element(root, "Record2")
    _element(record2, "Date", field("date", now))
    _element(record2, "Creator", field("creator", "ballistics"))
    instrument = _element(record2, "Instrument")
    for part in ("manufacturer", "model", "serial", "version"):
        _element(instrument, part.capitalize(), field(f"instrument_{part}", "unknown"))
    _element(record2, "CalibrationDate", field("calibration_date", field("date", now)))
    probing = _element(record2, "ProbingSystem")
    _element(probing, "Type", field("probing_type", "Software"))
    _element(probing, "Identification", field("probing_identification", "unknown"))
    _element(record2, "Comment", field("comment", ""))
    record3 = _element(root, "Record3")
    dimension = _element(record3, "MatrixDimension")
    _element(dimension, "SizeX", str(size_x))
    _element(dimension, "SizeY", str(size_y))
    _element(dimension, "SizeZ", "1")
    link = _element(record3, "DataLink")
    _element(link, "PointDataLink", "bindata/data.bin")
    _element(link, "MD5ChecksumPointData", data_md5)
    record4 = _element(root, "Record4")
    _element(record4, "ChecksumFile", "md5checksum.hex")
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def _element(parent: ElementTree.Element, tag: str, text: str | None = None) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _mask_png(region: np.ndarray) -> bytes:
    kept = parse_colour(DEFAULT_BACKGROUND)
    excluded = parse_colour(EXCLUDED_COLOUR)
    rgb = np.where(region[..., None], np.array(kept, np.uint8), np.array(excluded, np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()

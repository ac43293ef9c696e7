"""What an X3P file's ``main.xml`` says: the format's names and data types, the grid, the data
links and checksums, and the metadata (instrument, dates, comment), parsed safely.

``main.xml`` is parsed with defusedxml (a DTD or an entity declaration is refused) and looked up
namespace-blind, as writers differ in how they qualify names (see :mod:`ballistics.io.x3p`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import defusedxml
import defusedxml.ElementTree
import numpy as np

from ballistics.errors import UnreadableFileError
from ballistics.io.files import one_line
from ballistics.io.x3p_orientation import Orientation, declared_orientation

#: XML namespace of ISO 5436-2 documents, and the archive entry of x3ptools' annotation image.
NAMESPACE = "http://www.opengps.eu/2008/ISO5436_2"
MASK_MEMBER = "bindata/mask.png"

#: CZ data types of ISO 25178-72: int16, int32, float32, float64, all little-endian.
DATA_TYPES: dict[str, np.dtype[Any]] = {
    "I": np.dtype("<i2"),
    "L": np.dtype("<i4"),
    "F": np.dtype("<f4"),
    "D": np.dtype("<f8"),
}

#: The standard's unit is the metre; everything inside is in micrometres.
MICROMETRES_PER_METRE = 1e6


@dataclass(frozen=True)
class Header:
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
    #: how to bring the grid to the common orientation (:mod:`~ballistics.io.x3p_orientation`)
    orientation: Orientation


def parse_header(xml_bytes: bytes, name: str) -> Header:
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
    x_increment = xml.non_zero("Record1/Axes/CX/Increment")
    y_increment = xml.non_zero("Record1/Axes/CY/Increment")
    metadata = _header_metadata(xml, data_type)
    orientation = declared_orientation(
        math.copysign(1.0, x_increment), math.copysign(1.0, y_increment), _rotation(xml)
    )
    return Header(
        size_x=xml.integer("Record3/MatrixDimension/SizeX"),
        size_y=xml.integer("Record3/MatrixDimension/SizeY"),
        data_type=data_type,
        x_increment=abs(x_increment),
        y_increment=abs(y_increment),
        z_increment=xml.number("Record1/Axes/CZ/Increment", default=1.0),
        z_offset=xml.number("Record1/Axes/CZ/Offset", default=0.0),
        data_link=xml.required("Record3/DataLink/PointDataLink"),
        data_md5=xml.text("Record3/DataLink/MD5ChecksumPointData"),
        valid_link=xml.text("Record3/DataLink/ValidPointsLink"),
        valid_md5=xml.text("Record3/DataLink/MD5ChecksumValidPoints"),
        checksum_file=xml.text("Record4/ChecksumFile") or "md5checksum.hex",
        mask_background=xml.text("Record3/Mask/Background"),
        metadata=metadata,
        orientation=orientation,
    )


def _rotation(xml: _Xml) -> np.ndarray | None:
    """Return the 3×3 ``Record1/Axes/Rotation`` matrix, or None when the file has none."""
    if xml.find("Record1/Axes/Rotation") is None:
        return None
    entries = [
        xml.number(f"Record1/Axes/Rotation/r{row}{column}", default=float(row == column))
        for row in (1, 2, 3)
        for column in (1, 2, 3)
    ]
    return np.array(entries, dtype=np.float64).reshape(3, 3)


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
        # not in the ISO 5436-2 schema; recorded, never acted on (see x3p_orientation)
        "origin_in_file": "Record1/Axes/Origin",
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

    def non_zero(self, path: str) -> float:
        value = self.number(path)
        if value == 0:
            raise UnreadableFileError(self.name, f"{path} in main.xml must not be zero")
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

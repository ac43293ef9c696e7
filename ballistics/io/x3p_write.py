"""Write a topography as a standard X3P file (ISO 25178-72), byte for byte the same for the same
surface.

References
----------
.. [1] ISO 25178-72:2017, Geometrical product specifications (GPS) - Surface texture: Areal -
   Part 72: XML file format x3p.
.. [3] H. Hofmann, S. Vanderplas et al., x3ptools: tools for working with 3D surface
   measurements (R package; source of the ``bindata/mask.png`` convention).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from PIL import Image

from ballistics.io.files import write_atomic
from ballistics.io.x3p_header import MASK_MEMBER, MICROMETRES_PER_METRE, NAMESPACE
from ballistics.io.x3p_mask import DEFAULT_BACKGROUND, EXCLUDED_COLOUR, parse_colour
from ballistics.surface import Modality, Surface

# Characters XML 1.0 cannot hold; stripped from metadata before writing.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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
        np.asarray(surface.values, dtype=np.float64) / MICROMETRES_PER_METRE, dtype="<f8"
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
        spacing_m=surface.pixel_um / MICROMETRES_PER_METRE,
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

"""X3P files written byte by byte for the reader's tests: a main.xml of any shape, the archive
around it, and a ramp of heights whose every transposition or flip shows."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

NAMESPACE = "http://www.opengps.eu/2008/ISO5436_2"
DTYPES = {"I": "<i2", "L": "<i4", "F": "<f4", "D": "<f8"}


def make_main_xml(
    size_x: int,
    size_y: int,
    *,
    data_type: str = "D",
    x_increment: float = 2e-6,
    y_increment: float | None = None,
    z_increment: float = 1.0,
    z_offset: float = 0.0,
    data_md5: str | None = None,
    valid_md5: str | None = None,
    mask_background: str | None = None,
) -> str:
    """Return a main.xml as the openGPS schema lays it out."""
    y_increment = x_increment if y_increment is None else y_increment
    valid = (
        "<ValidPointsLink>bindata/valid.bin</ValidPointsLink>"
        f"<MD5ChecksumValidPoints>{valid_md5}</MD5ChecksumValidPoints>"
        if valid_md5 is not None
        else ""
    )
    data_checksum = (
        f"<MD5ChecksumPointData>{data_md5}</MD5ChecksumPointData>" if data_md5 is not None else ""
    )
    mask = (
        f"<Mask><Background>{mask_background}</Background><Annotations/></Mask>"
        if mask_background
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<p:ISO5436_2 xmlns:p="{NAMESPACE}">
  <Record1>
    <Revision>ISO5436 - 2000</Revision>
    <FeatureType>SUR</FeatureType>
    <Axes>
      <CX><AxisType>I</AxisType><DataType>D</DataType><Increment>{x_increment!r}</Increment>
        <Offset>0</Offset></CX>
      <CY><AxisType>I</AxisType><DataType>D</DataType><Increment>{y_increment!r}</Increment>
        <Offset>0</Offset></CY>
      <CZ><AxisType>A</AxisType><DataType>{data_type}</DataType>
        <Increment>{z_increment!r}</Increment><Offset>{z_offset!r}</Offset></CZ>
    </Axes>
  </Record1>
  <Record2>
    <Date>2024-01-02T03:04:05</Date>
    <Creator>test suite</Creator>
    <Instrument><Manufacturer>Acme</Manufacturer><Model>Scope 3</Model>
      <Serial>42</Serial><Version>1.0</Version></Instrument>
    <CalibrationDate>2024-01-01</CalibrationDate>
    <ProbingSystem><Type>NonContacting</Type><Identification>10x</Identification></ProbingSystem>
    <Comment>synthetic</Comment>
  </Record2>
  <Record3>
    <MatrixDimension><SizeX>{size_x}</SizeX><SizeY>{size_y}</SizeY><SizeZ>1</SizeZ>
    </MatrixDimension>
    <DataLink><PointDataLink>bindata/data.bin</PointDataLink>{data_checksum}{valid}</DataLink>
    {mask}
  </Record3>
  <Record4><ChecksumFile>md5checksum.hex</ChecksumFile></Record4>
</p:ISO5436_2>
"""


def md5(content: bytes) -> str:
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


def make_x3p(
    stored: np.ndarray,
    *,
    data_type: str = "D",
    valid: np.ndarray | None = None,
    data_bin: bytes | None = None,
    edit_xml: Callable[[str], str] | None = None,
    checksum_line: str | None = "{hash} *main.xml\n",
    mask: np.ndarray | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
    **xml_options: object,
) -> bytes:
    """Return the bytes of an X3P file holding ``stored`` (values as the file stores them).

    ``valid`` (bool, same shape) adds a validity bit file; ``data_bin`` replaces the data block
    (its MD5 is still written); ``edit_xml`` changes main.xml before its checksum is taken;
    ``checksum_line`` None leaves md5checksum.hex out; ``mask`` is an RGB image for
    bindata/mask.png.
    """
    rows, columns = stored.shape
    if data_bin is None:
        data_bin = np.ascontiguousarray(stored, dtype=DTYPES[data_type]).tobytes()
    valid_bin = None
    if valid is not None:
        valid_bin = np.packbits(valid.reshape(-1), bitorder="little").tobytes()
    xml = make_main_xml(
        columns,
        rows,
        data_type=data_type,
        data_md5=md5(data_bin),
        valid_md5=md5(valid_bin) if valid_bin is not None else None,
        **xml_options,  # type: ignore[arg-type]
    )
    if edit_xml is not None:
        xml = edit_xml(xml)
    xml_bytes = xml.encode()
    members = {"main.xml": xml_bytes, "bindata/data.bin": data_bin}
    if valid_bin is not None:
        members["bindata/valid.bin"] = valid_bin
    if checksum_line is not None:
        members["md5checksum.hex"] = checksum_line.format(hash=md5(xml_bytes)).encode()
    if mask is not None:
        buffer = io.BytesIO()
        Image.fromarray(mask.astype(np.uint8)).save(buffer, format="PNG")
        members["bindata/mask.png"] = buffer.getvalue()
    return zip_members(members, compression=compression)


def zip_members(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return buffer.getvalue()


def ramp(rows: int = 20, columns: int = 24) -> np.ndarray:
    """Heights in metres, distinct everywhere, so that any transposition or flip shows."""
    y, x = np.mgrid[0:rows, 0:columns]
    return (x * 1.0 + y * 100.0) * 1e-7


def write(tmp_path: Path, content: bytes, name: str = "scan.x3p") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path

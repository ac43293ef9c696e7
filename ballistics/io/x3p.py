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

Beside this module: :mod:`~ballistics.io.x3p_header` parses ``main.xml``,
:mod:`~ballistics.io.x3p_archive` reads the zip archive within the limits,
:mod:`~ballistics.io.x3p_mask` reads the annotation image and :mod:`~ballistics.io.x3p_write`
writes files (:func:`write_x3p`, importable from here).

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
import re
import zipfile
from dataclasses import dataclass

import numpy as np

from ballistics.errors import EvidenceError, UnreadableFileError
from ballistics.io.detect import FileFormat, detect_format
from ballistics.io.files import PARSE_ERRORS, Source, load_source, one_line
from ballistics.io.grid import check_resampling, is_square, resample_to_square
from ballistics.io.images import check_image_size, open_pil_image
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.io.x3p_archive import Archive
from ballistics.io.x3p_header import (
    DATA_TYPES,
    MASK_MEMBER,
    MICROMETRES_PER_METRE,
    NAMESPACE,
    Header,
    parse_header,
)
from ballistics.io.x3p_mask import region_from_mask
from ballistics.io.x3p_write import write_x3p
from ballistics.surface import Modality, Surface

logger = logging.getLogger(__name__)

# A grid spacing this large or larger cannot be in metres (1 mm per point).
_SMALLEST_SPACING_NOT_METRES = 1e-3
# A height span larger than this cannot be in metres (5 cm)...
_LARGEST_SPAN_IN_METRES = 0.05
# ...and one smaller than this cannot be a real scan in micrometres (10 nm).
_SMALLEST_SPAN_IN_MICROMETRES = 0.01
_CHECKSUM_FILE_MAX_BYTES = 4096
_MD5_PATTERN = re.compile(r"[0-9a-f]{32}")


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
            return _read_archive(Archive(archive, name, limits), data)
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
            archive = Archive(zipped, name, limits)
            header = parse_header(archive.read("main.xml", max_bytes=limits.max_xml_bytes), name)
            check_image_size(header.size_x, header.size_y, name, limits)
            _check_data_size(archive, header)
    except EvidenceError:
        raise
    except PARSE_ERRORS as error:
        raise UnreadableFileError(
            name, f"truncated or corrupt X3P archive ({one_line(error)})"
        ) from error
    metres = header.x_increment < _SMALLEST_SPACING_NOT_METRES
    lateral_factor = MICROMETRES_PER_METRE if metres else 1.0
    x_um, y_um = header.orientation.spacings(
        header.x_increment * lateral_factor, header.y_increment * lateral_factor
    )
    if not is_square(x_um, y_um):
        shape = (
            (header.size_x, header.size_y)
            if header.orientation.transpose
            else (
                header.size_y,
                header.size_x,
            )
        )
        check_resampling(shape, x_um=x_um, y_um=y_um, name=name, limits=limits)
    return X3pGrid(header.size_x, header.size_y, x_um)


def _read_archive(archive: Archive, data: bytes) -> Surface:
    name, limits = archive.name, archive.limits
    xml_bytes = archive.read("main.xml", max_bytes=limits.max_xml_bytes)
    header = parse_header(xml_bytes, name)
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
    if header.orientation.negate_heights:
        height_factor = -height_factor
    if height_factor != 1.0:
        heights *= height_factor
    region, metadata["mask"] = _read_region(archive, header)
    heights, region, x_um, y_um = _orient(header, heights, region, (x_um, y_um), metadata)
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


def _orient(
    header: Header,
    heights: np.ndarray,
    region: np.ndarray | None,
    spacings: tuple[float, float],
    metadata: dict[str, str],
) -> tuple[np.ndarray, np.ndarray | None, float, float]:
    """Turn the grid (and its region) to the common orientation the file's axes declare.

    Heights were already negated when the file declares its z axis reversed.
    """
    orientation = header.orientation
    metadata["orientation"] = orientation.describe()
    if orientation.ignored_rotation:
        metadata["rotation_ignored"] = orientation.ignored_rotation
    if orientation.mirrors:
        logger.info("stored mirrored (%s); turned back", metadata["orientation"])
    x_um, y_um = orientation.spacings(*spacings)
    oriented_region = None if region is None else orientation.apply(region)
    return orientation.apply(heights), oriented_region, x_um, y_um


def _check_data_size(archive: Archive, header: Header) -> int:
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


def _verify_checksum_file(archive: Archive, member: str, xml_bytes: bytes) -> str:
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
    archive: Archive, member: str, md5: str | None, points: int
) -> tuple[np.ndarray, str]:
    # One bit per point, the last byte padded.
    content = archive.read(member, max_bytes=(points + 7) // 8, exact=True)
    status = _verify_md5(content, md5, member, archive.name)
    bits = np.unpackbits(np.frombuffer(content, dtype=np.uint8), bitorder="little")
    return bits[:points].astype(bool), status


def _detect_units(
    header: Header, heights: np.ndarray, metadata: dict[str, str], name: str
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
    lateral_factor = MICROMETRES_PER_METRE if lateral == "m" else 1.0
    height_factor = MICROMETRES_PER_METRE if height == "m" else 1.0
    return (
        header.x_increment * lateral_factor,
        header.y_increment * lateral_factor,
        height_factor,
    )


def _read_region(archive: Archive, header: Header) -> tuple[np.ndarray | None, str]:
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


__all__ = [
    "DATA_TYPES",
    "MASK_MEMBER",
    "NAMESPACE",
    "X3pGrid",
    "read_x3p",
    "write_x3p",
    "x3p_from_bytes",
    "x3p_grid",
]

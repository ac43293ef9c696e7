"""What evidence files declare in their headers, checked against the limits before decoding.

An item of several files (the lands of one bullet) is checked whole first: how many files,
their total size, each file's type (by content) and declared grid, and the points of all the
grids together. Only then is any file decoded, so that a bad last file costs nothing for the
good ones before it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import tifffile

from ballistics.errors import EvidenceError, LimitExceededError, UnreadableFileError
from ballistics.io.detect import FileFormat, detect_format
from ballistics.io.files import PARSE_ERRORS, load_source, one_line
from ballistics.io.images import check_image_size, check_tiff_page, first_tiff_page, open_pil_image
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.io.x3p import x3p_grid


@dataclass(frozen=True)
class DeclaredFile:
    """What one file's header declares.

    Parameters
    ----------
    name
        The file's name, for messages.
    file_format
        The format recognised from the first bytes.
    size_bytes
        The file's size.
    points
        Values decoding it allocates (X3P ``SizeX * SizeY``; image width * height, and for
        TIFF also samples per pixel and depth), within ``ReadLimits.max_points``.
    pixel_um
        Grid spacing in micrometres for an X3P file (the one :func:`~ballistics.io.read_x3p`
        keeps); None for images, whose resolution may come from the caller.
    """

    name: str
    file_format: FileFormat
    size_bytes: int
    points: int
    pixel_um: float | None = None


def declared_file(data: bytes, *, name: str, limits: ReadLimits = DEFAULT_LIMITS) -> DeclaredFile:
    """Return what a file's header declares, refusing it as :func:`read_surface` would, without
    decoding a point or pixel.

    Raises
    ------
    UnreadableFileError
        Empty, not an X3P, PNG, TIFF or JPEG file, or a header that cannot be read.
    LimitExceededError
        The file's size or declared grid is past ``limits``.
    """
    data, name = load_source(data, name=name, limits=limits)
    file_format = detect_format(data)
    if file_format is None:
        raise UnreadableFileError(name, "not an X3P, PNG, TIFF or JPEG file")
    if file_format is FileFormat.X3P:
        grid = x3p_grid(data, name=name, limits=limits)
        return DeclaredFile(name, file_format, len(data), grid.points, grid.x_um)
    try:
        if file_format is FileFormat.TIFF:
            with tifffile.TiffFile(io.BytesIO(data)) as tiff:
                points = check_tiff_page(first_tiff_page(tiff, name), name, limits)
        else:
            width, height = open_pil_image(data, name=name, limits=limits).size
            check_image_size(width, height, name, limits)
            points = width * height
    except EvidenceError:
        raise
    except PARSE_ERRORS as error:
        raise UnreadableFileError(
            name, f"truncated or corrupt {file_format.name} image ({one_line(error)})"
        ) from error
    return DeclaredFile(name, file_format, len(data), points)


def declared_files(
    files: Sequence[tuple[str, bytes]],
    *,
    limits: ReadLimits = DEFAULT_LIMITS,
    source: str = "",
) -> list[DeclaredFile]:
    """Check the files of one item against ``limits`` from their headers alone, all of them
    before any is decoded, and return what each declares.

    Parameters
    ----------
    files
        (name, bytes) of each file, in order.
    limits
        Per-file limits, and ``max_files``, ``max_total_bytes`` and ``max_total_points`` for the
        item as a whole.
    source
        The item's name in messages about the whole (default: the files' names).

    Raises
    ------
    LimitExceededError
        Too many files, too many bytes or declared points together, or one file past a limit
        (the message names it).
    UnreadableFileError
        A file that is empty, of an unknown type or with an unreadable header (named).
    """
    label = source or ", ".join(name for name, _ in files)
    if len(files) > limits.max_files:
        raise LimitExceededError(
            label,
            f"{len(files)} files in one item, past the limit of {limits.max_files}; a bullet is "
            "one file per land-engraved area",
        )
    total_bytes = sum(len(data) for _, data in files)
    if total_bytes > limits.max_total_bytes:
        raise LimitExceededError(
            label,
            f"the {len(files)} files hold {total_bytes} bytes together, past the limit of "
            f"{limits.max_total_bytes}",
        )
    declared = [declared_file(data, name=name, limits=limits) for name, data in files]
    total_points = sum(item.points for item in declared)
    if total_points > limits.max_total_points:
        raise LimitExceededError(
            label,
            f"the {len(files)} files declare {total_points} points together, past the limit of "
            f"{limits.max_total_points}",
        )
    return declared

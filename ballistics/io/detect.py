"""Recognise an evidence file by its first bytes, never by its name."""

from __future__ import annotations

import enum


class FileFormat(enum.StrEnum):
    """The file formats the readers accept."""

    X3P = "x3p"
    PNG = "png"
    TIFF = "tiff"
    JPEG = "jpeg"


# An X3P file is a zip archive; "PK\x05\x06" is the end record an empty archive starts with,
# sent to the X3P reader so that the message says what is missing rather than "unknown format".
_SIGNATURES: tuple[tuple[bytes, FileFormat], ...] = (
    (b"PK\x03\x04", FileFormat.X3P),
    (b"PK\x05\x06", FileFormat.X3P),
    (b"\x89PNG\r\n\x1a\n", FileFormat.PNG),
    (b"II*\x00", FileFormat.TIFF),
    (b"MM\x00*", FileFormat.TIFF),
    (b"II+\x00", FileFormat.TIFF),  # BigTIFF
    (b"MM\x00+", FileFormat.TIFF),
    (b"\xff\xd8\xff", FileFormat.JPEG),
)


def detect_format(data: bytes) -> FileFormat | None:
    """Return the format whose signature ``data`` starts with, or None when none matches.

    Parameters
    ----------
    data
        The file's bytes (the first dozen are enough).

    Returns
    -------
    FileFormat or None
        X3P for a zip archive, PNG, TIFF (classic or BigTIFF, either byte order) or JPEG.
    """
    head = bytes(data[:16])
    for signature, file_format in _SIGNATURES:
        if head.startswith(signature):
            return file_format
    return None

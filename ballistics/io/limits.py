"""Limits that every reader enforces before it spends memory or time on an untrusted file."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ballistics.errors import LimitExceededError

MEBIBYTE = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """How large, how compressed and how small an evidence file may be.

    The defaults admit every real scan we know of with a wide margin (the largest published
    cartridge-case and bullet scans hold a few million points) while keeping one read below about
    two gigabytes of memory. Change one with ``dataclasses.replace(ReadLimits(), ...)``.

    Parameters
    ----------
    max_file_bytes
        Largest file accepted, in bytes, checked before the file is read.
    max_points
        Most values one file may declare (X3P ``SizeX * SizeY``; image width * height *
        samples per pixel * image depth), checked from the header before any point or pixel is
        decoded; also the most points of any grid a scan is resampled to.
    max_xml_bytes
        Largest ``main.xml`` accepted, in bytes, after decompression.
    max_decompressed_bytes
        Largest total of decompressed bytes read from one X3P archive. The entries' declared sizes
        are checked against it first, and reading stops as soon as the bytes actually produced
        pass it, whatever the archive declared.
    max_compression_ratio
        Largest ratio of decompressed to compressed size of one archive entry of at least
        ``ratio_checked_from_bytes``; a zip bomb is far past it, real height maps (even mostly
        unmeasured ones) stay below a few dozen.
    ratio_checked_from_bytes
        Entries smaller than this (decompressed) are exempt from the ratio check: small metadata
        files compress well and cannot exhaust memory.
    max_zip_entries
        Most entries an X3P archive may list (a standard file holds three to five).
    min_image_side_px
        Smallest width or height, in pixels, of an image or height map worth comparing.
    max_files
        Most files of one item (the land scans of one bullet: 6 to 8 lands on common rifling,
        a dozen on polygonal or many-groove barrels).
    max_total_bytes
        Largest total size of the files of one item, in bytes.
    max_total_points
        Most values the files of one item may declare together (see ``max_points``), checked
        from every file's header before any file is decoded.
    max_file_pixel_um
        Coarsest resolution, in micrometres per pixel, that a photograph may state in its own
        header to be believed. Coarser values are the 72, 96 or 300 dpi that image software
        writes by default, not a measurement, and count as no resolution at all.
    """

    max_file_bytes: int = 512 * MEBIBYTE
    max_points: int = 64_000_000
    max_xml_bytes: int = 1 * MEBIBYTE
    max_decompressed_bytes: int = 640 * MEBIBYTE
    max_compression_ratio: float = 200.0
    ratio_checked_from_bytes: int = 1 * MEBIBYTE
    max_zip_entries: int = 64
    min_image_side_px: int = 16
    max_files: int = 12
    max_total_bytes: int = 512 * MEBIBYTE
    max_total_points: int = 128_000_000
    max_file_pixel_um: float = 50.0

    def __post_init__(self) -> None:
        for limit in fields(self):
            value = getattr(self, limit.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(
                    f"ReadLimits.{limit.name} must be a positive number, got {value!r}; "
                    "leave it out to use the default."
                )


#: The limits every reader applies unless given others (a frozen instance: safe to share).
DEFAULT_LIMITS = ReadLimits()


def check_points(points: int, *, max_points: int, name: str, what: str = "the grid") -> None:
    """Refuse ``points`` values past ``max_points``, naming the file and what holds them.

    Called with the size of an array before it is allocated (a decoded image, a resampled
    grid), never after.

    Raises
    ------
    LimitExceededError
        ``points`` is past ``max_points``.
    """
    if points > max_points:
        raise LimitExceededError(
            name, f"{what} would hold {points} points, past the limit of {max_points}"
        )

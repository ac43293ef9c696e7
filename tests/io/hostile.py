"""Small files that declare or inflate to far more than they hold, for the limit tests."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import tifffile

from ballistics.io import write_x3p
from ballistics.surface import Modality, Surface


def many_samples_tiff(*, side: int = 1024, samples: int = 64) -> bytes:
    """A deflate TIFF of zeros, ``side``² pixels of ``samples`` samples (1024² × 64: 67 M
    values, past the default limit, in about 70 KB)."""
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer,
        np.zeros((side, side, samples), np.uint8),
        photometric="minisblack",
        planarconfig="contig",
        compression="zlib",
    )
    return buffer.getvalue()


def deep_tiff(*, side: int = 1024, depth: int = 64) -> bytes:
    """A deflate TIFF of zeros ``depth`` images deep in one page (the SGI ImageDepth tag)."""
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer,
        np.zeros((depth, side, side), np.uint8),
        volumetric=True,
        tile=(depth, 256, 256),
        compression="zlib",
    )
    return buffer.getvalue()


def strip_bomb_tiff(*, inflated_bytes: int = 100_000_000) -> bytes:
    """A 64×64 deflate TIFF whose one strip inflates to ``inflated_bytes`` (about 0.1 MB)."""
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer, np.zeros((64, 64), np.uint8), compression="zlib", resolution=(10_000, 10_000)
    )
    data = bytearray(buffer.getvalue())
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tiff:
        tags = tiff.pages.first.tags
        offsets, counts = tags["StripOffsets"], tags["StripByteCounts"]
        byte_order = tiff.byteorder
        places = [(tag.valueoffset, tag.dtype) for tag in (offsets, counts)]
    compressor = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(inflated_bytes >> 20))
    bomb += compressor.flush()
    start = len(data)
    data += bomb
    formats = {3: "H", 4: "I", 16: "Q"}
    for (place, dtype), value in zip(places, (start, len(bomb)), strict=True):
        code = formats[int(dtype)]
        struct.pack_into(byte_order + code, data, place, value)
    return bytes(data)


def casing_disc(*, pixel_um: float, side: int = 60) -> Surface:
    """A processed-looking breech face: measured in an annulus, NaN outside and in the hole."""
    rows, columns = np.mgrid[0:side, 0:side]
    radius = np.hypot(rows - side / 2, columns - side / 2)
    heights = np.random.default_rng(7).normal(size=(side, side))
    heights[(radius > side * 0.45) | (radius < side * 0.12)] = np.nan
    return Surface(values=heights, pixel_um=pixel_um, modality=Modality.TOPOGRAPHY)


def coarse_x3p(path: Path, *, pixel_um: float = 990.0) -> Path:
    """An X3P of :func:`casing_disc` at ``pixel_um`` (about 1 mm per point: 30 KB on disc).

    The writer stores metres, and a spacing of 1 mm or more is read as micrometres, so a
    spacing just under 1 mm is the coarsest that reads back as itself.
    """
    return write_x3p(casing_disc(pixel_um=pixel_um), path)

"""Read photographs (PNG, TIFF, JPEG) into intensity surfaces, and write them as PNG.

A photograph becomes a :class:`~ballistics.surface.Surface` of modality ``PHOTOGRAPH``: grey
intensities scaled to [0, 1] (8-bit values / 255, 16-bit values / 65535), colour converted to
luma with the ITU-R BT.601 weights (0.299 R + 0.587 G + 0.114 B, as Pillow and OpenCV do), alpha
ignored.

Resolution, in this order:

1. ``pixel_um`` given by the caller: used as is and overrides whatever the file says (an
   examiner's calibration beats a header; the file's value is kept in
   ``metadata["pixel_um_in_file"]``).
2. The file's own: PNG ``pHYs`` in pixels per metre, TIFF ``XResolution`` / ``YResolution`` with
   ``ResolutionUnit`` (inch when absent, centimetre), JPEG JFIF density in dots per inch or per
   centimetre. A resolution coarser than ``ReadLimits.max_file_pixel_um`` (the 72, 96 or 300 dpi
   that image software writes by default) is not a measurement and counts as none.
3. Otherwise :class:`~ballistics.errors.MissingMetadataError`, saying to pass ``pixel_um``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image

from ballistics.errors import (
    EvidenceError,
    LimitExceededError,
    MissingMetadataError,
    UnreadableFileError,
)
from ballistics.io.detect import FileFormat, detect_format
from ballistics.io.files import PARSE_ERRORS, Source, load_source, one_line, write_atomic
from ballistics.io.grid import check_resampling, is_square, resample_to_square
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.surface import Modality, Surface

logger = logging.getLogger(__name__)

#: ITU-R BT.601 luma weights for red, green and blue.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

_MICROMETRES_PER = {"inch": 25_400.0, "centimetre": 10_000.0, "millimetre": 1_000.0}
# TIFF ResolutionUnit codes: 2 inch, 3 centimetre (standard); 4 and 5 are tifffile extensions.
_TIFF_UNIT_UM = {2: 25_400.0, 3: 10_000.0, 4: 1_000.0, 5: 1.0}
# Compressions tifffile decodes without the optional imagecodecs package; the others (LZW,
# PackBits, JPEG...) go to OpenCV's libtiff.
_TIFF_NATIVE_COMPRESSIONS = {1, 8, 32946}
_TIFF_DEFLATE_COMPRESSIONS = {8, 32946}
_PNG_IHDR_BIT_DEPTH = 24
_PNG_IHDR_COLOUR_TYPE = 25


def read_image(
    source: Source,
    *,
    pixel_um: float | None = None,
    name: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Surface:
    """Return the photograph in ``source`` as a grey intensity surface in [0, 1].

    Parameters
    ----------
    source
        Path of a PNG, TIFF or JPEG file, or its bytes. The format is recognised by content.
    pixel_um
        Micrometres per pixel. Overrides the file's own resolution; required when the file
        carries none (see the module documentation).
    name
        Name for messages and ``Surface.source``; defaults to the path, or ``"upload"``.
    limits
        Size limits, checked from the header before any pixel is decoded.

    Returns
    -------
    Surface
        Modality ``PHOTOGRAPH``, square pixels of ``pixel_um``, ``sha256`` of the file's bytes.

    Raises
    ------
    UnreadableFileError
        Empty, truncated or corrupt file, not an image, unsupported pixel type, image smaller
        than ``limits.min_image_side_px``.
    LimitExceededError
        File or pixel count past ``limits``.
    MissingMetadataError
        No usable resolution in the file and no ``pixel_um``.
    """
    data, label = load_source(source, name=name, limits=limits)
    return image_from_bytes(data, name=label, pixel_um=pixel_um, limits=limits)


def image_from_bytes(
    data: bytes,
    *,
    name: str,
    pixel_um: float | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Surface:
    """Return the photograph held in ``data``; see :func:`read_image`."""
    if pixel_um is not None:
        check_pixel_um(pixel_um, name)
    file_format = detect_format(data)
    if file_format not in (FileFormat.PNG, FileFormat.TIFF, FileFormat.JPEG):
        raise UnreadableFileError(name, "not a PNG, TIFF or JPEG image")
    try:
        if file_format is FileFormat.TIFF:
            intensities, file_spacing_um, bit_depth = _decode_tiff(data, name, limits)
        else:
            intensities, file_spacing_um, bit_depth = _decode_with_pillow(
                data, file_format, name, limits
            )
    except EvidenceError:
        raise
    except PARSE_ERRORS as error:
        raise UnreadableFileError(
            name, f"truncated or corrupt {file_format.name} image ({one_line(error)})"
        ) from error

    metadata = {"format": file_format.value, "bit_depth": str(bit_depth)}
    if file_spacing_um is not None:
        metadata["pixel_um_in_file"] = f"{file_spacing_um[0]:.6g}"
        if max(file_spacing_um) > limits.max_file_pixel_um:
            metadata["pixel_um_in_file"] += " (ignored: a software default, not a measurement)"
    if pixel_um is not None:
        metadata["pixel_um_source"] = "argument"
        if file_spacing_um is not None and abs(file_spacing_um[0] / pixel_um - 1) > 0.01:
            logger.info(
                "%s: pixel_um=%g given overrides the file's %g µm per pixel",
                name,
                pixel_um,
                file_spacing_um[0],
            )
        spacing_um = float(pixel_um)
    else:
        if file_spacing_um is None:
            raise MissingMetadataError(
                name,
                "the image carries no resolution; pass pixel_um (micrometres per pixel)",
            )
        x_um, y_um = file_spacing_um
        if max(x_um, y_um) > limits.max_file_pixel_um:
            raise MissingMetadataError(
                name,
                f"the image's stated resolution ({25_400 / x_um:.0f} dpi = {x_um:.1f} µm per "
                "pixel) is a software default, not a measurement; pass pixel_um "
                "(micrometres per pixel)",
            )
        metadata["pixel_um_source"] = "file"
        if not is_square(x_um, y_um):
            check_resampling(intensities.shape, x_um=x_um, y_um=y_um, name=name, limits=limits)
            intensities, _ = resample_to_square(intensities, x_um=x_um, y_um=y_um)
            metadata["resampled"] = f"y spacing {y_um:.6g} µm to the x spacing {x_um:.6g} µm"
        spacing_um = x_um
    return Surface(
        values=intensities,
        pixel_um=spacing_um,
        modality=Modality.PHOTOGRAPH,
        sha256=hashlib.sha256(data).hexdigest(),
        source=name,
        metadata=metadata,
    )


def check_pixel_um(pixel_um: float, name: str) -> None:
    """Refuse a ``pixel_um`` that is not a positive finite number, naming the file it was for."""
    try:
        valid = bool(np.isfinite(pixel_um) and pixel_um > 0)
    except TypeError:
        valid = False
    if not valid:
        raise EvidenceError(
            name,
            f"pixel_um={pixel_um!r} is not a positive number; give the image's micrometres "
            "per pixel",
        )


def check_point_count(width: int, height: int, name: str, limits: ReadLimits) -> None:
    """Refuse a grid of more than ``limits.max_points`` points."""
    if width * height > limits.max_points:
        raise LimitExceededError(
            name,
            f"{width}×{height} = {width * height} points is past the limit of {limits.max_points}",
        )


def check_image_size(width: int, height: int, name: str, limits: ReadLimits) -> None:
    """Refuse a grid past ``limits.max_points`` or smaller than ``limits.min_image_side_px``."""
    check_point_count(width, height, name, limits)
    if min(width, height) < limits.min_image_side_px:
        raise UnreadableFileError(
            name,
            f"{width}×{height} points is too small to compare; at least "
            f"{limits.min_image_side_px}×{limits.min_image_side_px} are needed",
        )


def open_pil_image(data: bytes, *, name: str, limits: ReadLimits) -> Image.Image:
    """Open ``data`` with Pillow, reading only the header, and refuse it when too large.

    The minimum size is left to the caller (an annotation layer may be of any size).

    Pillow's own decompression-bomb guard is kept for sizes far past any limit; its warning is
    silenced because :func:`check_point_count` applies the configured limit instead.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise LimitExceededError(name, one_line(error)) from error
    except Image.UnidentifiedImageError as error:
        raise UnreadableFileError(name, "not a readable image") from error
    check_point_count(*image.size, name, limits)
    return image


def _decode_with_pillow(
    data: bytes, file_format: FileFormat, name: str, limits: ReadLimits
) -> tuple[np.ndarray, tuple[float, float] | None, int]:
    image = open_pil_image(data, name=name, limits=limits)
    check_image_size(*image.size, name, limits)
    if file_format is FileFormat.PNG:
        # verify() checks every chunk's CRC up to IEND, which load() does not.
        image.verify()
        image = open_pil_image(data, name=name, limits=limits)
    image.load()
    spacing_um = _pil_spacing_um(image)
    if (
        file_format is FileFormat.PNG
        and data[_PNG_IHDR_BIT_DEPTH] == 16
        and data[_PNG_IHDR_COLOUR_TYPE] in (2, 4, 6)
    ):
        # Pillow reduces 16-bit colour to 8 bits; OpenCV keeps all 16.
        return _luma(_decode_with_opencv(data, name), bgr=True) / 65535.0, spacing_um, 16
    intensities, bit_depth = _pil_intensities(image, name)
    return intensities, spacing_um, bit_depth


def _pil_intensities(image: Image.Image, name: str) -> tuple[np.ndarray, int]:
    mode = image.mode
    if mode.startswith("I;16"):
        return np.asarray(image, dtype=np.uint16).astype(np.float64) / 65535.0, 16
    if mode == "I":
        values = np.asarray(image).astype(np.float64)
        if values.min() < 0 or values.max() > 65535:
            raise UnreadableFileError(name, "32-bit integer images are not supported")
        return values / 65535.0, 16
    if mode == "1":
        return np.asarray(image, dtype=np.float64), 1
    if mode in ("L", "LA"):
        return np.asarray(image.getchannel(0), dtype=np.float64) / 255.0, 8
    if mode in ("RGB", "RGBA", "RGBX", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
        return _luma(rgb, bgr=False) / 255.0, 8
    raise UnreadableFileError(name, f"unsupported pixel type {mode!r}; save 8- or 16-bit")


def _pil_spacing_um(image: Image.Image) -> tuple[float, float] | None:
    # Pillow reports PNG pHYs (pixels per metre) and JFIF density in inches or centimetres as
    # dots per inch; a pHYs or density without a unit only gives an aspect ratio: no resolution.
    dpi = image.info.get("dpi")
    if not dpi:
        return None
    try:
        x_dpi, y_dpi = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError, IndexError):
        return None
    if not (np.isfinite(x_dpi) and np.isfinite(y_dpi) and x_dpi > 0 and y_dpi > 0):
        return None
    return _MICROMETRES_PER["inch"] / x_dpi, _MICROMETRES_PER["inch"] / y_dpi


def _decode_tiff(
    data: bytes, name: str, limits: ReadLimits
) -> tuple[np.ndarray, tuple[float, float] | None, int]:
    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        page = first_tiff_page(tiff, name)
        check_tiff_page(page, name, limits)
        dtype = np.dtype(page.dtype) if page.dtype is not None else None
        if dtype is None or dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
            raise UnreadableFileError(
                name, f"TIFF samples of type {dtype} are not supported; save 8- or 16-bit"
            )
        photometric = int(page.photometric)
        if photometric not in (0, 1, 2, 6):
            raise UnreadableFileError(
                name, f"TIFF photometric interpretation {photometric} is not supported"
            )
        spacing_um = _tiff_spacing_um(page)
        compression = int(page.compression)
        if compression in _TIFF_DEFLATE_COMPRESSIONS:
            _check_deflate_segments(page, data, dtype.itemsize, name)
        if compression in _TIFF_NATIVE_COMPRESSIONS:
            pixels = _tiff_grey(page.asarray(), page.axes, name)
            if photometric == 0:  # MinIsWhite: 0 is white (libtiff in OpenCV inverts itself)
                pixels = float(np.iinfo(dtype).max) - pixels
        else:
            pixels = _luma(_decode_with_opencv(data, name), bgr=True)
    return pixels / float(np.iinfo(dtype).max), spacing_um, dtype.itemsize * 8


def first_tiff_page(tiff: tifffile.TiffFile, name: str) -> tifffile.TiffPage:
    """Return a TIFF file's first image, the only one read, without listing the others.

    Counting the pages would parse every image file directory, which a small file can declare
    by the thousand; only the first is ever decoded.
    """
    try:
        page = tiff.pages.first
    except IndexError:
        raise UnreadableFileError(name, "the TIFF file holds no image") from None
    if not isinstance(page, tifffile.TiffPage):
        raise UnreadableFileError(name, "the TIFF file's first image cannot be read")
    return page


def check_tiff_page(page: tifffile.TiffPage, name: str, limits: ReadLimits) -> int:
    """Refuse a TIFF image declaring more values than ``limits.max_points``; return the count.

    Every sample counts: width * height * samples per pixel * image depth (the SGI volume
    tag), read from the header, since decoding allocates all of them whatever is kept.
    """
    width, height = int(page.imagewidth), int(page.imagelength)
    samples, depth = int(page.samplesperpixel), int(page.imagedepth)
    values = width * height * max(samples, 1) * max(depth, 1)
    if values > limits.max_points:
        shape = f"{width}×{height}"
        if samples > 1:
            shape += f"×{samples} samples"
        if depth > 1:
            shape += f"×{depth} deep"
        raise LimitExceededError(
            name,
            f"the TIFF image declares {shape} = {values} points, past the limit of "
            f"{limits.max_points}",
        )
    check_image_size(width, height, name, limits)
    return values


def _check_deflate_segments(page: tifffile.TiffPage, data: bytes, itemsize: int, name: str) -> None:
    """Refuse a deflate strip or tile that expands past its declared size, before decoding.

    The decoder inflates each segment whole, whatever the image declares: a megabyte of
    compressed zeros in one strip of a small image would become a gigabyte. Each segment is
    inflated here at most one byte past its size, without keeping the output.
    """
    segment_bytes = math.prod(int(side) for side in page.chunks) * itemsize
    for offset, count in zip(page.dataoffsets, page.databytecounts, strict=False):
        if not count:
            continue
        inflater = zlib.decompressobj()
        produced = len(inflater.decompress(data[offset : offset + count], segment_bytes + 1))
        if produced > segment_bytes:
            raise LimitExceededError(
                name,
                f"a compressed TIFF segment expands past its declared {segment_bytes} bytes "
                "(a decompression bomb?)",
            )


def _tiff_grey(pixels: np.ndarray, axes: str, name: str) -> np.ndarray:
    pixels = np.asarray(pixels, dtype=np.float64)
    if "S" in axes and axes.index("S") < axes.index("Y"):
        pixels = np.moveaxis(pixels, axes.index("S"), -1)  # planar: samples first
    pixels = np.squeeze(pixels)
    if pixels.ndim == 3 and pixels.shape[-1] >= 3:
        return _luma(pixels, bgr=False)
    if pixels.ndim == 3 and pixels.shape[-1] == 2:  # grey + alpha
        return pixels[..., 0]
    if pixels.ndim == 2:
        return pixels
    raise UnreadableFileError(name, f"TIFF image of shape {pixels.shape} is not supported")


def _tiff_spacing_um(page: tifffile.TiffPage) -> tuple[float, float] | None:
    tags = page.tags
    if "XResolution" not in tags:
        return None
    unit_tag = tags.get("ResolutionUnit")
    unit = int(unit_tag.value) if unit_tag is not None else 2  # TIFF default: inch
    micrometres = _TIFF_UNIT_UM.get(unit)
    if micrometres is None:
        return None  # unit "none": an aspect ratio only

    def per_unit(tag_name: str) -> float:
        tag = tags.get(tag_name) or tags["XResolution"]
        numerator, denominator = tag.value
        return float(numerator) / float(denominator) if denominator else 0.0

    x_resolution, y_resolution = per_unit("XResolution"), per_unit("YResolution")
    if not (x_resolution > 0 and y_resolution > 0):
        return None
    return micrometres / x_resolution, micrometres / y_resolution


def _decode_with_opencv(data: bytes, name: str) -> np.ndarray:
    pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise UnreadableFileError(name, "truncated or corrupt image (the decoder gave up)")
    return pixels.astype(np.float64)


def _luma(pixels: np.ndarray, *, bgr: bool) -> np.ndarray:
    if pixels.ndim == 2:
        return pixels
    red, green, blue = LUMA_WEIGHTS
    weights = (blue, green, red) if bgr else (red, green, blue)
    if pixels.shape[-1] == 2:  # grey + alpha
        return pixels[..., 0]
    return pixels[..., 0] * weights[0] + pixels[..., 1] * weights[1] + pixels[..., 2] * weights[2]


def write_png(surface: Surface, path: str | os.PathLike[str], *, bit_depth: int = 8) -> Path:
    """Write a photograph surface as a grey PNG that records its resolution, atomically.

    Parameters
    ----------
    surface
        A ``PHOTOGRAPH`` surface with intensities in [0, 1] and no NaN.
    path
        Where to write; an existing file is replaced in one step (temporary file, ``fsync``,
        rename), so that a reader never sees half a file.
    bit_depth
        8 or 16 bits per pixel.

    Returns
    -------
    Path
        The path written. The resolution is stored in the ``pHYs`` chunk in whole pixels per
        metre, so that :func:`read_image` recovers ``pixel_um`` to 1 part in 10^5 at 10 µm per
        pixel (finer pixels: better).
    """
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth!r}.")
    if surface.modality is not Modality.PHOTOGRAPH:
        raise ValueError(
            "write_png writes photographs (intensities in [0, 1]); write a topography with "
            "write_x3p so that its heights keep their micrometres."
        )
    values = surface.values
    if np.isnan(values).any():
        raise ValueError(
            "a PNG cannot store unmeasured (NaN) pixels; fill them first, e.g. "
            "dataclasses.replace(surface, values=np.nan_to_num(surface.values))."
        )
    if values.size and (values.min() < 0.0 or values.max() > 1.0):
        raise ValueError(
            f"photograph intensities must lie in [0, 1], got [{values.min():g}, "
            f"{values.max():g}]; rescale them before writing."
        )
    top = 255 if bit_depth == 8 else 65535
    pixels = np.rint(values * top).astype(np.uint8 if bit_depth == 8 else np.uint16)
    image = Image.fromarray(pixels)
    dpi = _MICROMETRES_PER["inch"] / surface.pixel_um
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi))
    return write_atomic(path, buffer.getvalue())

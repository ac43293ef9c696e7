"""Readers and writers: X3P topographies and PNG / TIFF / JPEG photographs -> :class:`Surface`.

:func:`read_surface` is the one entry point for evidence files: it recognises the format by the
file's content (never its name), enforces :class:`ReadLimits`, and turns every failure into an
:class:`~ballistics.errors.EvidenceError` whose one-line message names the file.

May import: the standard library, numpy, OpenCV, Pillow, tifffile, defusedxml, and of this
package only :mod:`ballistics.surface` and :mod:`ballistics.errors`; never a kind of mark.
"""

from __future__ import annotations

import dataclasses
import logging

from ballistics.errors import UnreadableFileError
from ballistics.io.detect import FileFormat, detect_format
from ballistics.io.files import Source, load_source
from ballistics.io.images import check_pixel_um, image_from_bytes, read_image, write_png
from ballistics.io.intake_orientation import (
    AS_STORED,
    DECLARED_ORIENTATIONS,
    apply_declared_orientation,
    check_declared_orientation,
)
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.io.x3p import read_x3p, write_x3p, x3p_from_bytes
from ballistics.surface import Surface

__all__ = [
    "AS_STORED",
    "DECLARED_ORIENTATIONS",
    "FileFormat",
    "ReadLimits",
    "check_declared_orientation",
    "detect_format",
    "read_image",
    "read_surface",
    "read_x3p",
    "write_png",
    "write_x3p",
]

logger = logging.getLogger(__name__)


def read_surface(
    source: Source,
    *,
    pixel_um: float | None = None,
    name: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    orientation: str = AS_STORED,
) -> Surface:
    """Return the surface in an evidence file: an X3P topography or a photograph.

    Parameters
    ----------
    source
        Path (``str`` or ``os.PathLike``) of the file, or its bytes (an upload).
    pixel_um
        Micrometres per pixel for photographs; overrides the image's own resolution and is
        required when the image has none. X3P files carry their calibrated spacing, which is
        kept: a ``pixel_um`` that disagrees with it by more than 1 % is logged and recorded as
        ``metadata["pixel_um_argument_ignored"]``.
    name
        Name for messages and ``Surface.source``; defaults to the path as given, or
        ``"upload"`` for bytes.
    limits
        Size, point-count and decompression limits.
    orientation
        What the lab declared of the file's orientation (:mod:`ballistics.io.intake_orientation`):
        ``as_stored`` (the default) or ``mirrored`` (rows stored bottom-up relative to the casing
        seen from its base; reversed here and recorded as ``metadata["declared_orientation"]``).

    Returns
    -------
    Surface
        ``TOPOGRAPHY`` in micrometres for X3P, ``PHOTOGRAPH`` in [0, 1] for PNG, TIFF and
        JPEG; ``sha256`` of the bytes read and ``source`` set to the name.

    Raises
    ------
    UnreadableFileError
        Not an X3P, PNG, TIFF or JPEG file, or a damaged one.
    LimitExceededError
        Past one of ``limits``.
    MissingMetadataError
        A photograph without resolution and no ``pixel_um``.
    ValueError
        ``orientation`` is not one of :data:`DECLARED_ORIENTATIONS`.
    """
    orientation = check_declared_orientation(orientation)
    return apply_declared_orientation(
        _read_as_stored(source, pixel_um=pixel_um, name=name, limits=limits), orientation
    )


def _read_as_stored(
    source: Source, *, pixel_um: float | None, name: str | None, limits: ReadLimits
) -> Surface:
    data, label = load_source(source, name=name, limits=limits)
    if pixel_um is not None:
        check_pixel_um(pixel_um, label)
    file_format = detect_format(data)
    if file_format is None:
        raise UnreadableFileError(label, "not an X3P, PNG, TIFF or JPEG file")
    if file_format is not FileFormat.X3P:
        return image_from_bytes(data, name=label, pixel_um=pixel_um, limits=limits)
    surface = x3p_from_bytes(data, name=label, limits=limits)
    if pixel_um is not None and abs(surface.pixel_um / pixel_um - 1) > 0.01:
        logger.warning(
            "%s: pixel_um=%g ignored; the X3P file's own spacing %g µm is kept",
            label,
            pixel_um,
            surface.pixel_um,
        )
        metadata = {**surface.metadata, "pixel_um_argument_ignored": f"{pixel_um:g}"}
        return dataclasses.replace(surface, metadata=metadata)
    return surface

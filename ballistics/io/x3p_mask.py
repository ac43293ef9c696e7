"""Turn the annotation layer of an X3P file (``bindata/mask.png``) into a region of interest.

NIST and CSAFE files carry, beside the height map, a colour image of the same size written by
the R package x3ptools. Its convention: one colour, given in ``Record3/Mask/Background`` of
``main.xml`` (x3ptools' default ``#cd7f32``, copper), means "no annotation"; every other colour
paints an annotated region.

What the annotations mean was read off the real DFSC files (``cartridge_cases/dfsc``), by
overlaying each mask on its height map:

* In the processed breech faces (``aces_processed/K227iG3``, ``raw/K002eG2``) copper covers the
  whole grid and blue (``#1f376c``) paints defects: the firing-pin aperture shear along the
  inner edge and a few blemishes. These are to be left out.
* In the raw scans (``raw/K013sA1``, ``raw/K013sA2``) ``main.xml`` has no ``Mask`` element and
  the image is black and white: white paints the breech-face annulus between the primer edge and
  the firing-pin hole, the part to keep.

Hence the rule:

1. A mask of only black and white pixels, in which the background colour does not occur, is a
   binary selection: **white is the region of interest**.
2. Otherwise **the background colour is the region of interest** and every annotated colour is
   excluded.
3. A mask that excludes nothing carries no information (region None); one that excludes
   everything cannot be what the lab meant and is ignored with a warning (region None).

The mask image's rows are the height map's rows (row = y index, no flip): the annotations land
on the features they outline only that way round.
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

#: x3ptools' default background colour: "not annotated".
DEFAULT_BACKGROUND = "#cd7f32"
#: The colour :func:`~ballistics.io.x3p.write_x3p` paints excluded points with (x3ptools' blue).
EXCLUDED_COLOUR = "#1f376c"

_BLACK = (0, 0, 0)
_WHITE = (255, 255, 255)
_DEFAULT_BACKGROUND_RGB = (0xCD, 0x7F, 0x32)


def parse_colour(text: str | None) -> tuple[int, int, int] | None:
    """Return the (red, green, blue) of ``"#rrggbb"`` (or ``"#rrggbbaa"``), None if malformed."""
    if not text:
        return None
    digits = text.strip().lstrip("#")
    if len(digits) not in (6, 8):
        return None
    try:
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    except ValueError:
        return None


def colour_hex(colour: tuple[int, int, int]) -> str:
    """Return ``"#rrggbb"`` for a (red, green, blue) triple."""
    return "#{:02x}{:02x}{:02x}".format(*colour)


def region_from_mask(
    rgb: np.ndarray, *, background: str | None, name: str = ""
) -> tuple[np.ndarray | None, str]:
    """Return the region of interest marked by an x3ptools mask image, and how it was read.

    Parameters
    ----------
    rgb
        (rows, columns, 3) uint8 array: the mask image, rows aligned with the height map.
    background
        ``Record3/Mask/Background`` from ``main.xml`` (``"#rrggbb"``), None when absent
        (then x3ptools' default ``#cd7f32``).
    name
        File name for log messages.

    Returns
    -------
    tuple of (numpy.ndarray or None, str)
        Boolean array, True where the surface is to be kept (None when the mask selects
        nothing or everything), and a one-line description for ``Surface.metadata``.
    """
    background_colour = parse_colour(background) or _DEFAULT_BACKGROUND_RGB
    # One integer per pixel makes np.unique fast (unique rows of an (n, 3) array are slow).
    packed = (
        (rgb[..., 0].astype(np.uint32) << 16)
        | (rgb[..., 1].astype(np.uint32) << 8)
        | rgb[..., 2].astype(np.uint32)
    )
    colours = {
        (int(value) >> 16, (int(value) >> 8) & 0xFF, int(value) & 0xFF)
        for value in np.unique(packed)
    }
    if colours == {_BLACK, _WHITE} and background_colour not in colours:
        region = np.all(rgb == np.array(_WHITE, dtype=rgb.dtype), axis=-1)
        rule = "binary mask: white kept"
    else:
        region = np.all(rgb == np.array(background_colour, dtype=rgb.dtype), axis=-1)
        excluded = sorted(colour_hex(colour) for colour in colours - {background_colour})
        rule = (
            f"background {colour_hex(background_colour)} kept, annotations "
            + (", ".join(excluded) if excluded else "none")
            + " excluded"
        )
    if region.all():
        return None, "no annotation"
    if not region.any():
        logger.warning("%s: the mask excludes every point; ignored", name)
        return None, f"ignored: {rule} leaves no point"
    return region, rule

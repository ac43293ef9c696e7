"""Pictures for an examiner: the building blocks of every figure, and a surface drawn as a PNG.

Pure functions from arrays to PNG bytes, drawn with OpenCV. A surface (heights or intensities
on a square grid, NaN where nothing was measured) is drawn with a colour map whose range is set
by percentiles of the valid points, so that one spike or dropout does not flatten the picture;
unmeasured points are drawn in a neutral colour; every picture of a surface carries a scale bar
in micrometres and the value range of its colours. The building blocks (:func:`colourise`,
:func:`text_block`, :func:`scale_bar_block`, :func:`stack_blocks`, :func:`encode_png`, ...) know
nothing of any kind of mark; the figures of each kind are built from them beside that kind:
:mod:`ballistics.casing.preview` and :mod:`ballistics.casing.overlay` for cartridge cases,
:mod:`ballistics.bullet.overlay` for bullet signatures. This module never imports them.

Text is shaped and drawn with real fonts (:mod:`ballistics.text`): agency and case names are written
as their agencies write them, in Latin with its accents, Cyrillic or Arabic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from ballistics.text import (
    FONT_SIZE_PX,
    TEXT_BGR,
    baseline_offset,
    draw_text,
    line_height,
    text_width,
)

#: colour maps by name; "grey" draws a dark field (unmeasured points black) as under a microscope
COLOUR_MAPS = ("viridis", "cividis", "inferno", "turbo", "grey")
_OPENCV_COLOUR_MAPS = {
    "viridis": cv2.COLORMAP_VIRIDIS,
    "cividis": cv2.COLORMAP_CIVIDIS,
    "inferno": cv2.COLORMAP_INFERNO,
    "turbo": cv2.COLORMAP_TURBO,
}
DEFAULT_COLOUR_MAP = "viridis"
#: longest side of a drawn surface, pixels
DEFAULT_MAX_SIDE_PX = 768
#: the percentiles of the valid points that the colour range spans
DEFAULT_PERCENTILES = (1.0, 99.0)

PAGE_BGR = (255, 255, 255)
#: unmeasured points under a colour map: a neutral grey, which viridis, inferno and turbo never
#: come near (cividis' middle does, so it is not the default)
MISSING_BGR = (128, 128, 128)
#: under the "grey" map measured points span [floor, 255] and unmeasured ones are black
_GREY_FLOOR = 40

MARGIN_PX = 12


# --- values to colours ------------------------------------------------------------------------


def check_surface(values: np.ndarray, *, name: str = "values") -> np.ndarray:
    """Return ``values`` as a 2-D float array, refusing what cannot be drawn."""
    array = np.asarray(values)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of heights or intensities, got {array.ndim} dimensions "
            f"(shape {array.shape}); pass one surface, e.g. values[..., 0] for one channel."
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}.")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).any():
        raise ValueError(
            f"{name} has no finite point (all NaN or infinite); there is nothing to draw. Check "
            "the region of interest or the validity mask of the scan."
        )
    return array


def contrast_limits(
    values: np.ndarray, *, percentiles: tuple[float, float] = DEFAULT_PERCENTILES
) -> tuple[float, float]:
    """The value range a colour map spans: percentiles of the finite points.

    Robust to a few spikes or dropouts; a constant surface gets a unit-wide range about its value.
    """
    low_percentile, high_percentile = percentiles
    if not 0.0 <= low_percentile < high_percentile <= 100.0:
        raise ValueError(
            f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}; e.g. (1, 99)."
        )
    finite = np.asarray(values)[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("values has no finite point; there is nothing to scale.")
    low, high = (float(v) for v in np.percentile(finite, [low_percentile, high_percentile]))
    if not high > low:
        low, high = low - 0.5, low + 0.5
    return low, high


def colourise(
    values: np.ndarray,
    *,
    colour_map: str = DEFAULT_COLOUR_MAP,
    limits: tuple[float, float] | None = None,
) -> np.ndarray:
    """Draw a surface as an 8-bit BGR image at its own resolution (one pixel per point).

    Parameters
    ----------
    values
        2-D heights or intensities, NaN where unmeasured.
    colour_map
        One of :data:`COLOUR_MAPS`.
    limits
        (low, high) values mapped to the ends of the colour map; values beyond are clipped.
        Default: :func:`contrast_limits`.

    Returns
    -------
    (rows, columns, 3) uint8 array
        Unmeasured points in :data:`MISSING_BGR`, or black under the "grey" map.
    """
    check_colour_map(colour_map)
    values = check_surface(values)
    low, high = limits if limits is not None else contrast_limits(values)
    valid = np.isfinite(values)
    normalised = np.clip((np.where(valid, values, low) - low) / (high - low), 0.0, 1.0)
    if colour_map == "grey":
        levels = np.round(_GREY_FLOOR + normalised * (255 - _GREY_FLOOR)).astype(np.uint8)
        image = cv2.cvtColor(np.where(valid, levels, 0).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    else:
        levels = np.round(normalised * 255).astype(np.uint8)
        image = cv2.applyColorMap(levels, _OPENCV_COLOUR_MAPS[colour_map])
        image[~valid] = MISSING_BGR
    return image


def check_colour_map(colour_map: str) -> None:
    """Refuse a colour map that is not one of :data:`COLOUR_MAPS`."""
    if colour_map not in COLOUR_MAPS:
        raise ValueError(f"unknown colour_map {colour_map!r}; use one of {', '.join(COLOUR_MAPS)}.")


def resize_to(image: np.ndarray, size_px: tuple[int, int]) -> np.ndarray:
    """Resize an image to (rows, columns): area averaging to shrink, linear to enlarge."""
    rows, columns = size_px
    if (rows, columns) == image.shape[:2]:
        return image
    shrinking = rows * columns < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (columns, rows), interpolation=interpolation)


def fitted_size(shape: tuple[int, ...], max_side_px: int) -> tuple[int, int]:
    """(rows, columns) of an image of ``shape`` shrunk so its longest side is ``max_side_px``.

    Never enlarges: a small surface is drawn one pixel per point.
    """
    rows, columns = shape[:2]
    scale = min(1.0, max_side_px / max(rows, columns))
    return max(1, round(rows * scale)), max(1, round(columns * scale))


# --- blocks of a figure -----------------------------------------------------------------------


def blank(rows: int, columns: int) -> np.ndarray:
    """A page-coloured BGR image."""
    return np.full((max(1, rows), max(1, columns), 3), PAGE_BGR, dtype=np.uint8)


def text_block(lines: Sequence[str], *, size_px: int = FONT_SIZE_PX) -> np.ndarray:
    """Lines of text on the page colour, left-aligned, as narrow as they allow."""
    lines = [line for line in lines if line]
    width = max((text_width(line, size_px=size_px) for line in lines), default=1)
    heights = [line_height(line, size_px=size_px) for line in lines]
    block = blank(sum(heights), width + 2)
    top = 0
    for line, height in zip(lines, heights, strict=True):
        baseline = top + baseline_offset(line, size_px=size_px)
        draw_text(block, line, origin=(1, baseline), size_px=size_px)
        top += height
    return block


def nice_length(target: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``target`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(target))
    return max(step * power for step in (1.0, 2.0, 5.0) if step * power <= target * (1 + 1e-9))


def scale_bar_block(*, um_per_px: float, max_length_px: int) -> np.ndarray:
    """A black scale bar of a round length in micrometres, labelled, at most ``max_length_px``."""
    length_um = nice_length(max(max_length_px, 4) * um_per_px)
    length_px = max(1, round(length_um / um_per_px))
    label = f"{length_um:g} µm"
    height = line_height()
    block = blank(height, length_px + 8 + text_width(label))
    bar_top = height // 2 - 3
    block[bar_top : bar_top + 6, :length_px] = TEXT_BGR
    draw_text(block, label, origin=(length_px + 6, baseline_offset()))
    return block


def colour_bar_block(
    limits: tuple[float, float], *, colour_map: str, unit: str = "", length_px: int = 120
) -> np.ndarray:
    """The colour map as a horizontal bar between its end values (``unit`` after the high one)."""
    ramp = np.tile(np.linspace(limits[0], limits[1], length_px, dtype=np.float32), (10, 1))
    bar = colourise(ramp, colour_map=colour_map, limits=limits)
    low = f"{limits[0]:.3g}"
    high = f"{limits[1]:.3g} {unit}".rstrip()
    height = line_height()
    block = blank(height, text_width(low) + length_px + text_width(high) + 12)
    top = (height - bar.shape[0]) // 2
    draw_text(block, low, origin=(0, baseline_offset()))
    left = text_width(low) + 6
    block[top : top + bar.shape[0], left : left + length_px] = bar
    draw_text(block, high, origin=(left + length_px + 6, baseline_offset()))
    return block


def side_by_side(images: Sequence[np.ndarray], *, gap_px: int = MARGIN_PX) -> np.ndarray:
    """Images in a row, top-aligned, on the page colour."""
    height = max(image.shape[0] for image in images)
    width = sum(image.shape[1] for image in images) + gap_px * (len(images) - 1)
    row = blank(height, width)
    left = 0
    for image in images:
        row[: image.shape[0], left : left + image.shape[1]] = image
        left += image.shape[1] + gap_px
    return row


def stack_blocks(
    blocks: Sequence[np.ndarray], *, gap_px: int = 6, margin_px: int = MARGIN_PX
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Blocks one under another, left-aligned, with a page-coloured margin all round.

    Returns the figure and the (row, column) of each block's top-left corner in it.
    """
    width = max(block.shape[1] for block in blocks) + 2 * margin_px
    height = sum(block.shape[0] for block in blocks) + gap_px * (len(blocks) - 1) + 2 * margin_px
    figure = blank(height, width)
    origins = []
    top = margin_px
    for block in blocks:
        figure[top : top + block.shape[0], margin_px : margin_px + block.shape[1]] = block
        origins.append((top, margin_px))
        top += block.shape[0] + gap_px
    return figure, origins


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an 8-bit BGR (or grey) image."""
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image))
    if not ok:  # pragma: no cover - OpenCV fails only on unsupported dtypes, excluded above
        raise ValueError("OpenCV could not encode the image as PNG; pass an 8-bit image.")
    return encoded.tobytes()


# --- surfaces ---------------------------------------------------------------------------------


def check_pixel_um(pixel_um: float) -> float:
    """Return ``pixel_um`` as a float, refusing anything but a positive finite spacing."""
    if not (math.isfinite(pixel_um) and pixel_um > 0):
        raise ValueError(f"pixel_um must be a positive number of micrometres, got {pixel_um!r}.")
    return float(pixel_um)


def check_max_side(max_side_px: int) -> int:
    """Return ``max_side_px`` as an int, refusing a fraction or fewer than 32 pixels."""
    if int(max_side_px) != max_side_px or max_side_px < 32:
        raise ValueError(f"max_side_px must be a whole number of pixels >= 32, got {max_side_px}.")
    return int(max_side_px)


def surface_panel(
    values: np.ndarray,
    *,
    size_px: tuple[int, int],
    colour_map: str,
    percentiles: tuple[float, float],
    caption: str,
    value_unit: str,
) -> np.ndarray:
    """Caption, the surface drawn at ``size_px`` and its colour bar, stacked."""
    limits = contrast_limits(values, percentiles=percentiles)
    image = resize_to(colourise(values, colour_map=colour_map, limits=limits), size_px)
    blocks = [text_block([caption])] if caption else []
    blocks += [image, colour_bar_block(limits, colour_map=colour_map, unit=value_unit)]
    panel, _ = stack_blocks(blocks, margin_px=0)
    return panel


def render_surface_png(
    values: np.ndarray,
    *,
    pixel_um: float,
    max_side_px: int = DEFAULT_MAX_SIDE_PX,
    colour_map: str = DEFAULT_COLOUR_MAP,
    title: str | None = None,
    value_unit: str = "µm",
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
) -> bytes:
    """Draw a height or intensity map as a PNG with a scale bar and its colour range.

    Parameters
    ----------
    values
        2-D heights (µm) or intensities, NaN where unmeasured (drawn in a neutral colour).
    pixel_um
        Micrometres per point of ``values``; sets the scale bar.
    max_side_px
        Longest side of the drawn surface; larger surfaces are shrunk by area averaging, smaller
        ones drawn one pixel per point. The figure adds a margin, the title, the scale bar and
        the colour bar (about 70 pixels of height and 24 of width).
    colour_map
        One of :data:`COLOUR_MAPS`.
    title
        A line of text above the surface.
    value_unit
        Unit of the values, written after the colour bar's upper value ("" for intensities).
    percentiles
        Percentiles of the valid points that the colour map spans, so that spikes and dropouts
        do not flatten the picture.

    Returns
    -------
    bytes
        The PNG file.

    Raises
    ------
    ValueError
        If ``values`` is not 2-D or has no finite point, or an option is out of range.
    """
    values = check_surface(values)
    pixel_um = check_pixel_um(pixel_um)
    max_side_px = check_max_side(max_side_px)
    check_colour_map(colour_map)
    size = fitted_size(values.shape, max_side_px)
    um_per_px = pixel_um * values.shape[1] / size[1]
    panel = surface_panel(
        values,
        size_px=size,
        colour_map=colour_map,
        percentiles=percentiles,
        caption="",
        value_unit=value_unit,
    )
    blocks = [text_block([title])] if title else []
    blocks += [panel, scale_bar_block(um_per_px=um_per_px, max_length_px=max(size[1] // 4, 40))]
    figure, _ = stack_blocks(blocks)
    return encode_png(figure)

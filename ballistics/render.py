"""Pictures for an examiner: surfaces and profiles drawn as PNG images, with their scale.

Pure functions from arrays to PNG bytes, drawn with OpenCV. A surface (heights or intensities
on a square grid, NaN where nothing was measured) is drawn with a colour map whose range is set
by percentiles of the valid points, so that one spike or dropout does not flatten the picture;
unmeasured points are drawn in a neutral colour; every picture of a surface carries a scale bar
in micrometres and the value range of its colours. The building blocks (:func:`colourise`,
:func:`text_block`, :func:`scale_bar_block`, :func:`stack_blocks`, ...) are shared with the
casing overlay (:mod:`ballistics.casing.overlay`).

Text is shaped and drawn with real fonts (:mod:`ballistics.text`): agency and case names are written
as their agencies write them, in Latin with its accents, Cyrillic or Arabic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from ballistics.casing.marks import PreparedCasing
from ballistics.surface import Modality
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
    _check_colour_map(colour_map)
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


def _check_colour_map(colour_map: str) -> None:
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


def _check_pixel_um(pixel_um: float) -> float:
    if not (math.isfinite(pixel_um) and pixel_um > 0):
        raise ValueError(f"pixel_um must be a positive number of micrometres, got {pixel_um!r}.")
    return float(pixel_um)


def _check_max_side(max_side_px: int) -> int:
    if int(max_side_px) != max_side_px or max_side_px < 32:
        raise ValueError(f"max_side_px must be a whole number of pixels >= 32, got {max_side_px}.")
    return int(max_side_px)


def _surface_panel(
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
    pixel_um = _check_pixel_um(pixel_um)
    max_side_px = _check_max_side(max_side_px)
    _check_colour_map(colour_map)
    size = fitted_size(values.shape, max_side_px)
    um_per_px = pixel_um * values.shape[1] / size[1]
    panel = _surface_panel(
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


def casing_preview_png(
    mark: PreparedCasing,
    *,
    max_side_px: int = DEFAULT_MAX_SIDE_PX,
    colour_map: str = DEFAULT_COLOUR_MAP,
    title: str | None = None,
) -> bytes:
    """A preview of a prepared cartridge case: the breech face, and the firing pin beside it.

    Both impressions are drawn at the same scale (the breech face's longest side at most
    ``max_side_px``), each with its own colour range, under a title (default: the source file
    and the modality) and over one scale bar.

    Parameters
    ----------
    mark
        The prepared casing (:func:`ballistics.casing.prepare.prepare_casing`).
    max_side_px, colour_map
        As in :func:`render_surface_png`.
    title
        First line of the figure; default the mark's source file name.

    Returns
    -------
    bytes
        The PNG file.
    """
    max_side_px = _check_max_side(max_side_px)
    _check_colour_map(colour_map)
    unit = "µm" if mark.modality is Modality.TOPOGRAPHY else ""
    breech_face = mark.breech_face
    size = fitted_size(breech_face.shape, max_side_px)
    scale = size[1] / breech_face.shape[1]
    um_per_px = mark.pixel_um / scale
    common = {"colour_map": colour_map, "percentiles": DEFAULT_PERCENTILES, "value_unit": unit}
    panels = [_surface_panel(breech_face, size_px=size, caption="Breech face", **common)]
    firing_pin = mark.firing_pin
    if firing_pin is not None and firing_pin.ndim == 2 and np.isfinite(firing_pin).any():
        pin_size = (
            max(1, round(firing_pin.shape[0] * scale)),
            max(1, round(firing_pin.shape[1] * scale)),
        )
        panels.append(_surface_panel(firing_pin, size_px=pin_size, caption="Firing pin", **common))
    heading = title or mark.source or "Cartridge case"
    # two short lines, so that the pictures, not the caption, set the figure's width
    details = [
        f"{mark.modality.value}, {mark.pixel_um:g} µm per point",
        f"{100 * mark.valid_fraction:.0f}% of the breech-face grid measured",
    ]
    blocks = [
        text_block([heading]),
        text_block(details),
        side_by_side(panels),
        scale_bar_block(um_per_px=um_per_px, max_length_px=max(size[1] // 4, 40)),
    ]
    figure, _ = stack_blocks(blocks)
    return encode_png(figure)


# --- profiles ---------------------------------------------------------------------------------

#: Okabe-Ito blue and orange, told apart with every common colour-vision deficiency
PROFILE_BGR = ((178, 114, 0), (0, 159, 230))
GRID_BGR = (225, 225, 225)


def _check_profile(values: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D profile of heights in µm, got shape {array.shape}; pass one "
            "signature (e.g. the mean of a land's cross-cuts)."
        )
    if np.isfinite(array).sum() < 2:
        raise ValueError(f"{name} has fewer than 2 finite points; there is no profile to draw.")
    return array


def _ticks(low: float, high: float, *, count: int) -> np.ndarray:
    """Round tick values inside [low, high], about ``count`` of them."""
    step = nice_length((high - low) / max(count, 1)) if high > low else 1.0
    first = math.ceil(low / step - 1e-9) * step
    return np.arange(first, high + 1e-9 * step, step)


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.diff(np.concatenate([[0], valid.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def signature_overlay_png(
    first_um: np.ndarray,
    second_um: np.ndarray,
    *,
    pixel_um: float,
    lag_um: float = 0.0,
    labels: tuple[str, str] = ("", ""),
    title: str | None = None,
    width_px: int = 960,
    height_px: int = 320,
) -> bytes:
    """Draw two 1-D profiles (e.g. bullet land signatures) aligned, as two lines on a grid.

    Parameters
    ----------
    first_um, second_um
        Heights in micrometres along the profile, one per ``pixel_um``; NaN points are left as
        gaps in the line.
    pixel_um
        Spacing of the points of both profiles, micrometres.
    lag_um
        Where the second profile starts on the first's axis: its point ``i`` is drawn at
        ``lag_um + i * pixel_um`` and the first's point ``i`` at ``i * pixel_um``.
    labels
        Legend entries of the two profiles.
    title
        A line above the plot.
    width_px, height_px
        Size of the plot area with its axis labels.

    Returns
    -------
    bytes
        The PNG file.
    """
    first = _check_profile(first_um, "first_um")
    second = _check_profile(second_um, "second_um")
    pixel_um = _check_pixel_um(pixel_um)
    if not math.isfinite(lag_um):
        raise ValueError(f"lag_um must be a finite number of micrometres, got {lag_um!r}.")
    if width_px < 200 or height_px < 120:
        raise ValueError("width_px must be >= 200 and height_px >= 120 for the axes to fit.")
    positions = (np.arange(first.size) * pixel_um, lag_um + np.arange(second.size) * pixel_um)
    x_low = min(positions[0][0], positions[1][0])
    x_high = max(positions[0][-1], positions[1][-1])
    both = np.concatenate([first[np.isfinite(first)], second[np.isfinite(second)]])
    y_low, y_high = (float(v) for v in np.percentile(both, [0.5, 99.5]))
    if not y_high > y_low:
        y_low, y_high = y_low - 0.5, y_low + 0.5
    padding = 0.08 * (y_high - y_low)
    y_low, y_high = y_low - padding, y_high + padding

    plot = blank(height_px, width_px)
    left, right, top, bottom = 64, width_px - 16, 8, height_px - 44

    def to_x(value: np.ndarray | float) -> np.ndarray:
        return left + (np.asarray(value) - x_low) / max(x_high - x_low, 1e-9) * (right - left)

    def to_y(value: np.ndarray | float) -> np.ndarray:
        return bottom - (np.asarray(value) - y_low) / (y_high - y_low) * (bottom - top)

    # a tick label's digits are centred on its tick: half their height below it
    half_digit_px = round(0.36 * FONT_SIZE_PX)
    for tick in _ticks(x_low, x_high, count=8):
        x = round(float(to_x(tick)))
        cv2.line(plot, (x, top), (x, bottom), GRID_BGR, 1)
        label = f"{tick:g}"
        draw_text(plot, label, origin=(x - text_width(label) // 2, bottom + 18))
    for tick in _ticks(y_low, y_high, count=5):
        y = round(float(to_y(tick)))
        cv2.line(plot, (left, y), (right, y), GRID_BGR, 1)
        label = f"{tick:g}"
        draw_text(plot, label, origin=(left - 6 - text_width(label), y + half_digit_px))
    cv2.rectangle(plot, (left, top), (right, bottom), TEXT_BGR, 1)
    x_label = "position (µm)"
    draw_text(plot, x_label, origin=((left + right - text_width(x_label)) // 2, height_px - 6))
    draw_text(plot, "µm", origin=(4, top + baseline_offset()))

    for profile, x_values, colour in zip((first, second), positions, PROFILE_BGR, strict=True):
        points = np.stack([to_x(x_values), to_y(np.where(np.isfinite(profile), profile, 0))], 1)
        points = np.round(points).astype(np.int32)
        for start, stop in _runs(np.isfinite(profile)):
            if stop - start == 1:
                cv2.circle(plot, tuple(int(v) for v in points[start]), 1, colour, -1)
            else:
                cv2.polylines(plot, [points[start:stop]], False, colour, 2, cv2.LINE_AA)

    legend_entries = []
    for label, colour in zip(labels, PROFILE_BGR, strict=True):
        text = text_block([label or "-"])
        swatch = blank(text.shape[0], 28)
        cv2.line(swatch, (2, text.shape[0] // 2), (25, text.shape[0] // 2), colour, 3)
        legend_entries += [swatch, text]
    blocks = [text_block([title])] if title else []
    lag_line = f"second profile shifted by {lag_um:+g} µm; {pixel_um:g} µm per point"
    blocks += [side_by_side(legend_entries, gap_px=6), text_block([lag_line]), plot]
    figure, _ = stack_blocks(blocks)
    return encode_png(figure)

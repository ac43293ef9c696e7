"""Two bullet signatures drawn aligned, as two lines on a grid, and two bullets' lands at their
best phase (PNG).

The examiner sees the two profiles of a land comparison laid over one another at the lag the
comparison found. Built from the generic blocks of :mod:`ballistics.render`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ballistics.bullet.compare import PreparedBullet, compare_bullets, compare_lands
from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.bullet.preview import png_image
from ballistics.render import (
    blank,
    check_pixel_um,
    encode_png,
    nice_length,
    side_by_side,
    stack_blocks,
    text_block,
)
from ballistics.text import FONT_SIZE_PX, TEXT_BGR, baseline_offset, draw_text, text_width

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
    pixel_um = check_pixel_um(pixel_um)
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


def bullet_overlay_png(
    reference: PreparedBullet,
    questioned: PreparedBullet,
    *,
    reference_label: str,
    questioned_label: str,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> bytes:
    """The lands facing each other at the best phase, their signatures drawn aligned."""
    comparison = compare_bullets(reference, questioned, config=config)
    decision = "lead" if comparison.lead else "below the lead threshold"
    header = text_block(
        [
            f"{reference_label} vs {questioned_label}",
            f"bullet score {comparison.score:.3f} ({decision}: threshold "
            f"{config.lead_threshold:g}), phase {comparison.phase}",
        ]
    )
    blocks = [header]
    for first, second, score in comparison.aligned_pairs:
        land_a, land_b = reference.lands[first], questioned.lands[second]
        lands = compare_lands(land_a, land_b, config=config)
        number_a, number_b = reference.land_numbers[first], questioned.land_numbers[second]
        blocks.append(
            png_image(
                signature_overlay_png(
                    land_a.signature_um,
                    land_b.signature_um,
                    pixel_um=land_a.pixel_um,
                    lag_um=lands.lag_um,
                    labels=(f"land {number_a}", f"land {number_b}"),
                    title=f"land {number_a} x land {number_b}: score {score:.3f}, "
                    f"{lands.consecutive_matching_striae} consecutive matching striae",
                    height_px=240,
                )
            )
        )
    figure, _ = stack_blocks(blocks)
    return encode_png(figure)

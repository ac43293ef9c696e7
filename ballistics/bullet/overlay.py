"""Two bullet signatures drawn aligned, as two lines on a grid, and two bullets' lands at their
best phase (PNG).

The examiner sees the two profiles of a land comparison laid over one another at the lag the
comparison found. Built from the generic blocks of :mod:`ballistics.render`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

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
    y_low, y_high = _height_range(first, second)
    axes = _Axes(
        left=64,
        right=width_px - 16,
        top=8,
        bottom=height_px - 44,
        x_range=(min(positions[0][0], positions[1][0]), max(positions[0][-1], positions[1][-1])),
        y_range=(y_low, y_high),
    )
    plot = blank(height_px, width_px)
    _draw_axes(plot, axes)
    for profile, x_values, colour in zip((first, second), positions, PROFILE_BGR, strict=True):
        _draw_profile(plot, axes, profile, x_values, colour)
    blocks = [text_block([title])] if title else []
    lag_line = f"second profile shifted by {lag_um:+g} µm; {pixel_um:g} µm per point"
    blocks += [_legend(labels), text_block([lag_line]), plot]
    figure, _ = stack_blocks(blocks)
    return encode_png(figure)


def _height_range(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """Return the heights the plot spans: both profiles but their outliers, with a margin."""
    both = np.concatenate([first[np.isfinite(first)], second[np.isfinite(second)]])
    y_low, y_high = (float(v) for v in np.percentile(both, [0.5, 99.5]))
    if not y_high > y_low:
        y_low, y_high = y_low - 0.5, y_low + 0.5
    padding = 0.08 * (y_high - y_low)
    return y_low - padding, y_high + padding


@dataclass(frozen=True)
class _Axes:
    """The plot area in pixels of the image and the values it spans (µm along and in height)."""

    left: int
    right: int
    top: int
    bottom: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def to_x(self, value: np.ndarray | float) -> np.ndarray:
        """Return the image column of positions ``value`` (µm)."""
        x_low, x_high = self.x_range
        return self.left + (np.asarray(value) - x_low) / max(x_high - x_low, 1e-9) * (
            self.right - self.left
        )

    def to_y(self, value: np.ndarray | float) -> np.ndarray:
        """Return the image row of heights ``value`` (µm)."""
        y_low, y_high = self.y_range
        return self.bottom - (np.asarray(value) - y_low) / (y_high - y_low) * (
            self.bottom - self.top
        )


def _draw_axes(plot: np.ndarray, axes: _Axes) -> None:
    """Draw the grid, its tick labels, the frame and the axis labels on ``plot``."""
    left, right, top, bottom = axes.left, axes.right, axes.top, axes.bottom
    # a tick label's digits are centred on its tick: half their height below it
    half_digit_px = round(0.36 * FONT_SIZE_PX)
    for tick in _ticks(*axes.x_range, count=8):
        x = round(float(axes.to_x(tick)))
        cv2.line(plot, (x, top), (x, bottom), GRID_BGR, 1)
        label = f"{tick:g}"
        draw_text(plot, label, origin=(x - text_width(label) // 2, bottom + 18))
    for tick in _ticks(*axes.y_range, count=5):
        y = round(float(axes.to_y(tick)))
        cv2.line(plot, (left, y), (right, y), GRID_BGR, 1)
        label = f"{tick:g}"
        draw_text(plot, label, origin=(left - 6 - text_width(label), y + half_digit_px))
    cv2.rectangle(plot, (left, top), (right, bottom), TEXT_BGR, 1)
    x_label = "position (µm)"
    draw_text(plot, x_label, origin=((left + right - text_width(x_label)) // 2, plot.shape[0] - 6))
    draw_text(plot, "µm", origin=(4, top + baseline_offset()))


def _draw_profile(
    plot: np.ndarray,
    axes: _Axes,
    profile: np.ndarray,
    x_values: np.ndarray,
    colour: tuple[int, int, int],
) -> None:
    """Draw one profile as a line on ``plot``, with gaps where it is NaN."""
    points = np.stack(
        [axes.to_x(x_values), axes.to_y(np.where(np.isfinite(profile), profile, 0))], 1
    )
    points = np.round(points).astype(np.int32)
    for start, stop in _runs(np.isfinite(profile)):
        if stop - start == 1:
            cv2.circle(plot, tuple(int(v) for v in points[start]), 1, colour, -1)
        else:
            cv2.polylines(plot, [points[start:stop]], False, colour, 2, cv2.LINE_AA)


def _legend(labels: tuple[str, str]) -> np.ndarray:
    """Return the legend: a line of each profile's colour before its label."""
    legend_entries = []
    for label, colour in zip(labels, PROFILE_BGR, strict=True):
        text = text_block([label or "-"])
        swatch = blank(text.shape[0], 28)
        cv2.line(swatch, (2, text.shape[0] // 2), (25, text.shape[0] // 2), colour, 3)
        legend_entries += [swatch, text]
    return side_by_side(legend_entries, gap_px=6)


def bullet_overlay_png(
    reference: PreparedBullet,
    questioned: PreparedBullet,
    *,
    reference_label: str,
    questioned_label: str,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
    strength_of: Callable[[float], str] | None = None,
) -> bytes:
    """The lands facing each other at the best phase, their signatures drawn aligned, under a
    header with the score and, when ``strength_of`` is given, the line it writes of the score
    (the strength of the evidence)."""
    comparison = compare_bullets(reference, questioned, config=config)
    decision = "lead" if comparison.lead else "below the lead threshold"
    header = text_block(
        [
            f"{reference_label} vs {questioned_label}",
            f"bullet score {comparison.score:.3f} ({decision}: threshold "
            f"{config.lead_threshold:g}), phase {comparison.phase}",
            "" if strength_of is None else strength_of(comparison.score),
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

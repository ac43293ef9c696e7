"""Tippett and empirical cross-entropy plots of a set of LRs, drawn with OpenCV as PNG bytes.

No plotting library is a dependency of the engine, and these two plots are lines on axes, so
they are drawn directly (anti-aliased lines, Hershey text: ASCII only).

* Tippett plot (Meuwly et al. 2017): for every log10 LR on the x axis, the proportion of known
  matches (blue) and of known non-matches (red) whose LR is larger. Far apart is good; the red
  curve right of 0 and the blue curve left of 0 are the misleading evidence.
* ECE plot (Ramos and Gonzalez-Rodriguez 2013): empirical cross-entropy against the prior
  log10 odds, for the LRs (red), after ideal PAV calibration (blue, dashed) and for LR = 1
  (the neutral reference, black, dotted). Red below black: the LRs help at every prior; red
  close to blue: they are well calibrated. At prior odds 1 the red curve is Cllr.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ballistics.calibration.metrics import (
    FINITE_STAND_IN,
    empirical_cross_entropy,
    pav_log10_lrs,
    tippett_curves,
)

WIDTH, HEIGHT = 640, 400
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 36, 48
BLUE, RED, BLACK, GREY = (200, 90, 20), (40, 40, 210), (0, 0, 0), (215, 215, 215)
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Series:
    """One line: x and y values, a BGR colour, a legend label, and ``dash`` (0: solid)."""

    x: np.ndarray
    y: np.ndarray
    colour: tuple[int, int, int]
    label: str
    dash: int = 0


def _to_pixels(
    x: np.ndarray, y: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float]
) -> np.ndarray:
    width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    column = MARGIN_LEFT + (x - x_range[0]) / (x_range[1] - x_range[0]) * width
    row = MARGIN_TOP + (y_range[1] - y) / (y_range[1] - y_range[0]) * height
    return np.stack([column, row], axis=1)


def _ticks(low: float, high: float) -> np.ndarray:
    span = high - low
    step = next(s for s in (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0) if span / s <= 8)
    return np.arange(np.ceil(low / step) * step, high + 1e-9, step)


def _draw_axes(
    image: np.ndarray,
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    x_label: str,
    y_label: str,
    title: str,
) -> None:
    for value in _ticks(*x_range):
        ((column, _),) = _to_pixels(np.array([value]), np.array([y_range[0]]), x_range, y_range)
        cv2.line(image, (int(column), MARGIN_TOP), (int(column), HEIGHT - MARGIN_BOTTOM), GREY, 1)
        cv2.putText(
            image,
            f"{value:g}",
            (int(column) - 10, HEIGHT - MARGIN_BOTTOM + 16),
            FONT,
            0.4,
            BLACK,
            1,
            cv2.LINE_AA,
        )
    for value in _ticks(*y_range):
        ((_, row),) = _to_pixels(np.array([x_range[0]]), np.array([value]), x_range, y_range)
        cv2.line(image, (MARGIN_LEFT, int(row)), (WIDTH - MARGIN_RIGHT, int(row)), GREY, 1)
        cv2.putText(image, f"{value:g}", (8, int(row) + 4), FONT, 0.4, BLACK, 1, cv2.LINE_AA)
    cv2.rectangle(
        image, (MARGIN_LEFT, MARGIN_TOP), (WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM), BLACK, 1
    )
    cv2.putText(image, x_label, (WIDTH // 2 - 60, HEIGHT - 12), FONT, 0.45, BLACK, 1, cv2.LINE_AA)
    cv2.putText(image, y_label, (8, MARGIN_TOP - 8), FONT, 0.45, BLACK, 1, cv2.LINE_AA)
    cv2.putText(image, title, (MARGIN_LEFT + 150, 20), FONT, 0.5, BLACK, 1, cv2.LINE_AA)


def line_plot(
    series: Sequence[Series],
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    x_label: str,
    y_label: str,
    title: str,
    legend_top: float = 0.0,
) -> bytes:
    """Return a PNG of lines on axes, with a legend at the right, ``legend_top`` (0 to 1) down
    the plot area."""
    image = np.full((HEIGHT, WIDTH, 3), 255, dtype=np.uint8)
    _draw_axes(
        image, x_range=x_range, y_range=y_range, x_label=x_label, y_label=y_label, title=title
    )
    for line in series:
        points = (
            _to_pixels(np.clip(line.x, *x_range), np.clip(line.y, *y_range), x_range, y_range)
            .round()
            .astype(np.int32)
        )
        if line.dash:
            for start in range(0, len(points) - 1, 2 * line.dash):
                chunk = points[start : start + line.dash + 1]
                cv2.polylines(image, [chunk], False, line.colour, 2, cv2.LINE_AA)
        else:
            cv2.polylines(image, [points], False, line.colour, 2, cv2.LINE_AA)
    # the legend on a white box, over the lines
    top = MARGIN_TOP + 4 + int(legend_top * (HEIGHT - MARGIN_TOP - MARGIN_BOTTOM))
    left = WIDTH - MARGIN_RIGHT - 236
    bottom = top + 18 * len(series) + 6
    cv2.rectangle(image, (left, top), (WIDTH - MARGIN_RIGHT - 4, bottom), (255, 255, 255), -1)
    cv2.rectangle(image, (left, top), (WIDTH - MARGIN_RIGHT - 4, bottom), GREY, 1)
    for number, line in enumerate(series):
        row = top + 16 + 18 * number
        cv2.line(image, (left + 6, row - 4), (left + 30, row - 4), line.colour, 2, cv2.LINE_AA)
        cv2.putText(image, line.label, (left + 36, row), FONT, 0.42, BLACK, 1, cv2.LINE_AA)
    ok, encoded = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError("OpenCV could not encode the plot as PNG.")
    return encoded.tobytes()


def tippett_png(
    log10_lrs: Sequence[float] | np.ndarray,
    same_firearm: Sequence[bool] | np.ndarray,
    *,
    title: str,
) -> bytes:
    """Return the Tippett plot of a set of LRs as PNG bytes."""
    values = np.clip(np.asarray(log10_lrs, dtype=np.float64), -FINITE_STAND_IN, FINITE_STAND_IN)
    finite = values[np.abs(values) < FINITE_STAND_IN]
    reach = max(3.0, float(np.ceil(np.abs(finite).max() + 0.5)) if finite.size else 3.0)
    levels = np.linspace(-reach, reach, 801)
    matches, non_matches = tippett_curves(values, same_firearm, levels)
    series = [
        Series(levels, matches, BLUE, "known matches: LR > x"),
        Series(levels, non_matches, RED, "known non-matches: LR > x"),
    ]
    return line_plot(
        series,
        x_range=(-reach, reach),
        y_range=(0.0, 1.0),
        x_label="log10 LR (x)",
        y_label="proportion",
        title=title,
        legend_top=0.4,  # between the curves, which sit at 1 on the left and 0 on the right
    )


def ece_png(
    log10_lrs: Sequence[float] | np.ndarray,
    same_firearm: Sequence[bool] | np.ndarray,
    *,
    title: str,
) -> bytes:
    """Return the empirical cross-entropy plot of a set of LRs as PNG bytes."""
    odds = np.linspace(-2.5, 2.5, 201)
    system = empirical_cross_entropy(log10_lrs, same_firearm, odds)
    calibrated = empirical_cross_entropy(pav_log10_lrs(log10_lrs, same_firearm), same_firearm, odds)
    neutral = empirical_cross_entropy(np.zeros(np.shape(log10_lrs)), same_firearm, odds)
    top = max(1.0, float(np.nanmax(system[np.isfinite(system)], initial=0.0)))
    series = [
        Series(odds, system, RED, "LRs"),
        Series(odds, calibrated, BLUE, "after PAV (Cllr-min)", dash=4),
        Series(odds, neutral, BLACK, "LR = 1 (neutral)", dash=2),
    ]
    return line_plot(
        series,
        x_range=(-2.5, 2.5),
        y_range=(0.0, min(top, 2.0) * 1.05),
        x_label="prior log10 odds",
        y_label="ECE (bits)",
        title=title,
    )

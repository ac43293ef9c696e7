"""Tippett and ECE plots: PNGs of the set size that show the curves in their colours."""

from __future__ import annotations

import cv2
import numpy as np

from ballistics.calibration.plots import BLUE, HEIGHT, RED, WIDTH, ece_png, tippett_png


def decode(png: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def count_colour(image: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int(np.all(np.abs(image.astype(int) - colour) < 30, axis=2).sum())


def test_both_plots_are_small_pngs_with_both_curves():
    rng = np.random.default_rng(0)
    truth = rng.random(300) < 0.2
    values = rng.normal(np.where(truth, 1.5, -1.5), 1.0)
    for png in (tippett_png(values, truth, title="t"), ece_png(values, truth, title="e")):
        assert png.startswith(b"\x89PNG") and len(png) < 100_000
        image = decode(png)
        assert image.shape == (HEIGHT, WIDTH, 3)
        assert count_colour(image, RED) > 200 and count_colour(image, BLUE) > 100


def test_infinite_lrs_are_drawn_not_refused():
    truth = np.array([True, True, False, False, False])
    values = np.array([np.inf, 2.0, -np.inf, -1.0, -0.5])
    assert decode(tippett_png(values, truth, title="inf")).shape == (HEIGHT, WIDTH, 3)
    assert decode(ece_png(values, truth, title="inf")).shape == (HEIGHT, WIDTH, 3)

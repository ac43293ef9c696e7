"""Surface and profile pictures: decodable PNGs of bounded size, robust contrast, refusals."""

import dataclasses

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi

from ballistics.bullet.overlay import PROFILE_BGR, signature_overlay_png
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.preview import casing_preview_png
from ballistics.render import (
    MARGIN_PX,
    MISSING_BGR,
    colourise,
    contrast_limits,
    nice_length,
    render_surface_png,
    scale_bar_block,
)
from ballistics.text import text_width


def _decode(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def _texture(shape, *, seed=0):
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.normal(size=shape), 2.0).astype(np.float32)


def test_large_surface_is_shrunk_to_max_side_with_room_for_the_scale():
    values = _texture((1000, 600))
    image = _decode(render_surface_png(values, pixel_um=3.125, max_side_px=400, title="scan"))
    # Surface 400 x 240, plus margins, title, colour bar and scale bar.
    assert 400 < image.shape[0] <= 400 + 110
    assert 240 + 2 * MARGIN_PX <= image.shape[1] <= 400
    wide = _decode(render_surface_png(values.T, pixel_um=3.125, max_side_px=400))
    assert wide.shape[1] == 400 + 2 * MARGIN_PX


def test_small_surface_is_drawn_one_pixel_per_point():
    values = _texture((50, 80))
    image = _decode(render_surface_png(values, pixel_um=10.0, colour_map="grey"))
    surface = image[MARGIN_PX : MARGIN_PX + 50, MARGIN_PX : MARGIN_PX + 80]
    expected = colourise(values, colour_map="grey")
    assert np.array_equal(surface, expected)


def test_one_spike_does_not_flatten_the_picture():
    values = np.tile(np.linspace(-1.0, 1.0, 200, dtype=np.float32), (200, 1))
    values[100, 100] = 1e4
    _, high = contrast_limits(values)
    assert high < 2.0
    robust = _decode(render_surface_png(values, pixel_um=1.0, colour_map="grey"))
    naive = _decode(
        render_surface_png(values, pixel_um=1.0, colour_map="grey", percentiles=(0.0, 100.0))
    )
    window = (slice(MARGIN_PX, MARGIN_PX + 200), slice(MARGIN_PX, MARGIN_PX + 200))
    assert robust[window][..., 0].std() > 40
    assert naive[window][..., 0].std() < 5


def test_missing_points_are_drawn_neutral():
    values = _texture((64, 64))
    values[:, :32] = np.nan
    image = colourise(values, colour_map="viridis")
    assert (image[:, :32] == MISSING_BGR).all()
    assert not (image[:, 32:] == MISSING_BGR).all(axis=-1).any()
    # Under the grey map unmeasured points are the dark field and measured ones never are.
    grey = colourise(values, colour_map="grey")
    assert (grey[:, :32] == 0).all() and (grey[:, 32:] > 0).all()


def test_scale_bar_has_a_round_length_in_micrometres():
    assert nice_length(730.0) == 500.0
    assert nice_length(0.3) == pytest.approx(0.2)
    assert nice_length(100.0) == 100.0
    block = scale_bar_block(um_per_px=2.0, max_length_px=200)  # at most 400 µm: 200 µm bar
    bar_row = block[block.shape[0] // 2 - 1]
    black = np.flatnonzero((bar_row == 0).all(axis=-1))
    # 200 µm at 2 µm per pixel: a bar of 100 pixels from the left edge, then a gap and the label.
    assert np.array_equal(black[:100], np.arange(100))
    assert black[100] > 102


def test_micro_sign_is_drawn_as_wide_as_a_u():
    assert text_width("µ") == text_width("u")
    assert text_width("é") == text_width("e")


def test_preview_puts_the_firing_pin_beside_the_breech_face():
    breech_face = _texture((120, 120), seed=1)
    yy, xx = np.mgrid[:120, :120] - 59.5
    breech_face[np.hypot(xx, yy) > 58] = np.nan
    mark = PreparedCasing(
        breech_face, 6.25, "topography", firing_pin=_texture((40, 40), seed=2), source="a.x3p"
    )
    with_pin = _decode(casing_preview_png(mark))
    without_pin = _decode(casing_preview_png(dataclasses.replace(mark, firing_pin=None)))
    assert with_pin.shape[1] >= without_pin.shape[1] + 40
    big = dataclasses.replace(mark, breech_face=np.kron(breech_face, np.ones((10, 10))))
    assert _decode(casing_preview_png(big, max_side_px=300)).shape[0] <= 300 + 170


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.zeros((3, 4, 5)), "2-D"),
        (np.zeros(10), "2-D"),
        (np.full((8, 8), np.nan), "no finite point"),
        (np.array([["a", "b"]]), "real numbers"),
    ],
)
def test_bad_surfaces_are_refused(values, message):
    with pytest.raises(ValueError, match=message):
        render_surface_png(values, pixel_um=1.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pixel_um": 0.0}, "positive"),
        ({"pixel_um": float("nan")}, "positive"),
        ({"pixel_um": 1.0, "colour_map": "rainbow"}, "one of"),
        ({"pixel_um": 1.0, "max_side_px": 8}, "max_side_px"),
        ({"pixel_um": 1.0, "percentiles": (99.0, 1.0)}, "percentiles"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        render_surface_png(_texture((20, 20)), **options)


def _near(image, colour, tolerance=40):
    return np.abs(image.astype(int) - np.array(colour)).sum(axis=-1) < tolerance


def _profile(length, seed=0):
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter1d(rng.normal(size=length), 6.0) * 10


def test_signatures_drawn_at_their_lag_coincide():
    first = _profile(800)
    second = first[100:700].copy()
    aligned = _decode(
        signature_overlay_png(first, second, pixel_um=1.5, lag_um=150.0, labels=("A", "B"))
    )
    shifted = _decode(signature_overlay_png(first, second, pixel_um=1.5, lag_um=0.0))
    assert aligned.shape == shifted.shape
    assert 960 <= aligned.shape[1] <= 960 + 2 * MARGIN_PX
    # The second (orange) line is drawn over the first (blue): aligned, it hides most of it.
    blue_aligned = _near(aligned, PROFILE_BGR[0]).sum()
    blue_shifted = _near(shifted, PROFILE_BGR[0]).sum()
    assert _near(aligned, PROFILE_BGR[1]).sum() > 500
    assert blue_aligned < 0.6 * blue_shifted


def test_signature_gaps_are_left_as_gaps():
    first = _profile(600)
    second = _profile(600, seed=1)
    second[200:400] = np.nan
    image = _decode(signature_overlay_png(first, second, pixel_um=2.0))
    lower = image[image.shape[0] // 3 :]
    columns = np.flatnonzero(_near(lower, PROFILE_BGR[1]).any(axis=0))
    longest_gap = np.diff(columns).max()
    # A third of the profile missing: about a third of the ~880-pixel plot width is empty.
    assert 250 <= longest_gap <= 330


@pytest.mark.parametrize(
    ("first", "second", "options", "message"),
    [
        (np.zeros((5, 5)), np.zeros(5), {}, "1-D"),
        (np.zeros(5), np.array([1.0, np.nan, np.nan]), {}, "fewer than 2"),
        (np.zeros(5), np.zeros(5), {"pixel_um": -1.0}, "positive"),
        (np.zeros(5), np.zeros(5), {"lag_um": float("inf")}, "lag_um"),
    ],
)
def test_bad_signatures_are_refused(first, second, options, message):
    with pytest.raises(ValueError, match=message):
        signature_overlay_png(first, second, **{"pixel_um": 1.0, **options})

"""Casing comparison: known rotations and shifts recovered, known pairs ordered."""

import csv
import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

from ballistics.casing.compare import CompareConfig, compare_casings
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.registration import rotate_masked

PIXEL_UM = 6.25
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _breech_face(*, seed, size=401, hole_offset=(30, -20)):
    """A band-limited random breech face on an annulus with an off-centre aperture."""
    rng = np.random.default_rng(seed)
    texture = ndi.gaussian_filter(rng.normal(size=(size, size)), 3.0)
    texture /= texture.std()
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    mask = (np.hypot(xx, yy) < 0.47 * size) & (
        np.hypot(xx - hole_offset[1], yy - hole_offset[0]) > 0.2 * size
    )
    return texture, mask


def _fired(texture, mask, *, angle_deg, shift_px, seed, noise=0.3):
    """The same marks seen again: turned, shifted, noisy, with some contact missing."""
    rng = np.random.default_rng(seed)
    rotated, rotated_mask = rotate_masked(texture, mask, angle_deg, shift_px=shift_px)
    noisy = rotated + noise * ndi.gaussian_filter(rng.normal(size=rotated.shape), 1.0) * 3
    dropout = ndi.gaussian_filter(rng.normal(size=rotated.shape), 20) > 0.05
    keep = rotated_mask & ~dropout
    return PreparedCasing(np.where(keep, noisy, np.nan), PIXEL_UM, "topography")


def _mark(texture, mask):
    return PreparedCasing(np.where(mask, texture, np.nan), PIXEL_UM, "topography")


@pytest.mark.parametrize(
    ("angle_deg", "shift_px"),
    [(0.0, (0.0, 0.0)), (37.0, (6.0, -9.0)), (-123.5, (-12.0, 4.0)), (171.0, (3.5, 10.5))],
)
def test_known_rotation_and_shift_are_recovered(angle_deg, shift_px):
    texture, mask = _breech_face(seed=11)
    reference = _mark(texture, mask)
    # The questioned scan is the reference turned by -angle and shifted, so turning it back by
    # +angle (and shifting) lands it on the reference.
    questioned_values, questioned_mask = rotate_masked(texture, mask, -angle_deg)
    questioned_values, questioned_mask = rotate_masked(
        questioned_values, questioned_mask, 0.0, shift_px=(-shift_px[0], -shift_px[1])
    )
    questioned = PreparedCasing(
        np.where(questioned_mask, questioned_values, np.nan), PIXEL_UM, "topography"
    )
    result = compare_casings(reference, questioned)
    recovered_angle = result.rotation_deg
    angle_error = (recovered_angle - angle_deg + 180.0) % 360.0 - 180.0
    assert abs(angle_error) <= 2.0
    # Undo: q -> R(angle) q + t. The questioned scan was built as R(-angle) r - s, so
    # t = R(angle) s.
    radians = math.radians(angle_deg)
    cosine, sine = math.cos(radians), math.sin(radians)
    expected_x = cosine * shift_px[1] + sine * shift_px[0]
    expected_y = -sine * shift_px[1] + cosine * shift_px[0]
    rows_px = result.translation_um[0] / PIXEL_UM
    columns_px = result.translation_um[1] / PIXEL_UM
    assert abs(rows_px - expected_y) <= 2.0
    assert abs(columns_px - expected_x) <= 2.0
    assert result.lead
    assert result.cmc_count >= 0.8 * result.valid_cells


def test_known_matches_score_above_known_non_matches():
    firearms = [_breech_face(seed=seed) for seed in (21, 22, 23)]
    firings = []
    for index, (texture, mask) in enumerate(firearms):
        for firing in range(2):
            angle = float(np.random.default_rng(100 * index + firing).uniform(-180, 180))
            firings.append(
                (index, _fired(texture, mask, angle_deg=angle, shift_px=(4.0, -3.0), seed=firing))
            )
    matches, non_matches = [], []
    for (first_gun, first), (second_gun, second) in itertools.combinations(firings, 2):
        result = compare_casings(first, second)
        (matches if first_gun == second_gun else non_matches).append(result)
    assert min(r.score for r in matches) > max(r.score for r in non_matches)
    assert all(r.lead for r in matches)
    assert not any(r.lead for r in non_matches)


def test_score_is_nearly_symmetric():
    texture, mask = _breech_face(seed=31)
    first = _fired(texture, mask, angle_deg=10.0, shift_px=(0.0, 0.0), seed=1)
    second = _fired(texture, mask, angle_deg=-50.0, shift_px=(5.0, 5.0), seed=2)
    forward = compare_casings(first, second)
    backward = compare_casings(second, first)
    assert abs(forward.score - backward.score) <= 0.2 * max(forward.score, backward.score)
    assert abs(((forward.rotation_deg + backward.rotation_deg) + 180) % 360 - 180) <= 1.0


def test_photographs_and_topographies_are_not_compared():
    texture, mask = _breech_face(seed=41, size=201)
    topography = _mark(texture, mask)
    photograph = PreparedCasing(np.where(mask, texture, np.nan), PIXEL_UM, "photograph")
    with pytest.raises(ValueError, match="same modality"):
        compare_casings(topography, photograph)


def test_config_refuses_resolutions_that_are_not_coarse_to_fine():
    with pytest.raises(ValueError, match="coarse to fine"):
        CompareConfig(coarse_pixel_um=10.0, refine_pixel_um=25.0)


def _fadul_marks():
    if not DATA.is_dir():
        pytest.skip(f"real scans not found at {DATA} (../shared/data beside the repository)")
    from ballistics.casing.prepare import prepare_casing
    from ballistics.io import read_surface

    with (DATA / "labels.csv").open(newline="") as handle:
        labels = {row["path"]: row["firearm"] for row in csv.DictReader(handle)}
    names = ["Fadul 1-1", "Fadul 1-2", "Fadul 2-1", "Fadul 2-2", "Fadul 3-1"]
    marks = {}
    for name in names:
        path = f"cartridge_cases/fadul/{name}.x3p"
        marks[name] = (labels[path], prepare_casing(read_surface(DATA / path)))
    return marks


@pytest.mark.real_data
def test_fadul_known_matches_score_above_known_non_matches():
    marks = _fadul_marks()
    matches, non_matches = [], []
    for (_, (gun_a, a)), (_, (gun_b, b)) in itertools.combinations(marks.items(), 2):
        score = compare_casings(a, b).score
        (matches if gun_a == gun_b else non_matches).append(score)
    assert len(matches) == 2 and len(non_matches) == 8
    assert min(matches) > max(non_matches)


def _rescaled(mark: PreparedCasing, factor: float) -> PreparedCasing:
    """The same marks seen at ``factor`` times the size (a camera whose pixel size was wrong)."""
    values = mark.breech_face
    size = values.shape[0]
    zoomed = ndi.zoom(np.nan_to_num(values), factor, order=1)
    valid = ndi.zoom(np.isfinite(values).astype(np.float32), factor, order=1) > 0.5
    side = min(size, zoomed.shape[0])
    start = (zoomed.shape[0] - side) // 2
    crop = slice(start, start + side)
    out = np.full((side, side), np.nan, dtype=np.float32)
    keep = valid[crop, crop]
    out[keep] = zoomed[crop, crop][keep]
    return PreparedCasing(out, mark.pixel_um, mark.modality)


def test_an_estimated_pixel_size_is_searched_over_scale():
    texture, mask = _breech_face(seed=31)
    reference = _mark(texture, mask)
    # the questioned casing's pixel size was taken 8 % too small: its marks look 8 % larger
    fired = _fired(texture, mask, angle_deg=25.0, shift_px=(4.0, -3.0), seed=32)
    questioned = _rescaled(fired, 1.08)
    measured = compare_casings(reference, questioned)
    estimated = compare_casings(reference, dataclasses.replace(questioned, scale_uncertainty=0.1))
    assert measured.scale == 1.0
    assert estimated.scale == pytest.approx(1 / 1.08, abs=0.025)
    assert estimated.lead
    assert estimated.score > measured.score + 5
    # _fired turned the marks by +25°: the registration turns them back
    assert estimated.rotation_deg == pytest.approx(-25.0, abs=1.5)


def test_a_scale_search_does_not_make_unrelated_casings_alike():
    reference = _mark(*_breech_face(seed=41))
    other = _mark(*_breech_face(seed=42))
    estimated = compare_casings(
        dataclasses.replace(reference, scale_uncertainty=0.1),
        dataclasses.replace(other, scale_uncertainty=0.1),
    )
    assert not estimated.lead

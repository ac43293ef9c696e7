"""Photographs as other labs take them: each named condition varies what it says, reproducibly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ballistics.casing.compare import compare_casings
from ballistics.casing.prepare import prepare_casing
from ballistics.synthetic import make_consecutive_firearms, make_firearm
from ballistics.synthetic.ammunition import make_ammunition
from ballistics.synthetic.firing import fire
from ballistics.synthetic.photo_conditions import (
    CONDITIONS,
    ESTIMATED_PIXEL_ERROR,
    LIT_ALIKE,
    draw_conditions,
)
from ballistics.synthetic.photographs import (
    GENERATOR_VERSION,
    Camera,
    Lighting,
    PhotoConditions,
    light_directions,
    take_photograph,
)

#: A camera without noise, glints or encoding loss, 10 µm per pixel (small, fast images).
CLEAN = Camera(pixel_um=10.0, full_well=1e9, read_noise=0.0, gamma=1.0)


@pytest.fixture(scope="module")
def fired():
    firearm = make_firearm("T01", seed=11)
    return fire(firearm, make_ammunition("WIN"), seed=3)


def _centred(fired, rotation_deg):
    return fired.placed(rotation_deg=rotation_deg, primer_centre_um=(0.0, 0.0))


def _correlation(first, second):
    first = first - first.mean()
    second = second - second.mean()
    return float((first * second).sum() / np.sqrt((first**2).sum() * (second**2).sum()))


def _turned_back_similarity(fired, lighting):
    """Correlation of a photograph with one of the case turned by 90° under the same light,
    turned back (the best of both turning directions)."""
    conditions = PhotoConditions(lighting=lighting, camera=CLEAN, glints=0.0)
    straight = take_photograph(_centred(fired, 30.0), conditions).surface.values
    turned = take_photograph(_centred(fired, 120.0), conditions).surface.values
    return max(_correlation(straight, np.rot90(turned, k)) for k in (1, -1))


def test_an_oblique_lights_shading_changes_as_the_case_turns_and_a_ring_lights_does_not(fired):
    ring = _turned_back_similarity(fired, Lighting("ring", segments=8, elevation_deg=40.0))
    oblique = _turned_back_similarity(fired, Lighting("oblique", elevation_deg=30.0))
    assert ring > 0.95
    assert oblique < ring - 0.1


def test_a_ring_light_is_even_unless_its_segments_differ():
    even = light_directions(Lighting("ring", segments=4, elevation_deg=40.0))
    uneven = light_directions(
        Lighting("ring", segments=4, elevation_deg=40.0, segment_powers=(2.0, 1.0, 1.0, 1.0))
    )
    assert np.isclose(sum(share for _, share in even), 1.0)
    assert np.isclose(sum(share for _, share in uneven), 1.0)
    assert len({round(share, 9) for _, share in even}) == 1
    assert max(share for _, share in uneven) == pytest.approx(2 * min(s for _, s in uneven))
    for direction, _ in even:
        assert np.isclose(np.linalg.norm(direction), 1.0)
        assert np.degrees(np.arcsin(direction[2])) == pytest.approx(40.0)


def test_jpeg_quality_changes_the_bytes_and_png_is_lossless(fired):
    def photograph(quality):
        camera = dataclasses.replace(CLEAN, jpeg_quality=quality)
        return take_photograph(fired, PhotoConditions(camera=camera, glints=0.0))

    low, high, lossless = photograph(60), photograph(95), photograph(None)
    assert low.data[:2] == high.data[:2] == b"\xff\xd8" and low.suffix == ".jpg"
    assert lossless.data[:8] == b"\x89PNG\r\n\x1a\n" and lossless.suffix == ".png"
    assert len(low.data) < len(high.data) < len(lossless.data)
    error_low = np.abs(low.surface.values - lossless.surface.values).mean()
    error_high = np.abs(high.surface.values - lossless.surface.values).mean()
    assert 0 < error_high < error_low


def test_the_same_seed_gives_the_same_photograph_and_another_seed_other_noise(fired):
    conditions = draw_conditions("mixed", np.random.default_rng(4), rotation_deg=0.0)
    first = take_photograph(fired, conditions, seed=1)
    again = take_photograph(fired, conditions, seed=1)
    other = take_photograph(fired, conditions, seed=2)
    assert first.data == again.data
    assert first.data != other.data
    assert first.surface.metadata["synthetic_generator_version"] == GENERATOR_VERSION
    assert first.surface.metadata["synthetic_condition"] == "mixed"


def test_an_estimated_pixel_size_is_off_by_at_most_8_percent_and_a_measured_one_not_at_all(
    fired,
):
    errors = []
    for seed in range(40):
        estimated = draw_conditions(
            "estimated_resolution", np.random.default_rng(seed), rotation_deg=0
        )
        measured = draw_conditions("ring", np.random.default_rng(seed), rotation_deg=0.0)
        camera = estimated.camera
        errors.append(camera.recorded_pixel_um / camera.pixel_um - 1.0)
        assert measured.camera.recorded_pixel_um == measured.camera.pixel_um
    assert max(abs(error) for error in errors) <= ESTIMATED_PIXEL_ERROR + 1e-12
    assert min(errors) < -0.03 and max(errors) > 0.03
    camera = dataclasses.replace(CLEAN, pixel_um_error=0.05)
    photograph = take_photograph(fired, PhotoConditions(camera=camera, glints=0.0))
    assert photograph.recorded_pixel_um == pytest.approx(10.5)
    assert photograph.true_pixel_um == 10.0
    # the image is as large as the true pixel size makes it
    assert photograph.surface.shape == (650, 650)


def test_each_condition_draws_within_its_stated_ranges():
    drawn = {
        name: [
            draw_conditions(name, np.random.default_rng(seed), rotation_deg=70.0)
            for seed in range(30)
        ]
        for name in CONDITIONS
    }
    for conditions in drawn["ring"]:
        assert conditions.lighting.kind == "ring"
        assert 4 <= conditions.lighting.segments <= 12
        assert conditions.camera.jpeg_quality is None
    assert len({c.lighting.segments for c in drawn["ring"]}) >= 5
    for name in ("oblique", "oblique_fixed_light"):
        for conditions in drawn[name]:
            assert conditions.lighting.kind == "oblique"
            assert 20.0 <= conditions.lighting.elevation_deg <= 60.0
    # same side of the marks: the light turns with the case; fixed: it stays in the view
    for conditions in drawn["oblique"]:
        assert abs((conditions.lighting.azimuth_deg - 70.0 + 180) % 360 - 180) <= 20.0
    for conditions in drawn["oblique_fixed_light"]:
        assert abs(conditions.lighting.azimuth_deg - 45.0) <= 5.0
    qualities = [c.camera.jpeg_quality for c in drawn["jpeg"]]
    assert all(60 <= quality <= 95 for quality in qualities) and len(set(qualities)) > 5
    pixels = [c.camera.pixel_um for c in drawn["resolution"]]
    assert 2.0 <= min(pixels) < 4.0 and 10.0 < max(pixels) <= 15.0
    assert all(c.camera.defocus_um > 0 or c.camera.motion_um > 0 for c in drawn["blur"])
    assert all(c.camera.white_balance is not None for c in drawn["exposure"])
    assert {c.condition for c in drawn["jpeg"]} == {"jpeg"}
    assert set(LIT_ALIKE) < set(CONDITIONS)
    with pytest.raises(ValueError, match="unknown"):
        draw_conditions("flash", np.random.default_rng(0), rotation_deg=0.0)


def test_settings_out_of_range_are_refused():
    with pytest.raises(ValueError, match="segments"):
        Lighting("ring", segments=3)
    with pytest.raises(ValueError, match="ring"):
        Lighting("flash")
    with pytest.raises(ValueError, match="jpeg_quality"):
        Camera(jpeg_quality=0)
    with pytest.raises(ValueError, match="roughness"):
        PhotoConditions(roughness=0.0)


def test_one_firing_under_two_ring_lights_scores_above_two_pistols():
    """The engine finds the same case photographed under two ring lights (turned between the
    shots), and scores photographs of two pistols of one production run lower."""
    pistols = make_consecutive_firearms(2, seed=5, prefix="B")
    first = fire(pistols[0], make_ammunition("FC"), seed=1)
    other = fire(pistols[1], make_ammunition("FC"), seed=2)
    camera = Camera(pixel_um=6.25)
    lights = (
        PhotoConditions(lighting=Lighting("ring", segments=6, elevation_deg=32.0), camera=camera),
        PhotoConditions(
            lighting=Lighting("ring", segments=10, elevation_deg=36.0, azimuth_deg=9.0),
            camera=dataclasses.replace(camera, jpeg_quality=90),
        ),
    )
    prepared = [
        prepare_casing(take_photograph(fired, conditions, seed=seed).surface)
        for fired, conditions, seed in (
            (first, lights[0], 1),
            (first.placed(rotation_deg=first.rotation_deg + 75.0), lights[1], 2),
            (other, lights[1], 3),
        )
    ]
    same = compare_casings(prepared[0], prepared[1])
    different = compare_casings(prepared[0], prepared[2])
    assert same.score > different.score + 3
    assert same.lead and not different.lead

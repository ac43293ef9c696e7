"""Region of interest: primer, firing pin and breech-face annulus found where the truth is."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ballistics.casing.roi import (
    Circle,
    RegionConfig,
    RegionKind,
    find_breech_face,
    fit_circle,
    looks_processed,
)
from ballistics.errors import EvidenceError
from ballistics.surface import Modality, Surface
from ballistics.synthetic import (
    clean_heights,
    fire,
    make_ammunition,
    make_firearm,
    render_photograph,
    render_processed_topography,
    render_topography,
    scan_geometry,
)
from tests.real_data import real_surface


def _distance_um(
    shape: tuple[int, int], centre_px: tuple[float, float], pixel_um: float
) -> np.ndarray:
    rows, columns = np.indices(shape)
    return np.hypot(rows - centre_px[0], columns - centre_px[1]) * pixel_um


@pytest.fixture(scope="module", params=["flat", "hemispherical"])
def fired_round_pin(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    pistol = make_firearm(f"ROI-{request.param}", seed=21, firing_pin_shape=request.param)
    return fire(pistol, make_ammunition("WIN"), seed=4)


def test_fit_circle_recovers_a_circle_through_noisy_points_with_outliers() -> None:
    rng = np.random.default_rng(0)
    angles = rng.uniform(0, 2 * np.pi, 300)
    x = 40.0 + 25.0 * np.cos(angles) + rng.normal(scale=0.2, size=300)
    y = -7.0 + 25.0 * np.sin(angles) + rng.normal(scale=0.2, size=300)
    x[:30] += rng.uniform(5, 15, 30)  # 10 % wrong edge points
    circle = fit_circle(x, y)
    assert circle.x_um == pytest.approx(40.0, abs=0.1)
    assert circle.y_um == pytest.approx(-7.0, abs=0.1)
    assert circle.radius_um == pytest.approx(25.0, abs=0.1)


@pytest.mark.parametrize(
    "render", [render_topography, render_photograph], ids=["topography", "photograph"]
)
def test_raw_region_keeps_the_breech_face_only(fired_round_pin, render) -> None:  # type: ignore[no-untyped-def]
    surface = render(fired_round_pin)
    truth = scan_geometry(fired_round_pin)
    region = find_breech_face(surface)
    assert region.kind is RegionKind.RAW
    pixel_um = surface.pixel_um
    primer_x = truth.primer_centre_px[1] * pixel_um
    primer_y = truth.primer_centre_px[0] * pixel_um
    # The axis is the primer centre, to a fraction of a working pixel (6.25 µm).
    assert np.hypot(region.centre_x_um - primer_x, region.centre_y_um - primer_y) < 6.0
    assert region.firing_pin is not None
    pin = Circle(
        truth.firing_pin_centre_px[1] * pixel_um, truth.firing_pin_centre_px[0] * pixel_um, 0
    )
    assert region.firing_pin.distance_um(pin) < 30.0

    from_primer = _distance_um(surface.shape, truth.primer_centre_px, pixel_um)
    from_pin = _distance_um(surface.shape, truth.firing_pin_centre_px, pixel_um)
    kept = region.mask
    assert not (kept & (from_primer >= truth.headstamp_inner_radius_um)).any()  # no headstamp
    assert not (kept & (from_primer > truth.primer_face_radius_um)).any()  # no primer edge
    assert not (kept & (from_pin <= truth.firing_pin_radius_um)).any()  # no crater
    # ... and most of the flat face between them is kept.
    face = (from_primer < truth.primer_face_radius_um - 600) & (
        from_pin > 1.4 * truth.firing_pin_radius_um
    )
    assert (kept & face).sum() >= 0.9 * (face & surface.mask).sum()


def test_raw_region_follows_a_rectangular_firing_pin() -> None:
    pistol = make_firearm("ROI-rectangular", seed=5, firing_pin_shape="rectangular")
    fired = fire(pistol, make_ammunition("FC"), seed=2)
    region = find_breech_face(render_topography(fired))
    truth = scan_geometry(fired)
    heights = clean_heights(fired)
    from_primer = _distance_um(heights.shape, truth.primer_centre_px, truth.pixel_um)
    face_level = np.median(heights[(from_primer > 1000) & (from_primer < 1500)])
    crater = (heights < face_level - 5.0) & (from_primer < 0.6 * truth.primer_face_radius_um)
    assert crater.sum() > 1000
    assert not (region.mask & crater).any()


def test_processed_scan_is_centred_on_its_firing_pin_hole(fired_round_pin) -> None:  # type: ignore[no-untyped-def]
    surface = render_processed_topography(fired_round_pin)
    assert looks_processed(surface)
    truth = scan_geometry(
        fired_round_pin.placed(primer_centre_um=(0.0, 0.0)),
        pixel_um=surface.pixel_um,
        field_of_view_um=surface.size_um,
    )
    region = find_breech_face(surface)
    assert region.kind is RegionKind.PROCESSED
    assert np.array_equal(region.mask, surface.mask)
    centre_row, centre_column = truth.firing_pin_centre_px
    assert region.centre_x_um == pytest.approx(centre_column * surface.pixel_um, abs=12.5)
    assert region.centre_y_um == pytest.approx(centre_row * surface.pixel_um, abs=12.5)


def test_annotated_region_is_kept_and_the_crater_inside_removed(fired_round_pin) -> None:  # type: ignore[no-untyped-def]
    surface = render_topography(fired_round_pin)
    truth = scan_geometry(fired_round_pin)
    from_primer = _distance_um(surface.shape, truth.primer_centre_px, surface.pixel_um)
    from_pin = _distance_um(surface.shape, truth.firing_pin_centre_px, surface.pixel_um)
    # A lab drew the whole primer face, crater included.
    annotated = dataclasses.replace(surface, region_of_interest=from_primer < 1700)
    region = find_breech_face(annotated)
    assert region.kind is RegionKind.ANNOTATED
    assert not (region.mask & (from_primer >= 1700)).any()
    assert not (region.mask & (from_pin <= truth.firing_pin_radius_um)).any()
    assert region.firing_pin is not None


def test_empty_surface_is_refused_naming_the_file() -> None:
    surface = Surface(np.full((50, 50), np.nan), 5.0, Modality.TOPOGRAPHY, source="empty.x3p")
    with pytest.raises(EvidenceError, match=r"empty\.x3p: .*no measured point"):
        find_breech_face(surface)


def test_scan_without_primer_is_refused_naming_the_file() -> None:
    noise = np.random.default_rng(1).normal(size=(300, 300))
    surface = Surface(noise, 20.0, Modality.TOPOGRAPHY, source="flat.x3p")
    with pytest.raises(EvidenceError, match=r"flat\.x3p: no primer found"):
        find_breech_face(surface)


def test_empty_annotation_is_refused() -> None:
    values = np.random.default_rng(2).normal(size=(60, 60))
    region = np.zeros((60, 60), dtype=bool)
    region[0, 0] = True
    values[0, 0] = np.nan
    surface = Surface(values, 5.0, Modality.TOPOGRAPHY, source="lab.x3p", region_of_interest=region)
    with pytest.raises(EvidenceError, match=r"lab\.x3p: .*annotated region"):
        find_breech_face(surface)


def test_config_refuses_inverted_ranges() -> None:
    with pytest.raises(ValueError, match="primer_radius_um"):
        RegionConfig(primer_radius_um=(3000.0, 1500.0))


@pytest.mark.real_data
def test_fadul_scan_is_taken_as_processed_and_centred_on_its_hole() -> None:
    surface = real_surface("cartridge_cases/fadul/Fadul 1-1.x3p")
    region = find_breech_face(surface)
    assert region.kind is RegionKind.PROCESSED
    # The measured area is the region (less the odd detached speck).
    assert not (region.mask & ~surface.mask).any()
    assert region.mask.sum() >= 0.99 * surface.mask.sum()
    assert region.excluded is not None
    # The measured points bordering the hole are equidistant from the centre found.
    centre_row = region.centre_y_um / surface.pixel_um
    centre_column = region.centre_x_um / surface.pixel_um
    distance = _distance_um(surface.shape, (centre_row, centre_column), surface.pixel_um)
    radius = region.excluded.radius_um
    rim = surface.mask & (distance < radius + 3 * surface.pixel_um)
    assert rim.sum() > 200
    assert np.std(distance[rim]) < 0.02 * radius


@pytest.mark.real_data
def test_nbide_photographs_show_primer_and_firing_pin_of_plausible_size() -> None:
    regions = []
    for name in ("NBIDE R BF 118.png", "NBIDE R BF 129.png"):
        surface = real_surface(f"images_2d/nbide/{name}")
        assert surface.modality is Modality.PHOTOGRAPH
        region = find_breech_face(surface)
        assert region.primer is not None and region.firing_pin is not None
        height_um, width_um = surface.size_um
        for circle in (region.primer, region.firing_pin):
            assert 0 < circle.x_um < width_um and 0 < circle.y_um < height_um
        assert 1800 < region.primer.radius_um < 2600
        assert 400 < region.firing_pin.radius_um < 1000
        assert region.firing_pin.distance_um(region.primer) < 0.4 * region.primer.radius_um
        assert region.mask.mean() > 0.05
        regions.append(region)
    # Two cases fired by the same pistol: same primer size, same pin offset in the primer.
    first, second = regions
    assert first.primer.radius_um == pytest.approx(second.primer.radius_um, rel=0.05)
    offsets = [
        np.subtract((r.firing_pin.x_um, r.firing_pin.y_um), (r.primer.x_um, r.primer.y_um))
        for r in regions
    ]
    assert np.hypot(*(offsets[0] - offsets[1])) < 250.0


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["K013sA1", "K013sA2"])
def test_dfsc_raw_scan_region_stays_within_the_lab_annotation(name: str) -> None:
    surface = real_surface(f"cartridge_cases/dfsc/raw/{name}.x3p")
    annotation = surface.region_of_interest
    assert annotation is not None
    region = find_breech_face(surface)
    assert region.kind is RegionKind.ANNOTATED
    assert region.mask.any() and not (region.mask & ~annotation).any()
    # Without the annotation the automatic region covers the lab's and not much more.
    automatic = find_breech_face(dataclasses.replace(surface, region_of_interest=None))
    assert automatic.kind is RegionKind.RAW
    annotated = annotation & surface.mask
    assert (automatic.mask & annotated).sum() >= 0.9 * annotated.sum()
    assert (automatic.mask & annotated).sum() >= 0.6 * automatic.mask.sum()

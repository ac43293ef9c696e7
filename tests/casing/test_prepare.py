"""prepare_casing: centred, band-passed breech faces from raw, processed and photographed cases."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from scipy.stats import skew

from ballistics.casing.marks import PreparedCasing
from ballistics.casing.prepare import PrepareConfig, prepare_casing
from ballistics.casing.roi import find_breech_face
from ballistics.errors import EvidenceError, LimitExceededError, ResolutionOutOfRangeError
from ballistics.io import read_surface
from ballistics.surface import Modality, Surface
from ballistics.synthetic import (
    fire,
    make_ammunition,
    make_casing_dataset,
    make_firearm,
    render_photograph,
    render_processed_topography,
    render_topography,
    scan_geometry,
)
from ballistics.synthetic.photographs import Lighting, PhotoConditions, take_photograph
from tests.io.hostile import casing_disc, coarse_x3p
from tests.real_data import real_surface


@pytest.fixture(scope="module")
def fired():  # type: ignore[no-untyped-def]
    pistol = make_firearm("PREP-1", seed=31, firing_pin_shape="flat")
    return fire(pistol, make_ammunition("FC"), seed=8, rotation_deg=20.0)


def _centre_crop(values: np.ndarray, half: int) -> np.ndarray:
    centre = (values.shape[0] - 1) // 2
    return values[centre - half : centre + half + 1, centre - half : centre + half + 1]


def _correlation(first: np.ndarray, second: np.ndarray) -> float:
    both = np.isfinite(first) & np.isfinite(second)
    assert both.sum() > 1000
    return float(np.corrcoef(first[both], second[both])[0, 1])


def _hole_centre_offset(values: np.ndarray, radius_px: float) -> float:
    """Distance (pixels) from the array centre to the centre of the NaN hole around it."""
    rows, columns = np.indices(values.shape)
    centre = (values.shape[0] - 1) / 2
    rim = np.isfinite(values) & (np.hypot(rows - centre, columns - centre) < radius_px)
    from ballistics.casing.roi import fit_circle

    circle = fit_circle(columns[rim], rows[rim])
    return float(np.hypot(circle.x_um - centre, circle.y_um - centre))


def test_raw_topography_gives_a_square_centred_float32_breech_face(fired) -> None:  # type: ignore[no-untyped-def]
    surface = dataclasses.replace(render_topography(fired), sha256="ab" * 32, source="case.x3p")
    prepared = prepare_casing(surface)
    assert isinstance(prepared, PreparedCasing)
    face = prepared.breech_face
    assert face.dtype == np.float32 and face.shape[0] == face.shape[1] and face.shape[0] % 2 == 1
    assert prepared.pixel_um == 6.25
    assert prepared.modality is Modality.TOPOGRAPHY
    assert (prepared.sha256, prepared.source) == (surface.sha256, "case.x3p")
    # The crater's hole sits where the pin hit, relative to the primer centre at the array centre.
    truth = scan_geometry(fired)
    pin_row = (truth.firing_pin_centre_px[0] - truth.primer_centre_px[0]) * truth.pixel_um / 6.25
    pin_column = (truth.firing_pin_centre_px[1] - truth.primer_centre_px[1]) * truth.pixel_um / 6.25
    centre = (face.shape[0] - 1) / 2
    assert np.isnan(face[round(centre + pin_row), round(centre + pin_column)])
    # Nothing beyond the primer face survives.
    rows, columns = np.indices(face.shape)
    beyond = np.hypot(rows - centre, columns - centre) * 6.25 > truth.primer_face_radius_um
    assert not np.isfinite(face[beyond]).any()
    # Band-passed: no form left, micrometre-scale marks.
    assert abs(float(np.nanmean(face))) < 0.2
    assert 0.05 < float(np.nanstd(face)) < 5.0


def test_firing_pin_is_kept_as_its_own_centred_mark(fired) -> None:  # type: ignore[no-untyped-def]
    prepared = prepare_casing(render_topography(fired))
    pin = prepared.firing_pin
    assert pin is not None and pin.dtype == np.float32 and pin.shape[0] == pin.shape[1]
    centre = (pin.shape[0] - 1) // 2
    assert np.isfinite(pin[centre - 5 : centre + 6, centre - 5 : centre + 6]).all()
    assert np.isnan(pin[0, 0]) and np.isnan(pin[-1, -1])  # a disc, NaN in the corners
    truth_radius_px = scan_geometry(fired).firing_pin_radius_um / 6.25
    assert truth_radius_px * 0.9 < pin.shape[0] / 2 < truth_radius_px * 1.6
    without = prepare_casing(render_topography(fired), config=PrepareConfig(keep_firing_pin=False))
    assert without.firing_pin is None


@pytest.mark.parametrize(
    "render", [render_topography, render_photograph], ids=["topography", "photograph"]
)
def test_same_case_placed_elsewhere_prepares_to_the_same_array(fired, render) -> None:  # type: ignore[no-untyped-def]
    first = prepare_casing(render(fired.placed(primer_centre_um=(0.0, 0.0))))
    second = prepare_casing(render(fired.placed(primer_centre_um=(437.0, -291.0))))
    half = min(first.breech_face.shape[0], second.breech_face.shape[0]) // 2 - 1
    correlation = _correlation(
        _centre_crop(first.breech_face, half), _centre_crop(second.breech_face, half)
    )
    # The synthetic photograph's sub-pixel facets are drawn per image, not per case: two
    # photographs of one case correlate at about 0.83 even when perfectly aligned.
    assert correlation > (0.97 if render is render_topography else 0.75)


def test_processed_scan_stays_centred_on_its_hole_and_nearly_unchanged(fired) -> None:  # type: ignore[no-untyped-def]
    surface = render_processed_topography(fired)
    prepared = prepare_casing(surface)
    face = prepared.breech_face
    truth = scan_geometry(
        fired.placed(primer_centre_um=(0.0, 0.0)),
        pixel_um=surface.pixel_um,
        field_of_view_um=surface.size_um,
    )
    hole_radius_px = 1.1 * truth.firing_pin_radius_um / 6.25 + 60 / 6.25
    assert _hole_centre_offset(face, hole_radius_px + 4) < 2.0
    # Already levelled and band-passed at 6.25 µm: preparing again changes little.
    region = find_breech_face(surface)
    half = (face.shape[0] - 1) // 2
    shift_row = half - round(region.centre_y_um / surface.pixel_um)
    shift_column = half - round(region.centre_x_um / surface.pixel_um)
    rows, columns = np.nonzero(np.isfinite(face))
    source_rows, source_columns = rows - shift_row, columns - shift_column
    inside = (
        (source_rows >= 0)
        & (source_rows < surface.shape[0])
        & (source_columns >= 0)
        & (source_columns < surface.shape[1])
    )
    assert inside.all()
    original = surface.values[source_rows, source_columns]
    assert _correlation(face[rows, columns], original) > 0.95


def test_spikes_are_removed_without_ringing(fired) -> None:  # type: ignore[no-untyped-def]
    surface = render_processed_topography(fired)
    values = np.array(surface.values)
    rows, columns = np.nonzero(np.isfinite(values))
    picks = np.random.default_rng(0).choice(rows.size, 40, replace=False)
    values[rows[picks], columns[picks]] = 400.0
    spiked = dataclasses.replace(surface, values=values)
    clean = prepare_casing(surface).breech_face
    prepared = prepare_casing(spiked).breech_face
    assert np.nanmax(np.abs(prepared)) < 3 * np.nanmax(np.abs(clean))
    assert _correlation(clean, prepared) > 0.98


def test_photograph_is_flattened_and_standardised(fired) -> None:  # type: ignore[no-untyped-def]
    prepared = prepare_casing(render_photograph(fired))
    assert prepared.modality is Modality.PHOTOGRAPH
    assert float(np.nanmean(prepared.breech_face)) == pytest.approx(0.0, abs=1e-3)
    assert float(np.nanstd(prepared.breech_face)) == pytest.approx(1.0, abs=1e-3)
    assert prepared.firing_pin is not None


def test_empty_surface_is_refused_naming_the_file() -> None:
    surface = Surface(np.full((40, 40), np.nan), 6.25, Modality.TOPOGRAPHY, source="blank.x3p")
    with pytest.raises(EvidenceError, match=r"blank\.x3p: .*no measured point"):
        prepare_casing(surface)


def test_too_small_region_is_refused_naming_the_file(fired) -> None:  # type: ignore[no-untyped-def]
    surface = dataclasses.replace(render_processed_topography(fired), source="tiny.x3p")
    with pytest.raises(EvidenceError, match=r"tiny\.x3p: .*too small"):
        prepare_casing(surface, config=PrepareConfig(min_region_area_mm2=100.0))


def test_config_refuses_nonsense_with_a_hint() -> None:
    with pytest.raises(ValueError, match=r"\(16\.0, 500\.0\)"):
        PrepareConfig(bandpass_um=(500.0, 16.0))
    with pytest.raises(ValueError, match="working_pixel_um"):
        PrepareConfig(working_pixel_um=0.0)


@pytest.mark.real_data
def test_fadul_scan_stays_centred_with_the_hole_at_the_centre() -> None:
    surface = real_surface("cartridge_cases/fadul/Fadul 1-1.x3p")
    prepared = prepare_casing(surface)
    face = prepared.breech_face
    assert face.shape[0] == face.shape[1]
    centre = (face.shape[0] - 1) // 2
    assert np.isnan(face[centre, centre])
    region = find_breech_face(surface)
    assert region.excluded is not None
    assert _hole_centre_offset(face, region.excluded.radius_um / 6.25 + 4) < 2.0
    assert prepared.firing_pin is None
    assert 0.9 * surface.mask.sum() <= np.isfinite(face).sum() <= surface.mask.sum()


@pytest.mark.real_data
def test_nbide_photograph_prepares_to_a_standardised_annulus() -> None:
    surface = real_surface("images_2d/nbide/NBIDE R BF 118.png")
    prepared = prepare_casing(surface)
    face = prepared.breech_face
    assert prepared.pixel_um == 6.25 and prepared.modality is Modality.PHOTOGRAPH
    assert float(np.nanstd(face)) == pytest.approx(1.0, abs=1e-3)
    area_mm2 = np.isfinite(face).sum() * 6.25**2 / 1e6
    assert 2.0 < area_mm2 < 8.0  # an annulus of about 1.25 to 1.55 mm radii
    centre = (face.shape[0] - 1) // 2
    assert np.isnan(face[centre - 20 : centre + 21, centre - 20 : centre + 21]).mean() > 0.5
    assert prepared.firing_pin is not None


@pytest.mark.real_data
def test_dfsc_raw_scan_with_annotation_prepares_within_it() -> None:
    surface = real_surface("cartridge_cases/dfsc/raw/K013sA1.x3p")
    prepared = prepare_casing(surface)
    annotated_mm2 = (surface.region_of_interest & surface.mask).sum() * surface.pixel_um**2 / 1e6
    prepared_mm2 = np.isfinite(prepared.breech_face).sum() * 6.25**2 / 1e6
    assert 0.7 * annotated_mm2 < prepared_mm2 <= 1.02 * annotated_mm2


# --- resolutions a cartridge case can hold, and bounded resampling ----------------------------


def test_coarse_scan_is_refused_quickly_naming_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a processed-looking 30 KB file at ~1 mm per point: resampled to 6.25 µm it took 25 s
    # of CPU and 2.8 GB (larger ones: 65 GB asked of OpenCV)
    surface = read_surface(coarse_x3p(tmp_path / "preview.x3p"))
    started = time.perf_counter()
    coarser = r"preview\.x3p: 990 µm per pixel is coarser"
    with pytest.raises(ResolutionOutOfRangeError, match=coarser):
        prepare_casing(surface)
    assert time.perf_counter() - started < 0.5


def test_too_fine_scan_is_refused_naming_the_file() -> None:
    surface = dataclasses.replace(casing_disc(pixel_um=0.1), source="fine.x3p")
    with pytest.raises(ResolutionOutOfRangeError, match=r"^fine\.x3p: 0\.1 µm per pixel is finer"):
        prepare_casing(surface)


def test_resolution_range_is_configuration(fired) -> None:  # type: ignore[no-untyped-def]
    surface = render_processed_topography(fired, pixel_um=20.0)
    prepare_casing(surface)  # inside the default 0.5-25 µm
    with pytest.raises(ResolutionOutOfRangeError, match="coarser than the 10 µm"):
        prepare_casing(surface, config=PrepareConfig(scan_pixel_um_range=(0.5, 10.0)))
    with pytest.raises(ValueError, match="scan_pixel_um_range"):
        PrepareConfig(scan_pixel_um_range=(5.0, 1.0))


def test_resampled_square_past_the_point_cap_is_refused_before_it_is_made(fired) -> None:  # type: ignore[no-untyped-def]
    surface = dataclasses.replace(render_processed_topography(fired, pixel_um=20.0), source="s")
    with pytest.raises(LimitExceededError, match=r"^s: the breech-face .* past the limit of 1000"):
        prepare_casing(surface, config=PrepareConfig(max_grid_points=1000))


def _centre_crop(values, side):
    start = (values.shape[0] - side) // 2
    return values[start : start + side, start : start + side]


def _centred_correlation(first, second):
    side = min(first.shape[0], second.shape[0])
    first, second = _centre_crop(first, side), _centre_crop(second, side)
    both = np.isfinite(first) & np.isfinite(second)
    return float(np.corrcoef(first[both], second[both])[0, 1])


def test_photographs_under_low_and_high_ring_lights_are_put_on_one_contrast(tmp_path):
    fired = make_casing_dataset(
        firearm_count=1, firings_per_firearm=1, seed=7, consecutive=False, modality=None
    )[0].fired
    marks = {}
    for config in (PrepareConfig(), PrepareConfig(photograph_negate_below_skewness=None)):
        for elevation_deg in (30.0, 60.0):
            lighting = Lighting(kind="ring", elevation_deg=elevation_deg)
            conditions = PhotoConditions(lighting=lighting)
            photograph = take_photograph(fired, conditions, seed=1)
            path = tmp_path / f"ring{elevation_deg:g}{photograph.suffix}"
            path.write_bytes(photograph.data)
            surface = read_surface(path, pixel_um=photograph.recorded_pixel_um)
            key = (config.photograph_negate_below_skewness, elevation_deg)
            marks[key] = prepare_casing(surface, config=config).breech_face
    # as taken, a high ring light shows the marks dark on bright, a low one bright on dark
    assert _centred_correlation(marks[(None, 30.0)], marks[(None, 60.0)]) < -0.3
    # prepared, both show them bright (positive skew) and agree
    default = PrepareConfig().photograph_negate_below_skewness
    for elevation_deg in (30.0, 60.0):
        values = marks[(default, elevation_deg)]
        assert skew(values[np.isfinite(values)]) > 0
    assert _centred_correlation(marks[(default, 30.0)], marks[(default, 60.0)]) > 0.3

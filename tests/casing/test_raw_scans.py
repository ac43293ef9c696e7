"""Raw scans as lab scanners write them prepare to what the published processing gives.

Synthetic raw scans (:mod:`ballistics.synthetic.raw`: tilt, a domed primer, spikes, drop-outs,
firing-pin drag and aperture shear) against the same firing processed as the research sets are,
and the real DFSC raw scans against their processed counterparts.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ballistics.casing.compare import compare_casings
from ballistics.casing.filters import level
from ballistics.casing.prepare import prepare_casing
from ballistics.casing.roi import RegionKind, find_breech_face
from ballistics.casing.roi_config import RegionConfig
from ballistics.synthetic import (
    fire,
    make_ammunition,
    make_firearm,
    render_processed_topography,
    scan_geometry,
)
from ballistics.synthetic.raw import draw_artefacts, render_raw_topography
from tests.real_data import real_surface


@pytest.fixture(scope="module")
def firing():  # type: ignore[no-untyped-def]
    return fire(make_firearm("RAW01", seed=11), make_ammunition("WIN"), seed=3)


@pytest.fixture(scope="module")
def artefacts(firing):  # type: ignore[no-untyped-def]
    # A coarse grid keeps the test quick; strong tilt, dome and shear so that they show.
    return dataclasses.replace(
        draw_artefacts(firing, pixel_um=8.0), tilt_deg=1.5, dome_um=12.0, spike_fraction=5e-4
    )


@pytest.fixture(scope="module")
def raw_scan(firing, artefacts):  # type: ignore[no-untyped-def]
    return render_raw_topography(firing, artefacts=artefacts)


def test_raw_scan_annulus_is_found_where_the_primer_is(firing, artefacts, raw_scan) -> None:  # type: ignore[no-untyped-def]
    region = find_breech_face(raw_scan)
    truth = scan_geometry(
        firing, pixel_um=artefacts.pixel_um, field_of_view_um=artefacts.field_of_view_um
    )
    assert region.kind is RegionKind.RAW
    centre_row, centre_column = truth.primer_centre_px
    offset_um = np.hypot(
        region.centre_y_um - centre_row * artefacts.pixel_um,
        region.centre_x_um - centre_column * artefacts.pixel_um,
    )
    assert offset_um < 50.0
    assert region.primer is not None
    # the primer circle is the gap's centre line: between the cup and the pocket
    assert truth.primer_radius_um - 50 < region.primer.radius_um < truth.pocket_radius_um + 50


def test_raw_scan_prepares_close_to_its_processed_counterpart(firing, raw_scan) -> None:  # type: ignore[no-untyped-def]
    raw = prepare_casing(raw_scan)
    processed = prepare_casing(render_processed_topography(firing))
    result = compare_casings(raw, processed)
    assert result.score >= 20.0
    assert abs(((result.rotation_deg + 180.0) % 360.0) - 180.0) < 3.0


def test_tilt_dome_and_spikes_are_gone_from_the_prepared_mark(raw_scan, artefacts) -> None:  # type: ignore[no-untyped-def]
    values = raw_scan.values
    assert np.nanmax(np.abs(values - np.nanmedian(values))) > 50.0  # the spikes are there
    mark = prepare_casing(raw_scan).breech_face
    assert np.nanmax(np.abs(mark)) < 10.0
    # what a plane and a paraboloid still explain of the mark is a small part of it
    form = mark - level(mark, order=2, robust=False)
    assert np.nanstd(form) < 0.1 * artefacts.dome_um
    assert np.nanstd(form) < 0.25 * np.nanstd(mark)


def test_edge_band_of_a_region_drawn_on_a_raw_scan_is_configuration() -> None:
    with pytest.raises(ValueError, match="annotated_edge_um"):
        RegionConfig(annotated_edge_um=-1.0)


@pytest.mark.real_data
def test_dfsc_raw_scan_keeps_less_than_its_drawn_region_along_the_edges() -> None:
    surface = real_surface("cartridge_cases/dfsc/raw/K013sA1.x3p")
    drawn = find_breech_face(surface, config=RegionConfig(annotated_edge_um=0.0)).mask
    shaved = find_breech_face(surface).mask
    assert (shaved <= drawn).all()
    removed_mm2 = (drawn & ~shaved).sum() * surface.pixel_um**2 / 1e6
    # an annulus of about 2.9 mm perimeter in all (inner and outer edges) shaved by 50 µm
    assert 0.5 < removed_mm2 < 1.5


@pytest.mark.real_data
def test_dfsc_raw_known_match_scores_above_a_known_non_match() -> None:
    raw = prepare_casing(real_surface("cartridge_cases/dfsc/raw/K013sA2.x3p"))
    same_firearm = prepare_casing(real_surface("cartridge_cases/dfsc/aces_processed/K013sA1.x3p"))
    other_firearm = prepare_casing(real_surface("cartridge_cases/dfsc/aces_processed/K002fJ1.x3p"))
    assert compare_casings(raw, same_firearm).score > compare_casings(raw, other_firearm).score
    raw_mate = prepare_casing(real_surface("cartridge_cases/dfsc/raw/K013sA1.x3p"))
    assert compare_casings(raw, raw_mate).score > compare_casings(raw_mate, other_firearm).score

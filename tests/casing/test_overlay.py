"""Comparison overlay: the questioned casing lands on the reference, cells drawn where compared."""

import dataclasses

import cv2
import numpy as np
import pytest

from ballistics.casing.cmc import pairwise_correlation
from ballistics.casing.compare import (
    DEFAULT_COMPARE_CONFIG,
    CasingComparison,
    CellResult,
    compare_casings,
)
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.overlay import (
    CONGRUENT_BGR,
    OTHER_CELL_BGR,
    casing_overlay_image,
    casing_overlay_png,
    register_onto_reference,
)
from ballistics.casing.prepare import prepare_casing
from ballistics.synthetic import fire, make_ammunition, make_firearm, render_topography

PANEL_PX = 320


@pytest.fixture(scope="module")
def same_source():
    """Two casings fired by one synthetic pistol, laid at different angles and places."""
    pistol = make_firearm("P01", seed=1)
    brand = make_ammunition("WIN")
    reference, questioned = (
        prepare_casing(render_topography(fire(pistol, brand, seed=seed))) for seed in (1, 2)
    )
    comparison = compare_casings(reference, questioned)
    # A pair worth drawing: some cells congruent, some not, and a real turn between the scans.
    assert 0 < comparison.cmc_count < comparison.valid_cells
    assert abs(comparison.rotation_deg) > 20
    return reference, questioned, comparison


def _valid_correlation(first, second):
    return pairwise_correlation(first, np.isfinite(first), second, np.isfinite(second))


def test_registered_questioned_scan_lands_on_the_reference(same_source):
    reference, questioned, comparison = same_source
    pair = register_onto_reference(reference, questioned, comparison)
    assert pair.reference.shape == pair.questioned.shape
    assert pair.pixel_um == DEFAULT_COMPARE_CONFIG.cell_pixel_um
    unregistered = register_onto_reference(
        reference,
        questioned,
        dataclasses.replace(comparison, rotation_deg=0.0, translation_um=(0.0, 0.0)),
    )
    registered_correlation = _valid_correlation(pair.reference, pair.questioned)
    unregistered_correlation = _valid_correlation(unregistered.reference, unregistered.questioned)
    assert registered_correlation > 0.5
    assert registered_correlation > unregistered_correlation + 0.4


def _panel_greys(figure, index):
    row, column = figure.panel_origins_px[index]
    side = figure.panel_side_px
    panel = figure.image[row : row + side, column : column + side].astype(float)
    # Surface pixels are grey (no outline colour) and not the black dark field.
    grey = (panel[..., 0] == panel[..., 1]) & (panel[..., 1] == panel[..., 2]) & (panel[..., 0] > 0)
    return panel[..., 0], grey


def test_drawn_panels_agree_only_after_registration(same_source):
    reference, questioned, comparison = same_source
    correlations = []
    for candidate in (
        comparison,
        dataclasses.replace(comparison, rotation_deg=0.0, translation_um=(0.0, 0.0)),
    ):
        figure = casing_overlay_image(
            reference, questioned, candidate, panel_side_px=PANEL_PX, split_panel=False
        )
        left, left_valid = _panel_greys(figure, 0)
        right, right_valid = _panel_greys(figure, 1)
        correlations.append(pairwise_correlation(left, left_valid, right, right_valid))
    assert correlations[0] > 0.5
    assert correlations[0] > correlations[1] + 0.4


def _top_edge_colour(figure, index, cell):
    """Colour on the middle of a cell's top outline (drawn one pixel inside the cell)."""
    row, column = figure.panel_origins_px[index]
    scale = figure.display_um_per_px
    top = row + round(cell.row_um / scale) + 1
    middle = column + round(cell.column_um / scale) + round(cell.size_um / scale) // 2
    return tuple(int(v) for v in figure.image[top, middle])


def test_congruent_cells_are_green_on_both_panels_where_the_comparison_says(same_source):
    reference, questioned, comparison = same_source
    png = casing_overlay_png(reference, questioned, comparison, panel_side_px=PANEL_PX)
    figure = casing_overlay_image(reference, questioned, comparison, panel_side_px=PANEL_PX)
    decoded = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded, figure.image)
    green = 0
    for cell in comparison.cells:
        expected = CONGRUENT_BGR if cell.congruent else OTHER_CELL_BGR
        for panel in (0, 1):
            assert _top_edge_colour(figure, panel, cell) == expected
        green += cell.congruent
    assert green == sum(cell.congruent for cell in comparison.cells) > 0
    # The split field carries no outlines.
    row, column = figure.panel_origins_px[2]
    split = figure.image[row : row + PANEL_PX, column : column + PANEL_PX]
    assert not (split == CONGRUENT_BGR).all(axis=-1).any()


def test_hand_made_cells_are_drawn_at_their_place():
    rng = np.random.default_rng(5)
    values = rng.normal(size=(160, 160)).astype(np.float32)  # 2000 µm at 12.5 µm per point
    mark = PreparedCasing(values, 12.5, "topography")
    cells = (
        CellResult(0.0, 0.0, 400.0, 0.9, 0.0, (0.0, 0.0), congruent=True),
        CellResult(800.0, 1200.0, 400.0, 0.2, 0.0, (0.0, 0.0), congruent=False),
        CellResult(1600.0, 400.0, 400.0, 0.8, 0.0, (0.0, 0.0), congruent=True),
    )
    comparison = dataclasses.replace(_identity_comparison(), cells=cells, valid_cells=3)
    figure = casing_overlay_image(mark, mark, comparison, panel_side_px=PANEL_PX)
    assert figure.display_um_per_px == pytest.approx(2000.0 / PANEL_PX)
    green = (figure.image == CONGRUENT_BGR).all(axis=-1)
    row, column = figure.panel_origins_px[0]
    # The first cell's outline: 400 µm = 64 display pixels, inset by one, two pixels wide.
    assert green[row + 1 : row + 3, column + 1 : column + 63].all()
    assert not green[row + 3, column + 3 : column + 61].any()
    assert green[row + 1 : row + 63, column + 1 : column + 3].all()
    assert (figure.image[row + 129, column + 193 : column + 255] == OTHER_CELL_BGR).all()
    # Two green squares per cell panel, none elsewhere but the legend's swatch.
    count, _ = cv2.connectedComponents(green.astype(np.uint8), connectivity=8)
    assert count - 1 == 2 * 2 + 1


def _identity_comparison():
    return CasingComparison(
        score=2.0,
        lead=False,
        cmc_count=0,
        cmc_fraction=0.0,
        valid_cells=0,
        rotation_deg=0.0,
        translation_um=(0.0, 0.0),
        correlation=1.0,
        firing_pin_correlation=None,
        cells=(),
    )


def test_png_size_is_bounded_by_the_panels(same_source):
    reference, questioned, comparison = same_source
    widths = []
    for split_panel in (True, False):
        png = casing_overlay_png(
            reference,
            questioned,
            comparison,
            panel_side_px=PANEL_PX,
            split_panel=split_panel,
            reference_label="TT-001 / case 12",
            questioned_label="GY-7 / case 3",
        )
        image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
        assert PANEL_PX < image.shape[0] <= PANEL_PX + 150
        widths.append(image.shape[1])
    assert 3 * PANEL_PX < widths[0] <= 3 * PANEL_PX + 60
    # Without the split field the figure loses a panel, down to the width of its header.
    assert widths[1] < widths[0] - PANEL_PX // 2


def test_comparison_of_other_casings_is_refused(same_source):
    reference, questioned, comparison = same_source
    far = dataclasses.replace(comparison.cells[0], row_um=1e6)
    with pytest.raises(ValueError, match="outside"):
        casing_overlay_png(
            reference,
            questioned,
            dataclasses.replace(comparison, cells=(far, *comparison.cells[1:])),
        )
    photograph = dataclasses.replace(questioned, modality="photograph")
    with pytest.raises(ValueError, match="photograph"):
        casing_overlay_png(reference, photograph, comparison)
    with pytest.raises(ValueError, match="panel_side_px"):
        casing_overlay_png(reference, questioned, comparison, panel_side_px=10)


def test_the_header_writes_the_strength_of_the_evidence_under_the_score(same_source):
    reference, questioned, comparison = same_source
    scores = []

    def strength_of(score: float) -> str:
        scores.append(score)
        return "log10 LR 2.9 [0.3, 2.9] — moderately strong support for the proposition"

    plain = casing_overlay_image(reference, questioned, comparison, panel_side_px=PANEL_PX)
    written = casing_overlay_image(
        reference, questioned, comparison, panel_side_px=PANEL_PX, strength_of=strength_of
    )
    assert scores == [comparison.score]
    # one more header line: the picture grows by it and the panels move down
    assert written.image.shape[0] > plain.image.shape[0]
    assert written.panel_origins_px[0][0] > plain.panel_origins_px[0][0]

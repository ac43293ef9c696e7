"""Cell registration (CMC): known rotations and shifts recovered cell by cell, unrelated surfaces
not congruent, cells of parallel marks kept out of the vote."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ballistics.casing.cmc import CellRegistration, CellSettings, register_cells
from ballistics.casing.registration import rotate_masked
from ballistics.synthetic.fields import band_limited_noise

SIZE = 160
PIXEL_UM = 10.0
#: cells of 240 µm searched ±100 µm and ±6° around the global registration, as the comparison
#: does at its cell resolution (scaled down so that a test takes a few tens of milliseconds)
SETTINGS = CellSettings(
    cell_px=24,
    search_margin_px=10,
    min_valid_fraction=0.5,
    angles_deg=tuple(float(angle) for angle in np.arange(-6.0, 6.0 + 1e-9, 1.5)),
    correlation_threshold=0.5,
    rotation_tolerance_deg=2.0,
    translation_tolerance_px=3.0,
    min_peak_margin=0.05,
)


def disc_mask(size: int = SIZE) -> np.ndarray:
    rows, columns = np.mgrid[:size, :size]
    centre = (size - 1) / 2.0
    return (rows - centre) ** 2 + (columns - centre) ** 2 <= (0.45 * size) ** 2


def roughness(seed: int) -> np.ndarray:
    """Isotropic breech-face-like roughness between 20 and 200 µm wavelengths."""
    rng = np.random.default_rng(seed)
    return band_limited_noise(rng, SIZE, spacing_um=PIXEL_UM, shortest_um=20.0, longest_um=200.0)


def parallel_marks(seed: int) -> np.ndarray:
    """Marks that vary across the columns only: every row is the same profile."""
    profile = roughness(seed)[0]
    return np.tile(profile, (SIZE, 1))


def known_pose(
    moving: np.ndarray, angle_deg: float, shift_px: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The reference that ``moving`` rotated by ``angle_deg`` and shifted by ``shift_px`` lands on.

    The reference's mask leaves out a 5-pixel frame, where the warp brings in no data.
    """
    reference, mask = rotate_masked(moving, disc_mask(), angle_deg, shift_px=shift_px)
    frame = np.zeros_like(mask)
    frame[5:-5, 5:-5] = True
    return reference, mask & frame


def register(
    reference: tuple[np.ndarray, np.ndarray],
    moving: np.ndarray,
    *,
    angle_deg: float,
    shift_px: tuple[float, float],
    settings: CellSettings = SETTINGS,
) -> list[CellRegistration]:
    return register_cells(
        reference[0],
        reference[1],
        moving,
        disc_mask(),
        base_angle_deg=angle_deg,
        base_shift_px=shift_px,
        settings=settings,
    )


@pytest.mark.parametrize(
    ("angle_deg", "shift_px", "base_angle_deg", "base_shift_px"),
    [
        # the base angle is off by at most one angle step: a larger error turns the cells' landing
        # places by more than the translation tolerance at the disc's rim (that is the rule)
        pytest.param(12.0, (5.0, -7.0), 12.0, (5.0, -7.0), id="exact-base"),
        pytest.param(12.0, (5.0, -7.0), 12.0, (2.0, -3.0), id="base-shift-off-by-(3,-4)"),
        pytest.param(-30.0, (0.0, 4.0), -31.5, (0.0, 4.0), id="base-angle-off-by-1.5"),
        pytest.param(75.0, (-6.0, 2.0), 73.5, (-3.0, 5.0), id="both-off"),
    ],
)
def test_cells_register_at_the_known_rotation_and_shift_and_agree(
    angle_deg, shift_px, base_angle_deg, base_shift_px
):
    moving = roughness(seed=1)
    reference = known_pose(moving, angle_deg, shift_px)
    cells = register(reference, moving, angle_deg=base_angle_deg, shift_px=base_shift_px)

    assert len(cells) >= 20  # every cell of the disc that holds enough data
    # each cell is found at the true angle, displaced by the error of the base shift (the base
    # warp puts reference content at q + base - true), and they agree: congruent
    expected_shift = np.subtract(base_shift_px, shift_px)
    for cell in cells:
        assert cell.angle_deg == pytest.approx(angle_deg, abs=SETTINGS.rotation_tolerance_deg / 2)
        assert np.abs(
            np.subtract((cell.shift_rows_px, cell.shift_columns_px), expected_shift)
        ).max() <= (1.0 + abs(base_angle_deg - angle_deg)), cell
        assert cell.correlation > 0.9
    assert all(cell.congruent for cell in cells), [c for c in cells if not c.congruent]
    # the cells tile the reference on the cell grid
    assert {(cell.row_px % 24, cell.column_px % 24) for cell in cells} == {(0, 0)}


def test_cells_of_an_unrelated_surface_are_not_congruent():
    moving = roughness(seed=1)
    reference = known_pose(moving, 12.0, (5.0, -7.0))
    unrelated = roughness(seed=2)
    cells = register(reference, unrelated, angle_deg=12.0, shift_px=(5.0, -7.0))
    assert len(cells) >= 20
    assert not any(cell.congruent for cell in cells)
    assert max(cell.correlation for cell in cells) < 0.7
    # the same reference against its true source: every cell congruent
    assert all(
        cell.congruent for cell in register(reference, moving, angle_deg=12.0, shift_px=(5.0, -7.0))
    )


def test_a_cell_of_parallel_marks_does_not_vote():
    moving = parallel_marks(seed=3)
    reference = known_pose(moving, 12.0, (5.0, -7.0))
    cells = register(reference, moving, angle_deg=12.0, shift_px=(5.0, -7.0))
    # every cell correlates almost perfectly, but as well a few pixels along the marks: no
    # margin over places far from its own, so none may vote
    assert min(cell.correlation for cell in cells) > 0.95
    assert not any(cell.congruent for cell in cells)
    # without the margin rule the same cells would all be counted
    without = register(
        reference,
        moving,
        angle_deg=12.0,
        shift_px=(5.0, -7.0),
        settings=dataclasses.replace(SETTINGS, min_peak_margin=0.0),
    )
    assert sum(cell.congruent for cell in without) >= len(without) - 1


def test_parallel_marks_beside_roughness_leave_the_rough_cells_voting():
    striated_rows = np.arange(SIZE)[:, None] < SIZE // 2
    moving = np.where(striated_rows, parallel_marks(seed=3), roughness(seed=1))
    reference = known_pose(moving, 12.0, (5.0, -7.0))
    # where each reference cell's content came from, through the same known pose
    striated, _ = rotate_masked(
        striated_rows.repeat(SIZE, axis=1).astype(float),
        np.ones((SIZE, SIZE), dtype=bool),
        12.0,
        shift_px=(5.0, -7.0),
    )
    cells = register(reference, moving, angle_deg=12.0, shift_px=(5.0, -7.0))
    cell = SETTINGS.cell_px
    share = {
        (c.row_px, c.column_px): float(
            striated[c.row_px : c.row_px + cell, c.column_px : c.column_px + cell].mean()
        )
        for c in cells
    }
    parallel = [c for c in cells if share[(c.row_px, c.column_px)] > 0.99]
    rough = [c for c in cells if share[(c.row_px, c.column_px)] < 0.01]
    assert len(parallel) >= 4 and len(rough) >= 4
    assert not any(c.congruent for c in parallel)
    assert all(c.congruent for c in rough)


def test_no_cell_holds_enough_data_gives_no_registration():
    moving = roughness(seed=1)
    empty = np.zeros((SIZE, SIZE), dtype=bool)
    cells = register_cells(
        moving,
        empty,
        moving,
        disc_mask(),
        base_angle_deg=0.0,
        base_shift_px=(0, 0),
        settings=SETTINGS,
    )
    assert cells == []
